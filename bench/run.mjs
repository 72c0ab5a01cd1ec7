// `make bench`: the benchmark suite of clerk-fauna. Weighs the package beside
// the usual alternatives (Node), then measures it in headless Chromium: cache
// hits, stampedes, per-request overhead, memory, startup, event streams.
// Prints a table and writes it to BENCHMARKS.md. A benchmark, not a test: it
// exits 0 whatever the figures are, and non-zero only when the setup is
// broken (no package, no browser, a stand-in that does not start, a page that
// throws), or when a stream lost, repeated or reordered an event (a bug, not
// a slow figure).

import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg, totalmem } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { weigh } from './weight.mjs';
import { countBoundaryCalls } from './boundary.mjs';
import { breakdown } from '../scripts/size-breakdown.mjs';
import { CHROMIUM_ARGS, api, buildDevserver, deadline, startDevserver, stopChild } from '../devserver/launch.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoDir = dirname(benchDir);
const pageDir = join(benchDir, 'page');
const QUICK = process.env.BENCH_QUICK === '1'; // smaller rounds, for working on the suite itself
const COMMAND = 'make bench';

// Rounds and sizes. Every figure is the median of ROUNDS rounds after one
// discarded warm-up round; the spread is min–max over those rounds.
const CFG = QUICK
  ? { rounds: 3, hitCalls: 5_000, stampede: 1_000, unauthorized: 100, inpageCalls: 500, loopbackCalls: 50, memFirst: 1_000, memTotal: 10_000, memRounds: 1, startupRounds: 3, streamWrites: 50, expiries: 5 }
  : { rounds: 9, hitCalls: 50_000, stampede: 1_000, unauthorized: 100, inpageCalls: 3_000, loopbackCalls: 300, memFirst: 1_000, memTotal: 100_000, memRounds: 3, startupRounds: 9, streamWrites: 300, expiries: 20 };
// Streams through token expiries: tokens of this many seconds (the Clerk
// stand-in's mint; Clerk's own shortest is 30 s, its default 60 s), the
// stand-in re-checking them every STREAM_IDLE_CHECK_MS (Fauna: about a
// minute), writes at random pauses of up to STREAM_MAX_PAUSE_MS.
const TOKEN_SECONDS = 2;
const STREAM_IDLE_CHECK_MS = 50;
const STREAM_MAX_PAUSE_MS = 100;
const MEM_BATCH = 100; // concurrent queries per batch in the memory run
// Request overhead: package and fetch alternate in blocks of this many requests.
const INPAGE_BLOCK = 50;
const LOOPBACK_BLOCK = 5;

// The package build's copy of the .wasm that keeps its function names.
const NAMED_WASM = 'target/wasm-pack/web/clerk_fauna_bg.named.wasm';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_BENCH_ARGS = [
  ...CHROMIUM_ARGS,
  '--disable-dev-shm-usage',
  '--js-flags=--expose-gc', // gc() before each heap reading
  '--enable-precise-memory-info', // performance.memory unrounded
];

// ---------------------------------------------------------------- helpers


const log = (...args) => console.error('bench:', ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function sorted(values) {
  return [...values].sort((a, b) => a - b);
}
function median(values) {
  const s = sorted(values);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
/** The value below which a share `p` (0 to 1) of the values lie (nearest rank). */
function percentile(values, p) {
  const s = sorted(values);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}
/** { median, min, max, n } of the values. */
function summary(values) {
  const s = sorted(values);
  return { median: median(s), min: s[0], max: s[s.length - 1], n: s.length };
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
// The size goals, as scripts/size-report.sh defines them (goal_kb, step_kb, limit_kb).
const SIZE = (() => {
  const script = readFileSync(join(repoDir, 'scripts/size-report.sh'), 'utf8');
  const read = (name) => Number(new RegExp(`^${name}=(\\d+)$`, 'm').exec(script)?.[1]);
  return { goalKb: read('goal_kb'), stepKb: read('step_kb'), limitKb: read('limit_kb') };
})();
function fmt(value, unit) {
  if (unit === 'ratio') return `${value.toFixed(value < 2 ? 3 : 2)}×`;
  if (unit === 'ns') return value >= 1000 ? `${(value / 1000).toFixed(2)} µs` : `${Math.round(value)} ns`;
  if (unit === 'us') return `${value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1)} µs`;
  if (unit === 'ms') return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
  if (unit === 'bytes') {
    const sign = value < 0 ? '−' : '';
    const abs = Math.abs(value);
    if (abs >= 1 << 20) return `${sign}${(abs / (1 << 20)).toFixed(2)} MB`;
    if (abs >= 1024) return `${sign}${(abs / 1024).toFixed(1)} KB`;
    return `${sign}${abs} B`;
  }
  if (unit === 'count') return String(value);
  return String(value);
}
function spread(s, unit) {
  if (s.n < 2 || s.min === s.max) return `${s.n === 1 ? '1 round' : `all ${s.n} rounds equal`}`;
  return `${fmt(s.min, unit)} – ${fmt(s.max, unit)}`;
}

// ---------------------------------------------------------- the package

/**
 * A private copy of pkg/ for this run: others may rebuild pkg/ (it is deleted
 * and rewritten) while the benchmark runs. Builds it first when missing.
 */
async function snapshotPkg() {
  const pkg = join(repoDir, 'pkg');
  const complete = () =>
    ['web.js', 'package.json', join('web', 'clerk_fauna.js'), join('web', 'clerk_fauna_bg.wasm')].every((f) =>
      existsSync(join(pkg, f)),
    );
  // A build in progress (wasm-pack's work folder touched in the last 5
  // minutes) is waited for rather than raced.
  const building = () => {
    try {
      return Date.now() - statSync(join(repoDir, 'target', 'wasm-pack')).mtimeMs < 5 * 60_000;
    } catch {
      return false;
    }
  };
  for (let waited = 0; !complete() && building() && waited < 100; waited++) {
    if (waited === 0) log('pkg/ is being built: waiting for it');
    await sleep(3000);
  }
  if (!complete()) {
    log('pkg/ missing: make setup package');
    execFileSync('make', ['--no-print-directory', 'setup', 'package'], { cwd: repoDir, stdio: ['ignore', 2, 2] });
  }
  for (let attempt = 1; ; attempt++) {
    if (complete()) {
      const copy = mkdtempSync(join(tmpdir(), 'clerk-fauna-bench-pkg-'));
      cpSync(pkg, copy, { recursive: true });
      // Complete in the copy too (a rebuild may have started mid-copy)?
      const ok = ['web.js', join('web', 'clerk_fauna_bg.wasm')].every((f) => existsSync(join(copy, f)));
      if (ok) return copy;
      rmSync(copy, { recursive: true, force: true });
    }
    if (attempt >= 40) throw new Error('pkg/ stays incomplete (a build in progress?); run `make package`');
    await sleep(3000);
  }
}

// --------------------------------------------------------- static server

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/** Serves bench/page at / and the pkg copy at /pkg/, cross-origin isolated (finer timers). */
function serve(pkgCopy) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [root, rel] = path.startsWith('/pkg/') ? [pkgCopy, path.slice(5)] : [pageDir, path === '/' ? 'index.html' : path.slice(1)];
    const file = normalize(join(root, rel));
    const headers = {
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    };
    if (!file.startsWith(root + sep) || !existsSync(file)) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

// ------------------------------------------------------------ stand-ins

/** The stand-ins, built and started on ephemeral ports (devserver/launch.mjs). */
async function startStandIns() {
  return startDevserver(await buildDevserver(repoDir), repoDir);
}

// ---------------------------------------------------------------- pages

/** A page on the bench, with its errors collected; `fresh` = a new browser context (empty caches). */
async function openBench(browser, origin, path = '/') {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await deadline(page.goto(`${origin}${path}`), 30_000, `open ${path}`);
  if (path === '/') {
    await deadline(page.waitForFunction(() => window.benchReady === true), 30_000, 'bench page ready').catch((e) => {
      throw new Error(`${e.message}\n${errors.join('\n')}`);
    });
  }
  const run = (what, fn, arg, ms = 180_000) =>
    deadline(page.evaluate(fn, arg), ms, what).catch((e) => {
      throw new Error(`${what}: ${e.message}${errors.length ? `\npage errors:\n${errors.join('\n')}` : ''}`);
    });
  return { page, context, errors, run, close: () => context.close() };
}

/** Runs `round(i)` for a warm-up round plus CFG.rounds, and returns the kept results. */
async function rounds(count, round) {
  await round(-1);
  const kept = [];
  for (let i = 0; i < count; i++) kept.push(await round(i));
  return kept;
}

// ------------------------------------------------------------ scenarios

async function benchCacheHit(bench) {
  const results = await rounds(CFG.rounds, (r) =>
    bench.run('cache hit', ([round, n]) => window.bench.cacheHit(round, n), [Math.max(r, 0), CFG.hitCalls]),
  );
  const hitsOk = results.every((r) => r.hits === r.n);
  return {
    package: summary(results.map((r) => r.package)),
    reference: summary(results.map((r) => r.reference)),
    getToken: summary(results.map((r) => r.getToken)),
    vsReference: summary(results.map((r) => r.package / r.reference)),
    vsGetToken: summary(results.map((r) => r.package / r.getToken)),
    hitsOk,
  };
}

async function benchStampedes(bench) {
  const cold = await rounds(CFG.rounds, () =>
    bench.run('stampede', (n) => window.bench.stampede(n), CFG.stampede),
  );
  const unauthorized = await rounds(CFG.rounds, () =>
    bench.run('401 stampede', (n) => window.bench.unauthorizedStampede(n), CFG.unauthorized),
  );
  return {
    cold: {
      ms: summary(cold.map((r) => r.ms)),
      calls: summary(cold.map((r) => r.getTokenCalls)),
      allFulfilled: cold.every((r) => r.fulfilled === r.n),
      error: cold.find((r) => r.error)?.error,
    },
    unauthorized: {
      ms: summary(unauthorized.map((r) => r.ms)),
      refreshes: summary(unauthorized.map((r) => r.refreshes)),
      refused: summary(unauthorized.map((r) => r.refused)),
      allFulfilled: unauthorized.every((r) => r.fulfilled === r.n),
      error: unauthorized.find((r) => r.error)?.error,
    },
  };
}

async function benchOverhead(bench, target, n, blockSize) {
  const results = await rounds(CFG.rounds, (r) =>
    bench.run(
      `overhead (${target.kind})`,
      ([round, n, target, blockSize]) => window.bench.overhead(round, n, target, blockSize),
      [Math.max(r, 0), n, target, blockSize],
    ),
  );
  return {
    package: summary(results.map((r) => r.packageUs)),
    fetch: summary(results.map((r) => r.fetchUs)),
    abortable: summary(results.map((r) => r.abortableUs)),
    ratio: summary(results.map((r) => r.packageUs / r.fetchUs)),
    abortableRatio: summary(results.map((r) => r.abortableUs / r.fetchUs)),
    headerNames: results[0].headerNames,
    url: results[0].url,
  };
}

async function benchMemory(browser, origin) {
  const results = [];
  for (let i = 0; i < CFG.memRounds; i++) {
    const bench = await openBench(browser, origin);
    try {
      results.push(
        await bench.run('memory', ([a, b, c]) => window.bench.memory(a, b, c), [CFG.memFirst, CFG.memTotal, MEM_BATCH], 600_000),
      );
    } finally {
      await bench.close();
    }
  }
  const pick = (f) => summary(results.map(f));
  return {
    gc: results.every((r) => r.afterTotal.gc),
    heapAvailable: results.every((r) => r.afterTotal.heapBytes !== null),
    wasmStart: pick((r) => r.start.wasmBytes),
    wasmFirst: pick((r) => r.afterFirst.wasmBytes),
    wasmTotal: pick((r) => r.afterTotal.wasmBytes),
    wasmGrowth: pick((r) => r.afterTotal.wasmBytes - r.afterFirst.wasmBytes),
    heapFirst: pick((r) => r.afterFirst.heapBytes ?? 0),
    heapTotal: pick((r) => r.afterTotal.heapBytes ?? 0),
    heapGrowth: pick((r) => (r.afterTotal.heapBytes ?? 0) - (r.afterFirst.heapBytes ?? 0)),
    wasmGrowth2: pick((r) => r.afterTwice.wasmBytes - r.afterTotal.wasmBytes),
    heapGrowth2: pick((r) => (r.afterTwice.heapBytes ?? 0) - (r.afterTotal.heapBytes ?? 0)),
    queriesPerSecond: pick((r) => (r.afterTotal.queries / r.ms) * 1000),
  };
}

/** Fresh context (empty HTTP and code caches) and page per round. */
async function benchStartup(browser, origin) {
  const results = await rounds(CFG.startupRounds, async () => {
    const bench = await openBench(browser, origin, '/blank.html');
    try {
      return await bench.run('startup', async () => {
        const b64url = (v) => btoa(JSON.stringify(v)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
        const iat = Math.floor(Date.now() / 1000);
        const token = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url({ sub: 'user_bench', iat, exp: iat + 60 })}.c2ln`;
        const t0 = performance.now();
        const m = await import('/pkg/web.js');
        const t1 = performance.now();
        await m.default();
        const t2 = performance.now();
        const tokens = new m.TokenCache(() => Promise.resolve(token));
        await tokens.get();
        const t3 = performance.now();
        tokens.free();
        return { importMs: t1 - t0, initMs: t2 - t1, tokenMs: t3 - t2, totalMs: t3 - t0 };
      });
    } finally {
      await bench.close();
    }
  });
  return {
    total: summary(results.map((r) => r.totalMs)),
    import: summary(results.map((r) => r.importMs)),
    init: summary(results.map((r) => r.initMs)),
    token: summary(results.map((r) => r.tokenMs)),
  };
}

/**
 * Event streams (bench/page/streams.js): write → event latency against the
 * write's own round trip and a query's, in one loop; then a stream held over
 * CFG.expiries token expiries, with the time each reconnect left it without a
 * connection and the events lost, repeated or out of order (all must be 0).
 */
async function benchStreams(bench, { clerk, fauna, sessionId, userId }) {
  await api(`${fauna}/__admin/streams`, { idle_check_ms: STREAM_IDLE_CHECK_MS });
  const latency = await bench.run(
    'stream latency',
    (args) => window.bench.streamLatency(args),
    { clerk, fauna, sessionId, userId, n: CFG.streamWrites },
  );
  const expiries = await bench.run(
    'stream expiries',
    (args) => window.bench.streamExpiries(args),
    { clerk, fauna, userId, expiries: CFG.expiries, lifetimeSeconds: TOKEN_SECONDS, maxPauseMs: STREAM_MAX_PAUSE_MS },
    10 * 60_000,
  );
  const ratios = latency.eventMs.map((ms, i) => ms / latency.writeMs[i]);
  const conns = expiries.connections;
  // Each reconnect: from the end of the connection before (the server ended
  // it: its token had expired) to the answer of the next, and from that
  // token's exp to the same answer.
  const gaps = [];
  const sinceExp = [];
  for (let i = 1; i < conns.length; i++) {
    if (conns[i].opened === undefined || conns[i - 1].closed === undefined) continue;
    gaps.push(conns[i].opened - conns[i - 1].closed);
    sinceExp.push(conns[i].opened - conns[i - 1].exp);
  }
  const pick = (values) => ({ p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: Math.max(...values), min: Math.min(...values), n: values.length });
  return {
    latency: { event: pick(latency.eventMs), write: pick(latency.writeMs), query: pick(latency.queryMs), ratio: pick(ratios) },
    expiries: {
      ...expiries,
      reconnects: conns.length - 1,
      refused: conns.filter((c) => c.status !== 200).length,
      gap: pick(gaps),
      sinceExp: pick(sinceExp),
    },
  };
}

/** What is wrong with a stream run that no figure may excuse: events lost, repeated, reordered, too few expiries. */
function streamFailures(st) {
  const x = st.expiries;
  const failures = [];
  if (x.lost) failures.push(`${x.lost} of ${x.written} events LOST`);
  if (x.repeated) failures.push(`${x.repeated} events REPEATED`);
  if (x.outOfOrder) failures.push(`${x.outOfOrder} events OUT OF ORDER`);
  if (x.error) failures.push(`the stream ended: ${x.error}`);
  if (x.reconnects < CFG.expiries) failures.push(`only ${x.reconnects} reconnects, ${CFG.expiries} expiries expected`);
  return failures;
}

// ---------------------------------------------------------------- table

function buildRows(f) {
  const rows = []; // [section, measure, median, spread, goal, verdict]
  const verdict = (ok) => (ok ? 'met' : '**missed**');

  for (const w of f.weight) {
    const base = `${w.name}${w.version ? ` ${w.version}` : ''}`;
    if (w.name === 'clerk-fauna/web') {
      rows.push(['1 Weight', `${base} (.wasm ${kb(w.parts.wasm)} + glue ${kb(w.parts.glue)})`, kb(w.bytes), 'exact', `≤ ${SIZE.stepKb} KB (#11); goal ${SIZE.goalKb} KB`, `${verdict(w.bytes <= SIZE.stepKb * 1024)}; ${verdict(w.bytes <= SIZE.goalKb * 1024)}`]);
    } else if (w.name === 'clerk-fauna/react') {
      rows.push(['1 Weight', `${base}: ${w.what}`, w.bytes === null ? w.note : kb(w.bytes), '', '', '']);
    } else {
      rows.push(['1 Weight', `${base}: ${w.what}`, kb(w.bytes), 'exact', '', '']);
    }
  }

  const h = f.cacheHit;
  rows.push(['2 Cache hit', '`await tokens.get()`, warm cache, per call', fmt(h.package.median, 'ns'), spread(h.package, 'ns'), '', '']);
  rows.push(['2 Cache hit', 'JS reference cache (Map of promises, same rules), per call', fmt(h.reference.median, 'ns'), spread(h.reference, 'ns'), '', '']);
  rows.push(['2 Cache hit', '`await getToken()` (fake, resolves at once), per call', fmt(h.getToken.median, 'ns'), spread(h.getToken, 'ns'), '', '']);
  rows.push(['2 Cache hit', 'package ÷ JS reference', fmt(h.vsReference.median, 'ratio'), spread(h.vsReference, 'ratio'), '≤ 1.00×', verdict(h.vsReference.median <= 1)]);
  rows.push(['2 Cache hit', 'package ÷ bare getToken', fmt(h.vsGetToken.median, 'ratio'), spread(h.vsGetToken, 'ratio'), '', '']);
  rows.push(['2 Cache hit', 'calls into and out of the module per warm `tokens.get()` (counted)', `${fmt(f.boundary.get.into, 'count')} + ${fmt(f.boundary.get.out, 'count')}`, 'exact', '', '']);

  const s = f.stampedes;
  rows.push(['3 Stampede', `${CFG.stampede.toLocaleString('en-US')} concurrent \`query()\`, cold cache: \`getToken\` calls`, fmt(s.cold.calls.median, 'count'), spread(s.cold.calls, 'count'), '1', verdict(s.cold.calls.max === 1 && s.cold.allFulfilled)]);
  rows.push(['3 Stampede', `… time to all ${CFG.stampede.toLocaleString('en-US')} settled`, fmt(s.cold.ms.median, 'ms'), spread(s.cold.ms, 'ms'), '', '']);
  rows.push(['3 Stampede', `${CFG.unauthorized} concurrent queries, each 401 once: \`stats.refreshes\``, fmt(s.unauthorized.refreshes.median, 'count'), spread(s.unauthorized.refreshes, 'count'), '1', verdict(s.unauthorized.refreshes.max === 1 && s.unauthorized.allFulfilled)]);
  rows.push(['3 Stampede', `… time to all ${CFG.unauthorized} settled`, fmt(s.unauthorized.ms.median, 'ms'), spread(s.unauthorized.ms, 'ms'), '', '']);

  for (const [key, label] of [['inpage', 'in-page fetch (CPU cost only)'], ['loopback', 'Fauna stand-in on loopback (real HTTP)']]) {
    const o = f.overhead[key];
    rows.push(['4 Request', `\`fauna.query\`, ${label}`, fmt(o.package.median, 'us'), spread(o.package, 'us'), '', '']);
    rows.push(['4 Request', `plain \`fetch\` + \`json()\`, same request, ${label}`, fmt(o.fetch.median, 'us'), spread(o.fetch, 'us'), '', '']);
    rows.push(['4 Request', `… plus an AbortController signal and a timer, ${label}`, fmt(o.abortable.median, 'us'), spread(o.abortable, 'us'), '', '']);
    const goal = key === 'loopback' ? 1.05 : 2;
    rows.push(['4 Request', `package ÷ fetch, ${key === 'inpage' ? 'in-page' : 'loopback'}`, fmt(o.ratio.median, 'ratio'), spread(o.ratio, 'ratio'), `≤ ${goal.toFixed(2)}×`, verdict(o.ratio.median <= goal)]);
  }
  const b = f.boundary;
  rows.push(['4 Request', 'calls into the WebAssembly module per warm `fauna.query` (counted)', fmt(b.query.into, 'count'), 'exact', '', '']);
  rows.push(['4 Request', '… and out of it (its imports, wasm-bindgen helpers included)', fmt(b.query.out, 'count'), 'exact', '', '']);

  const m = f.memory;
  const n1 = CFG.memFirst.toLocaleString('en-US');
  const n2 = CFG.memTotal.toLocaleString('en-US');
  const n3 = (2 * CFG.memTotal).toLocaleString('en-US');
  rows.push(['5 Memory', `WASM linear memory after ${n1} queries`, fmt(m.wasmFirst.median, 'bytes'), spread(m.wasmFirst, 'bytes'), '', '']);
  rows.push(['5 Memory', `WASM linear memory after ${n2} queries`, fmt(m.wasmTotal.median, 'bytes'), spread(m.wasmTotal, 'bytes'), '', '']);
  rows.push(['5 Memory', `WASM growth, ${n1} → ${n2}`, fmt(m.wasmGrowth.median, 'bytes'), spread(m.wasmGrowth, 'bytes'), '0', verdict(m.wasmGrowth.max === 0)]);
  rows.push(['5 Memory', `WASM growth, the next ${n2} (${n2} → ${n3})`, fmt(m.wasmGrowth2.median, 'bytes'), spread(m.wasmGrowth2, 'bytes'), '0', verdict(m.wasmGrowth2.max === 0)]);
  if (m.heapAvailable) {
    rows.push(['5 Memory', `JS heap after ${n1} queries${m.gc ? ' (after gc())' : ' (no gc())'}`, fmt(m.heapFirst.median, 'bytes'), spread(m.heapFirst, 'bytes'), '', '']);
    rows.push(['5 Memory', `JS heap after ${n2} queries`, fmt(m.heapTotal.median, 'bytes'), spread(m.heapTotal, 'bytes'), '', '']);
    rows.push(['5 Memory', `JS heap growth, ${n1} → ${n2}`, fmt(m.heapGrowth.median, 'bytes'), spread(m.heapGrowth, 'bytes'), '0', verdict(m.heapGrowth.median <= 0)]);
    rows.push(['5 Memory', `JS heap growth, the next ${n2} (${n2} → ${n3})`, fmt(m.heapGrowth2.median, 'bytes'), spread(m.heapGrowth2, 'bytes'), '', '']);
  } else {
    rows.push(['5 Memory', 'JS heap', 'n/a (no performance.memory)', '', '', '']);
  }

  const st = f.startup;
  rows.push(['6 Startup', '`import` → `init()` → first cached token (fresh context)', fmt(st.total.median, 'ms'), spread(st.total, 'ms'), '', '']);
  rows.push(['6 Startup', '… of which `import` of web.js', fmt(st.import.median, 'ms'), spread(st.import, 'ms'), '', '']);
  rows.push(['6 Startup', '… of which `init()` (fetch + instantiate the .wasm)', fmt(st.init.median, 'ms'), spread(st.init, 'ms'), '', '']);
  rows.push(['6 Startup', '… of which `new TokenCache` + first `get()`', fmt(st.token.median, 'ms'), spread(st.token, 'ms'), '', '']);

  const sl = f.streams.latency;
  const sx = f.streams.expiries;
  const p = (x) => `p99 ${fmt(x.p99, 'ms')}, max ${fmt(x.max, 'ms')}`;
  const writes = `${sl.event.n.toLocaleString('en-US')} writes`;
  rows.push(['7 Streams', `write → event on \`fauna.stream()\`, loopback, p50 (${writes})`, fmt(sl.event.p50, 'ms'), p(sl.event), '', '']);
  rows.push(['7 Streams', '… baseline: the same write\'s own round trip (root secret, `fetch`)', fmt(sl.write.p50, 'ms'), p(sl.write), '', '']);
  rows.push(['7 Streams', '… baseline: a `fauna.query(\'1\')` round trip, same loop', fmt(sl.query.p50, 'ms'), p(sl.query), '', '']);
  rows.push(['7 Streams', 'write → event ÷ the write\'s round trip (per write)', fmt(sl.ratio.p50, 'ratio'), `p99 ${fmt(sl.ratio.p99, 'ratio')}`, '', '']);
  rows.push(['7 Streams', `time without a connection at each expiry: server's end → next connection's answer (${sx.gap.n} expiries)`, fmt(sx.gap.p50, 'ms'), `max ${fmt(sx.gap.max, 'ms')}`, '', '']);
  rows.push(['7 Streams', `… counted from the token's \`exp\` (server re-check every ${STREAM_IDLE_CHECK_MS} ms)`, fmt(sx.sinceExp.p50, 'ms'), `max ${fmt(sx.sinceExp.max, 'ms')}`, '', '']);
  rows.push(['7 Streams', `events lost over ${sx.reconnects} expiries (${sx.written} written, ${TOKEN_SECONDS} s tokens)`, fmt(sx.lost, 'count'), 'exact', '0', sx.lost === 0 && sx.written > 0 ? 'met' : '**FAILED**']);
  rows.push(['7 Streams', '… events repeated / out of order', `${sx.repeated} / ${sx.outOfOrder}`, 'exact', '0 / 0', sx.repeated === 0 && sx.outOfOrder === 0 ? 'met' : '**FAILED**']);
  return rows;
}

function markdownTable(rows) {
  const head = ['', 'Measure', 'Median', 'Spread (min – max; streams: p99, max)', 'Goal', 'Verdict'];
  const esc = (c) => String(c).replace(/\|/g, '\\|');
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** The same table for a terminal: aligned columns, no Markdown. */
function textTable(rows) {
  const plain = rows.map((r) => r.map((c) => String(c).replace(/`/g, '').replace(/\*\*/g, '')));
  const head = ['', 'Measure', 'Median', 'Spread (min – max; streams: p99, max)', 'Goal', 'Verdict'];
  const all = [head, ...plain];
  const widths = head.map((_, i) => Math.max(...all.map((r) => [...r[i]].length)));
  const line = (r) => r.map((c, i) => c + ' '.repeat(widths[i] - [...c].length)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...plain.map(line)].join('\n');
}

function sayWhat(f) {
  const w = f.weight.find((r) => r.name === 'clerk-fauna/web');
  const fauna = f.weight.find((r) => r.name === 'fauna');
  const h = f.cacheHit;
  const s = f.stampedes;
  const lo = f.overhead.loopback;
  const ip = f.overhead.inpage;
  const m = f.memory;
  const out = [];
  out.push(
    `**Weight: ${w.bytes <= SIZE.stepKb * 1024 ? `within the ${SIZE.stepKb} KB of #11's step` : `over the ${SIZE.stepKb} KB of #11's step`}; ` +
      `goal ${w.bytes <= SIZE.goalKb * 1024 ? 'met' : 'missed'}.** The package is ${kb(w.bytes)} gzipped (the .wasm ${kb(w.parts.wasm)}, its glue ${kb(w.parts.glue)}), ` +
      `${(w.bytes / (SIZE.goalKb * 1024)).toFixed(1)}× the ${SIZE.goalKb} KB goal${w.bytes > SIZE.limitKb * 1024 ? ` and over the ${SIZE.limitKb} KB limit` : ''}. ` +
      `For scale, that is ${(w.bytes / fauna.bytes).toFixed(1)}× the whole Fauna v10 driver (${kb(fauna.bytes)}).`,
  );
  const hitOk = h.vsReference.median <= 1;
  out.push(
    `**Cache hit: goal ${hitOk ? 'met' : 'missed'}.** A warm \`tokens.get()\` costs ${fmt(h.package.median, 'ns')} per call against ` +
      `${fmt(h.reference.median, 'ns')} for the hand-written JS cache (${fmt(h.vsReference.median, 'ratio')}) and ` +
      `${fmt(h.getToken.median, 'ns')} for awaiting an instantly resolved \`getToken\` (${fmt(h.vsGetToken.median, 'ratio')}). ` +
      (hitOk
        ? 'The hit costs no more than the JS reference.'
        : `The hit costs more than the JS reference. A warm hit never enters WebAssembly (\`fastHit\` in \`ts/token-cache.ts\`): a \`Map\` lookup, \`Date.now()\`, two comparisons against what the token store said the last time it was asked, and a counter, then the promise it keeps for the cached token; the reference does one \`Map\` lookup, \`Date.now()\` and one comparison. In absolute terms it is ${fmt(h.package.median, 'ns')} per request, small beside any network round trip but not free.`),
  );
  const stampOk = s.cold.calls.max === 1 && s.unauthorized.refreshes.max === 1 && s.cold.allFulfilled && s.unauthorized.allFulfilled;
  out.push(
    `**Stampedes: ${stampOk ? 'met' : 'MISSED'}.** ${CFG.stampede.toLocaleString('en-US')} concurrent queries on a cold cache made ` +
      `${s.cold.calls.max === s.cold.calls.min ? `exactly ${s.cold.calls.median}` : `${s.cold.calls.min}–${s.cold.calls.max}`} \`getToken\` call${s.cold.calls.max === 1 ? '' : 's'} in every round, and all ${s.cold.allFulfilled ? 'succeeded' : 'settled (some failed)'} within ${fmt(s.cold.ms.median, 'ms')}; ` +
      `${CFG.unauthorized} concurrent queries refused once with 401 shared ${s.unauthorized.refreshes.max === s.unauthorized.refreshes.min ? `exactly ${s.unauthorized.refreshes.median}` : `${s.unauthorized.refreshes.min}–${s.unauthorized.refreshes.max}`} refresh${s.unauthorized.refreshes.max === 1 ? '' : 'es'} and all ${s.unauthorized.allFulfilled ? 'succeeded on retry' : 'settled (some failed)'} within ${fmt(s.unauthorized.ms.median, 'ms')}.` +
      (s.cold.error || s.unauthorized.error ? ` First failure seen: ${s.cold.error ?? s.unauthorized.error}.` : ''),
  );
  const loOk = lo.ratio.median <= 1.05;
  const ipOk = ip.ratio.median <= 2;
  out.push(
    `**Request overhead: ${loOk && ipOk ? 'goals met' : `${loOk ? '' : 'loopback goal missed'}${!loOk && !ipOk ? ', ' : ''}${ipOk ? '' : 'in-page goal missed'}`}.** Against the Fauna stand-in over loopback a query costs ${fmt(lo.package.median, 'us')} ` +
      `against ${fmt(lo.fetch.median, 'us')} for the same request sent with plain \`fetch\` (${fmt(lo.ratio.median, 'ratio')}, goal ≤ 1.05×). ` +
      `With the network taken out (an in-page \`fetch\` that answers at once) the package's own work shows: ${fmt(ip.package.median, 'us')} against ` +
      `${fmt(ip.fetch.median, 'us')} (${fmt(ip.ratio.median, 'ratio')}, goal ≤ 2.00×), i.e. about ${fmt(ip.package.median - ip.fetch.median, 'us')} of CPU per request for the token lookup, ` +
      'building the request in Rust, the abort timer and judging the answer.' +
      (lo.ratio.min <= 1.05 && lo.ratio.max > 1.05
        ? ` The loopback rounds range from ${fmt(lo.ratio.min, 'ratio')} to ${fmt(lo.ratio.max, 'ratio')}, across the 5% line: on this machine the verdict is within the noise, and may flip from one run to the next.`
        : '') +
      (lo.package.median - lo.fetch.median <= 0
        ? ' Over loopback the package was not slower than plain fetch in this run.'
        : ` Over loopback the gap is ${fmt(lo.package.median - lo.fetch.median, 'us')} a request, against ${fmt(ip.package.median - ip.fetch.median, 'us')} of CPU measured in-page.`) +
      ` For scale: plain fetch given the same AbortController signal and timer as the package takes ${fmt(lo.abortable.median, 'us')} over loopback (${fmt(lo.abortableRatio.median, 'ratio')} of plain fetch).`,
  );
  const memOk = m.wasmGrowth.max === 0 && m.wasmGrowth2.max === 0;
  const n1 = CFG.memFirst.toLocaleString('en-US');
  const n2 = CFG.memTotal.toLocaleString('en-US');
  const heapZero = m.heapGrowth.median <= 0;
  const plateau = Math.abs(m.heapGrowth2.median) <= Math.max(4096, Math.abs(m.heapGrowth.median) / 10);
  out.push(
    `**Memory: WASM ${memOk ? 'met (no growth)' : 'MISSED: linear memory grows'}; JS heap ${heapZero ? 'met' : `not zero, ${plateau ? 'but a one-time cost, not a leak' : 'and still growing: a leak to look at'}`}.** ` +
      `Linear memory is ${fmt(m.wasmFirst.median, 'bytes')} after ${n1} queries and ${fmt(m.wasmTotal.median, 'bytes')} after ${n2} ` +
      `(growth ${fmt(m.wasmGrowth.median, 'bytes')}, and ${fmt(m.wasmGrowth2.median, 'bytes')} over the next ${n2})` +
      (m.heapAvailable
        ? `. The JS heap after gc() grows by ${fmt(m.heapGrowth.median, 'bytes')} between ${n1} and ${n2} queries (${spread(m.heapGrowth, 'bytes')} over ${m.heapGrowth.n} fresh pages) ` +
          `and by ${fmt(m.heapGrowth2.median, 'bytes')} over the next ${n2}` +
          (heapZero ? '.' : plateau
            ? ': it levels off, so the first figure is most likely V8 warming up (optimised code, feedback, inline caches), not a per-query leak.'
            : ': it keeps growing with the number of queries.')
        : '.'),
  );
  const sl = f.streams.latency;
  const sx = f.streams.expiries;
  const failures = streamFailures(f.streams);
  out.push(
    `**Streams: ${failures.length ? `FAILED (${failures.join('; ')})` : 'no event lost, repeated or reordered'}.** ` +
      `Over loopback an event reaches \`fauna.stream()\` ${fmt(sl.event.p50, 'ms')} after its write is sent (p50; p99 ${fmt(sl.event.p99, 'ms')}), ` +
      `against ${fmt(sl.write.p50, 'ms')} for that write's own round trip (${fmt(sl.ratio.p50, 'ratio')} per write, p50) and ` +
      `${fmt(sl.query.p50, 'ms')} for a \`fauna.query\` round trip: the stand-in pushes the event as the write commits, so an event costs about one write's round trip, and the reconnects cost nothing here (60 s tokens). ` +
      `Held over ${sx.reconnects} expiries of ${TOKEN_SECONDS} s tokens, the stream was without a connection for ${fmt(sx.gap.p50, 'ms')} at each (p50; max ${fmt(sx.gap.max, 'ms')}), ` +
      `from the server ending it (\`permission_loss\`) to the next connection's answer: a forced token request to the Clerk stand-in and a new \`POST /stream/1\`. ` +
      `Counted from the token's \`exp\`, ${fmt(sx.sinceExp.p50, 'ms')} (max ${fmt(sx.sinceExp.max, 'ms')}), which adds the server's re-check interval (${STREAM_IDLE_CHECK_MS} ms here, about a minute on Fauna, or the next write's check). ` +
      `${sx.written} writes during those expiries: ${sx.lost} lost, ${sx.repeated} repeated, ${sx.outOfOrder} out of order.`,
  );
  out.push(
    `**Startup:** ${fmt(f.startup.total.median, 'ms')} from \`import\` to the first cached token in a fresh browser context, ` +
      `of which ${fmt(f.startup.init.median, 'ms')} is fetching and instantiating the .wasm from a loopback server (add the download on a real network). ` +
      `Rounds range from ${fmt(f.startup.total.min, 'ms')} to ${fmt(f.startup.total.max, 'ms')}: a cold start is the figure most sensitive to other load on the machine (see the load average above).`,
  );
  return out.join('\n\n');
}

function writeReport(f, rows, meta) {
  const md = `# Benchmarks

Generated by \`${COMMAND}\` (bench/run.mjs) on ${meta.date}; do not edit by hand.${QUICK ? '\n\n**QUICK run (BENCH_QUICK=1): fewer rounds and calls, figures indicative only.**' : ''}

| | |
| --- | --- |
| Machine | ${meta.cpu}, ${meta.cores} cores, ${meta.memGb} GB RAM, ${meta.os}; load average ${meta.loadStart} at start, ${meta.loadEnd} at end |
| Browser | ${meta.browser} (headless, \`--js-flags=--expose-gc --enable-precise-memory-info\`) |
| Node | ${process.version} (weights, harness) |
| Package | clerk-fauna ${meta.pkgVersion}, \`pkg/\` as built (\`make package\`) |
| Rounds | median of ${CFG.rounds} rounds after a discarded warm-up (memory: ${CFG.memRounds} fresh pages; startup: ${CFG.startupRounds} fresh contexts); spread is min – max over the rounds; a ratio is the median of the per-round ratios (both sides measured in the same page and round), so it need not equal the ratio of the two medians |
| Timer | \`performance.now()\`, page cross-origin isolated: ${meta.isolated ? 'yes (5 µs resolution)' : 'no (100 µs resolution)'} |
| Run time | ${meta.runSeconds} s |
| Reproduce | \`${COMMAND}\` (\`make package\` first if \`pkg/\` is missing; it is built automatically) |

${markdownTable(rows)}

## Where the bytes go

${f.bytes}

## What the figures say

${sayWhat(f)}

## How each figure is measured

1. **Weight** (Node): as \`scripts/size-report.sh\` counts it — \`gzip -9\` of \`web/clerk_fauna_bg.wasm\`, plus \`web.js\` bundled
   and minified by esbuild (\`--bundle --minify --format=esm\`, platform browser) then \`gzip -9\`. The alternatives are bundled the same way from
   a one-line entry each (${f.weight.filter((w) => w.entry).map((w) => `\`${w.entry}\``).join(', ')}); versions are pinned in
   \`bench/package.json\` and its lock. The React entry is weighed on its own (React and the web entry left external) as soon as
   \`pkg/react.js\` exists.
2. **Cache hit**: one page, one warm cache of each kind; each round times ${CFG.hitCalls.toLocaleString('en-US')} sequential awaited calls of each
   variant, in 10 interleaved blocks whose order rotates, so drift and background load fall on every variant alike. The JS reference (\`bench/page/bench.js\`, \`JsTokenCache\`) keeps a \`Map\` of
   pending/settled promises per template, judges freshness by \`exp - iat\` counted from receipt with \`Date.now()\`, never serves a token with
   less than 5 s left and starts one background refresh below 15 s. ${f.cacheHit.hitsOk ? 'Every timed package call was counted as a hit by `tokens.stats.hits`.' : '**Not every timed package call was a hit** (`tokens.stats.hits`).'}
3. **Stampede**: a fresh \`TokenCache\` and \`FaunaClient\` per round with an in-page \`fetch\`; the fake \`getToken\` counts its calls. For the
   401 case the cache first holds a token the fake Fauna refuses with 401; every other token is accepted.
4. **Request overhead**: \`fauna.query('1')\` against \`fetch(url, { method, headers, body })\` + \`response.json()\`, where url, body and
   headers (${f.overhead.loopback.headerNames.map((h) => `\`${h}\``).join(', ')}) are copied from the package's own last request, so both send the
   same bytes; sequential awaited requests, ${CFG.inpageCalls.toLocaleString('en-US')} (in-page) and ${CFG.loopbackCalls.toLocaleString('en-US')} (loopback) per variant per round,
   alternating in blocks of ${INPAGE_BLOCK} (in-page) and ${LOOPBACK_BLOCK} (loopback) requests whose order rotates. A third variant, the same plain
   \`fetch\` with an \`AbortController\` signal and a 10 s timer cleared on the answer (what \`ts/fauna-client.ts\` adds around \`fetch\`), is shown for scale. Loopback: the devserver's Fauna stand-in (debug build, as \`make demo\`/e2e use it) verifying a real RS256 token issued by its
   Clerk stand-in to a signed-in demo user; the package's \`getToken\` calls the Clerk stand-in.
5. **Memory**: per fresh page, one cache and client; ${(2 * CFG.memTotal).toLocaleString('en-US')} queries in batches of ${MEM_BATCH} concurrent (in-page \`fetch\`);
   readings after ${CFG.memFirst.toLocaleString('en-US')}, ${CFG.memTotal.toLocaleString('en-US')} and ${(2 * CFG.memTotal).toLocaleString('en-US')}: \`wasm.memory.buffer.byteLength\` (the memory of \`await init()\`'s
   result) and \`performance.memory.usedJSHeapSize\` after three \`gc()\` calls with a timer turn between them. Throughput in that run:
   ${Math.round(f.memory.queriesPerSecond.median).toLocaleString('en-US')} queries/s.
6. **Startup**: a new browser context (empty HTTP and code caches) and page per round; \`performance.now()\` around
   \`await import('/pkg/web.js')\`, \`await init()\`, \`new TokenCache(getToken)\` and the first \`await tokens.get()\` (fake \`getToken\` resolving
   at once). Served from 127.0.0.1 by a node:http server, \`Cache-Control: no-store\`.
7. **Streams** (\`bench/page/streams.js\`, the bench page against the stand-ins; one run, not rounds): \`fauna.stream('Todo.all().eventSource()')\` as a signed-in demo user
   (60 s tokens from the Clerk stand-in's session). ${CFG.streamWrites} writes of that user's documents by the root secret, one at a time from the same page, each timed from
   just before its \`fetch\` to its event's arrival in the \`for await\` loop; after each, one \`fauna.query('1')\` timed as a second baseline. Percentiles are
   nearest-rank. Expiries: tokens minted for ${TOKEN_SECONDS} s by the Clerk stand-in (\`/__admin/mint\`; whole-second \`iat\`, so a token serves 1–2 s), a \`TokenCache\` with
   \`refreshAheadSeconds\` and \`minValiditySeconds\` at 0.5, the Fauna stand-in re-checking a stream's token every ${STREAM_IDLE_CHECK_MS} ms; the stream is held until it has
   reconnected ${CFG.expiries} times while the root secret writes at random pauses of 0–${STREAM_MAX_PAUSE_MS} ms, then one last write, whose event (waited for up to 30 s)
   closes the count. The client's \`fetch\` option records each \`/stream/1\` connection: when its answer came and when its body ended. Lost, repeated and
   out-of-order events make \`make bench\` exit non-zero.

A benchmark, not a test: \`make bench\` reports misses and exits 0; it fails only when it cannot run (no package, no browser, a stand-in or
page that does not start), or when a stream lost, repeated or reordered an event. It is not part of \`make test\`.
`;
  writeFileSync(join(repoDir, 'BENCHMARKS.md'), md);
}

// ---------------------------------------------------------------- main

async function main() {
  const started = Date.now();
  const loadStart = loadavg()[0].toFixed(2);
  const stack = [];
  const stop = async () => {
    for (const undo of stack.reverse()) await undo().catch((e) => log('teardown:', e.message));
    stack.length = 0;
  };
  const onSignal = () => {
    stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const pkgCopy = await snapshotPkg();
    stack.push(async () => rmSync(pkgCopy, { recursive: true, force: true }));
    const pkgVersion = JSON.parse(readFileSync(join(pkgCopy, 'package.json'), 'utf8')).version;

    log('1/7 weight');
    const weight = await weigh({ pkgDir: pkgCopy, benchDir });
    const bytes = await breakdown(join(repoDir, NAMED_WASM), join(pkgCopy, 'web.js'));
    const boundary = await countBoundaryCalls(pkgCopy);

    log('starting the stand-ins, the static server and Chromium');
    const devserver = await startStandIns();
    stack.push(() => stopChild(devserver.child));
    const killOnExit = () => devserver.child.kill('SIGKILL');
    process.once('exit', killOnExit);
    stack.push(async () => process.off('exit', killOnExit));
    const { server, origin } = await serve(pkgCopy);
    stack.push(() => new Promise((resolve) => server.close(resolve)));
    const { clerk, fauna } = await devserver.ready;

    const browser = await deadline(
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_BENCH_ARGS }),
      30_000,
      'Chromium launch',
    );
    stack.push(() => browser.close());
    const browserVersion = `Chromium ${browser.version()}`;

    // A signed-in demo user at the Clerk stand-in: the loopback runs get real tokens.
    const users = await api(`${clerk}/v1/demo/users`);
    const { session_id: sessionId } = await api(`${clerk}/v1/client/sign_ins`, { user_id: users[0].id });

    const bench = await openBench(browser, origin);
    stack.push(() => bench.close());
    const isolated = await bench.page.evaluate(() => crossOriginIsolated);

    log('2/7 cache hit');
    const cacheHit = await benchCacheHit(bench);
    log('3/7 stampedes');
    const stampedes = await benchStampedes(bench);
    log('4/7 request overhead');
    const overhead = {
      inpage: await benchOverhead(bench, { kind: 'inpage' }, CFG.inpageCalls, INPAGE_BLOCK),
      loopback: await benchOverhead(bench, { kind: 'loopback', clerk, fauna, sessionId }, CFG.loopbackCalls, LOOPBACK_BLOCK),
    };
    if (bench.errors.length) throw new Error(`the bench page reported errors:\n${bench.errors.join('\n')}`);
    log('5/7 memory');
    const memory = await benchMemory(browser, origin);
    log('6/7 startup');
    const startup = await benchStartup(browser, origin);
    log('7/7 streams');
    const streams = await benchStreams(bench, { clerk, fauna, sessionId, userId: users[0].id });
    if (bench.errors.length) throw new Error(`the bench page reported errors:\n${bench.errors.join('\n')}`);

    const figures = { weight, bytes, boundary, cacheHit, stampedes, overhead, memory, startup, streams };
    const rows = buildRows(figures);
    const meta = {
      date: new Date().toISOString().slice(0, 10),
      cpu: cpus()[0]?.model?.trim() ?? 'unknown CPU',
      cores: cpus().length,
      memGb: (totalmem() / 2 ** 30).toFixed(1),
      os: `${process.platform} ${process.arch}`,
      browser: browserVersion,
      pkgVersion,
      isolated,
      runSeconds: Math.round((Date.now() - started) / 1000),
      loadStart,
      loadEnd: loadavg()[0].toFixed(2),
    };
    writeReport(figures, rows, meta);
    console.log(textTable(rows));
    console.log(`\n${meta.cpu}, ${meta.cores} cores; ${browserVersion}; ${meta.date}; ${meta.runSeconds} s. Written to BENCHMARKS.md.`);
    if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ figures, meta }, null, 2));
    const failures = streamFailures(streams);
    if (failures.length) {
      console.error(`\nbench: STREAMS FAILED: ${failures.join('; ')}`);
      process.exitCode = 1;
    }
  } finally {
    await stop();
  }
}

main().catch((e) => {
  console.error(`bench: cannot run: ${e.stack ?? e}`);
  process.exitCode = 1;
});
