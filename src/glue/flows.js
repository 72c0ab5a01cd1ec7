// The JS side of the glue. The waiting and the I/O of clerk-fauna: calling
// getToken under a timeout, sending a request and reading its answer,
// sleeping before a retry. Every decision is asked of the Rust objects passed
// in (`ticket`, `call`, `source`); this file only carries them out. Async
// Rust compiled to WebAssembly would cost about half the module's size for
// the same loops. And reading the caller's option objects (readOptions).
//
// One module rather than several: wasm-bindgen-test-runner 0.2.100's server
// stalls when a page loads more than three of the package's JS modules at
// once (the browser tests then hang), so the glue keeps to flows.js,
// error.js and diagnose.js.

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

// A `__proto__` member is dropped: JSON.parse keeps it as an own property,
// and `Object.assign({}, claims)` would make it the copy's prototype.
const noProto = (key, value) => (key === '__proto__' ? undefined : value);

/**
 * UTF-8 JSON bytes parsed (a JWT segment), or undefined when they are not.
 * Never with a `__proto__` member, at any depth.
 */
export function parseJsonBytes(bytes) {
  try {
    return JSON.parse(utf8.decode(bytes), noProto);
  } catch {
    return undefined;
  }
}

// Reading the caller's option objects, where they are JS objects: each
// value's type, and the form or range its option allows. Rust gets values it
// can use as they are; the two that go into headers as text (query tags,
// traceparent) it checks again itself.

/** Each kind's JS type. */
const TYPES = {
  s: 'string', // any string
  t: 'string', // a template name: not empty
  u: 'string', // an http(s) URL: trailing slashes dropped
  F: 'string', // X-Format: simple or tagged
  n: 'number', // any number
  i: 'number', // a whole number in [min, max]
  S: 'number', // seconds, zero or more
  m: 'number', // milliseconds, zero or more
  p: 'number', // milliseconds, more than zero
  b: 'boolean',
  f: 'function',
  r: 'object', // Record<string, string>: flattened to key, value, ...
};
const NONE = [];
const specs = new Map();

/**
 * Reads the options Rust asks for off `value` and checks them: `spec` lists
 * them as `kind:name`, or `i:name:min:max` (see TYPES). Returns their values
 * in order (undefined when absent or null), or throws `invalid_option`
 * naming the first that is wrong.
 */
export function readOptions(value, what, spec) {
  if (value == null) return NONE;
  if (typeof value !== 'object') throw invalid(`${what} must be an object.`);
  let fields = specs.get(spec);
  if (!fields) specs.set(spec, (fields = spec.split(' ').map((f) => f.split(':'))));
  return fields.map(([kind, name, min, max]) => {
    const v = value[name];
    if (v == null) return undefined;
    const type = TYPES[kind];
    const flat = kind === 'r' && typeof v === 'object' ? Object.entries(v).flat() : undefined;
    if (flat ? flat.some((x) => typeof x !== 'string') : typeof v !== type) {
      throw invalid(`${what}.${name} must be ${kind === 'r' ? 'an object of strings' : `a ${type}`}.`);
    }
    return flat ?? checked(kind, name, v, +min, +max);
  });
}

/** `v` (of the right type) as its option allows it, or a throw saying what it must be. */
function checked(kind, name, v, min, max) {
  const must = (ok, rule) => {
    if (!ok) throw invalid(`${name} must be ${rule}.`);
    return v;
  };
  switch (kind) {
    case 't':
      return must(v !== '', 'a non-empty string');
    case 'u':
      v = v.replace(/\/+$/, '');
      // A host after the scheme; no spaces or control characters.
      return must(/^https?:\/\/[^\x00-\x20\x7f]+$/.test(v), 'an http:// or https:// URL, e.g. https://db.fauna.com');
    case 'F':
      return must(v === 'simple' || v === 'tagged', "'simple' or 'tagged'");
    case 'i':
      return must(Number.isInteger(v) && v >= min && v <= max, `a whole number from ${min} to ${max}`);
    case 'S':
      return must(v >= 0 && v < Infinity, 'a number of seconds, zero or more');
    case 'm':
      return must(v >= 0 && v < Infinity, 'a number of milliseconds, zero or more');
    case 'p':
      return must(v > 0 && v < Infinity, 'a positive number of milliseconds');
    default:
      return v;
  }
}

const invalid = (message) => makeError('invalid_option', message);
