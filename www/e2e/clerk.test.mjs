// Proofs against the real Clerk SDK (issue 13): the demo app on
// @clerk/react + @clerk/clerk-js, signed in through the Clerk stand-in's
// Frontend API, with clerk-js's own token cache, background refreshes,
// cookies and BroadcastChannel in play. Counts come from the stand-ins'
// logs: Clerk's `/__admin/requests` (every Frontend API request, token
// requests marked) and Fauna's (every query, with the token's `sub`, `jti`
// and whether it was refused). Sign-out in flight is proved in
// hardening.test.mjs, where the page can watch each query settle.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, deadline } from './harness.mjs';
import { ALICE, BOB, demoPage, demoSuite, sleep } from './demo-page.mjs';

/** `sub` of a `Bearer` JWT (unchecked: only to see whose token a request carried). */
function subOf(authorization) {
  const payload = authorization?.replace(/^Bearer /, '').split('.')[1];
  return payload && JSON.parse(Buffer.from(payload, 'base64url').toString()).sub;
}

describe('the demo on real clerk-js against the stand-ins', () => {
  const t = demoSuite();

  const faunaLog = () => api(`${t.env.fauna}/__admin/requests`);
  const clerkLog = () => api(`${t.env.clerk}/__admin/requests`);
  const templateRequests = (log) => log.filter((r) => r.token === 'template');

  it('three minutes with 60 s tokens and clerk-js\'s cache in play: Fauna refuses none', { timeout: 300_000 }, async () => {
    await t.demo.open({ intervalMs: '500', burst: '2' });
    await t.demo.signIn('Alice');
    const { ok, failed } = await t.demo.runLoop(180_000);

    const log = await faunaLog();
    const refused = log.filter((r) => r.auth === 'rejected');
    const fapi = templateRequests(await clerkLog());
    const tokensUsed = new Set(log.map((r) => r.jti)).size;
    console.log(
      `# 180 s, 60 s tokens: ${ok} queries ok, ${failed} failed; ${log.length} Fauna requests, ${refused.length} refused` +
        ` (${JSON.stringify(refused.map((r) => r.reason))}); ${tokensUsed} tokens used;` +
        ` Frontend API token requests: ${fapi.length} (${fapi.filter((r) => r.skip_cache).length} with skip_cache)`,
    );
    assert.deepEqual(refused, [], 'tokens refused by Fauna');
    assert.equal(failed, 0);
    assert.ok(ok >= 300, `only ${ok} queries in three minutes`);
    // 180 s of 60 s tokens: at least three of them.
    assert.ok(tokensUsed >= 3, `the run crossed only ${tokensUsed} tokens`);
    assert.ok(fapi.every((r) => r.status === 200), 'a Frontend API token request failed');
  });

  it('a 401 makes exactly one Frontend API token request, with skip_cache, before the retry succeeds', { timeout: 60_000 }, async () => {
    await t.demo.open();
    await t.demo.signIn('Alice');
    // The todo list's query has run: a token is cached, in clerk-fauna and in clerk-js.
    await t.page.getByTestId('todos-empty').waitFor();
    await api(`${t.env.fauna}/__admin/faults`, { status: 401, count: 1, paths: ['/query/1'] });
    const clerkFrom = (await clerkLog()).length;
    const faunaFrom = (await faunaLog()).length;

    await t.page.getByTestId('todos-reload').click();
    // Done when Fauna has answered the retry.
    let queries = [];
    await deadline(
      (async () => {
        for (;;) {
          queries = (await faunaLog()).slice(faunaFrom).filter((r) => r.path === '/query/1');
          if (queries.length >= 2) return;
          await sleep(100);
        }
      })(),
      20_000,
      'the retried query',
    );
    const between = templateRequests((await clerkLog()).slice(clerkFrom));
    console.log(`# between the 401 and the retry: ${JSON.stringify(between.map(({ skip_cache, status }) => ({ skip_cache, status })))}`);
    assert.deepEqual(queries.map((r) => r.status), [401, 200]);
    assert.notEqual(queries[1].jti, queries[0].jti, 'the retry carries a new token');
    assert.equal(between.length, 1, 'Frontend API token requests between the 401 and the retry');
    assert.equal(between[0].skip_cache, true, 'the new token bypassed clerk-js\'s cache');
    assert.equal(await t.page.getByTestId('error').count(), 0);
  });

  it('a reload while signed in keeps working, on the same session', { timeout: 60_000 }, async () => {
    await t.demo.open();
    await t.demo.signIn('Alice');
    assert.deepEqual(await t.demo.whoami(), { v4: ALICE, v10: ALICE });
    await t.page.reload();
    // No click: clerk-js finds the session through the stand-in's client cookie.
    await t.demo.signedIn();
    assert.deepEqual(await t.demo.whoami(), { v4: ALICE, v10: ALICE });

    const fapi = await clerkLog();
    assert.equal(fapi.filter((r) => r.path === '/v1/client/sign_ins').length, 1, 'signed in once');
    const sids = new Set(templateRequests(fapi).map((r) => r.sid));
    assert.equal(sids.size, 1, 'one session before and after the reload');
    assert.deepEqual((await faunaLog()).filter((r) => r.auth !== 'ok' || r.sub !== ALICE), []);
  });

  it('two tabs of one browser signed in as one user both query as that user', { timeout: 60_000 }, async () => {
    await t.demo.open();
    await t.demo.signIn('Alice');
    const other = demoPage(t.env, await t.env.context.newPage());
    try {
      await other.goto();
      await other.signedIn();
      assert.deepEqual(await other.whoami(), { v4: ALICE, v10: ALICE });
      assert.deepEqual(await t.demo.whoami(), { v4: ALICE, v10: ALICE });
      for (const tab of [t.demo, other]) await tab.live();
    } finally {
      await other.page.close();
    }
    const fapi = await clerkLog();
    assert.equal(new Set(templateRequests(fapi).map((r) => r.sid)).size, 1, 'both tabs use the one session');
    const log = await faunaLog();
    assert.equal(log.length, 8, 'per tab: the todo list and its stream, and whoami\'s two queries');
    assert.deepEqual(log.filter((r) => r.auth !== 'ok' || r.sub !== ALICE), []);
  });

  it('a session switch through clerk-js (sign out mid-loop, sign in as Bob) never sends Alice\'s token after', { timeout: 90_000 }, async () => {
    // Every request the page sends to Fauna, with the user whose token it carries.
    const sent = [];
    t.page.on('request', (request) => {
      if (!request.url().startsWith(t.env.fauna)) return;
      const sub = subOf(request.headers().authorization);
      if (sub) sent.push({ at: Date.now(), sub });
    });
    await t.demo.open({ intervalMs: '100', burst: '3' });
    await t.demo.signIn('Alice');
    await t.page.getByTestId('loop-toggle').click();
    await sleep(3000);
    // Sign out with the loop running and queries in flight.
    await t.demo.signOut();
    const signedOutAt = Date.now();
    await t.demo.signIn('Bob');
    const { ok, failed } = await t.demo.runLoop(3000);

    const after = sent.filter((r) => r.at >= signedOutAt);
    console.log(`# ${sent.length - after.length} requests before the sign-out, ${after.length} after; Bob's loop: ${ok} ok, ${failed} failed`);
    assert.ok(sent.some((r) => r.sub === ALICE), 'Alice queried');
    assert.ok(after.length >= 20, `only ${after.length} requests after the switch`);
    assert.deepEqual(after.filter((r) => r.sub !== BOB), [], 'a request after the sign-out carried another user\'s token');
    assert.equal(failed, 0);
    assert.ok(ok >= 10, `Bob's loop: only ${ok} queries`);
    // Fauna's side: it refused nothing, and saw no Alice request after Bob's first.
    const log = await faunaLog();
    assert.deepEqual(log.filter((r) => r.auth !== 'ok'), []);
    const subs = log.map((r) => r.sub);
    assert.ok(subs.lastIndexOf(ALICE) < subs.indexOf(BOB), 'Fauna saw Alice\'s token after Bob\'s');
  });
});
