//! Small bindings to the JS environment: the clock, reading plain option
//! objects and JSON. (Waiting and timers live in `flows.js`.)

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::jwt::{DecodedJwt, Json};

/// The local wall clock in milliseconds. Wall time rather than
/// `performance.now()`: it keeps running while a laptop sleeps, and token
/// lifetimes are about real time.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn random() -> f64 {
    js_sys::Math::random()
}

#[wasm_bindgen(module = "/src/glue/flows.js")]
extern "C" {
    /// UTF-8 JSON bytes parsed, `undefined` when they are not.
    #[wasm_bindgen(js_name = parseJsonBytes)]
    fn parse_json_bytes(json: &[u8]) -> JsValue;
    #[wasm_bindgen(js_name = readOptions, catch)]
    fn read_options(value: &JsValue, what: &str, spec: &str) -> Result<Array, JsValue>;
    /// Whether the object being dropped was freed by the caller's `free()`
    /// (not by the garbage collector).
    #[wasm_bindgen(js_name = freedByCaller)]
    pub fn freed_by_caller() -> bool;
    #[wasm_bindgen(js_name = toJson)]
    fn to_json_string(value: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = defineMember)]
    fn define_member(target: &JsValue, name: &str, value: &JsValue);
}

/// An options object's values, read and checked by `readOptions` (flows.js;
/// it throws `invalid_option` for a wrong type, form or range). `spec` names
/// them as `kind:name` (see flows.js); the getters take their index in
/// `spec`.
pub struct Options(Option<Array>);

impl Options {
    /// `None`: no options (the wasm-bindgen glue maps `undefined` and `null`
    /// to `None` in JS, so this costs no call into JS).
    pub fn read(value: Option<&JsValue>, what: &str, spec: &str) -> Result<Options, JsValue> {
        match value {
            None => Ok(Options(None)),
            Some(value) => read_options(value, what, spec).map(|values| Options(Some(values))),
        }
    }

    fn get(&self, index: u32) -> Option<JsValue> {
        self.0.as_ref().map(|values| values.get(index))
    }

    /// The value as read (`undefined` when absent).
    pub fn value(&self, index: u32) -> JsValue {
        self.get(index).unwrap_or(JsValue::UNDEFINED)
    }

    pub fn string(&self, index: u32) -> Option<String> {
        self.get(index)?.as_string()
    }

    pub fn number(&self, index: u32) -> Option<f64> {
        self.get(index)?.as_f64()
    }

    pub fn boolean(&self, index: u32) -> Option<bool> {
        self.get(index)?.as_bool()
    }

    pub fn function(&self, index: u32) -> Option<Function> {
        self.get(index)?.dyn_into().ok()
    }

    /// A record of strings, as `[key, value]` pairs in order.
    pub fn string_record(&self, index: u32) -> Option<Vec<(String, String)>> {
        let flat: Array = self.get(index)?.dyn_into().ok()?;
        let text = |i| flat.get(i).as_string().unwrap_or_default();
        let mut pairs = Vec::new();
        for i in (0..flat.length()).step_by(2) {
            pairs.push((text(i), text(i + 1)));
        }
        Some(pairs)
    }
}

/// `Reflect.get`, with `undefined` for anything that is not an object.
pub fn get(target: &JsValue, name: &str) -> JsValue {
    if target.is_object() {
        Reflect::get(target, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// Gives `target` an own member `name`, as an object literal does: never
/// through a setter that another library put on `Object.prototype` (it
/// would see the `Authorization` header, or getToken's options).
pub fn set(target: &JsValue, name: &str, value: &JsValue) {
    define_member(target, name, value);
}

/// `JSON.parse`, `None` when the text is not JSON.
pub fn parse_json(text: &str) -> Option<JsValue> {
    js_sys::JSON::parse(text).ok()
}

/// A decoded token's header and payload as objects (the core has checked
/// both are JSON objects).
pub fn parsed_segments(decoded: &DecodedJwt) -> (JsValue, JsValue) {
    (
        parse_json_bytes(&decoded.header_json),
        parse_json_bytes(&decoded.payload_json),
    )
}

/// A decoded token's payload as an object.
pub fn parsed_payload(decoded: &DecodedJwt) -> JsValue {
    parse_json_bytes(&decoded.payload_json)
}

/// `JSON.stringify` (in flows.js, where the caller's `toJSON` may run),
/// `None` for values JSON cannot hold (functions, cycles, BigInt).
pub fn to_json(value: &JsValue) -> Option<String> {
    to_json_string(value)
}

/// The items of `array`, if all are strings.
fn strings(array: &Array) -> Option<Vec<String>> {
    let mut items = Vec::new();
    for i in 0..array.length() {
        items.push(array.get(i).as_string()?);
    }
    Some(items)
}

/// The browser's JSON reader for the core's JWT decoding: `TextDecoder` and
/// `JSON.parse`, then the members asked for (see `core::jwt::ReadJsonObject`).
pub fn read_json_object(json: &[u8], names: &[&str]) -> Option<Vec<Option<Json>>> {
    let object = parse_json_bytes(json);
    if !object.is_object() || Array::is_array(&object) {
        return None;
    }
    let member = |name: &&str| {
        let v = get(&object, name);
        if v.is_undefined() {
            return None;
        }
        Some(if let Some(n) = v.as_f64() {
            Json::Number(n)
        } else if let Some(s) = v.as_string() {
            Json::String(s)
        } else if Array::is_array(&v) {
            strings(&Array::from(&v)).map_or(Json::Other, Json::Strings)
        } else {
            Json::Other
        })
    };
    let mut members = Vec::with_capacity(names.len());
    for name in names {
        members.push(member(name));
    }
    Some(members)
}
