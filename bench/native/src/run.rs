//! The native benchmark's run: every measure for every client, clients alternating within each
//! round (the order rotated from round to round, so that no client always runs first), medians
//! over rounds, ratios to the best async peer.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::clients::Client;
use crate::fanout::{self, FanoutResult};
use crate::profile::{self, Measure, Profile};
use crate::scale::{self, ScaleResult};
use crate::server::{Kind, Server};
use crate::usage::Cpu;
use crate::{arm, measures, median, quantile_us};

/// Counts of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub rounds: usize,
    /// Rounds of the memory, fan-out and profile phases (each run is a fresh process or a
    /// thousand connections; fewer with `--quick`).
    pub heavy_rounds: usize,
    pub quick: bool,
    pub rtt_count: usize,
    pub rtt_count_ewebsock: usize,
    pub rtt_warmup: usize,
    pub rtt_size: usize,
    pub pipe_count: usize,
    pub pipe_count_ewebsock: usize,
    pub pipe_window: usize,
    pub pipe_size: usize,
    pub large_count: usize,
    pub large_count_ewebsock: usize,
    pub large_size: usize,
    pub connect_count: usize,
    pub connect_count_ewebsock: usize,
    pub scale_sockets: usize,
    pub fanout_clients: Vec<usize>,
    /// Deliveries per second offered in the fan-out (the broadcast rate is this / clients).
    pub fanout_deliveries_per_s: f64,
    pub fanout_seconds: f64,
    pub fanout_warmup_seconds: f64,
    /// The profile phase's counts are the headline counts divided by this.
    pub profile_divisor: usize,
    /// Any client's round stops here; what it completed by then is what counts.
    pub time_cap_s: f64,
    /// ewebsock's rounds stop here (its native backend polls with a 10 ms read timeout).
    pub time_cap_ewebsock_s: f64,
}

impl Config {
    pub fn full(rounds: usize) -> Config {
        Config {
            rounds,
            heavy_rounds: rounds,
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
            fanout_clients: vec![100, 1000],
            fanout_deliveries_per_s: 20_000.0,
            fanout_seconds: 4.0,
            fanout_warmup_seconds: 0.5,
            profile_divisor: 4,
            time_cap_s: 20.0,
            time_cap_ewebsock_s: 5.0,
        }
    }

    pub fn quick(rounds: usize) -> Config {
        Config {
            quick: true,
            heavy_rounds: 1,
            rtt_count: 2_000,
            rtt_count_ewebsock: 50,
            rtt_warmup: 50,
            pipe_count: 20_000,
            pipe_count_ewebsock: 2_000,
            large_count: 20,
            large_count_ewebsock: 10,
            connect_count: 50,
            connect_count_ewebsock: 20,
            fanout_seconds: 1.0,
            fanout_warmup_seconds: 0.25,
            profile_divisor: 2,
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

    fn rtt_count(&self, client: Client) -> usize {
        if client == Client::Ewebsock {
            self.rtt_count_ewebsock
        } else {
            self.rtt_count
        }
    }

    fn pipe_count(&self, client: Client) -> usize {
        if client == Client::Ewebsock {
            self.pipe_count_ewebsock
        } else {
            self.pipe_count
        }
    }

    fn large_count(&self, client: Client) -> usize {
        if client == Client::Ewebsock {
            self.large_count_ewebsock
        } else {
            self.large_count
        }
    }
}

/// One measure's numbers: per client, one value per round.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub id: String,
    pub title: String,
    pub unit: &'static str,
    pub higher_is_better: bool,
    /// The server it was measured against.
    pub server: &'static str,
    /// Client name to its value in each round, in round order.
    pub rounds: BTreeMap<&'static str, Vec<f64>>,
    /// Client name to the work done in each round (messages, round trips, connects, sockets).
    pub counts: BTreeMap<&'static str, Vec<usize>>,
    /// Client name to whether each round hit its time cap before its count.
    pub truncated: BTreeMap<&'static str, Vec<bool>>,
    /// Client name to the CPU of both processes over each round's timed loop.
    pub cpu: BTreeMap<&'static str, Vec<Cpu>>,
}

impl Measurement {
    fn new(id: &str, title: &str, unit: &'static str, higher_is_better: bool, server: Kind) -> Self {
        Measurement {
            id: id.into(),
            title: title.into(),
            unit,
            higher_is_better,
            server: server.name(),
            rounds: BTreeMap::new(),
            counts: BTreeMap::new(),
            truncated: BTreeMap::new(),
            cpu: BTreeMap::new(),
        }
    }

    fn push(&mut self, client: Client, value: f64, count: usize, truncated: bool) {
        self.rounds.entry(client.name()).or_default().push(value);
        self.counts.entry(client.name()).or_default().push(count);
        self.truncated.entry(client.name()).or_default().push(truncated);
    }

    fn push_cpu(&mut self, client: Client, cpu: Cpu) {
        self.cpu.entry(client.name()).or_default().push(cpu);
    }

    pub fn median(&self, client: Client) -> Option<f64> {
        self.rounds.get(client.name()).map(|v| median(v))
    }

    /// The best median among the async peers, and whose it is.
    pub fn best_async_peer(&self) -> Option<(Client, f64)> {
        Client::ALL
            .into_iter()
            .filter(|c| c.is_async_peer())
            .filter_map(|c| self.median(c).filter(|v| v.is_finite()).map(|v| (c, v)))
            .reduce(|a, b| {
                let b_better = if self.higher_is_better {
                    b.1 > a.1
                } else {
                    b.1 < a.1
                };
                if b_better {
                    b
                } else {
                    a
                }
            })
    }

    /// A measure derived from this one's CPU: client CPU µs per unit of work.
    fn cpu_per_unit(&self, id: &str, title: &str) -> Measurement {
        let mut out = Measurement {
            id: id.into(),
            title: title.into(),
            unit: "µs",
            higher_is_better: false,
            server: self.server,
            rounds: BTreeMap::new(),
            counts: self.counts.clone(),
            truncated: self.truncated.clone(),
            cpu: BTreeMap::new(),
        };
        for (client, cpus) in &self.cpu {
            let counts = &self.counts[client];
            out.rounds.insert(
                client,
                cpus.iter()
                    .zip(counts)
                    .map(|(cpu, &n)| cpu.client_cpu_us / n.max(1) as f64)
                    .collect(),
            );
        }
        out
    }
}

/// Per measure and client: the median over rounds, and its ratio to the best async peer's.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub id: String,
    pub title: String,
    pub unit: &'static str,
    pub higher_is_better: bool,
    pub server: &'static str,
    pub client: &'static str,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub best_async_peer: Option<&'static str>,
    pub ratio_to_best_async_peer: Option<f64>,
    /// Medians over rounds of the clients' and the server's CPU share of one core.
    pub client_cpu_share: Option<f64>,
    pub server_cpu_share: Option<f64>,
}

/// Everything one run measured.
#[derive(Debug, Serialize)]
pub struct Results {
    pub notes: Vec<String>,
    pub summary: Vec<Summary>,
    pub measurements: Vec<Measurement>,
    /// Round-trip latency percentiles per round and client, µs.
    pub latency_percentiles_us: BTreeMap<&'static str, Vec<BTreeMap<&'static str, f64>>>,
    pub scale: BTreeMap<&'static str, Vec<ScaleResult>>,
    pub fanout: Vec<FanoutResult>,
    pub profile: Vec<Profile>,
    pub errors: Vec<String>,
    /// Round-trip latency samples per client (ns), for the CSV.
    #[serde(skip)]
    pub samples: BTreeMap<&'static str, Vec<u64>>,
}

/// The clients in the order of `round` (rotated by one each round).
fn order(clients: &[Client], round: usize) -> Vec<Client> {
    let mut out = clients.to_vec();
    if !out.is_empty() {
        out.rotate_left(round % clients.len());
    }
    out
}

fn phase_limit(config: &Config, client: Client) -> Duration {
    config.cap(client) + Duration::from_secs(60)
}

/// Runs every phase.
pub fn run(config: &Config, scratch: &Path) -> Results {
    let batching = Server::start(Kind::Batching);
    let per_message = Server::start(Kind::PerMessage);
    eprintln!(
        "bench-native: batching echo server (pid {}) at {}, per-message echo server (pid {}) at {}",
        batching.pid(),
        batching.url,
        per_message.pid(),
        per_message.url
    );
    let mut errors = Vec::new();
    let mut samples: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    let mut percentiles: BTreeMap<&'static str, Vec<BTreeMap<&'static str, f64>>> = BTreeMap::new();

    // 1. Sequential round trips, against both echo servers.
    let mut rtt = Vec::new();
    for (server, prefix, what) in [
        (&batching, "", ""),
        (&per_message, "ceiling_", " (per-message server)"),
    ] {
        let mut rate = Measurement::new(
            &format!("{prefix}round_trip_rate"),
            &format!("sequential round trips, {} B{what}", config.rtt_size),
            "rt/s",
            true,
            server.kind,
        );
        let mut p50 = Measurement::new(
            &format!("{prefix}round_trip_p50"),
            &format!("round trip p50{what}"),
            "µs",
            false,
            server.kind,
        );
        let mut p99 = Measurement::new(
            &format!("{prefix}round_trip_p99"),
            &format!("round trip p99{what}"),
            "µs",
            false,
            server.kind,
        );
        for round in 0..config.rounds {
            for client in order(&Client::ALL, round) {
                arm(
                    format!("{}, {}, round {}", rate.title, client.name(), round + 1),
                    phase_limit(config, client),
                );
                let warmup = if client == Client::Ewebsock {
                    3
                } else {
                    config.rtt_warmup
                };
                match measures::round_trips(
                    client,
                    &server.url,
                    server.pid(),
                    config.rtt_count(client),
                    warmup,
                    config.rtt_size,
                    config.cap(client),
                ) {
                    Ok(run) => {
                        let n = run.latencies_ns.len();
                        let per_s = n as f64 / run.elapsed.as_secs_f64();
                        let mut sorted = run.latencies_ns.clone();
                        sorted.sort_unstable();
                        rate.push(client, per_s, n, run.truncated);
                        rate.push_cpu(client, run.cpu);
                        p50.push(client, quantile_us(&sorted, 0.5), n, run.truncated);
                        p99.push(client, quantile_us(&sorted, 0.99), n, run.truncated);
                        eprintln!(
                            "  {:<44} round {} {:<25} {:>9.0} rt/s  p50 {:>7.1} µs  p99 {:>7.1} µs  cpu {:>5.1} µs/rt (server {:>3.0}%){}",
                            rate.title,
                            round + 1,
                            client.name(),
                            per_s,
                            quantile_us(&sorted, 0.5),
                            quantile_us(&sorted, 0.99),
                            run.cpu.client_cpu_us / n.max(1) as f64,
                            run.cpu.server_share() * 100.0,
                            if run.truncated { "  (time cap)" } else { "" }
                        );
                        if prefix.is_empty() {
                            let mut pct = BTreeMap::new();
                            for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
                                pct.insert(name, quantile_us(&sorted, q));
                            }
                            pct.insert("max", sorted.last().map_or(f64::NAN, |&v| v as f64 / 1e3));
                            percentiles.entry(client.name()).or_default().push(pct);
                            samples.entry(client.name()).or_default().extend(run.latencies_ns);
                        }
                    }
                    Err(e) => errors.push(format!(
                        "{}, {}, round {}: {e}",
                        rate.title,
                        client.name(),
                        round + 1
                    )),
                }
            }
        }
        rtt.push(rate.cpu_per_unit(
            &format!("{prefix}cpu_per_round_trip"),
            &format!("CPU per round trip{what}"),
        ));
        rtt.extend([rate, p50, p99]);
    }

    // 2. Pipelined 1 KiB against both echo servers; 3. 1 MiB one at a time.
    let mut throughput = Vec::new();
    let large_title = format!("{} MiB messages, one at a time", config.large_size >> 20);
    let pipe_title = format!(
        "pipelined {} KiB, {} in flight",
        config.pipe_size >> 10,
        config.pipe_window
    );
    for (server, id, title, unit, window, size) in [
        (
            &batching,
            "pipelined_rate",
            pipe_title.clone(),
            "msg/s",
            config.pipe_window,
            config.pipe_size,
        ),
        (&batching, "large_mb_s", large_title, "MB/s", 1, config.large_size),
        (
            &per_message,
            "ceiling_pipelined_rate",
            format!("{pipe_title} (per-message server)"),
            "msg/s",
            config.pipe_window,
            config.pipe_size,
        ),
    ] {
        let mut m = Measurement::new(id, &title, unit, true, server.kind);
        for round in 0..config.rounds {
            for client in order(&Client::ALL, round) {
                arm(
                    format!("{title}, {}, round {}", client.name(), round + 1),
                    phase_limit(config, client),
                );
                let count = if window == 1 {
                    config.large_count(client)
                } else {
                    config.pipe_count(client)
                };
                match measures::pipelined(
                    client,
                    &server.url,
                    server.pid(),
                    count,
                    window,
                    size,
                    config.cap(client),
                ) {
                    Ok(run) => {
                        let secs = run.elapsed.as_secs_f64();
                        let value = if unit == "MB/s" {
                            run.bytes as f64 / secs / 1e6
                        } else {
                            run.messages as f64 / secs
                        };
                        m.push(client, value, run.messages, run.truncated);
                        m.push_cpu(client, run.cpu);
                        eprintln!(
                            "  {:<44} round {} {:<25} {:>9.0} {unit:<5}  cpu {:>7.2} µs/msg (client {:>3.0}%, server {:>3.0}%){}",
                            title,
                            round + 1,
                            client.name(),
                            value,
                            run.cpu.client_cpu_us / run.messages.max(1) as f64,
                            run.cpu.client_share() * 100.0,
                            run.cpu.server_share() * 100.0,
                            if run.truncated { "  (time cap)" } else { "" }
                        );
                    }
                    Err(e) => errors.push(format!("{title}, {}, round {}: {e}", client.name(), round + 1)),
                }
            }
        }
        let cpu_id = id.replace("_rate", "").replace("_mb_s", "");
        throughput.push(m.cpu_per_unit(&format!("cpu_per_{cpu_id}"), &format!("CPU per message, {title}")));
        throughput.push(m);
    }

    // 4. Connect-to-open.
    let mut conn_p50 = Measurement::new("connect_p50", "connect-to-open p50", "µs", false, Kind::Batching);
    let mut conn_p99 = Measurement::new("connect_p99", "connect-to-open p99", "µs", false, Kind::Batching);
    for round in 0..config.rounds {
        for client in order(&Client::ALL, round) {
            arm(
                format!("connects, {}, round {}", client.name(), round + 1),
                phase_limit(config, client),
            );
            let count = if client == Client::Ewebsock {
                config.connect_count_ewebsock
            } else {
                config.connect_count
            };
            match measures::connects(client, &batching.url, count, config.cap(client)) {
                Ok(mut times) => {
                    let n = times.len();
                    times.sort_unstable();
                    conn_p50.push(client, quantile_us(&times, 0.5), n, n < count);
                    conn_p99.push(client, quantile_us(&times, 0.99), n, n < count);
                }
                Err(e) => errors.push(format!("connects, {}, round {}: {e}", client.name(), round + 1)),
            }
        }
        // ewebsock's dropped sockets end on their own threads within ~10 ms each.
        std::thread::sleep(Duration::from_millis(200));
    }

    // 5. Memory per socket: N sockets in a fresh child process per client and round.
    let mut memory = Measurement::new(
        "memory_per_socket",
        &format!(
            "memory per socket, {} sockets after one echo",
            config.scale_sockets
        ),
        "KiB",
        false,
        Kind::Batching,
    );
    let mut scale_results: BTreeMap<&'static str, Vec<ScaleResult>> = BTreeMap::new();
    for round in 0..config.heavy_rounds {
        for client in order(&Client::ALL, round) {
            arm(
                format!("memory, {}, round {}", client.name(), round + 1),
                Duration::from_secs(150),
            );
            match scale::run_child(
                client,
                &batching.url,
                config.scale_sockets,
                Duration::from_secs(120),
            ) {
                Ok(result) => {
                    eprintln!(
                        "  memory per socket round {} {:<25} {} open in {:>7.1} ms; threads {} -> {}; RSS {} -> {} KiB ({:.1} KiB/socket){}",
                        round + 1,
                        client.name(),
                        result.opened,
                        result.open_all_ms,
                        result.threads_before,
                        result.threads_after,
                        result.rss_before_kib,
                        result.rss_after_kib,
                        result.rss_per_socket_kib,
                        result.first_error.as_ref().map(|e| format!("; ERROR {e}")).unwrap_or_default()
                    );
                    if result.failed > 0 || result.echoed < result.opened {
                        errors.push(format!(
                            "memory, {}, round {}: {} of {} failed to open, {} echoed ({:?})",
                            client.name(),
                            round + 1,
                            result.failed,
                            result.sockets,
                            result.echoed,
                            result.first_error
                        ));
                    } else {
                        memory.push(client, result.rss_per_socket_kib, result.sockets, false);
                    }
                    scale_results.entry(client.name()).or_default().push(result);
                }
                Err(e) => errors.push(format!("memory, {}, round {}: {e}", client.name(), round + 1)),
            }
            // Let the server's threads of the previous batch end.
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    drop(per_message);

    // 6. In-process fan-out through the broadcast server.
    let broadcast = Server::start(Kind::Broadcast);
    let fanout_clients: Vec<Client> = Client::ALL
        .into_iter()
        .filter(|c| c.is_async() && *c != Client::FastwebsocketsBuffered)
        .collect();
    let mut fanout_measures = Vec::new();
    let mut fanout_results = Vec::new();
    for &n in &config.fanout_clients {
        let title = format!("fan-out to {n} clients in one process");
        let mut p50 = Measurement::new(
            &format!("fanout_{n}_p50"),
            &format!("{title}: delivery p50"),
            "µs",
            false,
            Kind::Broadcast,
        );
        let mut p99 = Measurement::new(
            &format!("fanout_{n}_p99"),
            &format!("{title}: delivery p99"),
            "µs",
            false,
            Kind::Broadcast,
        );
        let rate_hz = config.fanout_deliveries_per_s / n as f64;
        let warmup = (config.fanout_warmup_seconds * rate_hz).ceil() as usize;
        let measured = (config.fanout_seconds * rate_hz).ceil() as usize;
        for round in 0..config.heavy_rounds {
            for client in order(&fanout_clients, round) {
                arm(
                    format!("{title}, {}, round {}", client.name(), round + 1),
                    Duration::from_secs(120),
                );
                match fanout::run(
                    client,
                    &broadcast.url,
                    broadcast.pid(),
                    n,
                    rate_hz,
                    warmup,
                    measured,
                ) {
                    Ok(result) => {
                        eprintln!(
                            "  {:<44} round {} {:<25} p50 {:>8.0} µs  p99 {:>8.0} µs  client cpu {:>3.0}%  server {:>5.1} µs/broadcast ({:.0}%)",
                            title,
                            round + 1,
                            client.name(),
                            result.p50_us,
                            result.p99_us,
                            result.cpu.client_share() * 100.0,
                            result.server_cpu_per_broadcast_us,
                            result.cpu.server_share() * 100.0
                        );
                        p50.push(client, result.p50_us, result.deliveries, false);
                        p99.push(client, result.p99_us, result.deliveries, false);
                        p99.push_cpu(client, result.cpu);
                        fanout_results.push(result);
                    }
                    Err(e) => errors.push(format!("{title}, {}, round {}: {e}", client.name(), round + 1)),
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        fanout_measures.extend([p50, p99]);
    }
    drop(broadcast);

    // 7. System calls, context switches and CPU per message, under perf.
    let mut profiles = Vec::new();
    let mut profile_measures = Vec::new();
    match profile::check_perf() {
        Err(e) => errors.push(format!("system calls: {e}")),
        Ok(()) => {
            let d = config.profile_divisor;
            let measures_of = |client: Client| {
                [
                    Measure::RoundTrips {
                        count: config.rtt_count(client) / d,
                        size: config.rtt_size,
                    },
                    Measure::Pipelined {
                        count: config.pipe_count(client) / d,
                        window: config.pipe_window,
                        size: config.pipe_size,
                    },
                    Measure::Pipelined {
                        count: (config.large_count(client) / d).max(5),
                        window: 1,
                        size: config.large_size,
                    },
                ]
            };
            let labels = [
                ("round_trip", "per round trip"),
                ("pipelined", "per pipelined 1 KiB message"),
                ("large", "per 1 MiB message"),
            ];
            let mut syscalls: Vec<Measurement> = labels
                .iter()
                .map(|(id, what)| {
                    Measurement::new(
                        &format!("syscalls_{id}"),
                        &format!("system calls {what}"),
                        "calls",
                        false,
                        Kind::Batching,
                    )
                })
                .collect();
            let mut switches: Vec<Measurement> = labels
                .iter()
                .map(|(id, what)| {
                    Measurement::new(
                        &format!("switches_{id}"),
                        &format!("context switches {what}"),
                        "switches",
                        false,
                        Kind::Batching,
                    )
                })
                .collect();
            for round in 0..config.heavy_rounds {
                for client in order(&Client::ALL, round) {
                    for (i, measure) in measures_of(client).into_iter().enumerate() {
                        arm(
                            format!("profile {}, {}, round {}", measure.id(), client.name(), round + 1),
                            Duration::from_secs(150),
                        );
                        match profile::run(
                            client,
                            measure,
                            &batching.url,
                            batching.pid(),
                            scratch,
                            Duration::from_secs(120),
                        ) {
                            Ok(p) => {
                                eprintln!(
                                    "  profile {:<10} round {} {:<25} {:>6.2} syscalls/msg {:>6.2} switches/msg {:>7.2} µs CPU/msg {:?}",
                                    measure.id(),
                                    round + 1,
                                    client.name(),
                                    p.syscalls_per_msg,
                                    p.context_switches_per_msg,
                                    p.cpu_us_per_msg,
                                    p.syscalls_by_name
                                );
                                syscalls[i].push(client, p.syscalls_per_msg, p.messages, false);
                                switches[i].push(client, p.context_switches_per_msg, p.messages, false);
                                profiles.push(p);
                            }
                            Err(e) => errors.push(format!(
                                "profile {}, {}, round {}: {e}",
                                measure.id(),
                                client.name(),
                                round + 1
                            )),
                        }
                    }
                }
            }
            profile_measures.extend(syscalls);
            profile_measures.extend(switches);
        }
    }
    drop(batching);

    let mut measurements = rtt;
    measurements.extend(throughput);
    measurements.extend([conn_p50, conn_p99, memory]);
    measurements.extend(fanout_measures);
    measurements.extend(profile_measures);
    let summary = summarize(&measurements);
    Results {
        notes: notes(config),
        summary,
        measurements,
        latency_percentiles_us: percentiles,
        scale: scale_results,
        fanout: fanout_results,
        profile: profiles,
        errors,
        samples,
    }
}

fn summarize(measurements: &[Measurement]) -> Vec<Summary> {
    let mut out = Vec::new();
    for m in measurements {
        let best = m.best_async_peer();
        for client in Client::ALL {
            let Some(values) = m.rounds.get(client.name()) else {
                continue;
            };
            let med = median(values);
            let shares = |f: fn(&Cpu) -> f64| {
                m.cpu
                    .get(client.name())
                    .map(|cpus| median(&cpus.iter().map(f).collect::<Vec<_>>()))
            };
            out.push(Summary {
                id: m.id.clone(),
                title: m.title.clone(),
                unit: m.unit,
                higher_is_better: m.higher_is_better,
                server: m.server,
                client: client.name(),
                median: med,
                min: values.iter().copied().fold(f64::INFINITY, f64::min),
                max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                best_async_peer: best.map(|(c, _)| c.name()),
                ratio_to_best_async_peer: best.map(|(_, v)| med / v),
                client_cpu_share: shares(Cpu::client_share),
                server_cpu_share: shares(Cpu::server_share),
            });
        }
    }
    out
}

fn notes(config: &Config) -> Vec<String> {
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
    vec![
        format!(
            "Every measure alternates the clients within each of {} rounds (memory, fan-out and system calls: {} \
             rounds), the order rotated by one client each round; values are medians over rounds.",
            config.rounds, config.heavy_rounds
        ),
        "Headline echo server: `batching` (a child process; a thread per connection reads what has arrived, \
         up to 512 KiB, echoes every complete frame into one buffer and writes it with one system call). \
         Ceiling case: `per-message`, the earlier runs' server (blocking tungstenite, `send` after every \
         message). Fan-out: `broadcast` (each message encoded once, one write per recipient)."
            .into(),
        format!(
            "Pipelined: {} messages of {} B with at most {} in flight, sent in batches (the window filled, \
             one flush; topped up with one batch, one flush, whenever half of it has come back).",
            config.pipe_count, config.pipe_size, config.pipe_window
        ),
        format!(
            "Fan-out: {} receivers of one library in this process (every connection's receive loop joined \
             in one future on the library's executor), one sender (blocking tungstenite on its own thread, \
             the same for all) at {} deliveries/s in all ({} s measured after {} s of warm-up), 64-byte \
             messages; latency = receive time - send time on this process's clock. Blocking clients \
             (tungstenite, ewebsock) would need a thread per connection and are not in it; \
             fastwebsockets+BufWriter receives as fastwebsockets does.",
            config
                .fanout_clients
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" and "),
            config.fanout_deliveries_per_s,
            config.fanout_seconds,
            config.fanout_warmup_seconds
        ),
        format!(
            "ewebsock's native backend polls its socket with a 10 ms read timeout, so its counts are capped \
             ({}) and its rounds stop after {:.0} s (a round cut short counts what it completed).",
            capped.join("; "),
            config.time_cap_ewebsock_s
        ),
        "CPU per message: the clients' process (every thread, getrusage) over the timed loop / messages. \
         System calls and context switches per message: the same loop in a fresh child process under \
         `perf stat` (counting switched on for the timed loop only), counts divided by messages."
            .into(),
        "MB = 10^6 bytes of payload, one way (each message is also echoed back).".into(),
    ]
}
