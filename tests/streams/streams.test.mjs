// fauna.stream() and fauna.feed() of the built package (pkg/node.js) in Node,
// against the Clerk and Fauna stand-ins over real HTTP: events and their
// decoding, options, how streams end (close, break, sign-out, clear, a bad
// source), one consumer, feeds page by page, and a reconnection across a
// permission_loss with 3 s tokens; lines split across chunks (a fetch of
// our own answering byte by byte). (The long proofs, the fault matrix and
// the benchmarks are elsewhere.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ALICE,
  BOB,
  ClerkFaunaError,
  FaunaClient,
  collectGarbage,
  TokenCache,
  WAIT_MS,
  api,
  connections,
  deadline,
  drain,
  next,
  opened,
  rest,
  signIn,
  standIns,
  take,
  until,
} from './harness.mjs';
import { mint } from '../security/harness.mjs';

let env;
before(async () => {
  env = await standIns();
});
after(() => env?.stop());

/** Alice (or `userId`) signed in, with a cache and a client on the stand-ins. */
async function session(userId = ALICE, cacheOptions = {}, clientOptions = {}) {
  const user = await signIn(env.clerk, userId);
  const tokens = new TokenCache(user.getToken, cacheOptions);
  const fauna = new FaunaClient(tokens, { endpoint: env.fauna, ...clientOptions });
  return { user, tokens, fauna };
}

/** A stream token of Alice's todos, made now (events from here on). */
async function sourceToken(fauna, fql = 'Todo.all().eventSource()') {
  const { data } = await fauna.query(fql, undefined, { format: 'tagged' });
  return data['@stream'];
}

/** `title`'s document, created by `fauna`: its id and the write's txnTs. */
async function create(fauna, title, extra = '') {
  const { data, txnTs } = await fauna.query(`Todo.create({ title: ${JSON.stringify(title)}, done: false${extra} })`);
  return { id: data.id, txnTs };
}

/** An error a stream or feed ended with: it must be a ClerkFaunaError. */
function codeOf(error) {
  assert.ok(error instanceof ClerkFaunaError, `not a ClerkFaunaError: ${error}`);
  return error.code;
}

test('add, update and remove arrive in order, their data untagged, and the cursor follows', async () => {
  const { fauna } = await session();
  const stream = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const iterator = await opened(stream);
  const { id } = await create(fauna, 'milk', ', n: 2, score: 1.5');
  await fauna.query(`Todo.byId(${JSON.stringify(id)})!.update({ done: true })`);
  await fauna.query(`Todo.byId(${JSON.stringify(id)})!.delete()`);
  const events = await next(iterator, 3);
  assert.deepEqual(
    events.map((e) => e.type),
    ['add', 'update', 'remove'],
  );
  const [added, updated] = events;
  assert.equal(added.data.title, 'milk');
  assert.equal(added.data.id, id);
  assert.equal(added.data.coll, 'Todo', 'a document names its collection');
  assert.equal(added.data.n, 2, '@int untagged');
  assert.equal(added.data.score, 1.5, '@double untagged');
  assert.equal(typeof added.data.ts, 'string', '@time untagged');
  assert.equal(updated.data.done, true);
  for (const e of events) {
    assert.equal(typeof e.txnTs, 'number');
    assert.equal(typeof e.cursor, 'string');
  }
  assert.ok(events[0].txnTs < events[1].txnTs && events[1].txnTs < events[2].txnTs);
  assert.equal(stream.cursor, events[2].cursor);
  await iterator.return?.();
  assert.equal((await iterator.next()).done, true, 'closed by return()');
});

test("format 'tagged' keeps Fauna's tags; statusEvents shows the status event first", async () => {
  const { fauna } = await session(ALICE, {}, { format: 'tagged' });
  const stream = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const [status] = await take(stream, 1, 'the status event');
  assert.equal(status.type, 'status');
  assert.equal('data' in status, false);
  const again = await opened(fauna.stream('Todo.all().eventSource()', { statusEvents: true }));
  await create(fauna, 'tagged', ', n: 7');
  const [added] = await next(again, 1);
  const doc = added.data['@doc'];
  assert.deepEqual(doc.n, { '@int': '7' });
  assert.deepEqual(doc.coll, { '@mod': 'Todo' });
  await again.return?.();
});

test('cursor resumes after close with exactly the later events; startTs skips its transaction', async () => {
  const { fauna } = await session();
  const token = await sourceToken(fauna);
  const first = fauna.stream({ token });
  const pending = take(first, 1);
  const a = await create(fauna, 'a');
  const [eventA] = await pending;
  assert.equal(eventA.data.title, 'a');
  const cursor = first.cursor;
  assert.equal(cursor, eventA.cursor);
  first.close();
  await create(fauna, 'b');
  await create(fauna, 'c');
  const resumed = await take(fauna.stream({ '@stream': token }, { cursor }), 2, 'b and c');
  assert.deepEqual(
    resumed.map((e) => e.data.title),
    ['b', 'c'],
  );
  const fromA = await take(fauna.stream({ token }, { startTs: a.txnTs }), 2, 'after a');
  assert.deepEqual(
    fromA.map((e) => e.data.title),
    ['b', 'c'],
  );
});

test('close() ends the iteration cleanly and the connection with it; so does break', async () => {
  const { fauna } = await session();
  const stream = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const iterator = await opened(stream);
  stream.close();
  stream.close();
  assert.deepEqual(await rest(iterator), { events: [], error: undefined });
  await until(async () => (await connections(env.fauna)).every((c) => c.ended !== 'open'), 'every connection closed');

  const broken = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const [status] = await take(broken, 1);
  assert.equal(status.type, 'status');
  await until(async () => (await connections(env.fauna)).every((c) => c.ended !== 'open'), 'break closed it');
  const log = await connections(env.fauna);
  assert.equal(log.at(-1).ended, 'client_closed');
});

// Node's fetch (undici) follows the signal it is given through a weak
// reference: once the garbage collector cleared it, aborting no longer
// reaches the socket (nodejs/undici#3644), and the stand-in kept streaming
// to a closed stream until its token expired. A collection between the
// answer and close() made that happen every time.
test('close() shuts the connection even after a garbage collection', async () => {
  const { fauna } = await session();
  const stream = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const iterator = await opened(stream);
  collectGarbage();
  stream.close();
  assert.deepEqual(await rest(iterator), { events: [], error: undefined });
  const log = await until(async () => {
    const all = await connections(env.fauna);
    return all.at(-1).ended !== 'open' && all;
  }, 'the connection ended');
  assert.equal(log.at(-1).ended, 'client_closed', 'ended by the client, not by its token expiring');
});

test('close() while the token is being fetched, or during a reconnection wait, ends cleanly', async () => {
  const { user, tokens, fauna } = await session();
  const token = await sourceToken(fauna);
  tokens.invalidate();
  user.hold();
  const sent = (await connections(env.fauna)).length;
  const waiting = fauna.stream({ token });
  const ended = drain(waiting);
  await until(() => user.held.length > 0, 'getToken called');
  waiting.close();
  assert.deepEqual(await ended, { events: [], error: undefined });
  user.release();
  await tokens.get();
  assert.equal((await connections(env.fauna)).length, sent, 'nothing sent');

  // A throttled connection waits the minute asked before the next attempt: close then.
  const before = (await connections(env.fauna)).length;
  await api(`${env.fauna}/__admin/faults`, { status: 429, retry_after: 60, count: 1, paths: ['/stream/1'] });
  const backingOff = fauna.stream({ token }, { maxBackoffMs: 60_000 });
  const done = drain(backingOff);
  await until(async () => (await connections(env.fauna)).length > before, 'refused once');
  backingOff.close();
  assert.deepEqual(await done, { events: [], error: undefined });
  const after = await connections(env.fauna);
  assert.equal(after.length, before + 1, 'no attempt after close()');
});

test('the callback form: subscribe(onEvent, onEnd), and its close', async () => {
  const { fauna } = await session();
  const stream = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const events = [];
  /** @type {any} */
  let ended;
  const close = stream.subscribe(
    (e) => events.push(e),
    (error) => (ended = { error }),
  );
  await until(() => events.length === 1, 'the status event');
  await create(fauna, 'sub1');
  await create(fauna, 'sub2');
  await until(() => events.length === 3, 'two events');
  assert.deepEqual(
    events.map((e) => e.data?.title),
    [undefined, 'sub1', 'sub2'],
  );
  close();
  await until(() => ended, 'onEnd');
  assert.equal(ended.error, undefined);
});

test('one consumer: a second iteration or a subscribe after it throws invalid_option', async () => {
  const { fauna } = await session();
  const stream = fauna.stream('Todo.all().eventSource()');
  stream[Symbol.asyncIterator]();
  assert.throws(() => stream[Symbol.asyncIterator](), { code: 'invalid_option' });
  assert.throws(() => stream.subscribe(() => {}), { code: 'invalid_option' });
  stream.close();
  const other = fauna.stream('Todo.all().eventSource()');
  other.subscribe(() => {});
  assert.throws(() => other.subscribe(() => {}), { code: 'invalid_option' });
  other.close();
  const feed = fauna.feed('Todo.all().eventSource()');
  feed[Symbol.asyncIterator]();
  assert.throws(() => feed[Symbol.asyncIterator](), { code: 'invalid_option' });
  feed.close();
});

test('bad options and sources: invalid_option at once; a failing query: query_failed with Fauna’s code', async () => {
  const { fauna } = await session();
  /** @type {any[][]} */
  const bad = [
    [{ cursor: 1 }],
    [{ cursor: '' }],
    [{ startTs: -1 }],
    [{ startTs: 1.5 }],
    [{ statusEvents: 'yes' }],
    [{ maxAttempts: 0 }],
    [{ maxBackoffMs: -1 }],
    [{ cursor: 'x', startTs: 1 }],
    [{ arguments: 'x' }],
  ];
  for (const [options] of bad) {
    assert.throws(() => fauna.stream('Todo.all().eventSource()', options), { code: 'invalid_option' }, JSON.stringify(options));
  }
  for (const pageSize of /** @type {any[]} */ ([0, 16_001, 2.5, '16'])) {
    assert.throws(() => fauna.feed('Todo.all().eventSource()', { pageSize }), { code: 'invalid_option' }, `pageSize ${pageSize}`);
  }
  for (const source of [undefined, null, 42, {}, { token: '' }, { token: 5 }]) {
    assert.throws(() => fauna.stream(/** @type {any} */ (source)), { code: 'invalid_option' }, String(source));
  }
  assert.throws(() => fauna.stream({ token: 'x' }, { arguments: { a: 1 } }), { code: 'invalid_option' });

  const failed = await drain(fauna.stream('Todo.nope().eventSource()'));
  assert.equal(codeOf(failed.error), 'query_failed');
  assert.equal(failed.error.faunaCode, 'invalid_query');
  const notASource = await drain(fauna.stream('1'));
  assert.equal(codeOf(notASource.error), 'invalid_option');
  assert.match(notASource.error.message, /eventSource/);
  // A token Fauna cannot read: its 400 at connect.
  const garbage = await drain(fauna.stream({ token: 'not-a-token' }));
  assert.equal(codeOf(garbage.error), 'query_failed');
  assert.equal(garbage.error.faunaCode, 'invalid_request');
  // Arguments reach the query.
  const mine = await opened(fauna.stream('Todo.where(.title == t).eventSource()', { arguments: { t: 'argued' }, statusEvents: true }));
  await create(fauna, 'other');
  await create(fauna, 'argued');
  assert.equal((await next(mine, 1))[0].data.title, 'argued');
  await mine.return?.();
});

test('a connection refused even with a fresh token ends with unauthorized and what to check', async () => {
  const { user, fauna } = await session();
  const token = await sourceToken(fauna);
  const calls = user.calls;
  await api(`${env.fauna}/__admin/faults`, { status: 401, count: 2, paths: ['/stream/1'] });
  const { error } = await drain(fauna.stream({ token }));
  assert.equal(codeOf(error), 'unauthorized');
  assert.match(error.hint, /iss|issuer|JWKS/i);
  assert.equal(user.calls, calls + 1, 'one fresh token, no more');
});

test('getToken resolving null ends the stream with signed_out', async () => {
  const { user, tokens, fauna } = await session();
  const iterator = await opened(fauna.stream('Todo.all().eventSource()', { statusEvents: true }));
  user.signedOut = true;
  // Whoever asks learns of it: here a forced refresh.
  await tokens.get({ skipCache: true }).catch(() => {});
  const { error } = await rest(iterator);
  assert.equal(codeOf(error), 'signed_out');

  // Learned by the stream itself, when its 3 s token runs out.
  const short = await session(ALICE, { template: 'fauna-short', minValiditySeconds: 1, refreshAheadSeconds: 1 });
  const expiring = await opened(short.fauna.stream('Todo.all().eventSource()', { statusEvents: true }));
  short.user.signedOut = true;
  const end = await rest(expiring);
  assert.equal(codeOf(end.error), 'signed_out');
});

test('clear() ends an open, idle stream with cleared at once, and it never reconnects', async () => {
  const { tokens, fauna } = await session();
  const iterator = await opened(fauna.stream('Todo.all().eventSource()', { statusEvents: true }));
  const count = (await connections(env.fauna)).length;
  tokens.clear();
  const { error } = await rest(iterator);
  assert.equal(codeOf(error), 'cleared');
  await until(async () => (await connections(env.fauna)).every((c) => c.ended !== 'open'), 'closed');
  assert.equal((await connections(env.fauna)).length, count);
});

test("the client's free() ends its open streams with freed", async () => {
  const { fauna } = await session();
  const iterator = await opened(fauna.stream('Todo.all().eventSource()', { statusEvents: true }));
  fauna.free();
  const { error } = await rest(iterator);
  assert.equal(codeOf(error), 'freed');
  await until(async () => (await connections(env.fauna)).every((c) => c.ended !== 'open'), 'closed');
  assert.throws(() => fauna.stream('Todo.all().eventSource()'), { code: 'freed' });
});

test('a user switch seen by the cache ends the stream with cleared', async () => {
  const alice = await signIn(env.clerk, ALICE);
  const bob = await signIn(env.clerk, BOB);
  let current = alice;
  const tokens = new TokenCache((o) => current.getToken(o));
  const fauna = new FaunaClient(tokens, { endpoint: env.fauna });
  const iterator = await opened(fauna.stream('Todo.all().eventSource()', { statusEvents: true }));
  current = bob;
  await tokens.get({ skipCache: true });
  const { error } = await rest(iterator);
  assert.equal(codeOf(error), 'cleared');
  const bobs = (await connections(env.fauna)).filter((c) => c.sub === BOB);
  assert.deepEqual(bobs, [], 'never connected as Bob');

  // A switch while the source query runs: the stream was Alice's, so it
  // ends too, whichever comes first, and never connects as Bob.
  current = alice;
  tokens.clear();
  await tokens.get();
  const early = fauna.stream('Todo.all().eventSource()');
  current = bob;
  const switched = tokens.get({ skipCache: true });
  assert.equal(codeOf((await drain(early)).error), 'cleared');
  await switched;
  assert.deepEqual(
    (await connections(env.fauna)).filter((c) => c.sub === BOB),
    [],
  );
});

test('a feed: pages of pageSize with hasNext, its cursor, and events() flattened', async () => {
  const { fauna } = await session();
  // The feed starts where its token was made: before these writes.
  const token = await sourceToken(fauna);
  for (const title of ['f1', 'f2', 'f3', 'f4', 'f5']) await create(fauna, title);
  /** @type {any[]} */
  const pages = [];
  const feed = fauna.feed({ token }, { pageSize: 2 });
  assert.equal(feed.cursor, undefined);
  const before = (await connections(env.fauna, '/feed/1')).length;
  for await (const page of feed) pages.push(page);
  assert.deepEqual(
    pages.map((p) => p.events.map((e) => e.data.title)),
    [['f1', 'f2'], ['f3', 'f4'], ['f5']],
  );
  assert.deepEqual(
    pages.map((p) => p.hasNext),
    [true, true, false],
  );
  assert.equal(feed.cursor, pages[2].cursor);
  assert.equal((await connections(env.fauna, '/feed/1')).length, before + 3);

  // Nothing is fetched until iterated; then every event, page after page.
  const lazy = fauna.feed('Todo.all().eventSource()', { pageSize: 1 });
  const flat = fauna.feed({ token }, { cursor: pages[0].cursor, pageSize: 2 });
  assert.equal(flat.cursor, pages[0].cursor);
  const titles = [];
  for await (const event of flat.events()) titles.push(/** @type {any} */ (event.data).title);
  assert.deepEqual(titles, ['f3', 'f4', 'f5']);
  lazy.close();
  assert.equal((await drain(lazy)).error, undefined);
  // A break in events() closes the feed.
  const broken = fauna.feed({ token }, { pageSize: 1 });
  const [one] = await take(broken.events(), 1);
  assert.equal(one.data.title, 'f1');
  assert.notEqual(broken.cursor, undefined, 'a cursor after its first page');
});

test('a stream outlives its 3 s tokens: permission_loss, a fresh token, no event lost or repeated', async () => {
  const { user, fauna } = await session(ALICE, { template: 'fauna-short', minValiditySeconds: 1, refreshAheadSeconds: 1 });
  const stream = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const seen = [];
  let connected = false;
  /** @type {any} */
  let ended;
  stream.subscribe(
    (e) => (e.type === 'status' ? (connected = true) : seen.push(e)),
    (error) => (ended = { error }),
  );
  const writer = (await session()).fauna;
  await until(() => connected, 'connected');
  const start = (await connections(env.fauna)).length - 1;
  const titles = [];
  // Writes until the stream has lost its token at least twice.
  for (let i = 0; ; i++) {
    titles.push(`r${i}`);
    await create(writer, `r${i}`);
    const losses = (await connections(env.fauna)).slice(start).filter((c) => c.ended === 'permission_loss');
    if (losses.length >= 2) break;
    assert.ok(i < 500, 'no permission_loss after 500 writes');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await until(() => seen.length >= titles.length || ended, 'every event');
  assert.equal(ended, undefined, `ended: ${ended?.error}`);
  assert.deepEqual(
    seen.map((e) => e.data.title),
    titles,
  );
  assert.ok(user.calls >= 3, `getToken called ${user.calls} times`);
  stream.close();
  const log = (await connections(env.fauna)).slice(start);
  assert.ok(log.every((c) => c.sub === ALICE));
});

test('lines split anywhere across chunks, even inside \\r\\n or a character, are read whole', async () => {
  const lines = [
    { type: 'status', txn_ts: 10, cursor: 's10', stats: {} },
    { type: 'add', txn_ts: 11, cursor: 'c11', data: { '@doc': { id: '1', coll: { '@mod': 'Todo' }, title: 'crème brûlée 🍮', n: { '@int': '3' } } } },
    { type: 'update', txn_ts: 12, cursor: 'c12', data: { '@doc': { id: '1', coll: { '@mod': 'Todo' }, title: '日本語', n: { '@long': '4' } } } },
  ];
  const bytes = new TextEncoder().encode(lines.map((l) => `${JSON.stringify(l)}\r\n`).join(''));
  const requests = [];
  /** Fauna answering the first connection in chunks of 1 to 3 bytes, then holding the next. */
  const fetch = async (url, init) => {
    requests.push({ url: String(url), body: init.body, authorization: init.headers.Authorization });
    if (requests.length > 1) return new Promise(() => {});
    let at = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        const size = 1 + (at % 3);
        controller.enqueue(bytes.slice(at, at + size));
        at += size;
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const tokens = new TokenCache(async () => mint(ALICE));
  const fauna = new FaunaClient(tokens, { endpoint: 'http://127.0.0.1:9', fetch: /** @type {any} */ (fetch) });
  const stream = fauna.stream({ token: 'SRC' }, { statusEvents: true });
  const events = await take(stream, 3);
  assert.deepEqual(
    events.map((e) => [e.type, e.cursor, e.data?.title, e.data?.n]),
    [
      ['status', 's10', undefined, undefined],
      ['add', 'c11', 'crème brûlée 🍮', 3],
      ['update', 'c12', '日本語', 4],
    ],
  );
  assert.equal(requests[0].url, 'http://127.0.0.1:9/stream/1');
  assert.equal(requests[0].body, '{"token":"SRC"}');
  assert.match(requests[0].authorization, /^Bearer ey/);
});
