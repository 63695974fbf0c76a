//! The terminal table of one run: per measure, every client's median, its ratio to the best
//! async peer, the spread over rounds, and the CPU shares of both processes; then the targets.

use std::io::Write;

use crate::clients::Client;
use crate::run::{Config, Results};
use crate::{fmt_value, Machine};

/// The measures twinsock's targets are set on, and what "met" means for each.
pub const TARGETS: [(&str, &str); 6] = [
    ("round_trip_rate", "at or above the best async peer"),
    ("pipelined_rate", "at or above the best async peer"),
    ("large_mb_s", "at or above the best async peer"),
    ("fanout_100_p99", "at or below the best async peer"),
    ("fanout_1000_p99", "at or below the best async peer"),
    ("memory_per_socket", "at or below tokio-websockets'"),
];

fn share(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{:.0}%", v * 100.0))
}

pub fn print(config: &Config, machine: &Machine, results: &Results) {
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
    for note in &results.notes {
        let _ = writeln!(out, "  * {note}");
    }
    let _ = writeln!(
        out,
        "\nratio = the client's median / the best async peer's median (rates: higher is better; latencies, CPU, \
         calls, memory: lower is better). cpu: the clients' process / the server's, share of one core.\n"
    );
    let _ = writeln!(
        out,
        "{:<25} {:>11} {:<8} {:>7}  {:>21}  {:>11}  n per round",
        "client", "median", "unit", "ratio", "min .. max", "cpu"
    );
    for m in &results.measurements {
        let best = m.best_async_peer();
        let _ = writeln!(
            out,
            "{} [{} server]{}",
            m.title,
            m.server,
            best.map(|(c, v)| format!("; best async peer: {} {}", c.name(), fmt_value(v)))
                .unwrap_or_default()
        );
        for row in results.summary.iter().filter(|r| r.id == m.id) {
            let count = m.counts[row.client].iter().copied().max().unwrap_or(0);
            let truncated = m.truncated[row.client].iter().any(|&t| t);
            let cpu = match (row.client_cpu_share, row.server_cpu_share) {
                (Some(c), Some(s)) => format!("{} / {}", share(Some(c)), share(Some(s))),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {:<23} {:>11} {:<8} {:>6}  {:>9} .. {:<9}  {:>11}  {}{}",
                row.client,
                fmt_value(row.median),
                row.unit,
                row.ratio_to_best_async_peer
                    .map_or("-".into(), |r| format!("{r:.2}x")),
                fmt_value(row.min),
                fmt_value(row.max),
                cpu,
                count,
                if truncated { " (time-capped)" } else { "" }
            );
        }
    }
    let _ = writeln!(out, "\ntargets (twinsock):");
    for (id, target) in TARGETS {
        let Some(m) = results.measurements.iter().find(|m| m.id == id) else {
            continue;
        };
        let reference = if id == "memory_per_socket" {
            m.median(Client::TokioWebsockets)
                .map(|v| (Client::TokioWebsockets, v))
        } else {
            m.best_async_peer()
        };
        let (Some(ours), Some((peer, theirs))) = (m.median(Client::Twinsock), reference) else {
            let _ = writeln!(out, "  {:<52} not measured", m.title);
            continue;
        };
        let met = if m.higher_is_better {
            ours >= theirs
        } else {
            ours <= theirs
        };
        let _ = writeln!(
            out,
            "  {:<52} {} {} vs {} {} ({:.2}x): {target}: {}",
            m.title,
            fmt_value(ours),
            m.unit,
            peer.name(),
            fmt_value(theirs),
            ours / theirs,
            if met { "met" } else { "NOT met" }
        );
    }
    if !results.errors.is_empty() {
        let _ = writeln!(out, "\nERRORS:");
        for e in &results.errors {
            let _ = writeln!(out, "  {e}");
        }
    }
}
