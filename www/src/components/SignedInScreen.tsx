import { useState } from 'react';
import { useAuth, useUser } from '@clerk/react';
import { useFauna } from '../fauna';
import { Whoami } from './Whoami';
import { Todos } from './Todos';
import { TokenPanel } from './TokenPanel';
import { QueryLoop } from './QueryLoop';

function UserBar() {
  const { userId, signOut } = useAuth();
  const { user } = useUser();
  const { tokens } = useFauna();
  const [busy, setBusy] = useState(false);

  async function leave() {
    setBusy(true);
    // Drop this user's tokens first: nothing may use them after sign-out.
    tokens.clear();
    // The callback stands in for clerk-js's redirect to `afterSignOutUrl`:
    // the page stays, and shows the sign-in screen once signed out.
    await signOut(() => undefined);
  }

  return (
    <div className="userbar">
      <span className="avatar">{user?.firstName?.[0] ?? '?'}</span>
      <span>
        Signed in as <strong data-testid="user-name">{user?.fullName ?? userId}</strong>
        <br />
        <code className="small" data-testid="user-id">{userId}</code>
      </span>
      <button type="button" className="secondary" onClick={leave} disabled={busy} data-testid="sign-out">
        Sign out
      </button>
    </div>
  );
}

export function SignedInScreen() {
  return (
    <div data-testid="signed-in">
      <UserBar />
      <div className="grid">
        <div className="column">
          <Whoami />
          <Todos />
        </div>
        <div className="column">
          <TokenPanel />
          <QueryLoop />
        </div>
      </div>
    </div>
  );
}
