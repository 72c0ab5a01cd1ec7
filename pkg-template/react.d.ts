import type { ReactNode } from 'react';
import type {
  ClerkFaunaError,
  FaunaClient,
  FaunaClientOptions,
  GetToken,
  QueryOptions,
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
