// Entry for bundlers that load WebAssembly as ES modules (webpack 5 with
// `experiments.asyncWebAssembly`, Vite with vite-plugin-wasm). Elsewhere, use
// `clerk-fauna/web` and call its default export `init()` once.
export * from './bundler/clerk_fauna.js';
export { ClerkFaunaError } from './bundler/@ERROR_MODULE@';
