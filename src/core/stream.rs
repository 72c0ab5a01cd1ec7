//! Fauna event streams and feeds that outlive a 60 s Clerk token, as pure
//! state machines: the typed layer reports what happened ([`Input`]) and
//! carries out what they answer ([`Action`]). No I/O, no timers, no clock:
//! jitter comes from a seed the layer passes once.
//!
//! Resume and duplicates, from Fauna's server (fauna/faunadb,
//! `Value.EventSource.Cursor`, `EventReplayer`, `Subscription`): a cursor is
//! `(txn_ts, ordinal)`, opaque on the wire; a connection from cursor `c`
//! starts with a status event at `c`'s `txn_ts` (ordinal 0), then replays the
//! events after `c`, in order. A status event sent later, on an idle tick,
//! comes after every event up to its `txn_ts`: the server keeps its interval
//! (5 min) below the history it keeps (15 min without `history_days`) so that
//! an idle stream can resume from it, and the `fauna` driver does. So the
//! resume cursor is the last data event delivered, or a later idle status
//! event; never the status event a connection opens with, which repeats the
//! start. Duplicates are recognised by `txn_ts` (non-decreasing in a stream)
//! and, within one transaction, by cursor.

use super::backoff::backoff_ms;
use super::classify::{classify, Api, Reply, Verdict};
use super::error::{Error, ErrorCode};
use super::request::push_json_string;
use super::text;

/// Consecutive failed attempts before a stream or feed gives up: with the
/// default backoff cap, about a minute of outage on average (two at most).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// The longest wait between attempts (the `fauna` driver's `max_backoff`).
pub const DEFAULT_MAX_BACKOFF_MS: f64 = 20_000.0;
/// `/feed/1`'s largest `page_size` (the server's `Feed.MaxPageSize`).
pub const MAX_PAGE_SIZE: u32 = 16_000;

/// Where the first connection or page starts. Later ones start where the
/// last one left off.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    /// Where the event source's token was created (the server's default).
    Created,
    /// After this cursor (the caller's `cursor` option, or a resume point).
    Cursor(String),
    /// After this transaction time, in microseconds (`startTs`): a stream
    /// skips that transaction's events, a feed includes them.
    Ts(i64),
}

/// Which token the next connection needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenDemand {
    /// Any usable token from the cache.
    Ordinary,
    /// Fauna refused the token last sent: anything but it (the token cache's
    /// `Demand::Replacing`), fresh from Clerk.
    Replacing,
}

/// What the layer does next. An action other than `Deliver` and `Ignore`
/// means the connection it holds, if any, is over: abort it and report
/// nothing more from it.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Get a token, then report [`Input::Token`] (or [`Input::TokenFailed`]).
    GetToken(TokenDemand),
    /// `POST {endpoint}/stream/1` (or `/feed/1`) with the token just got and
    /// [`Machine::body`]; then report how it answered.
    Connect,
    /// Hand the event (or page) just reported to the caller.
    Deliver,
    /// Nothing to do: a duplicate, a status event the caller did not ask
    /// for, or an input that came too late to matter.
    Ignore,
    /// Wait this many milliseconds, then report [`Input::WaitOver`].
    Wait(f64),
    /// Stop: abort what is in flight and end the iteration, with this error
    /// or (`None`) cleanly.
    End(Option<Error>),
}

/// What happened, as the layer saw it. Strings are borrowed: the machine
/// copies only the cursors it keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input<'a> {
    /// The first input: get a token (later ones are ignored).
    Start,
    /// The token asked for is here; `epoch` is the token cache's epoch now.
    Token { epoch: u64 },
    /// No token: `getToken` resolved `null` (`signed_out`), threw
    /// (`token_unavailable`), timed out, or the cache was cleared.
    TokenFailed(&'a Error),
    /// The connection answered 200: its body is being read.
    Opened,
    /// The connection answered anything else: its status and error body.
    Refused(&'a Reply),
    /// A line of the body: `kind` is its `type`, for every type but `error`.
    Event {
        kind: &'a str,
        txn_ts: Option<i64>,
        cursor: Option<&'a str>,
    },
    /// A line `{"type":"error","error":{code,message}}`.
    ErrorEvent { code: &'a str, message: &'a str },
    /// The connection failed (refused, reset, a read error).
    Dropped,
    /// The body ended without an error event.
    BodyEnded,
    /// The wait asked for is over.
    WaitOver,
    /// The token cache's epoch, whenever the layer learns it: a change means
    /// a sign-out, `clear()` or another user.
    Epoch(u64),
    /// The caller's `close()`.
    Close,
    /// A feed's page arrived: its `cursor` and `has_next` (its events go to
    /// the caller with [`Action::Deliver`]).
    Page {
        cursor: Option<&'a str>,
        has_next: bool,
    },
    /// The caller wants a feed's next page.
    Next,
}

/// A stream's or feed's options, checked by [`Machine::stream`] and
/// [`Machine::feed`].
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The event source's token (`{"@stream": ...}`'s string).
    pub source: String,
    pub start: Start,
    /// A stream's: deliver status events to the caller too.
    pub status_events: bool,
    /// A feed's: events a page holds at most (1 to 16000); `None`: the
    /// server's 16.
    pub page_size: Option<u32>,
    pub max_attempts: u32,
    pub max_backoff_ms: f64,
    /// The token cache's epoch when the stream or feed was made: it is never
    /// resumed in another.
    pub epoch: u64,
    /// Seeds the jitter (`Math.random() * 2**32` in the layer).
    pub seed: u64,
}

impl Options {
    pub fn new(source: String, epoch: u64, seed: u64) -> Self {
        Options {
            source,
            start: Start::Created,
            status_events: false,
            page_size: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_backoff_ms: DEFAULT_MAX_BACKOFF_MS,
            epoch,
            seed,
        }
    }
}

/// What the machine waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// `start()` not called yet.
    New,
    Token,
    Connecting,
    /// A stream's body is being read.
    Open,
    /// A feed's page was delivered; the caller has not asked for the next.
    Paused,
    Waiting,
    Ended,
}

/// The part of a stream and a feed that is the same: tokens, epochs,
/// failed attempts and their backoff, `close()`.
#[derive(Clone, Debug)]
struct Link {
    phase: Phase,
    /// The event source's token.
    source: String,
    /// Where the next connection or page starts.
    resume: Start,
    epoch: u64,
    /// The demand of the token asked for or last sent, and of the next one
    /// after a wait.
    demand: TokenDemand,
    /// Failed attempts since the last success.
    failures: u32,
    max_attempts: u32,
    max_backoff_ms: f64,
    /// A connection or page has succeeded: before that, a refused fresh
    /// token is a setup error and ends at once.
    ever_ok: bool,
    /// xorshift64* state; never 0.
    rng: u64,
}

impl Link {
    fn new(options: Options) -> Result<Self, Error> {
        let Options {
            source,
            start: resume,
            max_attempts,
            max_backoff_ms,
            epoch,
            seed,
            ..
        } = options;
        if source.is_empty() {
            return Err(Error::invalid_option("The event source token is empty."));
        }
        if max_attempts == 0 {
            return Err(Error::invalid_option("maxAttempts must be at least 1."));
        }
        if max_backoff_ms.is_nan() || max_backoff_ms < 0.0 {
            return Err(Error::invalid_option("maxBackoffMs must be 0 or more."));
        }
        Ok(Link {
            phase: Phase::New,
            source,
            resume,
            epoch,
            demand: TokenDemand::Ordinary,
            failures: 0,
            max_attempts,
            max_backoff_ms,
            ever_ok: false,
            rng: seed | 1 << 63,
        })
    }

    /// In `[0, 1)`.
    fn random(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn cursor(&self) -> Option<&str> {
        match &self.resume {
            Start::Cursor(c) => Some(c),
            _ => None,
        }
    }

    /// The next connection or page starts after `cursor`.
    fn resume_after(&mut self, cursor: &str) {
        self.resume = Start::Cursor(cursor.to_owned());
    }

    /// The token is here: send the request.
    fn connect(&mut self) -> Action {
        self.phase = Phase::Connecting;
        Action::Connect
    }

    fn get_token(&mut self, demand: TokenDemand) -> Action {
        self.phase = Phase::Token;
        self.demand = demand;
        Action::GetToken(demand)
    }

    fn end(&mut self, error: Option<Error>) -> Action {
        self.phase = Phase::Ended;
        Action::End(error)
    }

    fn succeeded(&mut self) {
        self.failures = 0;
        self.demand = TokenDemand::Ordinary;
        self.ever_ok = true;
    }

    /// A failed attempt: wait (`asked_ms`, or the backoff) and try again
    /// with a token of `demand`, or give up once `max_attempts` failed in a
    /// row.
    fn fail(&mut self, error: Error, asked_ms: Option<f64>, demand: TokenDemand) -> Action {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.max_attempts {
            let attempts = text::uint(self.failures.into());
            let hint = ["Gave up after ", &attempts, " failed attempts in a row."].concat();
            // A hint the error brought (the token cache's) says more.
            let error = match error.hint {
                Some(_) => error,
                None => error.with_hint(hint),
            };
            return self.end(Some(error));
        }
        let random = self.random();
        self.demand = demand;
        self.phase = Phase::Waiting;
        Action::Wait(match asked_ms {
            Some(ms) => ms.clamp(0.0, self.max_backoff_ms),
            None => backoff_ms(self.failures, random, self.max_backoff_ms),
        })
    }

    /// What every machine does alike with `input`; `None`: the machine's own
    /// business.
    fn common(&mut self, input: &Input<'_>) -> Option<Action> {
        use Input::*;
        Some(match (self.phase, input) {
            (Phase::Ended, _) => Action::Ignore,
            (Phase::New, Input::Start) => self.get_token(TokenDemand::Ordinary),
            (_, Close) => self.end(None),
            (_, Epoch(epoch)) | (Phase::Token, Token { epoch }) if *epoch != self.epoch => {
                self.end(Some(cleared()))
            }
            (_, Epoch(_)) => Action::Ignore,
            // A sign-out the token cache learned of (whoever asked), or the
            // client freed: no token will come, whatever the stream is doing.
            (_, TokenFailed(e)) if matches!(e.code, ErrorCode::SignedOut | ErrorCode::Freed) => {
                self.end(Some((*e).clone()))
            }
            (Phase::Token, TokenFailed(e)) => match e.code {
                // Offline or slow: worth another try later.
                ErrorCode::TokenUnavailable | ErrorCode::TokenTimeout => {
                    self.fail((*e).clone(), None, self.demand)
                }
                _ => self.end(Some((*e).clone())),
            },
            (Phase::Connecting, Refused(reply)) => self.refused(reply),
            (Phase::Connecting, Dropped) => self.fail(
                network("The connection to Fauna failed."),
                None,
                TokenDemand::Ordinary,
            ),
            (Phase::Waiting, WaitOver) => self.get_token(self.demand),
            (Phase::Token, Token { .. })
            | (Phase::Connecting, _)
            | (Phase::Open, _)
            | (Phase::Paused, Next) => return None,
            _ => Action::Ignore,
        })
    }

    fn refused(&mut self, reply: &Reply) -> Action {
        match classify(Api::V10, reply) {
            Verdict::Unauthorized => {
                let error = Error::new(
                    ErrorCode::Unauthorized,
                    "Fauna refused the token, even after a refresh.",
                )
                .with_status(reply.status)
                .with_fauna_code(reply.error_code.clone());
                match self.demand {
                    // A token refused for the first time is replaced at once.
                    TokenDemand::Ordinary => self.get_token(TokenDemand::Replacing),
                    // Refused although fresh: before any success, a setup
                    // error (issuer, audience, keys); later, maybe a clock
                    // or key rotation that passes.
                    TokenDemand::Replacing if !self.ever_ok => self.end(Some(error)),
                    TokenDemand::Replacing => self.fail(error, None, TokenDemand::Replacing),
                }
            }
            Verdict::Throttled { retry_after_ms } => self.fail(
                Error::new(ErrorCode::Throttled, "Fauna kept throttling the requests.")
                    .with_status(reply.status),
                retry_after_ms,
                TokenDemand::Ordinary,
            ),
            // The body is the event source and its cursor: every 400 is
            // about them (a token or cursor that does not parse, one older
            // than the source, a source the user may no longer read).
            Verdict::Failed(e) if reply.status == 400 => self.end(Some(Error {
                code: ErrorCode::QueryFailed,
                ..e
            })),
            Verdict::Failed(e) if retryable(e.code) => self.fail(e, None, TokenDemand::Ordinary),
            Verdict::Failed(e) => self.end(Some(e)),
            Verdict::Success => self.end(Some(Error::new(
                ErrorCode::ProtocolError,
                "Fauna's answer was neither events nor an error.",
            ))),
        }
    }
}

/// The last transaction whose events reached the caller: which of them
/// did, or all of them.
#[derive(Clone, Debug, PartialEq)]
struct Delivered {
    txn_ts: i64,
    /// Cursors delivered at `txn_ts`, unless `whole`.
    cursors: Vec<String>,
    /// Every event at `txn_ts` counts as delivered (an idle status event or
    /// `start_ts` vouched for them).
    whole: bool,
}

impl Delivered {
    fn has(&self, txn_ts: i64, cursor: &str) -> bool {
        txn_ts < self.txn_ts
            || (txn_ts == self.txn_ts && (self.whole || self.cursors.iter().any(|c| c == cursor)))
    }
}

/// An event stream or feed: its connection's [`Link`], and what only a
/// stream or only a feed keeps. One type for both, so that the exports hold
/// one kind of machine.
#[derive(Clone, Debug)]
pub struct Machine {
    link: Link,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Stream(Stream),
    Feed(Feed),
}

impl Machine {
    /// One event stream: when to (re)connect, from where, with which token;
    /// which events reach the caller; and how it ends.
    pub fn stream(options: Options) -> Result<Self, Error> {
        // `start_ts` skips its transaction: all of it counts as delivered.
        let delivered = match options.start {
            Start::Ts(ts) => Some(Delivered {
                txn_ts: ts,
                cursors: Vec::new(),
                whole: true,
            }),
            _ => None,
        };
        let stream = Stream {
            status_events: options.status_events,
            delivered,
            caller_ts: None,
            opened_at: None,
        };
        Machine::new(options, Kind::Stream(stream))
    }

    /// One event feed, page by page: which cursor and page size each
    /// request carries, which token, and when it is over.
    pub fn feed(options: Options) -> Result<Self, Error> {
        if options
            .page_size
            .is_some_and(|n| n == 0 || n > MAX_PAGE_SIZE)
        {
            return Err(Error::invalid_option("pageSize must be from 1 to 16000."));
        }
        let feed = Feed {
            page_size: options.page_size,
            has_next: true,
        };
        Machine::new(options, Kind::Feed(feed))
    }

    fn new(options: Options, kind: Kind) -> Result<Self, Error> {
        Ok(Machine {
            link: Link::new(options)?,
            kind,
        })
    }

    /// The first action: get a token.
    pub fn start(&mut self) -> Action {
        self.on(Input::Start)
    }

    /// Where a reconnection (or a later stream or feed) would start now: the
    /// last event's or page's cursor, the `cursor` the caller sees.
    pub fn cursor(&self) -> Option<&str> {
        self.link.cursor()
    }

    /// The body of the request [`Action::Connect`] asks for, from where the
    /// next connection or page starts: asked for when that action comes,
    /// before any other input.
    pub fn body(&self) -> String {
        let page_size = match &self.kind {
            Kind::Feed(f) => f.page_size,
            Kind::Stream(_) => None,
        };
        source_body(&self.link.source, &self.link.resume, page_size)
    }

    /// Decides what `input` means, in the phase the machine is in. A feed's
    /// page is [`Input::Page`], or [`Input::ErrorEvent`] when its events
    /// hold an error event; after a delivered page, [`Input::Next`] asks for
    /// the next one.
    pub fn on(&mut self, input: Input<'_>) -> Action {
        if let Some(action) = self.link.common(&input) {
            return action;
        }
        let link = &mut self.link;
        match &mut self.kind {
            Kind::Stream(s) => s.on(link, input),
            Kind::Feed(f) => f.on(link, input),
        }
    }
}

/// What only a stream keeps: which events reached the caller.
#[derive(Clone, Debug)]
struct Stream {
    status_events: bool,
    delivered: Option<Delivered>,
    /// The `txn_ts` of the last event handed to the caller, status or data.
    caller_ts: Option<i64>,
    /// The open connection's first status event's `txn_ts`: where it started.
    opened_at: Option<i64>,
}

impl Stream {
    /// What `input` means to a stream, in the phase it is in.
    fn on(&mut self, link: &mut Link, input: Input<'_>) -> Action {
        match input {
            Input::Token { .. } if link.phase == Phase::Token => {
                self.opened_at = None;
                link.connect()
            }
            Input::Opened if link.phase == Phase::Connecting => {
                link.phase = Phase::Open;
                Action::Ignore
            }
            Input::Dropped if link.phase == Phase::Open => link.fail(
                network("The stream's connection to Fauna failed."),
                None,
                TokenDemand::Ordinary,
            ),
            Input::BodyEnded if link.phase == Phase::Open => link.fail(
                network("The stream's response ended without an error event."),
                None,
                TokenDemand::Ordinary,
            ),
            Input::Event {
                kind,
                txn_ts,
                cursor,
            } if link.phase == Phase::Open => self.event(link, kind, txn_ts, cursor),
            Input::ErrorEvent { code, message } if link.phase == Phase::Open => {
                Self::error_event(link, code, message)
            }
            _ => Action::Ignore,
        }
    }

    fn event(
        &mut self,
        link: &mut Link,
        kind: &str,
        txn_ts: Option<i64>,
        cursor: Option<&str>,
    ) -> Action {
        let data = matches!(kind, "add" | "update" | "remove");
        // Early Fauna versions called the status event `start`.
        let status = matches!(kind, "status" | "start");
        if !data && !status {
            return Action::Ignore;
        }
        let (Some(txn_ts), Some(cursor)) = (txn_ts, cursor) else {
            return link.end(Some(protocol("A stream event has no txn_ts or cursor.")));
        };
        if status {
            return self.status(link, txn_ts, cursor);
        }
        if self.opened_at.is_none() {
            return link.end(Some(protocol(
                "The stream sent an event before its status event.",
            )));
        }
        if self
            .delivered
            .as_ref()
            .is_some_and(|d| d.has(txn_ts, cursor))
        {
            return Action::Ignore;
        }
        let delivered = match &mut self.delivered {
            Some(d) if d.txn_ts == txn_ts => d,
            d => d.insert(Delivered {
                txn_ts,
                cursors: Vec::new(),
                whole: false,
            }),
        };
        delivered.cursors.push(cursor.to_owned());
        link.resume_after(cursor);
        self.caller_ts = Some(txn_ts);
        Action::Deliver
    }

    fn status(&mut self, link: &mut Link, txn_ts: i64, cursor: &str) -> Action {
        let later = |ts: Option<i64>| ts.is_none_or(|ts| txn_ts > ts);
        match self.opened_at {
            // The connection's first status event repeats where it started:
            // the connection is up.
            None => {
                self.opened_at = Some(txn_ts);
                let reconnected = link.ever_ok;
                link.succeeded();
                if reconnected {
                    return Action::Ignore;
                }
            }
            // An idle tick: every event up to `txn_ts` was sent before it.
            Some(start) if txn_ts > start && later(self.delivered.as_ref().map(|d| d.txn_ts)) => {
                link.resume_after(cursor);
                self.delivered = Some(Delivered {
                    txn_ts,
                    cursors: Vec::new(),
                    whole: true,
                });
            }
            Some(_) => {}
        }
        if self.status_events && later(self.caller_ts) {
            self.caller_ts = Some(txn_ts);
            Action::Deliver
        } else {
            Action::Ignore
        }
    }

    fn error_event(link: &mut Link, code: &str, message: &str) -> Action {
        if code == "permission_loss" {
            // The token expired: the normal end of a connection, not a failure.
            return link.get_token(TokenDemand::Replacing);
        }
        link.end(Some(fauna_error(code, message)))
    }
}

/// What only a feed keeps: its page size, and whether more pages wait.
#[derive(Clone, Debug)]
struct Feed {
    page_size: Option<u32>,
    /// The last page said more events are waiting.
    has_next: bool,
}

impl Feed {
    /// What `input` means to a feed, in the phase it is in.
    fn on(&mut self, link: &mut Link, input: Input<'_>) -> Action {
        match input {
            Input::Token { .. } if link.phase == Phase::Token => link.connect(),
            Input::Page { cursor, has_next } if link.phase == Phase::Connecting => {
                let Some(cursor) = cursor else {
                    return link.end(Some(protocol("A feed page has no cursor.")));
                };
                link.succeeded();
                link.resume_after(cursor);
                self.has_next = has_next;
                link.phase = Phase::Paused;
                Action::Deliver
            }
            Input::ErrorEvent { code, message } if link.phase == Phase::Connecting => {
                link.end(Some(fauna_error(code, message)))
            }
            Input::Next if self.has_next => link.get_token(TokenDemand::Ordinary),
            Input::Next => link.end(None),
            _ => Action::Ignore,
        }
    }
}

/// Failures that another attempt may not meet.
fn retryable(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ServiceError | ErrorCode::Timeout | ErrorCode::NetworkError
    )
}

fn network(message: &str) -> Error {
    Error::new(ErrorCode::NetworkError, message)
}

fn protocol(message: &str) -> Error {
    Error::new(ErrorCode::ProtocolError, message)
}

/// An error event: Fauna's code, as `query_failed`.
fn fauna_error(code: &str, message: &str) -> Error {
    Error::new(
        ErrorCode::QueryFailed,
        ["Fauna ended the events with an error: ", message].concat(),
    )
    .with_fauna_code(Some(code.to_owned()))
}

fn cleared() -> Error {
    Error::new(
        ErrorCode::Cleared,
        "The user signed out or changed, or the token cache was cleared.",
    )
}

/// A `/stream/1` or `/feed/1` body: `{"token", "cursor" | "start_ts",
/// "page_size"?}`.
pub fn source_body(source: &str, start: &Start, page_size: Option<u32>) -> String {
    let mut body = String::from(r#"{"token":"#);
    push_json_string(&mut body, source);
    match start {
        Start::Created => {}
        Start::Cursor(c) => {
            body.push_str(r#","cursor":"#);
            push_json_string(&mut body, c);
        }
        Start::Ts(ts) => {
            body.push_str(r#","start_ts":"#);
            body.push_str(&text::int(*ts));
        }
    }
    if let Some(n) = page_size {
        body.push_str(r#","page_size":"#);
        body.push_str(&text::uint(n.into()));
    }
    body.push('}');
    body
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub fn data<'a>(txn_ts: i64, cursor: &'a str) -> Input<'a> {
        Input::Event {
            kind: "add",
            txn_ts: Some(txn_ts),
            cursor: Some(cursor),
        }
    }

    pub fn status<'a>(txn_ts: i64, cursor: &'a str) -> Input<'a> {
        Input::Event {
            kind: "status",
            txn_ts: Some(txn_ts),
            cursor: Some(cursor),
        }
    }

    fn reply(status: u16, code: &str) -> Reply {
        Reply {
            status,
            is_json_object: true,
            error_code: Some(code.into()),
            error_message: Some("refused".into()),
            ..Reply::default()
        }
    }

    fn new_stream(start: Start, status_events: bool) -> Machine {
        let mut o = Options::new("S".into(), 7, 42);
        o.start = start;
        o.status_events = status_events;
        Machine::stream(o).unwrap()
    }

    /// Token, connection, its status event at `ts`: the answer to that.
    fn connect(s: &mut Machine, ts: i64) -> Action {
        assert_eq!(s.on(Input::Token { epoch: 7 }), Action::Connect);
        assert_eq!(s.body(), source_body("S", &s.link.resume, None));
        assert_eq!(s.on(Input::Opened), Action::Ignore);
        s.on(status(ts, "s"))
    }

    /// The body of the connection `a` asks `s` to make.
    fn connect_body(s: &Machine, a: &Action) -> String {
        match a {
            Action::Connect => s.body(),
            other => panic!("expected a connection, got {other:?}"),
        }
    }

    fn ended(a: Action) -> Error {
        match a {
            Action::End(Some(e)) => e,
            other => panic!("expected an error end, got {other:?}"),
        }
    }

    fn wait(a: Action) -> f64 {
        match a {
            Action::Wait(ms) => ms,
            other => panic!("expected a wait, got {other:?}"),
        }
    }

    /// A stream that delivered `c1` and `c2` (both at 10).
    fn streaming() -> Machine {
        let mut s = new_stream(Start::Created, false);
        assert_eq!(s.start(), Action::GetToken(TokenDemand::Ordinary));
        assert_eq!(connect(&mut s, 5), Action::Ignore);
        assert_eq!(s.on(data(10, "c1")), Action::Deliver);
        assert_eq!(s.on(data(10, "c2")), Action::Deliver);
        assert_eq!(s.cursor(), Some("c2"));
        s
    }

    #[test]
    fn first_connection_uses_the_callers_start() {
        let body = |start| {
            let mut s = new_stream(start, false);
            s.start();
            let a = s.on(Input::Token { epoch: 7 });
            connect_body(&s, &a)
        };
        assert_eq!(body(Start::Created), r#"{"token":"S"}"#);
        assert_eq!(
            body(Start::Cursor("c\"0".into())),
            r#"{"token":"S","cursor":"c\"0"}"#
        );
        assert_eq!(body(Start::Ts(-5)), r#"{"token":"S","start_ts":-5}"#);
        assert_eq!(
            source_body("S", &Start::Ts(1_700_000_000_000_000), Some(16)),
            r#"{"token":"S","start_ts":1700000000000000,"page_size":16}"#
        );
    }

    #[test]
    fn options_are_checked() {
        let mut o = Options::new("S".into(), 0, 0);
        o.max_attempts = 0;
        assert_eq!(
            Machine::stream(o).unwrap_err().code,
            ErrorCode::InvalidOption
        );
        let mut o = Options::new("S".into(), 0, 0);
        o.max_backoff_ms = f64::NAN;
        assert_eq!(
            Machine::stream(o).unwrap_err().code,
            ErrorCode::InvalidOption
        );
        assert!(Machine::stream(Options::new(String::new(), 0, 0)).is_err());
        for bad in [0, MAX_PAGE_SIZE + 1] {
            let mut o = Options::new("S".into(), 0, 0);
            o.page_size = Some(bad);
            assert_eq!(Machine::feed(o).unwrap_err().code, ErrorCode::InvalidOption);
        }
    }

    // The fault matrix of issue #12, one test a row.

    #[test]
    fn drop_mid_stream_resumes_from_the_last_cursor() {
        for drop in [Input::Dropped, Input::BodyEnded] {
            let mut s = streaming();
            let ms = wait(s.on(drop));
            assert!((0.0..=1000.0).contains(&ms), "{ms}");
            assert_eq!(
                s.on(Input::WaitOver),
                Action::GetToken(TokenDemand::Ordinary)
            );
            let c = s.on(Input::Token { epoch: 7 });
            assert_eq!(connect_body(&s, &c), r#"{"token":"S","cursor":"c2"}"#);
            s.on(Input::Opened);
            // The reconnection's status event is not shown, nor a replayed event.
            assert_eq!(s.on(status(10, "s10")), Action::Ignore);
            assert_eq!(s.on(data(10, "c2")), Action::Ignore);
            assert_eq!(s.on(data(10, "c3")), Action::Deliver);
            assert_eq!(s.cursor(), Some("c3"));
        }
    }

    #[test]
    fn permission_loss_reconnects_at_once_with_another_token() {
        let mut s = streaming();
        let a = s.on(Input::ErrorEvent {
            code: "permission_loss",
            message: "Machine authentication is no longer valid.",
        });
        assert_eq!(a, Action::GetToken(TokenDemand::Replacing));
        // The old body's end, reported late, changes nothing.
        assert_eq!(s.on(Input::BodyEnded), Action::Ignore);
        let c = s.on(Input::Token { epoch: 7 });
        assert_eq!(connect_body(&s, &c), r#"{"token":"S","cursor":"c2"}"#);
        s.on(Input::Opened);
        assert_eq!(s.on(status(10, "s10")), Action::Ignore);
        assert_eq!(s.on(data(11, "c3")), Action::Deliver);
    }

    #[test]
    fn unauthorized_on_reconnect_replaces_the_token() {
        // After a drop: the ordinary token is refused, replaced at once.
        let mut s = streaming();
        wait(s.on(Input::Dropped));
        s.on(Input::WaitOver);
        s.on(Input::Token { epoch: 7 });
        let refused = reply(401, "unauthorized");
        assert_eq!(
            s.on(Input::Refused(&refused)),
            Action::GetToken(TokenDemand::Replacing)
        );
        assert_eq!(connect(&mut s, 10), Action::Ignore);
        assert_eq!(s.on(data(11, "c3")), Action::Deliver);

        // After permission_loss: the replacement is refused too (a key
        // rotation, a clock): wait, replace again, go on.
        s.on(Input::ErrorEvent {
            code: "permission_loss",
            message: "",
        });
        s.on(Input::Token { epoch: 7 });
        let ms = wait(s.on(Input::Refused(&refused)));
        assert!((0.0..=1000.0).contains(&ms));
        assert_eq!(
            s.on(Input::WaitOver),
            Action::GetToken(TokenDemand::Replacing)
        );
        assert_eq!(connect(&mut s, 11), Action::Ignore);
        assert_eq!(s.on(data(12, "c4")), Action::Deliver);
    }

    #[test]
    fn unauthorized_twice_before_any_success_ends_the_stream() {
        let mut s = new_stream(Start::Created, false);
        s.start();
        s.on(Input::Token { epoch: 7 });
        let refused = reply(401, "unauthorized");
        assert_eq!(
            s.on(Input::Refused(&refused)),
            Action::GetToken(TokenDemand::Replacing)
        );
        s.on(Input::Token { epoch: 7 });
        let e = ended(s.on(Input::Refused(&refused)));
        assert_eq!(
            (e.code, e.http_status),
            (ErrorCode::Unauthorized, Some(401))
        );
        assert_eq!(s.on(Input::Close), Action::Ignore);
    }

    #[test]
    fn an_error_event_ends_with_faunas_code() {
        for code in [
            "invalid_stream_start_time",
            "stream_replay_volume_exceeded",
            "internal_error",
        ] {
            let mut s = streaming();
            let e = ended(s.on(Input::ErrorEvent {
                code,
                message: "Recreate the stream and try again.",
            }));
            assert_eq!(e.code, ErrorCode::QueryFailed);
            assert_eq!(e.fauna_code.as_deref(), Some(code));
            assert_eq!(s.on(data(12, "c9")), Action::Ignore);
        }
        // Refused at connect: a bad cursor or source is Fauna's 400.
        let mut s = new_stream(Start::Cursor("bad".into()), false);
        s.start();
        s.on(Input::Token { epoch: 7 });
        let e = ended(s.on(Input::Refused(&reply(400, "invalid_request"))));
        assert_eq!(
            (e.code, e.fauna_code.as_deref(), e.http_status),
            (ErrorCode::QueryFailed, Some("invalid_request"), Some(400))
        );
        // A 403 is not the source's fault.
        let mut s = new_stream(Start::Created, false);
        s.start();
        s.on(Input::Token { epoch: 7 });
        let e = ended(s.on(Input::Refused(&reply(403, "forbidden"))));
        assert_eq!(e.code, ErrorCode::Forbidden);
    }

    #[test]
    fn sign_out_mid_stream_ends_with_signed_out() {
        let mut s = streaming();
        s.on(Input::ErrorEvent {
            code: "permission_loss",
            message: "",
        });
        let out = Error::new(ErrorCode::SignedOut, "getToken resolved null.");
        assert_eq!(s.on(Input::TokenFailed(&out)), Action::End(Some(out)));
        assert_eq!(s.on(Input::Token { epoch: 7 }), Action::Ignore);
    }

    #[test]
    fn a_sign_out_learned_elsewhere_or_a_free_ends_an_open_or_waiting_stream() {
        let out = Error::new(ErrorCode::SignedOut, "getToken resolved null.");
        let mut s = streaming();
        assert_eq!(
            s.on(Input::TokenFailed(&out)),
            Action::End(Some(out.clone()))
        );
        let mut s = streaming();
        wait(s.on(Input::Dropped));
        assert_eq!(
            s.on(Input::TokenFailed(&out)),
            Action::End(Some(out.clone()))
        );
        // Other token failures outside a token request are stale: ignored.
        let mut s = streaming();
        let offline = Error::new(ErrorCode::TokenUnavailable, "getToken threw.");
        assert_eq!(s.on(Input::TokenFailed(&offline)), Action::Ignore);
        assert_eq!(s.on(data(11, "c3")), Action::Deliver);
        let mut f = new_feed(None);
        f.start();
        f.on(Input::Token { epoch: 7 });
        f.on(Input::Page {
            cursor: Some("p1"),
            has_next: true,
        });
        assert_eq!(
            ended(f.on(Input::TokenFailed(&out))).code,
            ErrorCode::SignedOut
        );
        // The client freed: the same, at once.
        let freed = Error::new(ErrorCode::Freed, "freed");
        let mut s = streaming();
        assert_eq!(s.on(Input::TokenFailed(&freed)), Action::End(Some(freed)));
    }

    #[test]
    fn user_switch_mid_stream_ends_with_cleared() {
        // Learned while events flow.
        let mut s = streaming();
        assert_eq!(s.on(Input::Epoch(7)), Action::Ignore);
        assert_eq!(ended(s.on(Input::Epoch(8))).code, ErrorCode::Cleared);
        assert_eq!(s.on(data(11, "c3")), Action::Ignore);
        // Learned with the next token: never connected as the other user.
        let mut s = streaming();
        s.on(Input::ErrorEvent {
            code: "permission_loss",
            message: "",
        });
        assert_eq!(
            ended(s.on(Input::Token { epoch: 8 })).code,
            ErrorCode::Cleared
        );
        // Or said by the token source.
        let mut s = streaming();
        wait(s.on(Input::Dropped));
        s.on(Input::WaitOver);
        let cleared = cleared();
        assert_eq!(
            s.on(Input::TokenFailed(&cleared)),
            Action::End(Some(cleared))
        );
    }

    #[test]
    fn close_ends_cleanly_whatever_is_in_flight() {
        // During a reconnection's wait.
        let mut s = streaming();
        wait(s.on(Input::Dropped));
        assert_eq!(s.on(Input::Close), Action::End(None));
        assert_eq!(s.on(Input::WaitOver), Action::Ignore);
        // During a connection in flight, and while waiting for a token.
        let mut s = streaming();
        s.on(Input::ErrorEvent {
            code: "permission_loss",
            message: "",
        });
        assert_eq!(s.on(Input::Close), Action::End(None));
        assert_eq!(s.on(Input::Token { epoch: 7 }), Action::Ignore);
        let mut s = new_stream(Start::Created, false);
        s.start();
        s.on(Input::Token { epoch: 7 });
        assert_eq!(s.on(Input::Close), Action::End(None));
        assert_eq!(s.on(Input::Opened), Action::Ignore);
        assert_eq!(s.on(Input::Close), Action::Ignore);
        // While events flow, and before it started.
        let mut s = streaming();
        assert_eq!(s.on(Input::Close), Action::End(None));
        let mut s = new_stream(Start::Created, false);
        assert_eq!(s.on(Input::Close), Action::End(None));
        assert_eq!(s.start(), Action::Ignore);
    }

    #[test]
    fn repeated_failures_back_off_then_give_up() {
        let cases = [
            (Input::Dropped, ErrorCode::NetworkError),
            (
                Input::Refused(&reply(503, "internal_error")),
                ErrorCode::ServiceError,
            ),
            (
                Input::Refused(&reply(502, "bad_gateway")),
                ErrorCode::ServiceError,
            ),
            (
                Input::Refused(&reply(429, "limit_exceeded")),
                ErrorCode::Throttled,
            ),
        ];
        for (failure, code) in cases {
            let mut s = streaming();
            wait(s.on(Input::Dropped));
            for attempt in 2..DEFAULT_MAX_ATTEMPTS + 1 {
                assert_eq!(
                    s.on(Input::WaitOver),
                    Action::GetToken(TokenDemand::Ordinary)
                );
                s.on(Input::Token { epoch: 7 });
                let a = s.on(failure);
                if attempt == DEFAULT_MAX_ATTEMPTS {
                    let e = ended(a);
                    assert_eq!(e.code, code);
                    assert_eq!(
                        e.hint.as_deref(),
                        Some("Gave up after 10 failed attempts in a row.")
                    );
                } else {
                    let cap = (1000.0 * 2f64.powi(attempt as i32 - 1)).min(DEFAULT_MAX_BACKOFF_MS);
                    let ms = wait(a);
                    assert!((0.0..=cap).contains(&ms), "{attempt}: {ms}");
                }
            }
        }
    }

    #[test]
    fn a_status_event_resets_the_failures() {
        let mut s = streaming();
        for _ in 0..DEFAULT_MAX_ATTEMPTS - 1 {
            wait(s.on(Input::Dropped));
            s.on(Input::WaitOver);
            s.on(Input::Token { epoch: 7 });
        }
        s.on(Input::Opened);
        s.on(status(10, "s10"));
        // Nine failures, then a good connection: the next drop is the first.
        let ms = wait(s.on(Input::Dropped));
        assert!(ms <= 1000.0);
    }

    #[test]
    fn token_failures_retry_when_they_may_pass() {
        let mut s = streaming();
        wait(s.on(Input::Dropped));
        s.on(Input::WaitOver);
        let offline = Error::new(ErrorCode::TokenUnavailable, "getToken threw.");
        wait(s.on(Input::TokenFailed(&offline)));
        assert_eq!(
            s.on(Input::WaitOver),
            Action::GetToken(TokenDemand::Ordinary)
        );
        let bad = Error::new(ErrorCode::MalformedToken, "Not a JWT.");
        assert_eq!(
            ended(s.on(Input::TokenFailed(&bad))).code,
            ErrorCode::MalformedToken
        );
    }

    #[test]
    fn idle_status_events_move_the_resume_cursor_and_the_opening_one_does_not() {
        let mut s = new_stream(Start::Cursor("c0".into()), true);
        s.start();
        // Shown: the caller asked for status events.
        assert_eq!(connect(&mut s, 5), Action::Deliver);
        assert_eq!(s.cursor(), Some("c0"));
        assert_eq!(s.on(data(10, "c1")), Action::Deliver);
        // An idle tick before any later event: 5 min later, nothing new.
        assert_eq!(s.on(status(10, "s10")), Action::Ignore);
        assert_eq!(s.cursor(), Some("c1"));
        assert_eq!(s.on(status(20, "s20")), Action::Deliver);
        assert_eq!(s.cursor(), Some("s20"));
        // Resumed from it: everything up to 20 is old, even a cursor unseen.
        s.on(Input::Dropped);
        s.on(Input::WaitOver);
        let c = s.on(Input::Token { epoch: 7 });
        assert_eq!(connect_body(&s, &c), r#"{"token":"S","cursor":"s20"}"#);
        s.on(Input::Opened);
        assert_eq!(s.on(status(20, "s20")), Action::Ignore);
        assert_eq!(s.on(data(20, "c9")), Action::Ignore);
        assert_eq!(s.on(data(21, "c2")), Action::Deliver);
    }

    #[test]
    fn start_ts_skips_its_transaction_and_same_ts_events_are_told_apart_by_cursor() {
        let mut s = new_stream(Start::Ts(10), false);
        s.start();
        connect(&mut s, 10);
        assert_eq!(s.on(data(10, "a")), Action::Ignore);
        assert_eq!(s.on(data(11, "b")), Action::Deliver);
        assert_eq!(s.on(data(11, "c")), Action::Deliver);
        assert_eq!(s.on(data(11, "b")), Action::Ignore);
        assert_eq!(s.on(data(9, "z")), Action::Ignore);
    }

    #[test]
    fn odd_events_are_ignored_or_refused() {
        let mut s = streaming();
        let other = Input::Event {
            kind: "future_kind",
            txn_ts: None,
            cursor: None,
        };
        assert_eq!(s.on(other), Action::Ignore);
        let start = Input::Event {
            kind: "start",
            txn_ts: Some(30),
            cursor: Some("s30"),
        };
        assert_eq!(s.on(start), Action::Ignore);
        assert_eq!(s.cursor(), Some("s30"));
        let broken = Input::Event {
            kind: "update",
            txn_ts: Some(40),
            cursor: None,
        };
        assert_eq!(ended(s.on(broken)).code, ErrorCode::ProtocolError);

        let mut s = new_stream(Start::Created, false);
        s.start();
        s.on(Input::Token { epoch: 7 });
        s.on(Input::Opened);
        assert_eq!(ended(s.on(data(1, "x"))).code, ErrorCode::ProtocolError);
    }

    fn new_feed(page_size: Option<u32>) -> Machine {
        let mut o = Options::new("S".into(), 7, 1);
        o.start = Start::Ts(3);
        o.page_size = page_size;
        Machine::feed(o).unwrap()
    }

    #[test]
    fn a_feed_pages_until_has_next_is_false() {
        let mut f = new_feed(Some(2));
        assert_eq!(f.start(), Action::GetToken(TokenDemand::Ordinary));
        let c = f.on(Input::Token { epoch: 7 });
        assert_eq!(
            connect_body(&f, &c),
            r#"{"token":"S","start_ts":3,"page_size":2}"#
        );
        let page = |cursor, has_next| Input::Page {
            cursor: Some(cursor),
            has_next,
        };
        assert_eq!(f.on(page("p1", true)), Action::Deliver);
        assert_eq!(f.cursor(), Some("p1"));
        // Nothing more until the caller asks.
        assert_eq!(f.on(Input::WaitOver), Action::Ignore);
        assert_eq!(f.on(Input::Next), Action::GetToken(TokenDemand::Ordinary));
        let c = f.on(Input::Token { epoch: 7 });
        assert_eq!(
            connect_body(&f, &c),
            r#"{"token":"S","cursor":"p1","page_size":2}"#
        );
        assert_eq!(f.on(page("p2", false)), Action::Deliver);
        assert_eq!(f.on(Input::Next), Action::End(None));
        assert_eq!(f.on(Input::Close), Action::Ignore);
    }

    #[test]
    fn a_feed_page_refused_gets_another_token_or_ends() {
        let refused = reply(401, "unauthorized");
        let mut f = new_feed(None);
        f.start();
        f.on(Input::Token { epoch: 7 });
        assert_eq!(
            f.on(Input::Refused(&refused)),
            Action::GetToken(TokenDemand::Replacing)
        );
        let c = f.on(Input::Token { epoch: 7 });
        assert_eq!(connect_body(&f, &c), r#"{"token":"S","start_ts":3}"#);
        assert_eq!(
            ended(f.on(Input::Refused(&refused))).code,
            ErrorCode::Unauthorized
        );

        // A network failure or 5xx is retried: reading a page is idempotent.
        let mut f = new_feed(None);
        f.start();
        f.on(Input::Token { epoch: 7 });
        wait(f.on(Input::Dropped));
        assert_eq!(
            f.on(Input::WaitOver),
            Action::GetToken(TokenDemand::Ordinary)
        );
        f.on(Input::Token { epoch: 7 });
        wait(f.on(Input::Refused(&reply(503, "time_out"))));

        // An error event in the page: Fauna's code.
        let mut f = new_feed(None);
        f.start();
        f.on(Input::Token { epoch: 7 });
        let e = ended(f.on(Input::ErrorEvent {
            code: "invalid_stream_start_time",
            message: "too far in the past",
        }));
        assert_eq!(
            (e.code, e.fauna_code.as_deref()),
            (ErrorCode::QueryFailed, Some("invalid_stream_start_time"))
        );

        // Signed out, switched user, closed.
        let mut f = new_feed(None);
        f.start();
        let out = Error::new(ErrorCode::SignedOut, "null");
        assert_eq!(
            ended(f.on(Input::TokenFailed(&out))).code,
            ErrorCode::SignedOut
        );
        let mut f = new_feed(None);
        f.start();
        assert_eq!(
            ended(f.on(Input::Token { epoch: 9 })).code,
            ErrorCode::Cleared
        );
        let mut f = new_feed(None);
        f.start();
        f.on(Input::Token { epoch: 7 });
        assert_eq!(f.on(Input::Close), Action::End(None));
    }

    #[test]
    fn jitter_is_in_range_and_seeded() {
        for seed in [0, 1, u64::MAX, 42] {
            let mut l = Link::new(Options {
                max_attempts: 3,
                max_backoff_ms: 1.0,
                ..Options::new("S".into(), 0, seed)
            })
            .unwrap();
            let a: Vec<f64> = (0..100).map(|_| l.random()).collect();
            assert!(a.iter().all(|r| (0.0..1.0).contains(r)));
            let mut l = Link::new(Options {
                max_attempts: 3,
                max_backoff_ms: 1.0,
                ..Options::new("S".into(), 0, seed)
            })
            .unwrap();
            assert!(a.iter().all(|&r| r == l.random()));
        }
    }
}
