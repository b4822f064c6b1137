//! Async OVSDB client on tokio, over the sans-IO [`ovsdb_proto`] core.
//!
//! The task most users come for: keep a typed replica of a live database, and write to it.
//! [`Client::monitor`] keeps a [`Cache`] of the tables asked for, here decoded straight into
//! the generated rows of `ovn-nb` ([`MonitorSpec::typed_database`]), and
//! [`Client::transact`] returns only once the cache holds the transaction's effects. An
//! embedded `ovsdb-server` stands in for the live database so that the example runs; against
//! a real one, the remote is `unix:/var/run/ovn/ovnnb_db.sock`, `tcp:IP:6641`,
//! `ssl:IP:6641` or a cluster's comma-separated list:
//!
//! ```
//! use std::time::Duration;
//! use ovn_nb::LogicalRouter;
//! use ovsdb_client::{Client, ClientConfig, MonitorSpec};
//! use ovsdb_proto::typed::Table;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let server = ovsdb_server::Server::new();
//! server.add_database(ovsdb_proto::DatabaseSchema::from_slice(ovn_nb::SCHEMA_JSON.as_bytes())?)?;
//! let remote = server.listen("ptcp:0:127.0.0.1").await?; // "tcp:127.0.0.1:PORT"
//!
//! let client = Client::connect(ClientConfig::new(&remote)?, Duration::from_secs(10)).await?;
//! let spec = MonitorSpec::tables(["Logical_Router"]).typed_database::<ovn_nb::Database>();
//! let cache = client.monitor(ovn_nb::NAME, spec).await?;
//!
//! let mut router = LogicalRouter::default();
//! router.name = "lr0".into();
//! client.transact_checked(ovn_nb::NAME, vec![router.insert_op()]).await?;
//!
//! let tables = cache.read(); // a consistent view; changes also come as events (`subscribe`)
//! let routers = tables.typed::<LogicalRouter>().expect("a typed table");
//! assert_eq!(routers.values().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["lr0"]);
//! # drop(tables);
//! client.shutdown();
//! # server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! What else it does:
//!
//! - Remotes in Open vSwitch syntax ([`Remote`], [`RemoteList`]): `tcp:IP:PORT`,
//!   `ssl:IP:PORT` (feature `tls`, on by default: [`tls`]), `unix:PATH`, comma-separated for
//!   clusters.
//! - Raft clusters: leader-only by default, checked through the `_Server` database, stale
//!   servers refused, forced reconnect on leadership loss.
//! - Monitors with resume (`monitor_cond_since`, falling back to `monitor_cond` and
//!   `monitor`), into a replica [`Cache`] with consistent snapshots and change events.
//! - Read-your-writes: [`Client::transact`] returns after the cache has the transaction.
//! - Schema skew: every transaction is checked against the server's schema before it is sent
//!   ([`ClientConfig::check_writes`]); a column the server lacks is never written, and a value
//!   that cannot be left out is [`ClientError::Skew`].
//! - Locks with `locked`/`stolen` tracking, inactivity probes, reconnect with backoff.
//!
//! # Features
//!
//! - `tls` (default): `ssl:` remotes with rustls, verified as Open vSwitch does it. Without
//!   it the crate has no rustls, ring or X.509 parser in its tree, and connecting to an
//!   `ssl:` remote fails with [`ClientError::Usage`].
#![forbid(unsafe_code)]

mod cache;
mod client;
mod config;
mod error;
mod remote;
mod task;
#[cfg(feature = "tls")]
pub mod tls;

pub use cache::{Cache, CacheEvent, RowChange, TableRows, Tables};
pub use client::{Client, LockHandle, Stats, Status, SyncKind};
pub use config::{ClientConfig, MonitorSpec, TypedTable};
pub use error::{ClientError, Result};
pub use remote::{Remote, RemoteList, DEFAULT_PORT};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
