//! `/deflate?extensions=ANSWER&send=KIND&bytes=N`: an echo with permessage-deflate, on the test
//! server's own frame layer.
//!
//! The 101 answers `Sec-WebSocket-Extensions: ANSWER` as every route does (none without
//! `extensions`); when ANSWER accepts permessage-deflate the route keeps what it said (see
//! [`crate::deflate`]): it checks the client's frames against it and compresses every message
//! it sends. With `send`, it first sends one message of N bytes: `zeros` (binary, a deflate
//! bomb when compressed: about 1.3 KiB on the wire per MiB) or `text` (compressible text),
//! compressed without being held whole (see [`compress_repeated`]). Then it echoes each message as it came (text
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
    let mut sent = String::new();
    if let Some(kind) = request.param("send") {
        let bytes = request.num("bytes", 0u64).min(MAX_SEND);
        match send_generated(&mut frames, kind, bytes) {
            Ok(wire) => sent = format!("sent {bytes} bytes of {kind} as {wire}; "),
            Err(err) => return format!("{mode}: sending {bytes} bytes of {kind} failed: {err}"),
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
    format!("{mode}; {sent}{outcome}")
}

/// Sends one message of `bytes` bytes of `kind` (`zeros` or `text`), generated and compressed
/// piece by piece; returns the payload's size on the wire.
fn send_generated(frames: &mut FrameConn, kind: &str, bytes: u64) -> std::io::Result<usize> {
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
        return frames.send(kind, &whole).map(|()| whole.len());
    };
    let compressed = compress_repeated(codec, &piece, bytes);
    let size = compressed.len();
    frames.send_compressed(kind, compressed).map(|()| size)
}

/// One message of `bytes` bytes, `piece` over and over, compressed by `codec`, in the time of
/// compressing two pieces: the second piece is compressed (sync-flushed) after the first, so
/// its back-references reach at most 32 KiB back into a copy of `piece`'s end; the same bytes
/// therefore decode to `piece` again after any whole piece, and stand for every further one.
/// The codec's window ends with `piece`'s end as the receiver's does, so the rest of the
/// message and the messages after it are compressed on the same context as they are inflated.
fn compress_repeated(codec: &mut Codec, piece: &[u8], bytes: u64) -> Vec<u8> {
    const { assert!(PIECE >= 32 << 10, "a piece must fill a 32 KiB window") };
    let whole = bytes / piece.len() as u64;
    let rest = (bytes % piece.len() as u64) as usize;
    let mut compressed = Vec::new();
    if whole >= 1 {
        codec.compress_part(piece, &mut compressed, FlushCompress::Sync);
    }
    if whole >= 2 {
        let start = compressed.len();
        codec.compress_part(piece, &mut compressed, FlushCompress::Sync);
        let again = compressed[start..].to_vec();
        compressed.reserve(again.len() * (whole - 2) as usize);
        for _ in 2..whole {
            compressed.extend_from_slice(&again);
        }
    }
    codec.compress_part(&piece[..rest], &mut compressed, FlushCompress::None);
    codec.finish_message(&mut compressed);
    compressed
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::Params;

    #[test]
    fn a_repeated_message_inflates_to_its_pieces_and_the_next_message_follows() {
        for piece in [vec![0u8; PIECE], compressible_text(PIECE)] {
            for bytes in [0, 100, PIECE as u64, 2 * PIECE as u64 + 7, 9 * PIECE as u64 + 1] {
                let mut sender = Codec::new(&Params::default());
                let mut receiver = Codec::new(&Params::default());
                let compressed = compress_repeated(&mut sender, &piece, bytes);
                let expected: Vec<u8> = piece.iter().copied().cycle().take(bytes as usize).collect();
                assert!(
                    receiver.inflate(&compressed, usize::MAX).unwrap() == expected,
                    "{bytes}"
                );
                let next = sender.compress(b"and then this");
                assert_eq!(receiver.inflate(&next, usize::MAX).unwrap(), b"and then this");
            }
        }
    }
}
