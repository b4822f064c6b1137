//! Shared test support: a blocking raw JSON-RPC connection that keeps error replies, the two
//! kinds of server under test, and the UUID-insensitive normaliser of transcripts.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ovsdb_proto::{FrameCodec, Message};
use ovsdb_server::Server;
use serde_json::{json, Value};
use tokio_util::codec::Decoder;

/// The conformance schema.
pub fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/conformance.ovsschema")
}

/// OVN Northbound, as installed by Debian.
pub const NB_SCHEMA: &str = "/usr/share/ovn/ovn-nb.ovsschema";

/// The runtime the embedded servers of the blocking tests run on.
pub static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

/// A server under test, reachable on a unix socket.
pub enum Target {
    /// The real ovsdb-server.
    Real(ovnlink_testkit::server::OvsdbServer),
    /// The real ovsdb-server, as a one-member Raft cluster (it keeps a transaction history).
    RealCluster(ovnlink_testkit::server::OvsdbCluster),
    /// The embedded server, with the directory holding its socket.
    Embedded(Server, tempfile::TempDir),
}

impl Target {
    /// Starts the real server with `schemas`.
    pub fn real(schemas: &[&Path]) -> Target {
        let mut b = ovnlink_testkit::server::OvsdbServer::builder();
        for s in schemas {
            b = b.database(s);
        }
        Target::Real(b.start().expect("start ovsdb-server"))
    }

    /// Starts a one-member real cluster with `schema`.
    pub fn real_cluster(schema: &Path) -> Target {
        let c = ovnlink_testkit::server::OvsdbCluster::start(schema, 1).expect("start cluster");
        c.wait_for_leader(Duration::from_secs(30))
            .expect("a leader");
        Target::RealCluster(c)
    }

    /// Starts the embedded server with `schemas`.
    pub fn embedded(schemas: &[&Path]) -> Target {
        let release = ovnlink_testkit::release::release();
        let server = Server::new();
        for s in schemas {
            // The release's own copy of an installed schema, so that its `ovn-nbctl` and the
            // embedded server agree.
            let in_release = release.host_path(s);
            let file = if in_release.exists() {
                in_release
            } else {
                s.to_path_buf()
            };
            server.add_database_file(&file).expect("add database");
        }
        // Inside the release's root, where its programs reach the socket.
        let dir = release.tempdir("embedded").expect("temp dir");
        let path = dir.path().join("db.sock");
        let remote = format!("punix:{}", path.display());
        RUNTIME.block_on(server.listen(&remote)).expect("listen");
        Target::Embedded(server, dir)
    }

    /// The unix socket.
    pub fn path(&self) -> PathBuf {
        match self {
            Target::Real(s) => s.unix_path(),
            Target::RealCluster(c) => c.unix_path(0),
            Target::Embedded(_, d) => d.path().join("db.sock"),
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Real(_) | Target::RealCluster(_) => "ovsdb-server",
            Target::Embedded(..) => "embedded",
        }
    }

    /// Opens a raw connection.
    pub fn connect(&self) -> Conn {
        Conn::connect(&self.path()).expect("connect")
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Target::Embedded(s, _) = self {
            s.shutdown();
        }
    }
}

/// A blocking raw JSON-RPC connection that answers the server's echo requests and keeps
/// notifications.
pub struct Conn {
    stream: UnixStream,
    codec: FrameCodec,
    buf: BytesMut,
    next_id: u64,
    pub notifications: VecDeque<Value>,
    closed: bool,
}

/// How long to wait for a reply or notification.
pub const TIMEOUT: Duration = Duration::from_secs(10);

impl Conn {
    /// Connects to a unix socket.
    pub fn connect(path: &Path) -> io::Result<Conn> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(Duration::from_millis(20)))?;
        Ok(Conn {
            stream,
            codec: FrameCodec::new(),
            buf: BytesMut::new(),
            next_id: 1,
            notifications: VecDeque::new(),
            closed: false,
        })
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends a request and returns the whole response (`result` and `error`, no `id`).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params});
        self.stream
            .write_all(msg.to_string().as_bytes())
            .expect("write");
        self.wait_reply(json!(id))
    }

    /// Sends a request without waiting; returns its id.
    pub fn send(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params});
        self.stream
            .write_all(msg.to_string().as_bytes())
            .expect("write");
        json!(id)
    }

    /// Waits for the response to request `id`.
    pub fn wait_reply(&mut self, id: Value) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        match self.next_message(deadline) {
            Some(Message::Response { id: got, result }) if got == id => {
                json!({"result": result.to_value().expect("json"), "error": null})
            }
            Some(Message::Error { id: got, error }) if got == id => {
                json!({"result": null, "error": error})
            }
            Some(other) => panic!("unexpected {other:?} while waiting for reply {id}"),
            None => panic!("no reply to {id}"),
        }
    }

    /// Waits until `n` notifications are kept, and takes them.
    pub fn notifications(&mut self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        while self.notifications.len() < n {
            let step = (Instant::now() + Duration::from_millis(20)).min(deadline);
            if let Some(m) = self.next_message(step) {
                panic!("unexpected {m:?} while waiting for notifications");
            }
            if Instant::now() >= deadline {
                panic!("expected {n} notifications, got {:?}", self.notifications);
            }
        }
        self.notifications.drain(..n).collect()
    }

    /// Takes whatever notifications arrive within `wait`.
    pub fn drain(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = Instant::now() + wait;
        if let Some(m) = self.next_message(deadline) {
            panic!("unexpected {m:?} while draining notifications");
        }
        self.notifications.drain(..).collect()
    }

    /// Whether the server closed the connection within `wait`.
    pub fn is_closed(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while !self.closed && Instant::now() < deadline {
            let _ = self.next_message(deadline);
        }
        self.closed
    }

    /// The next response (notifications are kept; echo requests answered); `None` at the
    /// deadline or when the connection closes.
    fn next_message(&mut self, deadline: Instant) -> Option<Message> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match self.codec.decode(&mut self.buf) {
                Ok(Some(frame)) => {
                    let msg = Message::decode(frame).expect("valid message");
                    match msg {
                        Message::Request { id, method, params } if method == "echo" => {
                            let reply = format!(
                                r#"{{"id":{id},"result":{},"error":null}}"#,
                                String::from_utf8_lossy(params.as_bytes())
                            );
                            let _ = self.stream.write_all(reply.as_bytes());
                        }
                        Message::Notification { method, params } => {
                            self.notifications.push_back(json!({
                                "method": method,
                                "params": params.to_value().expect("json"),
                            }));
                        }
                        other => return Some(other),
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => panic!("bad stream: {e}"),
            }
            if self.closed || Instant::now() >= deadline {
                return None;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    return None;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut => {}
                Err(_) => {
                    self.closed = true;
                    return None;
                }
            }
        }
    }
}

fn is_uuid(s: &str) -> bool {
    ovsdb_proto::parse_uuid(s).is_some()
}

/// `v` with every UUID replaced by `<u>`, as text (the sort key of unordered things).
fn masked(v: &Value) -> String {
    fn mask(v: &Value) -> Value {
        match v {
            Value::String(s) if is_uuid(s) => json!("<u>"),
            Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
            Value::Object(o) => {
                let mut entries: Vec<(String, Value)> = o
                    .iter()
                    .map(|(k, v)| (if is_uuid(k) { "<u>".into() } else { k.clone() }, mask(v)))
                    .collect();
                entries.sort_by_key(|(k, v)| format!("{k}{v}"));
                Value::Array(entries.into_iter().map(|(k, v)| json!([k, v])).collect())
            }
            v => v.clone(),
        }
    }
    mask(v).to_string()
}

/// Puts unordered things (UUID-keyed objects, `rows`, sets, maps) in an order that does not
/// depend on UUID values.
fn canon(v: &Value, key: Option<&str>) -> Value {
    match v {
        Value::Object(o) if !o.is_empty() && o.keys().all(|k| is_uuid(k)) => {
            let mut entries: Vec<(String, Value)> =
                o.iter().map(|(k, v)| (k.clone(), canon(v, None))).collect();
            entries.sort_by_cached_key(|(_, v)| masked(v));
            json!({"<rows>": entries.into_iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()})
        }
        Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for (k, v) in o {
                // `details` are compared loosely (present or not), `syntax` not at all.
                if k == "syntax" {
                    continue;
                }
                if k == "details" {
                    out.insert(k.clone(), json!("<details>"));
                    continue;
                }
                out.insert(k.clone(), canon(v, Some(k)));
            }
            Value::Object(out)
        }
        // After renaming: ties between rows that differ only by UUID are broken by name.
        Value::Array(a) if key == Some("<rows>") => {
            let mut items: Vec<Value> = a.iter().map(|e| canon(e, None)).collect();
            items.sort_by_cached_key(|e| (masked(e), e.to_string()));
            Value::Array(items)
        }
        Value::Array(a) if a.len() == 2 && (a[0] == "set" || a[0] == "map") => {
            let mut items: Vec<Value> = a[1]
                .as_array()
                .map(|x| x.iter().map(|e| canon(e, None)).collect())
                .unwrap_or_default();
            items.sort_by_cached_key(masked);
            json!([a[0], items])
        }
        Value::Array(a) if key == Some("rows") => {
            let mut items: Vec<Value> = a.iter().map(|e| canon(e, None)).collect();
            items.sort_by_cached_key(masked);
            Value::Array(items)
        }
        Value::Array(a) => Value::Array(a.iter().map(|e| canon(e, None)).collect()),
        // ovsdb-server prints integral reals without a fraction.
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => json!(f as i64),
            _ => v.clone(),
        },
        v => v.clone(),
    }
}

fn rename(v: &mut Value, names: &mut HashMap<String, usize>) {
    match v {
        Value::String(s) if is_uuid(s) => {
            let n = names.len();
            let id = *names.entry(s.clone()).or_insert(n);
            *s = format!("uuid#{id}");
        }
        Value::Array(a) => a.iter_mut().for_each(|e| rename(e, names)),
        Value::Object(o) => o.values_mut().for_each(|e| rename(e, names)),
        _ => {}
    }
}

/// Normalises a transcript: unordered things sorted independently of UUIDs, UUIDs renamed
/// `uuid#N` by order of first appearance, error `details` texts and `syntax` dropped.
pub fn normalize(transcript: &[Value]) -> Vec<Value> {
    let mut names = HashMap::new();
    transcript
        .iter()
        .map(|v| {
            let mut c = canon(v, None);
            rename(&mut c, &mut names);
            sort_list_dbs(&mut c);
            canon(&c, None)
        })
        .collect()
}

/// `list_dbs` names the databases in no defined order (ovsdb-server 3.1 lists `_Server`
/// first, 3.5 last): compare them sorted.
fn sort_list_dbs(step: &mut Value) {
    if step.get("call").and_then(Value::as_str) != Some("list_dbs") {
        return;
    }
    if let Some(Value::Array(names)) = step.pointer_mut("/response/result") {
        names.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
}

/// A transcript of a scripted session against one server.
pub struct Script {
    pub target: Target,
    pub conns: Vec<Conn>,
    pub log: Vec<Value>,
}

impl Script {
    /// Opens `n` connections to `target`.
    pub fn new(target: Target, n: usize) -> Script {
        let conns = (0..n).map(|_| target.connect()).collect();
        Script {
            target,
            conns,
            log: Vec::new(),
        }
    }

    /// A call on connection `c`, recorded with its response.
    pub fn call(&mut self, c: usize, method: &str, params: Value) -> Value {
        let r = self.conns[c].call(method, params.clone());
        let mut rec = r.clone();
        if method == "monitor_cond_since" {
            if let Some(a) = rec["result"].as_array_mut() {
                a[1] = json!("<txn>");
            }
        }
        if method == "get_schema" {
            // Compared as parsed schemas.
            if let Ok(s) = ovsdb_proto::DatabaseSchema::from_json(&rec["result"]) {
                rec["result"] = json!(format!("{s:?}"));
            }
        }
        self.log
            .push(json!({"conn": c, "call": method, "params": params, "response": rec}));
        r
    }

    /// A transaction on connection `c` of `ops` on `db`.
    pub fn transact(&mut self, c: usize, db: &str, ops: Value) -> Value {
        let mut params = vec![json!(db)];
        params.extend(ops.as_array().cloned().unwrap_or_default());
        self.call(c, "transact", Value::Array(params))
    }

    /// Records the next `n` notifications of connection `c`.
    pub fn expect_notifications(&mut self, c: usize, n: usize) {
        let mut got = self.conns[c].notifications(n);
        // Several monitors of one connection: their order for one commit is unspecified.
        got.sort_by_key(|m| m["params"][0].to_string());
        for mut m in got {
            if m["method"] == "update3" {
                m["params"][1] = json!("<txn>");
            }
            self.log.push(json!({"conn": c, "notification": m}));
        }
    }

    /// Records the next notification of connection `c` (an `update3`) and returns its raw
    /// transaction id.
    pub fn take_txn_id(&mut self, c: usize) -> Value {
        let mut m = self.conns[c].notifications(1).remove(0);
        let txn = m["params"][1].clone();
        m["params"][1] = json!("<txn>");
        self.log.push(json!({"conn": c, "notification": m}));
        txn
    }

    /// Records that connection `c` got no notification within a short while.
    pub fn expect_quiet(&mut self, c: usize) {
        let got = self.conns[c].drain(Duration::from_millis(150));
        self.log.push(json!({"conn": c, "quiet": got}));
    }
}

/// Runs `script` against the real server (unless its binaries are missing and not required)
/// and the embedded one, with the databases of `schemas`, and asserts that the normalised
/// transcripts are equal. Returns the embedded transcript (normalised).
pub fn conform(schemas: &[&Path], conns: usize, script: impl Fn(&mut Script)) -> Vec<Value> {
    conform_with(schemas, conns, false, script)
}

/// [`conform`], against a one-member Raft cluster when `cluster` is set (one schema).
pub fn conform_with(
    schemas: &[&Path],
    conns: usize,
    cluster: bool,
    script: impl Fn(&mut Script),
) -> Vec<Value> {
    let mut embedded = Script::new(Target::embedded(schemas), conns);
    script(&mut embedded);
    let got = normalize(&embedded.log);
    if !ovnlink_testkit::server::real_servers() {
        return got;
    }
    let target = if cluster {
        Target::real_cluster(schemas[0])
    } else {
        Target::real(schemas)
    };
    let mut real = Script::new(target, conns);
    script(&mut real);
    let want = normalize(&real.log);
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(
            w,
            g,
            "step {i} differs\nreal:     {}\nembedded: {}\n(raw real: {})\n(raw embedded: {})",
            serde_json::to_string(w).unwrap_or_default(),
            serde_json::to_string(g).unwrap_or_default(),
            real.log[i],
            embedded.log[i],
        );
    }
    assert_eq!(want.len(), got.len(), "transcript lengths differ");
    got
}
