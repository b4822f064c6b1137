//! The server: databases, sessions, listeners.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ovsdb_proto::{
    encode_error, encode_response, Call, DatabaseSchema, Datum, Operation, TransactReply, Uuid,
    DEFAULT_MAX_MESSAGE_LEN,
};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::AbortHandle;

use crate::db::{random_uuid, Db, OpError, Outcome, RowData, TxnContext};
use crate::monitor::{Flavor, Monitor};
use crate::ServerError;

mod session;

use session::run_session;

/// The `_Server` database schema, as ovsdb-server 3.1 reports it.
const SERVER_SCHEMA: &str = r#"{"cksum":"3009684573 744","name":"_Server","tables":{"Database":{"columns":{"cid":{"type":{"key":"uuid","min":0}},"connected":{"type":"boolean"},"index":{"type":{"key":"integer","min":0}},"leader":{"type":"boolean"},"model":{"type":{"key":{"enum":["set",["clustered","relay","standalone"]],"type":"string"}}},"name":{"type":"string"},"schema":{"type":{"key":"string","min":0}},"sid":{"type":{"key":"uuid","min":0}}}}},"version":"1.2.0"}"#;

const SERVER_DB: &str = "_Server";

/// Server settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Largest message accepted from a client, in bytes; a client that sends a bigger one is
    /// disconnected. Defaults to [`DEFAULT_MAX_MESSAGE_LEN`] (1 GiB), as `ovsdb-proto`.
    pub max_message_len: usize,
    /// Send an `echo` probe to a client idle for this long, and disconnect it if it stays
    /// silent as long again. `None` (the default, as ovsdb-server on unix sockets) disables it.
    pub probe_interval: Option<Duration>,
    /// Most bytes queued for one client (replies and notifications it has not read yet);
    /// a client that falls further behind is disconnected. Defaults to 256 MiB.
    pub max_backlog: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            probe_interval: None,
            max_backlog: 256 << 20,
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::max_message_len`].
    pub fn max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// Sets [`ServerConfig::max_backlog`].
    pub fn max_backlog(mut self, bytes: usize) -> Self {
        self.max_backlog = bytes;
        self
    }

    /// Sets [`ServerConfig::probe_interval`].
    pub fn probe_interval(mut self, interval: Option<Duration>) -> Self {
        self.probe_interval = interval;
        self
    }
}

/// A session's outgoing queue, with a cap on the bytes waiting to be written.
#[derive(Clone)]
struct Outbox {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    limit: usize,
    /// Set when the client fell too far behind: the session ends.
    kill: Arc<Notify>,
}

impl Outbox {
    fn send(&self, bytes: Vec<u8>) {
        let n = bytes.len();
        if self.queued.fetch_add(n, Ordering::AcqRel) + n > self.limit {
            self.queued.fetch_sub(n, Ordering::AcqRel);
            self.kill.notify_one();
            return;
        }
        if self.tx.send(bytes).is_err() {
            self.queued.fetch_sub(n, Ordering::AcqRel);
        }
    }
}

struct SessionState {
    tx: Outbox,
    monitors: HashMap<String, Monitor>,
}

struct State {
    dbs: BTreeMap<String, Db>,
    sessions: HashMap<u64, SessionState>,
    /// Lock name → sessions, the owner first.
    locks: HashMap<String, VecDeque<u64>>,
    next_session: u64,
    server_id: Uuid,
    /// `_Server.Database` row of each database.
    server_rows: HashMap<String, Uuid>,
    /// Sessions whose lock was stolen and that still wait for it: when one of them unlocks,
    /// ovsdb-server tells the owner `locked` again, and so do we.
    stolen: HashSet<(String, u64)>,
}

struct Inner {
    config: ServerConfig,
    state: Mutex<State>,
    commits: watch::Sender<u64>,
    tasks: Mutex<Vec<AbortHandle>>,
    unix_paths: Mutex<Vec<PathBuf>>,
}

impl Drop for Inner {
    /// The last handle and the last connection are gone: stop listening.
    fn drop(&mut self) {
        for t in self
            .tasks
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            t.abort();
        }
        for p in self
            .unix_paths
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// An embedded, in-memory OVSDB server. Cheap to clone (all clones share the server).
///
/// The server runs until [`Server::shutdown`], or until every handle is dropped and every
/// client has disconnected.
///
/// ```no_run
/// # async fn demo() -> Result<(), ovsdb_server::ServerError> {
/// use ovsdb_proto::DatabaseSchema;
/// use ovsdb_server::Server;
///
/// let schema = DatabaseSchema::from_slice(&std::fs::read("/usr/share/ovn/ovn-nb.ovsschema")?)?;
/// let server = Server::new();
/// server.add_database(schema)?;
/// let tcp = server.listen("ptcp:0:127.0.0.1").await?; // "tcp:127.0.0.1:PORT"
/// let unix = server.listen("punix:/tmp/nb.sock").await?; // "unix:/tmp/nb.sock"
/// # let _ = (tcp, unix);
/// server.shutdown();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

fn lock(inner: &Inner) -> MutexGuard<'_, State> {
    inner.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn json_key(v: &Value) -> String {
    v.to_string()
}

fn response(id: &Value, result: &impl serde::Serialize) -> Vec<u8> {
    let mut out = Vec::new();
    encode_response(id, result, &mut out);
    out
}

fn error_reply(id: &Value, error: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_error(id, error, &mut out);
    out
}

fn notification(call: &Call) -> Vec<u8> {
    let mut out = Vec::new();
    call.encode(None, &mut out);
    out
}

fn syntax_error(details: impl Into<String>, syntax: &[u8]) -> Value {
    json!({
        "error": "syntax error",
        "details": details.into(),
        "syntax": String::from_utf8_lossy(syntax),
    })
}

impl Server {
    /// A server with the default [`ServerConfig`] and only the `_Server` database.
    pub fn new() -> Self {
        Self::with_config(ServerConfig::default())
    }

    /// A server with `config`.
    pub fn with_config(config: ServerConfig) -> Self {
        let server_schema = DatabaseSchema::from_slice(SERVER_SCHEMA.as_bytes())
            .expect("the built-in _Server schema parses");
        let mut dbs = BTreeMap::new();
        dbs.insert(SERVER_DB.to_owned(), Db::new(server_schema));
        let state = State {
            dbs,
            sessions: HashMap::new(),
            locks: HashMap::new(),
            next_session: 1,
            server_id: random_uuid(),
            server_rows: HashMap::new(),
            stolen: HashSet::new(),
        };
        let server = Server {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(state),
                commits: watch::channel(0).0,
                tasks: Mutex::new(Vec::new()),
                unix_paths: Mutex::new(Vec::new()),
            }),
        };
        {
            let mut st = lock(&server.inner);
            server.publish_database(&mut st, SERVER_DB, SERVER_SCHEMA.to_owned());
        }
        server
    }

    /// The server's configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The names of the databases served, `_Server` included, sorted.
    pub fn list_dbs(&self) -> Vec<String> {
        lock(&self.inner).dbs.keys().cloned().collect()
    }

    /// The schema of database `db`.
    pub fn schema(&self, db: &str) -> Option<DatabaseSchema> {
        lock(&self.inner).dbs.get(db).map(|d| (*d.schema).clone())
    }

    /// The rows of `table` in `db` (every column, without `_uuid` and `_version`), sorted by
    /// UUID; `None` if there is no such table. For tests that inspect the server directly.
    pub fn rows(&self, db: &str, table: &str) -> Option<Vec<(Uuid, ovsdb_proto::Row)>> {
        let st = lock(&self.inner);
        let mut rows: Vec<(Uuid, ovsdb_proto::Row)> = st
            .dbs
            .get(db)?
            .tables
            .get(table)?
            .iter()
            .map(|(u, r)| (*u, r.row.clone()))
            .collect();
        rows.sort_by_key(|(u, _)| *u);
        Some(rows)
    }

    /// Adds an empty database with `schema`; fails if a database of that name exists.
    pub fn add_database(&self, schema: DatabaseSchema) -> Result<(), ServerError> {
        let mut st = lock(&self.inner);
        if st.dbs.contains_key(&schema.name) {
            return Err(ServerError::DuplicateDatabase(schema.name));
        }
        let name = schema.name.clone();
        let text = schema.to_json().to_string();
        st.dbs.insert(name.clone(), Db::new(schema));
        self.publish_database(&mut st, &name, text);
        drop(st);
        self.inner.commits.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Adds a database from a schema file (`.ovsschema`).
    pub fn add_database_file(&self, path: impl AsRef<std::path::Path>) -> Result<(), ServerError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| io_at(path.display(), e))?;
        let schema =
            DatabaseSchema::from_slice(&bytes).map_err(|source| ServerError::SchemaFile {
                path: path.to_owned(),
                source,
            })?;
        self.add_database(schema)
    }

    fn publish_database(&self, st: &mut State, name: &str, schema_text: String) {
        let uuid = random_uuid();
        let row = ovsdb_proto::Row::new()
            .with("name", Datum::scalar(name))
            .with("model", Datum::scalar("standalone"))
            .with("connected", Datum::scalar(true))
            .with("leader", Datum::scalar(true))
            .with("schema", Datum::scalar(schema_text))
            .with("cid", ovsdb_proto::Datum::empty_set())
            .with("sid", ovsdb_proto::Datum::empty_set())
            .with("index", ovsdb_proto::Datum::empty_set());
        let mut overlay = BTreeMap::new();
        overlay.insert(
            "Database".to_owned(),
            HashMap::from([(
                uuid,
                Some(RowData {
                    row,
                    version: random_uuid(),
                }),
            )]),
        );
        st.server_rows.insert(name.to_owned(), uuid);
        let db = st.dbs.get_mut(SERVER_DB).expect("_Server exists");
        if let Some(commit) = db.apply(overlay) {
            broadcast(st, SERVER_DB, &commit);
        }
    }

    /// Runs a transaction in-process, as a session holding no locks would (an `assert` fails
    /// with `not owner`; a `wait` that does not hold fails at once with `timed out`).
    pub fn transact(&self, db: &str, ops: &[Operation]) -> Result<TransactReply, ServerError> {
        let ops: Vec<Box<RawValue>> = ops
            .iter()
            .map(|o| {
                serde_json::value::to_raw_value(o).map_err(|e| ServerError::Internal(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let mut st = lock(&self.inner);
        let results = run_transact(&self.inner, &mut st, 0, db, &ops, true)
            .map_err(|_| ServerError::UnknownDatabase(db.to_owned()))?;
        match results {
            Ran::Done(r) => serde_json::from_value(Value::Array(r))
                .map_err(|e| ServerError::Internal(e.to_string())),
            Ran::Blocked(_) => Err(ServerError::Internal("transaction blocked".into())),
        }
    }

    /// Listens on a passive remote: `punix:PATH` (returns `unix:PATH`) or `ptcp:PORT[:IP]`
    /// (port 0 picks a free port; the IP defaults to `127.0.0.1`; returns `tcp:IP:PORT`).
    /// Listens until [`Server::shutdown`]. Needs a tokio runtime.
    pub async fn listen(&self, remote: &str) -> Result<String, ServerError> {
        if let Some(path) = remote.strip_prefix("punix:") {
            let listener = match tokio::net::UnixListener::bind(path) {
                // A stale socket file that nobody listens on: take its place, as
                // ovsdb-server does.
                Err(e)
                    if e.kind() == std::io::ErrorKind::AddrInUse
                        && std::os::unix::net::UnixStream::connect(path).is_err() =>
                {
                    std::fs::remove_file(path).map_err(|e| io_at(remote, e))?;
                    tokio::net::UnixListener::bind(path).map_err(|e| io_at(remote, e))?
                }
                r => r.map_err(|e| io_at(remote, e))?,
            };
            self.inner
                .unix_paths
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(PathBuf::from(path));
            // A weak reference: the listener does not keep the server alive.
            let me = Arc::downgrade(&self.inner);
            let h = tokio::spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((s, _)) => match me.upgrade() {
                            Some(inner) => Server { inner }.serve(s),
                            None => return,
                        },
                        // Out of file descriptors and the like: try again shortly.
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            });
            self.track(h.abort_handle());
            return Ok(format!("unix:{path}"));
        }
        if let Some(rest) = remote.strip_prefix("ptcp:") {
            let (port, ip) = match rest.split_once(':') {
                Some((p, ip)) => (p, ip.trim_start_matches('[').trim_end_matches(']')),
                // Loopback unless asked otherwise (ovsdb-server would listen on every
                // address): this is a test server.
                None => (rest, "127.0.0.1"),
            };
            let port: u16 = port
                .parse()
                .map_err(|_| ServerError::InvalidRemote(remote.to_owned()))?;
            let ip: std::net::IpAddr = ip
                .parse()
                .map_err(|_| ServerError::InvalidRemote(remote.to_owned()))?;
            let listener = tokio::net::TcpListener::bind((ip, port))
                .await
                .map_err(|e| io_at(remote, e))?;
            let addr = listener.local_addr().map_err(|e| io_at(remote, e))?;
            let me = Arc::downgrade(&self.inner);
            let h = tokio::spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((s, _)) => {
                            let _ = s.set_nodelay(true);
                            match me.upgrade() {
                                Some(inner) => Server { inner }.serve(s),
                                None => return,
                            }
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            });
            self.track(h.abort_handle());
            return Ok(match addr {
                std::net::SocketAddr::V4(a) => format!("tcp:{}:{}", a.ip(), a.port()),
                std::net::SocketAddr::V6(a) => format!("tcp:[{}]:{}", a.ip(), a.port()),
            });
        }
        Err(ServerError::InvalidRemote(remote.to_owned()))
    }

    /// Opens an in-process connection: the returned stream is the client's end. Needs a
    /// tokio runtime.
    pub fn connect_duplex(&self) -> DuplexStream {
        let (client, server) = tokio::io::duplex(64 * 1024);
        self.serve(server);
        client
    }

    /// Serves one connection (any byte stream) on a new task. Needs a tokio runtime.
    pub fn serve<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let inner = self.inner.clone();
        let h = tokio::spawn(run_session(inner, stream));
        self.track(h.abort_handle());
    }

    fn track(&self, h: AbortHandle) {
        let mut t = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        t.retain(|h| !h.is_finished());
        t.push(h);
    }

    /// Stops listening and closes every connection. Unix socket files are removed.
    pub fn shutdown(&self) {
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
        let mut st = lock(&self.inner);
        st.sessions.clear();
        st.locks.clear();
        drop(st);
        for p in self
            .inner
            .unix_paths
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Number of connected clients.
    pub fn sessions(&self) -> usize {
        lock(&self.inner).sessions.len()
    }
}

/// Sends a commit's notifications to every monitor of `db`.
fn broadcast(st: &State, db_name: &str, commit: &crate::db::Commit) {
    let Some(db) = st.dbs.get(db_name) else {
        return;
    };
    for s in st.sessions.values() {
        for m in s.monitors.values() {
            if m.db != db_name {
                continue;
            }
            if let Some(call) = m.notification(db, commit) {
                s.tx.send(notification(&call));
            }
        }
    }
}

/// What [`run_transact`] did.
enum Ran {
    /// The results.
    Done(Vec<Value>),
    /// Blocked in a `wait` with this timeout (ms; `None`: forever).
    Blocked(Option<u64>),
}

/// Runs a transaction for session `sid`. `Err` for an unknown database.
fn run_transact(
    inner: &Inner,
    st: &mut State,
    sid: u64,
    db_name: &str,
    ops: &[Box<RawValue>],
    expired: bool,
) -> Result<Ran, ()> {
    let holds = |l: &str| st.locks.get(l).and_then(|q| q.front()) == Some(&sid) && sid != 0;
    let held: HashSet<String> = st.locks.keys().filter(|l| holds(l)).cloned().collect();
    let holds_lock = |l: &str| held.contains(l);
    let db = st.dbs.get_mut(db_name).ok_or(())?;
    let ctx = TxnContext {
        holds_lock: &holds_lock,
        expired,
        read_only: db_name == SERVER_DB,
    };
    match db.transact(ops, &ctx) {
        Outcome::Blocked { deadline_ms } => Ok(Ran::Blocked(deadline_ms)),
        Outcome::Done { results, commit } => {
            if let Some(c) = commit {
                broadcast(st, db_name, &c);
                inner.commits.send_modify(|n| *n += 1);
            }
            Ok(Ran::Done(results))
        }
    }
}

/// An IO error that names the file or remote it happened on.
fn io_at(at: impl std::fmt::Display, e: std::io::Error) -> ServerError {
    ServerError::Io(std::io::Error::new(e.kind(), format!("{at}: {e}")))
}
