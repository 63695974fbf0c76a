//! `bench-native chat-scale`: the chat across several `chat-server` processes sharing one chat
//! through one `redis-server` (`--redis`), against one server alone, on this machine.
//!
//! For each layout (one server without Redis; one, two and three servers with Redis), N
//! twinsock clients connect, spread round robin over the servers (client i on server i mod S,
//! so the 10 senders are spread too); one marker from client 0 must reach all N (through
//! Redis when there are several servers); then the paced load and the burst of
//! `bench-native chat` run, with the same message format and latency clock. Reported:
//! deliveries per second, p50/p99 latency, and CPU per delivery of the servers (summed) and of
//! Redis. Every process is started on 127.0.0.1 and stopped by PID.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;
use twinsock::{Socket, WebSocket};

use crate::chat_load::{
    connect_all, cpu, now_us, quantile, receive, spawn_senders, status_field, thousands, write_pids, Plan,
    Shared, Tally, RUNNING, SENDERS,
};
use crate::{arm, median};

const USAGE: &str = "\
bench-native chat-scale: one chat-server against two and three behind one Redis

usage: bench-native chat-scale --chat-server PATH [--redis-server PATH] [--quick] [--rounds N]
                               [--clients N] [--json PATH] [--pids PATH]

  --chat-server PATH   the release chat-server binary
  --redis-server PATH  redis-server (default: redis-server)
  --quick              1 round, 300 clients, shorter runs (a smoke test)
  --rounds N           rounds (default 3; 1 with --quick)
  --clients N          clients (default 1000; 300 with --quick)
  --json PATH          results (default target/bench/chat-scale.json under the repository root)
  --pids PATH          keep the PIDs of running processes in this file (for the caller's trap)";

/// Paced load, in deliveries per second.
const PACED_DELIVERIES: f64 = 20_000.0;
/// Deliveries per burst.
const BURST_DELIVERIES: usize = 200_000;

/// A process of the benchmark (chat-server or redis-server), killed by PID when dropped.
struct Proc {
    child: Child,
    pid: u32,
}

impl Proc {
    /// Starts `command` and waits (at most 20 s) for a stdout line containing `ready`; returns
    /// it and the line.
    fn start(
        mut command: Command,
        ready: &'static str,
        log: &std::path::Path,
    ) -> Result<(Proc, String), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("open {}: {e}", log.display()))?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("start {command:?}: {e}"))?;
        let pid = child.id();
        {
            let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
            running.push(pid);
            write_pids(&running);
        }
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(ready) {
                    let _ = tx.send(line);
                }
            }
        });
        let proc = Proc { child, pid };
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| format!("{command:?} printed no {ready:?} line within 20 s"))?;
        Ok((proc, line))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        running.retain(|&p| p != self.pid);
        write_pids(&running);
    }
}

/// A free port on 127.0.0.1 (for redis-server, which cannot pick one itself).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// One layout: how many servers, and whether they go through Redis.
#[derive(Debug, Clone, Copy, Serialize)]
struct Layout {
    servers: usize,
    redis: bool,
}

impl Layout {
    const ALL: [Layout; 4] = [
        Layout {
            servers: 1,
            redis: false,
        },
        Layout {
            servers: 1,
            redis: true,
        },
        Layout {
            servers: 2,
            redis: true,
        },
        Layout {
            servers: 3,
            redis: true,
        },
    ];

    fn name(self) -> String {
        match (self.servers, self.redis) {
            (1, false) => "1 server".into(),
            (1, true) => "1 server + Redis".into(),
            (n, _) => format!("{n} servers + Redis"),
        }
    }
}

/// One paced or burst run of one layout.
#[derive(Debug, Clone, Serialize)]
struct ScaleRun {
    round: usize,
    layout: Layout,
    clients: usize,
    kind: &'static str,
    sent: u64,
    delivered: u64,
    expected: u64,
    incomplete: bool,
    deliveries_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    /// CPU seconds of all chat-servers / deliveries, in µs.
    servers_cpu_us_per_delivery: f64,
    /// CPU seconds of redis-server / deliveries, in µs (0 without Redis).
    redis_cpu_us_per_delivery: f64,
    /// The servers' and Redis's CPU as a share of one core over the run.
    servers_cores: f64,
    redis_cores: f64,
    servers_rss_kib: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    machine: crate::Machine,
    rounds: usize,
    clients: usize,
    paced_deliveries_per_s: f64,
    paced_seconds: f64,
    burst_deliveries: usize,
    notes: Vec<String>,
    runs: Vec<ScaleRun>,
    errors: Vec<String>,
}

struct Setup {
    chat_server: PathBuf,
    redis_server: PathBuf,
    log_dir: PathBuf,
    clients: usize,
    paced_seconds: f64,
}

/// Starts the layout's processes: Redis (if any) and the servers; returns them and the
/// servers' `/ws` URLs.
fn start_layout(layout: Layout, setup: &Setup) -> Result<(Option<Proc>, Vec<Proc>, Vec<String>), String> {
    let redis = if layout.redis {
        let port = free_port()?;
        let mut command = Command::new(&setup.redis_server);
        command.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        let (proc, _) = Proc::start(
            command,
            "Ready to accept connections",
            &setup.log_dir.join("chat-scale-redis.log"),
        )?;
        Some((proc, format!("redis://127.0.0.1:{port}/")))
    } else {
        None
    };
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..layout.servers {
        let mut command = Command::new(&setup.chat_server);
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--max-clients",
                "20000",
                "--rate-limit",
                "0",
            ])
            .env("RUST_LOG", "warn");
        if let Some((_, url)) = &redis {
            command.args(["--redis", url]);
        }
        let (proc, line) = Proc::start(
            command,
            "listening on http://",
            &setup.log_dir.join("chat-scale-servers.log"),
        )?;
        let addr = line
            .split("listening on http://")
            .nth(1)
            .map(|rest| rest.trim_end_matches('/').trim().to_string())
            .ok_or_else(|| format!("unexpected line {line:?}"))?;
        urls.push(format!("ws://{addr}/ws"));
        servers.push(proc);
    }
    if let Some((_, url)) = &redis {
        // Every server's link must be up before clients connect.
        let deadline = Instant::now() + Duration::from_secs(20);
        for ws in &urls {
            let health = ws.replace("ws://", "").replace("/ws", "");
            while !health_says_up(&health) {
                if Instant::now() > deadline {
                    return Err(format!(
                        "the Redis link of {health} is not up within 20 s ({url})"
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    Ok((redis.map(|(proc, _)| proc), servers, urls))
}

/// Whether `/health` of the server at `addr` says its Redis link is up.
fn health_says_up(addr: &str) -> bool {
    use std::io::Read;
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body.contains("\"redis\":\"up\"")
}

/// One layout's session: connect, ready, paced, ready, burst.
async fn layout_session(
    layout: Layout,
    round: usize,
    setup: &Setup,
    phase_base: u32,
) -> Result<Vec<ScaleRun>, String> {
    let (redis, servers, urls) = start_layout(layout, setup)?;
    let n = setup.clients;
    // Client i on server i mod S: connect each server's share, then interleave them.
    let mut per_server = Vec::new();
    for (s, url) in urls.iter().enumerate() {
        let share = (n + urls.len() - 1 - s) / urls.len();
        let (sockets, failed, first_error) = connect_all(url, share, Duration::from_secs(60)).await;
        if failed > 0 || sockets.len() < share {
            return Err(format!(
                "{} of {share} clients open on {url}: {}",
                sockets.len(),
                first_error.unwrap_or_default()
            ));
        }
        per_server.push(sockets.into_iter());
    }
    let mut sockets: Vec<WebSocket> = Vec::with_capacity(n);
    for i in 0..n {
        sockets.extend(per_server[i % urls.len()].next());
    }
    let sockets = Arc::new(sockets);
    let shared = Rc::new(Shared {
        tally: RefCell::new(Tally::default()),
        notify: Notify::new(),
    });
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::task::spawn_local(receive(sockets.clone(), i, shared.clone())))
        .collect();
    let mut phase = phase_base;
    let ready = |phase: u32| {
        shared.begin(phase, n as u64);
        sockets[0]
            .send_text(crate::chat_load::message(phase, 0, 0))
            .map_err(|e| format!("marker: {e}"))
    };
    let pids: Vec<u32> = servers.iter().map(|s| s.pid).collect();
    let redis_pid = redis.as_ref().map(|r| r.pid);
    let mut runs = Vec::new();
    let result = async {
        for kind in ["paced", "burst"] {
            phase += 1;
            ready(phase)?;
            if !shared.wait(Instant::now() + Duration::from_secs(20)).await {
                return Err(format!(
                    "the marker reached {} of {n} clients",
                    shared.tally.borrow().delivered
                ));
            }
            phase += 1;
            shared.begin(phase, u64::MAX);
            let plan = match kind {
                "paced" => Plan::Paced {
                    rate: PACED_DELIVERIES / n as f64,
                    duration: Duration::from_secs_f64(setup.paced_seconds),
                },
                _ => Plan::Burst {
                    per_sender: (BURST_DELIVERIES / (SENDERS * n)).max(1),
                },
            };
            let servers_before: f64 = pids.iter().map(|&pid| cpu(Some(pid)).total).sum();
            let redis_before = redis_pid.map_or(0.0, |pid| cpu(Some(pid)).total);
            let wall = Instant::now();
            let (sent, first_send_us, error) = spawn_senders(sockets.clone(), SENDERS, phase, plan)
                .await
                .map_err(|_| "the sender thread died".to_string())?;
            if let Some(e) = error {
                return Err(e);
            }
            let expected = sent * n as u64;
            {
                let mut t = shared.tally.borrow_mut();
                t.expected = expected;
                if t.delivered >= expected {
                    shared.notify.notify_one();
                }
            }
            let complete = shared.wait(Instant::now() + Duration::from_secs(30)).await;
            let wall = wall.elapsed().as_secs_f64();
            let servers_cpu = pids.iter().map(|&pid| cpu(Some(pid)).total).sum::<f64>() - servers_before;
            let redis_cpu = redis_pid.map_or(0.0, |pid| cpu(Some(pid)).total) - redis_before;
            let mut t = shared.tally.borrow_mut();
            if t.closed > 0 {
                return Err(format!("{} clients closed", t.closed));
            }
            let end_us = if complete { t.last_recv_us } else { now_us() };
            let elapsed = end_us.saturating_sub(first_send_us) as f64 / 1e6;
            t.latencies_us.sort_unstable();
            let delivered = t.delivered.max(1) as f64;
            runs.push(ScaleRun {
                round,
                layout,
                clients: n,
                kind,
                sent,
                delivered: t.delivered,
                expected,
                incomplete: !complete,
                deliveries_per_s: t.delivered as f64 / elapsed,
                p50_us: quantile(&t.latencies_us, 0.5),
                p99_us: quantile(&t.latencies_us, 0.99),
                servers_cpu_us_per_delivery: servers_cpu / delivered * 1e6,
                redis_cpu_us_per_delivery: redis_cpu / delivered * 1e6,
                servers_cores: servers_cpu / wall,
                redis_cores: redis_cpu / wall,
                servers_rss_kib: pids.iter().map(|&pid| status_field(pid, "VmRSS:")).sum(),
            });
        }
        Ok(())
    }
    .await;
    drop(servers);
    drop(redis);
    for task in tasks {
        if tokio::time::timeout(Duration::from_secs(20), task).await.is_err() {
            break;
        }
    }
    result.map(|()| runs)
}

fn usage_error(problem: &str) -> ! {
    eprintln!("{problem}\n\n{USAGE}");
    std::process::exit(2)
}

/// Runs the benchmark (see the module doc) and exits: 0 when every run completed.
pub fn main(args: impl Iterator<Item = String>) -> ! {
    let (mut quick, mut rounds, mut clients) = (false, None, None);
    let mut chat_server = None;
    let mut redis_server = PathBuf::from("redis-server");
    let mut json = crate::repo_root().join("target/bench/chat-scale.json");
    let mut args = args;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage_error(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--quick" => quick = true,
            "--rounds" => {
                rounds = Some(
                    value()
                        .parse()
                        .ok()
                        .filter(|&n: &usize| n > 0)
                        .unwrap_or_else(|| usage_error("--rounds needs a positive number")),
                )
            }
            "--clients" => {
                clients = Some(
                    value()
                        .parse()
                        .ok()
                        .filter(|&n: &usize| n >= SENDERS)
                        .unwrap_or_else(|| usage_error("--clients needs a number of at least 10")),
                )
            }
            "--chat-server" => chat_server = Some(PathBuf::from(value())),
            "--redis-server" => redis_server = PathBuf::from(value()),
            "--json" => json = PathBuf::from(value()),
            "--pids" => {
                let _ = crate::chat_load::PIDS_FILE.set(Some(PathBuf::from(value())));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => usage_error(&format!("unknown argument {other:?}")),
        }
    }
    let setup = Setup {
        chat_server: chat_server.unwrap_or_else(|| usage_error("--chat-server is required")),
        redis_server,
        log_dir: json
            .parent()
            .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf),
        clients: clients.unwrap_or(if quick { 300 } else { 1000 }),
        paced_seconds: if quick { 3.0 } else { 6.0 },
    };
    let rounds = rounds.unwrap_or(if quick { 1 } else { 3 });
    std::fs::create_dir_all(&setup.log_dir).expect("create the output directory");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        crate::chat_load::kill_servers();
        default_hook(info);
    }));
    let started = Instant::now();
    let mut machine = crate::machine_facts();
    crate::start_watchdog();
    eprintln!(
        "bench-native chat-scale: {rounds} round(s), {} clients; {} CPUs, load {}",
        setup.clients, machine.nproc, machine.loadavg_start
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let (mut runs, mut errors) = (Vec::new(), Vec::new());
    local.block_on(&runtime, async {
        let mut phase_base = 0u32;
        for round in 1..=rounds {
            for layout in Layout::ALL {
                arm(format!("chat-scale, {}, round {round}", layout.name()), Duration::from_secs(180));
                phase_base += 1000;
                match layout_session(layout, round, &setup, phase_base).await {
                    Ok(new) => {
                        for r in &new {
                            eprintln!(
                                "  round {round} {:<18} {:<5} {:>9.0} deliveries/s  p50 {:>8.0} µs  p99 {:>8.0} µs  servers {:.2} µs/delivery ({:.2} cores), Redis {:.2} µs/delivery{}",
                                layout.name(), r.kind, r.deliveries_per_s, r.p50_us, r.p99_us, r.servers_cpu_us_per_delivery, r.servers_cores, r.redis_cpu_us_per_delivery,
                                if r.incomplete { format!("  INCOMPLETE: {} of {}", r.delivered, r.expected) } else { String::new() }
                            );
                            if r.incomplete {
                                errors.push(format!("{} {}, round {round}: {} of {} delivered", layout.name(), r.kind, r.delivered, r.expected));
                            }
                        }
                        runs.extend(new);
                    }
                    Err(e) => {
                        eprintln!("  round {round} {}: FAILED: {e}", layout.name());
                        errors.push(format!("{}, round {round}: {e}", layout.name()));
                    }
                }
            }
        }
    });
    *crate::WATCHDOG.lock().unwrap_or_else(|e| e.into_inner()) = None;
    crate::chat_load::kill_servers();
    machine.loadavg_end = crate::loadavg();
    machine.duration_s = started.elapsed().as_secs_f64();
    print_table(&runs, &machine, setup.clients);
    let report = Report {
        benchmark: "twinsock bench-native chat-scale",
        machine,
        rounds,
        clients: setup.clients,
        paced_deliveries_per_s: PACED_DELIVERIES,
        paced_seconds: setup.paced_seconds,
        burst_deliveries: BURST_DELIVERIES,
        notes: vec![
            "All processes (the load generator, every chat-server, redis-server) share one 2-core machine: more servers add \
             hops and contend for the same cores; this measures the cost of the Redis hop, not a scale-out."
                .into(),
        ],
        runs,
        errors: errors.clone(),
    };
    crate::write_json(&json, &report);
    println!("\nraw results: {}", json.display());
    std::process::exit(if errors.is_empty() { 0 } else { 1 });
}

/// The medians over rounds, one row per layout and load.
fn print_table(runs: &[ScaleRun], machine: &crate::Machine, clients: usize) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\nbench-native chat-scale: {} clients, {} CPUs ({}); load {} -> {}; {:.0} s\n",
        thousands(clients),
        machine.nproc,
        machine.cpu_model,
        machine.loadavg_start,
        machine.loadavg_end,
        machine.duration_s
    );
    let _ = writeln!(
        out,
        "| layout | load | deliveries/s | p50 (ms) | p99 (ms) | servers: CPU µs per delivery | Redis: CPU µs per delivery |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    );
    for kind in ["paced", "burst"] {
        for layout in Layout::ALL {
            let of = |f: &dyn Fn(&ScaleRun) -> f64| {
                let values: Vec<f64> = runs
                    .iter()
                    .filter(|r| {
                        r.kind == kind && r.layout.servers == layout.servers && r.layout.redis == layout.redis
                    })
                    .map(f)
                    .collect();
                (!values.is_empty()).then(|| median(&values))
            };
            let Some(rate) = of(&|r| r.deliveries_per_s) else {
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | {kind} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} |",
                layout.name(),
                rate,
                of(&|r| r.p50_us).unwrap_or(f64::NAN) / 1e3,
                of(&|r| r.p99_us).unwrap_or(f64::NAN) / 1e3,
                of(&|r| r.servers_cpu_us_per_delivery).unwrap_or(f64::NAN),
                of(&|r| r.redis_cpu_us_per_delivery).unwrap_or(f64::NAN),
            );
        }
    }
}
