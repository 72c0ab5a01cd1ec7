// Entry for plain browser ES modules and any bundler: `await init()` once
// (it fetches clerk_fauna_bg.wasm next to this file), then use the API.
import { FaunaClient, TokenCache } from './web/clerk_fauna.js';
import { guard } from './web/@FLOWS_MODULE@';

// free() twice does nothing; free() from the caller's code during a call
// throws instead of corrupting the object.
guard(TokenCache, FaunaClient);
export * from './web/clerk_fauna.js';
export { default } from './web/clerk_fauna.js';
export { ClerkFaunaError } from './web/@ERROR_MODULE@';
