// clerk-fauna/react in headless Chromium: a React app (hooks/) built by Vite
// with React's development build, so StrictMode mounts every effect twice,
// signed in through the Clerk stand-in and querying the Fauna stand-in. The
// page exposes `window.T` to switch the user, change the query and refetch.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { build as viteBuild } from 'vite';
import { api, deadline, launchChromium, launchStandIns } from '../../devserver/launch.mjs';
import { serveStatic } from '../../www/e2e/static-server.mjs';
import { ALICE, assertInstalledCopyIsCurrent, here, repoDir } from './harness.mjs';

const BOB = 'user_2bObKp4nH6jG8fE0dC2aZ9yX7wV';

describe('React hooks (clerk-fauna/react) under StrictMode, in Chromium', () => {
  let standIns;
  let browser;
  let site;
  let page;
  const problems = []; // the page's uncaught errors and console errors

  /** The Fauna stand-in's FQL v10 requests so far: `[{ sub, status, fault }]`. */
  const queries = async () => (await api(`${standIns.fauna}/__admin/requests`)).filter((r) => r.path === '/query/1');
  /** Resolves once `fn(arg)` is truthy in the page. */
  const until = (fn, arg) => page.waitForFunction(fn, arg, { polling: 20, timeout: 20_000 });
  const state = () => page.evaluate(() => window.T.state);

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
      }),
      120_000,
      'vite build',
    );
    site = await serveStatic({ '/': outDir });
    browser = await launchChromium(chromium);
    page = await browser.context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
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
