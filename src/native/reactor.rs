//! The native I/O thread: one thread, started on first use, drives every native socket of the
//! process. It sleeps in `epoll` (through mio) until a socket is ready, the application sends
//! or closes (a mio `Waker`), or a connection's deadline comes; it never polls on a timer.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use mio::{Events, Poll, Token, Waker};

use super::connection::{ConnectOptions, Connection, Next};
use super::shared::Shared;

const WAKER: Token = Token(usize::MAX);

/// The handle the sockets use to reach the I/O thread.
pub(crate) struct Reactor {
    waker: Waker,
    inbox: Mutex<Inbox>,
}

/// Work handed to the I/O thread.
#[derive(Default)]
struct Inbox {
    new: Vec<(Arc<Shared>, ConnectOptions)>,
    commands: Vec<Arc<Shared>>,
    resolved: Vec<(Arc<Shared>, io::Result<Vec<SocketAddr>>)>,
}

impl Inbox {
    fn is_empty(&self) -> bool {
        self.new.is_empty() && self.commands.is_empty() && self.resolved.is_empty()
    }
}

impl Reactor {
    /// The process's I/O thread, started on first use.
    pub(crate) fn get() -> &'static Reactor {
        static REACTOR: OnceLock<Reactor> = OnceLock::new();
        REACTOR.get_or_init(|| {
            let poll = Poll::new().expect("twinsock: cannot create the I/O poller");
            let waker = Waker::new(poll.registry(), WAKER).expect("twinsock: cannot create the I/O waker");
            std::thread::Builder::new()
                .name("twinsock-io".into())
                .spawn(move || EventLoop::new(poll).run(Reactor::get()))
                .expect("twinsock: cannot start the I/O thread");
            Reactor {
                waker,
                inbox: Mutex::new(Inbox::default()),
            }
        })
    }

    fn post(&self, add: impl FnOnce(&mut Inbox)) {
        let was_empty = {
            let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
            let was_empty = inbox.is_empty();
            add(&mut inbox);
            was_empty
        };
        // One wake-up per batch: the loop takes the whole inbox each time it wakes.
        if was_empty {
            let _ = self.waker.wake();
        }
    }

    /// Hands a new socket to the I/O thread.
    pub(crate) fn open(&self, shared: Arc<Shared>, options: ConnectOptions) {
        self.post(|inbox| inbox.new.push((shared, options)));
    }

    /// Tells the I/O thread that `shared`'s outbox has something (call once per batch: see
    /// `Outbox::notified`).
    pub(crate) fn notify(&self, shared: Arc<Shared>) {
        self.post(|inbox| inbox.commands.push(shared));
    }

    fn take_inbox(&self) -> Inbox {
        std::mem::take(&mut *self.inbox.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The I/O thread's own state.
struct EventLoop {
    poll: Poll,
    connections: Vec<Option<Arc<Mutex<Connection>>>>,
    free: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    again: Vec<usize>,
}

impl EventLoop {
    fn new(poll: Poll) -> Self {
        Self {
            poll,
            connections: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            again: Vec::new(),
        }
    }

    fn run(mut self, reactor: &Reactor) {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = if self.again.is_empty() {
                self.timers
                    .peek()
                    .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()))
            } else {
                Some(std::time::Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("twinsock: the I/O poller failed: {e}");
                }
                continue;
            }
            for slot in std::mem::take(&mut self.again) {
                self.with(slot, |conn, registry| conn.ready(registry, false));
            }
            for event in events.iter() {
                if event.token() != WAKER {
                    let trust_short_reads = !(event.is_read_closed() || event.is_error());
                    self.with(event.token().0, |conn, registry| {
                        conn.ready(registry, trust_short_reads)
                    });
                }
            }
            self.take_work(reactor);
            self.fire_timers();
        }
    }

    fn take_work(&mut self, reactor: &Reactor) {
        let inbox = reactor.take_inbox();
        for (shared, options) in inbox.new {
            let slot = self.free.pop().unwrap_or_else(|| {
                self.connections.push(None);
                self.connections.len() - 1
            });
            shared.slot.store(slot, std::sync::atomic::Ordering::Release);
            let conn = Connection::new(shared.clone(), options, Token(slot));
            if let Some(at) = conn.deadline() {
                self.timers.push(Reverse((at, slot)));
            }
            let conn = Arc::new(Mutex::new(conn));
            shared.attach(&conn);
            self.connections[slot] = Some(conn);
            self.with(slot, |conn, registry| conn.start(registry));
        }
        for (shared, addresses) in inbox.resolved {
            if let Some(slot) = self.slot_of(&shared) {
                self.with(slot, |conn, registry| conn.resolved(registry, addresses));
            }
        }
        for shared in inbox.commands {
            if let Some(slot) = self.slot_of(&shared) {
                self.with(slot, |conn, _| conn.commands());
            }
        }
    }

    /// The live connection slot of `shared`, if it still has one.
    fn slot_of(&self, shared: &Arc<Shared>) -> Option<usize> {
        let slot = shared.slot.load(std::sync::atomic::Ordering::Acquire);
        let conn = self.connections.get(slot)?.as_ref()?;
        Arc::ptr_eq(&lock(conn).shared, shared).then_some(slot)
    }

    /// Runs `step` on the connection in `slot`, then acts on what it asks for: resolving,
    /// another turn, its deadline, or its removal once done.
    fn with(&mut self, slot: usize, step: impl FnOnce(&mut Connection, &mio::Registry) -> Next) {
        let Some(Some(cell)) = self.connections.get(slot) else {
            return;
        };
        let cell = cell.clone();
        let mut conn = lock(&cell);
        let before = conn.deadline();
        match step(&mut conn, self.poll.registry()) {
            Next::Wait => {}
            Next::Again => self.again.push(slot),
            Next::Resolve => {
                let (host, port) = conn.host_port();
                let shared = conn.shared.clone();
                std::thread::spawn(move || {
                    let addresses = (host.as_str(), port).to_socket_addrs().map(Iterator::collect);
                    Reactor::get().post(|inbox| inbox.resolved.push((shared, addresses)));
                });
            }
        }
        if conn.is_done() {
            self.connections[slot] = None;
            self.free.push(slot);
            return;
        }
        if let Some(at) = conn.deadline().filter(|at| Some(*at) != before) {
            self.timers.push(Reverse((at, slot)));
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, slot))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let due =
                matches!(self.connections.get(slot), Some(Some(conn)) if lock(conn).deadline() == Some(at));
            if due {
                self.with(slot, |conn, _| {
                    conn.timed_out();
                    Next::Wait
                });
            }
        }
    }
}

/// Locks a connection (the I/O thread, or an application thread writing directly); a panic
/// elsewhere does not poison it for the others.
pub(crate) fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|e| e.into_inner())
}
