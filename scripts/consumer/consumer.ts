// Type-checked with `tsc --strict --noEmit` against the packed package (see
// check-package.sh): every export used as the README shows, and wrong uses
// that must not compile.
import init, {
  ClerkFaunaError,
  FaunaClient,
  TokenCache,
  decodeJwt,
  diagnose,
  type EventSourceInput,
  type FaunaFeed,
  type FaunaHttpClient,
  type FaunaStream,
  type FeedOptions,
  type FeedPage,
  type Finding,
  type FindingCode,
  type ClerkFaunaErrorCode,
  type GetToken,
  type QueryResult,
  type StreamEvent,
  type StreamOptions,
  type TokenCacheStats,
} from 'clerk-fauna/web';
import * as bundler from 'clerk-fauna';
import {
  FaunaProvider,
  useFauna,
  useFaunaQuery,
  useFaunaSession,
  type FaunaSession,
  type UseFaunaQueryResult,
} from 'clerk-fauna/react';

// The hooks, typed as a component would use them (not called: no React here).
function Component(): unknown {
  const fauna = useFauna(getToken, { userId: 'user_1', sessionId: null, template: 'fauna', endpoint: 'http://127.0.0.1:8443' });
  const session: FaunaSession | undefined = useFaunaSession(getToken, { userId: null });
  const result: UseFaunaQueryResult<{ id: string }> = useFaunaQuery<{ id: string }>('Query.token()', { a: 1 }, { client: fauna, enabled: !!fauna });
  const id: string | undefined = result.data?.id;
  const code: ClerkFaunaErrorCode | undefined = result.error?.code;
  result.refetch();
  // @ts-expect-error the options are FaunaClient and TokenCache options
  useFauna(getToken, { endpoint: 5 });
  return [FaunaProvider({ client: fauna, children: null }), session, id, code];
}
void Component;

const getToken: GetToken = async (options) => (options?.skipCache ? 'ey.new.token' : null);
// `clerk.session?.getToken()`: undefined when signed out.
const optionalSession: GetToken = async () => undefined;
void optionalSession;

async function main(): Promise<void> {
  await init();
  const tokens = new TokenCache(getToken, {
    template: 'fauna',
    organizationId: 'org_1',
    refreshAheadSeconds: 15,
    minValiditySeconds: 5,
    getTokenTimeoutMs: 10_000,
  });
  const token: string = await tokens.get({ skipCache: true });
  const peeked: string | undefined = tokens.peek('fauna');
  const claims: Record<string, unknown> | undefined = tokens.claims();
  const stats: TokenCacheStats = tokens.stats;
  const hits: number = stats.hits + stats.misses + stats.joins + stats.refreshes + stats.failures;
  tokens.invalidate('fauna');

  const fauna = new FaunaClient(tokens, {
    endpoint: 'http://127.0.0.1:8443',
    graphqlEndpoint: 'http://127.0.0.1:8443/graphql',
    format: 'tagged',
    queryTimeoutMs: 5000,
    maxAttempts: 3,
    maxBackoffMs: 20_000,
    typecheck: true,
    linearized: false,
    maxContentionRetries: 2,
    queryTags: { app: 'demo' },
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    fetch: globalThis.fetch,
    allowedOrigins: ['https://graphql.example.com'],
    allowInsecureHttp: false,
  });
  const result: QueryResult<{ id: string }> = await fauna.query<{ id: string }>('Query.token()', { x: 1 }, { format: 'simple' });
  const id: string = result.data.id;
  const txn: number = result.txnTs;
  const resource: unknown = await fauna.queryV4({ current_identity: null });
  const me: string = await fauna.currentIdentity();
  const gql: { whoami: string } = await fauna.graphql<{ whoami: string }>('{ whoami }', { a: 1 });
  const response: Response = await fauna.fetch('http://127.0.0.1:8443/query/1', { method: 'POST' });
  const last: number | undefined = fauna.lastTxnTs;
  const http: FaunaHttpClient = fauna.httpClient();
  const answer: { body: string; status: number } = await http.request({
    client_timeout_ms: 5000, data: { query: '1' }, headers: { 'X-Format': 'simple', 'X-Driver-Env': undefined }, method: 'POST', path: '/query/1',
  });
  http.close();
  const source: EventSourceInput = 'Todo.all().eventSource()';
  const streamOptions: StreamOptions = { arguments: { a: 1 }, cursor: 'c', statusEvents: true, maxAttempts: 10, maxBackoffMs: 20_000 };
  const stream: FaunaStream<{ title: string }> = fauna.stream<{ title: string }>(source, streamOptions);
  for await (const event of stream) {
    const e: StreamEvent<{ title: string }> = event;
    const row: [string, string | undefined, number, string] = [e.type, e.data?.title, e.txnTs, e.cursor];
    void row;
    break;
  }
  const resumeFrom: string | undefined = stream.cursor;
  stream.close();
  const unsubscribe: () => void = fauna.stream({ token: 't' }, { startTs: 1 }).subscribe(
    (e) => void e.type,
    (error) => void error?.code,
  );
  unsubscribe();
  const feedOptions: FeedOptions = { pageSize: 100, startTs: 1 };
  const feed: FaunaFeed = fauna.feed({ '@stream': 't' }, feedOptions);
  for await (const page of feed) {
    const p: FeedPage = page;
    void [p.events, p.cursor, p.hasNext];
  }
  for await (const event of feed.events()) void event.data;
  feed.close();
  void resumeFrom;
  const { header, payload } = decodeJwt(token);
  const alg: unknown = header.alg;
  const sub: unknown = payload.sub;
  const findings: Finding[] = diagnose(token, { issuer: 'https://clerk.example.com', databaseId: 'ysjowue14yyr1', endpoint: 'http://127.0.0.1:8443' });
  const firstCode: FindingCode | undefined = findings[0]?.code;
  const fixes: string[] = findings.map((f) => `${f.message} ${f.fix}`);

  try {
    await fauna.query('1');
  } catch (e) {
    if (e instanceof ClerkFaunaError) {
      const code: ClerkFaunaErrorCode = e.code;
      const scoped: boolean = code === 'origin_not_allowed' || code === 'freed';
      void scoped;
      const detail: [number | undefined, string | undefined, string | undefined] = [e.httpStatus, e.faunaCode, e.hint];
      void code;
      void detail;
    }
  }
  fauna.free();
  tokens.clear();
  tokens.free();
  void [answer, firstCode, fixes, peeked, claims, hits, id, txn, resource, me, gql, response, last, alg, sub, bundler.TokenCache];

  // Wrong uses must not compile: the declarations are not `any`.
  // @ts-expect-error template is a string
  new TokenCache(getToken, { template: 5 });
  // @ts-expect-error format is 'simple' | 'tagged'
  new FaunaClient(tokens, { format: 'json' });
  // @ts-expect-error getToken must return a promise
  new TokenCache(() => 'token');
  // @ts-expect-error databaseId is a string
  diagnose(token, { databaseId: 1 });
  // @ts-expect-error no such error code
  const wrong: ClerkFaunaErrorCode = 'oops';
  void wrong;
  // @ts-expect-error statusEvents is a stream's option, not a feed's
  fauna.feed(source, { statusEvents: true });
  // @ts-expect-error pageSize is a number
  fauna.feed(source, { pageSize: '5' });
  // @ts-expect-error a source is FQL text or a token
  fauna.stream({ fql: 'x' });
  // @ts-expect-error allowedOrigins is a list of URLs
  new FaunaClient(tokens, { allowedOrigins: 'https://graphql.example.com' });
}

void main;
