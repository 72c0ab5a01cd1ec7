//! Turning a core [`Error`] into the JS `ClerkFaunaError` callers catch.

use wasm_bindgen::prelude::*;

use super::js;
use crate::core::error::{Error, ErrorCode};

#[wasm_bindgen(module = "/src/glue/error.js")]
extern "C" {
    #[wasm_bindgen(js_name = ClerkFaunaError)]
    type JsClerkFaunaError;

    #[wasm_bindgen(constructor, js_class = ClerkFaunaError)]
    fn new(code: &str, message: &str) -> JsClerkFaunaError;
}

/// Extra fields some errors carry, taken from the JS side.
#[derive(Default)]
pub struct Extras {
    /// The original error of a failed `getToken` or `fetch`.
    pub cause: Option<JsValue>,
    /// The parsed body of Fauna's answer, to copy `abort`,
    /// `constraint_failures`, `summary` and GraphQL `errors` from.
    pub body: Option<JsValue>,
}

/// Builds the `ClerkFaunaError` for `error`. Only fields with a value are set,
/// so `'hint' in error` says whether there is one.
pub fn to_js(error: &Error, extras: Extras) -> JsValue {
    let js: JsValue = JsClerkFaunaError::new(error.code.as_str(), &error.message).into();
    if let Some(status) = error.http_status {
        js::set(&js, "httpStatus", &JsValue::from(status));
    }
    if let Some(code) = &error.fauna_code {
        js::set(&js, "faunaCode", &JsValue::from_str(code));
    }
    if let Some(hint) = &error.hint {
        js::set(&js, "hint", &JsValue::from_str(hint));
    }
    if let Some(ms) = error.retry_after_ms {
        js::set(&js, "retryAfterMs", &JsValue::from(ms));
    }
    if let Some(cause) = extras.cause {
        js::set(&js, "cause", &cause);
    }
    if let Some(body) = extras.body {
        let fauna_error = js::get(&body, "error");
        copy(&fauna_error, "abort", &js, "abort");
        copy(
            &fauna_error,
            "constraint_failures",
            &js,
            "constraintFailures",
        );
        copy(&body, "summary", &js, "summary");
        if error.code == ErrorCode::GraphqlError {
            copy(&body, "errors", &js, "errors");
        }
    }
    js
}

fn copy(from: &JsValue, name: &str, to: &JsValue, as_name: &str) {
    let v = js::get(from, name);
    if !v.is_undefined() {
        js::set(to, as_name, &v);
    }
}

/// An `invalid_option` error for a message from option parsing.
pub fn invalid_option(message: String) -> JsValue {
    to_js(&Error::invalid_option(message), Extras::default())
}

pub fn plain(error: &Error) -> JsValue {
    to_js(error, Extras::default())
}
