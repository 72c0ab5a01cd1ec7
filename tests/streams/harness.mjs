// What the stream tests share: the built package (pkg/node.js), the Clerk and
// Fauna stand-ins (devserver) with a short idle re-check, a signed-in user's
// getToken through the Clerk stand-in's Frontend API, and ways to wait for a
// stream's events without sleeping.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { api, deadline, launchStandIns, requestsTo, until as waitFor } from '../../devserver/launch.mjs';
import { ClerkFaunaError } from '../../pkg/node.js';

export * from '../../pkg/node.js';
export { api, deadline };

const repoDir = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

export const ALICE = 'user_2aLiCeQk7mXv9pR3sT5wY8zB1cD';
export const BOB = 'user_2bObKp4nH6jG8fE0dC2aZ9yX7wV';

/** Generous: only a failing test waits this long. */
export const WAIT_MS = 30_000;

/** The stand-ins, with idle streams re-checked every 200 ms. */
export function standIns() {
  return launchStandIns(repoDir, { streamIdleCheckMs: 200 });
}

/**
 * Signs `userId` in at the Clerk stand-in: a Clerk-style getToken for the
 * session. `user.signedOut = true` makes it resolve null; `user.hold()`
 * makes later calls wait for `user.release()`; `user.calls` counts calls.
 */
export async function signIn(clerk, userId) {
  const { session_id: sessionId } = await api(`${clerk}/v1/client/sign_ins`, { user_id: userId });
  const user = {
    signedOut: false,
    calls: 0,
    /** @type {(() => void)[]} */
    held: [],
    holding: false,
    hold() {
      user.holding = true;
    },
    release() {
      user.holding = false;
      for (const resolve of user.held.splice(0)) resolve();
    },
    /** @param {{ template?: string, skipCache?: boolean }} [options] */
    getToken: async ({ template = 'fauna', skipCache = false } = {}) => {
      user.calls++;
      if (user.holding) await new Promise((resolve) => user.held.push(() => resolve(undefined)));
      if (user.signedOut) return null;
      const path = `/v1/client/sessions/${sessionId}/tokens/${encodeURIComponent(template)}`;
      const { jwt } = await api(`${clerk}${path}${skipCache ? '?debug=skip_cache' : ''}`, {});
      return jwt;
    },
  };
  return user;
}

/** Resolves once `condition()` holds; fails after WAIT_MS naming `what`. */
export const until = (condition, what) => waitFor(condition, WAIT_MS, what);

/** The first `n` events of `iterable`, then stops iterating (a `break`). */
export async function take(iterable, n, what = `${n} events`) {
  const got = [];
  await deadline(
    (async () => {
      if (n === 0) return;
      for await (const event of iterable) {
        got.push(event);
        if (got.length === n) break;
      }
    })(),
    WAIT_MS,
    what,
  );
  return got;
}

/**
 * How an iteration ends: `{ events, error }` (error undefined when it finished cleanly).
 * @returns {Promise<{ events: any[], error: any }>}
 */
export async function drain(iterable, what = 'the end') {
  const events = [];
  /** @type {any} */
  let error;
  await deadline(
    (async () => {
      try {
        for await (const event of iterable) events.push(event);
      } catch (e) {
        error = e;
      }
    })(),
    WAIT_MS,
    what,
  );
  return { events, error };
}

/**
 * `stream` (made with `statusEvents: true`) iterated until its first status
 * event, which says it is connected: its iterator.
 */
export async function opened(stream) {
  const iterator = stream[Symbol.asyncIterator]();
  const { value } = await deadline(iterator.next(), WAIT_MS, 'the status event');
  if (value?.type !== 'status') throw new Error(`expected the status event first, got ${JSON.stringify(value)}`);
  return iterator;
}

/** The next `n` values of `iterator`. */
export async function next(iterator, n, what = `${n} events`) {
  const got = [];
  for (let i = 0; i < n; i++) {
    const { value, done } = await deadline(iterator.next(), WAIT_MS, what);
    if (done) throw new Error(`${what}: ended after ${got.length}`);
    got.push(value);
  }
  return got;
}

/**
 * How `iterator` ends: `{ events, error }`.
 * @returns {Promise<{ events: any[], error: any }>}
 */
export async function rest(iterator, what = 'the end') {
  const events = [];
  for (;;) {
    try {
      const { value, done } = await deadline(iterator.next(), WAIT_MS, what);
      if (done) return { events, error: undefined };
      events.push(value);
    } catch (error) {
      if (!(error instanceof ClerkFaunaError)) throw error;
      return { events, error };
    }
  }
}

/** The Fauna stand-in's log entries for `/stream/1` or `/feed/1`. */
export const connections = (fauna, path = '/stream/1') => requestsTo(fauna, path);

/** Runs a full garbage collection now (V8's `gc`, exposed for this process). */
export function collectGarbage() {
  setFlagsFromString('--expose-gc');
  runInNewContext('gc')();
}
