//! The bytes a connection has for the server and that the kernel has not taken yet, and the
//! data messages among them: `buffered_amount` counts a message's payload until its last byte
//! is written, and nothing else (control frames, framing and compression never change it).
//! Owned by the connection.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Write};

/// A write buffer above this capacity is not kept by a socket once it is empty (an idle socket
/// keeps no buffer of the size its last burst needed); it is kept for the thread instead.
const KEPT_BY_A_SOCKET: usize = 64 * 1024;

/// The largest buffer a thread keeps for its next burst.
const KEPT_BY_A_THREAD: usize = 4 * 1024 * 1024;

thread_local! {
    /// The large write buffer a socket emptied last on this thread, for the next socket that
    /// starts a buffer on it (the same one, as a rule): a burst does not grow a fresh buffer
    /// from nothing, page by page. Growing one for every burst of 500 pipelined 1 KiB messages
    /// was 22% of the client's CPU in page faults and copies (perf record of
    /// `bench-native --profile-child twinsock ... pipe`), and halved the pipelined rate.
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Bytes to write, and where the data messages among them end.
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    /// Encoded frames not yet written (`start..` of it; the front is already written).
    buf: Vec<u8>,
    start: usize,
    /// The stream offset (bytes ever queued) at which each queued data message ends, and its
    /// payload length, oldest first.
    messages: VecDeque<(u64, usize)>,
    /// Bytes ever queued, and ever written.
    queued: u64,
    written: u64,
}

impl Outgoing {
    /// Where encoders append frames; record each data message with [`Outgoing::queued_data`].
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        if self.buf.capacity() == 0 {
            self.buf = SPARE.with(|spare| std::mem::take(&mut *spare.borrow_mut()));
        }
        &mut self.buf
    }

    /// Records that the bytes appended since the last call end with a data message of
    /// `payload` bytes (or, for `None`, with control frames).
    pub(crate) fn queued(&mut self, payload: Option<usize>) {
        self.queued = self.written + (self.buf.len() - self.start) as u64;
        if let Some(payload) = payload {
            self.messages.push_back((self.queued, payload));
        }
    }

    /// `true` when everything was written.
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.buf.len()
    }

    /// The bytes not written yet.
    pub(crate) fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Writes to `sink` until everything is written or it would block; returns the payload
    /// bytes of the data messages whose last byte was written. A full kernel buffer is not an
    /// error.
    ///
    /// # Errors
    /// The write failed (the connection is broken), or `sink` wrote nothing.
    pub(crate) fn flush(&mut self, sink: &mut impl Write) -> io::Result<usize> {
        let mut done = 0;
        while self.start < self.buf.len() {
            match sink.write(&self.buf[self.start..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.start += n;
                    self.written += n as u64;
                    while let Some(&(end, payload)) = self.messages.front() {
                        if end > self.written {
                            break;
                        }
                        self.messages.pop_front();
                        done += payload;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > KEPT_BY_A_SOCKET {
                let buf = std::mem::take(&mut self.buf);
                if buf.capacity() <= KEPT_BY_A_THREAD {
                    SPARE.with(|spare| {
                        let mut spare = spare.borrow_mut();
                        if buf.capacity() > spare.capacity() {
                            *spare = buf;
                        }
                    });
                }
            }
        }
        match sink.flush() {
            Ok(()) => Ok(done),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(done),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that takes at most `room` bytes, then would block.
    struct Tight {
        room: usize,
        got: Vec<u8>,
    }

    impl Write for Tight {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_message_counts_until_its_last_byte_is_written_and_control_frames_never_count() {
        let mut out = Outgoing::default();
        out.buffer().extend_from_slice(b"hhDATA1");
        out.queued(Some(5));
        out.buffer().extend_from_slice(b"pong");
        out.queued(None);
        out.buffer().extend_from_slice(b"hhDATA22");
        out.queued(Some(6));
        let mut sink = Tight {
            room: 6,
            got: Vec::new(),
        };
        assert_eq!(
            out.flush(&mut sink).unwrap(),
            0,
            "the first message is one byte short"
        );
        sink.room = 1;
        assert_eq!(out.flush(&mut sink).unwrap(), 5);
        sink.room = 4;
        assert_eq!(out.flush(&mut sink).unwrap(), 0, "a pong frees no payload");
        sink.room = 100;
        assert_eq!(out.flush(&mut sink).unwrap(), 6);
        assert!(out.is_empty());
        assert_eq!(sink.got, b"hhDATA1ponghhDATA22");
    }

    /// Bursts through one `Outgoing` and then another on the same thread.
    fn burst(out: &mut Outgoing, bytes: usize) {
        out.buffer().resize(bytes, 7);
        out.queued(Some(bytes));
        let mut sink = Tight {
            room: usize::MAX,
            got: Vec::new(),
        };
        assert_eq!(out.flush(&mut sink).unwrap(), bytes);
        assert_eq!(sink.got.len(), bytes);
    }

    #[test]
    fn an_emptied_large_buffer_is_kept_by_the_thread_not_the_socket() {
        std::thread::spawn(|| {
            let mut first = Outgoing::default();
            burst(&mut first, 512 * 1024);
            assert_eq!(first.buf.capacity(), 0, "an idle socket keeps no large buffer");
            let mut second = Outgoing::default();
            assert!(
                second.buffer().capacity() >= 512 * 1024,
                "the thread's spare is reused"
            );
            burst(&mut second, 100);
            assert_eq!(second.buf.capacity(), 0, "and given back once empty");
            // Small buffers stay with their socket; buffers above the thread's limit are freed.
            SPARE.with(|spare| drop(std::mem::take(&mut *spare.borrow_mut())));
            let mut small = Outgoing::default();
            burst(&mut small, 1000);
            assert!(small.buf.capacity() >= 1000);
            let mut huge = Outgoing::default();
            burst(&mut huge, KEPT_BY_A_THREAD + 1);
            assert_eq!(huge.buf.capacity(), 0);
            assert!(SPARE.with(|spare| spare.borrow().capacity()) <= KEPT_BY_A_THREAD);
        })
        .join()
        .unwrap();
    }
}
