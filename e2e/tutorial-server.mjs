// The javascript.info WebSocket article's chat server ("Chat example"), on Node's `ws` package
// (version 8), for the end-to-end tests: twinsock's clients must talk to it as they talk to
// our own chat-server.
//
// The chat part is the article's code: a `WebSocket.Server({noServer: true})`, a Set of
// clients, and every message re-broadcast to all of them, cut to 50 with `message.slice(0, 50)`.
// Kept exactly as the article has it, on purpose, with two consequences of ws@8:
//   - a received message is a Buffer, so `client.send(message)` sends a BINARY frame (the
//     article predates ws@8, when it was a string and went out as text);
//   - the cut is 50 BYTES of that Buffer, not 50 characters (it can split a UTF-8 sequence).
// twinsock's chat shows binary messages as text, which is what the tests check.
//
// Added for the tests: the server also serves the static files of www/ (at /) and pkg/ (at
// /pkg/), so the wasm chat page can be loaded from this origin; the article upgrades every
// request, here only /ws is upgraded (in the `upgrade` event, the form the `ws` docs give for
// noServer). It listens on 127.0.0.1, on the port given as the first argument (default 0: any
// free port), and prints one line on stdout: `tutorial-server listening on http://127.0.0.1:PORT/`.
//
//   node e2e/tutorial-server.mjs [PORT] [--www DIR] [--pkg DIR]

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

// As in the article: `const ws = require('ws')` (the ESM entry of ws has no `ws.Server`).
const require = createRequire(import.meta.url);
const ws = require('ws');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
let port = 0;
let wwwDir = path.join(root, 'www');
let pkgDir = path.join(root, 'pkg');
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--www') wwwDir = path.resolve(argv[++i]);
  else if (argv[i] === '--pkg') pkgDir = path.resolve(argv[++i]);
  else port = Number(argv[i]);
}

// ---- the article's chat server ----

const wss = new ws.Server({ noServer: true });

const clients = new Set();

function onSocketConnect(ws) {
  clients.add(ws);

  ws.on('message', function (message) {
    message = message.slice(0, 50); // max message length will be 50

    for (let client of clients) {
      client.send(message);
    }
  });

  ws.on('close', function () {
    clients.delete(ws);
  });
}

// ---- static files, for the tests ----

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function serveStatic(req, res) {
  const { pathname } = new URL(req.url, 'http://localhost');
  let dir = wwwDir;
  let rel = decodeURIComponent(pathname);
  if (rel === '/pkg' || rel.startsWith('/pkg/')) {
    dir = pkgDir;
    rel = rel.slice('/pkg'.length);
  }
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  const file = path.join(dir, path.normalize(rel));
  if (!file.startsWith(dir + path.sep)) {
    res.writeHead(403).end('forbidden\n');
    return;
  }
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': types[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : data);
  });
}

const server = http.createServer(serveStatic);

server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url, 'http://localhost').pathname !== '/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, onSocketConnect);
});

function shutdown() {
  for (const client of clients) client.terminate();
  server.close(() => process.exit(0));
  // Connections still open (HTTP keep-alive) must not keep the process alive.
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(port, '127.0.0.1', () => {
  console.log(`tutorial-server listening on http://127.0.0.1:${server.address().port}/`);
});
