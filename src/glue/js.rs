//! Small bindings to the JS environment: the clock, reading plain option
//! objects and JSON. (Waiting and timers live in `flows.js`.)

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::jwt::Json;

/// The local wall clock in milliseconds. Wall time rather than
/// `performance.now()`: it keeps running while a laptop sleeps, and token
/// lifetimes are about real time.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn random() -> f64 {
    js_sys::Math::random()
}

/// Reads properties off an options object (`undefined` and `null` count as
/// absent), with a clear `invalid_option` message when a type is wrong.
pub struct Options<'a> {
    object: Option<&'a Object>,
    /// What the object is, for messages: "TokenCache options".
    what: &'static str,
}

impl<'a> Options<'a> {
    pub fn new(value: &'a JsValue, what: &'static str) -> Result<Options<'a>, String> {
        if value.is_undefined() || value.is_null() {
            return Ok(Options { object: None, what });
        }
        match value.dyn_ref::<Object>() {
            Some(object) if !value.is_function() => Ok(Options {
                object: Some(object),
                what,
            }),
            _ => Err([what, " must be an object."].concat()),
        }
    }

    pub fn value(&self, name: &str) -> Option<JsValue> {
        let v = Reflect::get(self.object?, &JsValue::from_str(name)).ok()?;
        (!v.is_undefined() && !v.is_null()).then_some(v)
    }

    fn typed<T>(
        &self,
        name: &str,
        kind: &str,
        read: impl Fn(&JsValue) -> Option<T>,
    ) -> Result<Option<T>, String> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => read(&v)
                .map(Some)
                .ok_or_else(|| [self.what, ".", name, " must be ", kind, "."].concat()),
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, String> {
        self.typed(name, "a string", JsValue::as_string)
    }

    pub fn number(&self, name: &str) -> Result<Option<f64>, String> {
        self.typed(name, "a number", JsValue::as_f64)
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, String> {
        self.typed(name, "a boolean", JsValue::as_bool)
    }

    pub fn function(&self, name: &str) -> Result<Option<Function>, String> {
        self.typed(name, "a function", |v| v.dyn_ref::<Function>().cloned())
    }

    /// A `Record<string, string>`, as `[key, value]` pairs in order.
    pub fn string_record(&self, name: &str) -> Result<Option<Vec<(String, String)>>, String> {
        self.typed(name, "an object of strings", |v| {
            let object = v.dyn_ref::<Object>()?;
            Object::entries(object)
                .iter()
                .map(|pair| {
                    let pair: Array = pair.unchecked_into();
                    Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
                })
                .collect()
        })
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

pub fn set(target: &JsValue, name: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(name), value);
}

/// `JSON.parse`, `None` when the text is not JSON.
pub fn parse_json(text: &str) -> Option<JsValue> {
    js_sys::JSON::parse(text).ok()
}

/// `JSON.stringify`, `None` for values JSON cannot hold (functions, cycles,
/// BigInt).
pub fn to_json(value: &JsValue) -> Option<String> {
    js_sys::JSON::stringify(value).ok()?.as_string()
}

/// The browser's JSON reader for the core's JWT decoding: `JSON.parse`, then
/// the members asked for (see `core::jwt::ReadJsonObject`).
pub fn read_json_object(text: &str, names: &[&str]) -> Option<Vec<Option<Json>>> {
    let object = parse_json(text)?;
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
            Array::from(&v)
                .iter()
                .map(|item| item.as_string())
                .collect::<Option<Vec<_>>>()
                .map_or(Json::Other, Json::Strings)
        } else {
            Json::Other
        })
    };
    Some(names.iter().map(member).collect())
}
