// The browser benchmark's server (scripts/bench-web.sh): on one port of 127.0.0.1, the static
// files of the benchmark page and the built wasm packages, and two WebSocket routes on Node's
// `ws` package:
//   /echo   every message back as it came (text as text, binary as binary);
//   /hello  the tutorial's demo server: "My name is NAME" gets "Hello from server, NAME!",
//           then a close 1000 (other messages are echoed), as chat-server's /hello does.
// Pages are served cross-origin isolated (COOP + COEP), so `performance.now()` has 5 µs
// resolution instead of 100 µs. No compression is negotiated (ws's server default).
// Prints one stdout line: `bench-server listening on http://127.0.0.1:PORT/`.
//
//   node bench/web/server.mjs --page DIR --pkg DIR --size DIR [--port N]

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { WebSocketServer } = require('ws');

const argv = process.argv.slice(2);
const dirs = {};
let port = 0;
for (let i = 0; i < argv.length; i++) {
  const flag = argv[i];
  if (flag === '--port') port = Number(argv[++i]);
  else if (['--page', '--pkg', '--size'].includes(flag)) dirs[flag.slice(2)] = path.resolve(argv[++i]);
  else throw new Error(`unknown argument ${flag}`);
}
for (const name of ['page', 'pkg', 'size']) {
  if (!dirs[name]) throw new Error(`--${name} DIR is required`);
}

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

// /pkg/... from --pkg, /size/... from --size, anything else from --page.
function resolve(pathname) {
  let base = dirs.page;
  let rel = pathname;
  for (const prefix of ['pkg', 'size']) {
    if (rel.startsWith(`/${prefix}/`)) {
      base = dirs[prefix];
      rel = rel.slice(prefix.length + 1);
    }
  }
  if (rel.endsWith('/')) rel += 'index.html';
  const file = path.resolve(base, `.${rel}`);
  return file.startsWith(base + path.sep) ? file : null;
}

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  const file = resolve(decodeURIComponent(pathname));
  fs.readFile(file ?? '', (error, body) => {
    if (error || !file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': types[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(body);
  });
});

const echo = new WebSocketServer({ noServer: true, perMessageDeflate: false });
echo.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

const hello = new WebSocketServer({ noServer: true, perMessageDeflate: false });
hello.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString();
    if (text?.startsWith('My name is ')) {
      ws.send(`Hello from server, ${text.slice('My name is '.length)}!`);
      ws.close(1000);
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
});

server.on('upgrade', (req, socket, head) => {
  socket.setNoDelay(true);
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  const wss = { '/echo': echo, '/hello': hello }[pathname];
  if (!wss) {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

server.listen(port, '127.0.0.1', () => {
  console.log(`bench-server listening on http://127.0.0.1:${server.address().port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(0));
}
