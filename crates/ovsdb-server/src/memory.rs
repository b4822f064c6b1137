//! The embedded server's transaction engine as a plain, synchronous in-memory database.
//!
//! [`MemoryDb`] holds one database and applies `transact` operations exactly as the
//! embedded server does (and so as `ovsdb-server` does, see the crate's conformance suite):
//! column types and constraints, named UUIDs, strong and weak references, garbage
//! collection of unreferenced non-root rows, index uniqueness, `maxRows`, all-or-nothing
//! commits. No socket, no runtime, no clock: a `wait` that does not hold fails at once (a
//! timeout of 0), and `assert` of any lock holds.
//!
//! It is the one offline OVSDB semantics of the workspace: dry runs and simulations (the
//! isolation planners' `apply`, test worlds, the northd stand-in) apply their operations
//! here instead of keeping partial copies of the server's rules.
//!
//! ```
//! use ovsdb_proto::{Atom, Datum, DatabaseSchema, Operation, Row};
//! use ovsdb_server::MemoryDb;
//!
//! let schema = DatabaseSchema::from_slice(br#"{"name":"Db","tables":{
//!     "Zone":{"columns":{"name":{"type":"string"}},"isRoot":true}}}"#)?;
//! let mut db = MemoryDb::new(schema);
//! let mut row = Row::new();
//! row.insert("name".to_owned(), Datum::from(Atom::from("az1")));
//! let reply = db.transact(&[Operation::Insert {
//!     table: "Zone".into(),
//!     row,
//!     uuid_name: None,
//!     uuid: None,
//! }])?;
//! assert!(reply.into_result().is_ok());
//! assert_eq!(db.rows("Zone").count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use ovsdb_proto::typed::Table;
use ovsdb_proto::{DatabaseSchema, Operation, Row, TransactReply, Uuid};
use serde_json::value::RawValue;

use crate::db::{Db, Outcome, TxnContext};

/// Why a [`MemoryDb`] call failed (an OVSDB error of the transaction itself is data in the
/// [`TransactReply`], not a `MemoryError`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// An operation could not be encoded (it holds a value JSON cannot carry).
    #[error("operation {index} cannot be encoded: {source}")]
    Encode {
        /// Its position in the transaction.
        index: usize,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The engine's reply did not decode as a transaction reply.
    #[error("transaction reply: {0}")]
    Reply(#[source] serde_json::Error),
    /// A stored row did not decode as the typed row of its table.
    #[error("{table} {uuid}: {source}")]
    Decode {
        /// The table.
        table: String,
        /// The row.
        uuid: Uuid,
        /// The cause.
        #[source]
        source: ovsdb_proto::Error,
    },
}

/// One database in memory, with the embedded server's transaction semantics.
#[derive(Debug)]
pub struct MemoryDb {
    db: Db,
}

impl MemoryDb {
    /// An empty database of `schema`.
    pub fn new(schema: DatabaseSchema) -> Self {
        MemoryDb {
            db: Db::new(schema),
        }
    }

    /// The schema.
    pub fn schema(&self) -> &DatabaseSchema {
        &self.db.schema
    }

    /// Runs one transaction: the reply as `ovsdb-server` would send it (one result per
    /// operation, an error stopping the transaction, which then changes nothing).
    ///
    /// # Errors
    ///
    /// Only when an operation cannot be encoded or the reply not decoded; OVSDB errors are
    /// in the reply.
    pub fn transact(&mut self, ops: &[Operation]) -> Result<TransactReply, MemoryError> {
        let raw = ops
            .iter()
            .enumerate()
            .map(|(index, op)| {
                serde_json::value::to_raw_value(op)
                    .map_err(|source| MemoryError::Encode { index, source })
            })
            .collect::<Result<Vec<Box<RawValue>>, _>>()?;
        let ctx = TxnContext {
            holds_lock: &|_| true,
            expired: true,
            read_only: false,
        };
        let results = match self.db.transact(&raw, &ctx) {
            Outcome::Done { results, .. } => results,
            // With `expired` set, a `wait` that does not hold fails instead of blocking.
            Outcome::Blocked { .. } => unreachable!("an expired transaction never blocks"),
        };
        serde_json::from_value(serde_json::Value::Array(results)).map_err(MemoryError::Reply)
    }

    /// Every row of `table` (every column, defaults included), in UUID order; nothing for a
    /// table the schema lacks.
    pub fn rows(&self, table: &str) -> impl Iterator<Item = (Uuid, &Row)> + '_ {
        let mut rows: Vec<(Uuid, &Row)> = self
            .db
            .tables
            .get(table)
            .into_iter()
            .flat_map(|t| t.iter().map(|(u, r)| (*u, &r.row)))
            .collect();
        rows.sort_unstable_by_key(|(u, _)| *u);
        rows.into_iter()
    }

    /// Every row of `T`'s table as typed rows, by UUID.
    ///
    /// # Errors
    ///
    /// When a stored row does not fit `T` (a schema other than the one `T` was generated
    /// from).
    pub fn typed<T: Table>(&self) -> Result<BTreeMap<Uuid, T>, MemoryError> {
        self.rows(T::NAME)
            .map(|(uuid, row)| {
                T::from_row(uuid, row)
                    .map(|t| (uuid, t))
                    .map_err(|source| MemoryError::Decode {
                        table: T::NAME.to_owned(),
                        uuid,
                        source,
                    })
            })
            .collect()
    }

    /// Every row of every table, as a [`Dump`](ovsdb_proto::dump::Dump) (every column,
    /// defaults included).
    pub fn dump(&self) -> ovsdb_proto::dump::Dump {
        let mut d = ovsdb_proto::dump::Dump::new();
        for (table, rows) in &self.db.tables {
            for (uuid, row) in rows {
                d.insert(table, *uuid, row.row.clone());
            }
        }
        d
    }

    /// Inserts rows with their own UUIDs (for example from `ovsdb-client dump`), in one
    /// transaction checked like any other: references must resolve within the database.
    ///
    /// # Errors
    ///
    /// As [`MemoryDb::transact`].
    pub fn load<'a>(
        &mut self,
        rows: impl IntoIterator<Item = (&'a str, Uuid, Row)>,
    ) -> Result<TransactReply, MemoryError> {
        let ops: Vec<Operation> = rows
            .into_iter()
            .map(|(table, uuid, row)| Operation::Insert {
                table: table.to_owned(),
                row,
                uuid_name: None,
                uuid: Some(uuid),
            })
            .collect();
        self.transact(&ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb_proto::{Condition, Datum, Mutation, Mutator};

    const SCHEMA: &str = r#"{"name":"Db","tables":{
        "Router":{"columns":{"name":{"type":"string"},
            "routes":{"type":{"key":{"type":"uuid","refTable":"Route"},"min":0,"max":"unlimited"}}},
            "isRoot":true,"indexes":[["name"]]},
        "Route":{"columns":{"prefix":{"type":"string"}}}}}"#;

    fn db() -> MemoryDb {
        MemoryDb::new(DatabaseSchema::from_slice(SCHEMA.as_bytes()).unwrap())
    }

    fn router(name: &str) -> Row {
        let mut r = Row::new();
        r.insert(
            "name".to_owned(),
            Datum::from(ovsdb_proto::Atom::from(name)),
        );
        r
    }

    #[test]
    fn garbage_collection_and_named_uuids_follow_the_server() {
        let mut db = db();
        let mut route = Row::new();
        route.insert(
            "prefix".to_owned(),
            Datum::from(ovsdb_proto::Atom::from("10.0.0.0/24")),
        );
        let mut lr = router("lr1");
        lr.insert(
            "routes".to_owned(),
            Datum::from(ovsdb_proto::Atom::NamedUuid("r".into())),
        );
        let reply = db
            .transact(&[
                Operation::Insert {
                    table: "Route".into(),
                    row: route,
                    uuid_name: Some("r".into()),
                    uuid: None,
                },
                Operation::Insert {
                    table: "Router".into(),
                    row: lr,
                    uuid_name: None,
                    uuid: Some(Uuid::from_u128(1)),
                },
            ])
            .unwrap();
        assert!(reply.into_result().is_ok());
        assert_eq!(db.rows("Route").count(), 1);
        // Dropping the only reference collects the non-root row.
        let (route_uuid, _) = db.rows("Route").next().unwrap();
        let reply = db
            .transact(&[Operation::Mutate {
                table: "Router".into(),
                conditions: vec![Condition::uuid(Uuid::from_u128(1))],
                mutations: vec![Mutation::new(
                    "routes",
                    Mutator::Delete,
                    Datum::from(ovsdb_proto::Atom::Uuid(route_uuid)),
                )],
            }])
            .unwrap();
        assert!(reply.into_result().is_ok());
        assert_eq!(db.rows("Route").count(), 0);
    }

    #[test]
    fn a_failed_operation_changes_nothing() {
        let mut db = db();
        let insert = |name: &str| Operation::Insert {
            table: "Router".into(),
            row: router(name),
            uuid_name: None,
            uuid: None,
        };
        assert!(db.transact(&[insert("a")]).unwrap().into_result().is_ok());
        // The second "a" violates the index: the whole transaction is refused.
        let reply = db.transact(&[insert("b"), insert("a")]).unwrap();
        let (_, err) = reply.first_error().expect("an error");
        assert_eq!(err.error, "constraint violation");
        let names: Vec<String> = db
            .rows("Router")
            .filter_map(|(_, r)| r.get("name")?.as_atom()?.as_str().map(str::to_owned))
            .collect();
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn a_wait_that_does_not_hold_fails_at_once() {
        let mut db = db();
        let reply = db
            .transact(&[Operation::Wait {
                table: "Router".into(),
                timeout: Some(1000),
                conditions: Vec::new(),
                columns: vec!["name".into()],
                until: ovsdb_proto::WaitUntil::Equal,
                rows: vec![router("x")],
            }])
            .unwrap();
        assert_eq!(reply.first_error().unwrap().1.error, "timed out");
    }
}
