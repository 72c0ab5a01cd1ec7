import { useState } from 'react';
import { useFauna } from '../fauna';
import { toShownError } from '../errors';
import type { ShownError } from '../errors';
import { ErrorBox } from './ErrorBox';

interface Identity {
  v4: string;
  v10: string;
}

/** `{ "id": "user_…" }`, on one line. */
function show(id: string): string {
  return `{ "id": ${JSON.stringify(id)} }`;
}

/**
 * The integration guide's first check: Fauna sees the Clerk user. Asked two
 * ways, FQL v4 `CurrentIdentity()` and FQL v10 `Query.token().sub` (under a
 * JWT, v10's `Query.identity()` is null).
 */
export function Whoami() {
  const { fauna } = useFauna();
  const [identity, setIdentity] = useState<Identity>();
  const [error, setError] = useState<ShownError>();
  const [busy, setBusy] = useState(false);

  async function ask() {
    setBusy(true);
    setError(undefined);
    try {
      // Both at once: they share one token (one getToken call at most).
      const [v4, v10] = await Promise.all([
        fauna.currentIdentity(),
        fauna.query<string>('Query.token().sub').then((r) => r.data),
      ]);
      setIdentity({ v4, v10 });
    } catch (e) {
      setIdentity(undefined);
      setError(toShownError(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card">
      <h2>Who does Fauna think I am?</h2>
      <button type="button" className="primary" onClick={ask} disabled={busy} data-testid="whoami">
        {busy ? 'Querying…' : 'Make authenticated query'}
      </button>
      {identity && (
        <div className="identities">
          <figure>
            <figcaption>
              FQL v4 <code>CurrentIdentity()</code>
            </figcaption>
            <pre data-testid="identity-v4">{show(identity.v4)}</pre>
          </figure>
          <figure>
            <figcaption>
              FQL v10 <code>Query.token().sub</code>
            </figcaption>
            <pre data-testid="identity-v10">{show(identity.v10)}</pre>
          </figure>
        </div>
      )}
      <ErrorBox error={error} />
    </section>
  );
}
