//! What the server did wrong: the reasons the message layer fails a connection, each with the
//! close frame the client sends before it hangs up.

use std::fmt;

/// A reason to fail the connection, found while reading the server's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Violation {
    /// The server broke RFC 6455 or RFC 7692 (a bad frame, a bad sequence of frames, a bad close
    /// frame, compressed data that does not inflate). `why` is what was wrong.
    Protocol {
        /// What was wrong, for the error event.
        why: &'static str,
        /// The close reason sent on the wire (Chromium's wording where Chromium sends one).
        wire_reason: &'static str,
    },
    /// A text message or a close reason that is not valid UTF-8.
    InvalidUtf8(Utf8Place),
    /// A message larger than the configured maximum.
    TooLarge {
        /// The message's size when it passed the maximum (see [`super::reader`] for how it is
        /// counted).
        size: usize,
        /// The configured maximum.
        max: usize,
    },
}

/// Where invalid UTF-8 was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Utf8Place {
    /// In a text message (any of its fragments).
    TextMessage,
    /// In the reason of the server's close frame.
    CloseReason,
}

impl Violation {
    /// A protocol violation whose close reason on the wire is Chromium's catch-all for frames
    /// it cannot parse or inflate ("WebSocket Protocol Error").
    pub(crate) const fn protocol(why: &'static str) -> Self {
        Self::Protocol {
            why,
            wire_reason: "WebSocket Protocol Error",
        }
    }

    /// The close code and reason the client sends on the wire before hanging up: 1002 for a
    /// protocol violation, 1007 for invalid UTF-8, 1009 for a message too large.
    ///
    /// Chromium sends 1002 for invalid UTF-8 too ("Invalid UTF-8 in text frame"); RFC 6455
    /// 7.4.1 names 1007 for it and Autobahn|Testsuite (6.*) checks it, so 1007 it is. The code
    /// the application sees is the same either way (1006).
    pub(crate) fn wire_close(&self) -> (u16, &'static str) {
        match self {
            Self::Protocol { wire_reason, .. } => (1002, wire_reason),
            Self::InvalidUtf8(Utf8Place::TextMessage) => (1007, "Invalid UTF-8 in text frame"),
            Self::InvalidUtf8(Utf8Place::CloseReason) => (1007, "Invalid UTF-8 in Close frame"),
            Self::TooLarge { .. } => (1009, "Message too big"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol { why, .. } => f.write_str(why),
            Self::InvalidUtf8(Utf8Place::TextMessage) => f.write_str("invalid UTF-8 in a text message"),
            Self::InvalidUtf8(Utf8Place::CloseReason) => f.write_str("invalid UTF-8 in a close reason"),
            Self::TooLarge { size, max } => {
                write!(
                    f,
                    "a message of {size} bytes or more exceeded the maximum of {max} bytes"
                )
            }
        }
    }
}
