//! The scale test: N sockets open at once in one process. Each run is a fresh child process
//! (`bench-native --scale-child CLIENT URL N`), so "before" is a clean baseline and "after"
//! holds only that client's sockets; the child prints one JSON line with its numbers.

use std::time::{Duration, Instant};

use futures::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};

use crate::clients::Client;

/// `Threads` and `VmRSS` (KiB) from /proc/self/status.
pub fn threads_and_rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("Threads:"), field("VmRSS:"))
}

/// The soft limit on open files, from /proc/self/limits.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleResult {
    pub client: String,
    pub sockets: usize,
    pub opened: usize,
    pub failed: usize,
    pub echoed: usize,
    /// From the first open call until every socket is open (or failed).
    pub open_all_ms: f64,
    pub threads_before: u64,
    pub threads_after: u64,
    pub rss_before_kib: u64,
    /// With every socket open, before any message.
    pub rss_after_open_kib: u64,
    /// With every socket open and one message echoed on each.
    pub rss_after_kib: u64,
    /// (rss_after - rss_before) / sockets.
    pub rss_per_socket_kib: f64,
    pub first_error: Option<String>,
}

/// The child's side: opens `n` sockets with `client`, measures, prints JSON, exits.
pub fn child(client: Client, url: &str, n: usize) -> ! {
    let (threads_before, rss_before_kib) = threads_and_rss();
    let result = match client {
        Client::Twinsock => twinsock_scale(url, n),
        Client::TokioTungstenite => tokio_scale(url, n),
        other => panic!("no scale test for {}", other.name()),
    };
    let (opened, failed, echoed, open_all, rss_after_open_kib, threads_after, rss_after_kib, first_error) =
        result;
    let out = ScaleResult {
        client: client.name().into(),
        sockets: n,
        opened,
        failed,
        echoed,
        open_all_ms: open_all.as_secs_f64() * 1e3,
        threads_before,
        threads_after,
        rss_before_kib,
        rss_after_open_kib,
        rss_after_kib,
        rss_per_socket_kib: (rss_after_kib as f64 - rss_before_kib as f64) / n as f64,
        first_error,
    };
    println!("{}", serde_json::to_string(&out).expect("json"));
    // Exit without closing the sockets one by one: the kernel resets them.
    std::process::exit(0);
}

type Outcome = (usize, usize, usize, Duration, u64, u64, u64, Option<String>);

fn twinsock_scale(url: &str, n: usize) -> Outcome {
    use twinsock::{Event, Socket, WebSocketBuilder};
    futures::executor::block_on(async {
        let started = Instant::now();
        let results = futures::future::join_all((0..n).map(|_| {
            WebSocketBuilder::new(url)
                .connect_timeout(Duration::from_secs(30))
                .connect()
        }))
        .await;
        let open_all = started.elapsed();
        let mut first_error = None;
        let mut sockets = Vec::with_capacity(n);
        for result in results {
            match result {
                Ok(socket) => sockets.push(socket),
                Err(e) => {
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        let (_, rss_after_open) = threads_and_rss();
        for socket in &sockets {
            let _ = socket.send_text("x");
        }
        let mut echoed = 0;
        for socket in &sockets {
            if let Some(Event::Message(_)) = socket.next_event().await {
                echoed += 1;
            }
        }
        let (threads_after, rss_after) = threads_and_rss();
        let opened = sockets.len();
        std::mem::forget(sockets);
        (
            opened,
            n - opened,
            echoed,
            open_all,
            rss_after_open,
            threads_after,
            rss_after,
            first_error,
        )
    })
}

fn tokio_scale(url: &str, n: usize) -> Outcome {
    use futures::channel::{mpsc, oneshot};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let (open_tx, mut open_rx) = mpsc::unbounded::<Result<(), String>>();
        let (done_tx, mut done_rx) = mpsc::unbounded::<bool>();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let go = go_rx.shared();
        let started = Instant::now();
        for _ in 0..n {
            let url = url.to_string();
            let open_tx = open_tx.clone();
            let done_tx = done_tx.clone();
            let go = go.clone();
            tokio::spawn(async move {
                let mut ws = match tokio_tungstenite::connect_async_with_config(url, None, true).await {
                    Ok((ws, _)) => {
                        let _ = open_tx.unbounded_send(Ok(()));
                        ws
                    }
                    Err(e) => {
                        let _ = open_tx.unbounded_send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = go.await;
                let mut echoed = false;
                if ws.send(tungstenite::Message::text("x")).await.is_ok() {
                    while let Some(Ok(message)) = ws.next().await {
                        if message.is_text() {
                            echoed = true;
                            break;
                        }
                    }
                }
                let _ = done_tx.unbounded_send(echoed);
                // Hold the socket open until the process exits.
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
        let mut opened = 0;
        let mut failed = 0;
        let mut first_error = None;
        while opened + failed < n {
            match open_rx.next().await {
                Some(Ok(())) => opened += 1,
                Some(Err(e)) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
                None => break,
            }
        }
        let open_all = started.elapsed();
        let (_, rss_after_open) = threads_and_rss();
        let _ = go_tx.send(());
        let mut echoed = 0;
        for _ in 0..opened {
            match done_rx.next().await {
                Some(true) => echoed += 1,
                Some(false) => {}
                None => break,
            }
        }
        let (threads_after, rss_after) = threads_and_rss();
        (
            opened,
            failed,
            echoed,
            open_all,
            rss_after_open,
            threads_after,
            rss_after,
            first_error,
        )
    })
}

/// The parent's side: runs one child and parses its line; at most `limit` long.
pub fn run_child(client: Client, url: &str, n: usize, limit: Duration) -> Result<ScaleResult, String> {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["--scale-child", client.name(), url, &n.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(_) => break,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("scale child ({}) exceeded {limit:?}", client.name()));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| format!("scale child output {line:?}: {e}"))
}
