// Everything the demo can be told without editing code, read once at start.
//
// URL query parameters win over Vite env variables, which win over the
// defaults (the ports `make demo` starts the stand-ins on). The end-to-end
// tests start the stand-ins on ephemeral ports and pass them as `clerkUrl` /
// `faunaUrl`, and ask for the 3-second template with
// `?template=fauna-short&minValiditySeconds=1&refreshAheadSeconds=1`.
//
// Clerk: with `VITE_CLERK_PUBLISHABLE_KEY` set and `VITE_CLERK_PROXY_URL`
// unset, clerk-js talks to your real Clerk instance; otherwise to the local
// stand-in, through `proxyUrl` (without one, clerk-js insists on https).

export interface DemoConfig {
  /** ClerkProvider's `publishableKey`. */
  publishableKey: string;
  /** ClerkProvider's `proxyUrl`: the stand-in's origin; undefined for real Clerk. */
  clerkUrl: string | undefined;
  /** The Fauna stand-in's origin (a self-hosted Fauna's, in a real app). */
  faunaUrl: string;
  /** The JWT template asked for: `fauna` (60 s) or `fauna-short` (3 s). */
  template: string;
  minValiditySeconds?: number;
  refreshAheadSeconds?: number;
  /** Attempts for a throttled (429) query, counting the first. */
  maxAttempts?: number;
  /** The "keep querying" loop's period. */
  intervalMs: number;
  /** Queries sent at once on each tick of that loop: shows single-flight. */
  burst: number;
}

const params = new URLSearchParams(window.location.search);

function text(name: string, fallback: string): string {
  return params.get(name) || fallback;
}

function number(name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  // A typo should be visible, not silently become the library's default.
  if (!Number.isFinite(n)) throw new Error(`URL parameter ${name}=${raw} is not a number`);
  return n;
}

const env = import.meta.env;
const realKey = env.VITE_CLERK_PUBLISHABLE_KEY || undefined;
const clerkUrl = params.get('clerkUrl') || env.VITE_CLERK_PROXY_URL || (realKey ? undefined : 'http://127.0.0.1:8444');

/**
 * A development key naming the stand-in as the Frontend API host, as Clerk's
 * keys name theirs: `pk_test_` + base64(`<host>$`). A `127.0.0.1` host also
 * keeps clerk-js from asking for a dev browser (`/v1/dev_browser`).
 */
function standInKey(url: string): string {
  return `pk_test_${btoa(`${new URL(url).host}$`)}`;
}

export const config: DemoConfig = {
  // A `clerkUrl` parameter always means the stand-in (the tests pass one).
  publishableKey: realKey && !params.get('clerkUrl') ? realKey : standInKey(clerkUrl!),
  clerkUrl,
  faunaUrl: text('faunaUrl', import.meta.env.VITE_FAUNA_URL || 'http://127.0.0.1:8443'),
  template: text('template', 'fauna'),
  minValiditySeconds: number('minValiditySeconds'),
  refreshAheadSeconds: number('refreshAheadSeconds'),
  maxAttempts: number('maxAttempts'),
  intervalMs: number('intervalMs') ?? 500,
  burst: number('burst') ?? 1,
};
