//! permessage-deflate (RFC 7692), server side, for the routes that negotiate it: what the
//! server's own answer commits it to, and the codec that keeps those commitments and checks the
//! client's.
//!
//! The codec inflates what the client sends and checks each message's back-references (see
//! [`crate::deflate_check`]) against the window the answer allowed the client
//! (`client_max_window_bits`, 15 without it) and, with `client_no_context_takeover`, against the
//! message's own start: a client that compresses with a larger window, or keeps its context
//! when told not to, is refused. It compresses what it sends with `server_max_window_bits` (9
//! when the answer says 8: zlib compresses raw deflate with 9 bits at least, keeping
//! back-references within 250 bytes) and, with `server_no_context_takeover`, from an empty
//! window at each message.
//!
//! flate2 on zlib-rs, as the library uses: a pure-Rust zlib, with the window-bits control that
//! flate2's default backend lacks.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::deflate_check;

/// What a sync flush ends with, left off by the sender and put back by the receiver.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The permessage-deflate parameters of the server's answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client must reset its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server's window (8 to 15 bits); `None`: 15.
    pub server_max_window_bits: Option<u8>,
    /// The client's window (8 to 15 bits); `None`: 15.
    pub client_max_window_bits: Option<u8>,
}

/// The parameters of `answer`, a `Sec-WebSocket-Extensions` value the server sends, when it
/// accepts permessage-deflate: its first extension is `permessage-deflate` (blanks and quoted
/// values allowed), whatever follows. `None` when it does not (no extension, another one), or
/// when it is malformed: a client refuses such an answer before any message, so the route
/// needs no codec for it.
pub fn parse_answer(answer: &str) -> Option<Params> {
    let first = answer.split(',').next()?;
    let mut parts = first.split(';').map(str::trim);
    if parts.next()? != "permessage-deflate" {
        return None;
    }
    let mut params = Params::default();
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (part, None),
        };
        let bits = || {
            value
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|b| (8..=15).contains(b))
        };
        match name {
            "server_no_context_takeover" => params.server_no_context_takeover = true,
            "client_no_context_takeover" => params.client_no_context_takeover = true,
            "server_max_window_bits" => params.server_max_window_bits = Some(bits()?),
            "client_max_window_bits" => params.client_max_window_bits = Some(bits()?),
            _ => return None,
        }
    }
    Some(params)
}

/// Whether the request's `Sec-WebSocket-Extensions` values offer permessage-deflate.
pub fn offered<'a>(mut offers: impl Iterator<Item = &'a str>) -> bool {
    offers.any(|value| {
        value
            .split(',')
            .any(|offer| offer.split(';').next().map(str::trim) == Some("permessage-deflate"))
    })
}

/// One connection's codec, both directions.
pub struct Codec {
    compress: Compress,
    reset_compressor: bool,
    /// Inflates with a 15-bit window: the client's window is [`deflate_check`]'s to check.
    decompress: Decompress,
    reset_decompressor: bool,
    /// The window the client was allowed, in bytes.
    client_window: usize,
    /// The bytes inflated since the client's context last began (capped at 32 KiB, the most
    /// any window holds).
    history: usize,
}

impl Codec {
    /// The codec the answer `params` commits the server to.
    pub fn new(params: &Params) -> Self {
        let server_bits = params.server_max_window_bits.unwrap_or(15).max(9);
        Self {
            compress: Compress::new_with_window_bits(Compression::default(), false, server_bits),
            reset_compressor: params.server_no_context_takeover,
            decompress: Decompress::new(false),
            reset_decompressor: params.client_no_context_takeover,
            client_window: 1 << params.client_max_window_bits.unwrap_or(15),
            history: 0,
        }
    }

    /// `payload` compressed as one message (RFC 7692 7.2.1): sync-flushed, without the tail.
    pub fn compress(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        self.compress_part(payload, &mut out, FlushCompress::Sync);
        out.truncate(out.len().saturating_sub(SYNC_TAIL.len()));
        if out.is_empty() {
            // An empty message: an empty stored block once the tail is put back.
            out.push(0x00);
        }
        if self.reset_compressor {
            self.compress.reset();
        }
        out
    }

    /// Compresses the next `part` of a message onto `out`; `FlushCompress::Sync` ends it.
    pub fn compress_part(&mut self, mut part: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
        loop {
            out.reserve(part.len() / 2 + 1024);
            let before = self.compress.total_in();
            self.compress
                .compress_vec(part, out, flush)
                .expect("deflate cannot fail on valid input");
            part = &part[(self.compress.total_in() - before) as usize..];
            if part.is_empty() && out.len() < out.capacity() {
                return;
            }
        }
    }

    /// Ends a message compressed with [`Codec::compress_part`]: the sync flush, the tail left
    /// off.
    pub fn finish_message(&mut self, out: &mut Vec<u8>) {
        self.compress_part(&[], out, FlushCompress::Sync);
        out.truncate(out.len().saturating_sub(SYNC_TAIL.len()));
        if self.reset_compressor {
            self.compress.reset();
        }
    }

    /// Inflates one whole compressed message from the client (its frames' payloads joined),
    /// refusing more than `limit` bytes, after checking its back-references.
    ///
    /// # Errors
    /// The data reaches back past the window the client was allowed (or before the message's
    /// start under `client_no_context_takeover`), does not inflate, or inflates to more than
    /// `limit` bytes.
    pub fn inflate(&mut self, payload: &[u8], limit: usize) -> Result<Vec<u8>, String> {
        let mut input = Vec::with_capacity(payload.len() + SYNC_TAIL.len());
        input.extend_from_slice(payload);
        input.extend_from_slice(&SYNC_TAIL);
        let length = deflate_check::check(&input, self.client_window, self.history)?;
        if length > limit {
            return Err(format!("inflates to {length} bytes, more than {limit}"));
        }
        let mut message = Vec::with_capacity(length + 1);
        let before = self.decompress.total_in();
        let status = self
            .decompress
            .decompress_vec(&input, &mut message, FlushDecompress::Sync)
            .map_err(|err| format!("inflate failed: {err}"))?;
        let used = (self.decompress.total_in() - before) as usize;
        if message.len() != length || (used < input.len() && status != Status::StreamEnd) {
            return Err(format!(
                "inflated {} of {length} bytes, {used} of {} input bytes",
                message.len(),
                input.len()
            ));
        }
        if status == Status::StreamEnd || self.reset_decompressor {
            // A final block, or a context reset: the next message starts a new stream.
            self.decompress.reset(false);
            self.history = 0;
        } else {
            self.history = (self.history + length).min(1 << 15);
        }
        Ok(message)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `n` bytes that deflate barely compresses.
    pub(crate) fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    /// A raw deflate compressor with `bits` of window, as a client might use.
    fn client_compress(compress: &mut Compress, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() * 2 + 64);
        compress
            .compress_vec(message, &mut out, FlushCompress::Sync)
            .unwrap();
        out.truncate(out.len() - 4);
        out
    }

    #[test]
    fn answers_are_read_as_the_client_reads_them() {
        assert_eq!(parse_answer("permessage-deflate"), Some(Params::default()));
        assert_eq!(
            parse_answer("permessage-deflate ; server_max_window_bits=\"10\"; client_no_context_takeover"),
            Some(Params {
                server_max_window_bits: Some(10),
                client_no_context_takeover: true,
                ..Params::default()
            })
        );
        assert_eq!(parse_answer(""), None);
        assert_eq!(parse_answer("x-other"), None);
        assert_eq!(parse_answer("permessage-deflate; client_max_window_bits"), None);
        assert_eq!(
            parse_answer("permessage-deflate; server_max_window_bits=16"),
            None
        );
        assert!(offered(
            ["permessage-deflate; client_max_window_bits"].into_iter()
        ));
        assert!(!offered(["x-webkit-deflate-frame"].into_iter()));
    }

    #[test]
    fn messages_round_trip_through_two_codecs() {
        for params in [
            Params::default(),
            Params {
                server_no_context_takeover: true,
                server_max_window_bits: Some(8),
                ..Params::default()
            },
        ] {
            let mut server = Codec::new(&params);
            // The client's side: inflating with 15 bits, keeping its context.
            let mut client = Codec::new(&Params::default());
            for message in [
                b"hello".to_vec(),
                Vec::new(),
                noise(100_000, 7),
                vec![b'a'; 70_000],
            ] {
                let compressed = server.compress(&message);
                assert_eq!(client.inflate(&compressed, usize::MAX).unwrap(), message);
            }
        }
    }

    #[test]
    fn a_client_window_larger_than_allowed_is_refused() {
        // 1 KiB of noise four times over: a 15-bit compressor refers 1024 bytes back.
        let message = noise(1024, 3).repeat(4);
        let mut wide = Compress::new_with_window_bits(Compression::default(), false, 15);
        let mut narrow = Codec::new(&Params {
            client_max_window_bits: Some(8),
            ..Params::default()
        });
        let error = narrow.inflate(&client_compress(&mut wide, &message), usize::MAX);
        assert!(error.is_err(), "{error:?}");
        // A 9-bit compressor (what a client uses for 8) stays within 250 bytes: accepted.
        let mut nine = Compress::new_with_window_bits(Compression::default(), false, 9);
        let mut narrow = Codec::new(&Params {
            client_max_window_bits: Some(8),
            ..Params::default()
        });
        let compressed = client_compress(&mut nine, &message);
        assert_eq!(narrow.inflate(&compressed, usize::MAX).unwrap(), message);
    }

    #[test]
    fn a_client_keeping_its_context_when_told_not_to_is_refused() {
        let message = noise(2000, 5);
        let mut keeping = Compress::new(Compression::default(), false);
        let mut server = Codec::new(&Params {
            client_no_context_takeover: true,
            ..Params::default()
        });
        let first = client_compress(&mut keeping, &message);
        assert_eq!(server.inflate(&first, usize::MAX).unwrap(), message);
        let again = client_compress(&mut keeping, &message);
        assert!(server.inflate(&again, usize::MAX).is_err());
    }

    #[test]
    fn inflating_past_the_limit_is_refused() {
        let mut server = Codec::new(&Params::default());
        let mut client = Codec::new(&Params::default());
        let compressed = server.compress(&vec![0u8; 10_000]);
        assert!(client.inflate(&compressed, 9_999).is_err());
    }
}
