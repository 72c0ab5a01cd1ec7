import type { ReactNode } from 'react';
import type {
  ClerkFaunaError,
  EventSourceInput,
  FaunaClient,
  FaunaClientOptions,
  GetToken,
  QueryOptions,
  StreamEvent,
  StreamOptions,
  TokenCache,
  TokenCacheOptions,
} from './web.js';

/** Options of useFaunaSession / useFauna. */
export interface UseFaunaOptions extends TokenCacheOptions, FaunaClientOptions {
  /** Clerk's `userId`: a change makes a new cache; `null` (signed out) gives no client. */
  userId?: string | null;
  /** Clerk's `sessionId`: a change makes a new cache. */
  sessionId?: string | null;
}

/** The signed-in user's cache and client. */
export interface FaunaSession {
  tokens: TokenCache;
  fauna: FaunaClient;
  userId: string | null | undefined;
  sessionId: string | null | undefined;
}

/**
 * One TokenCache and one FaunaClient for the signed-in user, made once the
 * .wasm is loaded; replaced (the old cache cleared, both freed) when the user,
 * session or options change, and freed on unmount. `undefined` until ready,
 * and while `userId` is `null`.
 */
export function useFaunaSession(getToken: GetToken, options?: UseFaunaOptions): FaunaSession | undefined;

/** The signed-in user's FaunaClient (see useFaunaSession). */
export function useFauna(getToken: GetToken, options?: UseFaunaOptions): FaunaClient | undefined;

/** Makes `client` the default of useFaunaQuery for its children. */
export function FaunaProvider(props: { client: FaunaClient | undefined; children?: ReactNode }): ReactNode;

export interface UseFaunaQueryOptions extends QueryOptions {
  /** The client to query with; default: the nearest FaunaProvider's. */
  client?: FaunaClient;
  /** false: do not run (yet). Default true. */
  enabled?: boolean;
}

export interface UseFaunaQueryResult<T> {
  data: T | undefined;
  error: ClerkFaunaError | undefined;
  isLoading: boolean;
  /** Runs the query again. */
  refetch: () => void;
}

/**
 * Runs `fql` with `args`, again when either changes (by value) or on
 * `refetch()`; a result that arrives after a newer run started is dropped.
 */
export function useFaunaQuery<T = unknown>(
  fql: string,
  args?: Record<string, unknown>,
  options?: UseFaunaQueryOptions,
): UseFaunaQueryResult<T>;

export interface UseFaunaStreamOptions<T> extends StreamOptions {
  /** The client to stream with; default: the nearest FaunaProvider's. */
  client?: FaunaClient;
  /** false: no stream (yet). Default true. */
  enabled?: boolean;
  /** Called for each event, in order (status events only with `statusEvents`); the latest function is used. */
  onEvent?: (event: StreamEvent<T>) => void;
}

export interface UseFaunaStreamResult<T> {
  /**
   * `idle`: no stream (no client, no source, or `enabled: false`);
   * `connecting`: until the first event of the server; `open`: connected
   * (it reconnects by itself across token expiries); `ended`: closed for
   * good, `error` says why.
   */
  status: 'idle' | 'connecting' | 'open' | 'ended';
  /** The latest 100 events, oldest first. */
  events: StreamEvent<T>[];
  /** Why the stream ended (`signed_out`, `cleared`, `query_failed`, ...). */
  error: ClerkFaunaError | undefined;
  /** The stream's cursor: pass it as `cursor` to resume after the last event. */
  cursor: string | undefined;
}

/**
 * Subscribes to `client.stream(source, options)` while the component is
 * mounted: one connection under StrictMode, a new stream when the client,
 * `source` or the options change (by value), closed on unmount.
 */
export function useFaunaStream<T = unknown>(
  source: EventSourceInput | undefined | null,
  options?: UseFaunaStreamOptions<T>,
): UseFaunaStreamResult<T>;
