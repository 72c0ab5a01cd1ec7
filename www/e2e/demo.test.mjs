// End-to-end tests of the demo app: real Chromium, the built app, the real
// Clerk and Fauna stand-ins. Run with `make e2e` (or `npm run e2e` in www/).

import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { start, api, resultsDir } from './harness.mjs';

const ALICE = 'user_2aLiCeQk7mXv9pR3sT5wY8zB1cD';
const BOB = 'user_2bObKp4nH6jG8fE0dC2aZ9yX7wV';

// The 3-second template, served while at least 1 s is left.
const SHORT = { template: 'fauna-short', minValiditySeconds: '1', refreshAheadSeconds: '1' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('demo app against the Clerk and Fauna stand-ins', () => {
  let env;
  let page;
  let pageErrors;

  before(async () => {
    env = await start();
  }, { timeout: 16 * 60_000 });

  after(async () => {
    await env?.stop();
  }, { timeout: 30_000 });

  beforeEach(async () => {
    await api(`${env.clerk}/__admin/reset`, {});
    await api(`${env.fauna}/__admin/reset`, {});
    page = await env.context.newPage();
    pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterEach(async () => {
    await page?.close();
    // An uncaught exception in the page is a bug even when the UI looked fine.
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  });

  /** Opens the demo pointed at this run's stand-ins, plus `params`. */
  async function open(params = {}) {
    const query = new URLSearchParams({ clerkUrl: env.clerk, faunaUrl: env.fauna, ...params });
    await page.goto(`${env.appUrl}/?${query}`);
    await page.getByTestId('signed-out').waitFor();
  }

  async function signIn(firstName) {
    await page.getByTestId(`sign-in-${firstName}`).click();
    // A package that cannot load fails here at once, with its reason.
    await page.locator('[data-testid=signed-in], [data-testid=load-error]').first().waitFor();
    const loadError = page.getByTestId('load-error');
    if (await loadError.count()) assert.fail(await loadError.textContent());
  }

  async function signOut() {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('signed-out').waitFor();
  }

  /** Clicks "Make authenticated query" and returns both ids shown. */
  async function whoami() {
    await page.getByRole('button', { name: 'Make authenticated query' }).click();
    const v4 = JSON.parse(await page.getByTestId('identity-v4').textContent());
    const v10 = JSON.parse(await page.getByTestId('identity-v10').textContent());
    return { v4: v4.id, v10: v10.id };
  }

  async function addTodo(title) {
    const count = await page.getByTestId('todo').count();
    await page.getByTestId('todo-input').fill(title);
    await page.getByTestId('todo-add').click();
    await page.getByTestId('todo').nth(count).waitFor();
  }

  async function todoTitles() {
    await page.getByTestId('todos').waitFor({ state: 'attached' });
    return page.getByTestId('todo-title').allTextContents();
  }

  async function number(testId) {
    return Number(await page.getByTestId(testId).textContent());
  }

  /** Runs the page's query loop for `ms`, then lets the last queries land. */
  async function runLoop(ms) {
    await page.getByTestId('loop-toggle').click();
    await sleep(ms);
    await page.getByTestId('loop-toggle').click();
    await sleep(1500);
    return { ok: await number('loop-ok'), failed: await number('loop-failed') };
  }

  it('signs in, queries as that user, keeps todos per user', { timeout: 60_000 }, async () => {
    await open();
    await signIn('Alice');
    assert.deepEqual(await whoami(), { v4: ALICE, v10: ALICE });

    await page.getByTestId('todos-empty').waitFor();
    for (const title of ['Buy milk', 'Walk the dog', 'Write tests']) await addTodo(title);
    assert.deepEqual(await todoTitles(), ['Buy milk', 'Walk the dog', 'Write tests']);

    // Toggle and delete, then reload from Fauna: the changes were stored.
    await page.getByRole('checkbox').first().click();
    await page.locator('li.done').waitFor();
    await page.getByRole('button', { name: 'Delete Walk the dog' }).click();
    await page.getByTestId('todo').nth(2).waitFor({ state: 'detached' });
    await page.getByTestId('todos-reload').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid=todos-reload]').disabled);
    assert.deepEqual(await todoTitles(), ['Buy milk', 'Write tests']);
    assert.equal(await page.locator('li.done').count(), 1);

    await signOut();
    await signIn('Bob');
    assert.deepEqual(await whoami(), { v4: BOB, v10: BOB });
    await page.getByTestId('todos-empty').waitFor();
    assert.deepEqual(await todoTitles(), []);

    // The stand-in saw Bob's token only after the switch, never Alice's.
    const log = await api(`${env.fauna}/__admin/requests`);
    const subs = log.map((r) => r.sub);
    assert.ok(subs.lastIndexOf(ALICE) < subs.indexOf(BOB), `requests out of order: ${subs}`);
    assert.deepEqual(log.filter((r) => r.auth !== 'ok'), []);
  });

  it('keeps working across token expiries with one token request per token', { timeout: 60_000 }, async () => {
    await open({ ...SHORT, intervalMs: '250', burst: '3' });
    const started = Date.now();
    await signIn('Alice');

    const seconds = 10;
    const { ok, failed } = await runLoop(seconds * 1000);
    const elapsed = (Date.now() - started) / 1000;

    const stats = await api(`${env.clerk}/__admin/stats`);
    const tokenRequests = stats.by_template['fauna-short'] ?? 0;
    const log = await api(`${env.fauna}/__admin/requests`);
    const tokensUsed = new Set(log.map((r) => r.jti)).size;
    const pageCalls = await number('stat-calls');
    console.log(
      `# ${ok} queries in ${elapsed.toFixed(1)} s, ${tokenRequests} token requests, ${tokensUsed} tokens used,` +
        ` ${await number('stat-joins')} joins`,
    );

    assert.equal(failed, 0);
    assert.ok(ok >= 3 * seconds * 3, `only ${ok} queries succeeded`);
    assert.deepEqual(log.filter((r) => r.auth !== 'ok'), [], 'Fauna refused a token');
    // A 3 s token is counted from `iat + 1 s` (iat is whole seconds: it may
    // have been minted up to 1 s later) and served while >= 1 s is left: it
    // serves 1 to 2 s, less the call's time. At most one request a second,
    // one more for the first, one for a background refresh that may overlap.
    assert.ok(tokensUsed >= 4, `the run crossed only ${tokensUsed} tokens`);
    assert.ok(tokenRequests <= Math.ceil(elapsed) + 2, `${tokenRequests} token requests in ${elapsed} s`);
    // Every getToken call the cache made reached the stand-in, and no other.
    assert.equal(pageCalls, tokenRequests);
  });

  it('recovers from a 401 and two 429s without the user noticing', { timeout: 60_000 }, async () => {
    await open();
    await signIn('Alice');
    await page.getByTestId('todos-empty').waitFor();

    // The next /query/1 answers are 401, 429, 429 (queued in that order).
    await api(`${env.fauna}/__admin/faults`, { status: 401, count: 1, paths: ['/query/1'] });
    await api(`${env.fauna}/__admin/faults`, { status: 429, count: 2, paths: ['/query/1'] });
    await addTodo('Survives faults');
    assert.deepEqual(await todoTitles(), ['Survives faults']);
    assert.equal(await page.getByTestId('error').count(), 0);

    const log = await api(`${env.fauna}/__admin/requests`);
    const statuses = log.filter((r) => r.path === '/query/1').map((r) => r.status);
    assert.deepEqual(statuses.slice(-4), [401, 429, 429, 200]);
    // The 401 made the cache ask Clerk for a new token past Clerk's own cache.
    const stats = await api(`${env.clerk}/__admin/stats`);
    assert.ok(stats.skip_cache >= 1, `skip_cache ${stats.skip_cache}`);
  });

  it('shows code, message and hint when a query fails', { timeout: 30_000 }, async () => {
    await open();
    await signIn('Alice');
    await page.getByTestId('todos-empty').waitFor();
    // 401 twice: refreshed once, then Fauna still refuses -> `unauthorized`.
    await api(`${env.fauna}/__admin/faults`, { status: 401, count: 2, paths: ['/query/1'] });
    await page.getByTestId('todos-reload').click();
    await page.getByTestId('error').waitFor();
    assert.equal(await page.getByTestId('error-code').textContent(), 'unauthorized');
    assert.match(await page.getByTestId('error-message').textContent(), /\S/);
    assert.match(await page.getByTestId('error-hint').textContent(), /^Hint: \S/);
  });

  it('never sends an expired token during a minute of queries', { timeout: 90_000 }, async () => {
    await open({ ...SHORT, intervalMs: '500', burst: '1' });
    await signIn('Alice');
    const { ok, failed } = await runLoop(60_000);

    const log = await api(`${env.fauna}/__admin/requests`);
    const rejected = log.filter((r) => r.auth === 'rejected');
    console.log(`# ${ok} queries, ${log.length} Fauna requests, ${rejected.length} rejected`);
    assert.deepEqual(rejected.filter((r) => r.reason === 'expired'), [], 'expired tokens sent');
    assert.deepEqual(rejected, [], 'tokens rejected');
    assert.equal(failed, 0);
    assert.ok(ok >= 100, `only ${ok} queries in a minute`);
  });

  it('screenshots the signed-in screen', { timeout: 30_000 }, async () => {
    await open();
    await signIn('Carol');
    await whoami();
    for (const title of ['Try the demo', 'Read the README', 'Ship it']) await addTodo(title);
    await page.getByRole('checkbox').first().click();
    await page.locator('li.done').waitFor();
    // Let the token panel tick once with a cached token.
    await page.getByTestId('seconds-left').filter({ hasText: / s$/ }).waitFor();
    const path = join(resultsDir, 'signed-in.png');
    await page.screenshot({ path, fullPage: true });
    console.log(`# screenshot: ${path}`);
  });
});
