// Starts and stops everything the end-to-end tests drive: the built demo
// (vite build + vite preview on an ephemeral port), the Clerk and Fauna
// stand-ins (the devserver binary, ports 0, parsed from its READY line) and a
// headless Chromium. Every step has a deadline; stop() leaves no process.

import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { chromium } from 'playwright-core';
import { buildDevserver, deadline, startDevserver, stopChild } from '../../devserver/launch.mjs';

export { deadline };

export const wwwDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const repoDir = dirname(wwwDir);
export const resultsDir = join(wwwDir, 'test-results');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];


/**
 * Everything up: resolves to `{ appUrl, clerk, fauna, context, stop }`.
 * `clerk` and `fauna` are the stand-ins' origins. `{ app: false }` skips the
 * demo's build and preview (`appUrl` is then undefined), for tests that
 * serve their own page.
 */
export async function start({ app = true } = {}) {
  const stack = []; // undo steps, run in reverse by stop()
  const stop = async () => {
    for (const undo of stack.reverse()) await undo().catch((e) => console.error('teardown:', e));
    stack.length = 0;
  };
  try {
    const binary = await buildDevserver(repoDir);
    const devserver = startDevserver(binary, repoDir);
    stack.push(() => stopChild(devserver.child));
    // A crashed test process must not leave the stand-ins running.
    const killOnExit = () => devserver.child.kill('SIGKILL');
    process.once('exit', killOnExit);
    stack.push(async () => process.off('exit', killOnExit));

    let appUrl;
    if (app) {
      await deadline(build({ root: wwwDir, logLevel: 'warn' }), 120_000, 'vite build');
      const server = await deadline(
        preview({ root: wwwDir, logLevel: 'warn', preview: { host: '127.0.0.1', port: 0, strictPort: true } }),
        30_000,
        'vite preview',
      );
      stack.push(() => server.close());
      appUrl = server.resolvedUrls.local[0].replace(/\/$/, '');
    }

    const { clerk, fauna } = await devserver.ready;

    const userDataDir = await mkdtemp(join(tmpdir(), 'clerk-fauna-e2e-'));
    stack.push(() => rm(userDataDir, { recursive: true, force: true }));
    const context = await deadline(
      chromium.launchPersistentContext(userDataDir, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1100, height: 860 },
      }),
      30_000,
      'Chromium launch',
    );
    stack.push(() => context.close());
    await mkdir(resultsDir, { recursive: true });

    return { appUrl, clerk, fauna, context, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** JSON from a stand-in's endpoint (admin or FAPI). */
export async function api(url, body) {
  const response = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}
