// Starting the stand-ins from Node, for the end-to-end tests (www/e2e) and
// the benchmarks (bench/): build the binary, run it on ephemeral ports, read
// its READY line, and stop it without leaving a process behind.

import { execFile, spawn } from 'node:child_process';
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
 * origins, `{ clerk, fauna }`, from the READY line.
 */
export function startDevserver(binary, repoDir) {
  const child = spawn(binary, ['--clerk-port', '0', '--fauna-port', '0'], {
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
