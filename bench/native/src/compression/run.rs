//! The native side of the compression benchmark: for each direction (the server's feed, the
//! client's upload) and payload (JSON, random bytes), each setup (twinsock and yawc, each with
//! permessage-deflate and without) in turn, the order rotated from round to round; medians
//! over rounds of messages per second, bytes on the wire per message (counted by the server),
//! and CPU per message of the client's process (getrusage, every thread) and of the server's.
//!
//! `bench-native compression [--quick] [--rounds N] [--json PATH]`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::payloads::{Feed, FeedFacts, Kind, CYCLE};
use super::server::ACK_EVERY;
use crate::clients::{connect_with, Client, Conn, Offer, Payload, Received, Result};
use crate::server::{self, Server};
use crate::usage::{Cpu, Window};
use crate::{arm, median, write_json};

const USAGE: &str = "\
bench-native compression: permessage-deflate on and off, twinsock and yawc, a JSON feed and random
bytes, the server sending (the client inflates) and the client sending (the client deflates)

usage: bench-native compression [--quick] [--rounds N] [--json PATH]

  --quick       2 rounds of 2,000 messages (a smoke test)
  --rounds N    rounds (default 5; 2 with --quick)
  --json PATH   raw results (default: target/bench/compression.json under the repository root)";

/// Messages fed or uploaded before each timed run, on the same connection.
const WARMUP: usize = 256;
/// Upload: at most this many messages not yet acknowledged.
const UPLOAD_WINDOW: usize = 256;
/// The longest one run may take before the watchdog ends the benchmark.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Which way the data messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The server sends, the client receives (and inflates): market data.
    Feed,
    /// The client sends (and deflates), the server acknowledges.
    Upload,
}

impl Direction {
    const ALL: [Direction; 2] = [Direction::Feed, Direction::Upload];

    fn name(self) -> &'static str {
        match self {
            Direction::Feed => "feed",
            Direction::Upload => "upload",
        }
    }
}

/// One library with permessage-deflate offered or not.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Setup {
    pub name: &'static str,
    pub client: Client,
    pub offer: Offer,
}

impl Setup {
    const ALL: [Setup; 4] = [
        Setup {
            name: "twinsock",
            client: Client::Twinsock,
            offer: Offer::Deflate,
        },
        Setup {
            name: "twinsock, deflate off",
            client: Client::Twinsock,
            offer: Offer::NoDeflate,
        },
        Setup {
            name: "yawc, balanced compression",
            client: Client::Yawc,
            offer: Offer::Deflate,
        },
        Setup {
            name: "yawc, no compression",
            client: Client::Yawc,
            offer: Offer::NoDeflate,
        },
    ];

    fn deflate(self) -> bool {
        self.offer == Offer::Deflate
    }
}

/// Counts of one run of the benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub rounds: usize,
    pub quick: bool,
    pub messages: usize,
    pub warmup: usize,
    pub upload_window: usize,
    pub ack_every: usize,
    pub cycle: usize,
}

/// The server's stats message (see [`super::server`]).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stats {
    pub wire_bytes: u64,
    pub messages: u32,
    pub deflate: bool,
    /// The server connection thread's CPU time over the counted messages.
    pub server_cpu_us: u32,
}

impl Stats {
    fn parse(received: &Received) -> Result<Stats> {
        let h = &received.head;
        if received.len != 16 {
            return Err(format!(
                "expected the 16-byte stats message, got {} bytes",
                received.len
            ));
        }
        Ok(Stats {
            wire_bytes: u64::from_le_bytes(h[..8].try_into().expect("8 bytes")),
            messages: u32::from_le_bytes([h[8], h[9], h[10], 0]),
            deflate: h[11] != 0,
            server_cpu_us: u32::from_le_bytes(h[12..16].try_into().expect("4 bytes")),
        })
    }

    /// Checks what the server saw against what the run did.
    fn check(self, messages: usize, deflate: bool) -> Result<Stats> {
        if self.messages as usize != messages || self.deflate != deflate {
            return Err(format!(
                "the server counted {} messages ({} expected), permessage-deflate {} (expected {})",
                self.messages,
                messages,
                if self.deflate { "on" } else { "off" },
                if deflate { "on" } else { "off" }
            ));
        }
        Ok(self)
    }
}

/// One timed run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub direction: Direction,
    pub payload: Kind,
    pub setup: &'static str,
    pub round: usize,
    pub messages: usize,
    pub elapsed_s: f64,
    pub stats: Stats,
    pub cpu: Cpu,
}

impl RunResult {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed_s
    }
    fn wire_bytes_per_message(&self) -> f64 {
        self.stats.wire_bytes as f64 / self.messages as f64
    }
    fn client_cpu_us(&self) -> f64 {
        self.cpu.client_cpu_us / self.messages as f64
    }
    /// The server's connection thread, as its stats say.
    fn server_cpu_us(&self) -> f64 {
        f64::from(self.stats.server_cpu_us) / self.messages as f64
    }
}

/// Medians over rounds for one direction, payload and setup.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub direction: Direction,
    pub payload: Kind,
    pub setup: &'static str,
    pub client: &'static str,
    pub deflate: bool,
    pub rounds: usize,
    pub messages_per_s: f64,
    pub messages_per_s_min: f64,
    pub messages_per_s_max: f64,
    pub wire_bytes_per_message: f64,
    /// The payload's own bytes per message (what the application sent or received).
    pub payload_bytes_per_message: f64,
    pub client_cpu_us_per_message: f64,
    pub server_cpu_us_per_message: f64,
    /// The client's process and the server's process, over the timed window, as shares of
    /// one core.
    pub client_cpu_share: f64,
    pub server_cpu_share: f64,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    benchmark: &'static str,
    config: &'a Config,
    machine: crate::Machine,
    feeds: Vec<FeedFacts>,
    setups: Vec<Setup>,
    notes: Vec<String>,
    summary: Vec<Summary>,
    runs: Vec<RunResult>,
    errors: Vec<String>,
}

fn payload(kind: Kind, message: &[u8]) -> Payload {
    if kind.is_text() {
        Payload::Text(String::from_utf8(message.to_vec()).expect("the JSON feed is UTF-8"))
    } else {
        Payload::Binary(message.to_vec())
    }
}

fn text(command: &str) -> Payload {
    Payload::Text(command.to_string())
}

/// Receives `count` feed messages from position `from` (checking each one's length and first
/// bytes), then the stats message.
async fn take_feed(conn: &mut Conn, feed: &Feed, from: usize, count: usize) -> Result<Stats> {
    for i in from..from + count {
        let got = conn.recv().await?;
        let want = feed.message(i);
        let head = want.len().min(16);
        if got.len != want.len() || got.head[..head] != want[..head] {
            return Err(format!(
                "feed message {i}: {} bytes, not the {} expected",
                got.len,
                want.len()
            ));
        }
    }
    Stats::parse(&conn.recv().await?)
}

/// Sends `count` feed messages from position `from` with at most [`UPLOAD_WINDOW`] not yet
/// acknowledged (topped up in one batch, one flush, whenever half of it is acknowledged),
/// then `!end`; returns the server's stats.
async fn upload(conn: &mut Conn, feed: &Feed, from: usize, count: usize) -> Result<Stats> {
    conn.send(text("!go")).await?;
    let (mut sent, mut acked) = (0, 0);
    while sent < count {
        if sent - acked <= UPLOAD_WINDOW / 2 {
            while sent - acked < UPLOAD_WINDOW && sent < count {
                conn.feed(payload(feed.kind, feed.message(from + sent))).await?;
                sent += 1;
            }
            conn.flush().await?;
        } else {
            let ack = conn.recv().await?;
            if ack.len != 8 {
                return Err(format!("expected an 8-byte ack, got {} bytes", ack.len));
            }
            acked = u64::from_le_bytes(ack.head[..8].try_into().expect("8 bytes")) as usize;
        }
    }
    conn.send(text("!end")).await?;
    loop {
        let got = conn.recv().await?;
        if got.len != 8 {
            return Stats::parse(&got);
        }
    }
}

/// One timed run on a fresh connection to the server at `base_url` (process `server_pid`):
/// connect, warm up, then `messages` timed.
fn run_once(
    setup: Setup,
    direction: Direction,
    feed: &Feed,
    base_url: &str,
    server_pid: u32,
    messages: usize,
) -> Result<(f64, Stats, Cpu)> {
    let url = format!("{base_url}{}?payload={}", direction.name(), feed.kind.name());
    setup.client.drive(async {
        let mut conn = connect_with(setup.client, &url, setup.offer).await?;
        let (stats, elapsed, cpu) = match direction {
            Direction::Feed => {
                conn.send(text(&format!("!go {WARMUP}"))).await?;
                take_feed(&mut conn, feed, 0, WARMUP)
                    .await?
                    .check(WARMUP, setup.deflate())?;
                let window = Window::start(server_pid);
                let started = Instant::now();
                conn.send(text(&format!("!go {messages}"))).await?;
                let stats = take_feed(&mut conn, feed, WARMUP, messages).await?;
                (stats, started.elapsed(), window.end())
            }
            Direction::Upload => {
                upload(&mut conn, feed, 0, WARMUP)
                    .await?
                    .check(WARMUP, setup.deflate())?;
                let window = Window::start(server_pid);
                let started = Instant::now();
                let stats = upload(&mut conn, feed, WARMUP, messages).await?;
                (stats, started.elapsed(), window.end())
            }
        };
        Ok((
            elapsed.as_secs_f64(),
            stats.check(messages, setup.deflate())?,
            cpu,
        ))
    })
}

fn summarize(runs: &[RunResult], feeds: &[Feed]) -> Vec<Summary> {
    let mut out = Vec::new();
    for direction in Direction::ALL {
        for feed in feeds {
            for setup in Setup::ALL {
                let mine: Vec<&RunResult> = runs
                    .iter()
                    .filter(|r| r.direction == direction && r.payload == feed.kind && r.setup == setup.name)
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let of = |f: fn(&RunResult) -> f64| median(&mine.iter().map(|r| f(r)).collect::<Vec<_>>());
                let rates: Vec<f64> = mine.iter().map(|r| r.rate()).collect();
                out.push(Summary {
                    direction,
                    payload: feed.kind,
                    setup: setup.name,
                    client: setup.client.name(),
                    deflate: setup.deflate(),
                    rounds: mine.len(),
                    messages_per_s: median(&rates),
                    messages_per_s_min: rates.iter().copied().fold(f64::INFINITY, f64::min),
                    messages_per_s_max: rates.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    wire_bytes_per_message: of(RunResult::wire_bytes_per_message),
                    payload_bytes_per_message: feed.facts().mean_size,
                    client_cpu_us_per_message: of(RunResult::client_cpu_us),
                    server_cpu_us_per_message: of(RunResult::server_cpu_us),
                    client_cpu_share: of(|r| r.cpu.client_share()),
                    server_cpu_share: of(|r| r.cpu.server_share()),
                });
            }
        }
    }
    out
}

fn notes(config: &Config) -> Vec<String> {
    vec![
        format!(
            "Each run is a fresh connection: {} messages of warm-up, then {} timed; {} rounds, the setups' order \
             rotated each round; values are medians over rounds.",
            config.warmup, config.messages, config.rounds
        ),
        "Server: this benchmark's own (`bench/native/src/compression/server.rs`), a thread per connection. Its feed's \
         frames are made once at start-up (zlib-rs level 6, 15-bit window, one context through the cycle: what a \
         server compressing the feed for this connection would send), so the server only writes; uploads it inflates \
         (one context per connection) and compares with the expected message, acknowledging every 32."
            .into(),
        format!(
            "Upload: at most {} messages unacknowledged, topped up in one batch (each message fed, one flush) whenever \
             half the window is acknowledged.",
            config.upload_window
        ),
        "Bytes on the wire: WebSocket bytes (frame headers and payloads, not TCP/IP) of the timed data messages, \
         counted by the server."
            .into(),
        "CPU per message: the client's process (every thread, getrusage) over the timed window, and the server's \
         connection thread (CLOCK_THREAD_CPUTIME_ID, from !go to the stats, reported in its stats message), divided \
         by the messages. CPU shares: both processes over the timed window, as shares of one core."
            .into(),
        "twinsock compresses at zlib's default level (6), as Chromium; yawc with its docs' `with_balanced_compression()` \
         (level 6 too). In this one binary Cargo unifies flate2's features, so yawc's flate2 runs on zlib-rs, \
         twinsock's backend, not on its default miniz_oxide: the comparison is of the libraries, on one deflate."
            .into(),
        "Both clients compress every message once permessage-deflate is on, random bytes too (as Chromium does).".into(),
    ]
}

struct Args {
    quick: bool,
    rounds: Option<usize>,
    json: PathBuf,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Args {
    let mut out = Args {
        quick: false,
        rounds: None,
        json: crate::repo_root().join("target/bench/compression.json"),
    };
    let fail = |message: &str| -> ! {
        eprintln!("{message}\n\n{USAGE}");
        std::process::exit(2)
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => out.quick = true,
            "--rounds" => {
                out.rounds = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .unwrap_or_else(|| fail("--rounds needs a positive number")),
                )
            }
            "--json" => {
                out.json = args
                    .next()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| fail("--json needs a path"))
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    out
}

/// Runs the compression benchmark, prints its table, writes its JSON; exits non-zero when a
/// run failed.
pub fn main(args: impl Iterator<Item = String>) -> ! {
    let args = parse_args(args);
    let config = Config {
        rounds: args.rounds.unwrap_or(if args.quick { 2 } else { 5 }),
        quick: args.quick,
        messages: if args.quick { 2_000 } else { 50_000 },
        warmup: WARMUP,
        upload_window: UPLOAD_WINDOW,
        ack_every: ACK_EVERY,
        cycle: CYCLE,
    };
    let started = Instant::now();
    let mut machine = crate::machine_facts();
    crate::start_watchdog();
    eprintln!(
        "bench-native compression: {} rounds of {} messages{}; load {}",
        config.rounds,
        config.messages,
        if config.quick { " (quick)" } else { "" },
        machine.loadavg_start
    );
    let feeds: Vec<Feed> = Kind::ALL.into_iter().map(Feed::new).collect();
    let server = Server::start(server::Kind::Compression);
    let (mut runs, mut errors) = (Vec::new(), Vec::new());
    for round in 0..config.rounds {
        for direction in Direction::ALL {
            for feed in &feeds {
                let mut setups = Setup::ALL.to_vec();
                setups.rotate_left(round % Setup::ALL.len());
                for setup in setups {
                    let what = format!(
                        "{} {}, {}, round {}",
                        direction.name(),
                        feed.kind.name(),
                        setup.name,
                        round + 1
                    );
                    arm(what.clone(), RUN_LIMIT);
                    match run_once(setup, direction, feed, &server.url, server.pid(), config.messages) {
                        Ok((elapsed_s, stats, cpu)) => {
                            let run = RunResult {
                                direction,
                                payload: feed.kind,
                                setup: setup.name,
                                round: round + 1,
                                messages: config.messages,
                                elapsed_s,
                                stats,
                                cpu,
                            };
                            eprintln!(
                                "  {what:<52} {:>9.0} msg/s {:>7.1} B/msg on the wire  client {:>6.2} µs/msg  server {:>6.2} µs/msg",
                                run.rate(),
                                run.wire_bytes_per_message(),
                                run.client_cpu_us(),
                                run.server_cpu_us()
                            );
                            runs.push(run);
                        }
                        Err(e) => {
                            eprintln!("  {what}: ERROR {e}");
                            errors.push(format!("{what}: {e}"));
                        }
                    }
                }
            }
        }
    }
    drop(server);
    *crate::WATCHDOG.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let summary = summarize(&runs, &feeds);
    machine.loadavg_end = crate::loadavg();
    machine.duration_s = started.elapsed().as_secs_f64();
    print_table(&config, &machine, &summary, &errors);
    write_json(
        &args.json,
        &Report {
            benchmark: "twinsock bench-native compression",
            config: &config,
            machine,
            feeds: feeds.iter().map(Feed::facts).collect(),
            setups: Setup::ALL.to_vec(),
            notes: notes(&config),
            summary,
            runs,
            errors: errors.clone(),
        },
    );
    println!("\nraw results: {}", args.json.display());
    std::process::exit(if errors.is_empty() { 0 } else { 1 })
}

fn print_table(config: &Config, machine: &crate::Machine, summary: &[Summary], errors: &[String]) {
    println!(
        "\nbench-native compression: {} rounds of {} messages{}; load {} -> {}; {:.0} s",
        config.rounds,
        config.messages,
        if config.quick {
            " (quick: a smoke test, not for comparison)"
        } else {
            ""
        },
        machine.loadavg_start,
        machine.loadavg_end,
        machine.duration_s
    );
    println!(
        "\n{:<8} {:<7} {:<28} {:>10} {:>10} {:>8} {:>12} {:>12} {:>11}",
        "",
        "payload",
        "setup",
        "msg/s",
        "wire B/msg",
        "of plain",
        "client µs/msg",
        "server µs/msg",
        "cpu c / s"
    );
    for row in summary {
        let plain = summary.iter().find(|r| {
            r.direction == row.direction && r.payload == row.payload && r.client == row.client && !r.deflate
        });
        println!(
            "{:<8} {:<7} {:<28} {:>10.0} {:>10.1} {:>8} {:>12.2} {:>12.2} {:>5.0}%/{:>3.0}%",
            row.direction.name(),
            row.payload.name(),
            row.setup,
            row.messages_per_s,
            row.wire_bytes_per_message,
            plain.map_or("-".into(), |p| format!(
                "{:.0}%",
                100.0 * row.wire_bytes_per_message / p.wire_bytes_per_message
            )),
            row.client_cpu_us_per_message,
            row.server_cpu_us_per_message,
            row.client_cpu_share * 100.0,
            row.server_cpu_share * 100.0
        );
    }
    if !errors.is_empty() {
        println!("\nERRORS:");
        for e in errors {
            println!("  {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::Arc;

    use twinsock::Socket;

    use super::*;
    use crate::compression::server::{serve, Prepared};

    /// The compression server on 127.0.0.1 in this process, a thread per connection.
    fn server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let prepared = Arc::new(Prepared::new());
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let prepared = prepared.clone();
                std::thread::spawn(move || serve(prepared, tcp));
            }
        });
        url
    }

    #[test]
    fn every_setup_delivers_the_same_messages_both_ways_compressed_as_negotiated() {
        let url = server();
        for kind in Kind::ALL {
            let feed = Feed::new(kind);
            for direction in Direction::ALL {
                for setup in Setup::ALL {
                    // Past one cycle, so that the feed's cycle restarts on the connection.
                    let what = format!("{} {} {}", direction.name(), kind.name(), setup.name);
                    let (_, stats, _) = run_once(setup, direction, &feed, &url, std::process::id(), CYCLE)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    // The server compared every upload with the feed; run_once checked every
                    // fed message, the counts and whether deflate was on.
                    let plain = feed.facts().bytes as u64;
                    if setup.deflate() && kind == Kind::Json {
                        assert!(stats.wire_bytes < plain / 2, "{what}: {stats:?}");
                    } else {
                        assert!(stats.wire_bytes > plain, "{what}: {stats:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_server_declines_deflate_when_asked_to() {
        let url = server();
        futures::executor::block_on(async {
            for (query, extensions) in [("&deflate=0", ""), ("", "permessage-deflate")] {
                let socket = twinsock::WebSocketBuilder::new(format!("{url}feed?payload=json{query}"))
                    .connect()
                    .await
                    .unwrap();
                assert_eq!(socket.extensions(), extensions, "{query}");
            }
        });
    }
}
