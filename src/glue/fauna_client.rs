//! `FaunaClient`: Fauna requests carrying a token from a shared `TokenCache`.
//! `flows.js` runs each call (`send`); a [`FaunaCall`] decides every step:
//! the request, what an answer means, 401 refresh, 429 backoff.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use super::errors::{self, Extras};
use super::js::{self, Options};
use super::token_cache::{CacheInner, TokenCache};
use crate::core::backoff::{self, Throttle};
use crate::core::classify::{classify, Api, Reply, Verdict};
use crate::core::error::{Error, ErrorCode};
use crate::core::jwt;
use crate::core::options::{Format, QueryOptions, RawQueryOptions};
use crate::core::request::{self, HttpRequest};
use crate::core::text;
use crate::core::token_store::Demand;

#[wasm_bindgen(module = "/src/glue/diagnose.js")]
extern "C" {
    /// The `hint` of an `unauthorized` error (see diagnose.js).
    #[wasm_bindgen(js_name = unauthorizedHint)]
    fn unauthorized_hint(
        header: &JsValue,
        payload: &JsValue,
        endpoint: &str,
        min_validity_ms: f64,
    ) -> String;
}

#[wasm_bindgen(module = "/src/glue/flows.js")]
extern "C" {
    fn send(call: FaunaCall, deadline_ms: f64, fetch: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = authenticatedFetch)]
    fn authenticated_fetch(
        source: TokenSource,
        fetch: &JsValue,
        endpoint: &str,
        graphql_endpoint: &str,
        allowed: &JsValue,
    ) -> Function;
    #[wasm_bindgen(js_name = httpClient)]
    fn http_client(send: &Function, endpoint: &str) -> JsValue;
}

#[wasm_bindgen]
extern "C" {
    /// The constructor's options, typed in types.d.ts.
    #[wasm_bindgen(typescript_type = "FaunaClientOptions")]
    pub type FaunaClientOptions;
}

/// A client for Fauna's HTTP APIs that authenticates every request with the
/// signed-in user's token from a `TokenCache`.
#[wasm_bindgen]
pub struct FaunaClient {
    inner: Rc<ClientInner>,
}

impl ClientInner {
    /// The configured `fetch`, or `undefined` for flows.js to use the global one.
    fn fetch_or_global(&self) -> JsValue {
        self.fetch.clone().map_or(JsValue::UNDEFINED, JsValue::from)
    }
}

struct ClientInner {
    tokens: Rc<CacheInner>,
    options: QueryOptions,
    /// `None`: the global `fetch`, looked up at each call (so a polyfill or
    /// test double installed later is honoured).
    fetch: Option<Function>,
    /// `allowedOrigins` (as origins), or `undefined`: where else than the
    /// endpoints the fetch wrappers may send the token.
    allowed_origins: JsValue,
    last_txn_ts: Cell<Option<f64>>,
    authenticated_fetch: RefCell<Option<Function>>,
    /// Set when the `FaunaClient` is freed; shared with its fetch wrappers.
    freed: Rc<Cell<bool>>,
}

/// The caller's `free()`: the calls in flight and the handed-out `fetch` and
/// `httpClient()` send nothing more (`freed`). Collected as garbage instead,
/// what it handed out (to Apollo, a driver) works on.
impl Drop for FaunaClient {
    fn drop(&mut self) {
        if js::freed_by_caller() {
            self.inner.freed.set(true);
        }
    }
}

/// Fails with `freed` once the client or its cache is freed and, given the
/// `epoch` a call began in, with `cleared` once the user signed out or
/// changed since: nothing may be sent then.
// One copy in the module: inlined at each of its callers it costs bytes.
#[inline(never)]
fn live(client_freed: &Cell<bool>, tokens: &CacheInner, epoch: Option<u64>) -> Result<(), JsValue> {
    if client_freed.get() || tokens.freed.get() {
        return Err(errors::plain(&Error::new(
            ErrorCode::Freed,
            "The FaunaClient or its TokenCache was freed: nothing more is sent.",
        )));
    }
    epoch.map_or(Ok(()), |epoch| tokens.check_epoch(epoch))
}

#[wasm_bindgen]
impl FaunaClient {
    /// A client sharing `tokens` (not consuming it: the cache stays usable,
    /// and `tokens.clear()` affects every client built on it). Throws
    /// `invalid_option` for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        tokens: &TokenCache,
        options: Option<FaunaClientOptions>,
    ) -> Result<FaunaClient, JsValue> {
        let (raw, o) = read_options(
            options.as_ref().map(AsRef::as_ref),
            "FaunaClient options",
            CLIENT_OPTIONS,
        )?;
        let options = QueryOptions::default()
            .merged(raw)
            .map_err(|e| errors::plain(&e))?;
        Ok(FaunaClient {
            inner: Rc::new(ClientInner {
                tokens: tokens.shared(),
                options,
                fetch: o.function(11),
                allowed_origins: o.value(12),
                last_txn_ts: Cell::new(None),
                authenticated_fetch: RefCell::new(None),
                freed: Rc::new(Cell::new(false)),
            }),
        })
    }

    /// Runs an FQL v10 query (`POST /query/1`). See the TypeScript
    /// declaration for the result's shape.
    #[wasm_bindgen(skip_typescript)]
    pub fn query(&self, fql: JsValue, arguments: JsValue, options: Option<Object>) -> Promise {
        let payload = (|| {
            let Some(fql) = fql.as_string() else {
                return Err(errors::invalid_option(
                    "query needs the FQL text as a string.".into(),
                ));
            };
            let (raw, _) = read_options(
                options.as_ref().map(AsRef::as_ref),
                "query options",
                QUERY_OPTIONS,
            )?;
            let options = self
                .inner
                .options
                .merged(raw)
                .map_err(|e| errors::plain(&e))?;
            let arguments = json_object(&arguments, "arguments")?;
            Ok((Payload::V10 { fql, arguments }, options))
        })();
        self.send(payload)
    }

    /// Runs a legacy FQL v4 wire expression (`POST /`) and resolves to its
    /// `resource`.
    #[wasm_bindgen(js_name = queryV4, unchecked_return_type = "Promise<unknown>")]
    pub fn query_v4(
        &self,
        #[wasm_bindgen(unchecked_param_type = "unknown")] expr: JsValue,
    ) -> Promise {
        self.send(self.v4(&expr, false))
    }

    /// FQL v4 `CurrentIdentity()`: the `sub` of the signed-in user's token.
    #[wasm_bindgen(js_name = currentIdentity, unchecked_return_type = "Promise<string>")]
    pub fn current_identity(&self) -> Promise {
        let expr: JsValue = Object::new().into();
        js::set(&expr, "current_identity", &JsValue::NULL);
        self.send(self.v4(&expr, true))
    }

    /// Sends a GraphQL request to `graphqlEndpoint` and resolves to `data`.
    #[wasm_bindgen(skip_typescript)]
    pub fn graphql(&self, query: JsValue, variables: JsValue) -> Promise {
        let payload = (|| {
            let Some(query) = query.as_string() else {
                return Err(errors::invalid_option(
                    "graphql needs the query text as a string.".into(),
                ));
            };
            let variables = json_object(&variables, "variables")?;
            Ok((
                Payload::GraphQl { query, variables },
                self.inner.options.clone(),
            ))
        })();
        self.send(payload)
    }

    /// A `fetch` that adds `Authorization: Bearer <token>` (replacing any
    /// placeholder secret) and, on a 401, refreshes the token and retries
    /// once. Hand it to the official drivers and GraphQL clients. The same
    /// function every time. Only to the origins of `endpoint`,
    /// `graphqlEndpoint` and `allowedOrigins` (else `origin_not_allowed`,
    /// nothing sent), never through a redirect; `cleared` if the user signed
    /// out or changed meanwhile, `freed` after `free()` of the client or its
    /// cache.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>"
    )]
    pub fn fetch(&self) -> Function {
        let mut made = self.inner.authenticated_fetch.borrow_mut();
        made.get_or_insert_with(|| {
            let (source, fetch) = self.token_source();
            let o = &self.inner;
            authenticated_fetch(
                source,
                &fetch,
                &o.options.endpoint,
                &o.options.graphql_endpoint,
                &o.allowed_origins,
            )
        })
        .clone()
    }

    /// An HTTP client for the official `fauna` driver (v2, FQL v10), sending
    /// to this client's `endpoint` through the authenticated `fetch` (and
    /// its rules):
    /// `new Client({ secret: 'placeholder', endpoint }, fauna.httpClient())`.
    #[wasm_bindgen(js_name = httpClient, unchecked_return_type = "FaunaHttpClient")]
    pub fn http_client(&self) -> JsValue {
        http_client(&self.fetch(), &self.inner.options.endpoint)
    }

    /// The largest `txn_ts` Fauna has reported to this client, sent back as
    /// `X-Last-Txn-Ts` so later queries see at least that state.
    #[wasm_bindgen(getter, js_name = lastTxnTs)]
    pub fn last_txn_ts(&self) -> Option<f64> {
        self.inner.last_txn_ts.get()
    }
}

impl FaunaClient {
    /// Tokens for the fetch wrappers, and the `fetch` they send with
    /// (`undefined`: the global one).
    fn token_source(&self) -> (TokenSource, JsValue) {
        let source = TokenSource {
            tokens: self.inner.tokens.clone(),
            client_freed: self.inner.freed.clone(),
        };
        (source, self.inner.fetch_or_global())
    }

    fn v4(&self, expr: &JsValue, want_string: bool) -> Result<(Payload, QueryOptions), JsValue> {
        match js::to_json(expr).filter(|_| !expr.is_undefined()) {
            Some(expr) => Ok((
                Payload::V4 { expr, want_string },
                self.inner.options.clone(),
            )),
            None => Err(errors::invalid_option(
                "queryV4 needs a JSON wire expression.".into(),
            )),
        }
    }

    fn send(&self, payload: Result<(Payload, QueryOptions), JsValue>) -> Promise {
        match payload {
            Ok((payload, options)) => {
                let deadline_ms = deadline_ms(&options);
                send(
                    FaunaCall {
                        epoch: self.inner.tokens.epoch(),
                        client: self.inner.clone(),
                        options,
                        payload,
                    },
                    deadline_ms,
                    &self.inner.fetch_or_global(),
                )
            }
            Err(e) => Promise::reject(&e),
        }
    }
}

/// The options a query may override (see flows.js for the kinds).
macro_rules! query_options {
    () => {
        "F:format i:queryTimeoutMs:1:600000 i:maxAttempts:1:100 m:maxBackoffMs b:typecheck \
         b:linearized i:maxContentionRetries:0:7 r:queryTags s:traceparent"
    };
}
const QUERY_OPTIONS: &str = query_options!();
/// And those only a client has: where its token may go, and how it is sent.
const CLIENT_OPTIONS: &str = concat!(
    query_options!(),
    " u:endpoint u:graphqlEndpoint f:fetch o:allowedOrigins b:allowInsecureHttp"
);

fn read_options(
    value: Option<&JsValue>,
    what: &str,
    spec: &str,
) -> Result<(RawQueryOptions, Options), JsValue> {
    let o = Options::read(value, what, spec)?;
    // Whole numbers in range, checked by readOptions.
    let whole = |i| o.number(i).map(|n| n as u32);
    let raw = RawQueryOptions {
        format: o.string(0).map(|f| match f.as_str() {
            "tagged" => Format::Tagged,
            _ => Format::Simple,
        }),
        query_timeout_ms: whole(1),
        max_attempts: whole(2),
        max_backoff_ms: o.number(3),
        typecheck: o.boolean(4),
        linearized: o.boolean(5),
        max_contention_retries: whole(6),
        query_tags: o.string_record(7),
        traceparent: o.string(8),
        endpoint: o.string(9),
        graphql_endpoint: o.string(10),
    };
    Ok((raw, o))
}

/// What one call sends besides the token, by API.
enum Payload {
    V10 {
        fql: String,
        arguments: Option<String>,
    },
    /// `want_string`: `CurrentIdentity()`, whose answer must be the `sub`.
    V4 { expr: String, want_string: bool },
    GraphQl {
        query: String,
        variables: Option<String>,
    },
}

/// One Fauna call as `flows.js` runs it: each method answers one of its
/// questions. Internal to clerk-fauna.
#[wasm_bindgen(skip_typescript)]
pub struct FaunaCall {
    /// The token cache's epoch when the call began: after a sign-out or user
    /// switch the call fails with `cleared` instead of going on.
    epoch: u64,
    client: Rc<ClientInner>,
    options: QueryOptions,
    payload: Payload,
}

#[wasm_bindgen]
impl FaunaCall {
    /// A token (or the promise of one); after a 401, anything but `rejected`.
    pub fn token(&self, rejected: Option<String>) -> Result<JsValue, JsValue> {
        self.live()?;
        token(&self.client.tokens, rejected)
    }

    /// `{ url, init }` for `fetch`; throws `freed` if the client or cache was
    /// freed, `cleared` if the user signed out or changed since the call
    /// began (a retry must not send the next user's token).
    pub fn request(&self, token: String) -> Result<JsValue, JsValue> {
        self.live()?;
        let o = &self.options;
        let last_txn_ts = self.client.last_txn_ts.get();
        let req: HttpRequest = match &self.payload {
            Payload::V10 { fql, arguments } => {
                request::v10_query(o, &token, last_txn_ts, fql, arguments.as_deref())
            }
            Payload::V4 { expr, .. } => request::v4_query(o, &token, last_txn_ts, expr),
            Payload::GraphQl { query, variables } => {
                request::graphql(o, &token, query, variables.as_deref())
            }
        };
        let headers = Object::new();
        for (name, value) in &req.headers {
            js::set(&headers, name, &JsValue::from_str(value));
        }
        let init = Object::new();
        js::set(&init, "method", &JsValue::from_str("POST"));
        js::set(&init, "headers", &headers);
        js::set(&init, "body", &JsValue::from_str(&req.body));
        let out: JsValue = Object::new().into();
        js::set(&out, "url", &JsValue::from_str(&req.url));
        js::set(&out, "init", &init);
        Ok(out)
    }

    /// What the answer means: `{ done: result }`, `{ refresh: true }` (get a
    /// new token, once), `{ wait: ms }` (then attempt `attempt + 1`), or
    /// throws the `ClerkFaunaError`.
    pub fn judge(
        &self,
        status: u16,
        text: String,
        retry_after: Option<String>,
        attempt: u32,
        refreshed: bool,
        token: String,
    ) -> Result<JsValue, JsValue> {
        // An answer that comes after free() is not handed out.
        live(&self.client.freed, &self.client.tokens, None)?;
        let api = match self.payload {
            Payload::V10 { .. } => Api::V10,
            Payload::V4 { .. } => Api::V4,
            Payload::GraphQl { .. } => Api::GraphQl,
        };
        let answer = summarize(api, status, retry_after, &text);
        let next = |name: &str, value: &JsValue| {
            let next: JsValue = Object::new().into();
            js::set(&next, name, value);
            next
        };
        match classify(api, &answer.reply) {
            Verdict::Success => Ok(next("done", &self.result(answer.body)?)),
            Verdict::Unauthorized if !refreshed => Ok(next("refresh", &JsValue::TRUE)),
            Verdict::Unauthorized => {
                let (header, payload) = jwt::decode(&token, js::read_json_object)
                    .map(|d| js::parsed_segments(&d))
                    .unwrap_or((JsValue::UNDEFINED, JsValue::UNDEFINED));
                let hint = unauthorized_hint(
                    &header,
                    &payload,
                    &self.options.endpoint,
                    self.client.tokens.min_validity_ms(),
                );
                let error = Error::new(ErrorCode::Unauthorized, "Fauna rejected the user's token.")
                    .with_status(status)
                    .with_fauna_code(answer.reply.error_code)
                    .with_hint(hint);
                Err(errors::plain(&error))
            }
            Verdict::Throttled { retry_after_ms } => {
                let o = &self.options;
                match backoff::after_throttle(
                    attempt,
                    o.max_attempts,
                    retry_after_ms,
                    js::random(),
                    o.max_backoff_ms,
                ) {
                    Throttle::RetryAfter(ms) => Ok(next("wait", &JsValue::from(ms))),
                    Throttle::GiveUp => {
                        let mut error = Error::new(
                            ErrorCode::Throttled,
                            [
                                "Fauna is rate limiting this database; gave up after ",
                                &text::uint(attempt.into()),
                                " attempt(s).",
                            ]
                            .concat(),
                        )
                        .with_status(status)
                        .with_fauna_code(answer.reply.error_code);
                        error.retry_after_ms = retry_after_ms;
                        Err(errors::plain(&error))
                    }
                }
            }
            Verdict::Failed(error) => Err(errors::to_js(
                &error,
                Extras {
                    cause: None,
                    body: Some(answer.body),
                },
            )),
        }
    }

    /// The error for a request that got no answer: `kind` is `timeout`
    /// (abandoned after `deadlineMs`) or `network` (`cause` is fetch's error).
    pub fn failure(&self, kind: String, cause: JsValue) -> JsValue {
        if kind == "timeout" {
            let message = [
                "No answer from Fauna within ",
                &text::uint(deadline_ms(&self.options) as u64),
                " ms.",
            ]
            .concat();
            return errors::plain(&Error::new(ErrorCode::Timeout, message));
        }
        let error = Error::new(
            ErrorCode::NetworkError,
            "The request to Fauna failed; the original error is in `cause`.",
        );
        errors::to_js(
            &error,
            Extras {
                cause: Some(cause),
                body: None,
            },
        )
    }
}

impl FaunaCall {
    fn live(&self) -> Result<(), JsValue> {
        live(&self.client.freed, &self.client.tokens, Some(self.epoch))
    }

    /// The value a successful call resolves to.
    fn result(&self, body: JsValue) -> Result<JsValue, JsValue> {
        match self.payload {
            Payload::V10 { .. } => Ok(self.v10_result(&body)),
            Payload::V4 { want_string, .. } => {
                let resource = js::get(&body, "resource");
                if want_string && !resource.is_string() {
                    return Err(errors::plain(&Error::new(
                        ErrorCode::ProtocolError,
                        "CurrentIdentity() did not return a string.",
                    )));
                }
                Ok(resource)
            }
            Payload::GraphQl { .. } => Ok(js::get(&body, "data")),
        }
    }

    /// `{data, txnTs, stats, ...}` from Fauna's body; keeps the largest
    /// `txn_ts` for `X-Last-Txn-Ts`.
    fn v10_result(&self, body: &JsValue) -> JsValue {
        let txn_ts = js::get(body, "txn_ts");
        if let Some(ts) = txn_ts.as_f64() {
            let last = &self.client.last_txn_ts;
            if last.get().is_none_or(|l| ts > l) {
                last.set(Some(ts));
            }
        }
        let result: JsValue = Object::new().into();
        js::set(&result, "data", &js::get(body, "data"));
        js::set(&result, "txnTs", &txn_ts);
        js::set(&result, "stats", &js::get(body, "stats"));
        for (from, to) in [
            ("summary", "summary"),
            ("static_type", "staticType"),
            ("schema_version", "schemaVersion"),
            ("query_tags", "queryTags"),
        ] {
            let v = js::get(body, from);
            if !v.is_undefined() {
                js::set(&result, to, &v);
            }
        }
        result
    }
}

/// Tokens for the authenticated `fetch`. Internal to clerk-fauna.
#[wasm_bindgen(skip_typescript)]
pub struct TokenSource {
    tokens: Rc<CacheInner>,
    client_freed: Rc<Cell<bool>>,
}

#[wasm_bindgen]
impl TokenSource {
    /// A token (or the promise of one); after a 401, anything but `rejected`;
    /// throws as `check` does.
    pub fn token(&self, rejected: Option<String>, epoch: f64) -> Result<JsValue, JsValue> {
        self.check(Some(epoch))?;
        token(&self.tokens, rejected)
    }

    /// The cache's epoch now (a call passes it back to `token` and
    /// `check`). Throws `freed` if the client or cache was freed and, given
    /// the `epoch` a call began in, `cleared` if the user signed out or
    /// changed since.
    pub fn check(&self, epoch: Option<f64>) -> Result<f64, JsValue> {
        live(&self.client_freed, &self.tokens, epoch.map(|e| e as u64))?;
        Ok(self.tokens.epoch() as f64)
    }
}

fn token(tokens: &Rc<CacheInner>, rejected: Option<String>) -> Result<JsValue, JsValue> {
    let demand = match &rejected {
        Some(r) => Demand::Replacing(r),
        None => Demand::Ordinary,
    };
    Ok(tokens.token(tokens.default_key(), demand))
}

/// How long to wait for an answer: `queryTimeoutMs` plus 5 s.
fn deadline_ms(options: &QueryOptions) -> f64 {
    f64::from(options.query_timeout_ms) + 5_000.0
}

/// A JSON-serialisable object argument (`arguments`, `variables`), or `None`.
fn json_object(value: &JsValue, what: &str) -> Result<Option<String>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let invalid =
        || errors::invalid_option([what, " must be a plain object that JSON can hold."].concat());
    if !value.is_object() || Array::is_array(value) || value.is_function() {
        return Err(invalid());
    }
    js::to_json(value).map(Some).ok_or_else(invalid)
}

/// An answer from Fauna: its parsed body (or `undefined`) and what it means.
struct Answer {
    body: JsValue,
    reply: Reply,
}

/// Reads the fields of an answer that the core classifies on.
fn summarize(api: Api, status: u16, retry_after: Option<String>, text: &str) -> Answer {
    let body = js::parse_json(text).unwrap_or(JsValue::UNDEFINED);
    let is_json_object = body.is_object() && !Array::is_array(&body);
    let has = |name: &str| {
        is_json_object && Reflect::has(&body, &JsValue::from_str(name)).unwrap_or(false)
    };
    let (error_code, error_message) = match api {
        Api::V10 => {
            let e = js::get(&body, "error");
            (
                js::get(&e, "code").as_string(),
                js::get(&e, "message").as_string(),
            )
        }
        Api::V4 => {
            let first = js::get(&js::get(&body, "errors"), "0");
            (
                js::get(&first, "code").as_string(),
                js::get(&first, "description").as_string(),
            )
        }
        Api::GraphQl => {
            let first = js::get(&js::get(&body, "errors"), "0");
            (None, js::get(&first, "message").as_string())
        }
    };
    let errors = js::get(&body, "errors");
    let has_graphql_errors = Array::is_array(&errors) && Array::from(&errors).length() > 0;
    let has_result = match api {
        Api::V10 | Api::GraphQl => has("data"),
        Api::V4 => has("resource"),
    };
    Answer {
        reply: Reply {
            status,
            is_json_object,
            has_result,
            error_code,
            error_message,
            has_graphql_errors,
            retry_after,
        },
        body,
    }
}
