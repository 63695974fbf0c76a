// chat-server with --tls-cert/--tls-key: Chromium loads the chat page over https:// and the
// page, which opens the relative URL /ws, chats over wss://, with a second page and with a
// Node `ws` client, all trusting a certificate made for the test (openssl).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import {
  checkSawAll,
  openPage,
  sendFromPage,
  startChatServer,
  useBrowser,
  waitForPageMessages,
  waitForStatus,
  withTimeout,
} from './harness.mjs';

const browser = useBrowser();

/** A self-signed certificate for 127.0.0.1 in a temporary directory: {cert, key, pem, dir}. */
function makeCertificate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-wss-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert, key, pem: fs.readFileSync(cert), dir };
}

test('a page loaded over https chats over wss with another page and a Node client', { timeout: 90000 }, async (t) => {
  const certificate = makeCertificate();
  t.after(() => fs.rmSync(certificate.dir, { recursive: true, force: true }));
  const server = await startChatServer(['--tls-cert', certificate.cert, '--tls-key', certificate.key]);
  t.after(server.stop);
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  assert.match(server.wsUrl, /^wss:\/\//);

  // Chromium trusts the test certificate in these contexts only.
  const pageA = await openPage(browser(), server.url, { ignoreHTTPSErrors: true });
  const pageB = await openPage(browser(), server.url, { ignoreHTTPSErrors: true });
  await Promise.all([waitForStatus(pageA, 'open'), waitForStatus(pageB, 'open')]);
  assert.equal(await pageA.evaluate(() => location.protocol), 'https:');

  const node = new WebSocket(server.wsUrl, { ca: certificate.pem, origin: server.origin });
  t.after(() => node.terminate());
  const nodeSeen = [];
  node.on('message', (data) => nodeSeen.push(String(data)));
  await withTimeout(new Promise((resolve, reject) => {
    node.once('open', resolve);
    node.once('error', reject);
  }), 10000, 'the Node client to connect over wss');

  const sent = { A: [], B: [], N: [] };
  for (let i = 1; i <= 3; i++) {
    await sendFromPage(pageA, `A${i}`);
    sent.A.push(`A${i}`);
    await sendFromPage(pageB, `B${i}`);
    sent.B.push(`B${i}`);
    node.send(`N${i}`);
    sent.N.push(`N${i}`);
  }
  const [seenA, seenB] = await Promise.all([waitForPageMessages(pageA, 9), waitForPageMessages(pageB, 9)]);
  checkSawAll(assert, 'page A', seenA, sent);
  checkSawAll(assert, 'page B', seenB, sent);
  await withTimeout((async () => {
    while (nodeSeen.length < 9) await new Promise((resolve) => setTimeout(resolve, 20));
  })(), 10000, 'the Node client to get every message');
  checkSawAll(assert, 'the Node client', nodeSeen, sent);
  assert.deepEqual(pageA.errors, []);

  // Without trusting the certificate, a page cannot even load.
  const untrusting = await (await browser().newContext()).newPage();
  await assert.rejects(untrusting.goto(server.url), /ERR_CERT/);
});
