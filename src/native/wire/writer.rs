//! The client's frames, written into the caller's output buffer: each data message as one
//! masked frame (compressed, with RSV1, when permessage-deflate was negotiated), and the
//! control frames (close, ping, pong).

use super::close;
use super::deflate::Deflater;
use super::extension::DeflateParams;
use super::frames::{self, Kind};
use super::mask;

/// The longest client frame header: 2 bytes, an 8-byte length, a 4-byte key.
const MAX_HEADER_LEN: usize = 14;

/// Writes client frames. Owned by the session; it owns the compressor.
pub(crate) struct Writer {
    /// Present when permessage-deflate was negotiated.
    deflater: Option<Deflater>,
}

impl Writer {
    /// A writer that compresses with `deflate`'s parameters when it was negotiated.
    pub(crate) fn new(deflate: Option<&DeflateParams>) -> Self {
        Self {
            deflater: deflate.map(Deflater::new),
        }
    }

    /// Appends a text (`text`) or binary message as one frame; returns the bytes it took on the
    /// wire (header included), for the I/O layer's `buffered_amount` accounting.
    pub(crate) fn data(&mut self, text: bool, payload: &[u8], out: &mut Vec<u8>) -> usize {
        let kind = if text { Kind::Text } else { Kind::Binary };
        let start = out.len();
        let key = mask::new_key();
        match &mut self.deflater {
            None => {
                frames::write_head(kind, false, payload.len(), key, out);
                mask::extend_masked(out, payload, key);
            }
            Some(deflater) => {
                // Compressed behind room for the longest header, then moved up to the header
                // its length needs (a move costs less than compressing into a buffer of its own
                // and copying, and keeps no buffer between messages).
                out.resize(start + MAX_HEADER_LEN, 0);
                deflater.compress(payload, out);
                let compressed_len = out.len() - start - MAX_HEADER_LEN;
                let payload_start = start + frames::client_head_len(compressed_len);
                out.copy_within(start + MAX_HEADER_LEN.., payload_start);
                out.truncate(payload_start + compressed_len);
                frames::write_head(
                    kind,
                    true,
                    compressed_len,
                    key,
                    &mut &mut out[start..payload_start],
                );
                mask::apply(&mut out[payload_start..], key);
            }
        }
        out.len() - start
    }

    /// Appends a close frame: empty without a code, else the code and `reason` (cut to 123
    /// bytes at a character boundary).
    pub(crate) fn close(&mut self, code: Option<u16>, reason: &str, out: &mut Vec<u8>) {
        let mut payload = [0u8; frames::MAX_CONTROL_PAYLOAD];
        let len = match code {
            None => 0,
            Some(code) => {
                let reason = close::fit_reason(reason);
                payload[..2].copy_from_slice(&code.to_be_bytes());
                payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
                2 + reason.len()
            }
        };
        control(Kind::Close, &payload[..len], out);
    }

    /// Appends a ping carrying `payload` (at most 125 bytes; longer is cut).
    pub(crate) fn ping(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        control(Kind::Ping, payload, out);
    }

    /// Appends a pong carrying `payload` (the ping's).
    pub(crate) fn pong(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        control(Kind::Pong, payload, out);
    }
}

/// Appends a masked control frame (never compressed: RFC 7692 applies to data messages only).
fn control(kind: Kind, payload: &[u8], out: &mut Vec<u8>) {
    let payload = &payload[..payload.len().min(frames::MAX_CONTROL_PAYLOAD)];
    let key = mask::new_key();
    frames::write_head(kind, false, payload.len(), key, out);
    mask::extend_masked(out, payload, key);
}
