// What the test files share: where things are, the demo user, a check that
// the installed copy of clerk-fauna is the package as last built, and a
// webpack build.

import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import webpack from 'webpack';
import { deadline } from '../../devserver/launch.mjs';

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

/**
 * Builds `entry` with webpack and `config` into dist/`name` (this folder's
 * paths in place of a project's ./src and ./dist). Fails on any error or
 * warning; resolves to `{ outDir, modules }`, the paths of the modules taken in.
 */
export async function buildWithWebpack(config, { entry, name }) {
  const outDir = join(here, 'dist', name);
  await rm(outDir, { recursive: true, force: true });
  const compiler = webpack({ ...config, context: here, entry, output: { ...config.output, path: outDir } });
  const stats = await deadline(
    new Promise((resolve, reject) => compiler.run((e, s) => (e ? reject(e) : resolve(s)))).finally(
      () => new Promise((resolve) => compiler.close(resolve)),
    ),
    120_000,
    'webpack build',
  );
  const info = stats.toJson({ all: false, errors: true, warnings: true, modules: true, nestedModules: true });
  assert.deepEqual(info.errors.map((e) => e.message), [], 'webpack errors');
  assert.deepEqual(info.warnings.map((w) => w.message), [], 'webpack warnings');
  const names = (modules) => modules.flatMap((m) => [m.nameForCondition ?? m.name, ...names(m.modules ?? [])]);
  return { outDir, modules: names(info.modules).filter(Boolean) };
}

/** Which files of clerk-fauna a build took in, relative to the package. */
export function packageFiles(modules) {
  const prefix = '/node_modules/clerk-fauna/';
  return modules
    .map((id) => id.replaceAll('\\', '/'))
    .filter((id) => id.includes(prefix))
    .map((id) => id.slice(id.lastIndexOf(prefix) + prefix.length));
}
