//! The JS API: thin wrappers that read JS values, call the core, and turn its
//! answers and errors back into JS. No policy lives here.

mod errors;
mod fauna_client;
mod js;
mod token_cache;

use wasm_bindgen::prelude::*;

pub use fauna_client::FaunaClient;
pub use token_cache::TokenCache;

use crate::core::{diagnose, jwt};

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

/// Diagnoses a token against Fauna's rules for third-party JWTs: a list of
/// findings (`aud` missing or wrong, issuer with a trailing slash or
/// different, unsupported `alg`, expired, not yet valid, a lifetime shorter
/// than `minValiditySeconds`, no `sub`, a closed or malformed endpoint), each
/// with a stable `code`, a `message` and a one-line `fix`. Empty: nothing
/// found. Never throws for a bad token: that is a `malformed_token` finding.
#[wasm_bindgen(unchecked_return_type = "Finding[]")]
pub fn diagnose(
    #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "DiagnoseOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let o = js::Options::read(
        &options,
        "diagnose options",
        "s:issuer s:databaseId s:endpoint n:minValiditySeconds",
    )?;
    let expect = diagnose::Expectations {
        issuer: o.string(0),
        database_id: o.string(1),
        endpoint: o.string(2),
    };
    let min_validity_ms = o.number(3).unwrap_or(5.0) * 1000.0;
    let findings = match token
        .as_string()
        .map(|t| jwt::decode(&t, js::read_json_object))
    {
        Some(Ok(decoded)) => {
            diagnose::diagnose(&decoded.claims, &expect, js::now_ms(), min_validity_ms)
        }
        Some(Err(e)) => vec![diagnose::Finding {
            code: "malformed_token",
            message: e.message,
            fix: "Pass the string that getToken({ template }) resolves to.".into(),
        }],
        None => vec![diagnose::Finding {
            code: "malformed_token",
            message: "The token is not a string.".into(),
            fix: "Pass the string that getToken({ template }) resolves to.".into(),
        }],
    };
    let list = js_sys::Array::new();
    for f in findings {
        let item: JsValue = js_sys::Object::new().into();
        js::set(&item, "code", &JsValue::from_str(f.code));
        js::set(&item, "message", &JsValue::from_str(&f.message));
        js::set(&item, "fix", &JsValue::from_str(&f.fix));
        list.push(&item);
    }
    Ok(list.into())
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!("types.d.ts");
