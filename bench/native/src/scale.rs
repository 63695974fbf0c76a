//! Memory per socket: N sockets open in one process, one message echoed on each. Each run is a
//! fresh child process (`bench-native --scale-child CLIENT URL N`), so "before" is a clean
//! baseline and "after" holds only that client's sockets; the child prints one JSON line with
//! its numbers.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clients::{connect, Client, Payload};

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

/// The child's side: opens `n` sockets with `client` (all at once where the client is async, one
/// after another where it blocks), measures, sends one message on each and takes its echo,
/// measures again, prints JSON, exits.
pub fn child(client: Client, url: &str, n: usize) -> ! {
    let (threads_before, rss_before_kib) = threads_and_rss();
    let out = client.drive(async {
        let started = Instant::now();
        let results = futures::future::join_all((0..n).map(|_| connect(client, url))).await;
        let open_all_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut first_error = None;
        let mut conns = Vec::with_capacity(n);
        for result in results {
            match result {
                Ok(conn) => conns.push(conn),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let (_, rss_after_open_kib) = threads_and_rss();
        let mut echoed = 0;
        for conn in &mut conns {
            if let Err(e) = conn.send(Payload::Text("x".into())).await {
                first_error.get_or_insert(e);
            }
        }
        for conn in &mut conns {
            match conn.recv().await {
                Ok(_) => echoed += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let (threads_after, rss_after_kib) = threads_and_rss();
        let opened = conns.len();
        // Exit without closing the sockets one by one: the kernel resets them.
        std::mem::forget(conns);
        ScaleResult {
            client: client.name().into(),
            sockets: n,
            opened,
            failed: n - opened,
            echoed,
            open_all_ms,
            threads_before,
            threads_after,
            rss_before_kib,
            rss_after_open_kib,
            rss_after_kib,
            rss_per_socket_kib: (rss_after_kib as f64 - rss_before_kib as f64) / n as f64,
            first_error,
        }
    });
    println!("{}", serde_json::to_string(&out).expect("json"));
    std::process::exit(0);
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
