//! The native client's WebSocket message layer, sans I/O: bytes from the server in, events
//! and decisions out; messages, pings and close frames in, bytes for the server out. It reads
//! and writes frames with tungstenite's frame layer (`tungstenite::protocol::frame`) and does
//! the rest itself, each decision the way Chromium makes it, with permessage-deflate
//! (RFC 7692).
//!
//! - [`session`]: a connection's layer, what the I/O layer calls;
//! - [`reader`] and [`writer`]: frames to messages and back;
//! - [`frames`]: frame headers, checked and formatted; [`mask`]: client masks;
//! - [`utf8`]: text validated as it arrives; [`limit`]: the message size limit;
//! - [`pong`]: at most one pending pong; [`close`]: the closing handshake's decisions;
//! - [`extension`]: permessage-deflate's offer and negotiation; [`deflate`]: its codec;
//! - [`violation`]: what the server can do wrong, and the close frame each earns.

pub(crate) mod close;
pub(crate) mod deflate;
pub(crate) mod extension;
pub(crate) mod frames;
#[cfg(any(fuzzing, test))]
pub(crate) mod fuzzing;
pub(crate) mod limit;
pub(crate) mod mask;
pub(crate) mod pong;
pub(crate) mod reader;
pub(crate) mod session;
pub(crate) mod utf8;
pub(crate) mod violation;
pub(crate) mod writer;

#[cfg(test)]
mod tests;
