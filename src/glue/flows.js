// The waiting and the I/O of clerk-fauna: calling getToken under a timeout,
// sending a request and reading its answer, sleeping before a retry. Every
// decision is asked of the Rust objects passed in (`ticket`, `call`,
// `source`); this file only carries them out. Async Rust compiled to
// WebAssembly would cost about half the module's size for the same loops.

import { ClerkFaunaError, makeError } from './error.js';

const TIMED_OUT = Symbol('timed out');
const CANCELLED = Symbol('cancelled');
const noop = () => {};

/**
 * Starts one getToken call for `ticket` (a Rust `FlightTicket`), with
 * `skipCache` when `forced`. Returns the promise its waiters share and a
 * `cancel` that rejects them with `cleared`.
 */
export function startFlight(ticket, getToken, timeoutMs, forced) {
  let cancel;
  const cancelled = new Promise((_, reject) => {
    cancel = () => reject(CANCELLED);
  });
  cancelled.catch(noop);
  const promise = (async () => {
    try {
      for (; ; forced = true) {
        const [token, failure, cause] = await callGetToken(getToken, ticket.args(forced), timeoutMs, cancelled);
        // A token, undefined to call again with skipCache, or a throw.
        const settled = ticket.complete(token, failure, cause);
        if (settled !== undefined) return settled;
      }
    } finally {
      ticket.free();
    }
  })();
  // A background refresh may have no waiter: its failure is counted, not thrown.
  promise.catch(noop);
  return { promise, cancel };
}

/** One getToken call: [token] or [undefined, failure kind, cause]. */
async function callGetToken(getToken, args, timeoutMs, cancelled) {
  let timer;
  const timedOut = new Promise((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), timeoutMs);
  });
  try {
    // Deferred a microtask so a synchronous throw is a rejection too.
    const called = Promise.resolve().then(() => getToken(args));
    const value = await Promise.race([called, timedOut, cancelled]);
    if (value === null || value === undefined) return [undefined, 'signed_out'];
    if (typeof value !== 'string') return [undefined, 'not_a_string'];
    return [value];
  } catch (e) {
    if (e === TIMED_OUT) return [undefined, 'timed_out'];
    if (e === CANCELLED) return [undefined, 'cleared'];
    return [undefined, 'threw', e];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one Fauna call (a Rust `FaunaCall`) to its end: a token, the request,
 * the answer judged by Rust, then done, a token refresh, or a wait and retry.
 * Each request is abandoned after `deadlineMs`; `fetchFn` undefined: the
 * global fetch.
 */
export async function send(call, deadlineMs, fetchFn) {
  try {
    let token = await call.token();
    for (let attempt = 1, refreshed = false; ; ) {
      const { url, init } = call.request(token);
      const [status, text, retryAfter] = await exchange(call, url, init, deadlineMs, fetchFn);
      // { done } | { refresh: true } | { wait: ms }, or a throw.
      const next = call.judge(status, text, retryAfter, attempt, refreshed, token);
      if ('done' in next) return next.done;
      if (next.refresh) {
        token = await call.token(token);
        refreshed = true;
      } else {
        await new Promise((resolve) => setTimeout(resolve, next.wait));
        attempt += 1;
      }
    }
  } finally {
    call.free();
  }
}

/** fetch + body text, abandoned (and aborted) after `deadlineMs`. */
async function exchange(call, url, init, deadlineMs, fetchFn) {
  const controller = new AbortController();
  let timer;
  const timedOut = new Promise((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), deadlineMs);
  });
  try {
    const fetch = fetchFn ?? globalThis.fetch;
    const read = Promise.resolve()
      .then(() => fetch(url, { ...init, signal: controller.signal }))
      .then(async (response) => [response.status, await response.text(), response.headers.get('retry-after')]);
    return await Promise.race([read, timedOut]);
  } catch (e) {
    if (e === TIMED_OUT) {
      controller.abort();
      throw call.failure('timeout');
    }
    throw call.failure('network', e);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The authenticated fetch: `source` (a Rust `TokenSource`) gives tokens; the
 * answer is fetch's own, retried once with a new token after a 401.
 */
export function authenticatedFetch(source, fetchFn) {
  return async (input, init) => {
    const request = new Request(input, init);
    const fetch = fetchFn ?? globalThis.fetch;
    // A retry after a sign-out or user switch fails with `cleared`.
    const epoch = source.epoch;
    let token = await source.token(undefined, epoch);
    for (let retried = false; ; retried = true) {
      // A clone per attempt keeps the original body replayable.
      const attempt = request.clone();
      attempt.headers.set('Authorization', `Bearer ${token}`);
      const response = await fetch(attempt);
      if (response.status !== 401 || retried) return response;
      token = await source.token(token, epoch);
    }
  };
}

const NETWORK_FAILED = 'The request to Fauna failed; the original error is in `cause`.';

/**
 * An HTTP client for the official `fauna` (v10) driver's `HTTPClient`
 * interface, sending through the authenticated fetch to `endpoint`:
 * `new Client({ secret: 'placeholder', endpoint }, fauna.httpClient())`.
 */
export function httpClient(source, endpoint, fetchFn) {
  const send = authenticatedFetch(source, fetchFn);
  let closed = false;
  return {
    async request({ client_timeout_ms, data, headers, method = 'POST', path = '/query/1' }) {
      if (closed) throw new Error('clerk-fauna: this httpClient was closed');
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), client_timeout_ms);
      try {
        const defined = Object.entries(headers ?? {}).filter(([, v]) => v != null);
        const response = await send(endpoint + path, {
          method,
          headers: Object.fromEntries(defined),
          body: JSON.stringify(data),
          signal: controller.signal,
        });
        return {
          body: await response.text(),
          headers: Object.fromEntries(response.headers.entries()),
          status: response.status,
        };
      } catch (e) {
        // The driver keeps what is thrown here as its ClientError's `cause`:
        // say what happened in the package's own terms.
        if (controller.signal.aborted) {
          throw makeError('timeout', `No answer from Fauna within ${client_timeout_ms} ms.`);
        }
        if (e instanceof ClerkFaunaError) throw e;
        throw makeError('network_error', NETWORK_FAILED, undefined, undefined, undefined, undefined, e);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      closed = true;
    },
  };
}

// Fatal: bytes that are not UTF-8 are no JSON. A BOM is kept, and fails
// JSON.parse, as it fails serde_json in the native tests.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 JSON bytes parsed (a JWT segment), or undefined when they are not. */
export function parseJsonBytes(bytes) {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

const KINDS = { s: 'string', n: 'number', b: 'boolean', f: 'function' };
const WANTED = { s: 'a string', n: 'a number', b: 'a boolean', f: 'a function', r: 'an object of strings' };
const NONE = [];
const specs = new Map();

/**
 * Reads the options Rust asks for off `value`, checking their types: `spec`
 * lists them as `kind:name`, kind s (string), n (number), b (boolean), f
 * (function) or r (`Record<string, string>`, flattened to key, value, ...).
 * Returns their values in order (undefined when absent or null), or throws
 * `invalid_option` naming the first one of the wrong type.
 */
export function readOptions(value, what, spec) {
  if (value == null) return NONE;
  if (typeof value !== 'object') throw makeError('invalid_option', `${what} must be an object.`);
  let fields = specs.get(spec);
  if (!fields) specs.set(spec, (fields = spec.split(' ').map((f) => f.split(':'))));
  return fields.map(([kind, name]) => {
    const v = value[name];
    if (v == null) return undefined;
    const record = kind === 'r' && typeof v === 'object' ? Object.entries(v).flat() : undefined;
    if (record ? record.some((x) => typeof x !== 'string') : typeof v !== KINDS[kind]) {
      throw makeError('invalid_option', `${what}.${name} must be ${WANTED[kind]}.`);
    }
    return record ?? v;
  });
}
