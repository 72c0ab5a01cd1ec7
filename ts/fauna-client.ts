// FaunaClient: each call's waiting and I/O. The core builds each request
// and judges each answer (done, refresh the token once, or wait and retry).

import { Api, Next, type Core } from './core.js';
import { ClerkFaunaError, fail, freed, fromCore, invalid, networkError, noAnswer } from './errors.js';
import { driverStreamClient, type FaunaHttpStreamClient } from './driver-stream.js';
import { asString, authenticatedFetch, httpClient, isJsonObject, judged, live, parseJson, type FaunaHttpClient, type Sender } from './fetch.js';
import {
  clientOptions,
  defaults,
  feedOptions,
  freeing,
  own,
  queryOptions,
  readOptions,
  streamOptions,
  toJson,
  type FaunaClientOptions,
  type FeedOptions,
  type QueryOptions,
  type StreamOptions,
} from './options.js';
import { FaunaFeed, FaunaStream, runStream, type EventSourceInput, type Source } from './stream.js';
import { within } from './timers.js';
import { cacheOf, notFromItself, tokenFor, type TokenCache } from './token-cache.js';

/** A successful FQL v10 query. */
export interface QueryResult<T = unknown> {
  data: T;
  /** The transaction time, in microseconds. */
  txnTs: number;
  stats: Record<string, unknown>;
  summary?: string;
  staticType?: string;
  schemaVersion?: number;
  queryTags?: string;
}

/** A FaunaClient's state. */
interface Client extends Sender {
  /** The client's option set in the core. */
  options: number;
  /** Abandon a request after this long. */
  deadlineMs: number;
  endpoint: string;
  /** Where the fetch wrappers may send the token. */
  origins: string[];
  lastTxnTs?: number;
  authenticatedFetch?: typeof fetch;
  /** `format` 'simple': stream and feed events are untagged. */
  simple: boolean;
  /** Its live streams and feeds: free() ends them with `freed`. */
  streams: Set<() => void>;
}

// A client the garbage collector takes leaves the module: its option set is dropped.
const optionSets = new FinalizationRegistry<{ core: Core; set: number }>(({ core, set }) => core.optionsDrop(set));

/** A new option set in `core`: `base`'s with the options read laid over it. */
function optionSet(core: Core, base: number, o: ReturnType<typeof readOptions<typeof clientOptions>>): number {
  // `+`: a number as it is, a flag as 0 or 1, not given as NaN.
  const n = (v: number | boolean | undefined) => +v!;
  return (
    core.optionsNew(
      base,
      o.endpoint,
      o.graphqlEndpoint,
      o.format,
      n(o.queryTimeoutMs),
      n(o.maxAttempts),
      n(o.maxBackoffMs),
      n(o.typecheck),
      n(o.linearized),
      n(o.maxContentionRetries),
      o.queryTags,
      o.traceparent,
    ) || fail(core)
  );
}

/** A JSON-serialisable object argument (`arguments`, `variables`) as JSON, or undefined. */
function jsonObject(value: unknown, what: string): string | undefined {
  if (value == null) return undefined;
  const json = typeof value === 'object' && !Array.isArray(value) ? toJson(value) : undefined;
  if (json === undefined) throw invalid(`${what} must be a plain object that JSON can hold.`);
  return json;
}

/** fetch + body text, abandoned (and aborted) after `deadlineMs`. */
function exchange(send: typeof fetch, request: string, token: string, deadlineMs: number): Promise<[number, string, string | null]> {
  // `url \n name \n value ... \n\n body`, from the core.
  const split = request.indexOf('\n\n');
  const lines = request.slice(0, split).split('\n');
  // No prototype: a setter on Object.prototype never sees a header.
  const headers: Record<string, string> = Object.create(null);
  headers.Authorization = `Bearer ${token}`;
  for (let i = 1; i < lines.length; i += 2) headers[lines[i]!] = lines[i + 1]!;
  const controller = new AbortController();
  // fetch is called now, not a tick later (the user was checked just
  // before); a synchronous throw still becomes a rejection. The token never
  // follows a redirect: Fauna sends none.
  const answer = (async (): Promise<[number, string, string | null]> => {
    try {
      const response = await send(lines[0]!, {
        method: 'POST',
        headers,
        body: request.slice(split + 2),
        signal: controller.signal,
        redirect: 'error',
      });
      return [response.status, await response.text(), response.headers.get('retry-after')];
    } catch (e) {
      throw networkError(e);
    }
  })();
  return within(deadlineMs, answer, () => {
    controller.abort();
    return noAnswer(deadlineMs);
  });
}

/**
 * Runs one call to its end: a token, the request, the answer judged by the
 * core, then done, a token refresh, or a wait and retry. `temporary`: an
 * option set made for this call (dropped after), else the client's.
 */
async function send(c: Client, api: Api, query: string, json: string | undefined, temporary = 0, wantString = false): Promise<any> {
  const options = temporary || c.options;
  try {
    const deadlineMs = temporary ? c.cache.core.optionsDeadline(temporary) : c.deadlineMs;
    // A call begun in this epoch never goes on as another user.
    const epoch = live(c);
    let token = await notFromItself(tokenFor(c.cache));
    for (let attempt = 1, refreshed = false; ; ) {
      // Checked right before fetch is called, in the same tick.
      live(c, epoch);
      const request = c.cache.core.request(options, api, c.lastTxnTs, query, json) ?? fail(c.cache.core);
      const [status, answer, retryAfter] = await exchange(c.fetch ?? globalThis.fetch, request, token, deadlineMs);
      // An answer that comes after free() is not handed out.
      live(c);
      const body = parseJson(answer);
      const object = isJsonObject(body);
      const error = api === Api.V10 ? body?.error : body?.errors?.[0];
      const next = c.cache.core.judge(
        options,
        api,
        status,
        object,
        object && Object.hasOwn(body, api === Api.V4 ? 'resource' : 'data'),
        api === Api.GraphQl ? undefined : asString(error?.code),
        asString(api === Api.V4 ? error?.description : error?.message),
        Array.isArray(body?.errors) && body.errors.length > 0,
        retryAfter ?? undefined,
        attempt,
        refreshed,
        Math.random(),
      );
      if (next === Next.Fail) throw judged(c, fromCore(c.cache.core.lastError(), undefined, body), token);
      if (next === Next.Done) return result(c, api, body, wantString);
      if (next === Next.Refresh) {
        live(c, epoch);
        token = await notFromItself(tokenFor(c.cache, token));
        refreshed = true;
      } else {
        await new Promise((resolve) => setTimeout(resolve, next));
        attempt += 1;
      }
    }
  } finally {
    if (temporary) c.cache.core.optionsDrop(temporary);
  }
}

/** The value a successful call resolves to. */
function result(c: Client, api: Api, body: any, wantString: boolean): unknown {
  if (api === Api.V4) {
    if (wantString && typeof body.resource !== 'string') {
      throw new ClerkFaunaError('protocol_error', 'CurrentIdentity() did not return a string.');
    }
    return body.resource;
  }
  if (api === Api.GraphQl) return body.data;
  const { txn_ts } = body;
  if (typeof txn_ts === 'number' && !(c.lastTxnTs! >= txn_ts)) c.lastTxnTs = txn_ts;
  // A literal, not assignments: a setter on Object.prototype never sees a
  // member. Those the answer lacks are then deleted, the last one first
  // (cheaper than spreading an object per member, on every query's path).
  const r: Partial<QueryResult> = {
    data: body.data,
    txnTs: txn_ts,
    stats: body.stats,
    summary: body.summary,
    staticType: body.static_type,
    schemaVersion: body.schema_version,
    queryTags: body.query_tags,
  };
  if (r.queryTags === undefined) delete r.queryTags;
  if (r.schemaVersion === undefined) delete r.schemaVersion;
  if (r.staticType === undefined) delete r.staticType;
  if (r.summary === undefined) delete r.summary;
  return r;
}

/**
 * The event source token `source` names, or a query whose result is one
 * (run in the tagged format, where a stream token is unmistakable). Throws
 * `invalid_option` for anything else, or `arguments` beside a token.
 */
function eventSource(c: Client, source: EventSourceInput, args: unknown, o: { cursor?: string; startTs?: number }): Source {
  if (o.cursor !== undefined && o.startTs !== undefined) throw invalid('cursor and startTs cannot both be given.');
  if (typeof source === 'string') {
    const json = jsonObject(args, 'arguments');
    return async () => {
      live(c);
      const tagged = optionSet(c.cache.core, c.options, { format: 'tagged' });
      const { data } = await send(c, Api.V10, source, json, tagged);
      const token = own(data, '@stream');
      if (typeof token !== 'string') {
        throw invalid('The query did not return an event source: end it with .eventSource() or .eventsOn(...), e.g. Todo.all().eventSource().');
      }
      return token;
    };
  }
  const token = typeof source === 'object' ? (own(source, 'token') ?? own(source, '@stream')) : undefined;
  if (typeof token !== 'string' || token === '') {
    throw invalid("An event source is FQL text, { token } or { '@stream': token }.");
  }
  if (args != null) throw invalid('arguments go with FQL text, not with a stream token.');
  return token;
}

/**
 * A client for Fauna's HTTP APIs that authenticates every request with the
 * signed-in user's token from a `TokenCache`. After `free()`, its methods
 * throw `freed`.
 */
export class FaunaClient {
  readonly #state: Client;

  /** The state, for a method: a freed client's methods throw `freed`. */
  get #c(): Client {
    if (this.#state.freed) throw freed();
    return this.#state;
  }

  /**
   * A client sharing `tokens` (not consuming it: the cache stays usable,
   * and `tokens.clear()` affects every client built on it). Throws
   * `invalid_option` for bad options.
   */
  constructor(tokens: TokenCache, options?: FaunaClientOptions) {
    const cache = cacheOf(tokens);
    const o = readOptions(options, 'FaunaClient options', clientOptions);
    const endpoint = o.endpoint ?? defaults.endpoint;
    const graphqlEndpoint = o.graphqlEndpoint ?? defaults.graphqlEndpoint;
    // The cache's module: a client's option sets live beside its tokens.
    const { core } = cache;
    const set = optionSet(core, 0, { ...o, endpoint, graphqlEndpoint });
    const c: Client = {
      cache,
      freed: false,
      fetch: o.fetch,
      options: set,
      deadlineMs: core.optionsDeadline(set),
      endpoint,
      origins: [endpoint, graphqlEndpoint, ...(o.allowedOrigins ?? [])].map((url) => new URL(url).origin),
      simple: o.format !== 'tagged',
      streams: new Set(),
    };
    this.#state = c;
    optionSets.register(c, { core, set }, c);
  }

  /** Runs an FQL v10 query (`POST /query/1`) as the signed-in user. */
  query<T = unknown>(fql: string, args?: Record<string, unknown>, options?: QueryOptions): Promise<QueryResult<T>> {
    const c = this.#c;
    let temporary = 0;
    try {
      if (typeof fql !== 'string') throw invalid('query needs the FQL text as a string.');
      // A set is made from the client's only while its cache lives.
      live(c);
      if (options != null) {
        const o = readOptions(options, 'query options', queryOptions);
        // Only overrides need a set of their own.
        if (Object.keys(o).length) temporary = optionSet(c.cache.core, c.options, o);
      }
      return send(c, Api.V10, fql, jsonObject(args, 'arguments'), temporary);
    } catch (e) {
      if (temporary) c.cache.core.optionsDrop(temporary);
      return Promise.reject(e);
    }
  }

  /**
   * A live event stream that survives token expiry: FQL text whose result
   * is an event source (`Todo.all().eventSource()`), or a stream token from
   * an earlier query (`{ token }`, `{ '@stream': token }`). Starts
   * connecting at once. Throws `invalid_option` for bad options.
   */
  stream<T = unknown>(source: EventSourceInput, options?: StreamOptions): FaunaStream<T> {
    const c = this.#c;
    const o = readOptions(options, 'stream options', streamOptions);
    return new FaunaStream<T>(c, eventSource(c, source, o.arguments, o), o, c.simple);
  }

  /** An event feed of `source` (as for `stream`), page by page: nothing is fetched until iterated. */
  feed<T = unknown>(source: EventSourceInput, options?: FeedOptions): FaunaFeed<T> {
    const c = this.#c;
    const o = readOptions(options, 'feed options', feedOptions);
    return new FaunaFeed<T>(c, eventSource(c, source, o.arguments, o), o, c.simple);
  }

  /** Runs a legacy FQL v4 wire expression (`POST /`) and resolves to its `resource`. */
  queryV4(expr: unknown): Promise<unknown> {
    const c = this.#c;
    // undefined too: JSON cannot hold it.
    const json = toJson(expr);
    if (json === undefined) return Promise.reject(invalid('queryV4 needs a JSON wire expression.'));
    return send(c, Api.V4, json, undefined);
  }

  /** FQL v4 `CurrentIdentity()`: the `sub` of the signed-in user's token. */
  currentIdentity(): Promise<string> {
    return send(this.#c, Api.V4, '{"current_identity":null}', undefined, 0, true);
  }

  /** Sends a GraphQL request to `graphqlEndpoint` and resolves to its `data`. */
  graphql<T = unknown>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const c = this.#c;
    try {
      if (typeof query !== 'string') throw invalid('graphql needs the query text as a string.');
      return send(c, Api.GraphQl, query, jsonObject(variables, 'variables'));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * A `fetch` that adds `Authorization: Bearer <token>` (replacing any
   * placeholder secret) and, on a 401, refreshes the token and retries
   * once. Hand it to the official drivers and GraphQL clients. The same
   * function every time. Only to the origins of `endpoint`,
   * `graphqlEndpoint` and `allowedOrigins` (else `origin_not_allowed`,
   * nothing sent), never through a redirect; `cleared` if the user signed
   * out or changed meanwhile, `freed` after `free()` of the client or its
   * cache.
   */
  get fetch(): (input: RequestInfo | URL, init?: RequestInit) => Promise<Response> {
    const c = this.#c;
    return (c.authenticatedFetch ??= authenticatedFetch(c, c.origins));
  }

  /**
   * An HTTP client for the official `fauna` driver (v2, FQL v10), sending
   * to this client's `endpoint` through the authenticated `fetch` (and
   * its rules):
   * `new Client({ secret: 'placeholder', endpoint }, fauna.httpClient())`.
   * It is the driver's stream client too (`httpStreamClient()`'s `stream`):
   * the driver streams through its HTTP client.
   */
  httpClient(): FaunaHttpClient {
    return { ...httpClient(this.fetch, this.#c.endpoint), ...this.httpStreamClient() };
  }

  /**
   * The official `fauna` driver's stream client: its `client.stream()`
   * runs on this client's event streams, so a token's expiry (Fauna's
   * `permission_loss`), a 401 or a dropped connection is handled
   * underneath and the driver reads each event once, in order. A stream
   * that ends (`signed_out`, `cleared`, a query error) ends the driver's
   * with its `ServiceError`, `code` being Fauna's code or else
   * clerk-fauna's. `httpClient()` carries it already; this is for the
   * driver's per-stream `httpStreamClient` option.
   */
  httpStreamClient(): FaunaHttpStreamClient {
    const c = this.#c;
    return driverStreamClient((token, options, sink) => runStream(c, token, options, sink));
  }

  /**
   * The largest `txn_ts` Fauna has reported to this client, sent back as
   * `X-Last-Txn-Ts` so later queries see at least that state.
   */
  get lastTxnTs(): number | undefined {
    return this.#c.lastTxnTs;
  }

  /**
   * The calls in flight, the handed-out `fetch` and `httpClient()`, and the
   * streams and feeds send nothing more (`freed`). Twice does nothing. Throws `invalid_option` when
   * called from a Proxy, getter or `toJSON` while a call reads its arguments.
   */
  free(): void {
    freeing();
    const c = this.#state;
    if (c.freed) return;
    c.freed = true;
    optionSets.unregister(c);
    c.cache.core.optionsDrop(c.options);
    for (const end of [...c.streams]) end();
  }
}
