// The JS side of the glue. The waiting and the I/O of clerk-fauna: calling
// getToken under a timeout, sending a request and reading its answer,
// sleeping before a retry. Every decision is asked of the Rust objects passed
// in (`ticket`, `call`, `source`); this file only carries them out. Async
// Rust compiled to WebAssembly would cost about half the module's size for
// the same loops. And reading the caller's option objects (readOptions),
// and guarding what the caller can do meanwhile (guard).
//
// One module rather than several: wasm-bindgen-test-runner 0.2.100's server
// stalls when a page loads more than three of the package's JS modules at
// once (the browser tests then hang), so the glue keeps to flows.js,
// error.js and diagnose.js.

import { ClerkFaunaError, makeError } from './error.js';

const TIMED_OUT = Symbol('timed out');
const CANCELLED = Symbol('cancelled');
const noop = () => {};
// The longest delay setTimeout keeps (about 24.8 days): a longer one fires at once.
const MAX_DELAY = 2 ** 31 - 1;

// The flight whose getToken is running right now, and the options object
// each flight passed to getToken: a getToken that asks its own cache for a
// token would wait for itself (see joinsItself).
let calling;
const argsOf = new WeakMap();

/**
 * Starts one getToken call for `ticket` (a Rust `FlightTicket`), with
 * `skipCache` when `forced`. Returns the promise its waiters share and a
 * `cancel` that rejects them with `cleared`.
 */
export function startFlight(ticket, getToken, timeoutMs, forced) {
  const flight = {};
  const cancelled = new Promise((_, reject) => {
    flight.cancel = () => reject(CANCELLED);
  });
  cancelled.catch(noop);
  flight.promise = (async () => {
    try {
      for (; ; forced = true) {
        const args = ticket.args(forced);
        argsOf.set(args, flight);
        const [token, failure, cause] = await callGetToken(getToken, args, timeoutMs, cancelled, flight);
        // A token, undefined to call again with skipCache, or a throw.
        const settled = ticket.complete(token, failure, cause);
        if (settled !== undefined) return settled;
      }
    } finally {
      ticket.free();
    }
  })();
  // A background refresh may have no waiter: its failure is counted, not thrown.
  flight.promise.catch(noop);
  return flight;
}

/**
 * `token` (a token, or the promise of a getToken call in flight), unless
 * waiting for it would wait for itself: asked for from that very getToken
 * (called from it, or with the options it was given), which would hang
 * until getTokenTimeoutMs. Then it throws `invalid_option`.
 */
function notFromItself(token, options) {
  if (calling?.promise === token || (options && argsOf.get(options)?.promise === token)) {
    throw invalid('getToken called its own TokenCache: it must ask Clerk.');
  }
  return token;
}

/** One getToken call: [token] or [undefined, failure kind, cause]. */
async function callGetToken(getToken, args, timeoutMs, cancelled, flight) {
  let timer;
  const timedOut = new Promise((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), timeoutMs);
  });
  try {
    // Deferred a microtask so a synchronous throw is a rejection too.
    const called = Promise.resolve().then(() => {
      calling = flight;
      try {
        return getToken(args);
      } finally {
        calling = undefined;
      }
    });
    const value = await Promise.race([called, timedOut, cancelled]);
    // undefined too: `clerk.session?.getToken()` is how apps say "no session".
    if (value == null) return [undefined, 'signed_out'];
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
    let token = await notFromItself(call.token());
    for (let attempt = 1, refreshed = false; ; ) {
      // Throws `freed` or `cleared` if the user may have changed; fetch is
      // called in the same tick.
      const { url, init } = call.request(token);
      const [status, text, retryAfter] = await exchange(call, url, init, deadlineMs, fetchFn);
      // { done } | { refresh: true } | { wait: ms }, or a throw.
      const next = call.judge(status, text, retryAfter, attempt, refreshed, token);
      if ('done' in next) return next.done;
      if (next.refresh) {
        token = await notFromItself(call.token(token));
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

/**
 * A token from `source` (a `TokenSource`), anything but `rejected`, checked
 * again once it is here: a client or cache freed meanwhile throws `freed`, a
 * sign-out or user switch since `epoch` `cleared` (it may be the next
 * user's).
 */
async function fresh(source, rejected, epoch) {
  const token = await notFromItself(source.token(rejected, epoch));
  source.check(epoch);
  return token;
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
    // fetch is called now, not a tick later (the user was checked just
    // before); a synchronous throw still becomes a rejection. The token never
    // follows a redirect: Fauna sends none.
    const read = (async () => {
      const response = await fetch(url, { ...init, signal: controller.signal, redirect: 'error' });
      return [response.status, await response.text(), response.headers.get('retry-after')];
    })();
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
 * answer is fetch's own, retried once with a new token after a 401. The
 * token goes only to the origins of the endpoints and of `allowed` (URLs),
 * never through a redirect.
 */
export function authenticatedFetch(source, fetchFn, endpoint, graphqlEndpoint, allowed = []) {
  const origins = [endpoint, graphqlEndpoint, ...allowed].map((url) => new URL(url).origin);
  return async (input, init) => {
    const request = new Request(new Request(input, init), { redirect: 'error' });
    const { origin } = new URL(request.url);
    if (!origins.includes(origin)) {
      throw makeError('origin_not_allowed', `Not sent: ${origin} is not ${origins.join(', ')} (see allowedOrigins).`);
    }
    const fetch = fetchFn ?? globalThis.fetch;
    // Neither a retry nor the first request goes out once the client or
    // cache is freed, or the user signed out or changed (`cleared`).
    const epoch = source.check();
    let token = await fresh(source, undefined, epoch);
    for (let retried = false; ; retried = true) {
      // A clone per attempt keeps the original body replayable.
      const attempt = request.clone();
      attempt.headers.set('Authorization', `Bearer ${token}`);
      const response = await fetch(attempt);
      source.check();
      if (response.status !== 401 || retried) return response;
      token = await fresh(source, token, epoch);
    }
  };
}

const NETWORK_FAILED = 'The request to Fauna failed; the original error is in `cause`.';

/**
 * An HTTP client for the official `fauna` (v10) driver's `HTTPClient`
 * interface, sending through `send` (the client's authenticated fetch, with
 * its rules) to `endpoint`:
 * `new Client({ secret: 'placeholder', endpoint }, fauna.httpClient())`.
 */
export function httpClient(send, endpoint) {
  let closed = false;
  return {
    async request({ client_timeout_ms, data, headers, method = 'POST', path = '/query/1' }) {
      if (closed) throw new Error('clerk-fauna: this httpClient was closed');
      const controller = new AbortController();
      // No timeout given: none; a longer one than setTimeout keeps: its longest.
      const timer =
        client_timeout_ms > 0 && setTimeout(() => controller.abort(), Math.min(client_timeout_ms, MAX_DELAY));
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

/**
 * `target[name] = value` as an own data member, never through a setter on
 * the prototype chain (a polluted `Object.prototype.Authorization` setter
 * would otherwise receive the token).
 */
export function defineMember(target, name, value) {
  // A descriptor with no prototype: an inherited `get` would otherwise count.
  Object.defineProperty(target, name, { __proto__: null, value, writable: true, enumerable: true, configurable: true });
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
// traceparent) it checks again itself. Only own data properties count: an
// inherited value (a polluted Object.prototype) or a getter is not read.

/** Each kind's JS type. */
const TYPES = {
  s: 'string', // any string
  t: 'string', // a template name: not empty
  u: 'string', // an https URL (http on loopback, or allowInsecureHttp): trailing slashes dropped
  o: 'object', // string[] of such URLs: their origins
  F: 'string', // X-Format: simple or tagged
  n: 'number', // any number
  i: 'number', // a whole number in [min, max]
  S: 'number', // seconds, zero or more
  m: 'number', // milliseconds, zero to MAX_DELAY
  p: 'number', // milliseconds, more than zero, to MAX_DELAY
  b: 'boolean',
  f: 'function',
  r: 'object', // Record<string, string>: flattened to key, value, ...
};
const NONE = [];
const specs = new Map();
// Hosts http:// may name: the traffic never leaves the machine.
const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\])$/;

/** `o[name]` if it is an own data property of `o`. */
const own = (o, name) => Object.getOwnPropertyDescriptor(o, name)?.value;

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
  return reading(() => {
    const insecure = own(value, 'allowInsecureHttp') === true;
    return fields.map(([kind, name, min, max]) => {
      const v = own(value, name);
      if (v == null) return undefined;
      const type = TYPES[kind];
      const list = kind === 'o' ? Array.isArray(v) && v : kind === 'r' && typeof v === 'object' && Object.entries(v).flat();
      if (list ? list.some((x) => typeof x !== 'string') : kind === 'o' || typeof v !== type) {
        throw invalid(`${what}.${name} must be ${kind === 'r' ? 'an object of strings' : kind === 'o' ? 'an array of URLs' : `a ${type}`}.`);
      }
      if (kind === 'o') return list.map((url) => new URL(checked('u', name, url, 0, 0, insecure)).origin);
      return list || checked(kind, name, v, +min, +max, insecure);
    });
  });
}

/** `v` (of the right type) as its option allows it, or a throw saying what it must be. */
function checked(kind, name, v, min, max, insecure) {
  const must = (ok, rule) => {
    if (!ok) throw invalid(`${name} must be ${rule}.`);
    return v;
  };
  switch (kind) {
    case 't':
      return must(v !== '', 'a non-empty string');
    case 'u': {
      v = v.replace(/\/+$/, '');
      // A host after the scheme; no spaces or control characters.
      let url;
      try {
        url = new URL(v);
      } catch {}
      must(/^https?:\/\/[^\x00-\x20\x7f]+$/.test(v) && url, 'an http:// or https:// URL, e.g. https://db.fauna.com');
      // The host as fetch will see it (`127.1` is 127.0.0.1).
      const { protocol, hostname } = url;
      return must(
        protocol === 'https:' || insecure || LOOPBACK.test(hostname),
        'https:// (http:// for loopback hosts only, or with allowInsecureHttp: true)',
      );
    }
    case 'F':
      return must(v === 'simple' || v === 'tagged', "'simple' or 'tagged'");
    case 'i':
      return must(Number.isInteger(v) && v >= min && v <= max, `a whole number from ${min} to ${max}`);
    case 'S':
      return must(v >= 0 && v < Infinity, 'a number of seconds, zero or more');
    case 'm':
      return must(v >= 0 && v <= MAX_DELAY, `a number of milliseconds from 0 to ${MAX_DELAY}`);
    case 'p':
      return must(v > 0 && v <= MAX_DELAY, `a number of milliseconds above 0, at most ${MAX_DELAY}`);
    default:
      return v;
  }
}

const invalid = (message) => makeError('invalid_option', message);

/** `JSON.stringify(value)`, undefined when JSON cannot hold it (a function, a cycle, a BigInt). */
export function toJson(value) {
  return reading(() => {
    try {
      return JSON.stringify(value);
    } catch {
      return undefined;
    }
  });
}

// While an exported method reads the caller's objects, the caller's code may
// run (a Proxy, a toJSON, a getter in a record): if it calls free() on an
// object of clerk-fauna then, wasm-bindgen would throw "recursive use of an
// object" (or take ownership of a borrowed value and leak it).
let busy = 0;

/** `read()`, noted as reading the caller's objects (see guard). */
function reading(read) {
  busy++;
  try {
    return read();
  } finally {
    busy--;
  }
}

// True while the caller's own free() runs: only then does a freed client or
// cache stop what it handed out. When the garbage collector frees one (its JS
// object unreachable), its clients and wrappers must work on.
let freeing = false;

/** Whether the object being dropped was freed by the caller (see guard). */
export const freedByCaller = () => freeing;

/**
 * Makes the `free()` of each class safe (called by the package's entries):
 * a second call does nothing, and a call made while clerk-fauna is reading
 * the caller's objects throws `invalid_option` and frees nothing (the object
 * stays usable and can be freed once the call has returned). And
 * `TokenCache.get` rejects at once when a getToken asks its own cache.
 */
export function guard(...classes) {
  for (const { prototype } of classes) {
    const { free, get } = prototype;
    if (get) {
      prototype.get = function (options) {
        const token = get.call(this, options);
        try {
          return notFromItself(token, options);
        } catch (e) {
          return Promise.reject(e);
        }
      };
    }
    prototype.free = function () {
      if (busy) throw invalid('free() from a Proxy, getter or toJSON of a call: free once it returns.');
      // wasm-bindgen zeroes the pointer in free().
      if (!this.__wbg_ptr) return;
      freeing = true;
      try {
        free.call(this);
      } finally {
        freeing = false;
      }
    };
  }
}
