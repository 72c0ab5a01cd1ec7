// 1. Weight, in Node: gzipped bytes of what a browser downloads, counted as
// scripts/size-report.sh counts the package (the .wasm gzip -9, plus the
// web.js entry bundled and minified by esbuild, gzip -9), beside the usual
// alternatives, each bundled the same way from a one-line entry.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** Bytes of `gzip -9c` of `data` (the CLI, as size-report.sh uses it). */
export function gzipBytes(data) {
  return execFileSync('gzip', ['-9c'], { input: data, maxBuffer: 64 << 20 }).length;
}

async function bundle(options) {
  const result = await build({
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    ...options,
  });
  return Buffer.concat(result.outputFiles.map((f) => Buffer.from(f.contents)));
}

/** The alternatives: one line each, importing the main export. */
export const ALTERNATIVES = [
  { name: 'fauna', entry: "export { Client } from 'fauna';", what: 'Fauna v10 driver (`Client`)' },
  { name: 'faunadb', entry: "export { Client } from 'faunadb';", what: 'Fauna v4 driver (`Client`)' },
  { name: 'graphql-request', entry: "export { GraphQLClient } from 'graphql-request';", what: '`GraphQLClient`' },
  { name: 'jwt-decode', entry: "export { jwtDecode } from 'jwt-decode';", what: '`jwtDecode`' },
];

function versionOf(benchDir, name) {
  return JSON.parse(readFileSync(join(benchDir, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** Rows: { name, version, what, bytes | null, parts?, note? }. */
export async function weigh({ pkgDir, benchDir }) {
  const rows = [];
  const wasm = gzipBytes(readFileSync(join(pkgDir, 'web', 'clerk_fauna_bg.wasm')));
  const glue = gzipBytes(await bundle({ entryPoints: [join(pkgDir, 'web.js')] }));
  const pkgVersion = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  rows.push({
    name: 'clerk-fauna/web',
    version: pkgVersion,
    what: '.wasm + web.js glue',
    bytes: wasm + glue,
    parts: { wasm, glue },
  });

  // The React entry (another issue adds it): its own code, on top of the
  // above, with React and the web entry left out of the bundle.
  const reactEntry = join(pkgDir, 'react.js');
  if (existsSync(reactEntry)) {
    const own = gzipBytes(
      await bundle({
        entryPoints: [reactEntry],
        external: ['react', 'react/*', 'react-dom', 'react-dom/*', 'clerk-fauna', 'clerk-fauna/*', './web.js', './web/*', './index.js', './bundler/*'],
      }),
    );
    rows.push({ name: 'clerk-fauna/react', version: pkgVersion, what: 'react.js alone (React, web entry external)', bytes: own });
  } else {
    rows.push({ name: 'clerk-fauna/react', version: pkgVersion, what: 'react.js alone', bytes: null, note: 'n/a (no React entry yet)' });
  }

  for (const alt of ALTERNATIVES) {
    const bytes = gzipBytes(
      await bundle({ stdin: { contents: alt.entry, resolveDir: benchDir, sourcefile: 'entry.js', loader: 'js' } }),
    );
    rows.push({ name: alt.name, version: versionOf(benchDir, alt.name), what: alt.what, bytes, entry: alt.entry });
  }
  return rows;
}
