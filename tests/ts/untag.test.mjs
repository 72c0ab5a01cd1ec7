// untag (ts/stream.ts, as tsc compiles it) in Node: Fauna's tagged format as
// the plain values a stream or feed event's `data` holds with format 'simple'.
import assert from 'node:assert/strict';
import test from 'node:test';
import { untag } from '../../target/ts/stream.js';

test('numbers, times and names lose their tags', () => {
  assert.deepEqual(
    untag([{ '@int': '1' }, { '@long': '9007199254740991' }, { '@double': '1.5' }, { '@double': 'Infinity' }]),
    [1, 9007199254740991, 1.5, Infinity],
  );
  const texts = ['@date', '@time', '@uuid', '@bytes', '@mod', '@stream'].map((tag) => ({ [tag]: `v${tag}` }));
  assert.deepEqual(untag(texts), ['v@date', 'v@time', 'v@uuid', 'v@bytes', 'v@mod', 'v@stream']);
});

test('a document is its fields, its collection by name; refs and sets likewise', () => {
  const doc = {
    '@doc': {
      id: '412',
      coll: { '@mod': 'Todo' },
      ts: { '@time': '2026-11-30T19:00:00Z' },
      title: 'milk',
      n: { '@int': '2' },
      tags: [{ '@int': '3' }, 'x'],
      owner: { '@ref': { id: '7', coll: { '@mod': 'User' } } },
    },
  };
  assert.deepEqual(untag(doc), {
    id: '412',
    coll: 'Todo',
    ts: '2026-11-30T19:00:00Z',
    title: 'milk',
    n: 2,
    tags: [3, 'x'],
    owner: { id: '7', coll: 'User' },
  });
  assert.deepEqual(untag({ '@set': { data: [{ '@int': '1' }], after: 'c' } }), { data: [1], after: 'c' });
  assert.deepEqual(untag({ '@set': 'cursor' }), { after: 'cursor' });
});

test('an @object keeps its @-named keys as plain members; malformed tags are left as they are', () => {
  assert.deepEqual(untag({ '@object': { '@int': { '@int': '5' }, plain: true } }), { '@int': 5, plain: true });
  assert.deepEqual(untag({ '@doc': null }), { '@doc': null });
  assert.deepEqual(untag({ '@unknown': 'x' }), { '@unknown': 'x' });
  assert.deepEqual(untag({ '@int': '1', other: 2 }), { '@int': '1', other: 2 });
});

test('a __proto__ member stays a member: nothing reaches a prototype', () => {
  const value = untag(JSON.parse('{"@object":{"__proto__":{"polluted":true}}}'));
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ['__proto__']);
  assert.equal(/** @type {any} */ ({}).polluted, undefined);
});
