//! permessage-deflate's codec (RFC 7692 7.2), on flate2 with its zlib-rs backend: raw deflate,
//! each message sync-flushed and sent without its `00 00 ff ff` tail, which the receiver puts
//! back.
//!
//! Both directions follow Chromium (`net/websockets/websocket_deflater.cc`,
//! `websocket_inflater.cc`, `websocket_deflate_stream.cc`):
//! - the compressor uses the negotiated `client_max_window_bits` (15 when none), raised to 9
//!   when it is 8, because zlib cannot compress raw deflate with an 8-bit window. zlib-rs, like
//!   zlib, keeps back-references within `2^bits - 262` bytes, so with 9 bits they stay within
//!   250 bytes and a server inflating with a 256-byte window still decodes them;
//! - it resets its context after each message only with `client_no_context_takeover`;
//! - it compresses every message, an empty one as the single byte `00`;
//! - the decompressor always uses a 15-bit window and keeps its context (a server that
//!   promised `server_no_context_takeover` or a smaller window produces data that decodes the
//!   same way).
//!
//! A message may end its deflate stream with a final block (BFINAL, RFC 7692 7.2.3.5): what
//! follows it in the message (at least the tail the receiver appends) is ignored, and the next
//! message starts a new stream. (Chromium resets the stream there too but then inflates the
//! appended tail as the start of the new one, which garbles the next message.)
//!
//! Compression is at zlib's default level (6) and memory level (8), as Chromium's. zlib's
//! state is large (by zlib's own formula, 256 KiB to compress with a 15-bit window, about
//! 40 KiB to inflate), so each direction creates it on first use: a connection that never
//! sends or never receives a compressed message never pays for it.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::extension::DeflateParams;
use super::violation::Violation;

/// What a sync flush ends with, removed by the sender and appended by the receiver.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// The first output buffer for inflating a message; it then doubles, up to the limit.
const FIRST_CHUNK: usize = 16 * 1024;
/// The decompressor's window: Chromium inflates with the largest, whatever was negotiated.
const INFLATE_WINDOW_BITS: u8 = 15;
/// The smallest window zlib compresses raw deflate with.
const MIN_DEFLATE_WINDOW_BITS: u8 = 9;

/// The client's compressor. Owned by the writer.
pub(crate) struct Deflater {
    window_bits: u8,
    reset_after_each_message: bool,
    /// Created on the first message.
    compress: Option<Compress>,
}

impl Deflater {
    /// A compressor for the negotiated parameters.
    pub(crate) fn new(params: &DeflateParams) -> Self {
        Self {
            window_bits: params
                .client_max_window_bits
                .unwrap_or(15)
                .max(MIN_DEFLATE_WINDOW_BITS),
            reset_after_each_message: params.client_no_context_takeover,
            compress: None,
        }
    }

    /// Appends `payload` compressed as one message to `out`.
    pub(crate) fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        if payload.is_empty() {
            // A second sync flush with no input would produce nothing at all; `00` is an empty
            // stored block once the receiver appends the tail (Chromium sends the same).
            out.push(0x00);
            return;
        }
        let window_bits = self.window_bits;
        let compress = self.compress.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::default(), false, window_bits)
        });
        let start = out.len();
        let mut rest = payload;
        loop {
            out.reserve(rest.len() / 2 + 64);
            let before = compress.total_in();
            compress
                .compress_vec(rest, out, FlushCompress::Sync)
                .expect("deflate cannot fail on valid input");
            rest = &rest[(compress.total_in() - before) as usize..];
            // Done once every byte is in and the flush did not fill the buffer.
            if rest.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        debug_assert!(out[start..].ends_with(&SYNC_TAIL));
        out.truncate(out.len() - SYNC_TAIL.len());
        if self.reset_after_each_message {
            compress.reset();
        }
    }
}

/// The client's decompressor. Owned by the reader.
pub(crate) struct Inflater {
    /// Created on the first compressed message.
    decompress: Option<Decompress>,
    /// The message being inflated ended its deflate stream: the rest of it is ignored.
    stream_ended: bool,
}

impl Inflater {
    /// A decompressor (the parameters do not change how it inflates; see the module's doc).
    pub(crate) fn new() -> Self {
        Self {
            decompress: None,
            stream_ended: false,
        }
    }

    /// Inflates one frame's `payload` onto the end of `message`, and after it, when `last`, the
    /// tail that ends the message. `message` never grows past `max + 1` bytes: it is inflated
    /// into room that starts at 16 KiB and doubles, each step capped at one byte more than
    /// `max`, so a deflate bomb stops at the limit with `TooLarge` instead of allocating what
    /// it inflates to. `check` sees each newly inflated piece (for UTF-8 validation as it
    /// comes).
    pub(crate) fn inflate(
        &mut self,
        payload: &[u8],
        last: bool,
        message: &mut Vec<u8>,
        max: Option<usize>,
        check: &mut dyn FnMut(&[u8]) -> Result<(), Violation>,
    ) -> Result<(), Violation> {
        let decompress = self
            .decompress
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, INFLATE_WINDOW_BITS));
        let tail: &[u8] = if last { &SYNC_TAIL } else { &[] };
        for part in [payload, tail] {
            if !self.stream_ended {
                self.stream_ended = inflate_part(decompress, part, message, max, check)?;
            }
        }
        if last && std::mem::take(&mut self.stream_ended) {
            decompress.reset(false);
        }
        Ok(())
    }
}

/// Inflates `input` onto `message` (see [`Inflater::inflate`]); `Ok(true)` when it ended the
/// deflate stream (the rest of `input` is then left alone).
fn inflate_part(
    decompress: &mut Decompress,
    mut input: &[u8],
    message: &mut Vec<u8>,
    max: Option<usize>,
    check: &mut dyn FnMut(&[u8]) -> Result<(), Violation>,
) -> Result<bool, Violation> {
    let corrupt = || Violation::protocol("the server sent compressed data that does not inflate");
    loop {
        if message.len() == message.capacity() {
            grow(message, max);
        }
        let (before_in, before_out) = (decompress.total_in(), message.len());
        let status = decompress
            .decompress_vec(input, message, FlushDecompress::None)
            .map_err(|_| corrupt())?;
        let used = (decompress.total_in() - before_in) as usize;
        input = &input[used..];
        let produced = message.len() - before_out;
        if produced > 0 {
            check(&message[before_out..])?;
        }
        if let Some(max) = max.filter(|&max| message.len() > max) {
            return Err(Violation::TooLarge {
                size: message.len(),
                max,
            });
        }
        let room_left = message.len() < message.capacity();
        match status {
            Status::StreamEnd => return Ok(true),
            // Input left over, room to spare, and no progress: zlib cannot go on.
            _ if room_left && !input.is_empty() && used == 0 && produced == 0 => return Err(corrupt()),
            _ if room_left && input.is_empty() => return Ok(false),
            _ => {}
        }
    }
}

/// Makes room in `message` for more inflated bytes: as much again as it holds (at least
/// [`FIRST_CHUNK`]), but never more than one byte past `max`.
fn grow(message: &mut Vec<u8>, max: Option<usize>) {
    let doubling = message.capacity().max(FIRST_CHUNK);
    let room = match max {
        Some(max) => doubling.min((max + 1).saturating_sub(message.len())).max(1),
        None => doubling,
    };
    message.reserve_exact(room);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(client_no_context_takeover: bool, client_max_window_bits: Option<u8>) -> DeflateParams {
        DeflateParams {
            client_no_context_takeover,
            client_max_window_bits,
            ..DeflateParams::default()
        }
    }

    fn compress(deflater: &mut Deflater, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        deflater.compress(payload, &mut out);
        out
    }

    /// Inflates one whole message with an inflater of our own.
    fn inflate(inflater: &mut Inflater, compressed: &[u8], max: Option<usize>) -> Result<Vec<u8>, Violation> {
        let mut message = Vec::new();
        inflater.inflate(compressed, true, &mut message, max, &mut |_| Ok(()))?;
        Ok(message)
    }

    /// Inflates with flate2's decompressor set up on its own, with `window_bits`, keeping its
    /// context across the messages (an independent decoder).
    fn independent_inflate(decompress: &mut Decompress, compressed: &[u8]) -> Vec<u8> {
        let mut input = compressed.to_vec();
        input.extend_from_slice(&SYNC_TAIL);
        let mut out = Vec::with_capacity(1 << 20);
        decompress
            .decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .unwrap();
        out
    }

    /// `n` bytes that deflate barely compresses.
    fn noise(n: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| b"the quick brown fox jumps over the lazy dog "[i % 44] ^ (i / 997) as u8)
            .collect()
    }

    #[test]
    fn compressed_messages_inflate_back_with_an_independent_decoder() {
        for bits in [None, Some(9), Some(12), Some(15)] {
            for no_takeover in [false, true] {
                let mut deflater = Deflater::new(&params(no_takeover, bits));
                let mut decoder = Decompress::new_with_window_bits(false, bits.unwrap_or(15));
                for message in [sample(10), sample(0), sample(5000), sample(70_000), sample(10)] {
                    let compressed = compress(&mut deflater, &message);
                    assert_eq!(
                        independent_inflate(&mut decoder, &compressed),
                        message,
                        "bits {bits:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn context_takeover_makes_a_repeated_message_smaller_and_no_context_takeover_does_not() {
        let message = noise(2000);
        let mut taking_over = Deflater::new(&params(false, None));
        let first = compress(&mut taking_over, &message).len();
        let again = compress(&mut taking_over, &message).len();
        assert!(again * 20 < first, "{again} vs {first}");
        let mut resetting = Deflater::new(&params(true, None));
        let first = compress(&mut resetting, &message);
        assert_eq!(compress(&mut resetting, &message), first);
    }

    #[test]
    fn client_max_window_bits_8_compresses_with_9_bits() {
        assert_eq!(Deflater::new(&params(false, Some(8))).window_bits, 9);
        let mut deflater = Deflater::new(&params(false, Some(8)));
        let mut inflater = Inflater::new();
        let message = sample(100_000);
        assert_eq!(
            inflate(&mut inflater, &compress(&mut deflater, &message), None).unwrap(),
            message
        );
    }

    #[test]
    fn our_inflater_decodes_an_independent_encoder_across_messages() {
        let mut encoder = Compress::new(Compression::best(), false);
        let mut inflater = Inflater::new();
        for message in [sample(300), sample(300), sample(100_000)] {
            let mut out = Vec::with_capacity(message.len() + 1024);
            encoder
                .compress_vec(&message, &mut out, FlushCompress::Sync)
                .unwrap();
            assert!(out.ends_with(&SYNC_TAIL));
            out.truncate(out.len() - 4);
            assert_eq!(inflate(&mut inflater, &out, None).unwrap(), message);
        }
    }

    #[test]
    fn a_single_zero_byte_is_an_empty_message() {
        assert_eq!(inflate(&mut Inflater::new(), &[0x00], None).unwrap(), b"");
        let mut deflater = Deflater::new(&DeflateParams::default());
        assert_eq!(compress(&mut deflater, b""), [0x00]);
    }

    #[test]
    fn a_message_ending_its_deflate_stream_leaves_the_next_one_decodable() {
        let mut inflater = Inflater::new();
        for message in [sample(500), sample(700)] {
            // A final block (BFINAL), as some servers send.
            let mut encoder = Compress::new(Compression::default(), false);
            let mut out = Vec::with_capacity(4096);
            encoder
                .compress_vec(&message, &mut out, FlushCompress::Finish)
                .unwrap();
            assert_eq!(inflate(&mut inflater, &out, None).unwrap(), message);
        }
    }

    #[test]
    fn data_that_does_not_inflate_is_a_protocol_violation() {
        let mut inflater = Inflater::new();
        let error = inflate(&mut inflater, &[0xff, 0xff, 0xff, 0xff], None).unwrap_err();
        assert_eq!(error.wire_close(), (1002, "WebSocket Protocol Error"));
    }

    #[test]
    fn a_deflate_bomb_stops_at_the_limit_without_allocating_past_it() {
        // 64 MiB of zeros compress to about 64 KiB.
        let mut deflater = Deflater::new(&DeflateParams::default());
        let bomb = compress(&mut deflater, &vec![0u8; 64 << 20]);
        assert!(bomb.len() < 100_000, "{}", bomb.len());
        for max in [0, 1, 1000, FIRST_CHUNK, 1 << 20, 3 << 20] {
            let mut inflater = Inflater::new();
            let mut message = Vec::new();
            let error = inflater
                .inflate(&bomb, true, &mut message, Some(max), &mut |_| Ok(()))
                .unwrap_err();
            assert_eq!(error, Violation::TooLarge { size: max + 1, max });
            assert!(
                message.capacity() <= max + 1,
                "max {max}: held {}",
                message.capacity()
            );
        }
    }

    #[test]
    fn a_message_of_exactly_the_limit_inflates() {
        let mut deflater = Deflater::new(&DeflateParams::default());
        let mut inflater = Inflater::new();
        let message = sample(100_000);
        let compressed = compress(&mut deflater, &message);
        assert_eq!(
            inflate(&mut inflater, &compressed, Some(100_000)).unwrap(),
            message
        );
    }

    #[test]
    fn the_check_sees_every_inflated_byte_in_order() {
        let mut deflater = Deflater::new(&DeflateParams::default());
        let mut inflater = Inflater::new();
        let message = sample(200_000);
        let compressed = compress(&mut deflater, &message);
        let mut seen = Vec::new();
        let mut out = Vec::new();
        let mut check = |piece: &[u8]| {
            seen.extend_from_slice(piece);
            Ok(())
        };
        inflater
            .inflate(&compressed, true, &mut out, None, &mut check)
            .unwrap();
        assert_eq!(seen, message);
    }
}
