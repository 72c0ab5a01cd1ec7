// What the security tests share: the built package (pkg/node.js, which loads
// the .wasm synchronously), tokens shaped like Clerk's template tokens, a
// getToken whose user can change, and small Fauna stand-ins on 127.0.0.1:0
// that record every request they receive: "nothing was sent" is read off
// their logs, not assumed.
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';

export * from '../../pkg/node.js';

const segment = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
let serial = 0;

/** A JWT shaped like Clerk's (no real signature: the stand-ins do not check it). */
export function mint(sub, lifetime = 60) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub, iat: now, nbf: now - 5, exp: now + lifetime, jti: `jti_${++serial}`, iss: 'https://clerk.example.test' };
  return `${segment({ alg: 'RS256', typ: 'JWT' })}.${segment(payload)}.c2ln`;
}

/** The `sub` of a token, read without the package. */
export function subOf(token) {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub;
  } catch {
    return undefined;
  }
}

/**
 * Clerk's getToken for a user that can change (`issuer.sub = ...`) or sign
 * out (`issuer.sub = null`). `calls` logs each call's options; `hold()`
 * makes the next calls wait for `release()`.
 */
export function issuer(sub = 'user_alice') {
  const self = {
    sub,
    calls: [],
    holding: false,
    held: [],
    getToken: async (options) => {
      self.calls.push({ ...options });
      if (self.holding) await new Promise((resolve) => self.held.push(resolve));
      return self.sub === null ? null : mint(self.sub);
    },
    hold() {
      self.holding = true;
    },
    release() {
      self.holding = false;
      for (const resolve of self.held.splice(0)) resolve();
    },
  };
  return self;
}

const unauthorized = {
  v10: { error: { code: 'unauthorized', message: 'Access token required' } },
  v4: { errors: [{ code: 'unauthorized', description: 'Unauthorized' }] },
};

/**
 * A Fauna stand-in: answers /query/1 with the caller's `sub` as `data`, `/`
 * (FQL v4) with it as `resource`, `/graphql` with `{ whoami }`; a token in
 * `rejected` gets a 401. `script(...)` queues answers taken in order:
 * `{ status, headers, body }`, with `hold: true` to wait for `release()`.
 * `requests` logs everything received.
 */
export async function standIn() {
  const requests = [];
  const answers = [];
  const rejected = new Set();
  const held = [];
  let txn = 1_700_000_000_000_000;
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    requests.push({ method: req.method, path: req.url, headers: req.headers, body, token, sub: subOf(token) });
    const answer = answers.shift();
    if (answer?.hold) await new Promise((resolve) => held.push(resolve));
    const reply = (status, object, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof object === 'string' ? object : JSON.stringify(object));
    };
    if (answer?.status) return reply(answer.status, answer.body ?? '', answer.headers);
    const sub = subOf(token);
    if (rejected.has(token)) {
      return reply(401, req.url === '/' ? unauthorized.v4 : unauthorized.v10, { 'www-authenticate': 'Bearer' });
    }
    if (req.url === '/') return reply(200, { resource: sub });
    if (req.url === '/graphql') return reply(200, { data: { whoami: sub } });
    txn += 1;
    return reply(200, { data: sub, summary: '', txn_ts: txn, stats: { compute_ops: 1 }, schema_version: 0 });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  // Listening on a TCP port: an AddressInfo, not a pipe's name.
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    requests,
    rejected,
    script: (...list) => answers.push(...list),
    /** Lets held answers go; resolves to how many there were. */
    release: () => held.splice(0).map((resolve) => resolve()).length,
    /** Resolves once `n` requests have arrived. */
    async received(n) {
      while (requests.length < n) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The rejection of `promise`, which must reject. */
export async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection, got a result');
}

/** The error `f()` throws, which must throw. */
export function thrown(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** One call on each path that sends the token, through `client` to the stand-in at `url`. */
export function paths(client, url) {
  return {
    query: () => client.query('1'),
    queryV4: () => client.queryV4({ current_identity: null }),
    graphql: () => client.graphql('{ whoami }'),
    fetch: () => client.fetch(`${url}/query/1`, { method: 'POST', body: '{}' }),
    httpClient: () =>
      client.httpClient().request({ client_timeout_ms: 5000, data: { query: '1' }, headers: {}, method: 'POST', path: '/query/1' }),
  };
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/** A full garbage collection, and a few turns for FinalizationRegistry callbacks to run. */
export async function collectGarbage() {
  gc();
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
