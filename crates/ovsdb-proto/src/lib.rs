//! Sans-IO OVSDB protocol: RFC 7047 plus the Open vSwitch extensions.
//!
//! The task most users come for: turn the bytes an OVSDB server sent into typed values.
//! A framed message decodes into a [`Message`] (its payload left raw), and the `result` of a
//! response decodes into the [`Reply`] of the method that was called; an OVSDB `error` is
//! data ([`OperationResult::Error`]), not a failure of this library:
//!
//! ```
//! use ovsdb_proto::{parse_uuid, ErrorKind, Message, Method, OperationResult, Reply};
//!
//! let bytes = br#"{"id":3,"error":null,"result":[
//!     {"uuid":["uuid","b3d1f06e-0a11-4c3a-9b1b-7a2bf2cb2d5e"]},
//!     {"count":1},
//!     {"error":"constraint violation","details":"Transaction causes multiple rows in \"Logical_Switch\" table to have identical values (sw0) for index on column \"name\"."}]}"#;
//! let Message::Response { id, result } = Message::decode_slice(bytes)? else {
//!     panic!("not a response")
//! };
//! assert_eq!(id, 3);
//! let Reply::Transact(reply) = Reply::decode(Method::Transact, result.as_bytes())? else {
//!     panic!("not a transact reply")
//! };
//! let uuid = parse_uuid("b3d1f06e-0a11-4c3a-9b1b-7a2bf2cb2d5e").unwrap();
//! assert_eq!(reply.0[0], OperationResult::Insert { uuid });
//! assert_eq!(reply.0[1], OperationResult::Count { count: 1 });
//! let (index, error) = reply.first_error().expect("the third operation failed");
//! assert_eq!((index, &error.kind), (2, &ErrorKind::ConstraintViolation));
//!
//! // Malformed input is an error that says what and where.
//! let err = Message::decode_slice(br#"{"id":4,"result":[1,}"#).unwrap_err();
//! assert!(err.to_string().contains("column"), "{err}");
//! # Ok::<(), ovsdb_proto::Error>(())
//! ```
//!
//! Beyond that, this crate holds everything about OVSDB that is not IO: the data notation ([`Atom`],
//! [`Datum`], [`Row`]), the schema model ([`DatabaseSchema`]), schema skew across releases
//! ([`skew`]: one model over several releases' schemas, and transactions checked against a
//! server's schema), the runtime of generated typed rows ([`typed`]), JSON-RPC messages and
//! the typed calls and replies of every method ([`Message`], [`Call`], [`Reply`]), transaction
//! operations ([`Operation`], [`Condition`], [`Mutation`], [`OperationResult`]), the
//! `update2`/`update3` semantics as pure functions ([`apply_update2`], [`Datum::apply_diff`]),
//! stream framing ([`Framer`], [`FrameCodec`]), a connection state machine
//! ([`Connection`]) and a client's session over successive connections
//! ([`session::Session`]: admission, monitors and their resume, locks, queued and checked
//! calls), both driven by the caller with bytes and time.
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
pub mod session;
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

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
