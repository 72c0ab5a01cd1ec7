// clerk-fauna's public API: everything here, nothing else.
//
//   new TokenCache(getToken, options?)   get(options?) peek(template?) claims(template?)
//                                        invalidate(template?) clear() stats free()
//   new FaunaClient(tokens, options?)    query(fql, args?, options?) queryV4(expr)
//                                        currentIdentity() graphql(query, variables?)
//                                        fetch httpClient() lastTxnTs free()
//                                        stream(source, options?) → FaunaStream: for await, subscribe, cursor, close()
//                                        feed(source, options?) → FaunaFeed: for await pages, events(), cursor, close()
//   decodeJwt(token)                     { header, payload }, no signature check
//   diagnose(token, options?)            why Fauna would refuse it: { code, message, fix }[]
//   ClerkFaunaError                      every failure; switch on `code` (errors.ts)
//
// Options are defined in options.ts, error codes in errors.ts; every
// decision is asked of the WebAssembly core through core.ts.
export { TokenCache, type TokenCacheStats } from './token-cache.js';
export { FaunaClient, type QueryResult } from './fauna-client.js';
export { ClerkFaunaError, type ClerkFaunaErrorCode, type ClerkFaunaErrorCodes } from './errors.js';
export { decodeJwt, type DecodedJwt } from './jwt.js';
export { diagnose, type Finding, type FindingCode } from './diagnose.js';
export type { FaunaHttpClient, FaunaHttpRequest } from './fetch.js';
export type { EventSourceInput, FaunaFeed, FaunaStream, FeedPage, StreamEvent } from './stream.js';
export type {
  DiagnoseOptions,
  EventSourceOptions,
  FaunaClientOptions,
  FeedOptions,
  GetToken,
  QueryOptions,
  StreamOptions,
  TokenCacheOptions,
  TokenGetOptions,
} from './options.js';
