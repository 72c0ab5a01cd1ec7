//! `TokenCache`: the JS face of [`TokenStore`]. It calls `getToken`, races it
//! against the timeout and `clear()`, and hands the outcome back to the store.
//! All policy lives in the store.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};

use super::errors::{self, Extras};
use super::js::{self, Options};
use crate::core::options::{check_template, CacheOptions, RawCacheOptions};
use crate::core::token_store::{
    Completion, Demand, EntryKey, FlightId, Lookup, TokenFailure, TokenStore,
};

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
    store: RefCell<TokenStore<Flight>>,
}

/// A cache of Clerk session tokens over any `getToken(options)` function.
///
/// One entry per template; freshness judged from each token's own `exp` and
/// `iat`; one `getToken` call in flight per entry however many callers wait;
/// tokens nearing expiry refreshed in the background. Tokens are kept in
/// memory only.
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
        #[wasm_bindgen(unchecked_optional_param_type = "TokenCacheOptions")] options: JsValue,
    ) -> Result<TokenCache, JsValue> {
        let Some(get_token) = get_token.dyn_ref::<Function>().cloned() else {
            return Err(errors::invalid_option(
                "TokenCache needs a getToken function, e.g. useAuth().getToken.".into(),
            ));
        };
        let raw = read_options(&options).map_err(errors::invalid_option)?;
        let options = CacheOptions::from_raw(raw).map_err(|e| errors::plain(&e))?;
        Ok(TokenCache {
            inner: Rc::new(CacheInner {
                get_token,
                store: RefCell::new(TokenStore::new(options.policy, js::read_json_object)),
                options,
            }),
        })
    }

    /// A token with at least `minValiditySeconds` left: from the cache, from
    /// a `getToken` call already in flight, or from a new one. `skipCache`
    /// asks the issuer for a new token and replaces the cached one.
    /// Rejects with a `ClerkFaunaError`: `signed_out`, `token_unavailable`,
    /// `token_timeout`, `malformed_token`, `cleared` or `invalid_option`.
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn get(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "TokenGetOptions")] options: JsValue,
    ) -> Promise {
        let request = Options::new(&options, "get options").and_then(|o| {
            let skip_cache = o.boolean("skipCache")?.unwrap_or(false);
            Ok((o.string("template")?, skip_cache))
        });
        let (template, skip_cache) = match request {
            Ok(r) => r,
            Err(message) => return Promise::reject(&errors::invalid_option(message)),
        };
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
            Lookup::Hit(token) => Promise::resolve(&JsValue::from_str(&token)),
            Lookup::HitAndRefresh(token, flight) => {
                settle_quietly(flight);
                Promise::resolve(&JsValue::from_str(&token))
            }
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
            .and_then(|c| js::parse_json(&c.decoded.payload_json))
            .unwrap_or(JsValue::UNDEFINED)
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

impl TokenCache {
    /// The shared state, for a `FaunaClient` to hold on to.
    pub(crate) fn shared(&self) -> Rc<CacheInner> {
        self.inner.clone()
    }
}

fn read_options(value: &JsValue) -> Result<RawCacheOptions, String> {
    let o = Options::new(value, "TokenCache options")?;
    Ok(RawCacheOptions {
        template: o.string("template")?,
        organization_id: o.string("organizationId")?,
        refresh_ahead_seconds: o.number("refreshAheadSeconds")?,
        min_validity_seconds: o.number("minValiditySeconds")?,
        get_token_timeout_ms: o.number("getTokenTimeoutMs")?,
    })
}

/// Awaits a background flight so its rejection is handled: nobody else may
/// ever wait for it, and an unhandled rejection would reach the console.
fn settle_quietly(flight: Flight) {
    spawn_local(async move {
        let _ = JsFuture::from(flight.promise).await;
    });
}

impl CacheInner {
    fn key(&self, template: Option<String>) -> Result<EntryKey, JsValue> {
        let template = template.unwrap_or_else(|| self.options.template.clone());
        check_template(&template).map_err(|e| errors::plain(&e))?;
        Ok(EntryKey {
            template,
            organization_id: self.options.organization_id.clone(),
        })
    }

    pub(crate) fn default_key(&self) -> EntryKey {
        EntryKey {
            template: self.options.template.clone(),
            organization_id: self.options.organization_id.clone(),
        }
    }

    fn lookup(self: &Rc<Self>, key: &EntryKey, demand: Demand<'_>) -> Lookup<Flight> {
        let mut store = self.store.borrow_mut();
        store.lookup(key, demand, js::now_ms(), |id, forced| {
            self.start_flight(key.clone(), id, forced)
        })
    }

    /// A token for `key`, for the library's own requests.
    pub(crate) async fn token(
        self: &Rc<Self>,
        key: &EntryKey,
        demand: Demand<'_>,
    ) -> Result<String, JsValue> {
        let flight = match self.lookup(key, demand) {
            Lookup::Hit(token) => return Ok(String::from(&*token)),
            Lookup::HitAndRefresh(token, flight) => {
                settle_quietly(flight);
                return Ok(String::from(&*token));
            }
            Lookup::Wait(flight) => flight,
        };
        let token = JsFuture::from(flight.promise).await?;
        // A flight only ever resolves with a string.
        Ok(token.as_string().unwrap_or_default())
    }

    pub(crate) fn clear(&self) {
        let flights = self.store.borrow_mut().clear();
        for flight in flights {
            let _ = flight.cancel.call0(&JsValue::NULL);
        }
    }

    /// Starts flight `id`. Nothing here runs user code synchronously: the
    /// future only starts on the next microtask, after the store is released.
    fn start_flight(self: &Rc<Self>, key: EntryKey, id: FlightId, forced: bool) -> Flight {
        let (cancelled, reject) = js::cancellable();
        let marker: JsValue = Object::new().into();
        let cancel = reject.bind1(&JsValue::NULL, &marker).unchecked_into();
        let inner = self.clone();
        let promise =
            future_to_promise(
                async move { inner.run_flight(key, id, forced, cancelled, marker).await },
            );
        Flight { promise, cancel }
    }

    async fn run_flight(
        self: Rc<Self>,
        key: EntryKey,
        id: FlightId,
        mut forced: bool,
        cancelled: Promise,
        cancel_marker: JsValue,
    ) -> Result<JsValue, JsValue> {
        loop {
            let (outcome, cause) = self
                .call_get_token(&key, forced, &cancelled, &cancel_marker)
                .await;
            let completion = self.store.borrow_mut().complete(
                &key,
                id,
                js::now_ms(),
                outcome.as_deref().map_err(|f| *f),
            );
            match completion {
                Completion::Deliver(token) => return Ok(JsValue::from_str(&token)),
                Completion::Fail(error) => {
                    return Err(errors::to_js(&error, Extras { cause, body: None }))
                }
                Completion::RetryForced => forced = true,
            }
        }
    }

    /// One `getToken` call, raced against the timeout and `clear()`.
    async fn call_get_token(
        &self,
        key: &EntryKey,
        forced: bool,
        cancelled: &Promise,
        cancel_marker: &JsValue,
    ) -> (Result<String, TokenFailure>, Option<JsValue>) {
        let args = Object::new();
        js::set(&args, "template", &JsValue::from_str(&key.template));
        if let Some(org) = &key.organization_id {
            js::set(&args, "organizationId", &JsValue::from_str(org));
        }
        if forced {
            js::set(&args, "skipCache", &JsValue::TRUE);
        }
        let called = match self.get_token.call1(&JsValue::UNDEFINED, &args) {
            Ok(result) => Promise::resolve(&result),
            Err(thrown) => return (Err(TokenFailure::Threw), Some(thrown)),
        };
        let timeout_marker: JsValue = Object::new().into();
        let (timed_out, _timer) =
            js::reject_after(self.options.get_token_timeout_ms, &timeout_marker);
        match JsFuture::from(js::race(&[&called, &timed_out, cancelled])).await {
            Ok(v) if v.is_null() || v.is_undefined() => (Err(TokenFailure::SignedOut), None),
            Ok(v) => match v.as_string() {
                Some(token) => (Ok(token), None),
                None => (Err(TokenFailure::NotAString), None),
            },
            Err(e) if e == timeout_marker => (Err(TokenFailure::TimedOut), None),
            Err(e) if e == *cancel_marker => (Err(TokenFailure::Cleared), None),
            Err(e) => (Err(TokenFailure::Threw), Some(e)),
        }
    }
}
