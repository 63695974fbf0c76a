// chat-server's Origin check: pages from other origins get no WebSocket (HTTP 403 on the
// upgrade), seen from a browser and from a raw HTTP client.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import {
  describePage,
  openChatPage,
  openPage,
  pageMessages,
  startChatServer,
  startTutorialServer,
  waitUntil,
  withTimeout,
  useBrowser,
} from './harness.mjs';

const browser = useBrowser();

/**
 * Opens a WebSocket to `url` from inside `page` (the browser's own API, so the browser sets
 * the page's Origin) and reports how it went: {opened, error, code, wasClean}.
 */
function tryWebSocketFrom(page, url) {
  return page.evaluate(
    (u) =>
      new Promise((resolve) => {
        const result = { opened: false, error: false };
        const socket = new WebSocket(u);
        socket.onopen = () => {
          result.opened = true;
          socket.close(1000);
        };
        socket.onerror = () => {
          result.error = true;
        };
        socket.onclose = (event) => resolve({ ...result, code: event.code, wasClean: event.wasClean });
        setTimeout(() => resolve({ ...result, timedOut: true }), 10000);
      }),
    url,
  );
}

test("a page from another origin gets no connection to chat-server's /ws", { timeout: 60000 }, async (t) => {
  const server = await startChatServer();
  t.after(server.stop);
  const tutorial = await startTutorialServer();
  t.after(tutorial.stop);

  // www/index.html served by the tutorial server: its own chat (on the tutorial server) opens...
  const page = await openChatPage(browser(), tutorial.url);
  // ...but a WebSocket from this origin to chat-server is refused.
  const refused = await tryWebSocketFrom(page, server.wsUrl);
  assert.deepEqual(refused, { opened: false, error: true, code: 1006, wasClean: false });
  // The browser's console says why; the server's log says it refused (both arrive on their
  // own channels, so they are waited for).
  await waitUntil(() => page.logs.some((m) => /Unexpected response code: 403/.test(m.text)), {
    what: "the browser's console to report the 403",
    describe: () => JSON.stringify(page.logs),
  });
  await server.proc.waitForStderr(/refused: origin not allowed/);

  // Control: the same page, once chat-server allows that origin, connects.
  const allowing = await startChatServer(['--allow-origin', tutorial.origin]);
  t.after(allowing.stop);
  const allowed = await tryWebSocketFrom(page, allowing.wsUrl);
  assert.deepEqual(allowed, { opened: true, error: false, code: 1000, wasClean: true });
});

test('the wasm chat page on a refused origin keeps retrying with growing delays and says so', { timeout: 60000 }, async (t) => {
  const server = await startChatServer();
  t.after(server.stop);
  // The page derives its WebSocket URL from its own location, so to make it talk to chat-server
  // from an origin that chat-server does not allow, it is loaded from chat-server itself under
  // another name of 127.0.0.1: the IPv4-mapped IPv6 address. The browser connects to the same
  // IPv4 listener, but the page's origin is http://[::ffff:7f00:1]:PORT, not in the allow-list.
  const page = await openPage(browser(), `http://[::ffff:127.0.0.1]:${server.port}/`);
  assert.equal(new URL(page.url()).hostname, '[::ffff:7f00:1]');
  // A browser tells a page only that the connection died (1006), never that it was refused,
  // so the page cannot tell a refusal from an outage: it reconnects, waiting longer each time.
  try {
    await page.waitForFunction(
      () => /^reconnecting in \d+\.\d s \(attempt 2\)$/.test(document.getElementById('status')?.textContent ?? ''),
      null,
      { timeout: 15000, polling: 20 },
    );
  } catch (e) {
    throw new Error(`the page did not show its second attempt coming: ${e.message}\n${await describePage(page)}`);
  }
  const refusals = () => server.proc.stderr.split('\n').filter((l) => /refused: origin not allowed.*::ffff:7f00:1/.test(l)).length;
  await waitUntil(() => refusals() >= 2, { what: 'two refusals in the server log', describe: () => server.proc.describe() });
  assert.deepEqual(await pageMessages(page), []);
  assert.deepEqual(
    await page.$$eval('#messages .closed, #messages .died', (divs) => divs.length),
    0,
    'the chat has not ended',
  );
  assert.equal(await page.isDisabled('input[name=message]'), false, 'lines can still be typed (they are queued)');
});

/** A raw WebSocket upgrade request to `url`: resolves with the HTTP status (101 if upgraded). */
function rawUpgrade(url, origin) {
  const headers = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'),
  };
  if (origin) headers.Origin = origin;
  const request = http.request(url.replace(/^ws:/, 'http:'), { headers, agent: false });
  const answer = new Promise((resolve, reject) => {
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode });
    });
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    request.on('error', reject);
  });
  request.end();
  return withTimeout(answer, 10000, `the answer to an upgrade of ${url} with Origin ${origin}`).finally(() =>
    request.destroy(),
  );
}

test('a raw upgrade with a foreign Origin gets 403; own origin and no Origin get 101', { timeout: 30000 }, async (t) => {
  const server = await startChatServer();
  t.after(server.stop);
  const evil = await rawUpgrade(server.wsUrl, 'http://evil.example');
  assert.equal(evil.status, 403);
  assert.match(evil.body, /origin not allowed/);
  assert.equal((await rawUpgrade(server.wsUrl, server.origin)).status, 101);
  assert.equal((await rawUpgrade(server.wsUrl, `http://localhost:${server.port}`)).status, 101);
  assert.equal((await rawUpgrade(server.wsUrl, null)).status, 101);
  // The hello route has the same check.
  assert.equal((await rawUpgrade(server.wsUrl.replace(/\/ws$/, '/hello'), 'http://evil.example')).status, 403);
});
