// Entry for plain browser ES modules and any bundler: `await init()` once
// (it fetches clerk_fauna_bg.wasm from web/ beside this file), then use the API.
import * as core from './web/clerk_fauna.js';
import { useCore } from './lib/core.js';

useCore(core);
export * from './lib/index.js';
export { default, initSync } from './web/clerk_fauna.js';
