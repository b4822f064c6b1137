//! Embedded in-memory OVSDB server on tokio, for examples and hermetic tests, and its
//! transaction engine as a synchronous in-memory database ([`MemoryDb`]; the only part left
//! with `default-features = false`, which drops tokio).
//!
//! The task most users come for: run a database server inside a test, with no program to
//! install, and point the code under test at it. Here the schema is a small one written in
//! the test; `ovn_nb::SCHEMA_JSON` (crate `ovn-nb`) and its siblings serve OVN's databases:
//!
//! ```
//! use std::time::Duration;
//! use ovsdb_proto::{Atom, DatabaseSchema, Operation, Row};
//! use ovsdb_server::Server;
//!
//! const SCHEMA: &str = r#"{"name": "Inventory", "version": "1.0.0", "tables": {
//!     "Host": {"columns": {"name": {"type": "string"}}, "isRoot": true}}}"#;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In a test: #[tokio::test] async fn …
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let server = Server::new();
//! server.add_database(DatabaseSchema::from_slice(SCHEMA.as_bytes())?)?;
//! let remote = server.listen("ptcp:0:127.0.0.1").await?; // "tcp:127.0.0.1:PORT"
//!
//! // The code under test connects as to any ovsdb-server (here with `ovsdb-client`) …
//! let config = ovsdb_client::ClientConfig::new(&remote)?;
//! let client = ovsdb_client::Client::connect(config, Duration::from_secs(10)).await?;
//! let insert = Operation::Insert {
//!     table: "Host".into(),
//!     row: Row::new().with("name", Atom::from("h1")),
//!     uuid_name: None,
//!     uuid: None,
//! };
//! client.transact_checked("Inventory", vec![insert]).await?;
//!
//! // … and the test looks at the server's rows directly.
//! let rows = server.rows("Inventory", "Host").expect("the table exists");
//! assert_eq!(rows.len(), 1);
//! assert_eq!(rows[0].1.get("name"), Some(&Atom::from("h1").into()));
//! client.shutdown();
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! It serves any [`DatabaseSchema`](ovsdb_proto::DatabaseSchema) over unix sockets
//! (`punix:PATH`), TCP (`ptcp:PORT:IP`) or in-process duplex streams, speaking RFC 7047 and
//! the Open vSwitch extensions through the same wire types as the client side
//! ([`ovsdb_proto::Call`], [`ovsdb_proto::Operation`], [`ovsdb_proto::TableUpdates2`], …):
//!
//! - `list_dbs`, `get_schema`, `echo` (both ways), `get_server_id`, `set_db_change_aware`;
//! - `transact` with every operation (RFC 7047 §5.2, plus `insert` with `uuid`), checked as
//!   ovsdb-server checks them: column types, set sizes, enums, ranges, string lengths,
//!   immutable columns, `maxRows`, index uniqueness, strong references, weak-reference
//!   cleanup, garbage collection of non-root rows; `wait` with a timeout blocks the
//!   transaction and retries it after each commit until the deadline; `cancel`;
//! - `monitor` (`update`), `monitor_cond` (`update2`), `monitor_cond_change`,
//!   `monitor_cond_since` (`update3`, with a 100-transaction history so that a resume finds
//!   its transaction), `monitor_cancel`;
//! - `lock`, `steal`, `unlock` with `locked`/`stolen` notifications, and `assert`;
//! - the `_Server` database (`Database` rows, model `standalone`).
//!
//! A transaction is all-or-nothing; monitors get each commit as one notification, queued
//! before the reply to the committing client (read-your-writes for caches).
//!
//! The conformance suite (`tests/conformance.rs`) runs the same scripts against this server
//! and ovsdb-server 3.1 and compares replies and notifications modulo UUIDs. Differences,
//! and behaviours worth knowing:
//!
//! - Transaction ids: every commit gets a random id and the last 100 are kept, so
//!   `monitor_cond_since` can resume (`found: true`) although the database model is
//!   `standalone` (ovsdb-server keeps history only for clustered databases, and also drops
//!   history that holds more atoms than the database).
//! - Reals with an integral value are written `1.0` (ovsdb-server writes `1`); error
//!   `details` texts differ.
//! - Nothing is persisted; `convert`, RBAC, SSL, clustering and relays are not supported;
//!   `ephemeral` is ignored; `set_db_change_aware` is accepted and has no effect (databases
//!   are only ever added).
//! - Several requests for one table: as in ovsdb-server each column keeps its request's
//!   `select` and a column may appear only once; their `where` conditions are combined with
//!   "or".
//! - A client that does not read gets its replies and updates queued up to
//!   [`ServerConfig::max_backlog`], then is disconnected; ovsdb-server instead stops reading
//!   its requests and merges its pending updates.
//! - `cancel` drops the blocked transaction without a reply, as ovsdb-server 3.1 does.
//! - `ptcp:PORT` without an address listens on `127.0.0.1`, not on every address.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ovsdb_server::Server;
//!
//! let server = Server::new();
//! server.add_database_file("/usr/share/ovn/ovn-nb.ovsschema")?;
//! let remote = server.listen("punix:/tmp/nb.sock").await?; // "unix:/tmp/nb.sock"
//! let tcp = server.listen("ptcp:0:127.0.0.1").await?; // "tcp:127.0.0.1:PORT"
//! let stream = server.connect_duplex(); // an in-process connection
//! # let _ = (remote, tcp, stream);
//! server.shutdown();
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

#[cfg_attr(
    not(feature = "server"),
    allow(
        dead_code,
        reason = "history and commits serve the server's monitors only"
    )
)]
mod db;
mod memory;
#[cfg(feature = "server")]
mod monitor;
#[cfg(feature = "server")]
mod server;

pub use memory::{MemoryDb, MemoryError};
#[cfg(feature = "server")]
pub use server::{Server, ServerConfig};

/// Why a server operation failed (errors of clients' requests go back to the clients as
/// OVSDB error replies; they are not `ServerError`s).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A database of that name is already served.
    #[error("database {0} already exists")]
    DuplicateDatabase(String),
    /// No database of that name.
    #[error("unknown database {0}")]
    UnknownDatabase(String),
    /// The remote is not `punix:PATH` or `ptcp:PORT[:IP]`.
    #[error("invalid passive remote {0:?}")]
    InvalidRemote(String),
    /// A schema that does not parse (the error gives the position).
    #[error("invalid schema: {0}")]
    Schema(#[from] ovsdb_proto::Error),
    /// A schema file that does not parse.
    #[error("{}: {source}", path.display())]
    SchemaFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it, and where.
        source: ovsdb_proto::Error,
    },
    /// A socket or file operation failed (the message names the file or remote).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Something that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
