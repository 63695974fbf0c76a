// Drives the page side of the compression benchmark (scripts/bench-compression.sh) in Debian's
// headless Chromium through a bare DevTools connection (bench/web/cdp.mjs; playwright would
// have Chromium report every WebSocket frame to it, which costs CPU per message in Chromium and
// in the driver): bench/web/page/compression.html against
// bench/native's compression server (`bench-native --serve compression`), the same server and
// the same payloads as the native run.
//
//   node bench/web/run-compression.mjs --url http://127.0.0.1:PORT/ --server ws://127.0.0.1:P/
//       --out FILE [--quick] [--facts JSON]
//
// For each round, direction (feed: the server sends, Chromium inflates; upload: the page
// sends, Chromium deflates), payload (json, random) and permessage-deflate on or off (off: the
// server declines it, as a page always offers it), it runs twinsock, yawc and plain JS in turn
// (the order rotated each round) in one page load, after an untimed warm-up pass. Around each
// run it reads the CPU time of every Chromium process (each thread's /proc schedstat), split
// into the network service (where Chromium's WebSocket and its deflate live), the renderer
// (the page's JS and wasm) and the rest; the server's CPU comes from its stats message.
// Prints a table of medians and writes the raw runs and the summary to FILE.
//
// Every wait is bounded; the whole run gives up after a time limit.

import fs from 'node:fs';
import os from 'node:os';
import { withTimeout } from '../../e2e/harness.mjs';
import { launch } from './cdp.mjs';

const opts = { quick: false, facts: '{}' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const flag = argv[i];
  if (flag === '--quick') opts.quick = true;
  else if (['--url', '--server', '--out', '--facts'].includes(flag)) opts[flag.slice(2)] = argv[++i];
  else throw new Error(`unknown argument ${flag}`);
}
for (const name of ['url', 'server', 'out']) {
  if (!opts[name]) throw new Error(`--${name} is required`);
}

const P = opts.quick ? { rounds: 2, messages: 2000, warmup: 256 } : { rounds: 5, messages: 20000, warmup: 256 };
const IMPLS = ['twinsock', 'yawc', 'js'];
const DIRECTIONS = ['feed', 'upload'];
const PAYLOADS = ['json', 'random'];

const limitSeconds = opts.quick ? 300 : 1800;
setTimeout(() => {
  console.error(`run-compression.mjs: gave up after ${limitSeconds} s`);
  process.exit(3);
}, limitSeconds * 1000).unref();

// ---- CPU of the browser's processes ----------------------------------------------------------

const read = (file) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null; // the process or thread is gone
  }
};

/** Every process descending from `root` (not `root` itself). */
function descendants(root) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (!stat) continue;
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const out = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.shift();
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Which part of Chromium a process is, from its command line. */
function role(pid) {
  const cmdline = read(`/proc/${pid}/cmdline`) ?? '';
  if (cmdline.includes('network.mojom.NetworkService')) return 'network';
  if (cmdline.includes('--type=renderer')) return 'renderer';
  return 'other';
}

/** Each Chromium thread's CPU time so far (ns), keyed `pid/tid`, with its process's role. */
function snapshot() {
  const threads = new Map();
  for (const pid of descendants(process.pid)) {
    const kind = role(pid);
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const schedstat = read(`/proc/${pid}/task/${tid}/schedstat`);
      if (schedstat) threads.set(`${pid}/${tid}`, { kind, ns: Number(schedstat.split(' ')[0]) });
    }
  }
  return threads;
}

/** CPU µs by role between two snapshots (a thread started since counts from zero). */
function cpuBetween(before, after) {
  const us = { network: 0, renderer: 0, other: 0 };
  for (const [key, { kind, ns }] of after) us[kind] += (ns - (before.get(key)?.ns ?? 0)) / 1000;
  us.total = us.network + us.renderer + us.other;
  return us;
}

// ---- the run ---------------------------------------------------------------------------------

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const browser = await launch();
try {
  const page = await browser.open(`${opts.url}compression.html`);
  // The module has loaded its wasm once window.compression is there (at most 30 s).
  const ready = Date.now() + 30000;
  while (!(await page.evaluate('Boolean(window.compression)'))) {
    if (Date.now() > ready) {
      throw new Error(`the page did not get ready: ${await page.evaluate("document.getElementById('status')?.textContent")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await page.evaluate(`window.compression.prepare(${JSON.stringify(opts.server)})`);

  const call = (impl, params, what) =>
    withTimeout(
      page.evaluate(`window.compression.run(${JSON.stringify(impl)}, ${JSON.stringify(params)})`, 120000),
      125000,
      what,
    ).catch((e) => {
      throw new Error(`${what}: ${e.message}`);
    });

  // Untimed: each combination once with a tenth of the messages (wasm tier-up, JIT, the
  // server's first connections).
  for (const direction of DIRECTIONS)
    for (const payload of PAYLOADS)
      for (const deflate of [true, false])
        for (const impl of IMPLS) {
          const params = { server: opts.server, direction, payload, deflate, warmup: P.warmup, count: P.messages / 10 };
          await call(impl, params, `warm-up ${impl} ${direction} ${payload} deflate=${deflate}`);
        }

  const started = Date.now();
  const loadBefore = os.loadavg();
  const runs = [];
  for (let round = 0; round < P.rounds; round++) {
    for (const direction of DIRECTIONS)
      for (const payload of PAYLOADS)
        for (const deflate of [true, false]) {
          const order = [...IMPLS.slice(round % IMPLS.length), ...IMPLS.slice(0, round % IMPLS.length)];
          for (const impl of order) {
            const params = { server: opts.server, direction, payload, deflate, warmup: P.warmup, count: P.messages };
            const what = `${impl} ${direction} ${payload} deflate=${deflate} round ${round + 1}`;
            const before = snapshot();
            const driverBefore = process.cpuUsage();
            const [ms, wireBytes, messages, negotiated, serverCpuUs] = await call(impl, params, what);
            const driver = process.cpuUsage(driverBefore);
            const cpu = cpuBetween(before, snapshot());
            cpu.driver = driver.user + driver.system;
            if (messages !== P.messages || Boolean(negotiated) !== deflate) {
              throw new Error(`${what}: the server counted ${messages} messages, permessage-deflate ${negotiated ? 'on' : 'off'}`);
            }
            runs.push({ impl, direction, payload, deflate, round: round + 1, ms, wire_bytes: wireBytes, messages, server_cpu_us: serverCpuUs, browser_cpu_us: cpu });
            process.stderr.write(
              `  ${what.padEnd(44)} ${Math.round((messages / ms) * 1000).toString().padStart(8)} msg/s ` +
                `${(wireBytes / messages).toFixed(1).padStart(7)} B/msg  browser ${(cpu.total / messages).toFixed(2).padStart(6)} µs/msg ` +
                `(network ${(cpu.network / messages).toFixed(2)}, renderer ${(cpu.renderer / messages).toFixed(2)}, driver ${(cpu.driver / messages).toFixed(2)})  server ${(serverCpuUs / messages).toFixed(2)} µs/msg\n`,
            );
          }
        }
  }

  const summary = [];
  for (const direction of DIRECTIONS)
    for (const payload of PAYLOADS)
      for (const deflate of [true, false])
        for (const impl of IMPLS) {
          const mine = runs.filter((r) => r.impl === impl && r.direction === direction && r.payload === payload && r.deflate === deflate);
          const per = (f) => median(mine.map((r) => f(r) / r.messages));
          summary.push({
            impl,
            direction,
            payload,
            deflate,
            rounds: mine.length,
            messages_per_s: median(mine.map((r) => (r.messages / r.ms) * 1000)),
            wire_bytes_per_message: per((r) => r.wire_bytes),
            browser_cpu_us_per_message: per((r) => r.browser_cpu_us.total),
            network_cpu_us_per_message: per((r) => r.browser_cpu_us.network),
            renderer_cpu_us_per_message: per((r) => r.browser_cpu_us.renderer),
            server_cpu_us_per_message: per((r) => r.server_cpu_us),
          });
        }

  const rows = [['direction', 'payload', 'deflate', 'impl', 'msg/s', 'wire B/msg', 'browser µs/msg', 'network', 'renderer', 'server µs/msg']];
  for (const s of summary) {
    rows.push([s.direction, s.payload, s.deflate ? 'on' : 'off', s.impl, Math.round(s.messages_per_s).toLocaleString('en-US'),
      s.wire_bytes_per_message.toFixed(1), s.browser_cpu_us_per_message.toFixed(2), s.network_cpu_us_per_message.toFixed(2),
      s.renderer_cpu_us_per_message.toFixed(2), s.server_cpu_us_per_message.toFixed(2)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(`| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`);

  const out = {
    date: new Date().toISOString(),
    facts: {
      ...JSON.parse(opts.facts),
      browser: browser.version,
      userAgent: await page.evaluate('navigator.userAgent'),
      loadavg_before: loadBefore,
      loadavg_after: os.loadavg(),
      seconds: (Date.now() - started) / 1000,
    },
    params: { ...P, quick: opts.quick, impls: IMPLS, server: 'bench-native --serve compression (bench/native/src/compression/server.rs)' },
    summary,
    runs,
  };
  fs.writeFileSync(opts.out, JSON.stringify(out, null, 2) + '\n');
} finally {
  await browser.close();
}
