//! The typed replies of every method: [`Reply`], decoded by the method of the request it
//! answers, and the reply of `monitor_cond_since`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::call::UuidText;
use super::*;
use crate::data::{Uuid, UuidStr};
use crate::error::{Error, Result};
use crate::operation::TransactReply;
use crate::row::{TableUpdates, TableUpdates2};
use crate::schema::DatabaseSchema;

/// The reply of `monitor_cond_since`: `[found, last-txn-id, table-updates2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorCondSinceReply {
    /// Whether the server had the requested transaction in its history; if so `updates`
    /// holds only the changes since, and the client keeps its cache.
    pub found: bool,
    /// The server's latest transaction id (zero for standalone databases).
    pub last_txn_id: Uuid,
    /// The changes (everything, as `initial`, when `found` is false).
    pub updates: TableUpdates2,
}

impl Serialize for MonitorCondSinceReply {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        (self.found, UuidText(&self.last_txn_id), &self.updates).serialize(s)
    }
}

impl<'de> Deserialize<'de> for MonitorCondSinceReply {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (found, UuidStr(last_txn_id), updates) = Deserialize::deserialize(d)?;
        Ok(MonitorCondSinceReply {
            found,
            last_txn_id,
            updates,
        })
    }
}

/// A typed successful reply.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// `list_dbs`: database names.
    ListDbs(Vec<String>),
    /// `get_schema`: the schema.
    GetSchema(Box<DatabaseSchema>),
    /// `transact`: operation results.
    Transact(TransactReply),
    /// `monitor`: initial contents.
    Monitor(TableUpdates),
    /// `monitor_cond`: initial contents.
    MonitorCond(TableUpdates2),
    /// `monitor_cond_since`.
    MonitorCondSince(MonitorCondSinceReply),
    /// `lock` and `steal`: whether the lock is now held.
    Lock {
        /// `true` if the session holds the lock now.
        locked: bool,
    },
    /// `echo`: the params echoed.
    Echo(Vec<Value>),
    /// `get_server_id`: the server's id.
    ServerId(Uuid),
    /// Methods whose result is `{}` (`monitor_cancel`, `monitor_cond_change`, `unlock`,
    /// `set_db_change_aware`, `convert`).
    Empty,
    /// A reply to a method this library does not model, as JSON.
    Other(Value),
    /// The `result` left undecoded, for a call made with
    /// [`Connection::call_raw`](crate::Connection::call_raw) (a caller that decodes a large
    /// monitor reply straight into its own types).
    Raw(Payload),
}

impl Reply {
    /// Decodes the `result` of a response to a request for `method`.
    pub fn decode(method: Method, result: &[u8]) -> Result<Reply> {
        let what = "reply";
        let de = |e: serde_json::Error| Error::from_json(what, &e);
        Ok(match method {
            Method::ListDbs => Reply::ListDbs(crate::json::from_bytes(result).map_err(de)?),
            Method::GetSchema => Reply::GetSchema(Box::new(DatabaseSchema::from_slice(result)?)),
            Method::Transact => Reply::Transact(crate::json::from_bytes(result).map_err(de)?),
            Method::Monitor => Reply::Monitor(crate::json::from_bytes(result).map_err(de)?),
            Method::MonitorCond => Reply::MonitorCond(crate::json::from_bytes(result).map_err(de)?),
            Method::MonitorCondSince => {
                Reply::MonitorCondSince(crate::json::from_bytes(result).map_err(de)?)
            }
            Method::Lock | Method::Steal => {
                #[derive(Deserialize)]
                struct L {
                    locked: bool,
                }
                Reply::Lock {
                    locked: crate::json::from_bytes::<L>(result).map_err(de)?.locked,
                }
            }
            Method::Echo => Reply::Echo(crate::json::from_bytes(result).map_err(de)?),
            Method::GetServerId => {
                let s: String = crate::json::from_bytes(result).map_err(de)?;
                Reply::ServerId(
                    crate::data::parse_uuid(&s)
                        .ok_or_else(|| Error::decode(what, "$", format!("bad server id {s:?}")))?,
                )
            }
            Method::MonitorCancel
            | Method::MonitorCondChange
            | Method::Unlock
            | Method::SetDbChangeAware
            | Method::Convert => {
                let v: Value = crate::json::from_bytes(result).map_err(de)?;
                match v {
                    Value::Object(o) if o.is_empty() => Reply::Empty,
                    other => Reply::Other(other),
                }
            }
            _ => Reply::Other(crate::json::from_bytes(result).map_err(de)?),
        })
    }

    /// Writes the reply's JSON (the `result` member) to `out`.
    pub fn encode_result(&self, out: &mut Vec<u8>) {
        let _ = match self {
            Reply::ListDbs(v) => serde_json::to_writer(&mut *out, v),
            Reply::GetSchema(s) => serde_json::to_writer(&mut *out, &s.to_json()),
            Reply::Transact(t) => serde_json::to_writer(&mut *out, t),
            Reply::Monitor(u) => serde_json::to_writer(&mut *out, u),
            Reply::MonitorCond(u) => serde_json::to_writer(&mut *out, u),
            Reply::MonitorCondSince(r) => serde_json::to_writer(&mut *out, r),
            Reply::Lock { locked } => {
                serde_json::to_writer(&mut *out, &serde_json::json!({ "locked": locked }))
            }
            Reply::Echo(v) => serde_json::to_writer(&mut *out, v),
            Reply::ServerId(u) => serde_json::to_writer(&mut *out, &UuidText(u)),
            Reply::Empty => serde_json::to_writer(&mut *out, &serde_json::json!({})),
            Reply::Other(v) => serde_json::to_writer(&mut *out, v),
            Reply::Raw(p) => {
                out.extend_from_slice(p.as_bytes());
                Ok(())
            }
        };
    }
}
