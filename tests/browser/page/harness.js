// The page's side of the API tests: the registry the test bodies add
// themselves to, the few assertions they use, and run(name), which the Node
// runner (../api.test.mjs) calls once a test in a fresh page.

const tests = new Map();

/** Adds a test: `body` is an async function that throws to fail. */
export function test(name, body) {
  if (tests.has(name)) throw new Error(`two tests named '${name}'`);
  tests.set(name, body);
}

/** The names of the tests, in the order they were added. */
export const names = () => [...tests.keys()];

/** Runs one test: `{ ok: true }`, or `{ ok: false, error }` with the failure's stack. */
export async function run(name) {
  const body = tests.get(name);
  if (!body) return { ok: false, error: `no test named '${name}'` };
  try {
    await body();
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.stack || String(e) : `threw a non-Error: ${show(e)}` };
  }
}

/** A value as a failure message shows it. */
function show(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** @returns {never} */
function fail(what, message) {
  throw new Error(message ? `${what}: ${message}` : what);
}

export function ok(value, message) {
  if (!value) fail(`expected a true value, got ${show(value)}`, message);
}

/** `actual === expected`. */
export function equal(actual, expected, message) {
  if (actual !== expected) fail(`expected ${show(expected)}, got ${show(actual)}`, message);
}

export function notEqual(actual, unexpected, message) {
  if (actual === unexpected) fail(`expected anything but ${show(unexpected)}`, message);
}

/** Arrays of the same length whose items are `===` one by one. */
export function deepEqual(actual, expected, message) {
  const same =
    Array.isArray(actual) && actual.length === expected.length && expected.every((item, i) => actual[i] === item);
  if (!same) fail(`expected ${show(expected)}, got ${show(actual)}`, message);
}

/** What `f` throws (it must throw). */
export function thrown(f, message) {
  try {
    f();
  } catch (e) {
    return e;
  }
  return fail('expected a throw, none came', message);
}

/** The value, which must not be undefined (an `Option` the test unwraps). */
export function present(value, message) {
  if (value === undefined) fail('expected a value, got undefined', message);
  return value;
}

/** A string member as it stands, anything else as '' (to search a message or hint). */
export const text = (value) => (typeof value === 'string' ? value : '');

/** `typeof value === 'object'` and not null. */
export const isObject = (value) => typeof value === 'object' && value !== null;

/**
 * Watches `object` for the garbage collector: returns `{ collected }`, a
 * promise that resolves once the object is collected. Keep the returned
 * object until then (its registry must stay reachable), and drop every
 * reference to `object`; then await collectGarbage(watch).
 */
export function watchCollection(object) {
  let resolve;
  const collected = new Promise((r) => {
    resolve = r;
  });
  const registry = new FinalizationRegistry(() => resolve());
  registry.register(object, undefined);
  return { registry, collected };
}

/**
 * Runs full garbage collections (through the runner's `collectGarbage`)
 * until the watched object is collected, then lets the other finalizers of
 * that collection run (wasm-bindgen frees the Rust object behind an exported
 * one in a finalizer of its own). Fails after 20 tries.
 */
export async function collectGarbage({ collected }) {
  if (typeof window.collectGarbage !== 'function') fail('the runner did not provide collectGarbage()');
  for (let i = 0; i < 20; i++) {
    await window.collectGarbage();
    const done = await Promise.race([
      collected.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 50)),
    ]);
    if (done) {
      await new Promise((r) => setTimeout(r, 50));
      return;
    }
  }
  fail('the object was not collected after 20 full garbage collections');
}
