import { useState } from 'react';
import { useDemoSignIn } from '../clerk-standin';
import { config } from '../config';

/** Signed out: pick one of the stand-in's demo users (real Clerk: `<SignIn />`). */
export function SignInScreen() {
  const { users, usersError, signIn } = useDemoSignIn();
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();

  async function choose(userId: string) {
    setBusy(userId);
    setError(undefined);
    try {
      await signIn(userId);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(undefined);
    }
  }

  return (
    <section className="card narrow" data-testid="signed-out">
      <h2>Sign in</h2>
      <p className="muted">
        A demo user of the local Clerk stand-in at <code>{config.clerkUrl}</code>. No password: it is a stand-in.
      </p>
      {usersError && <p className="error">{usersError}</p>}
      {!users && !usersError && <p className="muted">Loading users…</p>}
      <ul className="users">
        {users?.map((u) => (
          <li key={u.id}>
            <button type="button" className="user" disabled={!!busy} onClick={() => choose(u.id)} data-testid={`sign-in-${u.first_name}`}>
              <span className="avatar">{u.first_name[0]}</span>
              <span>
                <strong>
                  {u.first_name} {u.last_name}
                </strong>
                <br />
                <span className="muted small">{u.email}</span>
              </span>
            </button>
          </li>
        ))}
      </ul>
      {error && <p className="error">{error}</p>}
    </section>
  );
}
