//! UTF-8 validated piece by piece, failing as soon as the bytes seen so far can no longer
//! begin valid UTF-8 (as Chromium's streaming validator and Autobahn's fail-fast cases 6.4.*
//! want), even when a character is split between two pieces.

/// The state of a text message's validation between fragments: the bytes of a character that
/// the last piece began but did not finish (at most 3). Owned by the message being assembled.
#[derive(Debug, Default, Clone)]
pub(crate) struct Utf8Validator {
    pending: [u8; 4],
    pending_len: usize,
}

/// The bytes fed so far can never be valid UTF-8, whatever follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

/// How a piece of bytes ends, for validation: `Ok(n)` when everything is valid except an
/// unfinished character in the last `n` bytes (0 to 3) that more bytes may complete.
fn valid_prefix(bytes: &[u8]) -> Result<usize, InvalidUtf8> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(0),
        // `error_len() == None`: the input ended inside a character that can still be valid.
        Err(e) if e.error_len().is_none() => Ok(bytes.len() - e.valid_up_to()),
        Err(_) => Err(InvalidUtf8),
    }
}

impl Utf8Validator {
    /// Feeds the next `bytes` of the message.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<(), InvalidUtf8> {
        if self.pending_len > 0 {
            // Finish the split character with up to 3 more bytes, then go on after it.
            let take = bytes.len().min(4 - self.pending_len);
            let mut joined = self.pending;
            joined[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            let joined_len = self.pending_len + take;
            let unfinished = valid_prefix(&joined[..joined_len])?;
            if unfinished == joined_len {
                // Still unfinished (the piece was too short to complete it).
                self.pending = joined;
                self.pending_len = joined_len;
                return Ok(());
            }
            // The character ended within the joined bytes; whatever the piece has after it
            // is validated on its own (the joined bytes past the character are re-read).
            let used_of_piece = joined_len - unfinished - self.pending_len;
            self.pending_len = 0;
            bytes = &bytes[used_of_piece..];
        }
        let unfinished = valid_prefix(bytes)?;
        self.pending[..unfinished].copy_from_slice(&bytes[bytes.len() - unfinished..]);
        self.pending_len = unfinished;
        Ok(())
    }

    /// Ends the message: a character left unfinished makes it invalid.
    pub(crate) fn finish(&self) -> Result<(), InvalidUtf8> {
        if self.pending_len == 0 {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` one after the other; `Err(i)` when piece `i` was refused (or, for
    /// `pieces.len()`, the end).
    fn feed_all(pieces: &[&[u8]]) -> Result<(), usize> {
        let mut validator = Utf8Validator::default();
        for (i, piece) in pieces.iter().enumerate() {
            validator.feed(piece).map_err(|_| i)?;
        }
        validator.finish().map_err(|_| pieces.len())
    }

    #[test]
    fn valid_text_split_at_every_byte_is_accepted() {
        let text = "κόσμε, 𝄞 and € — mixed ASCII".as_bytes();
        for at in 0..=text.len() {
            assert_eq!(feed_all(&[&text[..at], &text[at..]]), Ok(()), "split at {at}");
        }
        let single: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(feed_all(&single), Ok(()));
    }

    #[test]
    fn an_invalid_sequence_fails_at_the_piece_that_makes_it_impossible() {
        // 6.4.1: κόσμε, then F4 90 80 80 (above U+10FFFF), then more text.
        let head = "κόσμε".as_bytes();
        assert_eq!(feed_all(&[head, b"\xf4\x90\x80\x80", b"edited"]), Err(1));
        // The second byte alone already rules it out.
        assert_eq!(feed_all(&[head, b"\xf4", b"\x90", b"\x80\x80"]), Err(2));
        // A surrogate (ED A0) and an overlong (E0 80, C0) fail on the byte that shows it.
        assert_eq!(feed_all(&[b"\xed", b"\xa0\x80"]), Err(1));
        assert_eq!(feed_all(&[b"\xe0", b"\x80"]), Err(1));
        assert_eq!(feed_all(&[b"\xc0"]), Err(0));
        assert_eq!(feed_all(&[b"ab\xff"]), Err(0));
    }

    #[test]
    fn a_character_left_unfinished_at_the_end_is_invalid() {
        assert_eq!(feed_all(&[b"ok", b"\xe2\x82"]), Err(2));
        assert_eq!(feed_all(&[b"\xf0", b"\x9d", b"\x84"]), Err(3));
    }

    #[test]
    fn an_unfinished_character_then_an_invalid_byte_later_in_the_same_piece_fails() {
        assert_eq!(feed_all(&[b"\xe2", b"\x82\xacok\xff"]), Err(1));
        // A piece completing the character and starting another one.
        assert_eq!(feed_all(&[b"\xe2", b"\x82\xac\xe2\x82", b"\xac"]), Ok(()));
    }
}
