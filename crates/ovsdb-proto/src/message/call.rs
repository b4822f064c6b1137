//! The typed calls of every method (RFC 7047 §4.1, ovsdb-server.7 §4.1): monitor requests,
//! [`Call`], decoding a request's `params` by method and encoding them back.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;
use crate::data::{Uuid, UuidStr};
use crate::error::{Error, Result};
use crate::operation::{Condition, Operation};
use crate::row::{TableUpdates, TableUpdates2};

/// Which rows' changes a monitor reports (RFC 7047 §4.1.5 `<monitor-select>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MonitorSelect {
    /// Rows present when the monitor starts.
    #[serde(default = "yes")]
    pub initial: bool,
    /// Inserted rows.
    #[serde(default = "yes")]
    pub insert: bool,
    /// Deleted rows.
    #[serde(default = "yes")]
    pub delete: bool,
    /// Modified rows.
    #[serde(default = "yes")]
    pub modify: bool,
}

fn yes() -> bool {
    true
}

impl Default for MonitorSelect {
    fn default() -> Self {
        MonitorSelect {
            initial: true,
            insert: true,
            delete: true,
            modify: true,
        }
    }
}

/// One `<monitor-request>` (or `<monitor-cond-request>`) for a table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorRequest {
    /// Columns to report (all if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Conditions (`monitor_cond` only): a row is reported if any of them holds. Absent or
    /// empty means every row; `[false]` means none.
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Kinds of changes to report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<MonitorSelect>,
}

/// Monitor requests by table. On the wire each table maps to one request or an array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MonitorRequests(pub BTreeMap<String, Vec<MonitorRequest>>);

impl MonitorRequests {
    /// Adds a request for `table`.
    pub fn with(mut self, table: impl Into<String>, request: MonitorRequest) -> Self {
        self.0.entry(table.into()).or_default().push(request);
        self
    }
}

impl<'de> Deserialize<'de> for MonitorRequests {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(MonitorRequest),
            Many(Vec<MonitorRequest>),
        }
        let m = BTreeMap::<String, OneOrMany>::deserialize(d)?;
        Ok(MonitorRequests(
            m.into_iter()
                .map(|(t, r)| {
                    (
                        t,
                        match r {
                            OneOrMany::One(r) => vec![r],
                            OneOrMany::Many(v) => v,
                        },
                    )
                })
                .collect(),
        ))
    }
}

/// A typed method call: what a request or notification asks for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Call {
    /// `list_dbs []`.
    ListDbs,
    /// `get_schema [db]`.
    GetSchema {
        /// Database name.
        db: String,
    },
    /// `transact [db, op…]`.
    Transact {
        /// Database name.
        db: String,
        /// Operations, executed in order.
        ops: Vec<Operation>,
    },
    /// `cancel [id]`: cancel an outstanding transact.
    Cancel {
        /// Id of the request to cancel.
        id: Value,
    },
    /// `monitor [db, monitor-id, requests]`.
    Monitor {
        /// Database name.
        db: String,
        /// Caller-chosen monitor id.
        monitor_id: Value,
        /// Requests by table.
        requests: MonitorRequests,
    },
    /// `monitor_cond [db, monitor-id, requests]`.
    MonitorCond {
        /// Database name.
        db: String,
        /// Caller-chosen monitor id.
        monitor_id: Value,
        /// Requests by table.
        requests: MonitorRequests,
    },
    /// `monitor_cond_since [db, monitor-id, requests, last-txn-id]`.
    MonitorCondSince {
        /// Database name.
        db: String,
        /// Caller-chosen monitor id.
        monitor_id: Value,
        /// Requests by table.
        requests: MonitorRequests,
        /// Last transaction seen (the zero UUID if none).
        last_txn_id: Uuid,
    },
    /// `monitor_cond_change [monitor-id, new-monitor-id, requests]`.
    MonitorCondChange {
        /// Current monitor id.
        monitor_id: Value,
        /// New monitor id.
        new_monitor_id: Value,
        /// New conditions by table.
        requests: MonitorRequests,
    },
    /// `monitor_cancel [monitor-id]`.
    MonitorCancel {
        /// Monitor to cancel.
        monitor_id: Value,
    },
    /// `lock [lock-id]`.
    Lock {
        /// Lock name.
        lock: String,
    },
    /// `steal [lock-id]`.
    Steal {
        /// Lock name.
        lock: String,
    },
    /// `unlock [lock-id]`.
    Unlock {
        /// Lock name.
        lock: String,
    },
    /// `echo [any…]`.
    Echo(Vec<Value>),
    /// `set_db_change_aware [bool]`.
    SetDbChangeAware(bool),
    /// `get_server_id []`.
    GetServerId,
    /// `convert [db, schema]`.
    Convert {
        /// Database name.
        db: String,
        /// The new schema (kept as JSON).
        schema: Value,
    },
    /// `update [monitor-id, table-updates]` (server → client).
    Update {
        /// Monitor id.
        monitor_id: Value,
        /// The changes.
        updates: TableUpdates,
    },
    /// `update2 [monitor-id, table-updates2]` (server → client).
    Update2 {
        /// Monitor id.
        monitor_id: Value,
        /// The changes.
        updates: TableUpdates2,
    },
    /// `update3 [monitor-id, last-txn-id, table-updates2]` (server → client).
    Update3 {
        /// Monitor id.
        monitor_id: Value,
        /// Id of the transaction that made these changes.
        last_txn_id: Uuid,
        /// The changes.
        updates: TableUpdates2,
    },
    /// `locked [lock-id]` (server → client).
    Locked {
        /// Lock name.
        lock: String,
    },
    /// `stolen [lock-id]` (server → client).
    Stolen {
        /// Lock name.
        lock: String,
    },
    /// `monitor_canceled [monitor-id]` (server → client).
    MonitorCanceled {
        /// Monitor id.
        monitor_id: Value,
    },
}

pub(super) struct UuidText<'a>(pub(super) &'a Uuid);

impl Serialize for UuidText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut buf = Uuid::encode_buffer();
        s.serialize_str(self.0.hyphenated().encode_lower(&mut buf))
    }
}

/// Serializes a call's `params` array.
struct Params<'a>(&'a Call);

impl Serialize for Params<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use Call as C;
        match self.0 {
            C::ListDbs | C::GetServerId => s.serialize_seq(Some(0))?.end(),
            C::GetSchema { db } => (db,).serialize(s),
            C::Transact { db, ops } => {
                let mut seq = s.serialize_seq(Some(ops.len() + 1))?;
                seq.serialize_element(db)?;
                for op in ops {
                    seq.serialize_element(op)?;
                }
                seq.end()
            }
            C::Cancel { id } => (id,).serialize(s),
            C::Monitor {
                db,
                monitor_id,
                requests,
            }
            | C::MonitorCond {
                db,
                monitor_id,
                requests,
            } => (db, monitor_id, requests).serialize(s),
            C::MonitorCondSince {
                db,
                monitor_id,
                requests,
                last_txn_id,
            } => (db, monitor_id, requests, UuidText(last_txn_id)).serialize(s),
            C::MonitorCondChange {
                monitor_id,
                new_monitor_id,
                requests,
            } => (monitor_id, new_monitor_id, requests).serialize(s),
            C::MonitorCancel { monitor_id } | C::MonitorCanceled { monitor_id } => {
                (monitor_id,).serialize(s)
            }
            C::Lock { lock }
            | C::Steal { lock }
            | C::Unlock { lock }
            | C::Locked { lock }
            | C::Stolen { lock } => (lock,).serialize(s),
            C::Echo(v) => v.serialize(s),
            C::SetDbChangeAware(b) => (b,).serialize(s),
            C::Convert { db, schema } => (db, schema).serialize(s),
            C::Update {
                monitor_id,
                updates,
            } => (monitor_id, updates).serialize(s),
            C::Update2 {
                monitor_id,
                updates,
            } => (monitor_id, updates).serialize(s),
            C::Update3 {
                monitor_id,
                last_txn_id,
                updates,
            } => (monitor_id, UuidText(last_txn_id), updates).serialize(s),
        }
    }
}

impl Call {
    /// The method this call invokes.
    pub fn method(&self) -> Method {
        match self {
            Call::ListDbs => Method::ListDbs,
            Call::GetSchema { .. } => Method::GetSchema,
            Call::Transact { .. } => Method::Transact,
            Call::Cancel { .. } => Method::Cancel,
            Call::Monitor { .. } => Method::Monitor,
            Call::MonitorCond { .. } => Method::MonitorCond,
            Call::MonitorCondSince { .. } => Method::MonitorCondSince,
            Call::MonitorCondChange { .. } => Method::MonitorCondChange,
            Call::MonitorCancel { .. } => Method::MonitorCancel,
            Call::Lock { .. } => Method::Lock,
            Call::Steal { .. } => Method::Steal,
            Call::Unlock { .. } => Method::Unlock,
            Call::Echo(_) => Method::Echo,
            Call::SetDbChangeAware(_) => Method::SetDbChangeAware,
            Call::GetServerId => Method::GetServerId,
            Call::Convert { .. } => Method::Convert,
            Call::Update { .. } => Method::Update,
            Call::Update2 { .. } => Method::Update2,
            Call::Update3 { .. } => Method::Update3,
            Call::Locked { .. } => Method::Locked,
            Call::Stolen { .. } => Method::Stolen,
            Call::MonitorCanceled { .. } => Method::MonitorCanceled,
        }
    }

    /// Appends `{"id":…,"method":…,"params":[…]}` to `out`. A `None` id makes a
    /// notification (`"id":null`).
    pub fn encode(&self, id: Option<&Value>, out: &mut Vec<u8>) {
        let wire: Wire<'_, Params<'_>, ()> = Wire {
            id: Some(id.unwrap_or(&Value::Null)),
            method: Some(self.method().as_str()),
            params: Some(&Params(self)),
            result: None,
            error: None,
        };
        // Writing plain data into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &wire);
    }

    /// The `params` array as JSON text.
    pub fn params_json(&self) -> String {
        serde_json::to_string(&Params(self)).unwrap_or_default()
    }

    /// Decodes the `params` of a request or notification for `method`.
    pub fn decode(method: &str, params: &[u8]) -> Result<Call> {
        let m = Method::from_name(method).ok_or_else(|| {
            Error::decode("call", "$.method", format!("unknown method {method:?}"))
        })?;
        let what = "call params";
        let de = |e: serde_json::Error| Error::from_json(what, &e);
        let lock1 = || -> Result<String> {
            Ok(crate::json::from_bytes::<(String,)>(params).map_err(de)?.0)
        };
        let id1 =
            || -> Result<Value> { Ok(crate::json::from_bytes::<(Value,)>(params).map_err(de)?.0) };
        Ok(match m {
            Method::ListDbs => Call::ListDbs,
            Method::GetServerId => Call::GetServerId,
            Method::GetSchema => Call::GetSchema { db: lock1()? },
            Method::Transact => {
                let TransactParams(db, ops) = crate::json::from_bytes(params).map_err(de)?;
                Call::Transact { db, ops }
            }
            Method::Cancel => Call::Cancel { id: id1()? },
            Method::Monitor | Method::MonitorCond => {
                let (db, monitor_id, requests) = crate::json::from_bytes(params).map_err(de)?;
                if m == Method::Monitor {
                    Call::Monitor {
                        db,
                        monitor_id,
                        requests,
                    }
                } else {
                    Call::MonitorCond {
                        db,
                        monitor_id,
                        requests,
                    }
                }
            }
            Method::MonitorCondSince => {
                let (db, monitor_id, requests, UuidStr(last_txn_id)) =
                    crate::json::from_bytes(params).map_err(de)?;
                Call::MonitorCondSince {
                    db,
                    monitor_id,
                    requests,
                    last_txn_id,
                }
            }
            Method::MonitorCondChange => {
                let (monitor_id, new_monitor_id, requests) =
                    crate::json::from_bytes(params).map_err(de)?;
                Call::MonitorCondChange {
                    monitor_id,
                    new_monitor_id,
                    requests,
                }
            }
            Method::MonitorCancel => Call::MonitorCancel { monitor_id: id1()? },
            Method::MonitorCanceled => Call::MonitorCanceled { monitor_id: id1()? },
            Method::Lock => Call::Lock { lock: lock1()? },
            Method::Steal => Call::Steal { lock: lock1()? },
            Method::Unlock => Call::Unlock { lock: lock1()? },
            Method::Locked => Call::Locked { lock: lock1()? },
            Method::Stolen => Call::Stolen { lock: lock1()? },
            Method::Echo => Call::Echo(crate::json::from_bytes(params).map_err(de)?),
            Method::SetDbChangeAware => {
                Call::SetDbChangeAware(crate::json::from_bytes::<(bool,)>(params).map_err(de)?.0)
            }
            Method::Convert => {
                let (db, schema) = crate::json::from_bytes(params).map_err(de)?;
                Call::Convert { db, schema }
            }
            Method::Update => {
                let (monitor_id, updates) = crate::json::from_bytes(params).map_err(de)?;
                Call::Update {
                    monitor_id,
                    updates,
                }
            }
            Method::Update2 => {
                let (monitor_id, updates) = crate::json::from_bytes(params).map_err(de)?;
                Call::Update2 {
                    monitor_id,
                    updates,
                }
            }
            Method::Update3 => {
                let (monitor_id, UuidStr(last_txn_id), updates) =
                    crate::json::from_bytes(params).map_err(de)?;
                Call::Update3 {
                    monitor_id,
                    last_txn_id,
                    updates,
                }
            }
        })
    }
}

struct TransactParams(String, Vec<Operation>);

impl<'de> Deserialize<'de> for TransactParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TransactParams;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[db, operation…]")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<TransactParams, A::Error> {
                let db: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("transact lacks the database name"))?;
                let mut ops = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(op) = seq.next_element()? {
                    ops.push(op);
                }
                Ok(TransactParams(db, ops))
            }
        }
        d.deserialize_seq(V)
    }
}
