//! One connection's message layer, client role: the reader, the writer, the pending pong and
//! the closing handshake's state, behind the calls the I/O layer makes. Bytes in, events and
//! bytes out: no socket, thread or timer.

use bytes::BytesMut;

use super::close::{self, Ending, Failure, ServerClose};
use super::extension::DeflateParams;
use super::pong::PendingPong;
use super::reader::{Frame, Reader, Stage};
use super::violation::Violation;
use super::writer::Writer;
use crate::event::CloseEvent;

/// What the session got from the server, for the I/O layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Received {
    /// A text message, for the application.
    Text(String),
    /// A binary message, for the application.
    Binary(bytes::Bytes),
    /// A ping: its pong is pending (see [`Session::write_pending`]), unless we are closing.
    Ping,
    /// A pong (for the keepalive: the server is alive).
    Pong,
    /// The server's close frame. When it started the closing handshake, our answer (its code
    /// and reason echoed) is pending; the close event comes when the TCP connection ends
    /// ([`Session::ended`]).
    Close,
}

/// The settings a session starts with. Defaults are the I/O layer's to give: the builder's
/// `max_message_size` (64 MiB by default), and deflate as negotiated by
/// [`super::extension::negotiate`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SessionConfig {
    /// The largest incoming message (see [`super::limit`] for how it is counted); `None`: no
    /// limit but the 2^31 − 1 bytes of a frame.
    pub(crate) max_message_size: Option<usize>,
    /// permessage-deflate's parameters, when the server accepted it.
    pub(crate) deflate: Option<DeflateParams>,
}

/// A connection's message layer. Owned by the I/O layer's connection (one per socket); it owns
/// all the WebSocket state of the connection once open.
pub(crate) struct Session {
    reader: Reader,
    writer: Writer,
    pong: PendingPong,
    /// Our close frame was written.
    close_sent: bool,
    /// The server's close frame, once received.
    close_received: Option<ServerClose>,
    /// The server started the closing handshake and our answer is not written yet.
    answer_pending: bool,
}

impl Session {
    /// A session for a connection that just opened.
    pub(crate) fn new(config: SessionConfig) -> Self {
        Self {
            reader: Reader::new(config.max_message_size, config.deflate.is_some()),
            writer: Writer::new(config.deflate.as_ref()),
            pong: PendingPong::default(),
            close_sent: false,
            close_received: None,
            answer_pending: false,
        }
    }

    /// Reads from the front of `input` (consuming what it parses) until something for the I/O
    /// layer is complete, or `None` when `input` holds only part of a frame. On `Err`, fail the
    /// connection with [`Session::fail`]; do not read again.
    pub(crate) fn receive(&mut self, input: &mut BytesMut) -> Result<Option<Received>, Violation> {
        let stage = if self.close_received.is_some() {
            Stage::CloseReceived
        } else if self.close_sent {
            Stage::CloseSent
        } else {
            Stage::Open
        };
        let Some(frame) = self.reader.read(input, stage)? else {
            return Ok(None);
        };
        Ok(Some(match frame {
            Frame::Text(text) => Received::Text(text),
            Frame::Binary(data) => Received::Binary(data),
            Frame::Ping(payload) => {
                // Chromium answers pings only while open.
                if stage == Stage::Open {
                    self.pong.ping_received(&payload);
                }
                Received::Ping
            }
            Frame::Pong => Received::Pong,
            Frame::Close(close) => {
                self.answer_pending = !self.close_sent;
                self.close_received = Some(close);
                Received::Close
            }
        }))
    }

    /// `true` while a pong or our answer to the server's close frame waits to be written.
    pub(crate) fn wants_write(&self) -> bool {
        self.answer_pending || (self.pong.is_pending() && !self.close_sent)
    }

    /// Writes what is pending into `out`: the pong for the latest ping, then our answer to the
    /// server's close frame. Call it when the socket can take more bytes: a pong written only
    /// then is the one a later ping can still replace.
    pub(crate) fn write_pending(&mut self, out: &mut Vec<u8>) {
        if let Some(pong) = self.pong.take().filter(|_| !self.close_sent) {
            self.writer.pong(pong.as_slice(), out);
        }
        if std::mem::take(&mut self.answer_pending) {
            self.write_answer(out);
        }
    }

    /// Writes our answer to the server's close frame.
    fn write_answer(&mut self, out: &mut Vec<u8>) {
        let received = self
            .close_received
            .as_ref()
            .expect("an answer is owed to a close frame");
        let (code, reason) = close::answer(received);
        self.writer.close(code, reason, out);
        self.close_sent = true;
    }

    /// Writes a data message into `out` as one frame and returns its size on the wire, or
    /// `None` when the closing handshake has started either way (the message is dropped, as
    /// Chromium drops it).
    pub(crate) fn send(&mut self, text: bool, payload: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        self.may_send().then(|| self.writer.data(text, payload, out))
    }

    /// Writes a ping (the keepalive's) into `out`; `false` (nothing written) once closing.
    pub(crate) fn send_ping(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        let open = self.may_send();
        if open {
            self.writer.ping(payload, out);
        }
        open
    }

    /// The application closes: writes a pending pong, then our close frame with `code` and
    /// `reason` (none: an empty close frame). When the server's close frame already came, the
    /// answer it is owed goes instead, as in Chromium; once our close frame is out, nothing.
    pub(crate) fn send_close(&mut self, code: Option<u16>, reason: &str, out: &mut Vec<u8>) {
        self.write_pending(out);
        if self.may_send() {
            self.writer.close(code, reason, out);
            self.close_sent = true;
        }
    }

    /// Fails the connection for `violation`: writes our close frame into `out` when the closing
    /// handshake had not started, and says what the application is told. When the server's
    /// close frame came and our answer is not out yet, the answer goes first: Chromium sends
    /// it as soon as the close frame arrives, before reading on (checked with Chromium 156: a
    /// frame after the server's close gets the echo, then the failure, with no second close
    /// frame). Hang up after writing `out`.
    pub(crate) fn fail(&mut self, violation: &Violation, out: &mut Vec<u8>) -> Failure {
        if std::mem::take(&mut self.answer_pending) {
            self.pong.take();
            self.write_answer(out);
        }
        let failure = close::failure(violation, !self.may_send());
        if let Some((code, reason)) = failure.wire_close {
            self.writer.close(Some(code), reason, out);
            self.close_sent = true;
        }
        failure
    }

    /// The close event when the TCP connection ends by `ending` (see [`close::ended`]).
    pub(crate) fn ended(&self, ending: Ending) -> CloseEvent {
        close::ended(self.close_received.as_ref(), ending)
    }

    /// `true` once our close frame was written.
    pub(crate) fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// The server's close frame, once received.
    pub(crate) fn close_received(&self) -> Option<&ServerClose> {
        self.close_received.as_ref()
    }

    /// `true` while no close frame went either way.
    fn may_send(&self) -> bool {
        !self.close_sent && self.close_received.is_none()
    }
}
