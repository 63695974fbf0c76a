//! `rules::validate_close` and `rules::close_frame_code` on arbitrary arguments.
//!
//! Input: two bytes of code (big-endian), a flag byte (bit 0: the code is given, bit 1: a
//! reason is given), then the reason (lossy UTF-8).
#![no_main]

use libfuzzer_sys::fuzz_target;
use twinsock::rules::{close_frame_code, validate_close, MAX_CLOSE_REASON_BYTES};

fuzz_target!(|data: &[u8]| {
    let [c0, c1, flags, rest @ ..] = data else {
        return;
    };
    let code = (flags & 1 != 0).then_some(u16::from_be_bytes([*c0, *c1]));
    let text = String::from_utf8_lossy(rest);
    let reason = (flags & 2 != 0).then_some(text.as_ref());

    let code_ok = code.is_none_or(|c| c == 1000 || (3000..=4999).contains(&c));
    let reason_ok = reason.map_or(0, str::len) <= MAX_CLOSE_REASON_BYTES;
    let result = validate_close(code, reason);
    assert_eq!(
        result.is_ok(),
        code_ok && reason_ok,
        "validate_close({code:?}, {reason:?}) = {result:?}"
    );

    let frame_code = close_frame_code(code, reason);
    let expected = match (code, reason) {
        (Some(c), _) => Some(c),
        (None, Some(r)) if !r.is_empty() => Some(1000),
        (None, _) => None,
    };
    assert_eq!(frame_code, expected, "close_frame_code({code:?}, {reason:?})");
});
