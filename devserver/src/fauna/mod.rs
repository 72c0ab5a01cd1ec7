//! The Fauna stand-in: FQL v10 (`/query/1`), the legacy v4 wire (`/`),
//! event streams (`/stream/1`) and feeds (`/feed/1`), plus loopback admin
//! endpoints for the request log, fault injection and stream settings.
//! `/graphql` only on request: Fauna's own server has no GraphQL endpoint.

pub mod auth;
pub mod feed;
pub mod fql;
pub mod graphql;
pub mod store;
pub mod stream;
pub mod stream_hub;
pub mod v4;

use crate::config::Config;
use crate::faults::{FaultSpec, Faults};
use crate::util::{json_response, now_micros, parse_json};
use auth::{Authenticator, Principal, Refusal, Rejection};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::json;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use store::Store;

/// Shared state of the Fauna stand-in.
pub struct FaunaState {
    pub config: Arc<Config>,
    pub auth: Authenticator,
    pub store: Mutex<Store>,
    log: Mutex<Vec<LogEntry>>,
    faults: Faults,
    clock: TxnClock,
    /// Set when the stand-in serves `/graphql` (an opt-in).
    graphql: Option<graphql::FaunaSchema>,
    /// Event streams and feeds: write history, settings, connection outcomes.
    pub streams: stream_hub::Hub,
}

impl FaunaState {
    /// A Fauna stand-in without GraphQL, as Fauna's own server.
    pub fn new(config: Arc<Config>) -> Arc<Self> {
        Self::with_graphql(config, false)
    }

    /// `graphql`: also serve `POST /graphql`, a stand-in for hosted Fauna's
    /// retired GraphQL API (for code written against it, or GraphQL layers
    /// that forward to Fauna); not part of Fauna's server.
    pub fn with_graphql(config: Arc<Config>, graphql: bool) -> Arc<Self> {
        Arc::new(FaunaState {
            streams: stream_hub::Hub::new(config.fauna.streams.clone()),
            auth: Authenticator::new(config.clone()),
            config,
            store: Mutex::new(Store::default()),
            log: Mutex::new(Vec::new()),
            faults: Faults::default(),
            clock: TxnClock::default(),
            graphql: graphql.then(graphql::schema),
        })
    }

    pub fn lock_store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_log(&self) -> MutexGuard<'_, Vec<LogEntry>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new transaction time in microseconds, strictly increasing.
    pub fn next_txn_ts(&self) -> i64 {
        self.clock.next()
    }

    /// The latest transaction time handed out.
    pub fn last_txn_ts(&self) -> i64 {
        self.clock.last.load(Ordering::SeqCst)
    }
}

/// Strictly increasing transaction times, close to the wall clock.
#[derive(Default)]
struct TxnClock {
    last: AtomicI64,
}

impl TxnClock {
    fn next(&self) -> i64 {
        let now = now_micros();
        let mut prev = self.last.load(Ordering::SeqCst);
        loop {
            let next = now.max(prev + 1);
            match self
                .last
                .compare_exchange(prev, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return next,
                Err(actual) => prev = actual,
            }
        }
    }
}

/// One line of `GET /__admin/requests`.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub method: String,
    pub path: String,
    pub sub: Option<String>,
    /// `ok`, `rejected`, or `unchecked` (answered before the credentials were looked at).
    pub auth: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    pub status: u16,
    pub fault: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Stream and feed connections: how the connection ended (`open` while it runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    #[serde(skip)]
    conn: Option<u64>,
}

/// How a handler authenticated its request; a response extension read by the log.
#[derive(Debug, Clone)]
pub struct AuthOutcome {
    pub sub: Option<String>,
    pub jti: Option<String>,
    pub rejected: Option<&'static str>,
    /// False for a request refused before its credentials were looked at.
    pub checked: bool,
}

impl AuthOutcome {
    /// For a request refused before its credentials were looked at.
    pub fn unchecked() -> Self {
        AuthOutcome {
            sub: None,
            jti: None,
            rejected: None,
            checked: false,
        }
    }

    pub fn from_result(result: &Result<Principal, Rejection>) -> Self {
        match result {
            Ok(Principal::Admin { .. }) => AuthOutcome {
                checked: true,
                ..AuthOutcome::unchecked()
            },
            Ok(Principal::Jwt(id)) => AuthOutcome {
                sub: id.sub.clone(),
                jti: id.jti.clone(),
                rejected: None,
                checked: true,
            },
            Err(r) => AuthOutcome {
                sub: r.sub.clone(),
                jti: r.jti.clone(),
                rejected: Some(r.reason),
                checked: true,
            },
        }
    }

    /// Attaches the outcome to a response for the request log.
    pub fn attach(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// Marks a response that must not be sent: the connection is closed instead.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// Routes of the Fauna stand-in (CORS is added by the caller).
pub fn router(state: Arc<FaunaState>) -> Router {
    let mut router = Router::new()
        .route("/query/1", post(fql::query_endpoint))
        .route("/", post(v4::endpoint))
        .route("/stream/1", post(stream::endpoint))
        .route("/feed/1", post(feed::endpoint))
        .route("/ping", get(ping))
        .route(
            "/__admin/streams",
            get(stream_hub::admin_settings).post(stream_hub::admin_settings),
        )
        .route("/__admin/requests", get(admin_requests))
        .route("/__admin/faults", post(admin_faults))
        .route("/__admin/reset", post(admin_reset));
    if state.graphql.is_some() {
        router = router.route("/graphql", post(graphql::endpoint));
    }
    // Any other path falls through to the server's v4 router: 404 `not found`.
    router
        .fallback(v4::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults_and_log,
        ))
        .with_state(state)
}

async fn ping() -> Response {
    json_response(StatusCode::OK, json!({ "status": "OK" }))
}

/// Applies queued faults to query requests and records them in the request log.
async fn faults_and_log(
    State(state): State<Arc<FaunaState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if path.starts_with("/__admin") || path == "/ping" || method == Method::OPTIONS {
        return next.run(request).await;
    }
    let fault = state.faults.take(&path);
    // Stream faults act inside the response body; the stream handler applies them.
    if let Some(spec) = fault.as_ref().filter(|f| f.stream.is_some()) {
        request.extensions_mut().insert(spec.clone());
    }
    let fault_now = fault.as_ref().filter(|f| f.stream.is_none());
    if let Some(delay) = fault_now.and_then(|f| f.delay_ms) {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let response = match fault_now {
        Some(spec) if spec.drop || spec.status.is_some() => {
            let outcome =
                AuthOutcome::from_result(&state.auth.authenticate(request.headers()).await);
            outcome.attach(fault_response(spec, &path))
        }
        _ => next.run(request).await,
    };
    if let Some(outcome) = response.extensions().get::<AuthOutcome>() {
        let status = if response.extensions().get::<DropConnection>().is_some() {
            0
        } else {
            response.status().as_u16()
        };
        let entry = LogEntry {
            method: method.to_string(),
            path: path.clone(),
            sub: outcome.sub.clone(),
            auth: match (outcome.checked, outcome.rejected) {
                (false, _) => "unchecked",
                (true, Some(_)) => "rejected",
                (true, None) => "ok",
            },
            reason: outcome.rejected,
            status,
            fault: fault.is_some(),
            jti: outcome.jti.clone(),
            ended: None,
            conn: response.extensions().get::<stream_hub::Conn>().map(|c| c.0),
        };
        eprintln!(
            "[fauna] {} {} -> {} auth={}{} sub={}",
            entry.method,
            entry.path,
            entry.status,
            entry.auth,
            entry.reason.map(|r| format!(" ({r})")).unwrap_or_default(),
            entry.sub.as_deref().unwrap_or("-")
        );
        state.lock_log().push(entry);
    }
    response
}

fn fault_response(spec: &FaultSpec, path: &str) -> Response {
    if spec.drop {
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(DropConnection);
        return response;
    }
    let status = spec
        .status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match &spec.body {
        Some(raw) => (
            status,
            [("content-type", "text/plain; charset=utf-8")],
            raw.clone(),
        )
            .into_response(),
        None => json_response(status, spec.json_body(path)),
    };
    // Fauna never sends `Retry-After`; a fault may, to play a gateway in
    // front of it, which also exposes the header to browsers.
    if let Some(secs) = spec.retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
        response
            .extensions_mut()
            .insert(crate::cors::GatewayExposes("retry-after"));
    }
    // Stream and feed 401s carry no challenge (StreamResponse.Error adds no headers).
    let streaming = path == crate::faults::STREAM_PATH || path == crate::faults::FEED_PATH;
    if status == StatusCode::UNAUTHORIZED && !streaming {
        let challenge = if path == "/" {
            "Basic realm=\"Unauthorized\""
        } else {
            "Bearer"
        };
        response
            .headers_mut()
            .insert("www-authenticate", HeaderValue::from_static(challenge));
    }
    response
}

async fn admin_requests(State(state): State<Arc<FaunaState>>) -> Response {
    let mut log = state.lock_log().clone();
    for entry in &mut log {
        entry.ended = entry.conn.and_then(|id| state.streams.ended(id));
    }
    json_response(StatusCode::OK, json!(log))
}

async fn admin_faults(State(state): State<Arc<FaunaState>>, body: Bytes) -> Response {
    match parse_json::<FaultSpec>(&body) {
        Ok(spec) => {
            if spec
                .status
                .is_some_and(|s| StatusCode::from_u16(s).is_err())
            {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({ "error": "status must be 100..=999" }),
                );
            }
            state.faults.push(spec);
            json_response(StatusCode::OK, json!({ "pending": state.faults.pending() }))
        }
        Err(e) => json_response(StatusCode::BAD_REQUEST, json!({ "error": e })),
    }
}

async fn admin_reset(State(state): State<Arc<FaunaState>>) -> Response {
    state.lock_log().clear();
    state.faults.clear();
    *state.lock_store() = Store::default();
    state.streams.reset(state.last_txn_ts());
    json_response(StatusCode::OK, json!({ "reset": true }))
}

/// The v10 API's answer to a refused credential: 401 with `WWW-Authenticate:
/// Bearer` and the request's `query_tags` echoed (`ProtocolError.Unauthorized`,
/// ext/api/src/main/scala/api/fql2/FQL2Response.scala), 500 when the token's
/// claims made the server throw, 503 `time_out` past the lookup bound.
pub fn refused_v10(rejection: &Rejection, query_tags: Option<&str>) -> Response {
    let (status, code, message) = refusal_answer(rejection.refusal, Protocol::V10);
    let mut body = json!({ "error": { "code": code, "message": message } });
    if let Some(tags) = query_tags {
        body["query_tags"] = json!(tags);
    }
    let mut response = json_response(status, body);
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert("www-authenticate", HeaderValue::from_static("Bearer"));
    }
    response
}

/// Which API answers: their codes differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    V10,
    V4,
    GraphQl,
}

/// Status, code and message of the answer to a refused credential.
pub fn refusal_answer(
    refusal: Refusal,
    protocol: Protocol,
) -> (StatusCode, &'static str, &'static str) {
    let v4 = protocol == Protocol::V4;
    match refusal {
        Refusal::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            match protocol {
                Protocol::V10 => "Access token required",
                Protocol::V4 => "Unauthorized",
                Protocol::GraphQl => "Invalid database secret.",
            },
        ),
        Refusal::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            if v4 {
                "internal server error"
            } else {
                "internal_error"
            },
            "Internal server error.",
        ),
        Refusal::TimedOut => (
            StatusCode::SERVICE_UNAVAILABLE,
            if v4 { "time out" } else { "time_out" },
            "Timed out while authenticating the request.",
        ),
    }
}

/// Serves `app` on `listener`, closing the connection for responses marked [`DropConnection`].
pub async fn serve(listener: tokio::net::TcpListener, app: Router) {
    use hyper_util::rt::TokioIo;
    use tower::ServiceExt;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("[fauna] accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let app = app.clone();
                    async move {
                        let response = app
                            .oneshot(req.map(Body::new))
                            .await
                            .unwrap_or_else(|e| match e {});
                        if response.extensions().get::<DropConnection>().is_some() {
                            // An error from the service makes hyper close the connection unanswered.
                            return Err(std::io::Error::other(
                                "connection dropped by injected fault",
                            ));
                        }
                        Ok(response)
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
