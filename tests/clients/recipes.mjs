// The README's recipes as the test page's code, so the two cannot drift:
// every fenced block after a `<!-- recipe: NAME -->` marker is cut out of
// README.md, pointed at the Fauna stand-in instead of the example host, and
// wrapped in a module the page bundles:
//
//   <the recipe's import lines>
//   export default async function recipe(fauna) { <the rest>; return { <names> }; }
//
// `fauna` is the page's signed-in FaunaClient, as in the README; `names` are
// the recipe's own variables the tests read (a recipe that loses one fails
// with a ReferenceError).

import { readFileSync } from 'node:fs';

const MARKER = /<!-- recipe: ([\w-]+) -->\n```js\n([\s\S]*?)\n```/g;
const EXAMPLE_HOST = 'fauna.internal.example.com';

/** `{ name: code }` for every recipe in the markdown file at `path`. */
export function readRecipes(path) {
  const recipes = {};
  for (const [, name, code] of readFileSync(path, 'utf8').matchAll(MARKER)) {
    if (name in recipes) throw new Error(`two recipes named ${name}`);
    recipes[name] = code;
  }
  return recipes;
}

/**
 * The recipe with the example Fauna (https://fauna.internal.example.com:8443,
 * as a URL or as faunadb's scheme/domain/port) replaced by `faunaOrigin`.
 */
export function againstStandIn(code, faunaOrigin) {
  const url = new URL(faunaOrigin);
  const out = code
    .replaceAll(`https://${EXAMPLE_HOST}:8443`, url.origin)
    .replace(/scheme: 'https'/, `scheme: '${url.protocol.slice(0, -1)}'`)
    .replace(`domain: '${EXAMPLE_HOST}'`, `domain: '${url.hostname}'`)
    .replace(/port: 8443\b/, `port: ${url.port}`);
  if (out.includes('example.com')) throw new Error(`a recipe still names example.com:\n${out}`);
  return out;
}

/** The recipe as an ES module (see above). */
export function recipeModule(code, names) {
  const lines = code.split('\n');
  const firstBodyLine = lines.findIndex((l) => !/^import .* from '[^']+';$/.test(l) && l.trim() !== '');
  const imports = lines.slice(0, firstBodyLine).join('\n');
  const body = lines.slice(firstBodyLine).join('\n');
  return `${imports}\nexport default async function recipe(fauna) {\n${body}\nreturn { ${names.join(', ')} };\n}\n`;
}

/**
 * An esbuild plugin serving `import recipes from 'recipes'`: `{ name: recipe }`
 * for each of `results` (`{ name: [names the tests read] }`), built from
 * `recipes` (`{ name: code }`, already against the stand-in). Imports in a
 * recipe resolve from `resolveDir` (this folder's node_modules).
 */
export function recipesPlugin(recipes, results, resolveDir) {
  const names = Object.keys(results);
  for (const name of names) if (!recipes[name]) throw new Error(`README.md has no recipe "${name}"`);
  return {
    name: 'recipes',
    setup(build) {
      build.onResolve({ filter: /^recipes?(:|$)/ }, (args) => ({ path: args.path, namespace: 'recipes' }));
      build.onLoad({ filter: /.*/, namespace: 'recipes' }, ({ path }) => {
        if (path === 'recipes') {
          const lines = names.map((n, i) => `import r${i} from 'recipe:${n}';`);
          const table = names.map((n, i) => `${JSON.stringify(n)}: r${i}`).join(', ');
          return { contents: `${lines.join('\n')}\nexport default { ${table} };\n`, resolveDir, loader: 'js' };
        }
        const name = path.slice('recipe:'.length);
        return { contents: recipeModule(recipes[name], results[name]), resolveDir, loader: 'js' };
      });
    },
  };
}
