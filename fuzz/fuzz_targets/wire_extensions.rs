//! permessage-deflate's negotiation fed arbitrary `Sec-WebSocket-Extensions` lines (split at
//! `\n`; the first byte says whether the extension was offered), each accepted answer checked
//! (`twinsock::fuzzing::wire_extensions`, compiled with `--cfg fuzzing`). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    #[cfg(fuzzing)]
    twinsock::fuzzing::wire_extensions(data);
    #[cfg(not(fuzzing))]
    let _ = data;
});
