// Every option of clerk-fauna: its type and documentation (the interfaces),
// its default, and how it is read and checked (the rules below, which the
// type system keeps in step with the interfaces). Only own data properties
// of the caller's objects are read: an inherited value (a polluted
// Object.prototype) or a getter is not. The core checks again the two that
// go into headers as free text (query tags, traceparent).

import { invalid } from './errors.js';

/**
 * Clerk's `getToken` (`useAuth().getToken`, `session.getToken`), or any
 * function of that shape. `null` or `undefined` means signed out. It must
 * not ask its own `TokenCache` for a token.
 */
export type GetToken = (options?: {
  template?: string;
  skipCache?: boolean;
  organizationId?: string;
}) => Promise<string | null | undefined>;

export interface TokenCacheOptions {
  /** The JWT template to ask for. Default `'fauna'`. */
  template?: string;
  /** Passed through to `getToken`. */
  organizationId?: string;
  /** With less than this left, a token is still returned and one background refresh starts. Default 15. */
  refreshAheadSeconds?: number;
  /** With less than this left, a token is never returned: callers wait for a new one. Default 5. */
  minValiditySeconds?: number;
  /** A `getToken` call not settled by then fails its waiting calls with `token_timeout`. Default 10000, at most 2147483647. */
  getTokenTimeoutMs?: number;
}

export interface TokenGetOptions {
  /** Another template than the cache's default. */
  template?: string;
  /** Ask the issuer for a new token and replace the cached one. */
  skipCache?: boolean;
}

/** Per-query overrides of the client's options. */
export interface QueryOptions {
  /** `X-Format`. Default `'simple'`. With `'tagged'`, `data` keeps Fauna's tags (`{"@int": "1"}`). */
  format?: 'simple' | 'tagged';
  /** Sent as `X-Query-Timeout-Ms` (1..600000). The request is abandoned 5 s after it. Default 5000. */
  queryTimeoutMs?: number;
  /** Attempts for 429 `limit_exceeded`, counting the first. Default 3. */
  maxAttempts?: number;
  /** Upper bound of one backoff wait, at most 2147483647. Default 20000. */
  maxBackoffMs?: number;
  /** `X-Typecheck`. */
  typecheck?: boolean;
  /** `X-Linearized`. */
  linearized?: boolean;
  /** `X-Max-Contention-Retries` (0..7). */
  maxContentionRetries?: number;
  /** `X-Query-Tags`: keys and values of letters, digits and `_`. */
  queryTags?: Record<string, string>;
  /** W3C `traceparent`. */
  traceparent?: string;
}

export interface FaunaClientOptions extends QueryOptions {
  /**
   * Fauna's URL. Default `'https://db.fauna.com'`; a self-hosted Fauna: its
   * URL. `http://` only for localhost, 127.0.0.0/8 and `[::1]`, unless
   * `allowInsecureHttp`.
   */
  endpoint?: string;
  /** Default `'https://graphql.fauna.com/graphql'`. */
  graphqlEndpoint?: string;
  /** The `fetch` to send requests with. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Further origins (any URL on each) that `fetch` and `httpClient()` may send
   * the token to, besides those of `endpoint` and `graphqlEndpoint`.
   */
  allowedOrigins?: string[];
  /** Lets `endpoint`, `graphqlEndpoint` and `allowedOrigins` be `http://` on any host: the token then crosses the network in clear. */
  allowInsecureHttp?: boolean;
}

/** What streams and feeds share. */
export interface EventSourceOptions {
  /** Arguments of the FQL text (as query()'s). */
  arguments?: Record<string, unknown>;
  /** Start after this cursor (an event's `cursor`, or a stream's or feed's `.cursor`). */
  cursor?: string;
  /** Start after this transaction time, in microseconds. Not with `cursor`. */
  startTs?: number;
  /** Failed (re)connection attempts in a row before it ends with the last error. Default 10. */
  maxAttempts?: number;
  /** Longest wait between attempts, at most 2147483647 ms. Default 20000. */
  maxBackoffMs?: number;
}

export interface StreamOptions extends EventSourceOptions {
  /** Deliver status events too. Default false. */
  statusEvents?: boolean;
}

export interface FeedOptions extends EventSourceOptions {
  /** Events per page, 1 to 16000. Default the server's, 16. */
  pageSize?: number;
}

export interface DiagnoseOptions {
  /** The access provider's issuer, exactly as configured in Fauna. */
  issuer?: string;
  /** The database's global id: the `<id>` of `https://db.fauna.com/db/<id>`. */
  databaseId?: string;
  /** The Fauna endpoint the client sends to. */
  endpoint?: string;
  /** The cache's `minValiditySeconds`. Default 5. */
  minValiditySeconds?: number;
}

/**
 * The defaults the typed layer needs itself. The core has its own for what
 * it is given unset (the freshness options, each request option); of those,
 * `minValiditySeconds` is needed here too, for the hints that name it.
 */
export const defaults = {
  template: 'fauna',
  minValiditySeconds: 5,
  getTokenTimeoutMs: 10_000,
  endpoint: 'https://db.fauna.com',
  graphqlEndpoint: 'https://graphql.fauna.com/graphql',
};

/** The longest delay setTimeout keeps (about 24.8 days): a longer one fires at once. */
export const MAX_DELAY = 2 ** 31 - 1;

/**
 * Reads one option: `v` (neither undefined nor null) as the option allows
 * it, or a throw: `type(article)` when it is of the wrong type.
 */
type Rule<T> = (v: any, name: string, type: (article: string) => never, insecure: boolean) => T;
type Rules<O> = { [K in keyof Required<O>]: Rule<unknown> };
type Read<R> = { [K in keyof R]?: R[K] extends Rule<infer T> ? T : never };

/** `v`, if `ok`; else a throw saying what option `name` must be. */
function must<T>(v: T, ok: boolean, name: string, rule: string): T {
  if (!ok) throw invalid(`${name} must be ${rule}.`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** Any value of JS type `type` that is `ok` (`rule` says what that is). */
const typed =
  <T>(type: string, ok?: (v: T) => boolean, rule?: string): Rule<T> =>
  (v, name, fail) =>
    typeof v !== type ? fail(`a ${type}`) : must(v, !ok || ok(v), name, rule!);

const text = typed<string>('string');
const flag = typed<boolean>('boolean');
// A template's name, a cursor.
const nonEmpty = typed<string>('string', (v) => v !== '', 'a non-empty string');
const format = typed<'simple' | 'tagged'>('string', (v) => v === 'simple' || v === 'tagged', "'simple' or 'tagged'");
const whole = (min: number, max: number) =>
  typed<number>('number', (v) => Number.isInteger(v) && v >= min && v <= max, `a whole number from ${min} to ${max}`);
const seconds = typed<number>('number', (v) => v >= 0 && v < Infinity, 'a number of seconds, zero or more');
const ms = typed<number>('number', (v) => v >= 0 && v <= MAX_DELAY, `a number of milliseconds from 0 to ${MAX_DELAY}`);
const positiveMs = typed<number>('number', (v) => v > 0 && v <= MAX_DELAY, `a number of milliseconds above 0, at most ${MAX_DELAY}`);

// Hosts http:// may name: the traffic never leaves the machine.
const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\])$/;

/** An http(s) URL without trailing slashes; http only on loopback, or when `insecure`. */
function checkUrl(v: string, name: string, insecure: boolean): string {
  v = v.replace(/\/+$/, '');
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {}
  // A host after the scheme; no spaces or control characters.
  must(v, /^https?:\/\/[^\x00-\x20\x7f]+$/.test(v) && !!url, name, 'an http:// or https:// URL, e.g. https://db.fauna.com');
  // The host as fetch will see it (`127.1` is 127.0.0.1).
  const { protocol, hostname } = url!;
  return must(v, protocol === 'https:' || insecure || LOOPBACK.test(hostname), name, 'https:// (http:// for loopback hosts only, or with allowInsecureHttp: true)');
}
const url: Rule<string> = (v, name, fail, insecure) => (isString(v) ? checkUrl(v, name, insecure) : fail('a string'));

/** `string[]` of URLs: their origins. */
const origins: Rule<string[]> = (v, name, fail, insecure) =>
  Array.isArray(v) && v.every(isString) ? v.map((u) => new URL(checkUrl(u, name, insecure)).origin) : fail('an array of URLs');

/** `Record<string, string>`: flattened to `key\0value\0...`, as the core takes it. */
const tags: Rule<string> = (v, _name, fail) => {
  // Read once: a getter in the record runs once.
  const list = typeof v === 'object' && Object.entries(v).flat();
  return list && list.every(isString) ? list.join('\0') : fail('an object of strings');
};

export const cacheOptions = {
  template: nonEmpty,
  organizationId: text,
  refreshAheadSeconds: seconds,
  minValiditySeconds: seconds,
  getTokenTimeoutMs: positiveMs,
} satisfies Rules<TokenCacheOptions>;

export const getOptions = { template: nonEmpty, skipCache: flag } satisfies Rules<TokenGetOptions>;

export const queryOptions = {
  format,
  queryTimeoutMs: whole(1, 600_000),
  maxAttempts: whole(1, 100),
  maxBackoffMs: ms,
  typecheck: flag,
  linearized: flag,
  maxContentionRetries: whole(0, 7),
  queryTags: tags,
  traceparent: text,
} satisfies Rules<QueryOptions>;

export const clientOptions = {
  ...queryOptions,
  endpoint: url,
  graphqlEndpoint: url,
  fetch: typed<typeof fetch>('function'),
  allowedOrigins: origins,
  allowInsecureHttp: flag,
} satisfies Rules<FaunaClientOptions>;

const eventSourceOptions = {
  arguments: typed<Record<string, unknown>>('object'),
  cursor: nonEmpty,
  startTs: whole(0, Number.MAX_SAFE_INTEGER),
  maxAttempts: whole(1, 100),
  maxBackoffMs: ms,
} satisfies Rules<EventSourceOptions>;

export const streamOptions = { ...eventSourceOptions, statusEvents: flag } satisfies Rules<StreamOptions>;

export const feedOptions = { ...eventSourceOptions, pageSize: whole(1, 16_000) } satisfies Rules<FeedOptions>;

export const diagnoseOptions = {
  issuer: text,
  databaseId: text,
  endpoint: text,
  minValiditySeconds: typed<number>('number'),
} satisfies Rules<DiagnoseOptions>;

/** `o[name]` if it is an own data property of `o`, of any value (null and undefined have none). */
export const own = (o: unknown, name: string) => Object.getOwnPropertyDescriptor(Object(o), name)?.value;

/**
 * The options `rules` names, read off `value` (the caller's object, named
 * `what` in messages) and checked: absent or null ones are left out. Throws
 * `invalid_option` naming the first that is wrong.
 */
export function readOptions<R extends Record<string, Rule<unknown>>>(value: unknown, what: string, rules: R): Read<R> {
  // No prototype: a setter on Object.prototype never sees a value.
  const read = Object.create(null);
  if (value == null) return read;
  if (typeof value !== 'object') throw invalid(`${what} must be an object.`);
  return reading(() => {
    const insecure = own(value, 'allowInsecureHttp') === true;
    for (const name of Object.keys(rules)) {
      const v = own(value, name);
      const fail = (article: string): never => {
        throw invalid(`${what}.${name} must be ${article}.`);
      };
      if (v != null) read[name] = rules[name]!(v, name, fail, insecure);
    }
    return read;
  });
}

/** `JSON.stringify(value)`, undefined when JSON cannot hold it (a function, a cycle, a BigInt). */
export function toJson(value: unknown): string | undefined {
  return reading(() => {
    try {
      return JSON.stringify(value);
    } catch {
      return undefined;
    }
  });
}

// While a call reads the caller's objects, the caller's code may run (a
// Proxy, a toJSON, a getter in a record): a free() of clerk-fauna's objects
// then is refused (see `freeing`), as it would pull the ground from under
// the call.
let busy = 0;

/** `read()`, noted as reading the caller's objects. */
function reading<T>(read: () => T): T {
  busy++;
  try {
    return read();
  } finally {
    busy--;
  }
}

/** Throws `invalid_option` if a call is reading the caller's objects now (free() must wait). */
export function freeing(): void {
  if (busy) throw invalid('free() from a Proxy, getter or toJSON of a call: free once it returns.');
}
