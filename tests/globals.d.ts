// What the test pages leave on `window` for the Node side to read and drive
// (page.evaluate): each page's own handles, so typed loosely.
declare var T: any;
declare var S: any;
declare var H: any;
declare var Clerk: any;
declare var result: any;

// tests/clients bundles the README's recipes as this module (recipes.mjs).
declare module 'recipes' {
  const recipes: any;
  export default recipes;
}

// What tests/browser's page and its runner (api.test.mjs) share on `window`.
interface Window {
  /** The page's tests (page/index.html): their names, and run(name) for one. */
  apiTests: { names: string[]; run(name: string): Promise<{ ok: boolean; error?: string }> };
  /** A full garbage collection, when the runner exposes one (page.exposeFunction). */
  collectGarbage?: () => Promise<unknown>;
}
