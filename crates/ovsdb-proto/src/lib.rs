//! Sans-IO OVSDB protocol: RFC 7047 plus the Open vSwitch extensions.
//!
//! This crate holds everything about OVSDB that is not IO: the data notation ([`Atom`],
//! [`Datum`], [`Row`]), the schema model ([`DatabaseSchema`]), schema skew across releases
//! ([`skew`]: one model over several releases' schemas, and transactions checked against a
//! server's schema), the runtime of generated typed rows ([`typed`]), JSON-RPC messages and
//! the typed calls and replies of every method ([`Message`], [`Call`], [`Reply`]), transaction
//! operations ([`Operation`], [`Condition`], [`Mutation`], [`OperationResult`]), the
//! `update2`/`update3` semantics as pure functions ([`apply_update2`], [`Datum::apply_diff`]),
//! stream framing ([`Framer`], [`FrameCodec`]) and a connection state machine
//! ([`Connection`]) that is driven by the caller with bytes and time.
//!
//! It never opens a socket, spawns a task or reads a clock: `ovsdb-client` is the shell that
//! does. The call sequence of a shell is:
//!
//! ```
//! use std::time::Instant;
//! use ovsdb_proto::{Call, Connection, ConnectionConfig, Event, Reply};
//!
//! let now = Instant::now();
//! let mut conn = Connection::new(ConnectionConfig::default(), now);
//! let id = conn.call(Call::ListDbs);
//! let request = conn.poll_transmit().unwrap(); // bytes to write to the socket
//! assert_eq!(request, br#"{"id":0,"method":"list_dbs","params":[]}"#);
//! // … bytes read from the socket go in:
//! conn.handle_input(br#"{"id":0,"result":["OVN_Northbound","_Server"],"error":null}"#, now).unwrap();
//! match conn.poll_event() {
//!     Some(Event::Reply { id: got, result: Ok(Reply::ListDbs(dbs)), .. }) => {
//!         assert_eq!(got, id);
//!         assert_eq!(dbs, ["OVN_Northbound", "_Server"]);
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
#![forbid(unsafe_code)]

mod conn;
mod data;
pub mod dump;
mod error;
pub mod framing;
pub mod json;
mod message;
mod operation;
mod row;
pub mod schema;
pub mod skew;
mod sorted_map;
mod store;
mod string_map;
pub mod typed;

pub use conn::{CallError, Connection, ConnectionConfig, Event, RequestId, DEFAULT_PROBE_INTERVAL};
pub use data::{parse_uuid, Atom, Datum, Map, Set, Uuid};
pub use error::{DecodeError, Error, Result, SchemaError};
pub use framing::{FrameCodec, Framer, DEFAULT_MAX_MESSAGE_LEN};
pub use message::{
    encode_error, encode_response, Call, Message, Method, MonitorCondSinceReply, MonitorRequest,
    MonitorRequests, MonitorSelect, Payload, Reply, Response,
};
pub use operation::{
    Condition, ErrorKind, Function, Mutation, Mutator, Operation, OperationResult, OvsdbError,
    TransactReply, WaitUntil,
};
pub use row::{
    apply_update, apply_update2, decode_table_update2, Applied, Row, RowUpdate, RowUpdate2,
    TableUpdate, TableUpdates, TableUpdates2,
};
pub use schema::{
    AtomicType, BaseType, ColumnSchema, ColumnType, DatabaseSchema, RefType, TableSchema,
};
