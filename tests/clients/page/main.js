// The test page: the README's recipes (bundled from generated modules, see
// ../recipes.mjs) and a signed-in clerk-fauna session for them, exposed to
// the tests as window.T. Sessions and tokens come from real clerk-js
// (bundled from @clerk/clerk-js) signed in against the Clerk stand-in, and
// getToken is clerk-js's, as `useAuth().getToken` calls it; nothing here
// logs or returns a token.

import init, { TokenCache, FaunaClient, ClerkFaunaError } from 'clerk-fauna/web';
import { Clerk } from '@clerk/clerk-js';
import faunadb from 'faunadb';
import { ClientError, fql } from 'fauna';
import { gql } from '@apollo/client';
import recipes from 'recipes';
import { follow } from '../follow.mjs';

/**
 * The package's driver clients as the `fauna` driver's own declarations type
 * them (checked by `make lint`): its HTTPClient that streams, and its
 * HTTPStreamClient.
 * @param {FaunaClient} f
 * @returns {{ http: import('fauna').HTTPClient & import('fauna').HTTPStreamClient, streams: import('fauna').HTTPStreamClient }}
 */
export const driverClients = (f) => ({ http: f.httpClient(), streams: f.httpStreamClient() });

const params = new URLSearchParams(location.search);
const clerkUrl = params.get('clerk');
const endpoint = params.get('fauna');

// The stand-in as clerk-js's Frontend API: a development key naming its host,
// reached through proxyUrl.
const clerk = new Clerk(`pk_test_${btoa(`${new URL(clerkUrl).host}$`)}`, { proxyUrl: clerkUrl });

/**
 * Signs `userId` in through clerk-js with a one-use ticket from the stand-in
 * (signing out whoever was signed in); resolves to clerk-js's getToken,
 * counting calls, and signOut (getToken then resolves null, as Clerk's does).
 */
async function signIn(userId) {
  if (clerk.session) await clerk.signOut(() => undefined);
  const response = await fetch(`${clerkUrl}/v1/demo/sign_in_tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  if (!response.ok) throw new Error(`sign-in token: HTTP ${response.status}`);
  const { token } = await response.json();
  const attempt = await clerk.client.signIn.create({ strategy: 'ticket', ticket: token });
  await clerk.setActive({ session: attempt.createdSessionId });
  const counter = { calls: 0 };
  counter.getToken = async (options) => {
    counter.calls += 1;
    return (await clerk.session?.getToken(options)) ?? null;
  };
  // The callback stands in for clerk-js's redirect after sign-out.
  counter.signOut = () => clerk.signOut(() => undefined);
  return counter;
}

window.T = {
  recipes,
  ClerkFaunaError,
  fql,
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
  /** Reads a `fauna` driver stream in the background (../follow.mjs). */
  follow,
  /**
   * A signed-in user's `FaunaClient` (as `fauna` in the README), on a cold
   * cache; `getTokenCalls()` counts the calls of Clerk's getToken. `cache`:
   * TokenCache options (default: the `fauna` template, 60 s tokens).
   */
  async session(userId, cache = { template: 'fauna' }) {
    const clerkSession = await signIn(userId);
    const tokens = new TokenCache(clerkSession.getToken, cache);
    const fauna = new FaunaClient(tokens, { endpoint });
    return { fauna, tokens, signOut: clerkSession.signOut, getTokenCalls: () => clerkSession.calls };
  },
};

try {
  await Promise.all([init(), clerk.load({ telemetry: false })]);
  window.T.ready = true;
} catch (e) {
  window.T.loadError = String(e?.message ?? e);
}
