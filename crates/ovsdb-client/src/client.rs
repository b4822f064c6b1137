//! The client: one task per client owns the connection, the replica caches and the
//! reconnect logic; [`Client`] is a cheap handle that sends it commands. What is said on a
//! connection (admission, monitors, resume, locks, the write check) is decided by the
//! sans-IO [`ovsdb_proto::session::Session`]; the task (`task.rs`) gives it bytes and time
//! and carries out its events.
//!
//! # Design
//!
//! - **One ordered reader.** The connection task reads the socket continuously and applies
//!   every `update`/`update2`/`update3` to the cache *before* it looks at the next message.
//!   ovsdb-server sends a transaction's updates before its reply, so when
//!   [`Client::transact`] returns, the cache already holds the transaction's changes
//!   (read-your-writes, by construction).
//! - **Separate writer.** Outgoing bytes go to a writer task through a channel, so a large
//!   request never stops the reader, and the server (which stops reading a session whose
//!   send backlog is full) cannot deadlock with us.
//! - **No waiting on consumers.** Change events go to a bounded broadcast channel; a slow
//!   subscriber lags (and is told so) instead of blocking the connection. Probes are answered
//!   by the reader without any lock.
//! - **Clusters.** As Open vSwitch's `ovsdb-cs`: remotes are tried in shuffled order; the
//!   `_Server` database says whether a server is connected to its cluster, is the leader
//!   (required by default), serves the database, and is not behind what we have seen
//!   (`index ≥ min_index`). A server that loses leadership is left at once, without backoff,
//!   and the next remote is tried.
//! - **Resume.** Each monitor keeps the last transaction id; after a reconnect it asks
//!   `monitor_cond_since` for the changes since then. With `found=true` the cache is kept and
//!   the delta applied; otherwise the monitor's tables are replaced. Servers without
//!   `monitor_cond_since` get `monitor_cond`, and then `monitor`.
//! - **Schema skew.** Before a `transact` is sent, its operations are checked against the
//!   connected server's schema of the database ([`ovsdb_proto::skew::check_operations`]): a
//!   column the server lacks is never sent (its default value is dropped, anything else is
//!   [`ClientError::Skew`]). The schema is the monitored cache's, else the one `_Server`
//!   publishes, else one `get_schema` per session. The history of a generated crate
//!   (registered by its typed tables or [`ClientConfig::history`]) supplies column types and
//!   releases for the check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ovsdb_proto::{
    Call, Condition, DatabaseSchema, Method, Operation, OperationResult, Reply, TransactReply,
};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::cache::{Cache, CacheEvent};
use crate::config::{ClientConfig, MonitorSpec};
use crate::error::{ClientError, Result};
use crate::task::{Command, Shared, Task};

pub use ovsdb_proto::session::SyncKind;

/// The state of the client's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Looking for a usable server.
    Connecting,
    /// Connected to `remote`, monitors synced.
    Connected {
        /// The remote in use.
        remote: String,
        /// How many sessions have been established so far (1 for the first).
        session: u64,
    },
    /// Shut down.
    Closed,
}

/// Statistics a caller can read (failover measurements, tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sessions established.
    pub sessions: u64,
    /// Monitor syncs that resumed with `found=true`.
    pub resumed_syncs: u64,
    /// Monitor syncs that replaced tables.
    pub full_syncs: u64,
    /// Servers refused by the `_Server` checks (not leader, stale, not joined, …).
    pub refused_servers: u64,
}

/// A handle to an OVSDB client. Cloning it is cheap; the connection lives until
/// [`Client::shutdown`] or until every handle is dropped.
#[derive(Clone)]
pub struct Client {
    cmd: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    transact_timeout: Option<Duration>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("status", &*self.shared.status.borrow())
            .finish()
    }
}

/// A lock requested with [`Client::lock`]; ownership changes arrive through it.
#[derive(Debug, Clone)]
pub struct LockHandle {
    name: String,
    state: watch::Receiver<bool>,
}

impl LockHandle {
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this client holds the lock now.
    pub fn is_held(&self) -> bool {
        *self.state.borrow()
    }

    /// Waits until the lock is held (after `locked`), or the client shuts down.
    pub async fn acquired(&mut self) -> Result<()> {
        self.state
            .wait_for(|held| *held)
            .await
            .map(|_| ())
            .map_err(|_| ClientError::Closed)
    }

    /// Waits until the lock is lost (`stolen`, or the connection dropped).
    pub async fn lost(&mut self) -> Result<()> {
        self.state
            .wait_for(|held| !*held)
            .await
            .map(|_| ())
            .map_err(|_| ClientError::Closed)
    }
}

impl Client {
    /// Starts the client in the background (on the current tokio runtime) and returns at
    /// once; it connects, and reconnects, by itself.
    pub fn start(config: ClientConfig) -> Client {
        let (cmd, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        let shared = Arc::new(Shared {
            caches: Mutex::new(HashMap::new()),
            events,
            status: watch::channel(Status::Connecting).0,
            stats: Mutex::new(Stats::default()),
            last_error: Mutex::new(None),
        });
        let transact_timeout = config.transact_timeout;
        let task = Task::new(config, shared.clone(), rx);
        tokio::spawn(task.run());
        Client {
            cmd,
            shared,
            transact_timeout,
        }
    }

    /// Starts the client and waits until it is connected, at most `timeout`.
    pub async fn connect(config: ClientConfig, timeout: Duration) -> Result<Client> {
        let client = Client::start(config);
        client.wait_connected(timeout).await?;
        Ok(client)
    }

    /// Waits until the client is connected, at most `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<()> {
        let mut rx = self.shared.status.subscribe();
        let wait = async move {
            rx.wait_for(|s| !matches!(s, Status::Connecting))
                .await
                .map(|s| matches!(*s, Status::Connected { .. }))
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(true)) => Ok(()),
            Ok(_) => Err(ClientError::Closed),
            Err(_) => {
                let why = self
                    .last_error()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default();
                Err(ClientError::Timeout(format!(
                    "no usable server within {timeout:?}{why}"
                )))
            }
        }
    }

    /// The connection state.
    pub fn status(&self) -> Status {
        self.shared.status.borrow().clone()
    }

    /// Why the last session ended or the last connection attempt failed, if any did.
    pub fn last_error(&self) -> Option<String> {
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A receiver of status changes.
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.shared.status.subscribe()
    }

    /// Counters of sessions and syncs.
    pub fn stats(&self) -> Stats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Subscribes to cache changes of every monitored database.
    pub fn subscribe(&self) -> broadcast::Receiver<CacheEvent> {
        self.shared.events.subscribe()
    }

    /// The cache of `db`, if it is monitored.
    pub fn cache(&self, db: &str) -> Option<Arc<Cache>> {
        self.shared
            .caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(db)
            .cloned()
    }

    /// Sends any call and waits for its typed reply. Calls made while disconnected wait for
    /// the next session; a call in flight when the connection drops fails with
    /// [`ClientError::Disconnected`].
    pub async fn call(&self, call: Call) -> Result<Reply> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Call { call, reply: tx })
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// The names of the server's databases.
    pub async fn list_dbs(&self) -> Result<Vec<String>> {
        match self.call(Call::ListDbs).await? {
            Reply::ListDbs(v) => Ok(v),
            other => Err(unexpected(Method::ListDbs, other)),
        }
    }

    /// The schema of `db`.
    pub async fn get_schema(&self, db: &str) -> Result<DatabaseSchema> {
        match self.call(Call::GetSchema { db: db.into() }).await? {
            Reply::GetSchema(s) => Ok(*s),
            other => Err(unexpected(Method::GetSchema, other)),
        }
    }

    /// Runs a transaction. Per-operation errors are in the reply (data, not `Err`). When the
    /// database is monitored, the cache holds the transaction's effects by the time this
    /// returns.
    pub async fn transact(&self, db: &str, ops: Vec<Operation>) -> Result<TransactReply> {
        let call = self.call(Call::Transact { db: db.into(), ops });
        let reply = match self.transact_timeout {
            None => call.await?,
            Some(t) => tokio::time::timeout(t, call).await.map_err(|_| {
                ClientError::Timeout(format!("transact after {t:?}; its outcome is unknown"))
            })??,
        };
        match reply {
            Reply::Transact(t) => Ok(t),
            other => Err(unexpected(Method::Transact, other)),
        }
    }

    /// Runs a transaction and turns the first failed operation into
    /// [`ClientError::Transaction`].
    pub async fn transact_checked(
        &self,
        db: &str,
        ops: Vec<Operation>,
    ) -> Result<Vec<OperationResult>> {
        self.transact(db, ops)
            .await?
            .into_result()
            .map_err(|(index, error)| ClientError::Transaction { index, error })
    }

    /// Monitors `spec`'s tables of `db` and returns the cache once the initial copy is in it.
    /// The monitor is re-established (resumed where possible) after every reconnect.
    pub async fn monitor(&self, db: &str, spec: MonitorSpec) -> Result<Arc<Cache>> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Monitor {
                db: db.into(),
                spec,
                reply: tx,
            })
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// Asks for the lock `name` (RFC 7047 §4.1.8); the handle tells when it is held. The
    /// request is repeated after every reconnect until [`Client::unlock`].
    pub fn lock(&self, name: &str) -> Result<LockHandle> {
        self.lock_inner(name, false)
    }

    /// Takes the lock `name` from its owner (`steal`).
    pub fn steal(&self, name: &str) -> Result<LockHandle> {
        self.lock_inner(name, true)
    }

    fn lock_inner(&self, name: &str, steal: bool) -> Result<LockHandle> {
        let (tx, rx) = watch::channel(false);
        self.cmd
            .send(Command::Lock {
                name: name.into(),
                state: tx,
                steal,
            })
            .map_err(|_| ClientError::Closed)?;
        Ok(LockHandle {
            name: name.into(),
            state: rx,
        })
    }

    /// Releases the lock `name`.
    pub fn unlock(&self, name: &str) -> Result<()> {
        self.cmd
            .send(Command::Unlock { name: name.into() })
            .map_err(|_| ClientError::Closed)
    }

    /// Changes the inactivity probe interval of this connection and of every later
    /// reconnection (`None` disables probing; under 1 s is raised to 1 s), as ovn-ic does when
    /// an operator sets `options:ic_probe_interval`.
    pub fn set_probe_interval(&self, interval: Option<Duration>) -> Result<()> {
        self.cmd
            .send(Command::ProbeInterval(interval))
            .map_err(|_| ClientError::Closed)
    }

    /// Sets the `where` clauses of `table` in every monitor of `db` that watches it (a row
    /// is kept if one holds; `None`: every row), now and on later connections: the server
    /// sends the rows that now match and removes those that no longer do, as ordinary cache
    /// changes (see [`MonitorSpec::conditions`]).
    pub fn set_condition(
        &self,
        db: &str,
        table: &str,
        conditions: Option<Vec<Condition>>,
    ) -> Result<()> {
        self.cmd
            .send(Command::Condition {
                db: db.to_owned(),
                table: table.to_owned(),
                conditions,
            })
            .map_err(|_| ClientError::Closed)
    }

    /// Like [`Client::set_condition`], and resolves once the replica holds the rows of the
    /// new clauses: the server answers requests in order and sends the update of a
    /// `monitor_cond_change` before its reply, so when an `echo` sent after the change comes
    /// back, the cache has applied that update. If the connection drops meanwhile, the
    /// next one starts the monitor with the new clauses, and the `echo` is sent there.
    pub async fn change_condition(
        &self,
        db: &str,
        table: &str,
        conditions: Option<Vec<Condition>>,
    ) -> Result<()> {
        self.set_condition(db, table, conditions)?;
        self.call(Call::Echo(Vec::new())).await.map(drop)
    }

    /// Closes the connection and stops the task.
    pub fn shutdown(&self) {
        let _ = self.cmd.send(Command::Shutdown);
    }
}

fn unexpected(method: Method, reply: Reply) -> ClientError {
    ClientError::Protocol {
        remote: String::new(),
        source: ovsdb_proto::Error::Protocol(format!("unexpected reply to {method}: {reply:?}")),
    }
}
