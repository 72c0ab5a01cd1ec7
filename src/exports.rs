//! The WebAssembly module's exports, as `ts/core.ts` declares them: plain
//! data in and out, synchronous, each a thin call into the core. Token
//! stores and option sets live here under numeric ids; the typed layer
//! holds the ids. A call that fails answers with a value that says so
//! (`false`, `undefined`, 0, `Next.Fail`, `Outcome.Fail`) and leaves the
//! core's error as JSON text for `lastError()`: nothing is thrown (no error
//! becomes a JS value in the module).
//!
//! A store id the module does not know (dropped, or never made) answers
//! with nothing: empty arrays, `undefined`, and `storeComplete`
//! fails with `cleared`. An unknown option set fails with `invalid_option`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::prelude::*;

use crate::core::classify::{next_step, Api, Reply, Step};
use crate::core::error::{Error, ErrorCode};
use crate::core::freshness::FreshnessPolicy;
use crate::core::jwt::{self, Json};
use crate::core::options::RawQueryOptions;
use crate::core::options::{Format, QueryOptions};
use crate::core::request;
use crate::core::stream::{
    Action, Input, Machine, Options, Start, TokenDemand, DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BACKOFF_MS,
};
use crate::core::token_store::{
    cleared, Completion, Demand, EntryKey, FlightId, Lookup, TokenFailure, TokenStore,
};

/// Items under ids that are never reused, so a stale id finds nothing.
struct Slab<T> {
    last_id: u32,
    items: Vec<(u32, T)>,
}

impl<T> Slab<T> {
    const fn new() -> Self {
        Slab {
            last_id: 0,
            items: Vec::new(),
        }
    }

    fn insert(&mut self, item: T) -> u32 {
        self.last_id += 1;
        self.items.push((self.last_id, item));
        self.last_id
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.items
            .iter_mut()
            .find(|(i, _)| *i == id)
            .map(|(_, item)| item)
    }

    fn remove(&mut self, id: u32) {
        if let Some(at) = self.items.iter().position(|(i, _)| *i == id) {
            self.items.swap_remove(at);
        }
    }
}

// A flight's handle is its id as the number the typed layer receives.
type Store = TokenStore<f64>;

thread_local! {
    // Each store with the organization its entries are for (a TokenCache has one).
    static STORES: RefCell<Slab<(Store, Option<String>)>> = const { RefCell::new(Slab::new()) };
    // Shared, so that a request borrows its option set instead of copying
    // it (a copy per query cost about 2 µs).
    static OPTIONS: RefCell<Slab<Rc<QueryOptions>>> = const { RefCell::new(Slab::new()) };
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` on store `id`; `None` for an unknown id.
fn with_store<R>(id: u32, f: impl FnOnce(&mut Store) -> R) -> Option<R> {
    STORES.with(|stores| stores.borrow_mut().get_mut(id).map(|(store, _)| f(store)))
}

/// Runs `f` on store `id` and the key of its entry `template`; `None` for
/// an unknown id.
fn with_entry<R>(
    id: u32,
    template: String,
    f: impl FnOnce(&mut Store, &EntryKey) -> R,
) -> Option<R> {
    STORES.with(|stores| {
        let mut stores = stores.borrow_mut();
        let (store, organization_id) = stores.get_mut(id)?;
        Some(f(store, &entry_key(template, organization_id)))
    })
}

// Not inlined: one copy of the clone instead of one per export.
#[inline(never)]
fn entry_key(template: String, organization_id: &Option<String>) -> EntryKey {
    EntryKey {
        template,
        organization_id: organization_id.clone(),
    }
}

/// Options set `id` (0: the defaults).
fn options(id: u32) -> Result<Rc<QueryOptions>, Error> {
    if id == 0 {
        return Ok(Rc::default());
    }
    OPTIONS
        .with(|all| all.borrow_mut().get_mut(id).cloned())
        .ok_or_else(|| Error::invalid_option("Unknown option set."))
}

/// `answer`'s value, or `None` with its error kept for `lastError()`.
fn kept<T>(answer: Result<T, Error>) -> Option<T> {
    answer.map_err(|e| set_last_error(&e)).ok()
}

/// The platform's JSON reader for the core's JWT decoding: UTF-8 checked
/// here, then `JSON.parse`, then the members asked for (see
/// `core::jwt::ReadJsonObject`).
fn read_json_object(json: &[u8], names: &[&str]) -> Option<Vec<Option<Json>>> {
    let object = JSON::parse(std::str::from_utf8(json).ok()?).ok()?;
    if !object.is_object() || Array::is_array(&object) {
        return None;
    }
    let mut members = Vec::with_capacity(names.len());
    let object = Object::from(object);
    for name in names {
        let name = JsValue::from_str(name);
        // Own members only: a claim the token lacks is not borrowed from a
        // polluted Object.prototype.
        let v = match Object::has_own(&object, &name) {
            true => Reflect::get(&object, &name).ok()?,
            false => JsValue::UNDEFINED,
        };
        members.push(if v.is_undefined() {
            None
        } else if let Some(n) = v.as_f64() {
            Some(Json::Number(n))
        } else if let Some(s) = v.as_string() {
            Some(Json::String(s))
        } else if Array::is_array(&v) {
            // A cast, not `Array::from` (a call of JS `Array.from`, a copy).
            Some(strings(v.unchecked_ref()).map_or(Json::Other, Json::Strings))
        } else {
            Some(Json::Other)
        });
    }
    Some(members)
}

/// The items of `array`, if all are strings.
fn strings(array: &Array) -> Option<Vec<String>> {
    let mut items = Vec::new();
    for i in 0..array.length() {
        items.push(array.get(i).as_string()?);
    }
    Some(items)
}

/// A decoded segment as text (the reader has checked it is UTF-8 JSON).
fn text(json: &[u8]) -> &str {
    std::str::from_utf8(json).unwrap_or_default()
}

// ---- token stores ----

/// A new token store for `organization_id`'s tokens; its id.
#[wasm_bindgen(js_name = storeNew)]
pub fn store_new(
    refresh_ahead_seconds: Option<f64>,
    min_validity_seconds: Option<f64>,
    organization_id: Option<String>,
) -> u32 {
    // The policy alone: the cache's other options stay in the typed layer.
    let defaults = FreshnessPolicy::default();
    let policy = FreshnessPolicy {
        refresh_ahead_ms: refresh_ahead_seconds.map_or(defaults.refresh_ahead_ms, |s| s * 1000.0),
        min_validity_ms: min_validity_seconds.map_or(defaults.min_validity_ms, |s| s * 1000.0),
    };
    let store = TokenStore::new(policy, read_json_object);
    STORES.with(|stores| stores.borrow_mut().insert((store, organization_id)))
}

/// Forgets the store and every token in it.
#[wasm_bindgen(js_name = storeDrop)]
pub fn store_drop(store: u32) {
    STORES.with(|stores| stores.borrow_mut().remove(store));
}

/// `[action, flight, startedNew, forced, servableUntil, epoch]` for a caller
/// of the entry (see ts/core.ts).
#[wasm_bindgen(js_name = storeLookup)]
pub fn store_lookup(
    store: u32,
    template: String,
    demand: u32,
    rejected: Option<String>,
    now: f64,
    seen: f64,
) -> Vec<f64> {
    let demand = match (demand, rejected.as_deref()) {
        (2, Some(rejected)) => Demand::Replacing(rejected),
        (1 | 2, _) => Demand::Forced,
        _ => Demand::Ordinary,
    };
    with_entry(store, template, |s, key| {
        // 0: no hit served without asking since the last call.
        if seen > 0.0 {
            s.observe(seen);
        }
        let mut started = None;
        let lookup = s.lookup(key, demand, now, |id, forced| {
            started = Some(forced);
            id as f64
        });
        let (action, flight, until) = match lookup {
            Lookup::Hit(_) => (0, 0.0, s.servable_until(key, now)),
            Lookup::HitAndRefresh(_, id) => (1, id, s.servable_until(key, now)),
            Lookup::Wait(id) => (2, id, -1.0),
        };
        vec![
            f64::from(action),
            flight,
            f64::from(u8::from(started.is_some())),
            f64::from(u8::from(started == Some(true))),
            until,
            s.epoch() as f64,
        ]
    })
    .unwrap_or_default()
}

/// The entry's cached token: if it is usable at `now`, or usable or not
/// when `now` is NaN.
#[wasm_bindgen(js_name = storeToken)]
pub fn store_token(store: u32, template: String, now: f64) -> Option<String> {
    let token = with_entry(store, template, |s, key| match now.is_nan() {
        true => s.cached(key).map(|c| c.token.clone()),
        false => s.peek(key, now),
    });
    token.flatten().map(|t| String::from(&*t))
}

/// Records how a flight ended: `[outcome, epoch, servableUntil,
/// ...staleFlights]`; a failure's error is then `lastError()`.
#[wasm_bindgen(js_name = storeComplete)]
pub fn store_complete(
    store: u32,
    template: String,
    flight: f64,
    token: Option<String>,
    failure: u32,
    now: f64,
) -> Vec<f64> {
    let outcome = match (failure, token.as_deref()) {
        (0, Some(token)) => Ok(token),
        (0 | 4, _) => Err(TokenFailure::NotAString),
        (1, _) => Err(TokenFailure::SignedOut),
        (3, _) => Err(TokenFailure::TimedOut),
        (5, _) => Err(TokenFailure::Cleared),
        _ => Err(TokenFailure::Threw),
    };
    let answer = with_entry(store, template, |s, key| {
        let epoch = s.epoch();
        let completion = s.complete(key, flight as FlightId, now, outcome);
        let mut stale = if s.epoch() != epoch {
            s.drain_stale()
        } else {
            Vec::new()
        };
        let (outcome, until) = match completion {
            Completion::Deliver(delivered) => {
                let given = token.as_deref() == Some(&*delivered);
                (if given { 0 } else { 3 }, s.servable_until(key, now))
            }
            Completion::Fail(error) => {
                set_last_error(&error);
                (1, -1.0)
            }
            Completion::RetryForced => (2, -1.0),
        };
        let mut answer = vec![f64::from(outcome), s.epoch() as f64, until];
        answer.append(&mut stale);
        answer
    });
    answer.unwrap_or_else(|| {
        set_last_error(&cleared());
        vec![1.0, 0.0, -1.0]
    })
}

fn set_last_error(error: &Error) {
    LAST_ERROR.with(|last| *last.borrow_mut() = error.to_json());
}

/// The error of the last call that failed, as JSON.
#[wasm_bindgen(js_name = lastError)]
pub fn last_error() -> String {
    LAST_ERROR.with(|last| last.borrow().clone())
}

/// Drops every token: `[epoch, ...flights]`, the flights to end with `cleared`.
#[wasm_bindgen(js_name = storeClear)]
pub fn store_clear(store: u32) -> Vec<f64> {
    with_store(store, |s| {
        let mut flights = s.clear();
        let mut answer = vec![s.epoch() as f64];
        answer.append(&mut flights);
        answer
    })
    .unwrap_or_default()
}

/// Drops one entry's token.
#[wasm_bindgen(js_name = storeInvalidate)]
pub fn store_invalidate(store: u32, template: String) {
    with_entry(store, template, |s, key| s.invalidate(key));
}

/// The cached token's payload as JSON text.
#[wasm_bindgen(js_name = storeClaims)]
pub fn store_claims(store: u32, template: String) -> Option<String> {
    with_entry(store, template, |s, key| {
        s.cached(key).map(|c| text(&c.decoded.payload_json).into())
    })
    .flatten()
}

/// `[hits, misses, joins, refreshes, failures]`.
#[wasm_bindgen(js_name = storeStats)]
pub fn store_stats(store: u32) -> Vec<f64> {
    with_store(store, |s| {
        let s = s.stats();
        vec![
            s.hits as f64,
            s.misses as f64,
            s.joins as f64,
            s.refreshes as f64,
            s.failures as f64,
        ]
    })
    .unwrap_or_default()
}

// ---- JWTs ----

/// `header JSON \0 payload JSON \0 ignored time claim`; fails with
/// `malformed_token`.
#[wasm_bindgen(js_name = jwtDecode)]
pub fn jwt_decode(token: &str, as_fauna: bool) -> Option<String> {
    let decoded = kept(if as_fauna {
        jwt::decode_as_fauna(token, read_json_object)
    } else {
        jwt::decode(token, read_json_object)
    })?;
    Some(
        [
            text(&decoded.header_json),
            "\0",
            text(&decoded.payload_json),
            "\0",
            decoded.ignored_time_claim.unwrap_or(""),
        ]
        .concat(),
    )
}

// ---- requests ----

/// An option set: `base`'s (0: the defaults) with these overrides; its id,
/// or 0 when it fails with `invalid_option`. A number NaN is not given;
/// `typecheck` and `linearized` are 0 or 1; `query_tags` is
/// `key\0value\0...` (empty: none).
#[wasm_bindgen(js_name = optionsNew)]
#[allow(clippy::too_many_arguments)]
pub fn options_new(
    base: u32,
    endpoint: Option<String>,
    graphql_endpoint: Option<String>,
    format: Option<String>,
    query_timeout_ms: f64,
    max_attempts: f64,
    max_backoff_ms: f64,
    typecheck: f64,
    linearized: f64,
    max_contention_retries: f64,
    query_tags: Option<String>,
    traceparent: Option<String>,
) -> u32 {
    let Some(format) = kept(format.map(|name| Format::named(&name)).transpose()) else {
        return 0;
    };
    let given = |n: f64| (!n.is_nan()).then_some(n);
    // Whole numbers in range, checked by the typed layer.
    let whole = |n: f64| given(n).map(|n| n as u32);
    let flag = |n: f64| given(n).map(|n| n != 0.0);
    let raw = RawQueryOptions {
        endpoint,
        graphql_endpoint,
        format,
        query_timeout_ms: whole(query_timeout_ms),
        max_attempts: whole(max_attempts),
        max_backoff_ms: given(max_backoff_ms),
        typecheck: flag(typecheck),
        linearized: flag(linearized),
        max_contention_retries: whole(max_contention_retries),
        query_tags,
        traceparent,
    };
    kept(options(base).and_then(|o| o.merged(raw))).map_or(0, |merged| {
        OPTIONS.with(|all| all.borrow_mut().insert(Rc::new(merged)))
    })
}

/// Forgets an option set.
#[wasm_bindgen(js_name = optionsDrop)]
pub fn options_drop(options: u32) {
    OPTIONS.with(|all| all.borrow_mut().remove(options));
}

/// How long a request with option set `id` may take (NaN: no such set).
#[wasm_bindgen(js_name = optionsDeadline)]
pub fn options_deadline(id: u32) -> f64 {
    options(id).map_or(f64::NAN, |o| o.deadline_ms())
}

fn api(api: u32) -> Api {
    match api {
        1 => Api::V4,
        2 => Api::GraphQl,
        _ => Api::V10,
    }
}

/// `url \n name \n value \n ... \n\n body`, every header but
/// `Authorization`; fails with `invalid_option` for an unknown option set.
#[wasm_bindgen]
pub fn request(
    options: u32,
    api: u32,
    last_txn_ts: Option<f64>,
    text: &str,
    json: Option<String>,
) -> Option<String> {
    let o = kept(self::options(options))?;
    let json = json.as_deref();
    Some(match self::api(api) {
        Api::V10 => request::v10_query(&o, last_txn_ts, text, json),
        Api::V4 => request::v4_query(&o, last_txn_ts, text),
        Api::GraphQl => request::graphql(&o, text, json),
    })
}

/// What an answer means: -1 done, -2 refresh the token, -3 the call fails
/// (with `lastError()`), else a wait in ms.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn judge(
    options: u32,
    api: u32,
    status: u16,
    is_json_object: bool,
    has_result: bool,
    error_code: Option<String>,
    error_message: Option<String>,
    has_graphql_errors: bool,
    retry_after: Option<String>,
    attempt: u32,
    refreshed: bool,
    random: f64,
) -> f64 {
    let reply = Reply {
        status,
        is_json_object,
        has_result,
        error_code,
        error_message,
        has_graphql_errors,
        retry_after,
    };
    let step = self::options(options)
        .and_then(|o| next_step(self::api(api), &reply, attempt, refreshed, random, &o));
    match kept(step) {
        Some(Step::Done) => -1.0,
        Some(Step::Refresh) => -2.0,
        Some(Step::Wait(ms)) => ms,
        None => -3.0,
    }
}

// ---- event streams and feeds ----

thread_local! {
    // Streams and feeds, under one id space.
    static MACHINES: RefCell<Slab<Machine>> = const { RefCell::new(Slab::new()) };
}

/// A new stream (`feed` false) or feed; its id, or 0 when it fails with
/// `invalid_option`. `cursor` and `start_ts` (NaN: none) are exclusive;
/// `page_size` 0: the server's; `max_attempts`, `max_backoff_ms` NaN: the
/// defaults.
#[wasm_bindgen(js_name = streamNew)]
#[allow(clippy::too_many_arguments)]
pub fn stream_new(
    feed: bool,
    source: String,
    cursor: Option<String>,
    start_ts: f64,
    status_events: bool,
    page_size: f64,
    max_attempts: f64,
    max_backoff_ms: f64,
    epoch: f64,
    seed: f64,
) -> u32 {
    let start = match (cursor, start_ts.is_nan()) {
        (Some(c), true) => Start::Cursor(c),
        (None, true) => Start::Created,
        (None, false) => Start::Ts(start_ts as i64),
        (Some(_), false) => {
            set_last_error(&Error::invalid_option(
                "cursor and startTs cannot both be given.",
            ));
            return 0;
        }
    };
    // NaN: the default.
    let max_attempts = match max_attempts.is_nan() {
        true => DEFAULT_MAX_ATTEMPTS,
        false => max_attempts as u32,
    };
    let max_backoff_ms = match max_backoff_ms.is_nan() {
        true => DEFAULT_MAX_BACKOFF_MS,
        false => max_backoff_ms,
    };
    let options = Options {
        start,
        status_events,
        page_size: (page_size > 0.0).then_some(page_size as u32),
        max_attempts,
        max_backoff_ms,
        ..Options::new(source, epoch as u64, seed as u64)
    };
    let machine = match feed {
        true => Machine::feed(options),
        false => Machine::stream(options),
    };
    kept(machine).map_or(0, |m| MACHINES.with(|all| all.borrow_mut().insert(m)))
}

/// Forgets a stream or feed.
#[wasm_bindgen(js_name = streamDrop)]
pub fn stream_drop(id: u32) {
    MACHINES.with(|all| all.borrow_mut().remove(id));
}

/// An action as a number: a wait in ms (>= 0) or one of ts/core.ts's
/// `Step`s; an `End`'s error is kept for `lastError()`.
fn step(action: Action) -> f64 {
    match action {
        Action::GetToken(TokenDemand::Ordinary) => -1.0,
        Action::GetToken(TokenDemand::Replacing) => -2.0,
        Action::Connect => -3.0,
        Action::Deliver => -4.0,
        Action::Ignore => -5.0,
        Action::Wait(ms) => ms,
        Action::End(None) => -6.0,
        Action::End(Some(e)) => {
            set_last_error(&e);
            -7.0
        }
    }
}

/// A token failure's code, as the token cache gave it.
fn token_error(code: &str, message: &str) -> Error {
    Error::new(
        ErrorCode::parse(code).unwrap_or(ErrorCode::InvalidOption),
        message,
    )
}

/// Reports `input` (a ts/core.ts `Input`) to stream `id`; answers the next
/// step. `Start` comes first (get a token); an unknown id ends (`cleared`).
/// `a`, `b`, `c`, `n`, `flag` by input: `Token`/`Epoch` n = epoch;
/// `TokenFailed` a = code, b = message; `Refused` n = status, flag = a JSON
/// object, a = error code, b = message, c = Retry-After; `Event` a = type,
/// n = txn_ts (NaN: none), b = cursor; `ErrorEvent` a = code, b = message;
/// `Page` b = cursor, flag = has_next.
#[wasm_bindgen(js_name = streamOn)]
#[allow(clippy::too_many_arguments)]
pub fn stream_on(
    id: u32,
    input: u32,
    a: Option<String>,
    b: Option<String>,
    n: f64,
    flag: bool,
    c: Option<String>,
) -> f64 {
    // The strings stay in a `Reply` whatever the input, borrowed from there
    // by the others: one owner for every input, so one call of the machine.
    let reply = Reply {
        status: n as u16,
        is_json_object: flag,
        error_code: a,
        error_message: b,
        retry_after: c,
        ..Reply::default()
    };
    let a = reply.error_code.as_deref();
    let b = reply.error_message.as_deref();
    let failure;
    let input = match input {
        13 => Input::Start,
        0 => Input::Token { epoch: n as u64 },
        1 => {
            failure = token_error(a.unwrap_or(""), b.unwrap_or(""));
            Input::TokenFailed(&failure)
        }
        2 => Input::Opened,
        3 => Input::Refused(&reply),
        4 => Input::Event {
            kind: a.unwrap_or(""),
            txn_ts: (!n.is_nan()).then_some(n as i64),
            cursor: b,
        },
        5 => Input::ErrorEvent {
            code: a.unwrap_or(""),
            message: b.unwrap_or(""),
        },
        6 => Input::Dropped,
        7 => Input::BodyEnded,
        8 => Input::WaitOver,
        9 => Input::Epoch(n as u64),
        10 => Input::Close,
        11 => Input::Page {
            cursor: b,
            has_next: flag,
        },
        _ => Input::Next,
    };
    step(
        MACHINES
            .with(|all| all.borrow_mut().get_mut(id).map(|m| m.on(input)))
            .unwrap_or_else(|| Action::End(Some(cleared()))),
    )
}

/// With `body`, the body of the request of stream `id`'s `Connect` step;
/// else where it would resume: its `cursor`. One export for both: each
/// string answer costs its own glue.
#[wasm_bindgen(js_name = streamText)]
pub fn stream_text(id: u32, body: bool) -> Option<String> {
    MACHINES.with(|all| {
        let mut all = all.borrow_mut();
        let machine = all.get_mut(id)?;
        match body {
            true => Some(machine.body()),
            false => machine.cursor().map(String::from),
        }
    })
}
