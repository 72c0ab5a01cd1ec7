// The README's "Bundlers, browsers and Node" section quotes every file of
// recipes/ whole, after a `<!-- file: tests/environments/recipes/NAME -->`
// marker; the other tests build and run those files, so README and tests
// cannot drift.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { here, repoDir } from './harness.mjs';

it('README.md quotes every recipe file verbatim', async () => {
  const readme = await readFile(join(repoDir, 'README.md'), 'utf8');
  const names = await readdir(join(here, 'recipes'));
  assert.deepEqual(names.toSorted(), ['browser.js', 'node.mjs', 'vite.config.js', 'webpack.config.mjs']);
  for (const name of names) {
    const code = (await readFile(join(here, 'recipes', name), 'utf8')).trimEnd();
    const quoted = `<!-- file: tests/environments/recipes/${name} -->\n\`\`\`js\n${code}\n\`\`\``;
    assert.ok(readme.includes(quoted), `README.md does not quote recipes/${name} as it is`);
  }
});
