//! `POST /stream/1`: an event stream over the caller's `Todo` documents, as
//! Fauna's server serves it (fauna/faunadb ext/api/src/main/scala/api/fql2/StreamEndpoint.scala,
//! StreamResponse.scala; ext/model/src/main/scala/runtime/stream/Subscription.scala):
//! a chunked JSON body, events separated by `\r\n`, a status event first.
//! The credentials are checked again before each batch of events and on every
//! idle tick; once they fail, a `permission_loss` error event ends the body.
//! Drivers read it line by line (fauna/fauna-js src/http-client/fetch-client.ts, `readLines`).

use super::auth::{Principal, Refusal, Rejection};
use super::fql::access_for;
use super::fql::eval::Access;
use super::stream_hub::{
    error_event, parse_request, snapshot_ts, status_event, too_old_event, Conn, Cursor, SourceDef,
    SourceRequest, StreamSettings, Viewer,
};
use super::{refusal_answer, AuthOutcome, FaunaState, Protocol};
use crate::faults::{FaultSpec, StreamFault, STREAM_PATH, STREAM_UNAUTHORIZED};
use crate::util::json_response;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value as Json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Largest request body read.
const BODY_LIMIT: usize = 1 << 20;

/// The stream and feed endpoints' error body, `{error:{code,message}}`, without `WWW-Authenticate`
/// (StreamResponse.Error / FeedResponse.Error add no headers).
pub fn stream_error(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        _ => "invalid_request",
    };
    json_response(
        status,
        json!({ "error": { "code": code, "message": message } }),
    )
}

/// `StreamResponse.Error.Unauthorized`.
pub fn unauthorized() -> Response {
    stream_error(StatusCode::UNAUTHORIZED, STREAM_UNAUTHORIZED)
}

/// The answer to a secret refused at connect: the endpoint's own 401 for an
/// ordinary refusal; a claim that makes the server's parsing throw (500) or a
/// credential lookup past its 5 s bound (503 `time_out`) is answered as for a
/// query, since both happen before the endpoint sees the request.
pub fn refused(rejection: &Rejection) -> Response {
    match rejection.refusal {
        Refusal::Unauthorized => unauthorized(),
        refusal => {
            let (status, code, message) = refusal_answer(refusal, Protocol::V10);
            json_response(
                status,
                json!({ "error": { "code": code, "message": message } }),
            )
        }
    }
}

pub async fn endpoint(State(state): State<Arc<FaunaState>>, request: Request) -> Response {
    let fault = request.extensions().get::<FaultSpec>().cloned();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    // The body is checked before the credentials, as the server parses it first.
    let request = match parse_request(&body, false) {
        Ok(r) => r,
        Err(message) => {
            return AuthOutcome::unchecked().attach(stream_error(StatusCode::BAD_REQUEST, &message))
        }
    };
    let auth = state.auth.authenticate(&parts.headers).await;
    let outcome = AuthOutcome::from_result(&auth);
    let response = match auth {
        Ok(principal) => open(&state, parts.headers, request, principal, fault),
        Err(rejection) => refused(&rejection),
    };
    outcome.attach(response)
}

fn open(
    state: &Arc<FaunaState>,
    headers: HeaderMap,
    request: SourceRequest,
    principal: Principal,
    fault: Option<FaultSpec>,
) -> Response {
    if request.cursor.is_some_and(|c| c.ts < request.created) {
        return stream_error(
            StatusCode::BAD_REQUEST,
            "Invalid stream start time: Stream start time can not be before the stream create time.",
        );
    }
    let access = access_for(&principal);
    if access == Access::Nothing {
        return stream_error(
            StatusCode::BAD_REQUEST,
            "Error evaluating provided stream, Insufficient privileges to perform the action.",
        );
    }
    let conn = state.streams.open_conn();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let task = StreamTask {
        state: state.clone(),
        headers,
        principal,
        access,
        source: request.source.clone(),
        from: request.start(),
        fault,
        tx,
        delivered: 0,
    };
    tokio::spawn(async move {
        let state = task.state.clone();
        let how = task.run().await;
        state.streams.end_conn(conn, &how);
    });
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-fauna-stream-id", HeaderValue::from(conn));
    response.extensions_mut().insert(Conn(conn));
    response
}

/// Why a stream ended early: the reason recorded in the request log.
type Ended = String;

struct StreamTask {
    state: Arc<FaunaState>,
    /// The request headers, to authenticate again with the same secret.
    headers: HeaderMap,
    principal: Principal,
    access: Access,
    source: Arc<SourceDef>,
    from: Cursor,
    fault: Option<FaultSpec>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    /// Data events sent so far.
    delivered: u64,
}

impl StreamTask {
    /// Runs until the stream ends; returns how it ended.
    async fn run(mut self) -> Ended {
        match self.serve().await {
            Ok(never) => match never {},
            Err(how) => how,
        }
    }

    async fn serve(&mut self) -> Result<std::convert::Infallible, Ended> {
        let state = self.state.clone();
        let hub = &state.streams;
        let closed = self.tx.clone();
        // Subscribe before reading the history, so no write falls in between.
        let mut wake = hub.subscribe();
        let db = self.principal.database().to_owned();

        // EventReplayer: a status event at the start cursor, then the events after it.
        self.send(&status_event(self.from.ts)).await?;
        if !hub.can_replay(self.from) {
            return self.fail(too_old_event(self.from)).await;
        }
        let (records, mut seen) = hub.since(&db, self.from, 0);
        let events = self.translate(&records);
        let limit = hub.settings().replay_limit;
        if events.len() > limit {
            self.deliver(&events[..limit]).await?;
            return self
                .fail(error_event(
                    "stream_replay_volume_exceeded",
                    "Too many events to replay. Recreate the stream and try again.",
                ))
                .await;
        }
        self.deliver(&events).await?;

        let mut last_check = Instant::now();
        let mut last_status = Instant::now();
        loop {
            let settings: StreamSettings = hub.settings();
            let idle = Duration::from_millis(settings.idle_check_ms);
            tokio::select! {
                changed = wake.changed() => {
                    if changed.is_err() {
                        return Err("server_closed".into());
                    }
                    let (records, newest) = hub.since(&db, Cursor::at(i64::MIN), seen);
                    seen = newest;
                    let events = self.translate(&records);
                    if events.is_empty() {
                        continue;
                    }
                    // Subscription.runQ: Auth.revalidate before each batch.
                    self.recheck().await?;
                    last_check = Instant::now();
                    self.deliver(&events).await?;
                }
                _ = tokio::time::sleep(idle.saturating_sub(last_check.elapsed())) => {
                    self.recheck().await?;
                    last_check = Instant::now();
                    if last_status.elapsed() >= Duration::from_millis(settings.status_interval_ms) {
                        // A time after every committed write; flush what came before it.
                        let ts = snapshot_ts(&self.state);
                        let (records, newest) = hub.since(&db, Cursor::at(i64::MIN), seen);
                        seen = newest;
                        let events = self.translate(&records);
                        self.deliver(&events).await?;
                        self.send(&status_event(ts)).await?;
                        last_status = Instant::now();
                    }
                }
                _ = closed.closed() => return Err("client_closed".into()),
            }
        }
    }

    fn translate(&self, records: &[super::stream_hub::Record]) -> Vec<Json> {
        let token = match &self.principal {
            Principal::Jwt(id) => Some(&id.payload),
            Principal::Admin { .. } => None,
        };
        let viewer = Viewer {
            access: &self.access,
            token,
        };
        records
            .iter()
            .filter_map(|r| viewer.event(&self.source, r))
            .collect()
    }

    /// Authenticates the stream's secret again; a refusal of any kind ends the
    /// stream with `permission_loss` (`Auth.revalidate` yields no auth; the
    /// stream cannot answer with a status any more).
    async fn recheck(&mut self) -> Result<(), Ended> {
        if self.state.auth.authenticate(&self.headers).await.is_ok() {
            return Ok(());
        }
        self.fail(error_event(
            "permission_loss",
            "Stream authentication is no longer valid.",
        ))
        .await
        .map(|never| match never {})
    }

    /// Sends data events, applying an injected stream fault.
    async fn deliver(&mut self, events: &[Json]) -> Result<(), Ended> {
        self.injected_fault().await?;
        for event in events {
            if let Some(FaultSpec {
                stream: Some(StreamFault::Delay),
                delay_ms,
                ..
            }) = &self.fault
            {
                tokio::time::sleep(Duration::from_millis(delay_ms.unwrap_or(0))).await;
            }
            self.send(event).await?;
            self.delivered += 1;
            self.injected_fault().await?;
        }
        Ok(())
    }

    /// A `drop` or `error` fault acts once `after_events` data events went out.
    async fn injected_fault(&mut self) -> Result<(), Ended> {
        let Some(spec) = &self.fault else {
            return Ok(());
        };
        if self.delivered < spec.after_events.unwrap_or(0) {
            return Ok(());
        }
        match spec.stream {
            Some(StreamFault::Drop) => {
                // Let hyper take and flush the events already queued: it may abort
                // without flushing what it buffered once the body fails.
                let until = Instant::now() + Duration::from_secs(2);
                while self.tx.capacity() < self.tx.max_capacity() && Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                // An error in the body makes hyper abort the connection mid-response.
                let _ = self
                    .tx
                    .send(Err(std::io::Error::other(
                        "stream dropped by injected fault",
                    )))
                    .await;
                Err("dropped".into())
            }
            Some(StreamFault::Error) => {
                let (code, message) = spec.code_and_message(STREAM_PATH);
                let event = error_event(&code, &message);
                self.fail(event).await.map(|never| match never {})
            }
            _ => Ok(()),
        }
    }

    /// Sends an error event and ends the stream.
    async fn fail(&mut self, event: Json) -> Result<std::convert::Infallible, Ended> {
        let code = event["error"]["code"]
            .as_str()
            .unwrap_or("error")
            .to_owned();
        self.send(&event).await?;
        Err(if code == "permission_loss" {
            code
        } else {
            format!("error:{code}")
        })
    }

    async fn send(&self, event: &Json) -> Result<(), Ended> {
        let mut line = event.to_string().into_bytes();
        line.extend_from_slice(b"\r\n");
        self.tx
            .send(Ok(Bytes::from(line)))
            .await
            .map_err(|_| "client_closed".to_owned())
    }
}
