// The public JS API of the built package (pkg/web.js, after `await init()`),
// tested in the page: TokenCache, FaunaClient, decodeJwt, diagnose and
// ClerkFaunaError. A JS issuer mints RS256-shaped JWTs; an injected `fetch`
// plays Fauna's answers and records every request (../support.js). The
// Node runner (api.test.mjs) runs each test in a fresh page.

import { ClerkFaunaError, FaunaClient, TokenCache, decodeJwt, diagnose } from '../../pkg/web.js';
import {
  FakeFauna,
  Issuer,
  mintToken,
  misuse,
  polluteSetters,
  rawToken,
  rejection,
  settlesWithin,
  skewClock,
  watchUnhandled,
} from '../support.js';
import {
  collectGarbage,
  deepEqual,
  equal,
  isObject,
  notEqual,
  ok,
  present,
  test,
  text,
  thrown,
  watchCollection,
} from './page/harness.js';

export { names, run } from './page/harness.js';

const ALICE = 'user_2alice0000000000000000000';
const BOB = 'user_2bob000000000000000000000';

/** The rejection of `p`, which must reject. */
async function err(p) {
  const e = await rejection(p);
  ok(e !== null, 'expected a rejection');
  return e;
}

/** Lets timers and microtasks run for `ms`. */
const pause = (ms) => settlesWithin(new Promise(() => {}), ms);

const all = (promises) => Promise.allSettled(promises);

/**
 * The value of a settled promise, which must have fulfilled.
 * @param {PromiseSettledResult<any>} r
 */
function value(r) {
  if (r.status === 'rejected') throw new Error(`expected a fulfilled promise, got a rejection: ${String(r.reason)}`);
  return r.value;
}

/**
 * The reason of a settled promise, which must have rejected.
 * @param {PromiseSettledResult<any>} r
 */
function reason(r) {
  if (r.status === 'fulfilled') throw new Error(`expected a rejected promise, got ${String(r.value)}`);
  return r.reason;
}

const times = (n, f) => Array.from({ length: n }, f);

const cache = (issuer, options) => new TokenCache(issuer.getToken, options);

function client(tokens, fauna, options) {
  return new FaunaClient(tokens, {
    ...options,
    endpoint: 'http://fauna.test',
    graphqlEndpoint: 'http://fauna.test/graphql',
    fetch: fauna.fetch,
    // The fake Fauna answers through `fetch`: nothing crosses a network.
    allowInsecureHttp: true,
  });
}

function stats(c) {
  const s = c.stats;
  return ['hits', 'misses', 'joins', 'refreshes', 'failures'].map((n) => s[n]);
}

/**
 * Alice's issuer (60 s tokens), a cache over it, and a client with these
 * options sending to a fake Fauna.
 */
function aliceWithClient(clientOptions = {}) {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  const fauna = new FakeFauna();
  return { issuer, c, fauna, db: client(c, fauna, clientOptions) };
}

/**
 * The payload of a token these tests minted: its claims as minted (numbers
 * where the issuer wrote numbers).
 * @param {string} token
 * @returns {Record<string, any>}
 */
const payload = (token) => decodeJwt(token).payload;

const isString = (value) => typeof value === 'string';

// ---- token cache ----

test('a thousand concurrent gets make one call', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  const results = await all(times(1000, () => c.get()));
  equal(issuer.count, 1);
  const first = value(results[0]);
  ok(isString(first));
  for (const r of results) {
    equal(value(r), first);
  }
  deepEqual(stats(c), [0, 1, 999, 0, 0]);
  equal(issuer.lastOptions.template, 'fauna');
  // A new cache's first call asks for a newly minted token: one of unknown
  // age (from Clerk's own cache) could not be judged.
  equal(issuer.lastOptions.skipCache, true);
  // Warm: served from the cache.
  equal(await c.get(), first);
  deepEqual([issuer.count, stats(c)[0]], [1, 1]);
});

test('refresh ahead returns the old token and refreshes once', async () => {
  // A 30 s token under a 45 s refresh-ahead window is due for refresh at once.
  const issuer = new Issuer(ALICE, 30);
  const c = cache(issuer, { refreshAheadSeconds: 45 });
  const old = await c.get();
  issuer.script(['hold']);
  for (let i = 0; i < 20; i++) {
    equal(await c.get(), old);
  }
  equal(issuer.count, 2, 'exactly one background refresh');
  equal(issuer.lastOptions.skipCache, true);
  equal(issuer.release(), 1);
  // Let the background refresh land.
  await pause(20);
  const fresh = present(c.peek());
  notEqual(fresh, old);
  equal(stats(c)[3], 1);
});

test('below min validity callers wait for a new token', async () => {
  // 20 s tokens, an 18.5 s minimum: counted from `iat + 1 s` (whole
  // seconds), a new one has 19 s less the call's time; 0.7 s later it is
  // never served again.
  const issuer = new Issuer(ALICE, 20);
  const c = cache(issuer, { minValiditySeconds: 18.5, refreshAheadSeconds: 20 });
  const first = await c.get();
  await pause(700);
  equal(c.peek(), undefined);
  issuer.script(['hold']);
  const waiting = c.get();
  ok(!(await settlesWithin(waiting, 50)), 'served a token below minValiditySeconds');
  issuer.release();
  const second = await waiting;
  notEqual(first, second);
  // The held call was an ordinary one: its token is judged by the bound
  // learned from the first (up to 1 s of `iat` rounding), and when that
  // leaves it under 18.5 s it is asked again with skipCache: 2 or 3 calls,
  // depending on where in its second each token was minted.
  ok(issuer.count >= 2 && issuer.count <= 3, `${issuer.count} getToken calls`);
});

test('skip cache shares only with forced calls', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  // Another template's token first: the cache has learned the server's
  // clock, so an ordinary miss takes getToken's own cache.
  await c.get({ template: 'other' });
  issuer.script(['hold', 'hold']);
  const ordinary = c.get();
  const forced = times(3, () => c.get({ skipCache: true }));
  await pause(0);
  equal(issuer.count, 3);
  equal(issuer.calls[1].skipCache, undefined);
  equal(issuer.calls[2].skipCache, true);
  equal(issuer.release(), 2);
  const a = await ordinary;
  const results = await all(forced);
  const b = value(results[0]);
  notEqual(a, b);
  for (const r of results) {
    equal(value(r), b);
  }
  // The forced result replaced the entry.
  equal(c.peek(), b);
  deepEqual(stats(c), [0, 2, 2, 1, 0]);
});

test('signed out rejects clears and is not cached', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  await c.get({ template: 'other' });
  ok(isString(c.peek('other')));
  issuer.script(['null']);
  const e = await err(c.get());
  equal(e.code, 'signed_out');
  equal(e.name, 'ClerkFaunaError');
  ok(e instanceof Error);
  ok(e instanceof ClerkFaunaError);
  equal(c.peek('other'), undefined, 'sign-out keeps no token');
  // Not cached: the next call asks again and succeeds.
  ok(isString(await c.get()));
  equal(issuer.count, 3);
});

test('a throwing get token keeps its cause', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  issuer.script(['throw']);
  const e = await err(c.get());
  equal(e.code, 'token_unavailable');
  equal(e.cause, issuer.error);
  ok(isString(await c.get()));
  equal(stats(c)[4], 1);
});

test('a hanging get token times out and the next call retries', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, { getTokenTimeoutMs: 100 });
  issuer.script(['hang']);
  const waiters = times(5, () => c.get());
  for (const r of await all(waiters)) {
    equal(reason(r).code, 'token_timeout');
  }
  ok(isString(await c.get()));
  equal(issuer.count, 2);
});

test('malformed tokens are rejected', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  issuer.script(['garbage', 'number']);
  for (let i = 0; i < 2; i++) {
    const e = await err(c.get());
    equal(e.code, 'malformed_token');
    ok(!text(e.message).includes('not.a.jwt'), 'the message repeats the token');
  }
  equal(c.peek(), undefined);
  equal(thrown(() => decodeJwt('a.b')).code, 'malformed_token');
  // @ts-expect-error a number where a token is typed: its error is tested
  equal(thrown(() => decodeJwt(5)).code, 'malformed_token');
  // Segments the platform's JSON reader must refuse: a payload of bytes
  // that are not UTF-8 (0xff 0xfe), and one starting with a BOM.
  for (const segment of ['__4', '77u_e30']) {
    const e = thrown(() => decodeJwt(`e30.${segment}.c2ln`), segment);
    equal(e.message, 'The token is not a valid JWT: its payload is not a JSON object.');
  }
  decodeJwt('e30.e30.c2ln');
});

test('another user clears every other entry', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  await c.get();
  await c.get({ template: 'other' });
  issuer.sub = BOB;
  const bob = await c.get({ template: 'other', skipCache: true });
  equal(payload(bob).sub, BOB);
  equal(c.peek(), undefined, "Alice's token survived Bob's sign-in");
  equal(c.claims('other').sub, BOB);
});

test('clear during a call rejects its waiters at once', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  issuer.script(['hold']);
  const waiters = times(3, () => c.get());
  c.clear();
  for (const r of await all(waiters)) {
    equal(reason(r).code, 'cleared');
  }
  issuer.release();
  await pause(20);
  equal(c.peek(), undefined, 'a token minted before clear() was cached');
});

test('invalidate claims and options', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, { template: 'fauna', organizationId: 'org_1' });
  const t = await c.get();
  equal(issuer.lastOptions.organizationId, 'org_1');
  equal(c.peek(), t);
  equal(c.claims().sub, ALICE);
  equal(c.claims('never'), undefined);
  // '' names no entry (get() refuses it): nothing to read, nothing dropped.
  equal(c.peek(''), undefined);
  equal(c.claims(''), undefined);
  c.invalidate('');
  equal(c.peek(), t);
  c.invalidate();
  equal(c.peek(), undefined);
  // Options the types refuse too (a string timeout, a number), on purpose.
  const bads = /** @type {any[]} */ ([{ refreshAheadSeconds: -1 }, { template: '' }, { getTokenTimeoutMs: 'soon' }, 5]);
  for (const bad of bads) {
    const e = thrown(() => new TokenCache(issuer.getToken, bad), JSON.stringify(bad));
    equal(e.code, 'invalid_option');
  }
  // @ts-expect-error a string where getToken is typed: its error is tested
  equal(thrown(() => new TokenCache('not a function')).code, 'invalid_option');
  // @ts-expect-error a string where a boolean is typed: its error is tested
  let e = await err(c.get({ skipCache: 'yes' }));
  equal(e.code, 'invalid_option');
  equal(e.message, 'get options.skipCache must be a boolean.');
  // @ts-expect-error a string where a number is typed: its error is tested
  e = thrown(() => new TokenCache(issuer.getToken, { getTokenTimeoutMs: 'soon' }));
  equal(e.message, 'TokenCache options.getTokenTimeoutMs must be a number.');
  // @ts-expect-error a number where options are typed: its error is tested
  e = thrown(() => new TokenCache(issuer.getToken, 5));
  equal(e.message, 'TokenCache options must be an object.');
});

// ---- user isolation: a call from an earlier session never leaves a token ----

/** The true time in whole seconds (the issuer's clock). */
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * A rejection that has already happened (within 50 ms): a call begun in an
 * earlier session is ended at once, not when its getToken settles.
 */
async function rejectedAtOnce(p) {
  ok(await settlesWithin(p, 50), 'still waiting for a getToken of an earlier session');
  return (await err(p)).code;
}

test('a sign out ends the calls in flight and caches none of their tokens', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  await c.get();
  // Another template's call and a forced call are slow; a third call hears
  // that the user signed out.
  issuer.script(['hold', 'hold', 'null']);
  const other = c.get({ template: 'other' });
  const forced = c.get({ skipCache: true });
  const e = await err(c.get({ template: 'third' }));
  equal(e.code, 'signed_out');
  equal(await rejectedAtOnce(other), 'cleared');
  equal(await rejectedAtOnce(forced), 'cleared');
  // Their tokens (the signed-out user's) arrive late, and are dropped.
  equal(issuer.release(), 2);
  await pause(20);
  for (const template of [undefined, 'other', 'third']) {
    equal(c.peek(template), undefined, String(template));
  }
  equal(c.claims('other'), undefined);
});

test('clear ends other templates and forced calls and caches nothing', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  await c.get();
  issuer.script(['hold', 'hold']);
  const other = c.get({ template: 'other' });
  const forced = c.get({ skipCache: true });
  await pause(0);
  c.clear();
  equal(await rejectedAtOnce(other), 'cleared');
  equal(await rejectedAtOnce(forced), 'cleared');
  equal(issuer.release(), 2);
  await pause(20);
  equal(c.peek(), undefined);
  equal(c.peek('other'), undefined);
});

test('a late token of the previous user never evicts the new users', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  await c.get();
  // Alice's forced refresh is slow. Meanwhile Clerk switched to Bob, and
  // another template's call brings his token; then Alice's lands.
  issuer.script([{ hold: true, sub: ALICE }]);
  const slow = c.get({ skipCache: true });
  await pause(0);
  issuer.sub = BOB;
  const bob = await c.get({ template: 'other' });
  equal(payload(bob).sub, BOB);
  equal(await rejectedAtOnce(slow), 'cleared');
  equal(issuer.release(), 1);
  await pause(20);
  equal(c.peek('other'), bob, "Bob's token was evicted");
  equal(c.peek(), undefined, "Alice's late token was cached");
  const next = await c.get();
  equal(payload(next).sub, BOB);
});

// ---- freshness by the server's clock ----

test('aged tokens from get tokens own cache are never served', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  await c.get();
  const now = nowSeconds();
  // As clerk-js hands back: minted 58 s ago with 2 s left; one that
  // expired an hour ago (exp - iat = 60); one minted an hour from now.
  for (const [iat, what] of /** @type {[number, string][]} */ ([
    [now - 58, '2 s left'],
    [now - 3660, 'expired an hour ago'],
    [now + 3600, 'from the future'],
  ])) {
    c.invalidate();
    issuer.script([{ iat, exp: iat + 60, nbf: iat - 5 }]);
    const before = issuer.count;
    const served = await c.get();
    ok(isString(served), what);
    const claims = payload(served);
    ok(claims.exp - Date.now() / 1000 >= 55, `${what}: served an aged token`);
    ok(issuer.count - before >= 2, `${what}: no new token asked for`);
    equal(issuer.lastOptions.skipCache, true, what);
    ok(Math.trunc(claims.iat) >= now, what);
  }
});

test('a get token that ignores skip cache gets a clear error not an aged token', async () => {
  const issuer = new Issuer(ALICE, 60);
  const c = cache(issuer, {});
  await c.get();
  c.invalidate();
  const iat = nowSeconds() - 58;
  issuer.script([{ iat, exp: iat + 60, nbf: iat - 5 }, 'repeat', 'repeat']);
  const e = await err(c.get());
  equal(e.code, 'token_unavailable');
  ok(text(e.message).includes('skipCache'), e.message);
  equal(c.peek(), undefined);
});

test('a template shorter than min validity is a clear error', async () => {
  // 3 s tokens under the default 5 s minValiditySeconds: Fauna would
  // refuse each within 5 s, so none is served.
  const issuer = new Issuer(ALICE, 3);
  const c = cache(issuer, {});
  const e = await err(c.get());
  equal(e.code, 'token_unavailable');
  ok(text(e.message).includes('minValiditySeconds'));
  // Lowered to 1 s, the same tokens are served.
  const lowered = cache(issuer, { minValiditySeconds: 1 });
  ok(isString(await lowered.get()));
});

test('a device clock two hours off serves the same tokens', async () => {
  for (const skew of [7_200_000, -7_200_000]) {
    // The issuer keeps true time.
    const trueNow = nowSeconds();
    skewClock(skew);
    try {
      const issuer = new Issuer(ALICE, 60);
      const c = cache(issuer, {});
      const first = await c.get();
      equal(await c.get(), first, `skew ${skew}: not served from the cache`);
      equal(c.peek(), first);
      // An aged one is still refused: 2 s left by the server's clock.
      c.invalidate();
      const iat = trueNow - 58;
      issuer.script([{ iat, exp: iat + 60 }]);
      const served = await c.get();
      ok(isString(served));
      ok(Math.trunc(payload(served).iat) > iat, `skew ${skew}: aged token served`);
    } finally {
      skewClock(0);
    }
  }
});

// ---- claims from untrusted tokens ----

test('a proto claim never reaches a copys prototype', async () => {
  // JSON.parse makes `__proto__` an own member, as a token's payload has it
  // (an object literal would set the prototype instead).
  const token = mintToken(
    JSON.parse('{"__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true}}}'),
    undefined,
  );
  const claims = payload(token);
  const copy = Object.assign({}, claims);
  equal(copy.polluted, undefined, 'Object.assign copied __proto__');
  const nested = Object.assign({}, claims.nested);
  equal(nested.polluted, undefined);
  const issuer = new Issuer(ALICE, 60);
  issuer.script([token]);
  const c = cache(issuer, {});
  await c.get();
  equal(Object.assign({}, c.claims()).polluted, undefined);
});

test('a claim on object prototype is not the tokens', async () => {
  // Another library's bug leaves values on Object.prototype: a token without
  // `nbf` or `sub` must not borrow them (JSON.parse's objects inherit them).
  const now = nowSeconds();
  Object.defineProperty(Object.prototype, 'nbf', { value: now + 3600, configurable: true, writable: true });
  Object.defineProperty(Object.prototype, 'sub', { value: 'user_borrowed', configurable: true, writable: true });
  try {
    // Valid now: the inherited nbf (an hour ahead) is not its own.
    const token = rawToken(`{"iat":${now},"exp":${now + 60}}`);
    const issuer = new Issuer(ALICE, 60);
    issuer.script([token]);
    equal(await cache(issuer, {}).get(), token);
    const findings = diagnose(token).map((f) => f.code);
    ok(findings.includes('sub_missing'), `findings: ${findings.join(', ')}`);
    ok(!findings.includes('not_yet_valid'), `findings: ${findings.join(', ')}`);
  } finally {
    Reflect.deleteProperty(Object.prototype, 'nbf');
    Reflect.deleteProperty(Object.prototype, 'sub');
  }
});

test('a setter on object prototype never sees the token or what is built around it', async () => {
  // Another library's bug leaves setters on Object.prototype: every object
  // the package builds (request headers, getToken's options, results,
  // decoded claims) is made of own members, so none is ever called.
  const pollution = polluteSetters([
    'Authorization',
    'authorization',
    'template',
    'skipCache',
    'data',
    'txnTs',
    'stats',
    'header',
    'payload',
    'url',
    'init',
    'headers',
    'body',
    'method',
  ]);
  try {
    const issuer = new Issuer(ALICE, 60);
    const fauna = new FakeFauna();
    const c = cache(issuer, {});
    const db = client(c, fauna, {});
    equal((await db.query('1')).data, ALICE);
    equal(await db.currentIdentity(), ALICE);
    const token = await c.get();
    ok(isString(token));
    equal(payload(token).sub, ALICE);
    equal(fauna.request(0).headers.authorization, `Bearer ${token}`);
  } finally {
    pollution.restore();
  }
  equal(
    pollution.seen.length,
    0,
    `a setter on Object.prototype was called: ${pollution.seen.map(([name]) => name).join(', ')}`,
  );
});

test('time claims that are not whole seconds and long tokens are malformed', async () => {
  const now = nowSeconds();
  for (const [what, payloadText] of [
    ['exp 1e400', `{"sub":"a","iat":${now},"exp":1e400}`],
    ['exp a string', `{"sub":"a","iat":${now},"exp":"${now + 60}"}`],
    ['exp a float', `{"sub":"a","iat":${now},"exp":${now + 60}.5}`],
    ['iat a float', `{"sub":"a","iat":${now}.25,"exp":${now + 60}}`],
    ['nbf negative', `{"sub":"a","nbf":-1,"exp":${now + 60}}`],
    ['over 8 KiB', `{"sub":"a","exp":${now + 60},"pad":"${'x'.repeat(9000)}"}`],
  ]) {
    const token = rawToken(payloadText);
    equal(thrown(() => decodeJwt(token), what).code, 'malformed_token', what);
    const issuer = new Issuer(ALICE, 60);
    issuer.script([token]);
    const c = cache(issuer, {});
    equal((await err(c.get())).code, 'malformed_token', what);
    equal(c.peek(), undefined, what);
  }
});

// ---- Fauna requests ----

test('query sends exactly the specified request', async () => {
  const { issuer, c, fauna, db } = aliceWithClient();
  const result = await db.query('Query.token().sub', { x: 1 });
  equal(result.data, ALICE);
  equal(result.staticType, 'String');
  equal(result.schemaVersion, 0);
  ok(isObject(result.stats));
  const firstTs = result.txnTs;
  equal(typeof firstTs, 'number');
  equal(db.lastTxnTs, firstTs);

  let r = fauna.request(0);
  equal(r.url, 'http://fauna.test/query/1');
  equal(r.method, 'POST');
  equal(r.body, '{"query":"Query.token().sub","arguments":{"x":1}}');
  const token = present(c.peek());
  equal(r.headers.authorization, `Bearer ${token}`);
  equal(r.headers['x-format'], 'simple');
  equal(r.headers['x-query-timeout-ms'], '5000');
  equal(r.headers['content-type'], 'application/json');
  const names = Object.keys(r.headers);
  equal(names.length, 4, `unexpected headers: ${names.join(', ')}`);

  // The second query carries the first's txn_ts, and per-query options.
  await db.query('1', undefined, {
    format: 'tagged',
    typecheck: true,
    linearized: false,
    maxContentionRetries: 2,
    queryTags: { app: 'demo' },
    queryTimeoutMs: 1000,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  r = fauna.request(1);
  equal(r.body, '{"query":"1"}');
  equal(r.headers['x-last-txn-ts'], `${firstTs}`);
  equal(r.headers['x-format'], 'tagged');
  equal(r.headers['x-typecheck'], 'true');
  equal(r.headers['x-linearized'], 'false');
  equal(r.headers['x-max-contention-retries'], '2');
  equal(r.headers['x-query-tags'], 'app=demo');
  equal(r.headers['x-query-timeout-ms'], '1000');
  ok(isString(r.headers.traceparent));

  // No tags: no header (an empty one once ended the request's head early).
  await db.query('1', undefined, { queryTags: {} });
  r = fauna.request(2);
  equal(r.headers['x-query-tags'], undefined);
  equal(r.body, '{"query":"1"}');
  equal(issuer.count, 1, 'one token for every query');
});

test('last txn ts keeps the largest', async () => {
  const { fauna, db } = aliceWithClient();
  fauna.script([
    { body: { data: 1, txn_ts: 20, stats: {} } },
    { body: { data: 2, txn_ts: 10, stats: {} } },
  ]);
  await db.query('1');
  await db.query('2');
  equal(db.lastTxnTs, 20);
});

test('a hundred queries rejected with 401 share one refresh', async () => {
  const { issuer, c, fauna, db } = aliceWithClient();
  const stale = await c.get();
  ok(isString(stale));
  fauna.reject(stale);
  for (const r of await all(times(100, () => db.query('1')))) {
    value(r); // fulfilled, or fails with the rejection's reason
  }
  equal(issuer.count, 2, 'one token, one refresh');
  equal(stats(c)[3], 1);
  equal(fauna.count, 200);
  equal(issuer.lastOptions.skipCache, true);
});

/** Fauna's 401 for a token it does not accept. */
const UNAUTHORIZED = { status: 401, body: { error: { code: 'unauthorized', message: 'Access token required' } } };

test('a second 401 is unauthorized with a hint and no token', async () => {
  const { issuer, c, fauna, db } = aliceWithClient();
  fauna.script([UNAUTHORIZED, UNAUTHORIZED]);
  const e = await err(db.query('1'));
  equal(e.code, 'unauthorized');
  equal(e.httpStatus, 401);
  equal(e.faunaCode, 'unauthorized');
  const hint = text(e.hint);
  ok(hint.includes('iss https://clerk.example.test'), hint);
  ok(hint.includes('https://db.fauna.com/db/ytestdb'), hint);
  ok(hint.includes('trailing slash'), hint);
  // The token itself looks right: the hint points at the access provider and its JWKS.
  ok(hint.includes('check the access provider'), hint);
  ok(hint.includes('reachable from the Fauna server'), hint);
  const token = present(c.peek());
  const everything = JSON.stringify(e) + text(e.message) + hint;
  ok(!everything.includes(token));
  deepEqual([fauna.count, issuer.count], [2, 2]);
});

test('throttling backs off and retries', async () => {
  const { fauna, db } = aliceWithClient({ maxBackoffMs: 50 });
  const throttled = {
    status: 429,
    body: { error: { code: 'limit_exceeded', message: 'Rate limit exceeded' }, stats: {} },
  };
  const honoured = {
    status: 429,
    headers: { 'Retry-After': '0' },
    body: { error: { code: 'limit_exceeded', message: 'Rate limit exceeded' } },
  };
  fauna.script([throttled, honoured]);
  const result = await db.query('1');
  equal(result.data, ALICE);
  equal(fauna.count, 3);

  fauna.script([throttled, throttled, throttled]);
  let e = await err(db.query('1'));
  equal(e.code, 'throttled');
  equal(e.httpStatus, 429);
  equal(fauna.count, 6, 'three attempts in all');

  // A server asking for longer than maxBackoffMs is not hammered.
  const long = {
    status: 429,
    headers: { 'Retry-After': '30' },
    body: { error: { code: 'limit_exceeded', message: 'x' } },
  };
  fauna.script([long]);
  e = await err(db.query('1'));
  deepEqual([e.code, e.retryAfterMs], ['throttled', 30_000]);
  equal(fauna.count, 7);
});

test('every failure has its code and is not retried', async () => {
  const { fauna, db } = aliceWithClient();
  // [Fauna's answer, the error's code, its faunaCode (undefined: none)]
  const cases = [
    [
      {
        status: 400,
        body: { error: { code: 'invalid_query', message: 'bad' }, summary: 'error: bad', txn_ts: 1, stats: {} },
      },
      'query_failed',
      'invalid_query',
    ],
    [
      { status: 400, body: { error: { code: 'abort', message: 'aborted', abort: { why: 'no' } }, stats: {} } },
      'query_failed',
      'abort',
    ],
    [
      {
        status: 400,
        body: {
          error: {
            code: 'constraint_failure',
            message: 'c',
            constraint_failures: [{ paths: [['a']], message: 'm' }],
          },
        },
      },
      'query_failed',
      'constraint_failure',
    ],
    [
      { status: 400, body: { error: { code: 'invalid_request', message: 'bad header' } } },
      'invalid_request',
      'invalid_request',
    ],
    [{ status: 403, body: { error: { code: 'forbidden', message: 'no' } } }, 'forbidden', 'forbidden'],
    [
      { status: 409, body: { error: { code: 'contended_transaction', message: 'c' } } },
      'contended_transaction',
      'contended_transaction',
    ],
    [{ status: 440, body: { error: { code: 'time_out', message: 't' } } }, 'timeout', 'time_out'],
    [{ status: 503, body: { error: { code: 'time_out', message: 't' } } }, 'timeout', 'time_out'],
    [{ status: 500, body: { error: { code: 'internal_error', message: 'i' } } }, 'service_error', 'internal_error'],
    // The account is disabled: the driver's AuthorizationError.
    [
      { status: 410, body: { error: { code: 'forbidden', message: 'Your account has been disabled.' } } },
      'forbidden',
      'forbidden',
    ],
    [
      { status: 540, body: { error: { code: 'internal_error', message: 'operator' } } },
      'service_error',
      'internal_error',
    ],
    [{ status: 502, body: '<html>Bad Gateway</html>' }, 'service_error', undefined],
    [{ status: 200, body: 'not json' }, 'protocol_error', undefined],
    [{ status: 200, body: '' }, 'protocol_error', undefined],
    [{ status: 200, body: { nothing: true } }, 'protocol_error', undefined],
    [{ fail: true }, 'network_error', undefined],
  ];
  for (const [i, [answer, code, faunaCode]] of cases.entries()) {
    const shown = JSON.stringify(answer);
    fauna.script([answer]);
    const e = await err(db.query('1'));
    equal(e.code, code, shown);
    equal(e.faunaCode, faunaCode, shown);
    equal(fauna.count, i + 1, `retried: ${shown}`);
  }
  fauna.script([{ status: 400, body: { error: { code: 'abort', message: 'a', abort: { why: 'no' } } } }]);
  let e = await err(db.query('1'));
  equal(e.abort.why, 'no');
  fauna.script([
    { status: 400, body: { error: { code: 'constraint_failure', message: 'c', constraint_failures: [{ message: 'm' }] } } },
  ]);
  e = await err(db.query('1'));
  ok(Array.isArray(e.constraintFailures));
  // @ts-expect-error a number where FQL text is typed: its error is tested
  e = await err(db.query(5));
  equal(e.code, 'invalid_option');
  // @ts-expect-error an array where arguments are typed: its error is tested
  e = await err(db.query('1', [1]));
  equal(e.code, 'invalid_option');
  e = await err(db.query('1', undefined, { queryTags: { 'a b': 'c' } }));
  equal(e.code, 'invalid_option');
  // @ts-expect-error a number where a tag's string is typed: its error is tested
  e = await err(db.query('1', undefined, { queryTags: { a: 1 } }));
  equal(e.message, 'query options.queryTags must be an object of strings.');
});

test('a request with no answer times out', async () => {
  const { fauna, db } = aliceWithClient();
  fauna.script([{ hang: true }]);
  // queryTimeoutMs 1: abandoned 5001 ms later.
  const e = await err(db.query('1', undefined, { queryTimeoutMs: 1 }));
  equal(e.code, 'timeout');
  equal(fauna.count, 1);
});

test('token errors reach query callers', async () => {
  const { issuer, fauna, db } = aliceWithClient();
  issuer.script(['null']);
  const e = await err(db.query('1'));
  equal(e.code, 'signed_out');
  equal(fauna.count, 0, 'a request was sent without a token');
});

test('v4 current identity and errors', async () => {
  const { issuer, c, fauna, db } = aliceWithClient();
  equal(await db.currentIdentity(), ALICE);
  const r = fauna.request(0);
  equal(r.url, 'http://fauna.test/');
  equal(r.headers['x-faunadb-api-version'], '4');
  equal(r.body, '{"current_identity":null}');
  fauna.script([
    {
      status: 400,
      body: { errors: [{ position: [], code: 'invalid expression', description: 'No form/function found' }] },
    },
  ]);
  let e = await err(db.queryV4({ nope: 1 }));
  deepEqual([e.code, e.faunaCode], ['query_failed', 'invalid expression']);
  // v4 protocol errors use codes of their own, and no position.
  for (const [status, faunaCode, code] of [
    [503, 'time out', 'service_error'],
    [440, 'processing time limit exceeded', 'timeout'],
    [410, 'permission denied', 'forbidden'],
    [409, 'contended transaction', 'contended_transaction'],
    [400, 'bad request', 'invalid_request'],
    [540, 'operator error', 'service_error'],
  ]) {
    const answer = { status, body: { errors: [{ code: faunaCode, description: 'd' }] } };
    fauna.script([answer]);
    e = await err(db.currentIdentity());
    deepEqual([e.code, e.faunaCode], [code, faunaCode], JSON.stringify(answer));
  }
  const sent = fauna.count;
  fauna.script([
    { status: 429, body: { errors: [{ code: 'too many requests', description: 'Too many pending requests.' }] } },
    { status: 200, body: { resource: 'again' } },
  ]);
  equal(await db.currentIdentity(), 'again');
  equal(fauna.count, sent + 2, 'a v4 429 is retried');
  // v4 401 then success: one refresh.
  const token = present(c.peek());
  fauna.reject(token);
  equal(await db.currentIdentity(), ALICE);
  equal(issuer.count, 2);
});

test('graphql data and errors', async () => {
  const { fauna, db } = aliceWithClient();
  const data = /** @type {{ whoami: string }} */ (await db.graphql('{ whoami }', { a: 1 }));
  equal(data.whoami, ALICE);
  const r = fauna.request(0);
  equal(r.url, 'http://fauna.test/graphql');
  equal(r.body, '{"query":"{ whoami }","variables":{"a":1}}');
  fauna.script([{ body: { data: null, errors: [{ message: 'Cannot query field' }] } }]);
  const e = await err(db.graphql('{ nope }', undefined));
  equal(e.code, 'graphql_error');
  equal(Array.from(e.errors).length, 1);
});

test('authenticated fetch replaces the placeholder and retries a 401 once', async () => {
  const { issuer, c, fauna, db } = aliceWithClient();
  const f = db.fetch;
  equal(f, db.fetch, 'a new function each time');
  const init = {
    method: 'POST',
    headers: { Authorization: 'Bearer placeholder', 'X-Format': 'simple' },
    body: '{"query":"1"}',
  };
  let response = await f.call(null, 'http://fauna.test/query/1', init);
  equal(response.status, 200);
  const token = present(c.peek());
  const r = fauna.request(0);
  equal(r.headers.authorization, `Bearer ${token}`);
  equal(r.headers['x-format'], 'simple');
  // Fauna refuses that token: one refresh, the same body replayed.
  fauna.reject(token);
  response = await f.call(null, 'http://fauna.test/query/1', init);
  equal(response.status, 200);
  equal(fauna.request(2).body, '{"query":"1"}');
  notEqual(fauna.request(2).headers.authorization, `Bearer ${token}`);
  // Always 401: the second 401 is returned as it is, like fetch would.
  fauna.rejectAll();
  const before = [fauna.count, issuer.count];
  response = await f.call(null, 'http://fauna.test/query/1', init);
  equal(response.status, 401);
  deepEqual([fauna.count, issuer.count], [before[0] + 2, before[1] + 1]);
});

test('one cache shared by two clients', async () => {
  const issuer = new Issuer(ALICE, 60);
  let c = cache(issuer, {});
  const fauna = new FakeFauna();
  const a = client(c, fauna, {});
  const b = client(c, fauna, {});
  await a.query('1');
  await b.query('1');
  equal(issuer.count, 1);
  // Sign-out through the cache reaches both clients.
  c.clear();
  issuer.sub = BOB;
  let r = await b.query('1');
  equal(r.data, BOB);
  // The clients keep working after the cache object itself is collected as
  // garbage (the caller's free() is in tests/security).
  const watch = watchCollection(c);
  c = undefined;
  await collectGarbage(watch);
  r = await a.query('1');
  equal(r.data, BOB);
});

test('background refresh failures are not unhandled', async () => {
  const seen = watchUnhandled();
  const issuer = new Issuer(ALICE, 30);
  const c = cache(issuer, { refreshAheadSeconds: 45 });
  await c.get();
  issuer.script(['throw']);
  ok(isString(await c.get()));
  await pause(50);
  equal(issuer.count, 2);
  equal(stats(c)[4], 1);
  equal(seen.length, 0, `unhandled rejection: ${seen.map(String).join('; ')}`);
});

test('misuse across the js boundary throws clear errors and the module lives on', async () => {
  const issuer = new Issuer(ALICE, 60);
  const fauna = new FakeFauna();
  const c = cache(issuer, {});
  const db = client(c, fauna, {});
  for (const [object, method] of [
    [c, 'peek'],
    [db, 'currentIdentity'],
  ]) {
    // A method after free() and a second free() answer with JS errors (or,
    // for the second free(), nothing), never a crash of the module.
    const outcomes = misuse(object, method).filter(isString);
    equal(outcomes.length, 4);
    equal(outcomes[0], 'ok', 'the first free() must work');
    for (const outcome of outcomes.slice(1)) {
      if (outcome !== 'ok') ok(outcome.startsWith('threw: '), `${method}: ${outcome}`);
    }
    ok(outcomes[1].startsWith('threw: '), `${method} after free() did not throw: ${JSON.stringify(outcomes)}`);
  }
  // The module is still usable: a new cache and client work.
  const newCache = cache(issuer, {});
  const newClient = client(newCache, fauna, {});
  equal(await newClient.currentIdentity(), ALICE);
});

/** The codes `diagnose` finds in a token minted with these claims. */
function findings(claims, header, options) {
  const token = mintToken(claims, header);
  return Array.from(diagnose(token, options), (f) => {
    ok(text(f.message) !== '' && text(f.fix) !== '', JSON.stringify(f));
    return text(f.code);
  });
}

test('diagnose names each setup mistake', async () => {
  const expect = () => ({
    issuer: 'https://clerk.example.test',
    databaseId: 'ytestdb',
    endpoint: 'http://127.0.0.1:8443',
  });
  deepEqual(findings({}, {}, expect()), []);
  for (const [claims, header, code] of [
    [{ aud: null }, {}, 'aud_missing'],
    [{ aud: 'https://example.com' }, {}, 'aud_not_fauna'],
    [{ aud: 'https://db.fauna.com/db/otherdb' }, {}, 'aud_other_database'],
    [{ aud: ['https://db.fauna.com/db/a', 'https://db.fauna.com/db/b'] }, {}, 'aud_several_fauna'],
    [{ iss: 'https://clerk.example.test/' }, {}, 'iss_trailing_slash'],
    [{ iss: 'https://elsewhere.example' }, {}, 'iss_mismatch'],
    [{}, { alg: 'HS256' }, 'alg_unsupported'],
    [{ iat: 1700000000, exp: 1700003600 }, {}, 'expired'],
    [{ nbf: 4102444800 }, {}, 'not_yet_valid'],
    [{ lifetime: 3 }, {}, 'lifetime_too_short'],
    [{ sub: null }, {}, 'sub_missing'],
    // Fauna ignores a time claim that is not a whole number: such a
    // token never expires there (and the cache refuses it).
    [{ exp: 4102444800.5 }, {}, 'exp_ignored'],
    [{ nbf: 'soon' }, {}, 'nbf_ignored'],
  ]) {
    const shown = `${JSON.stringify(claims)} ${JSON.stringify(header)}`;
    deepEqual(findings(claims, header, expect()), [code], shown);
  }
  deepEqual(findings({}, {}, { endpoint: 'https://db.fauna.com' }), ['endpoint_hosted_closed']);
  const bad = diagnose('garbage', undefined);
  equal(bad[0].code, 'malformed_token');
  // @ts-expect-error a number where an issuer is typed: its error is tested
  equal(thrown(() => diagnose('x', { issuer: 5 })).code, 'invalid_option');
});

test('the unauthorized hint says what diagnose finds', async () => {
  // A token whose issuer has a trailing slash: Fauna refuses it every time.
  const issuer = new Issuer(ALICE, 60);
  issuer.script([{ iss: 'https://clerk.example.test/' }, { iss: 'https://clerk.example.test/' }]);
  const c = cache(issuer, {});
  const fauna = new FakeFauna();
  const db = client(c, fauna, {});
  fauna.script([UNAUTHORIZED, UNAUTHORIZED]);
  const e = await err(db.query('1'));
  equal(e.code, 'unauthorized');
  const hint = text(e.hint);
  ok(hint.includes('ends with a slash') && hint.includes('Fix: '), hint);
});

test('http client for the fauna driver', async () => {
  const { issuer, c, fauna, db } = aliceWithClient();
  const http = db.httpClient();
  const request = {
    client_timeout_ms: 5000,
    data: { query: 'Query.token().sub', arguments: {} },
    headers: { Authorization: 'Bearer placeholder', 'X-Format': 'tagged', 'X-Driver-Env': null },
    method: 'POST',
    path: '/query/1',
  };
  const send = (r) => http.request(r);
  const call = () => send(request);
  const response = await call();
  equal(response.status, 200);
  const body = JSON.parse(response.body);
  equal(body.data, ALICE);
  ok(isObject(response.headers));
  const sent = fauna.request(0);
  equal(sent.url, 'http://fauna.test/query/1');
  equal(sent.headers.authorization, `Bearer ${present(c.peek())}`);
  equal(sent.headers['x-format'], 'tagged');
  equal(sent.body, '{"query":"Query.token().sub","arguments":{}}');
  // A 401 refreshes the token once.
  fauna.reject(present(c.peek()));
  equal((await call()).status, 200);
  equal(issuer.count, 2);
  // No answer in time, or no answer at all: the package's own errors, which
  // the driver keeps as the `cause` of its ClientError.
  const impatient = {
    client_timeout_ms: 30,
    data: { query: '1', arguments: {} },
    headers: {},
    method: 'POST',
    path: '/query/1',
  };
  fauna.script([{ hang: true }]);
  let e = await err(send(impatient));
  equal(e.code, 'timeout');
  equal(e.message, 'No answer from Fauna within 30 ms.');
  fauna.script([{ fail: true }]);
  e = await err(send(impatient));
  equal(e.code, 'network_error');
  equal(e.cause.name, 'TypeError');
  // Closed: further requests reject.
  http.close();
  ok(text((await err(call())).message).includes('closed'));
});

/** A 401 that Fauna holds back until releaseHeld(). */
const HELD_401 = [{ hold: true, ...UNAUTHORIZED }];

test('a 401 after a user switch is not retried with the new users token', async () => {
  const { issuer, c, fauna, db } = aliceWithClient();
  await c.get();
  fauna.script(HELD_401);
  const alices = db.query('1');
  await pause(20);
  // Alice signs out and Bob signs in while her query is out.
  c.clear();
  issuer.sub = BOB;
  await c.get();
  equal(fauna.releaseHeld(), 1);
  const e = await err(alices);
  equal(e.code, 'cleared');
  equal(fauna.count, 1, "Alice's query was retried");
  // The fetch wrapper holds to the same rule.
  const f = db.fetch;
  fauna.script(HELD_401);
  const fetched = f.call(null, 'http://fauna.test/query/1', { method: 'POST', body: '{}' });
  await pause(20);
  c.clear();
  issuer.sub = ALICE;
  await c.get();
  fauna.releaseHeld();
  equal((await err(fetched)).code, 'cleared');
  equal(fauna.count, 2);
});

test('sign out during a 429 backoff sends nothing more', async () => {
  const { c, fauna, db } = aliceWithClient();
  fauna.script([
    { status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'limit_exceeded', message: 'x' } } },
  ]);
  const waiting = db.query('1');
  await pause(50);
  equal(fauna.count, 1);
  c.clear();
  const e = await err(waiting);
  equal(e.code, 'cleared');
  equal(fauna.count, 1, 'the retry went out after sign-out');
});
