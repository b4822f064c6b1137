//! Async OVSDB client on tokio, over the sans-IO [`ovsdb_proto`] core.
//!
//! - Remotes in Open vSwitch syntax ([`Remote`], [`RemoteList`]): `tcp:IP:PORT`,
//!   `ssl:IP:PORT`, `unix:PATH`, comma-separated for clusters.
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
//! ```no_run
//! # async fn demo() -> Result<(), ovsdb_client::ClientError> {
//! use std::time::Duration;
//! use ovsdb_client::{Client, ClientConfig, MonitorSpec};
//!
//! let config = ClientConfig::new("unix:/var/run/ovn/ovnnb_db.sock")?;
//! let client = Client::connect(config, Duration::from_secs(10)).await?;
//! let cache = client.monitor("OVN_Northbound", MonitorSpec::tables(["Logical_Router"])).await?;
//! println!("{} routers", cache.read().len("Logical_Router"));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod cache;
mod client;
mod error;
mod remote;
pub mod tls;

pub use cache::{Cache, CacheEvent, RowChange, TableRows, Tables};
pub use client::{
    Client, ClientConfig, LockHandle, MonitorSpec, Stats, Status, SyncKind, TypedTable,
};
pub use error::{ClientError, Result};
pub use remote::{Remote, RemoteList, DEFAULT_PORT};
