import { ClerkProvider, useAuth } from '@clerk/react';
// clerk-js bundled with the app and passed as a prop: nothing is loaded from
// a CDN, and no prebuilt UI (the sign-in screen is the demo's own).
import { Clerk } from '@clerk/clerk-js';
import { FaunaProvider } from './fauna';
import { config } from './config';
import { SignInScreen } from './components/SignInScreen';
import { SignedInScreen } from './components/SignedInScreen';

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
    <ClerkProvider publishableKey={config.publishableKey} proxyUrl={config.clerkUrl} Clerk={Clerk} telemetry={false}>
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
