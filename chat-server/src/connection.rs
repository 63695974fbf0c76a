//! Every accepted connection's shared state, and the table of open connections: the cap on
//! connections (HTTP and WebSocket alike, `--max-connections`), and room made at the cap by
//! evicting the connection that has waited longest for a request head.
//!
//! A [`Connection`] is written by its transport ([`crate::transport::Conn`], which owns the
//! socket and is the only one to read or write it) and read by the table (for eviction), the
//! hub (is its socket taking data?) and its WebSocket task (the meter of an unfinished
//! message; the pong owed for a ping, which the transport clears once it is written).
//! Everything in it is atomic: no lock is taken on the data path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use futures::task::AtomicWaker;

/// At the cap, a connection that has waited at least this long for its request head (a slow or
/// idle one: a real client sends its head at once) gives its place to a new one.
pub const EVICT_AFTER: Duration = Duration::from_secs(1);

/// A process-wide monotonic clock in milliseconds, in an atomic's range: a day plus the time
/// since the first call (so that "a second ago" is a time like any other from the start).
pub fn now_ms() -> u64 {
    const DAY_MS: u64 = 24 * 3600 * 1000;
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let elapsed = EPOCH.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(elapsed).unwrap_or(u64::MAX).saturating_add(DAY_MS)
}

/// One connection's state, shared (see the module doc for who writes what).
#[derive(Debug)]
pub struct Connection {
    id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether it became a WebSocket (then it is never evicted).
    websocket: AtomicBool,
    /// When it began waiting for its next request head (accept, or the server's last answer).
    head_since_ms: AtomicU64,
    /// Set when the table evicts it; its transport then fails its reads.
    evicted: AtomicBool,
    /// The transport's reader, woken on eviction.
    reader: AtomicWaker,
    /// Bytes read since the WebSocket's last complete message.
    unfinished: AtomicUsize,
    /// The most `unfinished` may reach (a WebSocket's message limit plus framing).
    unfinished_limit: AtomicUsize,
    /// Since when (`now_ms() + 1`) writes have not been taken; 0 when they are.
    write_blocked_since: AtomicU64,
    /// Whether the WebSocket read a ping whose pong has not been written yet: set by its task,
    /// cleared by the transport when a flush completes (everything queued was written).
    pong_owed: AtomicBool,
}

impl Connection {
    fn new(id: u64, peer: SocketAddr) -> Self {
        Self {
            id,
            peer,
            websocket: AtomicBool::new(false),
            head_since_ms: AtomicU64::new(now_ms()),
            evicted: AtomicBool::new(false),
            reader: AtomicWaker::new(),
            unfinished: AtomicUsize::new(0),
            unfinished_limit: AtomicUsize::new(usize::MAX),
            write_blocked_since: AtomicU64::new(0),
            pong_owed: AtomicBool::new(false),
        }
    }

    /// The server answered: the connection now waits for its next request head.
    pub fn answered(&self) {
        self.head_since_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// The server answered `101 Switching Protocols`.
    pub fn became_websocket(&self) {
        self.websocket.store(true, Ordering::Relaxed);
    }

    /// Whether the table evicted it; registers `waker` to be woken when it does.
    pub fn evicted(&self, waker: &std::task::Waker) -> bool {
        self.reader.register(waker);
        self.evicted.load(Ordering::Acquire)
    }

    /// Limits what a WebSocket may read without completing a message to `bytes`.
    pub fn limit_unfinished(&self, bytes: usize) {
        self.unfinished_limit.store(bytes, Ordering::Relaxed);
    }

    /// Counts `bytes` read; `false` when that takes the unfinished message over its limit.
    pub fn count_read(&self, bytes: usize) -> bool {
        let unfinished = self
            .unfinished
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        unfinished <= self.unfinished_limit.load(Ordering::Relaxed)
    }

    /// A complete message (or control frame) was read: the meter starts again.
    pub fn message_read(&self) {
        self.unfinished.store(0, Ordering::Relaxed);
    }

    /// The socket took no data (a write would block); from now on it counts as blocked.
    pub fn write_blocked(&self) {
        let _ =
            self.write_blocked_since
                .compare_exchange(0, now_ms() + 1, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The socket took data.
    pub fn write_taken(&self) {
        self.write_blocked_since.store(0, Ordering::Relaxed);
    }

    /// How long the socket has taken no data while the server had some to send (zero when it
    /// takes data).
    pub fn write_blocked_for(&self) -> Duration {
        self.blocked_for().unwrap_or(Duration::ZERO)
    }

    /// How long the socket has taken no data, `None` when it takes data.
    fn blocked_for(&self) -> Option<Duration> {
        match self.write_blocked_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(Duration::from_millis(now_ms().saturating_sub(since - 1))),
        }
    }

    /// The WebSocket read a ping: tungstenite queued its pong, written at its next flush.
    pub fn pong_owed(&self) {
        self.pong_owed.store(true, Ordering::Relaxed);
    }

    /// A flush completed: whatever pong was owed has been written.
    pub fn flushed(&self) {
        self.pong_owed.store(false, Ordering::Relaxed);
    }

    /// How long the socket has taken nothing while a pong is owed; `None` when no pong is
    /// owed or the socket takes data.
    pub fn pong_blocked_for(&self) -> Option<Duration> {
        if self.pong_owed.load(Ordering::Relaxed) {
            self.blocked_for()
        } else {
            None
        }
    }
}

/// The open connections, at most `cap`.
#[derive(Debug)]
pub struct Connections {
    cap: usize,
    open: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    members: HashMap<u64, Arc<Connection>>,
}

/// A connection's place in the table, given back when dropped (when its transport is).
#[derive(Debug)]
pub struct Admitted {
    table: Arc<Connections>,
    connection: Arc<Connection>,
}

impl Admitted {
    /// The connection's shared state.
    pub fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.table.lock().members.remove(&self.connection.id);
    }
}

impl Connections {
    /// A table of at most `cap` connections.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            open: Mutex::default(),
        })
    }

    /// The cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// How many connections are open.
    pub fn open(&self) -> usize {
        self.lock().members.len()
    }

    /// Admits a connection from `peer`. At the cap, the connection that has waited longest for
    /// a request head, if that is at least [`EVICT_AFTER`], is evicted to make room; `None`
    /// when there is none (the caller refuses the connection).
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Option<Admitted> {
        let mut table = self.lock();
        if table.members.len() >= self.cap && !Self::evict_stalest(&mut table) {
            return None;
        }
        let id = table.next_id;
        table.next_id += 1;
        let connection = Arc::new(Connection::new(id, peer));
        table.members.insert(id, Arc::clone(&connection));
        Some(Admitted {
            table: Arc::clone(self),
            connection,
        })
    }

    /// Evicts the connection that has waited longest for its request head, if it has waited
    /// at least [`EVICT_AFTER`]; whether one was.
    fn evict_stalest(table: &mut Table) -> bool {
        let before = now_ms() - EVICT_AFTER.as_millis() as u64;
        let stalest = table
            .members
            .values()
            .filter(|connection| !connection.websocket.load(Ordering::Relaxed))
            .map(|connection| (connection.head_since_ms.load(Ordering::Relaxed), connection))
            .filter(|(since, _)| *since <= before)
            .min_by_key(|(since, _)| *since)
            .map(|(_, connection)| Arc::clone(connection));
        let Some(stalest) = stalest else {
            return false;
        };
        table.members.remove(&stalest.id);
        stalest.evicted.store(true, Ordering::Release);
        stalest.reader.wake();
        tracing::info!(peer = %stalest.peer, "evicted: the longest wait for a request head, at the connection cap");
        true
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:9".parse().unwrap()
    }

    #[test]
    fn at_the_cap_a_fresh_table_refuses_and_a_freed_place_is_given_again() {
        let table = Connections::new(2);
        let first = table.admit(peer()).unwrap();
        let _second = table.admit(peer()).unwrap();
        assert!(
            table.admit(peer()).is_none(),
            "nobody has waited long enough to be evicted"
        );
        drop(first);
        assert_eq!(table.open(), 1);
        assert!(table.admit(peer()).is_some());
    }

    #[test]
    fn at_the_cap_the_longest_wait_for_a_head_is_evicted_but_never_a_websocket() {
        let table = Connections::new(2);
        let websocket = table.admit(peer()).unwrap();
        websocket.connection().became_websocket();
        let waiting = table.admit(peer()).unwrap();
        let long_ago = now_ms() - 2 * EVICT_AFTER.as_millis() as u64;
        for admitted in [&websocket, &waiting] {
            admitted
                .connection()
                .head_since_ms
                .store(long_ago, Ordering::Relaxed);
        }
        let newcomer = table.admit(peer()).expect("the waiting connection makes room");
        let waker = futures::task::noop_waker();
        assert!(waiting.connection().evicted(&waker));
        assert!(!websocket.connection().evicted(&waker));
        assert!(
            table.admit(peer()).is_none(),
            "a WebSocket and a fresh connection are left"
        );
        drop((waiting, newcomer));
    }

    #[test]
    fn the_unfinished_meter_trips_over_its_limit_and_restarts_at_each_message() {
        let table = Connections::new(1);
        let admitted = table.admit(peer()).unwrap();
        let connection = admitted.connection();
        connection.limit_unfinished(100);
        assert!(connection.count_read(60));
        assert!(connection.count_read(40));
        assert!(!connection.count_read(1));
        connection.message_read();
        assert!(connection.count_read(100));
    }
}
