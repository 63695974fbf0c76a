//! The reconnecting socket's errors: a send that could not be taken (the message comes back
//! in the error, so nothing is lost), and options out of range.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::event::Message;

/// Why [`ReconnectingSocket::send`](super::ReconnectingSocket::send) did not take a message.
/// The message is returned inside: nothing is dropped silently.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The socket is between connections and already holds as many queued messages as
    /// [`ReconnectOptions::max_queued`](super::ReconnectOptions::max_queued) allows.
    QueueFull {
        /// The queue's limit, in messages.
        limit: usize,
        /// The message that was not queued.
        message: Message,
    },
    /// The socket is closing or closed for good (the application closed it, a final close
    /// code came, or the attempts ran out): it will not connect again.
    Closed {
        /// The message that was not sent.
        message: Message,
    },
}

impl SendError {
    /// The message that was not taken, to keep, show or send elsewhere.
    pub fn into_message(self) -> Message {
        match self {
            Self::QueueFull { message, .. } | Self::Closed { message } => message,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::QueueFull { limit, .. } => write!(
                f,
                "not connected and the send queue is full ({limit} messages): message not queued"
            ),
            Self::Closed { .. } => f.write_str("the socket is closed for good: message not sent"),
        }
    }
}

impl std::error::Error for SendError {}

/// An option of [`ReconnectOptions`](super::ReconnectOptions) that is out of range.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum InvalidOption {
    /// The minimum delay is above the maximum delay.
    DelayRange {
        /// The minimum delay given.
        min: Duration,
        /// The maximum delay given.
        max: Duration,
    },
    /// The growth factor is below 1 or not a finite number.
    GrowthFactor(f64),
    /// The jitter is outside 0..=1 or not a number.
    Jitter(f64),
    /// The connect timeout is zero.
    ZeroConnectTimeout,
}

impl fmt::Display for InvalidOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DelayRange { min, max } => {
                write!(f, "the minimum delay {min:?} is above the maximum delay {max:?}")
            }
            Self::GrowthFactor(factor) => {
                write!(f, "the growth factor {factor} is not a number of at least 1")
            }
            Self::Jitter(jitter) => write!(f, "the jitter {jitter} is not within 0..=1"),
            Self::ZeroConnectTimeout => f.write_str("the connect timeout is zero"),
        }
    }
}

/// Why a [`ReconnectingSocket`](super::ReconnectingSocket) could not be made. Nothing is
/// attempted then.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReconnectError {
    /// The socket's own checks refused it (URL, subprotocol, header), as
    /// [`Socket::open_with`](crate::Socket::open_with) says.
    Socket(Error),
    /// An option is out of range.
    InvalidOption(InvalidOption),
}

impl From<Error> for ReconnectError {
    fn from(error: Error) -> Self {
        Self::Socket(error)
    }
}

impl From<InvalidOption> for ReconnectError {
    fn from(invalid: InvalidOption) -> Self {
        Self::InvalidOption(invalid)
    }
}

impl fmt::Display for ReconnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Socket(error) => fmt::Display::fmt(error, f),
            Self::InvalidOption(invalid) => write!(f, "invalid reconnect option: {invalid}"),
        }
    }
}

impl std::error::Error for ReconnectError {
    /// The socket's error for [`ReconnectError::Socket`].
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Socket(error) => Some(error),
            Self::InvalidOption(_) => None,
        }
    }
}
