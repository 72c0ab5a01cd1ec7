// Entry for Node >= 18, picked by the `node` export condition (so also by
// server-side rendering in Vite, Next.js and the like). It reads the web
// build's .wasm from disk and instantiates it synchronously at import: the API
// works with no init call, and requests go through the global `fetch`.
// `init()` and `initSync()` are exported too, and return at once, so code
// written for `clerk-fauna/web` runs unchanged on the server.
import { readFileSync } from 'node:fs';
import { initSync } from './web.js';

initSync({ module: readFileSync(new URL('./web/clerk_fauna_bg.wasm', import.meta.url)) });

export * from './web.js';
export { default } from './web.js';
