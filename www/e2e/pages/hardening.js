// The hardening tests' page: clerk-fauna/web loaded as a user's app would,
// plus helpers the tests call through page.evaluate (window.H). Tokens come
// from real clerk-js (window.Clerk, its browser build) signed in against the
// Clerk stand-in: `clerkGetToken` is what `useAuth().getToken` calls. Tests
// that need two users' sessions at once use the stand-in's JSON sessions and
// `mint` instead (see hardening.test.mjs). Nothing here writes to the
// console: the tests require silence.

import init, { TokenCache, FaunaClient, ClerkFaunaError, decodeJwt } from '/pkg/web.js';

const params = new URLSearchParams(location.search);
const clerk = params.get('clerk');
const fauna = params.get('fauna');
const { textOf } = window.__instrument;

/** Every token string this page ever received from Clerk or made up. */
const tokens = new Set();

/**
 * Signs a demo user in through clerk-js with a ticket (signing out whoever is
 * signed in first); resolves to the session id.
 */
async function clerkSignIn(userId) {
  if (window.Clerk.session) await window.Clerk.signOut(() => undefined);
  const response = await fetch(`${clerk}/v1/demo/sign_in_tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  if (!response.ok) throw new Error(`sign-in token: HTTP ${response.status}`);
  const { token } = await response.json();
  const attempt = await window.Clerk.client.signIn.create({ strategy: 'ticket', ticket: token });
  await window.Clerk.setActive({ session: attempt.createdSessionId });
  return attempt.createdSessionId;
}

/** Clerk's getToken, as `useAuth().getToken`: the active session's token, null when signed out. */
async function clerkGetToken(options = {}) {
  const jwt = (await window.Clerk.session?.getToken(options)) ?? null;
  if (jwt) tokens.add(jwt);
  return jwt;
}

/** Signs a demo user in with a session of no browser (JSON sign-in); resolves to its id. */
async function signIn(userId) {
  const response = await fetch(`${clerk}/v1/client/sign_ins`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  if (!response.ok) throw new Error(`sign-in: HTTP ${response.status}`);
  return (await response.json()).session_id;
}

/** A template token of a JSON sign-in session (scripted tests), or null once it ended. */
async function mint(sid, { template = 'fauna', skipCache = false } = {}) {
  const query = skipCache ? '?debug=skip_cache' : '';
  const response = await fetch(`${clerk}/v1/client/sessions/${sid}/tokens/${encodeURIComponent(template)}${query}`, {
    method: 'POST',
  });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`token request: HTTP ${response.status}`);
  const { jwt } = await response.json();
  tokens.add(jwt);
  return jwt;
}

/**
 * A getToken whose behaviour the test picks (`.mode`): `fapi` (clerk-js's
 * getToken), `reject`, `throw` (synchronously), `hang`, `null`,
 * `garbage` (a string that is no JWT), `number`, `object`, `jwtish` (a real
 * token with its payload replaced, so it looks like a JWT but is not one).
 */
function scriptedGetToken() {
  const state = { mode: 'fapi', calls: 0 };
  state.getToken = function (options = {}) {
    state.calls += 1;
    switch (state.mode) {
      case 'fapi':
        return clerkGetToken(options);
      case 'reject':
        return Promise.reject(new Error('Clerk is offline (scripted)'));
      case 'throw':
        throw new TypeError('getToken threw synchronously (scripted)');
      case 'hang':
        return new Promise(() => {});
      case 'null':
        return Promise.resolve(null);
      case 'garbage':
        return Promise.resolve('this is not a JWT');
      case 'number':
        return Promise.resolve(42);
      case 'object':
        return Promise.resolve({ jwt: 'nope' });
      case 'jwtish':
        return clerkGetToken(options).then((jwt) => {
          const [header, , signature] = jwt.split('.');
          const broken = `${header}.${btoa('{"sub": not json').replace(/=+$/, '')}.${signature}`;
          tokens.add(broken);
          return broken;
        });
      default:
        return Promise.reject(new Error(`unknown mode ${state.mode}`));
    }
  };
  return state;
}

/** What a rejection carries, for the test's assertions. */
function describe(e) {
  const out = {
    isClerkFaunaError: e instanceof ClerkFaunaError,
    isError: e instanceof Error,
    name: e?.name,
    code: e?.code,
    message: e?.message,
  };
  for (const k of ['httpStatus', 'faunaCode', 'hint', 'retryAfterMs']) if (e?.[k] !== undefined) out[k] = e[k];
  if (e?.cause !== undefined) out.cause = { name: e.cause?.name, message: e.cause?.message ?? String(e.cause) };
  return out;
}

/** Every error the package handed to a caller, as text (scanned for tokens). */
const errorTexts = [];

/**
 * Waits for `promise` at most `boundMs`: `{ status: 'fulfilled', value }`,
 * `{ status: 'rejected', error }` or `{ status: 'pending' }`, and `ms`.
 */
async function settle(promise, boundMs = 15000) {
  const started = performance.now();
  let timer;
  const bound = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ status: 'pending' }), boundMs);
  });
  const outcome = await Promise.race([
    promise.then(
      (value) => ({ status: 'fulfilled', value }),
      (error) => {
        errorTexts.push(textOf(error));
        return { status: 'rejected', error: describe(error) };
      },
    ),
    bound,
  ]);
  clearTimeout(timer);
  return { ...outcome, ms: Math.round(performance.now() - started) };
}

/**
 * Watches an event stream through its callback form: `{ events, end, close }`;
 * `end` is set when it ends, `{ clean: true }` or the error described. The
 * error's text is kept with the others, for the token scan.
 */
function watch(stream) {
  const state = { events: [], end: undefined };
  state.close = stream.subscribe(
    (event) => state.events.push({ type: event.type, id: event.data?.id, txnTs: event.txnTs }),
    (error) => {
      if (error) errorTexts.push(textOf(error));
      state.end = error ? describe(error) : { clean: true };
    },
  );
  return state;
}

/** A promise and its resolve, for holding getToken calls. */
function gate() {
  let open;
  const promise = new Promise((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** The jti of a token (no check: only for matching with the stand-in's log). */
function jtiOf(token) {
  try {
    return decodeJwt(token).payload.jti;
  } catch {
    return undefined;
  }
}

/** Where the page could have kept something, read directly (not via the wrappers). */
async function storedState() {
  const dump = (storage) => Array.from({ length: storage.length }, (_, i) => {
    const key = storage.key(i);
    return `${key}=${storage.getItem(key)}`;
  });
  const databases = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [];
  return { local: dump(localStorage), session: dump(sessionStorage), cookie: document.cookie, databases };
}

/** Everything the tests check after a run. */
async function report() {
  const { sinks, unhandled, consoleCalls } = window.__instrument;
  return {
    tokens: [...tokens],
    sinks,
    unhandled,
    // From the end of clerk-js's load on: its load logs a warning about
    // development keys (the stand-in's key is one), which is not ours.
    consoleCalls: consoleCalls.slice(window.H.consoleFrom),
    errorTexts,
    stored: await storedState(),
  };
}

window.H = {
  clerk,
  fauna,
  TokenCache,
  FaunaClient,
  ClerkFaunaError,
  decodeJwt,
  tokens,
  signIn,
  mint,
  clerkSignIn,
  clerkGetToken,
  scriptedGetToken,
  settle,
  watch,
  gate,
  jtiOf,
  describe,
  report,
  sent: window.__instrument.sent,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  ready: false,
};

try {
  await Promise.all([init(), window.Clerk.load({ telemetry: false })]);
  window.H.consoleFrom = window.__instrument.consoleCalls.length;
  window.H.ready = true;
  document.getElementById('status').textContent = 'ready';
} catch (e) {
  window.H.loadError = String(e?.stack ?? e);
  document.getElementById('status').textContent = 'load error';
}
