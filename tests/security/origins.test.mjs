// Issue #10, points 1 to 4: where the token may go. Only to the origins of
// `endpoint`, `graphqlEndpoint` and `allowedOrigins`; never through a
// redirect; over http:// only to the machine itself; and no option is taken
// from a polluted Object.prototype.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClerkFaunaError, FaunaClient, TokenCache, diagnose, issuer, paths, rejection, standIn, thrown } from './harness.mjs';

let fauna; // the endpoint
let other; // anyone else
before(async () => {
  [fauna, other] = await Promise.all([standIn(), standIn()]);
});
after(() => Promise.all([fauna.close(), other.close()]));

/** A cache and client for Alice, warmed (one token cached). */
async function session(options = {}) {
  const user = issuer();
  const tokens = new TokenCache(user.getToken);
  const client = new FaunaClient(tokens, { endpoint: fauna.url, ...options });
  await tokens.get();
  return { user, tokens, client };
}

test('point 1: fetch and httpClient() refuse other origins and send nothing there', async () => {
  assert.equal(other.requests.length, 0);
  const { user, tokens, client } = await session();
  const before = [fauna.requests.length, user.calls.length];
  for (const url of [`${other.url}/query/1`, 'http://plain.example/', 'https://db.fauna.com/query/1', `${fauna.url.replace('127.0.0.1', 'localhost')}/query/1`]) {
    const e = await rejection(client.fetch(url, { method: 'POST', body: '{}', headers: { Authorization: 'Bearer mine' } }));
    assert.ok(e instanceof ClerkFaunaError, String(e));
    assert.equal(e.code, 'origin_not_allowed');
    // The message names the origin refused and the ones allowed.
    assert.ok(e.message.includes(new URL(url).origin), e.message);
    assert.ok(e.message.includes(fauna.url), e.message);
    assert.ok(!e.message.includes(tokens.peek()), 'the message holds the token');
  }
  // The driver's path cannot move the host either (endpoint + path).
  // (`http://127.0.0.1:A@127.0.0.1:B/`: Request refuses credentials in a URL before we see it.)
  const driver = client.httpClient();
  const sneaky = `@${new URL(other.url).host}/query/1`;
  const e = await rejection(driver.request({ client_timeout_ms: 5000, data: { query: '1' }, headers: {}, method: 'POST', path: sneaky }));
  assert.ok(['origin_not_allowed', 'network_error'].includes(e.code), e.code);
  assert.equal(other.requests.length, 0, 'a request reached the other origin');
  assert.deepEqual([fauna.requests.length, user.calls.length], before, 'something was sent, or a token asked for');
  // A 401 from elsewhere could not invalidate the token: none was sent there.
  assert.equal(tokens.stats.refreshes, 0);
});

test('point 1: the endpoint, graphqlEndpoint and allowedOrigins origins get the token, in place of the caller\'s own', async () => {
  const { tokens, client } = await session({
    graphqlEndpoint: `${other.url}/graphql`,
  });
  const sent = fauna.requests.length;
  const response = await client.fetch(`${fauna.url}/query/1`, { method: 'POST', body: '{}', headers: { Authorization: 'Bearer mine' } });
  assert.equal(response.status, 200);
  assert.equal(fauna.requests[sent].token, tokens.peek(), "the caller's Authorization header was not replaced");
  // graphqlEndpoint's origin, any path.
  assert.equal((await client.fetch(`${other.url}/graphql`, { method: 'POST', body: '{}' })).status, 200);
  assert.equal(other.requests.at(-1).token, tokens.peek());
  // allowedOrigins: a further origin, named by any URL on it.
  const third = await standIn();
  try {
    const refused = await rejection(client.fetch(`${third.url}/x`));
    assert.equal(refused.code, 'origin_not_allowed');
    const { client: allowing } = await session({ allowedOrigins: [`${third.url}/some/path`] });
    assert.equal((await allowing.fetch(`${third.url}/x`)).status, 200);
    assert.equal(third.requests.length, 1);
  } finally {
    await third.close();
  }
});

test('point 2: requests carrying the token are sent with redirect: "error", whatever fetch is passed', async () => {
  // The global fetch: a 307 to another origin is not followed, on any path.
  const { tokens, client } = await session({ graphqlEndpoint: `${fauna.url}/graphql` });
  const elsewhere = other.requests.length;
  const redirect = { status: 307, headers: { location: `${other.url}/stolen` }, body: '' };
  for (const [name, call] of Object.entries(paths(client, fauna.url))) {
    fauna.script(redirect);
    const e = await rejection(call());
    if (e instanceof ClerkFaunaError) assert.equal(e.code, 'network_error', name);
    else assert.ok(e instanceof TypeError, `${name}: ${e}`); // fetch's own failure, as a plain fetch would
  }
  assert.equal(other.requests.length, elsewhere, 'the token followed a redirect');
  assert.ok(tokens.peek());

  // A fetch passed in is told so on every request, for the wrapper and the core's requests alike.
  const seen = [];
  const spy = (input, init) => {
    const request = new Request(input, init);
    seen.push(request.redirect);
    return fetch(request);
  };
  const { client: spied } = await session({ fetch: spy, graphqlEndpoint: `${fauna.url}/graphql` });
  for (const call of Object.values(paths(spied, fauna.url))) await call();
  // Even when the caller asks for redirects.
  await spied.fetch(`${fauna.url}/query/1`, { method: 'POST', body: '{}', redirect: 'follow' });
  assert.deepEqual(seen, ['error', 'error', 'error', 'error', 'error', 'error']);
});

test('point 3: http:// endpoints only for loopback hosts, unless allowInsecureHttp: true', () => {
  const tokens = new TokenCache(issuer().getToken);
  for (const options of [
    { endpoint: 'http://fauna.example.com' },
    { graphqlEndpoint: 'http://fauna.example.com/graphql' },
    { allowedOrigins: ['http://10.1.2.3:8443'] },
  ]) {
    const e = thrown(() => new FaunaClient(tokens, options));
    assert.equal(e.code, 'invalid_option', JSON.stringify(options));
    assert.match(e.message, /must be https:\/\/ \(http:\/\/ for loopback hosts only, or with allowInsecureHttp: true\)/);
    new FaunaClient(tokens, { ...options, allowInsecureHttp: true }).free();
  }
  for (const endpoint of ['http://127.0.0.1:8443', 'http://localhost:8443', 'http://[::1]:8443', 'https://fauna.example.com']) {
    new FaunaClient(tokens, { endpoint }).free();
  }
  tokens.free();
});

test('point 4: a polluted Object.prototype neither receives the token nor moves it', async () => {
  const stolen = [];
  const polluted = {
    fetch: (...args) => stolen.push(args),
    endpoint: other.url,
    graphqlEndpoint: `${other.url}/graphql`,
    allowedOrigins: [other.url],
    allowInsecureHttp: true,
    template: 'evil',
    getTokenTimeoutMs: 1,
    skipCache: true,
    issuer: 'https://evil.example',
  };
  const user = issuer();
  const elsewhere = other.requests.length;
  Object.assign(Object.prototype, polluted);
  try {
    const tokens = new TokenCache(user.getToken, {});
    const client = new FaunaClient(tokens, { endpoint: fauna.url });
    const before = fauna.requests.length;
    assert.equal((await client.query('1', {}, {})).data, 'user_alice');
    assert.equal(fauna.requests.length, before + 1);
    assert.equal(fauna.requests.at(-1).path, '/query/1');
    assert.equal(await client.currentIdentity(), 'user_alice');
    assert.equal((await client.fetch(`${fauna.url}/query/1`, { method: 'POST', body: '{}' })).status, 200);
    await rejection(client.fetch(`${other.url}/query/1`));
    assert.equal(await tokens.get({}), tokens.peek());
    // The new cache's one call: its own template, and skipCache (a first token
    // teaches the server's clock), both own properties, none inherited.
    assert.deepEqual(user.calls.map((c) => Object.keys(c)), [['template', 'skipCache']]);
    assert.equal(user.calls[0].template, 'fauna');
    // diagnose's options too: no inherited issuer to compare with.
    assert.deepEqual(diagnose(tokens.peek(), {}).map((f) => f.code), ['aud_missing']);
    assert.throws(() => new FaunaClient(tokens, { endpoint: 'http://fauna.example.com' }), /must be https/);
    client.free();
    tokens.free();
  } finally {
    for (const name of Object.keys(polluted)) delete Object.prototype[name];
  }
  assert.deepEqual(stolen, [], 'the inherited fetch was called');
  assert.equal(other.requests.length, elsewhere, 'a request reached the inherited endpoint');
});
