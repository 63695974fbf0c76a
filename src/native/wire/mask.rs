//! The client's frame masks (RFC 6455 5.3): a fresh random key per frame, applied eight bytes
//! at a time.
//!
//! tungstenite's `apply_mask` is private to it (and its `Frame::format` copies the payload to
//! mask it), so the layer masks in place in its output buffer, in safe code the compiler
//! vectorises.

/// A new masking key, from `rand::random` (the thread's ChaCha12 generator, seeded and
/// reseeded from the OS). RFC 6455 10.3 asks for keys a script cannot predict; a CSPRNG gives
/// that, and at a few nanoseconds per key it costs nothing next to the frame's copy.
pub(crate) fn new_key() -> [u8; 4] {
    rand::random()
}

/// XORs `payload` with `key`, the key's first byte on the payload's first byte. Applying it
/// twice gives the payload back.
pub(crate) fn apply(payload: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut words = payload.chunks_exact_mut(8);
    for word in &mut words {
        let masked = u64::from_ne_bytes((&*word).try_into().expect("eight bytes")) ^ wide;
        word.copy_from_slice(&masked.to_ne_bytes());
    }
    // Eight is a multiple of four, so the tail starts on the key's first byte again.
    for (byte, key_byte) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= key_byte;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_matches_the_byte_by_byte_definition_at_every_length() {
        let key = [0x6d, 0xb6, 0xb2, 0x80];
        let data: Vec<u8> = (0..=255u8).cycle().take(100).collect();
        for len in 0..data.len() {
            let mut masked = data[..len].to_vec();
            apply(&mut masked, key);
            let expected: Vec<u8> = data[..len]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            assert_eq!(masked, expected, "length {len}");
            apply(&mut masked, key);
            assert_eq!(masked, &data[..len]);
        }
    }

    #[test]
    fn each_frame_gets_a_new_key() {
        let keys: std::collections::HashSet<[u8; 4]> = (0..64).map(|_| new_key()).collect();
        assert!(keys.len() > 60, "{} distinct keys of 64", keys.len());
    }
}
