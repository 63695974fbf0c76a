// Interop with the tutorial's code: twinsock's clients against the article's Node server
// (e2e/tutorial-server.mjs, which re-broadcasts as binary frames), and the article's
// plain-JavaScript page (www/tutorial-chat.html) against chat-server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkSawAll,
  openChatPage,
  openPage,
  sendFromPage,
  startChat,
  startChatServer,
  startTutorialServer,
  waitForPageMessages,
  useBrowser,
} from './harness.mjs';

const browser = useBrowser();

test("the chat process and the wasm page talk through the tutorial's Node server", { timeout: 60000 }, async (t) => {
  const server = await startTutorialServer();
  t.after(server.stop);
  const page = await openChatPage(browser(), server.url);
  const chat = startChat(server.wsUrl);
  t.after(() => chat.stop());
  await chat.waitForStderr(/connected/);

  const sent = { page: [], process: [] };
  for (let i = 1; i <= 4; i++) {
    await sendFromPage(page, `page ${i} — ünïcode`);
    sent.page.push(`page ${i} — ünïcode`);
    chat.write(`process ${i} ✓\n`);
    sent.process.push(`process ${i} ✓`);
  }
  const [seen] = await Promise.all([waitForPageMessages(page, 8), chat.waitForLines(8)]);
  // The tutorial's server sends everything back as binary frames; the chat shows them as text.
  checkSawAll(assert, 'the page', seen, sent);
  checkSawAll(assert, 'the chat process', chat.lines, sent);
  assert.deepEqual(chat.lines, seen, 'the same order for both');

  // The tutorial's cut is 50 bytes of the Buffer, so ASCII shows it exactly.
  await sendFromPage(page, 'x'.repeat(60));
  assert.equal((await waitForPageMessages(page, 9)).at(-1), 'x'.repeat(50));
  await chat.waitForLines(9);
  assert.equal(chat.lines[8], 'x'.repeat(50));

  chat.closeStdin();
  assert.deepEqual(await chat.waitForExit(15000), { code: 0, signal: null }, chat.describe());
  assert.equal(await page.textContent('#status'), 'open');
  assert.deepEqual(page.errors, []);
});

test("the tutorial's plain-JavaScript page and the wasm page talk through chat-server", { timeout: 60000 }, async (t) => {
  const server = await startChatServer();
  t.after(server.stop);
  const plain = await openPage(browser(), `${server.url}tutorial-chat.html`);
  // The article's page has no status line: wait for its `socket` (a global `let`) to open.
  await plain.waitForFunction(() => socket.readyState === WebSocket.OPEN, null, { timeout: 15000 });
  const wasm = await openChatPage(browser(), server.url);

  const sent = { plain: [], wasm: [] };
  for (let i = 1; i <= 4; i++) {
    await sendFromPage(plain, `plain ${i}`);
    sent.plain.push(`plain ${i}`);
    await sendFromPage(wasm, `wasm ${i} <b>not bold</b>`);
    sent.wasm.push(`wasm ${i} <b>not bold</b>`);
  }
  // The article's page shows messages as unclassed divs in #messages, newest first.
  const [seenPlain, seenWasm] = await Promise.all([
    waitForPageMessages(plain, 8, { selector: '#messages > div' }),
    waitForPageMessages(wasm, 8),
  ]);
  checkSawAll(assert, 'the plain page', seenPlain, sent);
  checkSawAll(assert, 'the wasm page', seenWasm, sent);
  assert.deepEqual(seenPlain, seenWasm, 'the same order for both');
  // Text, never HTML, in both pages.
  assert.equal(await wasm.locator('#messages b').count(), 0);
  assert.equal(await plain.locator('#messages b').count(), 0);
  assert.deepEqual(plain.errors, []);
  assert.deepEqual(wasm.errors, []);
});
