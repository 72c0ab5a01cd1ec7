/// <reference types="vite/client" />

interface ImportMetaEnv {
  /**
   * Clerk's publishable key. Unset: a key for the local Clerk stand-in at
   * `VITE_CLERK_PROXY_URL` (`pk_test_` + base64 of `<host>$`).
   */
  readonly VITE_CLERK_PUBLISHABLE_KEY?: string;
  /**
   * Where clerk-js sends its Frontend API requests (ClerkProvider's `proxyUrl`).
   * Unset with a real key: Clerk's own Frontend API, from the key.
   * Unset without one: the stand-in at http://127.0.0.1:8444.
   */
  readonly VITE_CLERK_PROXY_URL?: string;
  /** Fauna's origin, e.g. the stand-in's http://127.0.0.1:8443. */
  readonly VITE_FAUNA_URL?: string;
}
