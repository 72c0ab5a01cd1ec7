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

/** A successful FQL v10 query. */
export interface QueryResult<T = unknown> {
  data: T;
  /** The transaction time, in microseconds. */
  txnTs: number;
  stats: Record<string, unknown>;
  summary?: string;
  staticType?: string;
  schemaVersion?: number;
  queryTags?: string;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** Every code a `ClerkFaunaError` can carry. */
export type ClerkFaunaErrorCode =
  | 'signed_out'
  | 'token_unavailable'
  | 'token_timeout'
  | 'malformed_token'
  | 'cleared'
  | 'unauthorized'
  | 'forbidden'
  | 'query_failed'
  | 'invalid_request'
  | 'throttled'
  | 'contended_transaction'
  | 'timeout'
  | 'service_error'
  | 'network_error'
  | 'protocol_error'
  | 'graphql_error'
  | 'invalid_option'
  | 'origin_not_allowed'
  | 'freed';

/** The one error class of clerk-fauna: switch on `code`. It never contains a token. */
export declare class ClerkFaunaError extends Error {
  name: 'ClerkFaunaError';
  code: ClerkFaunaErrorCode;
  /** The HTTP status of Fauna's answer, when there was one. */
  httpStatus?: number;
  /** Fauna's own error code, e.g. `invalid_query`, `abort`. */
  faunaCode?: string;
  /** What to check, e.g. for `unauthorized`: issuer, JWKS URL, `aud`, roles. */
  hint?: string;
  /** The original error of a failed `getToken` or `fetch`. */
  cause?: unknown;
  /** For `abort`: the value passed to `abort()`. */
  abort?: unknown;
  /** For `constraint_failure`: Fauna's list of failed constraints. */
  constraintFailures?: unknown[];
  /** For `graphql_error`: the response's `errors`. */
  errors?: unknown[];
  /** For `throttled`: the wait Fauna asked for. */
  retryAfterMs?: number;
  summary?: string;
}

export interface TokenCache {
  /**
   * A token with at least `minValiditySeconds` left: from the cache, from a
   * `getToken` call already in flight, or from a new one. `skipCache` asks
   * the issuer for a new token and replaces the cached one. Rejects with a
   * `ClerkFaunaError`: `signed_out`, `token_unavailable`, `token_timeout`,
   * `malformed_token`, `cleared` or `invalid_option`.
   */
  get(options?: TokenGetOptions): Promise<string>;
}

/**
 * Diagnoses a token against Fauna's rules for third-party JWTs: a list of
 * findings (`aud` missing or wrong, issuer with a trailing slash or
 * different, unsupported `alg`, expired, not yet valid, a lifetime shorter
 * than `minValiditySeconds`, no `sub`, a closed or malformed endpoint), each
 * with a stable `code`, a `message` and a one-line `fix`. Empty: nothing
 * found. Never throws for a bad token: that is a `malformed_token` finding;
 * throws `invalid_option` for bad options.
 */
export function diagnose(token: string, options?: DiagnoseOptions): Finding[];

export interface FaunaClient {
  /** Runs an FQL v10 query (`POST /query/1`) as the signed-in user. */
  query<T = unknown>(fql: string, args?: Record<string, unknown>, options?: QueryOptions): Promise<QueryResult<T>>;
  /** Sends a GraphQL request to `graphqlEndpoint` and resolves to its `data`. */
  graphql<T = unknown>(query: string, variables?: Record<string, unknown>): Promise<T>;
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

/** Every code a diagnosis finding can carry. */
export type FindingCode =
  | 'aud_missing'
  | 'aud_not_fauna'
  | 'aud_several_fauna'
  | 'aud_other_database'
  | 'iss_missing'
  | 'iss_trailing_slash'
  | 'iss_mismatch'
  | 'alg_unsupported'
  | 'expired'
  | 'not_yet_valid'
  | 'lifetime_too_short'
  | 'sub_missing'
  | 'endpoint_hosted_closed'
  | 'endpoint_has_path'
  | 'malformed_token';

/** One thing that would make Fauna refuse the token, and how to fix it. */
export interface Finding {
  code: FindingCode;
  message: string;
  /** A one-line fix. */
  fix: string;
}

/** A request from the official `fauna` driver to its HTTP client. */
export interface FaunaHttpRequest {
  client_timeout_ms: number;
  data: unknown;
  headers: Record<string, string | undefined>;
  method: 'POST';
  path?: string;
}

/** The official `fauna` driver's `HTTPClient` interface, authenticated by clerk-fauna. */
export interface FaunaHttpClient {
  request(request: FaunaHttpRequest): Promise<{ body: string; headers: Record<string, string>; status: number }>;
  close(): void;
}
