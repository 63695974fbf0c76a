// Drives the browser benchmark (scripts/bench-web.sh) in Debian's headless Chromium through
// playwright-core, as e2e/harness.mjs does, against bench/web/server.mjs.
//
//   node bench/web/run.mjs hello --url http://127.0.0.1:PORT/ --libs a,b,c
//       runs each bundle-size hello build in a page against /hello; fails unless each logs
//       the tutorial's lines (open, sending, the greeting, a clean close 1000).
//   node bench/web/run.mjs bench --url http://127.0.0.1:PORT/ --out FILE [--quick] [--facts JSON]
//       runs every test R rounds in one page load, alternating twinsock and plain JS (A B in
//       even rounds, B A in odd ones, so neither always goes first), prints the table of medians and writes the raw results and the summary to FILE.
//
// Every wait is bounded; the whole run gives up after a time limit.

import fs from 'node:fs';
import os from 'node:os';
import { launchBrowser } from '../../e2e/harness.mjs';

const [mode, ...rest] = process.argv.slice(2);
const opts = { quick: false, facts: '{}' };
for (let i = 0; i < rest.length; i++) {
  const flag = rest[i];
  if (flag === '--quick') opts.quick = true;
  else if (flag.startsWith('--')) opts[flag.slice(2)] = rest[++i];
  else throw new Error(`unknown argument ${flag}`);
}
if (!opts.url) throw new Error('--url is required');

const limitSeconds = mode === 'hello' ? 120 : opts.quick ? 120 : 900;
setTimeout(() => {
  console.error(`run.mjs: gave up after ${limitSeconds} s`);
  process.exit(3);
}, limitSeconds * 1000).unref();

function withTimeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function openPage(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.logs = [];
  page.on('console', (m) => page.logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => page.logs.push(`pageerror: ${e}`));
  await page.goto(url, { timeout: 30000 });
  return page;
}

// ---------------------------------------------------------------------------------------------
// hello: the three bundle-size builds really run the demo

async function hello(browser) {
  const expected = [
    '[open] Connection established',
    'Sending to server',
    '[message] Data received from server: Hello from server, John!',
    '[close] Connection closed cleanly, code=1000 reason=',
  ];
  let failed = false;
  for (const lib of opts.libs.split(',')) {
    const page = await openPage(browser, `${opts.url}hello.html?lib=${lib}`);
    let lines = [];
    try {
      await page.waitForFunction(() => window.helloLines?.some((l) => l.startsWith('[close]')), null, { timeout: 15000 });
      lines = await page.evaluate(() => window.helloLines);
    } catch (e) {
      lines = await page.evaluate(() => window.helloLines ?? []).catch(() => []);
      console.error(`${lib}: ${e.message}; console: ${JSON.stringify(page.logs.slice(-5))}`);
    }
    const ok = JSON.stringify(lines) === JSON.stringify(expected);
    failed ||= !ok;
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${lib}: ${lines.join(' | ')}`);
    await page.context().close();
  }
  if (failed) process.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------
// bench

// send and receive alone: nothing goes over the network (a stubbed send, synthetic events).
const P = opts.quick
  ? { rounds: 2, rt: 300, warmup: 50, pipe: 3000, window: 1000, send: 20000, receive: 10000 }
  : { rounds: 7, rt: 1000, warmup: 100, pipe: 10000, window: 1000, send: 100000, receive: 50000 };

const ws = `${opts.url.replace(/^http/, 'ws')}echo`;
const tests = [
  { id: 'rt_text_32', kind: 'rt', label: 'round trips, 32 B text', fn: 'roundTrips', args: [ws, P.rt, 32, false, P.warmup] },
  { id: 'rt_binary_32', kind: 'rt', label: 'round trips, 32 B binary', fn: 'roundTrips', args: [ws, P.rt, 32, true, P.warmup] },
  { id: 'pipe_text_1k', kind: 'pipe', label: `pipelined, 1 KiB text, window ${P.window}`, fn: 'pipelined', args: [ws, P.pipe, 1024, false, P.window] },
  { id: 'pipe_binary_1k', kind: 'pipe', label: `pipelined, 1 KiB binary, window ${P.window}`, fn: 'pipelined', args: [ws, P.pipe, 1024, true, P.window] },
  ...[32, 1024].flatMap((size) => {
    const b = size === 1024 ? '1 KiB' : `${size} B`;
    return [
      { id: `send_text_${size}`, kind: 'micro', label: `send path only, ${b} text, send stubbed`, fn: 'sendStubbed', args: [ws, P.send, size, false] },
      { id: `send_binary_${size}`, kind: 'micro', label: `send path only, ${b} binary, send stubbed`, fn: 'sendStubbed', args: [ws, P.send, size, true] },
    ];
  }),
  { id: 'recv_text_32', kind: 'micro', label: 'receive path only, 32 B text, in one go', fn: 'receiveInjected', args: [ws, P.receive, 32, false, false] },
  { id: 'recv_binary_32', kind: 'micro', label: 'receive path only, 32 B binary, in one go', fn: 'receiveInjected', args: [ws, P.receive, 32, true, false] },
  ...[32, 1024].flatMap((size) => {
    const b = size === 1024 ? '1 KiB' : `${size} B`;
    return [
      { id: `recv_task_text_${size}`, kind: 'micro', label: `receive path only, ${b} text, one per task`, fn: 'receiveInjected', args: [ws, P.receive, size, false, true] },
      { id: `recv_task_binary_${size}`, kind: 'micro', label: `receive path only, ${b} binary, one per task`, fn: 'receiveInjected', args: [ws, P.receive, size, true, true] },
    ];
  }),
];
const IMPLS = ['twinsock', 'js'];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** One run's numbers: for rt {ms, rate, p50_us, p99_us}; for pipe {ms, rate}; for micro {ms, us_per_msg}. */
function measure(test, result) {
  if (test.kind === 'rt') {
    const [ms, ...lat] = result;
    const sorted = lat.sort((a, b) => a - b);
    return { ms, rate: (lat.length / ms) * 1000, p50_us: percentile(sorted, 50) * 1000, p99_us: percentile(sorted, 99) * 1000 };
  }
  const count = test.args[1];
  if (test.kind === 'pipe') return { ms: result, rate: (count / result) * 1000 };
  return { ms: result, us_per_msg: (result * 1000) / count };
}

async function bench(browser) {
  const page = await openPage(browser, opts.url);
  await page.waitForFunction(() => window.bench, null, { timeout: 30000 }).catch(async (e) => {
    throw new Error(`${e.message}; console: ${JSON.stringify(page.logs.slice(-10))}`);
  });
  const isolated = await page.evaluate(() => window.bench.crossOriginIsolated);
  const userAgent = await page.evaluate(() => navigator.userAgent);
  const raw = Object.fromEntries(tests.map((t) => [t.id, { twinsock: [], js: [] }]));
  // One untimed pass of every test at a tenth of its count: the first run of the wasm code
  // (baseline compilation, then tier-up) and of the JS would otherwise count in round 1.
  for (const test of tests) {
    for (const impl of IMPLS) {
      const args = [...test.args];
      args[1] = Math.max(1, Math.round(args[1] / 10));
      await withTimeout(page.evaluate(([i, f, a]) => window.bench.run(i, f, a), [impl, test.fn, args]), 60000, `warm-up ${impl} ${test.id}`);
    }
  }
  const started = Date.now();
  const loadBefore = os.loadavg();
  for (let round = 0; round < P.rounds; round++) {
    for (const test of tests) {
      for (const impl of round % 2 ? [...IMPLS].reverse() : IMPLS) {
        const result = await withTimeout(
          page.evaluate(([i, f, a]) => window.bench.run(i, f, a), [impl, test.fn, test.args]),
          60000,
          `${impl} ${test.id} (round ${round + 1}); console: ${JSON.stringify(page.logs.slice(-5))}`,
        );
        raw[test.id][impl].push(measure(test, result));
      }
    }
    process.stderr.write(`  round ${round + 1}/${P.rounds} done (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  await page.context().close();

  // Medians over the rounds.
  const summary = {};
  for (const test of tests) {
    const s = { label: test.label, kind: test.kind };
    for (const impl of IMPLS) {
      const runs = raw[test.id][impl];
      s[impl] = Object.fromEntries(Object.keys(runs[0]).map((k) => [k, median(runs.map((r) => r[k]))]));
    }
    // The best round of each (least disturbed by other work on the machine).
    const best = (impl) => (test.kind === 'micro' ? Math.min(...raw[test.id][impl].map((r) => r.us_per_msg)) : Math.max(...raw[test.id][impl].map((r) => r.rate)));
    s.best = { twinsock: best('twinsock'), js: best('js') };
    if (test.kind === 'micro') {
      s.best_extra_us_per_msg = s.best.twinsock - s.best.js;
      s.extra_us_per_msg = s.twinsock.us_per_msg - s.js.us_per_msg;
      // Speed, twinsock / JS; none for a stubbed send (JS then calls a no-op).
      s.ratio = test.fn === 'sendStubbed' ? null : s.js.us_per_msg / s.twinsock.us_per_msg;
    } else {
      s.ratio = s.twinsock.rate / s.js.rate;
      s.extra_us_per_msg = 1e6 / s.twinsock.rate - 1e6 / s.js.rate;
      s.best_extra_us_per_msg = 1e6 / s.best.twinsock - 1e6 / s.best.js;
    }
    // The ratio of each round (A and B of the same round), to show the spread.
    s.round_ratios = s.ratio === null ? [] : raw[test.id].twinsock.map((a, i) => {
      const b = raw[test.id].js[i];
      return test.kind === 'micro' ? b.us_per_msg / a.us_per_msg : a.rate / b.rate;
    });
    summary[test.id] = s;
  }

  // The table.
  const f0 = (x) => Math.round(x).toLocaleString('en-US');
  const f2 = (x) => x.toFixed(2);
  const f3 = (x) => x.toFixed(3);
  const rows = [
    ['test', 'twinsock', 'plain JS', 'twinsock/JS', 'per-round ratios', 'extra µs/msg', 'best rounds: extra µs/msg'],
  ];
  for (const test of tests) {
    const s = summary[test.id];
    const ratios = s.round_ratios.map(f2).join(' ');
    if (test.kind === 'rt') {
      rows.push([s.label, `${f0(s.twinsock.rate)} msg/s`, `${f0(s.js.rate)} msg/s`, f2(s.ratio), ratios, f2(s.extra_us_per_msg), f2(s.best_extra_us_per_msg)]);
      rows.push(['  latency p50 / p99', `${f0(s.twinsock.p50_us)} / ${f0(s.twinsock.p99_us)} µs`, `${f0(s.js.p50_us)} / ${f0(s.js.p99_us)} µs`, '', '', '', '']);
    } else if (test.kind === 'pipe') {
      rows.push([s.label, `${f0(s.twinsock.rate)} msg/s`, `${f0(s.js.rate)} msg/s`, f2(s.ratio), ratios, f2(s.extra_us_per_msg), f2(s.best_extra_us_per_msg)]);
    } else {
      rows.push([s.label, `${f3(s.twinsock.us_per_msg)} µs/msg`, `${f3(s.js.us_per_msg)} µs/msg`, s.ratio === null ? 'n/a' : f2(s.ratio), ratios, f3(s.extra_us_per_msg), f3(s.best_extra_us_per_msg)]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  console.log(line(rows[0]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  console.log(
    `(medians of ${P.rounds} rounds in one page load, twinsock and plain JS alternated A B, B A, ...; ` +
      `ratio = throughput twinsock/JS, for the path-only rows JS time / twinsock time; ` +
      `extra µs/msg = twinsock's time per message less plain JS's, from the medians and from each side's best round; ` +
      `crossOriginIsolated=${isolated}; load average ${loadBefore[0].toFixed(1)} before, ` +
      `${os.loadavg()[0].toFixed(1)} after, on ${os.cpus().length} CPUs)`,
  );

  const facts = JSON.parse(opts.facts);
  const out = {
    date: new Date().toISOString(),
    facts: {
      ...facts,
      browser: browser.version(),
      userAgent,
      crossOriginIsolated: isolated,
      loadavg_before: loadBefore,
      loadavg_after: os.loadavg(),
      seconds: (Date.now() - started) / 1000,
    },
    params: { ...P, quick: opts.quick, server: 'bench/web/server.mjs (Node ws, /echo, no compression, TCP_NODELAY)' },
    tests: tests.map(({ id, label, fn, args }) => ({ id, label, fn, args: args.slice(1) })),
    summary,
    raw,
  };
  fs.writeFileSync(opts.out, JSON.stringify(out, null, 2) + '\n');
}

const browser = await launchBrowser();
try {
  if (mode === 'hello') await hello(browser);
  else if (mode === 'bench') await bench(browser);
  else throw new Error(`unknown mode ${mode}`);
} finally {
  await browser.close();
}
