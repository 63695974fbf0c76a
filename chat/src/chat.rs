//! The tutorial's chat client, written once against [`Socket`]: the web page
//! (`www/index.html`), the `chat` terminal client and the `chat-desktop` window all run this
//! code.
//!
//! A [`Chat`] connects to a chat server over a [`ReconnectingSocket`], sends lines, and turns
//! the socket's events into [`ChatEvent`]s: connected, a line, reconnecting (with the attempt
//! and its delay), and at the end how it ended. A server restart loses nobody: every client
//! reconnects by itself, and lines typed meanwhile are sent, in order, once it is back.
//! Binary messages are shown as text (lossy UTF-8), because the tutorial's Node server
//! re-broadcasts text as binary.

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use twinsock::{
    Clock, Ending, Error, FailureCause, Message, ReconnectError, ReconnectEvent, ReconnectOptions,
    ReconnectingSocket, SendError, Socket, SystemClock, WebSocketBuilder,
};

/// The longest chat line, in characters: the tutorial's server cuts every message to this.
pub const MAX_LINE_CHARS: usize = 50;

/// The close codes after which a chat client does not come back: the server refused what it
/// sent (1003 binary, 1009 too big) or the client itself (1008: origin, rate limit).
pub const FINAL_CLOSE_CODES: [u16; 3] = [1003, 1008, 1009];

/// The chat's reconnection: the library's defaults (1 s growing by 1.3 up to 10 s, with
/// jitter; unlimited attempts; 1,000 lines queued while disconnected) with
/// [`FINAL_CLOSE_CODES`] as final.
pub fn reconnect_options() -> ReconnectOptions {
    ReconnectOptions::new().final_close_codes(FINAL_CLOSE_CODES)
}

/// `text` cut to its first [`MAX_LINE_CHARS`] characters (never inside a UTF-8 sequence):
/// what the chat server broadcasts.
pub fn cut_line(text: &str) -> &str {
    match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// How a chat ended for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEnd {
    /// The closing handshake completed, with the server's code and reason: we left, or the
    /// server closed with a final code.
    Closed {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The last connection died or could not be opened (close code 1006...) as we left, or
    /// with a final code.
    Died {
        /// The close code.
        code: u16,
        /// The error event's cause, if there was one.
        cause: Option<FailureCause>,
    },
    /// The reconnection attempts ran out (only with a maximum set).
    GaveUp {
        /// The attempts made in a row.
        attempts: u32,
        /// The last attempt's cause, if there was one.
        cause: Option<FailureCause>,
    },
}

impl fmt::Display for ChatEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed { code, reason } if reason.is_empty() => write!(f, "closed (code {code})"),
            Self::Closed { code, reason } => write!(f, "closed (code {code}: {reason})"),
            Self::Died {
                code,
                cause: Some(cause),
            } => write!(f, "connection died (code {code}): {cause}"),
            Self::Died { code, cause: None } => write!(f, "connection died (code {code})"),
            Self::GaveUp {
                attempts,
                cause: Some(cause),
            } => write!(f, "gave up after {attempts} attempts: {cause}"),
            Self::GaveUp {
                attempts,
                cause: None,
            } => write!(f, "gave up after {attempts} attempts"),
        }
    }
}

/// What happened in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// A connection opened: the first (`again` false) or after a loss. Lines queued
    /// meanwhile have just been sent.
    Connected {
        /// `true` when this is a reconnection.
        again: bool,
        /// How many queued lines were sent as it opened.
        sent_from_queue: usize,
    },
    /// A line arrived (every client's lines, our own included, as the server broadcasts them).
    Line(String),
    /// The connection was lost or an attempt failed: attempt `attempt` starts after `delay`.
    /// Lines sent meanwhile are queued.
    Reconnecting {
        /// The next attempt (1, 2, ...).
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// Attempt `attempt` is connecting.
    Connecting {
        /// The attempt.
        attempt: u32,
    },
    /// The chat is over; no event follows.
    Ended {
        /// How it ended.
        end: ChatEnd,
        /// Lines that were queued and never sent, oldest first.
        unsent: Vec<String>,
    },
}

/// The chat connection's state, for a status line; its `Display` is what the page, the
/// terminal client and the window show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatStatus {
    /// The first connection is opening.
    Connecting,
    /// Connected: lines go out at once.
    Open,
    /// Waiting `delay` before attempt `attempt`.
    Reconnecting {
        /// The next attempt.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// Attempt `attempt` is opening.
    Retrying {
        /// The attempt.
        attempt: u32,
    },
    /// Leaving.
    Closing,
    /// Over.
    Closed,
}

impl fmt::Display for ChatStatus {
    /// `connecting`, `open`, `reconnecting in 1.3 s (attempt 2)`, `connecting (attempt 2)`,
    /// `closing`, `closed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connecting => f.write_str("connecting"),
            Self::Open => f.write_str("open"),
            Self::Reconnecting { attempt, delay } => {
                // Tenths of a second, rounded, in integers: no float formatting in the page.
                let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                let tenths = millis.saturating_add(50) / 100;
                write!(
                    f,
                    "reconnecting in {}.{} s (attempt {attempt})",
                    tenths / 10,
                    tenths % 10
                )
            }
            Self::Retrying { attempt } => write!(f, "connecting (attempt {attempt})"),
            Self::Closing => f.write_str("closing"),
            Self::Closed => f.write_str("closed"),
        }
    }
}

/// A chat connection over any [`Socket`], reconnecting by itself. Natively it is `Send` and
/// `Sync`: one thread may wait for events while others send.
pub struct Chat<S: Socket = twinsock::WebSocket, C: Clock = SystemClock> {
    socket: ReconnectingSocket<S, C>,
    /// The status as of the last event taken (or `leave`); owned here, behind its lock.
    status: Mutex<ChatStatus>,
}

impl<S: Socket> Chat<S, SystemClock> {
    /// Starts connecting to the chat at `url` with [`reconnect_options`]; returns at once.
    ///
    /// # Errors
    /// [`ReconnectError::Socket`] for an invalid URL.
    pub fn connect(url: &str) -> Result<Self, ReconnectError> {
        Self::connect_with(url, reconnect_options(), SystemClock)
    }
}

impl<S: Socket, C: Clock> Chat<S, C> {
    /// Starts connecting to `url`, reconnecting as `options` say, on `clock`'s time.
    ///
    /// # Errors
    /// [`ReconnectError::Socket`] for an invalid URL, [`ReconnectError::InvalidOption`] for
    /// options out of range.
    pub fn connect_with(url: &str, options: ReconnectOptions, clock: C) -> Result<Self, ReconnectError> {
        let socket = ReconnectingSocket::with_clock(WebSocketBuilder::new(url), options, clock)?;
        Ok(Self {
            socket,
            status: Mutex::new(ChatStatus::Connecting),
        })
    }

    fn status_slot(&self) -> MutexGuard<'_, ChatStatus> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection's state as of the last event taken.
    pub fn status(&self) -> ChatStatus {
        *self.status_slot()
    }

    /// The chat's URL, normalised.
    pub fn url(&self) -> &str {
        self.socket.url()
    }

    /// Sends `line` as a text message (the server cuts it to 50 characters), or queues it
    /// while reconnecting.
    ///
    /// # Errors
    /// [`SendError::QueueFull`] while disconnected with the queue full, [`SendError::Closed`]
    /// once the chat is over; the line is inside.
    pub fn send(&self, line: &str) -> Result<(), SendError> {
        self.socket.send_text(line)
    }

    /// Leaves the chat with close code 1000; the chat does not reconnect after it.
    pub fn leave(&self) {
        // 1000 and no reason are always valid.
        let _: Result<(), Error> = self.socket.close(Some(1000), None);
        let mut status = self.status_slot();
        if *status != ChatStatus::Closed {
            *status = ChatStatus::Closing;
        }
    }

    /// The next chat event; `None` after [`ChatEvent::Ended`]. Borrows the chat shared, so
    /// lines can be sent while waiting.
    pub async fn next(&self) -> Option<ChatEvent> {
        let (event, status) = match self.socket.next_event().await? {
            ReconnectEvent::Open {
                reopened,
                sent_from_queue,
            } => (
                ChatEvent::Connected {
                    again: reopened,
                    sent_from_queue,
                },
                ChatStatus::Open,
            ),
            ReconnectEvent::Message(message) => return Some(ChatEvent::Line(text_of(message))),
            ReconnectEvent::Reconnecting { attempt, delay, .. } => (
                ChatEvent::Reconnecting { attempt, delay },
                ChatStatus::Reconnecting { attempt, delay },
            ),
            ReconnectEvent::Connecting { attempt } => (
                ChatEvent::Connecting { attempt },
                ChatStatus::Retrying { attempt },
            ),
            ReconnectEvent::Closed {
                close,
                cause,
                ending,
                unsent,
            } => {
                let end = match ending {
                    Ending::AttemptsExhausted { attempts } => ChatEnd::GaveUp { attempts, cause },
                    _ if close.was_clean => ChatEnd::Closed {
                        code: close.code,
                        reason: close.reason,
                    },
                    _ => ChatEnd::Died {
                        code: close.code,
                        cause,
                    },
                };
                let unsent = unsent.into_iter().map(text_of).collect();
                (ChatEvent::Ended { end, unsent }, ChatStatus::Closed)
            }
        };
        let mut slot = self.status_slot();
        // Leaving shows as closing until the end, whatever the connection does meanwhile.
        if *slot != ChatStatus::Closing || status == ChatStatus::Closed {
            *slot = status;
        }
        Some(event)
    }
}

/// A message as a chat line: text as it is, binary as lossy UTF-8.
fn text_of(message: Message) -> String {
    match message {
        Message::Text(text) => text,
        Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests;
