// The stream proof's consumer, the same in Node and in Chromium with whichever
// build of clerk-fauna loaded (`api`): signs a user in at the Clerk stand-in,
// takes 3 s tokens (the `fauna-short` template) through a TokenCache, and
// watches `fauna.stream()` over every Todo the user can read, recording each
// event it delivers and how it ended. Plain data only, so the Node side can
// read it out of a page.

import { startSession } from '../app/session.js';

/** A cache for 3 s tokens: the defaults (15 s ahead, 5 s at least) are for 60 s ones. */
export const SHORT_LIVED = { template: 'fauna-short', refreshAheadSeconds: 1, minValiditySeconds: 1 };

/**
 * Opens the stream; resolves to `{ events, end, close }` at once: `events`
 * grows as they arrive (`{ type, id, txnTs, cursor }`), `end` is set when
 * the iteration finishes (`{ clean: true }`, or the error's `{ code, message }`).
 */
export async function watchStream(api, { clerk, fauna, userId }) {
  const { getToken } = await startSession(clerk, userId);
  const tokens = new api.TokenCache(getToken, SHORT_LIVED);
  const client = new api.FaunaClient(tokens, { endpoint: fauna });
  const stream = client.stream('Todo.all().eventSource()');
  const watch = {
    /** @type {{ type: string, id: string | undefined, txnTs: number, cursor: string }[]} */
    events: [],
    /** @type {{ clean: boolean, code?: string, message?: string } | undefined} */
    end: undefined,
    close: () => stream.close(),
  };
  (async () => {
    try {
      for await (const event of stream) {
        watch.events.push({ type: event.type, id: event.data?.id, txnTs: event.txnTs, cursor: event.cursor });
      }
      watch.end = { clean: true };
    } catch (e) {
      watch.end = { clean: false, code: e?.code, message: String(e?.message ?? e) };
    } finally {
      client.free();
      tokens.free();
    }
  })();
  return watch;
}
