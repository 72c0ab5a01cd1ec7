// clerk-fauna with the real Fauna drivers and GraphQL clients: each README
// recipe (faunadb 4, fauna 2, graphql-request, Apollo Client) is bundled
// with esbuild from clerk-fauna/web and run in headless Chromium against
// the Clerk and Fauna stand-ins over loopback HTTP. For every client:
//
// 1. It runs as the signed-in user (Alice, then Bob in a new session), and
//    Fauna sees only Clerk tokens, never the driver's placeholder secret.
// 2. Many concurrent queries on a cold cache make one getToken call.
// 3. A 401 leads to exactly one forced refresh, and the client gets the
//    answer, not the 401.
// 4. After a sign-out, a query rejects with clerk-fauna's `signed_out`
//    error, and nothing reaches Fauna.
// And for the two drivers: every request header they can send gets through
// the browser's CORS check and Fauna's header validation. And the `fauna`
// driver's event streams through `httpClient()` (README "With the official
// fauna driver"): across token expiries, drops and 401s the driver reads
// each event once, in order; close(), sign-out, clear() and a refused event
// source end it as the driver reports them; the long run also in Node. Its
// feeds page through `httpClient()`.
//
// The page's getToken is real clerk-js's (@clerk/clerk-js, bundled), signed
// in through the Clerk stand-in with a ticket. Counts come from the
// stand-ins (Clerk's token requests and request log, Fauna's request log)
// and from the page's getToken. Run with `make clients`.

import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { api, deadline, launchChromium, launchStandIns, requestsTo, until as waitFor } from '../../devserver/launch.mjs';
import { serveStatic } from '../../www/e2e/static-server.mjs';
import { Client, fql } from 'fauna';
import { FaunaClient, TokenCache } from 'clerk-fauna';
import { follow } from './follow.mjs';
import { againstStandIn, readRecipes, recipesPlugin } from './recipes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoDir = dirname(dirname(here));
const buildDir = join(here, 'build');

// clerk-js's one console line as it loads with a development key (the
// stand-in's key is one): not a client's.
const CLERK_DEV_KEYS_LINE = /^warning: Clerk: Clerk has been loaded with development keys\./;

const ALICE = 'user_2aLiCeQk7mXv9pR3sT5wY8zB1cD';
const BOB = 'user_2bObKp4nH6jG8fE0dC2aZ9yX7wV';

// Per recipe: the path its requests take at Fauna, and the recipe's
// variables the page reads (see page/main.js for how each gives the user id).
const CLIENTS = {
  faunadb: { path: '/', names: ['client', 'userId'] },
  fauna: { path: '/query/1', names: ['client', 'userId'] },
  'graphql-request': { path: '/graphql', names: ['client', 'whoami'] },
  apollo: { path: '/graphql', names: ['client', 'data'] },
};

// The README's recipes for the `fauna` driver's event streams, and the
// variables the tests read.
const STREAM_RECIPES = { 'fauna-stream': ['client', 'stream'] };

// Token cache options for the stand-in's 3 s template: a token with a second
// left is still served, so every connection lives at most one lifetime.
const SHORT_TOKENS = { template: 'fauna-short', minValiditySeconds: 1, refreshAheadSeconds: 1 };

/** Bundles page/main.js with the README's recipes into build/, beside the package's .wasm. */
async function buildPage(faunaOrigin) {
  const recipes = Object.fromEntries(
    Object.entries(readRecipes(join(repoDir, 'README.md'))).map(([n, code]) => [n, againstStandIn(code, faunaOrigin)]),
  );
  const results = { ...Object.fromEntries(Object.entries(CLIENTS).map(([n, c]) => [n, c.names])), ...STREAM_RECIPES };
  await rm(buildDir, { recursive: true, force: true });
  await mkdir(buildDir, { recursive: true });
  await build({
    entryPoints: [join(here, 'page', 'main.js')],
    outfile: join(buildDir, 'page.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
    plugins: [recipesPlugin(recipes, results, here)],
  });
  // clerk-fauna/web's init() fetches the .wasm next to the module that calls it.
  await copyFile(join(here, 'node_modules', 'clerk-fauna', 'web', 'clerk_fauna_bg.wasm'), join(buildDir, 'clerk_fauna_bg.wasm'));
  await copyFile(join(here, 'page', 'index.html'), join(buildDir, 'index.html'));
}

describe('clerk-fauna with Fauna drivers and GraphQL clients, in Chromium', () => {
  let standIns;
  let site;
  let browser;
  let page;
  let consoleLines; // the page's console and uncaught errors

  before(async () => {
    standIns = await launchStandIns(repoDir, { graphql: true });
    await deadline(buildPage(standIns.fauna), 120_000, 'esbuild');
    site = await serveStatic({ '/': buildDir });
    browser = await launchChromium(chromium);
  }, { timeout: 16 * 60_000 });

  after(async () => {
    await browser?.close();
    await site?.close();
    await standIns?.stop();
  }, { timeout: 30_000 });

  beforeEach(async () => {
    // Signed out: no clerk-js client cookie from the last test.
    await browser.context.clearCookies();
    await api(`${standIns.clerk}/__admin/reset`, {});
    await api(`${standIns.fauna}/__admin/reset`, {});
    page = await browser.context.newPage();
    consoleLines = [];
    page.on('console', (m) => {
      const line = `${m.type()}: ${m.text()}`;
      if (!CLERK_DEV_KEYS_LINE.test(line)) consoleLines.push(line);
    });
    page.on('pageerror', (e) => consoleLines.push(`uncaught: ${e?.message ?? e}`));
    const query = new URLSearchParams({ clerk: standIns.clerk, fauna: standIns.fauna });
    await page.goto(`${site.origin}/index.html?${query}`);
    await page.waitForFunction(() => window.T && (window.T.ready || window.T.loadError), null, { polling: 50, timeout: 20_000 });
    const loadError = await page.evaluate(() => window.T.loadError);
    if (loadError) assert.fail(`the page did not load: ${loadError}`);
  });

  afterEach(async () => {
    await page?.close();
  });

  /** page.evaluate with a deadline, so a hung page fails the test instead of the run. */
  function inPage(fn, arg) {
    return deadline(page.evaluate(fn, arg), 30_000, 'page.evaluate');
  }

  /**
   * The page's console holds nothing but Chromium's own line for each of
   * `unauthorized` 401 answers: no error, warning or log from a client.
   */
  function assertQuietConsole(unauthorized = 0) {
    const expected = Array(unauthorized).fill('error: Failed to load resource: the server responded with a status of 401 (Unauthorized)');
    assert.deepEqual(consoleLines, expected, 'the page\'s console');
  }

  /** Fauna's request log for `path`: what reached the stand-in, in order. */
  const faunaLog = (path) => requestsTo(standIns.fauna, path);

  for (const [name, { path }] of Object.entries(CLIENTS)) {
    describe(name, () => {
      it('runs the README recipe as the signed-in user (Alice, then Bob)', async () => {
        const ids = await inPage(async ({ name, users }) => {
          const out = [];
          for (const user of users) {
            const { fauna, getTokenCalls } = await T.session(user);
            const result = await T.recipes[name](fauna);
            out.push({ id: T.userIdOf[name](result), getTokenCalls: getTokenCalls() });
          }
          return out;
        }, { name, users: [ALICE, BOB] });
        assert.deepEqual(ids, [
          { id: ALICE, getTokenCalls: 1 },
          { id: BOB, getTokenCalls: 1 },
        ]);
        // Each request authenticated with that user's Clerk token: the
        // placeholder secret would be refused (`invalid_secret`).
        const log = await faunaLog(path);
        assert.deepEqual(
          log.map(({ sub, auth, status, reason }) => ({ sub, auth, status, reason })),
          [
            { sub: ALICE, auth: 'ok', status: 200, reason: undefined },
            { sub: BOB, auth: 'ok', status: 200, reason: undefined },
          ],
        );
        assertQuietConsole();
      });

      it('makes one getToken call for 40 concurrent queries on a cold cache', async () => {
        const r = await inPage(async ({ name, user }) => {
          const { fauna, getTokenCalls } = await T.session(user);
          // 40 clients made by the recipe at once, sharing one FaunaClient.
          const results = await Promise.all(Array.from({ length: 40 }, () => T.recipes[name](fauna)));
          return { ids: results.map((x) => T.userIdOf[name](x)), getTokenCalls: getTokenCalls() };
        }, { name, user: ALICE });
        assert.deepEqual(r.ids, Array(40).fill(ALICE));
        assert.equal(r.getTokenCalls, 1);
        const clerkStats = await api(`${standIns.clerk}/__admin/stats`);
        assert.equal(clerkStats.token_requests, 1, 'token requests at the Clerk stand-in');
        const log = await faunaLog(path);
        assert.equal(log.length, 40);
        assert.ok(log.every((e) => e.auth === 'ok' && e.status === 200 && e.sub === ALICE));
        assert.equal(new Set(log.map((e) => e.jti)).size, 1, 'all 40 requests carry the same token');
        assertQuietConsole();
      });

      it('answers a 401 with exactly one forced refresh, and the client gets the answer', async () => {
        await inPage(async ({ name, user }) => {
          window.S = await T.session(user);
          window.S.result = await T.recipes[name](window.S.fauna);
        }, { name, user: ALICE });
        await api(`${standIns.fauna}/__admin/faults`, { count: 1, status: 401, paths: [path] });
        const r = await inPage(async (name) => {
          const id = await T.queryAgain[name](window.S.result);
          return { id, getTokenCalls: window.S.getTokenCalls() };
        }, name);
        assert.equal(r.id, ALICE);
        assert.equal(r.getTokenCalls, 2, 'the recipe\'s getToken call and one refresh');
        // Exactly one Frontend API token request between the 401 and the
        // retry, and it bypassed clerk-js's own cache.
        const tokenRequests = (await api(`${standIns.clerk}/__admin/requests`)).filter((e) => e.token === 'template');
        assert.equal(tokenRequests.length, 2, 'the recipe\'s token and the refreshed one');
        assert.equal(tokenRequests[1].skip_cache, true, 'the refresh bypasses clerk-js\'s cache');
        const log = await faunaLog(path);
        assert.deepEqual(
          log.map(({ status, fault }) => ({ status, fault })),
          [
            { status: 200, fault: false }, // the recipe
            { status: 401, fault: true }, // the injected 401
            { status: 200, fault: false }, // the retry
          ],
        );
        assert.notEqual(log[2].jti, log[0].jti, 'the retry carries a new token');
        assert.equal(log[2].sub, ALICE);
        assertQuietConsole(1);
      });

      it('rejects with signed_out after a sign-out, and sends nothing to Fauna', async () => {
        const r = await inPage(async ({ name, user }) => {
          const s = await T.session(user);
          const result = await T.recipes[name](s.fauna);
          // clerk-js signs out, then the app clears the cache (as on sign-out).
          await s.signOut();
          s.tokens.clear();
          try {
            return { resolved: await T.queryAgain[name](result) };
          } catch (e) {
            const error = T.clerkFaunaErrorOf[name](e);
            return { isClerkFaunaError: error instanceof T.ClerkFaunaError, code: error?.code };
          }
        }, { name, user: ALICE });
        assert.deepEqual(r, { isClerkFaunaError: true, code: 'signed_out' });
        const log = await faunaLog(path);
        assert.equal(log.length, 1, 'only the recipe\'s request reached Fauna');
        const clerkStats = await api(`${standIns.clerk}/__admin/stats`);
        // Signed out, clerk-js's getToken answers null without asking the stand-in.
        assert.equal(clerkStats.token_requests, 1, 'the recipe\'s token only');
        assertQuietConsole();
      });
    });
  }

  for (const [name, { path }] of Object.entries(CLIENTS).filter(([n]) => n === 'faunadb' || n === 'fauna')) {
    it(`${name}: every header the driver sends passes CORS and Fauna's checks`, async () => {
      const options = { tags: { app: 'clients_test' }, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
      const r = await inPage(async ({ name, user, options }) => {
        const { fauna } = await T.session(user);
        const result = await T.recipes[name](fauna);
        return T.queryWithEveryHeader[name](result, options);
      }, { name, user: ALICE, options });
      assert.equal(r.id, ALICE);
      // Fauna v10 echoes the tags: the header arrived, not just passed CORS.
      if (name === 'fauna') assert.deepEqual(r.tags, options.tags);
      const log = await faunaLog(path);
      assert.deepEqual(log.map((e) => e.status), [200, 200]);
      assertQuietConsole();
    });
  }

  // The `fauna` driver's own `client.stream()` through `fauna.httpClient()`
  // (README "With the official fauna driver"): the driver reads one
  // unbroken stream while clerk-fauna's engine reconnects underneath.
  describe('fauna driver event streams', () => {
    beforeEach(async () => {
      // Expiry noticed within half a second even when idle; no idle status
      // events, so the only status event is the opening one.
      await api(`${standIns.fauna}/__admin/streams`, { idle_check_ms: 500, status_interval_ms: 3_600_000 });
    });

    /** Resolves to `check()`'s first truthy answer; fails after `ms`. */
    const until = (check, what, ms = 60_000) => waitFor(check, ms, what);

    /** Waits until the page's `S.<record>` holds `n` events, or has ended. */
    async function eventsIn(record, n) {
      await page.waitForFunction(
        ({ record, n }) => window.S[record].events.length >= n || window.S[record].ended,
        { record, n },
        { polling: 100, timeout: 120_000 },
      );
      return inPage((record) => window.S[record], record);
    }

    /** The stand-in's `/stream/1` log once no connection is open any more. */
    async function closedStreams() {
      return until(async () => {
        const log = await faunaLog('/stream/1');
        return log.every((e) => e.ended !== 'open') && log;
      }, 'every stream connection closed');
    }

    /** `Todo.create` with the root secret: a write by another client, for `owner`. */
    async function rootCreate(title, owner) {
      const response = await fetch(`${standIns.fauna}/query/1`, {
        method: 'POST',
        headers: { Authorization: 'Bearer secret', 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: 'Todo.create({ title: t, owner: o })', arguments: { t: title, o: owner } }),
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(response.status, 200, await response.text());
    }

    /** Signs `user` in (token cache options `cache`) and runs the README's stream recipe. */
    async function streamRecipe(user, cache = { template: 'fauna' }) {
      await inPage(async ({ user, cache }) => {
        const s = await T.session(user, cache);
        const { client, stream } = await T.recipes['fauna-stream'](s.fauna);
        window.S = { ...s, client, stream };
      }, { user, cache });
    }

    /**
     * Starts `S.live`: the driver's stream of the user's todos with status
     * events (`perStream`: through httpStreamClient() as the driver's
     * per-stream option), and waits for its opening status event.
     */
    async function startLive(perStream = false) {
      await inPage((perStream) => {
        const options = { status_events: true, ...(perStream ? { httpStreamClient: window.S.fauna.httpStreamClient() } : {}) };
        window.S.liveStream = window.S.client.stream(T.fql`Todo.all().eventSource()`, options);
        window.S.live = T.follow(window.S.liveStream);
      }, perStream);
      await eventsIn('live', 1);
    }

    /** `S.live` once its iteration has ended. */
    async function liveEnded(ms = 30_000) {
      await page.waitForFunction(() => window.S.live.ended, null, { polling: 50, timeout: ms });
      return inPage(() => window.S.live);
    }

    const dataEvents = (record) => record.events.filter((e) => e.type !== 'status').map(({ type, title }) => ({ type, title }));

    it('streams an event source query and a stream token; close() and break end the connections', async () => {
      await streamRecipe(ALICE);
      await inPage(async () => {
        // The recipe's stream, and one of a stream token from an earlier query.
        window.S.fromQuery = T.follow(window.S.stream);
        const { data: source } = await window.S.client.query(T.fql`Todo.all().eventSource()`);
        window.S.fromToken = T.follow(window.S.client.stream(source, { status_events: true }), { breakAfter: 1 + 5 });
      });
      await until(async () => (await faunaLog('/stream/1')).filter((e) => e.ended === 'open').length === 2, 'both streams open');
      // Another user's write first: were it shown, it would come first.
      await rootCreate('not alice\'s', BOB);
      await inPage(async () => {
        const { client, fql } = { client: window.S.client, fql: T.fql };
        const a = (await client.query(fql`Todo.create({ title: "a" })`)).data;
        await client.query(fql`Todo.create({ title: "b" })`);
        await client.query(fql`Todo.create({ title: "c" })`);
        await client.query(fql`Todo.byId(${a.id})!.update({ title: "a2" })`);
        await client.query(fql`Todo.firstWhere(.title == "b")!.delete()`);
      });
      const expected = [
        { type: 'add', title: 'a' },
        { type: 'add', title: 'b' },
        { type: 'add', title: 'c' },
        { type: 'update', title: 'a2' },
        { type: 'remove', title: 'b' },
      ];
      const fromQuery = await eventsIn('fromQuery', 5);
      const fromToken = await eventsIn('fromToken', 6);
      assert.deepEqual(dataEvents(fromQuery), expected);
      assert.deepEqual(fromQuery.events.map((e) => e.type).includes('status'), false, 'no status events unless asked for');
      assert.equal(fromToken.events[0].type, 'status', 'status_events: the opening status event');
      assert.deepEqual(dataEvents(fromToken), expected);
      // `break` after six events ended that iteration, and its connection.
      assert.deepEqual({ ended: fromToken.ended, error: fromToken.error }, { ended: true, error: undefined });
      await inPage(() => window.S.stream.close());
      await page.waitForFunction(() => window.S.fromQuery.ended, null, { polling: 50, timeout: 30_000 });
      assert.equal(await inPage(() => window.S.fromQuery.error), undefined, 'close() ends the iteration without an error');
      const log = await closedStreams();
      assert.deepEqual(
        log.map(({ sub, status, ended }) => ({ sub, status, ended })),
        [
          { sub: ALICE, status: 200, ended: 'client_closed' },
          { sub: ALICE, status: 200, ended: 'client_closed' },
        ],
      );
      assertQuietConsole();
    });

    const WRITES = 100;

    /**
     * 100 writes by the root secret for Alice, spread at random over about
     * 20 s, with Bob's every tenth (which Alice's stream must not show). The
     * last waits until the stream has been connected six times: five expiries.
     */
    async function writeWhileStreaming() {
      const weights = Array.from({ length: WRITES }, () => Math.random());
      const sum = weights.reduce((a, b) => a + b);
      for (let i = 0; i < WRITES; i++) {
        await new Promise((resolve) => setTimeout(resolve, (20_000 * weights[i]) / sum));
        if (i === WRITES - 1) {
          await until(async () => (await faunaLog('/stream/1')).filter((e) => e.status === 200).length >= 6, 'six connections');
        }
        await rootCreate(`todo ${i}`, ALICE);
        if (i % 10 === 0) await rootCreate(`bob ${i}`, BOB);
      }
    }

    /** The driver read, without an error: one opening status event, then each of Alice's writes once, in order. */
    function assertOnceInOrder(live) {
      assert.equal(live.error, undefined, 'the driver saw no error (no permission_loss)');
      assert.equal(live.events[0].type, 'status');
      assert.deepEqual(
        live.events.slice(1).map(({ type, title }) => ({ type, title })),
        Array.from({ length: WRITES }, (_, i) => ({ type: 'add', title: `todo ${i}` })),
        'one opening status event, then every write once, in order',
      );
      const times = live.events.slice(1).map((e) => e.txn_ts);
      assert.ok(times.every((t, i) => i === 0 || t > times[i - 1]), 'txn_ts increasing');
    }

    /**
     * The stand-in's log once the stream is closed: six connections or more,
     * each but the last ended by its token's expiry, each with a token not
     * sent before; `getTokenCalls` at least one per connection. Returns the
     * number of 401s (a token that expired on its way is refused and replaced).
     */
    async function assertFreshConnections(t, getTokenCalls) {
      const log = await closedStreams();
      const accepted = log.filter((e) => e.status === 200);
      const refused = log.filter((e) => e.status !== 200);
      assert.ok(accepted.length >= 6, `${accepted.length} connections`);
      assert.ok(refused.every((e) => e.status === 401), 'only 401s refused');
      assert.ok(log.every((e) => e.sub === ALICE));
      assert.deepEqual(
        accepted.map((e) => e.ended),
        [...Array(accepted.length - 1).fill('permission_loss'), 'client_closed'],
      );
      assert.equal(new Set(accepted.map((e) => e.jti)).size, accepted.length, 'a fresh token for every connection');
      assert.ok(getTokenCalls >= accepted.length, `${getTokenCalls} getToken calls for ${accepted.length} connections`);
      t.diagnostic(`${accepted.length} connections, ${refused.length} refused, ${getTokenCalls} getToken calls`);
      return refused.length;
    }

    it('outlives five 3 s token lifetimes: 100 writes at random intervals, each event once and in order', { timeout: 5 * 60_000 }, async (t) => {
      await streamRecipe(ALICE, SHORT_TOKENS);
      await startLive();
      await writeWhileStreaming();
      await eventsIn('live', 1 + WRITES);
      await inPage(() => window.S.liveStream.close());
      assertOnceInOrder(await liveEnded());
      const refused = await assertFreshConnections(t, await inPage(() => window.S.getTokenCalls()));
      assertQuietConsole(refused);
    });

    it('the same in Node (the package\'s node.js, Node\'s fetch), with tokens minted by the Clerk stand-in', { timeout: 5 * 60_000 }, async (t) => {
      let getTokenCalls = 0;
      const mint = async () => {
        getTokenCalls += 1;
        return (await api(`${standIns.clerk}/__admin/mint`, { user_id: ALICE, template: 'fauna-short' })).jwt;
      };
      const fauna = new FaunaClient(new TokenCache(mint, SHORT_TOKENS), { endpoint: standIns.fauna });
      const client = new Client({ secret: 'unused' }, fauna.httpClient());
      const stream = client.stream(fql`Todo.all().eventSource()`, { status_events: true });
      const live = follow(stream);
      try {
        await until(() => live.events.length >= 1 || live.ended, 'the opening status event');
        await writeWhileStreaming();
        await until(() => live.events.length >= 1 + WRITES || live.ended, `${WRITES} events`, 120_000);
      } finally {
        stream.close();
      }
      await until(() => live.ended, 'the iteration ended by close()');
      assertOnceInOrder(live);
      await assertFreshConnections(t, getTokenCalls);
      fauna.free();
    });

    it('hides a dropped connection and a 401 on reconnecting', async () => {
      await streamRecipe(ALICE);
      // Five writes after the event source was made are replayed on connecting;
      // the first connection drops after two, the reconnection gets a 401.
      await inPage(async () => {
        window.S.source = (await window.S.client.query(T.fql`Todo.all().eventSource()`)).data;
      });
      for (let i = 0; i < 5; i++) await rootCreate(`todo ${i}`, ALICE);
      await api(`${standIns.fauna}/__admin/faults`, { stream: 'drop', after_events: 2 });
      await api(`${standIns.fauna}/__admin/faults`, { status: 401, paths: ['/stream/1'] });
      await inPage(() => {
        window.S.replayStream = window.S.client.stream(window.S.source);
        window.S.replayed = T.follow(window.S.replayStream);
      });
      await eventsIn('replayed', 5);
      await inPage(() => window.S.replayStream.close());
      await page.waitForFunction(() => window.S.replayed.ended, null, { polling: 50, timeout: 30_000 });
      const replayed = await inPage(() => window.S.replayed);
      assert.equal(replayed.error, undefined);
      assert.deepEqual(
        dataEvents(replayed),
        Array.from({ length: 5 }, (_, i) => ({ type: 'add', title: `todo ${i}` })),
      );
      const log = await closedStreams();
      assert.deepEqual(
        log.map(({ status, fault, ended }) => ({ status, fault, ended })),
        [
          { status: 200, fault: true, ended: 'dropped' },
          { status: 401, fault: true, ended: undefined },
          { status: 200, fault: false, ended: 'client_closed' },
        ],
      );
      assert.notEqual(log[2].jti, log[0].jti, 'the token refused was replaced');
      // Chromium's own lines for the dropped body and the 401.
      assert.deepEqual(consoleLines, [
        'error: Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING',
        'error: Failed to load resource: the server responded with a status of 401 (Unauthorized)',
      ]);
    });

    it('ends with the driver\'s error signed_out when the user signs out', async () => {
      await streamRecipe(ALICE, SHORT_TOKENS);
      await startLive();
      // clerk-js signs out; at the token's expiry the stream needs a new one.
      await inPage(() => window.S.signOut());
      const { error } = await liveEnded(60_000);
      assert.equal(error.isServiceError, true, 'the driver throws its ServiceError');
      assert.equal(error.code, 'signed_out');
      assert.match(error.message, /\S/);
      // Each connection ended at its token's expiry (a reconnection may come
      // before the sign-out); none was made after it.
      const log = await closedStreams();
      assert.ok(log.length >= 1 && log.every((e) => e.status === 200 && e.ended === 'permission_loss'), JSON.stringify(log));
      assertQuietConsole();
    });

    it('ends with the driver\'s error cleared at once when the token cache is cleared (httpStreamClient() as the per-stream option)', async () => {
      await streamRecipe(ALICE);
      await startLive(true);
      // A 60 s token: only the clear() can end this connection now.
      await inPage(() => window.S.tokens.clear());
      const { error } = await liveEnded();
      assert.deepEqual({ isServiceError: error.isServiceError, code: error.code }, { isServiceError: true, code: 'cleared' });
      const log = await closedStreams();
      assert.deepEqual(log.map((e) => e.ended), ['client_closed']);
      assertQuietConsole();
    });

    it('pages a feed through httpClient(), each poll with the user\'s token', async () => {
      await streamRecipe(ALICE);
      const titles = await inPage(async () => {
        const { client } = window.S;
        const { data: source } = await client.query(T.fql`Todo.all().eventSource()`);
        for (const title of ['a', 'b', 'c']) await client.query(T.fql`Todo.create({ title: ${title} })`);
        const out = [];
        for await (const event of client.feed(source, { page_size: 2 }).flatten()) out.push(`${event.type} ${event.data.title}`);
        return out;
      });
      assert.deepEqual(titles, ['add a', 'add b', 'add c']);
      const log = await faunaLog('/feed/1');
      assert.deepEqual(log.map(({ sub, status, ended }) => ({ sub, status, ended })), [
        { sub: ALICE, status: 200, ended: 'page:2' },
        { sub: ALICE, status: 200, ended: 'page:1' },
      ]);
      assertQuietConsole();
    });

    it('ends with the driver\'s error freed when the FaunaClient is freed', async () => {
      await streamRecipe(ALICE);
      await startLive();
      await inPage(() => window.S.fauna.free());
      const { error } = await liveEnded();
      assert.deepEqual({ isServiceError: error.isServiceError, code: error.code }, { isServiceError: true, code: 'freed' });
      const log = await closedStreams();
      assert.deepEqual(log.map((e) => e.ended), ['client_closed']);
      assertQuietConsole();
    });

    it('passes a refused event source on to the driver with Fauna\'s code', async () => {
      await streamRecipe(ALICE);
      await inPage(async () => {
        const { data: source } = await window.S.client.query(T.fql`Todo.all().eventSource()`);
        window.S.bad = T.follow(window.S.client.stream(source, { cursor: 'not a cursor' }));
      });
      await page.waitForFunction(() => window.S.bad.ended, null, { polling: 50, timeout: 30_000 });
      const { error, events } = await inPage(() => window.S.bad);
      assert.deepEqual(events, []);
      assert.deepEqual(
        { isServiceError: error.isServiceError, name: error.name, code: error.code },
        { isServiceError: true, name: 'InvalidRequestError', code: 'invalid_request' },
      );
      assert.match(error.message, /cursor/);
      const log = await faunaLog('/stream/1');
      assert.deepEqual(log.map((e) => e.status), [400], 'one request, not retried');
      assert.deepEqual(consoleLines, ['error: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    });
  });
});
