//! A message layer of the test server's own, over tungstenite's frame codec, for the routes
//! that script the wire frame by frame or negotiate permessage-deflate (tungstenite's protocol
//! layer rejects RSV1 and sends what it decides itself).
//!
//! Server side, kept simple: the client's frames are unmasked, fragments joined into messages,
//! pings answered at once. With a [`Codec`], a message whose first frame has RSV1 is inflated,
//! and every message sent is compressed (RSV1), as Chromium compresses every message. What the
//! layer refuses (RSV1 without the extension, RSV1 on a continuation or control frame, a
//! continuation with no message, a message inside a message) is a [`ReadError::Protocol`];
//! closing with a code is the route's choice.

use std::io;
use std::time::Duration;

use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::{Frame, FrameHeader, FrameSocket};
use tungstenite::Bytes;

use crate::conn::{is_timeout, Conn};
use crate::deflate::Codec;

/// The largest message the layer takes from a client (inflated), and the largest frame.
const MAX_MESSAGE: usize = 64 << 20;

/// A data message's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A text message (not checked for UTF-8: it is echoed or relayed as it came).
    Text,
    /// A binary message.
    Binary,
}

/// What the client sent next.
#[derive(Debug)]
pub enum Incoming {
    /// A whole message; `compressed` when its first frame had RSV1 (it is inflated here).
    Message {
        /// Text or binary.
        kind: Kind,
        /// The payload, inflated.
        payload: Vec<u8>,
        /// Whether it came compressed.
        compressed: bool,
    },
    /// The client's close frame: its payload (code and reason) as sent.
    Close(Vec<u8>),
    /// The client closed TCP without a close frame, or after one.
    Ended,
}

/// Why reading failed.
#[derive(Debug)]
pub enum ReadError {
    /// Nothing (more) arrived within the read timeout; reading may go on.
    TimedOut,
    /// The client broke the protocol, or its compressed data does not inflate.
    Protocol(String),
    /// Reading failed.
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TimedOut => f.write_str("timed out"),
            Self::Protocol(why) => f.write_str(why),
            Self::Io(err) => write!(f, "{err}"),
        }
    }
}

/// A message being joined from fragments.
struct Partial {
    kind: Kind,
    compressed: bool,
    payload: Vec<u8>,
}

/// One client's connection, frame by frame.
pub struct FrameConn {
    socket: FrameSocket<Conn>,
    /// permessage-deflate's codec, when the answer accepted it.
    codec: Option<Codec>,
    /// The fragmented message being read.
    partial: Option<Partial>,
}

impl FrameConn {
    /// Takes over `conn` after the 101 answer; `leftover` is what was read past the request.
    pub fn new(conn: Conn, leftover: Vec<u8>, codec: Option<Codec>) -> Self {
        Self {
            socket: FrameSocket::from_partially_read(conn, leftover),
            codec,
            partial: None,
        }
    }

    /// Whether messages are compressed.
    pub fn compresses(&self) -> bool {
        self.codec.is_some()
    }

    /// The connection.
    pub fn conn(&self) -> &Conn {
        self.socket.get_ref()
    }

    /// The connection, to write raw bytes or end it.
    pub fn into_conn(self) -> Conn {
        self.socket.into_inner().0
    }

    /// Sets how long [`FrameConn::read`] waits for bytes.
    pub fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.conn().set_read_timeout(timeout)
    }

    /// The next message, close frame or end of the connection. Pings are answered on the way;
    /// pongs are dropped.
    ///
    /// # Errors
    /// See [`ReadError`]. After [`ReadError::TimedOut`] reading may go on where it stopped.
    pub fn read(&mut self) -> Result<Incoming, ReadError> {
        loop {
            let frame = match self.socket.read(Some(MAX_MESSAGE)) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(Incoming::Ended),
                Err(tungstenite::Error::Io(err)) if is_timeout(&err) => return Err(ReadError::TimedOut),
                Err(tungstenite::Error::Io(err)) => return Err(ReadError::Io(err)),
                Err(err) => return Err(ReadError::Protocol(err.to_string())),
            };
            if let Some(incoming) = self.take(frame)? {
                return Ok(incoming);
            }
        }
    }

    /// Handles one frame; a whole message or a close frame when it completes one.
    fn take(&mut self, frame: Frame) -> Result<Option<Incoming>, ReadError> {
        let header = frame.header().clone();
        if header.rsv2 || header.rsv3 {
            return Err(protocol("RSV2 or RSV3 set"));
        }
        let Some(mask) = header.mask else {
            return Err(protocol("an unmasked frame from the client"));
        };
        let mut payload = frame.into_payload().to_vec();
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
        let kind = match header.opcode {
            OpCode::Control(control) => {
                if header.rsv1 {
                    return Err(protocol("RSV1 on a control frame"));
                }
                return match control {
                    Control::Close => Ok(Some(Incoming::Close(payload))),
                    Control::Ping => {
                        self.write_frame(Frame::pong(payload)).map_err(ReadError::Io)?;
                        Ok(None)
                    }
                    _ => Ok(None),
                };
            }
            OpCode::Data(Data::Continue) => {
                if header.rsv1 {
                    return Err(protocol("RSV1 on a continuation frame"));
                }
                let Some(partial) = self.partial.as_mut() else {
                    return Err(protocol("a continuation frame with no message to continue"));
                };
                partial.payload.extend_from_slice(&payload);
                if !header.is_final {
                    return Ok(None);
                }
                let partial = self.partial.take().expect("a partial message");
                return self.complete(partial).map(Some);
            }
            OpCode::Data(Data::Text) => Kind::Text,
            OpCode::Data(Data::Binary) => Kind::Binary,
            OpCode::Data(_) => return Err(protocol("a reserved opcode")),
        };
        if self.partial.is_some() {
            return Err(protocol("a new message inside a fragmented one"));
        }
        if header.rsv1 && self.codec.is_none() {
            return Err(protocol("RSV1 without permessage-deflate"));
        }
        let partial = Partial {
            kind,
            compressed: header.rsv1,
            payload,
        };
        if header.is_final {
            self.complete(partial).map(Some)
        } else {
            self.partial = Some(partial);
            Ok(None)
        }
    }

    /// A whole message, inflated if it came compressed.
    fn complete(&mut self, partial: Partial) -> Result<Incoming, ReadError> {
        let payload = match (&mut self.codec, partial.compressed) {
            (Some(codec), true) => codec
                .inflate(&partial.payload, MAX_MESSAGE)
                .map_err(ReadError::Protocol)?,
            _ => partial.payload,
        };
        Ok(Incoming::Message {
            kind: partial.kind,
            payload,
            compressed: partial.compressed,
        })
    }

    /// Sends one message in one frame, compressed when the extension is on.
    ///
    /// # Errors
    /// Writing failed.
    pub fn send(&mut self, kind: Kind, payload: &[u8]) -> io::Result<()> {
        match self.codec.as_mut() {
            Some(codec) => {
                let compressed = codec.compress(payload);
                self.send_compressed(kind, compressed)
            }
            None => self.write_frame(Frame::message(payload.to_vec(), data_opcode(kind), true)),
        }
    }

    /// Sends `compressed` (a message the codec compressed) in one frame with RSV1.
    ///
    /// # Errors
    /// Writing failed.
    pub fn send_compressed(&mut self, kind: Kind, compressed: Vec<u8>) -> io::Result<()> {
        let header = FrameHeader {
            is_final: true,
            rsv1: true,
            opcode: data_opcode(kind),
            ..FrameHeader::default()
        };
        self.write_frame(Frame::from_payload(header, Bytes::from(compressed)))
    }

    /// The codec, to compress a message piece by piece.
    pub fn codec(&mut self) -> Option<&mut Codec> {
        self.codec.as_mut()
    }

    /// Sends a close frame with `payload` as it is (code and reason, or nothing).
    ///
    /// # Errors
    /// Writing failed.
    pub fn send_close(&mut self, payload: &[u8]) -> io::Result<()> {
        let header = FrameHeader {
            opcode: OpCode::Control(Control::Close),
            ..FrameHeader::default()
        };
        self.write_frame(Frame::from_payload(header, Bytes::copy_from_slice(payload)))
    }

    /// Writes and flushes one frame.
    fn write_frame(&mut self, frame: Frame) -> io::Result<()> {
        self.socket.send(frame).map_err(|err| match err {
            tungstenite::Error::Io(err) => err,
            other => io::Error::other(other.to_string()),
        })
    }
}

/// A close frame's payload: `code` (none for an empty frame) and `reason`.
pub fn close_payload(code: Option<u16>, reason: &[u8]) -> Vec<u8> {
    match code {
        Some(code) => [&code.to_be_bytes()[..], reason].concat(),
        None => Vec::new(),
    }
}

/// The code and reason of a close frame's payload, for logs and reports.
pub fn describe_close(payload: &[u8]) -> String {
    match payload {
        [] => "an empty close frame".into(),
        [high, low, reason @ ..] => format!(
            "close {} {:?}",
            u16::from_be_bytes([*high, *low]),
            String::from_utf8_lossy(reason)
        ),
        [_] => "a 1-byte close frame".into(),
    }
}

fn data_opcode(kind: Kind) -> OpCode {
    OpCode::Data(match kind {
        Kind::Text => Data::Text,
        Kind::Binary => Data::Binary,
    })
}

fn protocol(why: &str) -> ReadError {
    ReadError::Protocol(why.into())
}
