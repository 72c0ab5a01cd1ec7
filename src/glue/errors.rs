//! Turning a core [`Error`] into the JS `ClerkFaunaError` callers catch: one
//! call to `makeError` (error.js), which shapes the object.

use wasm_bindgen::prelude::*;

use crate::core::error::Error;

#[wasm_bindgen(module = "/src/glue/error.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeError)]
    #[allow(clippy::too_many_arguments)]
    fn make_error(
        code: &str,
        message: &str,
        http_status: Option<u16>,
        fauna_code: Option<&str>,
        hint: Option<&str>,
        retry_after_ms: Option<f64>,
        cause: &JsValue,
        body: &JsValue,
    ) -> JsValue;
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

/// Builds the `ClerkFaunaError` for `error`.
pub fn to_js(error: &Error, extras: Extras) -> JsValue {
    let undefined = JsValue::UNDEFINED;
    make_error(
        error.code.as_str(),
        &error.message,
        error.http_status,
        error.fauna_code.as_deref(),
        error.hint.as_deref(),
        error.retry_after_ms,
        extras.cause.as_ref().unwrap_or(&undefined),
        extras.body.as_ref().unwrap_or(&undefined),
    )
}

/// An `invalid_option` error for a message from option parsing.
pub fn invalid_option(message: String) -> JsValue {
    to_js(&Error::invalid_option(message), Extras::default())
}

pub fn plain(error: &Error) -> JsValue {
    to_js(error, Extras::default())
}
