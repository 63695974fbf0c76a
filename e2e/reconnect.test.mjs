// A server restart loses nobody: the wasm chat page (headless Chromium), the terminal client
// and the desktop window (chat-desktop under Xvfb, typed into through the X server) chat
// through chat-server; the server is stopped (SIGTERM: it closes everyone with 1001) and
// started again on the same port, then killed (SIGKILL: connections just die) and started
// again. Each time all three clients show that they are reconnecting, come back by themselves
// and go on chatting; a line typed into the terminal client while the server is down is sent
// once it is back. A screenshot of the window is left in target/e2e/desktop.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  checkSawAll,
  describePage,
  ensureArtifacts,
  openChatPage,
  screenshotDisplay,
  sendFromPage,
  startChat,
  startChatServer,
  startDesktop,
  startXvfb,
  typeIntoDesktop,
  useBrowser,
  waitForPageMessages,
  waitForStatus,
} from './harness.mjs';

const browser = useBrowser();

/** What the page's #status says while it is away: waiting, or an attempt under way. */
const AWAY = /^(reconnecting in \d+\.\d s \(attempt \d+\)|connecting \(attempt \d+\))$/;

async function waitForPageAway(page) {
  try {
    await page.waitForFunction(
      (pattern) => new RegExp(pattern).test(document.getElementById('status')?.textContent ?? ''),
      AWAY.source,
      { timeout: 15000, polling: 20 },
    );
  } catch (e) {
    throw new Error(`the page never showed that it is reconnecting: ${e.message}\n${await describePage(page)}`);
  }
}

/** The count of stderr lines of `proc` matching `pattern`. */
const count = (proc, pattern) => proc.stderr.split('\n').filter((line) => pattern.test(line)).length;

test('page, terminal and desktop clients reconnect by themselves when chat-server restarts, and go on chatting', { timeout: 180000 }, async (t) => {
  let server = await startChatServer();
  t.after(() => server.stop());
  const { port } = server;
  const xvfb = await startXvfb();
  t.after(xvfb.stop);

  const page = await openChatPage(browser(), server.url);
  const terminal = startChat(server.wsUrl, 'chat (terminal)');
  t.after(() => terminal.stop());
  const desktop = startDesktop(server.wsUrl, xvfb.display);
  t.after(() => desktop.stop());
  await terminal.waitForStderr(/connected to /);
  await desktop.waitForStderr(/connected to /, 30000);

  /** One round: each client sends `${who}${round}`; all three see all three, each once. */
  const chatRound = async (round) => {
    const sent = { page: [`page${round}`], terminal: [`terminal${round}`], desktop: [`desktop${round}`] };
    const mine = new Set(Object.values(sent).flat());
    const before = {
      page: (await waitForPageMessages(page, 0)).length,
      terminal: terminal.lines.length,
      desktop: desktop.lines.length,
    };
    await sendFromPage(page, sent.page[0]);
    terminal.write(`${sent.terminal[0]}\n`);
    await typeIntoDesktop(desktop, xvfb.display, sent.desktop[0]);
    const seen = (lines) => lines.filter((line) => mine.has(line));
    const pageLines = await waitForPageMessages(page, before.page + 3);
    await terminal.waitFor(() => seen(terminal.lines.slice(before.terminal)).length >= 3, `round ${round} in the terminal`);
    await desktop.waitFor(() => seen(desktop.lines.slice(before.desktop)).length >= 3, `round ${round} in the window`);
    checkSawAll(assert, `the page (round ${round})`, seen(pageLines.slice(before.page)), sent);
    checkSawAll(assert, `the terminal client (round ${round})`, seen(terminal.lines.slice(before.terminal)), sent);
    checkSawAll(assert, `the desktop client (round ${round})`, seen(desktop.lines.slice(before.desktop)), sent);
  };

  await chatRound(1);

  for (const [signal, round] of [['SIGTERM', 2], ['SIGKILL', 3]]) {
    const reconnectedBefore = { terminal: count(terminal, /connected again/), desktop: count(desktop, /connected again/) };
    process.kill(server.proc.pid, signal);
    await server.proc.waitForExit(10000);

    // All three say they are reconnecting (attempt 1 first), and none gives up.
    await waitForPageAway(page);
    await terminal.waitForStderr(/reconnecting in \d+\.\d s \(attempt 1\)/);
    await desktop.waitForStderr(/reconnecting in \d+\.\d s \(attempt 1\)/);
    assert.equal(await page.isDisabled('input[name=message]'), false, 'the page keeps its input');

    // Typed while the server is down: queued, sent once the terminal client is back.
    const queued = `queued while down ${round}`;
    terminal.write(`${queued}\n`);

    server = await startChatServer(['--listen', `127.0.0.1:${port}`]);
    assert.equal(server.port, port, 'the server came back on its port');

    await waitForStatus(page, 'open', 30000);
    await terminal.waitFor(() => count(terminal, /connected again/) > reconnectedBefore.terminal, 'the terminal client back', 30000);
    await desktop.waitFor(() => count(desktop, /connected again/) > reconnectedBefore.desktop, 'the window back', 30000);
    assert.match(terminal.stderr, new RegExp(`connected again to .*\\(1 queued lines sent\\)`));
    // The terminal client sees its own queued line come back from the server.
    await terminal.waitFor(() => terminal.lines.includes(queued), 'the queued line echoed to the terminal client');

    await chatRound(round);
  }

  // The window shows what it received; its screenshot is kept.
  const shot = path.join(ensureArtifacts(), 'desktop.png');
  const colours = await screenshotDisplay(xvfb.display, shot);
  assert.ok(colours > 8, `the screenshot shows a drawn window (${colours} colours)`);
  await page.screenshot({ path: path.join(ensureArtifacts(), 'chat-reconnected.png'), fullPage: true });

  // Nobody left on the way; the terminal client still leaves cleanly at the end of its input.
  assert.equal(terminal.exit, null, terminal.describe());
  assert.equal(desktop.exit, null, desktop.describe());
  assert.deepEqual(page.errors, []);
  terminal.closeStdin();
  assert.deepEqual(await terminal.waitForExit(15000), { code: 0, signal: null }, terminal.describe());
  assert.match(terminal.stderr, /closed \(code 1000/);
});
