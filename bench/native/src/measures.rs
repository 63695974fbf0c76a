//! The measurement loops, written once over [`Conn`]: sequential round trips, pipelined
//! messages with a bounded window sent in batches, and connect-to-open times. Each times only
//! its loop (connecting and a warm-up come first) and measures the CPU of both processes over
//! the same window.

use std::time::{Duration, Instant};

use crate::clients::{connect, Client, Payload, Result};
use crate::usage::{Cpu, Window};

/// One round of sequential round trips.
#[derive(Debug)]
pub struct RoundTrips {
    pub latencies_ns: Vec<u64>,
    pub elapsed: Duration,
    pub truncated: bool,
    pub cpu: Cpu,
}

/// Sequential round trips of `size`-byte text messages: send one (feed and flush), wait for its
/// echo. At most `count` (after `warmup` untimed ones), stopping early at `time_cap`.
pub fn round_trips(
    client: Client,
    url: &str,
    server_pid: u32,
    count: usize,
    warmup: usize,
    size: usize,
    time_cap: Duration,
) -> Result<RoundTrips> {
    client.drive(async {
        let mut conn = connect(client, url).await?;
        let text = "x".repeat(size);
        for _ in 0..warmup {
            conn.send(Payload::Text(text.clone())).await?;
            conn.recv().await?;
        }
        let mut latencies_ns = Vec::with_capacity(count);
        let window = Window::start(server_pid);
        let started = Instant::now();
        let cap = started + time_cap;
        let mut before = started;
        let mut truncated = false;
        for _ in 0..count {
            conn.send(Payload::Text(text.clone())).await?;
            let got = conn.recv().await?.len;
            let after = Instant::now();
            if got != size {
                return Err(format!("echo of {got} bytes, expected {size}"));
            }
            latencies_ns.push((after - before).as_nanos() as u64);
            before = after;
            if after >= cap {
                truncated = latencies_ns.len() < count;
                break;
            }
        }
        let cpu = window.end();
        Ok(RoundTrips {
            latencies_ns,
            elapsed: before - started,
            truncated,
            cpu,
        })
    })
}

/// One round of a throughput test.
#[derive(Debug)]
pub struct Throughput {
    pub messages: usize,
    pub bytes: u64,
    pub elapsed: Duration,
    pub truncated: bool,
    pub cpu: Cpu,
}

/// `count` binary messages of `size` bytes with at most `window` in flight, sent in batches:
/// `window` fed then one flush; then, whenever half the window has come back, the window is
/// topped up with one batch (each message fed, one flush). Stops early at `time_cap` (what was
/// echoed by then counts). With `window == 1` this is sequential echo of (large) messages.
pub fn pipelined(
    client: Client,
    url: &str,
    server_pid: u32,
    count: usize,
    window: usize,
    size: usize,
    time_cap: Duration,
) -> Result<Throughput> {
    client.drive(async {
        let mut conn = connect(client, url).await?;
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        // Untimed warm-up: a few echoes, so that connection set-up is not in the numbers.
        for _ in 0..3 {
            conn.send(Payload::Binary(payload.clone())).await?;
            conn.recv().await?;
        }
        let cpu_window = Window::start(server_pid);
        let started = Instant::now();
        let cap = started + time_cap;
        let (mut sent, mut received, mut bytes) = (0, 0, 0u64);
        let mut truncated = false;
        let refill_at = window / 2;
        while received < count {
            if sent - received <= refill_at && sent < count {
                while sent - received < window && sent < count {
                    conn.feed(Payload::Binary(payload.clone())).await?;
                    sent += 1;
                }
                conn.flush().await?;
            }
            let got = conn.recv().await?.len;
            if got != size {
                return Err(format!("echo of {got} bytes, expected {size}"));
            }
            received += 1;
            bytes += got as u64;
            if (received % 64 == 0 || size >= 64 << 10) && Instant::now() >= cap {
                truncated = received < count;
                break;
            }
        }
        let elapsed = started.elapsed();
        let cpu = cpu_window.end();
        // Whatever is still in flight after a time cap is not waited for.
        Ok(Throughput {
            messages: received,
            bytes,
            elapsed,
            truncated,
            cpu,
        })
    })
}

/// Connect-to-open times of `count` connections opened one after another (each dropped once
/// open). Stops early at `time_cap`.
pub fn connects(client: Client, url: &str, count: usize, time_cap: Duration) -> Result<Vec<u64>> {
    client.drive(async {
        let cap = Instant::now() + time_cap;
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            let started = Instant::now();
            let conn = connect(client, url).await?;
            times.push(started.elapsed().as_nanos() as u64);
            drop(conn);
            if Instant::now() >= cap {
                break;
            }
        }
        Ok(times)
    })
}
