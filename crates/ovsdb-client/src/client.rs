//! The client: one task per client owns the connection, the replica caches and the
//! reconnect logic; [`Client`] is a cheap handle that sends it commands.
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

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ovsdb_proto::skew::{check_operations, SchemaHistory};
use ovsdb_proto::typed::{Database, Table, TableVisitor};
use ovsdb_proto::{
    Call, CallError, Connection, ConnectionConfig, DatabaseSchema, ErrorKind, Event, Method,
    MonitorRequest, MonitorRequests, Operation, OperationResult, Payload, Reply, RequestId,
    RowUpdate2, TableUpdates, TableUpdates2, TransactReply, Uuid,
};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use crate::cache::{Cache, CacheEvent};
use crate::error::{ClientError, Result};
use crate::remote::{Remote, RemoteList};
#[cfg(feature = "tls")]
use crate::tls::TlsConfig;

/// How the client connects and behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Where the database is: one remote or a cluster's list.
    pub remotes: RemoteList,
    /// TLS settings for `ssl:` remotes (feature `tls`).
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<TlsConfig>>,
    /// Only accept a server that is the leader of its cluster (default true, as ovsdb-cs).
    /// A standalone server always counts as a leader; a relay never does.
    pub leader_only: bool,
    /// Try remotes in random order (default true).
    pub shuffle_remotes: bool,
    /// Inactivity probe (default 5 s, as Open vSwitch; `None` disables).
    pub probe_interval: Option<Duration>,
    /// Deadline of one connection attempt, TLS handshake included (default 10 s).
    pub connect_timeout: Duration,
    /// Largest message accepted (default [`ovsdb_proto::DEFAULT_MAX_MESSAGE_LEN`], 1 GiB).
    pub max_message_len: usize,
    /// First reconnect delay (default 1 s, doubling up to `backoff_max`).
    pub backoff_min: Duration,
    /// Longest reconnect delay (default 8 s, as Open vSwitch).
    pub backoff_max: Duration,
    /// Capacity of the change-event channel (default 4096 events).
    pub event_capacity: usize,
    /// Deadline of one `transact` (default none: a transaction with a `wait` may block on
    /// purpose). When it passes the call fails with [`ClientError::Timeout`] and its outcome is
    /// unknown. Connecting has its own deadline (`connect_timeout`); a monitor's initial sync
    /// has none at all: it is judged by progress, since any byte received keeps the
    /// inactivity probe quiet, so a 350 MB reply on a slow link is not cut off.
    pub transact_timeout: Option<Duration>,
    /// Check every `transact` against the server's schema before sending it (default true;
    /// see the module docs): what the server lacks is dropped when it is a default value and
    /// refused with [`ClientError::Skew`] otherwise. When false, operations go out as given.
    pub check_writes: bool,
    /// Histories of generated databases, by database name.
    histories: Histories,
}

/// The schema histories a client knows, shown by name.
#[derive(Clone, Default)]
struct Histories(Vec<&'static SchemaHistory>);

impl Histories {
    fn add(&mut self, h: &'static SchemaHistory) {
        if !self.0.iter().any(|k| k.name() == h.name()) {
            self.0.push(h);
        }
    }

    fn get(&self, db: &str) -> Option<&'static SchemaHistory> {
        self.0.iter().copied().find(|h| h.name() == db)
    }
}

impl std::fmt::Debug for Histories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|h| h.name()))
            .finish()
    }
}

impl ClientConfig {
    /// A configuration for `remotes` (`tcp:…`, `ssl:…`, `unix:…`, comma-separated).
    pub fn new(remotes: &str) -> Result<Self> {
        Ok(ClientConfig {
            remotes: remotes.parse()?,
            #[cfg(feature = "tls")]
            tls: None,
            leader_only: true,
            shuffle_remotes: true,
            probe_interval: Some(ovsdb_proto::DEFAULT_PROBE_INTERVAL),
            connect_timeout: Duration::from_secs(10),
            max_message_len: ovsdb_proto::DEFAULT_MAX_MESSAGE_LEN,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(8),
            event_capacity: 4096,
            transact_timeout: None,
            check_writes: true,
            histories: Histories::default(),
        })
    }

    /// Sets [`ClientConfig::check_writes`].
    pub fn check_writes(mut self, yes: bool) -> Self {
        self.check_writes = yes;
        self
    }

    /// Registers the history of a generated database (`ovn_ic_sb::history()`), so that
    /// `transact`s on it are checked with its model's column types and name the release that
    /// introduced what the server lacks. Monitors of the database's typed tables register it
    /// too.
    pub fn history(mut self, history: &'static SchemaHistory) -> Self {
        self.histories.add(history);
        self
    }

    /// Sets the TLS configuration used for `ssl:` remotes (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(Arc::new(tls));
        self
    }

    /// Accept followers too (reads may then lag the leader).
    pub fn leader_only(mut self, yes: bool) -> Self {
        self.leader_only = yes;
        self
    }

    /// Sets the inactivity probe interval.
    pub fn probe_interval(mut self, interval: Option<Duration>) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Sets the reconnect backoff range.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// Sets the connection attempt deadline.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the largest message accepted.
    pub fn max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// Sets the deadline of one `transact` (see [`ClientConfig::transact_timeout`]).
    pub fn transact_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.transact_timeout = timeout;
        self
    }

    /// Keeps the remotes in the given order (tests, or a preferred server first).
    pub fn shuffle_remotes(mut self, yes: bool) -> Self {
        self.shuffle_remotes = yes;
        self
    }
}

/// Which tables of a database to monitor, and which of them to keep typed only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonitorSpec {
    /// Tables (all columns of each); `None` means every table of the schema.
    pub tables: Option<Vec<String>>,
    /// Tables the cache keeps typed only (see [`Cache::register_typed_only`]), registered
    /// before the first sync so that the initial copy is decoded straight into them.
    pub typed: Vec<TypedTable>,
}

/// A generated table type that a monitor keeps typed only (see [`MonitorSpec::typed`]).
#[derive(Clone, Copy)]
pub struct TypedTable {
    name: &'static str,
    register: fn(&Cache),
    history: fn() -> &'static SchemaHistory,
}

impl TypedTable {
    /// `T`'s table.
    pub fn of<T: Table + Send + Sync + 'static>() -> Self {
        TypedTable {
            name: T::NAME,
            register: Cache::register_typed_only::<T>,
            history: T::history,
        }
    }

    /// The table's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The schema history of the table's database (see [`Table::history`]).
    pub fn history(&self) -> &'static SchemaHistory {
        (self.history)()
    }
}

impl std::fmt::Debug for TypedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TypedTable({})", self.name)
    }
}

impl PartialEq for TypedTable {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TypedTable {}

impl MonitorSpec {
    /// Every table of the database.
    pub fn all() -> Self {
        MonitorSpec::default()
    }

    /// The listed tables.
    pub fn tables<S: Into<String>>(tables: impl IntoIterator<Item = S>) -> Self {
        MonitorSpec {
            tables: Some(tables.into_iter().map(Into::into).collect()),
            typed: Vec::new(),
        }
    }

    /// Keeps `T`'s table typed only (it must be one of the monitored tables to be filled).
    pub fn typed<T: Table + Send + Sync + 'static>(mut self) -> Self {
        self.typed.push(TypedTable::of::<T>());
        self
    }

    /// Keeps every table of the generated database `D` typed only (for instance
    /// `MonitorSpec::all().typed_database::<ovn_nb::Database>()`): the fastest and smallest
    /// replica of a known database.
    pub fn typed_database<D: Database>(mut self) -> Self {
        struct Collect<'a>(&'a mut Vec<TypedTable>);
        impl TableVisitor for Collect<'_> {
            fn visit<T: Table + Send + Sync + 'static>(&mut self) {
                self.0.push(TypedTable::of::<T>());
            }
        }
        D::visit_tables(&mut Collect(&mut self.typed));
        self
    }
}

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

/// How the last resume of a monitor went, for observers and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncKind {
    /// `monitor_cond_since` with `found=true`: the cache was kept and the delta applied.
    Resumed,
    /// A full copy replaced the monitor's tables.
    Full,
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

type Responder = oneshot::Sender<Result<Reply>>;

enum Command {
    Call {
        call: Call,
        reply: Responder,
    },
    Monitor {
        db: String,
        spec: MonitorSpec,
        reply: oneshot::Sender<Result<Arc<Cache>>>,
    },
    Lock {
        name: String,
        state: watch::Sender<bool>,
        steal: bool,
    },
    Unlock {
        name: String,
    },
    ProbeInterval(Option<Duration>),
    Shutdown,
}

struct Shared {
    caches: Mutex<HashMap<String, Arc<Cache>>>,
    events: broadcast::Sender<CacheEvent>,
    status: watch::Sender<Status>,
    stats: Mutex<Stats>,
    /// Why the last session ended (or the last attempt failed).
    last_error: Mutex<Option<String>>,
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

// ---------------------------------------------------------------------------------------------
// The connection task.

/// One registered monitor.
struct MonitorState {
    db: String,
    spec: MonitorSpec,
    id: Value,
    /// Tables actually monitored (resolved against the schema).
    tables: Vec<String>,
    last_txn_id: Option<Uuid>,
    /// Waiters for the first sync.
    waiters: Vec<oneshot::Sender<Result<Arc<Cache>>>>,
}

/// Why a session ended.
enum End {
    /// Shut down by the user.
    Shutdown,
    /// Lost or refused; `forced` means "try the next server now" (no backoff).
    Lost { error: ClientError, forced: bool },
}

type Stream = Box<dyn AsyncReadWrite>;

trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncReadWrite for T {}

/// Server capabilities learned in a session.
#[derive(Default, Clone, Copy)]
struct Caps {
    no_cond_since: bool,
    no_cond: bool,
}

struct Task {
    config: ClientConfig,
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<Command>,
    queued: VecDeque<Command>,
    monitors: Vec<MonitorState>,
    locks: HashMap<String, (watch::Sender<bool>, bool)>,
    order: Vec<Remote>,
    next_remote: usize,
    min_index: HashMap<String, i64>,
    next_monitor: u64,
    caps: Caps,
}

/// One live connection.
struct Session {
    remote: String,
    conn: Connection,
    reader: tokio::io::ReadHalf<Stream>,
    writer: mpsc::UnboundedSender<Vec<u8>>,
    buf: Vec<u8>,
    external: HashMap<RequestId, (Method, Responder)>,
    /// Reply to an internal call, stored when it arrives.
    internal: HashMap<RequestId, std::result::Result<Reply, CallError>>,
    /// The internal call `rpc` waits for, if any.
    awaited: Option<RequestId>,
    /// The `_Server` schema and its `Database` rows (when the server has `_Server`).
    server_schema: Option<DatabaseSchema>,
    server_rows: HashMap<Uuid, ovsdb_proto::Row>,
    /// Calls whose replies the task handles itself: lock name for lock/steal, None for unlock.
    detached: HashMap<RequestId, Option<String>>,
    /// Schemas of databases transacted on without a monitor, for the write check: the
    /// `_Server` text they were parsed from (`None` when fetched with `get_schema`).
    schemas: HashMap<String, (Option<String>, Arc<DatabaseSchema>)>,
    writer_done: oneshot::Receiver<std::io::Error>,
}

impl Task {
    fn new(
        config: ClientConfig,
        shared: Arc<Shared>,
        rx: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        let mut order = config.remotes.remotes.clone();
        if config.shuffle_remotes {
            shuffle(&mut order);
        }
        Task {
            config,
            shared,
            rx,
            queued: VecDeque::new(),
            monitors: Vec::new(),
            locks: HashMap::new(),
            order,
            next_remote: 0,
            min_index: HashMap::new(),
            next_monitor: 0,
            caps: Caps::default(),
        }
    }

    async fn run(mut self) {
        let mut backoff = self.config.backoff_min;
        let mut failures_in_round = 0usize;
        loop {
            let remote = self.order[self.next_remote % self.order.len()].clone();
            self.next_remote += 1;
            let started = Instant::now();
            match self.session(&remote).await {
                End::Shutdown => break,
                End::Lost { error, forced } => {
                    // Monitor waiters stay: the next session syncs their monitor.
                    self.shared.status.send_replace(Status::Connecting);
                    warn!(%remote, %error, "ovsdb session ended");
                    *self
                        .shared
                        .last_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(error.to_string());
                    if started.elapsed() > Duration::from_secs(10) {
                        backoff = self.config.backoff_min;
                        failures_in_round = 0;
                    }
                    failures_in_round += 1;
                    // A forced reconnect (leadership lost, stale server) goes to the next
                    // remote at once, until every remote was tried in this round.
                    if forced && failures_in_round < self.order.len() {
                        continue;
                    }
                    if failures_in_round >= self.order.len() {
                        failures_in_round = 0;
                        let wait = backoff;
                        backoff = (backoff * 2).min(self.config.backoff_max);
                        if self.idle(wait).await {
                            break;
                        }
                    }
                }
            }
        }
        self.shared.status.send_replace(Status::Closed);
        for cmd in self
            .queued
            .drain(..)
            .chain(std::iter::from_fn(|| self.rx.try_recv().ok()))
        {
            fail(cmd, || ClientError::Closed);
        }
        for m in &mut self.monitors {
            for w in m.waiters.drain(..) {
                let _ = w.send(Err(ClientError::Closed));
            }
        }
    }

    /// Waits `wait` while queueing commands; true if shut down meanwhile.
    async fn idle(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return false,
                cmd = self.rx.recv() => match cmd {
                    None | Some(Command::Shutdown) => return true,
                    Some(cmd) => self.queued.push_back(cmd),
                },
            }
        }
    }

    async fn open(&self, remote: &Remote) -> Result<Stream> {
        let name = remote.to_string();
        let io = |source| ClientError::Io {
            remote: name.clone(),
            source,
        };
        let fut = async {
            Ok::<Stream, ClientError>(match remote {
                Remote::Tcp { host, port } => {
                    let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                        .await
                        .map_err(io)?;
                    let _ = s.set_nodelay(true);
                    Box::new(s)
                }
                Remote::Unix(path) => Box::new(
                    tokio::net::UnixStream::connect(PathBuf::from(path))
                        .await
                        .map_err(io)?,
                ),
                #[cfg(not(feature = "tls"))]
                Remote::Ssl { .. } => {
                    return Err(ClientError::Usage(format!(
                        "{name}: ssl: remotes need ovsdb-client's `tls` feature"
                    )))
                }
                #[cfg(feature = "tls")]
                Remote::Ssl { host, port } => {
                    let tls = self.config.tls.clone().ok_or_else(|| {
                        ClientError::Usage(format!(
                            "{name}: an ssl: remote needs a TLS configuration"
                        ))
                    })?;
                    let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                        .await
                        .map_err(io)?;
                    let _ = s.set_nodelay(true);
                    Box::new(tls.connect(s, host).await?)
                }
            })
        };
        match tokio::time::timeout(self.config.connect_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout(format!("connecting to {name}"))),
        }
    }

    async fn session(&mut self, remote: &Remote) -> End {
        let stream = match self.open(remote).await {
            Ok(s) => s,
            Err(error) => {
                return End::Lost {
                    error,
                    forced: false,
                }
            }
        };
        let (reader, mut write_half) = tokio::io::split(stream);
        let (writer, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (done_tx, writer_done) = oneshot::channel();
        tokio::spawn(async move {
            while let Some(bytes) = out_rx.recv().await {
                if let Err(e) = write_half.write_all(&bytes).await {
                    let _ = done_tx.send(e);
                    return;
                }
            }
            let _ = write_half.shutdown().await;
        });
        let conn_config = ConnectionConfig::default()
            .probe_interval(self.config.probe_interval)
            .max_message_len(self.config.max_message_len);
        let mut s = Session {
            remote: remote.to_string(),
            conn: Connection::new(conn_config, Instant::now()),
            reader,
            writer,
            buf: vec![0; 256 * 1024],
            external: HashMap::new(),
            internal: HashMap::new(),
            awaited: None,
            server_schema: None,
            server_rows: HashMap::new(),
            detached: HashMap::new(),
            schemas: HashMap::new(),
            writer_done,
        };
        self.caps = Caps::default();
        debug!(remote = %s.remote, "connected");
        let end = match self.handshake(&mut s).await {
            Ok(()) => self.serve(&mut s).await,
            Err(end) => end,
        };
        for (_, (method, tx)) in s.external.drain() {
            let _ = tx.send(Err(ClientError::Disconnected(method)));
        }
        for (_, (tx, _)) in self.locks.iter() {
            tx.send_replace(false);
        }
        end
    }

    /// `_Server` checks, schemas, monitors and locks: everything a new session needs before
    /// it serves callers.
    async fn handshake(&mut self, s: &mut Session) -> std::result::Result<(), End> {
        let dbs: Vec<String> = {
            let mut v: Vec<String> = self.monitors.iter().map(|m| m.db.clone()).collect();
            v.sort();
            v.dedup();
            v
        };
        self.watch_server(s, &dbs).await?;
        let mut ok = true;
        s.send(self.lock_calls());
        for db in &dbs {
            ok &= self.load_schema(s, db).await?;
        }
        for i in 0..self.monitors.len() {
            self.start_monitor(s, i).await?;
        }
        // Monitors are synced; callers waiting for them hear it once the status says so.
        if !ok {
            return Err(lost(
                ClientError::Usage("a monitored database is not on the server".into()),
                false,
            ));
        }
        let session = {
            let mut st = self.shared.stats.lock().unwrap_or_else(|e| e.into_inner());
            st.sessions += 1;
            st.sessions
        };
        info!(remote = %s.remote, session, "ovsdb session ready");
        self.shared.status.send_replace(Status::Connected {
            remote: s.remote.clone(),
            session,
        });
        for i in 0..self.monitors.len() {
            self.monitor_ready(i);
        }
        Ok(())
    }

    fn lock_calls(&self) -> Vec<Call> {
        let mut v: Vec<_> = self
            .locks
            .iter()
            .map(|(name, (_, steal))| {
                if *steal {
                    Call::Steal { lock: name.clone() }
                } else {
                    Call::Lock { lock: name.clone() }
                }
            })
            .collect();
        v.sort_by_key(|c| format!("{c:?}"));
        v
    }

    /// Monitors `_Server.Database` for `dbs` and checks that this server may be used.
    async fn watch_server(
        &mut self,
        s: &mut Session,
        dbs: &[String],
    ) -> std::result::Result<(), End> {
        match self
            .rpc(
                s,
                Call::GetSchema {
                    db: "_Server".into(),
                },
                false,
            )
            .await?
        {
            Ok(Reply::GetSchema(schema)) => s.server_schema = Some(*schema),
            Ok(other) => return Err(lost(unexpected(Method::GetSchema, other), false)),
            // Servers older than 2.9 have no _Server: nothing to check.
            Err(CallError::Server(e)) if e.kind == ErrorKind::UnknownDatabase => return Ok(()),
            Err(e) => return Err(lost(call_error(&s.remote, Method::GetSchema, e), false)),
        }
        let requests = MonitorRequests::default().with(
            "Database",
            MonitorRequest {
                columns: Some(
                    [
                        "name",
                        "model",
                        "connected",
                        "leader",
                        "schema",
                        "cid",
                        "index",
                    ]
                    .map(String::from)
                    .to_vec(),
                ),
                ..Default::default()
            },
        );
        let call = Call::MonitorCond {
            db: "_Server".into(),
            monitor_id: json!("_Server"),
            requests,
        };
        match self.rpc(s, call, false).await? {
            Ok(Reply::MonitorCond(u)) => s
                .server_update(u)
                .map_err(|e| lost(proto_error(&s.remote, e), false))?,
            Ok(other) => return Err(lost(unexpected(Method::MonitorCond, other), false)),
            Err(e) => return Err(lost(call_error(&s.remote, Method::MonitorCond, e), false)),
        }
        self.check_server(s, dbs)?;
        // Survive schema conversions and role changes without being disconnected.
        let _ = self.rpc(s, Call::SetDbChangeAware(true), false).await?;
        Ok(())
    }

    fn check_server(&mut self, s: &Session, dbs: &[String]) -> std::result::Result<(), End> {
        if s.server_schema.is_none() {
            return Ok(());
        }
        for db in dbs {
            let Some(row) = s.server_row(db) else {
                return Err(refuse(
                    &self.shared,
                    &s.remote,
                    db,
                    "does not serve the database",
                ));
            };
            let text = |c: &str| {
                row.get(c)
                    .and_then(|d| d.as_atom())
                    .and_then(|a| a.as_str())
                    .map(str::to_owned)
            };
            let flag = |c: &str| {
                row.get(c)
                    .and_then(|d| d.as_atom())
                    .and_then(|a| a.as_bool())
            };
            let model = text("model").unwrap_or_default();
            let index = row
                .get("index")
                .and_then(|d| d.as_atom())
                .and_then(|a| a.as_integer());
            match model.as_str() {
                "clustered" => {
                    if text("schema").is_none_or(|s| s.is_empty()) {
                        return Err(refuse(
                            &self.shared,
                            &s.remote,
                            db,
                            "has not joined its cluster yet",
                        ));
                    }
                    if flag("connected") == Some(false) {
                        return Err(refuse(
                            &self.shared,
                            &s.remote,
                            db,
                            "is disconnected from its cluster",
                        ));
                    }
                    if self.config.leader_only && flag("leader") != Some(true) {
                        return Err(refuse(
                            &self.shared,
                            &s.remote,
                            db,
                            "is not the cluster leader",
                        ));
                    }
                    if let Some(cid) = self.config.remotes.cid {
                        let got = row
                            .get("cid")
                            .and_then(|d| d.as_atom())
                            .and_then(|a| a.as_uuid());
                        if got != Some(cid) {
                            return Err(refuse(
                                &self.shared,
                                &s.remote,
                                db,
                                "belongs to another cluster",
                            ));
                        }
                    }
                    if let Some(index) = index {
                        let min = self.min_index.entry(db.clone()).or_insert(index);
                        if index < *min {
                            return Err(refuse(
                                &self.shared,
                                &s.remote,
                                db,
                                "has older data than already seen",
                            ));
                        }
                        *min = index;
                    }
                }
                "relay" if self.config.leader_only => {
                    return Err(refuse(
                        &self.shared,
                        &s.remote,
                        db,
                        "is a relay (not accepted with leader_only)",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Fetches the schema of `db` into its cache; false if the server lacks the database.
    async fn load_schema(&mut self, s: &mut Session, db: &str) -> std::result::Result<bool, End> {
        match self
            .rpc(s, Call::GetSchema { db: db.into() }, false)
            .await?
        {
            Ok(Reply::GetSchema(schema)) => {
                self.cache_for(db).set_schema(Arc::new(*schema));
                Ok(true)
            }
            Err(CallError::Server(e)) if e.kind == ErrorKind::UnknownDatabase => {
                for m in self.monitors.iter_mut().filter(|m| m.db == db) {
                    for w in m.waiters.drain(..) {
                        let _ = w.send(Err(ClientError::Usage(format!(
                            "the server has no database {db}"
                        ))));
                    }
                }
                self.monitors.retain(|m| m.db != db);
                Ok(false)
            }
            Ok(other) => Err(lost(unexpected(Method::GetSchema, other), false)),
            Err(e) => Err(lost(call_error(&s.remote, Method::GetSchema, e), false)),
        }
    }

    /// Makes `ops` fit the server's schema of `db` (see [`check_operations`]); the inner
    /// error refuses the transaction. Without a schema (the server does not serve `db`) the
    /// operations go as they are, for the server to answer.
    async fn check_writes(
        &mut self,
        s: &mut Session,
        db: &str,
        ops: &mut [Operation],
    ) -> std::result::Result<Result<()>, End> {
        let Some(schema) = self.schema_of(s, db).await? else {
            return Ok(Ok(()));
        };
        Ok(
            match check_operations(ops, &schema, self.config.histories.get(db)) {
                Ok(0) => Ok(()),
                Ok(dropped) => {
                    debug!(
                        db,
                        dropped, "left out default values of columns the server lacks"
                    );
                    Ok(())
                }
                Err(ovsdb_proto::Error::Skew(e)) => Err(ClientError::Skew(e)),
                Err(e) => Err(ClientError::Usage(e.to_string())),
            },
        )
    }

    /// The server's schema of `db`: the monitored cache's, else the text `_Server`
    /// publishes, else one `get_schema` per session; `None` if the server does not serve it.
    async fn schema_of(
        &mut self,
        s: &mut Session,
        db: &str,
    ) -> std::result::Result<Option<Arc<DatabaseSchema>>, End> {
        let monitored = self
            .shared
            .caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(db)
            .and_then(|c| c.schema());
        if monitored.is_some() {
            return Ok(monitored);
        }
        let published = s
            .server_row(db)
            .and_then(|r| r.get("schema"))
            .and_then(|d| d.as_atom())
            .and_then(|a| a.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if let Some(text) = published {
            if let Some((Some(seen), schema)) = s.schemas.get(db) {
                if *seen == text {
                    return Ok(Some(schema.clone()));
                }
            }
            match DatabaseSchema::from_slice(text.as_bytes()) {
                Ok(schema) => {
                    let schema = Arc::new(schema);
                    s.schemas
                        .insert(db.to_owned(), (Some(text), schema.clone()));
                    return Ok(Some(schema));
                }
                Err(e) => warn!(remote = %s.remote, db, error = %e, "unusable schema in _Server"),
            }
        }
        if let Some((_, schema)) = s.schemas.get(db) {
            return Ok(Some(schema.clone()));
        }
        match self
            .rpc(s, Call::GetSchema { db: db.into() }, false)
            .await?
        {
            Ok(Reply::GetSchema(schema)) => {
                let schema = Arc::new(*schema);
                s.schemas.insert(db.to_owned(), (None, schema.clone()));
                Ok(Some(schema))
            }
            _ => Ok(None),
        }
    }

    fn cache_for(&self, db: &str) -> Arc<Cache> {
        self.shared
            .caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(db.to_owned())
            .or_insert_with(|| Arc::new(Cache::new(db)))
            .clone()
    }

    /// Sends monitor `i`, resuming from its last transaction id when the server can.
    async fn start_monitor(&mut self, s: &mut Session, i: usize) -> std::result::Result<(), End> {
        let cache = self.cache_for(&self.monitors[i].db);
        let Some(schema) = cache.schema() else {
            return Ok(());
        };
        let m = &mut self.monitors[i];
        for t in &m.spec.typed {
            (t.register)(&cache);
        }
        m.tables = match &m.spec.tables {
            None => schema.tables.keys().cloned().collect(),
            Some(t) => t
                .iter()
                .filter(|t| schema.table(t).is_some())
                .cloned()
                .collect(),
        };
        let mut requests = MonitorRequests::default();
        for t in &m.tables {
            requests = requests.with(t.clone(), MonitorRequest::default());
        }
        let (db, id, last) = (m.db.clone(), m.id.clone(), m.last_txn_id);
        loop {
            let call = if !self.caps.no_cond_since {
                Call::MonitorCondSince {
                    db: db.clone(),
                    monitor_id: id.clone(),
                    requests: requests.clone(),
                    last_txn_id: last.unwrap_or(Uuid::nil()),
                }
            } else if !self.caps.no_cond {
                Call::MonitorCond {
                    db: db.clone(),
                    monitor_id: id.clone(),
                    requests: requests.clone(),
                }
            } else {
                Call::Monitor {
                    db: db.clone(),
                    monitor_id: id.clone(),
                    requests: requests.clone(),
                }
            };
            let method = call.method();
            // The `update2` formats come back raw, so that typed-only tables decode their
            // rows in one pass (`InitialCopy`).
            let raw = method != Method::Monitor;
            let (updates, found, txn) = match self.rpc(s, call, raw).await? {
                Ok(Reply::Raw(payload)) => match InitialCopy::decode(method, payload) {
                    Ok(c) => (c.updates, c.found, c.last_txn_id),
                    Err(e) => return Err(lost(proto_error(&s.remote, e), false)),
                },
                Ok(Reply::MonitorCondSince(r)) => {
                    (Updates::Decoded(r.updates), r.found, Some(r.last_txn_id))
                }
                Ok(Reply::MonitorCond(u)) => (Updates::Decoded(u), false, None),
                Ok(Reply::Monitor(u)) => (Updates::Decoded(v1_as_initial(u)), false, None),
                Err(CallError::Server(e))
                    if e.kind == ErrorKind::UnknownMethod || e.error.contains("unknown method") =>
                {
                    match method {
                        Method::MonitorCondSince => self.caps.no_cond_since = true,
                        Method::MonitorCond => self.caps.no_cond = true,
                        _ => return Err(lost(ClientError::Server { method, error: e }, false)),
                    }
                    continue;
                }
                Ok(other) => return Err(lost(unexpected(method, other), false)),
                Err(e) => return Err(lost(call_error(&s.remote, method, e), false)),
            };
            let m = &mut self.monitors[i];
            // A standalone server answers with the zero id: it keeps no history.
            m.last_txn_id = txn.filter(|t| !t.is_nil());
            let kind = if found && last.is_some() {
                let updates = match updates.into_decoded() {
                    Ok(u) => u,
                    Err(e) => return Err(lost(proto_error(&s.remote, e), false)),
                };
                match cache.apply2(&schema, updates) {
                    Ok(changes) => {
                        let _ = self.shared.events.send(CacheEvent::Changed {
                            db: db.clone(),
                            changes: Arc::new(changes),
                        });
                    }
                    Err(e) => {
                        m.last_txn_id = None;
                        return Err(lost(proto_error(&s.remote, e), true));
                    }
                }
                SyncKind::Resumed
            } else {
                let replaced = match updates {
                    Updates::Decoded(u) => cache.replace(&schema, &m.tables, u),
                    Updates::Raw(payload, tables) => {
                        let json = payload.as_bytes();
                        let per_table = tables
                            .iter()
                            .map(|(t, r)| (t.clone(), &json[r.clone()]))
                            .collect();
                        cache.replace_json(&schema, &m.tables, per_table)
                    }
                };
                if let Err(e) = replaced {
                    m.last_txn_id = None;
                    return Err(lost(proto_error(&s.remote, e), true));
                }
                let _ = self.shared.events.send(CacheEvent::Resynced {
                    db: db.clone(),
                    tables: m.tables.clone(),
                });
                SyncKind::Full
            };
            {
                let mut st = self.shared.stats.lock().unwrap_or_else(|e| e.into_inner());
                match kind {
                    SyncKind::Resumed => st.resumed_syncs += 1,
                    SyncKind::Full => st.full_syncs += 1,
                }
            }
            debug!(%db, ?kind, "monitor synced");
            return Ok(());
        }
    }

    /// The tables monitor `i` names that its database's schema lacks, comma-separated.
    fn unknown_tables(&self, i: usize) -> Option<String> {
        let m = &self.monitors[i];
        let schema = self.cache_for(&m.db).schema()?;
        let unknown: Vec<&str> = m
            .spec
            .tables
            .iter()
            .flatten()
            .filter(|t| schema.table(t).is_none())
            .map(String::as_str)
            .collect();
        (!unknown.is_empty()).then(|| unknown.join(", "))
    }

    /// Tells the callers waiting for monitor `i` that its cache is ready.
    fn monitor_ready(&mut self, i: usize) {
        let cache = self.cache_for(&self.monitors[i].db);
        for w in self.monitors[i].waiters.drain(..) {
            let _ = w.send(Ok(cache.clone()));
        }
    }

    /// Serves callers until the session ends.
    async fn serve(&mut self, s: &mut Session) -> End {
        while let Some(cmd) = self.queued.pop_front() {
            if let Err(end) = self.command(s, cmd).await {
                return end;
            }
        }
        loop {
            // Messages left queued behind an internal call's reply.
            if let Err(end) = self.drain_events(s) {
                return end;
            }
            s.flush();
            let timeout = s.conn.poll_timeout();
            tokio::select! {
                biased;
                read = s.reader.read(&mut s.buf) => {
                    if let Err(end) = self.input(s, read) {
                        return end;
                    }
                }
                cmd = self.rx.recv() => {
                    let Some(cmd) = cmd else { return End::Shutdown };
                    if let Err(end) = self.command(s, cmd).await {
                        return end;
                    }
                }
                _ = sleep_until(timeout) => {
                    s.conn.handle_timeout(Instant::now());
                    if let Err(end) = self.drain_events(s) {
                        return end;
                    }
                    s.flush();
                }
                err = &mut s.writer_done => {
                    let source = err.unwrap_or_else(|_| std::io::Error::other("writer stopped"));
                    return lost(ClientError::Io { remote: s.remote.clone(), source }, false);
                }
            }
        }
    }

    async fn command(&mut self, s: &mut Session, cmd: Command) -> std::result::Result<(), End> {
        match cmd {
            Command::Shutdown => return Err(End::Shutdown),
            Command::Call { call, reply } => {
                let call = match call {
                    Call::Transact { db, mut ops } if self.config.check_writes => {
                        if let Err(e) = self.check_writes(s, &db, &mut ops).await? {
                            let _ = reply.send(Err(e));
                            return Ok(());
                        }
                        Call::Transact { db, ops }
                    }
                    other => other,
                };
                let method = call.method();
                let id = s.conn.call(call);
                // Callers that gave up (a transact deadline) leave a closed channel behind;
                // forget those now and then so they do not pile up on a long session.
                if s.external.len() >= 64 && id % 64 == 0 {
                    s.external.retain(|_, (_, tx)| !tx.is_closed());
                }
                s.external.insert(id, (method, reply));
                s.flush();
            }
            Command::Monitor { db, spec, reply } => {
                for t in &spec.typed {
                    let history = (t.history)();
                    if history.name() == db {
                        self.config.histories.add(history);
                    }
                }
                let id = json!([db, self.next_monitor]);
                self.next_monitor += 1;
                self.monitors.push(MonitorState {
                    db: db.clone(),
                    spec,
                    id,
                    tables: Vec::new(),
                    last_txn_id: None,
                    waiters: vec![reply],
                });
                let i = self.monitors.len() - 1;
                let known = self
                    .shared
                    .caches
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&db)
                    .and_then(|c| c.schema());
                if known.is_none() {
                    // A new database: the server must serve it (and, in a cluster, lead it).
                    if s.server_schema.is_some() && s.server_row(&db).is_none() {
                        let m = self.monitors.pop().expect("pushed above");
                        for w in m.waiters {
                            let _ = w.send(Err(ClientError::Usage(format!(
                                "the server has no database {db}"
                            ))));
                        }
                        return Ok(());
                    }
                    self.check_server(s, std::slice::from_ref(&db))?;
                    if !self.load_schema(s, &db).await? {
                        return Ok(());
                    }
                }
                if let Some(unknown) = self.unknown_tables(i) {
                    let m = self.monitors.pop().expect("pushed above");
                    for w in m.waiters {
                        let _ = w.send(Err(ClientError::Usage(format!(
                            "{db} has no table {unknown}"
                        ))));
                    }
                    return Ok(());
                }
                self.start_monitor(s, i).await?;
                self.monitor_ready(i);
            }
            Command::Lock { name, state, steal } => {
                s.send(vec![if steal {
                    Call::Steal { lock: name.clone() }
                } else {
                    Call::Lock { lock: name.clone() }
                }]);
                self.locks.insert(name, (state, steal));
            }
            Command::Unlock { name } => {
                if let Some((state, _)) = self.locks.remove(&name) {
                    state.send_replace(false);
                    s.send(vec![Call::Unlock { lock: name }]);
                }
            }
            Command::ProbeInterval(interval) => {
                self.config.probe_interval = interval;
                s.conn.set_probe_interval(interval);
            }
        }
        Ok(())
    }

    fn input(
        &mut self,
        s: &mut Session,
        read: std::io::Result<usize>,
    ) -> std::result::Result<(), End> {
        match read {
            Ok(0) => Err(lost(
                ClientError::Io {
                    remote: s.remote.clone(),
                    source: std::io::ErrorKind::UnexpectedEof.into(),
                },
                false,
            )),
            Ok(n) => {
                let (conn, buf) = (&mut s.conn, &s.buf);
                conn.handle_input(&buf[..n], Instant::now())
                    .map_err(|e| lost(proto_error(&s.remote, e), false))?;
                self.drain_events(s)?;
                s.flush();
                Ok(())
            }
            Err(source) => Err(lost(
                ClientError::Io {
                    remote: s.remote.clone(),
                    source,
                },
                false,
            )),
        }
    }

    fn drain_events(&mut self, s: &mut Session) -> std::result::Result<(), End> {
        while let Some(ev) = s.conn.poll_event() {
            match ev {
                Event::Reply { id, method, result } => {
                    if let Some((_, tx)) = s.external.remove(&id) {
                        let _ = tx.send(result.map_err(|e| call_error(&s.remote, method, e)));
                    } else if let Some(lock) = s.detached.remove(&id) {
                        match (lock.and_then(|n| self.locks.get(&n)), result) {
                            (Some((tx, _)), Ok(Reply::Lock { locked })) => {
                                tx.send_replace(locked);
                            }
                            (_, Err(e)) => {
                                warn!(remote = %s.remote, %method, error = %e, "lock request failed")
                            }
                            _ => {}
                        }
                    } else if s.awaited == Some(id) {
                        s.internal.insert(id, result);
                        // Stop here: the caller of `rpc` handles this reply (a monitor's
                        // initial copy) before the messages that followed it (that
                        // monitor's first updates), which stay queued for the next drain.
                        return Ok(());
                    } else {
                        // The caller gave up (a transact deadline): nobody wants it.
                        debug!(remote = %s.remote, %method, id, "reply to an abandoned call");
                    }
                }
                Event::Notification(call) => self.notification(s, call)?,
                Event::Request { id, call } => {
                    warn!(remote = %s.remote, ?call, "unexpected request from server");
                    s.conn
                        .respond(&id, Err(&json!({"error": "unknown method"})));
                }
                // A reply to a request we never sent is harmless: log it and go on.
                Event::Malformed(e @ ovsdb_proto::Error::Protocol(_)) => {
                    warn!(remote = %s.remote, error = %e, "ignored message from server");
                }
                // A message we cannot decode may have been the reply to a pending call: start
                // over rather than leave that call waiting forever.
                Event::Malformed(e) => return Err(lost(proto_error(&s.remote, e), false)),
                Event::ProbeTimeout => {
                    return Err(lost(
                        ClientError::Timeout(format!(
                            "{}: no answer to the inactivity probe",
                            s.remote
                        )),
                        false,
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn notification(&mut self, s: &mut Session, call: Call) -> std::result::Result<(), End> {
        match call {
            Call::Update2 {
                monitor_id,
                updates,
            } if monitor_id == json!("_Server") => {
                s.server_update(updates)
                    .map_err(|e| lost(proto_error(&s.remote, e), false))?;
                let dbs: Vec<String> = self.monitors.iter().map(|m| m.db.clone()).collect();
                self.check_server(s, &dbs)?;
            }
            Call::Update2 {
                monitor_id,
                updates,
            } => self.apply(s, &monitor_id, None, Ok(updates))?,
            Call::Update3 {
                monitor_id,
                last_txn_id,
                updates,
            } => self.apply(s, &monitor_id, Some(last_txn_id), Ok(updates))?,
            Call::Update {
                monitor_id,
                updates,
            } => self.apply(s, &monitor_id, None, Err(updates))?,
            Call::Locked { lock } => {
                if let Some((tx, _)) = self.locks.get(&lock) {
                    tx.send_replace(true);
                }
            }
            Call::Stolen { lock } => {
                if let Some((tx, _)) = self.locks.get(&lock) {
                    tx.send_replace(false);
                }
            }
            Call::MonitorCanceled { monitor_id } => {
                // The database was removed or converted: set everything up again.
                return Err(lost(
                    ClientError::Usage(format!("monitor {monitor_id} canceled by the server")),
                    true,
                ));
            }
            other => debug!(?other, "ignored notification"),
        }
        Ok(())
    }

    fn apply(
        &mut self,
        s: &Session,
        monitor_id: &Value,
        txn: Option<Uuid>,
        updates: std::result::Result<TableUpdates2, TableUpdates>,
    ) -> std::result::Result<(), End> {
        let Some(m) = self.monitors.iter_mut().find(|m| &m.id == monitor_id) else {
            debug!(%monitor_id, "update for an unknown monitor");
            return Ok(());
        };
        let cache = self
            .shared
            .caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&m.db)
            .cloned();
        let Some((cache, schema)) = cache.and_then(|c| c.schema().map(|s| (c, s))) else {
            return Ok(());
        };
        let result = match updates {
            Ok(u) => cache.apply2(&schema, u),
            Err(u) => cache.apply1(&schema, u),
        };
        match result {
            Ok(changes) => {
                if let Some(t) = txn {
                    m.last_txn_id = Some(t);
                }
                let _ = self.shared.events.send(CacheEvent::Changed {
                    db: m.db.clone(),
                    changes: Arc::new(changes),
                });
                Ok(())
            }
            Err(e) => {
                // The server and the cache disagree: start over with a full copy.
                m.last_txn_id = None;
                Err(lost(proto_error(&s.remote, e), false))
            }
        }
    }

    /// Sends `call` and waits for its reply while handling everything else that arrives.
    async fn rpc(
        &mut self,
        s: &mut Session,
        call: Call,
        raw: bool,
    ) -> std::result::Result<std::result::Result<Reply, CallError>, End> {
        let id = if raw {
            s.conn.call_raw(call)
        } else {
            s.conn.call(call)
        };
        s.awaited = Some(id);
        s.flush();
        loop {
            if let Some(r) = s.internal.remove(&id) {
                s.awaited = None;
                return Ok(r);
            }
            // Messages left queued behind an earlier internal call's reply come first.
            self.drain_events(s)?;
            if let Some(r) = s.internal.remove(&id) {
                s.awaited = None;
                return Ok(r);
            }
            s.flush();
            let timeout = s.conn.poll_timeout();
            tokio::select! {
                read = s.reader.read(&mut s.buf) => self.input(s, read)?,
                _ = sleep_until(timeout) => {
                    s.conn.handle_timeout(Instant::now());
                    self.drain_events(s)?;
                    s.flush();
                }
                err = &mut s.writer_done => {
                    let source = err.unwrap_or_else(|_| std::io::Error::other("writer stopped"));
                    return Err(lost(ClientError::Io { remote: s.remote.clone(), source }, false));
                }
            }
        }
    }
}

impl Session {
    fn flush(&mut self) {
        while let Some(bytes) = self.conn.poll_transmit() {
            // A closed writer shows up as `writer_done`.
            let _ = self.writer.send(bytes);
        }
    }

    /// Sends calls whose replies the task handles itself (lock/steal/unlock).
    fn send(&mut self, calls: Vec<Call>) {
        for call in calls {
            let name = match &call {
                Call::Lock { lock } | Call::Steal { lock } => Some(lock.clone()),
                _ => None,
            };
            let id = self.conn.call(call);
            self.detached.insert(id, name);
        }
        self.flush();
    }

    fn server_update(&mut self, updates: TableUpdates2) -> ovsdb_proto::Result<()> {
        let Some(schema) = &self.server_schema else {
            return Ok(());
        };
        for (table, rows) in updates.0 {
            let Some(ts) = schema.table(&table) else {
                continue;
            };
            for (uuid, u) in rows {
                ovsdb_proto::apply_update2(&mut self.server_rows, &table, ts, uuid, u)?;
            }
        }
        Ok(())
    }

    /// The `_Server.Database` row of `db`.
    fn server_row(&self, db: &str) -> Option<&ovsdb_proto::Row> {
        self.server_rows.values().find(|r| {
            r.get("name")
                .and_then(|d| d.as_atom())
                .and_then(|a| a.as_str())
                == Some(db)
        })
    }
}

fn sleep_until(deadline: Option<Instant>) -> tokio::time::Sleep {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)),
        None => tokio::time::sleep(Duration::from_secs(3600)),
    }
}

fn lost(error: ClientError, forced: bool) -> End {
    End::Lost { error, forced }
}

fn refuse(shared: &Shared, remote: &str, db: &str, why: &str) -> End {
    shared
        .stats
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .refused_servers += 1;
    info!(%remote, %db, why, "server refused");
    lost(ClientError::NoServer(format!("{remote}: {db} {why}")), true)
}

fn proto_error(remote: &str, source: ovsdb_proto::Error) -> ClientError {
    ClientError::Protocol {
        remote: remote.to_owned(),
        source,
    }
}

fn call_error(remote: &str, method: Method, e: CallError) -> ClientError {
    match e {
        CallError::Server(error) => ClientError::Server { method, error },
        CallError::Malformed(source) => proto_error(remote, source),
        #[allow(unreachable_patterns, reason = "CallError is non_exhaustive")]
        other => proto_error(remote, ovsdb_proto::Error::Protocol(other.to_string())),
    }
}

fn fail(cmd: Command, err: impl Fn() -> ClientError) {
    match cmd {
        Command::Call { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Command::Monitor { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        _ => {}
    }
}

/// A `monitor` (v1) reply as `initial` rows.
/// A monitor's initial copy: decoded, or raw with each table's byte range in the payload.
enum Updates {
    Decoded(TableUpdates2),
    Raw(Payload, Vec<(String, Range<usize>)>),
}

impl Updates {
    fn into_decoded(self) -> ovsdb_proto::Result<TableUpdates2> {
        match self {
            Updates::Decoded(u) => Ok(u),
            Updates::Raw(payload, tables) => {
                let json = payload.as_bytes();
                let mut out = TableUpdates2::default();
                for (t, r) in tables {
                    out.0
                        .insert(t, ovsdb_proto::decode_table_update2(&json[r])?);
                }
                Ok(out)
            }
        }
    }
}

/// The reply to `monitor_cond` or `monitor_cond_since`, split without decoding the rows.
struct InitialCopy {
    found: bool,
    last_txn_id: Option<Uuid>,
    updates: Updates,
}

impl InitialCopy {
    fn decode(method: Method, payload: Payload) -> ovsdb_proto::Result<InitialCopy> {
        use serde_json::value::RawValue;
        use std::collections::BTreeMap;
        // The reply is read once: straight into its table members, left raw.
        type Members<'a> = BTreeMap<String, &'a RawValue>;
        let json = payload.as_bytes();
        let bad = |e: serde_json::Error| ovsdb_proto::Error::from_json("monitor reply", &e);
        let (found, last_txn_id, members) = if method == Method::MonitorCondSince {
            let (found, txn, members): (bool, String, Members<'_>) =
                ovsdb_proto::json::from_bytes(json).map_err(bad)?;
            let txn = ovsdb_proto::parse_uuid(&txn).ok_or_else(|| {
                ovsdb_proto::Error::Protocol(format!("bad last-txn-id {txn:?} in monitor reply"))
            })?;
            (found, Some(txn), members)
        } else {
            let members: Members<'_> = ovsdb_proto::json::from_bytes(json).map_err(bad)?;
            (false, None, members)
        };
        // Each member's text is a slice of `json`: keep its range.
        let base = json.as_ptr() as usize;
        let tables = members
            .into_iter()
            .map(|(t, raw)| {
                let start = raw.get().as_ptr() as usize - base;
                (t, start..start + raw.get().len())
            })
            .collect();
        Ok(InitialCopy {
            found,
            last_txn_id,
            updates: Updates::Raw(payload, tables),
        })
    }
}

fn v1_as_initial(u: TableUpdates) -> TableUpdates2 {
    TableUpdates2(
        u.0.into_iter()
            .map(|(t, rows)| {
                (
                    t,
                    rows.into_iter()
                        .filter_map(|(uuid, r)| r.new.map(|n| (uuid, RowUpdate2::Initial(n))))
                        .collect(),
                )
            })
            .collect(),
    )
}

/// Fisher–Yates with a seed from the standard library's per-process random hasher keys.
fn shuffle<T>(v: &mut [T]) {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(v.len() as u64);
    let mut x = h.finish() | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}
