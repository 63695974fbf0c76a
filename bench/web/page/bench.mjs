// The benchmark page's two implementations of each test, with the same logic: twinsock (the
// wasm crate twinsock-bench, written against the Socket trait) and the browser's WebSocket from
// plain JavaScript, written as the tutorial writes it (event handler properties; a handler
// that sends the next message itself). Both take the same parameters and return the same
// shape. The driver (run.mjs) alternates them.

import init, * as tw from './pkg/twinsock_bench.js';

const status = document.getElementById('status');

// ---- plain JavaScript ----

function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      ws.onerror = ws.onclose = null;
      resolve(ws);
    };
    ws.onerror = () => reject(new Error(`could not connect to ${url}`));
    ws.onclose = (e) => reject(new Error(`closed ${e.code} while connecting to ${url}`));
  });
}

function finish(ws) {
  return new Promise((resolve) => {
    ws.onmessage = null;
    ws.onclose = () => resolve();
    ws.close(1000);
  });
}

function payload(size, binary) {
  return binary ? new Uint8Array(size).fill(0xab) : 'x'.repeat(size);
}

function check(data, size, binary) {
  const ok = binary ? data instanceof ArrayBuffer && data.byteLength === size : typeof data === 'string' && data.length === size;
  if (!ok) throw new Error(`unexpected message ${String(data).slice(0, 40)}`);
}

// Rejects on an error or close event while a test runs.
function watch(ws, reject) {
  ws.onerror = () => reject(new Error('error event'));
  ws.onclose = (e) => reject(new Error(`closed ${e.code}`));
}

const js = {
  async roundTrips(url, count, size, binary, warmup) {
    const ws = await connect(url);
    const data = payload(size, binary);
    const out = new Float64Array(count + 1);
    await new Promise((resolve, reject) => {
      watch(ws, reject);
      let done = 0;
      let start = 0;
      let t0 = 0;
      ws.onmessage = (event) => {
        try {
          check(event.data, size, binary);
        } catch (e) {
          reject(e);
          return;
        }
        done += 1;
        if (done > warmup) out[done - warmup] = performance.now() - t0;
        if (done === warmup + count) {
          out[0] = performance.now() - start;
          resolve();
          return;
        }
        if (done === warmup) start = performance.now();
        t0 = performance.now();
        ws.send(data);
      };
      if (warmup === 0) start = performance.now();
      t0 = performance.now();
      ws.send(data);
    });
    await finish(ws);
    return out;
  },

  async pipelined(url, count, size, binary, window) {
    const ws = await connect(url);
    const data = payload(size, binary);
    let elapsed = 0;
    await new Promise((resolve, reject) => {
      watch(ws, reject);
      let sent = 0;
      let received = 0;
      const start = performance.now();
      ws.onmessage = (event) => {
        try {
          check(event.data, size, binary);
        } catch (e) {
          reject(e);
          return;
        }
        received += 1;
        if (sent < count) {
          ws.send(data);
          sent += 1;
        }
        if (received === count) {
          elapsed = performance.now() - start;
          resolve();
        }
      };
      while (sent < Math.min(window, count)) {
        ws.send(data);
        sent += 1;
      }
    });
    await finish(ws);
    return elapsed;
  },

  async sendStubbed(url, count, size, binary) {
    const ws = await connect(url);
    stubSend(ws);
    const data = payload(size, binary);
    const start = performance.now();
    for (let i = 0; i < count; i++) ws.send(data);
    const elapsed = performance.now() - start;
    checkStubbed(ws, count);
    await finish(ws);
    return elapsed;
  },

  async receiveInjected(url, count, size, binary, perTask) {
    const ws = await connect(url);
    let received = 0;
    const done = new Promise((resolve, reject) => {
      ws.onmessage = (event) => {
        try {
          check(event.data, size, binary);
        } catch (e) {
          reject(e);
        }
        received += 1;
        if (received === count) resolve();
      };
    });
    const start = performance.now();
    inject(ws, count, size, binary, perTask);
    await done;
    const elapsed = performance.now() - start;
    await finish(ws);
    return elapsed;
  },
};

/** Replaces `ws.send` by a no-op that counts its calls (an own property shadows the method). */
function stubSend(ws) {
  ws.stubbedSends = 0;
  ws.send = function () {
    this.stubbedSends += 1;
  };
}

function checkStubbed(ws, count) {
  const calls = ws.stubbedSends;
  delete ws.send;
  if (calls !== count) throw new Error(`send was called ${calls} times, not ${count}`);
}

/**
 * Runs `open(capture)` while `new WebSocket` records the socket it makes (the wasm-bindgen glue
 * looks `WebSocket` up at each call); `capture()` gives that socket and puts the constructor back.
 */
async function withCapturedSocket(open) {
  const Native = globalThis.WebSocket;
  let made = null;
  globalThis.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      made = this;
    }
  };
  try {
    return await open(() => {
      globalThis.WebSocket = Native;
      return made;
    });
  } finally {
    globalThis.WebSocket = Native;
  }
}

/**
 * Dispatches `count` synthetic message events of `size` bytes on `ws`: all at once, or each in
 * a task of its own (a MessageChannel message) as the browser delivers WebSocket messages, so
 * that the microtasks a handler queues (twinsock's waker) run between two messages.
 */
function inject(ws, count, size, binary, perTask) {
  const data = binary ? new Uint8Array(size).fill(0xab).buffer : 'x'.repeat(size);
  if (!perTask) {
    for (let i = 0; i < count; i++) ws.dispatchEvent(new MessageEvent('message', { data }));
    return;
  }
  const channel = new MessageChannel();
  let dispatched = 0;
  channel.port1.onmessage = () => {
    ws.dispatchEvent(new MessageEvent('message', { data }));
    dispatched += 1;
    if (dispatched < count) channel.port2.postMessage(0);
    else channel.port1.close();
  };
  channel.port2.postMessage(0);
}

// ---- twinsock ----

const twinsock = {
  roundTrips: (url, count, size, binary, warmup) => tw.round_trips(url, count, size, binary, warmup),
  pipelined: (url, count, size, binary, window) => tw.pipelined(url, count, size, binary, window),
  sendStubbed(url, count, size, binary) {
    let ws = null;
    return withCapturedSocket(async (capture) => {
      const ms = await tw.send_stubbed(url, count, size, binary, () => stubSend((ws = capture())));
      // finish() closed it: the stub was left in place, the count is still there.
      if (ws.stubbedSends !== count) throw new Error(`send was called ${ws.stubbedSends} times, not ${count}`);
      return ms;
    });
  },
  receiveInjected(url, count, size, binary, perTask) {
    return withCapturedSocket((capture) =>
      tw.receive_injected(url, count, size, binary, () => inject(capture(), count, size, binary, perTask)),
    );
  },
};

const impls = { twinsock, js };

/** Runs one test with one implementation; returns a number or an array of numbers. */
async function run(impl, test, args) {
  status.textContent = `${impl} ${test} ${JSON.stringify(args)}`;
  const result = await impls[impl][test](...args);
  status.textContent += ' done';
  return typeof result === 'number' ? result : Array.from(result);
}

await init();
window.bench = { run, crossOriginIsolated: globalThis.crossOriginIsolated };
status.textContent = 'ready';
