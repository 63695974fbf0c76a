//! System calls, context switches and CPU per message for each client: the same measure loops
//! as the headline rounds ([`crate::measures`]), each in a fresh child process
//! (`bench-native --profile-child ...`) under `perf stat`, whose counting the child switches on
//! for its timed loop only (perf's `--control` fifos, driven by [`crate::usage::Window`]).
//! perf counts every thread of the child, the library's own I/O threads included, from the
//! kernel's `raw_syscalls:sys_enter` tracepoint (total) and the `syscalls:sys_enter_*` ones
//! (by name), with `task-clock` (CPU) and `context-switches`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clients::Client;
use crate::measures;
use crate::usage::{PERF_ACK_ENV, PERF_CTL_ENV};

/// The system calls counted by name (whichever of them this kernel has); the rest are "other".
const NAMED: [&str; 15] = [
    "futex",
    "epoll_wait",
    "epoll_pwait",
    "epoll_ctl",
    "read",
    "recvfrom",
    "write",
    "writev",
    "sendto",
    "poll",
    "ppoll",
    "sched_yield",
    "mmap",
    "munmap",
    "madvise",
];

/// What a profiled child measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Measure {
    /// Sequential round trips of `size` bytes.
    RoundTrips { count: usize, size: usize },
    /// `count` messages of `size` bytes, at most `window` in flight.
    Pipelined {
        count: usize,
        window: usize,
        size: usize,
    },
}

impl Measure {
    pub fn id(self) -> &'static str {
        match self {
            Measure::RoundTrips { .. } => "round_trip",
            Measure::Pipelined { window: 1, .. } => "large",
            Measure::Pipelined { .. } => "pipelined",
        }
    }

    fn args(self) -> [String; 4] {
        match self {
            Measure::RoundTrips { count, size } => {
                ["rt".into(), count.to_string(), "1".into(), size.to_string()]
            }
            Measure::Pipelined { count, window, size } => [
                "pipe".into(),
                count.to_string(),
                window.to_string(),
                size.to_string(),
            ],
        }
    }

    fn from_args(kind: &str, count: usize, window: usize, size: usize) -> Option<Measure> {
        match kind {
            "rt" => Some(Measure::RoundTrips { count, size }),
            "pipe" => Some(Measure::Pipelined { count, window, size }),
            _ => None,
        }
    }
}

/// One profiled run: per message (a round trip counts as one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    pub client: String,
    pub measure: String,
    pub messages: usize,
    pub syscalls_per_msg: f64,
    pub context_switches_per_msg: f64,
    pub cpu_us_per_msg: f64,
    /// System calls per message by name, and "other".
    pub syscalls_by_name: BTreeMap<String, f64>,
}

/// Whether perf can count system calls here; the error says why not.
pub fn check_perf() -> Result<(), String> {
    let out = Command::new("perf")
        .args(["stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("perf: {e} (scripts/bench-native.sh installs Debian's linux-perf)"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && stderr.contains("raw_syscalls:sys_enter") && !stderr.contains("<not") {
        Ok(())
    } else {
        Err(format!(
            "perf cannot count raw_syscalls:sys_enter here: {}",
            stderr.trim()
        ))
    }
}

fn tracepoint_exists(name: &str) -> bool {
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .any(|root| Path::new(&format!("{root}/events/syscalls/sys_enter_{name}")).exists())
}

fn mkfifo(path: &Path) -> Result<(), String> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
        return Err(format!(
            "mkfifo {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Runs `measure` with `client` in a child under perf; at most `limit` long.
pub fn run(
    client: Client,
    measure: Measure,
    url: &str,
    server_pid: u32,
    scratch: &Path,
    limit: Duration,
) -> Result<Profile, String> {
    let dir = scratch.join(format!("perf-{}-{}", std::process::id(), client.name()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (ctl, ack, out) = (dir.join("ctl"), dir.join("ack"), dir.join("perf.csv"));
    let stderr_path = dir.join("stderr");
    let stderr =
        std::fs::File::create(&stderr_path).map_err(|e| format!("{}: {e}", stderr_path.display()))?;
    mkfifo(&ctl)?;
    mkfifo(&ack)?;
    let named: Vec<&str> = NAMED.iter().copied().filter(|n| tracepoint_exists(n)).collect();
    let mut events = vec![
        "raw_syscalls:sys_enter".to_string(),
        "context-switches".into(),
        "task-clock".into(),
    ];
    events.extend(named.iter().map(|n| format!("syscalls:sys_enter_{n}")));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new("perf")
        .args(["stat", "-x,", "-D", "-1", "--control"])
        .arg(format!("fifo:{},{}", ctl.display(), ack.display()))
        .args(["-e", &events.join(","), "-o"])
        .arg(&out)
        .arg("--")
        .arg(exe)
        .args(["--profile-child", client.name(), url, &server_pid.to_string()])
        .args(measure.args())
        .env(PERF_CTL_ENV, &ctl)
        .env(PERF_ACK_ENV, &ack)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("spawn perf: {e}"))?;
    let deadline = Instant::now() + limit;
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("profile child exceeded {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    // perf says "Events enabled/disabled" at each control command; anything else is shown.
    let messages_of_child: Vec<String> = std::fs::read_to_string(&stderr_path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("Events "))
        .map(str::to_string)
        .collect();
    if !messages_of_child.is_empty() {
        eprintln!("{}", messages_of_child.join("\n"));
    }
    if !output.status.success() {
        return Err(format!(
            "profile child failed ({}): {}",
            output.status,
            messages_of_child.last().map_or("", String::as_str)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let messages: usize = stdout
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("MESSAGES "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("profile child output {stdout:?}"))?;
    let csv = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for line in csv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() < 3 {
            continue;
        }
        let value = fields[0]
            .parse::<f64>()
            .map_err(|_| format!("perf counted nothing for {}: {line}", fields[2]))?;
        counts.insert(fields[2].to_string(), value);
    }
    let per = |event: &str| {
        counts
            .get(event)
            .map(|v| v / messages as f64)
            .ok_or_else(|| format!("perf gave no {event}"))
    };
    let total = per("raw_syscalls:sys_enter")?;
    let mut by_name = BTreeMap::new();
    for name in &named {
        let value = per(&format!("syscalls:sys_enter_{name}"))?;
        if value > 0.0 {
            by_name.insert(name.to_string(), value);
        }
    }
    let other = total - by_name.values().sum::<f64>();
    by_name.insert("other".into(), other.max(0.0));
    Ok(Profile {
        client: client.name().into(),
        measure: measure.id().into(),
        messages,
        syscalls_per_msg: total,
        context_switches_per_msg: per("context-switches")?,
        // task-clock is in milliseconds.
        cpu_us_per_msg: per("task-clock")? * 1e3,
        syscalls_by_name: by_name,
    })
}

/// The child's side: runs the measure (its timed loop switches perf's counting on and off),
/// prints `MESSAGES n`, exits.
pub fn child(args: impl Iterator<Item = String>) -> ! {
    let usage = "--profile-child CLIENT URL SERVER_PID rt|pipe COUNT WINDOW SIZE";
    let args: Vec<String> = args.collect();
    let number = |i: usize| -> usize { args.get(i).and_then(|n| n.parse().ok()).expect(usage) };
    let client = args.first().and_then(|c| Client::from_name(c)).expect(usage);
    let url = args.get(1).expect(usage).clone();
    let server_pid = number(2) as u32;
    let measure =
        Measure::from_args(args.get(3).expect(usage), number(4), number(5), number(6)).expect(usage);
    let cap = Duration::from_secs(60);
    let messages = match measure {
        Measure::RoundTrips { count, size } => measures::round_trips(
            client,
            &url,
            server_pid,
            count,
            (count / 10).clamp(3, 200),
            size,
            cap,
        )
        .map(|run| {
            eprintln!(
                "RATE {:.0} msg/s 0 MB/s",
                run.latencies_ns.len() as f64 / run.elapsed.as_secs_f64()
            );
            run.latencies_ns.len()
        }),
        Measure::Pipelined { count, window, size } => {
            measures::pipelined(client, &url, server_pid, count, window, size, cap).map(|run| {
                eprintln!(
                    "RATE {:.0} msg/s {:.0} MB/s",
                    run.messages as f64 / run.elapsed.as_secs_f64(),
                    run.bytes as f64 / run.elapsed.as_secs_f64() / 1e6
                );
                run.messages
            })
        }
    };
    match messages {
        Ok(n) => {
            println!("MESSAGES {n}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("profile child ({}): {e}", client.name());
            std::process::exit(1)
        }
    }
}

/// One in-process fan-out run in this process (see [`crate::fanout`]), for a profiler: `CLIENTS`
/// receivers of `CLIENT` through the broadcast server at `URL` (pid `SERVER_PID`), the paced
/// sender offering `DELIVERIES_PER_S` deliveries a second for `SECONDS` (after a quarter of a
/// second's warm-up). Prints the latency quantiles.
pub fn fanout_child(args: impl Iterator<Item = String>) -> ! {
    let usage = "--fanout-child CLIENT URL SERVER_PID CLIENTS DELIVERIES_PER_S SECONDS";
    let args: Vec<String> = args.collect();
    let number = |i: usize| -> f64 { args.get(i).and_then(|n| n.parse().ok()).expect(usage) };
    let client = args.first().and_then(|c| Client::from_name(c)).expect(usage);
    let url = args.get(1).expect(usage).clone();
    let (server_pid, clients) = (number(2) as u32, number(3) as usize);
    let rate_hz = number(4) / clients as f64;
    let warmup = (0.25 * rate_hz).ceil() as usize;
    let measured = (number(5) * rate_hz).ceil() as usize;
    match crate::fanout::run(client, &url, server_pid, clients, rate_hz, warmup, measured) {
        Ok(run) => {
            eprintln!(
                "FANOUT {} clients: p50 {:.0} us p90 {:.0} us p99 {:.0} us max {:.0} us",
                run.clients, run.p50_us, run.p90_us, run.p99_us, run.max_us
            );
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("fan-out child ({}): {e}", client.name());
            std::process::exit(1)
        }
    }
}
