// Entry for bundlers that load WebAssembly as ES modules (webpack 5, Vite:
// see the README's "Bundlers, browsers and Node"). Node gets node.js instead
// (the `node` export condition); elsewhere, use `clerk-fauna/web` and call its
// default export `init()` once.
import { FaunaClient, TokenCache } from './bundler/clerk_fauna.js';
import { guard } from './bundler/@FLOWS_MODULE@';

// free() twice does nothing; free() from the caller's code during a call
// throws instead of corrupting the object.
guard(TokenCache, FaunaClient);
export * from './bundler/clerk_fauna.js';
export { ClerkFaunaError } from './bundler/@ERROR_MODULE@';
