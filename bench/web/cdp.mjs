// A minimal Chrome DevTools Protocol driver for measurements that DevTools itself must not
// disturb: Debian's Chromium started headless with `--remote-debugging-port=0`, one page
// target attached, and only `Page.navigate` and `Runtime.evaluate` sent. Playwright, by
// contrast, keeps the Network domain enabled on every page, so that Chromium reports each
// WebSocket frame to the driver (measured here: about 15 µs of the driver's CPU per message,
// and more in Chromium's own processes), which would be counted as the page's CPU per message.
//
//   const browser = await launch();          // Chromium with the e2e harness's flags
//   const page = await browser.open(url);    // navigates, returns once loaded
//   await page.evaluate('1 + 1');            // awaits promises, returns the value
//   await browser.close();                   // Browser.close, then SIGKILL by PID if needed
//
// Every wait is bounded.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { CHROMIUM, CHROMIUM_ARGS, withTimeout } from '../../e2e/harness.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

/** One CDP connection: commands with ids, answers and errors matched to them. */
class Connection {
  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    ws.on('message', (data) => {
      const message = JSON.parse(data);
      const waiting = this.pending.get(message.id);
      if (!waiting) return; // an event: none is enabled but the target's own
      this.pending.delete(message.id);
      if (message.error) waiting.reject(new Error(`${waiting.method}: ${message.error.message}`));
      else waiting.resolve(message.result);
    });
    ws.on('close', () => {
      for (const { reject, method } of this.pending.values()) reject(new Error(`${method}: the browser closed DevTools`));
      this.pending.clear();
    });
  }

  send(method, params = {}, sessionId = undefined, timeoutMs = 30000) {
    const id = this.nextId++;
    const answer = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
    this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return withTimeout(answer, timeoutMs, method);
  }
}

/** Starts Chromium and connects to it. */
export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'twinsock-cdp-'));
  const child = spawn(CHROMIUM, [...CHROMIUM_ARGS, '--headless', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const endpoint = await withTimeout(
    new Promise((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        const found = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
        if (found) resolve(found[1]);
      });
      child.once('exit', (code) => reject(new Error(`chromium exited (${code}) before DevTools listened: ${stderr.slice(-500)}`)));
    }),
    60000,
    'chromium to start',
  );
  const ws = new WebSocket(endpoint, { perMessageDeflate: false, maxPayload: 256 << 20 });
  await withTimeout(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 10000, 'DevTools connection');
  const cdp = new Connection(ws);
  const { product } = await cdp.send('Browser.getVersion');

  return {
    version: product,
    pid: child.pid,
    async open(url) {
      const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
      const evaluate = async (expression, timeoutMs = 30000) => {
        const { result, exceptionDetails } = await cdp.send(
          'Runtime.evaluate',
          { expression, awaitPromise: true, returnByValue: true },
          sessionId,
          timeoutMs,
        );
        if (exceptionDetails) {
          throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text ?? 'an exception in the page');
        }
        return result.value;
      };
      await cdp.send('Page.navigate', { url }, sessionId);
      // Loaded once the document is complete (at most 30 s).
      const loaded = Date.now() + 30000;
      while ((await evaluate('document.readyState').catch(() => '')) !== 'complete') {
        if (Date.now() > loaded) throw new Error(`${url} did not load in 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return { evaluate };
    },
    async close() {
      await cdp.send('Browser.close', {}, undefined, 10000).catch(() => {});
      const exited = new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      await withTimeout(exited, 10000, 'chromium to exit').catch(() => child.kill('SIGKILL'));
      ws.terminate();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
