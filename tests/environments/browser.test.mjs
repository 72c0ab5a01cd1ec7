// clerk-fauna in headless Chromium against the Clerk and Fauna stand-ins:
// the bundler entry `clerk-fauna` built into a small app (app/) by Vite and by
// webpack 5, with the README's configs (recipes/) and with none; and
// `clerk-fauna/web` as plain ES modules with an import map. Every page signs
// in as Alice and queries the Fauna stand-in; a build that succeeds while its
// page fails, throws or logs an error fails the test.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { build as viteBuild } from 'vite';
import { api, deadline, launchChromium, launchStandIns } from '../../devserver/launch.mjs';
import { serveStatic } from '../../www/e2e/static-server.mjs';
import { ALICE, assertInstalledCopyIsCurrent, buildWithWebpack, here, installedDir, packageFiles, repoDir } from './harness.mjs';

const appDir = join(here, 'app');

/** A browser build took in the bundler entry and its .wasm, never node.js or web.js. */
function assertBundlerEntry(modules) {
  const files = packageFiles(modules);
  for (const file of ['index.js', 'bundler/clerk_fauna_bg.wasm']) {
    assert.ok(files.includes(file), `the build did not take in clerk-fauna/${file}: ${files.join(', ')}`);
  }
  for (const file of ['node.js', 'web.js']) assert.ok(!files.includes(file), `a browser build took in clerk-fauna/${file}`);
}

/** Builds app/ with Vite (`configFile`: a path, or false for none); resolves to the output folder. */
async function buildWithVite(configFile, name) {
  const outDir = join(here, 'dist', name);
  const output = await deadline(
    viteBuild({ configFile, root: appDir, logLevel: 'warn', build: { outDir, emptyOutDir: true } }),
    120_000,
    'vite build',
  );
  const chunks = [output].flat().flatMap((o) => o.output).filter((o) => o.type === 'chunk');
  assertBundlerEntry(chunks.flatMap((c) => c.moduleIds));
  return outDir;
}

/** Builds app/ with webpack and `config`; resolves to the output folder, page included. */
async function buildAppWithWebpack(config, name) {
  const { outDir, modules } = await buildWithWebpack(config, { entry: join(appDir, 'main.js'), name });
  assertBundlerEntry(modules);
  await copyFile(join(appDir, 'index.html'), join(outDir, 'index.html'));
  return outDir;
}

describe('browsers: clerk-fauna bundled by Vite and webpack 5, and as plain ES modules, in Chromium', () => {
  let standIns;
  let browser;

  before(async () => {
    await assertInstalledCopyIsCurrent();
    standIns = await launchStandIns(repoDir, { graphql: true });
    browser = await launchChromium(chromium);
  }, { timeout: 16 * 60_000 });

  after(async () => {
    await browser?.close();
    await standIns?.stop();
  }, { timeout: 30_000 });

  beforeEach(() => api(`${standIns.fauna}/__admin/reset`, {}));

  /** Serves `mounts`, opens `path` as Alice, and returns the page's `window.result`. */
  async function runPage(mounts, path) {
    const site = await serveStatic(mounts);
    const page = await browser.context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()} (${m.location()?.url})`));
    try {
      const query = new URLSearchParams({ clerk: standIns.clerk, fauna: standIns.fauna, user: ALICE });
      await page.goto(`${site.origin}${path}?${query}`, { timeout: 20_000 });
      // A page whose .wasm or script fails to load never sets a result.
      const result = await page
        .waitForFunction(() => window.result, null, { polling: 50, timeout: 20_000 })
        .then((handle) => handle.jsonValue())
        .catch((e) => assert.fail(`the page set no result (${e.message}); ${problems.join('; ') || 'no errors logged'}`));
      assert.deepEqual(problems, []);
      assert.equal(result.ok, true, result.error);
      return result;
    } finally {
      await page.close();
      await site.close();
    }
  }

  /** The bundled app's answers: Alice's id three ways, one token, and the stand-in agreeing. */
  async function assertAlice(result) {
    assert.deepEqual(
      { fql: result.fql, identity: result.identity, graphql: result.graphql, signedOut: result.signedOut },
      { fql: ALICE, identity: ALICE, graphql: ALICE, signedOut: 'signed_out' },
    );
    assert.equal(result.getTokenCalls, 1, 'one token served all three requests');
    const requests = await api(`${standIns.fauna}/__admin/requests`);
    const alices = requests.filter((r) => r.sub === ALICE && r.auth === 'ok' && r.status === 200);
    assert.equal(alices.length, 3, `the Fauna stand-in saw ${alices.length} authorised requests of Alice`);
  }

  it('Vite with recipes/vite.config.js (vite-plugin-wasm): the page queries Fauna as the user', { timeout: 4 * 60_000 }, async () => {
    const outDir = await buildWithVite(join(here, 'recipes', 'vite.config.js'), 'vite');
    await assertAlice(await runPage({ '/': outDir }, '/index.html'));
  });

  it('Vite with no config (it imports .wasm modules itself): the page queries Fauna as the user', { timeout: 4 * 60_000 }, async () => {
    const outDir = await buildWithVite(false, 'vite-no-config');
    await assertAlice(await runPage({ '/': outDir }, '/index.html'));
  });

  it('webpack 5 with recipes/webpack.config.mjs (asyncWebAssembly): the page queries Fauna as the user', { timeout: 4 * 60_000 }, async () => {
    const { default: config } = await import('./recipes/webpack.config.mjs');
    const outDir = await buildAppWithWebpack(config, 'webpack');
    await assertAlice(await runPage({ '/': outDir }, '/index.html'));
  });

  it('webpack 5 with no experiments (its default loads async .wasm): the page queries Fauna as the user', { timeout: 4 * 60_000 }, async () => {
    const outDir = await buildAppWithWebpack({ mode: 'production' }, 'webpack-no-config');
    await assertAlice(await runPage({ '/': outDir }, '/index.html'));
  });

  it('plain ES modules: recipes/browser.js with an import map and init() queries Fauna as the user', { timeout: 4 * 60_000 }, async () => {
    const result = await runPage(
      {
        '/node_modules/clerk-fauna/': installedDir,
        '/recipes/': join(here, 'recipes'),
        '/app/': appDir,
      },
      '/app/browser.html',
    );
    assert.equal(result.fql, ALICE);
    const requests = await api(`${standIns.fauna}/__admin/requests`);
    assert.deepEqual(requests.map((r) => [r.path, r.sub, r.auth, r.status]), [['/query/1', ALICE, 'ok', 200]]);
  });
});
