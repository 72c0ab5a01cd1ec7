// Node >= 18, and server-side rendering: no init call, and requests go
// through the global fetch. `getToken` is Clerk's, e.g. from `auth()` in a
// Next.js route handler.
import { TokenCache, FaunaClient } from 'clerk-fauna';

export async function whoami(getToken, endpoint) {
  const tokens = new TokenCache(getToken);
  const fauna = new FaunaClient(tokens, { endpoint });
  try {
    const { data } = await fauna.query('Query.token().sub');
    return data;
  } finally {
    fauna.free();
    tokens.free();
  }
}
