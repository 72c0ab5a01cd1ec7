// Calls across the JS/WebAssembly boundary, counted: the module is
// instantiated with every import and export wrapped in a counter, then a warm
// `tokens.get()` and a warm `fauna.query()` (an in-process fetch answering at
// once) are each run many times. Reports calls per operation, into the
// module (its exports) and out of it (its imports: JS functions the module
// calls, wasm-bindgen's helpers included).
//
// Usage: node bench/boundary.mjs [pkg dir]  (default: pkg/)

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const counts = { into: 0, out: 0 };
/** Calls per export name, for the breakdown. */
const byName = new Map();

/** `WebAssembly.Instance` with every import and exported function counted. */
function countingInstance(Instance) {
  return function (module, imports) {
    const counted = {};
    for (const [space, members] of Object.entries(imports ?? {})) {
      counted[space] = {};
      for (const [name, value] of Object.entries(members)) {
        counted[space][name] =
          typeof value === 'function'
            ? function (...args) {
                counts.out++;
                return value.apply(this, args);
              }
            : value;
      }
    }
    const instance = new Instance(module, counted);
    const exports = {};
    for (const [name, value] of Object.entries(instance.exports)) {
      exports[name] =
        typeof value === 'function'
          ? (...args) => {
              counts.into++;
              byName.set(name, (byName.get(name) ?? 0) + 1);
              return value(...args);
            }
          : value;
    }
    return { exports: Object.freeze(exports) };
  };
}

const segment = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

function token(sub) {
  const now = Math.floor(Date.now() / 1000);
  return `${segment({ alg: 'RS256', typ: 'JWT' })}.${segment({ sub, iat: now, nbf: now - 5, exp: now + 60 })}.c2ln`;
}

const OK_BODY = JSON.stringify({ data: 1, txn_ts: 1, stats: { compute_ops: 1 }, summary: '', schema_version: 0 });
const answer = async () =>
  new Response(OK_BODY, { status: 200, headers: { 'content-type': 'application/json' } });

/** Calls per operation, averaged over `n` warm runs of `op`. */
async function perOperation(op, n) {
  await op();
  const before = { ...counts };
  byName.clear();
  for (let i = 0; i < n; i++) await op();
  const exports = Object.fromEntries([...byName].map(([name, calls]) => [name, calls / n]));
  return { into: (counts.into - before.into) / n, out: (counts.out - before.out) / n, exports };
}

export async function countBoundaryCalls(pkgDir) {
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = countingInstance(Instance);
  try {
    const { initSync, TokenCache, FaunaClient } = await import(pathToFileURL(join(pkgDir, 'web.js')).href);
    initSync({ module: readFileSync(join(pkgDir, 'web', 'clerk_fauna_bg.wasm')) });
    const tokens = new TokenCache(async () => token('user_boundary'));
    const fauna = new FaunaClient(tokens, { endpoint: 'http://127.0.0.1:1', fetch: answer });
    return {
      get: await perOperation(() => tokens.get(), 1000),
      query: await perOperation(() => fauna.query('1'), 1000),
    };
  } finally {
    WebAssembly.Instance = Instance;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const pkgDir = resolve(process.argv[2] ?? 'pkg');
  const { get, query } = await countBoundaryCalls(pkgDir);
  console.log(`warm tokens.get(): ${get.into} calls into the module, ${get.out} out of it`);
  console.log(`warm fauna.query(): ${query.into} calls into the module, ${query.out} out of it`);
  console.log('calls into the module per query, by export:', query.exports);
}
