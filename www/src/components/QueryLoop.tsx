import { useEffect, useRef, useState } from 'react';
import { useFauna } from '../fauna';
import { config } from '../config';
import { toShownError } from '../errors';
import type { ShownError } from '../errors';
import { ErrorBox } from './ErrorBox';

interface Counts {
  ok: number;
  failed: number;
}

/**
 * A page that keeps querying, as a busy app does: with the 3-second template
 * it runs across many token expiries, and the counters show the cache
 * refreshing once per token, never sending one Fauna would refuse.
 */
export function QueryLoop() {
  const { fauna } = useFauna();
  const [running, setRunning] = useState(false);
  const [counts, setCounts] = useState<Counts>({ ok: 0, failed: 0 });
  const [lastError, setLastError] = useState<ShownError>();
  // Queries already sent when the loop stops still land in the counters.
  const live = useRef(true);

  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);

  useEffect(() => {
    if (!running) return;
    const tick = () => {
      for (let i = 0; i < config.burst; i++) {
        fauna.query<string>('Query.token().sub').then(
          () => live.current && setCounts((c) => ({ ...c, ok: c.ok + 1 })),
          (e: unknown) => {
            if (!live.current) return;
            setCounts((c) => ({ ...c, failed: c.failed + 1 }));
            setLastError(toShownError(e));
          },
        );
      }
    };
    tick();
    const timer = setInterval(tick, config.intervalMs);
    return () => clearInterval(timer);
  }, [running, fauna]);

  return (
    <section className="card">
      <div className="row spread">
        <h2>Keep querying</h2>
        <button
          type="button"
          className={running ? 'secondary' : 'primary'}
          onClick={() => setRunning((r) => !r)}
          data-testid="loop-toggle"
        >
          {running ? 'Stop' : 'Start'}
        </button>
      </div>
      <p className="muted small">
        {config.burst} × <code>Query.token().sub</code> every {config.intervalMs} ms.
      </p>
      <p className="counts">
        <span className="ok">
          <strong data-testid="loop-ok">{counts.ok}</strong> succeeded
        </span>
        <span className={counts.failed ? 'bad' : ''}>
          <strong data-testid="loop-failed">{counts.failed}</strong> failed
        </span>
        {running && <span className="pulse" aria-label="running" />}
      </p>
      <ErrorBox error={lastError} />
    </section>
  );
}
