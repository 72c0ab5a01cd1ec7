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
    let (header, payload) = js::parsed_segments(&decoded);
    let result: JsValue = js_sys::Object::new().into();
    js::set(&result, "header", &header);
    js::set(&result, "payload", &payload);
    Ok(result)
}

#[wasm_bindgen(module = "/src/glue/diagnose.js")]
extern "C" {
    #[wasm_bindgen(js_name = diagnoseDecoded, catch)]
    fn diagnose_decoded(
        header: &JsValue,
        payload: &JsValue,
        malformed: Option<String>,
        options: &JsValue,
    ) -> Result<JsValue, JsValue>;
}

/// Diagnoses a token against Fauna's rules for third-party JWTs: a list of
/// findings (`aud` missing or wrong, issuer with a trailing slash or
/// different, unsupported `alg`, expired, not yet valid, a lifetime shorter
/// than `minValiditySeconds`, no `sub`, a closed or malformed endpoint), each
/// with a stable `code`, a `message` and a one-line `fix`. Empty: nothing
/// found. Never throws for a bad token: that is a `malformed_token` finding.
/// The core decodes the token; diagnose.js judges its claims.
/// (Its TypeScript declaration is in types.d.ts: `options` is optional.)
#[wasm_bindgen(skip_typescript)]
pub fn diagnose(token: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let decoded = match token.as_string() {
        // As Fauna reads it: a time claim it ignores is a finding, not a
        // malformed token.
        Some(token) => jwt::decode_as_fauna(&token, js::read_json_object).map_err(|e| e.message),
        None => Err("The token is not a string.".into()),
    };
    match decoded {
        Ok(d) => {
            let (header, payload) = js::parsed_segments(&d);
            diagnose_decoded(&header, &payload, None, &options)
        }
        Err(why) => diagnose_decoded(
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
            Some(why),
            &options,
        ),
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!("types.d.ts");
