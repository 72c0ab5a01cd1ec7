// clerk-fauna/react: hooks over the web entry. `react` is an optional peer
// dependency; importing this during server-side rendering never touches the
// .wasm (it loads in an effect, in the browser).
import { createContext, createElement, useCallback, useContext, useEffect, useRef, useState } from 'react';
import init, { FaunaClient, TokenCache } from './web.js';

let loading;
/** Loads the .wasm once per page; later calls share the same promise. */
function loadWasm() {
  loading ??= init();
  return loading;
}

/**
 * One TokenCache and one FaunaClient for the signed-in user, made once the
 * .wasm is loaded; replaced (the old cache cleared, both freed) when the
 * user, session or options change, and freed on unmount. `undefined` until
 * ready, and while `userId` is `null` (signed out).
 */
export function useFaunaSession(getToken, options = {}) {
  // The latest getToken, without making a new cache when its identity changes.
  const latest = useRef(getToken);
  latest.current = getToken;
  const { userId, sessionId, fetch, ...plain } = options;
  const key = JSON.stringify([userId ?? null, sessionId ?? null, plain]);
  const [session, setSession] = useState();
  const [error, setError] = useState();

  useEffect(() => {
    if (userId === null) return undefined;
    let made;
    let cancelled = false;
    loadWasm().then(
      () => {
        if (cancelled) return;
        const tokens = new TokenCache((o) => latest.current(o), plain);
        const fauna = new FaunaClient(tokens, fetch ? { ...plain, fetch } : plain);
        made = { tokens, fauna, userId, sessionId };
        setSession(made);
      },
      (e) => {
        if (!cancelled) setError(e);
      },
    );
    return () => {
      // Sign-out or user switch: the old user's token must never serve the
      // next one; clear() also fails that user's waiting calls with `cleared`.
      cancelled = true;
      setSession(undefined);
      if (made) {
        made.tokens.clear();
        made.fauna.free();
        made.tokens.free();
      }
    };
    // `key` stands for userId, sessionId and the options' values.
  }, [key]);

  if (error) throw error;
  // Until the effect has run, the session may still be the previous user's.
  const current = session && session.userId === userId && session.sessionId === sessionId;
  return current ? session : undefined;
}

/** The signed-in user's FaunaClient (see useFaunaSession). */
export function useFauna(getToken, options) {
  return useFaunaSession(getToken, options)?.fauna;
}

const FaunaContext = createContext(undefined);

/** Makes `client` the default of useFaunaQuery for its children. */
export function FaunaProvider({ client, children }) {
  return createElement(FaunaContext.Provider, { value: client }, children);
}

/**
 * Runs `fql` with `args` and re-runs it when either changes (compared by
 * value) or on `refetch()`. A result that arrives after a newer run started
 * is dropped. The client is `options.client`, else the nearest FaunaProvider's.
 */
export function useFaunaQuery(fql, args, options = {}) {
  const fromContext = useContext(FaunaContext);
  const { client = fromContext, enabled = true, ...queryOptions } = options;
  const argsKey = JSON.stringify(args ?? null);
  const optionsKey = JSON.stringify(queryOptions);
  const [run, setRun] = useState(0);
  const [state, setState] = useState({ data: undefined, error: undefined, isLoading: false });

  useEffect(() => {
    if (!client || !enabled) return undefined;
    let stale = false;
    setState((s) => ({ data: s.data, error: undefined, isLoading: true }));
    client.query(fql, args, queryOptions).then(
      (result) => {
        if (!stale) setState({ data: result.data, error: undefined, isLoading: false });
      },
      (error) => {
        if (!stale) setState({ data: undefined, error, isLoading: false });
      },
    );
    return () => {
      stale = true;
    };
    // args and options by value: a new object literal each render is not a change.
  }, [client, fql, argsKey, optionsKey, enabled, run]);

  const refetch = useCallback(() => setRun((n) => n + 1), []);
  return { ...state, refetch };
}

/** How many of the latest events useFaunaStream returns in `events`. */
const KEPT_EVENTS = 100;
const IDLE = { status: 'idle', events: [], error: undefined, cursor: undefined };
const CONNECTING = { status: 'connecting', events: [], error: undefined, cursor: undefined };
/** useFaunaStream's state while no stream runs: it belongs to no client and key. */
const NO_STREAM = { client: undefined, key: undefined, ...IDLE };

/**
 * Subscribes to `client.stream(source, options)` while the component is
 * mounted: a new stream when the client, the source or the options change
 * (compared by value), closed on unmount. `onEvent` is called for each event,
 * the latest one passed (a new function each render is not a change). The
 * client is `options.client`, else the nearest FaunaProvider's; no client,
 * `enabled: false` or no source: no stream (`status: 'idle'`).
 */
export function useFaunaStream(source, options = {}) {
  const fromContext = useContext(FaunaContext);
  const { client = fromContext, enabled = true, onEvent, ...streamOptions } = options;
  const latestOnEvent = useRef(onEvent);
  latestOnEvent.current = onEvent;
  const key = JSON.stringify([source ?? null, streamOptions]);
  const active = Boolean(client && enabled && source != null);
  // The state of the stream for `client` and `key`, once its effect has run.
  const [state, setState] = useState(NO_STREAM);

  useEffect(() => {
    if (!active) return undefined;
    let stale = false;
    let stream;
    const update = (change) => {
      if (!stale) setState((s) => ({ ...s, ...change(s) }));
    };
    setState({ client, key, ...CONNECTING });
    // Opened a microtask later: StrictMode's mount, unmount and mount again
    // (development builds) run in one task, so only the last mount connects.
    queueMicrotask(() => {
      if (stale) return;
      // Status events too: the first one says the stream is open. The caller
      // sees them only if it asked for them.
      const shown = (event) => event.type !== 'status' || streamOptions.statusEvents === true;
      const onEnd = (error) => update((s) => ({ status: 'ended', error, cursor: stream?.cursor ?? s.cursor }));
      try {
        stream = client.stream(source, { ...streamOptions, statusEvents: true });
        stream.subscribe((event) => {
          if (stale) return;
          if (shown(event)) latestOnEvent.current?.(event);
          update((s) => ({
            status: 'open',
            events: shown(event) ? [...s.events.slice(1 - KEPT_EVENTS), event] : s.events,
            cursor: stream.cursor,
          }));
        }, onEnd);
      } catch (error) {
        // A bad option or a freed client: reported like any other end.
        onEnd(error);
      }
    });
    return () => {
      stale = true;
      stream?.close();
      setState(NO_STREAM);
    };
    // source and options by value: a new object literal each render is not a change.
  }, [client, key, active]);

  if (!active) return IDLE;
  // Until the effect has run, the state may still be the previous stream's.
  const { client: stateClient, key: stateKey, ...result } = state;
  return stateClient === client && stateKey === key ? result : CONNECTING;
}
