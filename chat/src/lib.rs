//! The tutorial's chat application on twinsock, written once against [`twinsock::Socket`]:
//! the web pages (`www/`, through this crate's wasm entry points) and the native programs (the
//! `chat` terminal client, the `hello` example) run the same code over the two backends, and
//! `chat-server` uses its line rule.

mod chat;
pub mod hello;
#[cfg(all(target_arch = "wasm32", feature = "pages"))]
mod www;

pub use chat::{cut_line, Chat, ChatEnd, ChatEvent, MAX_LINE_CHARS};
