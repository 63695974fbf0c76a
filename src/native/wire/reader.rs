//! The server's frames read from an input buffer and assembled into messages, each check made
//! as Chromium makes it (`websocket_channel.cc`, `websocket_deflate_stream.cc`).
//!
//! The reader consumes from the front of the caller's `BytesMut` what it has parsed and leaves
//! a partial frame there. A frame's header is consumed as soon as it is complete and checked;
//! the payload is taken once it is all in (the limit bounds how much that can be), except
//! that an uncompressed text frame is UTF-8-checked as its bytes arrive, so invalid text fails
//! at once (Autobahn 6.4.*), and a frame that is only skipped is dropped as it arrives.

use bytes::{Buf, Bytes, BytesMut};

use super::close::{self, ServerClose};
use super::deflate::Inflater;
use super::frames::{self, Head, Kind};
use super::limit::{self, CONTINUATION_COST, MAX_FRAME_PAYLOAD};
use super::utf8::Utf8Validator;
use super::violation::{Utf8Place, Violation};

/// A single-frame binary message at least this long is handed over as a slice of the input
/// buffer (no copy). A shorter one is copied: a slice keeps the whole input allocation alive
/// for as long as the application keeps the message, which for many small messages would
/// cost far more memory than the copy costs time.
const ZERO_COPY_MIN: usize = 64 * 1024;

/// What the reader got from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A complete text message.
    Text(String),
    /// A complete binary message.
    Binary(Bytes),
    /// A ping, with its payload.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// The server's close frame.
    Close(ServerClose),
}

/// Where the closing handshake is, as far as reading goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// No close frame yet either way: every frame is read and delivered.
    Open,
    /// Our close frame is out and the server's has not come: as in Chromium, data frames are
    /// skipped (neither delivered nor checked beyond their header) and pings unanswered.
    CloseSent,
    /// The server's close frame came: any further frame is a violation (Chromium: "received
    /// after close").
    CloseReceived,
}

/// The data message being assembled.
struct Message {
    text: bool,
    compressed: bool,
    /// The fragments so far (inflated when compressed); unused for a single-frame message.
    payload: Vec<u8>,
    /// Its size on the wire so far (see [`super::limit`]).
    wire_size: usize,
    /// For a text message.
    utf8: Utf8Validator,
    /// `true` until the first frame's payload is taken.
    first_frame: bool,
}

/// What to do with the payload of the frame whose header was consumed.
#[derive(Debug, Clone, Copy)]
enum Payload {
    /// A control frame, handled once its payload is in.
    Control,
    /// A fragment of the message being assembled; `checked` bytes of it are UTF-8-checked.
    Data { checked: usize },
    /// Dropped as it arrives.
    Skip,
}

/// The frame whose header was consumed and whose payload is awaited.
struct Pending {
    head: Head,
    payload: Payload,
    /// Payload bytes not yet consumed.
    remaining: u64,
}

/// Reads server frames. Owned by the session; it owns the message being assembled and the
/// decompressor.
pub(crate) struct Reader {
    max_message_size: Option<usize>,
    /// Present when permessage-deflate was negotiated.
    inflater: Option<Inflater>,
    message: Option<Message>,
    pending: Option<Pending>,
}

impl Reader {
    /// A reader with the incoming message limit, inflating when `deflate` was negotiated.
    pub(crate) fn new(max_message_size: Option<usize>, deflate: bool) -> Self {
        Self {
            max_message_size,
            inflater: deflate.then(Inflater::new),
            message: None,
            pending: None,
        }
    }

    /// Reads from the front of `input` until a frame or message is complete (`Some`), or until
    /// `input` holds only part of one (`None`: read more bytes and call again). After an error
    /// the connection is failed and the reader must not be called again.
    pub(crate) fn read(&mut self, input: &mut BytesMut, stage: Stage) -> Result<Option<Frame>, Violation> {
        loop {
            let pending = match self.pending.take() {
                Some(pending) => pending,
                None => {
                    let Some(head) = frames::parse_head(input)? else {
                        return Ok(None);
                    };
                    let payload = self.accept(&head, stage)?;
                    input.advance(head.header_len);
                    Pending {
                        remaining: head.payload_len,
                        head,
                        payload,
                    }
                }
            };
            match self.take_payload(pending, input, stage)? {
                Progress::Waiting(pending) => {
                    self.pending = Some(pending);
                    return Ok(None);
                }
                Progress::Done(Some(frame)) => return Ok(Some(frame)),
                Progress::Done(None) => {}
            }
        }
    }

    /// Checks a frame's header against the state of the connection and decides what to do with
    /// its payload; a data frame's first frame starts a message.
    fn accept(&mut self, head: &Head, stage: Stage) -> Result<Payload, Violation> {
        if stage == Stage::CloseReceived {
            return Err(Violation::protocol(
                "the server sent a frame after its close frame",
            ));
        }
        if head.kind.is_control() {
            if head.rsv1 {
                return Err(frames::reserved_bit());
            }
            return Ok(Payload::Control);
        }
        if head.rsv1 && self.inflater.is_none() {
            return Err(frames::reserved_bit());
        }
        if stage == Stage::CloseSent {
            self.message = None;
            return Ok(Payload::Skip);
        }
        if head.payload_len > MAX_FRAME_PAYLOAD {
            return Err(Violation::TooLarge {
                size: usize::try_from(head.payload_len).unwrap_or(usize::MAX),
                max: self.max_message_size.unwrap_or(MAX_FRAME_PAYLOAD as usize),
            });
        }
        let payload_len = head.payload_len as usize;
        let message = match (head.kind, self.message.as_mut()) {
            (Kind::Continuation, None) => {
                return Err(Violation::Protocol {
                    why: "the server sent a continuation frame with no message to continue",
                    wire_reason: "Unexpected continuation",
                })
            }
            (Kind::Continuation, Some(message)) => {
                if head.rsv1 {
                    return Err(Violation::protocol(
                        "the server set RSV1 on a frame that does not start a message",
                    ));
                }
                message.wire_size = message.wire_size.saturating_add(CONTINUATION_COST);
                message
            }
            (_, Some(_)) => {
                return Err(Violation::Protocol {
                    why: "the server started a message before finishing the previous one",
                    wire_reason: "Previous data frame unfinished",
                })
            }
            (kind, None) => self.message.insert(Message {
                text: kind == Kind::Text,
                compressed: head.rsv1,
                payload: Vec::new(),
                wire_size: 0,
                utf8: Utf8Validator::default(),
                first_frame: true,
            }),
        };
        message.wire_size = message.wire_size.saturating_add(payload_len);
        limit::check(message.wire_size, self.max_message_size)?;
        Ok(Payload::Data { checked: 0 })
    }

    /// Consumes what has arrived of `pending`'s payload.
    fn take_payload(
        &mut self,
        mut pending: Pending,
        input: &mut BytesMut,
        stage: Stage,
    ) -> Result<Progress, Violation> {
        let available = input.len() as u64;
        match pending.payload {
            Payload::Skip => {
                let dropped = pending.remaining.min(available);
                input.advance(dropped as usize);
                pending.remaining -= dropped;
                if pending.remaining > 0 {
                    return Ok(Progress::Waiting(pending));
                }
                Ok(Progress::Done(None))
            }
            _ if pending.remaining > available => {
                if let Payload::Data { checked } = &mut pending.payload {
                    self.check_early(&input[*checked..], checked)?;
                }
                Ok(Progress::Waiting(pending))
            }
            Payload::Control => {
                let len = pending.remaining as usize;
                let frame = control_frame(pending.head.kind, &input[..len])?;
                input.advance(len);
                Ok(Progress::Done(Some(frame)))
            }
            Payload::Data { checked } => {
                let len = pending.remaining as usize;
                self.data_frame(pending.head.fin, input, len, checked, stage)
                    .map(Progress::Done)
            }
        }
    }

    /// UTF-8-checks the bytes that arrived of an uncompressed text frame still incomplete.
    fn check_early(&mut self, arrived: &[u8], checked: &mut usize) -> Result<(), Violation> {
        let message = self.message.as_mut().expect("a data frame belongs to a message");
        if message.text && !message.compressed {
            message.utf8.feed(arrived).map_err(|_| invalid_text())?;
            *checked += arrived.len();
        }
        Ok(())
    }

    /// A data frame's payload (the first `len` bytes of `input`, `checked` of them already
    /// UTF-8-checked) is all in: consumes it into the message, and hands the message over when
    /// this was its last frame, if `stage` still delivers messages.
    fn data_frame(
        &mut self,
        fin: bool,
        input: &mut BytesMut,
        len: usize,
        checked: usize,
        stage: Stage,
    ) -> Result<Option<Frame>, Violation> {
        let max = self.max_message_size;
        let message = self.message.as_mut().expect("a data frame belongs to a message");
        let first_frame = std::mem::replace(&mut message.first_frame, false);
        if fin && first_frame && !message.compressed && checked == 0 {
            // A whole message in one frame that arrived at once: checked and handed over as is.
            let text = message.text;
            self.message = None;
            let frame = single_frame(text, input, len)?;
            return Ok(delivers(stage).then_some(frame));
        }
        let payload = &input[..len];
        if message.compressed {
            let inflater = self
                .inflater
                .as_mut()
                .expect("RSV1 is accepted only with deflate");
            let (text, utf8) = (message.text, &mut message.utf8);
            let mut check = |piece: &[u8]| {
                if text {
                    utf8.feed(piece).map_err(|_| invalid_text())
                } else {
                    Ok(())
                }
            };
            inflater.inflate(payload, fin, &mut message.payload, max, &mut check)?;
        } else {
            if message.text {
                message
                    .utf8
                    .feed(&payload[checked..])
                    .map_err(|_| invalid_text())?;
            }
            limit::reserve_within(&mut message.payload, len, max);
            message.payload.extend_from_slice(payload);
        }
        input.advance(len);
        if !fin {
            return Ok(None);
        }
        let message = self.message.take().expect("a data frame belongs to a message");
        if message.text {
            message.utf8.finish().map_err(|_| invalid_text())?;
        }
        if !delivers(stage) {
            return Ok(None);
        }
        Ok(Some(if message.text {
            Frame::Text(String::from_utf8(message.payload).map_err(|_| invalid_text())?)
        } else {
            Frame::Binary(Bytes::from(message.payload))
        }))
    }
}

/// A message of one uncompressed frame, from the first `len` bytes of `input` (consumed).
fn single_frame(text: bool, input: &mut BytesMut, len: usize) -> Result<Frame, Violation> {
    let frame = if text {
        let text = std::str::from_utf8(&input[..len]).map_err(|_| invalid_text())?;
        let frame = Frame::Text(text.to_owned());
        input.advance(len);
        frame
    } else if len >= ZERO_COPY_MIN {
        Frame::Binary(input.split_to(len).freeze())
    } else {
        let frame = Frame::Binary(Bytes::copy_from_slice(&input[..len]));
        input.advance(len);
        frame
    };
    Ok(frame)
}

/// A control frame whose payload is in: a ping, a pong, or the server's close frame.
fn control_frame(kind: Kind, payload: &[u8]) -> Result<Frame, Violation> {
    Ok(match kind {
        Kind::Ping => Frame::Ping(Bytes::copy_from_slice(payload)),
        Kind::Pong => Frame::Pong,
        // Only control kinds get here.
        _ => Frame::Close(close::parse_close(payload)?),
    })
}

/// Whether messages completed in `stage` reach the application (not once our close is out).
fn delivers(stage: Stage) -> bool {
    stage == Stage::Open
}

/// How far a frame's payload got.
enum Progress {
    /// Part of it is still to come.
    Waiting(Pending),
    /// It is all consumed; with what it made, if anything.
    Done(Option<Frame>),
}

/// The violation for a text message that is not UTF-8.
fn invalid_text() -> Violation {
    Violation::InvalidUtf8(Utf8Place::TextMessage)
}
