import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { useSignIn } from '@clerk/react';
import { config } from '../config';
import { demoTicket, demoUsers } from '../standin';
import type { DemoUser } from '../standin';

/**
 * Signed out: a ticket sign-in through clerk-js (`signIn.ticket`, then
 * `signIn.finalize()` makes the session active). On the stand-in, pick a demo
 * user and the ticket is fetched for you; with real Clerk, paste a sign-in
 * token made with the Backend API. No prebuilt Clerk UI (that needs @clerk/ui).
 */
export function SignInScreen() {
  const { signIn } = useSignIn();
  const [users, setUsers] = useState<DemoUser[]>();
  const [usersError, setUsersError] = useState<string>();
  const [ticket, setTicket] = useState('');
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!config.clerkUrl) return;
    demoUsers().then(setUsers, (e: unknown) =>
      setUsersError(`Cannot reach the Clerk stand-in at ${config.clerkUrl} (${String(e)}). Is \`make demo\` running?`),
    );
  }, []);

  async function signInWith(label: string, getTicket: () => Promise<string>) {
    setBusy(label);
    setError(undefined);
    try {
      const created = await signIn.ticket({ ticket: await getTicket() });
      if (created.error) throw created.error;
      const finalized = await signIn.finalize();
      if (finalized.error) throw finalized.error;
      // Signed in: this screen is replaced.
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(undefined);
    }
  }

  function submitTicket(event: FormEvent) {
    event.preventDefault();
    const value = ticket.trim();
    if (value) void signInWith('ticket', async () => value);
  }

  return (
    <section className="card narrow" data-testid="signed-out">
      <h2>Sign in</h2>
      {config.clerkUrl && (
        <p className="muted">
          A demo user of the local Clerk stand-in at <code>{config.clerkUrl}</code>, signed in by clerk-js with a
          one-use ticket. No password: it is a stand-in.
        </p>
      )}
      {usersError && <p className="error">{usersError}</p>}
      {config.clerkUrl && !users && !usersError && <p className="muted">Loading users…</p>}
      <ul className="users">
        {users?.map((u) => (
          <li key={u.id}>
            <button
              type="button"
              className="user"
              disabled={!!busy}
              onClick={() => signInWith(u.id, () => demoTicket(u.id))}
              data-testid={`sign-in-${u.first_name}`}
            >
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
      <form className="row" onSubmit={submitTicket}>
        <input
          value={ticket}
          onChange={(e) => setTicket(e.target.value)}
          placeholder="…or paste a sign-in token (ticket)"
          aria-label="Sign-in token"
          data-testid="ticket-input"
        />
        <button type="submit" className="secondary" disabled={!!busy || !ticket.trim()}>
          Sign in
        </button>
      </form>
      {error && (
        <p className="error" data-testid="sign-in-error">
          {error}
        </p>
      )}
    </section>
  );
}
