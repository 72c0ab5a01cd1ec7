// The demo as `make demo` serves it: Vite's dev server, React's development
// build, and StrictMode, which mounts every component twice. A sign-in that
// works in the built app can fail here (see src/App.tsx: one clerk-js
// instance for the provider), so the main path runs here too.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestsTo } from '../../devserver/launch.mjs';
import { api, deadline } from './harness.mjs';
import { ALICE, BOB, demoSuite, sleep } from './demo-page.mjs';

describe('the demo on Vite\'s dev server (make demo)', () => {
  const t = demoSuite({ app: 'dev' });

  it('signs in through clerk-js, queries and streams as that user, switches to Bob', { timeout: 120_000 }, async () => {
    // The first load compiles the app on demand: give it time.
    await t.demo.goto();
    await t.page.getByTestId('signed-out').waitFor({ timeout: 90_000 });
    assert.match(await t.page.evaluate(() => window.Clerk?.version), /^6\./);
    await t.demo.signIn('Alice');
    assert.deepEqual(await t.demo.whoami(), { v4: ALICE, v10: ALICE });
    await t.demo.live();
    await t.demo.signOut();
    await t.demo.signIn('Bob');
    assert.deepEqual(await t.demo.whoami(), { v4: BOB, v10: BOB });
    await t.demo.live();
    const log = await api(`${t.env.fauna}/__admin/requests`);
    assert.deepEqual(log.filter((r) => r.auth !== 'ok'), []);
    // The todo list's stream: one per user under StrictMode, Alice's closed at her sign-out.
    const streams = async () =>
      (await requestsTo(t.env.fauna, '/stream/1')).map((r) => [r.sub, r.ended]);
    const closed = (all) => all.length > 0 && all[0][1] !== 'open';
    await deadline(
      (async () => {
        while (!closed(await streams())) await sleep(50);
      })(),
      20_000,
      'Alice\'s stream closed',
    );
    assert.deepEqual(await streams(), [[ALICE, 'client_closed'], [BOB, 'open']]);
  });
});
