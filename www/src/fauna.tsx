// One TokenCache per signed-in user, and one FaunaClient sharing it, handed
// to the signed-in screen through context.

import { createContext, useContext, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import init, { ClerkFaunaError, FaunaClient, TokenCache } from 'clerk-fauna/web';
import { useAuth } from './clerk-standin';
import { config } from './config';

// Loads the .wasm once, for the whole page.
const ready = init();

export interface Fauna {
  tokens: TokenCache;
  fauna: FaunaClient;
  /** The user these clients belong to. */
  userId: string;
}

const Context = createContext<Fauna | null>(null);

/** Provides the user's clients to its children once the .wasm is loaded. */
export function FaunaProvider({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  const { getToken, userId } = useAuth();
  const [clients, setClients] = useState<Fauna>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!userId) return;
    let made: Fauna | undefined;
    let cancelled = false;
    ready
      .then(() => {
        if (cancelled) return;
        const tokens = new TokenCache(getToken, {
          template: config.template,
          minValiditySeconds: config.minValiditySeconds,
          refreshAheadSeconds: config.refreshAheadSeconds,
        });
        const fauna = new FaunaClient(tokens, { endpoint: config.faunaUrl, maxAttempts: config.maxAttempts });
        made = { tokens, fauna, userId };
        setClients(made);
      })
      .catch((e: unknown) => setError(e instanceof ClerkFaunaError ? `${e.code}: ${e.message}` : String(e)));
    return () => {
      // A user switch or sign-out: the old user's token must never serve the
      // next one. clear() also fails that user's waiting calls with `cleared`.
      cancelled = true;
      setClients(undefined);
      if (made) {
        made.tokens.clear();
        made.fauna.free();
        made.tokens.free();
      }
    };
  }, [getToken, userId]);

  if (error)
    return (
      <p className="error" data-testid="load-error">
        Could not load clerk-fauna: {error}
      </p>
    );
  // Until the effect has swapped them, the clients may still be the last user's.
  if (!clients || clients.userId !== userId) return <>{fallback}</>;
  // key: a new user's screen starts from scratch, not with the last one's state.
  return (
    <Context.Provider value={clients} key={userId}>
      {children}
    </Context.Provider>
  );
}

export function useFauna(): Fauna {
  const value = useContext(Context);
  if (!value) throw new Error('useFauna() must be used inside <FaunaProvider>');
  return value;
}
