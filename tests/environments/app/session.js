// The same steps in every environment, with whichever build of clerk-fauna it
// loaded (`api`): sign in to the Clerk stand-in, then ask the Fauna stand-in
// who we are. Used by the bundled page (main.js) and by the Node tests.

/** POSTs `body` as JSON and resolves to the JSON answer; a non-2xx throws. */
async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Signs `userId` in at the Clerk stand-in: resolves to the session's id and a
 * Clerk-style `getToken(options)` for it, minting through the Frontend API's
 * token endpoint like Clerk's own SDK.
 */
export async function startSession(clerk, userId) {
  const { session_id: sessionId } = await postJson(`${clerk}/v1/client/sign_ins`, { user_id: userId });
  const getToken = async ({ template = 'fauna', skipCache = false } = {}) => {
    const path = `/v1/client/sessions/${sessionId}/tokens/${encodeURIComponent(template)}`;
    const { jwt } = await postJson(`${clerk}${path}${skipCache ? '?debug=skip_cache' : ''}`);
    return jwt;
  };
  return { sessionId, getToken };
}

/** Signs `userId` in and returns the session's `getToken` (see startSession). */
export async function signIn(clerk, userId) {
  return (await startSession(clerk, userId)).getToken;
}

/**
 * Signs `userId` in and asks Fauna for the user's id three ways (FQL v10, the
 * v4 identity, GraphQL) through one TokenCache and FaunaClient of `api`. Also
 * checks that a signed-out getToken fails with a ClerkFaunaError of that
 * `api`. Never returns a token.
 */
export async function whoAmI(api, { clerk, fauna, userId }) {
  const tokens = new api.TokenCache(await signIn(clerk, userId));
  const client = new api.FaunaClient(tokens, { endpoint: fauna, graphqlEndpoint: `${fauna}/graphql` });
  try {
    const { data: fql } = await client.query('Query.token().sub');
    const identity = await client.currentIdentity();
    const { whoami: graphql } = await client.graphql('{ whoami }');
    const signedOut = await new api.TokenCache(async () => null).get().then(
      () => 'resolved',
      (e) => (e instanceof api.ClerkFaunaError ? e.code : `not a ClerkFaunaError: ${e}`),
    );
    return { fql, identity, graphql, signedOut, getTokenCalls: tokens.stats.misses + tokens.stats.refreshes };
  } finally {
    client.free();
    tokens.free();
  }
}
