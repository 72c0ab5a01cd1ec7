// The README quotes whole files, each after a `<!-- file: PATH -->` marker:
// every file of recipes/ ("Bundlers, browsers and Node") and the React live
// list, www/src/live-list.ts. The other tests build and run those files (the
// live list here in hooks.test.mjs and in the demo's end-to-end tests), so
// README and tests cannot drift.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { here, repoDir } from './harness.mjs';

it('README.md quotes every recipe file verbatim', async () => {
  const readme = await readFile(join(repoDir, 'README.md'), 'utf8');
  const names = await readdir(join(here, 'recipes'));
  assert.deepEqual(names.toSorted(), ['browser.js', 'node.mjs', 'vite.config.js', 'webpack.config.mjs']);
  const paths = [...names.map((name) => `tests/environments/recipes/${name}`), 'www/src/live-list.ts'];
  for (const path of paths) {
    const code = (await readFile(join(repoDir, path), 'utf8')).trimEnd();
    const language = path.endsWith('.ts') ? 'ts' : 'js';
    const quoted = `<!-- file: ${path} -->\n\`\`\`${language}\n${code}\n\`\`\``;
    assert.ok(readme.includes(quoted), `README.md does not quote ${path} as it is`);
  }
});
