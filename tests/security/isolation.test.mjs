// Issue #10, points 5, 7, 11 and 12: the token goes out only as its own
// user. Every request path re-checks, right before it sends, that the cache
// was not cleared, did not switch users and was not freed; free() is safe at
// any time; a getToken that asks its own cache fails at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ClerkFaunaError,
  FaunaClient,
  TokenCache,
  collectGarbage,
  initSync,
  issuer,
  paths as pathsTo,
  rejection,
  standIn,
  thrown,
} from './harness.mjs';

let fauna;
before(async () => {
  fauna = await standIn();
});
after(() => fauna.close());
const paths = (client) => pathsTo(client, fauna.url);

/** Alice's cache (warmed) and a client on the stand-in. */
async function session(user = issuer()) {
  const tokens = new TokenCache(user.getToken);
  const client = new FaunaClient(tokens, { endpoint: fauna.url, graphqlEndpoint: `${fauna.url}/graphql` });
  await tokens.get();
  return { user, tokens, client };
}

test('point 5: clear() in the same tick as a cache hit: every path rejects with cleared and sends nothing', async () => {
  for (const name of Object.keys(paths({}))) {
    const { tokens, client } = await session();
    const sent = fauna.requests.length;
    const pending = paths(client)[name]();
    tokens.clear();
    const e = await rejection(pending);
    assert.equal(e.code, 'cleared', `${name}: ${e}`);
    assert.equal(fauna.requests.length, sent, `${name} sent the cleared user's token`);
  }
});

test("point 5: a 401 whose refresh brings another user's token: every path rejects with cleared, nothing is sent as that user", async () => {
  for (const name of Object.keys(paths({}))) {
    const user = issuer('user_alice');
    const { tokens, client } = await session(user);
    const alices = tokens.peek();
    fauna.rejected.add(alices);
    // Clerk switched sessions; the app has not called clear() yet.
    user.sub = 'user_bob';
    const sent = fauna.requests.length;
    const e = await rejection(paths(client)[name]());
    assert.equal(e.code, 'cleared', `${name}: ${e}`);
    const out = fauna.requests.slice(sent);
    assert.deepEqual(out.map((r) => r.sub), ['user_alice'], `${name}: sent as ${out.map((r) => r.sub)}`);
    // The cache now holds Bob's token; new calls go as Bob.
    assert.equal((await client.query('1')).data, 'user_bob');
  }
});

test('point 7: after free() of the client or of the cache, handed-out wrappers reject with freed and send nothing', async () => {
  for (const freeing of ['client', 'tokens', 'both']) {
    const { user, tokens, client } = await session();
    const { fetch } = client;
    const driver = client.httpClient();
    const wrappers = {
      fetch: () => fetch(`${fauna.url}/query/1`, { method: 'POST', body: '{}' }),
      httpClient: () => driver.request({ client_timeout_ms: 5000, data: { query: '1' }, headers: {}, method: 'POST', path: '/query/1' }),
    };
    assert.equal((await wrappers.fetch()).status, 200);
    if (freeing !== 'tokens') client.free();
    if (freeing !== 'client') tokens.free();
    const sent = [fauna.requests.length, user.calls.length];
    for (const [name, call] of Object.entries(wrappers)) {
      const e = await rejection(call());
      assert.ok(e instanceof ClerkFaunaError, `${freeing}/${name}: ${e}`);
      assert.equal(e.code, 'freed', `${freeing}/${name}: ${e.message}`);
    }
    if (freeing === 'tokens') assert.equal((await rejection(client.query('1'))).code, 'freed');
    assert.deepEqual([fauna.requests.length, user.calls.length], sent, `${freeing}: something was sent or asked for`);
    // free() again, of either: nothing happens (no "null pointer passed to rust").
    client.free();
    client.free();
    tokens.free();
    tokens.free();
  }
});

test('point 7: free() during a call in flight ends it: freed, or cleared while it waits for getToken', async () => {
  // Waiting for Fauna's answer: the answer is not handed out.
  for (const [name] of Object.entries(paths({}))) {
    const { tokens, client } = await session();
    fauna.script({ hold: true });
    const sent = fauna.requests.length;
    const pending = paths(client)[name]();
    await fauna.received(sent + 1);
    client.free();
    fauna.release();
    assert.equal((await rejection(pending)).code, 'freed', name);
    tokens.free();
  }
  // Waiting for getToken: ended as clear() ends such calls, and nothing is
  // sent once it answers.
  for (const [name] of Object.entries(paths({}))) {
    const user = issuer();
    const tokens = new TokenCache(user.getToken);
    const client = new FaunaClient(tokens, { endpoint: fauna.url, graphqlEndpoint: `${fauna.url}/graphql` });
    user.hold();
    const sent = fauna.requests.length;
    const pending = paths(client)[name]();
    while (user.held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    tokens.free();
    user.release();
    assert.equal((await rejection(pending)).code, 'cleared', name);
    assert.equal(fauna.requests.length, sent, `${name} sent after free()`);
    client.free();
  }
});

test('point 7: an old client\'s wrappers never act as the next user (what useFaunaSession does on a switch)', async () => {
  const user = issuer('user_alice');
  const old = await session(user);
  const { fetch } = old.client;
  const driver = old.client.httpClient();
  // useFaunaSession's cleanup on a user switch, then the next user's pair.
  old.tokens.clear();
  old.client.free();
  old.tokens.free();
  user.sub = 'user_bob';
  const next = await session(user);
  const sent = fauna.requests.length;
  assert.equal((await rejection(fetch(`${fauna.url}/query/1`, { method: 'POST', body: '{}' }))).code, 'freed');
  /** @type {import('./harness.mjs').FaunaHttpRequest} */
  const request = { client_timeout_ms: 5000, data: { query: '1' }, headers: {}, method: 'POST', path: '/query/1' };
  assert.equal((await rejection(driver.request(request))).code, 'freed');
  assert.equal(fauna.requests.length, sent);
  assert.equal((await next.client.query('1')).data, 'user_bob');
});

test('point 7: a client and cache never freed, only collected as garbage, leave what they handed out working', async () => {
  // Apps often keep only the wrapper: new HttpLink({ fetch: new FaunaClient(new TokenCache(getToken)).fetch }).
  const user = issuer();
  const collected = new Set();
  const registry = new FinalizationRegistry((name) => collected.add(name));
  const fetch = (() => {
    const tokens = new TokenCache(user.getToken);
    const client = new FaunaClient(tokens, { endpoint: fauna.url });
    registry.register(tokens, 'tokens');
    registry.register(client, 'client');
    return client.fetch;
  })();
  for (let i = 0; i < 50 && collected.size < 2; i++) await collectGarbage();
  assert.deepEqual([...collected].sort(), ['client', 'tokens'], 'the objects were not collected: nothing was tested');
  const response = await fetch(`${fauna.url}/query/1`, { method: 'POST', body: '{}' });
  assert.equal(response.status, 200);
  assert.equal(fauna.requests.at(-1).sub, 'user_alice');
});

test('point 7: create, use and free during a call, many times: WebAssembly memory stops growing', async () => {
  // Typed for Node (pkg/node.d.ts): no input needed, the core was loaded at import.
  const { memory } = initSync();
  const round = async () => {
    const { tokens, client } = await session();
    fauna.script({ hold: true });
    const sent = fauna.requests.length;
    const pending = client.fetch(`${fauna.url}/query/1`, { method: 'POST', body: '{}' });
    await fauna.received(sent + 1);
    client.free();
    tokens.free();
    fauna.release();
    assert.equal((await rejection(pending)).code, 'freed');
  };
  // The wrappers' own Rust objects are freed by the garbage collector (their
  // FinalizationRegistry callbacks run after it, on a later turn).
  const collect = collectGarbage;
  for (let i = 0; i < 50; i++) await round();
  await collect();
  const settled = memory.buffer.byteLength;
  for (let i = 0; i < 400; i++) {
    await round();
    if (i % 25 === 24) await collect();
  }
  // A leak of the cache (a token alone is ~250 B) would take pages (64 KiB each).
  const grown = (memory.buffer.byteLength - settled) / 65536;
  assert.ok(grown <= 1, `grew by ${grown} pages over 400 rounds`);
});

test('point 11: getToken resolving undefined is signed_out, like null: the cache is cleared', async () => {
  const user = issuer();
  const tokens = new TokenCache(user.getToken);
  await tokens.get();
  await tokens.get({ template: 'other' });
  const undefinedToken = new TokenCache(async () => undefined);
  assert.equal((await rejection(undefinedToken.get())).code, 'signed_out');
  // As `clerk.session?.getToken()` gives after a sign-out.
  let out = false;
  const signedOut = new TokenCache(async (o) => (out ? undefined : user.getToken(o)));
  await signedOut.get();
  await signedOut.get({ template: 'other' });
  out = true;
  assert.equal((await rejection(signedOut.get({ skipCache: true }))).code, 'signed_out');
  assert.equal(signedOut.peek(), undefined);
  assert.equal(signedOut.peek('other'), undefined, 'the other template survived the sign-out');
  for (const c of [tokens, undefinedToken, signedOut]) c.free();
});

test('point 12: a getToken that asks its own cache fails at once, not after getTokenTimeoutMs', { timeout: 20_000 }, async () => {
  const longest = { getTokenTimeoutMs: 2 ** 31 - 1 };
  const cases = {
    'calls get()': (self) => (o) => self.tokens.get(o),
    'awaits get() after an await, passing its options on': (self) => async (o) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return self.tokens.get(o);
    },
    'calls get() with no options': (self) => async () => self.tokens.get(),
    'runs a query': (self) => async () => (await self.client.query('1')).data,
  };
  for (const [name, make] of Object.entries(cases)) {
    const self = {};
    self.tokens = new TokenCache(make(self), longest);
    self.client = new FaunaClient(self.tokens, { endpoint: fauna.url });
    const e = await rejection(self.tokens.get());
    assert.equal(e.code, 'token_unavailable', `${name}: ${e}`);
    assert.equal(e.cause?.code, 'invalid_option', `${name}: ${e.cause}`);
    assert.match(e.cause.message, /getToken called its own TokenCache/);
    // The cache is not stuck: a later call runs getToken again.
    assert.equal((await rejection(self.tokens.get())).code, 'token_unavailable');
    self.client.free();
    self.tokens.free();
  }
  // A getToken that asks another cache is fine.
  const inner = new TokenCache(issuer().getToken);
  const outer = new TokenCache((o) => inner.get(o));
  assert.equal(await outer.get(), inner.peek());
});

test('point 12: free() from the caller\'s code while a call reads its arguments throws, and the object lives on', async () => {
  const { tokens, client } = await session();
  const freeing = (object) =>
    new Proxy({}, {
      getOwnPropertyDescriptor() {
        object.free();
        return undefined;
      },
    });
  const refusedFree = /^free\(\) from a Proxy, getter or toJSON of a call: free once it returns\.$/;
  // Options read through a Proxy.
  let e = await rejection(client.query('1', {}, freeing(client)));
  assert.equal(e.code, 'invalid_option');
  assert.match(e.message, refusedFree);
  e = await rejection(tokens.get(freeing(tokens)));
  assert.match(e.message, refusedFree);
  e = thrown(() => new FaunaClient(tokens, freeing(tokens)));
  assert.match(e.message, refusedFree);
  // A getter in a record, and toJSON, run the caller's code too.
  /** @type {Record<string, string>} */
  const queryTags = {};
  Object.defineProperty(queryTags, 'app', { enumerable: true, get: () => (client.free(), 'x') });
  e = await rejection(client.query('1', {}, { queryTags }));
  assert.match(e.message, refusedFree);
  e = await rejection(client.query('1', { toJSON: () => (tokens.free(), {}) }));
  assert.equal(e.code, 'invalid_option');
  e = await rejection(client.queryV4({ toJSON: () => (client.free(), {}) }));
  assert.equal(e.code, 'invalid_option');
  // Nothing was freed, nothing is broken: both still work, then free once.
  assert.equal((await client.query('1')).data, 'user_alice');
  assert.equal(await tokens.get(), tokens.peek());
  client.free();
  tokens.free();
  // No wasm-bindgen error on the way: a later free() is a no-op.
  client.free();
});

test('point 9: timers longer than setTimeout can wait are refused, and a long Retry-After never means a quick retry', async () => {
  const { getToken } = issuer();
  const e = thrown(() => new TokenCache(getToken, { getTokenTimeoutMs: 2 ** 31 }));
  assert.equal(e.code, 'invalid_option');
  const tokens = new TokenCache(getToken, { getTokenTimeoutMs: 2 ** 31 - 1 });
  assert.equal(thrown(() => new FaunaClient(tokens, { maxBackoffMs: 1e15 })).code, 'invalid_option');
  assert.equal((await rejection(new FaunaClient(tokens, { endpoint: fauna.url }).query('1', {}, { maxBackoffMs: 2 ** 31 }))).code, 'invalid_option');
  // The longest backoff allowed, and Fauna asking for longer: one request, then throttled.
  const client = new FaunaClient(tokens, { endpoint: fauna.url, maxBackoffMs: 2 ** 31 - 1, maxAttempts: 100 });
  fauna.script({ status: 429, headers: { 'retry-after': '1000000000' }, body: { error: { code: 'limit_exceeded', message: 'x' } } });
  const sent = fauna.requests.length;
  const throttled = await rejection(client.query('1'));
  assert.equal(throttled.code, 'throttled');
  assert.equal(fauna.requests.length, sent + 1);
  // The driver's client_timeout_ms beyond setTimeout's range is no timeout, not an instant abort.
  const answer = await client
    .httpClient()
    .request({ client_timeout_ms: 1e12, data: { query: '1' }, headers: {}, method: 'POST', path: '/query/1' });
  assert.equal(answer.status, 200);
  client.free();
  tokens.free();
});
