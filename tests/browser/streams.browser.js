// fauna.stream() and fauna.feed() of the built package (pkg/web.js) in the
// page, against the Clerk and Fauna stand-ins the runner started (their
// origins in the page's query string): fetch's streaming body read in a
// browser, a reconnection across a permission_loss with 3 s tokens, clear()
// and close(), a feed's pages. (tests/streams has the full set, in Node.)

import { FaunaClient, TokenCache } from '../../pkg/web.js';
import { startSession } from '../environments/app/session.js';
import { deepEqual, equal, ok, test } from './page/harness.js';

const ALICE = 'user_2aLiCeQk7mXv9pR3sT5wY8zB1cD';
/** Only a failing test waits this long. */
const WAIT_MS = 20_000;

/** The stand-ins' origins, from the page's address. */
function origins() {
  const query = new URL(location.href).searchParams;
  const clerk = query.get('clerk');
  const fauna = query.get('fauna');
  if (!clerk || !fauna) throw new Error('the runner gave no stand-ins (?clerk=&fauna=)');
  return { clerk, fauna };
}

/** Alice signed in at the Clerk stand-in: a cache and a client on the Fauna stand-in. */
async function alice(cacheOptions = {}) {
  const { clerk, fauna } = origins();
  const { getToken } = await startSession(clerk, ALICE);
  const tokens = new TokenCache(getToken, cacheOptions);
  return { tokens, fauna: new FaunaClient(tokens, { endpoint: fauna }) };
}

/** `promise`, or a failure after WAIT_MS. */
function within(promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${WAIT_MS} ms`)), WAIT_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The next `n` values of `iterator`. */
async function next(iterator, n, what) {
  const got = [];
  for (let i = 0; i < n; i++) {
    const { value, done } = await within(iterator.next(), what);
    if (done) throw new Error(`${what}: ended after ${got.length}`);
    got.push(value);
  }
  return got;
}

/** An iterator of a stream made with statusEvents, past its first (status) event: connected. */
async function opened(stream) {
  const iterator = stream[Symbol.asyncIterator]();
  const [status] = await next(iterator, 1, 'the status event');
  equal(status.type, 'status');
  return iterator;
}

/** The error `iterator` ends with (undefined: it finished cleanly), after no more events. */
async function end(iterator) {
  try {
    const { done } = await within(iterator.next(), 'the end');
    ok(done, 'no more events');
    return undefined;
  } catch (e) {
    return e;
  }
}

const create = (fauna, title) => fauna.query(`Todo.create({ title: ${JSON.stringify(title)}, n: 1 })`);

test('a stream delivers add update and remove through the browsers streaming fetch', async () => {
  const { fauna } = await alice();
  const stream = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const iterator = await opened(stream);
  const { data } = await create(fauna, 'browser');
  const id = JSON.stringify(data.id);
  await fauna.query(`Todo.byId(${id})!.update({ done: true })`);
  await fauna.query(`Todo.byId(${id})!.delete()`);
  const events = await next(iterator, 3, 'three events');
  deepEqual(
    events.map((e) => e.type),
    ['add', 'update', 'remove'],
  );
  equal(events[0].data.title, 'browser');
  equal(events[0].data.n, 1, 'untagged');
  equal(events[0].data.coll, 'Todo');
  equal(stream.cursor, events[2].cursor);
  stream.close();
  equal(await end(iterator), undefined);
});

test('a stream outlives its 3 s tokens in the browser with every event once', async () => {
  const { fauna } = await alice({ template: 'fauna-short', minValiditySeconds: 1, refreshAheadSeconds: 1 });
  const writer = (await alice()).fauna;
  const stream = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const iterator = await opened(stream);
  const titles = [];
  const started = Date.now();
  // Seven seconds of writes: the stream's token runs out twice.
  for (let i = 0; Date.now() - started < 7000; i++) {
    titles.push(`b${i}`);
    await create(writer, `b${i}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seen = [];
  while (seen.length < titles.length) {
    const [event] = await next(iterator, 1, `event ${seen.length}`);
    // An idle status event may come between; a reconnection shows none.
    if (event.type !== 'status') seen.push(event.data.title);
  }
  deepEqual(seen, titles);
  stream.close();
  const log = await (await fetch(`${origins().fauna}/__admin/requests`)).json();
  const losses = log.filter((r) => r.path === '/stream/1' && r.ended === 'permission_loss');
  ok(losses.length >= 2, `${losses.length} permission_loss`);
});

test('clear ends an idle stream with cleared and close ends another cleanly', async () => {
  const { tokens, fauna } = await alice();
  const cleared = await opened(fauna.stream('Todo.all().eventSource()', { statusEvents: true }));
  const closed = fauna.stream('Todo.all().eventSource()', { statusEvents: true });
  const closing = await opened(closed);
  closed.close();
  equal(await end(closing), undefined);
  tokens.clear();
  equal((await end(cleared))?.code, 'cleared');
});

test('a feed pages with page size and has next', async () => {
  const { fauna } = await alice();
  /** @type {{ data: { '@stream': string } }} */
  const { data } = await fauna.query('Todo.all().eventSource()', undefined, { format: 'tagged' });
  // From where the token was made: before these writes.
  for (const title of ['p1', 'p2', 'p3']) await create(fauna, title);
  /** @type {any[]} */
  const pages = [];
  for await (const page of fauna.feed(data, { pageSize: 2 })) pages.push(page);
  deepEqual(
    pages.map((p) => p.events.map((e) => e.data.title).join()),
    ['p1,p2', 'p3'],
  );
  deepEqual(
    pages.map((p) => p.hasNext),
    [true, false],
  );
});
