// clerk-fauna/react in headless Chromium: a React app (hooks/) built by Vite
// with React's development build, so StrictMode mounts every effect twice,
// signed in through the Clerk stand-in and querying and streaming from the
// Fauna stand-in. The page exposes `window.T` to switch the user, change the
// query and refetch, set the stream's source and options, and show a list
// kept live by the README's recipe (www/src/live-list.ts).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { build as viteBuild } from 'vite';
import { api, deadline, launchChromium, launchStandIns, requestsTo } from '../../devserver/launch.mjs';
import { serveStatic } from '../../www/e2e/static-server.mjs';
import { ALICE, assertInstalledCopyIsCurrent, here, repoDir } from './harness.mjs';

const BOB = 'user_2bObKp4nH6jG8fE0dC2aZ9yX7wV';
const DROPPED_LINE = 'Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING';

describe('React hooks (clerk-fauna/react) under StrictMode, in Chromium', () => {
  let standIns;
  let browser;
  let site;
  let page;
  const problems = []; // the page's uncaught errors and console errors

  /** The Fauna stand-in's FQL v10 requests so far: `[{ sub, status, fault }]`. */
  const queries = () => requestsTo(standIns.fauna, '/query/1');
  /** Resolves once `fn(arg)` is truthy in the page. */
  const until = (fn, arg) => page.waitForFunction(fn, arg, { polling: 20, timeout: 20_000 });
  const state = () => page.evaluate(() => window.T.state);
  /** The stand-in's /stream/1 connections so far: `[{ sub, status, ended }]`. */
  const streams = () => requestsTo(standIns.fauna, '/stream/1');
  /** Runs `fql` with `args` in the page, as the signed-in user, through the page's client. */
  const write = (fql, args) => page.evaluate(([f, a]) => window.T.client.query(f, a).then((r) => r.data), [fql, args]);
  /** Resolves once the stand-in's log says `check(connections)`. */
  async function untilStreams(check, what) {
    const end = Date.now() + 20_000;
    for (;;) {
      const all = await streams();
      if (check(all)) return all;
      if (Date.now() > end) assert.fail(`${what}: ${JSON.stringify(all)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  before(async () => {
    await assertInstalledCopyIsCurrent();
    standIns = await launchStandIns(repoDir);
    const outDir = join(here, 'dist', 'hooks');
    await deadline(
      viteBuild({
        configFile: false,
        root: join(here, 'hooks'),
        logLevel: 'warn',
        mode: 'development',
        // React's development build: StrictMode's double effects are on.
        define: { 'process.env.NODE_ENV': '"development"' },
        build: { outDir, emptyOutDir: true, minify: false },
        // The README's live list comes from the demo (www/src/live-list.ts):
        // its imports must resolve to this folder's React and clerk-fauna.
        resolve: { dedupe: ['react', 'react-dom', 'clerk-fauna'] },
      }),
      120_000,
      'vite build',
    );
    site = await serveStatic({ '/': outDir });
    browser = await launchChromium(chromium);
    page = await browser.context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e}`));
    page.on('console', (m) => {
      // Chromium's own line for the stream connection the stand-in drops on purpose (a stream fault).
      const dropped = m.text() === DROPPED_LINE && m.location().url === `${standIns.fauna}/stream/1`;
      if (m.type() === 'error' && !dropped) problems.push(`console error: ${m.text()}`);
    });
    await api(`${standIns.clerk}/__admin/reset`, {});
    const query = new URLSearchParams({ clerk: standIns.clerk, fauna: standIns.fauna, user: ALICE });
    await page.goto(`${site.origin}/index.html?${query}`, { timeout: 20_000 });
  }, { timeout: 16 * 60_000 });

  after(async () => {
    await browser?.close();
    await site?.close();
    await standIns?.stop();
    assert.deepEqual(problems, []);
  }, { timeout: 30_000 });

  it('mounts twice under StrictMode yet asks getToken once, and queries as the user', async () => {
    await until(() => window.T.state?.data !== undefined || window.T.loadError);
    assert.equal(await page.evaluate(() => window.T.loadError), undefined);
    const { data, error, isLoading } = await state();
    assert.deepEqual({ data, error, isLoading }, { data: ALICE, error: undefined, isLoading: false });
    assert.equal(await page.evaluate(() => window.T.mounts), 2, 'StrictMode mounted the app twice');
    const clerk = await api(`${standIns.clerk}/__admin/stats`);
    assert.equal(clerk.token_requests, 1, 'one getToken call for both mounts');
    const stats = await page.evaluate(() => window.T.tokens.stats);
    assert.equal(stats.misses + stats.refreshes, 1, 'the TokenCache made one getToken call');
    for (const q of await queries()) assert.deepEqual([q.sub, q.status], [ALICE, 200]);
    assert.deepEqual(problems, []);
  });

  it('re-runs when the query or its arguments change by value, not for an equal new object', async () => {
    const before = (await queries()).length;
    await page.evaluate(() => window.T.setQuery('label', { label: 'a' }));
    await until(() => window.T.state.data === 'a' && !window.T.state.isLoading);
    // An equal arguments object, then a new value: one more query, not two.
    await page.evaluate(() => window.T.rerender());
    await page.evaluate(() => window.T.setQuery('label', { label: 'b' }));
    await until(() => window.T.state.data === 'b' && !window.T.state.isLoading);
    assert.equal((await queries()).length, before + 2);
  });

  it('drops a result that arrives after a newer run started', async () => {
    await api(`${standIns.fauna}/__admin/faults`, { count: 1, delay_ms: 1_000, paths: ['/query/1'] });
    const settled = await page.evaluate(() => window.T.settled);
    await page.evaluate(() => window.T.setQuery('label', { label: 'slow' }));
    await until(() => window.T.state.isLoading);
    await page.evaluate(() => window.T.setQuery('label', { label: 'fast' }));
    await until(() => window.T.state.data === 'fast' && !window.T.state.isLoading);
    // Both calls settled in the page; React has had time to render anything.
    await until((n) => window.T.settled === n + 2, settled);
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
    const seen = await page.evaluate(() => window.T.states.map((s) => s.data));
    assert.ok(!seen.includes('slow'), `the stale result was shown: ${seen.join(', ')}`);
    assert.equal((await state()).data, 'fast');
    assert.equal((await queries()).filter((q) => q.fault).length, 1, 'the slow answer was the delayed one');
  });

  it('refetch() runs the query again', async () => {
    const before = (await queries()).length;
    const settled = await page.evaluate(() => window.T.settled);
    await page.evaluate(() => window.T.refetch());
    await until((n) => window.T.settled === n + 1, settled);
    await until(() => !window.T.state.isLoading);
    assert.equal((await queries()).length, before + 1);
    assert.equal((await state()).data, 'fast');
  });

  it('useFaunaStream: one connection under StrictMode, every event of the writes once and in order', async () => {
    const queried = (await queries()).length;
    await page.evaluate(() => window.T.setStream('Todo.all().eventSource()'));
    await until(() => window.T.stream.status === 'open' || window.T.stream.status === 'ended');
    assert.deepEqual([(await state()).error, (await page.evaluate(() => window.T.stream)).error], [undefined, undefined]);
    // Nor did the first mount run the source's query: one, for the one stream.
    assert.equal((await queries()).length, queried + 1);
    const titles = ['one', 'two', 'three'];
    for (const title of titles) await write('Todo.create({ title: title, done: false })', { title });
    await until((n) => window.T.streamEvents.length >= n, titles.length);
    const seen = await page.evaluate(() => window.T.streamEvents.map((e) => [e.type, e.data.title]));
    assert.deepEqual(seen, titles.map((title) => ['add', title]));
    const { events, cursor } = await page.evaluate(() => window.T.stream);
    assert.deepEqual(events.map((e) => e.data.title), titles);
    assert.equal(cursor, events.at(-1).cursor);
    // StrictMode mounted the probe twice; the stand-in saw one connection, still open, as the user.
    const connections = await streams();
    assert.deepEqual(connections.map((c) => [c.sub, c.status, c.ended]), [[ALICE, 200, 'open']]);
  });

  it('useFaunaStream: a new stream when the source or options change by value, the old one closed', async () => {
    // An equal source and equal new options (no change), then other options:
    // a second connection, not a third, and the first closed by the client.
    await page.evaluate(() => window.T.rerenderStream());
    await page.evaluate(() => window.T.setStream('Todo.all().eventSource()', {}));
    await page.evaluate(() => window.T.setStream('Todo.all().eventSource()', { statusEvents: true }));
    // With statusEvents, the stream's first event is a status event, shown to the caller.
    await until(() => window.T.stream.events[0]?.type === 'status');
    await untilStreams((all) => all[0].ended === 'client_closed', 'the old stream closed');
    assert.deepEqual((await streams()).map((c) => c.ended), ['client_closed', 'open']);
    // Another source: a third connection, that streams only its own set.
    await page.evaluate(() => window.T.setStream('Todo.where(.done == true).eventSource()'));
    await untilStreams((all) => all.length === 3 && all[1].ended === 'client_closed', 'the second stream closed');
    await until(() => window.T.stream.status === 'open');
    const id = await write('Todo.all().first()!.update({ done: true }).id');
    await until(() => window.T.stream.events.length === 1);
    const { events } = await page.evaluate(() => window.T.stream);
    // The document entered the `done` set: an `add` for this stream.
    assert.deepEqual(events.map((e) => [e.type, e.data.id, e.data.done]), [['add', id, true]]);
  });

  it('useFaunaStream: closed when disabled and on unmount', async () => {
    await page.evaluate(() => window.T.setStream('Todo.all().eventSource()', { enabled: false }));
    await until(() => window.T.stream.status === 'idle');
    await untilStreams((all) => all.length === 3 && all[2].ended === 'client_closed', 'the disabled stream closed');
    await page.evaluate(() => window.T.setStream('Todo.all().eventSource()'));
    await until(() => window.T.stream.status === 'open');
    await page.evaluate(() => window.T.setStream(undefined));
    const all = await untilStreams((c) => c.length === 4 && c[3].ended === 'client_closed', 'the stream closed');
    assert.deepEqual(all.map((c) => c.ended), ['client_closed', 'client_closed', 'client_closed', 'client_closed']);
  });

  it('useFaunaStream: a stream that ends for good says why: status ended, with the error', async () => {
    const connections = (await streams()).length;
    // FQL text whose result is not an event source.
    await page.evaluate(() => window.T.setStream('Query.token().sub'));
    await until(() => window.T.stream.status === 'ended');
    const { error, events } = await page.evaluate(() => window.T.stream);
    assert.match(error, /^invalid_option: /);
    assert.deepEqual(events, []);
    assert.equal((await streams()).length, connections, 'nothing connected');
    await page.evaluate(() => window.T.setStream(undefined));
  });

  it('useFaunaStream: a dropped connection is the stream\'s to resume: still open, each event once', async () => {
    const from = await page.evaluate(() => window.T.streamEvents.length);
    const connections = (await streams()).length;
    // The next stream connection is dropped after its first data event.
    await api(`${standIns.fauna}/__admin/faults`, { stream: 'drop', after_events: 1 });
    await page.evaluate(() => window.T.setStream('Todo.all().eventSource()'));
    await until(() => window.T.stream.status === 'open');
    const titles = ['five', 'six', 'seven'];
    for (const title of titles) await write('Todo.create({ title: title, done: false })', { title });
    await until((n) => window.T.streamEvents.length >= n, from + titles.length);
    const seen = await page.evaluate((n) => window.T.streamEvents.slice(n).map((e) => [e.type, e.data.title]), from);
    assert.deepEqual(seen, titles.map((title) => ['add', title]));
    const { status, error, events } = await page.evaluate(() => window.T.stream);
    assert.deepEqual([status, error, events.length], ['open', undefined, titles.length]);
    const after = (await streams()).slice(connections);
    assert.deepEqual(after.map((c) => c.ended), ['dropped', 'open'], 'one drop, one reconnection');
    await page.evaluate(() => window.T.setStream(undefined));
    await untilStreams((all) => all.at(-1).ended === 'client_closed', 'the stream closed');
  });

  it("the README's live list shows the rows and applies every add, update and remove, none lost or doubled", async () => {
    const rows = () => page.locator('#recipe li').allTextContents();
    const stored = async () =>
      (await write('Todo.all().toArray()')).map((t) => `${t.title}${t.done ? ' (done)' : ''}`);
    const before = (await streams()).length;
    // The stream's connection held back: writes made between the snapshot
    // query and the connection must still show, once.
    await api(`${standIns.fauna}/__admin/faults`, { count: 1, delay_ms: 1_000, paths: ['/stream/1'] });
    await page.evaluate(() => window.T.showRecipe(true));
    await until((n) => document.querySelectorAll('#recipe li').length === n, (await stored()).length);
    await write('Todo.create({ title: "during connect", done: false })');
    await page.locator('#recipe li', { hasText: 'during connect' }).waitFor();
    assert.deepEqual(await rows(), await stored());
    await untilStreams((all) => all.length === before + 1 && all.at(-1).ended === 'open', 'the list stream open');
    // Then each kind of change, by this client.
    await write('Todo.create({ title: "four", done: false })');
    await write('Todo.byId(Todo.all().toArray()[1].id)!.update({ title: "two!", done: true })');
    await write('Todo.all().first()!.delete()');
    const expected = await stored();
    assert.deepEqual(expected, ['two! (done)', 'three', 'five', 'six', 'seven', 'during connect', 'four']);
    await until(
      (want) => [...document.querySelectorAll('#recipe li')].map((li) => li.textContent).join('|') === want,
      expected.join('|'),
    );
    assert.deepEqual(await rows(), expected);
    assert.equal((await streams()).length, before + 1, 'one connection for the list');
  });

  it('a user switch replaces the client and clears the old cache: the next query is the new user', async () => {
    await page.evaluate(() => window.T.setQuery('Query.token().sub'));
    await until(() => window.T.state.data === window.T.user && !window.T.state.isLoading);
    const old = await page.evaluateHandle(() => window.T.client);
    // What an app hands to Apollo or the fauna driver (issue #10, point 7).
    const wrappers = await page.evaluateHandle(() => ({ fetch: window.T.client.fetch, http: window.T.client.httpClient() }));
    await page.evaluate(async (bob) => window.T.setUser(await window.T.signIn(bob)), BOB);
    await until((bob) => window.T.state.data === bob && !window.T.state.isLoading, BOB);
    const last = (await queries()).at(-1);
    assert.deepEqual([last.sub, last.status], [BOB, 200]);
    // The old client was freed on the switch: it cannot send Alice's token again.
    const oldCall = await page.evaluate((client) => client.query('1').then(() => 'sent', () => 'refused'), old).catch(
      () => 'refused',
    );
    assert.equal(oldCall, 'refused');
    // Nor do the wrappers it handed out act as Bob: they reject with `freed`, and send nothing.
    const sent = (await queries()).length;
    const codes = await page.evaluate(async ({ fetch, http }) => {
      const fauna = new URLSearchParams(location.search).get('fauna');
      const request = { client_timeout_ms: 5000, data: { query: '1' }, headers: {}, method: 'POST', path: '/query/1' };
      return Promise.all([
        fetch(`${fauna}/query/1`, { method: 'POST', body: '{"query":"1"}' }).then(() => 'sent', (e) => e.code),
        http.request(request).then(() => 'sent', (e) => e.code),
      ]);
    }, wrappers);
    assert.deepEqual(codes, ['freed', 'freed']);
    assert.equal((await queries()).length, sent);
  });
});
