//! The server: databases, sessions, listeners.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::BytesMut;
use ovsdb_proto::{
    encode_error, encode_response, Call, DatabaseSchema, Datum, FrameCodec, Message,
    MonitorCondSinceReply, Operation, TransactReply, Uuid, DEFAULT_MAX_MESSAGE_LEN,
};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::AbortHandle;
use tokio_util::codec::Decoder;

use crate::db::{random_uuid, Db, OpError, Outcome, RowData, TxnContext};
use crate::monitor::{Flavor, Monitor};
use crate::ServerError;

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

struct Session {
    inner: Arc<Inner>,
    id: u64,
    tx: Outbox,
    /// Transactions blocked in a `wait`, by request id.
    blocked: HashMap<String, AbortHandle>,
}

async fn run_session<S>(inner: Arc<Inner>, stream: S)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let queued = Arc::new(AtomicUsize::new(0));
    let kill = Arc::new(Notify::new());
    let tx = Outbox {
        tx,
        queued: queued.clone(),
        limit: inner.config.max_backlog,
        kill: kill.clone(),
    };
    let id = {
        let mut st = lock(&inner);
        let id = st.next_session;
        st.next_session += 1;
        st.sessions.insert(
            id,
            SessionState {
                tx: tx.clone(),
                monitors: HashMap::new(),
            },
        );
        id
    };
    let writer = tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(buf) = rx.recv().await {
            batch.clear();
            batch.extend_from_slice(&buf);
            while batch.len() < (1 << 20) {
                match rx.try_recv() {
                    Ok(more) => batch.extend_from_slice(&more),
                    Err(_) => break,
                }
            }
            if wr.write_all(&batch).await.is_err() {
                break;
            }
            queued.fetch_sub(batch.len(), Ordering::AcqRel);
        }
        let _ = wr.shutdown().await;
    });
    let mut session = Session {
        inner: inner.clone(),
        id,
        tx,
        blocked: HashMap::new(),
    };
    let mut codec = FrameCodec::with_max_len(inner.config.max_message_len);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let probe = inner.config.probe_interval;
    let mut probed = false;
    'outer: loop {
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => match Message::decode(frame) {
                    Ok(msg) => session.handle(msg),
                    Err(_) => break 'outer,
                },
                Ok(None) => break,
                Err(_) => break 'outer,
            }
        }
        let read = async {
            let read = rd.read_buf(&mut buf);
            match probe {
                None => Some(read.await),
                Some(p) => tokio::time::timeout(p, read).await.ok(),
            }
        };
        let n = tokio::select! {
            r = read => match r {
                Some(r) => r,
                None if probed => break,
                None => {
                    probed = true;
                    session.tx.send(notification_request_echo());
                    continue;
                }
            },
            // The client does not read what we send: drop it, without flushing.
            _ = kill.notified() => {
                writer.abort();
                break;
            }
        };
        match n {
            Ok(0) | Err(_) => break,
            Ok(_) => probed = false,
        }
    }
    for (_, h) in session.blocked.drain() {
        h.abort();
    }
    close_session(&inner, id);
    drop(session);
    let _ = writer.await;
}

fn notification_request_echo() -> Vec<u8> {
    br#"{"id":"echo","method":"echo","params":[]}"#.to_vec()
}

fn close_session(inner: &Inner, id: u64) {
    let mut st = lock(inner);
    st.sessions.remove(&id);
    let names: Vec<String> = st.locks.keys().cloned().collect();
    for name in names {
        release_lock(&mut st, &name, id);
    }
}

/// Removes `sid` from lock `name`'s queue; a new owner gets `locked`.
fn release_lock(st: &mut State, name: &str, sid: u64) -> bool {
    let Some(q) = st.locks.get_mut(name) else {
        return false;
    };
    let Some(pos) = q.iter().position(|s| *s == sid) else {
        return false;
    };
    q.remove(pos);
    let was_stolen = st.stolen.remove(&(name.to_owned(), sid));
    let new_owner = if pos == 0 || was_stolen {
        q.front().copied()
    } else {
        None
    };
    if q.is_empty() {
        st.locks.remove(name);
    }
    if let Some(o) = new_owner {
        if let Some(s) = st.sessions.get(&o) {
            s.tx.send(notification(&Call::Locked {
                lock: name.to_owned(),
            }));
        }
    }
    true
}

impl Session {
    fn send(&self, bytes: Vec<u8>) {
        self.tx.send(bytes);
    }

    fn handle(&mut self, msg: Message) {
        match msg {
            Message::Request { id, method, params } => {
                self.request(Some(id), &method, params.as_bytes())
            }
            Message::Notification { method, params } => {
                self.request(None, &method, params.as_bytes())
            }
            // Replies to our echo probes.
            Message::Response { .. } | Message::Error { .. } => {}
        }
    }

    fn reply(&self, id: &Option<Value>, r: Result<Value, Value>) {
        let Some(id) = id else { return };
        self.send(match r {
            Ok(v) => response(id, &v),
            Err(e) => error_reply(id, &e),
        });
    }

    fn request(&mut self, id: Option<Value>, method: &str, params: &[u8]) {
        match method {
            "transact" => return self.transact(id, params),
            // As ovsdb-server 3.1: `cancel` is a notification; the canceled transaction is
            // dropped without a reply.
            "cancel" if id.is_none() => {
                if let Ok((target,)) = serde_json::from_slice::<(Value,)>(params) {
                    if let Some(h) = self.blocked.remove(&json_key(&target)) {
                        h.abort();
                    }
                }
                return;
            }
            "cancel" => return self.reply(&id, Err(json!("unknown method"))),
            "echo" => {
                let v: Value = serde_json::from_slice(params).unwrap_or(Value::Array(vec![]));
                return self.reply(&id, Ok(v));
            }
            _ => {}
        }
        let call = match ovsdb_proto::Method::from_name(method) {
            None => return self.reply(&id, Err(json!("unknown method"))),
            Some(_) => match Call::decode(method, params) {
                Ok(c) => c,
                Err(e) => {
                    return self.reply(&id, Err(syntax_error(format!("{method}: {e}"), params)))
                }
            },
        };
        self.call(&id, call, params);
    }

    fn transact(&mut self, id: Option<Value>, params: &[u8]) {
        let parsed: Option<(String, Vec<Box<RawValue>>)> =
            serde_json::from_slice::<Vec<Box<RawValue>>>(params)
                .ok()
                .and_then(|mut v| {
                    if v.is_empty() {
                        return None;
                    }
                    let db = v.remove(0);
                    Some((serde_json::from_str::<String>(db.get()).ok()?, v))
                });
        let Some((db, ops)) = parsed else {
            return self.reply(
                &id,
                Err(syntax_error(
                    "transact request params must begin with <db-name>",
                    params,
                )),
            );
        };
        let mut commits = self.inner.commits.subscribe();
        let first = {
            let mut st = lock(&self.inner);
            run_transact(&self.inner, &mut st, self.id, &db, &ops, false)
        };
        match first {
            Err(()) => self.reply(
                &id,
                Err(json!({
                    "error": "unknown database",
                    "details": format!("transact request specifies unknown database {db}"),
                })),
            ),
            Ok(Ran::Done(results)) => {
                // Sent after any notifications the commit queued, on the same channel.
                self.reply(&id, Ok(Value::Array(results)));
            }
            Ok(Ran::Blocked(timeout)) => {
                let deadline =
                    timeout.map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
                let inner = self.inner.clone();
                let tx = self.tx.clone();
                let sid = self.id;
                let rid = id.clone();
                let h = tokio::spawn(async move {
                    loop {
                        let expired = match deadline {
                            Some(d) => tokio::select! {
                                r = commits.changed() => { if r.is_err() { return; } false }
                                _ = tokio::time::sleep_until(d) => true,
                            },
                            None => {
                                if commits.changed().await.is_err() {
                                    return;
                                }
                                false
                            }
                        };
                        let r = {
                            let mut st = lock(&inner);
                            if !st.sessions.contains_key(&sid) {
                                return;
                            }
                            run_transact(&inner, &mut st, sid, &db, &ops, expired)
                        };
                        if let Ok(Ran::Done(results)) = r {
                            if let Some(id) = &rid {
                                tx.send(response(id, &Value::Array(results)));
                            }
                            return;
                        }
                    }
                });
                let mut tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
                tasks.retain(|h| !h.is_finished());
                tasks.push(h.abort_handle());
                drop(tasks);
                if let Some(id) = id {
                    self.blocked.retain(|_, h| !h.is_finished());
                    self.blocked.insert(json_key(&id), h.abort_handle());
                }
            }
        }
    }

    /// Runs a call and queues its reply while the state is still locked, so that no
    /// notification of a later commit (for a monitor this call creates) can overtake it.
    fn call(&mut self, id: &Option<Value>, call: Call, params: &[u8]) {
        let inner = self.inner.clone();
        let mut st = lock(&inner);
        let r = self.call_locked(&mut st, call, params);
        self.reply(id, r);
    }

    fn call_locked(&mut self, st: &mut State, call: Call, params: &[u8]) -> Result<Value, Value> {
        let unknown_db = |method: &str, db: &str| {
            json!({
                "error": "unknown database",
                "details": format!("{method} request specifies unknown database {db}"),
                "syntax": String::from_utf8_lossy(params),
            })
        };
        let op_err = |e: OpError| json!({"error": e.error, "details": e.details, "syntax": String::from_utf8_lossy(params)});
        match call {
            Call::ListDbs => Ok(json!(st.dbs.keys().collect::<Vec<_>>())),
            Call::GetSchema { db } => match st.dbs.get(&db) {
                Some(_) if db == SERVER_DB => {
                    Ok(serde_json::from_str(SERVER_SCHEMA).unwrap_or(Value::Null))
                }
                Some(d) => Ok(d.schema.to_json()),
                None => Err(unknown_db("get_schema", &db)),
            },
            Call::GetServerId => Ok(json!(st.server_id.to_string())),
            Call::SetDbChangeAware(_) => Ok(json!({})),
            Call::Monitor {
                db,
                monitor_id,
                requests,
            } => self.monitor(st, db, monitor_id, requests, Flavor::V1, None, params),
            Call::MonitorCond {
                db,
                monitor_id,
                requests,
            } => self.monitor(st, db, monitor_id, requests, Flavor::V2, None, params),
            Call::MonitorCondSince {
                db,
                monitor_id,
                requests,
                last_txn_id,
            } => self.monitor(
                st,
                db,
                monitor_id,
                requests,
                Flavor::V3,
                Some(last_txn_id),
                params,
            ),
            Call::MonitorCondChange {
                monitor_id,
                new_monitor_id,
                requests,
            } => {
                let key = json_key(&monitor_id);
                let new_key = json_key(&new_monitor_id);
                let sess = st.sessions.get(&self.id).ok_or(Value::Null)?;
                let Some(mut m) = sess.monitors.get(&key).cloned() else {
                    return Err(json!({
                        "error": "syntax error",
                        "details": "unknown monitor session",
                        "syntax": monitor_id.to_string(),
                    }));
                };
                if key != new_key && sess.monitors.contains_key(&new_key) {
                    return Err(json!({
                        "error": "syntax error",
                        "details": "duplicate monitor ID",
                        "syntax": new_monitor_id.to_string(),
                    }));
                }
                if m.flavor == Flavor::V1 {
                    return Err(op_err(OpError::syntax(
                        "monitor does not support conditions",
                    )));
                }
                let db = st.dbs.get(&m.db).ok_or(Value::Null)?;
                let updates = m.change_conditions(db, requests).map_err(op_err)?;
                m.id = new_monitor_id.clone();
                let last = db.last_txn;
                let sess = st.sessions.get_mut(&self.id).ok_or(Value::Null)?;
                sess.monitors.remove(&key);
                let flavor = m.flavor;
                sess.monitors.insert(new_key, m);
                if !updates.0.is_empty() {
                    let call = match flavor {
                        Flavor::V3 => Call::Update3 {
                            monitor_id: new_monitor_id,
                            last_txn_id: last,
                            updates,
                        },
                        _ => Call::Update2 {
                            monitor_id: new_monitor_id,
                            updates,
                        },
                    };
                    self.send(notification(&call));
                }
                Ok(json!({}))
            }
            Call::MonitorCancel { monitor_id } => {
                let sess = st.sessions.get_mut(&self.id).ok_or(Value::Null)?;
                match sess.monitors.remove(&json_key(&monitor_id)) {
                    Some(_) => Ok(json!({})),
                    None => Err(json!("unknown monitor")),
                }
            }
            Call::Lock { lock: name } => self.lock(st, name, false, params),
            Call::Steal { lock: name } => self.lock(st, name, true, params),
            Call::Unlock { lock: name } => {
                if release_lock(st, &name, self.id) {
                    Ok(json!({}))
                } else {
                    Err(json!({
                        "error": "syntax error",
                        "details": "unlock: \"unlock\" without \"lock\" or \"steal\"",
                        "syntax": String::from_utf8_lossy(params),
                    }))
                }
            }
            Call::Echo(v) => Ok(Value::Array(v)),
            Call::Cancel { .. } => Ok(json!({})),
            Call::Convert { .. } => Err(json!({
                "error": "not supported",
                "details": "the embedded server does not convert databases",
            })),
            // Server-to-client methods sent by a client.
            _ => Err(json!("unknown method")),
        }
    }

    fn lock(
        &mut self,
        st: &mut State,
        name: String,
        steal: bool,
        params: &[u8],
    ) -> Result<Value, Value> {
        let q = st.locks.entry(name.clone()).or_default();
        if q.contains(&self.id) {
            let what = if steal { "steal" } else { "lock" };
            return Err(json!({
                "error": "syntax error",
                "details": format!("must issue \"unlock\" before new \"{what}\""),
                "syntax": String::from_utf8_lossy(params),
            }));
        }
        if !steal {
            q.push_back(self.id);
            return Ok(json!({"locked": q.front() == Some(&self.id)}));
        }
        let old = q.front().copied();
        q.push_front(self.id);
        if let Some(old) = old {
            st.stolen.insert((name.clone(), old));
            if let Some(s) = st.sessions.get(&old) {
                s.tx.send(notification(&Call::Stolen { lock: name }));
            }
        }
        Ok(json!({"locked": true}))
    }

    #[allow(clippy::too_many_arguments)]
    fn monitor(
        &mut self,
        st: &mut State,
        db_name: String,
        monitor_id: Value,
        requests: ovsdb_proto::MonitorRequests,
        flavor: Flavor,
        since: Option<Uuid>,
        params: &[u8],
    ) -> Result<Value, Value> {
        let Some(db) = st.dbs.get(&db_name) else {
            let method = match flavor {
                Flavor::V1 => "monitor",
                Flavor::V2 => "monitor_cond",
                Flavor::V3 => "monitor_cond_since",
            };
            return Err(json!({
                "error": "unknown database",
                "details": format!("{method} request specifies unknown database {db_name}"),
                "syntax": String::from_utf8_lossy(params),
            }));
        };
        let key = json_key(&monitor_id);
        let sess = st.sessions.get(&self.id).ok_or(Value::Null)?;
        if sess.monitors.contains_key(&key) {
            return Err(json!({
                "error": "syntax error",
                "details": "duplicate monitor ID",
                "syntax": monitor_id.to_string(),
            }));
        }
        let m = Monitor::new(db, &db_name, monitor_id, flavor, requests)
            .map_err(|e| json!({"error": e.error, "details": e.details}))?;
        let result = match flavor {
            Flavor::V1 => serde_json::to_value(m.initial_v1(db)),
            Flavor::V2 => serde_json::to_value(m.initial_v2(db)),
            Flavor::V3 => {
                let reply = match since.and_then(|t| db.history_since(t)) {
                    Some(commits) => MonitorCondSinceReply {
                        found: true,
                        last_txn_id: db.last_txn,
                        updates: m.updates2_since(db, &commits),
                    },
                    None => MonitorCondSinceReply {
                        found: false,
                        last_txn_id: db.last_txn,
                        updates: m.initial_v2(db),
                    },
                };
                serde_json::to_value(reply)
            }
        }
        .map_err(|e| json!({"error": "internal error", "details": e.to_string()}))?;
        let sess = st.sessions.get_mut(&self.id).ok_or(Value::Null)?;
        sess.monitors.insert(key, m);
        Ok(result)
    }
}

/// An IO error that names the file or remote it happened on.
fn io_at(at: impl std::fmt::Display, e: std::io::Error) -> ServerError {
    ServerError::Io(std::io::Error::new(e.kind(), format!("{at}: {e}")))
}
