// The compression benchmark's page (compression.html): the feed and the upload of
// bench/native's compression server, by twinsock's browser backend and yawc's wasm build (the
// wasm crate compression-bench) and, as the floor both stand on, by the browser's WebSocket
// from plain JavaScript with the same logic. In all three Chromium does permessage-deflate
// itself; `deflate=0` in the URL makes the server decline it.
//
// run(impl, {server, direction, payload, deflate, warmup, count}) returns
// [ms, wire bytes, messages, deflate (0/1), server CPU µs], the last four from the server's stats.

import init, * as cb from './pkg/compression/compression_bench.js';

const status = document.getElementById('status');
const UPLOAD_WINDOW = 256; // as the wasm side and the native run

// The feeds' cycles, fetched once from the server (`/payloads/KIND`): the raw blob for the wasm
// side, and split into messages (strings for JSON) for plain JS.
const blobs = new Map();
async function blob(server, payload) {
  const key = `${server} ${payload}`;
  if (!blobs.has(key)) {
    const response = await fetch(`${server.replace(/^ws/, 'http')}payloads/${payload}`);
    if (!response.ok) throw new Error(`payloads/${payload}: ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const messages = [];
    const view = new DataView(bytes.buffer);
    const decoder = new TextDecoder();
    for (let at = 0; at < bytes.length; ) {
      const len = view.getUint32(at, true);
      const message = bytes.slice(at + 4, at + 4 + len);
      messages.push(payload === 'json' ? decoder.decode(message) : message);
      at += 4 + len;
    }
    blobs.set(key, { bytes, messages });
  }
  return blobs.get(key);
}

// ---- plain JavaScript ----

function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`could not connect to ${url}`));
    ws.onclose = (e) => reject(new Error(`closed ${e.code} while connecting to ${url}`));
  });
}

function stats(data) {
  if (!(data instanceof ArrayBuffer) || data.byteLength !== 16) throw new Error(`expected the 16-byte stats message`);
  const view = new DataView(data);
  const messages = view.getUint8(8) | (view.getUint8(9) << 8) | (view.getUint8(10) << 16);
  return [Number(view.getBigUint64(0, true)), messages, view.getUint8(11), view.getUint32(12, true)];
}

const size = (data) => (typeof data === 'string' ? data.length : data.byteLength);

/** One step on an open socket: `count` messages from position `from`, resolving with the stats. */
function step(ws, upload, messages, from, count) {
  return new Promise((resolve, reject) => {
    ws.onerror = () => reject(new Error('error event'));
    ws.onclose = (e) => reject(new Error(`closed ${e.code}`));
    const n = messages.length;
    if (!upload) {
      let i = from;
      ws.onmessage = ({ data }) => {
        try {
          if (i === from + count) return resolve(stats(data));
          // The JSON feed is ASCII: a string's length is its byte length.
          const want = messages[i % n];
          if (size(data) !== size(want)) throw new Error(`feed message ${i}: ${size(data)} bytes, not ${size(want)}`);
          i += 1;
        } catch (e) {
          reject(e);
        }
      };
      ws.send(`!go ${count}`);
      return;
    }
    let sent = 0;
    let acked = 0;
    const topUp = () => {
      while (sent - acked < UPLOAD_WINDOW && sent < count) {
        ws.send(messages[(from + sent) % n]);
        sent += 1;
      }
      if (sent === count) ws.send('!end');
    };
    ws.onmessage = ({ data }) => {
      try {
        if (data.byteLength === 8) {
          acked = Number(new DataView(data).getBigUint64(0, true));
          if (sent < count) topUp();
        } else {
          resolve(stats(data));
        }
      } catch (e) {
        reject(e);
      }
    };
    ws.send('!go');
    topUp();
  });
}

async function jsRun(url, upload, feed, warmup, count) {
  const ws = await connect(url);
  await step(ws, upload, feed.messages, 0, warmup);
  const start = performance.now();
  const result = await step(ws, upload, feed.messages, warmup, count);
  const ms = performance.now() - start;
  await new Promise((resolve) => {
    ws.onmessage = null;
    ws.onclose = () => resolve();
    ws.close(1000);
  });
  return [ms, ...result];
}

// ---- the three ----

const impls = {
  twinsock: (url, upload, feed, payload, warmup, count) => cb.twinsock_run(url, upload, feed.bytes, payload === 'json', warmup, count),
  yawc: (url, upload, feed, payload, warmup, count) => cb.yawc_run(url, upload, feed.bytes, payload === 'json', warmup, count),
  js: (url, upload, feed, payload, warmup, count) => jsRun(url, upload, feed, warmup, count),
};

async function run(impl, { server, direction, payload, deflate, warmup, count }) {
  const upload = direction === 'upload';
  const url = `${server}${direction}?payload=${payload}${deflate ? '' : '&deflate=0'}`;
  status.textContent = `${impl} ${url} ${count}`;
  const feed = await blob(server, payload);
  const result = Array.from(await impls[impl](url, upload, feed, payload, warmup, count));
  status.textContent += ' done';
  return result;
}

/** Fetches the feeds before anything is timed. */
async function prepare(server) {
  await Promise.all(['json', 'random'].map((payload) => blob(server, payload)));
}

await init();
window.compression = { run, prepare };
status.textContent = 'ready';
