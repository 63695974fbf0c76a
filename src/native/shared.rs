//! The state a native socket shares between the application's handle and the I/O thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError, Weak};

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
    /// The application dropped its handle.
    pub(crate) dropped: bool,
    /// The socket is already on the I/O thread's list of sockets to look at.
    pub(crate) notified: bool,
}

impl Outbox {
    /// Nothing is waiting for the I/O thread.
    pub(crate) fn is_idle(&self) -> bool {
        !self.notified && self.messages.is_empty() && self.close.is_none() && !self.dropped
    }
}

/// One socket's shared state.
pub(crate) struct Shared {
    pub(crate) url: String,
    state: AtomicU8,
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

    pub(crate) fn ready_state(&self) -> ReadyState {
        ReadyState::from_u8(self.state.load(Ordering::Acquire))
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
