import { useEffect, useState } from 'react';
import type { TokenCacheStats } from 'clerk-fauna/web';
import { useFauna } from '../fauna';
import { config } from '../config';

interface Snapshot {
  stats: TokenCacheStats;
  /** Seconds until the cached token's `exp`, if one is cached. */
  secondsLeft?: number;
  lifetime?: number;
}

function snapshot(tokens: ReturnType<typeof useFauna>['tokens']): Snapshot {
  const claims = tokens.claims();
  const exp = typeof claims?.exp === 'number' ? claims.exp : undefined;
  const iat = typeof claims?.iat === 'number' ? claims.iat : undefined;
  return {
    stats: tokens.stats,
    // Display only: the cache itself times tokens from their arrival, not
    // from this device's clock.
    secondsLeft: exp === undefined ? undefined : Math.max(0, exp - Date.now() / 1000),
    lifetime: exp !== undefined && iat !== undefined ? exp - iat : undefined,
  };
}

/** The cache at work: counters and the cached token's remaining life, each second. */
export function TokenPanel() {
  const { tokens } = useFauna();
  const [now, setNow] = useState(() => snapshot(tokens));

  useEffect(() => {
    const timer = setInterval(() => setNow(snapshot(tokens)), 1000);
    return () => clearInterval(timer);
  }, [tokens]);

  const { stats, secondsLeft, lifetime } = now;
  const calls = stats.misses + stats.refreshes;
  return (
    <section className="card panel" data-testid="token-panel">
      <h2>Token cache</h2>
      <dl className="stats">
        <dt>Template</dt>
        <dd>
          <code>{config.template}</code>
          {lifetime !== undefined && <span className="muted"> ({lifetime} s tokens)</span>}
        </dd>
        <dt>Token expires in</dt>
        <dd data-testid="seconds-left">{secondsLeft === undefined ? '—' : `${Math.floor(secondsLeft)} s`}</dd>
        <dt title="Calls answered from the cache">Hits</dt>
        <dd data-testid="stat-hits">{stats.hits}</dd>
        <dt title="Calls that shared a getToken call already in flight">Joins</dt>
        <dd data-testid="stat-joins">{stats.joins}</dd>
        <dt title="getToken calls because nothing usable was cached">Misses</dt>
        <dd data-testid="stat-misses">{stats.misses}</dd>
        <dt title="getToken calls to replace a token: refresh-ahead, skipCache, after a 401">Refreshes</dt>
        <dd data-testid="stat-refreshes">{stats.refreshes}</dd>
        <dt title="getToken calls that ended without a usable token">Failures</dt>
        <dd data-testid="stat-failures">{stats.failures}</dd>
      </dl>
      <p className="muted small">
        <strong data-testid="stat-calls">{calls}</strong> <code>getToken</code> call{calls === 1 ? '' : 's'} in all
        (misses + refreshes).
      </p>
    </section>
  );
}
