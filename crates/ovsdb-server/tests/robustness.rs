//! Robustness of the embedded server: malformed input, oversize frames, bad requests, many
//! concurrent clients; and `monitor_cond_since` resume with the transaction history.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{schema_path, Conn, Target, RUNTIME};
use ovsdb_server::{Server, ServerConfig};
use serde_json::{json, Value};

const DB: &str = "Conformance";

fn embedded_with(config: ServerConfig) -> (Server, tempfile::TempDir, std::path::PathBuf) {
    let server = Server::with_config(config);
    server.add_database_file(schema_path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sock");
    RUNTIME
        .block_on(server.listen(&format!("punix:{}", path.display())))
        .unwrap();
    (server, dir, path)
}

fn healthy(c: &mut Conn) {
    assert_eq!(
        c.call("echo", json!(["ok"])),
        json!({"result": ["ok"], "error": null})
    );
    let r = c.call(
        "transact",
        json!([DB, {"op": "insert", "table": "Target", "row": {"name": "x"}}]),
    );
    assert!(r["result"][0]["uuid"].is_array(), "{r}");
}

#[test]
fn malformed_json_closes_only_that_connection() {
    let target = Target::embedded(&[&schema_path()]);
    let mut good = target.connect();
    for bad in [
        &b"{\"id\":1,\"method\":\"echo\",\"params\":[]} {bad json}"[..],
        b"[1, 2, 3]",
        b"\"just a string\" ",
        b"{\"id\":1,\"method\":\"echo\",\"params\":{}}",
        b"{\"id\":1,\"method\":\"echo\"}",
        b"{\"id\": 7}",
        b"}",
        b"{\"id\":1,\"method\":\"echo\",\"params\":[\"\xff\xfe\"]}",
    ] {
        let mut c = target.connect();
        c.send_raw(bad).unwrap();
        assert!(
            c.is_closed(Duration::from_secs(5)),
            "{} did not close the connection",
            String::from_utf8_lossy(bad)
        );
        healthy(&mut good);
    }
    let mut again = target.connect();
    healthy(&mut again);
}

#[test]
fn bad_requests_get_typed_errors() {
    let target = Target::embedded(&[&schema_path()]);
    let mut c = target.connect();
    let err = |v: Value| v["error"].clone();
    assert_eq!(
        err(c.call("frobnicate", json!([]))),
        json!("unknown method")
    );
    assert_eq!(
        err(c.call("get_schema", json!([1])))["error"],
        "syntax error"
    );
    assert_eq!(
        err(c.call("get_schema", json!(["Nope"])))["error"],
        "unknown database"
    );
    assert_eq!(err(c.call("transact", json!([])))["error"], "syntax error");
    assert_eq!(err(c.call("transact", json!([7])))["error"], "syntax error");
    assert_eq!(err(c.call("monitor", json!([DB])))["error"], "syntax error");
    assert_eq!(
        err(c.call(
            "monitor_cond",
            json!([DB, "m", {"Target": [{"columns": ["nope"]}]}])
        ))["error"],
        "syntax error"
    );
    assert_eq!(err(c.call("lock", json!([])))["error"], "syntax error");
    assert_eq!(
        err(c.call("update2", json!(["x", {}])))["error"].as_str(),
        None
    );
    // A transaction op that is not an object.
    let r = c.call("transact", json!([DB, 5]));
    assert_eq!(r["result"][0]["error"], "syntax error", "{r}");
    // A notification with an unknown method is ignored; the session goes on.
    c.send_raw(br#"{"id":null,"method":"frob","params":[]}"#)
        .unwrap();
    healthy(&mut c);
}

#[test]
fn oversize_frame_closes_connection() {
    let (server, _dir, path) = embedded_with(ServerConfig::default().max_message_len(4096));
    let mut good = Conn::connect(&path).unwrap();
    let mut big = Conn::connect(&path).unwrap();
    let name = "x".repeat(10_000);
    let msg = json!({"id": 1, "method": "transact", "params": [DB, {"op": "insert", "table": "Target", "row": {"name": name}}]});
    big.send_raw(msg.to_string().as_bytes()).unwrap();
    assert!(big.is_closed(Duration::from_secs(5)));
    healthy(&mut good);
    // Nothing was committed by the oversize request.
    let r = good.call(
        "transact",
        json!([DB, {"op": "select", "table": "Target", "where": [], "columns": ["name"]}]),
    );
    assert_eq!(r["result"][0]["rows"], json!([{"name": "x"}]));
    server.shutdown();
}

#[test]
fn split_and_concatenated_messages() {
    let target = Target::embedded(&[&schema_path()]);
    let mut c = target.connect();
    let two = br#"{"id":"a","method":"echo","params":[1]}{"id":"b","method":"echo","params":[2]}"#;
    for chunk in two.chunks(7) {
        c.send_raw(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(c.wait_reply(json!("a"))["result"], json!([1]));
    assert_eq!(c.wait_reply(json!("b"))["result"], json!([2]));
}

#[test]
fn many_concurrent_clients_transact_and_monitor() {
    const CLIENTS: usize = 60;
    const TXNS: usize = 5;
    let target = Arc::new(Target::embedded(&[&schema_path()]));
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let target = target.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut c = target.connect();
                let r = c.call(
                    "monitor_cond",
                    json!([DB, "m", {"Target": [{"columns": ["name"], "select": {"initial": false}}]}]),
                );
                assert_eq!(r["result"], json!({}), "{r}");
                barrier.wait();
                for j in 0..TXNS {
                    let r = c.call(
                        "transact",
                        json!([DB, {"op": "insert", "table": "Target", "row": {"name": format!("c{i}-{j}")}}]),
                    );
                    assert!(r["result"][0]["uuid"].is_array(), "{r}");
                }
                // One update2 per commit, each with one insert.
                let n = c.notifications(CLIENTS * TXNS);
                let mut names: Vec<String> = n
                    .iter()
                    .map(|m| {
                        assert_eq!(m["method"], "update2");
                        let rows = m["params"][1]["Target"].as_object().expect("rows");
                        assert_eq!(rows.len(), 1);
                        let (_, u) = rows.iter().next().expect("one row");
                        u["insert"]["name"].as_str().expect("name").to_owned()
                    })
                    .collect();
                names.sort();
                names.dedup();
                assert_eq!(names.len(), CLIENTS * TXNS);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
    let mut c = target.connect();
    let r = c.call(
        "transact",
        json!([DB, {"op": "select", "table": "Target", "where": [], "columns": ["name"]}]),
    );
    assert_eq!(
        r["result"][0]["rows"].as_array().map(Vec::len),
        Some(CLIENTS * TXNS)
    );
}

#[test]
fn monitor_cond_since_resumes_from_history() {
    let target = Target::embedded(&[&schema_path()]);
    let mut c = target.connect();
    let req = json!({"Target": [{"columns": ["name"]}]});
    let r = c.call(
        "monitor_cond_since",
        json!([DB, "m1", req, "00000000-0000-0000-0000-000000000000"]),
    );
    assert_eq!(r["result"][0], json!(false));
    let r = c.call(
        "transact",
        json!([DB, {"op": "insert", "table": "Target", "row": {"name": "a"}}]),
    );
    assert!(r["result"][0]["uuid"].is_array());
    let n = c.notifications(1);
    let txn1 = n[0]["params"][1].clone();
    assert_ne!(txn1, json!("00000000-0000-0000-0000-000000000000"));
    c.call(
        "transact",
        json!([DB, {"op": "insert", "table": "Target", "row": {"name": "b"}},
               {"op": "update", "table": "Target", "where": [["name", "==", "a"]], "row": {"name": "a2"}}]),
    );
    let n = c.notifications(1);
    let txn2 = n[0]["params"][1].clone();
    // Resuming from txn1: found, only the second transaction's changes, as one update.
    let mut d = target.connect();
    let r = d.call("monitor_cond_since", json!([DB, "m2", req, txn1]));
    let res = &r["result"];
    assert_eq!(res[0], json!(true), "{r}");
    assert_eq!(res[1], txn2);
    let rows = res[2]["Target"].as_object().expect("rows");
    let mut kinds: Vec<String> = rows
        .values()
        .map(|u| u.as_object().unwrap().keys().next().unwrap().clone())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["insert", "modify"]);
    // Resuming from the latest: found, nothing to send.
    let r = d.call("monitor_cond_since", json!([DB, "m3", req, txn2]));
    assert_eq!(r["result"], json!([true, txn2, {}]));
    // After more than 100 transactions txn1 is forgotten.
    for i in 0..101 {
        c.call(
            "transact",
            json!([DB, {"op": "insert", "table": "Target", "row": {"name": format!("n{i}")}}]),
        );
    }
    let r = d.call("monitor_cond_since", json!([DB, "m4", req, txn1]));
    assert_eq!(r["result"][0], json!(false));
    assert_eq!(
        r["result"][2]["Target"].as_object().map(|o| o.len()),
        Some(103)
    );
}

#[test]
fn cancel_blocked_wait_and_disconnect() {
    let target = Target::embedded(&[&schema_path()]);
    let mut c = target.connect();
    let id = c.send(
        "transact",
        json!([DB, {"op": "wait", "table": "Target", "where": [], "columns": ["name"], "until": "!=", "rows": []}]),
    );
    std::thread::sleep(Duration::from_millis(50));
    c.send_raw(
        json!({"id": null, "method": "cancel", "params": [id]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    // As ovsdb-server 3.1, no reply: the next reply is the echo's, even after a commit that
    // would have unblocked the transaction.
    let r = c.call(
        "transact",
        json!([DB, {"op": "insert", "table": "Target", "row": {"name": "unblocks"}}]),
    );
    assert!(r["result"][0]["uuid"].is_array(), "{r}");
    assert_eq!(c.call("echo", json!([1]))["result"], json!([1]));
    assert_eq!(
        c.call("cancel", json!([id]))["error"],
        json!("unknown method")
    );
    // A client that disconnects with a blocked wait and a lock leaves nothing behind.
    let mut d = target.connect();
    assert_eq!(
        d.call("lock", json!(["L"]))["result"],
        json!({"locked": true})
    );
    d.send(
        "transact",
        json!([DB, {"op": "wait", "table": "Target", "where": [], "columns": ["name"], "until": "!=", "rows": []}]),
    );
    drop(d);
    let mut e = target.connect();
    let mut locked = false;
    for _ in 0..100 {
        let r = e.call("lock", json!(["L"]));
        if r["result"] == json!({"locked": true}) {
            locked = true;
            break;
        }
        e.call("unlock", json!(["L"]));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(locked);
    healthy(&mut e);
}

#[test]
fn inactivity_probe() {
    use std::io::Read;
    let (server, _dir, path) =
        embedded_with(ServerConfig::default().probe_interval(Some(Duration::from_millis(100))));
    // A client that answers echo requests stays connected.
    let mut alive = Conn::connect(&path).unwrap();
    assert!(alive.drain(Duration::from_millis(450)).is_empty());
    healthy(&mut alive);
    // A silent one gets an echo request, then is dropped.
    let mut silent = std::os::unix::net::UnixStream::connect(&path).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    let _ = silent.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains(r#""method":"echo""#), "{text}");
    server.shutdown();
}

#[test]
fn dropping_the_server_stops_it() {
    let (server, _dir, path) = embedded_with(ServerConfig::default());
    let mut c = Conn::connect(&path).unwrap();
    healthy(&mut c);
    drop(c);
    drop(server);
    // Once the last connection has gone, the listener stops and the socket file goes.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while path.exists() {
        assert!(std::time::Instant::now() < deadline, "socket still there");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(Conn::connect(&path).is_err());
}

#[test]
fn a_client_that_does_not_read_is_dropped() {
    let (server, _dir, path) = embedded_with(ServerConfig::default().max_backlog(1 << 20));
    let mut slow = Conn::connect(&path).unwrap();
    let r = slow.call(
        "monitor_cond",
        json!([DB, "m", {"Target": [{"columns": ["name"]}]}]),
    );
    assert_eq!(r["result"], json!({}));
    // `slow` stops reading; a writer commits 20 MB of updates, more than the kernel buffers.
    let mut writer = Conn::connect(&path).unwrap();
    let name = "n".repeat(100_000);
    for i in 0..200 {
        let r = writer.call(
            "transact",
            json!([DB, {"op": "insert", "table": "Target", "row": {"name": format!("{i}{name}")}}]),
        );
        assert!(r["result"][0]["uuid"].is_array(), "{r}");
    }
    healthy(&mut writer);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.sessions() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "slow client still connected"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The connection is closed without flushing the backlog.
    assert!(slow.is_closed(Duration::from_secs(10)));
    server.shutdown();
}
