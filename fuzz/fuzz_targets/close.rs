//! `close()`'s argument rules on arbitrary arguments (see `twinsock::fuzzing::close`).
//!
//! Input: two bytes of code (big-endian), a flag byte (bit 0: the code is given, bit 1: a
//! reason is given), then the reason (lossy UTF-8).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [c0, c1, flags, rest @ ..] = data else {
        return;
    };
    let code = (flags & 1 != 0).then_some(u16::from_be_bytes([*c0, *c1]));
    let text = String::from_utf8_lossy(rest);
    let reason = (flags & 2 != 0).then_some(text.as_ref());
    twinsock::fuzzing::close(code, reason);
});
