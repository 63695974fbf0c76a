//! `bench-native chat`: the chat server (`chat-server`, axum) against the tutorial's Node `ws`
//! server, both driven by one load generator written with twinsock's native client.
//!
//! For each client count, N twinsock clients connect to the server under test; 10 of them
//! send. Every message is `PHASE:SENDER:SEQ:MICROS` (well under the servers' 50-character
//! cut), MICROS being the send time in microseconds since the generator started (monotonic,
//! one process), so a receiver's latency is its receive time minus MICROS. Deliveries are
//! messages received, summed over all clients. Text (chat-server) and binary (Node re-sends
//! the Buffer it received) frames are read alike.
//!
//! - Ready: one marker message from client 0 must reach all N clients before anything is
//!   measured (the signal that every connection is open and subscribed).
//! - Paced: the 10 senders together send at a fixed rate for a fixed time (open loop, from a
//!   thread of their own); the run ends when every expected delivery (sent x N) has arrived
//!   or at a cap after the last send.
//! - Burst: each sender sends K messages at once; the run ends when all 10 x K x N deliveries
//!   have arrived or at a cap (then it is flagged and counts what arrived).
//! - Idle memory: 10,000 clients connect (at most 256 connecting at a time) to a fresh server;
//!   the server's VmRSS before and once every client has its Open event; then one broadcast
//!   must reach all of them (confirming they are open) and VmRSS is read again.
//!
//! Servers alternate (chat-server, Node, chat-server, Node...) within each round; every
//! measurement gets a fresh server process (paced and burst share one per client count).
//! Server processes are stopped by PID (SIGKILL) when done, on error, and by the watchdog;
//! their PIDs are also written to `--pids FILE` so that the calling script can stop them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::Notify;
use twinsock::{Event, Message, Socket, WebSocket, WebSocketBuilder};

use crate::{arm, median};

const USAGE: &str = "\
bench-native chat: chat-server against the tutorial's Node ws server, one twinsock load generator

usage: bench-native chat --chat-server PATH --tutorial PATH [--node PATH] [--quick] [--rounds N]
                         [--clients LIST] [--memory-clients N] [--paced-deliveries N]
                         [--paced-seconds S] [--burst-deliveries N] [--json PATH] [--pids PATH]

  --chat-server PATH   the release chat-server binary
  --tutorial PATH      e2e/tutorial-server.mjs
  --node PATH          node (default: node)
  --quick              1 round, shorter paced runs (a smoke test)
  --rounds N           rounds (default 5; 1 with --quick)
  --clients LIST       client counts, comma-separated (default 100,300,1000; 100,1000 with --quick)
  --memory-clients N   clients of the idle-memory test (default 10000; 0 skips it)
  --paced-deliveries N paced load, in deliveries per second (default 20000; message rate = N / clients)
  --paced-seconds S    how long the paced load lasts (default 6; 3 with --quick)
  --burst-deliveries N deliveries per burst (default 200000; K = N / (10 x clients) per sender)
  --json PATH          results (default target/bench/chat.json under the repository root)
  --pids PATH          keep the PIDs of running servers in this file (for the caller's trap)

Needs an open-files limit above the memory test's client count (scripts/bench-chat.sh raises it).";

/// The senders among the clients.
pub(crate) const SENDERS: usize = 10;
/// Clients connecting at once (below both servers' listen backlogs: Node's 511, tokio's 1024).
const CONNECTING_AT_ONCE: usize = 256;

// ---- configuration --------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct ChatConfig {
    rounds: usize,
    quick: bool,
    clients: Vec<usize>,
    senders: usize,
    /// Paced load: offered deliveries per second (the message rate is this / clients).
    paced_deliveries_per_s: f64,
    paced_duration_s: f64,
    /// Burst: deliveries per burst (each sender sends this / (senders x clients) messages).
    burst_deliveries: usize,
    memory_clients: usize,
    /// After the last paced send, or from the first burst send: the most a run waits.
    drain_cap_s: f64,
    burst_cap_s: f64,
    chat_server_args: Vec<String>,
    chat_server_env: String,
    node_args: Vec<String>,
}

impl ChatConfig {
    fn paced_rate(&self, clients: usize) -> f64 {
        self.paced_deliveries_per_s / clients as f64
    }

    fn burst_per_sender(&self, clients: usize) -> usize {
        (self.burst_deliveries / (self.senders * clients)).max(1)
    }
}

// ---- the clock and the message format -------------------------------------------------------

static START: OnceLock<Instant> = OnceLock::new();

pub(crate) fn now_us() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

pub(crate) fn message(phase: u32, sender: usize, seq: u64) -> String {
    format!("{phase}:{sender}:{seq}:{}", now_us())
}

/// `(phase, send time)` of a message, or `None` if it is not one of ours.
fn parse(bytes: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut parts = text.split(':');
    let phase = parts.next()?.parse().ok()?;
    let _sender = parts.next()?;
    let _seq = parts.next()?;
    let sent = parts.next()?.parse().ok()?;
    Some((phase, sent))
}

// ---- servers ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Server {
    #[serde(rename = "chat-server")]
    ChatServer,
    #[serde(rename = "node")]
    Node,
}

impl Server {
    const ALL: [Server; 2] = [Server::ChatServer, Server::Node];

    fn name(self) -> &'static str {
        match self {
            Server::ChatServer => "chat-server",
            Server::Node => "node",
        }
    }
}

/// PIDs of the servers running now: the watchdog and the panic hook stop them, and they are
/// mirrored in the `--pids` file for the calling script.
pub(crate) static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());
pub(crate) static PIDS_FILE: OnceLock<Option<PathBuf>> = OnceLock::new();

pub(crate) fn write_pids(pids: &[u32]) {
    if let Some(Some(path)) = PIDS_FILE.get() {
        let text: String = pids.iter().map(|p| format!("{p}\n")).collect();
        let _ = std::fs::write(path, text);
    }
}

/// Stops every server still running (SIGKILL by PID). For the watchdog and the panic hook.
pub fn kill_servers() {
    let mut pids = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    for pid in pids.drain(..) {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    write_pids(&pids);
}

struct ServerProc {
    child: Child,
    pid: u32,
    url: String,
}

struct Paths {
    chat_server: PathBuf,
    node: PathBuf,
    tutorial: PathBuf,
    log_dir: PathBuf,
}

impl ServerProc {
    /// Starts `server` on a free port of 127.0.0.1 and returns once it printed its listening
    /// line (at most 20 s).
    fn start(server: Server, paths: &Paths, config: &ChatConfig) -> Result<ServerProc, String> {
        let log = paths.log_dir.join(format!("chat-{}.log", server.name()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("open {}: {e}", log.display()))?;
        let mut command = match server {
            Server::ChatServer => {
                let mut c = Command::new(&paths.chat_server);
                c.args(&config.chat_server_args)
                    .env("RUST_LOG", &config.chat_server_env);
                c
            }
            Server::Node => {
                let mut c = Command::new(&paths.node);
                c.arg(&paths.tutorial).args(&config.node_args);
                c
            }
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("start {}: {e}", server.name()))?;
        let pid = child.id();
        {
            let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
            running.push(pid);
            write_pids(&running);
        }
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Drain until the server exits.
            for _ in lines.by_ref() {}
        });
        let mut proc = ServerProc {
            child,
            pid,
            url: String::new(),
        };
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| format!("{} printed no listening line within 20 s", server.name()))?;
        // "chat-server listening on http://ADDR/" or "tutorial-server listening on http://ADDR/"
        let addr = line
            .split("listening on http://")
            .nth(1)
            .map(|rest| rest.trim_end_matches('/').trim())
            .filter(|a| a.starts_with("127.0.0.1:"))
            .ok_or_else(|| format!("{}: unexpected first line {line:?}", server.name()))?;
        proc.url = format!("ws://{addr}/ws");
        Ok(proc)
    }

    fn rss_kib(&self) -> u64 {
        status_field(self.pid, "VmRSS:")
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        running.retain(|&p| p != self.pid);
        write_pids(&running);
    }
}

/// A numeric field (in KiB for memory) of /proc/PID/status; 0 if unreadable.
pub(crate) fn status_field(pid: u32, name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

// ---- CPU time ---------------------------------------------------------------------------------

fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// `(comm, user + system seconds)` from a /proc .../stat file.
fn stat_cpu(path: &Path) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // After the comm: state is field 3, utime 14, stime 15 (1-based over the whole line).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((comm, (utime + stime) / clock_ticks()))
}

/// CPU seconds of a process (`None`: this one), in all and per thread name.
#[derive(Debug, Clone, Default)]
pub(crate) struct CpuSnapshot {
    pub(crate) total: f64,
    threads: BTreeMap<String, f64>,
}

pub(crate) fn cpu(pid: Option<u32>) -> CpuSnapshot {
    let base = match pid {
        Some(pid) => PathBuf::from(format!("/proc/{pid}")),
        None => PathBuf::from("/proc/self"),
    };
    let total = stat_cpu(&base.join("stat")).map_or(0.0, |(_, s)| s);
    let mut threads = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir(base.join("task")) {
        for entry in dir.flatten() {
            if let Some((comm, s)) = stat_cpu(&entry.path().join("stat")) {
                *threads.entry(comm).or_insert(0.0) += s;
            }
        }
    }
    CpuSnapshot { total, threads }
}

/// CPU used between two snapshots, as a share of one core over `secs`.
#[derive(Debug, Clone, Serialize)]
pub struct CpuUse {
    /// CPU seconds / wall seconds (1.0 = one core busy).
    cores: f64,
    /// Per thread name (threads that ended in between are missing).
    threads: BTreeMap<String, f64>,
}

fn cpu_use(before: &CpuSnapshot, after: &CpuSnapshot, secs: f64) -> CpuUse {
    let threads = after
        .threads
        .iter()
        .map(|(name, s)| {
            let was = before.threads.get(name).copied().unwrap_or(0.0);
            (name.clone(), round2((s - was) / secs))
        })
        .filter(|(_, v)| *v > 0.0)
        .collect();
    CpuUse {
        cores: round2((after.total - before.total) / secs),
        threads,
    }
}

/// `n` with thousands separators (1,000).
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

// ---- the receiving side -----------------------------------------------------------------------

/// What the receivers collect for the current phase. One thread (a tokio `LocalSet`) runs every
/// receiver task and the controller, so a `RefCell` is enough.
#[derive(Default)]
pub(crate) struct Tally {
    phase: u32,
    pub(crate) delivered: u64,
    pub(crate) expected: u64,
    pub(crate) latencies_us: Vec<u32>,
    first_recv_us: u64,
    pub(crate) last_recv_us: u64,
    /// Messages of an earlier phase (late) or not ours.
    stale: u64,
    pub(crate) closed: usize,
    close_codes: BTreeMap<u16, usize>,
    errors: Vec<String>,
}

pub(crate) struct Shared {
    pub(crate) tally: RefCell<Tally>,
    pub(crate) notify: Notify,
}

impl Shared {
    pub(crate) fn begin(&self, phase: u32, expected: u64) {
        let mut t = self.tally.borrow_mut();
        t.phase = phase;
        t.delivered = 0;
        t.expected = expected;
        t.latencies_us.clear();
        t.first_recv_us = 0;
        t.last_recv_us = 0;
    }

    fn on_message(&self, bytes: &[u8]) {
        let now = now_us();
        let mut t = self.tally.borrow_mut();
        match parse(bytes) {
            Some((phase, sent)) if phase == t.phase => {
                t.delivered += 1;
                t.latencies_us
                    .push(now.saturating_sub(sent).min(u32::MAX as u64) as u32);
                if t.first_recv_us == 0 {
                    t.first_recv_us = now;
                }
                t.last_recv_us = now;
                if t.delivered == t.expected {
                    self.notify.notify_one();
                }
            }
            _ => t.stale += 1,
        }
    }

    fn on_close(&self, code: u16) {
        let mut t = self.tally.borrow_mut();
        t.closed += 1;
        *t.close_codes.entry(code).or_insert(0) += 1;
        drop(t);
        self.notify.notify_one();
    }

    /// Waits until the expected deliveries arrived, a client closed, or `deadline`. Returns
    /// whether all arrived.
    pub(crate) async fn wait(&self, deadline: Instant) -> bool {
        loop {
            {
                let t = self.tally.borrow();
                if t.delivered >= t.expected {
                    return true;
                }
                if t.closed > 0 {
                    return false;
                }
            }
            let notified = self.notify.notified();
            if tokio::time::timeout_at(deadline.into(), notified).await.is_err() {
                let t = self.tally.borrow();
                return t.delivered >= t.expected;
            }
        }
    }
}

pub(crate) async fn receive(socket: Arc<Vec<WebSocket>>, index: usize, shared: Rc<Shared>) {
    while let Some(event) = socket[index].next_event().await {
        match event {
            Event::Message(Message::Text(text)) => shared.on_message(text.as_bytes()),
            Event::Message(Message::Binary(bytes)) => shared.on_message(&bytes),
            Event::Open => {}
            Event::Error(e) => {
                let mut t = shared.tally.borrow_mut();
                if t.errors.len() < 5 {
                    t.errors.push(format!("client {index}: {e:?}"));
                }
            }
            Event::Close(close) => {
                shared.on_close(close.code);
                break;
            }
        }
    }
}

/// Opens `n` clients, at most [`CONNECTING_AT_ONCE`] connecting at a time, within `cap`.
/// Returns the open sockets and the first error, if any failed.
pub(crate) async fn connect_all(
    url: &str,
    n: usize,
    cap: Duration,
) -> (Vec<WebSocket>, usize, Option<String>) {
    let deadline = Instant::now() + cap;
    let mut attempts = futures::stream::iter((0..n).map(|_| {
        WebSocketBuilder::new(url)
            .connect_timeout(Duration::from_secs(30))
            .connect()
    }))
    .buffer_unordered(CONNECTING_AT_ONCE);
    let mut sockets = Vec::with_capacity(n);
    let mut failed = 0;
    let mut first_error = None;
    loop {
        match tokio::time::timeout_at(deadline.into(), attempts.next()).await {
            Ok(Some(Ok(socket))) => sockets.push(socket),
            Ok(Some(Err(e))) => {
                failed += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
            Ok(None) => break,
            Err(_) => {
                first_error.get_or_insert_with(|| format!("not all open within {cap:?}"));
                break;
            }
        }
    }
    (sockets, failed, first_error)
}

// ---- the senders ------------------------------------------------------------------------------

pub(crate) enum Plan {
    /// `rate` messages per second in all, round robin over the senders, for `duration`.
    Paced { rate: f64, duration: Duration },
    /// `per_sender` messages from each sender, interleaved, as fast as they are accepted.
    Burst { per_sender: usize },
}

/// Sends from a thread of its own, so that sending does not wait for the receivers; returns
/// the number of messages sent and the time of the first send (µs).
pub(crate) fn spawn_senders(
    sockets: Arc<Vec<WebSocket>>,
    senders: usize,
    phase: u32,
    plan: Plan,
) -> tokio::sync::oneshot::Receiver<(u64, u64, Option<String>)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("chat-senders".into())
        .spawn(move || {
            let first = now_us();
            let mut sent = 0u64;
            let mut error = None;
            match plan {
                Plan::Paced { rate, duration } => {
                    let start = Instant::now();
                    let total = (rate * duration.as_secs_f64()).round() as u64;
                    for i in 0..total {
                        let at = start + Duration::from_secs_f64(i as f64 / rate);
                        let now = Instant::now();
                        if at > now {
                            std::thread::sleep(at - now);
                        }
                        if start.elapsed() > duration + Duration::from_secs(5) {
                            error = Some("paced sender fell more than 5 s behind".into());
                            break;
                        }
                        let s = (i as usize) % senders;
                        if let Err(e) = sockets[s].send_text(message(phase, s, i)) {
                            error = Some(format!("send: {e}"));
                            break;
                        }
                        sent += 1;
                    }
                }
                Plan::Burst { per_sender } => {
                    'all: for k in 0..per_sender {
                        for (s, socket) in sockets.iter().enumerate().take(senders) {
                            if let Err(e) = socket.send_text(message(phase, s, k as u64)) {
                                error = Some(format!("send: {e}"));
                                break 'all;
                            }
                            sent += 1;
                        }
                    }
                }
            }
            let _ = tx.send((sent, first, error));
        })
        .expect("spawn the sender thread");
    rx
}

// ---- results ----------------------------------------------------------------------------------

/// One paced or burst run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadRun {
    round: usize,
    server: Server,
    clients: usize,
    kind: &'static str,
    sent: u64,
    expected: u64,
    delivered: u64,
    /// delivered / (last delivery - first send).
    deliveries_per_s: f64,
    /// For paced runs: the offered message rate.
    offered_msgs_per_s: Option<f64>,
    elapsed_s: f64,
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    max_us: f64,
    /// The cap ended the run before every delivery arrived.
    incomplete: bool,
    server_cpu: CpuUse,
    generator_cpu: CpuUse,
    server_rss_kib: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemoryRun {
    round: usize,
    server: Server,
    clients: usize,
    opened: usize,
    failed: usize,
    first_error: Option<String>,
    open_all_ms: f64,
    rss_before_kib: u64,
    rss_open_kib: u64,
    /// After one broadcast reached every client.
    rss_after_broadcast_kib: u64,
    broadcast_reached: u64,
    /// (rss_open - rss_before) / opened.
    per_connection_kib: f64,
    per_connection_after_broadcast_kib: f64,
    generator_rss_before_kib: u64,
    generator_rss_open_kib: u64,
    generator_per_connection_kib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    id: String,
    title: String,
    unit: &'static str,
    clients: usize,
    higher_is_better: bool,
    chat_server: f64,
    node: f64,
    /// chat-server / node.
    ratio: f64,
    /// The goal for the ratio, if the issue sets one: ">= 2" or "<= 0.5".
    target: Option<&'static str>,
    target_met: Option<bool>,
    rounds_chat_server: Vec<f64>,
    rounds_node: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    config: ChatConfig,
    machine: crate::Machine,
    node_version: String,
    notes: Vec<String>,
    summary: Vec<SummaryRow>,
    runs: Vec<LoadRun>,
    memory: Vec<MemoryRun>,
    errors: Vec<String>,
}

pub(crate) fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

// ---- one server's session: N clients, ready, paced, burst -------------------------------------

struct Session {
    sockets: Arc<Vec<WebSocket>>,
    shared: Rc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    next_phase: u32,
}

impl Session {
    async fn open(url: &str, n: usize, cap: Duration, phase_base: u32) -> Result<Session, String> {
        let (sockets, failed, first_error) = connect_all(url, n, cap).await;
        if failed > 0 || sockets.len() < n {
            return Err(format!(
                "{} of {n} clients open, {failed} failed: {}",
                sockets.len(),
                first_error.unwrap_or_default()
            ));
        }
        let sockets = Arc::new(sockets);
        let shared = Rc::new(Shared {
            tally: RefCell::new(Tally::default()),
            notify: Notify::new(),
        });
        let tasks = (0..n)
            .map(|i| tokio::task::spawn_local(receive(sockets.clone(), i, shared.clone())))
            .collect();
        Ok(Session {
            sockets,
            shared,
            tasks,
            next_phase: phase_base,
        })
    }

    fn phase(&mut self) -> u32 {
        self.next_phase += 1;
        self.next_phase
    }

    /// One marker from client 0 must reach every client. Returns how many it reached.
    async fn ready(&mut self, cap: Duration) -> Result<u64, String> {
        let phase = self.phase();
        let n = self.sockets.len() as u64;
        self.shared.begin(phase, n);
        self.sockets[0]
            .send_text(message(phase, 0, 0))
            .map_err(|e| format!("marker: {e}"))?;
        let all = self.shared.wait(Instant::now() + cap).await;
        let reached = self.shared.tally.borrow().delivered;
        if all {
            Ok(reached)
        } else {
            Err(format!(
                "the marker reached {reached} of {n} clients within {cap:?}"
            ))
        }
    }

    fn closed_error(&self) -> Option<String> {
        let t = self.shared.tally.borrow();
        (t.closed > 0).then(|| {
            format!(
                "{} clients closed (codes {:?}; {:?})",
                t.closed, t.close_codes, t.errors
            )
        })
    }

    /// Stops the clients: the server is killed first, then every client sees its close.
    async fn finish(self, cap: Duration) {
        let deadline = Instant::now() + cap;
        for task in self.tasks {
            if tokio::time::timeout_at(deadline.into(), task).await.is_err() {
                break;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn load_run(
    session: &mut Session,
    server: &ServerProc,
    kind: &'static str,
    plan: Plan,
    expected_per_message: u64,
    cap_after_sending: Duration,
    round: usize,
    server_kind: Server,
) -> Result<LoadRun, String> {
    let phase = session.phase();
    let offered = match plan {
        Plan::Paced { rate, .. } => Some(rate),
        Plan::Burst { .. } => None,
    };
    session.shared.begin(phase, u64::MAX);
    let (server_before, gen_before, wall_before) = (cpu(Some(server.pid)), cpu(None), Instant::now());
    let done = spawn_senders(session.sockets.clone(), SENDERS, phase, plan);
    let (sent, first_send_us, send_error) = done.await.map_err(|_| "the sender thread died".to_string())?;
    if let Some(e) = send_error {
        return Err(e);
    }
    let expected = sent * expected_per_message;
    {
        let mut t = session.shared.tally.borrow_mut();
        t.expected = expected;
        if t.delivered >= expected {
            session.shared.notify.notify_one();
        }
    }
    let complete = session.shared.wait(Instant::now() + cap_after_sending).await;
    let wall = wall_before.elapsed().as_secs_f64();
    let (server_after, gen_after) = (cpu(Some(server.pid)), cpu(None));
    if let Some(e) = session.closed_error() {
        return Err(e);
    }
    let mut t = session.shared.tally.borrow_mut();
    let end_us = if complete { t.last_recv_us } else { now_us() };
    let elapsed_s = (end_us.saturating_sub(first_send_us)) as f64 / 1e6;
    t.latencies_us.sort_unstable();
    let l = &t.latencies_us;
    Ok(LoadRun {
        round,
        server: server_kind,
        clients: session.sockets.len(),
        kind,
        sent,
        expected,
        delivered: t.delivered,
        deliveries_per_s: t.delivered as f64 / elapsed_s,
        offered_msgs_per_s: offered,
        elapsed_s,
        p50_us: quantile(l, 0.5),
        p90_us: quantile(l, 0.9),
        p99_us: quantile(l, 0.99),
        max_us: l.last().map_or(f64::NAN, |&v| v as f64),
        incomplete: !complete,
        server_cpu: cpu_use(&server_before, &server_after, wall),
        generator_cpu: cpu_use(&gen_before, &gen_after, wall),
        server_rss_kib: server.rss_kib(),
    })
}

/// Paced then burst against a fresh `server` with `clients` clients.
async fn load_session(
    server_kind: Server,
    clients: usize,
    round: usize,
    paths: &Paths,
    config: &ChatConfig,
    phase_base: u32,
) -> Result<Vec<LoadRun>, String> {
    let server = ServerProc::start(server_kind, paths, config)?;
    let mut session = Session::open(&server.url, clients, Duration::from_secs(60), phase_base).await?;
    let result = async {
        session.ready(Duration::from_secs(20)).await?;
        let mut runs = Vec::new();
        let paced = Plan::Paced {
            rate: config.paced_rate(clients),
            duration: Duration::from_secs_f64(config.paced_duration_s),
        };
        let cap = Duration::from_secs_f64(config.drain_cap_s);
        runs.push(
            load_run(
                &mut session,
                &server,
                "paced",
                paced,
                clients as u64,
                cap,
                round,
                server_kind,
            )
            .await?,
        );
        // The paced run's last deliveries are in (or it was cut): a fresh marker separates them.
        session.ready(Duration::from_secs(20)).await?;
        let burst = Plan::Burst {
            per_sender: config.burst_per_sender(clients),
        };
        let cap = Duration::from_secs_f64(config.burst_cap_s);
        runs.push(
            load_run(
                &mut session,
                &server,
                "burst",
                burst,
                clients as u64,
                cap,
                round,
                server_kind,
            )
            .await?,
        );
        Ok::<_, String>(runs)
    }
    .await;
    drop(server);
    session.finish(Duration::from_secs(20)).await;
    result
}

/// The idle-memory test against a fresh `server`.
async fn memory_session(
    server_kind: Server,
    clients: usize,
    round: usize,
    paths: &Paths,
    config: &ChatConfig,
) -> Result<MemoryRun, String> {
    let server = ServerProc::start(server_kind, paths, config)?;
    let rss_before = server.rss_kib();
    let gen_before = crate::scale::threads_and_rss().1;
    let started = Instant::now();
    let (sockets, failed, first_error) = connect_all(&server.url, clients, Duration::from_secs(120)).await;
    let open_all_ms = started.elapsed().as_secs_f64() * 1e3;
    let opened = sockets.len();
    let rss_open = server.rss_kib();
    let gen_open = crate::scale::threads_and_rss().1;
    let sockets = Arc::new(sockets);
    let shared = Rc::new(Shared {
        tally: RefCell::new(Tally::default()),
        notify: Notify::new(),
    });
    let tasks: Vec<_> = (0..opened)
        .map(|i| tokio::task::spawn_local(receive(sockets.clone(), i, shared.clone())))
        .collect();
    let mut session = Session {
        sockets,
        shared,
        tasks,
        next_phase: 1_000_000,
    };
    let reached = if opened > 0 {
        match session.ready(Duration::from_secs(60)).await {
            Ok(n) => n,
            Err(_) => session.shared.tally.borrow().delivered,
        }
    } else {
        0
    };
    let rss_after_broadcast = server.rss_kib();
    drop(server);
    session.finish(Duration::from_secs(30)).await;
    let per = |after: u64| (after as f64 - rss_before as f64) / opened.max(1) as f64;
    Ok(MemoryRun {
        round,
        server: server_kind,
        clients,
        opened,
        failed,
        first_error,
        open_all_ms,
        rss_before_kib: rss_before,
        rss_open_kib: rss_open,
        rss_after_broadcast_kib: rss_after_broadcast,
        broadcast_reached: reached,
        per_connection_kib: per(rss_open),
        per_connection_after_broadcast_kib: per(rss_after_broadcast),
        generator_rss_before_kib: gen_before,
        generator_rss_open_kib: gen_open,
        generator_per_connection_kib: (gen_open as f64 - gen_before as f64) / opened.max(1) as f64,
    })
}

// ---- the command ------------------------------------------------------------------------------

struct ChatArgs {
    quick: bool,
    rounds: Option<usize>,
    clients: Option<Vec<usize>>,
    memory_clients: Option<usize>,
    paced_deliveries: Option<f64>,
    paced_seconds: Option<f64>,
    burst_deliveries: Option<usize>,
    json: PathBuf,
    pids: Option<PathBuf>,
    chat_server: Option<PathBuf>,
    node: PathBuf,
    tutorial: Option<PathBuf>,
}

fn usage_error(problem: &str) -> ! {
    eprintln!("{problem}\n\n{USAGE}");
    std::process::exit(2)
}

fn parse_args(args: impl Iterator<Item = String>) -> ChatArgs {
    let mut args = args;
    let mut out = ChatArgs {
        quick: false,
        rounds: None,
        clients: None,
        memory_clients: None,
        paced_deliveries: None,
        paced_seconds: None,
        burst_deliveries: None,
        json: crate::repo_root().join("target/bench/chat.json"),
        pids: None,
        chat_server: None,
        node: PathBuf::from("node"),
        tutorial: None,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage_error(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--quick" => out.quick = true,
            "--rounds" => {
                out.rounds = Some(
                    value("--rounds")
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .unwrap_or_else(|| usage_error("--rounds needs a positive number")),
                )
            }
            "--clients" => {
                out.clients = Some(
                    value("--clients")
                        .split(',')
                        .map(|n| n.trim().parse().ok().filter(|&n| n >= SENDERS))
                        .collect::<Option<Vec<usize>>>()
                        .unwrap_or_else(|| {
                            usage_error("--clients needs numbers of at least 10, comma-separated")
                        }),
                )
            }
            "--memory-clients" => {
                out.memory_clients = Some(
                    value("--memory-clients")
                        .parse()
                        .unwrap_or_else(|_| usage_error("--memory-clients needs a number")),
                )
            }
            "--paced-deliveries" => {
                out.paced_deliveries = Some(
                    value("--paced-deliveries")
                        .parse()
                        .ok()
                        .filter(|&n: &f64| n > 0.0)
                        .unwrap_or_else(|| usage_error("--paced-deliveries needs a positive number")),
                )
            }
            "--paced-seconds" => {
                out.paced_seconds = Some(
                    value("--paced-seconds")
                        .parse()
                        .ok()
                        .filter(|&n: &f64| n > 0.0 && n <= 600.0)
                        .unwrap_or_else(|| {
                            usage_error("--paced-seconds needs a number of seconds (at most 600)")
                        }),
                )
            }
            "--burst-deliveries" => {
                out.burst_deliveries = Some(
                    value("--burst-deliveries")
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .unwrap_or_else(|| usage_error("--burst-deliveries needs a positive number")),
                )
            }
            "--json" => out.json = PathBuf::from(value("--json")),
            "--pids" => out.pids = Some(PathBuf::from(value("--pids"))),
            "--chat-server" => out.chat_server = Some(PathBuf::from(value("--chat-server"))),
            "--node" => out.node = PathBuf::from(value("--node")),
            "--tutorial" => out.tutorial = Some(PathBuf::from(value("--tutorial"))),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            other => usage_error(&format!("unknown argument {other:?}")),
        }
    }
    out
}

fn config_for(args: &ChatArgs) -> ChatConfig {
    let clients = args.clients.clone().unwrap_or_else(|| {
        if args.quick {
            vec![100, 1000]
        } else {
            vec![100, 300, 1000]
        }
    });
    let burst = args.burst_deliveries.unwrap_or(200_000);
    ChatConfig {
        rounds: args.rounds.unwrap_or(if args.quick { 1 } else { 5 }),
        quick: args.quick,
        clients,
        senders: SENDERS,
        paced_deliveries_per_s: args.paced_deliveries.unwrap_or(20_000.0),
        paced_duration_s: args.paced_seconds.unwrap_or(if args.quick { 3.0 } else { 6.0 }),
        burst_deliveries: burst,
        memory_clients: args.memory_clients.unwrap_or(10_000),
        drain_cap_s: 15.0,
        burst_cap_s: 30.0,
        chat_server_args: [
            "--listen",
            "127.0.0.1:0",
            "--max-clients",
            "20000",
            "--rate-limit",
            "0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        chat_server_env: "warn".into(),
        node_args: vec!["0".into()],
    }
}

/// Medians per server of `value` over the runs that match, in round order.
fn per_server(values: impl Iterator<Item = (Server, f64)>) -> BTreeMap<Server, Vec<f64>> {
    let mut out: BTreeMap<Server, Vec<f64>> = BTreeMap::new();
    for (server, v) in values {
        out.entry(server).or_default().push(v);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn summary_row(
    id: String,
    title: String,
    unit: &'static str,
    clients: usize,
    higher_is_better: bool,
    target: Option<&'static str>,
    values: BTreeMap<Server, Vec<f64>>,
) -> Option<SummaryRow> {
    let chat = values.get(&Server::ChatServer)?.clone();
    let node = values.get(&Server::Node)?.clone();
    let (c, n) = (median(&chat), median(&node));
    let ratio = c / n;
    let target_met = target.map(|t| match t {
        ">= 2" => ratio >= 2.0,
        "<= 0.5" => ratio <= 0.5,
        _ => false,
    });
    Some(SummaryRow {
        id,
        title,
        unit,
        clients,
        higher_is_better,
        chat_server: c,
        node: n,
        ratio,
        target,
        target_met,
        rounds_chat_server: chat,
        rounds_node: node,
    })
}

fn summarize(config: &ChatConfig, runs: &[LoadRun], memory: &[MemoryRun]) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    for &clients in &config.clients {
        for kind in ["paced", "burst"] {
            let of = |f: &dyn Fn(&LoadRun) -> f64| {
                per_server(
                    runs.iter()
                        .filter(|r| r.clients == clients && r.kind == kind)
                        .map(|r| (r.server, f(r))),
                )
            };
            let deliveries_target = (kind == "burst").then_some(">= 2");
            let p99_target = (kind == "paced").then_some("<= 0.5");
            rows.extend(summary_row(
                format!("{kind}_deliveries_{clients}"),
                format!("{kind}: deliveries/s, {} clients", thousands(clients)),
                "deliveries/s",
                clients,
                true,
                deliveries_target,
                of(&|r| r.deliveries_per_s),
            ));
            rows.extend(summary_row(
                format!("{kind}_p50_{clients}"),
                format!("{kind}: p50 delivery latency, {} clients", thousands(clients)),
                "µs",
                clients,
                false,
                None,
                of(&|r| r.p50_us),
            ));
            rows.extend(summary_row(
                format!("{kind}_p99_{clients}"),
                format!("{kind}: p99 delivery latency, {} clients", thousands(clients)),
                "µs",
                clients,
                false,
                p99_target,
                of(&|r| r.p99_us),
            ));
            rows.extend(summary_row(
                format!("{kind}_server_cpu_{clients}"),
                format!("{kind}: server CPU, {} clients", thousands(clients)),
                "cores",
                clients,
                false,
                None,
                of(&|r| r.server_cpu.cores),
            ));
        }
    }
    if !memory.is_empty() {
        let clients = config.memory_clients;
        rows.extend(summary_row(
            format!("idle_memory_{clients}"),
            format!(
                "idle: server memory per connection, {} clients",
                thousands(clients)
            ),
            "KiB",
            clients,
            false,
            Some("<= 0.5"),
            per_server(memory.iter().map(|m| (m.server, m.per_connection_kib))),
        ));
        rows.extend(summary_row(
            format!("idle_memory_after_broadcast_{clients}"),
            format!(
                "idle: per connection after one broadcast, {} clients",
                thousands(clients)
            ),
            "KiB",
            clients,
            false,
            None,
            per_server(
                memory
                    .iter()
                    .map(|m| (m.server, m.per_connection_after_broadcast_kib)),
            ),
        ));
    }
    rows
}

fn node_version(node: &Path) -> String {
    Command::new(node)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub fn main(args: impl Iterator<Item = String>) -> ! {
    let args = parse_args(args);
    let config = config_for(&args);
    let _ = START.get_or_init(Instant::now);
    let paths = Paths {
        chat_server: args
            .chat_server
            .clone()
            .unwrap_or_else(|| usage_error("--chat-server is required")),
        node: args.node.clone(),
        tutorial: args
            .tutorial
            .clone()
            .unwrap_or_else(|| usage_error("--tutorial is required")),
        log_dir: args
            .json
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    std::fs::create_dir_all(&paths.log_dir).expect("create the output directory");
    let _ = PIDS_FILE.set(args.pids.clone());
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_servers();
        default_hook(info);
    }));
    let started = Instant::now();
    let mut machine = crate::machine_facts();
    crate::start_watchdog();
    let node_version = node_version(&paths.node);
    eprintln!(
        "bench-native chat: {} round(s){}, clients {:?}, memory test {} clients; {} CPUs, load {}; node {}",
        config.rounds,
        if config.quick { " (quick)" } else { "" },
        config.clients,
        config.memory_clients,
        machine.nproc,
        machine.loadavg_start,
        node_version
    );
    if let Some(limit) = machine.open_files_limit {
        if limit < config.memory_clients as u64 + 100 {
            eprintln!("bench-native chat: open-files limit {limit} is below the memory test's {} clients; raise ulimit -n", config.memory_clients);
        }
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let mut runs: Vec<LoadRun> = Vec::new();
    let mut memory: Vec<MemoryRun> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut phase_base = 0u32;
    local.block_on(&runtime, async {
        for round in 1..=config.rounds {
            for &clients in &config.clients {
                for server in Server::ALL {
                    arm(
                        format!("chat load, {}, {clients} clients, round {round}", server.name()),
                        Duration::from_secs_f64(
                            60.0 + 60.0 + config.paced_duration_s + config.drain_cap_s + config.burst_cap_s + 60.0,
                        ),
                    );
                    phase_base += 1000;
                    match load_session(server, clients, round, &paths, &config, phase_base).await {
                        Ok(new) => {
                            for r in &new {
                                eprintln!(
                                    "  {:<5} round {round} {:<11} {:>5} clients {:>9.0} deliveries/s  p50 {:>8.0} µs  p99 {:>8.0} µs  server {:.2} cores, generator {:.2} cores{}",
                                    r.kind,
                                    server.name(),
                                    clients,
                                    r.deliveries_per_s,
                                    r.p50_us,
                                    r.p99_us,
                                    r.server_cpu.cores,
                                    r.generator_cpu.cores,
                                    if r.incomplete {
                                        format!("  INCOMPLETE: {} of {} delivered", r.delivered, r.expected)
                                    } else {
                                        String::new()
                                    }
                                );
                                if r.incomplete {
                                    errors.push(format!(
                                        "{} {}, {clients} clients, round {round}: {} of {} deliveries within the cap",
                                        r.kind,
                                        server.name(),
                                        r.delivered,
                                        r.expected
                                    ));
                                }
                            }
                            runs.extend(new);
                        }
                        Err(e) => {
                            eprintln!("  round {round} {} {clients} clients: FAILED: {e}", server.name());
                            errors.push(format!("load, {}, {clients} clients, round {round}: {e}", server.name()));
                        }
                    }
                }
            }
            if config.memory_clients > 0 {
                for server in Server::ALL {
                    arm(
                        format!("idle memory, {}, round {round}", server.name()),
                        Duration::from_secs(300),
                    );
                    match memory_session(server, config.memory_clients, round, &paths, &config).await {
                        Ok(m) => {
                            eprintln!(
                                "  idle  round {round} {:<11} {} of {} open in {:.0} ms; RSS {} -> {} KiB ({:.1} KiB/conn), after a broadcast to {}: {} KiB ({:.1} KiB/conn); generator {:.1} KiB/conn",
                                server.name(),
                                m.opened,
                                m.clients,
                                m.open_all_ms,
                                m.rss_before_kib,
                                m.rss_open_kib,
                                m.per_connection_kib,
                                m.broadcast_reached,
                                m.rss_after_broadcast_kib,
                                m.per_connection_after_broadcast_kib,
                                m.generator_per_connection_kib
                            );
                            if m.opened < m.clients || m.broadcast_reached < m.opened as u64 {
                                errors.push(format!(
                                    "idle memory, {}, round {round}: {} of {} open ({:?}), broadcast reached {}",
                                    server.name(),
                                    m.opened,
                                    m.clients,
                                    m.first_error,
                                    m.broadcast_reached
                                ));
                            }
                            memory.push(m);
                        }
                        Err(e) => {
                            eprintln!("  idle  round {round} {}: FAILED: {e}", server.name());
                            errors.push(format!("idle memory, {}, round {round}: {e}", server.name()));
                        }
                    }
                }
            }
        }
    });
    *crate::WATCHDOG.lock().unwrap_or_else(|e| e.into_inner()) = None;
    kill_servers();

    machine.loadavg_end = crate::loadavg();
    machine.duration_s = started.elapsed().as_secs_f64();
    let summary = summarize(&config, &runs, &memory);
    let mut notes = vec![
        format!(
            "One load generator (this program: twinsock's native client, one I/O thread for all sockets, receivers on one \
             tokio current-thread runtime, senders on a thread of their own) drives both servers on 127.0.0.1. {} senders \
             among the clients; every client, senders included, receives every message.",
            SENDERS
        ),
        format!(
            "Servers alternate (chat-server, node) within each of {} round(s); every client count of every round gets a \
             fresh server process (paced and burst share it), and so does every idle-memory test. Values are medians over rounds; \
             ratio = chat-server / node.",
            config.rounds
        ),
        format!(
            "Paced: the senders together send {:.0} deliveries/s worth (message rate = {:.0} / clients) for {:.0} s, a load \
             Node handles; deliveries/s = delivered / (last delivery - first send), so it equals the offered load when \
             the server keeps up. Burst: each sender sends {} / (10 x clients) messages at once; deliveries/s = \
             delivered / (last delivery - first send).",
            config.paced_deliveries_per_s,
            config.paced_deliveries_per_s,
            config.paced_duration_s,
            config.burst_deliveries
        ),
        format!(
            "chat-server {} (RUST_LOG={}): no rate limit, room for 20,000 clients, the default queue of 64 KiB per client (a \
             burst makes its sender wait while queues are full; Node's ws buffers without bound). Node {}: e2e/tutorial-server.mjs (ws@8), unchanged.",
            config.chat_server_args.join(" "),
            config.chat_server_env,
            node_version
        ),
        "Latency = receive time - send time, both on the generator's monotonic clock; it includes the generator's own \
         queueing (the same for both servers)."
            .into(),
        format!(
            "Idle memory: {} clients connect (256 at a time); server VmRSS before, and when all have their Open event; \
             per connection = difference / clients. One broadcast must then reach all of them.",
            config.memory_clients
        ),
    ];
    notes.push(generator_note(&runs, &memory));
    let report = Report {
        benchmark: "twinsock bench-native chat",
        config: config.clone(),
        machine,
        node_version,
        notes,
        summary,
        runs,
        memory,
        errors: errors.clone(),
    };
    print_summary(&report);
    crate::write_json(&args.json, &report);
    println!("\nraw results: {}", args.json.display());
    std::process::exit(if errors.is_empty() { 0 } else { 1 });
}

/// What the generator itself cost: its I/O thread's CPU per delivery under the paced load,
/// and its memory per client in the first idle-memory test (later tests in the same process
/// reuse the memory the earlier clients freed, so only the first one measures it).
fn generator_note(runs: &[LoadRun], memory: &[MemoryRun]) -> String {
    let mut parts = Vec::new();
    let mut clients: Vec<usize> = runs.iter().map(|r| r.clients).collect();
    clients.sort_unstable();
    clients.dedup();
    for n in clients {
        let per: Vec<f64> = runs
            .iter()
            .filter(|r| r.kind == "paced" && r.clients == n && r.deliveries_per_s > 0.0)
            .filter_map(|r| {
                r.generator_cpu
                    .threads
                    .get("twinsock-io")
                    .map(|c| c / r.deliveries_per_s * 1e6)
            })
            .collect();
        let total: Vec<f64> = runs
            .iter()
            .filter(|r| r.kind == "paced" && r.clients == n && r.deliveries_per_s > 0.0)
            .map(|r| r.generator_cpu.cores)
            .collect();
        if !per.is_empty() {
            parts.push(format!(
                "{n} clients: {:.1} µs of twinsock's I/O thread per delivery ({:.2} cores for the whole generator)",
                median(&per),
                median(&total)
            ));
        }
    }
    let mut note = format!(
        "The generator's own cost under the paced load (median): {}. Under the paced load each broadcast reaches \
         the generator as one read per client, so with 1,000 clients its single I/O thread needs about 1,000 times that to \
         take in one broadcast: a floor under both servers' latencies.",
        parts.join("; ")
    );
    if let Some(first) = memory.first() {
        note.push_str(&format!(
            " Generator memory: {:.1} KiB per client with {} clients open (VmRSS {} -> {} KiB).",
            first.generator_per_connection_kib,
            first.opened,
            first.generator_rss_before_kib,
            first.generator_rss_open_kib
        ));
    }
    note
}

fn print_summary(report: &Report) {
    let mut out = std::io::stdout().lock();
    let m = &report.machine;
    let _ = writeln!(
        out,
        "\nbench-native chat: {} round(s){}, {} CPUs ({}); load {} -> {}; {:.0} s",
        report.config.rounds,
        if report.config.quick { " (quick)" } else { "" },
        m.nproc,
        m.cpu_model,
        m.loadavg_start,
        m.loadavg_end,
        m.duration_s
    );
    for note in &report.notes {
        let _ = writeln!(out, "  * {note}");
    }
    let _ = writeln!(
        out,
        "\n{:<58} {:>12} {:>12} {:>8}  {:<8} met",
        "measurement (medians)", "chat-server", "node", "ratio", "target"
    );
    let _ = writeln!(out, "{}", "-".repeat(110));
    for row in &report.summary {
        let _ = writeln!(
            out,
            "{:<58} {:>12} {:>12} {:>7.2}x  {:<8} {}",
            format!("{} ({})", row.title, row.unit),
            crate::fmt_value(row.chat_server),
            crate::fmt_value(row.node),
            row.ratio,
            row.target.unwrap_or(""),
            match row.target_met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            }
        );
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\nERRORS:");
        for e in &report.errors {
            let _ = writeln!(out, "  {e}");
        }
    }
}
