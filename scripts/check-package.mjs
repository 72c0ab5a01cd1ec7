// Run inside a scratch project where the packed tarball was installed: every
// target of the package's `exports` map and both .wasm files must be there,
// and each entry must export the public API, nothing more.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(join(process.cwd(), 'package.json'));
const root = dirname(require.resolve('clerk-fauna/package.json'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const must = (file, what) => {
  if (!existsSync(join(root, file))) throw new Error(`${what}: ${file} is missing from the tarball`);
};
let checked = 0;
// A target is a file or, by condition, more targets.
const files = (target) => (typeof target === 'string' ? [target] : Object.values(target).flatMap(files));
for (const [entry, target] of Object.entries(pkg.exports)) {
  for (const file of files(target)) {
    must(file, `exports["${entry}"]`);
    checked++;
  }
}
for (const file of ['bundler/clerk_fauna_bg.wasm', 'web/clerk_fauna_bg.wasm']) must(file, 'wasm');
console.log(`package: ${pkg.name}@${pkg.version} installs from its tarball; ${checked} export targets present`);

// The module must instantiate and work, not just be present: load the web
// entry (its browser file: in Node, `clerk-fauna/web` resolves to node.js) with
// the .wasm bytes and run a token through it.
const web = await import(pathToFileURL(join(root, pkg.exports['./web'].default)).href);
// The public API, and for the entries that load the .wasm themselves (web,
// node) its loaders: nothing of the core or the typed layer's plumbing.
const API = ['ClerkFaunaError', 'FaunaClient', 'TokenCache', 'decodeJwt', 'diagnose'];
function exportsExactly(module, entry, expected) {
  const names = Object.keys(module).sort().join(' ');
  if (names !== [...expected].sort().join(' ')) throw new Error(`${entry} exports ${names}, not ${expected.join(' ')}`);
}
exportsExactly(web, 'web.js', [...API, 'default', 'initSync']);
web.initSync({ module: readFileSync(join(root, 'web/clerk_fauna_bg.wasm')) });
const segment = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const token = `${segment({ alg: 'RS256' })}.${segment({ sub: 'user_1', iat: now, exp: now + 60 })}.c2ln`;

/** A TokenCache of `api` serves a token, and errors are its ClerkFaunaError. */
async function works(api, entry) {
  const tokens = new api.TokenCache(async () => token);
  if ((await tokens.get()) !== token || tokens.stats.misses !== 1) throw new Error(`${entry}: TokenCache did not work`);
  if (api.decodeJwt(token).payload.sub !== 'user_1') throw new Error(`${entry}: decodeJwt did not work`);
  const refused = await new api.TokenCache(async () => null).get().catch((e) => e);
  if (!(refused instanceof api.ClerkFaunaError) || refused.code !== 'signed_out') {
    throw new Error(`${entry}: expected a ClerkFaunaError signed_out, got ${refused}`);
  }
  tokens.free();
}
await works(web, 'web.js');
console.log('package: the web entry instantiates its .wasm and serves a token; errors are ClerkFaunaError');

// Node resolves `clerk-fauna` through the `node` condition to node.js, which
// loads its .wasm at import: no init call.
const nodeEntry = require.resolve('clerk-fauna');
if (!nodeEntry.endsWith('/node.js')) throw new Error(`Node resolves clerk-fauna to ${nodeEntry}, not node.js`);
const node = await import(pathToFileURL(nodeEntry).href);
exportsExactly(node, 'node.js', [...API, 'default', 'initSync']);
await works(node, 'node.js');
console.log('package: in Node, clerk-fauna resolves to node.js and works with no init call');

// The bundler entry imports its .wasm as an ES module, which Node cannot
// load: its exports are read off its source, whose lines re-export lib/.
const bundlerSource = readFileSync(join(root, 'index.js'), 'utf8');
const reexports = bundlerSource.match(/^export .*$/gm) ?? [];
if (reexports.join('\n') !== "export * from './lib/index.js';") throw new Error(`index.js exports ${reexports.join('; ')}`);
exportsExactly(await import(pathToFileURL(join(root, 'lib/index.js')).href), 'lib/index.js', API);
console.log(`package: web.js and node.js export ${API.join(', ')}, default and initSync; index.js exactly the first five`);

// The request path crosses into WebAssembly as little as it can: counted by
// handing lib/ a core whose every export counts its calls.
const { useCore } = await import(pathToFileURL(join(root, 'lib/core.js')).href);
const wasm = await import(pathToFileURL(join(root, 'web/clerk_fauna.js')).href);
const calls = new Map();
useCore(Object.fromEntries(Object.entries(wasm).map(([name, f]) => [name, (...args) => (calls.set(name, (calls.get(name) ?? 0) + 1), f(...args))])));
const answer = () => new Response('{"data":1,"txn_ts":1,"stats":{},"summary":""}', { status: 200 });
const tokens = new node.TokenCache(async () => token);
const client = new node.FaunaClient(tokens, { endpoint: 'http://127.0.0.1:9', fetch: async () => answer() });
await client.query('1');
await tokens.get();
const count = async (run) => {
  calls.clear();
  await run();
  return [...calls.values()].reduce((a, b) => a + b, 0) + ` (${[...calls.keys()].join(', ')})`;
};
const perQuery = await count(() => client.query('1'));
const perQueryWithOptions = await count(() => client.query('1', {}, { queryTimeoutMs: 1000 }));
const perHit = await count(() => tokens.get());
if (!perQuery.startsWith('2 ') || !perHit.startsWith('0 ')) {
  throw new Error(`calls into the core: ${perQuery} per warm query, ${perHit} per warm get()`);
}
console.log(`package: calls into the core: a warm query ${perQuery}, with per-query options ${perQueryWithOptions}, a warm get() ${perHit}`);
client.free();
tokens.free();
