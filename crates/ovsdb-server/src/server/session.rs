//! One client's session: reading its frames, answering its calls (transactions, monitors,
//! locks, echo) and releasing what it held when it goes.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::BytesMut;
use ovsdb_proto::{Call, FrameCodec, Message, MonitorCondSinceReply, Uuid};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::AbortHandle;
use tokio_util::codec::Decoder;

use super::*;

struct Session {
    inner: Arc<Inner>,
    id: u64,
    tx: Outbox,
    /// Transactions blocked in a `wait`, by request id.
    blocked: HashMap<String, AbortHandle>,
}

pub(super) async fn run_session<S>(inner: Arc<Inner>, stream: S)
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
