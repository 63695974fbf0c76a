//! The state a native socket shares between the application's handle and the I/O thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError, Weak};
use std::task::{Context, Poll};

use super::connection::Connection;
use crate::event::{CloseEvent, Event, EventQueue, Message, ReadyState};
use crate::FailureCause;

/// What the application asked of the I/O thread since it last looked.
#[derive(Default)]
pub(crate) struct Outbox {
    /// Messages accepted by `send` while open, in order.
    pub(crate) messages: VecDeque<Message>,
    /// `close` was called: the code and reason for the close frame.
    pub(crate) close: Option<(Option<u16>, String)>,
    /// `close` was called while the application had not seen the open event: the attempt is
    /// abandoned, even if the connection has opened meanwhile.
    pub(crate) abandon: bool,
    /// The application dropped its handle.
    pub(crate) dropped: bool,
    /// The socket is already on the I/O thread's list of sockets to look at.
    pub(crate) notified: bool,
}

impl Outbox {
    /// Nothing is waiting for the I/O thread.
    pub(crate) fn is_idle(&self) -> bool {
        !self.notified && self.messages.is_empty() && self.close.is_none() && !self.abandon && !self.dropped
    }
}

/// One socket's shared state.
///
/// It has two ready states, as a browser does. The connection's own (`state`), which the I/O
/// thread moves as things happen, and the one the application sees (`ready_state`), which
/// moves only as the application takes the events (and at once when it calls `close`): in a
/// browser the state changes in the same task that fires the event, so code that has not yet
/// taken the open event still sees CONNECTING, however soon the connection opened.
pub(crate) struct Shared {
    pub(crate) url: String,
    state: AtomicU8,
    /// The state shown by the events the application has taken.
    seen: AtomicU8,
    /// The application called `close` (its ready state is CLOSING until the close event).
    close_called: AtomicBool,
    /// `close` came while the application's ready state was CONNECTING: the open event and
    /// messages still queued are not delivered.
    abandoned: AtomicBool,
    buffered: AtomicU64,
    pub(crate) protocol: OnceLock<String>,
    pub(crate) events: EventQueue,
    outbox: Mutex<Outbox>,
    /// The I/O thread's slot for this socket (`usize::MAX` until it is registered).
    pub(crate) slot: AtomicUsize,
    /// The connection the I/O thread owns, for writing directly from the application's
    /// thread (weak: the I/O thread frees it when it ends).
    connection: OnceLock<Weak<Mutex<Connection>>>,
}

/// What [`Shared::send_now`] did with a message.
pub(crate) enum SendNow {
    /// Written (or buffered for the next writable moment); the connection is still open.
    Written,
    /// The write failed and ended the connection: the I/O thread must be told to free it.
    Ended,
    /// Not written: the I/O thread is busy with this connection, or it is not open.
    Declined(Message),
}

impl Shared {
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            state: AtomicU8::new(ReadyState::Connecting as u8),
            seen: AtomicU8::new(ReadyState::Connecting as u8),
            close_called: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            buffered: AtomicU64::new(0),
            protocol: OnceLock::new(),
            events: EventQueue::default(),
            outbox: Mutex::new(Outbox::default()),
            slot: AtomicUsize::new(usize::MAX),
            connection: OnceLock::new(),
        }
    }

    /// Records the I/O thread's connection for this socket (once, when it is created).
    pub(crate) fn attach(&self, connection: &Arc<Mutex<Connection>>) {
        let _ = self.connection.set(Arc::downgrade(connection));
    }

    /// Writes `message` on the calling thread if the connection is open and nobody holds it,
    /// saving the hand-off to the I/O thread (and its wake-up) on the path of a lone send.
    /// The caller makes sure nothing is queued in the outbox ahead of it.
    pub(crate) fn send_now(&self, message: Message) -> SendNow {
        let Some(connection) = self.connection.get().and_then(Weak::upgrade) else {
            return SendNow::Declined(message);
        };
        let mut connection = match connection.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return SendNow::Declined(message),
        };
        match connection.send_now(message) {
            Ok(false) => SendNow::Written,
            Ok(true) => SendNow::Ended,
            Err(message) => SendNow::Declined(message),
        }
    }

    /// The connection's own state, as the I/O thread moved it.
    pub(crate) fn state(&self) -> ReadyState {
        ReadyState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// The ready state the application sees: CLOSED once it has taken the error or close
    /// event, CLOSING once it called `close`, else OPEN once it has taken the open event.
    pub(crate) fn ready_state(&self) -> ReadyState {
        match ReadyState::from_u8(self.seen.load(Ordering::Acquire)) {
            ReadyState::Closed => ReadyState::Closed,
            _ if self.close_called.load(Ordering::Acquire) => ReadyState::Closing,
            seen => seen,
        }
    }

    /// Records that the application called `close` in `ready_state`; returns whether this
    /// abandons the attempt (the application had not seen it open).
    pub(crate) fn close_called(&self, ready_state: ReadyState) -> bool {
        let abandon = ready_state == ReadyState::Connecting;
        if abandon {
            self.abandoned.store(true, Ordering::Release);
        }
        self.close_called.store(true, Ordering::Release);
        abandon
    }

    /// The next event for the application, moving its ready state as the event is taken.
    /// After an abandoned attempt only the error and close events remain.
    pub(crate) fn poll_event(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        loop {
            let event = match self.events.poll_next(cx) {
                Poll::Ready(Some(event)) => event,
                other => return other,
            };
            let seen = match event {
                Event::Open | Event::Message(_) if self.abandoned.load(Ordering::Acquire) => continue,
                Event::Open => ReadyState::Open,
                Event::Message(_) => return Poll::Ready(Some(event)),
                Event::Error(_) | Event::Close(_) => ReadyState::Closed,
            };
            self.seen.store(seen as u8, Ordering::Release);
            return Poll::Ready(Some(event));
        }
    }

    pub(crate) fn set_state(&self, state: ReadyState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Moves from `from` to `to`; `false` if the state was not `from`.
    pub(crate) fn transition(&self, from: ReadyState, to: ReadyState) -> bool {
        self.state
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) fn buffered_amount(&self) -> u64 {
        self.buffered.load(Ordering::Acquire)
    }

    pub(crate) fn add_buffered(&self, bytes: usize) {
        self.buffered.fetch_add(bytes as u64, Ordering::AcqRel);
    }

    pub(crate) fn sub_buffered(&self, bytes: usize) {
        self.buffered.fetch_sub(bytes as u64, Ordering::AcqRel);
    }

    pub(crate) fn outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the socket: state CLOSED, then the optional error event, then the close event.
    pub(crate) fn finish(&self, error: Option<FailureCause>, close: CloseEvent) {
        self.set_state(ReadyState::Closed);
        if let Some(cause) = error {
            self.events.push(Event::Error(cause));
        }
        self.events.push(Event::Close(close));
    }
}
