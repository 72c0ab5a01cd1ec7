// The app the bundler tests build: it imports the bundler entry `clerk-fauna`
// (whose .wasm is an ES module import the bundler must handle) and runs
// whoAmI against the stand-ins named in the page's query string. The outcome
// lands in `window.result`: `{ ok: true, ... }` or `{ ok: false, error }`.
import * as clerkFauna from 'clerk-fauna';
import { whoAmI } from './session.js';

const params = new URLSearchParams(location.search);
whoAmI(clerkFauna, { clerk: params.get('clerk'), fauna: params.get('fauna'), userId: params.get('user') }).then(
  (answer) => {
    window.result = { ok: true, ...answer };
  },
  (e) => {
    window.result = { ok: false, error: String(e?.stack ?? e) };
  },
);
