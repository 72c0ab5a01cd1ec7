// The in-page half of the benchmark suite. bench/run.mjs opens index.html in
// headless Chromium and calls the functions on `window.bench`, one round per
// call; it owns the rounds, the medians and the table. Every loop here is
// bounded, and every measured pair runs in the same page, interleaved.

import init, { TokenCache, FaunaClient } from '/pkg/web.js';
import { streams } from './streams.js';

const wasm = await init();

// ---------------------------------------------------------------- helpers

const b64url = (value) =>
  btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
let minted = 0;

/** An unsigned JWT of Clerk's shape (the cache decodes, Fauna would verify). */
export function mint(lifetimeSeconds = 60) {
  const iat = Math.floor(Date.now() / 1000);
  const header = b64url({ alg: 'RS256', typ: 'JWT', kid: 'bench' });
  const payload = b64url({
    azp: location.origin,
    exp: iat + lifetimeSeconds,
    iat,
    iss: 'https://clerk.bench.invalid',
    jti: `bench-${++minted}`,
    nbf: iat - 5,
    sub: 'user_bench',
    aud: 'https://db.fauna.com/db/bench',
  });
  return `${header}.${payload}.c2lnbmF0dXJl`;
}

const ENDPOINT = 'https://db.fauna.invalid';
const STATS = {
  compute_ops: 1, read_ops: 0, write_ops: 0, query_time_ms: 0,
  contention_retries: 0, storage_bytes_read: 0, storage_bytes_write: 0, rate_limits_hit: [],
};
const OK_BODY = JSON.stringify({
  data: 1, static_type: 'Number', summary: '', txn_ts: 1_700_000_000_000_000, stats: STATS, schema_version: 0,
});
const UNAUTHORIZED_BODY = JSON.stringify({ error: { code: 'unauthorized', message: 'Access token required' } });
const JSON_HEADERS = { 'content-type': 'application/json' };

/** The in-page Fauna: answers at once, as fast as a Response can be made. */
function okResponse() {
  return new Response(OK_BODY, { status: 200, headers: JSON_HEADERS });
}

function authorizationOf(init) {
  return new Headers(init?.headers).get('authorization');
}

/**
 * ns per call of each variant: `n` sequential awaited calls of each, run in
 * `blocks` interleaved blocks (A B C, then B C A, ...) so that drift and
 * background load fall on every variant alike.
 */
async function interleaved(round, variants, n, blocks = 10) {
  const names = Object.keys(variants);
  const total = Object.fromEntries(names.map((name) => [name, 0]));
  const size = Math.max(1, Math.round(n / blocks));
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + b + round) % names.length];
      const fn = variants[name];
      const t0 = performance.now();
      for (let k = 0; k < size; k++) await fn();
      total[name] += performance.now() - t0;
    }
  }
  return Object.fromEntries(names.map((name) => [name, (total[name] * 1e6) / (size * blocks)]));
}

/** A full GC when Chromium runs with --js-flags=--expose-gc; finalizers get a turn. */
async function collect() {
  if (typeof globalThis.gc !== 'function') return false;
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

// ------------------------------------------------ the JS reference cache

/**
 * What a careful developer writes by hand: a Map of pending/settled promises
 * per template, with the package's rules. A token is fresh for `exp - iat`
 * seconds counted from its receipt (Date.now(), as the package's clock);
 * below minValidity (5 s) it is never served; below refresh-ahead (15 s) it
 * is served and one forced refresh starts in the background. One getToken
 * call in flight per template.
 */
export class JsTokenCache {
  constructor(getToken, { template = 'fauna', minValiditySeconds = 5, refreshAheadSeconds = 15 } = {}) {
    this.getToken = getToken;
    this.template = template;
    this.minMs = minValiditySeconds * 1000;
    this.aheadMs = refreshAheadSeconds * 1000;
    this.entries = new Map(); // template -> { settled, expiresAt, pending }
  }

  get(options) {
    const template = options?.template ?? this.template;
    const entry = this.entries.get(template);
    if (entry !== undefined && entry.settled !== undefined) {
      const left = entry.expiresAt - Date.now();
      if (left >= this.minMs) {
        if (left < this.aheadMs && entry.pending === undefined) this.call(template, entry, true).catch(() => {});
        return entry.settled;
      }
    }
    if (entry !== undefined && entry.pending !== undefined) return entry.pending;
    return this.call(template, entry ?? this.fresh(template), false);
  }

  fresh(template) {
    const entry = { settled: undefined, expiresAt: 0, pending: undefined };
    this.entries.set(template, entry);
    return entry;
  }

  call(template, entry, skipCache) {
    const pending = Promise.resolve()
      .then(() => this.getToken({ template, skipCache }))
      .then((token) => {
        if (typeof token !== 'string') throw new Error('signed out');
        const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
        entry.expiresAt = Date.now() + (payload.exp - payload.iat) * 1000;
        entry.settled = Promise.resolve(token);
        return token;
      })
      .finally(() => {
        if (entry.pending === pending) entry.pending = undefined;
      });
    entry.pending = pending;
    return pending;
  }
}

// ------------------------------------------------------------ scenarios

/** 2. A warm cache: ns per `await get()` for the package, the JS reference and a bare getToken. */
async function cacheHit(round, n) {
  const token = mint();
  const getToken = () => Promise.resolve(token);
  const tokens = new TokenCache(getToken, { template: 'fauna' });
  const reference = new JsTokenCache(getToken, { template: 'fauna' });
  try {
    await tokens.get();
    await reference.get();
    const before = tokens.stats.hits;
    const ns = await interleaved(round, {
      package: () => tokens.get(),
      reference: () => reference.get(),
      getToken: () => getToken(),
    }, n);
    const hits = tokens.stats.hits - before;
    return { ...ns, hits, n };
  } finally {
    tokens.free();
  }
}

/** 3a. `n` concurrent queries on a cold cache: getToken calls and time to all settled. */
async function stampede(n) {
  let calls = 0;
  const token = mint();
  const getToken = () => {
    calls += 1;
    return Promise.resolve(token);
  };
  const tokens = new TokenCache(getToken);
  const fauna = new FaunaClient(tokens, { endpoint: ENDPOINT, fetch: async () => okResponse() });
  try {
    const t0 = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: n }, () => fauna.query('1')));
    const ms = performance.now() - t0;
    const fulfilled = settled.filter((s) => s.status === 'fulfilled').length;
    const firstError = settled.find((s) => s.status === 'rejected')?.reason;
    return { n, ms, getTokenCalls: calls, fulfilled, error: firstError && `${firstError.code}: ${firstError.message}` };
  } finally {
    fauna.free();
    tokens.free();
  }
}

/** 3b. `n` concurrent queries whose token Fauna refuses once: refreshes and time. */
async function unauthorizedStampede(n) {
  const first = mint();
  let calls = 0;
  const getToken = () => {
    calls += 1;
    return Promise.resolve(calls === 1 ? first : mint());
  };
  let refused = 0;
  const fetch = async (_url, init) => {
    if (authorizationOf(init) === `Bearer ${first}`) {
      refused += 1;
      return new Response(UNAUTHORIZED_BODY, { status: 401, headers: { ...JSON_HEADERS, 'www-authenticate': 'Bearer' } });
    }
    return okResponse();
  };
  const tokens = new TokenCache(getToken);
  const fauna = new FaunaClient(tokens, { endpoint: ENDPOINT, fetch });
  try {
    await tokens.get(); // the cache holds `first`, which Fauna will refuse
    const before = tokens.stats.refreshes;
    const t0 = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: n }, () => fauna.query('1')));
    const ms = performance.now() - t0;
    const fulfilled = settled.filter((s) => s.status === 'fulfilled').length;
    const firstError = settled.find((s) => s.status === 'rejected')?.reason;
    return {
      n, ms, refused, fulfilled,
      refreshes: tokens.stats.refreshes - before,
      getTokenCalls: calls - 1,
      error: firstError && `${firstError.code}: ${firstError.message}`,
    };
  } finally {
    fauna.free();
    tokens.free();
  }
}

/**
 * 4. µs per request: `fauna.query` against `fetch` with the same URL, body and
 * headers (Authorization precomputed) and `response.json()`. `fetch` and
 * `getToken` are the in-page ones (target 'inpage') or the real ones against
 * the stand-ins (target 'loopback').
 */
async function overhead(round, n, target, blockSize) {
  let fetchFn;
  let getToken;
  let endpoint;
  if (target.kind === 'inpage') {
    const token = mint();
    getToken = () => Promise.resolve(token);
    fetchFn = async () => okResponse();
    endpoint = ENDPOINT;
  } else {
    getToken = async ({ template = 'fauna' } = {}) => {
      const url = `${target.clerk}/v1/client/sessions/${target.sessionId}/tokens/${template}`;
      const response = await fetch(url, { method: 'POST' });
      if (!response.ok) throw new Error(`Clerk stand-in: HTTP ${response.status}`);
      return (await response.json()).jwt;
    };
    fetchFn = (url, init) => fetch(url, init);
    endpoint = target.fauna;
  }
  let last;
  const recording = (url, init) => {
    last = { url, init };
    return fetchFn(url, init);
  };
  const tokens = new TokenCache(getToken);
  const fauna = new FaunaClient(tokens, { endpoint, fetch: recording });
  try {
    // Warm both paths; the request the package sends last is the one replayed.
    for (let i = 0; i < 20; i++) await fauna.query('1');
    const { url, init } = last;
    const headers = Object.fromEntries(new Headers(init.headers));
    const request = { method: init.method, headers, body: init.body };
    const plain = async () => {
      const response = await fetchFn(url, request);
      if (!response.ok) throw new Error(`plain fetch: HTTP ${response.status}`);
      return response.json();
    };
    // The same, with what the package adds around fetch: an AbortController
    // signal and a deadline timer (cleared on the answer).
    const abortable = async () => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 10_000);
      try {
        const response = await fetchFn(url, { ...request, signal: controller.signal });
        if (!response.ok) throw new Error(`plain fetch: HTTP ${response.status}`);
        return response.json();
      } finally {
        clearTimeout(timer);
      }
    };
    for (let i = 0; i < 20; i++) await plain();
    for (let i = 0; i < 20; i++) await abortable();
    const ns = await interleaved(round, {
      package: () => fauna.query('1'),
      fetch: plain,
      abortable,
    }, n, Math.max(1, Math.round(n / blockSize)));
    return {
      packageUs: ns.package / 1000, fetchUs: ns.fetch / 1000, abortableUs: ns.abortable / 1000,
      n, url, headerNames: Object.keys(headers),
    };
  } finally {
    fauna.free();
    tokens.free();
  }
}

async function memorySnapshot() {
  const gc = await collect();
  return {
    wasmBytes: wasm.memory.buffer.byteLength,
    heapBytes: performance.memory?.usedJSHeapSize ?? null,
    gc,
  };
}

/** 5. WASM linear memory and JS heap after 1,000, 100,000 and 200,000 queries (in-page fetch). */
async function memory(first, total, batch) {
  const token = mint(3600);
  const tokens = new TokenCache(() => Promise.resolve(token));
  const fauna = new FaunaClient(tokens, { endpoint: ENDPOINT, fetch: async () => okResponse() });
  let done = 0;
  const runTo = async (target) => {
    while (done < target) {
      const size = Math.min(batch, target - done);
      await Promise.all(Array.from({ length: size }, () => fauna.query('1')));
      done += size;
    }
  };
  try {
    const start = await memorySnapshot();
    const t0 = performance.now();
    await runTo(first);
    const afterFirst = { ...(await memorySnapshot()), queries: done };
    await runTo(total);
    const ms = performance.now() - t0;
    const afterTotal = { ...(await memorySnapshot()), queries: done };
    // As many again: does the heap keep growing, or was it a one-time cost?
    await runTo(2 * total);
    const afterTwice = { ...(await memorySnapshot()), queries: done };
    return { start, afterFirst, afterTotal, afterTwice, ms };
  } finally {
    fauna.free();
    tokens.free();
  }
}

window.bench = { cacheHit, stampede, unauthorizedStampede, overhead, memory, ...streams };
window.benchReady = true;
