//! CPU time and context switches, of this process (`getrusage`, every thread, exact) and of the
//! server's process (each thread's /proc/PID/task/TID/schedstat, in ns), measured around each
//! timed run. Under
//! `perf stat --control` (the profile phase, [`crate::profile`]) the same windows switch perf's
//! counting on and off, so that it counts the timed loop only.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde::Serialize;

/// Every live thread of process `pid` and the CPU time it has run so far, ns (empty if /proc
/// cannot say).
fn thread_cpu_ns(pid: u32) -> BTreeMap<u32, u64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return BTreeMap::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse().ok()?;
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            Some((tid, schedstat.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// CPU time the threads of `pid` ran between `before` and now (a thread started since counts
/// from zero; one that ended since is lost, which a connection's thread does not do while its
/// connection is measured), µs.
fn cpu_since(pid: u32, before: &BTreeMap<u32, u64>) -> f64 {
    thread_cpu_ns(pid)
        .iter()
        .map(|(tid, ns)| ns.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum::<u64>() as f64
        / 1e3
}

/// This process's CPU time (µs) and context switches (voluntary + involuntary) so far.
fn self_usage() -> (f64, u64) {
    // SAFETY: getrusage writes a plain struct; zeroed is a valid initial value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    (
        us(usage.ru_utime) + us(usage.ru_stime),
        (usage.ru_nvcsw + usage.ru_nivcsw) as u64,
    )
}

/// The environment variables that name perf's control and acknowledgement fifos.
pub const PERF_CTL_ENV: &str = "BENCH_PERF_CTL";
pub const PERF_ACK_ENV: &str = "BENCH_PERF_ACK";

/// Sends `command` (`enable` or `disable`) to perf and waits for its acknowledgement, when this
/// process runs under `perf stat --control`; does nothing otherwise.
fn perf_control(command: &str) {
    static CONTROL: OnceLock<Option<Mutex<(File, File)>>> = OnceLock::new();
    let control = CONTROL.get_or_init(|| {
        let ctl = std::env::var_os(PERF_CTL_ENV)?;
        let ack = std::env::var_os(PERF_ACK_ENV)?;
        // perf holds both fifos open read-write, so neither open blocks.
        let ctl = OpenOptions::new()
            .write(true)
            .open(ctl)
            .expect("perf's control fifo");
        let ack = File::open(ack).expect("perf's ack fifo");
        Some(Mutex::new((ctl, ack)))
    });
    if let Some(control) = control {
        let mut files = control.lock().unwrap_or_else(|e| e.into_inner());
        let (ctl, ack) = &mut *files;
        ctl.write_all(format!("{command}\n").as_bytes())
            .expect("write to perf's control fifo");
        let mut answer = [0u8; 16];
        let n = ack.read(&mut answer).expect("read perf's ack");
        assert!(
            answer[..n].starts_with(b"ack"),
            "perf answered {:?}",
            &answer[..n]
        );
    }
}

/// The start of a measured window.
pub struct Window {
    started: Instant,
    cpu_us: f64,
    switches: u64,
    server_threads: BTreeMap<u32, u64>,
    server_pid: u32,
}

/// CPU over a measured window.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cpu {
    pub wall_us: f64,
    /// This (the clients') process, all threads.
    pub client_cpu_us: f64,
    pub client_switches: u64,
    /// The server's process.
    pub server_cpu_us: f64,
}

impl Cpu {
    /// The clients' process's CPU as a share of one core.
    pub fn client_share(&self) -> f64 {
        self.client_cpu_us / self.wall_us
    }

    /// The server process's CPU as a share of one core.
    pub fn server_share(&self) -> f64 {
        self.server_cpu_us / self.wall_us
    }
}

impl Window {
    /// Starts a window; `server_pid` is the server process to measure alongside.
    pub fn start(server_pid: u32) -> Window {
        perf_control("enable");
        let (cpu_us, switches) = self_usage();
        Window {
            started: Instant::now(),
            cpu_us,
            switches,
            server_threads: thread_cpu_ns(server_pid),
            server_pid,
        }
    }

    pub fn end(&self) -> Cpu {
        let (cpu_us, switches) = self_usage();
        perf_control("disable");
        Cpu {
            wall_us: self.started.elapsed().as_secs_f64() * 1e6,
            client_cpu_us: cpu_us - self.cpu_us,
            client_switches: switches - self.switches,
            server_cpu_us: cpu_since(self.server_pid, &self.server_threads),
        }
    }
}
