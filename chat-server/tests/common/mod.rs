//! The chat server's test helpers: the library suites' bounded waits (shared through
//! `#[path]`), and the server as a process ([`chat_server`]).
#![allow(dead_code)]

#[path = "../../../tests/common/mod.rs"]
mod waits;

pub use waits::*;

pub mod abuse;
pub mod chat_server;
