// Entry for plain browser ES modules and any bundler: `await init()` once
// (it fetches clerk_fauna_bg.wasm next to this file), then use the API.
export * from './web/clerk_fauna.js';
export { default } from './web/clerk_fauna.js';
export { ClerkFaunaError } from './web/@ERROR_MODULE@';
