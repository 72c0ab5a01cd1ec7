import { ClerkProvider, useAuth } from './clerk-standin';
import { FaunaProvider } from './fauna';
import { config } from './config';
import { SignInScreen } from './components/SignInScreen';
import { SignedInScreen } from './components/SignedInScreen';

function Screen() {
  const { isLoaded, isSignedIn } = useAuth();
  if (!isLoaded) return <p className="muted">Loading…</p>;
  if (!isSignedIn) return <SignInScreen />;
  return (
    <FaunaProvider fallback={<p className="muted">Loading clerk-fauna…</p>}>
      <SignedInScreen />
    </FaunaProvider>
  );
}

export function App() {
  return (
    <ClerkProvider frontendApi={config.clerkUrl}>
      <header className="top">
        <h1>
          clerk-fauna <span className="muted">demo</span>
        </h1>
        <p className="muted small">
          Clerk stand-in <code>{config.clerkUrl}</code> · Fauna stand-in <code>{config.faunaUrl}</code> · template{' '}
          <code>{config.template}</code>
        </p>
      </header>
      <main>
        <Screen />
      </main>
    </ClerkProvider>
  );
}
