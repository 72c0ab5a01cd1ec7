// readOptions (ts/options.ts, as tsc compiles it) in Node: how the caller's
// option objects are read and checked before the core sees them.
import assert from 'node:assert/strict';
import test from 'node:test';
import { cacheOptions as CACHE, clientOptions as QUERY, readOptions as readOwn } from '../../target/ts/options.js';
import { ClerkFaunaError } from '../../target/ts/errors.js';

/** The options read, as a plain object (readOptions gives one with no prototype). */
const readOptions = (value, what, rules) => ({ ...readOwn(value, what, rules) });

/**
 * The `invalid_option` message readOptions throws for `value`.
 * @param {typeof QUERY | typeof CACHE} [spec]
 */
function refusal(value, spec = QUERY, what = 'FaunaClient options') {
  try {
    readOwn(value, what, spec);
  } catch (e) {
    assert.ok(e instanceof ClerkFaunaError);
    assert.equal(e.code, 'invalid_option');
    return e.message;
  }
  assert.fail(`accepted ${JSON.stringify(value)}`);
}

test('no options, and absent or null ones, are left out', () => {
  assert.deepEqual(readOptions(undefined, 'x', CACHE), {});
  assert.deepEqual(readOptions(null, 'x', CACHE), {});
  assert.deepEqual(readOptions({ template: null }, 'x', CACHE), {});
});

test('values come back by name, as given or normalised', () => {
  const fetch = () => {};
  const values = readOptions(
    {
      endpoint: 'http://127.0.0.1:8443//',
      graphqlEndpoint: 'https://fauna.example.com/graphql',
      format: 'tagged',
      queryTimeoutMs: 600_000,
      maxAttempts: 1,
      maxBackoffMs: 0,
      typecheck: false,
      linearized: true,
      maxContentionRetries: 7,
      queryTags: { app: 'demo', b: 'c' },
      traceparent: 'anything: the core checks it',
      fetch,
    },
    'FaunaClient options',
    QUERY,
  );
  assert.deepEqual(values, {
    format: 'tagged',
    queryTimeoutMs: 600_000,
    maxAttempts: 1,
    maxBackoffMs: 0,
    typecheck: false,
    linearized: true,
    maxContentionRetries: 7,
    // Flattened as the core takes them.
    queryTags: 'app\0demo\0b\0c',
    traceparent: 'anything: the core checks it',
    endpoint: 'http://127.0.0.1:8443',
    graphqlEndpoint: 'https://fauna.example.com/graphql',
    fetch,
  });
});

test('a value of the wrong type is named with its object', () => {
  assert.equal(refusal(5), 'FaunaClient options must be an object.');
  assert.equal(refusal({ queryTimeoutMs: '5' }), 'FaunaClient options.queryTimeoutMs must be a number.');
  assert.equal(refusal({ typecheck: 'yes' }), 'FaunaClient options.typecheck must be a boolean.');
  assert.equal(refusal({ fetch: 'fetch' }), 'FaunaClient options.fetch must be a function.');
  assert.equal(refusal({ endpoint: 8443 }), 'FaunaClient options.endpoint must be a string.');
  assert.equal(refusal({ queryTags: { a: 1 } }), 'FaunaClient options.queryTags must be an object of strings.');
  assert.equal(refusal({ queryTags: 'a=b' }), 'FaunaClient options.queryTags must be an object of strings.');
});

test('endpoints must be http(s) URLs with a host and no spaces', () => {
  for (const bad of ['db.fauna.com', 'ftp://x', 'https://', 'https:///', 'https://a b', 'https://a\tb', '']) {
    assert.equal(
      refusal({ endpoint: bad }),
      'endpoint must be an http:// or https:// URL, e.g. https://db.fauna.com.',
      JSON.stringify(bad),
    );
  }
  assert.match(refusal({ graphqlEndpoint: 'graphql' }), /^graphqlEndpoint must be an http/);
});

test('numbers follow the protocol: whole numbers in range, no negative or endless times', () => {
  const cases = [
    [{ queryTimeoutMs: 0 }, 'queryTimeoutMs must be a whole number from 1 to 600000.'],
    [{ queryTimeoutMs: 600_001 }, 'queryTimeoutMs must be a whole number from 1 to 600000.'],
    [{ queryTimeoutMs: 1.5 }, 'queryTimeoutMs must be a whole number from 1 to 600000.'],
    [{ queryTimeoutMs: NaN }, 'queryTimeoutMs must be a whole number from 1 to 600000.'],
    [{ maxAttempts: 0 }, 'maxAttempts must be a whole number from 1 to 100.'],
    [{ maxContentionRetries: 8 }, 'maxContentionRetries must be a whole number from 0 to 7.'],
    [{ maxBackoffMs: -1 }, 'maxBackoffMs must be a number of milliseconds from 0 to 2147483647.'],
    [{ maxBackoffMs: Infinity }, 'maxBackoffMs must be a number of milliseconds from 0 to 2147483647.'],
    [{ format: 'json' }, "format must be 'simple' or 'tagged'."],
  ];
  for (const [value, message] of cases) assert.equal(refusal(value), message, JSON.stringify(value));
});

test('cache options: a non-empty template, seconds zero or more, a positive timeout', () => {
  const cache = (value) => refusal(value, CACHE, 'TokenCache options');
  assert.equal(cache({ template: '' }), 'template must be a non-empty string.');
  assert.equal(cache({ refreshAheadSeconds: -1 }), 'refreshAheadSeconds must be a number of seconds, zero or more.');
  assert.equal(cache({ minValiditySeconds: NaN }), 'minValiditySeconds must be a number of seconds, zero or more.');
  assert.equal(cache({ getTokenTimeoutMs: 0 }), 'getTokenTimeoutMs must be a number of milliseconds above 0, at most 2147483647.');
  assert.equal(cache({ getTokenTimeoutMs: 'soon' }), 'TokenCache options.getTokenTimeoutMs must be a number.');
  assert.deepEqual(readOptions({ refreshAheadSeconds: 0, getTokenTimeoutMs: 1 }, 'x', CACHE), { refreshAheadSeconds: 0, getTokenTimeoutMs: 1 });
});

// Issue #10, point 9: setTimeout fires at once for a delay above 2^31 - 1 ms,
// so a longer timeout or backoff would mean none at all.
test('timeouts and backoffs longer than setTimeout can wait are refused', () => {
  const cache = (value) => refusal(value, CACHE, 'TokenCache options');
  assert.match(cache({ getTokenTimeoutMs: 2 ** 31 }), /^getTokenTimeoutMs must be .* at most 2147483647\.$/);
  assert.match(cache({ getTokenTimeoutMs: Infinity }), /^getTokenTimeoutMs must be/);
  assert.match(refusal({ maxBackoffMs: 1e15 }), /^maxBackoffMs must be a number of milliseconds from 0 to 2147483647\.$/);
  assert.match(refusal({ maxBackoffMs: 2 ** 31 }), /^maxBackoffMs must be/);
  const max = 2 ** 31 - 1;
  assert.equal(readOptions({ getTokenTimeoutMs: max }, 'x', CACHE).getTokenTimeoutMs, max);
  assert.equal(readOptions({ maxBackoffMs: max }, 'x', QUERY).maxBackoffMs, max);
});

// Issue #10, point 3: the token crosses the network in clear only to the machine itself.
test('http:// endpoints only on loopback hosts, unless allowInsecureHttp: true', () => {
  const insecure = /^(endpoint|graphqlEndpoint|allowedOrigins) must be https:\/\/ \(http:\/\/ for loopback hosts only/;
  for (const url of ['http://fauna.example.com', 'http://10.0.0.1:8443', 'http://localhost.example.com', 'http://[::2]', 'http://128.0.0.1', 'http://127.0.0.1.nip.io', 'http://evil.example\\@127.0.0.1']) {
    assert.match(refusal({ endpoint: url }), insecure, url);
    assert.match(refusal({ graphqlEndpoint: `${url}/graphql` }), insecure, url);
    assert.match(refusal({ allowedOrigins: [url] }), insecure, url);
    // Only `true` opts in.
    assert.match(refusal({ endpoint: url, allowInsecureHttp: 'yes' }), insecure, url);
    assert.match(refusal({ endpoint: url, allowInsecureHttp: false }), insecure, url);
    assert.equal(readOptions({ endpoint: url, allowInsecureHttp: true }, 'x', QUERY).endpoint, url.replace(/\/+$/, ''));
  }
  assert.equal(refusal({ allowInsecureHttp: 'yes' }), 'FaunaClient options.allowInsecureHttp must be a boolean.');
  // Loopback, as fetch parses the host: 127.0.0.0/8, localhost, [::1].
  for (const url of ['http://127.0.0.1:8443', 'http://127.1', 'http://127.255.0.9', 'http://localhost:8443', 'http://LOCALHOST', 'http://[::1]:8443', 'http://[0:0:0:0:0:0:0:1]']) {
    assert.equal(readOptions({ endpoint: url }, 'x', QUERY).endpoint, url, url);
  }
  assert.equal(readOptions({ endpoint: 'https://fauna.example.com' }, 'x', QUERY).endpoint, 'https://fauna.example.com');
});

test('allowedOrigins: an array of URLs, kept as their origins', () => {
  assert.deepEqual(
    readOptions({ allowedOrigins: ['https://a.example.com/graphql', 'https://b.example.com:443', 'http://127.0.0.1:9/x'] }, 'x', QUERY).allowedOrigins,
    ['https://a.example.com', 'https://b.example.com', 'http://127.0.0.1:9'],
  );
  assert.equal(refusal({ allowedOrigins: 'https://a.example.com' }), 'FaunaClient options.allowedOrigins must be an array of URLs.');
  assert.equal(refusal({ allowedOrigins: [5] }), 'FaunaClient options.allowedOrigins must be an array of URLs.');
  assert.match(refusal({ allowedOrigins: ['a.example.com'] }), /^allowedOrigins must be an http:\/\/ or https:\/\/ URL/);
});

// Issue #10, point 4: another library's prototype pollution must not redirect the token.
test('only own data properties are read: nothing inherited, no getters', () => {
  const polluted = ['fetch', 'endpoint', 'graphqlEndpoint', 'allowedOrigins', 'allowInsecureHttp', 'template', 'getTokenTimeoutMs'];
  const evil = () => {};
  try {
    Object.assign(Object.prototype, {
      fetch: evil,
      endpoint: 'https://evil.example',
      graphqlEndpoint: 'https://evil.example/graphql',
      allowedOrigins: ['https://evil.example'],
      allowInsecureHttp: true,
      template: 'evil',
      getTokenTimeoutMs: 1,
    });
    assert.deepEqual(readOptions({}, 'x', QUERY), {});
    assert.deepEqual(readOptions({}, 'x', CACHE), {});
    // An own http endpoint is not let through by an inherited allowInsecureHttp.
    assert.match(refusal({ endpoint: 'http://fauna.example.com' }), /must be https/);
  } finally {
    for (const name of polluted) delete Object.prototype[name];
  }
  // A getter is not called, an inherited value not read.
  let called = 0;
  const options = Object.create({ endpoint: 'https://evil.example' }, {
    fetch: { get: () => (called++, evil), enumerable: true },
    format: { value: 'tagged', enumerable: true },
  });
  const values = readOptions(options, 'x', QUERY);
  assert.equal(called, 0);
  assert.deepEqual(values, { format: 'tagged' });
});
