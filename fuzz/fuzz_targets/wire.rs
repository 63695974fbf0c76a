//! The native message layer fed arbitrary server bytes after the handshake, with and without
//! permessage-deflate (the first byte picks the parameters, the message limit and how the
//! bytes are split), every message echoed back and checked (`twinsock::fuzzing::wire`, compiled
//! with `--cfg fuzzing`). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    #[cfg(fuzzing)]
    twinsock::fuzzing::wire(data);
    #[cfg(not(fuzzing))]
    let _ = data;
});
