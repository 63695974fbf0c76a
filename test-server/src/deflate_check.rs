//! Checks the back-references of a client's compressed message against the window the server
//! allowed it: a reader of raw deflate (RFC 1951) that decodes the blocks' codes but keeps no
//! data, only where each back-reference points.
//!
//! zlib-rs (like miniz_oxide) always inflates with a 32 KiB window whatever it is told, so it
//! decodes a reference that `client_max_window_bits` or `client_no_context_takeover` forbade;
//! this check is what sees it.

/// The base lengths of length codes 257 to 285, and their extra bits.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
    227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// The base distances of distance codes 0 to 29, and their extra bits.
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
    4097, 6145, 8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/// The order in which a dynamic block lists the code lengths of its code-length code.
const CODE_LENGTH_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// Checks the message `data` (its frames' payloads and the `00 00 ff ff` tail): every
/// back-reference reaches at most `window` bytes back and no further back than `history` bytes
/// before the message (0 when the context is reset at each message). Returns the message's
/// inflated length.
///
/// # Errors
/// A reference too far back, or data that is not deflate.
pub fn check(data: &[u8], window: usize, history: usize) -> Result<usize, String> {
    let mut bits = Bits { data, at: 0 };
    let mut length = 0usize;
    while !bits.at_end() {
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => length += stored(&mut bits)?,
            1 => {
                let (literals, distances) = fixed_codes();
                length = codes(&mut bits, &literals, &distances, length, window, history)?;
            }
            2 => {
                let (literals, distances) = dynamic_codes(&mut bits)?;
                length = codes(&mut bits, &literals, &distances, length, window, history)?;
            }
            _ => return Err("a reserved block type".into()),
        }
        if last {
            break;
        }
    }
    Ok(length)
}

/// The deflate stream, read least significant bit first.
struct Bits<'a> {
    data: &'a [u8],
    /// The next bit's position.
    at: usize,
}

impl Bits<'_> {
    /// No whole byte is left (a sync flush ends on a byte boundary).
    fn at_end(&self) -> bool {
        self.at.div_ceil(8) >= self.data.len()
    }

    fn take(&mut self, count: u8) -> Result<u32, String> {
        let mut value = 0u32;
        for i in 0..count {
            let byte = *self.data.get(self.at / 8).ok_or("the deflate data ends early")?;
            value |= u32::from(byte >> (self.at % 8) & 1) << i;
            self.at += 1;
        }
        Ok(value)
    }

    /// The next byte boundary.
    fn align(&mut self) {
        self.at = self.at.div_ceil(8) * 8;
    }
}

/// A stored block: skips its bytes; returns how many.
fn stored(bits: &mut Bits<'_>) -> Result<usize, String> {
    bits.align();
    let len = bits.take(16)?;
    let nlen = bits.take(16)?;
    if len != !nlen & 0xffff {
        return Err("a stored block's length check fails".into());
    }
    let len = len as usize;
    if bits.at / 8 + len > bits.data.len() {
        return Err("a stored block ends early".into());
    }
    bits.at += len * 8;
    Ok(len)
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Self {
        let mut counts = [0u16; 16];
        for &length in lengths {
            counts[length as usize] += 1;
        }
        counts[0] = 0;
        let mut offsets = [0u16; 16];
        for length in 1..15 {
            offsets[length + 1] = offsets[length] + counts[length];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &length) in lengths.iter().enumerate() {
            if length != 0 {
                symbols[offsets[length as usize] as usize] = symbol as u16;
                offsets[length as usize] += 1;
            }
        }
        Self { counts, symbols }
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for length in 1..16 {
            code |= bits.take(1)? as i32;
            let count = i32::from(self.counts[length]);
            if code - first < count {
                return Ok(self.symbols[(index + code - first) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("a code that is not in the block's table".into())
    }
}

/// The fixed codes of RFC 1951 3.2.6.
fn fixed_codes() -> (Huffman, Huffman) {
    let mut literals = [8u8; 288];
    literals[144..256].fill(9);
    literals[256..280].fill(7);
    (Huffman::new(&literals), Huffman::new(&[5u8; 30]))
}

/// The codes a dynamic block defines (RFC 1951 3.2.7).
fn dynamic_codes(bits: &mut Bits<'_>) -> Result<(Huffman, Huffman), String> {
    let literal_count = bits.take(5)? as usize + 257;
    let distance_count = bits.take(5)? as usize + 1;
    let code_length_count = bits.take(4)? as usize + 4;
    let mut code_lengths = [0u8; 19];
    for &symbol in &CODE_LENGTH_ORDER[..code_length_count] {
        code_lengths[symbol] = bits.take(3)? as u8;
    }
    let code_length_code = Huffman::new(&code_lengths);
    let mut lengths = Vec::with_capacity(literal_count + distance_count);
    while lengths.len() < literal_count + distance_count {
        let (value, repeat) = match code_length_code.decode(bits)? {
            symbol @ 0..=15 => (symbol as u8, 1),
            16 => {
                let previous = *lengths.last().ok_or("a repeat with nothing before it")?;
                (previous, 3 + bits.take(2)?)
            }
            17 => (0, 3 + bits.take(3)?),
            _ => (0, 11 + bits.take(7)?),
        };
        lengths.extend(std::iter::repeat_n(value, repeat as usize));
    }
    if lengths.len() > literal_count + distance_count {
        return Err("code lengths past the block's tables".into());
    }
    let (literals, distances) = lengths.split_at(literal_count);
    Ok((Huffman::new(literals), Huffman::new(distances)))
}

/// Reads a Huffman-coded block's codes up to its end; `length` is the message's length so far.
/// Returns it after the block.
fn codes(
    bits: &mut Bits<'_>,
    literals: &Huffman,
    distances: &Huffman,
    mut length: usize,
    window: usize,
    history: usize,
) -> Result<usize, String> {
    loop {
        let symbol = literals.decode(bits)? as usize;
        match symbol {
            0..=255 => length += 1,
            256 => return Ok(length),
            257..=285 => {
                let code = symbol - 257;
                let copied = LENGTH_BASE[code] as usize + bits.take(LENGTH_EXTRA[code])? as usize;
                let code = distances.decode(bits)? as usize;
                if code >= 30 {
                    return Err("a reserved distance code".into());
                }
                let distance = DISTANCE_BASE[code] as usize + bits.take(DISTANCE_EXTRA[code])? as usize;
                if distance > window {
                    return Err(format!(
                        "a back-reference {distance} bytes back, past the {window}-byte window"
                    ));
                }
                if distance > history + length {
                    return Err(format!(
                        "a back-reference {distance} bytes back, {} before the context began",
                        distance - length
                    ));
                }
                length += copied;
            }
            _ => return Err("a reserved length code".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::tests::noise;
    use flate2::{Compress, Compression, FlushCompress};

    /// `message` compressed with a `bits` window, as a client sends it, with the tail.
    fn compressed(compress: &mut Compress, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() * 2 + 64);
        compress
            .compress_vec(message, &mut out, FlushCompress::Sync)
            .unwrap();
        out
    }

    #[test]
    fn the_length_is_the_inflated_length_for_every_block_type() {
        for level in [Compression::none(), Compression::fast(), Compression::default()] {
            let mut compress = Compress::new(level, false);
            for message in [
                b"hello hello hello".to_vec(),
                noise(70_000, 0x9e37_79b9_7f4a_7c15),
                vec![b'a'; 100_000],
            ] {
                let data = compressed(&mut compress, &message);
                assert_eq!(check(&data, 1 << 15, 1 << 15), Ok(message.len()));
            }
        }
    }

    #[test]
    fn references_past_the_window_are_found() {
        let message = noise(1024, 0x9e37_79b9_7f4a_7c15).repeat(4);
        let mut wide = Compress::new_with_window_bits(Compression::default(), false, 15);
        let data = compressed(&mut wide, &message);
        assert!(check(&data, 256, 0)
            .unwrap_err()
            .contains("past the 256-byte window"));
        assert_eq!(check(&data, 4096, 0), Ok(4096));
        // zlib with 9 bits keeps references within 250 bytes: inside a 256-byte window.
        let mut nine = Compress::new_with_window_bits(Compression::default(), false, 9);
        assert_eq!(check(&compressed(&mut nine, &message), 256, 0), Ok(4096));
    }

    #[test]
    fn references_into_a_previous_message_need_its_context() {
        let message = noise(2000, 0x9e37_79b9_7f4a_7c15);
        let mut compress = Compress::new(Compression::default(), false);
        assert_eq!(check(&compressed(&mut compress, &message), 1 << 15, 0), Ok(2000));
        let again = compressed(&mut compress, &message);
        assert!(check(&again, 1 << 15, 0)
            .unwrap_err()
            .contains("before the context began"));
        assert_eq!(check(&again, 1 << 15, 2000), Ok(2000));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(check(&[0xff, 0xff, 0xff, 0xff], 1 << 15, 0).is_err());
        assert!(check(&[0x00, 0x05, 0x00], 1 << 15, 0).is_err());
    }
}
