// Test doubles for the browser tests: an issuer whose getToken mints
// RS256-shaped JWTs and can be told to fail, hang or hold its answers, and a
// Fauna whose fetch records every request and plays scripted answers.

const encoder = new TextEncoder();

function base64url(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const segment = (object) => base64url(encoder.encode(JSON.stringify(object)));

let serial = 0;

// The true time, whatever a test makes the page's clock say (skewClock).
const trueNow = Date.now.bind(Date);

/** Sets the page's clock `ms` off true time (0: back to true time). The issuer keeps true time. */
export function skewClock(ms) {
  Date.now = ms === 0 ? trueNow : () => trueNow() + ms;
}

/** A token whose payload segment is `payloadText` as it stands (for JSON that JSON.stringify cannot write). */
export function rawToken(payloadText) {
  return `${segment({ alg: 'RS256' })}.${base64url(encoder.encode(payloadText))}.c2ln`;
}

/** A JWT shaped like Clerk's template tokens: RS256 header, default claims, a 256-byte signature. */
export function mintToken(claims = {}, header = {}) {
  const now = Math.floor(trueNow() / 1000);
  const lifetime = claims.lifetime ?? 60;
  delete claims.lifetime;
  const payload = {
    azp: 'http://localhost:8000',
    exp: now + lifetime,
    iat: now,
    iss: 'https://clerk.example.test',
    jti: `jti_${++serial}`,
    nbf: now - 5,
    sub: 'user_2alice0000000000000000000',
    aud: 'https://db.fauna.com/db/ytestdb',
    ...claims,
  };
  const signature = new Uint8Array(256);
  crypto.getRandomValues(signature);
  // `null` removes a default claim.
  for (const [k, v] of Object.entries(payload)) if (v === null) delete payload[k];
  return `${segment({ alg: 'RS256', kid: 'ins_test', typ: 'JWT', ...header })}.${segment(payload)}.${base64url(signature)}`;
}

/**
 * getToken's stand-in. Each call takes the next scripted step, or mints a
 * token for `sub` when the script is empty. Steps: 'null', 'throw', 'hang',
 * 'garbage', 'number', 'hold' (wait for release()), 'repeat' (the last token
 * again, as a cache that ignores skipCache would), any other string (that
 * string as the token), a claims object, or a claims object with
 * `hold: true` (held, then minted with those claims).
 */
export class Issuer {
  constructor(sub = 'user_2alice0000000000000000000', lifetime = 60) {
    this.sub = sub;
    this.lifetime = lifetime;
    this.calls = [];
    this.steps = [];
    this.held = [];
    this.error = new Error('issuer offline');
    this.getToken = (options) => this.#call(options);
  }

  get count() {
    return this.calls.length;
  }

  get lastOptions() {
    return this.calls[this.calls.length - 1];
  }

  script(steps) {
    this.steps.push(...steps);
  }

  /** Answers every held call with a new token. */
  release() {
    const held = this.held.splice(0);
    for (const { resolve, claims } of held) resolve(this.#mint(claims));
    return held.length;
  }

  #mint(claims = {}) {
    this.last = mintToken({ sub: this.sub, lifetime: this.lifetime, ...claims });
    return this.last;
  }

  #call(options) {
    // Copy: the caller may reuse its object.
    this.calls.push(options === undefined ? undefined : { ...options });
    const step = this.steps.shift();
    switch (step) {
      case 'null':
        return Promise.resolve(null);
      case 'throw':
        return Promise.reject(this.error);
      case 'hang':
        return new Promise(() => {});
      case 'garbage':
        return Promise.resolve('not.a.jwt');
      case 'number':
        return Promise.resolve(42);
      case 'hold':
        return new Promise((resolve) => this.held.push({ resolve }));
      case 'repeat':
        return Promise.resolve(this.last);
      case undefined:
        return Promise.resolve(this.#mint());
      default: {
        if (typeof step === 'string') return Promise.resolve(step);
        const { hold, ...claims } = step;
        if (hold) return new Promise((resolve) => this.held.push({ resolve, claims }));
        return Promise.resolve(this.#mint(claims));
      }
    }
  }
}

/** The `sub` of a bearer token, read without the library under test. */
function subOf(authorization) {
  try {
    const payload = authorization.replace(/^Bearer /, '').split('.')[1];
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))).sub;
  } catch {
    return undefined;
  }
}

/**
 * Fauna's stand-in behind an injected fetch. Scripted answers are taken in
 * order; with none left it answers like /query/1 (or v4, or GraphQL) would,
 * with the caller's `sub` as data. Tokens listed in `rejected` get a 401.
 */
export class FakeFauna {
  constructor() {
    this.requests = [];
    this.answers = [];
    this.rejected = new Set();
    this.held = [];
    this.txn = 1_700_000_000_000_000;
    this.fetch = (input, init) => this.#fetch(input, init);
  }

  get count() {
    return this.requests.length;
  }

  request(i) {
    return this.requests[i];
  }

  /** Queues answers: {status, body (object or raw string), headers, hang, fail}. */
  script(answers) {
    this.answers.push(...answers);
  }

  reject(token) {
    this.rejected.add(token);
  }

  /** Lets every held answer go. */
  releaseHeld() {
    const held = this.held.splice(0);
    for (const resolve of held) resolve();
    return held.length;
  }

  /** Every token from now on gets a 401. */
  rejectAll() {
    this.rejectEverything = true;
  }

  async #fetch(input, init) {
    // All but the body is settled the moment fetch is called, as a real
    // request is on its way then: the request is recorded and takes its
    // answer, and a held or hanging one waits from then on (its body may be
    // read later than a test's release or abort).
    const request = new Request(input, init);
    const headers = Object.fromEntries(request.headers.entries());
    const record = { url: request.url, method: request.method, headers, body: undefined };
    this.requests.push(record);
    const token = (headers.authorization ?? '').replace(/^Bearer /, '');
    const path = new URL(request.url).pathname;
    const refused = this.rejectEverything || this.rejected.has(token);
    const answer = refused ? undefined : this.answers.shift();
    // Hangs until aborted, as fetch does.
    const aborted = answer?.hang
      ? new Promise((_, reject) => {
          request.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        })
      : undefined;
    aborted?.catch(() => {});
    // Held: answered (as scripted, minus `hold`) when releaseHeld() is called.
    const released = answer?.hold ? new Promise((resolve) => this.held.push(resolve)) : undefined;
    record.body = await request.text();
    if (refused) {
      return json(401, path === '/' ? v4Unauthorized : v10Unauthorized, { 'www-authenticate': 'Bearer' });
    }
    if (aborted) return aborted;
    await released;
    if (answer?.fail) throw new TypeError('Failed to fetch');
    if (answer) {
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      return new Response(text, { status: answer.status ?? 200, headers: answer.headers ?? {} });
    }
    const sub = subOf(headers.authorization ?? '');
    if (path === '/') return json(200, { resource: sub });
    if (path === '/graphql') return json(200, { data: { whoami: sub } });
    this.txn += 1;
    return json(200, {
      data: sub,
      static_type: 'String',
      summary: '',
      txn_ts: this.txn,
      stats: { compute_ops: 1, read_ops: 0, write_ops: 0, query_time_ms: 1, contention_retries: 0,
        storage_bytes_read: 0, storage_bytes_write: 0, rate_limits_hit: [] },
      schema_version: 0,
    });
  }
}

const v10Unauthorized = { error: { code: 'unauthorized', message: 'Access token required' } };
const v4Unauthorized = { errors: [{ code: 'unauthorized', description: 'Unauthorized' }] };

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** Settles within `ms`? Lets a test see that a promise is still pending. */
export function settlesWithin(promise, ms) {
  return Promise.race([
    promise.then(() => true, () => true),
    new Promise((resolve) => setTimeout(() => resolve(false), ms)),
  ]);
}

/** Awaits a promise that should reject; resolves to the rejection (or null if it resolved). */
export function rejection(promise) {
  return promise.then(() => null, (e) => e);
}

/** Counts unhandled rejections from now on. */
export function watchUnhandled() {
  const seen = [];
  window.addEventListener('unhandledrejection', (e) => seen.push(e.reason));
  return seen;
}

/**
 * Misuses an exported object the way buggy apps do: a method after free(),
 * free() twice, methods on a stale reference. Returns what each attempt did:
 * 'ok' or the thrown error's message.
 */
export function misuse(object, method, ...args) {
  const attempt = (f) => {
    try {
      const result = f();
      // Async methods may reject instead of throwing.
      if (result && typeof result.then === 'function') result.catch(() => {});
      return 'ok';
    } catch (e) {
      return e instanceof Error ? `threw: ${e.message}` : `threw a non-Error: ${String(e)}`;
    }
  };
  return [
    attempt(() => object.free()),
    attempt(() => object[method](...args)),
    attempt(() => object.free()),
    attempt(() => object[method](...args)),
  ];
}

/**
 * Puts setters for `names` on Object.prototype, as a buggy library might.
 * Returns { seen, restore }: `seen` lists [name, value] for every call.
 */
export function polluteSetters(names) {
  const seen = [];
  for (const name of names) {
    Object.defineProperty(Object.prototype, name, { set(v) { seen.push([name, v]); }, configurable: true });
  }
  return {
    seen,
    restore() {
      for (const name of names) delete Object.prototype[name];
    },
  };
}
