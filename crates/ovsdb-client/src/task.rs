//! The connection task: sockets, TLS, backoff, channels and the caches around the sans-IO
//! [`Session`], which decides what is said on each connection.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ovsdb_proto::session::{
    CallFailure, CallId, CloseReason, InitialUpdates, MonitorId, MonitorUpdate, Session,
    SessionConfig, SessionEvent, SyncKind,
};
use ovsdb_proto::{Call, CallError, Condition, ConnectionConfig, Reply};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::{debug, warn};

use crate::cache::{Cache, CacheEvent};
use crate::client::{Stats, Status};
use crate::config::{ClientConfig, MonitorSpec};
use crate::error::{ClientError, Result};
use crate::remote::Remote;

/// Where the reply to a caller's call goes.
pub(crate) type Responder = oneshot::Sender<Result<Reply>>;

/// What a [`crate::Client`] handle asks of its task.
pub(crate) enum Command {
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
    Condition {
        db: String,
        table: String,
        conditions: Option<Vec<Condition>>,
    },
    Shutdown,
}

/// What the task and the handles share.
pub(crate) struct Shared {
    pub(crate) caches: Mutex<HashMap<String, Arc<Cache>>>,
    pub(crate) events: broadcast::Sender<CacheEvent>,
    pub(crate) status: watch::Sender<Status>,
    pub(crate) stats: Mutex<Stats>,
    /// Why the last session ended (or the last attempt failed).
    pub(crate) last_error: Mutex<Option<String>>,
}

/// One registered monitor, as the task sees it.
struct MonitorEntry {
    db: String,
    spec: MonitorSpec,
    /// Waiters for the first sync.
    waiters: Vec<oneshot::Sender<Result<Arc<Cache>>>>,
}

/// Why a connection ended.
enum End {
    /// Shut down by the user.
    Shutdown,
    /// Lost or refused; `forced` means "try the next server now" (no backoff).
    Lost { error: ClientError, forced: bool },
}

type Stream = Box<dyn AsyncReadWrite>;

trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncReadWrite for T {}

pub(crate) struct Task {
    config: ClientConfig,
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<Command>,
    session: Session,
    calls: HashMap<CallId, Responder>,
    monitors: HashMap<MonitorId, MonitorEntry>,
    locks: HashMap<String, watch::Sender<bool>>,
    order: Vec<Remote>,
    next_remote: usize,
}

impl Task {
    pub(crate) fn new(
        config: ClientConfig,
        shared: Arc<Shared>,
        rx: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        let mut order = config.remotes.remotes.clone();
        if config.shuffle_remotes {
            shuffle(&mut order);
        }
        let mut session = Session::new(
            SessionConfig::default()
                .leader_only(config.leader_only)
                .cid(config.remotes.cid)
                .check_writes(config.check_writes)
                .connection(
                    ConnectionConfig::default()
                        .probe_interval(config.probe_interval)
                        .max_message_len(config.max_message_len),
                ),
        );
        for history in &config.histories.0 {
            session.add_history(history);
        }
        Task {
            config,
            shared,
            rx,
            session,
            calls: HashMap::new(),
            monitors: HashMap::new(),
            locks: HashMap::new(),
            order,
            next_remote: 0,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut backoff = self.config.backoff_min;
        let mut failures_in_round = 0usize;
        loop {
            let remote = self.order[self.next_remote % self.order.len()].clone();
            self.next_remote += 1;
            let started = Instant::now();
            match self.connection(&remote).await {
                End::Shutdown => break,
                End::Lost { error, forced } => {
                    // Monitor waiters stay: the next connection syncs their monitor.
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
        while let Ok(cmd) = self.rx.try_recv() {
            fail(cmd);
        }
        for (_, tx) in self.calls.drain() {
            let _ = tx.send(Err(ClientError::Closed));
        }
        for (_, m) in self.monitors.drain() {
            for w in m.waiters {
                let _ = w.send(Err(ClientError::Closed));
            }
        }
    }

    /// Waits `wait`, taking commands meanwhile (the session queues them for the next
    /// connection); true if shut down meanwhile.
    async fn idle(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return false,
                cmd = self.rx.recv() => match cmd {
                    None | Some(Command::Shutdown) => return true,
                    Some(cmd) => self.command(cmd),
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

    /// One connection, from opening the stream until it ends.
    async fn connection(&mut self, remote: &Remote) -> End {
        let stream = match self.open(remote).await {
            Ok(s) => s,
            Err(error) => {
                return End::Lost {
                    error,
                    forced: false,
                }
            }
        };
        let name = remote.to_string();
        let (mut reader, mut write_half) = tokio::io::split(stream);
        let (writer, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (done_tx, mut writer_done) = oneshot::channel();
        // A separate writer: a large request never stops the reader, and the server (which
        // stops reading a session whose send backlog is full) cannot deadlock with us.
        tokio::spawn(async move {
            while let Some(bytes) = out_rx.recv().await {
                if let Err(e) = write_half.write_all(&bytes).await {
                    let _ = done_tx.send(e);
                    return;
                }
            }
            let _ = write_half.shutdown().await;
        });
        self.session.connect(&name, Instant::now());
        let mut buf = vec![0; 256 * 1024];
        let end = loop {
            if let Some(end) = self.events(&name) {
                break end;
            }
            while let Some(bytes) = self.session.poll_transmit() {
                // A closed writer shows up as `writer_done`.
                let _ = writer.send(bytes);
            }
            let timeout = self.session.poll_timeout();
            tokio::select! {
                biased;
                read = reader.read(&mut buf) => match read {
                    Ok(0) => break lost(ClientError::Io {
                        remote: name.clone(),
                        source: std::io::ErrorKind::UnexpectedEof.into(),
                    }, false),
                    Ok(n) => self.session.handle_input(&buf[..n], Instant::now()),
                    Err(source) => break lost(ClientError::Io { remote: name.clone(), source }, false),
                },
                cmd = self.rx.recv() => match cmd {
                    None | Some(Command::Shutdown) => break End::Shutdown,
                    Some(cmd) => self.command(cmd),
                },
                _ = sleep_until(timeout) => self.session.handle_timeout(Instant::now()),
                err = &mut writer_done => {
                    let source = err.unwrap_or_else(|_| std::io::Error::other("writer stopped"));
                    break lost(ClientError::Io { remote: name.clone(), source }, false);
                }
            }
        };
        // Calls in flight fail, locks are released: the session says so in events.
        self.session.handle_disconnect();
        let _ = self.events(&name);
        end
    }

    /// Hands a caller's command to the session.
    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Call { call, reply } => {
                // Callers that gave up (a transact deadline) leave a closed channel behind;
                // forget those now and then so they do not pile up on a long session.
                if self.calls.len() >= 64 && self.calls.len() % 64 == 0 {
                    self.calls.retain(|_, tx| !tx.is_closed());
                }
                let id = self.session.call(call);
                self.calls.insert(id, reply);
            }
            Command::Monitor { db, spec, reply } => {
                for t in &spec.typed {
                    let history = (t.history)();
                    if history.name() == db {
                        self.config.histories.add(history);
                        self.session.add_history(history);
                    }
                }
                let id = self.session.monitor(&db, spec.tables.clone());
                for (table, clauses) in &spec.conditions {
                    self.session.set_condition(id, table, Some(clauses.clone()));
                }
                self.monitors.insert(
                    id,
                    MonitorEntry {
                        db,
                        spec,
                        waiters: vec![reply],
                    },
                );
            }
            Command::Lock { name, state, steal } => {
                self.session.lock(&name, steal);
                self.locks.insert(name, state);
            }
            Command::Unlock { name } => {
                if let Some(state) = self.locks.remove(&name) {
                    state.send_replace(false);
                    self.session.unlock(&name);
                }
            }
            Command::Condition {
                db,
                table,
                conditions,
            } => {
                for (id, m) in self.monitors.iter_mut().filter(|(_, m)| m.db == db) {
                    let watched = m.spec.tables.as_ref().is_none_or(|t| t.contains(&table));
                    if watched {
                        match &conditions {
                            Some(c) => m.spec.conditions.insert(table.clone(), c.clone()),
                            None => m.spec.conditions.remove(&table),
                        };
                        self.session.set_condition(*id, &table, conditions.clone());
                    }
                }
            }
            Command::ProbeInterval(interval) => {
                self.config.probe_interval = interval;
                self.session.set_probe_interval(interval);
            }
            // Handled by the loops that receive commands.
            Command::Shutdown => {}
        }
    }

    /// Carries out the session's events; the end of the connection if one says so.
    fn events(&mut self, remote: &str) -> Option<End> {
        let mut end = None;
        while let Some(event) = self.session.poll_event() {
            match event {
                SessionEvent::Schema { db, schema } => self.cache_for(&db).set_schema(schema),
                SessionEvent::Sync {
                    monitor,
                    db,
                    tables,
                    kind,
                    updates,
                } => self.sync(monitor, &db, &tables, kind, updates),
                SessionEvent::Update {
                    monitor,
                    db,
                    updates,
                } => self.update(monitor, &db, updates),
                SessionEvent::Ready { session } => {
                    self.shared
                        .stats
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .sessions = session;
                    self.shared.status.send_replace(Status::Connected {
                        remote: remote.to_owned(),
                        session,
                    });
                }
                SessionEvent::MonitorReady(monitor) => {
                    if let Some(m) = self.monitors.get_mut(&monitor) {
                        let cache = cache_of(&self.shared, &m.db);
                        for w in m.waiters.drain(..) {
                            let _ = w.send(Ok(cache.clone()));
                        }
                    }
                }
                SessionEvent::MonitorFailed { monitor, error } => {
                    if let Some(m) = self.monitors.remove(&monitor) {
                        for w in m.waiters {
                            let _ = w.send(Err(ClientError::Usage(error.clone())));
                        }
                    }
                }
                SessionEvent::Reply {
                    call,
                    method,
                    result,
                } => {
                    let Some(tx) = self.calls.remove(&call) else {
                        continue;
                    };
                    let _ = tx.send(result.map_err(|e| match e {
                        CallFailure::Call(e) => call_error(remote, method, e),
                        CallFailure::Disconnected => ClientError::Disconnected(method),
                        CallFailure::Skew(e) => ClientError::Skew(e),
                        CallFailure::Invalid(e) => ClientError::Usage(e.to_string()),
                        #[allow(unreachable_patterns, reason = "CallFailure is non_exhaustive")]
                        other => ClientError::Usage(format!("{other:?}")),
                    }));
                }
                SessionEvent::Lock { name, held } => {
                    if let Some(state) = self.locks.get(&name) {
                        state.send_replace(held);
                    }
                }
                SessionEvent::Closed {
                    reason,
                    next_remote_now,
                } => {
                    end = Some(lost(self.close_error(remote, reason), next_remote_now));
                }
                other => debug!(?other, "ignored session event"),
            }
        }
        end
    }

    /// A monitor's rows on this connection go into its cache.
    fn sync(
        &mut self,
        monitor: MonitorId,
        db: &str,
        tables: &[String],
        kind: SyncKind,
        updates: InitialUpdates,
    ) {
        let cache = self.cache_for(db);
        let Some(schema) = cache.schema() else {
            return;
        };
        if let Some(m) = self.monitors.get(&monitor) {
            for t in &m.spec.typed {
                (t.register)(&cache);
            }
        }
        let result = match kind {
            SyncKind::Resumed => updates
                .into_decoded()
                .and_then(|u| cache.apply2(&schema, u))
                .map(|changes| CacheEvent::Changed {
                    db: db.to_owned(),
                    changes: Arc::new(changes),
                }),
            _ => {
                let replaced = match &updates {
                    InitialUpdates::Raw { .. } => {
                        let members = updates
                            .members()
                            .into_iter()
                            .map(|(t, json)| (t.to_owned(), json))
                            .collect();
                        cache.replace_json(&schema, tables, members)
                    }
                    _ => updates
                        .into_decoded()
                        .and_then(|u| cache.replace(&schema, tables, u)),
                };
                replaced.map(|()| CacheEvent::Resynced {
                    db: db.to_owned(),
                    tables: tables.to_vec(),
                })
            }
        };
        match result {
            Ok(event) => {
                let _ = self.shared.events.send(event);
                let mut st = self.shared.stats.lock().unwrap_or_else(|e| e.into_inner());
                match kind {
                    SyncKind::Resumed => st.resumed_syncs += 1,
                    _ => st.full_syncs += 1,
                }
            }
            Err(e) => self.session.handle_cache_error(monitor, e),
        }
    }

    /// Changes to a monitor's rows go into its cache.
    fn update(&mut self, monitor: MonitorId, db: &str, updates: MonitorUpdate) {
        let cache = self
            .shared
            .caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(db)
            .cloned();
        let Some((cache, schema)) = cache.and_then(|c| c.schema().map(|s| (c, s))) else {
            return;
        };
        let result = match updates {
            MonitorUpdate::V2(u) => cache.apply2(&schema, u),
            MonitorUpdate::V1(u) => cache.apply1(&schema, u),
            #[allow(unreachable_patterns, reason = "MonitorUpdate is non_exhaustive")]
            other => {
                debug!(?other, "ignored update");
                return;
            }
        };
        match result {
            Ok(changes) => {
                let _ = self.shared.events.send(CacheEvent::Changed {
                    db: db.to_owned(),
                    changes: Arc::new(changes),
                });
            }
            // The server and the cache disagree: start over with a full copy.
            Err(e) => self.session.handle_cache_error(monitor, e),
        }
    }

    fn close_error(&self, remote: &str, reason: CloseReason) -> ClientError {
        match reason {
            CloseReason::Refused { db, why } => {
                self.shared
                    .stats
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .refused_servers += 1;
                ClientError::NoServer(format!("{remote}: {db} {why}"))
            }
            CloseReason::Protocol(source) => ClientError::Protocol {
                remote: remote.to_owned(),
                source,
            },
            CloseReason::Server { method, error } => ClientError::Server { method, error },
            CloseReason::ProbeTimeout => {
                ClientError::Timeout(format!("{remote}: no answer to the inactivity probe"))
            }
            CloseReason::Monitor(why) => ClientError::Usage(why),
            #[allow(unreachable_patterns, reason = "CloseReason is non_exhaustive")]
            other => ClientError::Usage(other.to_string()),
        }
    }

    fn cache_for(&self, db: &str) -> Arc<Cache> {
        cache_of(&self.shared, db)
    }
}

/// The cache of `db`, made when first needed.
fn cache_of(shared: &Shared, db: &str) -> Arc<Cache> {
    shared
        .caches
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(db.to_owned())
        .or_insert_with(|| Arc::new(Cache::new(db)))
        .clone()
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

fn call_error(remote: &str, method: ovsdb_proto::Method, e: CallError) -> ClientError {
    match e {
        CallError::Server(error) => ClientError::Server { method, error },
        CallError::Malformed(source) => ClientError::Protocol {
            remote: remote.to_owned(),
            source,
        },
        #[allow(unreachable_patterns, reason = "CallError is non_exhaustive")]
        other => ClientError::Protocol {
            remote: remote.to_owned(),
            source: ovsdb_proto::Error::Protocol(other.to_string()),
        },
    }
}

fn fail(cmd: Command) {
    match cmd {
        Command::Call { reply, .. } => {
            let _ = reply.send(Err(ClientError::Closed));
        }
        Command::Monitor { reply, .. } => {
            let _ = reply.send(Err(ClientError::Closed));
        }
        _ => {}
    }
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
