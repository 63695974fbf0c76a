//! Host-name resolution for the native backend: the system's resolver (`getaddrinfo`, through
//! `ToSocketAddrs`) is blocking, so lookups run on a small pool of threads of their own, at
//! most [`MAX_RESOLVER_THREADS`], started as lookups need them and ended when idle. Lookups
//! beyond that wait their turn in a queue; a pool that cannot start a thread at all answers
//! with the error instead of failing anything else.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
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

fn resolver() -> &'static Resolver {
    static RESOLVER: OnceLock<Resolver> = OnceLock::new();
    RESOLVER.get_or_init(|| Resolver {
        pool: Mutex::new(Pool::default()),
        work: Condvar::new(),
    })
}

fn lock(resolver: &Resolver) -> MutexGuard<'_, Pool> {
    resolver.pool.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resolves `host` (a name) for `port`, then calls `answer` with the addresses, on a resolver
/// thread. When no thread can be started and none runs, `answer` gets the error at once, on
/// this thread.
pub(crate) fn resolve(host: String, port: u16, answer: Answer) {
    let resolver = resolver();
    let mut pool = lock(resolver);
    pool.queue.push_back((host, port, answer));
    if pool.idle > 0 {
        resolver.work.notify_one();
        return;
    }
    if pool.threads >= MAX_RESOLVER_THREADS {
        return;
    }
    pool.threads += 1;
    let started = std::thread::Builder::new()
        .name("twinsock-dns".into())
        .spawn(|| serve(self::resolver()));
    if let Err(error) = started {
        pool.threads -= 1;
        if pool.threads == 0 {
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
}

/// A resolver thread: takes lookups until it has been idle for [`IDLE`].
fn serve(resolver: &Resolver) {
    let mut pool = lock(resolver);
    loop {
        if let Some((host, port, answer)) = pool.queue.pop_front() {
            drop(pool);
            let addresses = (host.as_str(), port).to_socket_addrs().map(Iterator::collect);
            answer(addresses);
            pool = lock(resolver);
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

    #[test]
    fn many_lookups_share_a_bounded_pool_and_all_get_answers() {
        let (done, answers) = mpsc::channel();
        for i in 0..50 {
            let done = done.clone();
            resolve(
                "localhost".into(),
                1000 + i,
                Box::new(move |result| {
                    let _ = done.send((i, result.map(|a| a.iter().all(|s| s.port() == 1000 + i))));
                }),
            );
            assert!(lock(resolver()).threads <= MAX_RESOLVER_THREADS);
        }
        let mut seen = 0;
        while seen < 50 {
            let (_, ports_match) = answers
                .recv_timeout(Duration::from_secs(10))
                .expect("every lookup is answered");
            assert!(ports_match.expect("localhost resolves"));
            seen += 1;
        }
    }
}
