// Starts and stops everything the end-to-end tests drive: the built demo
// (vite build + vite preview on an ephemeral port), the Clerk and Fauna
// stand-ins (the devserver binary, ports 0, parsed from its READY line) and a
// headless Chromium. Every step has a deadline; stop() leaves no process.

import { mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, createServer, preview } from 'vite';
import { chromium } from 'playwright-core';
import { api, deadline, launchChromium, launchStandIns } from '../../devserver/launch.mjs';

export { api, deadline };

export const wwwDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const repoDir = dirname(wwwDir);
export const resultsDir = join(wwwDir, 'test-results');

/**
 * Everything up: resolves to `{ appUrl, clerk, fauna, context, stop }`.
 * `clerk` and `fauna` are the stand-ins' origins. `{ app: false }` skips the
 * demo's build and preview (`appUrl` is then undefined), for tests that
 * serve their own page; `{ app: 'dev' }` serves the demo from Vite's dev
 * server instead, as `make demo` does (React's development build, StrictMode
 * mounting twice).
 *
 * @param {{ app?: boolean | 'dev' }} [options]
 */
export async function start({ app = true } = {}) {
  const stack = []; // undo steps, run in reverse by stop()
  const stop = async () => {
    for (const undo of stack.reverse()) await undo().catch((e) => console.error('teardown:', e));
    stack.length = 0;
  };
  try {
    const { clerk, fauna, stop: stopStandIns } = await launchStandIns(repoDir, { graphql: true });
    stack.push(stopStandIns);

    let appUrl;
    if (app === 'dev') {
      const server = await createServer({ root: wwwDir, logLevel: 'warn', server: { host: '127.0.0.1', port: 0, strictPort: true } });
      stack.push(() => server.close());
      await deadline(server.listen(), 30_000, 'vite dev server');
      appUrl = server.resolvedUrls.local[0].replace(/\/$/, '');
    } else if (app) {
      await deadline(build({ root: wwwDir, logLevel: 'warn' }), 120_000, 'vite build');
      const server = await deadline(
        preview({ root: wwwDir, logLevel: 'warn', preview: { host: '127.0.0.1', port: 0, strictPort: true } }),
        30_000,
        'vite preview',
      );
      stack.push(() => server.close());
      appUrl = server.resolvedUrls.local[0].replace(/\/$/, '');
    }

    const { context, close: closeChromium } = await launchChromium(chromium, { viewport: { width: 1100, height: 860 } });
    stack.push(closeChromium);
    await mkdir(resultsDir, { recursive: true });

    return { appUrl, clerk, fauna, context, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
