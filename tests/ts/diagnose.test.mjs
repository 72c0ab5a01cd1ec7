// ts/diagnose.ts (as tsc compiles it) in Node: every finding, at a fixed
// clock, for claims as the core hands them over (decoded, types checked).
// The browser tests (tests/browser) drive the same code through the
// exported `diagnose`.
import assert from 'node:assert/strict';
import test from 'node:test';
import { findings, unauthorizedHint } from '../../target/ts/diagnose.js';

const NOW_MS = 1_700_000_030_000;
const DB = 'ysjowue14yyr1';
const ISS = 'https://clerk.example.com';
const HEADER = { alg: 'RS256', kid: 'ins_1', typ: 'JWT' };
/** A token as the integration guide wants it. */
const good = {
  exp: 1_700_000_060,
  iat: 1_700_000_000,
  nbf: 1_699_999_995,
  sub: 'user_2abc',
  iss: ISS,
  aud: `https://db.fauna.com/db/${DB}`,
};
const expect = { issuer: ISS, databaseId: DB, endpoint: 'http://127.0.0.1:8443' };

/**
 * findings() at NOW_MS with 5 s of minimum validity, for any claims.
 * @param {Parameters<typeof findings>[1]} payload
 * @param {Parameters<typeof findings>[2]} [expected]
 * @param {Parameters<typeof findings>[0]} [header]
 */
const run = (payload, expected = expect, header = HEADER) => findings(header, payload, expected, NOW_MS, 5_000);
/** @param {Parameters<typeof run>} args */
const codes = (...args) => run(...args).map((f) => f.code);
const without = (name) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));

test('a good token has no findings', () => {
  assert.deepEqual(codes(good), []);
  assert.deepEqual(codes(good, {}), []);
});

test('audience mistakes', () => {
  const withAud = (aud) => ({ ...good, aud });
  assert.deepEqual(codes(without('aud')), ['aud_missing']);
  assert.deepEqual(codes(withAud([])), ['aud_missing']);
  assert.deepEqual(codes(withAud('https://example.com')), ['aud_not_fauna']);
  assert.deepEqual(codes(withAud(['https://db.fauna.com/db/'])), ['aud_other_database', 'aud_not_fauna']);
  assert.deepEqual(codes(withAud(['https://db.fauna.com/db/a', 'https://db.fauna.com/db/b'])), ['aud_several_fauna']);
  assert.deepEqual(codes(withAud('https://db.fauna.com/db/other')), ['aud_other_database']);
  // Another, non-Fauna audience beside the Fauna one is fine.
  assert.deepEqual(codes(withAud(['https://example.com', `https://db.fauna.com/db/${DB}`])), []);
  assert.match(run(withAud('https://example.com'))[0].message, /\(https:\/\/example\.com\) names no Fauna database/);
});

test('issuer mistakes', () => {
  const withIss = (iss) => ({ ...good, iss });
  assert.deepEqual(codes(without('iss')), ['iss_missing']);
  assert.deepEqual(codes(withIss(`${ISS}/`)), ['iss_trailing_slash']);
  assert.deepEqual(codes(withIss(`${ISS}/`), {}), ['iss_trailing_slash']);
  assert.deepEqual(codes(withIss('https://other.example.com')), ['iss_mismatch']);
  const [f] = run(good, { ...expect, issuer: `${ISS}/` });
  assert.equal(f.code, 'iss_trailing_slash');
  assert.match(f.fix, /exactly/);
});

test('algorithm, time and subject mistakes', () => {
  assert.deepEqual(codes(good, expect, { alg: 'HS256' }), ['alg_unsupported']);
  assert.deepEqual(codes(good, expect, {}), ['alg_unsupported']);
  assert.match(run(good, expect, {})[0].message, /signed with no algorithm/);
  assert.deepEqual(codes(without('sub')), ['sub_missing']);
  assert.deepEqual(codes({ ...good, exp: 1_700_000_029 }), ['expired']);
  const [early] = run({ ...good, nbf: 1_700_000_040 });
  assert.equal(early.code, 'not_yet_valid');
  assert.match(early.message, /another 10 s/);
  assert.deepEqual(codes({ ...good, exp: 1_700_000_033, iat: 1_700_000_030 }), ['lifetime_too_short']);
  // No exp or no iat: no lifetime to judge.
  assert.deepEqual(codes(without('iat')), []);
});

test('an exp or nbf that is not an integer is ignored by Fauna, and said so', () => {
  for (const exp of [1_700_000_060.5, '1700000060', null]) {
    const found = run({ ...good, exp });
    assert.deepEqual(found.map((f) => f.code), ['exp_ignored'], String(exp));
    assert.match(found[0].message, /accept this token for ever/);
  }
  // Even one long past: Fauna would not read it, so it is not `expired`.
  assert.deepEqual(codes({ ...good, exp: 1.5 }), ['exp_ignored']);
  assert.deepEqual(codes({ ...good, nbf: 'soon' }), ['nbf_ignored']);
  assert.deepEqual(codes({ ...good, nbf: 1_800_000_000.5 }), ['nbf_ignored']);
  assert.match(unauthorizedHint(HEADER, { ...good, exp: 'x' }, undefined, 5_000, NOW_MS), /exp Fauna ignores\.$/);
});

test('endpoint mistakes', () => {
  assert.deepEqual(codes(good, { ...expect, endpoint: 'https://db.fauna.com/' }), ['endpoint_hosted_closed']);
  assert.deepEqual(codes(good, { ...expect, endpoint: 'http://127.0.0.1:8443/query/1' }), ['endpoint_has_path']);
});

test('every finding has a code, a message and a fix', () => {
  const bad = { exp: 1, nbf: 2e10, iat: 0.5 };
  const found = run(bad, { ...expect, endpoint: 'https://db.fauna.com' }, { alg: 'ES256' });
  assert.equal(found.length, 8);
  for (const f of found) {
    assert.match(f.code, /^[a-z_]+$/);
    assert.ok(f.message.length > 0 && f.fix.length > 0, f.code);
  }
});

test('the unauthorized hint names findings or the usual causes, and the claims, never the token', () => {
  let h = unauthorizedHint(HEADER, { ...good, iss: `${ISS}/` }, undefined, 5_000, NOW_MS);
  assert.match(h, /ends with a slash/);
  assert.match(h, /Fix: /);
  assert.match(h, /iss https:\/\/clerk\.example\.com\//);
  assert.match(h, /exp 30 s from now/);
  h = unauthorizedHint(HEADER, good, 'http://127.0.0.1:8443', 5_000, NOW_MS);
  // A good token: the hint points at the access provider and its JWKS, not at the token.
  assert.match(h, /The token looks right, so check the access provider/);
  assert.match(h, /reachable from the Fauna server/);
  assert.match(h, /no trailing slash/);
  assert.match(h, /role/);
  assert.ok(h.includes(`aud https://db.fauna.com/db/${DB}`), h);
  assert.match(unauthorizedHint(HEADER, without('exp'), undefined, 5_000, NOW_MS), /and no exp\.$/);
  // A token that could not be decoded: the usual causes only.
  h = unauthorizedHint(undefined, undefined, undefined, 5_000, NOW_MS);
  assert.match(h, /jwks\.json/);
  assert.doesNotMatch(h, /The token has/);
});
