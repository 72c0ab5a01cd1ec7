// The authenticated fetch a FaunaClient hands out, and the HTTP client for
// the official `fauna` driver built on it.

import { unauthorizedHint } from './diagnose.js';
import type { FaunaHttpStreamClient } from './driver-stream.js';
import { ClerkFaunaError, cleared, defineMember, freed, networkError, noAnswer } from './errors.js';
import { decoded } from './jwt.js';
import { MAX_DELAY } from './options.js';
import { within } from './timers.js';
import { notFromItself, tokenFor, type Cache } from './token-cache.js';

/** What sends a user's token: a FaunaClient's state. */
export interface Sender {
  cache: Cache;
  /** Set by the caller's free(). */
  freed: boolean;
  /** undefined: the global fetch, looked up at each call (a polyfill or test double installed later counts). */
  fetch: typeof fetch | undefined;
}

/**
 * The cache's epoch now. Throws `freed` once the client or its cache is
 * freed and, given the `epoch` a call began in, `cleared` once the user
 * signed out or changed since: nothing may be sent then.
 */
export function live(s: Sender, epoch?: number): number {
  if (s.freed || s.cache.freed) throw freed();
  if (epoch !== undefined && epoch !== s.cache.epoch) throw cleared();
  return s.cache.epoch;
}

/** Fauna's answer (a body or an event line) parsed as JSON; undefined if it is not JSON. */
export function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {}
}

/** Whether a parsed answer is a JSON object (not an array, not null): the core's `is_json_object`. */
export const isJsonObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A member read off a parsed answer, if it is a string (as the core takes it). */
export const asString = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The core's verdict as the caller sees it: an `unauthorized` error says what to check in `token`, the one refused. */
export function judged(s: Sender & { endpoint: string }, error: ClerkFaunaError, token: string | undefined): ClerkFaunaError {
  if (error.code === 'unauthorized') {
    let jwt;
    try {
      jwt = decoded(token!, false);
    } catch {}
    defineMember(error, 'hint', unauthorizedHint(jwt?.header, jwt?.payload, s.endpoint, s.cache.minValidityMs));
  }
  return error;
}

/** A token (after a 401, anything but `rejected`), checked again once it is here: it may be the next user's. */
async function fresh(s: Sender, rejected: string | undefined, epoch: number): Promise<string> {
  live(s, epoch);
  const token = await notFromItself(tokenFor(s.cache, rejected));
  live(s, epoch);
  return token;
}

/**
 * The authenticated fetch: the answer is fetch's own, retried once with a
 * new token after a 401. The token goes only to `origins`, never through a
 * redirect.
 */
export function authenticatedFetch(s: Sender, origins: string[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(new Request(input, init), { redirect: 'error' });
    const { origin } = new URL(request.url);
    if (!origins.includes(origin)) {
      throw new ClerkFaunaError('origin_not_allowed', `Not sent: ${origin} is not ${origins.join(', ')} (see allowedOrigins).`);
    }
    const send = s.fetch ?? globalThis.fetch;
    // Neither a retry nor the first request goes out once the client or
    // cache is freed, or the user signed out or changed (`cleared`).
    const epoch = live(s);
    let token = await fresh(s, undefined, epoch);
    for (let retried = false; ; retried = true) {
      // A clone per attempt keeps the original body replayable.
      const attempt = request.clone();
      attempt.headers.set('Authorization', `Bearer ${token}`);
      const response = await send(attempt);
      live(s);
      if (response.status !== 401 || retried) return response;
      token = await fresh(s, token, epoch);
    }
  };
}

/** A request from the official `fauna` driver to its HTTP client. */
export interface FaunaHttpRequest {
  client_timeout_ms: number;
  data: unknown;
  headers: Record<string, string | undefined>;
  /** `POST` (the driver's type says `string`). */
  method: string;
  path?: string;
}

/**
 * The official `fauna` driver's `HTTPClient` interface, authenticated by
 * clerk-fauna; also its `HTTPStreamClient` (the driver streams through it).
 */
export interface FaunaHttpClient extends FaunaHttpStreamClient {
  request(request: FaunaHttpRequest): Promise<{ body: string; headers: Record<string, string>; status: number }>;
  close(): void;
}

/** An HTTP client for the `fauna` driver, sending through `send` (the authenticated fetch) to `endpoint`. */
export function httpClient(send: typeof fetch, endpoint: string): Omit<FaunaHttpClient, 'stream'> {
  let closed = false;
  return {
    async request({ client_timeout_ms, data, headers, method = 'POST', path = '/query/1' }) {
      if (closed) throw new Error('clerk-fauna: this httpClient was closed');
      const controller = new AbortController();
      const answer = (async () => {
        try {
          const defined = Object.entries(headers ?? {}).filter(([, v]) => v != null) as [string, string][];
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
          throw e instanceof ClerkFaunaError ? e : networkError(e);
        }
      })();
      // No timeout given: none; a longer one than setTimeout keeps: its longest.
      return client_timeout_ms > 0
        ? within(Math.min(client_timeout_ms, MAX_DELAY), answer, () => {
            controller.abort();
            return noAnswer(client_timeout_ms);
          })
        : answer;
    },
    close() {
      closed = true;
    },
  };
}
