//! `FaunaClient`: sends Fauna requests with a token from a shared
//! `TokenCache`. The loop here only carries out the core's decisions
//! (request building, classification, 401 refresh, 429 backoff).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{AbortController, Request, Response};

use super::errors::{self, Extras};
use super::js::{self, Options};
use super::token_cache::{CacheInner, TokenCache};
use crate::core::backoff::{self, Throttle};
use crate::core::classify::{classify, unauthorized_hint, Api, Reply, Verdict};
use crate::core::error::{Error, ErrorCode};
use crate::core::jwt;
use crate::core::options::{QueryOptions, RawQueryOptions};
use crate::core::request::{self, HttpRequest};
use crate::core::text;
use crate::core::token_store::Demand;

#[wasm_bindgen]
extern "C" {
    /// `Request`, constructible from any `RequestInfo | URL` input.
    #[wasm_bindgen(js_name = Request)]
    type AnyRequest;
    #[wasm_bindgen(constructor, js_class = Request, catch)]
    fn new(input: &JsValue, init: &JsValue) -> Result<AnyRequest, JsValue>;
}

fn new_request(input: &JsValue, init: &JsValue) -> Result<Request, JsValue> {
    Ok(AnyRequest::new(input, init)?.unchecked_into())
}

/// A client for Fauna's HTTP APIs that authenticates every request with the
/// signed-in user's token from a `TokenCache`.
#[wasm_bindgen]
pub struct FaunaClient {
    inner: Rc<ClientInner>,
}

struct ClientInner {
    tokens: Rc<CacheInner>,
    options: QueryOptions,
    /// `None`: the global `fetch`, looked up at each call (so a polyfill or
    /// test double installed later is honoured).
    fetch: Option<Function>,
    last_txn_ts: Cell<Option<f64>>,
    authenticated_fetch: RefCell<Option<Function>>,
}

#[wasm_bindgen]
impl FaunaClient {
    /// A client sharing `tokens` (not consuming it: the cache stays usable,
    /// and `tokens.clear()` affects every client built on it). Throws
    /// `invalid_option` for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        tokens: &TokenCache,
        #[wasm_bindgen(unchecked_optional_param_type = "FaunaClientOptions")] options: JsValue,
    ) -> Result<FaunaClient, JsValue> {
        let (raw, fetch) =
            read_options(&options, "FaunaClient options").map_err(errors::invalid_option)?;
        let options = QueryOptions::default()
            .merged(raw)
            .map_err(|e| errors::plain(&e))?;
        Ok(FaunaClient {
            inner: Rc::new(ClientInner {
                tokens: tokens.shared(),
                options,
                fetch,
                last_txn_ts: Cell::new(None),
                authenticated_fetch: RefCell::new(None),
            }),
        })
    }

    /// Runs an FQL v10 query (`POST /query/1`). See the TypeScript
    /// declaration for the result's shape.
    #[wasm_bindgen(skip_typescript)]
    pub fn query(&self, fql: JsValue, arguments: JsValue, options: JsValue) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.query(fql, arguments, options).await })
    }

    /// Runs a legacy FQL v4 wire expression (`POST /`) and resolves to its
    /// `resource`.
    #[wasm_bindgen(js_name = queryV4, unchecked_return_type = "Promise<unknown>")]
    pub fn query_v4(&self, expr: JsValue) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.query_v4(&expr, false).await })
    }

    /// FQL v4 `CurrentIdentity()`: the `sub` of the signed-in user's token.
    #[wasm_bindgen(js_name = currentIdentity, unchecked_return_type = "Promise<string>")]
    pub fn current_identity(&self) -> Promise {
        let expr: JsValue = Object::new().into();
        js::set(&expr, "current_identity", &JsValue::NULL);
        let inner = self.inner.clone();
        future_to_promise(async move { inner.query_v4(&expr, true).await })
    }

    /// Sends a GraphQL request to `graphqlEndpoint` and resolves to `data`.
    #[wasm_bindgen(skip_typescript)]
    pub fn graphql(&self, query: JsValue, variables: JsValue) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.graphql(query, variables).await })
    }

    /// A `fetch` that adds `Authorization: Bearer <token>` (replacing any
    /// placeholder secret) and, on a 401, refreshes the token and retries
    /// once. Hand it to the official drivers and GraphQL clients. The same
    /// function every time.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>"
    )]
    pub fn fetch(&self) -> Function {
        let mut made = self.inner.authenticated_fetch.borrow_mut();
        made.get_or_insert_with(|| {
            let inner = self.inner.clone();
            let f = Closure::<dyn Fn(JsValue, JsValue) -> Promise>::new(move |input, init| {
                let inner = inner.clone();
                future_to_promise(async move { inner.authenticated_fetch(input, init).await })
            });
            f.into_js_value().unchecked_into()
        })
        .clone()
    }

    /// The largest `txn_ts` Fauna has reported to this client, sent back as
    /// `X-Last-Txn-Ts` so later queries see at least that state.
    #[wasm_bindgen(getter, js_name = lastTxnTs)]
    pub fn last_txn_ts(&self) -> Option<f64> {
        self.inner.last_txn_ts.get()
    }
}

fn read_options(
    value: &JsValue,
    what: &'static str,
) -> Result<(RawQueryOptions, Option<Function>), String> {
    let o = Options::new(value, what)?;
    let raw = RawQueryOptions {
        endpoint: o.string("endpoint")?,
        graphql_endpoint: o.string("graphqlEndpoint")?,
        format: o.string("format")?,
        query_timeout_ms: o.number("queryTimeoutMs")?,
        max_attempts: o.number("maxAttempts")?,
        max_backoff_ms: o.number("maxBackoffMs")?,
        typecheck: o.boolean("typecheck")?,
        linearized: o.boolean("linearized")?,
        max_contention_retries: o.number("maxContentionRetries")?,
        query_tags: o.string_record("queryTags")?,
        traceparent: o.string("traceparent")?,
    };
    Ok((raw, o.function("fetch")?))
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

impl ClientInner {
    async fn query(
        &self,
        fql: JsValue,
        arguments: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let Some(fql) = fql.as_string() else {
            return Err(errors::invalid_option(
                "query needs the FQL text as a string.".into(),
            ));
        };
        let (raw, _) = read_options(&options, "query options").map_err(errors::invalid_option)?;
        let o = self.options.merged(raw).map_err(|e| errors::plain(&e))?;
        let args = json_object(&arguments, "arguments")?;
        let body = self
            .send(Api::V10, &o, &|token| {
                request::v10_query(&o, token, self.last_txn_ts.get(), &fql, args.as_deref())
            })
            .await?;
        let txn_ts = js::get(&body, "txn_ts");
        if let Some(ts) = txn_ts.as_f64() {
            if self.last_txn_ts.get().is_none_or(|last| ts > last) {
                self.last_txn_ts.set(Some(ts));
            }
        }
        let result: JsValue = Object::new().into();
        js::set(&result, "data", &js::get(&body, "data"));
        js::set(&result, "txnTs", &txn_ts);
        js::set(&result, "stats", &js::get(&body, "stats"));
        for (from, to) in [
            ("summary", "summary"),
            ("static_type", "staticType"),
            ("schema_version", "schemaVersion"),
            ("query_tags", "queryTags"),
        ] {
            let v = js::get(&body, from);
            if !v.is_undefined() {
                js::set(&result, to, &v);
            }
        }
        Ok(result)
    }

    /// `want_string`: for `CurrentIdentity()`, whose answer must be the `sub`.
    async fn query_v4(&self, expr: &JsValue, want_string: bool) -> Result<JsValue, JsValue> {
        let Some(expr_json) = js::to_json(expr).filter(|_| !expr.is_undefined()) else {
            return Err(errors::invalid_option(
                "queryV4 needs a JSON wire expression.".into(),
            ));
        };
        let o = &self.options;
        let body = self
            .send(Api::V4, o, &|token| {
                request::v4_query(o, token, self.last_txn_ts.get(), &expr_json)
            })
            .await?;
        let resource = js::get(&body, "resource");
        if want_string && !resource.is_string() {
            return Err(errors::plain(&Error::new(
                ErrorCode::ProtocolError,
                "CurrentIdentity() did not return a string.",
            )));
        }
        Ok(resource)
    }

    async fn graphql(&self, query: JsValue, variables: JsValue) -> Result<JsValue, JsValue> {
        let Some(query) = query.as_string() else {
            return Err(errors::invalid_option(
                "graphql needs the query text as a string.".into(),
            ));
        };
        let vars = json_object(&variables, "variables")?;
        let o = &self.options;
        let body = self
            .send(Api::GraphQl, o, &|token| {
                request::graphql(o, token, &query, vars.as_deref())
            })
            .await?;
        Ok(js::get(&body, "data"))
    }

    /// Sends the request `build` makes for a token until the core says it
    /// succeeded or failed: one token refresh on 401, backoff on 429.
    /// `build` is a trait object so this large future exists once in the
    /// WebAssembly, not once per API.
    async fn send(
        &self,
        api: Api,
        o: &QueryOptions,
        build: &dyn Fn(&str) -> HttpRequest,
    ) -> Result<JsValue, JsValue> {
        let key = self.tokens.default_key();
        let mut token = self.tokens.token(&key, Demand::Ordinary).await?;
        let mut refreshed = false;
        let mut attempt = 1;
        loop {
            let answer = self.exchange(&build(&token), api, o).await?;
            match classify(api, &answer.reply) {
                Verdict::Success => return Ok(answer.body),
                Verdict::Unauthorized if !refreshed => {
                    token = self.tokens.token(&key, Demand::Replacing(&token)).await?;
                    refreshed = true;
                }
                Verdict::Unauthorized => {
                    let claims = jwt::decode(&token, js::read_json_object)
                        .ok()
                        .map(|d| d.claims);
                    let error =
                        Error::new(ErrorCode::Unauthorized, "Fauna rejected the user's token.")
                            .with_status(answer.reply.status)
                            .with_fauna_code(answer.reply.error_code.clone())
                            .with_hint(unauthorized_hint(claims.as_ref(), js::now_ms()));
                    return Err(errors::plain(&error));
                }
                Verdict::Throttled { retry_after_ms } => {
                    match backoff::after_throttle(
                        attempt,
                        o.max_attempts,
                        retry_after_ms,
                        js::random(),
                        o.max_backoff_ms,
                    ) {
                        Throttle::RetryAfter(ms) => {
                            js::sleep(ms).await;
                            attempt += 1;
                        }
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
                            .with_status(answer.reply.status)
                            .with_fauna_code(answer.reply.error_code.clone());
                            error.retry_after_ms = retry_after_ms;
                            return Err(errors::plain(&error));
                        }
                    }
                }
                Verdict::Failed(error) => {
                    return Err(errors::to_js(
                        &error,
                        Extras {
                            cause: None,
                            body: Some(answer.body),
                        },
                    ))
                }
            }
        }
    }

    /// One HTTP exchange, abandoned (and aborted) `queryTimeoutMs + 5 s` after
    /// it started, whether or not the `fetch` honours its signal.
    async fn exchange(
        &self,
        req: &HttpRequest,
        api: Api,
        o: &QueryOptions,
    ) -> Result<Answer, JsValue> {
        let deadline_ms = f64::from(o.query_timeout_ms) + 5_000.0;
        let controller = AbortController::new()?;
        let headers = Object::new();
        for (name, value) in &req.headers {
            js::set(&headers, name, &JsValue::from_str(value));
        }
        let init = Object::new();
        js::set(&init, "method", &JsValue::from_str("POST"));
        js::set(&init, "headers", &headers);
        js::set(&init, "body", &JsValue::from_str(&req.body));
        js::set(&init, "signal", &controller.signal());

        let timeout_marker: JsValue = Object::new().into();
        let (timed_out, _timer) = js::reject_after(deadline_ms, &timeout_marker);
        let timeout = || {
            controller.abort();
            errors::plain(&Error::new(
                ErrorCode::Timeout,
                [
                    "No answer from Fauna within ",
                    &text::uint(u64::from(o.query_timeout_ms) + 5_000),
                    " ms.",
                ]
                .concat(),
            ))
        };
        let network = |cause: JsValue| {
            errors::to_js(
                &Error::new(
                    ErrorCode::NetworkError,
                    "The request to Fauna failed; the original error is in `cause`.",
                ),
                Extras {
                    cause: Some(cause),
                    body: None,
                },
            )
        };

        let sent = self.call_fetch(&JsValue::from_str(&req.url), &init.into());
        let response: Response = match JsFuture::from(js::race(&[&sent, &timed_out])).await {
            Ok(r) => r.unchecked_into(),
            Err(e) if e == timeout_marker => return Err(timeout()),
            Err(e) => return Err(network(e)),
        };
        let status = response.status();
        let retry_after = response.headers().get("retry-after").ok().flatten();
        let text = match response.text() {
            Ok(p) => JsFuture::from(js::race(&[&p, &timed_out])).await,
            Err(e) => Err(e),
        };
        let text = match text {
            Ok(t) => t.as_string().unwrap_or_default(),
            Err(e) if e == timeout_marker => return Err(timeout()),
            Err(e) => return Err(network(e)),
        };
        Ok(summarize(api, status, retry_after, &text))
    }

    /// Calls the configured `fetch` (or the global one), turning a synchronous
    /// throw into a rejected promise.
    fn call_fetch(&self, input: &JsValue, init: &JsValue) -> Promise {
        let fetch = match &self.fetch {
            Some(f) => Ok(f.clone()),
            None => Reflect::get(&js_sys::global(), &JsValue::from_str("fetch"))
                .and_then(|f| f.dyn_into::<Function>()),
        };
        match fetch.and_then(|f| f.call2(&JsValue::UNDEFINED, input, init)) {
            Ok(p) => Promise::resolve(&p),
            Err(e) => Promise::reject(&e),
        }
    }

    /// The authenticated `fetch`: same answer as `fetch` would give, with the
    /// user's token attached, retried once with a new token after a 401.
    async fn authenticated_fetch(&self, input: JsValue, init: JsValue) -> Result<JsValue, JsValue> {
        let request = new_request(&input, &init)?;
        let key = self.tokens.default_key();
        let mut token = self.tokens.token(&key, Demand::Ordinary).await?;
        let mut retried = false;
        loop {
            // A clone per attempt keeps the original body replayable.
            let attempt = request.clone()?;
            attempt
                .headers()
                .set("Authorization", &["Bearer ", &token].concat())?;
            let response: Response =
                JsFuture::from(self.call_fetch(&attempt.into(), &JsValue::UNDEFINED))
                    .await?
                    .unchecked_into();
            if response.status() != 401 || retried {
                return Ok(response.into());
            }
            token = self.tokens.token(&key, Demand::Replacing(&token)).await?;
            retried = true;
        }
    }
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
