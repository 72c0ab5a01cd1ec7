//! What `/stream/1` and `/feed/1` share: event sources and their tokens,
//! cursors, the history of writes they replay, and turning one write into an
//! `add` / `update` / `remove` event for a caller.
//!
//! Wire facts follow Fauna's open server (fauna/faunadb):
//! - tokens and cursors are opaque base64 strings; the server CBOR-encodes the
//!   source IR and a `(ts, ord)` cursor (ext/repo/src/main/scala/values/Value.scala,
//!   `Value.EventSource.Cursor`); here a CBOR array of unsigned ints;
//! - event JSON and stats (ext/model/src/main/scala/runtime/stream/Event.scala);
//! - which writes become events, and `eventsOn` filtering
//!   (ext/model/src/main/scala/runtime/stream/EventFilter.scala);
//! - a cursor older than the history kept gives `invalid_stream_start_time`
//!   (ext/model/src/main/scala/runtime/stream/EventReplayer.scala).

use super::fql::eval::{to_doc, Access, Evaluator};
use super::fql::value::Value;
use super::store::{Collection, StoredDoc};
use super::FaunaState;
use crate::util::{iso_time, now_micros};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::sync::watch;

/// `Value.EventSource.Cursor.MaxOrdinal`: a stream's `start_ts` skips every event of that transaction.
pub const MAX_ORDINAL: u64 = i32::MAX as u64;
/// `Feed.DefaultPageSize` / `Feed.MaxPageSize` (ValueSet.DefaultPageSize / MaximumElements).
pub const DEFAULT_PAGE_SIZE: i64 = 16;
pub const MAX_PAGE_SIZE: i64 = 16_000;
/// Records kept at most, whatever their age, so a busy test cannot grow memory without bound.
const MAX_RECORDS: usize = 100_000;

/// Timing and limits of streams; `[fauna.streams]` in the config, `POST /__admin/streams` at run time.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamSettings {
    /// Credential re-check while a stream is idle. The server re-validates on each
    /// internal idle notification, every minute (`Subscription.LogMetricsInterval`).
    pub idle_check_ms: u64,
    /// Status events on an idle stream (`Subscription.statusEventInterval`, 5 minutes).
    pub status_interval_ms: u64,
    /// How far back a cursor may point (`Collection.MVTOffset`, 15 minutes without `history_days`).
    pub history_ms: u64,
    /// Events a reconnect may replay before `stream_replay_volume_exceeded` (`stream_event_replay_limit`, 128).
    pub replay_limit: usize,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            idle_check_ms: 60_000,
            status_interval_ms: 300_000,
            history_ms: 900_000,
            replay_limit: 128,
        }
    }
}

impl StreamSettings {
    /// Refuses intervals so short that an idle stream would spin.
    pub fn validate(&self) -> Result<(), String> {
        if self.idle_check_ms < 10 || self.status_interval_ms < 10 {
            return Err("idle_check_ms and status_interval_ms must be at least 10".into());
        }
        Ok(())
    }
}

/// A position in the event history: transaction time (µs) and ordinal within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub ts: i64,
    pub ord: u64,
}

impl Cursor {
    pub fn at(ts: i64) -> Cursor {
        Cursor { ts, ord: 0 }
    }

    pub fn encode(&self) -> String {
        encode_uints(&[self.ts.max(0) as u64, self.ord])
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        match decode_uints(text)?.as_slice() {
            [ts, ord] => Some(Cursor {
                ts: i64::try_from(*ts).ok()?,
                ord: *ord,
            }),
            _ => None,
        }
    }
}

/// What an event source watches: `Todo.all()` narrowed by `.where()` predicates,
/// and for `.eventsOn(..)` the field paths whose changes count.
#[derive(Debug)]
pub struct SourceDef {
    pub filters: Vec<Value>,
    pub watched: Vec<Vec<String>>,
}

/// Event sources by id. Process-wide because the evaluator holds no handle on
/// the server; ids are never reused, so servers in one process cannot mix them up.
fn sources() -> MutexGuard<'static, Vec<Arc<SourceDef>>> {
    static SOURCES: OnceLock<Mutex<Vec<Arc<SourceDef>>>> = OnceLock::new();
    SOURCES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Registers a source created at `txn_ts` and returns its token.
pub fn register_source(def: SourceDef, txn_ts: i64) -> String {
    let mut all = sources();
    all.push(Arc::new(def));
    encode_uints(&[(all.len() - 1) as u64, txn_ts.max(0) as u64])
}

/// The source of a token and the time it was created.
pub fn source_of(token: &str) -> Option<(Arc<SourceDef>, i64)> {
    match decode_uints(token)?.as_slice() {
        [id, ts] => {
            let def = sources().get(usize::try_from(*id).ok()?)?.clone();
            Some((def, i64::try_from(*ts).ok()?))
        }
        _ => None,
    }
}

/// Base64 of a CBOR array of unsigned integers.
fn encode_uints(items: &[u64]) -> String {
    let mut out = vec![0x80 | items.len() as u8];
    for &n in items {
        match n {
            0..=23 => out.push(n as u8),
            24..=0xff => out.extend([0x18, n as u8]),
            0x100..=0xffff => {
                out.push(0x19);
                out.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0x1a);
                out.extend((n as u32).to_be_bytes());
            }
            _ => {
                out.push(0x1b);
                out.extend(n.to_be_bytes());
            }
        }
    }
    base64::engine::general_purpose::STANDARD.encode(out)
}

fn decode_uints(text: &str) -> Option<Vec<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    let (&head, mut rest) = bytes.split_first()?;
    if head & 0xe0 != 0x80 || head & 0x1f > 23 {
        return None;
    }
    let mut items = Vec::new();
    for _ in 0..(head & 0x1f) {
        let (&first, tail) = rest.split_first()?;
        let width = match first {
            0..=23 => 0,
            0x18 => 1,
            0x19 => 2,
            0x1a => 4,
            0x1b => 8,
            _ => return None,
        };
        if tail.len() < width {
            return None;
        }
        let n = if width == 0 {
            u64::from(first)
        } else {
            tail[..width]
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        };
        items.push(n);
        rest = &tail[width..];
    }
    rest.is_empty().then_some(items)
}

/// One document write, as committed.
#[derive(Debug, Clone)]
pub struct Record {
    seq: u64,
    db: String,
    pub cursor: Cursor,
    before: Option<StoredDoc>,
    after: Option<StoredDoc>,
}

#[derive(Default)]
struct History {
    records: VecDeque<Record>,
    next_seq: u64,
    /// Time of the newest record dropped; cursors at or before it cannot be replayed.
    pruned_ts: i64,
}

/// Streams' shared state inside the Fauna stand-in.
pub struct Hub {
    settings: Mutex<StreamSettings>,
    history: Mutex<History>,
    /// The newest record's `seq`; streams wait on it for new writes.
    seq: watch::Sender<u64>,
    /// How each stream or feed connection ended, by connection id (for the request log).
    ends: Mutex<HashMap<u64, String>>,
    next_conn: AtomicU64,
}

impl Hub {
    pub fn new(settings: StreamSettings) -> Hub {
        Hub {
            settings: Mutex::new(settings),
            history: Mutex::new(History {
                next_seq: 1,
                ..History::default()
            }),
            seq: watch::Sender::new(0),
            ends: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
        }
    }

    pub fn settings(&self) -> StreamSettings {
        lock(&self.settings).clone()
    }

    pub fn set_settings(&self, settings: StreamSettings) {
        *lock(&self.settings) = settings;
    }

    /// Records the writes of a committed transaction: every document that differs
    /// between `old` and `new`. Called under the store lock, so records arrive in
    /// transaction-time order.
    pub fn record(&self, db: &str, old: &Collection, new: &Collection, txn_ts: i64) {
        let mut ids: Vec<u64> = old.docs.keys().chain(new.docs.keys()).copied().collect();
        ids.sort_unstable();
        ids.dedup();
        let history_ms = self.settings().history_ms;
        let mut history = lock(&self.history);
        let mut ord = 0;
        for id in ids {
            let (before, after) = (old.docs.get(&id), new.docs.get(&id));
            if before == after {
                continue;
            }
            let seq = history.next_seq;
            history.next_seq += 1;
            history.records.push_back(Record {
                seq,
                db: db.to_owned(),
                cursor: Cursor { ts: txn_ts, ord },
                before: before.cloned(),
                after: after.cloned(),
            });
            ord += 1;
        }
        let horizon = now_micros() - (history_ms as i64).saturating_mul(1000);
        while let Some(front) = history.records.front() {
            if front.cursor.ts >= horizon && history.records.len() <= MAX_RECORDS {
                break;
            }
            history.pruned_ts = history.pruned_ts.max(front.cursor.ts);
            history.records.pop_front();
        }
        let last = history.next_seq - 1;
        drop(history);
        self.seq.send_replace(last);
    }

    /// Forgets all records (admin reset); older cursors then count as too old.
    pub fn reset(&self, last_ts: i64) {
        let mut history = lock(&self.history);
        history.records.clear();
        history.pruned_ts = history.pruned_ts.max(last_ts);
    }

    /// Wakes on every new record.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.seq.subscribe()
    }

    /// Records of `db` after `seq` and after `from`, and the newest `seq` seen.
    pub fn since(&self, db: &str, from: Cursor, seq: u64) -> (Vec<Record>, u64) {
        let history = lock(&self.history);
        // Records are in `seq` order: skip the ones seen without scanning them.
        let start = history.records.partition_point(|r| r.seq <= seq);
        let found = history
            .records
            .range(start..)
            .filter(|r| r.db == db && r.cursor > from)
            .cloned()
            .collect();
        (found, history.next_seq - 1)
    }

    /// Whether events after `cursor` are all still kept.
    pub fn can_replay(&self, cursor: Cursor) -> bool {
        let horizon = now_micros() - (self.settings().history_ms as i64).saturating_mul(1000);
        cursor.ts > lock(&self.history).pruned_ts && cursor.ts >= horizon
    }

    /// A new connection id, recorded as `open` until it ends.
    pub fn open_conn(&self) -> u64 {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&self.ends).insert(id, "open".into());
        id
    }

    pub fn end_conn(&self, id: u64, how: &str) {
        lock(&self.ends).insert(id, how.to_owned());
    }

    pub fn ended(&self, id: u64) -> Option<String> {
        lock(&self.ends).get(&id).cloned()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A transaction time after every committed write: taken under the store lock,
/// where writes get their times, so no write with an earlier time is still to come.
pub fn snapshot_ts(state: &FaunaState) -> i64 {
    let _store = state.lock_store();
    state.next_txn_ts()
}

/// The kind of a data event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Add,
    Update,
    Remove,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Add => "add",
            Kind::Update => "update",
            Kind::Remove => "remove",
        }
    }
}

/// Who receives events: their access to `Todo` and token payload (for predicates).
pub struct Viewer<'a> {
    pub access: &'a Access,
    pub token: Option<&'a Json>,
}

impl Viewer<'_> {
    fn can_read(&self, doc: &StoredDoc) -> bool {
        match self.access {
            Access::Admin => true,
            Access::Owner(sub) => doc.owner() == Some(sub.as_str()),
            Access::Nothing => false,
        }
    }

    /// Readable and passing every `.where()` predicate; a failing predicate counts as false.
    fn in_set(&self, def: &SourceDef, doc: &StoredDoc) -> bool {
        if !self.can_read(doc) {
            return false;
        }
        // Predicates see no other documents: they run on an empty scratch collection.
        let mut scratch = Collection::default();
        let mut ev = Evaluator {
            access: self.access,
            token: self.token,
            todos: &mut scratch,
            txn_ts: doc.ts,
            reads: 0,
            writes: 0,
            compute: 0,
        };
        def.filters
            .iter()
            .all(|f| ev.holds(f, doc).unwrap_or(false))
    }

    /// The event one write makes for this viewer, if any.
    pub fn event(&self, def: &SourceDef, record: &Record) -> Option<Json> {
        let (before, after) = (record.before.as_ref(), record.after.as_ref());
        if !def.watched.is_empty() {
            let keep = match (before, after) {
                (None, Some(doc)) | (Some(doc), None) => {
                    def.watched.iter().all(|p| path(doc, p).is_some())
                }
                (Some(b), Some(a)) => def.watched.iter().any(|p| path(b, p) != path(a, p)),
                (None, None) => false,
            };
            if !keep {
                return None;
            }
        }
        let was = before.is_some_and(|d| self.in_set(def, d));
        let is = after.is_some_and(|d| self.in_set(def, d));
        let (kind, doc) = match (was, is, before, after) {
            (false, true, _, Some(a)) => (Kind::Add, a),
            (true, true, _, Some(a)) => (Kind::Update, a),
            // Leaving the set: the new version if still readable, else the last one seen.
            (true, false, Some(b), a) => {
                (Kind::Remove, a.filter(|a| self.can_read(a)).unwrap_or(b))
            }
            _ => return None,
        };
        Some(data_event(kind, doc, record.cursor))
    }
}

fn path<'a>(doc: &'a StoredDoc, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut value = doc.fields.get(first)?;
    for name in rest {
        match value {
            Value::Object(obj) => value = obj.get(name)?,
            _ => return None,
        }
    }
    (!matches!(value, Value::Null)).then_some(value)
}

/// `stats` of an event (`Event.Metrics.encode`).
pub fn event_stats(read_ops: u64) -> Json {
    json!({
        "read_ops": read_ops,
        "storage_bytes_read": read_ops * 128,
        "compute_ops": 1,
        "processing_time_ms": 0,
        "rate_limits_hit": [],
    })
}

fn data_event(kind: Kind, doc: &StoredDoc, cursor: Cursor) -> Json {
    json!({
        "type": kind.as_str(),
        "data": to_doc(doc).encode(true),
        "txn_ts": cursor.ts,
        "cursor": cursor.encode(),
        "stats": event_stats(1),
    })
}

/// A status event; its cursor has ordinal 0, as `Event.Status` renders it.
pub fn status_event(ts: i64) -> Json {
    json!({ "type": "status", "txn_ts": ts, "cursor": Cursor::at(ts).encode(), "stats": event_stats(0) })
}

pub fn error_event(code: &str, message: &str) -> Json {
    json!({ "type": "error", "error": { "code": code, "message": message }, "stats": event_stats(0) })
}

/// The error event for a cursor older than the history kept.
pub fn too_old_event(cursor: Cursor) -> Json {
    error_event(
        "invalid_stream_start_time",
        &format!(
            "Stream start time {} is too far in the past. Recreate the stream and try again.",
            iso_time(cursor.ts)
        ),
    )
}

/// A parsed `/stream/1` or `/feed/1` body.
pub struct SourceRequest {
    pub source: Arc<SourceDef>,
    /// When the token was created; the default start.
    pub created: i64,
    pub cursor: Option<Cursor>,
    pub page_size: usize,
}

impl SourceRequest {
    pub fn start(&self) -> Cursor {
        self.cursor.unwrap_or(Cursor::at(self.created))
    }
}

/// Parses a body with the server's messages (StreamRequest.scala, FeedRequest.scala;
/// the feed's end in a period). The error is the `invalid_request` message.
pub fn parse_request(body: &[u8], feed: bool) -> Result<SourceRequest, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("No request body provided".into());
    }
    let dot = if feed { "." } else { "" };
    let invalid = |why: &str| format!("Invalid request body: {why}{dot}");
    let body: Json = serde_json::from_slice(body).map_err(|e| invalid(&e.to_string()))?;
    let Some(body) = body.as_object() else {
        return Err(invalid("expected a JSON object"));
    };
    let field = |name: &str| body.get(name).filter(|v| !v.is_null());
    let Some(token) = field("token") else {
        return Err(invalid("missing field `token`"));
    };
    let start_ts = match field("start_ts") {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| invalid("`start_ts` must be a long"))?,
        ),
    };
    let cursor = field("cursor");
    if start_ts.is_some() && cursor.is_some() {
        return Err(invalid("can not provide both `start_ts` and `cursor`"));
    }
    let (source, created) = token
        .as_str()
        .and_then(source_of)
        .ok_or_else(|| invalid("invalid event source provided"))?;
    let cursor = match cursor {
        Some(c) => Some(
            c.as_str()
                .and_then(Cursor::decode)
                .ok_or_else(|| invalid("invalid event cursor provided"))?,
        ),
        // A stream's start_ts skips that transaction's events; a feed's includes them.
        None => start_ts.map(|ts| Cursor {
            ts,
            ord: if feed { 0 } else { MAX_ORDINAL },
        }),
    };
    let mut page_size = DEFAULT_PAGE_SIZE;
    if feed {
        if let Some(v) = field("page_size") {
            page_size = v
                .as_i64()
                .ok_or_else(|| invalid("`page_size` must be an int"))?;
        }
        if page_size <= 0 {
            return Err(invalid("page size must be greater than zero"));
        }
        if page_size > MAX_PAGE_SIZE {
            return Err(invalid(&format!(
                "page size can not be greater than {MAX_PAGE_SIZE}"
            )));
        }
    }
    Ok(SourceRequest {
        source,
        created,
        cursor,
        page_size: page_size as usize,
    })
}

/// `GET|POST /__admin/streams`: the stream settings; a POST body changes the fields it names.
pub async fn admin_settings(
    axum::extract::State(state): axum::extract::State<Arc<FaunaState>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use crate::util::json_response;
    use axum::http::StatusCode;
    let mut settings = state.streams.settings();
    if !body.iter().all(u8::is_ascii_whitespace) {
        let merged =
            crate::util::parse_json::<serde_json::Map<String, Json>>(&body).and_then(|patch| {
                let mut current = serde_json::to_value(&settings).map_err(|e| e.to_string())?;
                for (k, v) in patch {
                    current[k] = v;
                }
                let next: StreamSettings =
                    serde_json::from_value(current).map_err(|e| e.to_string())?;
                next.validate()?;
                Ok(next)
            });
        match merged {
            Ok(next) => {
                state.streams.set_settings(next.clone());
                settings = next;
            }
            Err(e) => return json_response(StatusCode::BAD_REQUEST, json!({ "error": e })),
        }
    }
    json_response(StatusCode::OK, json!(settings))
}

/// Marks a stream or feed response with its connection id, for the request log.
#[derive(Debug, Clone, Copy)]
pub struct Conn(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_order() {
        for c in [
            Cursor::at(0),
            Cursor {
                ts: 1_700_000_000_000_000,
                ord: 3,
            },
            Cursor {
                ts: 300,
                ord: MAX_ORDINAL,
            },
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        assert!(Cursor { ts: 5, ord: 1 } > Cursor { ts: 5, ord: 0 });
        assert!(Cursor { ts: 6, ord: 0 } > Cursor { ts: 5, ord: 9 });
        assert_eq!(Cursor::decode("not base64!"), None);
        assert_eq!(Cursor::decode(&encode_uints(&[1, 2, 3])), None);
        assert_eq!(decode_uints("gQ=="), None, "truncated array");
    }

    #[test]
    fn request_bodies_are_checked_like_the_server() {
        let token = register_source(
            SourceDef {
                filters: vec![],
                watched: vec![],
            },
            1000,
        );
        let parse = |body: Json, feed| parse_request(body.to_string().as_bytes(), feed).err();
        assert_eq!(
            parse_request(b"  ", false).err().unwrap(),
            "No request body provided"
        );
        assert_eq!(
            parse(json!({"token": "x"}), false).unwrap(),
            "Invalid request body: invalid event source provided"
        );
        assert_eq!(
            parse(json!({"token": "x"}), true).unwrap(),
            "Invalid request body: invalid event source provided."
        );
        assert!(
            parse(json!({"token": token, "cursor": "x", "start_ts": 1}), false)
                .unwrap()
                .contains("both")
        );
        assert!(parse(json!({"token": token, "cursor": "x"}), false)
            .unwrap()
            .contains("invalid event cursor"));
        assert!(parse(json!({"token": token, "page_size": 0}), true)
            .unwrap()
            .contains("greater than zero"));
        assert!(parse(json!({"token": token, "page_size": 16001}), true)
            .unwrap()
            .contains("16000"));
        let ok = parse_request(
            json!({"token": token, "start_ts": 2000})
                .to_string()
                .as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(
            (ok.created, ok.start()),
            (
                1000,
                Cursor {
                    ts: 2000,
                    ord: MAX_ORDINAL
                }
            )
        );
        let feed = parse_request(json!({"token": token}).to_string().as_bytes(), true).unwrap();
        assert_eq!((feed.start(), feed.page_size), (Cursor::at(1000), 16));
    }
}
