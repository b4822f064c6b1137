//! `ovsdb-client` against a real 3-member Raft cluster: leader kill and leadership transfer
//! under a stream of transactions.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ovnlink_testkit::server::{self, OvsdbCluster, OVN_NB_SCHEMA};
use ovsdb_client::{Client, ClientConfig, ClientError, MonitorSpec, Status};
use ovsdb_proto::{Atom, Condition, Datum, ErrorKind, Operation, Row, Uuid, WaitUntil};

const NB: &str = "OVN_Northbound";
const WAIT: Duration = Duration::from_secs(30);

/// Inserts switch `name` unless it exists: retrying after an unknown outcome can never
/// apply it twice (the `wait` fails with "timed out" if the first attempt committed).
fn insert_once(name: &str) -> Vec<Operation> {
    vec![
        Operation::Wait {
            table: "Logical_Switch".into(),
            conditions: vec![Condition::eq("name", Atom::from(name))],
            columns: vec!["name".into()],
            until: WaitUntil::Equal,
            rows: vec![],
            timeout: Some(0),
        },
        Operation::Insert {
            table: "Logical_Switch".into(),
            row: Row::new().with("name", Atom::from(name)),
            uuid_name: None,
            uuid: None,
        },
    ]
}

/// Commits `name`, retrying across failovers; returns when acknowledged.
async fn commit(client: &Client, name: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        match client.transact(NB, insert_once(name)).await {
            Ok(r) => match r.first_error() {
                None => return,
                // Already committed by an attempt whose reply was lost.
                Some((0, e)) if e.kind == ErrorKind::TimedOut => return,
                Some((_, e)) => panic!("{name}: {e}"),
            },
            Err(ClientError::Disconnected(_)) => {}
            Err(ClientError::Server { error, .. })
                if error.kind == ErrorKind::DatabaseNotAvailable => {}
            Err(e) => panic!("{name}: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "{name} not committed within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `ovsdb-client dump` of Logical_Switch: name → uuid, from a member that is up.
fn dump(cluster: &OvsdbCluster, member: usize) -> BTreeMap<String, Uuid> {
    let out = cluster
        .run(
            "ovsdb-client",
            &[
                "--format=json",
                "dump",
                &cluster.remote(member),
                NB,
                "Logical_Switch",
                "_uuid",
                "name",
            ],
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let headings: Vec<&str> = v["headings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let (iu, iname) = (
        headings.iter().position(|h| *h == "_uuid").unwrap(),
        headings.iter().position(|h| *h == "name").unwrap(),
    );
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let uuid: Datum = serde_json::from_value(row[iu].clone()).unwrap();
            let name: Datum = serde_json::from_value(row[iname].clone()).unwrap();
            (
                name.as_atom().unwrap().as_str().unwrap().to_owned(),
                uuid.as_atom().unwrap().as_uuid().unwrap(),
            )
        })
        .collect()
}

fn cached(client: &Client) -> BTreeMap<String, Uuid> {
    let cache = client.cache(NB).unwrap();
    let t = cache.read();
    let rows = t.table("Logical_Switch").cloned().unwrap_or_default();
    let mut out = BTreeMap::new();
    for (uuid, r) in rows {
        let name = r
            .get("name")
            .unwrap()
            .as_atom()
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            out.insert(name.clone(), uuid).is_none(),
            "{name} applied twice"
        );
    }
    out
}

async fn run_failover(kill: bool) {
    let mut cluster = OvsdbCluster::start(OVN_NB_SCHEMA, 3).unwrap();
    let config = ClientConfig::new(&cluster.remotes())
        .unwrap()
        .backoff(Duration::from_millis(50), Duration::from_millis(500));
    let client = Client::connect(config.clone(), WAIT).await.unwrap();
    client
        .monitor(NB, MonitorSpec::tables(["Logical_Switch"]))
        .await
        .unwrap();
    // A second client keeps the table typed only: its resume goes through the typed path.
    let typed = Client::connect(config, WAIT).await.unwrap();
    let typed_cache = typed
        .monitor(
            NB,
            MonitorSpec::tables(["Logical_Switch"]).typed::<ovn_nb::LogicalSwitch>(),
        )
        .await
        .unwrap();
    let Status::Connected {
        remote,
        session: first_session,
    } = client.status()
    else {
        panic!()
    };
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    assert_eq!(
        remote,
        cluster.remote(leader),
        "leader-only: connected to the leader"
    );

    let writer = tokio::spawn({
        let client = client.clone();
        async move {
            let mut acked = BTreeSet::new();
            let mut slowest = Duration::ZERO;
            for i in 0..150 {
                let name = format!("ls{i:03}");
                let t = Instant::now();
                commit(&client, &name).await;
                slowest = slowest.max(t.elapsed());
                acked.insert(name);
            }
            (acked, slowest)
        }
    });
    // Let the stream run, then fail the leader under it.
    let cache = client.cache(NB).unwrap();
    while cache.read().len("Logical_Switch") < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let t0 = Instant::now();
    if kill {
        cluster.kill(leader).unwrap();
    } else {
        cluster.transfer_leadership().unwrap();
    }
    let mut st = client.watch_status();
    tokio::time::timeout(
        WAIT,
        st.wait_for(|s| matches!(s, Status::Connected { session, .. } if *session > first_session)),
    )
    .await
    .unwrap()
    .unwrap();
    let failover = t0.elapsed();
    let (acked, slowest) = tokio::time::timeout(Duration::from_secs(120), writer)
        .await
        .unwrap()
        .unwrap();
    let Status::Connected { remote, .. } = client.status() else {
        panic!()
    };
    let new_leader = cluster.wait_for_leader(WAIT).unwrap();
    eprintln!(
        "{}: reconnected in {failover:?} (slowest commit {slowest:?}); stats {:?}",
        if kill {
            "leader killed"
        } else {
            "leadership transferred"
        },
        client.stats()
    );
    assert_eq!(remote, cluster.remote(new_leader));

    // Every acknowledged transaction is there exactly once, and the cache equals the server.
    let server = dump(&cluster, new_leader);
    assert_eq!(server.keys().cloned().collect::<BTreeSet<_>>(), acked);
    assert_eq!(cached(&client), server);
    // The resume was served from the new leader's history.
    assert!(client.stats().resumed_syncs >= 1, "{:?}", client.stats());
    assert_eq!(
        client.stats().full_syncs,
        1,
        "only the first sync was a full copy"
    );
    let typed_names = || -> BTreeMap<String, Uuid> {
        let t = typed_cache.read();
        let rows = t.typed::<ovn_nb::LogicalSwitch>().unwrap();
        rows.values().map(|r| (r.name.clone(), r.uuid)).collect()
    };
    let deadline = Instant::now() + WAIT;
    while typed_names() != server {
        assert!(Instant::now() < deadline, "typed replica never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(typed_cache.read().len("Logical_Switch"), server.len());
    assert!(typed.stats().resumed_syncs >= 1, "{:?}", typed.stats());
    assert_eq!(typed.stats().full_syncs, 1, "typed: one full copy only");
    typed.shutdown();
    client.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_under_a_stream_of_transactions() {
    if !server::real_servers() {
        return;
    }
    run_failover(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_transferred_under_a_stream_of_transactions() {
    if !server::real_servers() {
        return;
    }
    run_failover(false).await;
}
