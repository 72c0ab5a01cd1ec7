// readOptions (flows.js) in Node: how the caller's option objects are read and checked
// before Rust sees them (the specs are the ones src/glue/*.rs pass).
import assert from 'node:assert/strict';
import test from 'node:test';
import { readOptions } from '../../src/glue/flows.js';
import { ClerkFaunaError } from '../../src/glue/error.js';

const CACHE = 't:template s:organizationId S:refreshAheadSeconds S:minValiditySeconds p:getTokenTimeoutMs';
const QUERY =
  'u:endpoint u:graphqlEndpoint F:format i:queryTimeoutMs:1:600000 i:maxAttempts:1:100 ' +
  'm:maxBackoffMs b:typecheck b:linearized i:maxContentionRetries:0:7 r:queryTags s:traceparent f:fetch';

/** The `invalid_option` message readOptions throws for `value`. */
function refusal(value, spec = QUERY, what = 'FaunaClient options') {
  try {
    readOptions(value, what, spec);
  } catch (e) {
    assert.ok(e instanceof ClerkFaunaError);
    assert.equal(e.code, 'invalid_option');
    return e.message;
  }
  assert.fail(`accepted ${JSON.stringify(value)}`);
}

test('no options, and absent or null ones, read as undefined', () => {
  assert.deepEqual(readOptions(undefined, 'x', CACHE), []);
  assert.deepEqual(readOptions(null, 'x', CACHE), []);
  assert.deepEqual(readOptions({ template: null }, 'x', CACHE), [undefined, undefined, undefined, undefined, undefined]);
});

test('values come back in the order of the spec, as given or normalised', () => {
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
  assert.deepEqual(values, [
    'http://127.0.0.1:8443',
    'https://fauna.example.com/graphql',
    'tagged',
    600_000,
    1,
    0,
    false,
    true,
    7,
    ['app', 'demo', 'b', 'c'],
    'anything: the core checks it',
    fetch,
  ]);
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
    [{ maxBackoffMs: -1 }, 'maxBackoffMs must be a number of milliseconds, zero or more.'],
    [{ maxBackoffMs: Infinity }, 'maxBackoffMs must be a number of milliseconds, zero or more.'],
    [{ format: 'json' }, "format must be 'simple' or 'tagged'."],
  ];
  for (const [value, message] of cases) assert.equal(refusal(value), message, JSON.stringify(value));
});

test('cache options: a non-empty template, seconds zero or more, a positive timeout', () => {
  const cache = (value) => refusal(value, CACHE, 'TokenCache options');
  assert.equal(cache({ template: '' }), 'template must be a non-empty string.');
  assert.equal(cache({ refreshAheadSeconds: -1 }), 'refreshAheadSeconds must be a number of seconds, zero or more.');
  assert.equal(cache({ minValiditySeconds: NaN }), 'minValiditySeconds must be a number of seconds, zero or more.');
  assert.equal(cache({ getTokenTimeoutMs: 0 }), 'getTokenTimeoutMs must be a positive number of milliseconds.');
  assert.equal(cache({ getTokenTimeoutMs: 'soon' }), 'TokenCache options.getTokenTimeoutMs must be a number.');
  assert.deepEqual(readOptions({ refreshAheadSeconds: 0, getTokenTimeoutMs: 1 }, 'x', CACHE).slice(2), [0, undefined, 1]);
});
