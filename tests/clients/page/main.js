// The test page: the README's recipes (bundled from generated modules, see
// ../recipes.mjs) and a signed-in clerk-fauna session for them, exposed to
// the tests as window.T. Tokens come from the Clerk stand-in's Frontend API,
// as Clerk's getToken gets them; nothing here logs or returns a token.

import init, { TokenCache, FaunaClient, ClerkFaunaError } from 'clerk-fauna/web';
import faunadb from 'faunadb';
import { ClientError, fql } from 'fauna';
import { gql } from '@apollo/client';
import recipes from 'recipes';

const params = new URLSearchParams(location.search);
const clerk = params.get('clerk');
const endpoint = params.get('fauna');

/**
 * A new Clerk session of `userId`: its getToken (counting calls) and signOut,
 * which ends the session at the stand-in (getToken then resolves null).
 */
async function signIn(userId) {
  const response = await fetch(`${clerk}/v1/client/sign_ins`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  if (!response.ok) throw new Error(`sign-in: HTTP ${response.status}`);
  const { session_id: sid } = await response.json();
  const counter = { calls: 0 };
  counter.getToken = async ({ template = 'fauna', skipCache = false } = {}) => {
    counter.calls += 1;
    const query = skipCache ? '?debug=skip_cache' : '';
    const r = await fetch(`${clerk}/v1/client/sessions/${sid}/tokens/${template}${query}`, { method: 'POST' });
    if (r.status === 401) return null;
    if (!r.ok) throw new Error(`token request: HTTP ${r.status}`);
    return (await r.json()).jwt;
  };
  counter.signOut = async () => {
    const r = await fetch(`${clerk}/v1/client/sessions/${sid}/end`, { method: 'POST' });
    if (!r.ok) throw new Error(`sign-out: HTTP ${r.status}`);
  };
  return counter;
}

window.T = {
  recipes,
  ClerkFaunaError,
  /** The user id a recipe's result holds. */
  userIdOf: {
    faunadb: ({ userId }) => userId,
    fauna: ({ userId }) => userId,
    'graphql-request': ({ whoami }) => whoami,
    apollo: ({ data }) => data.whoami,
  },
  /** One more "who am I" through a recipe's client, by that client's own API. */
  queryAgain: {
    faunadb: ({ client }) => client.query(faunadb.query.CurrentIdentity()),
    fauna: async ({ client }) => (await client.query(fql`Query.token()`)).data.sub,
    'graphql-request': async ({ client }) => (await client.request('{ whoami }')).whoami,
    // network-only: Apollo would answer from its cache without a request.
    apollo: async ({ client }) => (await client.query({ query: gql`{ whoami }`, fetchPolicy: 'network-only' })).data.whoami,
  },
  /**
   * A query through a driver recipe's client with every per-query option
   * that becomes a request header (and, being its second query, the last
   * transaction time): the browser lets them through only if the stand-in's
   * CORS allows them, and the stand-in checks their values as Fauna does.
   */
  queryWithEveryHeader: {
    faunadb: async ({ client }, { tags, traceparent }) => ({
      id: await client.query(faunadb.query.CurrentIdentity(), { tags, traceparent, queryTimeout: 7000 }),
    }),
    fauna: async ({ client }, { tags, traceparent }) => {
      const { data, query_tags } = await client.query(fql`Query.token()`, {
        query_tags: tags,
        traceparent,
        typecheck: true,
        performance_hints: true,
        linearized: true,
        max_contention_retries: 3,
        query_timeout_ms: 7000,
      });
      return { id: data.sub, tags: query_tags };
    },
  },
  /**
   * Where a client puts clerk-fauna's error from its fetch: the error it
   * throws, or for the `fauna` driver the `cause` of its `ClientError`.
   */
  clerkFaunaErrorOf: {
    faunadb: (e) => e,
    fauna: (e) => (e instanceof ClientError ? e.cause : undefined),
    'graphql-request': (e) => e,
    apollo: (e) => e,
  },
  /**
   * A signed-in user's `FaunaClient` (as `fauna` in the README), on a cold
   * cache; `getTokenCalls()` counts the calls of Clerk's getToken.
   */
  async session(userId) {
    const clerkSession = await signIn(userId);
    const tokens = new TokenCache(clerkSession.getToken, { template: 'fauna' });
    const fauna = new FaunaClient(tokens, { endpoint });
    return { fauna, tokens, signOut: clerkSession.signOut, getTokenCalls: () => clerkSession.calls };
  },
};

try {
  await init();
  window.T.ready = true;
} catch (e) {
  window.T.loadError = String(e?.message ?? e);
}
