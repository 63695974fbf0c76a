//! The state a native socket shares between the application's handle and the I/O thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

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
