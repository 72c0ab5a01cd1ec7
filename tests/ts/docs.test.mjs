// The docs against their one definition: each error code is defined (with its
// doc) in ts/errors.ts, each finding code in ts/diagnose.ts, each option in
// ts/options.ts. The README's tables and lists, and the core's own list of
// the codes it produces (src/core/error.rs), are checked against them here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';

const read = (path) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const readme = read('README.md');

/** The text between `start` and the next line matching `end`. */
function section(text, start, end) {
  const from = text.indexOf(start);
  assert.ok(from >= 0, `no ${start}`);
  const rest = text.slice(from + start.length);
  const to = rest.search(end);
  return to < 0 ? rest : rest.slice(0, to);
}

/** The body of `interface name { ... }` in TypeScript source. */
const interfaceBody = (source, name) => section(source, `export interface ${name} `, /^}/m);

/** The members of `interface name { ... }` in TypeScript source. */
function members(source, name) {
  const body = interfaceBody(source, name);
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
}

test('every error code in the README table, in the order ts/errors.ts defines them', () => {
  const defined = members(read('ts/errors.ts'), 'ClerkFaunaErrorCodes');
  const table = section(readme, '### Error codes', /^#/m);
  const documented = [...table.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
  assert.ok(defined.length >= 19, `found ${defined.length} codes in ts/errors.ts`);
  assert.deepEqual(documented, defined);
});

test('every code the core produces is one ts/errors.ts defines', () => {
  const core = [...read('src/core/error.rs').matchAll(/ErrorCode::\w+ => "(\w+)"/g)].map((m) => m[1]);
  assert.ok(core.length > 10, `found ${core.length} codes in src/core/error.rs`);
  const defined = new Set(members(read('ts/errors.ts'), 'ClerkFaunaErrorCodes'));
  assert.deepEqual(core.filter((c) => !defined.has(c)), []);
});

test("every finding code of diagnose is in the README's list, and no other", () => {
  const union = section(read('ts/diagnose.ts'), 'export type FindingCode =', /;/);
  const defined = [...union.matchAll(/'(\w+)'/g)].map((m) => m[1]);
  const list = section(readme, '`diagnose` says why Fauna would refuse a token', /lists what it finds/);
  const documented = [...list.matchAll(/`(\w+)`/g)].map((m) => m[1]).filter((c) => c !== 'code' && c !== 'minValiditySeconds' && c !== 'exp' && c !== 'unauthorized' && c !== 'hint');
  assert.deepEqual([...documented].sort(), [...defined].sort());
});

test("every option in the README's API, as ts/options.ts defines it", () => {
  const options = read('ts/options.ts');
  const api = section(readme, '## API\n\n```ts', /^```/m);
  const named = (from, to) => [...section(api, from, to).matchAll(/(\w+)\?/g)].map((m) => m[1]);
  assert.deepEqual(named('new TokenCache(getToken, {', /^}\)/m), members(options, 'TokenCacheOptions'));
  assert.deepEqual(named('tokens.get({', /\)/), members(options, 'TokenGetOptions'));
  assert.deepEqual(
    named('new FaunaClient(tokens, {', /^}\)/m).sort(),
    [...members(options, 'QueryOptions'), ...members(options, 'FaunaClientOptions')].sort(),
  );
  assert.deepEqual(named('diagnose(token, {', /\)/), members(options, 'DiagnoseOptions'));
  const sources = members(options, 'EventSourceOptions');
  assert.deepEqual(named('fauna.stream<T>(source, {', /^}\)/m), [...sources, ...members(options, 'StreamOptions')]);
  assert.deepEqual(named('fauna.feed<T>(source, {', /^}\)/m), [...sources, ...members(options, 'FeedOptions')]);
});

/** The `Default ...` an option's doc comment in `interface name` gives, as a JS value. */
function documentedDefault(source, name, option) {
  const body = interfaceBody(source, name);
  const at = body.search(new RegExp(`^ {2}${option}\\?:`, 'm'));
  assert.ok(at >= 0, `no ${name}.${option}`);
  const doc = body.slice(body.lastIndexOf('/**', at), at);
  const value = doc.match(/Default (`'[^']*'`|[\d_]+|false|true)(?!\w)/)?.[1];
  assert.ok(value !== undefined, `${name}.${option} documents no default`);
  return value.startsWith('`') ? value.slice(2, -2) : JSON.parse(value);
}

/** The number or string literal that `pattern`'s group 1 finds in `path`. */
function rust(path, pattern) {
  const found = read(path).match(pattern)?.[1];
  assert.ok(found !== undefined, `${pattern} not in ${path}`);
  return found.startsWith('"') ? JSON.parse(found) : Number(found.replaceAll('_', ''));
}

test("every default an option's doc gives is the value where it is defined (the core, or the typed layer's defaults)", async () => {
  const options = read('ts/options.ts');
  const { defaults } = await import('../../target/ts/options.js');
  const freshness = (field) =>
    rust('src/core/freshness.rs', new RegExp(`impl Default for FreshnessPolicy[^]*?${field}: ([\\d_.]+)`)) / 1000;
  const query = (field) => rust('src/core/options.rs', new RegExp(`impl Default for QueryOptions[^]*?${field}: ([\\d_.]+)`));
  const endpoint = rust('src/core/options.rs', /DEFAULT_ENDPOINT: &str = ("[^"]*")/);
  const graphqlEndpoint = rust('src/core/options.rs', /DEFAULT_GRAPHQL_ENDPOINT: &str = ("[^"]*")/);
  const minValiditySeconds = freshness('min_validity_ms');
  // [interface, option, the value where it is defined]
  const defined = [
    ['TokenCacheOptions', 'template', defaults.template],
    ['TokenCacheOptions', 'refreshAheadSeconds', freshness('refresh_ahead_ms')],
    ['TokenCacheOptions', 'minValiditySeconds', minValiditySeconds],
    ['TokenCacheOptions', 'getTokenTimeoutMs', defaults.getTokenTimeoutMs],
    ['QueryOptions', 'format', /format: Format::Simple,/.test(read('src/core/options.rs')) ? 'simple' : 'tagged'],
    ['QueryOptions', 'queryTimeoutMs', query('query_timeout_ms')],
    ['QueryOptions', 'maxAttempts', query('max_attempts')],
    ['QueryOptions', 'maxBackoffMs', query('max_backoff_ms')],
    ['FaunaClientOptions', 'endpoint', endpoint],
    ['FaunaClientOptions', 'graphqlEndpoint', graphqlEndpoint],
    ['EventSourceOptions', 'maxAttempts', rust('src/core/stream.rs', /DEFAULT_MAX_ATTEMPTS: u32 = ([\d_]+)/)],
    ['EventSourceOptions', 'maxBackoffMs', rust('src/core/stream.rs', /DEFAULT_MAX_BACKOFF_MS: f64 = ([\d_.]+)/)],
    ['StreamOptions', 'statusEvents', false],
    ['DiagnoseOptions', 'minValiditySeconds', minValiditySeconds],
  ];
  for (const [name, option, value] of defined) {
    assert.equal(documentedDefault(options, name, option), value, `${name}.${option}`);
  }
  // The typed layer's copies of the core's defaults (it needs them itself:
  // the origins a token may go to, the hints that name minValiditySeconds).
  assert.deepEqual(
    [defaults.endpoint, defaults.graphqlEndpoint, defaults.minValiditySeconds],
    [endpoint, graphqlEndpoint, minValiditySeconds],
  );
  // The README's API block gives the cache's defaults too (a string quoted).
  const api = section(readme, '## API\n\n```ts', /^```/m);
  for (const [, option, value] of defined.filter(([name]) => name === 'TokenCacheOptions')) {
    const shown = typeof value === 'string' ? `'${value}'` : value;
    assert.match(api, new RegExp(`${option}\\?: \\w+,\\s*// default ${shown}(?!\\w)`), option);
  }
});
