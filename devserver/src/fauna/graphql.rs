//! `POST /graphql`, an opt-in (`--graphql`): a tiny GraphQL schema over the
//! same `Todo` documents and the same token rules, standing in for hosted
//! Fauna's retired GraphQL API. NOT part of Fauna's server: the open-sourced
//! server has no GraphQL endpoint (`/graphql` is a v4 404 there). It serves
//! code written against hosted Fauna and GraphQL layers that forward to Fauna.

use super::auth::{Principal, Refusal};
use super::fql::access_for;
use super::fql::eval::Access;
use super::fql::value::{Obj, Value};
use super::store::StoredDoc;
use super::{refusal_answer, AuthOutcome, FaunaState, Protocol};
use crate::util::{json_response, parse_json};
use async_graphql::{Context, EmptySubscription, Error, Object, Schema, SimpleObject, ID};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;
use std::sync::Arc;

pub type FaunaSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

pub fn schema() -> FaunaSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .limit_depth(16)
        .limit_complexity(500)
        .finish()
}

/// A `Todo` document as GraphQL shows it.
#[derive(SimpleObject)]
pub struct Todo {
    id: ID,
    title: String,
    done: bool,
    owner: String,
}

impl From<&StoredDoc> for Todo {
    fn from(doc: &StoredDoc) -> Self {
        let title = match doc.fields.get("title") {
            Some(Value::Str(s)) => s.clone(),
            _ => String::new(),
        };
        let done = matches!(doc.fields.get("done"), Some(Value::Bool(true)));
        Todo {
            id: ID(doc.id.to_string()),
            title,
            done,
            owner: doc.owner().unwrap_or_default().to_owned(),
        }
    }
}

/// Per-request data: who is asking, and the server state.
struct Caller {
    principal: Principal,
    state: Arc<FaunaState>,
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The token's `sub`.
    async fn whoami(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let caller = ctx.data::<Caller>()?;
        caller
            .principal
            .sub()
            .map(str::to_owned)
            .ok_or_else(|| Error::new("missing identity"))
    }

    /// The caller's own todos.
    async fn todos(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Todo>> {
        let caller = ctx.data::<Caller>()?;
        let owner = match access_for(&caller.principal) {
            Access::Admin => None,
            Access::Owner(sub) => Some(sub),
            Access::Nothing => {
                return Err(Error::new("Insufficient privileges to perform the action."))
            }
        };
        let mut store = caller.state.lock_store();
        let todos = store.collection(caller.principal.database());
        Ok(todos
            .docs
            .values()
            .filter(|d| owner.is_none() || d.owner() == owner.as_deref())
            .map(Todo::from)
            .collect())
    }
}

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    /// Creates a todo owned by the caller.
    async fn create_todo(&self, ctx: &Context<'_>, title: String) -> async_graphql::Result<Todo> {
        let caller = ctx.data::<Caller>()?;
        let mut fields = Obj(vec![
            ("title".into(), Value::Str(title)),
            ("done".into(), Value::Bool(false)),
        ]);
        match access_for(&caller.principal) {
            Access::Owner(sub) => fields.set("owner", Value::Str(sub)),
            Access::Admin => {}
            Access::Nothing => {
                return Err(Error::new("Insufficient privileges to perform the action."))
            }
        }
        let ts = caller.state.next_txn_ts();
        let mut store = caller.state.lock_store();
        let todos = store.collection(caller.principal.database());
        let id = todos.new_id();
        let doc = StoredDoc { id, ts, fields };
        let todo = Todo::from(&doc);
        todos.docs.insert(id, doc);
        Ok(todo)
    }
}

fn graphql_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }),
    )
}

pub async fn endpoint(
    State(state): State<Arc<FaunaState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(schema) = &state.graphql else {
        return super::v4::not_found().await;
    };
    let auth = state.auth.authenticate(&headers).await;
    let outcome = AuthOutcome::from_result(&auth);
    let response = match auth {
        Err(rejection) => {
            let (status, code, message) = refusal_answer(rejection.refusal, Protocol::GraphQl);
            let mut r = graphql_error(status, code, message);
            if rejection.refusal == Refusal::Unauthorized {
                r.headers_mut()
                    .insert("www-authenticate", HeaderValue::from_static("Bearer"));
            }
            r
        }
        Ok(principal) => match parse_json::<async_graphql::Request>(&body) {
            Err(e) => graphql_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("Invalid GraphQL request: {e}"),
            ),
            Ok(request) => {
                let caller = Caller {
                    principal,
                    state: state.clone(),
                };
                let result = schema.execute(request.data(caller)).await;
                let body =
                    serde_json::to_value(&result).unwrap_or_else(|_| json!({ "errors": [] }));
                json_response(StatusCode::OK, body)
            }
        },
    };
    outcome.attach(response)
}
