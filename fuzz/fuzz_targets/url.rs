//! The WebSocket constructor's URL steps and subprotocol rules on arbitrary text (see
//! `twinsock::fuzzing::url` and `protocols` for the invariants).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    twinsock::fuzzing::url(&input);
    let protocols: Vec<&str> = input.split(',').collect();
    twinsock::fuzzing::protocols(&protocols);
});
