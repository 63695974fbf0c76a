//! `/deflate?extensions=ANSWER&send=KIND&bytes=N`: an echo with permessage-deflate, on the test
//! server's own frame layer.
//!
//! The 101 answers `Sec-WebSocket-Extensions: ANSWER` as every route does (none without
//! `extensions`); when ANSWER accepts permessage-deflate the route keeps what it said (see
//! [`crate::deflate`]): it checks the client's frames against it and compresses every message
//! it sends. With `send`, it first sends one message of N bytes: `zeros` (binary, a deflate
//! bomb when compressed: about 1 KiB on the wire per MiB) or `text` (compressible text),
//! compressed piece by piece, never held whole. Then it echoes each message as it came (text
//! as text, binary as binary).
//!
//! How the client's frames arrived is the reason of the server's answer to the client's close
//! frame, code 1000: `N messages, C compressed`. A message that does not inflate with the
//! window and context the answer allowed the client gets close 1002 with the reason
//! `message K: WHY` instead, at once.

use flate2::FlushCompress;

use crate::conn::Conn;
use crate::deflate::Codec;
use crate::frame_layer::{close_payload, describe_close, FrameConn, Incoming, Kind, ReadError};
use crate::handshake::Request;

/// The largest `bytes` for `send`.
const MAX_SEND: u64 = 4 << 30;
/// The largest `bytes` for `send` without the extension (the message is then held whole).
const MAX_PLAIN_SEND: u64 = 64 << 20;
/// The piece of the `send` message generated and compressed at a time.
const PIECE: usize = 64 << 10;
/// The longest close reason.
const MAX_REASON: usize = 123;

/// What came from the client so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Messages received.
    pub messages: u64,
    /// Of them, those whose first frame had RSV1.
    pub compressed: u64,
}

impl Tally {
    /// Counts one message.
    pub fn count(&mut self, compressed: bool) {
        self.messages += 1;
        self.compressed += u64::from(compressed);
    }
}

/// Serves `/deflate` once its 101 is written.
pub fn deflate_echo(conn: Conn, leftover: Vec<u8>, request: &Request) -> String {
    let codec = request
        .param("extensions")
        .and_then(crate::deflate::parse_answer)
        .map(|params| Codec::new(&params));
    let mut frames = FrameConn::new(conn, leftover, codec);
    let mode = if frames.compresses() { "deflate" } else { "plain" };
    if let Some(kind) = request.param("send") {
        let bytes = request.num("bytes", 0u64).min(MAX_SEND);
        if let Err(err) = send_generated(&mut frames, kind, bytes) {
            return format!("{mode}: sending {bytes} bytes of {kind} failed: {err}");
        }
    }
    let mut tally = Tally::default();
    let outcome = loop {
        match frames.read() {
            Ok(Incoming::Message {
                kind,
                payload,
                compressed,
            }) => {
                tally.count(compressed);
                if let Err(err) = frames.send(kind, &payload) {
                    break format!("echo failed: {err}");
                }
            }
            Ok(Incoming::Close(payload)) => {
                let report = format!("{} messages, {} compressed", tally.messages, tally.compressed);
                let _ = frames.send_close(&close_payload(Some(1000), report.as_bytes()));
                break format!("client sent {}; answered {report:?}", describe_close(&payload));
            }
            Ok(Incoming::Ended) => break "client closed TCP without a close frame".into(),
            Err(ReadError::Protocol(why)) => {
                let why = format!("message {}: {why}", tally.messages + 1);
                let reason = fit(&why);
                let _ = frames.send_close(&close_payload(Some(1002), reason.as_bytes()));
                break format!("closed with 1002 {reason:?}");
            }
            Err(err) => break format!("reading failed: {err}"),
        }
    };
    frames.into_conn().finish(std::time::Duration::from_secs(5));
    format!("{mode}; {outcome}")
}

/// Sends one message of `bytes` bytes of `kind` (`zeros` or `text`), generated and compressed
/// piece by piece.
fn send_generated(frames: &mut FrameConn, kind: &str, bytes: u64) -> std::io::Result<()> {
    let (kind, piece): (Kind, Vec<u8>) = match kind {
        "zeros" => (Kind::Binary, vec![0u8; PIECE]),
        "text" => (Kind::Text, compressible_text(PIECE)),
        other => return Err(std::io::Error::other(format!("unknown kind {other:?}"))),
    };
    let Some(codec) = frames.codec() else {
        // Without the extension the message is sent as it is, so held whole.
        if bytes > MAX_PLAIN_SEND {
            return Err(std::io::Error::other(format!(
                "{bytes} bytes uncompressed: too many"
            )));
        }
        let whole: Vec<u8> = piece.iter().copied().cycle().take(bytes as usize).collect();
        return frames.send(kind, &whole);
    };
    let mut compressed = Vec::new();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(PIECE as u64) as usize;
        codec.compress_part(&piece[..n], &mut compressed, FlushCompress::None);
        left -= n as u64;
    }
    codec.finish_message(&mut compressed);
    frames.send_compressed(kind, compressed)
}

/// `n` bytes of text that deflate compresses well, as a market feed's JSON does.
pub fn compressible_text(n: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(n + 64);
    let mut i = 0u64;
    while text.len() < n {
        let line = format!(
            "{{\"symbol\":\"TW{:02}\",\"price\":{}.{:02},\"size\":{}}}\n",
            i % 17,
            100 + i % 13,
            i % 100,
            i % 7 * 100
        );
        text.extend_from_slice(line.as_bytes());
        i += 1;
    }
    text.truncate(n);
    text
}

/// `text` cut to a close reason's 123 bytes, at a character boundary.
pub fn fit(text: &str) -> &str {
    let mut end = text.len().min(MAX_REASON);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
