//! The bytes a connection has for the server and that the kernel has not taken yet, and the
//! data messages among them: `buffered_amount` counts a message's payload until its last byte
//! is written, and nothing else (control frames, framing and compression never change it).
//! Owned by the connection.

use std::collections::VecDeque;
use std::io::{self, Write};

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
            // An idle socket keeps no buffer of the size its last burst needed.
            if self.buf.capacity() > 64 * 1024 {
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
            self.start = 0;
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
}
