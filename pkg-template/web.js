// Entry for plain browser ES modules and any bundler: `await init()` once
// (it fetches clerk_fauna_bg.wasm from web/ beside this file), then use the API.
import load, { initSync as loadSync } from './web/clerk_fauna.js';
// The core's exports: the glue the loader instantiates the .wasm with.
import * as core from './web/clerk_fauna_bg.js';
import { useCore } from './lib/core.js';

// The API takes this build of the core once it is loaded, not at import: an
// app that also imports `clerk-fauna` (whose core is ready at import) keeps
// working until then, and every cache keeps the core it was made with.

/** Loads the .wasm, once (later calls resolve at once). */
export default async function init(module) {
  const exports = await load(module);
  useCore(core);
  return exports;
}

/** Instantiates the .wasm from its bytes or module, synchronously. */
export function initSync(module) {
  const exports = loadSync(module);
  useCore(core);
  return exports;
}

export * from './lib/index.js';
