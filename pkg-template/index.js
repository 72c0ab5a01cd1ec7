// Entry for bundlers that load WebAssembly as ES modules (webpack 5, Vite:
// see the README's "Bundlers, browsers and Node"). Node gets node.js instead
// (the `node` export condition); elsewhere, use `clerk-fauna/web` and call its
// default export `init()` once.
import * as core from './bundler/clerk_fauna.js';
import { useCore } from './lib/core.js';

useCore(core);
export * from './lib/index.js';
