//! What a native socket's handle and the reactor share: the connection itself, behind one
//! lock, and what the application reads without taking it.
//!
//! Ownership: the [`Connection`] (the TCP stream, the WebSocket session, the buffers, the
//! queued events) is owned by whoever holds its lock: the application's thread while it sends,
//! closes or polls for events, or the driver of the reactor while it gives the socket a step.
//! Everything else here is written by the connection's owner and read lock-free by the
//! application: the ready state it has seen, `buffered_amount`, the negotiated subprotocol and
//! extensions; and the wakers of the application's tasks.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use futures::task::AtomicWaker;
use mio::Token;

use super::connection::{Connection, Wakes};
use crate::event::ReadyState;

/// One socket's shared state.
///
/// It has two ready states, as a browser does. The connection's own, which moves as things
/// happen, and the one the application sees (`seen`, plus `close_called`), which moves only as
/// the application takes the events (and at once when it calls `close`): in a browser the
/// state changes in the same task that fires the event, so code that has not yet taken the
/// open event still sees CONNECTING, however soon the connection opened.
pub(crate) struct Shared {
    pub(crate) url: String,
    connection: Mutex<Connection>,
    /// The ready state shown by the events the application has taken.
    seen: AtomicU8,
    /// The application called `close` (its ready state is CLOSING until the close event).
    pub(crate) close_called: AtomicBool,
    /// The application took the open event: `protocol` and `extensions` show from then on, as
    /// a browser sets them in the task that fires it.
    open_seen: AtomicBool,
    /// Payload bytes accepted by `send` and not yet written to the kernel.
    buffered: AtomicU64,
    pub(crate) protocol: OnceLock<String>,
    pub(crate) extensions: OnceLock<String>,
    /// The task waiting for the next event.
    pub(crate) event_waker: AtomicWaker,
    /// The task waiting for `buffered_amount` to fall (the `Sink`, `drained`).
    pub(crate) drain_waker: AtomicWaker,
    /// The reactor's token for this socket and the generation of its slot (set once, when the
    /// socket is made).
    slot: OnceLock<(Token, u64)>,
    /// The number of the [`crate::block_on`] that last polled this socket's events (0: none;
    /// see `block_on::current`).
    polled_by: AtomicU64,
}

impl Shared {
    /// The shared state of a socket for `url` whose connection is `connection`.
    pub(crate) fn new(url: String, connection: Connection) -> Self {
        Self {
            url,
            connection: Mutex::new(connection),
            seen: AtomicU8::new(ReadyState::Connecting as u8),
            close_called: AtomicBool::new(false),
            open_seen: AtomicBool::new(false),
            buffered: AtomicU64::new(0),
            protocol: OnceLock::new(),
            extensions: OnceLock::new(),
            event_waker: AtomicWaker::new(),
            drain_waker: AtomicWaker::new(),
            slot: OnceLock::new(),
            polled_by: AtomicU64::new(0),
        }
    }

    /// Locks the connection (see the module's note on ownership); a panic in another holder
    /// does not poison it (that connection was failed instead).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reactor's token for this socket and its slot's generation.
    pub(crate) fn slot(&self) -> (Token, u64) {
        self.slot.get().copied().unwrap_or((Token(usize::MAX), 0))
    }

    pub(crate) fn set_slot(&self, token: Token, generation: u64) {
        let _ = self.slot.set((token, generation));
    }

    /// The number of the [`crate::block_on`] that last polled this socket's events (0: none).
    pub(crate) fn polled_by(&self) -> u64 {
        self.polled_by.load(Ordering::Relaxed)
    }

    /// Records that the [`crate::block_on`] numbered `caller` (0: none) polls this socket.
    pub(crate) fn set_polled_by(&self, caller: u64) {
        if self.polled_by.load(Ordering::Relaxed) != caller {
            self.polled_by.store(caller, Ordering::Relaxed);
        }
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

    /// Records the state an event the application took shows.
    pub(crate) fn set_seen(&self, state: ReadyState) {
        if state == ReadyState::Open {
            self.open_seen.store(true, Ordering::Release);
        }
        self.seen.store(state as u8, Ordering::Release);
    }

    /// The negotiated subprotocol, once the application has taken the open event.
    pub(crate) fn protocol(&self) -> String {
        self.shown(&self.protocol)
    }

    /// The negotiated extensions, once the application has taken the open event.
    pub(crate) fn extensions(&self) -> String {
        self.shown(&self.extensions)
    }

    fn shown(&self, value: &OnceLock<String>) -> String {
        match value.get() {
            Some(value) if self.open_seen.load(Ordering::Acquire) => value.clone(),
            _ => String::new(),
        }
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

    /// Wakes the application's tasks a step asked to wake (after the lock is released, so that
    /// they do not wait for it).
    pub(crate) fn wake(&self, wakes: Wakes) {
        if wakes.events {
            self.event_waker.wake();
        }
        if wakes.drain {
            self.drain_waker.wake();
        }
    }
}
