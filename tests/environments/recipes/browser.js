// Plain browser ES modules, no bundler: serve the package's files and map its
// name in the page,
//   <script type="importmap">
//     { "imports": { "clerk-fauna/web": "/node_modules/clerk-fauna/web.js" } }
//   </script>
// then call init() before the first use.
import init, { TokenCache, FaunaClient } from 'clerk-fauna/web';

export async function whoami(getToken, endpoint) {
  await init(); // fetches clerk_fauna_bg.wasm from beside web.js, once
  const tokens = new TokenCache(getToken);
  const fauna = new FaunaClient(tokens, { endpoint });
  const { data } = await fauna.query('Query.token().sub');
  return data;
}
