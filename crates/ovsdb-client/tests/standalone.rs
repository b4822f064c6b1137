//! `ovsdb-client` against a real standalone `ovsdb-server` with the OVN NB schema.

use std::time::Duration;

use ovnlink_testkit::server::{self, OvsdbServer, OVN_NB_SCHEMA};
use ovsdb_client::{CacheEvent, Client, ClientConfig, ClientError, MonitorSpec, Status};
use ovsdb_proto::{Atom, Condition, Datum, ErrorKind, Operation, OperationResult, Row};

const NB: &str = "OVN_Northbound";
const WAIT: Duration = Duration::from_secs(20);

fn insert_switch(name: &str) -> Operation {
    Operation::Insert {
        table: "Logical_Switch".into(),
        row: Row::new().with("name", Atom::from(name)),
        uuid_name: None,
        uuid: None,
    }
}

fn names(client: &Client) -> Vec<String> {
    let cache = client.cache(NB).expect("monitored");
    let tables = cache.read();
    let mut v: Vec<String> = tables
        .table("Logical_Switch")
        .map(|rows| {
            rows.values()
                .filter_map(|r| r.get("name")?.as_atom()?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_transact_read_your_writes_and_events() {
    if !server::real_servers() {
        return;
    }
    let srv = OvsdbServer::start(OVN_NB_SCHEMA).unwrap();
    srv.run("ovn-nbctl", &["--db", &srv.remote(), "ls-add", "before"])
        .unwrap();
    let client = Client::connect(ClientConfig::new(&srv.remote()).unwrap(), WAIT)
        .await
        .unwrap();
    assert_eq!(client.list_dbs().await.unwrap(), [NB, "_Server"]);
    let cache = client
        .monitor(
            NB,
            MonitorSpec::tables(["Logical_Switch", "Logical_Switch_Port"]),
        )
        .await
        .unwrap();
    assert_eq!(names(&client), ["before"], "initial copy");
    assert!(cache.schema().unwrap().table("Logical_Switch").is_some());
    let mut events = client.subscribe();

    // Read-your-writes: no waiting between the reply and the read.
    for i in 0..50 {
        let name = format!("sw{i}");
        let r = client
            .transact_checked(NB, vec![insert_switch(&name)])
            .await
            .unwrap();
        let OperationResult::Insert { uuid } = r[0] else {
            panic!("{r:?}")
        };
        let tables = cache.read();
        let row = tables
            .row("Logical_Switch", &uuid)
            .unwrap_or_else(|| panic!("{name} not in cache after transact"));
        assert_eq!(row.get("name"), Some(&Datum::scalar(name.as_str())));
    }
    let ev = events.recv().await.unwrap();
    assert!(
        matches!(ev, CacheEvent::Changed { ref db, ref changes } if db == NB && changes.len() == 1),
        "{ev:?}"
    );

    // Changes by another client (ovn-nbctl) arrive too.
    srv.run(
        "ovn-nbctl",
        &["--db", &srv.remote(), "lsp-add", "sw0", "p0"],
    )
    .unwrap();
    eventually("lsp p0 in the cache", || {
        cache.read().len("Logical_Switch_Port") == 1
    })
    .await;

    // Errors: per-operation errors are data; transact_checked makes them typed errors.
    let e = client
        .transact_checked(
            NB,
            vec![
                Operation::Delete {
                    table: "Logical_Switch".into(),
                    conditions: vec![Condition::Bool(true)],
                },
                Operation::Abort,
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::Transaction { index: 1, ref error } if error.kind == ErrorKind::Aborted),
        "{e}"
    );
    let e = client.get_schema("Nope").await.unwrap_err();
    assert!(
        matches!(e, ClientError::Server { ref error, .. } if error.kind == ErrorKind::UnknownDatabase),
        "{e}"
    );
    let e = client
        .monitor(NB, MonitorSpec::tables(["Logical_Switch", "No_Such_Table"]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::Usage(ref m) if m.ends_with("has no table No_Such_Table")),
        "{e}"
    );
    let e = client
        .monitor("Nope", MonitorSpec::all())
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Usage(_)), "{e}");
    assert_eq!(names(&client).len(), 51);
    client.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_between_two_clients() {
    if !server::real_servers() {
        return;
    }
    let srv = OvsdbServer::start(OVN_NB_SCHEMA).unwrap();
    let a = Client::connect(ClientConfig::new(&srv.remote()).unwrap(), WAIT)
        .await
        .unwrap();
    let b = Client::connect(ClientConfig::new(&srv.remote()).unwrap(), WAIT)
        .await
        .unwrap();
    let mut la = a.lock("ovn_ic").unwrap();
    tokio::time::timeout(WAIT, la.acquired())
        .await
        .unwrap()
        .unwrap();
    let mut lb = b.lock("ovn_ic").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!lb.is_held(), "only one owner");
    // `assert` passes only for the owner.
    let ok = a
        .transact(
            NB,
            vec![Operation::Assert {
                lock: "ovn_ic".into(),
            }],
        )
        .await
        .unwrap();
    assert!(ok.first_error().is_none());
    let no = b
        .transact(
            NB,
            vec![Operation::Assert {
                lock: "ovn_ic".into(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        no.first_error().map(|(_, e)| e.kind),
        Some(ErrorKind::NotOwner)
    );
    // Release: the waiter gets `locked`.
    a.unlock("ovn_ic").unwrap();
    tokio::time::timeout(WAIT, lb.acquired())
        .await
        .unwrap()
        .unwrap();
    // Steal: the owner gets `stolen`.
    let mut la2 = a.steal("ovn_ic").unwrap();
    tokio::time::timeout(WAIT, la2.acquired())
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(WAIT, lb.lost())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_keep_an_idle_connection_and_restart_resyncs() {
    if !server::real_servers() {
        return;
    }
    let mut srv = OvsdbServer::start(OVN_NB_SCHEMA).unwrap();
    let config = ClientConfig::new(&srv.remote())
        .unwrap()
        .probe_interval(Some(Duration::from_secs(1)))
        .backoff(Duration::from_millis(100), Duration::from_millis(400));
    let client = Client::connect(config, WAIT).await.unwrap();
    client
        .monitor(NB, MonitorSpec::tables(["Logical_Switch"]))
        .await
        .unwrap();
    client
        .transact_checked(NB, vec![insert_switch("a")])
        .await
        .unwrap();

    // Idle for three probe intervals: our echoes are answered, nothing reconnects.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(client.stats().sessions, 1);
    assert!(matches!(
        client.status(),
        Status::Connected { session: 1, .. }
    ));

    // Restart the server and change the data while the client is away.
    srv.stop().unwrap();
    srv.run("ovsdb-tool", &["transact", srv.db_path(NB).unwrap().to_str().unwrap(),
        r#"["OVN_Northbound",{"op":"insert","table":"Logical_Switch","row":{"name":"offline"}},{"op":"delete","table":"Logical_Switch","where":[["name","==","a"]]}]"#]).unwrap();
    srv.restart().unwrap();
    let mut st = client.watch_status();
    tokio::time::timeout(
        WAIT,
        st.wait_for(|s| matches!(s, Status::Connected { session: 2, .. })),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        names(&client),
        ["offline"],
        "cache equals the server after the restart"
    );
    // A standalone server keeps no transaction history: the resync is a full copy.
    assert_eq!(client.stats().resumed_syncs, 0);
    assert_eq!(client.stats().full_syncs, 2);
    client
        .transact_checked(NB, vec![insert_switch("b")])
        .await
        .unwrap();
    assert_eq!(names(&client), ["b", "offline"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_made_while_disconnected_waits_for_the_next_session() {
    if !server::real_servers() {
        return;
    }
    let mut srv = OvsdbServer::start(OVN_NB_SCHEMA).unwrap();
    let config = ClientConfig::new(&srv.remote())
        .unwrap()
        .backoff(Duration::from_millis(100), Duration::from_millis(200));
    let client = Client::connect(config, WAIT).await.unwrap();
    srv.stop().unwrap();
    let mut st = client.watch_status();
    tokio::time::timeout(WAIT, st.wait_for(|s| *s == Status::Connecting))
        .await
        .unwrap()
        .unwrap();
    let pending = tokio::spawn({
        let c = client.clone();
        async move { c.list_dbs().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    srv.restart().unwrap();
    let dbs = tokio::time::timeout(WAIT, pending)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(dbs, [NB, "_Server"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_tables_and_indexes_follow_every_transaction() {
    if !server::real_servers() {
        return;
    }
    let srv = OvsdbServer::start(OVN_NB_SCHEMA).unwrap();
    srv.run("ovn-nbctl", &["--db", &srv.remote(), "ls-add", "pre"])
        .unwrap();
    let client = Client::connect(ClientConfig::new(&srv.remote()).unwrap(), WAIT)
        .await
        .unwrap();
    let cache = client
        .monitor(
            NB,
            MonitorSpec::tables(["Logical_Switch", "Logical_Switch_Port"]),
        )
        .await
        .unwrap();
    cache.register_typed::<ovn_nb::LogicalSwitch>();
    // The schema indexes of the monitored tables (Logical_Switch has none in OVN 23.03).
    assert_eq!(cache.add_schema_indexes(), ["Logical_Switch_Port(name)"]);
    assert_eq!(
        cache.add_column_index("Logical_Switch", &["name"]),
        "Logical_Switch(name)"
    );
    let by_owner = std::sync::Arc::new(|row: &Row| {
        let owner = row.get("external_ids")?.as_map()?.get_str("owner")?;
        Some(vec![Datum::scalar(owner)])
    });
    cache.add_index("by-owner", "Logical_Switch", by_owner);
    // What was there before registering is indexed and typed too.
    assert_eq!(
        cache
            .read()
            .lookup("Logical_Switch(name)", &[Datum::scalar("pre")])
            .len(),
        1
    );
    assert_eq!(
        cache.read().typed::<ovn_nb::LogicalSwitch>().unwrap().len(),
        1
    );

    let insert = Operation::Insert {
        table: "Logical_Switch".into(),
        row: Row::new()
            .with("name", Atom::from("web"))
            .with("external_ids", Datum::map([("owner", "tenant-a")])),
        uuid_name: None,
        uuid: None,
    };
    let r = client.transact_checked(NB, vec![insert]).await.unwrap();
    let OperationResult::Insert { uuid } = r[0] else {
        panic!()
    };
    {
        let t = cache.read();
        let typed = t.typed::<ovn_nb::LogicalSwitch>().unwrap();
        assert_eq!(typed[&uuid].name, "web");
        assert_eq!(typed[&uuid].external_ids.get("owner"), Some("tenant-a"));
        assert_eq!(
            t.lookup("Logical_Switch(name)", &[Datum::scalar("web")]),
            [uuid]
        );
        assert_eq!(t.lookup("by-owner", &[Datum::scalar("tenant-a")]), [uuid]);
    }
    // A rename moves the row in the index; a delete removes it everywhere.
    let rename = Operation::Update {
        table: "Logical_Switch".into(),
        conditions: vec![Condition::uuid(uuid)],
        row: Row::new().with("name", Atom::from("web2")),
    };
    client.transact_checked(NB, vec![rename]).await.unwrap();
    {
        let t = cache.read();
        assert!(t
            .lookup("Logical_Switch(name)", &[Datum::scalar("web")])
            .is_empty());
        assert_eq!(
            t.lookup("Logical_Switch(name)", &[Datum::scalar("web2")]),
            [uuid]
        );
        assert_eq!(
            t.typed::<ovn_nb::LogicalSwitch>().unwrap()[&uuid].name,
            "web2"
        );
    }
    let delete = Operation::Delete {
        table: "Logical_Switch".into(),
        conditions: vec![Condition::uuid(uuid)],
    };
    client.transact_checked(NB, vec![delete]).await.unwrap();
    let t = cache.read();
    assert!(t
        .lookup("by-owner", &[Datum::scalar("tenant-a")])
        .is_empty());
    assert!(!t
        .typed::<ovn_nb::LogicalSwitch>()
        .unwrap()
        .contains_key(&uuid));
    assert_eq!(t.typed::<ovn_nb::LogicalSwitch>().unwrap().len(), 1);
}

/// Rows committed by another client while a monitor is being set up are never lost: the
/// updates that follow the monitor's reply in the same read are applied after its initial
/// copy, not before (where the copy would wipe them). A regression test for a lost
/// `Transit_Switch` that made two ic-routed zones fight over a datapath binding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_racing_the_initial_copy_are_kept() {
    if !server::real_servers() {
        return;
    }
    let srv = OvsdbServer::start(OVN_NB_SCHEMA).unwrap();
    let writer = Client::connect(ClientConfig::new(&srv.remote()).unwrap(), WAIT)
        .await
        .unwrap();
    for round in 0..20 {
        let client = Client::connect(ClientConfig::new(&srv.remote()).unwrap(), WAIT)
            .await
            .unwrap();
        // Commit a burst while the monitor request is in flight.
        let burst = {
            let writer = writer.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    writer
                        .transact_checked(NB, vec![insert_switch(&format!("r{round}-{i}"))])
                        .await
                        .unwrap();
                }
            })
        };
        client
            .monitor(NB, MonitorSpec::tables(["Logical_Switch"]))
            .await
            .unwrap();
        burst.await.unwrap();
        let want: Vec<String> = {
            let reply = writer
                .transact_checked(
                    NB,
                    vec![Operation::Select {
                        table: "Logical_Switch".into(),
                        conditions: vec![],
                        columns: Some(vec!["name".into()]),
                    }],
                )
                .await
                .unwrap();
            let OperationResult::Select { rows } = &reply[0] else {
                panic!("select reply {reply:?}")
            };
            let mut v: Vec<String> = rows
                .iter()
                .filter_map(|r| r.get("name")?.as_atom()?.as_str().map(str::to_owned))
                .collect();
            v.sort();
            v
        };
        eventually("the monitor to hold every committed row", || {
            names(&client) == want
        })
        .await;
        client.shutdown();
    }
}

/// The untyped rows of `table` in `cache`, converted to `T`.
fn untyped_as<T: ovsdb_proto::typed::Table>(
    cache: &ovsdb_client::Cache,
) -> std::collections::HashMap<ovsdb_proto::Uuid, T> {
    let t = cache.read();
    t.table(T::NAME)
        .into_iter()
        .flatten()
        .map(|(u, r)| (*u, T::from_row(*u, r).unwrap()))
        .collect()
}

/// A replica kept typed only (every table decoded straight into the generated types) holds
/// exactly what an untyped replica of the same server holds, through the initial copy,
/// inserts, modifications, deletes, read-your-writes and a server restart (full resync).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_only_replica_equals_the_untyped_one() {
    use ovn_nb::{LogicalSwitch, LogicalSwitchPort};
    use ovsdb_proto::typed::Table;
    if !server::real_servers() {
        return;
    }
    let mut srv = OvsdbServer::start(OVN_NB_SCHEMA).unwrap();
    let remote = srv.remote();
    let nbctl = |srv: &OvsdbServer, args: &[&str]| {
        let mut all = vec!["--db", remote.as_str()];
        all.extend_from_slice(args);
        srv.run("ovn-nbctl", &all).unwrap();
    };
    nbctl(&srv, &["ls-add", "sw0", "--", "lsp-add", "sw0", "p0"]);
    nbctl(
        &srv,
        &["lsp-set-addresses", "p0", "00:00:00:00:00:01 10.0.0.1"],
    );

    let config = || ClientConfig::new(&srv.remote()).unwrap();
    let typed = Client::connect(config(), WAIT).await.unwrap();
    let untyped = Client::connect(config(), WAIT).await.unwrap();
    let spec = MonitorSpec::tables(["Logical_Switch", "Logical_Switch_Port"]);
    let tcache = typed
        .monitor(NB, spec.clone().typed_database::<ovn_nb::Database>())
        .await
        .unwrap();
    let ucache = untyped.monitor(NB, spec).await.unwrap();
    let same = || {
        let t = tcache.read();
        t.typed::<LogicalSwitch>().cloned().unwrap() == untyped_as::<LogicalSwitch>(&ucache)
            && t.typed::<LogicalSwitchPort>().cloned().unwrap()
                == untyped_as::<LogicalSwitchPort>(&ucache)
    };
    {
        let t = tcache.read();
        assert!(t.table("Logical_Switch").is_none(), "kept typed only");
        assert_eq!(t.len("Logical_Switch_Port"), 1);
        let ports = t.typed::<LogicalSwitchPort>().unwrap();
        let p0 = ports.values().next().unwrap();
        assert_eq!(p0.name, "p0");
        assert_eq!(p0.addresses, ["00:00:00:00:00:01 10.0.0.1"]);
        let sw0 = t.typed::<LogicalSwitch>().unwrap().values().next().unwrap();
        assert_eq!(
            sw0.ports.iter().map(|r| r.uuid()).collect::<Vec<_>>(),
            [p0.uuid]
        );
    }
    assert!(same(), "initial copies differ");

    // Read-your-writes through the typed path.
    let mut web = LogicalSwitch::default();
    web.name = "web".into();
    let r = typed
        .transact_checked(NB, vec![web.insert_op()])
        .await
        .unwrap();
    let OperationResult::Insert { uuid } = r[0] else {
        panic!("{r:?}")
    };
    assert_eq!(
        tcache.read().typed::<LogicalSwitch>().unwrap()[&uuid].name,
        "web"
    );

    // Changes by others: modify, insert with references, delete.
    nbctl(
        &srv,
        &[
            "lsp-set-addresses",
            "p0",
            "00:00:00:00:00:02 10.0.0.2",
            "router",
        ],
    );
    nbctl(
        &srv,
        &["lsp-add", "web", "w1", "--", "lsp-set-options", "w1", "a=b"],
    );
    nbctl(
        &srv,
        &[
            "set",
            "Logical_Switch",
            "web",
            "external_ids:owner=tenant-a",
        ],
    );
    nbctl(&srv, &["ls-del", "sw0"]);
    eventually("both replicas agree after changes", same).await;
    {
        let t = tcache.read();
        assert_eq!(t.len("Logical_Switch"), 1);
        let web = &t.typed::<LogicalSwitch>().unwrap()[&uuid];
        assert_eq!(web.external_ids.get("owner"), Some("tenant-a"));
        assert_eq!(web.ports.len(), 1);
    }

    // A restart loses the standalone server's history: a full copy, decoded typed again.
    srv.restart().unwrap();
    nbctl(&srv, &["ls-add", "after-restart"]);
    eventually("the typed replica resynced", || {
        tcache.read().len("Logical_Switch") == 2 && same()
    })
    .await;
    assert!(typed.stats().full_syncs >= 2);
}

/// `name == <name>`.
fn named(name: &str) -> Condition {
    Condition::Compare {
        column: "name".into(),
        function: ovsdb_proto::Function::Eq,
        value: Datum::from(Atom::from(name)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_narrow_the_copy_and_follow_changes_and_reconnects() {
    if !server::real_servers() {
        return;
    }
    let mut srv = OvsdbServer::start(OVN_NB_SCHEMA).unwrap();
    for name in ["a", "b", "c"] {
        srv.run("ovn-nbctl", &["--db", &srv.remote(), "ls-add", name])
            .unwrap();
    }
    let client = Client::connect(ClientConfig::new(&srv.remote()).unwrap(), WAIT)
        .await
        .unwrap();
    client
        .monitor(
            NB,
            MonitorSpec::tables(["Logical_Switch"]).condition("Logical_Switch", vec![named("a")]),
        )
        .await
        .unwrap();
    assert_eq!(
        names(&client),
        ["a"],
        "the initial copy follows the condition"
    );

    // Live: the server sends what now matches and removes what no longer does.
    client
        .set_condition(NB, "Logical_Switch", Some(vec![named("b"), named("c")]))
        .unwrap();
    eventually("b and c in, a out", || names(&client) == ["b", "c"]).await;
    // Later writes follow the new condition.
    client
        .transact_checked(NB, vec![insert_switch("d"), insert_switch("c2")])
        .await
        .unwrap();
    srv.run("ovn-nbctl", &["--db", &srv.remote(), "ls-del", "b"])
        .unwrap();
    eventually("b deleted", || names(&client) == ["c"]).await;

    // A reconnect keeps the new condition (a full copy: the old clauses' rows are gone).
    let before = client.stats();
    srv.restart().unwrap();
    eventually("a new session", || {
        client.stats().sessions > before.sessions
    })
    .await;
    client
        .set_condition(NB, "Logical_Switch", Some(vec![named("a"), named("d")]))
        .unwrap();
    eventually("a and d", || names(&client) == ["a", "d"]).await;
    client.set_condition(NB, "Logical_Switch", None).unwrap();
    eventually("every switch", || names(&client) == ["a", "c", "c2", "d"]).await;

    // `change_condition` returns once the cache holds the new clauses' rows: no waiting.
    client
        .change_condition(NB, "Logical_Switch", Some(vec![named("c2")]))
        .await
        .unwrap();
    assert_eq!(names(&client), ["c2"]);
    client
        .change_condition(NB, "Logical_Switch", Some(vec![named("a"), named("c")]))
        .await
        .unwrap();
    assert_eq!(names(&client), ["a", "c"]);
    client
        .change_condition(NB, "Logical_Switch", Some(vec![Condition::Bool(false)]))
        .await
        .unwrap();
    assert!(names(&client).is_empty());
}
