//! The native reactor: one `epoll` instance (through mio) for every native socket of the
//! process, its timers, and the thread that drives them.
//!
//! The reactor only waits: for a socket to be ready, or for a connection's deadline. Whoever holds the driver lock drives it ([`Reactor::react`]): the
//! reactor's own thread (`twinsock-io`), or a thread blocked in [`crate::block_on`], which
//! then waits for its own I/O without a hand-off to another thread. Each ready socket gets a
//! step: its connection is locked and moved on (see `Connection`); the application's own calls
//! lock the same connection and do their reading and writing themselves, so the reactor's
//! steps matter only for what nobody else is doing: reading while the application is busy
//! elsewhere, flushing what the kernel could not take at once, and the timeouts.
//!
//! A panic in one connection's step fails that connection only (an error event whose cause says
//! so, then close 1006); the reactor and every other socket go on.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Registry, Token, Waker};

use super::connection::Connection;
use super::shared::Shared;

/// The token of the reactor's own waker.
const WAKER: Token = Token(usize::MAX);

/// The process's reactor: the poller's registry and waker, the sockets by token, the timers,
/// and the driver lock.
pub(crate) struct Reactor {
    registry: Registry,
    waker: Waker,
    /// The driver: whoever holds it waits in the poller.
    driver: Mutex<Driver>,
    /// Live sockets by token, with the generation that tells a reused slot from the old one.
    sockets: Mutex<Slab>,
    /// `(deadline, token, generation)`, soonest first; an entry whose connection's deadline
    /// moved is stale and skipped when it comes.
    timers: Mutex<BinaryHeap<Reverse<(Instant, usize, u64)>>>,
    /// How many times the driver has waited in the poller (the reactor's own thread takes over
    /// when it stops moving).
    ticks: AtomicUsize,
    /// How many threads are in [`crate::block_on`] (the reactor's own thread then backs off).
    pub(crate) block_on_count: AtomicUsize,
    /// The reactor's own thread.
    thread: OnceLock<Thread>,
}

/// What only the driver touches: the poller and its event buffer.
struct Driver {
    poll: Poll,
    events: Events,
}

/// The live sockets: slot `i` holds token `i`'s socket and the slot's generation.
#[derive(Default)]
struct Slab {
    slots: Vec<(u64, Option<Arc<Shared>>)>,
    free: Vec<usize>,
}

/// What a connection's step can ask of the reactor: registering its TCP stream, a deadline, a
/// host name resolved.
pub(crate) struct Ctx<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) reactor: &'static Reactor,
    pub(crate) token: Token,
    pub(crate) shared: &'a Arc<Shared>,
}

impl Reactor {
    /// The process's reactor, started on first use (its poller and thread).
    ///
    /// # Errors
    /// The poller or its waker cannot be made (no file descriptor left), or the thread cannot
    /// be started; the next call tries again.
    pub(crate) fn get() -> io::Result<&'static Reactor> {
        static REACTOR: Mutex<Option<&'static Reactor>> = Mutex::new(None);
        let mut reactor = REACTOR.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reactor) = *reactor {
            return Ok(reactor);
        }
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let started: &'static Reactor = Box::leak(Box::new(Reactor {
            registry: poll.registry().try_clone()?,
            waker,
            driver: Mutex::new(Driver {
                poll,
                events: Events::with_capacity(1024),
            }),
            sockets: Mutex::new(Slab::default()),
            timers: Mutex::new(BinaryHeap::new()),
            ticks: AtomicUsize::new(0),
            block_on_count: AtomicUsize::new(0),
            thread: OnceLock::new(),
        }));
        let thread = std::thread::Builder::new()
            .name("twinsock-io".into())
            .spawn(move || started.run())?;
        let _ = started.thread.set(thread.thread().clone());
        *reactor = Some(started);
        Ok(started)
    }

    /// Takes a slot for `shared` and records its token and generation in it.
    pub(crate) fn insert(&'static self, shared: &Arc<Shared>) {
        let mut sockets = lock(&self.sockets);
        let slot = match sockets.free.pop() {
            Some(slot) => slot,
            None => {
                sockets.slots.push((0, None));
                sockets.slots.len() - 1
            }
        };
        let entry = &mut sockets.slots[slot];
        entry.0 += 1;
        entry.1 = Some(shared.clone());
        shared.set_slot(Token(slot), entry.0);
    }

    /// The socket in `token`'s slot, if it is still live.
    fn socket(&self, token: Token) -> Option<(u64, Arc<Shared>)> {
        let sockets = lock(&self.sockets);
        let (generation, shared) = sockets.slots.get(token.0)?;
        Some((*generation, shared.clone()?))
    }

    /// Frees `token`'s slot (its connection is done).
    fn remove(&self, token: Token, generation: u64) {
        let mut sockets = lock(&self.sockets);
        let freed = sockets
            .slots
            .get_mut(token.0)
            .filter(|entry| entry.0 == generation)
            .and_then(|entry| entry.1.take());
        // Once only: a connection's last steps may each find it done.
        if freed.is_some() {
            sockets.free.push(token.0);
        }
    }

    /// Records the new deadline of the socket in `token`'s slot (of `generation`); wakes the
    /// driver when it is sooner than any before.
    fn schedule(&self, token: Token, generation: u64, at: Instant) {
        let sooner = {
            let mut timers = lock(&self.timers);
            let sooner = timers.peek().is_none_or(|Reverse((first, ..))| at < *first);
            timers.push(Reverse((at, token.0, generation)));
            sooner
        };
        if sooner {
            self.notify();
        }
    }

    /// Interrupts the driver's wait.
    pub(crate) fn notify(&self) {
        let _ = self.waker.wake();
    }

    /// How many times the poller has been waited in.
    pub(crate) fn ticks(&self) -> usize {
        self.ticks.load(Ordering::Acquire)
    }

    /// The driver lock, if nobody holds it.
    pub(crate) fn try_drive(&self) -> Option<DriverGuard<'_>> {
        match self.driver.try_lock() {
            Ok(driver) => Some(DriverGuard(driver)),
            Err(TryLockError::Poisoned(e)) => Some(DriverGuard(e.into_inner())),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Wakes the reactor's own thread from its back-off (a [`crate::block_on`] ended).
    pub(crate) fn unpark_thread(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    /// The reactor's own thread: drives whenever no [`crate::block_on`] thread does, backing
    /// off while one does, as `async-io`'s driver thread does: it takes the driver when the
    /// poller has not been waited in since it last looked, and blocks for it after ten
    /// back-offs.
    fn run(&'static self) {
        let mut last_tick = self.ticks();
        let mut sleeps = 0usize;
        loop {
            let tick = self.ticks();
            if tick == last_tick {
                let driver = if sleeps >= 10 {
                    Some(DriverGuard(lock(&self.driver)))
                } else {
                    self.try_drive()
                };
                if let Some(mut driver) = driver {
                    self.react(&mut driver, None, None);
                    last_tick = self.ticks();
                    sleeps = 0;
                }
            } else {
                last_tick = tick;
            }
            if self.block_on_count.load(Ordering::Acquire) > 0 {
                // Exponential back-off from 50 µs to 10 ms while a blocked thread drives. (Starting
                // at 1 ms, so that a block_on thread busy with its events keeps its sockets, took
                // the pipelined 1 KiB measure from 650k to 830k msg/s but the 1 MiB one from 896
                // to 596 MB/s, where the two threads share the work of a large message.)
                const BACKOFF_US: [u64; 9] = [50, 75, 100, 250, 500, 750, 1000, 2500, 5000];
                let wait = BACKOFF_US.get(sleeps).copied().unwrap_or(10_000);
                std::thread::park_timeout(Duration::from_micros(wait));
                sleeps += 1;
            }
        }
    }

    /// Waits in the poller (at most `limit`, and no later than the next deadline), then gives
    /// a step to each ready socket and each whose deadline came. `caller`: the
    /// [`crate::block_on`] thread that drives, if it is one: a socket it polls that has become
    /// readable is not read here but left to it (see [`Caller`]).
    pub(crate) fn react(
        &'static self,
        driver: &mut DriverGuard<'_>,
        limit: Option<Duration>,
        mut caller: Option<&mut Caller>,
    ) {
        let Driver { poll, events } = &mut *driver.0;
        let now = Instant::now();
        let next_deadline = lock(&self.timers)
            .peek()
            .map(|Reverse((at, ..))| at.saturating_duration_since(now));
        let timeout = match (limit, next_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.ticks.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = poll.poll(events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                log::error!("twinsock: the I/O poller failed: {e}");
            }
            return;
        }
        for event in events.iter() {
            let token = event.token();
            if token == WAKER {
                continue;
            }
            let readiness = Readiness {
                readable: event.is_readable() || event.is_read_closed() || event.is_error(),
                writable: event.is_writable() || event.is_write_closed(),
                peer_done: event.is_read_closed() || event.is_error(),
            };
            let Some((_, shared)) = self.socket(token) else {
                continue;
            };
            let own = caller
                .as_deref_mut()
                .filter(|caller| caller.number == shared.polled_by());
            match own {
                Some(caller) => {
                    caller.own_events += 1;
                    let left = self.run_step(&shared, true, |conn, ctx| conn.ready(ctx, readiness, true));
                    if left == Some(true) {
                        caller.left_unread.push(shared);
                    }
                }
                None => {
                    self.run_step(&shared, true, |conn, ctx| conn.ready(ctx, readiness, false));
                }
            }
        }
        self.fire_timers();
    }

    fn fire_timers(&'static self) {
        let now = Instant::now();
        loop {
            let due = {
                let mut timers = lock(&self.timers);
                match timers.peek() {
                    Some(Reverse((at, ..))) if *at <= now => timers.pop(),
                    _ => None,
                }
            };
            let Some(Reverse((at, slot, generation))) = due else {
                break;
            };
            match self.socket(Token(slot)) {
                Some((live, shared)) if live == generation => {
                    self.run_step(&shared, true, |conn, ctx| conn.deadline_passed(ctx, at));
                }
                _ => {}
            }
        }
    }

    /// Runs `step` on `shared`'s connection, locked, from the driver (`in_driver`) or from the
    /// application's thread, then acts on what it did: a new deadline is scheduled, a finished
    /// connection is removed, and the application's wakers are woken once the lock is
    /// released. A panic fails this connection only. Returns the step's result, `None` after a
    /// panic.
    pub(crate) fn run_step<R>(
        &'static self,
        shared: &Arc<Shared>,
        in_driver: bool,
        step: impl FnOnce(&mut Connection, &Ctx<'_>) -> R,
    ) -> Option<R> {
        let (token, generation) = shared.slot();
        let ctx = Ctx {
            registry: &self.registry,
            reactor: self,
            token,
            shared,
        };
        let (result, deadline, done, wake) = {
            let mut conn = shared.lock();
            let before = conn.deadline();
            let result = catch_unwind(AssertUnwindSafe(|| step(&mut conn, &ctx))).ok();
            if result.is_none() {
                conn.fail_after_panic(&ctx);
            }
            let deadline = conn.deadline().filter(|at| Some(*at) != before);
            (result, deadline, conn.is_done(), conn.take_wakes())
        };
        if let Some(at) = deadline {
            if in_driver {
                lock(&self.timers).push(Reverse((at, token.0, generation)));
            } else {
                self.schedule(token, generation, at);
            }
        }
        if done {
            self.remove(token, generation);
        }
        shared.wake(wake);
        result
    }
}

/// A [`crate::block_on`] thread driving the reactor, as the reactor sees it: its number (what its
/// sockets record in `Shared::polled_by`), how many of the ready sockets were its own, and the
/// ones among them whose reading was left to it. Its own sockets are read by its own polls
/// (`poll_event` reads when no event is queued), each as its task takes it, the way a runtime's
/// tasks read their sockets when woken, and not all in the reactor's step before any task
/// runs: in the fan-out to 100 sockets that moved every delivery's time to the end of the
/// batch (p50 180 µs behind tokio's). Whatever its polls did not read, it reads before it
/// waits again ([`Caller::read_what_was_left`]), so nothing waits for another readiness
/// edge, and when it ends (its `Drop`).
pub(crate) struct Caller {
    reactor: &'static Reactor,
    pub(crate) number: u64,
    pub(crate) own_events: usize,
    left_unread: Vec<Arc<Shared>>,
}

impl Caller {
    /// The caller numbered `number` (see `block_on::current`).
    pub(crate) fn new(reactor: &'static Reactor, number: u64) -> Self {
        Self {
            reactor,
            number,
            own_events: 0,
            left_unread: Vec::new(),
        }
    }

    /// Reads the sockets left to this caller that its polls did not read.
    pub(crate) fn read_what_was_left(&mut self) {
        for shared in std::mem::take(&mut self.left_unread) {
            self.reactor.run_step(&shared, false, Connection::read_left);
        }
    }
}

impl Drop for Caller {
    fn drop(&mut self) {
        self.read_what_was_left();
    }
}

/// What the poller said about a socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Readiness {
    /// Data (or the end of stream, or an error) can be read.
    pub(crate) readable: bool,
    /// The kernel can take more bytes.
    pub(crate) writable: bool,
    /// The peer closed its side, or the socket has an error: a short read may still be
    /// followed by the end of stream.
    pub(crate) peer_done: bool,
}

/// The driver lock, held while waiting in the poller.
pub(crate) struct DriverGuard<'a>(MutexGuard<'a, Driver>);

/// Locks `mutex`; a panic elsewhere does not poison it for the others.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
