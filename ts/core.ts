// The WebAssembly module's exports, as the typed layer calls them: the Rust
// core (src/core) behind plain-data, synchronous functions (src/exports.rs).
// Numbers, strings and byte/number arrays cross; no JS object, promise or
// callback does, and nothing in Rust calls back into JS objects.
//
// Conventions:
// - Times are `Date.now()` milliseconds on the device clock.
// - A token store lives in the module under a numeric id (one per TokenCache),
//   until `storeDrop`.
// - A function that fails with one of the core's errors throws nothing: it
//   answers with a value that says so (`false`, `undefined`, 0, `Next.Fail`,
//   `Outcome.Fail`), and `lastError()` then gives the error as JSON,
//   `{"code","message","httpStatus"?,"faunaCode"?,"hint"?,"retryAfterMs"?}`
//   (see `fromCore` in errors.ts).

/** `demand` of `storeLookup`. */
export const enum Demand {
  /** A caller wants a usable token. */
  Ordinary = 0,
  /** `skipCache`: a new token from the issuer. */
  Forced = 1,
  /** After a 401: anything but `rejected`. */
  Replacing = 2,
}

/** `[0]` of `storeLookup`'s answer. */
export const enum Action {
  /** Serve the cached token (`storeToken`). */
  Hit = 0,
  /** Serve the cached token; a background refresh flight was started. */
  HitAndRefresh = 1,
  /** Wait for flight `[1]`. */
  Wait = 2,
}

/** `failure` of `storeComplete`: how a getToken call ended without a token. */
export const enum Failure {
  None = 0,
  SignedOut = 1,
  Threw = 2,
  TimedOut = 3,
  NotAString = 4,
  Cleared = 5,
}

/** `[0]` of `storeComplete`'s answer. */
export const enum Outcome {
  /** The waiters get the token that was passed in. */
  DeliverGiven = 0,
  /** The waiters fail with `lastError()`. */
  Fail = 1,
  /** Call getToken again for the same flight, with `skipCache`. */
  RetryForced = 2,
  /** The waiters get the cached token (`storeToken`), not the one passed in. */
  DeliverCached = 3,
}

/** `api` of `request` and `judge`. */
export const enum Api {
  V10 = 0,
  V4 = 1,
  GraphQl = 2,
}

/** Special answers of `judge` (any answer >= 0 is a backoff wait in ms). */
export const enum Next {
  /** Success: the call resolves with the body. */
  Done = -1,
  /** 401: get a token other than the one sent (`Demand.Replacing`), send once more. */
  Refresh = -2,
  /** The call fails with `lastError()`. */
  Fail = -3,
}

/** `input` of `streamOn`: what happened to a stream or feed (src/core/stream.rs `Input`). */
export const enum Input {
  /** The token asked for is here: `n` the cache's epoch now. */
  Token = 0,
  /** No token: `a` the error's code, `b` its message. */
  TokenFailed = 1,
  /** The connection answered 200. */
  Opened = 2,
  /** Any other answer: `n` status, `flag` the body is a JSON object, `a` its error code, `b` message, `c` Retry-After. */
  Refused = 3,
  /** A line of the body: `a` its `type`, `n` its `txn_ts` (NaN: none), `b` its `cursor`. */
  Event = 4,
  /** A `{"type":"error"}` line (or a feed page's error event): `a` code, `b` message. */
  ErrorEvent = 5,
  /** The connection failed. */
  Dropped = 6,
  /** The body ended without an error event. */
  BodyEnded = 7,
  /** The wait asked for is over. */
  WaitOver = 8,
  /** The cache's epoch changed: `n` the new one. */
  Epoch = 9,
  /** The caller's `close()`. */
  Close = 10,
  /** A feed's page: `b` its cursor, `flag` has_next. */
  Page = 11,
  /** The caller wants a feed's next page. */
  Next = 12,
  /** The first input: get a token (an unknown id: `Fail`, `cleared`). */
  Start = 13,
}

/** Special answers of `streamOn` (any answer >= 0 is a wait in ms, then `Input.WaitOver`). */
export const enum Step {
  /** Get a token, then report `Token` or `TokenFailed`. */
  GetToken = -1,
  /** Get a token other than the one last sent (`Demand.Replacing`). */
  GetReplacingToken = -2,
  /** POST `streamText(id, true)` to /stream/1 or /feed/1 with the token. */
  Connect = -3,
  /** Hand the event or page just reported to the caller. */
  Deliver = -4,
  /** Nothing to do. */
  Ignore = -5,
  /** Stop cleanly. */
  End = -6,
  /** Stop with `lastError()`. */
  Fail = -7,
}

export interface Core {
  // ---- token stores (one per TokenCache) ----

  /**
   * A new store for `organizationId`'s tokens; the options were checked by
   * the typed layer (undefined: the default). Returns its id.
   */
  storeNew(
    refreshAheadSeconds: number | undefined,
    minValiditySeconds: number | undefined,
    organizationId: string | undefined,
  ): number;
  /** Forgets the store and every token in it. */
  storeDrop(store: number): void;
  /**
   * Decides how to answer a caller of entry `template`.
   * `seen`: the latest `now` at which the typed layer served a hit without
   * asking (0 if none), noted first so a clock that stepped back is seen.
   * Answers `[action, flight, startedNew, forced, servableUntil, epoch]`:
   * - `action`: an `Action`; `flight` the flight to wait for (`Wait`) or the
   *   background refresh started (`HitAndRefresh`);
   * - `startedNew` 1: this call started `flight`: call getToken for it now,
   *   with `skipCache` when `forced` is 1;
   * - `servableUntil` (for `Hit`): until this device time an ordinary
   *   lookup of this entry would be a plain `Hit` of the same token with
   *   nothing to learn, so the typed layer may serve it without asking, as
   *   long as `Date.now()` does not go back; -1: ask every time.
   * - `epoch`: the store's epoch after the call.
   */
  storeLookup(
    store: number,
    template: string,
    demand: Demand,
    rejected: string | undefined,
    now: number,
    seen: number,
  ): Float64Array;
  /**
   * The entry's cached token if it is usable at `now` (never starts a
   * flight), or usable or not when `now` is NaN; undefined if none.
   */
  storeToken(store: number, template: string, now: number): string | undefined;
  /**
   * Records how flight `flight` of the entry ended: `token` (with
   * `Failure.None`), or a failure. Answers `[outcome, epoch, servableUntil,
   * ...staleFlights]`: `outcome` an `Outcome`; `servableUntil` as in
   * `storeLookup` for a delivered token; `staleFlights` the flights begun
   * before a sign-out or user switch this outcome revealed: reject their
   * waiters with `cleared` now.
   */
  storeComplete(
    store: number,
    template: string,
    flight: number,
    token: string | undefined,
    failure: Failure,
    now: number,
  ): Float64Array;
  /** The error of the last call that failed, as JSON (see the conventions). */
  lastError(): string;
  /** Drops every token; answers `[epoch, ...flights]`: reject those flights' waiters with `cleared`. */
  storeClear(store: number): Float64Array;
  /** Drops one entry's token. */
  storeInvalidate(store: number, template: string): void;
  /** The cached token's payload as JSON text (usable or not); undefined if none. */
  storeClaims(store: number, template: string): string | undefined;
  /** `[hits, misses, joins, refreshes, failures]` as the store counted them. */
  storeStats(store: number): Float64Array;

  // ---- JWTs ----

  /**
   * Decodes a JWT (no signature check). Answers `header JSON + "\0" +
   * payload JSON + "\0" + ignored`, where `ignored` names the time claim
   * Fauna would ignore (`asFauna` only; else empty). Undefined:
   * `malformed_token`.
   */
  jwtDecode(token: string, asFauna: boolean): string | undefined;

  // ---- requests (option sets under numeric ids) ----

  /**
   * An option set: `base`'s (0: the defaults) with these overrides, checked
   * and merged by the core; 0: `invalid_option`. A number NaN is not
   * given; `typecheck` and `linearized` as 0 or 1. `queryTags` flattened:
   * `key\0value\0key\0value`.
   */
  optionsNew(
    base: number,
    endpoint: string | undefined,
    graphqlEndpoint: string | undefined,
    format: string | undefined,
    queryTimeoutMs: number,
    maxAttempts: number,
    maxBackoffMs: number,
    typecheck: number,
    linearized: number,
    maxContentionRetries: number,
    queryTags: string | undefined,
    traceparent: string | undefined,
  ): number;
  optionsDrop(options: number): void;
  /** Abandon a request after this many ms. */
  optionsDeadline(options: number): number;
  /**
   * The request, every header but `Authorization` (the typed layer adds
   * `Bearer <token>`): `url \n name \n value \n ... \n\n body`. `text`: FQL,
   * a v4 wire expression (JSON) or a GraphQL query; `json`: the arguments or
   * variables as JSON text. Undefined: `invalid_option` (an unknown set).
   */
  request(options: number, api: Api, lastTxnTs: number | undefined, text: string, json: string | undefined): string | undefined;
  /**
   * What an answer means: a `Next` (`Next.Fail`: the call fails), or a
   * wait in ms before attempt `attempt + 1`. The answer as read off the parsed
   * body: whether it is a JSON object, has its result (`data`/`resource`),
   * its error code and message, a non-empty GraphQL `errors`, the
   * `Retry-After` header.
   */
  judge(
    options: number,
    api: Api,
    status: number,
    isJsonObject: boolean,
    hasResult: boolean,
    errorCode: string | undefined,
    errorMessage: string | undefined,
    hasGraphqlErrors: boolean,
    retryAfter: string | undefined,
    attempt: number,
    refreshed: boolean,
    random: number,
  ): number;

  // ---- event streams and feeds (under numeric ids, src/core/stream.rs) ----

  /**
   * A stream, or with `feed` a feed, of event source token `source`,
   * starting after `cursor` or `startTs` (NaN: neither; both:
   * `invalid_option`), or where the token was made. `pageSize` 0: the
   * server's; `maxAttempts`, `maxBackoffMs` NaN: the defaults (10, 20000).
   * `epoch`: the token cache's now. `seed` seeds the jitter.
   * Answers its id; 0: `invalid_option`. Every step other than `Deliver`
   * and `Ignore` means the connection held, if any, is over.
   */
  streamNew(
    feed: boolean,
    source: string,
    cursor: string | undefined,
    startTs: number,
    statusEvents: boolean,
    pageSize: number,
    maxAttempts: number,
    maxBackoffMs: number,
    epoch: number,
    seed: number,
  ): number;
  /** Reports `input` (its fields as `Input` documents); answers the next step. */
  streamOn(id: number, input: Input, a: string | undefined, b: string | undefined, n: number, flag: boolean, c: string | undefined): number;
  /**
   * With `body`, the body of the request of stream `id`'s `Connect` step
   * (asked for at once); else where it would resume now (its caller's `cursor`).
   */
  streamText(id: number, body: boolean): string | undefined;
  streamDrop(id: number): void;
}

/**
 * The module in use, set once by the package's entry (`useCore`): the
 * bundler, web and Node builds of the .wasm each have their own.
 */
export let core: Core;

/** Makes `module` the core every class and function calls. */
export function useCore(module: Core): void {
  core = module;
}
