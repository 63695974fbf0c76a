//! The tutorial's chat client, written once against [`Socket`]: the web page (`www/index.html`)
//! and the native `chat` program both run this code.
//!
//! A [`Chat`] connects to a chat server, sends lines, and turns the socket's events into
//! [`ChatEvent`]s: connected, a line, and at the end how it ended. Binary messages are shown
//! as text (lossy UTF-8), because the tutorial's Node server re-broadcasts text as binary.

use std::cell::Cell;

use twinsock::{Error, Event, FailureCause, Message, ReadyState, Socket};

/// The longest chat line, in characters: the tutorial's server cuts every message to this.
pub const MAX_LINE_CHARS: usize = 50;

/// `text` cut to its first [`MAX_LINE_CHARS`] characters (never inside a UTF-8 sequence):
/// what the chat server broadcasts.
pub fn cut_line(text: &str) -> &str {
    match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// How a chat connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEnd {
    /// The closing handshake completed, with the server's code and reason.
    Closed {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The connection died or could not be opened (close code 1006, 1009...).
    Died {
        /// The close code.
        code: u16,
        /// The error event's cause, if there was one.
        cause: Option<FailureCause>,
    },
}

impl std::fmt::Display for ChatEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed { code, reason } if reason.is_empty() => write!(f, "closed (code {code})"),
            Self::Closed { code, reason } => write!(f, "closed (code {code}: {reason})"),
            Self::Died {
                code,
                cause: Some(cause),
            } => write!(f, "connection died (code {code}): {cause}"),
            Self::Died { code, cause: None } => write!(f, "connection died (code {code})"),
        }
    }
}

/// What happened in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// The connection opened: lines can be sent.
    Connected,
    /// A line arrived (every client's lines, our own included, as the server broadcasts them).
    Line(String),
    /// The chat is over; no event follows.
    Ended(ChatEnd),
}

/// A chat connection over any [`Socket`].
pub struct Chat<S: Socket> {
    socket: S,
    /// The error event's cause, kept for the close event that follows it.
    cause: Cell<Option<FailureCause>>,
}

impl<S: Socket> Chat<S> {
    /// Starts connecting to the chat at `url`; returns at once.
    pub fn connect(url: &str) -> Result<Self, Error> {
        S::open(url).map(Self::over)
    }

    /// A chat over an already made socket.
    pub fn over(socket: S) -> Self {
        Self {
            socket,
            cause: Cell::new(None),
        }
    }

    /// The connection's state.
    pub fn state(&self) -> ReadyState {
        self.socket.ready_state()
    }

    /// The state as a word for a status line: connecting, open, closing or closed.
    pub fn status(&self) -> &'static str {
        match self.state() {
            ReadyState::Connecting => "connecting",
            ReadyState::Open => "open",
            ReadyState::Closing => "closing",
            ReadyState::Closed => "closed",
        }
    }

    /// Sends `line` as a text message (the server cuts it to 50 characters).
    /// [`Error::StillConnecting`] before the connection is open.
    pub fn send(&self, line: &str) -> Result<(), Error> {
        self.socket.send_text(line)
    }

    /// Leaves the chat with close code 1000.
    pub fn leave(&self) {
        // 1000 and no reason are always valid.
        let _ = self.socket.close(Some(1000), None);
    }

    /// The next chat event; `None` after [`ChatEvent::Ended`]. Borrows the chat shared, so
    /// lines can be sent while waiting.
    pub async fn next(&self) -> Option<ChatEvent> {
        loop {
            match self.socket.next_event().await? {
                Event::Open => return Some(ChatEvent::Connected),
                Event::Message(Message::Text(text)) => return Some(ChatEvent::Line(text)),
                Event::Message(Message::Binary(bytes)) => {
                    return Some(ChatEvent::Line(String::from_utf8_lossy(&bytes).into_owned()))
                }
                Event::Error(cause) => self.cause.set(Some(cause)),
                Event::Close(close) => {
                    let end = if close.was_clean {
                        ChatEnd::Closed {
                            code: close.code,
                            reason: close.reason,
                        }
                    } else {
                        ChatEnd::Died {
                            code: close.code,
                            cause: self.cause.take(),
                        }
                    };
                    return Some(ChatEvent::Ended(end));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures::executor::block_on;
    use futures::Stream;

    use super::*;
    use twinsock::{CloseEvent, IoFailure, WebSocketBuilder};

    /// A socket that plays a scripted list of events and records what is sent: the trait
    /// with no network under it.
    struct MemorySocket {
        state: Cell<ReadyState>,
        script: RefCell<VecDeque<Event>>,
        sent: RefCell<Vec<String>>,
        closed_with: Cell<Option<Option<u16>>>,
    }

    impl MemorySocket {
        fn playing(events: Vec<Event>) -> Self {
            Self {
                state: Cell::new(ReadyState::Connecting),
                script: RefCell::new(events.into()),
                sent: RefCell::default(),
                closed_with: Cell::new(None),
            }
        }
    }

    impl Socket for MemorySocket {
        fn open_with(_: WebSocketBuilder) -> Result<Self, Error> {
            Ok(Self::playing(Vec::new()))
        }
        fn url(&self) -> &str {
            "memory:"
        }
        fn ready_state(&self) -> ReadyState {
            self.state.get()
        }
        fn buffered_amount(&self) -> u64 {
            0
        }
        fn protocol(&self) -> String {
            String::new()
        }
        fn extensions(&self) -> String {
            String::new()
        }
        fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
            match self.state.get() {
                ReadyState::Connecting => Err(Error::StillConnecting),
                ReadyState::Open => {
                    self.sent.borrow_mut().push(text.into());
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        fn send_binary(&self, _: impl Into<twinsock::Bytes>) -> Result<(), Error> {
            unreachable!("the chat sends text only")
        }
        fn poll_send_ready(&self, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
        fn poll_drained(&self, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
        fn close(&self, code: Option<u16>, _: Option<&str>) -> Result<(), Error> {
            self.closed_with.set(Some(code));
            self.state.set(ReadyState::Closing);
            Ok(())
        }
        fn poll_event(&self, _: &mut Context<'_>) -> Poll<Option<Event>> {
            let event = self.script.borrow_mut().pop_front();
            match &event {
                Some(Event::Open) => self.state.set(ReadyState::Open),
                Some(Event::Close(_)) => self.state.set(ReadyState::Closed),
                _ => {}
            }
            Poll::Ready(event)
        }
    }

    impl Stream for MemorySocket {
        type Item = Event;
        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
            self.poll_event(cx)
        }
    }

    fn close(code: u16, reason: &str, was_clean: bool) -> Event {
        Event::Close(CloseEvent {
            code,
            reason: reason.into(),
            was_clean,
        })
    }

    #[test]
    fn reports_connected_lines_and_a_clean_end() {
        let chat = Chat::over(MemorySocket::playing(vec![
            Event::Open,
            Event::Message(Message::Text("hi".into())),
            close(1000, "bye", true),
        ]));
        assert_eq!(chat.status(), "connecting");
        assert_eq!(chat.send("too early"), Err(Error::StillConnecting));
        assert_eq!(block_on(chat.next()), Some(ChatEvent::Connected));
        assert_eq!(chat.status(), "open");
        chat.send("hello").unwrap();
        assert_eq!(block_on(chat.next()), Some(ChatEvent::Line("hi".into())));
        let end = ChatEnd::Closed {
            code: 1000,
            reason: "bye".into(),
        };
        assert_eq!(end.to_string(), "closed (code 1000: bye)");
        assert_eq!(block_on(chat.next()), Some(ChatEvent::Ended(end)));
        assert_eq!(chat.status(), "closed");
        assert_eq!(block_on(chat.next()), None);
        assert_eq!(*chat.socket.sent.borrow(), ["hello"]);
    }

    #[test]
    fn binary_messages_are_shown_as_text() {
        // The tutorial's Node server (ws 8) re-broadcasts text as binary frames.
        let chat = Chat::over(MemorySocket::playing(vec![
            Event::Open,
            Event::Message(Message::Binary("héllo".as_bytes().to_vec().into())),
            Event::Message(Message::Binary(vec![0xff, b'!'].into())),
        ]));
        assert_eq!(block_on(chat.next()), Some(ChatEvent::Connected));
        assert_eq!(block_on(chat.next()), Some(ChatEvent::Line("héllo".into())));
        assert_eq!(block_on(chat.next()), Some(ChatEvent::Line("\u{fffd}!".into())));
    }

    fn refused() -> FailureCause {
        FailureCause::Connect(IoFailure::new(std::io::ErrorKind::ConnectionRefused, "refused"))
    }

    #[test]
    fn a_dead_connection_keeps_the_error_cause() {
        let chat = Chat::over(MemorySocket::playing(vec![
            Event::Error(refused()),
            close(1006, "", false),
        ]));
        let end = ChatEnd::Died {
            code: 1006,
            cause: Some(refused()),
        };
        assert_eq!(
            end.to_string(),
            "connection died (code 1006): could not connect: refused"
        );
        assert_eq!(block_on(chat.next()), Some(ChatEvent::Ended(end)));
    }

    #[test]
    fn a_vanished_peer_ends_without_a_cause() {
        let chat = Chat::over(MemorySocket::playing(vec![Event::Open, close(1006, "", false)]));
        assert_eq!(block_on(chat.next()), Some(ChatEvent::Connected));
        assert_eq!(
            block_on(chat.next()),
            Some(ChatEvent::Ended(ChatEnd::Died {
                code: 1006,
                cause: None
            }))
        );
    }

    #[test]
    fn lines_are_cut_to_50_characters() {
        assert_eq!(cut_line(&"a".repeat(60)), "a".repeat(50));
        assert_eq!(cut_line(&"é".repeat(60)), "é".repeat(50));
        assert_eq!(cut_line(&"😀".repeat(51)), "😀".repeat(50));
        assert_eq!(cut_line("short"), "short");
        assert_eq!(cut_line(""), "");
    }

    #[test]
    fn leaving_closes_with_1000() {
        let chat = Chat::over(MemorySocket::playing(vec![Event::Open]));
        assert_eq!(block_on(chat.next()), Some(ChatEvent::Connected));
        chat.leave();
        assert_eq!(chat.socket.closed_with.get(), Some(Some(1000)));
        assert_eq!(chat.status(), "closing");
    }
}
