//! A client's OVSDB session as a sans-IO state machine: what a client says and expects on
//! each connection, and what it remembers from one connection to the next.
//!
//! [`Connection`] handles one stream (framing, request ids, probes). [`Session`] sits on top
//! and carries a client's policy across reconnections:
//!
//! - **Admission** (Open vSwitch's `ovsdb-cs`): the `_Server` database says whether a server
//!   serves each monitored database, is connected to its cluster, is its leader (when
//!   required), belongs to the expected cluster, and is not behind what was already seen
//!   (`index ≥ min_index`). A server that fails a check, at once or later, is left with
//!   [`SessionEvent::Closed`] asking for the next remote now.
//! - **Monitors**: each keeps the last transaction id; a new connection asks
//!   `monitor_cond_since` for the changes since, falls back to `monitor_cond` and then
//!   `monitor` on servers without them, and hands the initial copy over raw
//!   ([`InitialUpdates`]) so typed tables decode it in one pass.
//! - **Locks** are asked again on every connection until unlocked.
//! - **Calls** made while not connected wait for the next connection; a `transact` is first
//!   checked against the server's schema ([`crate::skew::check_operations`]).
//!
//! The owner feeds it bytes and time and drains its output, in the same four groups as
//! [`Connection`]: getters; `handle_*` for input ([`Session::connect`],
//! [`Session::handle_input`], [`Session::handle_timeout`], [`Session::handle_disconnect`],
//! [`Session::handle_cache_error`]); commands ([`Session::call`], [`Session::monitor`],
//! [`Session::lock`], …); `poll_*` for output ([`Session::poll_transmit`],
//! [`Session::poll_event`], [`Session::poll_timeout`]). Events come out in the order their
//! messages arrived, so an owner that applies each monitor update before it takes the next
//! event sees a transaction's changes before its reply (ovsdb-server sends them first).
//!
//! ```
//! use std::time::Instant;
//! use ovsdb_proto::session::{Session, SessionConfig};
//!
//! let now = Instant::now();
//! let mut session = Session::new(SessionConfig::default());
//! let _monitor = session.monitor("OVN_Northbound", None);
//! session.connect("unix:/run/ovn/ovnnb_db.sock", now);
//! // The first thing said on a connection: the `_Server` schema, for admission.
//! let bytes = session.poll_transmit().unwrap();
//! assert!(bytes.starts_with(br#"{"id":0,"method":"get_schema","params":["_Server"]}"#));
//! ```

mod admission;
mod event;
mod initial;
mod monitors;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracing::{debug, info, warn};

use crate::skew::{check_operations, SchemaHistory};
use crate::{
    Call, CallError, Condition, Connection, ConnectionConfig, DatabaseSchema, Error, ErrorKind,
    Event, Method, MonitorRequest, MonitorRequests, Operation, Reply, RequestId, Row, Uuid,
};

use admission::{server_row, text};
pub use event::{
    CallFailure, CallId, CloseReason, MonitorId, MonitorUpdate, SessionEvent, SyncKind,
};
use initial::InitialCopy;
pub use initial::InitialUpdates;

/// The `_Server.Database` columns admission reads.
const SERVER_COLUMNS: [&str; 7] = [
    "name",
    "model",
    "connected",
    "leader",
    "schema",
    "cid",
    "index",
];

/// How a [`Session`] behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Accept only the leader of a clustered database (and no relay). Default true.
    pub leader_only: bool,
    /// The cluster the servers must belong to (`cid`), if known.
    pub cid: Option<Uuid>,
    /// Check each `transact` against the server's schema before sending it. Default true.
    pub check_writes: bool,
    /// Settings of each connection (probe interval, maximum message length).
    pub connection: ConnectionConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            leader_only: true,
            cid: None,
            check_writes: true,
            connection: ConnectionConfig::default(),
        }
    }
}

impl SessionConfig {
    /// Whether only a cluster's leader is accepted.
    pub fn leader_only(mut self, yes: bool) -> Self {
        self.leader_only = yes;
        self
    }

    /// The cluster id the servers must have.
    pub fn cid(mut self, cid: Option<Uuid>) -> Self {
        self.cid = cid;
        self
    }

    /// Whether transactions are checked against the server's schema.
    pub fn check_writes(mut self, yes: bool) -> Self {
        self.check_writes = yes;
        self
    }

    /// The settings of each connection.
    pub fn connection(mut self, connection: ConnectionConfig) -> Self {
        self.connection = connection;
        self
    }
}

/// One registered monitor.
#[derive(Debug)]
struct Monitor {
    id: MonitorId,
    db: String,
    /// The tables asked for (`None`: all of the schema's).
    asked: Option<Vec<String>>,
    /// The monitor id on the wire.
    wire_id: Value,
    /// The tables actually monitored (resolved against the schema).
    tables: Vec<String>,
    last_txn_id: Option<Uuid>,
    /// `where` clauses by table (a row is kept if any holds); absent: every row.
    conditions: BTreeMap<String, Vec<Condition>>,
    /// Whether this connection was asked for the monitor with a method that takes
    /// conditions (a later change then goes as `monitor_cond_change`).
    conditional: bool,
    /// `monitor_cond_change` requests awaiting replies: meanwhile updates may still follow
    /// the old conditions, so their transaction ids are not resumed from.
    changing: usize,
}

/// A call whose reply the session handles itself, without waiting for it.
#[derive(Debug)]
enum Detached {
    Lock(String),
    Unlock,
    ConditionChange(MonitorId),
}

/// Work queued until the connection is ready, carried out in order.
#[derive(Debug)]
enum Command {
    Call(CallId, Call),
    Monitor(Monitor),
    Lock { name: String, steal: bool },
    Unlock(String),
}

/// The session's own call whose reply it waits for.
#[derive(Debug)]
enum Wait {
    ServerSchema,
    ServerMonitor,
    ChangeAware,
    Schema(String),
    Sync {
        monitor: MonitorId,
        method: Method,
        last: Option<Uuid>,
    },
    WriteSchema(String),
}

/// Where the connection is.
#[derive(Debug)]
enum Phase {
    /// No connection.
    Down,
    /// Admission, schemas and monitors before callers are served.
    Handshake {
        /// Whether `_Server` admitted the server (the lock requests went out then).
        admitted: bool,
        /// Databases whose schema is still to be loaded.
        schemas: VecDeque<String>,
        /// Monitors still to sync (filled once the schemas are in).
        monitors: Option<VecDeque<MonitorId>>,
        /// False once a monitored database turned out to be missing.
        ok: bool,
    },
    /// Serving callers; `job` is the command being carried out, if it waits for replies.
    Ready { job: Option<Job> },
}

/// A command that needs the server's answers before it is done.
#[derive(Debug)]
enum Job {
    /// Registering a monitor.
    Monitor(MonitorId),
    /// A transaction waiting for the schema it is checked against.
    Transact {
        call: CallId,
        db: String,
        ops: Vec<Operation>,
    },
}

/// Server capabilities learned on a connection.
#[derive(Debug, Default, Clone, Copy)]
struct Caps {
    no_cond_since: bool,
    no_cond: bool,
}

/// What a [`Session`] knows about its current connection only.
#[derive(Debug)]
struct Link {
    remote: String,
    conn: Connection,
    caps: Caps,
    /// Calls of the owner awaiting replies.
    external: HashMap<RequestId, CallId>,
    /// Lock requests and condition changes awaiting replies.
    detached: HashMap<RequestId, Detached>,
    /// The session's own call awaiting its reply.
    wait: Option<(RequestId, Wait)>,
    /// The `_Server` schema and its `Database` rows (when the server has `_Server`).
    server_schema: Option<DatabaseSchema>,
    server_rows: HashMap<Uuid, Row>,
    /// Schemas of databases transacted on without a monitor: the `_Server` text they were
    /// parsed from (`None` when fetched with `get_schema`).
    write_schemas: HashMap<String, (Option<String>, Arc<DatabaseSchema>)>,
}

/// A client's OVSDB session over successive connections (see the module docs).
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    link: Option<Link>,
    phase: Phase,
    monitors: Vec<Monitor>,
    /// Locks asked for, by name: `true` to steal.
    locks: BTreeMap<String, bool>,
    queued: VecDeque<Command>,
    /// Schemas of monitored databases, kept across connections.
    schemas: HashMap<String, Arc<DatabaseSchema>>,
    histories: Vec<&'static SchemaHistory>,
    /// The highest Raft index seen per clustered database.
    min_index: HashMap<String, i64>,
    /// The monitor whose `Sync` was the last event handed out on this connection.
    syncing: Option<MonitorId>,
    events: VecDeque<SessionEvent>,
    next_call: u64,
    next_monitor: u64,
    sessions: u64,
}

impl Session {
    /// A session with no connection yet.
    pub fn new(config: SessionConfig) -> Self {
        Session {
            config,
            link: None,
            phase: Phase::Down,
            monitors: Vec::new(),
            locks: BTreeMap::new(),
            queued: VecDeque::new(),
            schemas: HashMap::new(),
            histories: Vec::new(),
            min_index: HashMap::new(),
            syncing: None,
            events: VecDeque::new(),
            next_call: 0,
            next_monitor: 0,
            sessions: 0,
        }
    }

    // --- getters -------------------------------------------------------------------------

    /// The settings in force.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The remote of the current connection, if any.
    pub fn remote(&self) -> Option<&str> {
        self.link.as_ref().map(|l| l.remote.as_str())
    }

    /// Whether a connection passed admission and serves calls.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready { .. })
    }

    /// The last transaction id of a monitor (what the next connection resumes from).
    pub fn last_txn_id(&self, monitor: MonitorId) -> Option<Uuid> {
        self.monitors
            .iter()
            .find(|m| m.id == monitor)
            .and_then(|m| m.last_txn_id)
    }

    // --- input ---------------------------------------------------------------------------

    /// A new connection to `remote` was established at `now` (any previous one is
    /// forgotten): admission starts.
    pub fn connect(&mut self, remote: &str, now: Instant) {
        self.teardown();
        self.events
            .retain(|e| matches!(e, SessionEvent::Reply { .. }));
        let mut dbs: Vec<String> = self.monitors.iter().map(|m| m.db.clone()).collect();
        dbs.sort();
        dbs.dedup();
        self.link = Some(Link {
            remote: remote.to_owned(),
            conn: Connection::new(self.config.connection.clone(), now),
            caps: Caps::default(),
            external: HashMap::new(),
            detached: HashMap::new(),
            wait: None,
            server_schema: None,
            server_rows: HashMap::new(),
            write_schemas: HashMap::new(),
        });
        self.phase = Phase::Handshake {
            admitted: false,
            schemas: dbs.into(),
            monitors: None,
            ok: true,
        };
        self.syncing = None;
        debug!(%remote, "connected");
        self.ask(
            Call::GetSchema {
                db: "_Server".into(),
            },
            Wait::ServerSchema,
        );
    }

    /// Bytes read from the connection.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        let Some(link) = &mut self.link else { return };
        if let Err(e) = link.conn.handle_input(bytes, now) {
            self.close(CloseReason::Protocol(e), false);
        }
    }

    /// Time passed: probes the peer, or gives up on it.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(link) = &mut self.link {
            link.conn.handle_timeout(now);
        }
    }

    /// The connection ended (end of stream, IO error) or was closed by the owner. Calls
    /// awaiting replies fail with [`CallFailure::Disconnected`]; locks are no longer held.
    pub fn handle_disconnect(&mut self) {
        if self.link.is_some() {
            self.teardown();
        }
    }

    /// The rows of `monitor`'s last [`SessionEvent::Sync`] or [`SessionEvent::Update`] could
    /// not be applied: the copy is no longer trusted. The connection ends, and the next one
    /// asks for a full copy.
    pub fn handle_cache_error(&mut self, monitor: MonitorId, error: Error) {
        if let Some(m) = self.monitors.iter_mut().find(|m| m.id == monitor) {
            m.last_txn_id = None;
        }
        let during_sync = self.syncing == Some(monitor);
        self.close(CloseReason::Protocol(error), during_sync);
    }

    // --- commands ------------------------------------------------------------------------

    /// Queues a call; it goes out once a connection is ready, in the order of calls. Its
    /// outcome is a [`SessionEvent::Reply`] with the returned id.
    pub fn call(&mut self, call: Call) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        self.queued.push_back(Command::Call(id, call));
        self.advance();
        id
    }

    /// Registers a monitor of `tables` of `db` (`None`: all tables), kept on every later
    /// connection. [`SessionEvent::MonitorReady`] tells when its first copy is in.
    pub fn monitor(&mut self, db: &str, tables: Option<Vec<String>>) -> MonitorId {
        let id = MonitorId(self.next_monitor);
        self.next_monitor += 1;
        self.queued.push_back(Command::Monitor(Monitor {
            id,
            db: db.to_owned(),
            asked: tables,
            wire_id: json!([db, id.0]),
            tables: Vec::new(),
            last_txn_id: None,
            conditions: BTreeMap::new(),
            conditional: false,
            changing: 0,
        }));
        self.advance();
        id
    }

    /// The schema history of a database (a generated crate's): column types and releases
    /// for the check of transactions.
    pub fn add_history(&mut self, history: &'static SchemaHistory) {
        if !self.histories.iter().any(|h| h.name() == history.name()) {
            self.histories.push(history);
        }
    }

    /// Asks for the lock `name` (or steals it), on this and every later connection until
    /// [`Session::unlock`]. Ownership changes come as [`SessionEvent::Lock`].
    pub fn lock(&mut self, name: &str, steal: bool) {
        self.queued.push_back(Command::Lock {
            name: name.to_owned(),
            steal,
        });
        self.advance();
    }

    /// Releases the lock `name`.
    pub fn unlock(&mut self, name: &str) {
        self.queued.push_back(Command::Unlock(name.to_owned()));
        self.advance();
    }

    /// Changes the inactivity probe interval of this connection and of later ones.
    pub fn set_probe_interval(&mut self, interval: Option<Duration>) {
        self.config.connection = self.config.connection.clone().probe_interval(interval);
        if let Some(link) = &mut self.link {
            link.conn.set_probe_interval(interval);
        }
    }

    // --- output --------------------------------------------------------------------------

    /// Takes the bytes to write to the connection, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.link.as_mut()?.conn.poll_transmit()
    }

    /// Takes the next event, if any. Messages are read one at a time: the owner acts on each
    /// event before the messages that followed it are looked at.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            let event = self.link.as_mut()?.conn.poll_event()?;
            self.syncing = None;
            self.received(event);
        }
    }

    /// When [`Session::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.link.as_ref()?.conn.poll_timeout()
    }

    // --- the connection's messages -------------------------------------------------------

    fn received(&mut self, event: Event) {
        let Some(link) = &mut self.link else { return };
        match event {
            Event::Reply { id, method, result } => {
                if let Some(call) = link.external.remove(&id) {
                    let result = result.map_err(CallFailure::Call);
                    self.events.push_back(SessionEvent::Reply {
                        call,
                        method,
                        result,
                    });
                } else if let Some(detached) = link.detached.remove(&id) {
                    match (detached, result) {
                        (Detached::Lock(name), Ok(Reply::Lock { locked })) => {
                            self.lock_event(name, locked)
                        }
                        (Detached::ConditionChange(monitor), result) => {
                            if let Err(e) = &result {
                                warn!(remote = %link.remote, error = %e, "monitor_cond_change failed");
                            }
                            if let Some(m) = self.monitors.iter_mut().find(|m| m.id == monitor) {
                                m.changing = m.changing.saturating_sub(1);
                            }
                        }
                        (_, Err(e)) => {
                            warn!(remote = %link.remote, %method, error = %e, "lock request failed")
                        }
                        _ => {}
                    }
                } else if link.wait.as_ref().is_some_and(|(w, _)| *w == id) {
                    let (_, wait) = link.wait.take().expect("checked above");
                    self.answered(wait, method, result);
                    self.advance();
                } else {
                    debug!(remote = %link.remote, %method, id, "reply to an abandoned call");
                }
            }
            Event::Notification(call) => self.notification(call),
            Event::Request { id, call } => {
                warn!(remote = %link.remote, ?call, "unexpected request from server");
                link.conn
                    .respond(&id, Err(&json!({"error": "unknown method"})));
            }
            // A reply to a request we never sent is harmless: log it and go on.
            Event::Malformed(e @ Error::Protocol(_)) => {
                warn!(remote = %link.remote, error = %e, "ignored message from server");
            }
            // A message we cannot decode may have been the reply to a pending call: start
            // over rather than leave that call waiting forever.
            Event::Malformed(e) => self.close(CloseReason::Protocol(e), false),
            Event::ProbeTimeout => self.close(CloseReason::ProbeTimeout, false),
        }
    }

    fn notification(&mut self, call: Call) {
        match call {
            Call::Update2 {
                monitor_id,
                updates,
            } if monitor_id == json!("_Server") => {
                if let Err(e) = self.server_update(updates) {
                    return self.close(CloseReason::Protocol(e), false);
                }
                let dbs: Vec<String> = self.monitors.iter().map(|m| m.db.clone()).collect();
                self.admit(&dbs);
            }
            Call::Update2 {
                monitor_id,
                updates,
            } => self.update(&monitor_id, None, MonitorUpdate::V2(updates)),
            Call::Update3 {
                monitor_id,
                last_txn_id,
                updates,
            } => self.update(&monitor_id, Some(last_txn_id), MonitorUpdate::V2(updates)),
            Call::Update {
                monitor_id,
                updates,
            } => self.update(&monitor_id, None, MonitorUpdate::V1(updates)),
            Call::Locked { lock } => self.lock_event(lock, true),
            Call::Stolen { lock } => self.lock_event(lock, false),
            Call::MonitorCanceled { monitor_id } => {
                // The database was removed or converted: set everything up again.
                self.close(
                    CloseReason::Monitor(format!("monitor {monitor_id} canceled by the server")),
                    true,
                );
            }
            other => debug!(?other, "ignored notification"),
        }
    }

    fn update(&mut self, wire_id: &Value, txn: Option<Uuid>, updates: MonitorUpdate) {
        let Some(m) = self.monitors.iter_mut().find(|m| &m.wire_id == wire_id) else {
            debug!(monitor_id = %wire_id, "update for an unknown monitor");
            return;
        };
        if let Some(t) = txn.filter(|_| m.changing == 0) {
            m.last_txn_id = Some(t);
        }
        self.events.push_back(SessionEvent::Update {
            monitor: m.id,
            db: m.db.clone(),
            updates,
        });
    }

    fn lock_event(&mut self, name: String, held: bool) {
        if self.locks.contains_key(&name) {
            self.events.push_back(SessionEvent::Lock { name, held });
        }
    }

    /// The reply to the session's own call.
    fn answered(&mut self, wait: Wait, method: Method, result: Result<Reply, CallError>) {
        match wait {
            Wait::ServerSchema => match result {
                Ok(Reply::GetSchema(schema)) => {
                    self.link_mut().server_schema = Some(*schema);
                    let requests = MonitorRequests::default().with(
                        "Database",
                        MonitorRequest {
                            columns: Some(SERVER_COLUMNS.map(String::from).to_vec()),
                            ..Default::default()
                        },
                    );
                    let call = Call::MonitorCond {
                        db: "_Server".into(),
                        monitor_id: json!("_Server"),
                        requests,
                    };
                    self.ask(call, Wait::ServerMonitor);
                }
                // Servers older than 2.9 have no _Server: nothing to check.
                Err(CallError::Server(e)) if e.kind == ErrorKind::UnknownDatabase => {
                    self.send_locks()
                }
                other => self.failed(method, other),
            },
            Wait::ServerMonitor => match result {
                Ok(Reply::MonitorCond(u)) => {
                    if let Err(e) = self.server_update(u) {
                        return self.close(CloseReason::Protocol(e), false);
                    }
                    let Phase::Handshake { schemas, .. } = &self.phase else {
                        return;
                    };
                    let dbs: Vec<String> = schemas.iter().cloned().collect();
                    if self.admit(&dbs) {
                        // Survive schema conversions and role changes without being
                        // disconnected.
                        self.ask(Call::SetDbChangeAware(true), Wait::ChangeAware);
                    }
                }
                other => self.failed(method, other),
            },
            Wait::ChangeAware => self.send_locks(),
            Wait::Schema(db) => match result {
                Ok(Reply::GetSchema(schema)) => {
                    let schema = Arc::new(*schema);
                    self.schemas.insert(db.clone(), schema.clone());
                    self.events.push_back(SessionEvent::Schema { db, schema });
                    if let Phase::Ready {
                        job: Some(Job::Monitor(id)),
                    } = self.phase
                    {
                        self.check_tables_and_sync(id);
                    }
                }
                Err(CallError::Server(e)) if e.kind == ErrorKind::UnknownDatabase => {
                    let why = format!("the server has no database {db}");
                    let (gone, kept) = std::mem::take(&mut self.monitors)
                        .into_iter()
                        .partition(|m| m.db == db);
                    self.monitors = kept;
                    for m in gone {
                        self.events.push_back(SessionEvent::MonitorFailed {
                            monitor: m.id,
                            error: why.clone(),
                        });
                    }
                    match &mut self.phase {
                        Phase::Handshake { ok, .. } => *ok = false,
                        Phase::Ready { job } => *job = None,
                        Phase::Down => {}
                    }
                }
                other => self.failed(method, other),
            },
            Wait::Sync {
                monitor,
                method,
                last,
            } => self.synced(monitor, method, last, result),
            Wait::WriteSchema(db) => {
                // Without a schema (the server does not serve `db`) the operations go as
                // they are, for the server to answer.
                let schema = match result {
                    Ok(Reply::GetSchema(schema)) => {
                        let schema = Arc::new(*schema);
                        self.link_mut()
                            .write_schemas
                            .insert(db, (None, schema.clone()));
                        Some(schema)
                    }
                    _ => None,
                };
                if let Phase::Ready {
                    job: Some(Job::Transact { call, db, ops }),
                } = std::mem::replace(&mut self.phase, Phase::Ready { job: None })
                {
                    self.send_checked(call, db, ops, schema);
                }
            }
        }
    }

    /// An unexpected answer to the session's own call ends the connection.
    fn failed(&mut self, method: Method, result: Result<Reply, CallError>) {
        let reason = match result {
            Ok(other) => CloseReason::Protocol(Error::Protocol(format!(
                "unexpected reply to {method}: {other:?}"
            ))),
            Err(CallError::Server(error)) => CloseReason::Server { method, error },
            Err(CallError::Malformed(e)) => CloseReason::Protocol(e),
            #[allow(unreachable_patterns, reason = "CallError is non_exhaustive")]
            Err(other) => CloseReason::Protocol(Error::Protocol(other.to_string())),
        };
        self.close(reason, false);
    }

    // --- the steps of a connection -------------------------------------------------------

    /// Goes on with the handshake or the queued commands until a reply is needed.
    fn advance(&mut self) {
        loop {
            let Some(link) = &self.link else { return };
            if link.wait.is_some() {
                return;
            }
            match &mut self.phase {
                Phase::Down => return,
                Phase::Handshake {
                    admitted,
                    schemas,
                    monitors,
                    ok,
                } => {
                    if !*admitted {
                        return;
                    }
                    if let Some(db) = schemas.pop_front() {
                        self.ask(Call::GetSchema { db: db.clone() }, Wait::Schema(db));
                        continue;
                    }
                    let left = monitors
                        .get_or_insert_with(|| self.monitors.iter().map(|m| m.id).collect());
                    if let Some(id) = left.pop_front() {
                        self.start_monitor(id);
                        continue;
                    }
                    if !*ok {
                        return self.close(
                            CloseReason::Monitor(
                                "a monitored database is not on the server".into(),
                            ),
                            false,
                        );
                    }
                    self.sessions += 1;
                    info!(remote = %link.remote, session = self.sessions, "ovsdb session ready");
                    self.phase = Phase::Ready { job: None };
                    self.events.push_back(SessionEvent::Ready {
                        session: self.sessions,
                    });
                    for m in &self.monitors {
                        self.events.push_back(SessionEvent::MonitorReady(m.id));
                    }
                }
                Phase::Ready { job: Some(_) } => return,
                Phase::Ready { job: None } => {
                    let Some(cmd) = self.queued.pop_front() else {
                        return;
                    };
                    self.command(cmd);
                }
            }
        }
    }

    /// Admission passed: the lock requests go out, then the schemas are loaded.
    fn send_locks(&mut self) {
        let calls: Vec<Call> = self
            .locks
            .iter()
            .map(|(name, steal)| lock_call(name, *steal))
            .collect();
        for call in calls {
            self.detached(call);
        }
        if let Phase::Handshake { admitted, .. } = &mut self.phase {
            *admitted = true;
        }
    }

    /// Carries out a queued command on a ready connection.
    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Call(call, Call::Transact { db, ops }) if self.config.check_writes => {
                self.transact(call, db, ops)
            }
            Command::Call(call, c) => self.send_external(call, c),
            Command::Monitor(m) => self.add_monitor(m),
            Command::Lock { name, steal } => {
                self.detached(lock_call(&name, steal));
                self.locks.insert(name, steal);
            }
            Command::Unlock(name) => {
                if self.locks.remove(&name).is_some() {
                    self.events.push_back(SessionEvent::Lock {
                        name: name.clone(),
                        held: false,
                    });
                    self.detached(Call::Unlock { lock: name });
                }
            }
        }
    }

    fn send_external(&mut self, call: CallId, c: Call) {
        let link = self.link_mut();
        let id = link.conn.call(c);
        link.external.insert(id, call);
    }

    fn detached(&mut self, call: Call) {
        let what = match &call {
            Call::Lock { lock } | Call::Steal { lock } => Detached::Lock(lock.clone()),
            _ => Detached::Unlock,
        };
        let link = self.link_mut();
        let id = link.conn.call(call);
        link.detached.insert(id, what);
    }

    /// Sends the session's own call and waits for its reply.
    fn ask(&mut self, call: Call, wait: Wait) {
        let raw = matches!(
            call,
            Call::MonitorCond { .. } | Call::MonitorCondSince { .. }
        ) && !matches!(wait, Wait::ServerMonitor);
        let link = self.link_mut();
        let id = if raw {
            link.conn.call_raw(call)
        } else {
            link.conn.call(call)
        };
        link.wait = Some((id, wait));
    }

    /// Checks a transaction against the server's schema (fetching it first when needed),
    /// then sends it or refuses it.
    fn transact(&mut self, call: CallId, db: String, ops: Vec<Operation>) {
        match self.write_schema(&db) {
            Some(schema) => self.send_checked(call, db, ops, Some(schema)),
            None => {
                self.ask(
                    Call::GetSchema { db: db.clone() },
                    Wait::WriteSchema(db.clone()),
                );
                self.phase = Phase::Ready {
                    job: Some(Job::Transact { call, db, ops }),
                };
            }
        }
    }

    /// Sends a transaction made to fit `schema`, or refuses it; without a schema it goes
    /// as it is.
    fn send_checked(
        &mut self,
        call: CallId,
        db: String,
        mut ops: Vec<Operation>,
        schema: Option<Arc<DatabaseSchema>>,
    ) {
        let Some(schema) = schema else {
            return self.send_external(call, Call::Transact { db, ops });
        };
        let history = self.histories.iter().find(|h| h.name() == db).copied();
        let refused = match check_operations(&mut ops, &schema, history) {
            Ok(0) => None,
            Ok(dropped) => {
                debug!(%db, dropped, "left out default values of columns the server lacks");
                None
            }
            Err(Error::Skew(e)) => Some(CallFailure::Skew(e)),
            Err(e) => Some(CallFailure::Invalid(e)),
        };
        match refused {
            None => self.send_external(call, Call::Transact { db, ops }),
            Some(failure) => self.events.push_back(SessionEvent::Reply {
                call,
                method: Method::Transact,
                result: Err(failure),
            }),
        }
    }

    /// The server's schema of `db` for the write check: the monitored one, else the text
    /// `_Server` publishes, else one fetched on this connection; `None` if it must be fetched.
    fn write_schema(&mut self, db: &str) -> Option<Arc<DatabaseSchema>> {
        if let Some(schema) = self.schemas.get(db) {
            return Some(schema.clone());
        }
        let link = self.link.as_mut()?;
        let published = server_row(&link.server_rows, db)
            .and_then(|r| text(r, "schema"))
            .filter(|t| !t.is_empty());
        if let Some(text) = published {
            if let Some((Some(seen), schema)) = link.write_schemas.get(db) {
                if *seen == text {
                    return Some(schema.clone());
                }
            }
            match DatabaseSchema::from_slice(text.as_bytes()) {
                Ok(schema) => {
                    let schema = Arc::new(schema);
                    link.write_schemas
                        .insert(db.to_owned(), (Some(text), schema.clone()));
                    return Some(schema);
                }
                Err(e) => {
                    warn!(remote = %link.remote, db, error = %e, "unusable schema in _Server")
                }
            }
        }
        link.write_schemas.get(db).map(|(_, schema)| schema.clone())
    }

    // --- the end of a connection ---------------------------------------------------------

    /// Ends the connection for `reason`: what it had queued is dropped, except outcomes of
    /// calls, and the owner is told to close it.
    fn close(&mut self, reason: CloseReason, next_remote_now: bool) {
        if self.link.is_none() {
            return;
        }
        self.events
            .retain(|e| matches!(e, SessionEvent::Reply { .. }));
        self.teardown();
        self.events.push_back(SessionEvent::Closed {
            reason,
            next_remote_now,
        });
    }

    /// Forgets the connection: pending calls fail, locks are no longer held, a transaction
    /// that waited for its schema goes back to the queue.
    fn teardown(&mut self) {
        let Some(mut link) = self.link.take() else {
            return;
        };
        for m in &mut self.monitors {
            m.conditional = false;
            m.changing = 0;
        }
        let mut pending: Vec<(RequestId, CallId)> = link.external.drain().collect();
        pending.sort();
        for (id, call) in pending {
            let method = link.conn.pending_method(id).unwrap_or(Method::Transact);
            self.events.push_back(SessionEvent::Reply {
                call,
                method,
                result: Err(CallFailure::Disconnected),
            });
        }
        for name in self.locks.keys() {
            self.events.push_back(SessionEvent::Lock {
                name: name.clone(),
                held: false,
            });
        }
        if let Phase::Ready {
            job: Some(Job::Transact { call, db, ops }),
        } = std::mem::replace(&mut self.phase, Phase::Down)
        {
            self.queued
                .push_front(Command::Call(call, Call::Transact { db, ops }));
        }
        self.syncing = None;
    }

    fn link_mut(&mut self) -> &mut Link {
        self.link.as_mut().expect("called with a connection")
    }
}

fn lock_call(name: &str, steal: bool) -> Call {
    if steal {
        Call::Steal {
            lock: name.to_owned(),
        }
    } else {
        Call::Lock {
            lock: name.to_owned(),
        }
    }
}
