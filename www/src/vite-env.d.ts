/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The Clerk stand-in's origin, e.g. http://127.0.0.1:8444. */
  readonly VITE_CLERK_URL?: string;
  /** The Fauna stand-in's origin, e.g. http://127.0.0.1:8443. */
  readonly VITE_FAUNA_URL?: string;
}
