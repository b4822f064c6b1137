//! JSON-RPC 1.0 messages (RFC 7047 §4) and the typed calls and replies of every OVSDB
//! method, including the Open vSwitch extensions (ovsdb-server.7 §4.1).
//!
//! Decoding is two-step. [`Message::decode`] reads only the envelope of a frame and keeps
//! `params`/`result` as a [`Payload`]: a zero-copy slice of the frame. The payload is then
//! decoded by method: [`Call::decode`] for requests and notifications, [`Reply::decode`] for
//! a response, given the method of the request it answers.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use bytes::Bytes;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, Result};

mod call;
mod reply;

pub use call::{Call, MonitorRequest, MonitorRequests, MonitorSelect};
pub use reply::{MonitorCondSinceReply, Reply};

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
