// clerk-fauna's public API: everything here, nothing else.
export { TokenCache, type TokenCacheStats } from './token-cache.js';
export { FaunaClient, type QueryResult } from './fauna-client.js';
export { ClerkFaunaError, type ClerkFaunaErrorCode, type ClerkFaunaErrorCodes } from './errors.js';
export { decodeJwt, type DecodedJwt } from './jwt.js';
export { diagnose, type Finding, type FindingCode } from './diagnose.js';
export type { FaunaHttpClient, FaunaHttpRequest } from './fetch.js';
export type {
  DiagnoseOptions,
  FaunaClientOptions,
  GetToken,
  QueryOptions,
  TokenCacheOptions,
  TokenGetOptions,
} from './options.js';
