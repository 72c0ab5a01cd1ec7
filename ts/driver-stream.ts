// The official `fauna` driver's stream client, run on clerk-fauna's own
// stream engine: the driver's secret is never sent, and what Fauna does at a
// token's expiry (a `permission_loss` error event, then 401 for that token)
// is handled underneath, so the driver reads one unbroken stream.
//
// What this answers to, in the `fauna` driver 2.5.0 (fauna/fauna-js):
// - src/http-client/http-client.ts: `HTTPStreamClient.stream(HTTPStreamRequest)`
//   returns a `StreamAdapter` `{ read: AsyncGenerator<string>, close() }`; the
//   request is `{ data: { token, cursor? }, headers: { Authorization }, method: 'POST' }`.
// - src/client.ts `StreamClient.#startStream`: each string `read` yields is one
//   event, decoded as tagged JSON; an `error` event is fatal (the driver closes
//   and throws `getServiceError(event)`, a `ServiceError` with the event's
//   `code` and `message`); every event's `cursor` becomes its resume point.
// - src/client.ts `StreamClient[Symbol.asyncIterator]`: when `read` ends, or
//   throws anything but a `FaunaError`, the driver connects again by itself
//   from that cursor (after a backoff, up to `max_attempts`). So `read` here
//   never ends but by `close()`, and never throws: a fatal end becomes an
//   error event, and the reconnect decisions stay with the engine's core.
// - src/client.ts `Client.stream()`: the driver streams through its HTTP
//   client when that has a `stream` method (`isStreamClient`); its
//   constructor has no separate stream-client argument.

import { ClerkFaunaError } from './errors.js';
import { Queue, type EngineOptions, type Sink, type StreamHandle } from './stream.js';

/** The body the `fauna` driver sends to `/stream/1` (its `StreamRequest`). */
export interface FaunaStreamRequestData {
  token: string;
  cursor?: string;
  start_ts?: number;
}

/** A request from the `fauna` driver to its stream client (its `HTTPStreamRequest`). */
export interface FaunaHttpStreamRequest {
  data: FaunaStreamRequestData;
  /** The driver's own `Authorization`: replaced by the signed-in user's token. */
  headers: Record<string, string | undefined>;
  method: 'POST';
  path?: string;
}

/** One stream as the `fauna` driver reads it (its `StreamAdapter`): each string is one event's JSON. */
export interface FaunaStreamAdapter {
  read: AsyncGenerator<string, void, undefined>;
  close(): void;
}

/** The official `fauna` driver's `HTTPStreamClient` interface, authenticated by clerk-fauna. */
export interface FaunaHttpStreamClient {
  stream(request: FaunaHttpStreamRequest): FaunaStreamAdapter;
}

/** Starts an engine stream (`runStream` of stream.ts, for one client) of event source `token`. */
export type RunStream = (token: string, options: EngineOptions, sink: Sink) => StreamHandle;

/**
 * How a stream ended, as an error event the driver throws as its
 * `ServiceError`: Fauna's own code when Fauna gave one (so the driver picks
 * its class for it, e.g. `InvalidRequestError`), else clerk-fauna's
 * (`signed_out`, `cleared`, ...); the message with the hint, if any.
 */
export function errorLine(error: unknown): string {
  const known = error instanceof ClerkFaunaError;
  const code = known ? (error.faunaCode ?? error.code) : 'stream_failed';
  const message = known ? [error.message, error.hint].filter(Boolean).join(' ') : `clerk-fauna's stream failed: ${String(error)}`;
  return JSON.stringify({ type: 'error', error: { code, message } });
}

/** The driver's stream client on engine streams started by `run`. */
export function driverStreamClient(run: RunStream): FaunaHttpStreamClient {
  return {
    stream({ data }) {
      // Events as Fauna sent them (the driver decodes the tagged format
      // itself), until the driver has read them, then the end.
      const lines = new Queue(undefined, (_value, line) => line);
      // The driver's `cursor` (and `start_ts`, which 2.5.0 does not send) say
      // where to start; its `Authorization` is not used. Status events are
      // the driver's to filter: the engine passes the opening one and idle
      // ones, never a reconnection's. A bad cursor or a freed client ends it.
      const options = { cursor: data.cursor ?? undefined, startTs: data.start_ts ?? undefined, statusEvents: true };
      lines.run(() => run(data.token, options, lines));
      async function* read(): AsyncGenerator<string, void, undefined> {
        try {
          for (let next; !(next = await lines.next()).done; ) yield next.value;
        } catch (error) {
          yield errorLine(error);
        } finally {
          // The driver's `break` returns this generator without close().
          lines.close();
        }
      }
      return {
        read: read(),
        close() {
          lines.items.length = 0;
          lines.close();
        },
      };
    },
  };
}
