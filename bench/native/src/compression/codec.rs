//! permessage-deflate's message codec (RFC 7692 §7.2.1) for the compression benchmark's
//! server, on flate2 (the zlib-rs backend, as twinsock): raw deflate, each message ended with a
//! sync flush whose `00 00 ff ff` tail is removed by the sender and put back by the receiver;
//! the context is kept from message to message (context takeover), with 15-bit windows.

use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What a sync flush ends with.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// An inflated message may be at most this long (a deflate bomb from a client is an error).
pub const MAX_INFLATED: usize = 16 << 20;

/// A compressor for one direction of one connection, at zlib's default level (6), as
/// Chromium, twinsock and Node's `ws` compress.
pub struct Deflater(Compress);

impl Deflater {
    pub fn new() -> Deflater {
        Deflater(Compress::new(Compression::default(), false))
    }

    /// Appends `message` compressed (without the sync tail) to `out`.
    pub fn deflate(&mut self, message: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        let consumed_before = self.0.total_in();
        loop {
            out.reserve(message.len() / 2 + 64);
            let done = (self.0.total_in() - consumed_before) as usize;
            self.0
                .compress_vec(&message[done..], out, FlushCompress::Sync)
                .expect("deflate of an in-memory buffer");
            // A sync flush is complete once all input is taken and the output buffer was not
            // filled to the brim (zlib's rule for "call again").
            if (self.0.total_in() - consumed_before) as usize == message.len() && out.len() < out.capacity() {
                break;
            }
        }
        debug_assert!(out[start..].ends_with(&SYNC_TAIL));
        out.truncate(out.len() - SYNC_TAIL.len());
    }
}

/// A decompressor for one direction of one connection.
pub struct Inflater(Decompress);

impl Inflater {
    pub fn new() -> Inflater {
        Inflater(Decompress::new(false))
    }

    /// `compressed` (one message's payload, without the sync tail) inflated into `out`
    /// (cleared first).
    ///
    /// # Errors
    ///
    /// `InvalidData` for data that is not deflate or inflates to more than [`MAX_INFLATED`].
    pub fn inflate(&mut self, compressed: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        for input in [compressed, &SYNC_TAIL[..]] {
            let consumed_before = self.0.total_in();
            loop {
                if out.len() == out.capacity() {
                    if out.len() >= MAX_INFLATED {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "inflated message too large",
                        ));
                    }
                    out.reserve((out.len() * 2).clamp(4096, MAX_INFLATED) - out.len());
                }
                let done = (self.0.total_in() - consumed_before) as usize;
                let status = self
                    .0
                    .decompress_vec(&input[done..], out, FlushDecompress::Sync)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                if status == Status::StreamEnd {
                    // The message ended its deflate stream (BFINAL): the next one starts anew.
                    self.0.reset(false);
                    return Ok(());
                }
                let all_in = (self.0.total_in() - consumed_before) as usize == input.len();
                if all_in && out.len() < out.capacity() {
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_deflated_in_sequence_inflate_in_sequence() {
        let messages: Vec<Vec<u8>> = (0..200)
            .map(|i| {
                format!("{{\"seq\":{i},\"price\":\"{}.25\"}}", 40_000 + i * 7)
                    .repeat(1 + i % 40)
                    .into_bytes()
            })
            .collect();
        let (mut deflater, mut inflater) = (Deflater::new(), Inflater::new());
        let mut out = Vec::new();
        for m in &messages {
            let mut compressed = Vec::new();
            deflater.deflate(m, &mut compressed);
            inflater.inflate(&compressed, &mut out).unwrap();
            assert_eq!(&out, m);
        }
    }

    #[test]
    fn a_message_that_inflates_past_the_limit_is_an_error() {
        let mut compressed = Vec::new();
        Deflater::new().deflate(&vec![0u8; MAX_INFLATED + 1], &mut compressed);
        let err = Inflater::new().inflate(&compressed, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn data_that_is_not_deflate_is_an_error() {
        assert!(Inflater::new().inflate(&[0xff; 16], &mut Vec::new()).is_err());
    }
}
