// One TokenCache per signed-in user, and one FaunaClient sharing it, from
// the package's React hook, handed to the signed-in screen through context.

import { Component, createContext, useContext } from 'react';
import type { ReactNode } from 'react';
import type { FaunaClient, TokenCache } from 'clerk-fauna/web';
import { useFaunaSession } from 'clerk-fauna/react';
import { useAuth } from '@clerk/react';
import { config } from './config';

export interface Fauna {
  tokens: TokenCache;
  fauna: FaunaClient;
}

const Context = createContext<Fauna | null>(null);

/** Provides the user's clients to its children once the .wasm is loaded. */
export function FaunaProvider({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  return (
    <LoadErrorBoundary>
      <Session fallback={fallback}>{children}</Session>
    </LoadErrorBoundary>
  );
}

function Session({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  const { getToken, userId, sessionId } = useAuth();
  // A new cache per user and session; the old one is cleared and freed.
  const session = useFaunaSession(getToken, {
    userId,
    sessionId,
    template: config.template,
    minValiditySeconds: config.minValiditySeconds,
    refreshAheadSeconds: config.refreshAheadSeconds,
    endpoint: config.faunaUrl,
    maxAttempts: config.maxAttempts,
  });
  if (!session) return <>{fallback}</>;
  // key: a new user's screen starts from scratch, not with the last one's state.
  return (
    <Context.Provider value={session} key={userId}>
      {children}
    </Context.Provider>
  );
}

/** useFaunaSession throws if the .wasm cannot load: say so on the page. */
class LoadErrorBoundary extends Component<{ children: ReactNode }, { error?: unknown }> {
  state: { error?: unknown } = {};

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  render() {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    const text = error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
    return (
      <p className="error" data-testid="load-error">
        Could not load clerk-fauna: {text}
      </p>
    );
  }
}

export function useFauna(): Fauna {
  const value = useContext(Context);
  if (!value) throw new Error('useFauna() must be used inside <FaunaProvider>');
  return value;
}
