//! What a reconnecting socket tells the application: the connection's ups and downs as well
//! as the messages.

use std::time::Duration;

use crate::error::FailureCause;
use crate::event::{CloseEvent, Message};

/// An event of a [`ReconnectingSocket`](super::ReconnectingSocket), delivered in order by its
/// `Stream`. A loss is followed by `Reconnecting`, `Connecting` and then `Open` again (or the
/// next `Reconnecting`); `Closed` is the last event, exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconnectEvent {
    /// A connection opened: the first one, or again after a loss (`reopened`). The messages
    /// queued meanwhile have just been sent, in order, before any later send.
    Open {
        /// `true` for every connection after the first.
        reopened: bool,
        /// How many queued messages were sent on this connection as it opened.
        sent_from_queue: usize,
    },
    /// A message arrived.
    Message(Message),
    /// The connection (or an attempt) ended and attempt `attempt` starts after `delay`.
    Reconnecting {
        /// The attempt that comes next: 1, 2, ... since the last connection that stayed up.
        attempt: u32,
        /// How long until it starts.
        delay: Duration,
        /// How the connection or attempt ended.
        close: CloseEvent,
        /// The error event's cause, if there was one (natively always for a failure; in a
        /// browser [`FailureCause::Unreported`]); [`FailureCause::ConnectTimeout`] when the
        /// attempt did not open within the connect timeout.
        cause: Option<FailureCause>,
    },
    /// The delay is over and attempt `attempt` is connecting.
    Connecting {
        /// The attempt, as announced by the `Reconnecting` event before it.
        attempt: u32,
    },
    /// The socket is closed for good; nothing follows.
    Closed {
        /// The last connection's (or attempt's) close event.
        close: CloseEvent,
        /// Its error event's cause, if there was one.
        cause: Option<FailureCause>,
        /// Why the socket stopped.
        ending: Ending,
        /// The messages still queued, in order: never sent, handed back.
        unsent: Vec<Message>,
    },
}

/// Why a reconnecting socket stopped for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ending {
    /// The application called `close` (or the socket was waiting to reconnect when it did).
    ClosedByApplication,
    /// The server closed with one of the final close codes.
    FinalCloseCode,
    /// This many attempts in a row failed: the maximum.
    AttemptsExhausted {
        /// The attempts made.
        attempts: u32,
    },
}
