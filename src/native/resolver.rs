//! Host-name resolution for the native backend: the system's resolver (`getaddrinfo`, through
//! `ToSocketAddrs`) is blocking, so lookups run on a small pool of threads of their own, at
//! most [`MAX_RESOLVER_THREADS`], started as lookups need them and ended when idle. Lookups
//! beyond that wait their turn in a queue; a pool that cannot start a thread at all answers
//! with the error instead of failing anything else.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The most lookups that run at once.
pub(crate) const MAX_RESOLVER_THREADS: usize = 4;
/// How long an idle resolver thread waits for another lookup before it ends.
const IDLE: Duration = Duration::from_secs(10);

/// What to do with a lookup's answer (called on a resolver thread).
pub(crate) type Answer = Box<dyn FnOnce(io::Result<Vec<SocketAddr>>) + Send>;

/// The pool: lookups waiting, and how many threads run and how many of them are idle.
#[derive(Default)]
struct Pool {
    queue: VecDeque<(String, u16, Answer)>,
    threads: usize,
    idle: usize,
}

struct Resolver {
    pool: Mutex<Pool>,
    work: Condvar,
}

impl Resolver {
    const fn new() -> Self {
        Self {
            pool: Mutex::new(Pool {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
            }),
            work: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a lookup, starting a thread for it with `spawn` when none is idle and fewer
    /// than [`MAX_RESOLVER_THREADS`] run. When no thread can be started and none runs, every
    /// waiting lookup is answered at once, on this thread, with the error.
    fn submit(
        &'static self,
        host: String,
        port: u16,
        answer: Answer,
        spawn: impl FnOnce(&'static Resolver) -> io::Result<()>,
    ) {
        let mut pool = self.lock();
        pool.queue.push_back((host, port, answer));
        if pool.idle > 0 {
            self.work.notify_one();
            return;
        }
        if pool.threads >= MAX_RESOLVER_THREADS {
            return;
        }
        pool.threads += 1;
        drop(pool);
        let Err(error) = spawn(self) else {
            return;
        };
        let mut pool = self.lock();
        pool.threads -= 1;
        if pool.threads > 0 {
            return;
        }
        // Nobody will take the queue: answer every waiting lookup with the error.
        let waiting: Vec<_> = pool.queue.drain(..).collect();
        drop(pool);
        for (_, _, answer) in waiting {
            answer(Err(io::Error::new(
                error.kind(),
                format!("cannot start a thread to resolve the host: {error}"),
            )));
        }
    }
}

/// Resolves `host` (a name) for `port`, then calls `answer` with the addresses, on a resolver
/// thread. When no thread can be started and none runs, `answer` gets the error at once, on
/// this thread.
pub(crate) fn resolve(host: String, port: u16, answer: Answer) {
    static RESOLVER: Resolver = Resolver::new();
    RESOLVER.submit(host, port, answer, |resolver| {
        std::thread::Builder::new()
            .name("twinsock-dns".into())
            .spawn(move || serve(resolver))
            .map(drop)
    });
}

/// A resolver thread: takes lookups until it has been idle for [`IDLE`].
fn serve(resolver: &Resolver) {
    let mut pool = resolver.lock();
    loop {
        if let Some((host, port, answer)) = pool.queue.pop_front() {
            drop(pool);
            let addresses = (host.as_str(), port).to_socket_addrs().map(Iterator::collect);
            answer(addresses);
            pool = resolver.lock();
            continue;
        }
        pool.idle += 1;
        let (next, timeout) = resolver
            .work
            .wait_timeout(pool, IDLE)
            .unwrap_or_else(|e| e.into_inner());
        pool = next;
        pool.idle -= 1;
        if timeout.timed_out() && pool.queue.is_empty() {
            pool.threads -= 1;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A resolver of the test's own (not the process's).
    fn resolver() -> &'static Resolver {
        Box::leak(Box::new(Resolver::new()))
    }

    #[test]
    fn many_lookups_share_a_bounded_pool_and_all_get_answers() {
        let resolver = resolver();
        let (done, answers) = mpsc::channel();
        for i in 0..50 {
            let done = done.clone();
            let answer: Answer = Box::new(move |result| {
                let _ = done.send(result.map(|a| a.iter().all(|s| s.port() == 1000 + i)));
            });
            resolver.submit("localhost".into(), 1000 + i, answer, |resolver| {
                std::thread::Builder::new()
                    .spawn(move || serve(resolver))
                    .map(drop)
            });
            assert!(resolver.lock().threads <= MAX_RESOLVER_THREADS);
        }
        for _ in 0..50 {
            let ports_match = answers
                .recv_timeout(Duration::from_secs(10))
                .expect("every lookup is answered");
            assert!(ports_match.expect("localhost resolves"));
        }
    }

    /// Issue 14: with threads exhausted, a lookup's thread could not start and the I/O thread
    /// panicked. Now the lookup is answered with the error (the socket fails with it alone).
    #[test]
    fn a_lookup_whose_thread_cannot_start_is_answered_with_the_error() {
        let resolver = resolver();
        let (done, answers) = mpsc::channel();
        let answer: Answer = Box::new(move |result| {
            let _ = done.send(result);
        });
        resolver.submit("localhost".into(), 80, answer, |_| {
            Err(io::Error::new(io::ErrorKind::WouldBlock, "no thread left"))
        });
        let error = answers.try_recv().expect("answered at once").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert!(error.to_string().contains("cannot start a thread"), "{error}");
        assert_eq!(resolver.lock().threads, 0);
    }
}
