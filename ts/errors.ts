// The one error class of clerk-fauna, and every code it can carry.

import type { Core } from './core.js';

/**
 * Every code a `ClerkFaunaError` can carry, and when. Type-only: the codes
 * cost nothing in the bundle.
 */
export interface ClerkFaunaErrorCodes {
  /** `getToken` returned `null` or `undefined`: nobody is signed in. */
  signed_out: never;
  /** `getToken` threw (see `cause`), or gave no token Fauna would accept for `minValiditySeconds`. */
  token_unavailable: never;
  /** `getToken` did not settle within `getTokenTimeoutMs`. */
  token_timeout: never;
  /** The token is not a JWT, is over 8 KiB, or has an `exp`, `iat` or `nbf` that is not a whole number of seconds. */
  malformed_token: never;
  /** `clear()`, a sign-out or another user's token ended the session the call began in. */
  cleared: never;
  /** Fauna refused the token, and the one freshly fetched after it; `hint` says what to check. */
  unauthorized: never;
  /** 403, or 410 (account disabled). */
  forbidden: never;
  /** The query failed (HTTP 400); `faunaCode` is Fauna's code, with `abort` / `constraintFailures` kept. */
  query_failed: never;
  /** Fauna refused the request itself (bad header, wrong path, too large), or a 404 from `graphqlEndpoint`. */
  invalid_request: never;
  /** 429 after `maxAttempts`, or a `Retry-After` longer than `maxBackoffMs` (`retryAfterMs`). */
  throttled: never;
  /** 409 `contended_transaction`. */
  contended_transaction: never;
  /** No answer within `queryTimeoutMs + 5 s`, or Fauna's own `time_out`. */
  timeout: never;
  /** 5xx: Fauna or a gateway failed. */
  service_error: never;
  /** The request got no answer (see `cause`). */
  network_error: never;
  /** The answer is not Fauna's JSON. */
  protocol_error: never;
  /** A GraphQL answer with `errors` (kept in `errors`). */
  graphql_error: never;
  /** An option or argument is not valid (also: `free()` from a getter, Proxy or `toJSON` while a call reads its arguments). */
  invalid_option: never;
  /** `fetch` or `httpClient()` was asked to send the token to an origin not allowed; nothing was sent. */
  origin_not_allowed: never;
  /** The `FaunaClient` or its `TokenCache` was freed: nothing more is sent. */
  freed: never;
}

/** Every code a `ClerkFaunaError` can carry. */
export type ClerkFaunaErrorCode = keyof ClerkFaunaErrorCodes;

/** The fields a `ClerkFaunaError` may carry besides `code` and `message`. */
export interface Details {
  /** The HTTP status of Fauna's answer, when there was one. */
  httpStatus?: number;
  /** Fauna's own error code, e.g. `invalid_query`, `abort`. */
  faunaCode?: string;
  /** What to check, e.g. for `unauthorized`: issuer, JWKS URL, `aud`, roles. */
  hint?: string;
  /** For `throttled`: the wait Fauna asked for. */
  retryAfterMs?: number;
  /** The original error of a failed `getToken` or `fetch`. */
  cause?: unknown;
  /** For `abort`: the value passed to `abort()`. */
  abort?: unknown;
  /** For `constraint_failure`: Fauna's list of failed constraints. */
  constraintFailures?: unknown[];
  /** For `graphql_error`: the response's `errors`. */
  errors?: unknown[];
  summary?: string;
}

/** The one error class of clerk-fauna: switch on `code`. It never contains a token. */
export class ClerkFaunaError extends Error {
  override name = 'ClerkFaunaError' as const;
  readonly code: ClerkFaunaErrorCode;
  // Declared, not defined: only fields with a value exist, so
  // `'hint' in error` says whether there is one.
  declare httpStatus?: number;
  declare faunaCode?: string;
  declare hint?: string;
  declare retryAfterMs?: number;
  declare cause?: unknown;
  declare abort?: unknown;
  declare constraintFailures?: unknown[];
  declare errors?: unknown[];
  declare summary?: string;

  /** @internal */
  constructor(code: ClerkFaunaErrorCode, message: string, details?: Details) {
    super(message);
    this.code = code;
    // Own members only: `for...in` would see a polluted Object.prototype.
    for (const [name, value] of Object.entries(details ?? {})) if (value !== undefined) defineMember(this, name, value);
  }
}

/**
 * `target[name] = value` as an own data member, never through a setter on
 * the prototype chain (a polluted `Object.prototype.Authorization` setter
 * would otherwise receive the token).
 */
export function defineMember(target: object, name: string, value: unknown): void {
  // A descriptor with no prototype: an inherited `get` would otherwise count.
  Object.defineProperty(target, name, { __proto__: null, value, writable: true, enumerable: true, configurable: true } as PropertyDescriptor);
}

export const invalid = (message: string) => new ClerkFaunaError('invalid_option', message);

/** The error of a call begun before a sign-out, `clear()` or change of user. */
export const cleared = () =>
  new ClerkFaunaError('cleared', 'The token cache was cleared (sign-out or user switch) while this call waited for a token.');

/** A request that got no answer within `ms`. */
export const noAnswer = (ms: number) => new ClerkFaunaError('timeout', `No answer from Fauna within ${ms} ms.`);

/** A request that failed on its way (`cause`: fetch's error). */
export const networkError = (cause: unknown) =>
  new ClerkFaunaError('network_error', 'The request to Fauna failed; the original error is in `cause`.', { cause });

export const freed = () => new ClerkFaunaError('freed', 'The FaunaClient or its TokenCache was freed: nothing more is sent.');

/**
 * The core's error (the JSON it throws) as a `ClerkFaunaError`. `body` is
 * Fauna's parsed answer: its `abort`, `constraint_failures`, `summary` and
 * (GraphQL) `errors` are kept.
 */
export function fromCore(json: string, cause?: unknown, body?: any): ClerkFaunaError {
  const { code, message, ...details } = JSON.parse(json);
  const fauna = body?.error;
  return new ClerkFaunaError(code, message, {
    ...details,
    cause,
    abort: fauna?.abort,
    constraintFailures: fauna?.constraint_failures,
    summary: body?.summary,
    errors: code === 'graphql_error' ? body?.errors : undefined,
  });
}

/** Throws the error of `core`'s last call that failed (see core.ts). */
export function fail(core: Core): never {
  throw fromCore(core.lastError());
}
