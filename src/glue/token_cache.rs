//! `TokenCache`: the JS face of [`TokenStore`]. A `getToken` call in flight
//! is run by `flows.js` (`startFlight`), which reports back through a
//! [`FlightTicket`]; the store decides everything.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;

use super::errors::{self, Extras};
use super::js::{self, Options};
use crate::core::options::{check_template, CacheOptions, RawCacheOptions};
use crate::core::token_store::{
    Completion, Demand, EntryKey, FlightId, Lookup, TokenFailure, TokenStore,
};

#[wasm_bindgen(module = "/src/glue/flows.js")]
extern "C" {
    /// `{ promise, cancel }` of a new getToken call.
    type JsFlight;
    #[wasm_bindgen(js_name = startFlight)]
    fn start_flight(
        ticket: FlightTicket,
        get_token: &Function,
        timeout_ms: f64,
        forced: bool,
    ) -> JsFlight;
    #[wasm_bindgen(method, getter)]
    fn promise(this: &JsFlight) -> Promise;
    #[wasm_bindgen(method, getter)]
    fn cancel(this: &JsFlight) -> Function;
}

#[wasm_bindgen]
extern "C" {
    /// The constructor's options, typed in types.d.ts.
    #[wasm_bindgen(typescript_type = "TokenCacheOptions")]
    pub type TokenCacheOptions;
}

/// One `getToken` call in flight, as the store keeps it: the promise its
/// waiters share, and how to cancel it.
#[derive(Clone)]
pub(crate) struct Flight {
    promise: Promise,
    cancel: Function,
}

pub(crate) struct CacheInner {
    get_token: Function,
    options: CacheOptions,
    /// The entry of the cache's own template and organization.
    default_key: EntryKey,
    store: RefCell<TokenStore<Flight>>,
    /// The last token served from the cache and a promise resolved with it:
    /// a hit hands out that promise instead of copying the token out of
    /// WebAssembly memory into a new string and promise each time.
    last_hit: RefCell<Option<(Rc<str>, Promise)>>,
    /// Set when the `TokenCache` is freed: clients sharing it send nothing more.
    pub(crate) freed: Cell<bool>,
}

/// A cache of Clerk session tokens over any `getToken(options)` function.
///
/// One entry per template; freshness judged by the server's clock, learned
/// from the tokens' `iat` (never an aged token from `getToken`'s own
/// cache); one `getToken` call in flight per entry however many callers
/// wait; tokens nearing expiry refreshed in the background. Tokens are kept
/// in memory only.
#[wasm_bindgen]
pub struct TokenCache {
    inner: Rc<CacheInner>,
}

#[wasm_bindgen]
impl TokenCache {
    /// Wraps `getToken` (Clerk's `useAuth().getToken`, `session.getToken`, or
    /// any function of that shape). Throws `invalid_option` for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "GetToken")] get_token: JsValue,
        options: Option<TokenCacheOptions>,
    ) -> Result<TokenCache, JsValue> {
        let Some(get_token) = get_token.dyn_ref::<Function>().cloned() else {
            return Err(errors::invalid_option(
                "TokenCache needs a getToken function, e.g. useAuth().getToken.".into(),
            ));
        };
        let raw = read_options(options.as_ref().map(AsRef::as_ref))?;
        let options = CacheOptions::from_raw(raw);
        Ok(TokenCache {
            inner: Rc::new(CacheInner {
                get_token,
                store: RefCell::new(TokenStore::new(options.policy, js::read_json_object)),
                default_key: EntryKey {
                    template: options.template.clone(),
                    organization_id: options.organization_id.clone(),
                },
                options,
                last_hit: RefCell::new(None),
                freed: Cell::new(false),
            }),
        })
    }

    /// A token with at least `minValiditySeconds` left: from the cache, from
    /// a `getToken` call already in flight, or from a new one. `skipCache`
    /// asks the issuer for a new token and replaces the cached one.
    /// Rejects with a `ClerkFaunaError`: `signed_out`, `token_unavailable`,
    /// `token_timeout`, `malformed_token`, `cleared` or `invalid_option`.
    /// (Its TypeScript declaration is in types.d.ts: `options` is optional.)
    #[wasm_bindgen(skip_typescript)]
    pub fn get(&self, options: Option<Object>) -> Promise {
        let options = options.as_ref().map(AsRef::as_ref);
        let o = match Options::read(options, "get options", "t:template b:skipCache") {
            Ok(o) => o,
            Err(e) => return Promise::reject(&e),
        };
        let (template, skip_cache) = (o.string(0), o.boolean(1).unwrap_or(false));
        let key = match self.inner.key(template) {
            Ok(key) => key,
            Err(e) => return Promise::reject(&e),
        };
        let demand = if skip_cache {
            Demand::Forced
        } else {
            Demand::Ordinary
        };
        match self.inner.lookup(&key, demand) {
            // flows.js has made a background refresh's failure quiet.
            Lookup::Hit(token) | Lookup::HitAndRefresh(token, _) => self.inner.resolved(token),
            Lookup::Wait(flight) => flight.promise,
        }
    }

    /// The cached token, if it still has at least `minValiditySeconds` left.
    /// Never calls `getToken`.
    pub fn peek(&self, template: Option<String>) -> Option<String> {
        let key = self.inner.key(template).ok()?;
        let token = self.inner.store.borrow().peek(&key, js::now_ms())?;
        Some(String::from(&*token))
    }

    /// The payload of the cached token (usable or not), as an object.
    #[wasm_bindgen(unchecked_return_type = "Record<string, unknown> | undefined")]
    pub fn claims(&self, template: Option<String>) -> JsValue {
        let Ok(key) = self.inner.key(template) else {
            return JsValue::UNDEFINED;
        };
        let store = self.inner.store.borrow();
        store
            .cached(&key)
            .map_or(JsValue::UNDEFINED, |c| js::parsed_payload(&c.decoded))
    }

    /// Drops one template's token; the next `get` fetches a new one.
    pub fn invalidate(&self, template: Option<String>) {
        if let Ok(key) = self.inner.key(template) {
            self.inner.store.borrow_mut().invalidate(&key);
        }
    }

    /// Drops every token (call it on sign-out or user switch). Calls waiting
    /// for a token reject with `cleared`; a `getToken` result arriving later
    /// is not cached.
    pub fn clear(&self) {
        self.inner.clear();
    }

    /// Counters since creation: `hits` (served from the cache), `misses`
    /// (`getToken` calls because nothing usable was cached), `joins` (calls
    /// that shared a call in flight), `refreshes` (`getToken` calls to replace
    /// a token: refresh-ahead, `skipCache`, after a 401) and `failures`.
    #[wasm_bindgen(getter, unchecked_return_type = "TokenCacheStats")]
    pub fn stats(&self) -> JsValue {
        let s = self.inner.store.borrow().stats();
        let object = Object::new();
        for (name, n) in [
            ("hits", s.hits),
            ("misses", s.misses),
            ("joins", s.joins),
            ("refreshes", s.refreshes),
            ("failures", s.failures),
        ] {
            js::set(&object, name, &JsValue::from(n as f64));
        }
        object.into()
    }
}

/// The caller's `free()`: calls waiting for a token end with `cleared`, the
/// tokens leave memory, and the clients sharing the cache send nothing more
/// (`freed`). Collected as garbage instead, the cache lives on in its clients.
impl Drop for TokenCache {
    fn drop(&mut self) {
        if js::freed_by_caller() {
            self.inner.freed.set(true);
            self.inner.clear();
        }
    }
}

impl TokenCache {
    /// The shared state, for a `FaunaClient` to hold on to.
    pub(crate) fn shared(&self) -> Rc<CacheInner> {
        self.inner.clone()
    }
}

fn read_options(value: Option<&JsValue>) -> Result<RawCacheOptions, JsValue> {
    let o = Options::read(
        value,
        "TokenCache options",
        "t:template s:organizationId S:refreshAheadSeconds S:minValiditySeconds p:getTokenTimeoutMs",
    )?;
    Ok(RawCacheOptions {
        template: o.string(0),
        organization_id: o.string(1),
        refresh_ahead_seconds: o.number(2),
        min_validity_seconds: o.number(3),
        get_token_timeout_ms: o.number(4),
    })
}

impl CacheInner {
    /// The entry for `template` (default: the cache's own, without copying).
    fn key(&self, template: Option<String>) -> Result<Cow<'_, EntryKey>, JsValue> {
        let Some(template) = template else {
            return Ok(Cow::Borrowed(&self.default_key));
        };
        check_template(&template).map_err(|e| errors::plain(&e))?;
        Ok(Cow::Owned(EntryKey {
            template,
            organization_id: self.options.organization_id.clone(),
        }))
    }

    /// A promise resolved with `token`, the same one for repeated hits.
    fn resolved(&self, token: Rc<str>) -> Promise {
        let mut last = self.last_hit.borrow_mut();
        if let Some((t, promise)) = last.as_ref() {
            if Rc::ptr_eq(t, &token) {
                return promise.clone();
            }
        }
        let promise = Promise::resolve(&JsValue::from_str(&token));
        *last = Some((token, promise.clone()));
        promise
    }

    /// The store's epoch (see `TokenStore::epoch`).
    pub(crate) fn epoch(&self) -> u64 {
        self.store.borrow().epoch()
    }

    /// Fails with `cleared` if the cache has been cleared, or has seen
    /// another user, since `epoch`: a call begun then must not go on.
    pub(crate) fn check_epoch(&self, epoch: u64) -> Result<(), JsValue> {
        if self.epoch() == epoch {
            Ok(())
        } else {
            Err(errors::plain(&crate::core::token_store::cleared()))
        }
    }

    /// `minValiditySeconds`, in milliseconds (for diagnosing tokens).
    pub(crate) fn min_validity_ms(&self) -> f64 {
        self.options.policy.min_validity_ms
    }

    pub(crate) fn default_key(&self) -> &EntryKey {
        &self.default_key
    }

    fn lookup(self: &Rc<Self>, key: &EntryKey, demand: Demand<'_>) -> Lookup<Flight> {
        let mut store = self.store.borrow_mut();
        store.lookup(key, demand, js::now_ms(), |id, forced| {
            let ticket = FlightTicket {
                cache: self.clone(),
                key: key.clone(),
                id,
            };
            // startFlight defers the getToken call a microtask: no user code
            // runs while the store is borrowed.
            let flight = start_flight(
                ticket,
                &self.get_token,
                self.options.get_token_timeout_ms,
                forced,
            );
            Flight {
                promise: flight.promise(),
                cancel: flight.cancel(),
            }
        })
    }

    /// A token for `key`, for the library's own requests: the token itself
    /// on a hit, else the promise of the call that brings one.
    pub(crate) fn token(self: &Rc<Self>, key: &EntryKey, demand: Demand<'_>) -> JsValue {
        match self.lookup(key, demand) {
            Lookup::Hit(token) | Lookup::HitAndRefresh(token, _) => JsValue::from_str(&token),
            Lookup::Wait(flight) => flight.promise.into(),
        }
    }

    pub(crate) fn clear(&self) {
        let flights = self.store.borrow_mut().clear();
        self.end_session(flights);
    }

    /// After a sign-out, `clear()` or a change of user: the last user's token
    /// leaves memory, and the calls begun before it fail with `cleared` now.
    fn end_session(&self, flights: Vec<Flight>) {
        self.last_hit.borrow_mut().take();
        for flight in flights {
            let _ = flight.cancel.call0(&JsValue::NULL);
        }
    }
}

/// One `getToken` call, as `flows.js` sees it: the options to call with, and
/// where to report what came back. Internal to clerk-fauna.
#[wasm_bindgen(skip_typescript)]
pub struct FlightTicket {
    cache: Rc<CacheInner>,
    key: EntryKey,
    id: FlightId,
}

#[wasm_bindgen]
impl FlightTicket {
    /// The options object for `getToken`.
    pub fn args(&self, forced: bool) -> JsValue {
        let args: JsValue = Object::new().into();
        js::set(&args, "template", &JsValue::from_str(&self.key.template));
        if let Some(org) = &self.key.organization_id {
            js::set(&args, "organizationId", &JsValue::from_str(org));
        }
        if forced {
            js::set(&args, "skipCache", &JsValue::TRUE);
        }
        args
    }

    /// Reports the call's outcome: `token`, or a `failure` kind (with the
    /// thrown `cause`). Returns the token for the waiters, `undefined` to call
    /// again with `skipCache`, or throws their `ClerkFaunaError`.
    pub fn complete(
        &self,
        token: Option<String>,
        failure: Option<String>,
        cause: JsValue,
    ) -> Result<Option<String>, JsValue> {
        let outcome = match (&token, failure.as_deref()) {
            (Some(token), _) => Ok(token.as_str()),
            (None, Some("signed_out")) => Err(TokenFailure::SignedOut),
            (None, Some("timed_out")) => Err(TokenFailure::TimedOut),
            (None, Some("not_a_string")) => Err(TokenFailure::NotAString),
            (None, Some("cleared")) => Err(TokenFailure::Cleared),
            (None, _) => Err(TokenFailure::Threw),
        };
        let (completion, stale) = {
            let mut store = self.cache.store.borrow_mut();
            let epoch = store.epoch();
            let completion = store.complete(&self.key, self.id, js::now_ms(), outcome);
            (
                completion,
                (store.epoch() != epoch).then(|| store.drain_stale()),
            )
        };
        if let Some(stale) = stale {
            self.cache.end_session(stale);
        }
        match completion {
            Completion::Deliver(token) => Ok(Some(String::from(&*token))),
            Completion::RetryForced => Ok(None),
            Completion::Fail(error) => {
                let cause = (!cause.is_undefined()).then_some(cause);
                Err(errors::to_js(&error, Extras { cause, body: None }))
            }
        }
    }
}
