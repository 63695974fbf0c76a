#!/usr/bin/env python3
"""Merges the benchmark results (target/bench/*.json from scripts/bench-native.sh,
scripts/bench-chat.sh with and without --scale-out, scripts/bench-web.sh and
scripts/bench-compression.sh) into bench/results/latest.json, draws the
round-trip latency distributions (bench/results/latency.svg) and the chat servers' deliveries
per second against client count (bench/results/deliveries.svg), prints one table, and writes
BENCHMARKS.md.

Usage: scripts/bench_report.py [--keep-missing] COMMAND   (COMMAND: the command line that
           produced the results; --keep-missing: a part with no raw file under target/bench, not
           measured in this run, keeps the committed latest.json's results for it, and
           BENCHMARKS.md says which parts were measured when)
       scripts/bench_report.py --section compression COMMAND
           only the compression section (scripts/bench-compression.sh): writes
           bench/results/compression.json and replaces that section of BENCHMARKS.md (or adds it),
           leaving every other section as it is.
"""

import csv
import datetime
import json
import os
import re
import sys

RAW = "target/bench"
OUT = "bench/results"
# The native clients, in the table's order (twinsock last, beside its ratio), and their colours.
CLIENT_ORDER = ["tungstenite", "tokio-tungstenite", "tokio-websockets", "fastwebsockets", "fastwebsockets+BufWriter",
                "yawc", "ewebsock", "twinsock"]
COLOURS = {"twinsock": "#c0392b", "tungstenite": "#2c3e50", "tokio-tungstenite": "#2980b9", "tokio-websockets": "#27ae60",
           "fastwebsockets": "#8e44ad", "fastwebsockets+BufWriter": "#d35400", "yawc": "#16a085", "ewebsock": "#7f8c8d"}
# The crates whose versions the facts list.
NATIVE_CRATES = ["twinsock", "tungstenite", "tokio-tungstenite", "tokio-websockets", "fastwebsockets", "yawc", "ewebsock",
                 "tokio"]
# The native table's rows: measurement id, label. Rows for ids the run lacks are left out.
NATIVE_ROWS = [
    ("round_trip_rate", "sequential round trips, 32 B (per s)"),
    ("round_trip_p50", "round trip p50"),
    ("round_trip_p99", "round trip p99"),
    ("pipelined_rate", "pipelined 1 KiB, 1,000 in flight (msg/s)"),
    ("large_mb_s", "1 MiB messages, one at a time (MB/s)"),
    ("fanout_100_p50", "fan-out, 100 clients in one process: p50"),
    ("fanout_100_p99", "fan-out, 100 clients in one process: p99"),
    ("fanout_1000_p50", "fan-out, 1,000 clients in one process: p50"),
    ("fanout_1000_p99", "fan-out, 1,000 clients in one process: p99"),
    ("memory_per_socket", "memory per socket, 1,000 sockets after one echo (KiB)"),
    ("cpu_per_round_trip", "CPU per round trip"),
    ("syscalls_round_trip", "system calls per round trip"),
    ("switches_round_trip", "context switches per round trip"),
    ("cpu_per_pipelined", "CPU per pipelined 1 KiB message"),
    ("syscalls_pipelined", "system calls per pipelined message"),
    ("switches_pipelined", "context switches per pipelined message"),
    ("cpu_per_large", "CPU per 1 MiB message"),
    ("syscalls_large", "system calls per 1 MiB message"),
    ("connect_p50", "connect-to-open p50"),
    ("connect_p99", "connect-to-open p99"),
]
# twinsock's targets (issue 11): measurement id, the reference client (None: the best async peer).
NATIVE_TARGETS = [
    ("round_trip_rate", None),
    ("pipelined_rate", None),
    ("large_mb_s", None),
    ("fanout_100_p99", None),
    ("fanout_1000_p99", None),
    ("memory_per_socket", "tokio-websockets"),
]
CHAT_SERVERS = [("chat-server", "chat_server", "chat-server", "#c0392b"), ("node", "node", "Node ws", "#2c3e50")]


def load(name):
    path = os.path.join(RAW, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def native_value(value, unit):
    """A native measure's median in the unit people read it in."""
    if value is None or value != value:
        return "-"
    if unit == "µs":
        return "{:,.2f} ms".format(value / 1000) if value >= 1000 else "{:,.1f} µs".format(value)
    if unit in ("rt/s", "msg/s"):
        return "{:,.1f}k".format(value / 1000) if value >= 1000 else "{:,.0f}".format(value)
    if unit in ("calls", "switches"):
        return "{:,.2f}".format(value)
    return "{:,.1f}".format(value) if value < 100 else "{:,.0f}".format(value)


def native_summary(native):
    """(measurement id, client) -> summary row."""
    return {(r["id"], r["client"]): r for r in native["summary"]}


def native_target(native, measure, reference):
    """twinsock's median, the reference's name and median, and whether the target is met; None if not measured."""
    by = native_summary(native)
    ours = by.get((measure, "twinsock"))
    if not ours:
        return None
    name = reference or ours["best_async_peer"]
    theirs = by.get((measure, name)) if name else None
    if not theirs:
        return None
    met = ours["median"] >= theirs["median"] if ours["higher_is_better"] else ours["median"] <= theirs["median"]
    return ours, name, theirs, met


def native_rows(native):
    """The issue's table: one row per measure, one column per client, then twinsock's ratio and target."""
    by = native_summary(native)
    targets = dict(NATIVE_TARGETS)
    rows = []
    for measure, label in NATIVE_ROWS:
        cells = [by.get((measure, client)) for client in CLIENT_ORDER]
        present = [c for c in cells if c]
        if not present:
            continue
        unit = present[0]["unit"]
        ours = by.get((measure, "twinsock"))
        ratio = "-"
        if ours and ours["ratio_to_best_async_peer"] is not None:
            ratio = "{:.2f}x {}".format(ours["ratio_to_best_async_peer"], ours["best_async_peer"])
        target = ""
        if measure in targets:
            result = native_target(native, measure, targets[measure])
            if result:
                _, name, _, met = result
                target = "{} ({} {})".format("met" if met else "**not met**",
                                             "at or above" if ours["higher_is_better"] else "at or below", name)
        rows.append([label] + [native_value(c["median"], unit) if c else "-" for c in cells] + [ratio, target])
    return rows


def ceiling_rows(native):
    """The ceiling case: the same clients against the per-message server, and that as a share of the batching figure."""
    by = native_summary(native)
    rows = []
    for measure, label in (("round_trip_rate", "sequential round trips (per s)"), ("pipelined_rate", "pipelined 1 KiB (msg/s)")):
        cells = []
        for client in CLIENT_ORDER:
            ceiling, batching = by.get(("ceiling_" + measure, client)), by.get((measure, client))
            if not ceiling:
                cells.append("-")
                continue
            share = " ({:.2f}x)".format(ceiling["median"] / batching["median"]) if batching and batching["median"] else ""
            cells.append(native_value(ceiling["median"], ceiling["unit"]) + share)
        rows.append([label] + cells)
    return rows


def server_check(native):
    """For each echo measure: the fastest client's and the server's CPU (share of one core) in its rounds."""
    parts = []
    for measure, label in (("round_trip_rate", "round trips"), ("pipelined_rate", "pipelined"), ("large_mb_s", "1 MiB"),
                           ("ceiling_pipelined_rate", "pipelined against the per-message server")):
        rows = [r for r in native["summary"] if r["id"] == measure and r["server_cpu_share"] is not None]
        if not rows:
            continue
        fastest = max(rows, key=lambda r: r["median"])
        parts.append("{}: fastest {} ({}), its process {:.0f}% of a core, the server {:.0f}% ({:.2f}x the client's CPU per "
                     "message)".format(label, fastest["client"], native_value(fastest["median"], fastest["unit"]),
                                       fastest["client_cpu_share"] * 100, fastest["server_cpu_share"] * 100,
                                       fastest["server_cpu_share"] / fastest["client_cpu_share"]))
    fan = native.get("fanout", [])
    if fan:
        worst = max(fan, key=lambda r: r["cpu"]["server_cpu_us"] / r["cpu"]["wall_us"])
        parts.append("fan-out: the broadcast server at most {:.0f}% of a core ({:,.0f} µs of CPU per broadcast to {:,} clients)".format(
            worst["cpu"]["server_cpu_us"] / worst["cpu"]["wall_us"] * 100, worst["server_cpu_per_broadcast_us"], worst["clients"]))
    return parts


def syscall_rows(native):
    """System calls per message by name (medians over rounds), per client, for each profiled measure."""
    profiles = native.get("profile", [])
    rows = []
    for measure, label in (("round_trip", "per round trip"), ("pipelined", "per pipelined 1 KiB message")):
        for client in CLIENT_ORDER:
            runs = [p for p in profiles if p["client"] == client and p["measure"] == measure]
            if not runs:
                continue
            names = sorted({n for p in runs for n in p["syscalls_by_name"]})
            med = {n: median([p["syscalls_by_name"].get(n, 0.0) for p in runs]) for n in names}
            calls = ", ".join("{} {:.2f}".format(n, v) for n, v in sorted(med.items(), key=lambda kv: -kv[1]) if v >= 0.01)
            rows.append([label, client, "{:.2f}".format(median([p["syscalls_per_msg"] for p in runs])), calls])
    return rows


def median(values):
    values = sorted(values)
    if not values:
        return float("nan")
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def scale_rows(native):
    rows = []
    for client in CLIENT_ORDER:
        runs = native.get("scale", {}).get(client)
        if not runs:
            continue
        runs = sorted(runs, key=lambda r: r["rss_per_socket_kib"])
        mid = runs[len(runs) // 2]
        rows.append([
            client,
            "{:.0f} ms".format(mid["open_all_ms"]),
            "{} -> {}".format(mid["threads_before"], mid["threads_after"]),
            "{:.1f} MiB -> {:.1f} MiB".format(mid["rss_before_kib"] / 1024, mid["rss_after_kib"] / 1024),
            "{:.1f} KiB".format(mid["rss_per_socket_kib"]),
        ])
    return rows


# For a missed native target: what a profile outside the run showed and what was tried (perf record of the measure's
# loop alone, `bench-native --profile-child twinsock URL SERVER_PID pipe COUNT WINDOW SIZE` against
# `bench-native --serve batching`, next to the best peer's).
NATIVE_MISS_NOTES = {
    "pipelined_rate": "Profile (`perf record` of `bench-native --profile-child twinsock URL PID pipe 200000 1000 1024` "
    "against `bench-native --serve batching`): twinsock spends about twice the best peer's CPU per message. The "
    "client's CPU splits between the block_on thread (53% to 89%) and the reactor's own thread (11% to 47%), from "
    "run to run, by how often the reactor's thread takes over while the block_on thread is busy with a batch of "
    "events (its back-off starts at 50 µs), and each takeover adds lock hand-offs and wake-ups. In the run where "
    "the block_on thread did 89%: malloc, free and the page faults of the per-message payload copies about 16% "
    "(a small message is copied out of the read buffer so that it never keeps a 64 KiB buffer alive), the locked "
    "step per send and per event (`run_step`: lock, panic guard, wakers) 8%, copies 5.5%, masking 3.7%. Tried "
    "and kept: a thread's spare write buffer (page faults 22% to 7%), the sends of one turn in one write, masking "
    "while copying, no read after a short one. Tried and reverted: the reactor's thread backing off from 1 ms "
    "(its share of the CPU 47% to 11%, but the median rate did not move: 733k against 770k msg/s over 6 "
    "alternating rounds); on a block_on thread, decoding one read's events per poll so that a burst's small "
    "allocations stay under the allocator's trim threshold (569k against 565k msg/s, 8 rounds). Not tried: "
    "handing the application every queued event per step, and a lock-free event queue.",
    "large_mb_s": "Profile: twinsock spends about 1.2x tokio-websockets' CPU per 1 MiB message and makes 2.5x its "
    "system calls: it reads through a 64 KiB per-thread scratch buffer and copies out of it (16 reads and one more "
    "copy per MiB; tokio-websockets reads into its buffer's uninitialised room, which needs unsafe code, and "
    "twinsock has none). Tried and kept: room for the whole frame once its header is in; masking while copying "
    "into the write buffer (one pass instead of two); a block_on thread that no longer hands its own socket to "
    "the reactor's thread in the middle of a large message, whose reads wake nobody until it is whole (716 to "
    "838 MB/s, median of 8 alternating A/B rounds). Not tried: reading a large frame straight into its buffer "
    "behind a zeroing of the room (a memset instead of a copy).",
    "fanout_100_p99": "Profile (`bench-native --fanout-child CLIENT URL PID 100 20000 3` under `perf stat`, against "
    "`bench-native --serve broadcast`): twinsock's block_on used to read every ready socket in the reactor's step "
    "before any task ran, so every delivery of a broadcast got the time of the last (p50 about 180 µs behind "
    "tokio-websockets'), and it made two reads per delivery, the second finding nothing. Both are fixed in this "
    "run's code (a task's own poll reads its socket; no read after a short one): the system calls of a run fell "
    "from 139k to 74k (tokio-websockets 70k), p50 and p99 are level with tokio-websockets' in every round, and "
    "what is left against fastwebsockets is about 1 percentage point more of a core (10% against 8-9%) and "
    "about 100 µs at p99, spent in the locked steps (`run_step`) of the 100 reads of each broadcast.",
    "fanout_1000_p99": "See the fan-out to 100 clients (the same two fixes).",
}


def native_misses(native):
    """For each missed native target: what the run's own profile says about twinsock against the reference."""
    by = native_summary(native)
    lines = []
    profile_of = {"round_trip_rate": "round_trip", "pipelined_rate": "pipelined", "large_mb_s": "large"}
    for measure, reference in NATIVE_TARGETS:
        result = native_target(native, measure, reference)
        if not result or result[3]:
            continue
        ours, name, theirs, _ = result
        text = "{}: twinsock {} against {}{} {}".format(ours["title"], native_value(ours["median"], ours["unit"]), name,
                                                       "'" if name.endswith("s") else "'s",
                                                       native_value(theirs["median"], theirs["unit"]))
        kind = profile_of.get(measure)
        if kind:
            facts = []
            for prefix, what in (("cpu_per_" + kind, "µs of CPU"), ("syscalls_" + kind, "system calls"),
                                 ("switches_" + kind, "context switches")):
                a, b = by.get((prefix, "twinsock")), by.get((prefix, name))
                if a and b:
                    facts.append("{:.2f} {} against {:.2f}".format(a["median"], what, b["median"]))
            if facts:
                text += "; per message, " + ", ".join(facts)
        elif measure.startswith("fanout"):
            a, b = by.get((measure, "twinsock")), by.get((measure, name))
            if a and b and a["client_cpu_share"] is not None and b["client_cpu_share"] is not None:
                text += "; the receiving process used {:.0f}% of a core against {:.0f}%".format(
                    a["client_cpu_share"] * 100, b["client_cpu_share"] * 100)
        lines.append(text + "." + (" " + NATIVE_MISS_NOTES[measure] if measure in NATIVE_MISS_NOTES else ""))
    return lines


def native_section(native, chart):
    headers = ["measure"] + CLIENT_ORDER + ["twinsock / best async peer", "target"]
    text = ("## Native client\n\n"
            "Each client used the way its own documentation shows (`bench/native/src/clients.rs` says how), medians "
            "over rounds that alternate the clients, against servers that are not the ceiling. \"Best async peer\": the "
            "best of tokio-tungstenite, tokio-websockets, fastwebsockets (either mode) and yawc; raw tungstenite "
            "(blocking) and ewebsock (a thread per socket) are shown but are not async peers. fastwebsockets writes "
            "each frame with its own system call, as its docs show; `fastwebsockets+BufWriter` is it behind tokio's "
            "`BufWriter`, flushed once per batch.\n\n" + table(headers, native_rows(native)))
    check = server_check(native)
    if check:
        text += ("\n\nIs the server the ceiling? CPU during the fastest client's rounds, as a share of one core, and "
                 "the server's CPU per message against that client's (both over the same window, so the machine's "
                 "other load cancels out). Each echo connection has a server thread of its own: a server below 100% "
                 "of a core that needs less CPU per message than the fastest client waits for the client, not the "
                 "other way round; in a round trip the batching server makes one read and one write, the least a "
                 "server can: " + "; ".join(check) + ".")
    ceiling = ceiling_rows(native)
    if any(any(c != "-" for c in row[1:]) for row in ceiling):
        text += ("\n\n### The ceiling case: the per-message echo server\n\nThe earlier runs' echo server (blocking "
                 "tungstenite, `send` after every message); in brackets, the share of the same client's figure "
                 "against the batching server.\n\n" + table(["measure"] + CLIENT_ORDER, ceiling))
    calls = syscall_rows(native)
    if calls:
        text += ("\n\n### System calls by name\n\nCounted by `perf stat` over the timed loop only, every thread of a "
                 "fresh process (medians over rounds).\n\n" + table(["measure", "client", "calls", "by name"], calls))
    text += ("\n\n### 1,000 sockets in one process\n\n"
             + table(["client", "time to open all", "threads", "resident memory", "per socket"], scale_rows(native)))
    if chart:
        text += "\n\n![Round-trip latency distributions](bench/results/latency.svg)"
    text += "\n\n" + "\n".join("- " + note for note in native.get("notes", []))
    if native.get("errors"):
        text += "\n\nErrors in the native run:\n\n" + "\n".join("- " + e for e in native["errors"])
    return text


def web_rows(web):
    """One row per test: messages per second, or microseconds per message for the path tests."""
    rows = []
    for test in web["summary"].values():
        def value(side):
            data = test[side]
            return "{:,.0f}/s".format(data["rate"]) if "rate" in data else "{:.2f} µs/msg".format(data["us_per_msg"])
        ratio = "{:.2f}".format(test["ratio"]) if test.get("ratio") is not None else "n/a (JS side is a no-op)"
        rows.append([test["label"], value("twinsock"), value("js"), ratio])
    return rows


def size_rows(size):
    return [
        [r["label"], "{:,}".format(r["wasm"]["raw"]), "{:,}".format(r["wasm"]["gzip9"]), "{:,}".format(r["js_glue"]["raw"])]
        for r in size["results"]
    ]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def latency_svg(csv_path, svg_path):
    """Cumulative distributions of the round-trip latency samples, log-scaled x axis."""
    import math

    samples = {}
    with open(csv_path) as f:
        for row in csv.DictReader(f):
            samples.setdefault(row["client"], []).append(float(row["latency_us"]))
    if not samples:
        return False
    width, height, left, bottom, top, right = 720, 400, 60, 50, 20, 160
    lo = max(1.0, min(min(v) for v in samples.values()))
    hi = max(max(v) for v in samples.values())
    lx = lambda us: left + (math.log10(max(us, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (width - left - right)
    ly = lambda q: top + (1 - q) * (height - top - bottom)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, height),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="%d" y="14">Round-trip latency, 32-byte text, cumulative (native clients, one run)</text>' % left,
    ]
    decade = 10 ** math.floor(math.log10(lo))
    while decade <= hi * 10:
        if lo <= decade <= hi:
            x = lx(decade)
            parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x, top, x, height - bottom))
            parts.append('<text x="%.1f" y="%d" text-anchor="middle">%g µs</text>' % (x, height - bottom + 16, decade))
        decade *= 10
    for q in (0, 0.5, 0.9, 1):
        y = ly(q)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (left, y, width - right, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">p%g</text>' % (left - 6, y + 4, q * 100))
    for i, client in enumerate(c for c in CLIENT_ORDER if c in samples):
        values = sorted(samples[client])
        step = max(1, len(values) // 400)
        points = " ".join("%.1f,%.1f" % (lx(v), ly((j + 1) / len(values))) for j, v in enumerate(values) if j % step == 0 or j == len(values) - 1)
        colour = COLOURS.get(client, "#000")
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (colour, points))
        parts.append('<text x="%d" y="%d" fill="%s">%s</text>' % (width - right + 10, top + 20 + 18 * i, colour, client))
    parts.append("</svg>")
    with open(svg_path, "w") as f:
        f.write("\n".join(parts) + "\n")
    return True


def chat_value(value, unit):
    if unit == "deliveries/s":
        return "{:,.0f}/s".format(value)
    if unit == "µs":
        return "{:,.2f} ms".format(value / 1000) if value >= 1000 else "{:,.0f} µs".format(value)
    if unit == "KiB":
        return "{:,.1f} KiB".format(value)
    if unit == "cores":
        return "{:.2f} cores".format(value)
    return "{:g} {}".format(value, unit)


def chat_rows(chat):
    """One row per summary measurement: chat-server, Node, their ratio, and the issue's target."""
    rows = []
    for row in chat["summary"]:
        if "_server_cpu_" in row["id"]:
            continue  # in the line under the table
        unit = row["unit"]
        if row["target"] is None:
            met = "no target" if not row["id"].startswith("paced_deliveries") else "n/a (the offered load)"
        else:
            met = "{} ({})".format("yes" if row["target_met"] else "**no**", "ratio " + row["target"])
        rows.append([row["title"], chat_value(row["chat_server"], unit), chat_value(row["node"], unit),
                     "{:.2f}".format(row["ratio"]), met])
    return rows


def deliveries_svg(chat, svg_path):
    """Deliveries per second against client count, both servers, paced and burst (log axes)."""
    import math

    points = {}
    for row in chat["summary"]:
        for kind in ("paced", "burst"):
            if row["id"].startswith(kind + "_deliveries_"):
                for server, key, _, _ in CHAT_SERVERS:
                    points.setdefault((server, kind), []).append((row["clients"], row[key]))
    if not points:
        return False
    xs = sorted({x for series in points.values() for x, _ in series})
    ys = [y for series in points.values() for _, y in series if y > 0]
    width, height, left, bottom, top, right = 720, 400, 80, 50, 30, 190
    x_lo, x_hi = xs[0] / 1.5, xs[-1] * 1.5
    y_lo = 10 ** math.floor(math.log10(min(ys)))
    y_hi = 10 ** math.ceil(math.log10(max(ys)))
    lx = lambda x: left + (math.log10(x) - math.log10(x_lo)) / (math.log10(x_hi) - math.log10(x_lo)) * (width - left - right)
    ly = lambda y: top + (1 - (math.log10(max(y, y_lo)) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo))) * (height - top - bottom)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, height),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="%d" y="16">Chat broadcast: deliveries per second against clients (medians, 10 senders, log scales)</text>' % left,
    ]
    decade = y_lo
    while decade <= y_hi:
        y = ly(decade)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, y, width - right, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%s/s</text>' % (left - 6, y + 4, "{:,.0f}".format(decade)))
        decade *= 10
    for x in xs:
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (lx(x), top, lx(x), height - bottom))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (lx(x), height - bottom + 16, "{:,}".format(x)))
    parts.append('<text x="%d" y="%d" text-anchor="middle">clients</text>' % ((left + width - right) // 2, height - 12))
    legend = 0
    for kind, dash in (("burst", ""), ("paced", ' stroke-dasharray="6 4"')):
        for server, _, label, colour in CHAT_SERVERS:
            series = sorted(points.get((server, kind), []))
            if not series:
                continue
            coords = " ".join("%.1f,%.1f" % (lx(x), ly(y)) for x, y in series)
            parts.append('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>' % (colour, dash, coords))
            for x, y in series:
                parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (lx(x), ly(y), colour))
            y0 = top + 20 + 18 * legend
            parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>' % (
                width - right + 10, y0 - 4, width - right + 34, y0 - 4, colour, dash))
            parts.append('<text x="%d" y="%d" fill="%s">%s, %s</text>' % (width - right + 40, y0, colour, label, kind))
            legend += 1
    parts.append("</svg>")
    with open(svg_path, "w") as f:
        f.write("\n".join(parts) + "\n")
    return True


def chat_section(chat, chart):
    config = chat["config"]
    notes = "\n".join("- " + note for note in chat["notes"])
    text = ("## Chat server vs the tutorial's Node server\n\n"
            "Our `chat-server` (axum) against the tutorial's chat server on Node's `ws` "
            "(`e2e/tutorial-server.mjs`, {}), both driven by one load generator written with twinsock's native client "
            "(`bench-native chat`), alternating within {} round(s). Ratio = chat-server / Node; targets from the "
            "benchmark issue: at least 2x Node's deliveries per second (under the burst; under the paced load both "
            "deliver what is offered), p99 latency at most half of Node's under the paced load, memory per "
            "connection at most half of Node's.\n\n".format(chat.get("node_version", "node"), config["rounds"])
            + table(["measurement", "chat-server", "Node", "ratio", "target met?"], chat_rows(chat)))
    cpu = ["{} clients {}: {:.2f} / {:.2f}".format("{:,}".format(row["clients"]), row["id"].split("_")[0], row["chat_server"], row["node"])
           for row in chat["summary"] if "_server_cpu_" in row["id"]]
    if cpu:
        text += ("\n\nServer CPU in cores (chat-server / Node, medians; both servers' time includes the kernel's TCP work "
                 "for their writes): " + "; ".join(cpu) + ".")
    if chart:
        text += "\n\n![Chat deliveries per second against client count](bench/results/deliveries.svg)"
    text += "\n\n" + notes
    if chat.get("errors"):
        text += "\n\nErrors in this run:\n\n" + "\n".join("- " + e for e in chat["errors"])
    return text


# What the profiles showed for the chat targets this design misses (see the closing notes); the native
# ones come from the run's own profile (native_misses).
MISSES = [
    ("p99 delivery latency", "Chat latency under the paced load: both servers spend about 10 µs of CPU per "
     "delivery, mostly the kernel's TCP send path (chat-server's workers are 90% in the kernel), so neither "
     "can be twice as fast per write on 2 cores; and the load generator, one I/O thread taking in every "
     "delivery, adds the same floor to both (about 8 µs a delivery, 8 ms for one broadcast to 1,000 clients)."),
    ("idle: server memory per connection", "chat-server's idle memory per connection: 2.9 KiB (0.46x Node's) in the "
     "run before the hardening of the chat server (issue 14: per-client pong and stall timers, the 64 KiB queue "
     "with push-back, the connection cap); not profiled since, so which of them costs the difference is not known."),
    ("browser: pipelined", "Browser pipelined rate: the rows of the receive path alone show where it goes: a "
     "message costs twinsock's browser backend a few microseconds more than plain JS to receive (the event's "
     "conversion from JS and the wake-up of the Rust task), and the per-round ratios spread from about 0.7 to 1.0 "
     "on this machine."),
]


def target_rows(native, chat, web, size):
    """The benchmark issue's targets, each with what this run measured and whether it is met."""
    rows = []

    def add(target, measured, met):
        rows.append([target, measured, "yes" if met else "**no**"])

    if native:
        for measure, reference in NATIVE_TARGETS:
            result = native_target(native, measure, reference)
            if result:
                ours, name, theirs, met = result
                add("native {}: twinsock {} {}".format(ours["title"], "at or above" if ours["higher_is_better"] else "at or below",
                                                      "tokio-websockets'" if reference else "the best async peer"),
                    "{} vs {} {} ({:.2f}x)".format(native_value(ours["median"], ours["unit"]), name,
                                                   native_value(theirs["median"], theirs["unit"]), ours["median"] / theirs["median"]),
                    met)
    if chat:
        for row in chat["summary"]:
            if row.get("target"):
                add("chat-server: " + row["title"] + " " + row["target"] + " of Node's", "{:.2f}x".format(row["ratio"]),
                    row["target_met"])
    if web:
        for test in web["summary"].values():
            if test.get("kind") in ("rt", "pipe") and test.get("ratio") is not None:
                add("browser: " + test["label"] + ", at least 0.9x plain JS", "{:.2f}x".format(test["ratio"]),
                    test["ratio"] >= 0.9)
    if size:
        hellos = [r for r in size["results"] if r["id"].endswith("-hello")]
        ours = next((r for r in hellos if r["id"] == "twinsock-hello"), None)
        if ours:
            smallest = min(hellos, key=lambda r: r["wasm"]["raw"])
            add("bundle: the smallest hello of the three (.wasm after wasm-opt -Oz)",
                "{:,} bytes (next: {})".format(ours["wasm"]["raw"], ", ".join(
                    "{} {:,}".format(r["label"].split(", ")[1], r["wasm"]["raw"]) for r in hellos if r is not ours)),
                smallest is ours)
    return rows


SCALE_HEADING = "## Chat scale-out: one server against two and three behind one Redis"
SCALE_LAYOUTS = [((1, False), "1 server"), ((1, True), "1 server + Redis"), ((2, True), "2 servers + Redis"),
                 ((3, True), "3 servers + Redis")]


def scale_out_rows(scale):
    """One row per layout and load of `bench-native chat-scale`: medians over rounds."""
    rows = []
    for kind in ("paced", "burst"):
        for (servers, redis), label in SCALE_LAYOUTS:
            runs = [r for r in scale["runs"] if r["kind"] == kind and r["layout"]["servers"] == servers
                    and r["layout"]["redis"] == redis and not r["incomplete"]]
            if not runs:
                continue
            m = lambda key: median([r[key] for r in runs])
            rows.append([kind, label, "{:,.0f}/s".format(m("deliveries_per_s")), "{:.2f} ms".format(m("p50_us") / 1000),
                         "{:.2f} ms".format(m("p99_us") / 1000), "{:.2f} µs".format(m("servers_cpu_us_per_delivery")),
                         "{:.2f} µs".format(m("redis_cpu_us_per_delivery")) if redis else "-",
                         "{:.2f} / {:.2f}".format(m("servers_cores"), m("redis_cores")) if redis
                         else "{:.2f}".format(m("servers_cores"))])
    return rows


def scale_out_section(scale):
    """The scale-out section: the table of `scripts/bench-chat.sh --scale-out`, its caveat, how it goes further."""
    m = scale["machine"]
    text = (SCALE_HEADING + "\n\n`scripts/bench-chat.sh --scale-out` (`bench-native chat-scale`, also part of "
            "`scripts/bench.sh`): {:,} twinsock clients spread round robin over 1, 2 or 3 `chat-server --redis` "
            "processes sharing one `redis-server` (and one server without Redis as the baseline), 10 senders among "
            "them; the paced load ({:,.0f} deliveries/s for {:.0f} s) and the burst ({:,} deliveries) of the chat "
            "benchmark; CPU of the servers (summed) and of Redis from `/proc`; {} rounds, medians; load average {} "
            "at the start, {} at the end.\n\n").format(
                scale["clients"], scale["paced_deliveries_per_s"], scale["paced_seconds"], scale["burst_deliveries"],
                scale["rounds"], " ".join(m["loadavg_start"].split()[:3]), " ".join(m["loadavg_end"].split()[:3]))
    text += table(["load", "layout", "deliveries/s", "p50", "p99", "servers' CPU per delivery",
                   "Redis CPU per delivery", "cores: servers / Redis"], scale_out_rows(scale))
    if scale.get("errors"):
        text += "\n\nErrors in the run:\n\n" + "\n".join("- " + e for e in scale["errors"])
    text += ("\n\nThe caveat: every process (the load generator, each server, Redis) shares the same 2 cores, so "
             "adding servers here adds a hop (publish, Redis, deliver) and competes for the same CPU: on one "
             "machine this measures the cost of the Redis hop, not a scale-out.\n\n"
             "How it goes past one machine: each server holds only its own clients, so servers spread over "
             "machines behind a load balancer (WebSockets need no sticky sessions: a client can land on any "
             "server). Every server still receives every message, so the fan-out per server is its own clients, "
             "and Redis's load is publishes × subscribers. One Redis handles on the order of a few hundred thousand "
             "pub/sub messages per second; beyond that, Redis Cluster's classic pub/sub does not help (it "
             "broadcasts every publish to every node), but sharded pub/sub (`SSUBSCRIBE` / `SPUBLISH`, Redis 7) "
             "does: the chat would be split into channels (rooms) hashed over the cluster's shards, each server "
             "subscribing only to the rooms its clients are in. What changes in `chat-server`: a channel per room "
             "instead of one channel, `SSUBSCRIBE` on the shard that owns it, and a subscription set that follows "
             "the clients.")
    return text


COMPRESSION_HEADING = "## Compression (permessage-deflate)"
DIRECTION_LABELS = {"feed": "feed (server sends, client inflates)", "upload": "upload (client sends, client deflates)"}
WEB_IMPLS = [("twinsock", "twinsock"), ("yawc", "yawc (wasm)"), ("js", "plain JS")]


def compression_native_rows(native):
    """One row per direction, payload and setup; bytes also as a share of the same library without deflate."""
    rows = []
    summary = native["summary"]
    for r in summary:
        plain = next((p for p in summary if p["direction"] == r["direction"] and p["payload"] == r["payload"]
                      and p["client"] == r["client"] and not p["deflate"]), None)
        share = "{:.0f}%".format(100 * r["wire_bytes_per_message"] / plain["wire_bytes_per_message"]) if plain else "-"
        rows.append([DIRECTION_LABELS.get(r["direction"], r["direction"]), r["payload"], r["setup"],
                     "{:,.0f}".format(r["messages_per_s"]),
                     "{:,.1f} ({})".format(r["wire_bytes_per_message"], share),
                     "{:.2f}".format(r["client_cpu_us_per_message"]), "{:.2f}".format(r["server_cpu_us_per_message"]),
                     "{:.0f}% / {:.0f}%".format(100 * r["client_cpu_share"], 100 * r["server_cpu_share"])])
    return rows


def compression_web_rows(web):
    rows = []
    for s in web["summary"]:
        label = dict(WEB_IMPLS).get(s["impl"], s["impl"])
        rows.append([DIRECTION_LABELS.get(s["direction"], s["direction"]), s["payload"], "on" if s["deflate"] else "off",
                     label, "{:,.0f}".format(s["messages_per_s"]), "{:,.1f}".format(s["wire_bytes_per_message"]),
                     "{:.2f}".format(s["browser_cpu_us_per_message"]), "{:.2f}".format(s["network_cpu_us_per_message"]),
                     "{:.2f}".format(s["renderer_cpu_us_per_message"]), "{:.2f}".format(s["server_cpu_us_per_message"])])
    return rows


def compression_section(native, web, command):
    """The compression benchmark's section: the native table, the page's table, the payloads, the caveats."""
    quick = (native or {}).get("config", {}).get("quick") or (web or {}).get("params", {}).get("quick")
    text = (COMPRESSION_HEADING + "\n\n"
            "`scripts/bench-compression.sh` (also part of `scripts/bench.sh`): permessage-deflate on and off, for a "
            "compressible JSON market-data feed and for random bytes of the same sizes, in both directions, against "
            "one server of the benchmark's own (`bench-native --serve compression`, "
            "`bench/native/src/compression/server.rs`) that negotiates permessage-deflate and is not the ceiling: its "
            "feed's frames are compressed once at start-up (zlib-rs level 6, 15-bit window, one context through the "
            "feed, which is what a server compressing for that connection would send), so sending costs it only "
            "writes; uploads it inflates and compares with the expected message. It counts the bytes on the wire "
            "(WebSocket frames of the timed data messages, headers included, TCP/IP not) and its connection "
            "thread's CPU. yawc is the one other Rust crate with permessage-deflate that also builds for wasm32.")
    if quick:
        text += ("\n\n**Smoke test (`--quick`, 2 short rounds): these figures show that the harness works, "
                 "not how the libraries compare.**")
    if native:
        feeds = native.get("feeds", [])
        if feeds:
            f = feeds[0]
            text += ("\n\nPayloads (`bench/native/src/compression/payloads.rs`, deterministic): a cycle of {:,} messages "
                     "of {:,} to {:,} bytes, {:,.0f} on average: order-book updates, trades (with random order ids) "
                     "and ticker batches as JSON text; and binary messages of random bytes, each as long as the JSON "
                     "message in its place.").format(f["messages"], f["min_size"], f["max_size"], f["mean_size"])
        m = native["machine"]
        crates = ", ".join("{} {}".format(k, "/".join(v)) for k, v in sorted(m["crates"].items())
                           if k in ("twinsock", "yawc", "flate2", "zlib-rs", "tokio"))
        text += ("\n\n### Natively\n\n{} rounds of {:,} messages per run, setups alternating; load average {} at the "
                 "start, {} at the end; {}; {}.\n\n").format(
                     native["config"]["rounds"], native["config"]["messages"], " ".join(m["loadavg_start"].split()[:3]),
                     " ".join(m["loadavg_end"].split()[:3]), m["rustc"], crates)
        text += table(["direction", "payload", "setup", "msg/s", "bytes on the wire per message (of the same library "
                       "without deflate)", "client CPU µs/msg", "server CPU µs/msg", "CPU client / server"],
                      compression_native_rows(native))
        text += "\n\n" + "\n".join("- " + note for note in native.get("notes", []))
        if native.get("errors"):
            text += "\n\nErrors in the native run:\n\n" + "\n".join("- " + e for e in native["errors"])
    if web:
        p, f = web["params"], web["facts"]
        text += ("\n\n### In the page (headless Chromium)\n\n{}. {} rounds of {:,} messages per run, the three "
                 "alternating in one page load; load average {} before, {} after. twinsock's browser backend and "
                 "yawc's wasm build are both the browser's WebSocket underneath (yawc on wasm32 has no deflate of "
                 "its own), so Chromium's deflate does the work in all three and what differs is each library's "
                 "path between the page's code and that socket; plain JS is the floor. Deflate off: the server "
                 "declines it (a page always offers it). Browser CPU: every Chromium process, from /proc, around "
                 "each run; the network service is where Chromium's WebSocket and its deflate run, the renderer is "
                 "the page's JS and wasm.\n\n").format(
                     f.get("chromium") or f.get("browser", "Chromium"), p["rounds"], p["messages"],
                     " ".join("{:.2f}".format(x) for x in f.get("loadavg_before", [])),
                     " ".join("{:.2f}".format(x) for x in f.get("loadavg_after", [])))
        text += table(["direction", "payload", "deflate", "library", "msg/s", "wire B/msg", "browser CPU µs/msg",
                       "of which network service", "renderer", "server CPU µs/msg"], compression_web_rows(web))
    text += ("\n\nCaveat: one machine with 2 cores shared by the client, the server (and in the page Chromium's "
             "processes) and whatever else runs on it; compare the setups measured side by side in one run, not "
             "absolute figures across runs. Produced by `{}`.").format(command)
    return text


def replace_section(doc, heading, text):
    """`doc` with the section under `heading` (up to the next `## ` heading) replaced by `text`, or `text` appended."""
    pattern = re.compile(r"^" + re.escape(heading) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        return pattern.sub(lambda _: text.rstrip("\n") + "\n\n", doc, count=1).rstrip("\n") + "\n"
    return doc.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"


def compression_only(command):
    """--section compression: bench/results/compression.json and that one section of BENCHMARKS.md."""
    native, web = load("compression.json"), load("web-compression.json")
    if not native and not web:
        sys.exit("bench_report.py: no {0}/compression.json or {0}/web-compression.json to report".format(RAW))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "compression.json"), "w") as f:
        json.dump({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                   "command": command, "native": native, "web": web}, f, indent=1)
    text = compression_section(native, web, command)
    doc = open("BENCHMARKS.md").read() if os.path.exists("BENCHMARKS.md") else "# Benchmarks\n"
    with open("BENCHMARKS.md", "w") as f:
        f.write(replace_section(doc, COMPRESSION_HEADING, text))
    print(text)
    print("\nwrote the compression section of BENCHMARKS.md and {}/compression.json".format(OUT))


def main():
    if sys.argv[1:2] == ["--section"]:
        if sys.argv[2:3] != ["compression"]:
            sys.exit("bench_report.py: --section takes compression")
        compression_only(sys.argv[3] if len(sys.argv) > 3 else "scripts/bench-compression.sh")
        return
    args = [a for a in sys.argv[1:] if a != "--keep-missing"]
    keep_missing = "--keep-missing" in sys.argv[1:]
    command = args[0] if args else "scripts/bench.sh"
    native, chat, web, size = load("native.json"), load("chat.json"), load("web.json"), load("web-size.json")
    compression, web_compression = load("compression.json"), load("web-compression.json")
    scale = load("chat-scale.json")
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    merged = {"date": now, "command": command,
              "native": native, "chat": chat, "web": web, "web_size": size, "compression": compression,
              "web_compression": web_compression, "chat_scale": scale}
    # --keep-missing: a part not measured in this run (no raw file under target/bench) keeps the
    # results of the run that last measured it, from the committed latest.json, with that run's date.
    dates = {}
    previous_path = os.path.join(OUT, "latest.json")
    previous = json.load(open(previous_path)) if keep_missing and os.path.exists(previous_path) else {}
    for part in ("native", "chat", "web", "web_size", "compression", "web_compression", "chat_scale"):
        if merged[part] is None and previous.get(part) is not None:
            merged[part] = previous[part]
            dates[part] = previous.get("dates", {}).get(part, previous.get("date", "?"))
        elif merged[part] is not None:
            dates[part] = now
    merged["dates"] = dates
    native, chat, web, size = merged["native"], merged["chat"], merged["web"], merged["web_size"]
    compression, web_compression, scale = merged["compression"], merged["web_compression"], merged["chat_scale"]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "latest.json"), "w") as f:
        json.dump(merged, f, indent=1)
    chart = os.path.exists(os.path.join(RAW, "native-latency.csv")) and latency_svg(
        os.path.join(RAW, "native-latency.csv"), os.path.join(OUT, "latency.svg"))

    deliveries_chart = bool(chat) and deliveries_svg(chat, os.path.join(OUT, "deliveries.svg"))

    sections = []
    targets = target_rows(native, chat, web, size)
    if targets:
        text = ("## Targets\n\nThe benchmark issue's targets against this run (details in the sections below).\n\n"
                + table(["target", "measured", "met?"], targets))
        missed = " ".join(row[0] for row in targets if row[2] != "yes")
        why = (native_misses(native) if native else []) + [why for key, why in MISSES if key in missed]
        if why:
            text += "\n\nWhere a target is missed, what the profiles show:\n\n" + "\n".join("- " + w for w in why)
        sections.append(text)
    if native:
        sections.append(native_section(native, chart))
    if chat:
        sections.append(chat_section(chat, deliveries_chart))
    if scale:
        sections.append(scale_out_section(scale))
    if web:
        sections.append("## Browser backend (headless Chromium)\n\ntwinsock's wasm build next to the browser's WebSocket "
                        "from plain JavaScript, in one page, alternating, against one local echo server.\n\n"
                        + table(["test", "twinsock", "plain JS", "twinsock / JS"], web_rows(web)))
    if compression or web_compression:
        sections.append(compression_section(compression, web_compression, command))
    if size:
        sections.append("## Bundle size (after wasm-opt -Oz)\n\n"
                        + table(["build", ".wasm bytes", "gzip -9", "JS glue bytes"], size_rows(size))
                        + "\n\nThe three hello programs do the same (the tutorial's first demo) with the same size "
                        "profile: " + size["notes"]["hello_profile"] + ".")
    facts = []
    if native:
        m = native["machine"]
        facts.append("- Machine: {} CPUs ({}), {}".format(m["nproc"], m["cpu_model"], m["kernel"].split(" (")[0]))
        facts.append("- Load average at start and end of the native run: {} / {}".format(
            " ".join(m["loadavg_start"].split()[:3]), " ".join(m["loadavg_end"].split()[:3])))
        facts.append("- {}; crates: {}".format(m["rustc"], ", ".join(
            "{} {}".format(k, "/".join(v)) for k, v in sorted(m["crates"].items()) if k in NATIVE_CRATES)))
    if chat:
        m = chat["machine"]
        facts.append("- Load average at start and end of the chat run: {} / {}; {}".format(
            " ".join(m["loadavg_start"].split()[:3]), " ".join(m["loadavg_end"].split()[:3]), chat.get("node_version", "node")))
    if web:
        facts.append("- " + web["facts"].get("chromium", "chromium"))
    kept = sorted({d[:10] for d in dates.values() if d != now})
    if kept:
        facts.insert(0, "- This run measured: {}; kept from the earlier run that last measured them ({}): {}".format(
            ", ".join(p for p, d in dates.items() if d == now) or "nothing",
            " and ".join(sorted({d for d in dates.values() if d != now})),
            ", ".join(p for p, d in dates.items() if d != now)))
    doc = ["# Benchmarks", "",
           "Latest results, {}. Reproduce with `{}` (about 30 minutes on 2 cores; it installs what it needs). "
           "Raw results: [`bench/results/latest.json`](bench/results/latest.json).".format(merged["date"][:10], command),
           "", "These machines are noisy (2 shared cores): compare the ratios measured side by side in one run, "
           "not absolute numbers across runs.", ""] + facts + [""] + ["\n\n".join(sections), ""]
    with open("BENCHMARKS.md", "w") as f:
        f.write("\n".join(doc))
    print("\n\n".join(sections))
    print("\nwrote BENCHMARKS.md and {}/latest.json".format(OUT))


if __name__ == "__main__":
    main()
