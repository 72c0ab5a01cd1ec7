// Issue #12's proof: an event stream held open across token expiries, in Node
// (the installed package, node.js) and in headless Chromium (pkg/web.js as
// built), against the Clerk and Fauna stand-ins over loopback HTTP. The
// stream runs as Alice on 3 s tokens; the Fauna stand-in re-checks them
// every 200 ms and ends the stream with `permission_loss` once one expired;
// meanwhile another client (the root secret) writes 100 of Alice's documents
// at random intervals, one to three per transaction, in five rounds of 20,
// each round once the stream is on one more connection. Proved: every write reaches the consumer exactly once,
// in order (ids and txn_ts against the writes' answers); the request log
// shows each reconnect, made by Alice with a token never sent before.
//
// No timed assertion: the test waits for conditions (a connection in the
// log, an event) with generous deadlines, so a busy machine is only slower.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { api, deadline, launchChromium, launchStandIns, requestsTo, until as waitFor, writeTodoAsRoot, writeTodosAsRoot } from '../../devserver/launch.mjs';
import { serveStatic } from '../../www/e2e/static-server.mjs';
import { watchStream } from './streams/consumer.js';
import { ALICE, assertInstalledCopyIsCurrent, here, repoDir } from './harness.mjs';

const WRITES = 100;
/** Rounds of writes, each on a connection of its own: at least five token lifetimes. */
const ROUNDS = 5;
/** The pause before each transaction is drawn from 0 to this (ms): 20 documents span about one 3 s token. */
const MAX_PAUSE_MS = 300;
/** The Fauna stand-in's idle re-check of a stream's token (the server's is about a minute). */
const IDLE_CHECK_MS = 200;
/** The longest wait for one condition; only a failing run waits this long. */
const PATIENCE_MS = 60_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('streams: one stream through five token expiries while another client writes, in Node and Chromium', () => {
  let standIns;
  let browser;
  let site;

  before(async () => {
    await assertInstalledCopyIsCurrent();
    standIns = await launchStandIns(repoDir, { streamIdleCheckMs: IDLE_CHECK_MS });
    browser = await launchChromium(chromium);
    site = await serveStatic({
      '/pkg/': join(repoDir, 'pkg'),
      '/app/': join(here, 'app'),
      '/streams/': join(here, 'streams'),
    });
  }, { timeout: 16 * 60_000 });

  after(async () => {
    await browser?.close();
    await site?.close();
    await standIns?.stop();
  }, { timeout: 30_000 });

  beforeEach(() => api(`${standIns.fauna}/__admin/reset`, {}));

  /** Resolves once `check()` resolves truthy; fails after PATIENCE_MS naming `what`. */
  const until = (check, what) => waitFor(check, PATIENCE_MS, what);

  /** The stream connections in the Fauna stand-in's log, oldest first. */
  const connections = () => requestsTo(standIns.fauna, '/stream/1');

  /** One of Alice's documents, written by another client (the root secret). */
  const writeAsRoot = (title) => writeTodoAsRoot(standIns.fauna, ALICE, title);

  /**
   * The proof, whatever runs the consumer: `consumer` reads its events and
   * end, and closes it. Prints what it counted on one line.
   */
  async function prove(consumer, where) {
    const writes = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await until(async () => (await connections()).filter((c) => c.status === 200).length >= round, `connection ${round}`);
      for (let end = round * (WRITES / ROUNDS); writes.length < end; ) {
        // Random pacing, so writes also land while the stream reconnects.
        await sleep(Math.random() * MAX_PAUSE_MS);
        const titles = Array.from({ length: Math.min(end - writes.length, 1 + Math.floor(Math.random() * 3)) }, (_, i) => `write ${writes.length + i + 1}`);
        writes.push(...(await writeTodosAsRoot(standIns.fauna, ALICE, titles)));
      }
    }
    // One more reconnect after the last write, then a sentinel write: an
    // event repeated by that reconnect would arrive before the sentinel's.
    await until(async () => (await connections()).length > ROUNDS, `connection ${ROUNDS + 1}`);
    const sentinel = await writeAsRoot('sentinel');
    const events = await until(async () => {
      const seen = await consumer.events();
      return seen.some((e) => e.id === sentinel.id) && seen;
    }, `the sentinel's event (${where})`);
    const end = await consumer.end();
    assert.equal(end, undefined, `the stream ended: ${JSON.stringify(end)}`);

    const delivered = events.slice(0, events.findIndex((e) => e.id === sentinel.id));
    assert.deepEqual(
      delivered.map((e) => [e.type, e.id, e.txnTs]),
      writes.map((w) => ['add', w.id, w.txnTs]),
      'every write delivered exactly once, in order',
    );
    assert.equal(new Set(events.map((e) => e.cursor)).size, events.length, 'a cursor repeated');

    await consumer.close();
    assert.deepEqual(await until(() => consumer.end(), 'the end after close()'), { clean: true });
    const log = await until(async () => {
      const all = await connections();
      return all.at(-1)?.ended === 'client_closed' && all;
    }, 'the last connection closed by the client');

    // Each connection: Alice's, accepted, with a token sent on no other one;
    // each but the last ended by the server when its token expired.
    assert.ok(log.length > ROUNDS, `${log.length} connections: fewer than ${ROUNDS} reconnects`);
    assert.deepEqual(
      log.map((c) => [c.sub, c.auth, c.status]),
      log.map(() => [ALICE, 'ok', 200]),
    );
    assert.equal(new Set(log.map((c) => c.jti)).size, log.length, 'a token was sent on two connections');
    assert.deepEqual(
      log.slice(0, -1).map((c) => c.ended),
      log.slice(0, -1).map(() => 'permission_loss'),
    );
    console.log(
      `# ${where}: ${writes.length} documents in ${new Set(writes.map((w) => w.txnTs)).size} transactions + sentinel, ${delivered.length + 1} events delivered, ` +
        `${log.length} connections (${log.length - 1} reconnects, each after permission_loss, each with a new token of ${ALICE})`,
    );
  }

  it('Node: every event once, in order, across the reconnects', { timeout: 5 * 60_000 }, async () => {
    const clerkFauna = await import('clerk-fauna');
    const watch = await watchStream(clerkFauna, { clerk: standIns.clerk, fauna: standIns.fauna, userId: ALICE });
    try {
      await prove(
        {
          events: async () => watch.events,
          end: async () => watch.end,
          close: async () => watch.close(),
        },
        'Node',
      );
    } finally {
      watch.close();
    }
  });

  it('Chromium (pkg/web.js): every event once, in order, across the reconnects', { timeout: 5 * 60_000 }, async () => {
    const page = await browser.context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
    const run = (fn) => deadline(page.evaluate(fn), 30_000, 'page.evaluate');
    try {
      const query = new URLSearchParams({ clerk: standIns.clerk, fauna: standIns.fauna, user: ALICE });
      await page.goto(`${site.origin}/streams/index.html?${query}`, { timeout: 20_000 });
      const result = await page
        .waitForFunction(() => window.result, null, { polling: 50, timeout: 20_000 })
        .then((handle) => handle.jsonValue());
      assert.equal(result.ok, true, result.error);
      await prove(
        {
          events: () => run(() => S.events),
          end: () => run(() => S.end),
          close: () => run(() => S.close()),
        },
        'Chromium',
      );
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
