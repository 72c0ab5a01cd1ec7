//! Evaluates the FQL subset against one database's `Todo` collection,
//! enforcing the `user` role's rule: only documents whose `owner` is the
//! token's `sub` can be read or written.

use super::parser::{BinOp, Expr, Stmt};
use super::value::{Doc, Lambda, Obj, Value};
use crate::fauna::store::{Collection, StoredDoc, TODO};
use serde_json::Value as Json;
use std::sync::Arc;

/// What the caller may touch in the `Todo` collection.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// The root secret: everything.
    Admin,
    /// A token with the `user` role: documents owned by this `sub`.
    Owner(String),
    /// A token whose roles grant nothing on `Todo`.
    Nothing,
}

/// A query-level failure (HTTP 400), rendered as `{error:{code,message,abort?}}`.
#[derive(Debug, Clone)]
pub struct QueryFailure {
    pub code: &'static str,
    pub message: String,
    pub abort: Option<Value>,
}

impl QueryFailure {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        QueryFailure {
            code,
            message: message.into(),
            abort: None,
        }
    }

    /// A check failure; Fauna's message, followed by what the devserver found.
    pub fn invalid_query(detail: impl std::fmt::Display) -> Self {
        Self::new(
            "invalid_query",
            format!("The query failed 1 validation check: {detail}"),
        )
    }

    fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new("invalid_argument", message)
    }

    fn permission_denied() -> Self {
        Self::new(
            "permission_denied",
            "Insufficient privileges to perform the action.",
        )
    }

    fn not_found(coll: &str, id: &str) -> Self {
        Self::new(
            "document_not_found",
            format!("Collection `{coll}` does not contain document with id {id}."),
        )
    }
}

type EvalResult = Result<Value, QueryFailure>;
type Env = Vec<(String, Value)>;

/// One query's evaluation: its view of the data and its counters.
pub struct Evaluator<'a> {
    pub access: &'a Access,
    /// The verified JWT payload, if the caller used a token.
    pub token: Option<&'a Json>,
    pub todos: &'a mut Collection,
    /// This transaction's time in microseconds; writes stamp it as `ts`.
    pub txn_ts: i64,
    pub reads: u64,
    pub writes: u64,
    pub compute: u64,
}

impl Evaluator<'_> {
    /// Evaluates a whole query with `arguments` bound as variables.
    pub fn run(&mut self, expr: &Expr, arguments: Vec<(String, Value)>) -> EvalResult {
        let mut env = arguments;
        self.eval(expr, &mut env)
    }

    fn eval(&mut self, expr: &Expr, env: &mut Env) -> EvalResult {
        self.compute += 1;
        match expr {
            Expr::Null => Ok(Value::Null),
            Expr::Bool(b) => Ok(Value::Bool(*b)),
            Expr::Int(i) => Ok(Value::Int(*i)),
            Expr::Double(d) => Ok(Value::Double(*d)),
            Expr::Str(s) => Ok(Value::Str(s.clone())),
            Expr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(item, env)?);
                }
                Ok(Value::Array(out))
            }
            Expr::Object(fields) => {
                let mut obj = Obj::default();
                for (k, e) in fields {
                    let v = self.eval(e, env)?;
                    obj.set(k, v);
                }
                Ok(Value::Object(obj))
            }
            Expr::Var(name) => lookup(env, name),
            Expr::Field {
                target,
                name,
                optional,
            } => {
                let target = self.eval(target, env)?;
                if *optional && matches!(target, Value::Null) {
                    return Ok(Value::Null);
                }
                field(&target, name)
            }
            Expr::Index { target, index } => {
                let target = self.eval(target, env)?;
                let index = self.eval(index, env)?;
                match (&target, &index) {
                    (Value::Array(items), Value::Int(i) | Value::Long(i)) => usize::try_from(*i)
                        .ok()
                        .and_then(|i| items.get(i).cloned())
                        .ok_or_else(|| {
                            QueryFailure::new(
                                "index_out_of_bounds",
                                format!("index {i} out of bounds"),
                            )
                        }),
                    (_, Value::Str(name)) => field(&target, name),
                    _ => Err(QueryFailure::invalid_query(format!(
                        "Cannot index `{}` with `{}`",
                        target.type_name(),
                        index.type_name()
                    ))),
                }
            }
            Expr::NonNull(inner) => match self.eval(inner, env)? {
                Value::Null => Err(QueryFailure::new("invalid_null_access", "Value is null.")),
                Value::NullDoc { id, coll, .. } => Err(QueryFailure::not_found(&coll, &id)),
                v => Ok(v),
            },
            Expr::Not(inner) => match self.eval(inner, env)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                other => Err(type_mismatch("Boolean", &other)),
            },
            Expr::Binary { op, left, right } => self.binary(*op, left, right, env),
            Expr::Lambda { params, body } => Ok(Value::Lambda(Arc::new(Lambda {
                params: params.clone(),
                body: body.clone(),
                env: env.clone(),
            }))),
            Expr::Call { callee, args } => self.call(callee, args, env),
            Expr::Block { stmts, result } => {
                let depth = env.len();
                for stmt in stmts {
                    match stmt {
                        Stmt::Let(name, e) => {
                            let v = self.eval(e, env)?;
                            env.push((name.clone(), v));
                        }
                        Stmt::Expr(e) => {
                            self.eval(e, env)?;
                        }
                    }
                }
                let out = self.eval(result, env);
                env.truncate(depth);
                out
            }
        }
    }

    fn binary(&mut self, op: BinOp, left: &Expr, right: &Expr, env: &mut Env) -> EvalResult {
        let l = self.eval(left, env)?;
        match op {
            BinOp::Eq => Ok(Value::Bool(l == self.eval(right, env)?)),
            BinOp::NotEq => Ok(Value::Bool(l != self.eval(right, env)?)),
            BinOp::And | BinOp::Or => {
                let Value::Bool(l) = l else {
                    return Err(type_mismatch("Boolean", &l));
                };
                // Short-circuit like FQL.
                if (op == BinOp::And && !l) || (op == BinOp::Or && l) {
                    return Ok(Value::Bool(l));
                }
                match self.eval(right, env)? {
                    Value::Bool(r) => Ok(Value::Bool(r)),
                    other => Err(type_mismatch("Boolean", &other)),
                }
            }
        }
    }

    fn call(&mut self, callee: &Expr, args: &[Expr], env: &mut Env) -> EvalResult {
        // Method call: `target.name(args)`.
        if let Expr::Field {
            target,
            name,
            optional,
        } = callee
        {
            if name == "eventSource" || name == "eventsOn" {
                let args = self.eval_args(args, env)?;
                return self.event_source(target, name, args, env);
            }
            let target = self.eval(target, env)?;
            if *optional && matches!(target, Value::Null) {
                return Ok(Value::Null);
            }
            let args = self.eval_args(args, env)?;
            return self.method(target, name, args);
        }
        // Built-in function, unless shadowed by a variable.
        if let Expr::Var(name) = callee {
            if !env.iter().any(|(k, _)| k == name) {
                let args = self.eval_args(args, env)?;
                return match name.as_str() {
                    "abort" => {
                        let [value] = exactly::<1>("abort", args)?;
                        Err(QueryFailure {
                            code: "abort",
                            message: "Query aborted.".into(),
                            abort: Some(value),
                        })
                    }
                    _ => Err(QueryFailure::invalid_query(format!(
                        "Unbound variable `{name}`"
                    ))),
                };
            }
        }
        let f = self.eval(callee, env)?;
        let args = self.eval_args(args, env)?;
        self.apply(&f, args)
    }

    fn eval_args(&mut self, args: &[Expr], env: &mut Env) -> Result<Vec<Value>, QueryFailure> {
        args.iter().map(|a| self.eval(a, env)).collect()
    }

    fn apply(&mut self, f: &Value, args: Vec<Value>) -> EvalResult {
        let Value::Lambda(lambda) = f else {
            return Err(QueryFailure::invalid_query(format!(
                "`{}` is not a function",
                f.type_name()
            )));
        };
        if lambda.params.len() != args.len() {
            return Err(QueryFailure::invalid_argument(format!(
                "expected {} arguments, received {}",
                lambda.params.len(),
                args.len()
            )));
        }
        let mut env = lambda.env.clone();
        env.extend(lambda.params.iter().cloned().zip(args));
        let body = lambda.body.clone();
        self.eval(&body, &mut env)
    }

    /// Whether a stored document passes predicate `f` (for stream events).
    pub fn holds(&mut self, f: &Value, doc: &StoredDoc) -> Result<bool, QueryFailure> {
        self.predicate(f, to_doc(doc))
    }

    /// `<set>.eventSource()` / `<set>.eventsOn(.f, ..)`: the set must be `Todo.all()` or
    /// `Todo.where(..)`, narrowed by more `.where(..)`; read from the syntax because
    /// evaluated sets are materialised. The value is a stream token.
    fn event_source(
        &mut self,
        target: &Expr,
        method: &str,
        args: Vec<Value>,
        env: &mut Env,
    ) -> EvalResult {
        let mut filters = Vec::new();
        self.source_filters(target, env, &mut filters)?;
        if *self.access == Access::Nothing {
            return Err(QueryFailure::permission_denied());
        }
        let watched = if method == "eventsOn" {
            if args.is_empty() {
                return Err(QueryFailure::invalid_argument(
                    "`eventsOn` expects at least 1 argument(s), received 0",
                ));
            }
            args.iter().map(watched_path).collect::<Result<_, _>>()?
        } else {
            exactly::<0>(method, args)?;
            Vec::new()
        };
        let def = crate::fauna::stream_hub::SourceDef { filters, watched };
        Ok(Value::EventSource(
            crate::fauna::stream_hub::register_source(def, self.txn_ts),
        ))
    }

    fn source_filters(
        &mut self,
        expr: &Expr,
        env: &mut Env,
        filters: &mut Vec<Value>,
    ) -> Result<(), QueryFailure> {
        let unsupported = || {
            QueryFailure::invalid_query(
                "The devserver streams only `Todo.all()` and `Todo.where(..)`, optionally followed by `.where(..)`",
            )
        };
        let Expr::Call { callee, args } = expr else {
            return Err(unsupported());
        };
        let Expr::Field {
            target,
            name,
            optional: false,
        } = &**callee
        else {
            return Err(unsupported());
        };
        let is_collection =
            matches!(&**target, Expr::Var(n) if n == TODO && !env.iter().any(|(k, _)| k == n));
        match name.as_str() {
            "all" if is_collection && args.is_empty() => Ok(()),
            "where" if args.len() == 1 => {
                if !is_collection {
                    self.source_filters(target, env, filters)?;
                }
                let f = self.eval(&args[0], env)?;
                if !matches!(f, Value::Lambda(_)) {
                    return Err(type_mismatch("Function", &f));
                }
                filters.push(f);
                Ok(())
            }
            _ => Err(unsupported()),
        }
    }

    fn predicate(&mut self, f: &Value, item: Value) -> Result<bool, QueryFailure> {
        match self.apply(f, vec![item])? {
            Value::Bool(b) => Ok(b),
            other => Err(QueryFailure::invalid_argument(format!(
                "predicate returned `{}`, expected `Boolean`",
                other.type_name()
            ))),
        }
    }

    fn method(&mut self, target: Value, name: &str, args: Vec<Value>) -> EvalResult {
        match (&target, name) {
            (Value::Module(m), _) if m == TODO => self.collection_method(name, args),
            (Value::Module(m), "token") if m == "Query" => {
                exactly::<0>("token", args)?;
                Ok(self.token.map_or(Value::Null, Value::from_plain_json))
            }
            (Value::Module(m), "identity") if m == "Query" => {
                // Fauna returns null for JWT callers (no identity document) and for keys.
                exactly::<0>("identity", args)?;
                Ok(Value::Null)
            }
            (Value::Set(items) | Value::Array(items), _) => {
                let is_set = matches!(target, Value::Set(_));
                self.sequence_method(items.clone(), is_set, name, args)
            }
            (Value::Doc(doc), "update") => {
                let [data] = exactly::<1>("update", args)?;
                self.update(doc, data)
            }
            (Value::Doc(doc), "delete") => {
                exactly::<0>("delete", args)?;
                self.delete(doc)
            }
            (Value::Doc(_), "exists") => Ok(Value::Bool(true)),
            (Value::NullDoc { .. }, "exists") => Ok(Value::Bool(false)),
            (Value::NullDoc { id, coll, .. }, _) => Err(QueryFailure::not_found(coll, id)),
            (Value::Null, _) => Err(QueryFailure::new(
                "invalid_null_access",
                format!("Cannot call `{name}` on null."),
            )),
            _ => Err(QueryFailure::invalid_query(format!(
                "The method `{name}` on `{}` is not supported by the devserver",
                type_label(&target)
            ))),
        }
    }

    fn collection_method(&mut self, name: &str, args: Vec<Value>) -> EvalResult {
        match name {
            "create" => {
                let [data] = exactly::<1>("create", args)?;
                self.create(data)
            }
            "all" => {
                exactly::<0>("all", args)?;
                Ok(Value::Set(self.visible()?))
            }
            "byId" => {
                let [id] = exactly::<1>("byId", args)?;
                self.by_id(&id)
            }
            "where" | "firstWhere" => {
                let [f] = exactly::<1>(name, args)?;
                let docs = self.visible()?;
                let found = self.filter(docs, &f)?;
                Ok(if name == "where" {
                    Value::Set(found)
                } else {
                    found.into_iter().next().unwrap_or(Value::Null)
                })
            }
            _ => Err(QueryFailure::invalid_query(format!(
                "The method `{name}` on collection `Todo` is not supported by the devserver"
            ))),
        }
    }

    fn sequence_method(
        &mut self,
        items: Vec<Value>,
        is_set: bool,
        name: &str,
        args: Vec<Value>,
    ) -> EvalResult {
        let wrap = |items: Vec<Value>| {
            if is_set {
                Value::Set(items)
            } else {
                Value::Array(items)
            }
        };
        match name {
            "where" => {
                let [f] = exactly::<1>("where", args)?;
                Ok(wrap(self.filter(items, &f)?))
            }
            "map" => {
                let [f] = exactly::<1>("map", args)?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.apply(&f, vec![item])?);
                }
                Ok(wrap(out))
            }
            "first" => {
                exactly::<0>("first", args)?;
                Ok(items.into_iter().next().unwrap_or(Value::Null))
            }
            "toArray" => {
                exactly::<0>("toArray", args)?;
                Ok(Value::Array(items))
            }
            "count" => {
                exactly::<0>("count", args)?;
                Ok(Value::Int(items.len() as i64))
            }
            "includes" => {
                let [v] = exactly::<1>("includes", args)?;
                Ok(Value::Bool(items.contains(&v)))
            }
            _ => Err(QueryFailure::invalid_query(format!(
                "The method `{name}` on `{}` is not supported by the devserver",
                if is_set { "Set" } else { "Array" }
            ))),
        }
    }

    fn filter(&mut self, items: Vec<Value>, f: &Value) -> Result<Vec<Value>, QueryFailure> {
        let mut out = Vec::new();
        for item in items {
            if self.predicate(f, item.clone())? {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// The documents the caller may read, oldest first.
    fn visible(&mut self) -> Result<Vec<Value>, QueryFailure> {
        let owner = match self.access {
            Access::Admin => None,
            Access::Owner(sub) => Some(sub.as_str()),
            Access::Nothing => return Err(QueryFailure::permission_denied()),
        };
        let docs: Vec<Value> = self
            .todos
            .docs
            .values()
            .filter(|d| owner.is_none() || d.owner() == owner)
            .map(to_doc)
            .collect();
        self.reads += docs.len() as u64;
        Ok(docs)
    }

    fn can_touch(&self, doc: &StoredDoc) -> bool {
        match self.access {
            Access::Admin => true,
            Access::Owner(sub) => doc.owner() == Some(sub.as_str()),
            Access::Nothing => false,
        }
    }

    fn by_id(&mut self, id: &Value) -> EvalResult {
        if *self.access == Access::Nothing {
            return Err(QueryFailure::permission_denied());
        }
        let id_text = match id {
            Value::Str(s) => s.clone(),
            Value::Int(i) | Value::Long(i) => i.to_string(),
            other => return Err(type_mismatch("ID", other)),
        };
        let Ok(numeric) = id_text.parse::<u64>() else {
            return Err(QueryFailure::invalid_argument(format!(
                "Invalid ID `{id_text}`: IDs are strings of digits."
            )));
        };
        self.reads += 1;
        match self.todos.docs.get(&numeric) {
            None => Ok(Value::NullDoc {
                id: id_text,
                coll: TODO.into(),
                cause: "not found",
            }),
            Some(doc) if !self.can_touch(doc) => Err(QueryFailure::permission_denied()),
            Some(doc) => Ok(to_doc(doc)),
        }
    }

    fn create(&mut self, data: Value) -> EvalResult {
        let fields = match &self.access {
            Access::Nothing => return Err(QueryFailure::permission_denied()),
            Access::Admin => writable_fields(data, true)?,
            Access::Owner(sub) => {
                let mut fields = writable_fields(data, false)?;
                fields.set("owner", Value::Str(sub.clone()));
                fields
            }
        };
        let id = self.todos.new_id();
        let doc = StoredDoc {
            id,
            ts: self.txn_ts,
            fields,
        };
        self.todos.docs.insert(id, doc.clone());
        self.writes += 1;
        Ok(to_doc(&doc))
    }

    /// Re-reads the document: the value may be stale within this query.
    fn current(&self, doc: &Doc) -> Result<StoredDoc, QueryFailure> {
        let stored = doc
            .id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.todos.docs.get(&id));
        match stored {
            None => Err(QueryFailure::not_found(&doc.coll, &doc.id)),
            Some(stored) if !self.can_touch(stored) => Err(QueryFailure::permission_denied()),
            Some(stored) => Ok(stored.clone()),
        }
    }

    fn update(&mut self, doc: &Doc, data: Value) -> EvalResult {
        let mut stored = self.current(doc)?;
        let admin = *self.access == Access::Admin;
        for (k, v) in writable_fields(data, admin)?.0 {
            // Setting a field to null removes it, as in Fauna.
            if matches!(v, Value::Null) {
                stored.fields.remove(&k);
            } else {
                stored.fields.set(&k, v);
            }
        }
        stored.ts = self.txn_ts;
        self.todos.docs.insert(stored.id, stored.clone());
        self.writes += 1;
        Ok(to_doc(&stored))
    }

    fn delete(&mut self, doc: &Doc) -> EvalResult {
        let stored = self.current(doc)?;
        self.todos.docs.remove(&stored.id);
        self.writes += 1;
        Ok(Value::NullDoc {
            id: doc.id.clone(),
            coll: doc.coll.clone(),
            cause: "deleted",
        })
    }
}

/// Checks user-supplied document data: an object of storable values, no reserved fields.
fn writable_fields(data: Value, may_set_owner: bool) -> Result<Obj, QueryFailure> {
    let Value::Object(obj) = data else {
        return Err(type_mismatch("Object", &data));
    };
    for (k, v) in &obj.0 {
        if matches!(k.as_str(), "id" | "coll" | "ts") {
            return Err(QueryFailure::invalid_argument(format!(
                "The field `{k}` is reserved and cannot be written."
            )));
        }
        if k == "owner" && !may_set_owner {
            return Err(QueryFailure::invalid_argument(
                "The field `owner` is set from the token's `sub` and cannot be written.",
            ));
        }
        if !storable(v) {
            return Err(QueryFailure::invalid_argument(format!(
                "The field `{k}` holds a `{}`, which cannot be stored.",
                v.type_name()
            )));
        }
    }
    Ok(obj)
}

/// The field path of an `eventsOn` argument such as `.title` or `x => x.a.b`.
fn watched_path(f: &Value) -> Result<Vec<String>, QueryFailure> {
    let bad =
        || QueryFailure::invalid_argument("`eventsOn` takes field accessors such as `.title`");
    let Value::Lambda(lambda) = f else {
        return Err(bad());
    };
    let [param] = lambda.params.as_slice() else {
        return Err(bad());
    };
    let mut path = Vec::new();
    let mut expr: &Expr = &lambda.body;
    loop {
        match expr {
            Expr::Field { target, name, .. } => {
                path.push(name.clone());
                expr = target;
            }
            Expr::Var(v) if v == param && !path.is_empty() => break,
            _ => return Err(bad()),
        }
    }
    path.reverse();
    Ok(path)
}

fn storable(v: &Value) -> bool {
    match v {
        Value::Lambda(_) | Value::Set(_) | Value::Module(_) | Value::EventSource(_) => false,
        Value::Array(items) => items.iter().all(storable),
        Value::Object(obj) => obj.0.iter().all(|(_, v)| storable(v)),
        _ => true,
    }
}

pub fn to_doc(doc: &StoredDoc) -> Value {
    Value::Doc(Doc {
        id: doc.id.to_string(),
        coll: TODO.into(),
        ts: doc.ts,
        fields: doc.fields.clone(),
    })
}

fn lookup(env: &Env, name: &str) -> EvalResult {
    if let Some((_, v)) = env.iter().rev().find(|(k, _)| k == name) {
        return Ok(v.clone());
    }
    match name {
        "Todo" | "Query" => Ok(Value::Module(name.to_owned())),
        _ => Err(QueryFailure::invalid_query(format!(
            "Unbound variable `{name}`"
        ))),
    }
}

/// Reads a field; missing fields of objects and documents are null, as in FQL.
fn field(target: &Value, name: &str) -> EvalResult {
    match target {
        Value::Object(obj) => Ok(obj.get(name).cloned().unwrap_or(Value::Null)),
        Value::Doc(doc) => Ok(match name {
            "id" => Value::Str(doc.id.clone()),
            "coll" => Value::Module(doc.coll.clone()),
            "ts" => Value::Time(doc.ts),
            _ => doc.fields.get(name).cloned().unwrap_or(Value::Null),
        }),
        Value::NullDoc { id, coll, .. } => match name {
            "id" => Ok(Value::Str(id.clone())),
            "coll" => Ok(Value::Module(coll.clone())),
            _ => Err(QueryFailure::not_found(coll, id)),
        },
        Value::Array(items) if name == "length" => Ok(Value::Int(items.len() as i64)),
        Value::Str(s) if name == "length" => Ok(Value::Int(s.chars().count() as i64)),
        Value::Null => Err(QueryFailure::new(
            "invalid_null_access",
            format!("Cannot access `{name}` on null."),
        )),
        other => Err(QueryFailure::invalid_query(format!(
            "Type `{}` does not have field `{name}`",
            type_label(other)
        ))),
    }
}

fn type_label(v: &Value) -> String {
    match v {
        Value::Module(m) if m == TODO => "TodoCollection".into(),
        Value::Module(m) => m.clone(),
        other => other.type_name().into(),
    }
}

fn type_mismatch(expected: &str, got: &Value) -> QueryFailure {
    QueryFailure::new(
        "invalid_argument",
        format!("expected type: {expected}, received {}", got.type_name()),
    )
}

/// Checks the argument count of a built-in and hands the arguments back as an array.
fn exactly<const N: usize>(name: &str, args: Vec<Value>) -> Result<[Value; N], QueryFailure> {
    let got = args.len();
    args.try_into().map_err(|_| {
        QueryFailure::invalid_argument(format!("`{name}` expects {N} argument(s), received {got}"))
    })
}
