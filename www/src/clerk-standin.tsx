// A stand-in for `@clerk/clerk-react`, talking to the local Clerk stand-in's
// Frontend API (devserver/), so the demo needs no Clerk account.
//
// `useAuth()` has the shape of Clerk's, so the rest of the app does not know
// the difference. With real Clerk, the components that call `useAuth()`
// change one line:
//
//   import { useAuth } from './clerk-standin';
// becomes
//   import { useAuth } from '@clerk/clerk-react';
//
// and `<ClerkProvider publishableKey=…>` plus Clerk's `<SignIn />` replace
// this file's provider and `useDemoSignIn()`.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';

/** Clerk's `getToken` options. */
export interface GetTokenOptions {
  template?: string;
  skipCache?: boolean;
  organizationId?: string;
}

/** What Clerk's `useAuth()` returns (the fields this demo uses). */
export interface Auth {
  isLoaded: boolean;
  isSignedIn: boolean | undefined;
  userId: string | null | undefined;
  sessionId: string | null | undefined;
  /** Resolves `null` when signed out; throws when no token could be had. */
  getToken: (options?: GetTokenOptions) => Promise<string | null>;
  signOut: () => Promise<void>;
}

/** A demo user, as `GET /v1/demo/users` lists them. */
export interface DemoUser {
  id: string;
  first_name: string;
  last_name: string;
  email: string;
}

interface Session {
  sessionId: string;
  userId: string;
}

interface StandIn {
  auth: Auth;
  users: DemoUser[] | undefined;
  usersError: string | undefined;
  signIn: (userId: string) => Promise<void>;
}

const Context = createContext<StandIn | null>(null);

// Clerk keeps its session across reloads (a cookie); sessionStorage does
// that for the tab here. Only ids are stored, never a token.
const STORAGE_KEY = 'clerk-standin:session';

function loadSession(): Session | null {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
  } catch {
    return null;
  }
}

function saveSession(session: Session | null) {
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** Clerk's API errors carry `errors[0].message`; fall back to the status. */
async function apiError(response: Response, what: string): Promise<Error> {
  const body = await response.json().catch(() => undefined);
  const message = body?.errors?.[0]?.long_message ?? body?.errors?.[0]?.message;
  return new Error(`${what}: HTTP ${response.status}${message ? ` (${message})` : ''}`);
}

export function ClerkProvider({ frontendApi, children }: { frontendApi: string; children: ReactNode }) {
  const [session, setSessionState] = useState<Session | null>(loadSession);
  const [users, setUsers] = useState<DemoUser[]>();
  const [usersError, setUsersError] = useState<string>();
  // getToken runs outside React's render: it checks the live session here,
  // so a call made after sign-out resolves null like Clerk's.
  const current = useRef(session);

  const setSession = useCallback((next: Session | null) => {
    current.current = next;
    saveSession(next);
    setSessionState(next);
  }, []);

  useEffect(() => {
    fetch(`${frontendApi}/v1/demo/users`)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then(setUsers)
      .catch((e: unknown) =>
        setUsersError(`Cannot reach the Clerk stand-in at ${frontendApi} (${String(e)}). Is \`make demo\` running?`),
      );
  }, [frontendApi]);

  const signIn = useCallback(
    async (userId: string) => {
      const response = await fetch(`${frontendApi}/v1/client/sign_ins`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_id: userId }),
      });
      if (!response.ok) throw await apiError(response, 'Sign-in failed');
      const { session_id, user_id } = (await response.json()) as { session_id: string; user_id: string };
      setSession({ sessionId: session_id, userId: user_id });
    },
    [frontendApi, setSession],
  );

  const sessionId = session?.sessionId;

  // One function per session, as Clerk's: code that keys a token cache on
  // `getToken` (or `userId`) gets a new cache when the user changes.
  const getToken = useCallback(
    async (options: GetTokenOptions = {}): Promise<string | null> => {
      if (!sessionId || current.current?.sessionId !== sessionId) return null;
      const template = encodeURIComponent(options.template ?? 'default');
      const query = options.skipCache ? '?debug=skip_cache' : '';
      const response = await fetch(`${frontendApi}/v1/client/sessions/${sessionId}/tokens/${template}${query}`, {
        method: 'POST',
      });
      if (response.status === 401) {
        // The session ended elsewhere (or the stand-in restarted): signed out.
        if (current.current?.sessionId === sessionId) setSession(null);
        return null;
      }
      if (!response.ok) throw await apiError(response, 'Token request failed');
      return ((await response.json()) as { jwt: string }).jwt;
    },
    [frontendApi, sessionId, setSession],
  );

  const signOut = useCallback(async () => {
    if (!sessionId) return;
    setSession(null);
    // Ending the session makes the stand-in refuse any later token request
    // for it. Signing out locally must not wait on (or fail with) that call.
    await fetch(`${frontendApi}/v1/client/sessions/${sessionId}/end`, { method: 'POST' }).catch(() => undefined);
  }, [frontendApi, sessionId, setSession]);

  const value = useMemo<StandIn>(
    () => ({
      auth: {
        isLoaded: true,
        isSignedIn: !!session,
        userId: session?.userId ?? null,
        sessionId: session?.sessionId ?? null,
        getToken,
        signOut,
      },
      users,
      usersError,
      signIn,
    }),
    [session, getToken, signOut, users, usersError, signIn],
  );

  return <Context.Provider value={value}>{children}</Context.Provider>;
}

function useStandIn(): StandIn {
  const value = useContext(Context);
  if (!value) throw new Error('useAuth() must be used inside <ClerkProvider>');
  return value;
}

/** Clerk's `useAuth()`, same shape. */
export function useAuth(): Auth {
  return useStandIn().auth;
}

/** The stand-in's sign-in: pick a demo user (real Clerk: its `<SignIn />`). */
export function useDemoSignIn() {
  const { users, usersError, signIn } = useStandIn();
  return { users, usersError, signIn };
}
