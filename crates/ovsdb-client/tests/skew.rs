//! The write check against a recording fake server that serves an older schema (and no
//! `_Server`): a default value of a column the server lacks is left out of what is sent, any
//! other value and any table the server lacks are refused before anything is sent, and the
//! server's schema is fetched once per session.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use ovsdb_client::{Client, ClientConfig, ClientError};
use ovsdb_proto::skew::{PinnedSchema, Release, SchemaHistory, SkewUse};
use ovsdb_proto::{Datum, Framer, Message, Operation, Row};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

const V1: &str = r#"{"name":"IC","version":"1.1.1","tables":{
    "Zone":{"columns":{"name":{"type":"string"}},"isRoot":true}}}"#;
const V2: &str = r#"{"name":"IC","version":"1.2.0","tables":{
    "Zone":{"columns":{"name":{"type":"string"},"cfg":{"type":"integer"}},"isRoot":true},
    "Monitor":{"columns":{"port":{"type":"integer"}},"isRoot":true}}}"#;
const WAIT: Duration = Duration::from_secs(10);

static HISTORY: LazyLock<SchemaHistory> = LazyLock::new(|| {
    SchemaHistory::new(vec![
        PinnedSchema::new(Release::new("23.03.1"), "1.1.1", V1),
        PinnedSchema::new(Release::new("24.03.0"), "1.2.0", V2),
    ])
    .unwrap()
});

/// What the fake server received: the `get_schema` databases and the `transact` params.
#[derive(Default)]
struct Seen {
    schemas: Vec<String>,
    transacts: Vec<Value>,
}

async fn serve(mut sock: UnixStream, seen: Arc<Mutex<Seen>>) {
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
            let params = params.to_value().unwrap();
            let reply = match method.as_str() {
                "get_schema" if params == json!(["_Server"]) => {
                    json!({"id": id, "result": null, "error": {"error": "unknown database"}})
                }
                "get_schema" => {
                    seen.lock().unwrap().schemas.push(params[0].to_string());
                    json!({"id": id, "result": serde_json::from_str::<Value>(V1).unwrap(), "error": null})
                }
                "transact" => {
                    let n = params.as_array().map_or(0, |p| p.len() - 1);
                    seen.lock().unwrap().transacts.push(params);
                    let results: Vec<Value> = (0..n).map(|_| json!({})).collect();
                    json!({"id": id, "result": results, "error": null})
                }
                _ => continue,
            };
            let _ = sock.write_all(&serde_json::to_vec(&reply).unwrap()).await;
        }
    }
}

async fn start(check: bool) -> (Client, Arc<Mutex<Seen>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(serve(sock, s.clone()));
        }
    });
    let config = ClientConfig::new(&format!("unix:{}", path.display()))
        .unwrap()
        .history(&HISTORY)
        .check_writes(check);
    let client = Client::connect(config, WAIT).await.unwrap();
    (client, seen, dir)
}

fn insert(table: &str, row: Row) -> Operation {
    Operation::Insert {
        table: table.into(),
        row,
        uuid_name: None,
        uuid: None,
    }
}

#[tokio::test]
async fn what_the_server_lacks_never_reaches_it() {
    let (client, seen, _dir) = start(true).await;
    let zone = |name: &str, cfg: i64| {
        insert(
            "Zone",
            Row::new()
                .with("name", Datum::scalar(name))
                .with("cfg", Datum::scalar(cfg)),
        )
    };

    // The default of a column the server lacks is left out.
    client
        .transact_checked("IC", vec![zone("az1", 0)])
        .await
        .unwrap();
    // Any other value is refused before it is sent.
    let err = client
        .transact("IC", vec![zone("az2", 5)])
        .await
        .unwrap_err();
    let ClientError::Skew(e) = &err else {
        panic!("{err}");
    };
    assert_eq!(
        (e.table.as_str(), e.column.as_deref(), e.usage),
        ("Zone", Some("cfg"), SkewUse::Value)
    );
    assert_eq!(e.since, Some(Release::new("24.03.0")));
    assert_eq!(e.server_version.as_deref(), Some("1.1.1"));
    assert_eq!(
        err.to_string(),
        "IC 1.1.1 has no column Zone.cfg (first in release 24.03.0); operation 0 writes 5; \
         nothing was sent"
    );
    // So is a table the server lacks.
    let err = client
        .transact("IC", vec![insert("Monitor", Row::new())])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Skew(e) if e.usage == SkewUse::Table && e.table == "Monitor"),
        "{err}"
    );

    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.transacts,
        [json!(["IC", {"op": "insert", "table": "Zone", "row": {"name": "az1"}}])]
    );
    // One `get_schema` for the session, however many transactions.
    assert_eq!(seen.schemas, [r#""IC""#]);
}

#[tokio::test]
async fn without_the_check_operations_go_as_given() {
    let (client, seen, _dir) = start(false).await;
    let op = insert("Zone", Row::new().with("cfg", Datum::scalar(5)));
    client.transact_checked("IC", vec![op]).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.transacts,
        [json!(["IC", {"op": "insert", "table": "Zone", "row": {"cfg": 5}}])]
    );
    assert!(seen.schemas.is_empty());
}
