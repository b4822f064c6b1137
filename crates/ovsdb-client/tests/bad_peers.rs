//! A scripted fake server that misbehaves: malformed JSON, an oversized frame, a reply to an
//! unknown id, an `update2` for a row the client never had. The client must report typed
//! errors, never panic, and either keep the connection or reset it and resync.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ovsdb_client::{Client, ClientConfig, ClientError, MonitorSpec};
use ovsdb_proto::{Call, Framer, Message};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

const SCHEMA: &str = r#"{"name":"DB","version":"1.0.0","tables":{"T":{"columns":{"name":{"type":"string"}},"isRoot":true}}}"#;
const U1: &str = "11111111-1111-4111-8111-111111111111";
const U2: &str = "22222222-2222-4222-8222-222222222222";
const WAIT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    /// Balanced brackets, invalid JSON: the framer passes it, the decoder rejects it.
    MalformedReply,
    /// Mismatched brackets: the framer rejects it at once.
    UnbalancedReply,
    OversizedFrame,
    UnknownId,
    UnknownRow,
    /// Never answers a transact.
    Silent,
    /// Never answers an inactivity probe (`echo`), on every connection.
    Deaf,
}

/// Serves connection after connection; the first one misbehaves as `fault` says.
async fn fake_server(listener: UnixListener, fault: Fault, connections: Arc<AtomicUsize>) {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        let n = connections.fetch_add(1, Ordering::SeqCst) + 1;
        let faulty = n == 1 || fault == Fault::Deaf;
        tokio::spawn(serve(sock, faulty.then_some(fault)));
    }
}

fn response(id: &Value, result: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "result": result, "error": null})).unwrap()
}

async fn serve(mut sock: UnixStream, fault: Option<Fault>) {
    let mut framer = Framer::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 65536];
    loop {
        let n = match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Ok(Some(range)) = framer.scan(&buf) {
            let frame: Vec<u8> = buf.drain(..range.end).collect();
            let Ok(Message::Request { id, method, params }) =
                Message::decode_slice(&frame[range.start..])
            else {
                continue;
            };
            let mut out = Vec::new();
            match method.as_str() {
                "get_schema" if params.as_bytes() == br#"["_Server"]"# => out.extend(
                    serde_json::to_vec(
                        &json!({"id": id, "result": null, "error": {"error": "unknown database"}}),
                    )
                    .unwrap(),
                ),
                "get_schema" => out.extend(response(&id, serde_json::from_str(SCHEMA).unwrap())),
                "list_dbs" => out.extend(response(&id, json!(["DB"]))),
                "echo" if fault == Some(Fault::Deaf) => {}
                "echo" => out.extend(response(&id, params.to_value().unwrap())),
                "monitor_cond_since" => {
                    let Ok(Call::MonitorCondSince { monitor_id, .. }) =
                        Call::decode(&method, params.as_bytes())
                    else {
                        return;
                    };
                    let initial = json!({"T": {U1: {"initial": {"name": "a"}}}});
                    out.extend(response(
                        &id,
                        json!([false, "00000000-0000-0000-0000-000000000000", initial]),
                    ));
                    if fault == Some(Fault::UnknownRow) {
                        out.extend(
                            serde_json::to_vec(&json!({"id": null, "method": "update2",
                                "params": [monitor_id, {"T": {U2: {"modify": {"name": "ghost"}}}}]}))
                            .unwrap(),
                        );
                    }
                }
                "transact" => match fault {
                    Some(Fault::MalformedReply) => {
                        out.extend(format!(r#"{{"id":{id},"result":[1,]}}"#).bytes())
                    }
                    Some(Fault::UnbalancedReply) => {
                        out.extend(format!(r#"{{"id":{id},"result":[1,}}"#).bytes())
                    }
                    Some(Fault::OversizedFrame) => {
                        out.extend(response(
                            &id,
                            json!([{"rows": [{"name": "x".repeat(10_000)}]}]),
                        ));
                    }
                    Some(Fault::Silent) => {}
                    Some(Fault::UnknownId) => {
                        out.extend(response(&json!(999_999), json!([{}])));
                        out.extend(response(&id, json!([{"count": 0}])));
                    }
                    _ => out.extend(response(&id, json!([{"count": 0}]))),
                },
                _ => out.extend(response(&id, json!({}))),
            }
            if sock.write_all(&out).await.is_err() {
                return;
            }
        }
    }
}

/// Runs `fault` against a fresh client; returns the client, the number of connections the
/// server saw, the outcome of the first transaction, and the directory of the socket (kept
/// alive by the caller).
async fn scenario(
    fault: Fault,
) -> (
    Client,
    Arc<AtomicUsize>,
    Result<(), ClientError>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(fake_server(listener, fault, connections.clone()));
    let config = ClientConfig::new(&format!("unix:{}", path.display()))
        .unwrap()
        .max_message_len(4096)
        .backoff(Duration::from_millis(20), Duration::from_millis(50));
    let client = Client::connect(config, WAIT).await.unwrap();
    let cache = client.monitor("DB", MonitorSpec::all()).await.unwrap();
    let first = client.transact("DB", vec![]).await.map(|_| ());
    // Whatever happened, the client recovers: the next transaction works and the cache
    // holds exactly what the server has.
    let again = tokio::time::timeout(WAIT, client.transact("DB", vec![]))
        .await
        .unwrap();
    assert!(again.is_ok(), "{fault:?}: {again:?}");
    let names: Vec<String> = cache
        .read()
        .table("T")
        .unwrap()
        .values()
        .map(|r| {
            r.get("name")
                .unwrap()
                .as_atom()
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["a"], "{fault:?}");
    (client, connections, first, dir)
}

#[tokio::test]
async fn malformed_reply_resets_and_resyncs() {
    let (client, connections, first, _dir) = scenario(Fault::MalformedReply).await;
    assert!(
        matches!(first, Err(ClientError::Disconnected(_))),
        "{first:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    let why = client.last_error().unwrap();
    assert!(why.contains("malformed JSON-RPC message"), "{why}");
    assert_eq!(client.stats().full_syncs, 2);
}

#[tokio::test]
async fn unbalanced_reply_resets_and_resyncs() {
    let (client, connections, first, _dir) = scenario(Fault::UnbalancedReply).await;
    assert!(
        matches!(first, Err(ClientError::Disconnected(_))),
        "{first:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    let why = client.last_error().unwrap();
    assert!(
        why.contains("closing bracket does not match the opening one"),
        "{why}"
    );
}

#[tokio::test]
async fn oversized_frame_resets_and_resyncs() {
    let (client, connections, first, _dir) = scenario(Fault::OversizedFrame).await;
    assert!(
        matches!(first, Err(ClientError::Disconnected(_))),
        "{first:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    let why = client.last_error().unwrap();
    assert!(why.contains("exceeds the limit of 4096 bytes"), "{why}");
}

#[tokio::test]
async fn reply_to_unknown_id_is_ignored_and_the_connection_survives() {
    let (client, connections, first, _dir) = scenario(Fault::UnknownId).await;
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    assert_eq!(client.stats().sessions, 1);
}

#[tokio::test]
async fn update_for_unknown_row_resyncs_from_a_full_copy() {
    let (client, connections, _, _dir) = scenario(Fault::UnknownRow).await;
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    let why = client.last_error().unwrap();
    assert!(
        why.contains("modify of unknown row T 22222222-2222-4222-8222-222222222222"),
        "{why}"
    );
    // The bad update follows the first monitor reply: that reply's copy is applied first
    // (updates are never applied ahead of the copy they follow), then the update fails
    // and the second session syncs from a full copy again.
    assert_eq!(client.stats().sessions, 2);
    assert_eq!(client.stats().full_syncs, 2);
}

#[tokio::test]
async fn transact_deadline_is_separate_from_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(fake_server(listener, Fault::Silent, connections.clone()));
    let config = ClientConfig::new(&format!("unix:{}", path.display()))
        .unwrap()
        .transact_timeout(Some(Duration::from_millis(200)));
    let client = Client::connect(config, WAIT).await.unwrap();
    let err = client.transact("DB", vec![]).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout(ref m) if m.contains("outcome is unknown")),
        "{err}"
    );
    // The connection itself is fine: other calls still work on it.
    assert_eq!(client.list_dbs().await.unwrap(), ["DB"]);
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn probe_interval_changes_on_a_live_connection_and_survives_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(fake_server(listener, Fault::Deaf, connections.clone()));
    // A `unix:` remote is not probed (as Open vSwitch): the deaf peer goes unnoticed.
    let config = ClientConfig::new(&format!("unix:{}", path.display()))
        .unwrap()
        .probe_interval(None);
    let client = Client::connect(config, WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    // Probing every second: no answer within two intervals resets the connection, and every
    // reconnection probes too.
    client
        .set_probe_interval(Some(Duration::from_millis(10)))
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while connections.load(Ordering::SeqCst) < 3 {
        assert!(tokio::time::Instant::now() < deadline, "no probe timeout");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Back to no probing: the connection then stays.
    client.set_probe_interval(None).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = connections.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(connections.load(Ordering::SeqCst), settled);
}
