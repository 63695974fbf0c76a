// Shared helpers of the end-to-end tests (`node --test e2e/*.test.mjs`, run by scripts/e2e.sh):
// starting and stopping the processes under test (chat-server, the native `chat` client, the
// `chat-desktop` window under Xvfb, the tutorial's Node server), headless Chromium through
// playwright-core, and bounded waits.
//
// Every process started here is stopped by PID: by the test's own cleanup (`t.after`), and in
// any case when this test process exits (a `process.on('exit')` safety net, also reached on
// SIGINT/SIGTERM). Every wait has a time limit; nothing sleeps for a fixed time to wait for an
// outcome. Everything listens on and connects to 127.0.0.1 only.

import { execFile, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** cargo profile of the binaries under test (scripts/e2e.sh builds `debug`). */
export const profile = process.env.TWINSOCK_E2E_PROFILE || 'debug';
export const bin = (name) => path.join(root, 'target', profile, name);
export const artifacts = path.join(root, 'target', 'e2e');

export const CHROMIUM = process.env.TWINSOCK_E2E_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-dev-shm-usage',
  '--disable-component-update',
  '--no-first-run',
];

// ---------------------------------------------------------------------------------------------
// Bounded waiting

/** `promise`, or a rejection naming `what` after `ms` milliseconds. */
export function withTimeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/**
 * Polls `check` (sync or async) every `interval` ms until it returns a truthy value, which is
 * returned; throws after `timeout` ms, with `describe()` (if given) in the message.
 */
export async function waitUntil(check, { timeout = 15000, interval = 20, what = 'a condition', describe } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) {
      const state = describe ? `\n${await describe()}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

const running = new Set();

function killAll() {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

/** A child process with its stdout split into lines and its stderr kept as text. */
export class Proc extends EventEmitter {
  constructor(name, command, args, options = {}) {
    super();
    this.name = name;
    this.command = [command, ...args].join(' ');
    this.lines = [];
    this.stderr = '';
    this.exit = null;
    this.child = spawn(command, args, {
      cwd: options.cwd ?? root,
      env: { ...process.env, ...(options.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(this.child);
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': by then its stdout and stderr are read to the end.
      this.child.on('close', (code, signal) => {
        running.delete(this.child);
        this.exit = { code, signal };
        resolve(this.exit);
        this.emit('change');
      });
      this.child.on('error', (error) => {
        running.delete(this.child);
        this.exit = { code: null, signal: null, error };
        resolve(this.exit);
        this.emit('change');
      });
    });
    let partial = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      if (parts.length) {
        this.lines.push(...parts);
        this.emit('change');
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk) => {
      this.stderr += chunk;
      this.emit('change');
    });
    // A child that exits early makes writes fail with EPIPE: the tests see it by its output.
    this.child.stdin.on('error', () => {});
  }

  get pid() {
    return this.child.pid;
  }

  describe() {
    const tail = (text, n) => text.split('\n').slice(-n).join('\n');
    return (
      `${this.name} (pid ${this.pid}: ${this.command}) ` +
      `${this.exit ? `exited ${JSON.stringify(this.exit)}` : 'running'}; ` +
      `${this.lines.length} stdout lines, last: ${JSON.stringify(this.lines.slice(-5))}\n` +
      `stderr (tail):\n${tail(this.stderr, 20)}`
    );
  }

  /**
   * Waits until `check()` is true, checking at each new output of the process; fails when it
   * exits first or after `timeout` ms.
   */
  waitFor(check, what, timeout = 15000) {
    return new Promise((resolve, reject) => {
      const done = (error) => {
        clearTimeout(timer);
        this.off('change', test);
        if (error) reject(error);
        else resolve();
      };
      const test = () => {
        if (check()) done();
        else if (this.exit) done(new Error(`${this.name} exited before ${what}\n${this.describe()}`));
      };
      const timer = setTimeout(
        () => done(new Error(`timed out after ${timeout} ms waiting for ${what}\n${this.describe()}`)),
        timeout,
      );
      this.on('change', test);
      test();
    });
  }

  /** Waits until stdout has at least `n` lines (or the process exits: an error). */
  async waitForLines(n, timeout = 15000) {
    await this.waitFor(() => this.lines.length >= n, `${n} stdout lines of ${this.name}`, timeout);
    return this.lines;
  }

  /** Waits until stderr matches `pattern`. */
  async waitForStderr(pattern, timeout = 15000) {
    await this.waitFor(() => pattern.test(this.stderr), `${pattern} on the stderr of ${this.name}`, timeout);
  }

  write(text) {
    this.child.stdin.write(text);
  }

  closeStdin() {
    this.child.stdin.end();
  }

  /** Its exit status ({code, signal}), waiting at most `timeout` ms. */
  waitForExit(timeout = 15000) {
    return withTimeout(this.exited, timeout, `${this.name} to exit\n${this.describe()}`);
  }

  /** Stops it by PID: SIGTERM, then SIGKILL if it is still there after `grace` ms. */
  async stop(grace = 5000) {
    if (this.exit) return this.exit;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    try {
      return await withTimeout(this.exited, grace, `${this.name} to stop`);
    } catch {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      return this.exited;
    }
  }
}

/**
 * Starts a server that announces itself with one stdout line `<name> listening on http://ADDR/`
 * (or `https://ADDR/`: then `wsUrl` is `wss://`) and returns {proc, url, origin, host, port, wsUrl}.
 */
async function startServer(name, command, args, timeout = 30000) {
  const proc = new Proc(name, command, args);
  try {
    await proc.waitForLines(1, timeout);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  const match = /listening on ((https?):\/\/([^/\s]+)\/)\s*$/.exec(proc.lines[0]);
  if (!match) {
    await proc.stop();
    throw new Error(`${name}: unexpected first line ${JSON.stringify(proc.lines[0])}\n${proc.describe()}`);
  }
  const [, url, scheme, host] = match;
  return {
    proc,
    url,
    origin: `${scheme}://${host}`,
    host,
    port: Number(host.split(':').pop()),
    wsUrl: `${scheme === 'https' ? 'wss' : 'ws'}://${host}/ws`,
    stop: () => proc.stop(),
  };
}

/** The project's chat server on a free port of 127.0.0.1, serving www/ and pkg/. */
export function startChatServer(extraArgs = []) {
  const args = [
    '--listen', '127.0.0.1:0',
    '--www', path.join(root, 'www'),
    '--pkg', path.join(root, 'pkg'),
    ...extraArgs,
  ];
  return startServer('chat-server', bin('chat-server'), args);
}

/** The article's Node chat server (e2e/tutorial-server.mjs) on a free port of 127.0.0.1. */
export function startTutorialServer() {
  return startServer('tutorial-server', process.execPath, [path.join(root, 'e2e', 'tutorial-server.mjs')]);
}

/** The native terminal client, `chat URL`, stdin piped. */
export function startChat(wsUrl, name = 'chat') {
  return new Proc(name, bin('chat'), [wsUrl]);
}

// ---------------------------------------------------------------------------------------------
// The desktop window

/**
 * A virtual X display (Xvfb, 800x600, no TCP) on a display number it picks itself
 * (`-displayfd 1`: it prints the number on stdout once it is ready). Returns {proc, display}.
 */
export async function startXvfb() {
  const proc = new Proc('Xvfb', 'Xvfb', ['-displayfd', '1', '-screen', '0', '800x600x24', '-nolisten', 'tcp']);
  try {
    await proc.waitForLines(1, 30000);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { proc, display: `:${proc.lines[0].trim()}`, stop: () => proc.stop() };
}

/** The egui chat window, `chat-desktop URL ARGS...`, on X display `display`, with OpenGL in software. */
export function startDesktop(wsUrl, display, args = []) {
  return new Proc('chat-desktop', bin('chat-desktop'), [wsUrl, ...args], {
    env: { DISPLAY: display, LIBGL_ALWAYS_SOFTWARE: '1' },
  });
}

/** Runs a program with `DISPLAY=display`, at most `timeout` ms; resolves with its stdout. */
function runOnDisplay(display, command, args, timeout = 15000) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: { ...process.env, DISPLAY: display }, timeout }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Types `text` and Enter into the chat window's send box as a person would, through the X
 * server (xdotool): gives the window the keyboard (there is no window manager: the keyboard
 * goes to the root window first, since winit reports no focus when it comes from the X
 * server's default pointer-root focus), clicks the box (bottom left of the window), waits until
 * the window says on stderr that the box has the keyboard, types, presses Enter. `desktop` is
 * the window's Proc.
 */
export async function typeIntoDesktop(desktop, display, text) {
  const window = (await runOnDisplay(display, 'xdotool', ['search', '--sync', '--onlyvisible', '--name', '^twinsock chat$'])).split('\n')[0];
  const geometry = await runOnDisplay(display, 'xdotool', ['getwindowgeometry', '--shell', window]);
  const height = Number(/HEIGHT=(\d+)/.exec(geometry)[1]);
  const root = /Window id: (0x[0-9a-f]+)/.exec(await runOnDisplay(display, 'xwininfo', ['-root']))[1];
  await runOnDisplay(display, 'xdotool', ['windowfocus', '--sync', root]);
  await runOnDisplay(display, 'xdotool', ['windowfocus', '--sync', window]);
  await runOnDisplay(display, 'xdotool', ['mousemove', '--window', window, '100', String(height - 13), 'click', '1']);
  await desktop.waitForStderr(/the send box has the keyboard/);
  await runOnDisplay(display, 'xdotool', ['type', '--delay', '15', text]);
  await runOnDisplay(display, 'xdotool', ['key', 'Return']);
}

/** Saves the whole X screen to `file` (ImageMagick's `import -window root`); returns its number of colours. */
export async function screenshotDisplay(display, file) {
  await runOnDisplay(display, 'import', ['-window', 'root', file]);
  return Number((await runOnDisplay(display, 'identify', ['-format', '%k', file])).trim());
}

// ---------------------------------------------------------------------------------------------
// The browser

/**
 * One headless Chromium for the tests of the calling file: launched before them, closed after.
 * Returns a getter for it.
 */
export function useBrowser() {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return () => browser;
}

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60000 });
}

/**
 * A new page (in its own context) at `url`, recording its console messages in `page.logs`
 * (`{type, text}`) and uncaught errors in `page.errors`.
 */
export async function openPage(browser, url, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.logs = [];
  page.errors = [];
  page.on('console', (message) => page.logs.push({ type: message.type(), text: message.text() }));
  page.on('pageerror', (error) => page.errors.push(String(error)));
  await page.goto(url, { timeout: 30000 });
  return page;
}

/** What the chat page shows, for failure messages. */
export async function describePage(page) {
  try {
    const state = await page.evaluate(() => ({
      url: location.href,
      status: document.getElementById('status')?.textContent,
      messages: [...document.querySelectorAll('#messages > div')].slice(0, 10).map((d) => `${d.className}: ${d.textContent}`),
    }));
    return `page ${JSON.stringify(state)}; errors ${JSON.stringify(page.errors)}; console ${JSON.stringify(page.logs.slice(-10))}`;
  } catch (e) {
    return `page unreadable: ${e}`;
  }
}

/** The wasm chat page (www/index.html) at `url`, once its #status says "open". */
export async function openChatPage(browser, url) {
  const page = await openPage(browser, url);
  await waitForStatus(page, 'open');
  return page;
}

/** Waits until the chat page's #status is `status`. */
export async function waitForStatus(page, status, timeout = 15000) {
  try {
    await page.waitForFunction((s) => document.getElementById('status')?.textContent === s, status, { timeout });
  } catch (e) {
    throw new Error(`the page's status did not become ${status}: ${e.message}\n${await describePage(page)}`);
  }
}

/** Types `text` into the publish form's input and clicks Send, as a user would. */
export async function sendFromPage(page, text) {
  await page.fill('form[name=publish] input[name=message]', text);
  await page.click('form[name=publish] input[type=submit]');
}

/** The texts of the received messages shown in the page, oldest first (the page prepends). */
export async function pageMessages(page, selector = '#messages div.message') {
  const newestFirst = await page.$$eval(selector, (elements) => elements.map((e) => e.textContent));
  return newestFirst.reverse();
}

/** Waits until the page shows at least `n` messages; returns them oldest first. */
export async function waitForPageMessages(page, n, { selector = '#messages div.message', timeout = 15000 } = {}) {
  try {
    await page.waitForFunction(
      ([s, count]) => document.querySelectorAll(s).length >= count,
      [selector, n],
      { timeout, polling: 50 },
    );
  } catch (e) {
    throw new Error(`the page did not show ${n} messages (${selector}): ${e.message}\n${await describePage(page)}`);
  }
  return pageMessages(page, selector);
}

// ---------------------------------------------------------------------------------------------
// Checks

/**
 * Asserts that `seen` holds exactly the messages of `sent` (an object: sender => its messages
 * in sending order), each sender's in its order, whatever the interleaving.
 */
export function checkSawAll(assert, who, seen, sent) {
  const all = Object.values(sent).flat();
  assert.deepEqual([...seen].sort(), [...all].sort(), `${who} saw exactly every message`);
  const set = new Set(all);
  assert.equal(set.size, all.length, 'the messages sent are distinct');
  for (const [sender, messages] of Object.entries(sent)) {
    const mine = new Set(messages);
    assert.deepEqual(seen.filter((m) => mine.has(m)), messages, `${who} saw ${sender}'s messages in ${sender}'s order`);
  }
}

export function ensureArtifacts() {
  fs.mkdirSync(artifacts, { recursive: true });
  return artifacts;
}
