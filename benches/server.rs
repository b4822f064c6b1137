//! The embedded `ovsdb-server` crate against the real `ovsdb-server`, measured in the same run
//! with the same driver (a blocking raw JSON-RPC client on a unix socket), so the figures read
//! as ratios:
//!
//! - `server_commit/{embedded,real}`: one `transact` of 1,000 inserts into OVN Northbound's
//!   `Logical_Switch` (a name and two `external_ids` each), reply awaited. Throughput is
//!   rows per second; the table grows over the run, as it would in a bulk load.
//! - `server_fanout/{embedded,real}`: one client inserts a row while 10 others monitor the
//!   table with `monitor_cond`; an iteration ends when all 10 have their `update2`.
//!
//! The real server runs from `ovnlink-testkit` (skipped, with a message, when its binaries
//! are missing). The embedded one runs on a two-worker tokio runtime in the bench process.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use ovnlink_testkit::raw::RawClient;
use ovnlink_testkit::server::{find_binary, OvsdbServer};
use ovsdb_server::Server;
use serde_json::{json, Value};

const NB: &str = "OVN_Northbound";
const ROWS_PER_TXN: usize = 1000;
const MONITORS: usize = 10;

fn nb_schema() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("crates/ovn-nb/schema/ovn-nb-7.0.0.ovsschema"),
        root.join("../ovn-nb/schema/ovn-nb-7.0.0.ovsschema"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect("the ovn-nb crate's schema")
}

/// A server under test, on a unix socket.
enum Target {
    Embedded {
        server: Server,
        _runtime: tokio::runtime::Runtime,
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Real(OvsdbServer),
}

impl Target {
    fn embedded() -> Target {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let server = Server::new();
        server.add_database_file(nb_schema()).expect("NB schema");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nb.sock");
        runtime
            .block_on(server.listen(&format!("punix:{}", path.display())))
            .expect("listen");
        Target::Embedded {
            server,
            _runtime: runtime,
            _dir: dir,
            path,
        }
    }

    fn real() -> Option<Target> {
        if find_binary("ovsdb-server").is_none() || find_binary("ovsdb-tool").is_none() {
            eprintln!("skipped: the real ovsdb-server is not installed (apt-get install openvswitch-common openvswitch-switch)");
            return None;
        }
        Some(Target::Real(
            OvsdbServer::start(nb_schema()).expect("start ovsdb-server"),
        ))
    }

    fn path(&self) -> PathBuf {
        match self {
            Target::Embedded { path, .. } => path.clone(),
            Target::Real(s) => s.unix_path(),
        }
    }

    fn client(&self) -> RawClient {
        RawClient::connect(&self.path()).expect("connect")
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Target::Embedded { server, .. } = self {
            server.shutdown();
        }
    }
}

fn bulk_insert(client: &mut RawClient, batch: &mut u64) {
    let mut params = Vec::with_capacity(ROWS_PER_TXN + 1);
    params.push(json!(NB));
    for i in 0..ROWS_PER_TXN {
        params.push(json!({
            "op": "insert",
            "table": "Logical_Switch",
            "row": {
                "name": format!("ls-{batch}-{i}"),
                "external_ids": ["map", [["owner", "bench"], ["batch", batch.to_string()]]]
            }
        }));
    }
    *batch += 1;
    let r = client.call("transact", Value::Array(params));
    let results: Vec<Value> = r.decode("transact reply").expect("a transact reply");
    assert_eq!(results.len(), ROWS_PER_TXN);
    assert!(results[0].get("uuid").is_some(), "{:?}", results[0]);
}

fn commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("server_commit");
    group.throughput(Throughput::Elements(ROWS_PER_TXN as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    let targets = [
        ("embedded", Some(Target::embedded())),
        ("real", Target::real()),
    ];
    for (name, target) in targets {
        let Some(target) = target else { continue };
        let mut client = target.client();
        let mut batch = 0;
        group.bench_function(name, |b| b.iter(|| bulk_insert(&mut client, &mut batch)));
    }
    group.finish();
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("server_fanout");
    group.throughput(Throughput::Elements(MONITORS as u64));
    let targets = [
        ("embedded", Some(Target::embedded())),
        ("real", Target::real()),
    ];
    for (name, target) in targets {
        let Some(target) = target else { continue };
        let mut writer = target.client();
        let mut monitors: Vec<RawClient> = (0..MONITORS)
            .map(|i| {
                let mut m = target.client();
                m.call(
                    "monitor_cond",
                    json!([NB, format!("m{i}"), {"Logical_Switch": [{"columns": ["name", "external_ids"]}]}]),
                );
                m
            })
            .collect();
        let mut n = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                let r = writer.call(
                    "transact",
                    json!([NB, {"op": "insert", "table": "Logical_Switch", "row": {"name": format!("f{n}")}}]),
                );
                assert!(r.as_bytes().starts_with(b"[{\"uuid\""));
                for m in &mut monitors {
                    let u = m.next_notification("update2");
                    assert!(!u.as_bytes().is_empty());
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = commit, fanout
}
criterion_main!(benches);
