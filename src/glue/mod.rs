//! The JS API: thin wrappers that read JS values, call the core, and turn its
//! answers and errors back into JS. No policy lives here.

mod errors;
mod fauna_client;
mod js;
mod token_cache;

use wasm_bindgen::prelude::*;

pub use fauna_client::FaunaClient;
pub use token_cache::TokenCache;

use crate::core::jwt;

/// Decodes a JWT's header and payload without verifying its signature (Fauna
/// verifies it). Throws `ClerkFaunaError` with code `malformed_token`.
#[wasm_bindgen(js_name = decodeJwt, unchecked_return_type = "DecodedJwt")]
pub fn decode_jwt(
    #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
) -> Result<JsValue, JsValue> {
    let Some(token) = token.as_string() else {
        return Err(errors::plain(&crate::core::error::Error::new(
            crate::core::error::ErrorCode::MalformedToken,
            "decodeJwt needs the token as a string.",
        )));
    };
    let decoded = jwt::decode(&token, js::read_json_object).map_err(|e| errors::plain(&e))?;
    let result: JsValue = js_sys::Object::new().into();
    // The core has checked both segments are JSON objects.
    js::set(
        &result,
        "header",
        &js::parse_json(&decoded.header_json).unwrap_or(JsValue::UNDEFINED),
    );
    js::set(
        &result,
        "payload",
        &js::parse_json(&decoded.payload_json).unwrap_or(JsValue::UNDEFINED),
    );
    Ok(result)
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!("types.d.ts");
