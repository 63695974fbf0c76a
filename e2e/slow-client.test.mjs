// Bounded memory per client: a chat client that never reads is disconnected by chat-server
// once its queue is full, while the others keep receiving everything, in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import WebSocket from 'ws';
import { checkSawAll, startChat, startChatServer, withTimeout } from './harness.mjs';

/**
 * The kernel's TCP state of chat-server's end of the connection from client port
 * `clientPort` (hex, as in /proc/net/tcp: '01' established, '04' FIN_WAIT1...), or null when
 * the server has no such socket any more.
 */
function serverSideState(serverPort, clientPort) {
  const hex = (port) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (local?.endsWith(hex(serverPort)) && remote?.endsWith(hex(clientPort))) return state;
  }
  return null;
}

const ESTABLISHED = '01';

test('a client that never reads is disconnected while the others keep receiving', { timeout: 180000 }, async (t) => {
  const queue = 128;
  const server = await startChatServer(['--queue-bytes', String(queue * 256)]);
  t.after(server.stop);

  // The client that never reads: Node's `ws`, its socket paused right after the handshake.
  const slow = new WebSocket(server.wsUrl);
  t.after(() => slow.terminate());
  const received = [];
  slow.on('message', (data) => received.push(String(data)));
  const slowClosed = new Promise((resolve) => slow.on('close', (code) => resolve(code)));
  await withTimeout(new Promise((resolve, reject) => {
    slow.once('open', resolve);
    slow.once('error', reject);
  }), 10000, 'the never-reading client to connect');
  slow._socket.pause();
  const slowPort = slow._socket.localPort;
  assert.equal(serverSideState(server.port, slowPort), ESTABLISHED, 'the server side of the slow client is found');

  const a = startChat(server.wsUrl, 'chat A');
  t.after(() => a.stop());
  const b = startChat(server.wsUrl, 'chat B');
  t.after(() => b.stop());
  await Promise.all([a.waitForStderr(/connected/), b.waitForStderr(/connected/)]);

  // The kernel buffers megabytes for a client that does not read (the server's send buffer
  // grows to net.ipv4.tcp_wmem's maximum, 4 MiB here) before the server's queue fills at all,
  // so the two exchange messages until the server has dropped the slow client (its side of
  // the connection leaves ESTABLISHED). Each round every client waits for at most
  // queue / 2 messages, so the two readers' queues never fill: only the slow one's can.
  // Each message is 47 characters, 167 bytes: as big as a chat message gets after the cut.
  const perRound = queue / 4;
  const pad = '😀'.repeat(40);
  const sent = { A: [], B: [] };
  const round = async () => {
    for (const [who, proc] of [['A', a], ['B', b]]) {
      let lines = '';
      for (let i = 0; i < perRound; i++) {
        const message = `${who}${String(sent[who].length).padStart(5, '0')} ${pad}`;
        sent[who].push(message);
        lines += `${message}\n`;
      }
      proc.write(lines);
    }
    const total = sent.A.length + sent.B.length;
    await Promise.all([a.waitForLines(total, 30000), b.waitForLines(total, 30000)]);
  };
  const started = Date.now();
  const maxPerSender = 200000; // 33 MB each: far beyond any kernel buffer here
  while (serverSideState(server.port, slowPort) === ESTABLISHED) {
    assert.ok(sent.A.length < maxPerSender, `the slow client was still connected after ${sent.A.length * 2} messages`);
    assert.ok(Date.now() - started < 120000, 'the slow client was still connected after 120 s');
    await round();
  }
  // The others keep talking after it is gone.
  for (let i = 0; i < 3; i++) await round();
  t.diagnostic(`slow client dropped after about ${sent.A.length * 2} messages, in ${Date.now() - started} ms`);

  checkSawAll(assert, 'chat A', a.lines, sent);
  checkSawAll(assert, 'chat B', b.lines, sent);
  assert.deepEqual(b.lines, a.lines, 'A and B saw the same order');

  // The server's log says why (its log lines are not an interface: only this match is relied on).
  const plainLog = () => server.proc.stderr.replace(/\x1b\[[0-9;]*m/g, '');
  await server.proc.waitFor(
    () => new RegExp(`disconnected peer=127\\.0\\.0\\.1:${slowPort}\\b.*server_close=1013`).test(plainLog()),
    'the log line of the slow client disconnected with 1013',
    10000,
  );

  // Reading again, the slow client gets what the kernel held (a prefix of the conversation, in
  // order) and then the end of the connection: 1006, as the server's close frame (1013) could
  // not get through the full buffers before the server gave up on it (1013 would be fine too).
  slow._socket.resume();
  const code = await withTimeout(slowClosed, 20000, 'the slow client to see the end of its connection');
  assert.ok([1006, 1013].includes(code), `close code ${code}`);
  assert.ok(received.length > 0, 'the slow client had received messages');
  assert.ok(received.length < a.lines.length, 'the slow client did not get everything');
  assert.deepEqual(received, a.lines.slice(0, received.length), 'the slow client got a prefix, in order');

  // Both leave cleanly.
  a.closeStdin();
  b.closeStdin();
  assert.deepEqual(await a.waitForExit(15000), { code: 0, signal: null }, a.describe());
  assert.deepEqual(await b.waitForExit(15000), { code: 0, signal: null }, b.describe());
});
