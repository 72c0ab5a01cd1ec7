// Where the package's bytes go: the .wasm by Rust module (function bodies
// summed by their path, read off a copy of the module that keeps its name
// section) and the web entry's JS by source file (esbuild's metafile of the
// minified bundle). Prints Markdown tables; `make size` and `make bench` show
// them. Bytes are raw (before gzip): gzip works on the whole file, so its
// savings cannot be split by function; the shares are what matters.
//
// A few lines of wasm parsing rather than twiggy: twiggy is a cargo install
// the machines need not have, and the code section's layout is all it takes.
//
// Usage: node scripts/size-breakdown.mjs <named .wasm> <entry .js>

import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { build } from 'esbuild';

/** `[id, payload]` of each section of a wasm binary. */
function* sections(bytes) {
  let at = 8; // magic and version
  while (at < bytes.length) {
    const id = bytes[at++];
    const [size, next] = leb(bytes, at);
    yield [id, bytes.subarray(next, next + size)];
    at = next + size;
  }
}

/** An unsigned LEB128 at `at`: `[value, offset after it]`. */
function leb(bytes, at) {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, at];
  }
}

const utf8 = new TextDecoder();

/** A wasm `name` (length-prefixed UTF-8) at `at`: `[text, offset after it]`. */
function name(bytes, at) {
  const [length, start] = leb(bytes, at);
  return [utf8.decode(bytes.subarray(start, start + length)), start + length];
}

/** Function index → name, from the `name` custom section. */
function functionNames(payload) {
  const names = new Map();
  let [section, at] = name(payload, 0);
  if (section !== 'name') return names;
  while (at < payload.length) {
    const kind = payload[at++];
    const [size, start] = leb(payload, at);
    if (kind === 1) {
      let [count, p] = leb(payload, start);
      for (; count > 0; count--) {
        let index;
        [index, p] = leb(payload, p);
        let text;
        [text, p] = name(payload, p);
        names.set(index, text);
      }
    }
    at = start + size;
  }
  return names;
}

/** Imported functions come first in the index space. */
function importedFunctions(payload) {
  let [count, at] = leb(payload, 0);
  let functions = 0;
  for (; count > 0; count--) {
    [, at] = name(payload, at);
    [, at] = name(payload, at);
    const kind = payload[at++];
    if (kind === 0) {
      functions++;
      [, at] = leb(payload, at);
    } else if (kind === 1) {
      at += 1; // reftype
      at = limits(payload, at);
    } else if (kind === 2) {
      at = limits(payload, at);
    } else {
      at += 2; // global: valtype, mutability
    }
  }
  return functions;
}

function limits(payload, at) {
  const flags = payload[at++];
  [, at] = leb(payload, at);
  if (flags & 1) [, at] = leb(payload, at);
  return at;
}

const EXPORTS = 'the exports, with the core code inlined into them';

/**
 * A Rust symbol's module path, for grouping: `clerk_fauna::core::jwt`,
 * `wasm_bindgen`, the standard library as `std, core, alloc`.
 */
function modulePath(symbol) {
  let text = symbol;
  // Legacy mangling: _ZN <len><segment>... E, with $LT$-style escapes.
  const mangled = /^_ZN(.*)E$/.exec(symbol);
  if (mangled) {
    const segments = [];
    for (let rest = mangled[1]; rest; ) {
      const m = /^(\d+)/.exec(rest);
      if (!m) break;
      const length = Number(m[1]);
      segments.push(rest.slice(m[1].length, m[1].length + length));
      rest = rest.slice(m[1].length + length);
    }
    text = segments
      .filter((s) => !/^h[0-9a-f]{16}$/.test(s))
      .join('::')
      .replace(/\$LT\$/g, '<')
      .replace(/\$GT\$/g, '>')
      .replace(/\$u20\$/g, ' ')
      .replace(/\$RF\$/g, '&')
      .replace(/\.\./g, '::');
  }
  text = text.replace(/\[[0-9a-f]+\]/g, ''); // crate disambiguators
  // An export's wasm-bindgen shim, or the export itself: the core's code
  // that -Oz inlined into it is counted there.
  if (/ shim$/.test(text)) return EXPORTS;
  if (/^__(wbindgen|wbg|externref)/.test(text)) return 'wasm-bindgen runtime';
  // `<a::B as c::D>::f`: the implementing type's module.
  const impl = /^_?<+&?(?:mut )?([\w:]+)/.exec(text);
  const path = (impl ? impl[1] : text).split('::').filter(Boolean);
  if (['std', 'core', 'alloc', 'compiler_builtins', 'dlmalloc'].includes(path[0])) return 'Rust standard library';
  if (path[0] === 'clerk_fauna') {
    // Down to the module: drop a trailing type or function name.
    const modules = path.slice(0, 3).filter((s, i) => i < 2 || /^[a-z_0-9]+$/.test(s));
    return modules.join('::');
  }
  if (path.length > 1) return path[0];
  return path.length ? EXPORTS : 'unnamed';
}

export function wasmBreakdown(bytes) {
  let imported = 0;
  let names = new Map();
  let bodies = [];
  const other = new Map();
  for (const [id, payload] of sections(bytes)) {
    if (id === 2) imported = importedFunctions(payload);
    if (id === 10) {
      let [count, at] = leb(payload, 0);
      for (; count > 0; count--) {
        const [size, start] = leb(payload, at);
        bodies.push(start + size - at);
        at = start + size;
      }
    } else if (id === 0) {
      const [section] = name(payload, 0);
      if (section === 'name') names = functionNames(payload);
      else other.set(`custom section ${section}`, payload.length);
    } else {
      const label = id === 11 ? 'data (string constants, tables)' : 'types, imports, exports, tables, globals';
      other.set(label, (other.get(label) ?? 0) + payload.length);
    }
  }
  const groups = new Map();
  bodies.forEach((size, i) => {
    const group = modulePath(names.get(imported + i) ?? '');
    groups.set(group, (groups.get(group) ?? 0) + size);
  });
  for (const [label, size] of other) groups.set(label, (groups.get(label) ?? 0) + size);
  return groups;
}

export async function jsBreakdown(entry) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    outfile: 'bundle.js',
  });
  const [output] = Object.values(result.metafile.outputs);
  const groups = new Map();
  for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
    // Named from the package's folder, wherever it was built or copied.
    groups.set(relative(dirname(resolve(entry)), resolve(file)), bytesInOutput);
  }
  return groups;
}

function table(title, groups) {
  const total = [...groups.values()].reduce((a, b) => a + b, 0);
  const rows = [...groups].sort((a, b) => b[1] - a[1]);
  const lines = [`| ${title} | bytes | share |`, '| --- | ---: | ---: |'];
  for (const [label, size] of rows) {
    lines.push(`| ${label} | ${size.toLocaleString('en-US')} | ${((100 * size) / total).toFixed(1)}% |`);
  }
  lines.push(`| total (raw, before gzip) | ${total.toLocaleString('en-US')} | |`);
  return lines.join('\n');
}

export async function breakdown(namedWasm, entry) {
  const wasm = table('.wasm, by Rust module (function bodies) and section', wasmBreakdown(readFileSync(namedWasm)));
  const js = table('JS, by source file (minified)', await jsBreakdown(entry));
  return `${wasm}\n\n${js}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [namedWasm, entry] = process.argv.slice(2);
  console.log(await breakdown(namedWasm, entry));
}
