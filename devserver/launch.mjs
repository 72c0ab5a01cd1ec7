// Starting the stand-ins from Node, for the end-to-end tests (www/e2e,
// tests/clients) and the benchmarks (bench/): build the binary, run it on
// ephemeral ports, read its READY line, and stop it without leaving a process
// behind. Also the tests' headless Chromium, launched the one way that works
// on these machines.

import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Rejects when `promise` has not settled after `ms`. */
export function deadline(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Builds the stand-ins' binary (a no-op when up to date) and returns its path. */
export async function buildDevserver(repoDir) {
  await deadline(
    promisify(execFile)('cargo', ['build', '--quiet', '-p', 'clerk-fauna-devserver'], {
      cwd: repoDir,
      maxBuffer: 16 << 20,
    }),
    15 * 60_000,
    'cargo build -p clerk-fauna-devserver',
  );
  return join(repoDir, 'target', 'debug', 'clerk-fauna-devserver');
}

/**
 * Starts the stand-ins on ephemeral ports. `ready` resolves with their
 * origins, `{ clerk, fauna }`, from the READY line. `graphql: true` also
 * serves `/graphql`, which Fauna's own server does not have (for tests of
 * code written against hosted Fauna's GraphQL API). `streamIdleCheckMs` and
 * `streamStatusIntervalMs` replace the server's idle re-check (60 s) and
 * status-event (5 min) intervals of event streams, so tests need not wait.
 */
export function startDevserver(
  binary,
  repoDir,
  { graphql = false, streamIdleCheckMs, streamStatusIntervalMs } = /** @type {{ graphql?: boolean, streamIdleCheckMs?: number, streamStatusIntervalMs?: number }} */ ({}),
) {
  const args = ['--clerk-port', '0', '--fauna-port', '0', ...(graphql ? ['--graphql'] : [])];
  if (streamIdleCheckMs !== undefined) args.push('--stream-idle-check-ms', String(streamIdleCheckMs));
  if (streamStatusIntervalMs !== undefined) {
    args.push('--stream-status-interval-ms', String(streamStatusIntervalMs));
  }
  const child = spawn(binary, args, {
    cwd: repoDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    // Kept for the error message only, and bounded.
    stderr = (stderr + chunk).slice(-4000);
  });
  const ready = new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((l) => l.startsWith('READY '));
      if (line) resolve(JSON.parse(line.slice('READY '.length)));
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`devserver exited (${code}) before READY:\n${stderr}`)));
  });
  return { child, ready: deadline(ready, 30_000, 'devserver READY') };
}

/** Ends a child process: SIGTERM, then SIGKILL if it lingers. */
export async function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await deadline(exited, 5000, 'devserver exit').catch(() => {
    child.kill('SIGKILL');
    return exited;
  });
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

/**
 * Runs `fql` on the Fauna stand-in with its root secret (`secret`: admin,
 * sees and writes every document): resolves to the answer's JSON; anything
 * but 200 throws.
 */
export async function rootQuery(fauna, fql) {
  const response = await fetch(`${fauna}/query/1`, {
    method: 'POST',
    headers: { Authorization: 'Bearer secret', 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: fql }),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = await response.json();
  if (response.status !== 200) throw new Error(`root query: HTTP ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/**
 * `owner`'s Todo documents, one per title, written in one transaction with
 * the root secret: `[{ id, txnTs }]` from the answer, in the order of their
 * events (Fauna orders a transaction's events by document id).
 */
export async function writeTodosAsRoot(fauna, owner, titles) {
  const creates = titles.map((title) => `Todo.create({ title: ${JSON.stringify(title)}, owner: ${JSON.stringify(owner)} })`);
  const answer = await rootQuery(fauna, `[${creates.join(', ')}]`);
  const ids = answer.data.map((doc) => doc.id).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  return ids.map((id) => ({ id, txnTs: answer.txn_ts }));
}

/** One of `owner`'s Todo documents, written with the root secret: `{ id, txnTs }`. */
export async function writeTodoAsRoot(fauna, owner, title) {
  return (await writeTodosAsRoot(fauna, owner, [title]))[0];
}

/** The Fauna stand-in's request log (at origin `fauna`), the entries for `path` only (`/stream/1`, `/query/1`...). */
export async function requestsTo(fauna, path) {
  return (await api(`${fauna}/__admin/requests`)).filter((r) => r.path === path);
}

/**
 * Resolves to the first truthy value `check()` resolves to, asking every
 * 50 ms; rejects after `ms` naming `what`. For tests that wait for a
 * condition instead of sleeping.
 */
export async function until(check, ms, what) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > ms) throw new Error(`still waiting, after ${ms} ms, for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Builds and starts the stand-ins; resolves to `{ clerk, fauna, stop }` once
 * they listen (`clerk` and `fauna` are their origins). `options` as for
 * startDevserver. A test process that
 * dies without calling stop() does not leave them running.
 */
export async function launchStandIns(repoDir, options) {
  const binary = await buildDevserver(repoDir);
  const devserver = startDevserver(binary, repoDir, options);
  const killOnExit = () => devserver.child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    await stopChild(devserver.child);
  };
  try {
    return { ...(await devserver.ready), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Flags for Debian's Chromium in tests: headless, and without the
 * background-networking ones it keeps dialling out and being refused.
 */
export const CHROMIUM_ARGS = [
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
 * Headless Chromium in a fresh profile, through playwright-core's `chromium`
 * (passed in: this folder has no node_modules). Resolves to
 * `{ context, close }`, a persistent context; close() also deletes the profile.
 */
export async function launchChromium(chromium, { viewport } = /** @type {{ viewport?: { width: number, height: number } }} */ ({})) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'clerk-fauna-chromium-'));
  const removeProfile = () => rm(userDataDir, { recursive: true, force: true });
  try {
    const context = await deadline(
      chromium.launchPersistentContext(userDataDir, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
        viewport,
      }),
      30_000,
      'Chromium launch',
    );
    return {
      context,
      close: async () => {
        await context.close();
        await removeProfile();
      },
    };
  } catch (e) {
    await removeProfile();
    throw e;
  }
}
