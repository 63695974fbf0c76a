//! The native client fed arbitrary server bytes: the handshake answer, then frames, through
//! the I/O loop's decisions (`twinsock::fuzzing::server_bytes`, compiled with `--cfg fuzzing`,
//! which `cargo fuzz` always sets). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    #[cfg(fuzzing)]
    twinsock::fuzzing::server_bytes(data);
    #[cfg(not(fuzzing))]
    let _ = data;
});
