//! `bench-native`: twinsock's native client side by side with raw tungstenite (blocking),
//! tokio-tungstenite (current-thread runtime) and ewebsock (native backend), against one local
//! echo server, alternating the clients round after round so that they share the machine's
//! noise. Prints a table of medians and ratios to raw tungstenite; writes every round's numbers
//! and the machine's facts as JSON, and round-trip latency samples as CSV.
//!
//! `bench-native [--quick] [--rounds N] [--json PATH] [--csv PATH]` (see `--help`).
//!
//! `bench-native chat ...` is a second benchmark: chat-server against the tutorial's Node server,
//! driven by a twinsock load generator (see [`chat_load`]).

mod chat_load;
mod chat_scale;
mod clients;
mod scale;
mod server;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use clients::Client;

const USAGE: &str = "\
bench-native: twinsock's native client next to tungstenite, tokio-tungstenite and ewebsock

usage: bench-native [--quick] [--rounds N] [--json PATH] [--csv PATH]
       bench-native chat ...   (the chat servers' benchmark; bench-native chat --help)

  --quick       2 rounds and smaller counts (a smoke test)
  --rounds N    rounds (default 5; 2 with --quick)
  --json PATH   raw results (default: target/bench/native.json under the repository root)
  --csv PATH    round-trip latency samples (default: native-latency.csv next to the JSON)

Raise the open-files limit (ulimit -n) above ~2,100 for the 1,000-socket scale test;
scripts/bench-native.sh does.";

/// Counts of one run.
#[derive(Debug, Clone, Serialize)]
struct Config {
    rounds: usize,
    quick: bool,
    rtt_count: usize,
    rtt_count_ewebsock: usize,
    rtt_warmup: usize,
    rtt_size: usize,
    pipe_count: usize,
    pipe_count_ewebsock: usize,
    pipe_window: usize,
    pipe_size: usize,
    large_count: usize,
    large_count_ewebsock: usize,
    large_size: usize,
    connect_count: usize,
    connect_count_ewebsock: usize,
    scale_sockets: usize,
    /// Any client's round stops here; what it completed by then is what counts.
    time_cap_s: f64,
    /// ewebsock's rounds stop here (its native backend polls with a 10 ms read timeout).
    time_cap_ewebsock_s: f64,
}

impl Config {
    fn full(rounds: usize) -> Config {
        Config {
            rounds,
            quick: false,
            rtt_count: 20_000,
            rtt_count_ewebsock: 300,
            rtt_warmup: 200,
            rtt_size: 32,
            pipe_count: 200_000,
            pipe_count_ewebsock: 20_000,
            pipe_window: 1000,
            pipe_size: 1024,
            large_count: 300,
            large_count_ewebsock: 300,
            large_size: 1 << 20,
            connect_count: 200,
            connect_count_ewebsock: 200,
            scale_sockets: 1000,
            time_cap_s: 20.0,
            time_cap_ewebsock_s: 5.0,
        }
    }

    fn quick(rounds: usize) -> Config {
        Config {
            quick: true,
            rtt_count: 2_000,
            rtt_count_ewebsock: 50,
            rtt_warmup: 50,
            pipe_count: 20_000,
            pipe_count_ewebsock: 2_000,
            large_count: 20,
            large_count_ewebsock: 10,
            connect_count: 50,
            connect_count_ewebsock: 20,
            scale_sockets: 1000,
            time_cap_s: 5.0,
            time_cap_ewebsock_s: 1.0,
            ..Config::full(rounds)
        }
    }

    fn cap(&self, client: Client) -> Duration {
        Duration::from_secs_f64(if client == Client::Ewebsock {
            self.time_cap_ewebsock_s
        } else {
            self.time_cap_s
        })
    }
}

/// One measurement's numbers: per client, one value per round.
#[derive(Debug, Clone, Serialize)]
struct Measurement {
    id: &'static str,
    title: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    /// Client name to its value in each round, in round order.
    rounds: BTreeMap<&'static str, Vec<f64>>,
    /// Client name to the work done in each round (messages, round trips, connects).
    counts: BTreeMap<&'static str, Vec<usize>>,
    /// Client name to whether each round hit its time cap before its count.
    truncated: BTreeMap<&'static str, Vec<bool>>,
}

impl Measurement {
    fn new(id: &'static str, title: &'static str, unit: &'static str, higher_is_better: bool) -> Self {
        Measurement {
            id,
            title,
            unit,
            higher_is_better,
            rounds: BTreeMap::new(),
            counts: BTreeMap::new(),
            truncated: BTreeMap::new(),
        }
    }

    fn push(&mut self, client: Client, value: f64, count: usize, truncated: bool) {
        self.rounds.entry(client.name()).or_default().push(value);
        self.counts.entry(client.name()).or_default().push(count);
        self.truncated.entry(client.name()).or_default().push(truncated);
    }

    fn median(&self, client: Client) -> Option<f64> {
        self.rounds.get(client.name()).map(|v| median(v))
    }
}

#[derive(Debug, Serialize)]
struct Machine {
    nproc: usize,
    cpus_in_cpuinfo: usize,
    cpu_model: String,
    kernel: String,
    rustc: &'static str,
    crates: BTreeMap<String, Vec<String>>,
    loadavg_start: String,
    loadavg_end: String,
    open_files_limit: Option<u64>,
    started_unix_s: u64,
    duration_s: f64,
}

#[derive(Debug, Serialize)]
struct Summary {
    id: &'static str,
    unit: &'static str,
    client: &'static str,
    median: f64,
    ratio_to_tungstenite: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    config: Config,
    machine: Machine,
    notes: Vec<String>,
    /// Per measurement and client: the median over rounds and its ratio to raw tungstenite's.
    summary: Vec<Summary>,
    measurements: Vec<Measurement>,
    /// Round-trip latency percentiles per round and client, µs.
    latency_percentiles_us: BTreeMap<&'static str, Vec<BTreeMap<&'static str, f64>>>,
    /// Every connect-to-open time, µs, per client and round, in the order measured.
    connect_samples_us: BTreeMap<&'static str, Vec<Vec<f64>>>,
    scale: BTreeMap<&'static str, Vec<scale::ScaleResult>>,
    errors: Vec<String>,
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The `q` quantile (nearest rank) of sorted nanoseconds, in µs.
fn quantile_us(sorted_ns: &[u64], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted_ns.len() as f64).ceil() as usize).clamp(1, sorted_ns.len());
    sorted_ns[rank - 1] as f64 / 1e3
}

// ---- the watchdog: no phase may hang the run --------------------------------------------------

static WATCHDOG: Mutex<Option<(Instant, String)>> = Mutex::new(None);

fn start_watchdog() {
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(|| loop {
            std::thread::sleep(Duration::from_millis(200));
            let guard = WATCHDOG.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((deadline, phase)) = guard.as_ref() {
                if Instant::now() > *deadline {
                    eprintln!("bench-native: watchdog: {phase} did not finish in time; giving up");
                    chat_load::kill_servers();
                    std::process::exit(3);
                }
            }
        })
        .expect("watchdog thread");
}

fn arm(phase: String, limit: Duration) {
    *WATCHDOG.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now() + limit, phase));
}

// ---- machine facts ----------------------------------------------------------------------------

fn machine_facts() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cpus_in_cpuinfo = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let nproc = std::process::Command::new("nproc")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(0, |n| n.get()));
    let kernel = std::fs::read_to_string("/proc/version")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    // The versions this binary was built with: its own Cargo.lock, embedded at compile time.
    let lock = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"));
    let wanted = [
        "twinsock",
        "tungstenite",
        "tokio-tungstenite",
        "tokio",
        "ewebsock",
        "futures",
        "mio",
        "serde_json",
    ];
    let mut crates: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name: Option<&str> = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = \"") {
            name = n.strip_suffix('"');
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = \""), name) {
            if wanted.contains(&n) {
                crates
                    .entry(n.to_string())
                    .or_default()
                    .push(v.trim_end_matches('"').to_string());
            }
            name = None;
        }
    }
    Machine {
        nproc,
        cpus_in_cpuinfo,
        cpu_model,
        kernel,
        rustc: env!("BENCH_RUSTC_VERSION"),
        crates,
        loadavg_start: loadavg(),
        loadavg_end: String::new(),
        open_files_limit: scale::open_files_limit(),
        started_unix_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        duration_s: 0.0,
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

// ---- the run ----------------------------------------------------------------------------------

struct Args {
    quick: bool,
    rounds: Option<usize>,
    json: PathBuf,
    csv: Option<PathBuf>,
}

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    if std::env::args().nth(1).as_deref() == Some("chat-scale") {
        chat_scale::main(std::env::args().skip(2));
    }
    if std::env::args().nth(1).as_deref() == Some("chat") {
        chat_load::main(args.skip(1));
    }
    let mut out = Args {
        quick: false,
        rounds: None,
        json: repo_root().join("target/bench/native.json"),
        csv: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--serve" => server::run(),
            "--scale-child" => {
                let client = args
                    .next()
                    .and_then(|c| Client::from_name(&c))
                    .expect("--scale-child CLIENT URL N");
                let url = args.next().expect("--scale-child CLIENT URL N");
                let n = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--scale-child CLIENT URL N");
                scale::child(client, &url, n);
            }
            "--quick" => out.quick = true,
            "--rounds" => {
                out.rounds = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .unwrap_or_else(|| {
                            eprintln!("--rounds needs a positive number\n\n{USAGE}");
                            std::process::exit(2)
                        }),
                )
            }
            "--json" => {
                out.json = args.next().map(PathBuf::from).unwrap_or_else(|| {
                    eprintln!("--json needs a path\n\n{USAGE}");
                    std::process::exit(2)
                })
            }
            "--csv" => {
                out.csv = Some(args.next().map(PathBuf::from).unwrap_or_else(|| {
                    eprintln!("--csv needs a path\n\n{USAGE}");
                    std::process::exit(2)
                }))
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            other => {
                eprintln!("unknown argument {other:?}\n\n{USAGE}");
                std::process::exit(2)
            }
        }
    }
    out
}

fn main() {
    let args = parse_args();
    let started = Instant::now();
    let config = if args.quick {
        Config::quick(args.rounds.unwrap_or(2))
    } else {
        Config::full(args.rounds.unwrap_or(5))
    };
    let mut machine = machine_facts();
    start_watchdog();
    let server = server::Server::start();
    eprintln!(
        "bench-native: echo server (pid {}) at {}; {} rounds{}; {} CPUs ({}), load {}",
        server.pid(),
        server.url,
        config.rounds,
        if config.quick { ", quick" } else { "" },
        machine.nproc,
        machine.cpu_model,
        machine.loadavg_start
    );
    let url = server.url.clone();
    let mut errors: Vec<String> = Vec::new();
    let mut notes = vec![
        format!(
            "Every measurement alternates the clients (twinsock, tungstenite, tokio-tungstenite, ewebsock) \
             for {} rounds against one echo server (a child process: blocking tungstenite, a thread per \
             connection, TCP_NODELAY, echoes written just before each blocking read); values are medians over rounds.",
            config.rounds
        ),
        {
            let capped: Vec<String> = [
                ("round trips", config.rtt_count_ewebsock, config.rtt_count),
                ("pipelined", config.pipe_count_ewebsock, config.pipe_count),
                ("1 MiB", config.large_count_ewebsock, config.large_count),
                ("connects", config.connect_count_ewebsock, config.connect_count),
            ]
            .iter()
            .filter(|(_, e, n)| e < n)
            .map(|(what, e, n)| format!("{what}: {e} instead of {n}"))
            .collect();
            format!(
                "ewebsock's native backend polls its socket with a 10 ms read timeout, so its counts are \
                 capped ({}) and its rounds stop after {:.0} s (a round cut short counts what it completed).",
                capped.join("; "),
                config.time_cap_ewebsock_s
            )
        },
        "MB = 10^6 bytes of payload, one way (each message is also echoed back).".into(),
    ];
    if let Some(limit) = machine.open_files_limit {
        if limit < (config.scale_sockets as u64) * 2 + 64 {
            notes.push(format!(
                "open-files limit {limit} is low for {} sockets per process; some scale-test sockets may fail (raise ulimit -n)",
                config.scale_sockets
            ));
        }
    }

    let mut rtt_rate = Measurement::new("round_trip_rate", "round trips, 32 B text", "rt/s", true);
    let mut rtt_p50 = Measurement::new("round_trip_p50", "round-trip latency p50", "µs", false);
    let mut rtt_p99 = Measurement::new("round_trip_p99", "round-trip latency p99", "µs", false);
    let mut pipe_rate = Measurement::new(
        "pipelined_rate",
        "pipelined 1 KiB binary, 1000 in flight",
        "msg/s",
        true,
    );
    let mut pipe_mbs = Measurement::new(
        "pipelined_mb_s",
        "pipelined 1 KiB binary, 1000 in flight",
        "MB/s",
        true,
    );
    let mut large_mbs = Measurement::new("large_mb_s", "1 MiB binary, echoed one at a time", "MB/s", true);
    let mut conn_p50 = Measurement::new("connect_p50", "connect-to-open p50", "µs", false);
    let mut conn_p99 = Measurement::new("connect_p99", "connect-to-open p99", "µs", false);
    let mut percentiles: BTreeMap<&'static str, Vec<BTreeMap<&'static str, f64>>> = BTreeMap::new();
    let mut samples: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    let mut connect_samples: BTreeMap<&'static str, Vec<Vec<f64>>> = BTreeMap::new();

    let phase_limit = |client: Client| config.cap(client) + Duration::from_secs(60);

    // 1. Sequential round trips.
    for round in 0..config.rounds {
        for client in Client::ALL {
            arm(
                format!("round trips, {}, round {}", client.name(), round + 1),
                phase_limit(client),
            );
            let count = if client == Client::Ewebsock {
                config.rtt_count_ewebsock
            } else {
                config.rtt_count
            };
            let warmup = if client == Client::Ewebsock {
                3
            } else {
                config.rtt_warmup
            };
            match clients::round_trips(client, &url, count, warmup, config.rtt_size, config.cap(client)) {
                Ok(run) => {
                    let n = run.latencies_ns.len();
                    let rate = n as f64 / run.elapsed.as_secs_f64();
                    let mut sorted = run.latencies_ns.clone();
                    sorted.sort_unstable();
                    let p50 = quantile_us(&sorted, 0.50);
                    let p99 = quantile_us(&sorted, 0.99);
                    rtt_rate.push(client, rate, n, run.truncated);
                    rtt_p50.push(client, p50, n, run.truncated);
                    rtt_p99.push(client, p99, n, run.truncated);
                    let mut pct = BTreeMap::new();
                    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
                        pct.insert(name, quantile_us(&sorted, q));
                    }
                    pct.insert("max", sorted.last().map_or(f64::NAN, |&v| v as f64 / 1e3));
                    percentiles.entry(client.name()).or_default().push(pct);
                    samples.entry(client.name()).or_default().extend(run.latencies_ns);
                    eprintln!(
                        "  round trips   round {} {:<18} {:>9.0} rt/s  p50 {:>8.1} µs  p99 {:>8.1} µs{}",
                        round + 1,
                        client.name(),
                        rate,
                        p50,
                        p99,
                        if run.truncated { "  (time cap)" } else { "" }
                    );
                }
                Err(e) => errors.push(format!(
                    "round trips, {}, round {}: {e}",
                    client.name(),
                    round + 1
                )),
            }
        }
    }

    // 2. Pipelined 1 KiB binary.
    for round in 0..config.rounds {
        for client in Client::ALL {
            arm(
                format!("pipelined, {}, round {}", client.name(), round + 1),
                phase_limit(client),
            );
            let count = if client == Client::Ewebsock {
                config.pipe_count_ewebsock
            } else {
                config.pipe_count
            };
            match clients::pipelined(
                client,
                &url,
                count,
                config.pipe_window,
                config.pipe_size,
                config.cap(client),
            ) {
                Ok(run) => {
                    let secs = run.elapsed.as_secs_f64();
                    let rate = run.messages as f64 / secs;
                    let mbs = run.bytes as f64 / secs / 1e6;
                    pipe_rate.push(client, rate, run.messages, run.truncated);
                    pipe_mbs.push(client, mbs, run.messages, run.truncated);
                    eprintln!(
                        "  pipelined     round {} {:<18} {:>9.0} msg/s {:>8.1} MB/s{}",
                        round + 1,
                        client.name(),
                        rate,
                        mbs,
                        if run.truncated { "  (time cap)" } else { "" }
                    );
                }
                Err(e) => errors.push(format!("pipelined, {}, round {}: {e}", client.name(), round + 1)),
            }
        }
    }

    // 3. 1 MiB binary echoed.
    for round in 0..config.rounds {
        for client in Client::ALL {
            arm(
                format!("1 MiB, {}, round {}", client.name(), round + 1),
                phase_limit(client),
            );
            let count = if client == Client::Ewebsock {
                config.large_count_ewebsock
            } else {
                config.large_count
            };
            match clients::pipelined(client, &url, count, 1, config.large_size, config.cap(client)) {
                Ok(run) => {
                    let mbs = run.bytes as f64 / run.elapsed.as_secs_f64() / 1e6;
                    large_mbs.push(client, mbs, run.messages, run.truncated);
                    eprintln!(
                        "  1 MiB         round {} {:<18} {:>9.1} MB/s ({} messages){}",
                        round + 1,
                        client.name(),
                        mbs,
                        run.messages,
                        if run.truncated { "  (time cap)" } else { "" }
                    );
                }
                Err(e) => errors.push(format!("1 MiB, {}, round {}: {e}", client.name(), round + 1)),
            }
        }
    }

    // 4. Connect-to-open.
    for round in 0..config.rounds {
        for client in Client::ALL {
            arm(
                format!("connects, {}, round {}", client.name(), round + 1),
                phase_limit(client),
            );
            let count = if client == Client::Ewebsock {
                config.connect_count_ewebsock
            } else {
                config.connect_count
            };
            match clients::connects(client, &url, count, config.cap(client)) {
                Ok(mut times) => {
                    connect_samples
                        .entry(client.name())
                        .or_default()
                        .push(times.iter().map(|&ns| ns as f64 / 1e3).collect());
                    let n = times.len();
                    times.sort_unstable();
                    let (p50, p99) = (quantile_us(&times, 0.5), quantile_us(&times, 0.99));
                    conn_p50.push(client, p50, n, n < count);
                    conn_p99.push(client, p99, n, n < count);
                    eprintln!(
                        "  connect       round {} {:<18} p50 {:>8.1} µs  p99 {:>8.1} µs ({n} connects)",
                        round + 1,
                        client.name(),
                        p50,
                        p99
                    );
                }
                Err(e) => errors.push(format!("connects, {}, round {}: {e}", client.name(), round + 1)),
            }
        }
        // ewebsock's dropped sockets end on their own threads within ~10 ms each.
        std::thread::sleep(Duration::from_millis(200));
    }

    // 5. Scale: N sockets in one (fresh) process.
    let mut scale_results: BTreeMap<&'static str, Vec<scale::ScaleResult>> = BTreeMap::new();
    for round in 0..config.rounds {
        for client in [Client::Twinsock, Client::TokioTungstenite] {
            arm(
                format!("scale, {}, round {}", client.name(), round + 1),
                Duration::from_secs(150),
            );
            match scale::run_child(client, &url, config.scale_sockets, Duration::from_secs(120)) {
                Ok(result) => {
                    eprintln!(
                        "  scale         round {} {:<18} {} open in {:>7.1} ms; threads {} -> {}; RSS {} -> {} KiB ({:.1} KiB/socket){}",
                        round + 1,
                        client.name(),
                        result.opened,
                        result.open_all_ms,
                        result.threads_before,
                        result.threads_after,
                        result.rss_before_kib,
                        result.rss_after_kib,
                        result.rss_per_socket_kib,
                        if result.failed > 0 { format!("; {} FAILED: {:?}", result.failed, result.first_error) } else { String::new() }
                    );
                    if result.failed > 0 || result.echoed < result.opened {
                        errors.push(format!(
                            "scale, {}, round {}: {} of {} failed to open, {} echoed ({:?})",
                            client.name(),
                            round + 1,
                            result.failed,
                            result.sockets,
                            result.echoed,
                            result.first_error
                        ));
                    }
                    scale_results.entry(client.name()).or_default().push(result);
                }
                Err(e) => errors.push(format!("scale, {}, round {}: {e}", client.name(), round + 1)),
            }
            // Let the server's threads of the previous batch end.
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    *WATCHDOG.lock().unwrap_or_else(|e| e.into_inner()) = None;
    drop(server);

    let measurements = vec![
        rtt_rate, rtt_p50, rtt_p99, pipe_rate, pipe_mbs, large_mbs, conn_p50, conn_p99,
    ];
    machine.loadavg_end = loadavg();
    machine.duration_s = started.elapsed().as_secs_f64();

    print_table(&config, &machine, &notes, &measurements, &scale_results, &errors);

    // Raw results.
    let summary = measurements
        .iter()
        .flat_map(|m| {
            let base = m.median(Client::Tungstenite).unwrap_or(f64::NAN);
            Client::ALL.into_iter().filter_map(move |client| {
                m.median(client).map(|median| Summary {
                    id: m.id,
                    unit: m.unit,
                    client: client.name(),
                    median,
                    ratio_to_tungstenite: median / base,
                })
            })
        })
        .collect();
    let report = Report {
        summary,
        benchmark: "twinsock bench-native",
        config: config.clone(),
        machine,
        notes,
        measurements,
        latency_percentiles_us: percentiles,
        connect_samples_us: connect_samples,
        scale: scale_results,
        errors: errors.clone(),
    };
    write_json(&args.json, &report);
    let csv = args
        .csv
        .unwrap_or_else(|| args.json.with_file_name("native-latency.csv"));
    write_csv(&csv, &samples);
    println!(
        "\nraw results: {}\nlatency samples: {}",
        args.json.display(),
        csv.display()
    );
    if !errors.is_empty() {
        std::process::exit(1);
    }
}

/// At most 5,000 evenly spaced samples per client, in the order they were taken.
/// Writes `report` as pretty JSON to `path`, creating its directory.
fn write_json(path: &Path, report: &impl Serialize) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the JSON's directory");
    }
    std::fs::write(path, serde_json::to_string_pretty(report).expect("json") + "\n").expect("write the JSON");
}

fn write_csv(path: &Path, samples: &BTreeMap<&'static str, Vec<u64>>) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the CSV's directory");
    }
    let mut out = String::from("client,latency_us\n");
    for client in Client::ALL {
        let Some(all) = samples.get(client.name()) else {
            continue;
        };
        let step = all.len().div_ceil(5000).max(1);
        for ns in all.iter().step_by(step) {
            out.push_str(&format!("{},{:.2}\n", client.name(), *ns as f64 / 1e3));
        }
    }
    std::fs::write(path, out).expect("write the CSV");
}

fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v >= 100.0 {
        format!("{:.0}", v)
    } else if v >= 10.0 {
        format!("{:.1}", v)
    } else {
        format!("{:.2}", v)
    }
}

fn print_table(
    config: &Config,
    machine: &Machine,
    notes: &[String],
    measurements: &[Measurement],
    scale_results: &BTreeMap<&'static str, Vec<scale::ScaleResult>>,
    errors: &[String],
) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\nbench-native: {} rounds{}, {} CPUs ({}), {}; load {} -> {}; {:.0} s",
        config.rounds,
        if config.quick { " (quick)" } else { "" },
        machine.nproc,
        machine.cpu_model,
        machine.rustc,
        machine.loadavg_start,
        machine.loadavg_end,
        machine.duration_s
    );
    for note in notes {
        let _ = writeln!(out, "  * {note}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "ratio = the client's median / raw tungstenite's median (rates: higher is better; latencies: lower is better)\n"
    );
    let _ = writeln!(
        out,
        "{:<40} {:<18} {:>11} {:<6} {:>9}  {:>23}  n per round",
        "measurement", "client", "median", "unit", "ratio", "min .. max over rounds"
    );
    let _ = writeln!(out, "{}", "-".repeat(130));
    for m in measurements {
        let base = m.median(Client::Tungstenite);
        for client in Client::ALL {
            let Some(values) = m.rounds.get(client.name()) else {
                let _ = writeln!(out, "{:<40} {:<18} {:>11}", m.title, client.name(), "failed");
                continue;
            };
            let med = median(values);
            let ratio = base.map_or(f64::NAN, |b| med / b);
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let counts = &m.counts[client.name()];
            let count = counts.iter().copied().max().unwrap_or(0);
            let truncated = m.truncated[client.name()].iter().any(|&t| t);
            let _ = writeln!(
                out,
                "{:<40} {:<18} {:>11} {:<6} {:>8.2}x  {:>10} .. {:<10}  {}{}",
                m.title,
                client.name(),
                fmt_value(med),
                m.unit,
                ratio,
                fmt_value(min),
                fmt_value(max),
                count,
                if truncated { " (time-capped)" } else { "" }
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "scale: {} sockets opened at once in a fresh process (medians over rounds)",
        config.scale_sockets
    );
    let _ = writeln!(
        out,
        "{:<18} {:>12} {:>9} {:>9} {:>12} {:>12} {:>12} {:>10}",
        "client", "open all ms", "threads", "after", "RSS before", "RSS after", "KiB/socket", "failed"
    );
    for (client, results) in scale_results {
        let med = |f: &dyn Fn(&scale::ScaleResult) -> f64| median(&results.iter().map(f).collect::<Vec<_>>());
        let _ = writeln!(
            out,
            "{:<18} {:>12.1} {:>9} {:>9} {:>8} KiB {:>8} KiB {:>12.1} {:>10}",
            client,
            med(&|r| r.open_all_ms),
            med(&|r| r.threads_before as f64),
            med(&|r| r.threads_after as f64),
            med(&|r| r.rss_before_kib as f64),
            med(&|r| r.rss_after_kib as f64),
            med(&|r| r.rss_per_socket_kib),
            results.iter().map(|r| r.failed).sum::<usize>()
        );
    }
    if !errors.is_empty() {
        let _ = writeln!(out, "\nERRORS:");
        for e in errors {
            let _ = writeln!(out, "  {e}");
        }
    }
}
