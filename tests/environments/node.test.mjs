// clerk-fauna in Node, no browser: the `node` export condition gives node.js,
// which needs no init call and sends through the global fetch. Queries run
// against the Clerk and Fauna stand-ins over loopback HTTP; server-side
// rendering imports every entry and renders the React hooks.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { build as viteBuild } from 'vite';
import { api, deadline, launchStandIns } from '../../devserver/launch.mjs';
import { signIn, whoAmI } from './app/session.js';
import { whoami } from './recipes/node.mjs';
import { ALICE, assertInstalledCopyIsCurrent, buildWithWebpack, here, packageFiles, repoDir } from './harness.mjs';

describe('node: clerk-fauna in Node >= 18 and server-side rendering', () => {
  let standIns;

  before(async () => {
    await assertInstalledCopyIsCurrent();
    standIns = await launchStandIns(repoDir, { graphql: true });
  }, { timeout: 16 * 60_000 });

  after(() => standIns?.stop(), { timeout: 30_000 });

  beforeEach(() => api(`${standIns.fauna}/__admin/reset`, {}));

  /** The Fauna stand-in's log, as [path, sub, auth, status] rows. */
  async function faunaLog() {
    const requests = await api(`${standIns.fauna}/__admin/requests`);
    return requests.map((r) => [r.path, r.sub, r.auth, r.status]);
  }

  it('clerk-fauna and clerk-fauna/web resolve to node.js', () => {
    for (const entry of ['clerk-fauna', 'clerk-fauna/web']) {
      assert.match(import.meta.resolve(entry), /\/node_modules\/clerk-fauna\/node\.js$/, entry);
    }
    assert.match(import.meta.resolve('clerk-fauna/react'), /\/node_modules\/clerk-fauna\/react\.js$/);
  });

  it('queries Fauna as the user with no init call, through the global fetch', async () => {
    const clerkFauna = await import('clerk-fauna');
    // Count what goes through the global fetch on its way to the Fauna stand-in.
    const globalFetch = globalThis.fetch;
    const sent = [];
    globalThis.fetch = (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.startsWith(standIns.fauna)) sent.push(new URL(url).pathname);
      return globalFetch(input, init);
    };
    let answer;
    try {
      answer = await whoAmI(clerkFauna, { clerk: standIns.clerk, fauna: standIns.fauna, userId: ALICE });
    } finally {
      globalThis.fetch = globalFetch;
    }
    assert.deepEqual(answer, { fql: ALICE, identity: ALICE, graphql: ALICE, signedOut: 'signed_out', getTokenCalls: 1 });
    assert.deepEqual(sent.toSorted(), ['/', '/graphql', '/query/1']);
    assert.deepEqual((await faunaLog()).toSorted(), [
      ['/', ALICE, 'ok', 200],
      ['/graphql', ALICE, 'ok', 200],
      ['/query/1', ALICE, 'ok', 200],
    ]);
  });

  it("the README's Node recipe (recipes/node.mjs) runs a query as the user", async () => {
    const getToken = await signIn(standIns.clerk, ALICE);
    assert.equal(await whoami(getToken, standIns.fauna), ALICE);
    assert.deepEqual(await faunaLog(), [['/query/1', ALICE, 'ok', 200]]);
  });

  /** Runs a server bundle of app/server.mjs as Alice; asserts it printed her id and made one query. */
  async function runServerBundle(file) {
    const { stdout } = await promisify(execFile)(process.execPath, [file, standIns.clerk, standIns.fauna, ALICE], {
      timeout: 20_000,
    });
    assert.equal(stdout.trim(), ALICE);
    assert.deepEqual(await faunaLog(), [['/query/1', ALICE, 'ok', 200]]);
  }

  it('webpack with a Node target (a server bundle, as in SSR) takes node.js, and the bundle queries as the user', { timeout: 4 * 60_000 }, async () => {
    const { outDir, modules } = await buildWithWebpack(
      // .cjs: webpack's Node output is CommonJS, and this folder's .js files are ES modules.
      { mode: 'production', target: 'node18', output: { filename: 'server.cjs' } },
      { entry: join(here, 'app', 'server.mjs'), name: 'webpack-node' },
    );
    const files = packageFiles(modules);
    assert.ok(files.includes('node.js'), `the server bundle did not take in node.js: ${files.join(', ')}`);
    assert.ok(!files.includes('index.js'), 'the server bundle took in the browser bundler entry');
    // node.js is listed in `sideEffects`: its initSync at import must survive tree-shaking.
    await runServerBundle(join(outDir, 'server.cjs'));
  });

  it("Vite's SSR build (clerk-fauna left external, its default) runs a query as the user", { timeout: 4 * 60_000 }, async () => {
    const outDir = join(here, 'dist', 'vite-ssr');
    const output = await deadline(
      viteBuild({
        configFile: false,
        root: here,
        logLevel: 'warn',
        build: { ssr: join(here, 'app', 'server.mjs'), outDir, emptyOutDir: true },
      }),
      120_000,
      'vite build --ssr',
    );
    const [chunk] = [output].flat().flatMap((o) => o.output);
    assert.match(chunk.code, /from "clerk-fauna"/, 'the SSR build bundled clerk-fauna instead of importing it');
    await runServerBundle(join(outDir, chunk.fileName));
  });

  it("clerk-fauna/web's init() resolves at once in Node, so browser code runs unchanged", async () => {
    const web = await import('clerk-fauna/web');
    await web.default();
    // Typed for Node (node.d.ts): no input needed, the core was loaded at import.
    web.initSync();
    const tokens = new web.TokenCache(await signIn(standIns.clerk, ALICE));
    const fauna = new web.FaunaClient(tokens, { endpoint: standIns.fauna });
    try {
      assert.equal((await fauna.query('Query.token().sub')).data, ALICE);
    } finally {
      fauna.free();
      tokens.free();
    }
  });

  it('server-side rendering: every entry imports, and the hooks render their signed-out and loading states', async () => {
    const entries = await Promise.all(['clerk-fauna', 'clerk-fauna/web', 'clerk-fauna/react'].map((e) => import(e)));
    const [, , react] = entries;
    for (const entry of entries) assert.ok(Object.keys(entry).length > 0);
    const getToken = () => assert.fail('rendering on the server must not ask for a token');
    function Whoami({ userId }) {
      const fauna = react.useFauna(getToken, { userId, sessionId: 'sess_1', endpoint: standIns.fauna });
      const { data, isLoading } = react.useFaunaQuery('Query.token().sub', undefined, { client: fauna });
      return createElement('p', null, fauna ? `ready ${isLoading} ${data}` : `no client yet (${userId ?? 'signed out'})`);
    }
    // The .wasm loads in an effect, which never runs on the server.
    assert.equal(renderToString(createElement(Whoami, { userId: ALICE })), `<p>no client yet (${ALICE})</p>`);
    assert.equal(renderToString(createElement(Whoami, { userId: null })), '<p>no client yet (signed out)</p>');
    assert.deepEqual(await faunaLog(), []);
  });
});
