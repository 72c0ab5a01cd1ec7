// The web build's loader, in place of the one wasm-bindgen writes for
// `--target web`: the same calls and inputs (see clerk_fauna.d.ts beside it),
// without its warnings and fallbacks for pre-2021 browsers: 160 B gzipped
// less. The exports' glue is wasm-bindgen's own, from the bundler
// build (build-package.sh copies it here as clerk_fauna_bg.js: a module of
// its own, so this core and the bundler entry's never share state).
import * as glue from './clerk_fauna_bg.js';

export * from './clerk_fauna_bg.js';

let exports;
const imports = { wbg: glue };

function ready(instance) {
  glue.__wbg_set_wasm((exports = instance.exports));
  return exports;
}

/** `{ [name]: input }` → `input`; an input passed alone (the older form) stays as it is. */
const unwrap = (input, name) => (input !== undefined && Object.getPrototypeOf(input) === Object.prototype ? input[name] : input);

/** Instantiates the module from its bytes or a `WebAssembly.Module`, synchronously; once. */
export function initSync(module) {
  if (exports) return exports;
  module = unwrap(module, 'module');
  return ready(new WebAssembly.Instance(module instanceof WebAssembly.Module ? module : new WebAssembly.Module(module), imports));
}

/** Fetches (a URL, path or Request; by default clerk_fauna_bg.wasm beside this file) and instantiates the module; once. */
export default async function init(input) {
  if (exports) return exports;
  input = unwrap(input, 'module_or_path') ?? new URL('clerk_fauna_bg.wasm', import.meta.url);
  if (typeof input == 'string' || input instanceof URL || (typeof Request == 'function' && input instanceof Request)) input = fetch(input);
  input = await input;
  if (typeof Response == 'function' && input instanceof Response) {
    // Compiled as it downloads when served as application/wasm; otherwise the browser refuses that, so from the whole body.
    if (input.headers.get('Content-Type') == 'application/wasm') return ready((await WebAssembly.instantiateStreaming(input, imports)).instance);
    input = await input.arrayBuffer();
  }
  // A module's bytes give `{ module, instance }`, a `WebAssembly.Module` the instance.
  const result = await WebAssembly.instantiate(input, imports);
  return ready(result.instance ?? result);
}
