//! `POST /feed/1`: one page of events after a cursor, each poll authenticated
//! on its own (fauna/faunadb ext/api/src/main/scala/api/fql2/FeedEndpoint.scala,
//! FeedRequest.scala, FeedResponse.scala; ext/model/src/main/scala/runtime/stream/Feed.scala).
//! The v10 driver polls it with the `cursor` of the last page (fauna/fauna-js src/client.ts, `FeedClient`).

use super::fql::access_for;
use super::fql::eval::Access;
use super::stream::{refused, stream_error};
use super::stream_hub::{
    event_stats, parse_request, snapshot_ts, too_old_event, Conn, Cursor, Viewer,
};
use super::{AuthOutcome, FaunaState};
use crate::util::json_response;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use std::sync::Arc;

pub async fn endpoint(
    State(state): State<Arc<FaunaState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The body is checked before the credentials, as the server parses it first.
    let request = match parse_request(&body, true) {
        Ok(r) => r,
        Err(message) => {
            return AuthOutcome::unchecked().attach(stream_error(StatusCode::BAD_REQUEST, &message))
        }
    };
    let auth = state.auth.authenticate(&headers).await;
    let outcome = AuthOutcome::from_result(&auth);
    let principal = match auth {
        Ok(principal) => principal,
        Err(rejection) => return outcome.attach(refused(&rejection)),
    };
    let access = access_for(&principal);
    if access == Access::Nothing {
        return outcome.attach(stream_error(
            StatusCode::BAD_REQUEST,
            "Error evaluating provided event source, Insufficient privileges to perform the action.",
        ));
    }
    let hub = &state.streams;
    let from = request.start();
    // Events up to a snapshot time, as the server's feed query reads at its snapshot.
    let snapshot = snapshot_ts(&state);
    let (events, cursor, has_next) = if !hub.can_replay(from) {
        // The error event carries no cursor: the page keeps the one asked for.
        (vec![too_old_event(from)], from, false)
    } else {
        let (records, _) = hub.since(principal.database(), from, 0);
        let token = match &principal {
            super::auth::Principal::Jwt(id) => Some(&id.payload),
            super::auth::Principal::Admin { .. } => None,
        };
        let viewer = Viewer {
            access: &access,
            token,
        };
        let mut records = records.iter().filter(|r| r.cursor.ts < snapshot).peekable();
        let mut events = Vec::new();
        let mut last = None;
        // Feed.collectIter: every record moves the cursor, filtered or not.
        while events.len() < request.page_size {
            let Some(record) = records.next() else { break };
            last = Some(record.cursor);
            events.extend(viewer.event(&request.source, record));
        }
        let has_next = records.peek().is_some();
        // With nothing more, the next poll starts at the snapshot time.
        let cursor = match last {
            Some(c) if has_next => c,
            _ => Cursor::at(snapshot),
        };
        (events, cursor, has_next)
    };
    let conn = hub.open_conn();
    let how = match events.last() {
        Some(e) if e["type"] == "error" => {
            format!("error:{}", e["error"]["code"].as_str().unwrap_or(""))
        }
        _ => format!("page:{}", events.len()),
    };
    hub.end_conn(conn, &how);
    let reads = events.len() as u64;
    let mut response = json_response(
        StatusCode::OK,
        json!({ "events": events, "cursor": cursor.encode(), "has_next": has_next, "stats": event_stats(reads) }),
    );
    response.extensions_mut().insert(Conn(conn));
    outcome.attach(response)
}
