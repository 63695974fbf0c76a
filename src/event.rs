//! The socket's state, messages and events.

use crate::error::FailureCause;

/// The socket's `readyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ReadyState {
    /// 0: the connection is not yet open.
    Connecting = 0,
    /// 1: the connection is open and ready to communicate.
    Open = 1,
    /// 2: the connection is going through the closing handshake, or `close` was called.
    Closing = 2,
    /// 3: the connection is closed or could not be opened.
    Closed = 3,
}

impl ReadyState {
    /// The state for a `readyState` number; anything above 3 is `Closed`.
    pub fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Connecting,
            1 => Self::Open,
            2 => Self::Closing,
            _ => Self::Closed,
        }
    }
}

/// A data message, sent or received. Text and binary keep their kind end to end.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message (always valid UTF-8).
    Text(String),
    /// A binary message, as bytes on both targets (never a browser `Blob`). Natively a
    /// received message shares the buffer it was read into: no copy.
    Binary(bytes::Bytes),
}

impl Message {
    /// The payload's length in bytes (UTF-8 bytes for text): what `buffered_amount` counts.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(bytes) => bytes.len(),
        }
    }

    /// `true` when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `close` event's data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CloseEvent {
    /// The close code: the peer's, 1005 when its close frame had none, 1006 when the
    /// connection died or failed, 1009 when a message was too large (native).
    pub code: u16,
    /// The close reason the peer sent, or empty.
    pub reason: String,
    /// `true` only when the closing handshake completed.
    pub was_clean: bool,
}

impl CloseEvent {
    /// Close 1006, not clean: the connection failed or died without a closing handshake.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) const fn abnormal() -> Self {
        Self {
            code: 1006,
            reason: String::new(),
            was_clean: false,
        }
    }
}

/// An event of a socket, delivered in order by its `Stream`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    /// The connection opened.
    Open,
    /// A message arrived.
    Message(Message),
    /// The connection failed or was failed; a `Close` event follows.
    Error(FailureCause),
    /// The connection closed. Always the last event, exactly once.
    Close(CloseEvent),
}
