//! `bench-native`: twinsock's native client side by side with raw tungstenite (blocking),
//! tokio-tungstenite, tokio-websockets, fastwebsockets, yawc (current-thread tokio runtime) and
//! ewebsock (native backend), each used the way its documentation shows, against local servers
//! that are not the ceiling (a batching echo server, with the earlier per-message one as the
//! labelled ceiling case, and a broadcast server for the fan-out), alternating the clients round
//! after round so that they share the machine's noise. Prints a table of medians and ratios to
//! the best async peer; writes every round's numbers and the machine's facts as JSON, and
//! round-trip latency samples as CSV.
//!
//! `bench-native [--quick] [--rounds N] [--json PATH] [--csv PATH]` (see `--help`).
//!
//! `bench-native compression ...` measures permessage-deflate on and off, twinsock next to yawc
//! (see [`compression`]).
//!
//! `bench-native chat ...` is a second benchmark: chat-server against the tutorial's Node server,
//! driven by a twinsock load generator (see [`chat_load`]).

mod broadcast;
mod chat_load;
mod chat_scale;
mod clients;
mod compression;
mod echo_batching;
mod echo_tungstenite;
mod fanout;
mod measures;
mod profile;
mod run;
mod scale;
mod server;
mod table;
mod usage;
mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use clients::Client;

const USAGE: &str = "\
bench-native: twinsock's native client next to tungstenite, tokio-tungstenite, tokio-websockets,
fastwebsockets, yawc and ewebsock

usage: bench-native [--quick] [--rounds N] [--json PATH] [--csv PATH]
       bench-native chat ...   (the chat servers' benchmark; bench-native chat --help)
       bench-native compression ...   (permessage-deflate on and off; bench-native compression --help)

  --quick       2 rounds and smaller counts (a smoke test)
  --rounds N    rounds (default 5; 2 with --quick)
  --json PATH   raw results (default: target/bench/native.json under the repository root)
  --csv PATH    round-trip latency samples (default: native-latency.csv next to the JSON)

Profiling one client in a process of its own (under perf record, say), against a server from
`bench-native --serve batching|broadcast` (it prints LISTENING ADDR and serves until stdin closes):
       bench-native --profile-child CLIENT URL SERVER_PID rt|pipe COUNT WINDOW SIZE
       bench-native --fanout-child CLIENT URL SERVER_PID CLIENTS DELIVERIES_PER_S SECONDS

Raise the open-files limit (ulimit -n) above ~2,100 for the 1,000-socket tests, and have
`perf` on PATH (the system-call counts); scripts/bench-native.sh does both.";

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
struct Report<'a> {
    benchmark: &'static str,
    config: &'a run::Config,
    machine: Machine,
    #[serde(flatten)]
    results: &'a run::Results,
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
        "tokio-websockets",
        "fastwebsockets",
        "yawc",
        "ewebsock",
        "futures",
        "mio",
        "serde_json",
        "flate2",
        "zlib-rs",
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
    if std::env::args().nth(1).as_deref() == Some("compression") {
        compression::run::main(args.skip(1));
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
            "--serve" => server::run(
                args.next()
                    .and_then(|k| server::Kind::from_name(&k))
                    .expect("--serve batching|per-message|broadcast|compression"),
            ),
            "--profile-child" => profile::child(args),
            "--fanout-child" => profile::fanout_child(args),
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
        run::Config::quick(args.rounds.unwrap_or(2))
    } else {
        run::Config::full(args.rounds.unwrap_or(5))
    };
    let mut machine = machine_facts();
    start_watchdog();
    eprintln!(
        "bench-native: {} rounds{}; {} CPUs ({}), load {}",
        config.rounds,
        if config.quick { ", quick" } else { "" },
        machine.nproc,
        machine.cpu_model,
        machine.loadavg_start
    );
    let scratch = args
        .json
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut results = run::run(&config, &scratch);
    *WATCHDOG.lock().unwrap_or_else(|e| e.into_inner()) = None;
    if let Some(limit) = machine.open_files_limit {
        if limit < (config.scale_sockets as u64) * 2 + 64 {
            results.notes.push(format!(
                "open-files limit {limit} is low for {} sockets per process; some sockets may fail (raise ulimit -n)",
                config.scale_sockets
            ));
        }
    }
    machine.loadavg_end = loadavg();
    machine.duration_s = started.elapsed().as_secs_f64();
    table::print(&config, &machine, &results);
    write_json(
        &args.json,
        &Report {
            benchmark: "twinsock bench-native",
            config: &config,
            machine,
            results: &results,
        },
    );
    let csv = args
        .csv
        .unwrap_or_else(|| args.json.with_file_name("native-latency.csv"));
    write_csv(&csv, &results.samples);
    println!(
        "\nraw results: {}\nlatency samples: {}",
        args.json.display(),
        csv.display()
    );
    if !results.errors.is_empty() {
        std::process::exit(1);
    }
}

/// Writes `report` as pretty JSON to `path`, creating its directory.
fn write_json(path: &Path, report: &impl Serialize) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the JSON's directory");
    }
    std::fs::write(path, serde_json::to_string_pretty(report).expect("json") + "\n").expect("write the JSON");
}

/// At most 5,000 evenly spaced samples per client, in the order they were taken.
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

/// A number with as many digits as it deserves.
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
