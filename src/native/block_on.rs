//! `block_on`: runs a future on the calling thread and, while it waits, waits in the native
//! reactor itself (as `async-io`'s `block_on` does), so that the thread the future belongs to
//! is the one the kernel wakes: one wake-up per event instead of the reactor's thread waking
//! first and then this one. Several threads may block at once; one of them drives the reactor
//! at a time, and the reactor's own thread backs off meanwhile.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::Thread;
use std::time::{Duration, Instant};

use futures::task::{waker, ArcWake};

use super::reactor::Reactor;

/// How long a thread may drive the reactor for other threads' sockets, with no wake-up of its
/// own, before it hands the reactor to the reactor's thread and sleeps.
const MAX_DRIVING_FOR_OTHERS: Duration = Duration::from_micros(500);

/// The blocked thread, as its future's waker sees it.
struct Parker {
    thread: Thread,
    /// The future was woken since it was last polled.
    notified: AtomicBool,
    /// The thread is waiting in the reactor: a wake-up must interrupt the reactor's wait.
    in_reactor: AtomicBool,
    reactor: &'static Reactor,
}

impl ArcWake for Parker {
    fn wake_by_ref(parker: &Arc<Self>) {
        if !parker.notified.swap(true, Ordering::AcqRel) {
            if parker.in_reactor.load(Ordering::Acquire) {
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

/// Decrements the count of blocked threads and wakes the reactor's thread to take over.
struct Blocked(&'static Reactor);

impl Drop for Blocked {
    fn drop(&mut self) {
        self.0.block_on_count.fetch_sub(1, Ordering::AcqRel);
        self.0.unpark_thread();
    }
}

/// Runs `future` to completion on this thread and returns its output (native only).
///
/// Any future can be run (it need not use twinsock), and twinsock's sockets work under any
/// executor; this one waits in twinsock's reactor while the future is pending, which saves a
/// thread wake-up per event on the native sockets the future waits for: the lowest latency a
/// native program without a runtime of its own can get. When the reactor cannot start (no file
/// descriptor or thread left), it waits as `futures::executor::block_on` does.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let Ok(reactor) = Reactor::get() else {
        return futures::executor::block_on(future);
    };
    reactor.block_on_count.fetch_add(1, Ordering::AcqRel);
    let _blocked = Blocked(reactor);
    let parker = Arc::new(Parker {
        thread: std::thread::current(),
        notified: AtomicBool::new(false),
        in_reactor: AtomicBool::new(false),
        reactor,
    });
    let waker = waker(parker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        if parker.take_notification() {
            // Woken while polling: take what is ready without waiting, then poll again.
            if let Some(mut driver) = reactor.try_drive() {
                parker.in_reactor.store(true, Ordering::Release);
                reactor.react(&mut driver, Some(Duration::ZERO));
                parker.in_reactor.store(false, Ordering::Release);
            }
            continue;
        }
        let Some(mut driver) = reactor.try_drive() else {
            // Another thread drives: it (or the reactor's thread) wakes this one.
            parker.park();
            continue;
        };
        let started = Instant::now();
        loop {
            parker.in_reactor.store(true, Ordering::Release);
            // A wake-up that came before `in_reactor` was set interrupted nothing: check first.
            if parker.take_notification() {
                parker.in_reactor.store(false, Ordering::Release);
                break;
            }
            reactor.react(&mut driver, None);
            parker.in_reactor.store(false, Ordering::Release);
            if parker.take_notification() {
                break;
            }
            if started.elapsed() > MAX_DRIVING_FOR_OTHERS {
                // This thread is serving other threads' sockets: hand the reactor back.
                drop(driver);
                reactor.unpark_thread();
                parker.park();
                break;
            }
        }
    }
}
