//! The incoming message limit (`max_message_size`): how a message's size is counted and how
//! its buffer grows without passing the limit.
//!
//! A message's size is counted twice, and the larger count is checked against the limit:
//! - on the wire: each frame's payload as sent (compressed or not), plus
//!   [`CONTINUATION_COST`] for each continuation frame. It is checked as soon as a frame's
//!   header arrives, before its payload is read, so a frame never sits in the input buffer
//!   past the limit, and a message of endless empty fragments (or of compressed fragments
//!   that inflate to nothing) ends in the size error instead of using CPU forever;
//! - inflated: the bytes the application would get, checked while inflating (see
//!   [`super::deflate`]).
//!
//! A single uncompressed frame can thus carry exactly `max_message_size` bytes.

use super::violation::Violation;

/// What each continuation frame adds to its message's size on the wire, on top of its
/// payload: the smallest frame header, 2 bytes.
pub(crate) const CONTINUATION_COST: usize = 2;

/// The longest frame payload accepted whatever the limit: 2^31 − 1 bytes, past which
/// Chromium refuses frames too (its frame parser's cap).
pub(crate) const MAX_FRAME_PAYLOAD: u64 = i32::MAX as u64;

/// `Err(TooLarge)` when `size` passes `max`.
pub(crate) fn check(size: usize, max: Option<usize>) -> Result<(), Violation> {
    match max {
        Some(max) if size > max => Err(Violation::TooLarge { size, max }),
        _ => Ok(()),
    }
}

/// Makes room in `buffer` for `additional` more bytes (at least one) when it has not: its
/// capacity then doubles (so appends stay linear), but never past `max + 1` bytes in all: one
/// byte more than the limit is the most a message buffer ever holds.
pub(crate) fn reserve_within(buffer: &mut Vec<u8>, additional: usize, max: Option<usize>) {
    let len = buffer.len();
    let needed = len.saturating_add(additional.max(1));
    if needed <= buffer.capacity() {
        return;
    }
    let wanted = needed.max(buffer.capacity().saturating_mul(2));
    let capacity = match max {
        Some(max) => wanted.min(max.saturating_add(1)).max(len + 1),
        None => wanted,
    };
    buffer.reserve_exact(capacity - len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_double_but_never_hold_more_than_one_byte_past_the_limit() {
        let mut buffer = Vec::new();
        reserve_within(&mut buffer, 10, Some(1000));
        assert!(buffer.capacity() >= 10);
        while buffer.len() < 1000 {
            if buffer.len() == buffer.capacity() {
                reserve_within(&mut buffer, 1, Some(1000));
            }
            buffer.push(0);
        }
        reserve_within(&mut buffer, 1, Some(1000));
        assert_eq!(buffer.capacity(), 1001);
        let mut unlimited = vec![0u8; 100];
        reserve_within(&mut unlimited, 1, None);
        assert!(unlimited.capacity() >= 200);
    }

    #[test]
    fn a_buffer_with_room_enough_does_not_grow() {
        // (The fuzzer found that it doubled on every empty fragment.)
        let mut buffer = Vec::with_capacity(64);
        buffer.push(1);
        for _ in 0..100 {
            reserve_within(&mut buffer, 0, None);
            reserve_within(&mut buffer, 63, Some(1 << 20));
        }
        assert_eq!(buffer.capacity(), 64);
    }

    #[test]
    fn sizes_past_the_limit_are_too_large() {
        assert_eq!(check(10, Some(10)), Ok(()));
        assert_eq!(
            check(11, Some(10)),
            Err(Violation::TooLarge { size: 11, max: 10 })
        );
        assert_eq!(check(usize::MAX, None), Ok(()));
    }
}
