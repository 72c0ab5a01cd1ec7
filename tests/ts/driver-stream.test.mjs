// ts/driver-stream.ts (as tsc compiles it) in Node: how the `fauna` driver's
// stream client turns what the stream engine hands over (events, an end)
// into the lines the driver reads, with an engine that plays a script. The
// real engine under the real driver is tested in tests/clients (`make clients`).
import assert from 'node:assert/strict';
import test from 'node:test';
import { driverStreamClient, errorLine } from '../../target/ts/driver-stream.js';
import { fromCore } from '../../target/ts/errors.js';

const STATUS = '{"type":"status","txn_ts":1,"cursor":"c0","stats":{}}';
const ADD = '{"type":"add","data":{"@doc":{"id":"1"}},"txn_ts":2,"cursor":"c1","stats":{}}';
/** @type {import('../../target/ts/driver-stream.js').FaunaHttpStreamRequest} */
const REQUEST = { data: { token: 'source', cursor: 'c9' }, headers: { Authorization: 'Bearer unused' }, method: 'POST' };

/** A ClerkFaunaError as the core makes them. */
const error = (code, message, details = {}) => fromCore(JSON.stringify({ code, message, ...details }));

/**
 * A stream client whose engine calls `script(sink)` when started; `runs`
 * records each start's token and options, and `closes` counts close() calls.
 */
function scripted(script) {
  const runs = [];
  let closes = 0;
  let sink;
  const client = driverStreamClient((token, options, s) => {
    runs.push({ token, options });
    sink = s;
    script(s);
    return {
      close() {
        closes += 1;
        s.end(undefined);
      },
      cursor: undefined,
    };
  });
  return { client, runs, closes: () => closes, sink: () => sink };
}

async function readAll(adapter) {
  const lines = [];
  for await (const line of adapter.read) lines.push(line);
  return lines;
}

test('the engine starts with the driver\'s token and cursor, status events on; the lines are read as sent', async () => {
  const s = scripted((sink) => {
    sink.event({}, STATUS);
    sink.event({}, ADD);
  });
  const adapter = s.client.stream(REQUEST);
  assert.deepEqual(s.runs, [{ token: 'source', options: { cursor: 'c9', startTs: undefined, statusEvents: true } }]);
  const first = await adapter.read.next();
  const second = await adapter.read.next();
  assert.deepEqual([first.value, second.value], [STATUS, ADD]);
  // Nothing more yet: the read waits until the engine hands over more or ends.
  const third = adapter.read.next();
  s.sink().event({}, ADD.replace('c1', 'c2'));
  assert.equal((await third).value, ADD.replace('c1', 'c2'));
  const fourth = adapter.read.next();
  adapter.close();
  assert.deepEqual(await fourth, { value: undefined, done: true }, 'close() ends the read cleanly');
});

test('an end with an error is one error event, after the events before it', async () => {
  const s = scripted((sink) => {
    sink.event({}, ADD);
    sink.end(error('signed_out', 'getToken resolved null.'));
  });
  const lines = await readAll(s.client.stream(REQUEST));
  assert.deepEqual(lines, [ADD, '{"type":"error","error":{"code":"signed_out","message":"getToken resolved null."}}']);
});

test('close() drops what the driver has not read; break (return) closes the engine', async () => {
  const s = scripted((sink) => {
    sink.event({}, STATUS);
    sink.event({}, ADD);
  });
  const adapter = s.client.stream(REQUEST);
  adapter.close();
  assert.deepEqual(await readAll(adapter), []);
  const t = scripted((sink) => sink.event({}, STATUS));
  for await (const line of t.client.stream(REQUEST).read) {
    assert.equal(line, STATUS);
    break;
  }
  assert.equal(t.closes(), 1);
});

test('an engine that cannot start (bad options, a freed client) gives one error event', async () => {
  const client = driverStreamClient(() => {
    throw error('invalid_option', 'cursor and startTs cannot both be given.');
  });
  const lines = await readAll(client.stream({ ...REQUEST, data: { token: 's', cursor: 'c', start_ts: 5 } }));
  assert.deepEqual(lines.map((l) => JSON.parse(l)), [
    { type: 'error', error: { code: 'invalid_option', message: 'cursor and startTs cannot both be given.' } },
  ]);
});

test('errorLine: Fauna\'s code when Fauna gave one, else clerk-fauna\'s; the hint after the message', () => {
  const parsed = (e) => JSON.parse(errorLine(e)).error;
  assert.deepEqual(
    parsed(error('query_failed', 'Invalid request body: invalid event cursor provided', { faunaCode: 'invalid_request', httpStatus: 400 })),
    { code: 'invalid_request', message: 'Invalid request body: invalid event cursor provided' },
  );
  assert.deepEqual(parsed(error('cleared', 'The token cache was cleared.')), { code: 'cleared', message: 'The token cache was cleared.' });
  assert.deepEqual(
    parsed(error('network_error', 'The connection to Fauna failed.', { hint: 'Gave up after 10 failed attempts in a row.' })),
    { code: 'network_error', message: 'The connection to Fauna failed. Gave up after 10 failed attempts in a row.' },
  );
  assert.equal(parsed(new TypeError('boom')).code, 'stream_failed');
});
