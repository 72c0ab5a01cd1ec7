// Reads a `fauna` driver stream as an app does (`for await`), in the
// background, for the tests: in the page (page/main.js) and in Node
// (clients.test.mjs).

import { ServiceError } from 'fauna';

/**
 * Iterates `stream` in the background; the record fills as it goes: each
 * event's type, document and position, then how the iteration ended
 * (`error`: what the driver threw). It `break`s out after `breakAfter` events.
 * @param {AsyncIterable<any>} stream
 */
export function follow(stream, { breakAfter = Infinity } = {}) {
  const record = {
    /** @type {{ type: string, id?: string, title?: string, txn_ts: number, cursor: string }[]} */
    events: [],
    /** @type {{ isServiceError: boolean, name?: string, code?: string, message?: string } | undefined} */
    error: undefined,
    ended: false,
  };
  (async () => {
    try {
      for await (const e of stream) {
        record.events.push({ type: e.type, id: e.data?.id, title: e.data?.title, txn_ts: e.txn_ts, cursor: e.cursor });
        if (record.events.length >= breakAfter) break;
      }
    } catch (e) {
      record.error = { isServiceError: e instanceof ServiceError, name: e?.name, code: e?.code, message: e?.message };
    } finally {
      record.ended = true;
    }
  })();
  return record;
}
