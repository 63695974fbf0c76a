//! In-process fan-out: N connections of one client library in this process, all connected to
//! the broadcast server ([`crate::broadcast`]); one sender (raw blocking tungstenite on a thread
//! of its own, the same for every library, so that only the receiving library differs) sends
//! 64-byte binary messages at a paced rate, each carrying its sequence number and send time on
//! this process's monotonic clock; every receiver records receive time - send time. The
//! receivers run the way their libraries are used for many connections in one thread: every
//! connection's receive loop joined in one future, on the library's own executor (a
//! current-thread tokio runtime, or `twinsock::block_on` for twinsock).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::clients::{connect, Client, Result};
use crate::usage::{Cpu, Window};

/// Bytes of each broadcast message: sequence number, send time (ns), padding.
const MESSAGE_SIZE: usize = 64;

/// The sequence number that tells the receivers the run is over.
const END: u64 = u64::MAX;

/// One fan-out run's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutResult {
    pub client: String,
    pub clients: usize,
    pub rate_hz: f64,
    /// Broadcasts after the warm-up (the ones measured).
    pub broadcasts: usize,
    pub deliveries: usize,
    pub expected: usize,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub cpu: Cpu,
    /// The server's CPU per measured broadcast: a lower bound on how long one fan-out takes it.
    pub server_cpu_per_broadcast_us: f64,
}

/// The sender's connection, kept open until the run's CPU is measured (the server's thread for
/// it, which does the fan-out, would take its CPU time with it if it ended first).
type SenderSocket = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>;

/// The paced sender: `total` messages at `rate_hz` (each due at its own time, so that a late
/// one does not shift the rest), then the end marker. Returns its open connection.
fn send_paced(url: &str, epoch: Instant, rate_hz: f64, total: usize) -> Result<SenderSocket> {
    let (mut ws, _) = tungstenite::connect(url).map_err(|e| format!("fan-out sender: {e}"))?;
    if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = ws.get_mut() {
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    }
    let period = Duration::from_secs_f64(1.0 / rate_hz);
    let started = Instant::now();
    for seq in (0..total as u64).chain([END]) {
        let due = started + period * seq.min(total as u64) as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let mut message = vec![0u8; MESSAGE_SIZE];
        message[..8].copy_from_slice(&seq.to_le_bytes());
        message[8..16].copy_from_slice(&(epoch.elapsed().as_nanos() as u64).to_le_bytes());
        ws.send(tungstenite::Message::binary(message))
            .map_err(|e| format!("fan-out sender: {e}"))?;
    }
    Ok(ws)
}

/// One run: `n` receivers of `client`, `warmup + measured` broadcasts at `rate_hz`.
pub fn run(
    client: Client,
    url: &str,
    server_pid: u32,
    n: usize,
    rate_hz: f64,
    warmup: usize,
    measured: usize,
) -> Result<FanoutResult> {
    let epoch = Instant::now();
    client.drive(async {
        let results = futures::future::join_all((0..n).map(|_| connect(client, url))).await;
        let mut conns = Vec::with_capacity(n);
        for result in results {
            conns.push(result?);
        }
        let window = Window::start(server_pid);
        let sender_url = url.to_string();
        let total = warmup + measured;
        let sender = std::thread::Builder::new()
            .name("fan-out sender".into())
            .spawn(move || send_paced(&sender_url, epoch, rate_hz, total))
            .map_err(|e| format!("fan-out sender thread: {e}"))?;
        let per_receiver = futures::future::join_all(conns.iter_mut().map(|conn| async move {
            let mut latencies_ns = Vec::with_capacity(measured);
            loop {
                let received = conn.recv().await?;
                let seq = u64::from_le_bytes(received.head[..8].try_into().expect("8 bytes"));
                if seq == END {
                    return Ok::<_, String>(latencies_ns);
                }
                let sent_ns = u64::from_le_bytes(received.head[8..16].try_into().expect("8 bytes"));
                if seq >= warmup as u64 {
                    latencies_ns.push((epoch.elapsed().as_nanos() as u64).saturating_sub(sent_ns));
                }
            }
        }))
        .await;
        // The sender has sent the end marker (every receiver saw it), so it is done: its
        // connection stays open until the window is closed.
        let sender = sender.join().map_err(|_| "fan-out sender panicked".to_string())?;
        let cpu = window.end();
        drop(sender?);
        let mut all = Vec::with_capacity(n * measured);
        for latencies in per_receiver {
            all.extend(latencies?);
        }
        all.sort_unstable();
        let expected = n * measured;
        if all.len() != expected {
            return Err(format!("{} deliveries of {expected}", all.len()));
        }
        Ok(FanoutResult {
            client: client.name().into(),
            clients: n,
            rate_hz,
            broadcasts: measured,
            deliveries: all.len(),
            expected,
            p50_us: crate::quantile_us(&all, 0.5),
            p90_us: crate::quantile_us(&all, 0.9),
            p99_us: crate::quantile_us(&all, 0.99),
            max_us: all.last().map_or(f64::NAN, |&v| v as f64 / 1e3),
            server_cpu_per_broadcast_us: cpu.server_cpu_us / total as f64,
            cpu,
        })
    })
}
