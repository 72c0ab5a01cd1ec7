import { ClerkProvider, useAuth } from '@clerk/react';
// clerk-js bundled with the app: nothing is loaded from a CDN, and no
// prebuilt UI (the sign-in screen is the demo's own).
import { Clerk } from '@clerk/clerk-js';
import { FaunaProvider } from './fauna';
import { config } from './config';
import { SignInScreen } from './components/SignInScreen';
import { SignedInScreen } from './components/SignedInScreen';

// One clerk-js instance for the page, passed to the provider. Given the class
// instead, the provider constructs one per mount, and React's StrictMode
// (which mounts twice in development) leaves the hooks listening to one
// instance while the sign-in goes through the other.
const clerk = new Clerk(config.publishableKey, { proxyUrl: config.clerkUrl });

function Screen() {
  const { isLoaded, isSignedIn } = useAuth();
  if (!isLoaded) return <p className="muted" data-testid="clerk-loading">Loading Clerk…</p>;
  if (!isSignedIn) return <SignInScreen />;
  return (
    <FaunaProvider fallback={<p className="muted">Loading clerk-fauna…</p>}>
      <SignedInScreen />
    </FaunaProvider>
  );
}

export function App() {
  return (
    <ClerkProvider publishableKey={config.publishableKey} proxyUrl={config.clerkUrl} Clerk={clerk} telemetry={false}>
      <header className="top">
        <h1>
          clerk-fauna <span className="muted">demo</span>
        </h1>
        <p className="muted small">
          Clerk {config.clerkUrl ? <>stand-in <code>{config.clerkUrl}</code></> : 'Frontend API from the publishable key'} ·
          Fauna <code>{config.faunaUrl}</code> · template <code>{config.template}</code>
        </p>
      </header>
      <main>
        <Screen />
      </main>
    </ClerkProvider>
  );
}
