//! JSON-RPC 1.0 messages (RFC 7047 §4) and the typed calls and replies of every OVSDB
//! method, including the Open vSwitch extensions (ovsdb-server.7 §4.1).
//!
//! Decoding is two-step. [`Message::decode`] reads only the envelope of a frame and keeps
//! `params`/`result` as a [`Payload`]: a zero-copy slice of the frame. The payload is then
//! decoded by method: [`Call::decode`] for requests and notifications, [`Reply::decode`] for
//! a response, given the method of the request it answers.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use bytes::Bytes;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::data::{Uuid, UuidStr};
use crate::error::{Error, Result};
use crate::operation::{Condition, Operation, TransactReply};
use crate::row::{TableUpdates, TableUpdates2};
use crate::schema::DatabaseSchema;

/// Every method of RFC 7047 and of the Open vSwitch extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `list_dbs` (client → server).
    ListDbs,
    /// `get_schema`.
    GetSchema,
    /// `transact`.
    Transact,
    /// `cancel` (notification).
    Cancel,
    /// `monitor`.
    Monitor,
    /// `update` (server → client notification).
    Update,
    /// `monitor_cancel`.
    MonitorCancel,
    /// `lock`.
    Lock,
    /// `steal`.
    Steal,
    /// `unlock`.
    Unlock,
    /// `locked` (server → client notification).
    Locked,
    /// `stolen` (server → client notification).
    Stolen,
    /// `echo` (either direction).
    Echo,
    /// `monitor_cond` (OVS 2.6).
    MonitorCond,
    /// `monitor_cond_change` (OVS 2.6).
    MonitorCondChange,
    /// `update2` (server → client notification).
    Update2,
    /// `monitor_cond_since` (OVS 2.12).
    MonitorCondSince,
    /// `update3` (server → client notification).
    Update3,
    /// `set_db_change_aware` (OVS 2.9).
    SetDbChangeAware,
    /// `monitor_canceled` (server → client notification).
    MonitorCanceled,
    /// `get_server_id` (OVS 2.7).
    GetServerId,
    /// `convert` (OVS 2.9).
    Convert,
}

impl Method {
    /// All methods.
    pub const ALL: [Method; 22] = [
        Method::ListDbs,
        Method::GetSchema,
        Method::Transact,
        Method::Cancel,
        Method::Monitor,
        Method::Update,
        Method::MonitorCancel,
        Method::Lock,
        Method::Steal,
        Method::Unlock,
        Method::Locked,
        Method::Stolen,
        Method::Echo,
        Method::MonitorCond,
        Method::MonitorCondChange,
        Method::Update2,
        Method::MonitorCondSince,
        Method::Update3,
        Method::SetDbChangeAware,
        Method::MonitorCanceled,
        Method::GetServerId,
        Method::Convert,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::ListDbs => "list_dbs",
            Method::GetSchema => "get_schema",
            Method::Transact => "transact",
            Method::Cancel => "cancel",
            Method::Monitor => "monitor",
            Method::Update => "update",
            Method::MonitorCancel => "monitor_cancel",
            Method::Lock => "lock",
            Method::Steal => "steal",
            Method::Unlock => "unlock",
            Method::Locked => "locked",
            Method::Stolen => "stolen",
            Method::Echo => "echo",
            Method::MonitorCond => "monitor_cond",
            Method::MonitorCondChange => "monitor_cond_change",
            Method::Update2 => "update2",
            Method::MonitorCondSince => "monitor_cond_since",
            Method::Update3 => "update3",
            Method::SetDbChangeAware => "set_db_change_aware",
            Method::MonitorCanceled => "monitor_canceled",
            Method::GetServerId => "get_server_id",
            Method::Convert => "convert",
        }
    }

    /// Parses a wire name.
    pub fn from_name(s: &str) -> Option<Self> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A part of a frame (`params` or `result`), kept as raw JSON without copying. Two payloads
/// are equal when their bytes are.
#[derive(Clone)]
pub struct Payload {
    frame: Bytes,
    range: Range<usize>,
}

impl Payload {
    /// A payload holding all of `json`.
    pub fn new(json: impl Into<Bytes>) -> Self {
        let frame = json.into();
        let range = 0..frame.len();
        Payload { frame, range }
    }

    /// The raw JSON bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.frame[self.range.clone()]
    }

    /// Decodes the payload as `T`.
    pub fn decode<'a, T: Deserialize<'a>>(&'a self, what: &'static str) -> Result<T> {
        crate::json::from_bytes(self.as_bytes()).map_err(|e| Error::from_json(what, &e))
    }

    /// Decodes the payload as a generic JSON value.
    pub fn to_value(&self) -> Result<Value> {
        self.decode("JSON value")
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Payload {}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.as_bytes();
        let shown = &b[..b.len().min(200)];
        write!(
            f,
            "Payload({}{})",
            String::from_utf8_lossy(shown),
            if b.len() > 200 { "…" } else { "" }
        )
    }
}

/// One JSON-RPC 1.0 message as framed on the wire, with its payload still raw.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: a method call that expects a response with the same `id`.
    Request {
        /// Request id (any JSON value but null).
        id: Value,
        /// Method name.
        method: String,
        /// The `params` array.
        params: Payload,
    },
    /// A notification: a method call with `"id": null`.
    Notification {
        /// Method name.
        method: String,
        /// The `params` array.
        params: Payload,
    },
    /// A successful response.
    Response {
        /// Id of the request answered.
        id: Value,
        /// The `result`.
        result: Payload,
    },
    /// An error response.
    Error {
        /// Id of the request answered (null if the request could not be parsed).
        id: Value,
        /// The `error` value (usually `{"error": …, "details": …}`).
        error: Value,
    },
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

impl Message {
    /// Decodes one framed message (see [`crate::Framer`]). The whole frame is checked to be
    /// valid JSON; payloads are not decoded.
    pub fn decode(frame: Bytes) -> Result<Message> {
        if frame.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Error::decode(
                "JSON-RPC message",
                "$",
                "a message must be a JSON object",
            ));
        }
        let env: Envelope<'_> = crate::json::from_bytes(&frame)
            .map_err(|e| Error::from_json("JSON-RPC message", &e))?;
        let base = frame.as_ptr() as usize;
        let range_of = |raw: &RawValue| {
            let s = raw.get();
            let start = s.as_ptr() as usize - base;
            start..start + s.len()
        };
        let is_null = |raw: Option<&RawValue>| raw.is_none_or(|r| r.get() == "null");
        let id = |raw: Option<&RawValue>| -> Result<Value> {
            raw.map_or(Ok(Value::Null), |r| {
                serde_json::from_str(r.get()).map_err(|e| Error::from_json("message id", &e))
            })
        };
        let msg = if let Some(method) = env.method {
            let params = env
                .params
                .filter(|p| p.get().starts_with('['))
                .ok_or_else(|| {
                    Error::decode(
                        "JSON-RPC message",
                        "$.params",
                        "request lacks a params array",
                    )
                })?;
            let params = Payload {
                range: range_of(params),
                frame: frame.clone(),
            };
            if is_null(env.id) {
                Message::Notification {
                    method: method.into_owned(),
                    params,
                }
            } else {
                Message::Request {
                    id: id(env.id)?,
                    method: method.into_owned(),
                    params,
                }
            }
        } else if env.id.is_none() {
            return Err(Error::decode(
                "JSON-RPC message",
                "$",
                "message has neither method nor id",
            ));
        } else if !is_null(env.error) {
            let error = serde_json::from_str(env.error.map_or("null", RawValue::get))
                .map_err(|e| Error::from_json("JSON-RPC error", &e))?;
            Message::Error {
                id: id(env.id)?,
                error,
            }
        } else {
            let result = env
                .result
                .ok_or_else(|| Error::decode("JSON-RPC message", "$", "response lacks result"))?;
            Message::Response {
                id: id(env.id)?,
                result: Payload {
                    range: range_of(result),
                    frame: frame.clone(),
                },
            }
        };
        Ok(msg)
    }

    /// Decodes a message from a byte slice (copies it).
    pub fn decode_slice(bytes: &[u8]) -> Result<Message> {
        Self::decode(Bytes::copy_from_slice(bytes))
    }

    /// Appends the wire form of the message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let raw = |p: &Payload| -> Box<RawValue> {
            RawValue::from_string(String::from_utf8_lossy(p.as_bytes()).into_owned())
                .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"))
        };
        let v = match self {
            Message::Request { id, method, params } => Wire::<RawValue, RawValue> {
                id: Some(id),
                method: Some(method),
                params: Some(&*raw(params)),
                result: None,
                error: None,
            }
            .to_vec(),
            Message::Notification { method, params } => Wire::<RawValue, RawValue> {
                id: Some(&Value::Null),
                method: Some(method),
                params: Some(&*raw(params)),
                result: None,
                error: None,
            }
            .to_vec(),
            Message::Response { id, result } => Wire::<RawValue, RawValue> {
                id: Some(id),
                method: None,
                params: None,
                result: Some(&*raw(result)),
                error: Some(&Value::Null),
            }
            .to_vec(),
            Message::Error { id, error } => {
                let null = RawValue::from_string("null".into()).expect("null is JSON");
                Wire::<RawValue, RawValue> {
                    id: Some(id),
                    method: None,
                    params: None,
                    result: Some(&*null),
                    error: Some(error),
                }
                .to_vec()
            }
        };
        out.extend_from_slice(&v);
    }
}

#[derive(Serialize)]
struct Wire<'a, P: Serialize + ?Sized, R: Serialize + ?Sized> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a P>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Value>,
}

impl<P: Serialize + ?Sized, R: Serialize + ?Sized> Wire<'_, P, R> {
    fn to_vec(&self) -> Vec<u8> {
        // Serializing plain data into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A response decoded in one pass with its result type known in advance (see
/// [`Message::decode_response`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Response<T> {
    /// A successful response.
    Ok {
        /// Id of the request answered.
        id: Value,
        /// The typed result.
        result: T,
    },
    /// An error response.
    Err {
        /// Id of the request answered.
        id: Value,
        /// The `error` value.
        error: Value,
    },
}

impl Message {
    /// Decodes a response whose result type the caller knows, in a single pass over the
    /// frame: the result is decoded as `T` straight from the bytes, whatever the order of the
    /// members. For large replies (a `monitor_cond` of an OVN database) this saves the
    /// separate envelope pass of [`Message::decode`].
    pub fn decode_response<'a, T: Deserialize<'a>>(
        frame: &'a [u8],
        what: &'static str,
    ) -> Result<Response<T>> {
        #[derive(Deserialize)]
        struct Wire<T> {
            #[serde(default)]
            id: Value,
            #[serde(default = "Option::default")]
            result: Option<T>,
            #[serde(default)]
            error: Value,
        }
        if frame.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Error::decode(what, "$", "a message must be a JSON object"));
        }
        let w: Wire<T> = crate::json::from_bytes(frame).map_err(|e| Error::from_json(what, &e))?;
        match (w.error, w.result) {
            (Value::Null, Some(result)) => Ok(Response::Ok { id: w.id, result }),
            (Value::Null, None) => Err(Error::decode(
                what,
                "$.result",
                "response has neither result nor error",
            )),
            (error, _) => Ok(Response::Err { id: w.id, error }),
        }
    }
}

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

struct UuidText<'a>(&'a Uuid);

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

/// Appends a successful response `{"id":…,"result":…,"error":null}` to `out`.
pub fn encode_response(id: &Value, result: &impl Serialize, out: &mut Vec<u8>) {
    struct Resp<'a, T: ?Sized>(&'a Value, &'a T);
    impl<T: Serialize + ?Sized> Serialize for Resp<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(3))?;
            m.serialize_entry("id", self.0)?;
            m.serialize_entry("result", self.1)?;
            m.serialize_entry("error", &())?;
            m.end()
        }
    }
    let _ = serde_json::to_writer(&mut *out, &Resp(id, result));
}

/// Appends an error response `{"id":…,"result":null,"error":…}` to `out`.
pub fn encode_error(id: &Value, error: &Value, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(
        &mut *out,
        &serde_json::json!({ "id": id, "result": null, "error": error }),
    );
}
