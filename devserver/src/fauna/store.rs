//! In-memory documents of the one demo collection, `Todo`, per database.

use super::fql::value::Obj;
use rand::Rng;
use std::collections::{BTreeMap, HashMap};

/// The only collection the devserver knows.
pub const TODO: &str = "Todo";

/// A stored `Todo` document. `owner` lives among `fields`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDoc {
    pub id: u64,
    /// Last write time, microseconds since the epoch.
    pub ts: i64,
    pub fields: Obj,
}

impl StoredDoc {
    /// The `owner` field, if it is a string.
    pub fn owner(&self) -> Option<&str> {
        match self.fields.get("owner") {
            Some(super::fql::value::Value::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// One database's `Todo` documents. Cloned per query so a failed query writes nothing.
#[derive(Debug, Clone)]
pub struct Collection {
    pub docs: BTreeMap<u64, StoredDoc>,
    next_id: u64,
}

impl Default for Collection {
    fn default() -> Self {
        // Fauna document ids are 18-digit numbers; start somewhere that looks like one.
        Collection {
            docs: BTreeMap::new(),
            next_id: 412_000_000_000_000_000 + rand::thread_rng().gen_range(0..1_000_000),
        }
    }
}

impl Collection {
    /// A fresh id, increasing like Fauna's.
    pub fn new_id(&mut self) -> u64 {
        self.next_id += rand::thread_rng().gen_range(1..1_000);
        self.next_id
    }
}

/// All databases' collections, keyed by database id.
#[derive(Debug, Default)]
pub struct Store {
    pub databases: HashMap<String, Collection>,
}

impl Store {
    pub fn collection(&mut self, db_id: &str) -> &mut Collection {
        self.databases.entry(db_id.to_owned()).or_default()
    }
}
