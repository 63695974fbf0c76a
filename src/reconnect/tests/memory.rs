//! An in-memory [`Socket`] for the reconnecting socket's unit tests: each socket opened on a
//! thread is recorded in that thread's list, where the test plays the server (open, send,
//! close, fail) and reads what was sent.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::Stream;

use crate::{
    CloseEvent, Error, Event, FailureCause, IoFailure, Message, ReadyState, Socket, WebSocketBuilder,
};

/// The URL the memory socket refuses, as a socket refuses an invalid URL.
pub(super) const INVALID_URL: &str = "memory:invalid";

thread_local! {
    /// Every connection opened on this thread, in order.
    static OPENED: RefCell<Vec<Rc<Connection>>> = const { RefCell::new(Vec::new()) };
}

/// How many connections were opened on this thread.
pub(super) fn opened() -> usize {
    OPENED.with(|opened| opened.borrow().len())
}

/// The last connection opened on this thread.
pub(super) fn last() -> Rc<Connection> {
    OPENED.with(|opened| opened.borrow().last().cloned().expect("a connection was opened"))
}

/// One connection: its events (the test pushes them as the server), what the client sent,
/// and how it was closed.
#[derive(Default)]
pub(super) struct Connection {
    state: Cell<Option<ReadyState>>,
    events: RefCell<VecDeque<Event>>,
    waker: RefCell<Option<Waker>>,
    pub(super) sent: RefCell<Vec<Message>>,
    pub(super) closed_with: RefCell<Option<(Option<u16>, Option<String>)>>,
}

impl Connection {
    fn ready_state(&self) -> ReadyState {
        self.state.get().unwrap_or(ReadyState::Connecting)
    }

    fn push(&self, event: Event) {
        self.events.borrow_mut().push_back(event);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// The server accepts.
    pub(super) fn accept(&self) {
        self.push(Event::Open);
    }

    /// The server sends `text`.
    pub(super) fn send_text(&self, text: &str) {
        self.push(Event::Message(Message::Text(text.into())));
    }

    /// The server closes cleanly with `code`.
    pub(super) fn close(&self, code: u16) {
        self.push(Event::Close(CloseEvent {
            code,
            reason: String::new(),
            was_clean: true,
        }));
    }

    /// The connection fails or dies: refused (before open) or reset (after), then 1006.
    pub(super) fn fail(&self) {
        let cause = FailureCause::Connect(IoFailure::new(std::io::ErrorKind::ConnectionRefused, "refused"));
        self.push(Event::Error(cause));
        self.push(Event::Close(CloseEvent {
            code: 1006,
            reason: String::new(),
            was_clean: false,
        }));
    }

    /// The texts the client sent on this connection.
    pub(super) fn sent_texts(&self) -> Vec<String> {
        self.sent
            .borrow()
            .iter()
            .map(|message| match message {
                Message::Text(text) => text.clone(),
                Message::Binary(bytes) => format!("binary {:?}", bytes.to_vec()),
            })
            .collect()
    }
}

/// The client side of a [`Connection`], with the trait's rules: sends refused while connecting,
/// the state moving as events are taken, `close` while connecting abandoning with 1006.
pub(super) struct MemorySocket {
    connection: Rc<Connection>,
}

impl Socket for MemorySocket {
    fn open_with(builder: WebSocketBuilder) -> Result<Self, Error> {
        if builder.url == INVALID_URL {
            return Err(Error::InvalidUrl(crate::UrlError::Relative));
        }
        let connection = Rc::new(Connection::default());
        OPENED.with(|opened| opened.borrow_mut().push(connection.clone()));
        Ok(Self { connection })
    }

    fn url(&self) -> &str {
        "memory:"
    }

    fn ready_state(&self) -> ReadyState {
        self.connection.ready_state()
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
        self.send(Message::Text(text.into()))
    }

    fn send_binary(&self, data: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.send(Message::Binary(data.into()))
    }

    fn poll_send_ready(&self, _: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }

    fn poll_drained(&self, _: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }

    fn send(&self, message: Message) -> Result<(), Error> {
        match self.ready_state() {
            ReadyState::Connecting => Err(Error::StillConnecting),
            ReadyState::Open => {
                self.connection.sent.borrow_mut().push(message);
                Ok(())
            }
            ReadyState::Closing | ReadyState::Closed => Ok(()),
        }
    }

    fn close(&self, code: Option<u16>, reason: Option<&str>) -> Result<(), Error> {
        crate::rules::close::validate_close(code, reason)?;
        let connection = &self.connection;
        match connection.ready_state() {
            ReadyState::Connecting => {
                connection.push(Event::Error(FailureCause::Aborted));
                connection.push(Event::Close(CloseEvent {
                    code: 1006,
                    reason: String::new(),
                    was_clean: false,
                }));
            }
            ReadyState::Open => {
                *connection.closed_with.borrow_mut() = Some((code, reason.map(str::to_string)));
            }
            ReadyState::Closing | ReadyState::Closed => return Ok(()),
        }
        connection.state.set(Some(ReadyState::Closing));
        Ok(())
    }

    fn poll_event(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let connection = &self.connection;
        if connection.ready_state() == ReadyState::Closed {
            return Poll::Ready(None);
        }
        let Some(event) = connection.events.borrow_mut().pop_front() else {
            *connection.waker.borrow_mut() = Some(cx.waker().clone());
            return Poll::Pending;
        };
        match &event {
            // A socket closed while connecting never opens.
            Event::Open if connection.ready_state() == ReadyState::Closing => return self.poll_event(cx),
            Event::Open => connection.state.set(Some(ReadyState::Open)),
            Event::Close(_) => connection.state.set(Some(ReadyState::Closed)),
            _ => {}
        }
        Poll::Ready(Some(event))
    }
}

impl Stream for MemorySocket {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.poll_event(cx)
    }
}
