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
// the browser's CORS check and Fauna's header validation.
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
import { api, deadline, launchChromium, launchStandIns } from '../../devserver/launch.mjs';
import { serveStatic } from '../../www/e2e/static-server.mjs';
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

/** Bundles page/main.js with the README's recipes into build/, beside the package's .wasm. */
async function buildPage(faunaOrigin) {
  const recipes = Object.fromEntries(
    Object.entries(readRecipes(join(repoDir, 'README.md'))).map(([n, code]) => [n, againstStandIn(code, faunaOrigin)]),
  );
  const results = Object.fromEntries(Object.entries(CLIENTS).map(([n, c]) => [n, c.names]));
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
  async function faunaLog(path) {
    return (await api(`${standIns.fauna}/__admin/requests`)).filter((r) => r.path === path);
  }

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
});
