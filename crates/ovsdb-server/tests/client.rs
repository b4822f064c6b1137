//! End to end: `ovsdb-client` against the embedded server (unix socket and TCP), with the
//! OVN Northbound schema kept in the `ovn-nb` crate: monitor, read-your-writes, locks,
//! `monitor_cond_since` resume.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ovsdb_client::{Client, ClientConfig, MonitorSpec};
use ovsdb_proto::{Atom, Condition, Datum, Mutation, Mutator, Operation, OperationResult, Row};
use ovsdb_server::Server;

const NB: &str = "OVN_Northbound";
const WAIT: Duration = Duration::from_secs(20);

fn nb_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ovn-nb/schema/ovn-nb-7.0.0.ovsschema")
}

fn insert_switch(name: &str) -> Operation {
    Operation::Insert {
        table: "Logical_Switch".into(),
        row: Row::new().with("name", Atom::from(name)),
        uuid_name: None,
        uuid: None,
    }
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn server() -> (Server, tempfile::TempDir, String, String) {
    let server = Server::new();
    server.add_database_file(nb_schema()).expect("NB schema");
    let dir = tempfile::tempdir().expect("temp dir");
    let unix = server
        .listen(&format!("punix:{}", dir.path().join("nb.sock").display()))
        .await
        .expect("listen unix");
    let tcp = server.listen("ptcp:0:127.0.0.1").await.expect("listen tcp");
    (server, dir, unix, tcp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_and_read_your_writes() {
    let (server, _dir, unix, tcp) = server().await;
    assert!(unix.starts_with("unix:"), "{unix}");
    assert!(tcp.starts_with("tcp:127.0.0.1:"), "{tcp}");
    server
        .transact(NB, &[insert_switch("before")])
        .expect("in-process transact");
    let rows = server.rows(NB, "Logical_Switch").expect("table");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1.get("name"), Some(&Datum::scalar("before")));
    assert!(server.rows(NB, "Nope").is_none());
    assert!(
        server.add_database_file(nb_schema()).is_err(),
        "duplicate database"
    );
    assert!(
        server.listen("tcp:127.0.0.1:1").await.is_err(),
        "active remote"
    );

    for remote in [&unix, &tcp] {
        let client = Client::connect(ClientConfig::new(remote).unwrap(), WAIT)
            .await
            .unwrap();
        assert_eq!(client.list_dbs().await.unwrap(), [NB, "_Server"]);
        let schema = client.get_schema(NB).await.unwrap();
        assert!(schema.table("Logical_Switch_Port").is_some());
        let cache = client
            .monitor(
                NB,
                MonitorSpec::tables(["Logical_Switch", "Logical_Switch_Port"]),
            )
            .await
            .unwrap();
        assert!(cache.read().len("Logical_Switch") >= 1);
        for i in 0..30 {
            let name = format!("{}-sw{i}", &remote[..3]);
            let r = client
                .transact_checked(NB, vec![insert_switch(&name)])
                .await
                .unwrap();
            let OperationResult::Insert { uuid } = r[0] else {
                panic!("{r:?}")
            };
            // Read-your-writes: the update came before the reply.
            let tables = cache.read();
            let row = tables.row("Logical_Switch", &uuid).expect("row in cache");
            assert_eq!(row.get("name"), Some(&Datum::scalar(name.as_str())));
        }
        // Modify and delete are seen the same way.
        let r = client
            .transact_checked(
                NB,
                vec![
                    Operation::Mutate {
                        table: "Logical_Switch".into(),
                        conditions: vec![Condition::eq("name", Atom::from("before"))],
                        mutations: vec![Mutation::new(
                            "other_config",
                            Mutator::Insert,
                            Datum::map([("k", "v")]),
                        )],
                    },
                    Operation::Delete {
                        table: "Logical_Switch".into(),
                        conditions: vec![Condition::new(
                            "name",
                            ovsdb_proto::Function::Ne,
                            Atom::from("before"),
                        )],
                    },
                ],
            )
            .await
            .unwrap();
        assert_eq!(r[1], OperationResult::Count { count: 30 });
        {
            let tables = cache.read();
            assert_eq!(tables.len("Logical_Switch"), 1);
            let (_, row) = tables
                .table("Logical_Switch")
                .and_then(|t| t.iter().next())
                .expect("one switch");
            assert_eq!(row.get("other_config"), Some(&Datum::map([("k", "v")])));
        }
        client.shutdown();
    }
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_other_clients_and_locks() {
    let (server, _dir, unix, _tcp) = server().await;
    let a = Client::connect(ClientConfig::new(&unix).unwrap(), WAIT)
        .await
        .unwrap();
    let b = Client::connect(ClientConfig::new(&unix).unwrap(), WAIT)
        .await
        .unwrap();
    let cache_a = a.monitor(NB, MonitorSpec::all()).await.unwrap();
    b.transact_checked(NB, vec![insert_switch("from-b")])
        .await
        .unwrap();
    eventually("a sees b's switch", || {
        cache_a.read().len("Logical_Switch") == 1
    })
    .await;

    let mut la = a.lock("leader").unwrap();
    la.acquired().await.unwrap();
    let mut lb = b.lock("leader").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(la.is_held());
    assert!(!lb.is_held());
    // Only the owner's assert passes.
    let assert_op = || Operation::Assert {
        lock: "leader".into(),
    };
    assert!(a.transact_checked(NB, vec![assert_op()]).await.is_ok());
    assert!(b.transact_checked(NB, vec![assert_op()]).await.is_err());
    a.unlock("leader").unwrap();
    lb.acquired().await.unwrap();
    // Steal it back.
    let mut la = a.steal("leader").unwrap();
    la.acquired().await.unwrap();
    lb.lost().await.unwrap();
    assert!(a.transact_checked(NB, vec![assert_op()]).await.is_ok());
    // A closed session releases its locks.
    a.shutdown();
    drop(la);
    b.unlock("leader").unwrap();
    let mut lb = b.lock("leader").unwrap();
    lb.acquired().await.unwrap();
    b.shutdown();
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplex_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::new();
    server.add_database_file(nb_schema()).unwrap();
    let mut s = server.connect_duplex();
    s.write_all(br#"{"id":1,"method":"list_dbs","params":[]}"#)
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"id": 1, "result": [NB, "_Server"], "error": null})
    );
    server.shutdown();
}
