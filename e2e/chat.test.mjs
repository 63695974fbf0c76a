// The wasm chat page (www/index.html), the hello page and the native `chat` client against
// the project's chat-server, in headless Chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  checkSawAll,
  describePage,
  ensureArtifacts,
  openChatPage,
  openPage,
  pageMessages,
  sendFromPage,
  startChat,
  startChatServer,
  waitForPageMessages,
  waitForStatus,
  waitUntil,
  useBrowser,
} from './harness.mjs';

const browser = useBrowser();

test('three-way chat: two pages and the chat process see every message, in order', { timeout: 90000 }, async (t) => {
  const server = await startChatServer();
  t.after(server.stop);
  const pageA = await openChatPage(browser(), server.url);
  const pageB = await openChatPage(browser(), `${server.url}index.html`);
  const chat = startChat(server.wsUrl);
  t.after(() => chat.stop());
  await chat.waitForStderr(/connected/);

  const N = 5;
  const sent = { A: [], B: [], C: [] };
  for (let i = 1; i <= N; i++) {
    for (const [who, page] of [['A', pageA], ['B', pageB]]) {
      await sendFromPage(page, `${who}${i}`);
      sent[who].push(`${who}${i}`);
    }
    chat.write(`C${i}\n`);
    sent.C.push(`C${i}`);
  }

  const total = 3 * N;
  const [seenA, seenB] = await Promise.all([
    waitForPageMessages(pageA, total),
    waitForPageMessages(pageB, total),
    chat.waitForLines(total),
  ]);
  checkSawAll(assert, 'page A', seenA, sent);
  checkSawAll(assert, 'page B', seenB, sent);
  checkSawAll(assert, 'the chat process', chat.lines, sent);
  // The server queues each message for everyone under one lock: all see the same order.
  assert.deepEqual(seenB, seenA, 'both pages saw the same order');
  assert.deepEqual(chat.lines, seenA, 'the process saw the same order as the pages');

  // The send input is emptied after each send.
  assert.equal(await pageA.inputValue('input[name=message]'), '');
  await pageA.screenshot({ path: path.join(ensureArtifacts(), 'chat.png'), fullPage: true });

  // End of input: the client leaves (1000), the server answers, the client exits 0.
  chat.closeStdin();
  const exit = await chat.waitForExit(15000);
  assert.deepEqual(exit, { code: 0, signal: null }, chat.describe());
  assert.match(chat.stderr, /closed \(code 1000/);

  // The pages stay in the chat.
  await sendFromPage(pageA, 'still here');
  assert.equal((await waitForPageMessages(pageB, total + 1)).at(-1), 'still here');
  assert.equal(await pageA.textContent('#status'), 'open');
  assert.deepEqual(pageA.errors, []);
  assert.deepEqual(pageB.errors, []);
});

test("hello page: the tutorial's four lines, ending with a clean close 1000", { timeout: 60000 }, async (t) => {
  const server = await startChatServer();
  t.after(server.stop);
  const page = await openPage(browser(), `${server.url}hello.html`);
  const expected = [
    '[open] Connection established',
    'Sending to server',
    '[message] Data received from server: Hello from server, John!',
    '[close] Connection closed cleanly, code=1000 reason=',
  ];
  try {
    await page.waitForFunction((n) => document.querySelectorAll('#log div.line').length >= n, expected.length, {
      timeout: 15000,
    });
  } catch (e) {
    throw new Error(`${e.message}\nlog: ${await page.textContent('#log')}; console: ${JSON.stringify(page.logs)}`);
  }
  const lines = await page.$$eval('#log div.line', (divs) => divs.map((d) => d.textContent));
  assert.deepEqual(lines, expected);
  const logged = () => page.logs.filter((m) => m.type === 'log').map((m) => m.text);
  await waitUntil(() => logged().length >= expected.length, {
    what: 'the four lines on the console',
    describe: () => JSON.stringify(page.logs),
  });
  assert.deepEqual(logged(), expected);
  assert.deepEqual(
    page.logs.filter((m) => m.type === 'error' && !/favicon|Failed to load resource/.test(m.text)),
    [],
    'no errors on the console',
  );
  assert.deepEqual(page.errors, []);
});

test('a message of 60 characters arrives cut to 50 (characters, not bytes)', { timeout: 60000 }, async (t) => {
  const server = await startChatServer();
  t.after(server.stop);
  const page = await openChatPage(browser(), server.url);
  const ascii = '0123456789'.repeat(6);
  const accented = 'é'.repeat(30) + 'ж'.repeat(30); // 60 characters, 120 bytes in UTF-8
  await sendFromPage(page, ascii);
  await sendFromPage(page, accented);
  const seen = await waitForPageMessages(page, 2);
  assert.deepEqual(seen, [ascii.slice(0, 50), 'é'.repeat(30) + 'ж'.repeat(20)]);
  assert.equal([...seen[1]].length, 50);
});

test('an over-size message closes the sender with 1009; the others stay', { timeout: 60000 }, async (t) => {
  const limit = 65536;
  const server = await startChatServer(['--max-message-size', String(limit)]);
  t.after(server.stop);
  const page = await openChatPage(browser(), server.url);
  const other = await openChatPage(browser(), server.url);

  await sendFromPage(page, 'x'.repeat(limit + 4464)); // 70000 characters
  await waitForStatus(page, 'closed');
  const ends = await page.$$eval('#messages .closed, #messages .died', (divs) =>
    divs.map((d) => ({ kind: d.className, text: d.textContent })),
  );
  assert.equal(ends.length, 1, await describePage(page));
  // The server answers with a close frame 1009 and then the closing handshake completes: the
  // page reports a clean close (a .died line would mean the code came with no handshake).
  assert.equal(ends[0].kind, 'closed', JSON.stringify(ends));
  assert.match(ends[0].text, /^— closed \(code 1009\b/, JSON.stringify(ends));
  assert.deepEqual(await pageMessages(page), [], 'nothing of the over-size message was broadcast');
  assert.equal(await page.isDisabled('input[name=message]'), true, 'the input is disabled once closed');

  // The other page is still in the chat, and got nothing of it.
  await sendFromPage(other, 'after');
  assert.deepEqual(await waitForPageMessages(other, 1), ['after']);
  assert.equal(await other.textContent('#status'), 'open');
});
