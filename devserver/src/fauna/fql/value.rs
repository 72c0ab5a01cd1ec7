//! FQL values and their wire forms: Fauna's simple and tagged JSON formats.

use super::parser::Expr;
use crate::util::iso_time;
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;

/// An FQL value during evaluation.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// A 64-bit integer: what the server makes of every integer in a JWT
    /// payload (its JSON parser yields longs), so `Query.token()` shows
    /// `{"@long": ..}` for `iat`/`exp`/`nbf` in the tagged format.
    Long(i64),
    Double(f64),
    Str(String),
    /// Microseconds since the epoch.
    Time(i64),
    Array(Vec<Value>),
    Object(Obj),
    /// A module such as `Todo` or `Query`.
    Module(String),
    Doc(Doc),
    /// A reference to a document that cannot be read (`cause` says why).
    NullDoc {
        id: String,
        coll: String,
        cause: &'static str,
    },
    /// A materialised set (the devserver returns whole sets in one page).
    Set(Vec<Value>),
    Lambda(Arc<Lambda>),
    /// An event source, as its stream token.
    EventSource(String),
}

/// A document as FQL sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub id: String,
    pub coll: String,
    /// Write time, microseconds since the epoch.
    pub ts: i64,
    pub fields: Obj,
}

/// A function value and the variables it closed over.
#[derive(Debug)]
pub struct Lambda {
    pub params: Vec<String>,
    pub body: Arc<Expr>,
    pub env: Vec<(String, Value)>,
}

/// An object with fields in insertion order, as FQL keeps them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Obj(pub Vec<(String, Value)>);

impl Obj {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn set(&mut self, key: &str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }
}

impl PartialEq for Value {
    /// FQL equality: numbers compare by value across int/double; documents by id.
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a) | Long(a), Int(b) | Long(b)) => a == b,
            (Double(a), Double(b)) => a == b,
            (Int(a) | Long(a), Double(b)) | (Double(b), Int(a) | Long(a)) => (*a as f64) == *b,
            (Str(a), Str(b)) => a == b,
            (Time(a), Time(b)) => a == b,
            (Array(a), Array(b)) | (Set(a), Set(b)) => a == b,
            (Object(a), Object(b)) => {
                a.0.len() == b.0.len() && a.0.iter().all(|(k, v)| b.get(k) == Some(v))
            }
            (Module(a), Module(b)) => a == b,
            (Doc(a), Doc(b)) => a.id == b.id && a.coll == b.coll,
            (
                NullDoc {
                    id: a, coll: ca, ..
                },
                NullDoc {
                    id: b, coll: cb, ..
                },
            ) => a == b && ca == cb,
            (Lambda(a), Lambda(b)) => Arc::ptr_eq(a, b),
            (EventSource(a), EventSource(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The FQL type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "Null",
            Value::Bool(_) => "Boolean",
            Value::Int(_) => "Int",
            Value::Long(_) => "Long",
            Value::Double(_) => "Double",
            Value::Str(_) => "String",
            Value::Time(_) => "Time",
            Value::Array(_) => "Array",
            Value::Object(_) => "Object",
            Value::Module(_) => "Module",
            Value::Doc(_) => "Document",
            Value::NullDoc { .. } => "NullDocument",
            Value::Set(_) => "Set",
            Value::Lambda(_) => "Function",
            Value::EventSource(_) => "EventSource",
        }
    }

    /// Renders the value in Fauna's `simple` (tagged = false) or `tagged` format.
    pub fn encode(&self, tagged: bool) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => json!(b),
            Value::Int(i) if tagged => {
                if i32::try_from(*i).is_ok() {
                    json!({ "@int": i.to_string() })
                } else {
                    json!({ "@long": i.to_string() })
                }
            }
            Value::Long(i) if tagged => json!({ "@long": i.to_string() }),
            Value::Int(i) | Value::Long(i) => json!(i),
            Value::Double(d) if tagged => json!({ "@double": format_double(*d) }),
            Value::Double(d) => json!(d),
            Value::Str(s) => json!(s),
            Value::Time(t) => tag(tagged, "@time", json!(iso_time(*t))),
            Value::Array(items) => Json::Array(items.iter().map(|v| v.encode(tagged)).collect()),
            Value::Object(obj) => {
                let map = encode_fields(obj, tagged);
                if tagged && obj.0.iter().any(|(k, _)| k.starts_with('@')) {
                    json!({ "@object": map })
                } else {
                    Json::Object(map)
                }
            }
            Value::Module(name) => tag(tagged, "@mod", json!(name)),
            Value::Doc(doc) => {
                let mut map = Map::new();
                map.insert("id".into(), json!(doc.id));
                map.insert(
                    "coll".into(),
                    Value::Module(doc.coll.clone()).encode(tagged),
                );
                map.insert("ts".into(), Value::Time(doc.ts).encode(tagged));
                map.extend(encode_fields(&doc.fields, tagged));
                if tagged {
                    json!({ "@doc": map })
                } else {
                    Json::Object(map)
                }
            }
            Value::NullDoc { id, coll, cause } => {
                if tagged {
                    json!({ "@ref": { "id": id, "coll": { "@mod": coll }, "exists": false, "cause": cause } })
                } else {
                    Json::Null
                }
            }
            Value::Set(items) => {
                let data: Vec<Json> = items.iter().map(|v| v.encode(tagged)).collect();
                tag(tagged, "@set", json!({ "data": data }))
            }
            Value::Lambda(_) => json!("[function <lambda>]"),
            Value::EventSource(token) => tag(tagged, "@stream", json!(token)),
        }
    }

    /// Converts plain JSON (a JWT payload) into a value; whole numbers become
    /// longs, as the server's JSON parser makes them.
    pub fn from_plain_json(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Long(i),
                None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Value::from_plain_json).collect()),
            Json::Object(map) => Value::Object(Obj(map
                .iter()
                .map(|(k, v)| (k.clone(), Value::from_plain_json(v)))
                .collect())),
        }
    }

    /// Decodes a request argument in the request's format (`tagged` or simple).
    pub fn decode(json: &Json, tagged: bool) -> Result<Value, String> {
        if !tagged {
            return Ok(Value::from_plain_json(json));
        }
        match json {
            Json::Number(_) => Err("numbers must be tagged".into()),
            Json::Array(items) => items
                .iter()
                .map(|v| Value::decode(v, true))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Json::Object(map) if map.keys().any(|k| k.starts_with('@')) => {
                if map.len() > 1 {
                    return Err("too many keys in tagged value".into());
                }
                let Some((tag, inner)) = map.iter().next() else {
                    return Err("empty tagged value".into());
                };
                decode_tagged(tag, inner)
            }
            Json::Object(map) => decode_object(map),
            other => Ok(Value::from_plain_json(other)),
        }
    }
}

fn decode_object(map: &Map<String, Json>) -> Result<Value, String> {
    let mut obj = Obj::default();
    for (k, v) in map {
        obj.0.push((k.clone(), Value::decode(v, true)?));
    }
    Ok(Value::Object(obj))
}

fn decode_tagged(tag: &str, inner: &Json) -> Result<Value, String> {
    let text = || {
        inner
            .as_str()
            .ok_or_else(|| format!("{tag} requires a string value"))
    };
    match tag {
        "@int" | "@long" => text()?
            .parse()
            .map(Value::Int)
            .map_err(|_| format!("invalid {tag} value")),
        "@double" => text()?
            .parse()
            .map(Value::Double)
            .map_err(|_| "invalid @double value".to_owned()),
        "@time" => parse_time(text()?).map(Value::Time),
        "@mod" => Ok(Value::Module(text()?.to_owned())),
        "@object" => match inner {
            Json::Object(map) => decode_object(map),
            _ => Err("@object requires an object value".into()),
        },
        "@doc" | "@ref" | "@date" | "@bytes" | "@uuid" | "@set" | "@stream" => {
            Err(format!("tag {tag} is not supported by the devserver"))
        }
        other => Err(format!("unknown tag {other}")),
    }
}

/// Parses an RFC 3339 time into microseconds since the epoch.
fn parse_time(s: &str) -> Result<i64, String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("invalid @time value '{s}'"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).map_err(|_| "time out of range".to_owned())
}

fn encode_fields(obj: &Obj, tagged: bool) -> Map<String, Json> {
    obj.0
        .iter()
        .map(|(k, v)| (k.clone(), v.encode(tagged)))
        .collect()
}

fn tag(tagged: bool, name: &str, inner: Json) -> Json {
    if tagged {
        let mut map = Map::new();
        map.insert(name.to_owned(), inner);
        Json::Object(map)
    } else {
        inner
    }
}

/// Doubles keep a decimal point so they read back as doubles (`1.0`, not `1`).
fn format_double(d: f64) -> String {
    let s = d.to_string();
    if d.is_finite() && !s.contains(['.', 'e', 'E']) {
        format!("{s}.0")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        Value::Doc(Doc {
            id: "412".into(),
            coll: "Todo".into(),
            ts: 1_700_000_000_000_000,
            fields: Obj(vec![
                ("title".into(), Value::Str("x".into())),
                ("n".into(), Value::Int(2)),
            ]),
        })
    }

    #[test]
    fn jwt_payload_integers_are_longs() {
        let v = Value::from_plain_json(&json!({"iat": 5, "exp": 65, "scale": 1.5, "sub": "u"}));
        assert_eq!(
            v.encode(true),
            json!({"iat": {"@long": "5"}, "exp": {"@long": "65"}, "scale": {"@double": "1.5"}, "sub": "u"})
        );
        assert_eq!(
            v.encode(false),
            json!({"iat": 5, "exp": 65, "scale": 1.5, "sub": "u"})
        );
        assert_eq!(Value::Long(5), Value::Int(5));
    }

    #[test]
    fn encodes_simple_and_tagged() {
        assert_eq!(Value::Int(1).encode(true), json!({"@int": "1"}));
        assert_eq!(
            Value::Int(1 << 40).encode(true),
            json!({"@long": (1i64 << 40).to_string()})
        );
        assert_eq!(Value::Double(1.0).encode(true), json!({"@double": "1.0"}));
        assert_eq!(Value::Int(1).encode(false), json!(1));
        assert_eq!(
            doc().encode(true),
            json!({"@doc": {"id": "412", "coll": {"@mod": "Todo"}, "ts": {"@time": "2023-11-14T22:13:20.000000Z"}, "title": "x", "n": {"@int": "2"}}})
        );
        assert_eq!(
            doc().encode(false),
            json!({"id": "412", "coll": "Todo", "ts": "2023-11-14T22:13:20.000000Z", "title": "x", "n": 2})
        );
        assert_eq!(
            Value::Set(vec![Value::Int(1)]).encode(true),
            json!({"@set": {"data": [{"@int": "1"}]}})
        );
        assert_eq!(
            Value::Set(vec![Value::Int(1)]).encode(false),
            json!({"data": [1]})
        );
        let at = Value::Object(Obj(vec![("@x".into(), Value::Null)]));
        assert_eq!(at.encode(true), json!({"@object": {"@x": null}}));
        let missing = Value::NullDoc {
            id: "1".into(),
            coll: "Todo".into(),
            cause: "not found",
        };
        assert_eq!(missing.encode(false), Json::Null);
        assert_eq!(missing.encode(true)["@ref"]["exists"], json!(false));
    }

    #[test]
    fn decodes_arguments() {
        assert_eq!(
            Value::decode(&json!({"@int": "5"}), true).unwrap(),
            Value::Int(5)
        );
        assert_eq!(Value::decode(&json!(5), false).unwrap(), Value::Int(5));
        assert_eq!(
            Value::decode(&json!(5), true).unwrap_err(),
            "numbers must be tagged"
        );
        assert!(Value::decode(&json!({"@int": "5", "@x": 1}), true).is_err());
        assert_eq!(
            Value::decode(&json!({"@time": "2023-11-14T22:13:20Z"}), true).unwrap(),
            Value::Time(1_700_000_000_000_000)
        );
        assert_eq!(
            Value::decode(&json!({"@object": {"@a": {"@int": "1"}}}), true).unwrap(),
            Value::Object(Obj(vec![("@a".into(), Value::Int(1))]))
        );
    }
}
