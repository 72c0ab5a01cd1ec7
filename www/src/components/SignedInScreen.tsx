import { useState } from 'react';
import { useAuth, useDemoSignIn } from '../clerk-standin';
import { useFauna } from '../fauna';
import { Whoami } from './Whoami';
import { Todos } from './Todos';
import { TokenPanel } from './TokenPanel';
import { QueryLoop } from './QueryLoop';

function UserBar() {
  const { userId, signOut } = useAuth();
  const { users } = useDemoSignIn();
  const { tokens } = useFauna();
  const [busy, setBusy] = useState(false);
  const user = users?.find((u) => u.id === userId);

  async function leave() {
    setBusy(true);
    // Drop this user's tokens first: nothing may use them after sign-out.
    tokens.clear();
    await signOut();
  }

  return (
    <div className="userbar">
      <span className="avatar">{user?.first_name[0] ?? '?'}</span>
      <span>
        Signed in as <strong data-testid="user-name">{user ? `${user.first_name} ${user.last_name}` : userId}</strong>
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
