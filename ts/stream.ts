// Event streams and feeds: the I/O around the core's Stream and Feed
// machines (src/core/stream.rs), which decide every step: when to
// (re)connect, from which cursor, with which token, which events reach the
// caller, how long to wait and how it ends. Here: fetch with a streaming
// body, lines, JSON.parse, timers, AbortController, and the public
// FaunaStream / FaunaFeed over them.
//
// The engine (internal; the official driver's httpStreamClient builds on it):
//
//   runStream(client, source, options, sink, epoch?): StreamHandle
//     client   a FaunaClient's state (`Streamer`: its TokenCache, fetch, endpoint)
//     source   the event source's token (the string of `{"@stream": ...}`)
//     options  { cursor?, startTs?, statusEvents?, maxAttempts?, maxBackoffMs? }
//              as read by options.ts (the core checks them again: a bad
//              combination throws invalid_option here)
//     sink     event(event, line): each event the caller should see, once and
//              in order: `line` JSON.parse'd as sent (Fauna's tagged format),
//              and the line's text; end(error): called once, undefined
//              after close(), else the ClerkFaunaError that ended it. Either
//              may be called before runStream returns; neither may throw.
//     epoch    optional: the token cache's epoch the stream belongs to
//              (default: the cache's now); in another, it ends with `cleared`.
//     returns  { close(), cursor }: close() ends it at once, aborting what
//              is in flight (end(undefined)); `cursor`: where a stream
//              started now would resume.
//   run(client, true, source, options + pageSize, sink, epoch?): FeedHandle,
//     the same for a feed, over /feed/1: event(page, text) per page; next() asks for the next
//     page (starting asks for the first); end(undefined) after the last.
//
// A stream ends with `cleared` at once when the token cache's epoch changes
// (clear(), a sign-out or another user), even while its connection is idle.

import { Input, Step, type Core } from './core.js';
import { ClerkFaunaError, fail, freed, fromCore, invalid } from './errors.js';
import { asString, isJsonObject, judged, live, parseJson, type Sender } from './fetch.js';
import { notFromItself, onEpoch, tokenFor } from './token-cache.js';

/** What runs a stream: a FaunaClient's state. */
export interface Streamer extends Sender {
  endpoint: string;
  /** Its live streams and feeds, each ended with `freed` by the client's free(). */
  streams: Set<() => void>;
}

/** The engine's options (StreamOptions / FeedOptions as read, without `arguments`). */
export interface EngineOptions {
  cursor?: string;
  startTs?: number;
  statusEvents?: boolean;
  pageSize?: number;
  maxAttempts?: number;
  maxBackoffMs?: number;
}

/** Where the engine hands events (or pages) and its end. */
export interface Sink {
  event(value: any, text: string): void;
  end(error: ClerkFaunaError | undefined): void;
}

export interface StreamHandle {
  close(): void;
  readonly cursor: string | undefined;
}

export interface FeedHandle extends StreamHandle {
  next(): void;
}

// A stream or feed that ended dropped its machine; one never ended (a feed
// left unread) is held by its client (and a stream by its cache's epoch
// listeners): when the garbage collector takes them all, its machine leaves
// the module too.
const machines = new FinalizationRegistry<{ core: Core; id: number }>(({ core, id }) => core.streamDrop(id));

/** A live event stream of `source` (see the top of this file). */
export const runStream = (c: Streamer, source: string, o: EngineOptions, sink: Sink, epoch?: number): StreamHandle =>
  run(c, false, source, o, sink, epoch);

/** A stream, or with `feed` an event feed of `source`, page by page (see the top of this file). */
function run(c: Streamer, feed: boolean, source: string, o: EngineOptions, sink: Sink, epoch = c.cache.epoch): FeedHandle {
  live(c);
  const { core } = c.cache;
  const id =
    core.streamNew(
      feed,
      source,
      o.cursor,
      o.startTs ?? NaN,
      !!o.statusEvents,
      o.pageSize ?? 0,
      o.maxAttempts ?? NaN,
      o.maxBackoffMs ?? NaN,
      epoch,
      Math.random() * 2 ** 32,
    ) || fail(core);
  let ended = false;
  // Numbers each token request, connection and wait: a report from one the
  // machine has moved on from is dropped.
  let attempt = 0;
  // Ends the connection in flight. In Node, aborting its signal is not
  // enough once fetch has answered: undici follows the signal through a weak
  // reference the garbage collector may clear, and the socket then stays
  // open (nodejs/undici#3644). Cancelling the body reaches the connection.
  let stop: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The token last sent (the one a Replacing demand replaces), and the
  // cause of the last token failure (kept on the error it ends with).
  let token: string | undefined;
  let cause: unknown;
  let endCursor: string | undefined;
  // A stream's connection may sit idle for minutes: the cache's epoch is
  // watched. A feed learns it with each page's token.
  const stopWatching = feed
    ? () => {}
    : onEpoch(c.cache, (epoch, signedOut) =>
        signedOut ? on(Input.TokenFailed, 'signed_out', 'getToken resolved null: the user signed out.') : on(Input.Epoch, undefined, undefined, epoch),
      );

  const free = () => on(Input.TokenFailed, 'freed', freed().message);
  c.streams.add(free);

  /** Reports a Fauna error object's code and message (`Refused`, `ErrorEvent`). */
  const fault = (input: Input, error: any, status?: number, object?: boolean, retryAfter?: string) =>
    on(input, asString(error?.code), asString(error?.message), status, object, retryAfter);

  /** Reports `input` to the machine and carries out its step; answers the step. */
  function on(input: Input, a?: string, b?: string, n = NaN, flag = false, extra?: string): number {
    if (ended) return Step.Ignore;
    const step = core.streamOn(id, input, a, b, n, flag, extra);
    act(step);
    return step;
  }

  function act(step: number): void {
    if (step === Step.Deliver || step === Step.Ignore) return;
    // Any other step: what was in flight is over.
    attempt++;
    stop?.();
    stop = undefined;
    clearTimeout(timer);
    const mine = attempt;
    if (step >= 0) timer = setTimeout(() => mine === attempt && on(Input.WaitOver), step);
    else if (step === Step.GetToken || step === Step.GetReplacingToken) getToken(mine, step === Step.GetReplacingToken ? token : undefined);
    else if (step === Step.Connect) connect(mine, core.streamText(id, true)!);
    else finish(step === Step.Fail ? judged(c, fromCore(core.lastError(), cause), token) : undefined);
  }

  async function getToken(mine: number, rejected: string | undefined): Promise<void> {
    let got: string;
    try {
      live(c);
      got = await notFromItself(tokenFor(c.cache, rejected));
      live(c);
    } catch (e) {
      if (mine !== attempt) return;
      const error = e as ClerkFaunaError;
      cause = error.cause;
      on(Input.TokenFailed, error.code, error.message);
      return;
    }
    if (mine !== attempt) return;
    token = got;
    cause = undefined;
    on(Input.Token, undefined, undefined, c.cache.epoch);
  }

  async function connect(mine: number, body: string): Promise<void> {
    const abort = new AbortController();
    let response: Response | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const cancel = (stop = () => {
      abort.abort();
      // A body being read is locked: its reader cancels it.
      (reader ?? response?.body)?.cancel().catch(() => {});
    });
    const current = () => mine === attempt;
    try {
      // Called in the tick the token came: the user was checked just before.
      response = await (c.fetch ?? globalThis.fetch)(`${c.endpoint}/${feed ? 'feed' : 'stream'}/1`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body,
        signal: abort.signal,
        redirect: 'error',
      });
      // An answer for an attempt given up: its body is cancelled too.
      if (!current()) return cancel();
      if (response.status !== 200 || feed) {
        const text = await response.text();
        if (!current()) return;
        const answer = parseJson(text);
        if (response.status !== 200) {
          fault(Input.Refused, answer?.error, response.status, isJsonObject(answer), response.headers.get('retry-after') ?? undefined);
        } else page(answer, text);
        return;
      }
      on(Input.Opened);
      await read((reader = response.body!.getReader()), current);
    } catch {
      if (current()) on(Input.Dropped);
    }
  }

  /** A feed's answer: its error event, or the page. */
  function page(answer: any, text: string): void {
    const events = Array.isArray(answer?.events) ? answer.events : undefined;
    const error = events?.find((e: any) => e?.type === 'error')?.error;
    if (error) fault(Input.ErrorEvent, error);
    // Not a page: no cursor, which the machine refuses.
    else if (on(Input.Page, undefined, events && asString(answer.cursor), NaN, answer?.has_next === true) === Step.Deliver) sink.event(answer, text);
  }

  /** A stream's body, line by line (`\r\n`; a chunk may end mid-line). */
  async function read(reader: ReadableStreamDefaultReader<Uint8Array>, current: () => boolean): Promise<void> {
    const decoder = new TextDecoder();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (!current()) return;
      // Done: `value` is undefined, and decoding without `stream` flushes.
      rest += decoder.decode(value, { stream: !done });
      let end;
      while ((end = rest.indexOf('\r\n')) >= 0 || (done && rest)) {
        const text = end >= 0 ? rest.slice(0, end) : rest;
        rest = end >= 0 ? rest.slice(end + 2) : '';
        if (text.trim()) line(text);
        if (!current()) return;
      }
      if (done) return void on(Input.BodyEnded);
    }
  }

  function line(text: string): void {
    const event = parseJson(text);
    if (event?.type === 'error') fault(Input.ErrorEvent, event.error);
    // A line that is not an event object has no txn_ts: the machine ends with protocol_error.
    else if (on(Input.Event, asString(event?.type) ?? 'add', asString(event?.cursor), typeof event?.txn_ts === 'number' ? event.txn_ts : NaN) === Step.Deliver) {
      sink.event(event, text);
    }
  }

  function finish(error: ClerkFaunaError | undefined): void {
    ended = true;
    endCursor = core.streamText(id, false);
    core.streamDrop(id);
    machines.unregister(handle);
    stopWatching();
    c.streams.delete(free);
    sink.end(error);
  }

  const handle: FeedHandle = {
    close: () => void on(Input.Close),
    next: () => void on(Input.Next),
    get cursor() {
      return ended ? endCursor : core.streamText(id, false);
    },
  };
  machines.register(handle, { core, id }, handle);
  on(Input.Start);
  return handle;
}

// ---- the public API ----

/** FQL text whose result is an event source, or a stream token from an earlier query. */
export type EventSourceInput = string | { token: string } | { '@stream': string };

/** One event of a stream or feed. */
export interface StreamEvent<T = unknown> {
  type: 'add' | 'update' | 'remove' | 'status';
  /**
   * The document (absent on status events); decoded per the client's
   * `format` option: 'simple' (default) untags Fauna's tagged values,
   * 'tagged' keeps them.
   */
  data?: T;
  /** Transaction time, microseconds. */
  txnTs: number;
  cursor: string;
  stats?: Record<string, unknown>;
}

/** One page of a feed. */
export interface FeedPage<T = unknown> {
  events: StreamEvent<T>[];
  cursor: string;
  hasNext: boolean;
  stats?: Record<string, unknown>;
}

/**
 * Fauna's tagged format as plain values: numbers as numbers, dates, times,
 * ids, bytes, modules and stream tokens as strings, documents and refs as
 * their fields (`coll` the collection's name), sets as `{ data, after }`.
 */
export function untag(value: any): any {
  if (Array.isArray(value)) return value.map(untag);
  if (typeof value !== 'object' || value === null) return value;
  const keys = Object.keys(value);
  const [tag] = keys;
  const inner = value[tag!];
  if (keys.length === 1) {
    if (/^@(int|long|double)$/.test(tag!)) return Number(inner);
    if (/^@(date|time|uuid|bytes|mod|stream)$/.test(tag!)) return inner;
    if (tag === '@set' && typeof inner === 'string') return { after: inner };
    // Their members: an object's (whose keys start with @), a document's, a set's { data, after }.
    if (/^@(object|doc|ref|set)$/.test(tag!) && typeof inner === 'object' && inner !== null) return fields(inner);
  }
  return fields(value);
}

/** An object's members untagged (as own data members: a setter on Object.prototype sees none). */
const fields = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, untag(v)]));

/** Spread, not assignment: a setter on Object.prototype never sees a member. */
const only = (name: string, value: unknown) => (value === undefined ? undefined : { [name]: value });

function toEvent(e: any, simple: boolean): StreamEvent<any> {
  return {
    type: e.type,
    ...only('data', simple ? untag(e.data) : e.data),
    txnTs: e.txn_ts,
    cursor: e.cursor,
    ...only('stats', e.stats),
  };
}

/**
 * Events (or pages) for one consumer, buffered until taken, then the end;
 * and the engine that feeds them, once it runs. It is that engine's sink:
 * `map` turns what the engine hands over into an item.
 */
export class Queue<V> implements Sink {
  items: V[] = [];
  ended = false;
  // `declare`: undefined until set, with no code to say so.
  declare error: ClerkFaunaError | undefined;
  taken = false;
  /** Settles when an item or the end comes: what every waiting next() awaits. */
  declare signal: Promise<void> | undefined;
  wake = () => {};
  declare onItem: ((item: V) => void) | undefined;
  declare onEnd: ((error: ClerkFaunaError | undefined) => void) | undefined;
  declare handle: FeedHandle | undefined;

  /** `start`: the `cursor` option, the cursor until the engine has one. */
  constructor(
    readonly start: string | undefined,
    readonly map: (value: any, text: string) => V,
  ) {}

  /** Throws `invalid_option` when a consumer has already taken it. */
  take(what: string): void {
    if (this.taken) throw invalid(`A ${what} has one consumer: iterate it once, or subscribe once.`);
    this.taken = true;
  }

  event(value: any, text: string): void {
    const item = this.map(value, text);
    if (this.onItem) report(this.onItem, item);
    else this.items.push(item);
    this.wake();
  }

  end(error: ClerkFaunaError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake();
    if (this.onEnd) report(this.onEnd, error);
  }

  /** Runs the engine `run` makes, unless closed already; a throw ends it. */
  run(run: () => StreamHandle): void {
    try {
      if (!this.ended) this.handle = run() as FeedHandle;
    } catch (e) {
      this.end(e as ClerkFaunaError);
    }
  }

  cursor(): string | undefined {
    return this.handle?.cursor ?? this.start;
  }

  close(): void {
    if (this.handle) this.handle.close();
    else this.end(undefined);
  }

  /** The next item, or the end (a rejection with the error, once). */
  async next(): Promise<IteratorResult<V, undefined>> {
    for (;;) {
      if (this.items.length) return { value: this.items.shift()!, done: false };
      if (this.ended) {
        const error = this.error;
        this.error = undefined;
        if (error) throw error;
        return { value: undefined, done: true };
      }
      await (this.signal ??= new Promise<void>((resolve) => {
        this.wake = () => {
          this.signal = undefined;
          resolve();
        };
      }));
    }
  }

  /** An iterator for the one consumer, whose `return` (a `break`) closes. */
  iterator(what: string, next = () => this.next()): AsyncIterableIterator<V> {
    this.take(what);
    const q = this;
    return {
      next,
      async return() {
        q.close();
        q.items.length = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}

/** Calls the caller's callback; what it throws is reported, not fed back into the stream. */
function report<A>(callback: (arg: A) => void, arg: A): void {
  try {
    callback(arg);
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}

/** The event source's token: given, or the promise of a query's result. */
export type Source = string | (() => Promise<string>);

/**
 * What starts the engine of a FaunaStream (or with `feed`, a FaunaFeed)
 * feeding `q`, once the source's token is known: never as another user
 * than the one signed in now.
 */
function starter<V>(c: Streamer, feed: boolean, source: Source, o: EngineOptions, q: Queue<V>): () => void {
  const { epoch } = c.cache;
  const begin = (token: string) => q.run(() => run(c, feed, token, o, q, epoch));
  return () => (typeof source === 'string' ? begin(source) : source().then(begin, (e) => q.end(e)));
}

/** A live event stream that survives token expiry. One consumer; events are buffered until consumed. */
export class FaunaStream<T = unknown> implements AsyncIterable<StreamEvent<T>> {
  readonly #q: Queue<StreamEvent<T>>;

  /** @internal Starts connecting at once. */
  constructor(c: Streamer, source: Source, o: EngineOptions, simple: boolean) {
    starter(c, false, source, o, (this.#q = new Queue(o.cursor, (e) => toEvent(e, simple))))();
  }

  /** The cursor of the last event delivered (resume from it later with the `cursor` option). */
  get cursor(): string | undefined {
    return this.#q.cursor();
  }

  /** Ends the stream: the iteration finishes cleanly, onEnd(undefined) is called. Idempotent. */
  close(): void {
    this.#q.close();
  }

  /** Callback form, for code that does not use `for await`. Returns close. */
  subscribe(onEvent: (event: StreamEvent<T>) => void, onEnd?: (error: ClerkFaunaError | undefined) => void): () => void {
    const q = this.#q;
    q.take('stream');
    for (const event of q.items.splice(0)) report(onEvent, event);
    q.onItem = onEvent;
    if (q.ended) {
      if (onEnd) report(onEnd, q.error);
    } else q.onEnd = onEnd;
    return () => q.close();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StreamEvent<T>> {
    return this.#q.iterator('stream');
  }
}

/** An event feed, page by page: nothing is fetched until iterated. One consumer. */
export class FaunaFeed<T = unknown> implements AsyncIterable<FeedPage<T>> {
  readonly #q: Queue<FeedPage<T>>;
  readonly #start: () => void;

  /** @internal */
  constructor(c: Streamer, source: Source, o: EngineOptions, simple: boolean) {
    const q = (this.#q = new Queue(o.cursor, (page) => ({
      events: (page.events as unknown[]).map((e) => toEvent(e, simple)),
      cursor: page.cursor,
      hasNext: page.has_next,
      ...only('stats', page.stats),
    })));
    this.#start = starter(c, true, source, o, q);
  }

  /** The cursor of the last page (resume from it later with the `cursor` option). */
  get cursor(): string | undefined {
    return this.#q.cursor();
  }

  /** Stops: the iteration finishes cleanly. Idempotent. */
  close(): void {
    this.#q.close();
  }

  /** Every event of every page, flattened. */
  events(): AsyncIterableIterator<StreamEvent<T>> {
    const pages = this;
    return (async function* () {
      for await (const page of pages) yield* page.events;
    })();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<FeedPage<T>> {
    const q = this.#q;
    // A page is asked for when the consumer waits and none is buffered or
    // on its way (the first one starts the engine).
    let asked = false;
    return q.iterator('feed', () => {
      if (!q.items.length && !q.ended && !asked) {
        asked = true;
        if (q.handle) q.handle.next();
        else this.#start();
      }
      return q.next().finally(() => (asked = false));
    });
  }
}
