//! `bench-native compression`: permessage-deflate on and off, natively, for twinsock and yawc
//! (the one other Rust crate with permessage-deflate on both targets), on a compressible JSON
//! feed and on random bytes of the same sizes, in both directions, against a server of this
//! benchmark's own ([`server`]) that is not the ceiling; the page's side is in `bench/web`.

pub mod codec;
pub mod payloads;
pub mod run;
pub mod server;
