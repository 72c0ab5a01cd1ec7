// A page for the React hooks test: clerk-fauna/react under StrictMode, with
// the user, the query and its arguments set from the test through `window.T`.
// No JSX: the page builds with Vite's defaults. The stand-ins' origins come
// in the query string.
import { StrictMode, createElement as h, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { useFaunaQuery, useFaunaSession } from 'clerk-fauna/react';
import { startSession } from '../app/session.js';

const params = new URLSearchParams(location.search);
const clerk = params.get('clerk');
const fauna = params.get('fauna');
const T = (window.T = /** @type {any} */ ({ mounts: 0, settled: 0, states: [] }));

function Probe({ client, fql, args }) {
  // The client, counting the queries that have settled (T.settled).
  const counted = useMemo(
    () => ({ query: (...call) => client.query(...call).finally(() => (T.settled += 1)) }),
    [client],
  );
  const { data, error, isLoading, refetch } = useFaunaQuery(fql, args, { client: counted });
  T.refetch = refetch;
  T.state = { data, error: error ? `${error.code}: ${error.message}` : undefined, isLoading };
  T.states.push(T.state);
  return h('pre', null, JSON.stringify(T.state));
}

function App({ user: initial }) {
  const [user, setUser] = useState(initial);
  const [query, setQuery] = useState({ fql: 'Query.token().sub', args: undefined });
  T.setUser = setUser;
  // A new but equal args object at every call: must not re-run the query.
  T.setQuery = (fql, args) => setQuery({ fql, args: args && { ...args } });
  T.rerender = () => setQuery((q) => ({ ...q, args: q.args && { ...q.args } }));
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
  return session ? h(Probe, { client: session.fauna, fql: query.fql, args: query.args }) : h('p', null, 'loading');
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
