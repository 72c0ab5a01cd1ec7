// A page for the React hooks test: clerk-fauna/react under StrictMode, with
// the user, the query and its arguments, the stream and its options set from
// the test through `window.T`; it also shows a list kept live by the README's
// recipe (www/src/live-list.ts, which the demo uses). No JSX: the page builds
// with Vite's defaults. The stand-ins' origins come in the query string.
import { StrictMode, createElement as h, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { FaunaProvider, useFaunaQuery, useFaunaSession, useFaunaStream } from 'clerk-fauna/react';
import { startSession } from '../app/session.js';
import { useLiveList } from '../../../www/src/live-list.ts';

const params = new URLSearchParams(location.search);
const clerk = params.get('clerk');
const fauna = params.get('fauna');
const T = (window.T = /** @type {any} */ ({ mounts: 0, settled: 0, states: [], streamEvents: [] }));

function Probe({ client, fql, args }) {
  // The client, counting the queries that have settled (T.settled): only
  // its query() is used.
  const counted = useMemo(
    () => /** @type {any} */ ({ query: (...call) => client.query(...call).finally(() => (T.settled += 1)) }),
    [client],
  );
  const { data, error, isLoading, refetch } = useFaunaQuery(fql, args, { client: counted });
  T.refetch = refetch;
  T.state = { data, error: error ? `${error.code}: ${error.message}` : undefined, isLoading };
  T.states.push(T.state);
  return h('pre', null, JSON.stringify(T.state));
}

/** useFaunaStream's state (T.stream) and every event its onEvent got (T.streamEvents). */
function StreamProbe({ source, options }) {
  const { status, events, error, cursor } = useFaunaStream(source, {
    ...options,
    // A new function each render: the latest is called, the stream stays.
    onEvent: (event) => T.streamEvents.push(event),
  });
  T.stream = { status, events, error: error && `${error.code}: ${error.message}`, cursor };
  return h('pre', null, JSON.stringify({ status, events: events.length }));
}

/** The README's live list: the user's todos, `title` or `title (done)` each. */
function LiveTodos() {
  const { rows, error } = useLiveList('{ rows: Todo.all().toArray(), source: Todo.all().eventSource() }');
  if (error) return h('p', null, `${error.code}: ${error.message}`);
  const item = (/** @type {any} */ todo) => h('li', { key: todo.id }, `${todo.title}${todo.done ? ' (done)' : ''}`);
  return h('ul', null, rows?.map(item));
}

function App({ user: initial }) {
  const [user, setUser] = useState(initial);
  const [query, setQuery] = useState({ fql: 'Query.token().sub', args: undefined });
  T.setUser = setUser;
  // A new but equal args object at every call: must not re-run the query.
  T.setQuery = (fql, args) => setQuery({ fql, args: args && { ...args } });
  T.rerender = () => setQuery((q) => ({ ...q, args: q.args && { ...q.args } }));
  // The stream's source and options: new but equal objects must not reconnect.
  const [stream, setStream] = useState({ source: undefined, options: undefined });
  T.setStream = (source, options) => setStream({ source, options: options && { ...options } });
  T.rerenderStream = () => setStream((s) => ({ source: s.source, options: s.options && { ...s.options } }));
  const [recipe, setRecipe] = useState(false);
  T.showRecipe = setRecipe;
  T.user = user.userId;
  useEffect(() => {
    T.mounts += 1;
  }, []);
  const session = useFaunaSession(user.getToken, {
    userId: user.userId,
    sessionId: user.sessionId,
    endpoint: fauna,
    graphqlEndpoint: `${fauna}/graphql`,
  });
  T.client = session?.fauna;
  T.tokens = session?.tokens;
  if (!session) return h('p', null, 'loading');
  return h(
    FaunaProvider,
    { client: session.fauna },
    h(Probe, { client: session.fauna, fql: query.fql, args: query.args }),
    // Mounted with its first source: StrictMode mounts it twice.
    stream.source !== undefined && h(StreamProbe, stream),
    recipe && h('div', { id: 'recipe' }, h(LiveTodos)),
  );
}

/** A signed-in user as Clerk's useAuth() gives it: ids and getToken. */
T.signIn = async (userId) => {
  return { userId, ...(await startSession(clerk, userId)) };
};

T.signIn(params.get('user')).then(
  (user) => createRoot(document.getElementById('root')).render(h(StrictMode, null, h(App, { user }))),
  (e) => {
    T.loadError = String(e?.stack ?? e);
  },
);
