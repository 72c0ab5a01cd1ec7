// What both test files share: where things are, the demo user, and a check
// that the installed copy of clerk-fauna is the package as last built.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const repoDir = join(here, '..', '..');
export const installedDir = join(here, 'node_modules', 'clerk-fauna');
export const ALICE = 'user_2aLiCeQk7mXv9pR3sT5wY8zB1cD';

/**
 * node_modules/clerk-fauna is a copy of pkg/ (see .npmrc), made by `npm ci`;
 * a package rebuilt since would go untested. `make environments` reinstalls
 * when pkg/ is newer.
 */
export async function assertInstalledCopyIsCurrent() {
  for (const file of ['package.json', 'node.js', 'bundler/clerk_fauna_bg.wasm', 'web/clerk_fauna_bg.wasm']) {
    const [built, installed] = await Promise.all([
      readFile(join(repoDir, 'pkg', file)),
      readFile(join(installedDir, file)).catch(() => Buffer.alloc(0)),
    ]);
    assert.ok(built.equals(installed), `node_modules/clerk-fauna/${file} differs from pkg/: run make environments`);
  }
}
