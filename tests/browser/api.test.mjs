// The public JS API of the package as built (pkg/web.js), in headless
// Chromium: the tests in api.browser.js and streams.browser.js (streams and
// feeds against the stand-ins), each in a fresh page (its own instance of
// the module, clock, Object.prototype and timers), each reported as a test
// of its own. Run with `make api`; `make package` rebuilds pkg/.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { deadline, launchChromium, launchStandIns } from '../../devserver/launch.mjs';
import { serveStatic } from '../../www/e2e/static-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const testsDir = dirname(here);
const repoDir = dirname(testsDir);
const PAGE = '/tests/browser/page/index.html';
// The longest test waits about 5 s for a timeout (queryTimeoutMs + 5000 ms).
const TEST_MS = 30_000;

await access(join(repoDir, 'pkg', 'web.js')).catch(() => {
  throw new Error('pkg/web.js is missing: build the package first (make package)');
});
// The stand-ins, for the stream tests (streams.browser.js), with idle
// streams re-checked every 200 ms; their origins go in the page's address.
const standIns = await launchStandIns(repoDir, { streamIdleCheckMs: 200 });
const site = await serveStatic({ '/pkg/': join(repoDir, 'pkg'), '/tests/': testsDir });
const browser = await launchChromium(chromium).catch(async (e) => {
  await site.close();
  await standIns.stop();
  throw e;
});
const query = `?clerk=${encodeURIComponent(standIns.clerk)}&fauna=${encodeURIComponent(standIns.fauna)}`;

/**
 * A new page with the package initialised: `{ page, problems, close }`.
 * `problems` collects the page's uncaught errors and console errors, shown
 * with a failure (not failures themselves: a test may reject a promise
 * before it handles it). The page may call `collectGarbage()`: a full
 * collection, through the DevTools protocol.
 */
async function openPage() {
  const page = await browser.context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  const close = () => page.close();
  try {
    const devtools = await browser.context.newCDPSession(page);
    await page.exposeFunction('collectGarbage', () => devtools.send('HeapProfiler.collectGarbage'));
    await page.goto(`${site.origin}${PAGE}${query}`, { timeout: 20_000 });
    await page
      .waitForFunction(() => window.apiTests, null, { polling: 20, timeout: 20_000 })
      .catch((e) => assert.fail(`the page did not load its tests (${e.message}); ${problems.join('; ')}`));
    return { page, problems, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The tests' names, from a first page (which also shows the package loads). */
async function listTests() {
  const { page, close } = await openPage();
  try {
    const names = await page.evaluate(() => window.apiTests.names);
    if (names.length === 0) throw new Error('the page lists no tests');
    return names;
  } finally {
    await close();
  }
}

const names = await listTests().catch(async (e) => {
  await browser.close();
  await site.close();
  await standIns.stop();
  throw e;
});

after(async () => {
  await browser.close();
  await site.close();
  await standIns.stop();
});

for (const name of names) {
  test(name, { timeout: TEST_MS + 20_000 }, async () => {
    const { page, problems, close } = await openPage();
    try {
      const outcome = await deadline(page.evaluate((n) => window.apiTests.run(n), name), TEST_MS, name).catch(
        (e) => ({ ok: false, error: e.message }),
      );
      assert.ok(outcome.ok, [outcome.error, ...problems].join('\n'));
    } finally {
      await close();
    }
  });
}
