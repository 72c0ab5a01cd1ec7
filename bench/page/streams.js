// The in-page half of the stream benchmarks (section 7 of BENCHMARKS.md):
// `fauna.stream()` against the Fauna stand-in over loopback, with real tokens
// from the Clerk stand-in and writes by another client (the root secret)
// from the same page, so one clock times both ends.

import { TokenCache, FaunaClient, decodeJwt } from '/pkg/web.js';

const SOURCE = 'Todo.all().eventSource()';

/** Milliseconds on the page's clock, comparable with `Date.now()` (a token's `exp`). */
const now = () => performance.timeOrigin + performance.now();

/** POSTs JSON to a stand-in; resolves to the JSON answer, or throws on a non-2xx. */
async function postJson(url, body, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** One of `owner`'s documents written with the root secret: `{ id, txnTs }`. */
async function writeAsRoot(fauna, owner, title) {
  const query = `Todo.create({ title: ${JSON.stringify(title)}, owner: ${JSON.stringify(owner)} })`;
  const answer = await postJson(`${fauna}/query/1`, { query }, { Authorization: 'Bearer secret' });
  return { id: answer.data.id, txnTs: answer.txn_ts };
}

/**
 * A `fetch` that records every stream connection: when it was sent, when
 * its answer came (`opened`), when its body ended or broke (`closed`), its
 * status and its token's `exp` (ms). The body is passed through unchanged.
 */
function recordingFetch(connections) {
  return async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.endsWith('/stream/1')) return fetch(input, init);
    const authorization = new Headers(init?.headers).get('authorization') ?? '';
    const connection = { sent: now(), opened: undefined, closed: undefined, status: 0, exp: decodeJwt(authorization.replace(/^Bearer /, '')).payload.exp * 1000 };
    connections.push(connection);
    const response = await fetch(input, init);
    connection.opened = now();
    connection.status = response.status;
    if (!response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            connection.closed = now();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (e) {
          connection.closed = now();
          controller.error(e);
        }
      },
      cancel(reason) {
        connection.closed = now();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/**
 * Starts a stream of `client`'s and a loop over its events: `arrivals` maps
 * each document id to when its event arrived; `ids` lists them in order.
 */
function watch(client) {
  const stream = client.stream(SOURCE);
  const seen = { arrivals: new Map(), ids: [], error: undefined, ended: false, stream };
  seen.done = (async () => {
    try {
      for await (const event of stream) {
        const id = event.data?.id;
        if (!seen.arrivals.has(id)) seen.arrivals.set(id, now());
        seen.ids.push(id);
      }
    } catch (e) {
      seen.error = `${e?.code}: ${e?.message}`;
    } finally {
      seen.ended = true;
    }
  })();
  return seen;
}

/** Resolves once `check()` is true, polling; rejects after `ms` naming `what`. */
async function until(check, ms, what) {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > ms) throw new Error(`no ${what} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * 7a. Write → event latency: `n` writes by the root secret, one at a time,
 * each timed from just before its request to its event's arrival on the
 * package's stream; beside it, the same write's own round trip and a
 * `fauna.query('1')` round trip (the baselines, measured in the same loop).
 */
async function streamLatency({ clerk, fauna, sessionId, userId, n }) {
  const getToken = async ({ template = 'fauna', skipCache = false } = {}) => {
    const query = skipCache ? '?debug=skip_cache' : '';
    return (await postJson(`${clerk}/v1/client/sessions/${sessionId}/tokens/${template}${query}`, {})).jwt;
  };
  const connections = [];
  const tokens = new TokenCache(getToken);
  const client = new FaunaClient(tokens, { endpoint: fauna, fetch: recordingFetch(connections) });
  const seen = watch(client);
  try {
    // The stream starts where its event source was made: only writes after
    // that reach it, so the first waits for the connection.
    await until(() => connections.some((c) => c.status === 200) || seen.ended, 30_000, 'connection');
    // Warm-up: the stream delivers, the query path is warm.
    const first = await writeAsRoot(fauna, userId, 'warm-up');
    await until(() => seen.arrivals.has(first.id) || seen.ended, 30_000, 'warm-up event');
    for (let i = 0; i < 20; i++) await client.query('1');
    const eventMs = [];
    const writeMs = [];
    const queryMs = [];
    for (let i = 0; i < n; i++) {
      const t0 = now();
      const { id } = await writeAsRoot(fauna, userId, `latency ${i}`);
      writeMs.push(now() - t0);
      await until(() => seen.arrivals.has(id) || seen.ended, 30_000, `event of write ${i}`);
      if (seen.ended) throw new Error(`the stream ended: ${seen.error}`);
      eventMs.push(seen.arrivals.get(id) - t0);
      const t1 = now();
      await client.query('1');
      queryMs.push(now() - t1);
    }
    return { eventMs, writeMs, queryMs };
  } finally {
    seen.stream.close();
    await seen.done;
    client.free();
    tokens.free();
  }
}

/**
 * 7b. Expiries: a stream on `lifetimeSeconds` tokens (minted by the Clerk
 * stand-in) held over `expiries` token expiries while the root secret writes
 * at random intervals; then one last write, whose event closes the count.
 * Returns each connection's timings and the events written, delivered,
 * lost, repeated and out of order.
 */
async function streamExpiries({ clerk, fauna, userId, expiries, lifetimeSeconds, maxPauseMs }) {
  const getToken = async () => (await postJson(`${clerk}/__admin/mint`, { user_id: userId, lifetime: lifetimeSeconds })).jwt;
  const connections = [];
  const tokens = new TokenCache(getToken, { refreshAheadSeconds: 0.5, minValiditySeconds: 0.5 });
  const client = new FaunaClient(tokens, { endpoint: fauna, fetch: recordingFetch(connections) });
  const seen = watch(client);
  const written = [];
  try {
    const opened = () => connections.filter((c) => c.opened !== undefined && c.status === 200).length;
    await until(() => opened() >= 1 || seen.ended, 30_000, 'connection');
    while (opened() <= expiries && !seen.ended) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * maxPauseMs));
      written.push((await writeAsRoot(fauna, userId, `expiries ${written.length}`)).id);
    }
    const last = await writeAsRoot(fauna, userId, 'last');
    written.push(last.id);
    // Generous: a lost last event shows as lost, after this wait.
    await until(() => seen.arrivals.has(last.id) || seen.ended, 30_000, 'last event').catch(() => undefined);
  } finally {
    seen.stream.close();
    await seen.done;
    client.free();
    tokens.free();
  }
  const delivered = new Set(seen.ids);
  const order = new Map(written.map((id, i) => [id, i]));
  const positions = seen.ids.map((id) => order.get(id));
  return {
    connections: connections.map(({ sent, opened, closed, status, exp }) => ({ sent, opened, closed, status, exp })),
    written: written.length,
    delivered: seen.ids.length,
    lost: written.filter((id) => !delivered.has(id)).length,
    repeated: seen.ids.length - delivered.size,
    outOfOrder: positions.filter((p, i) => i > 0 && !(p > positions[i - 1])).length,
    error: seen.error,
  };
}

export const streams = { streamLatency, streamExpiries };
