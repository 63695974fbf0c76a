//! `block_on`: runs a future on the calling thread and, while it waits, waits in the native
//! reactor itself (as `async-io`'s `block_on` does), so that the thread the future belongs to
//! is the one the kernel wakes: one wake-up per event instead of the reactor's thread waking
//! first and then this one. Several threads may block at once; one of them drives the reactor
//! at a time, and the reactor's own thread backs off meanwhile. Sends made by the future are
//! written when it next waits (or returns), so the sends of one turn go out in one write; the
//! sockets the future polls are read by its own polls, as each task takes its socket's events
//! (see the reactor's `Caller`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::Thread;
use std::time::{Duration, Instant};

use futures::task::{waker, ArcWake};

use super::connection::Connection;
use super::reactor::{Caller, Reactor};
use super::shared::Shared;

thread_local! {
    /// While this thread is in [`block_on`]: the sockets whose sends it left unwritten, to be
    /// written (in one write each) before it waits.
    static DEFERRED: RefCell<Option<Vec<Arc<Shared>>>> = const { RefCell::new(None) };
}

thread_local! {
    /// While this thread is in [`block_on`]: its number (see [`current`]); else 0.
    static BLOCKED_THREAD: Cell<u64> = const { Cell::new(0) };
}

/// The number of the [`block_on`] the calling thread is in (each thread's first gets one, from
/// 1), or 0 outside one: what a socket records as the thread that polls it
/// (`Shared::polled_by`), so that a thread driving the reactor knows its own sockets' events
/// from other threads'.
pub(crate) fn current() -> u64 {
    BLOCKED_THREAD.with(Cell::get)
}

/// `true` when the calling thread is in [`block_on`], so a send may leave its write to it.
pub(crate) fn may_defer() -> bool {
    DEFERRED.with(|deferred| deferred.borrow().is_some())
}

/// Records that `shared` has sends for this thread's [`block_on`] to write.
pub(crate) fn deferred(shared: &Arc<Shared>) {
    DEFERRED.with(|deferred| {
        if let Some(list) = deferred.borrow_mut().as_mut() {
            list.push(shared.clone());
        }
    });
}

/// Writes what this thread's sends left.
fn flush_deferred(reactor: &'static Reactor) {
    let sockets = DEFERRED.with(|deferred| deferred.borrow_mut().as_mut().map(std::mem::take));
    for shared in sockets.into_iter().flatten() {
        reactor.run_step(&shared, false, Connection::flush_deferred);
    }
}

/// Ends this thread's deferring (writing what is left) when [`block_on`] returns or unwinds;
/// an outer `block_on`'s list is put back.
struct Deferring {
    reactor: &'static Reactor,
    outer: Option<Vec<Arc<Shared>>>,
}

impl Deferring {
    fn start(reactor: &'static Reactor) -> Self {
        let outer = DEFERRED.with(|deferred| deferred.borrow_mut().replace(Vec::new()));
        Self { reactor, outer }
    }
}

impl Drop for Deferring {
    fn drop(&mut self) {
        flush_deferred(self.reactor);
        let outer = self.outer.take();
        DEFERRED.with(|deferred| *deferred.borrow_mut() = outer);
    }
}

/// How long a thread may drive the reactor with no wake-up of its own and no event for a socket
/// it polls (only other threads' sockets), before it hands the reactor to the reactor's thread
/// and sleeps. (Counting a thread's own sockets' events as "for others", as this did, made a
/// thread receiving a 1 MiB message, whose reads wake nobody until the message is whole, hand
/// its own socket to the reactor's thread halfway through.)
const MAX_DRIVING_FOR_OTHERS: Duration = Duration::from_micros(500);

/// The blocked thread, as its future's waker sees it.
struct Parker {
    thread: Thread,
    /// The future was woken since it was last polled.
    notified: AtomicBool,
    /// The thread is waiting in the reactor: a wake-up must interrupt the reactor's wait.
    in_reactor: AtomicBool,
    reactor: &'static Reactor,
    /// The thread's [`block_on`] number (see [`current`]).
    number: u64,
}

impl ArcWake for Parker {
    fn wake_by_ref(parker: &Arc<Self>) {
        if !parker.notified.swap(true, Ordering::AcqRel) {
            // A wake-up from a step this thread runs in the reactor interrupts nothing: the
            // thread looks for it when the step is done. (Interrupting the poller anyway cost
            // an eventfd write and an extra wait in the poller per round trip.)
            if parker.in_reactor.load(Ordering::Acquire) && current() != parker.number {
                parker.reactor.notify();
            }
            parker.thread.unpark();
        }
    }
}

impl Parker {
    /// Takes the wake-up, if one came.
    fn take_notification(&self) -> bool {
        self.notified.swap(false, Ordering::AcqRel)
    }

    /// Sleeps until woken.
    fn park(&self) {
        while !self.take_notification() {
            std::thread::park();
        }
    }
}

/// Numbers this thread's [`block_on`] (see [`current`]); when it ends, decrements the count of
/// blocked threads and wakes the reactor's thread to take over (an outer `block_on`'s number
/// is put back).
struct Blocked {
    reactor: &'static Reactor,
    outer: u64,
}

impl Blocked {
    fn start(reactor: &'static Reactor) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let outer = BLOCKED_THREAD.with(|number| {
            if number.get() == 0 {
                number.set(NEXT.fetch_add(1, Ordering::Relaxed));
                0
            } else {
                number.get()
            }
        });
        Self { reactor, outer }
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        BLOCKED_THREAD.with(|number| number.set(self.outer));
        self.reactor.block_on_count.fetch_sub(1, Ordering::AcqRel);
        self.reactor.unpark_thread();
    }
}

/// Runs `future` to completion on this thread and returns its output (native only).
///
/// Any future can be run (it need not use twinsock), and twinsock's sockets work under any
/// executor; this one waits in twinsock's reactor while the future is pending, which saves a
/// thread wake-up per event on the native sockets the future waits for: the lowest latency a
/// native program without a runtime of its own can get. Sends the future makes are written when
/// it next waits, or returns (up to 256 KiB a socket; more is written at once), so a batch of
/// sends costs one write, as a browser sends what a task sent once the task is done. When the
/// reactor cannot start (no file descriptor or thread left), it waits as
/// `futures::executor::block_on` does.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let Ok(reactor) = Reactor::get() else {
        return futures::executor::block_on(future);
    };
    reactor.block_on_count.fetch_add(1, Ordering::AcqRel);
    let _blocked = Blocked::start(reactor);
    let mut me = Caller::new(reactor, current());
    let parker = Arc::new(Parker {
        thread: std::thread::current(),
        notified: AtomicBool::new(false),
        in_reactor: AtomicBool::new(false),
        reactor,
        number: me.number,
    });
    let waker = waker(parker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let _deferring = Deferring::start(reactor);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // The future waits: what its sends left goes out now, in one write a socket, and what
        // it did not read of its sockets that became readable is read.
        flush_deferred(reactor);
        me.read_what_was_left();
        if parker.take_notification() {
            // Woken while polling: take what is ready without waiting, then poll again.
            if let Some(mut driver) = reactor.try_drive() {
                parker.in_reactor.store(true, Ordering::Release);
                reactor.react(&mut driver, Some(Duration::ZERO), Some(&mut me));
                parker.in_reactor.store(false, Ordering::Release);
            }
            continue;
        }
        let Some(mut driver) = reactor.try_drive() else {
            // Another thread drives: it (or the reactor's thread) wakes this one.
            parker.park();
            continue;
        };
        let mut last_own_event = Instant::now();
        loop {
            parker.in_reactor.store(true, Ordering::Release);
            // A wake-up that came before `in_reactor` was set interrupted nothing: check first.
            if parker.take_notification() {
                parker.in_reactor.store(false, Ordering::Release);
                break;
            }
            me.own_events = 0;
            reactor.react(&mut driver, None, Some(&mut me));
            parker.in_reactor.store(false, Ordering::Release);
            if parker.take_notification() {
                break;
            }
            // Nobody waits for what arrived on these sockets (no task was woken): read it now.
            me.read_what_was_left();
            if me.own_events > 0 {
                last_own_event = Instant::now();
            } else if last_own_event.elapsed() > MAX_DRIVING_FOR_OTHERS {
                // This thread is serving other threads' sockets: hand the reactor back.
                drop(driver);
                reactor.unpark_thread();
                parker.park();
                break;
            }
        }
    }
}
