// TokenCache: promises, timers and getToken calls around the core's token
// store, which decides every step (what to serve, when to call getToken,
// who shares a call, what an answer means).

import { Action, Demand, Failure, Outcome, core, type Core } from './core.js';
import { cleared, defineMember, freed, fromCore, invalid } from './errors.js';
import { parsed } from './jwt.js';
import { within } from './timers.js';
import {
  cacheOptions,
  defaults,
  freeing,
  getOptions,
  readOptions,
  type GetToken,
  type TokenCacheOptions,
  type TokenGetOptions,
} from './options.js';

export interface TokenCacheStats {
  /** Calls answered from the cache. */
  hits: number;
  /** `getToken` calls made because nothing usable was cached. */
  misses: number;
  /** Calls that shared a `getToken` call already in flight. */
  joins: number;
  /** `getToken` calls made to replace a token (refresh-ahead, `skipCache`, after a 401). */
  refreshes: number;
  /** `getToken` calls that ended without a usable token. */
  failures: number;
}

/**
 * An entry's token as last served: until `until` (device time, as the store
 * said) it may be served again without asking the store, as long as the
 * clock has not gone back before `seen`, the last time it was.
 */
interface Served {
  token: string;
  /** Resolved with `token`: the same promise for every hit. */
  promise: Promise<string>;
  until: number;
  seen: number;
}

/** A getToken call in flight: the promise its waiters share. */
interface Flight {
  promise: Promise<string>;
  /** Rejects the waiters with `cleared`. */
  cancel(): void;
}

/** A TokenCache's state, shared with the clients built on it. */
export interface Cache {
  /** The module the store lives in (the one in use when the cache was made). */
  core: Core;
  store: number;
  getToken: GetToken;
  template: string;
  org: string | undefined;
  timeoutMs: number;
  minValidityMs: number;
  /** The store's epoch, as its last answer said. */
  epoch: number;
  /** Set by the caller's free(): the store is gone. */
  freed: boolean;
  /** Hits served without asking the store. */
  hits: number;
  served: Map<string, Served>;
  flights: Map<number, Flight>;
  /** Told of every new epoch (live streams), and whether a sign-out made it. */
  listeners: Set<EpochListener>;
}

export type EpochListener = (epoch: number, signedOut: boolean) => void;

// What a getToken call's wait rejects with when cancelled, or when time is up.
const CANCELLED = Symbol();
const TIMED_OUT = Symbol();
const noop = () => {};

// The flight whose getToken is running right now, and the options object
// each flight passed to getToken: a getToken that asks its own cache for a
// token would wait for itself (see notFromItself).
let calling: Flight | undefined;
const argsOf = new WeakMap<object, Flight>();

/**
 * `token` (a token, or the promise of a getToken call in flight), unless
 * waiting for it would wait for itself: asked for from that very getToken
 * (called from it, or with the options it was given), which would hang
 * until getTokenTimeoutMs. Then it throws `invalid_option`.
 */
export function notFromItself<T>(token: T, options?: unknown): T {
  if (calling?.promise === token || (options && argsOf.get(options)?.promise === token)) {
    throw invalid('getToken called its own TokenCache: it must ask Clerk.');
  }
  return token;
}

const caches = new WeakMap<TokenCache, Cache>();
// A cache the garbage collector takes (with every client and wrapper on it)
// leaves the module: its store is dropped.
const stores = new FinalizationRegistry<Pick<Cache, 'core' | 'store'>>((c) => c.core.storeDrop(c.store));

/** The state of `tokens`; throws `invalid_option` if it is no TokenCache. */
export function cacheOf(tokens: TokenCache): Cache {
  const cache = caches.get(tokens);
  if (!cache) throw invalid('FaunaClient needs a TokenCache.');
  return cache;
}

/** The epoch the store answered: a new one drops every token served, and is told to the listeners. */
function noteEpoch(c: Cache, epoch: number, signedOut = false): void {
  if (epoch !== c.epoch) {
    c.epoch = epoch;
    c.served.clear();
    for (const listener of [...c.listeners]) listener(epoch, signedOut);
  }
}

/** Calls `listener` at each new epoch of the cache, until the returned function is called. */
export function onEpoch(c: Cache, listener: EpochListener): () => void {
  c.listeners.add(listener);
  return () => c.listeners.delete(listener);
}

/** Rejects with `cleared` the waiters of the flights listed in `answer` from `from`. */
function cancel(c: Cache, answer: Float64Array, from: number): void {
  for (let i = from; i < answer.length; i++) c.flights.get(answer[i]!)?.cancel();
}

/** The default entry's token if it may be served now without asking the store. */
function fastHit(c: Cache): Served | undefined {
  const served = c.served.get(c.template);
  const now = Date.now();
  if (served && now >= served.seen && now < served.until) {
    served.seen = now;
    c.hits++;
    return served;
  }
  return undefined;
}

/** Notes that `token` is the entry's token now, servable until `until`. */
function serve(c: Cache, template: string, token: string, until: number, now: number): Served {
  let served = c.served.get(template);
  if (served?.token !== token) c.served.set(template, (served = { token, promise: Promise.resolve(token), until, seen: now }));
  served.until = until;
  served.seen = now;
  return served;
}

/** The store's answer for a caller of `template`: a token served, or the promise of one. */
function lookup(c: Cache, template: string, demand: Demand, rejected?: string): Served | Promise<string> {
  const now = Date.now();
  const [action, flight, startedNew, forced, until, epoch] = c.core.storeLookup(
    c.store,
    template,
    demand,
    rejected,
    now,
    c.served.get(template)?.seen ?? 0,
  ) as unknown as number[];
  noteEpoch(c, epoch!);
  if (startedNew) startFlight(c, template, flight!, forced === 1);
  if (action === Action.Wait) {
    c.served.delete(template);
    return c.flights.get(flight!)!.promise;
  }
  // The token is the one last delivered for this entry, unless it was dropped here since.
  const known = c.served.get(template)?.token ?? c.core.storeToken(c.store, template, NaN)!;
  return serve(c, template, known, until!, now);
}

/**
 * A token for a client's request (or the promise of one): after a 401,
 * anything but `rejected`. The cache must not be freed.
 */
export function tokenFor(c: Cache, rejected?: string): string | Promise<string> {
  const hit = rejected === undefined ? fastHit(c) : undefined;
  if (hit) return hit.token;
  const answer = lookup(c, c.template, rejected === undefined ? Demand.Ordinary : Demand.Replacing, rejected);
  return answer instanceof Promise ? answer : answer.token;
}

/** Starts flight `id` of `template`: getToken called (with `skipCache` when `forced`) until the store is satisfied. */
function startFlight(c: Cache, template: string, id: number, forced: boolean): void {
  let reject!: (reason: unknown) => void;
  const cancelled = new Promise<never>((_, r) => (reject = r));
  cancelled.catch(noop);
  const flight: Flight = { promise: undefined!, cancel: () => reject(CANCELLED) };
  c.flights.set(id, flight);
  flight.promise = (async () => {
    try {
      for (; ; forced = true) {
        const args = { template };
        if (c.org !== undefined) defineMember(args, 'organizationId', c.org);
        if (forced) defineMember(args, 'skipCache', true);
        argsOf.set(args, flight);
        const [token, failure, cause] = await callGetToken(c, args, cancelled, flight);
        // A freed cache's store is gone; its flights were cancelled.
        if (c.freed) throw cleared();
        const now = Date.now();
        const answer = c.core.storeComplete(c.store, template, id, token, failure, now);
        const [outcome, epoch, until] = answer as unknown as number[];
        noteEpoch(c, epoch!, outcome === Outcome.Fail && failure === Failure.SignedOut);
        cancel(c, answer, 3);
        if (outcome === Outcome.Fail) throw fromCore(c.core.lastError(), cause);
        if (outcome !== Outcome.RetryForced) {
          const given = outcome === Outcome.DeliverGiven ? token! : c.core.storeToken(c.store, template, NaN)!;
          return serve(c, template, given, until!, now).token;
        }
      }
    } finally {
      c.flights.delete(id);
    }
  })();
  // A background refresh may have no waiter: its failure is counted, not thrown.
  flight.promise.catch(noop);
}

/** One getToken call: `[token, Failure.None]` or `[undefined, failure, cause]`. */
async function callGetToken(
  c: Cache,
  args: object,
  cancelled: Promise<never>,
  flight: Flight,
): Promise<[string | undefined, Failure, unknown?]> {
  try {
    // Deferred a microtask so a synchronous throw is a rejection too.
    const called = Promise.resolve().then(() => {
      calling = flight;
      try {
        return c.getToken(args);
      } finally {
        calling = undefined;
      }
    });
    const value: unknown = await within(c.timeoutMs, Promise.race([called, cancelled]), () => TIMED_OUT);
    // undefined too: `clerk.session?.getToken()` is how apps say "no session".
    if (value == null) return [undefined, Failure.SignedOut];
    if (typeof value !== 'string') return [undefined, Failure.NotAString];
    return [value, Failure.None];
  } catch (e) {
    if (e === TIMED_OUT) return [undefined, Failure.TimedOut];
    if (e === CANCELLED) return [undefined, Failure.Cleared];
    return [undefined, Failure.Threw, e];
  }
}

/**
 * The entry `template` names (undefined: the cache's own). A name get()
 * refuses (`''`) names no entry: the store has nothing under it.
 */
const entry = (c: Cache, template: string | undefined) => (template === undefined ? c.template : template);

/**
 * A cache of Clerk session tokens over any `getToken(options)` function.
 * After `free()`, its methods throw `freed`.
 *
 * One entry per template; freshness judged by the server's clock, learned
 * from the tokens' `iat` (never an aged token from `getToken`'s own
 * cache); one `getToken` call in flight per entry however many callers
 * wait; tokens nearing expiry refreshed in the background. Tokens are kept
 * in memory only.
 */
export class TokenCache {
  readonly #state: Cache;

  /** The state, for a method: a freed cache's methods throw `freed`. */
  get #c(): Cache {
    if (this.#state.freed) throw freed();
    return this.#state;
  }

  /**
   * Wraps `getToken` (Clerk's `useAuth().getToken`, `session.getToken`, or
   * any function of that shape). Throws `invalid_option` for bad options.
   */
  constructor(getToken: GetToken, options?: TokenCacheOptions) {
    if (typeof getToken !== 'function') throw invalid('TokenCache needs a getToken function, e.g. useAuth().getToken.');
    const o = readOptions(options, 'TokenCache options', cacheOptions);
    // Not given: the core's freshness defaults.
    const store = core.storeNew(o.refreshAheadSeconds, o.minValiditySeconds, o.organizationId);
    const c: Cache = {
      core,
      store,
      getToken,
      template: o.template ?? defaults.template,
      org: o.organizationId,
      timeoutMs: o.getTokenTimeoutMs ?? defaults.getTokenTimeoutMs,
      minValidityMs: (o.minValiditySeconds ?? defaults.minValiditySeconds) * 1000,
      epoch: 0,
      freed: false,
      hits: 0,
      served: new Map(),
      flights: new Map(),
      listeners: new Set(),
    };
    this.#state = c;
    caches.set(this, c);
    stores.register(c, { core, store }, c);
  }

  /**
   * A token with at least `minValiditySeconds` left: from the cache, from a
   * `getToken` call already in flight, or from a new one. `skipCache` asks
   * the issuer for a new token and replaces the cached one. Rejects with a
   * `ClerkFaunaError`: `signed_out`, `token_unavailable`, `token_timeout`,
   * `malformed_token`, `cleared` or `invalid_option`.
   */
  get(options?: TokenGetOptions): Promise<string> {
    // The hot path: a warm default entry, without a call into the core (a
    // freed cache serves nothing: free() emptied it).
    const hit = options === undefined && fastHit(this.#state);
    if (hit) return hit.promise;
    const c = this.#c;
    try {
      const o = readOptions(options, 'get options', getOptions);
      const answer = lookup(c, o.template ?? c.template, o.skipCache ? Demand.Forced : Demand.Ordinary);
      return answer instanceof Promise ? notFromItself(answer, options) : answer.promise;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The cached token, if it still has at least `minValiditySeconds` left.
   * Never calls `getToken`.
   */
  peek(template?: string): string | undefined {
    const c = this.#c;
    return c.core.storeToken(c.store, entry(c, template), Date.now());
  }

  /** The payload of the cached token (usable or not), as an object. */
  claims(template?: string): Record<string, unknown> | undefined {
    const c = this.#c;
    const json = c.core.storeClaims(c.store, entry(c, template));
    return json === undefined ? undefined : parsed(json);
  }

  /** Drops one template's token; the next `get` fetches a new one. */
  invalidate(template?: string): void {
    const c = this.#c;
    const name = entry(c, template);
    c.core.storeInvalidate(c.store, name);
    c.served.delete(name);
  }

  /**
   * Drops every token (call it on sign-out or user switch). Calls waiting
   * for a token reject with `cleared`; a `getToken` result arriving later
   * is not cached.
   */
  clear(): void {
    const c = this.#c;
    const answer = c.core.storeClear(c.store);
    c.served.clear();
    noteEpoch(c, answer[0]!);
    cancel(c, answer, 1);
  }

  /**
   * Counters since creation: `hits` (served from the cache), `misses`
   * (`getToken` calls because nothing usable was cached), `joins` (calls
   * that shared a call in flight), `refreshes` (`getToken` calls to replace
   * a token: refresh-ahead, `skipCache`, after a 401) and `failures`.
   */
  get stats(): TokenCacheStats {
    const c = this.#c;
    const [hits, misses, joins, refreshes, failures] = c.core.storeStats(c.store) as unknown as number[];
    return { hits: hits! + c.hits, misses: misses!, joins: joins!, refreshes: refreshes!, failures: failures! };
  }

  /**
   * Calls waiting for a token end with `cleared`, the tokens leave memory,
   * and the clients sharing the cache send nothing more (`freed`). Twice
   * does nothing. Throws `invalid_option` when called from a Proxy, getter
   * or `toJSON` while a call reads its arguments.
   */
  free(): void {
    freeing();
    const c = this.#state;
    if (c.freed) return;
    this.clear();
    c.freed = true;
    stores.unregister(c);
    c.core.storeDrop(c.store);
  }
}
