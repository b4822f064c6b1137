//! `ovsdb-proto` against the real `ovsdb-server` (Debian's openvswitch-common): raw frames
//! built by this crate over a unix socket, replies decoded and applied.
//!
//! These tests skip (with a `skipped:` line) when the binaries are missing, unless
//! `OVNLINK_REAL_TESTS=1` is set, as `scripts/test.sh` does: then they fail.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use ovnlink_testkit::server::{self, OvsdbCluster, OvsdbServer, OVN_NB_SCHEMA};
use ovsdb_proto::*;
use serde_json::{json, Value};

const NB: &str = "OVN_Northbound";

/// A blocking client over a unix socket, driven by `ovsdb_proto::Connection`.
struct Raw {
    stream: UnixStream,
    conn: Connection,
    /// Notifications received, in order, with the number of replies seen before each.
    notes: Vec<Call>,
}

impl Raw {
    fn connect(path: &Path) -> Raw {
        let stream = UnixStream::connect(path).expect("connect to ovsdb-server");
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Raw {
            stream,
            conn: Connection::new(ConnectionConfig::default(), Instant::now()),
            notes: Vec::new(),
        }
    }

    fn flush(&mut self) {
        while let Some(bytes) = self.conn.poll_transmit() {
            self.stream
                .write_all(&bytes)
                .expect("write to ovsdb-server");
        }
    }

    /// Reads until the reply to `want_reply` arrives; notifications are stored in `notes`.
    fn pump(&mut self, want_reply: RequestId) -> std::result::Result<Reply, CallError> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            while let Some(ev) = self.conn.poll_event() {
                match ev {
                    Event::Reply { id, result, .. } if id == want_reply => {
                        return result;
                    }
                    Event::Notification(call) => self.notes.push(call),
                    other => panic!("unexpected event {other:?}"),
                }
            }
            self.conn.handle_timeout(Instant::now());
            self.flush();
            assert!(
                Instant::now() < deadline,
                "no reply from ovsdb-server within 20 s"
            );
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("ovsdb-server closed the connection"),
                Ok(n) => self
                    .conn
                    .handle_input(&buf[..n], Instant::now())
                    .expect("valid stream"),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    fn call(&mut self, call: Call) -> std::result::Result<Reply, CallError> {
        let id = self.conn.call(call);
        self.flush();
        self.pump(id)
    }

    fn ok(&mut self, call: Call) -> Reply {
        let method = call.method();
        self.call(call)
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    fn transact(&mut self, ops: Vec<Operation>) -> TransactReply {
        match self.ok(Call::Transact { db: NB.into(), ops }) {
            Reply::Transact(t) => t,
            other => panic!("not a transact reply: {other:?}"),
        }
    }
}

fn schema_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in ["/usr/share/ovn", "/usr/share/openvswitch"] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "ovsschema") {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_installed_schema_parses_and_round_trips() {
    if !server::real_servers() {
        return;
    }
    let files = schema_files();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "ovn-nb.ovsschema",
        "ovn-sb.ovsschema",
        "ovn-ic-nb.ovsschema",
        "ovn-ic-sb.ovsschema",
        "vswitch.ovsschema",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} not installed: {names:?}"
        );
    }
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let s =
            DatabaseSchema::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(Some(s.name.as_str()), raw["name"].as_str());
        assert_eq!(
            s.tables.len(),
            raw["tables"].as_object().unwrap().len(),
            "{}",
            f.display()
        );
        assert_eq!(s.cksum.as_deref(), raw["cksum"].as_str());
        assert_eq!(
            DatabaseSchema::from_json(&s.to_json()).unwrap(),
            s,
            "{}",
            f.display()
        );
    }
}

fn select_all(raw: &mut Raw, table: &str, schema: &DatabaseSchema) -> HashMap<Uuid, Row> {
    let t = raw.transact(vec![Operation::Select {
        table: table.into(),
        conditions: vec![],
        columns: None,
    }]);
    let OperationResult::Select { rows } = &t.0[0] else {
        panic!("{t:?}")
    };
    rows.iter()
        .map(|r| {
            let uuid = r
                .get("_uuid")
                .and_then(Datum::as_atom)
                .and_then(Atom::as_uuid)
                .expect("_uuid");
            let mut r = r.clone();
            r.remove("_uuid");
            (
                uuid,
                r.conform(table, schema.table(table).unwrap(), false)
                    .unwrap(),
            )
        })
        .collect()
}

fn apply_all(
    replica: &mut HashMap<String, HashMap<Uuid, Row>>,
    schema: &DatabaseSchema,
    updates: TableUpdates2,
) {
    for (table, rows) in updates.0 {
        let t = schema.table(&table).unwrap();
        let tr = replica.entry(table.clone()).or_default();
        for (uuid, u) in rows {
            apply_update2(tr, &table, t, uuid, u).unwrap();
        }
    }
}

#[test]
fn raw_frames_against_real_ovsdb_server() {
    if !server::real_servers() {
        return;
    }
    let srv = OvsdbServer::start(OVN_NB_SCHEMA).expect("start ovsdb-server");
    let mut raw = Raw::connect(&srv.unix_path());

    // list_dbs, get_schema (parsed by the schema model, cksum kept).
    let Reply::ListDbs(dbs) = raw.ok(Call::ListDbs) else {
        panic!()
    };
    // In no defined order: ovsdb-server 3.1 lists `_Server` last, 3.5 first.
    let mut dbs = dbs;
    dbs.sort();
    assert_eq!(dbs, [NB, "_Server"]);
    let Reply::GetSchema(schema) = raw.ok(Call::GetSchema { db: NB.into() }) else {
        panic!()
    };
    // The release's own schema file (the host's, or the Debian root's).
    let path = ovnlink_testkit::release::release().host_path(OVN_NB_SCHEMA);
    let file = DatabaseSchema::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(schema.name, NB);
    assert_eq!(schema.version, file.version);
    assert_eq!(schema.cksum, file.cksum);
    assert!(schema.cksum.is_some());
    assert_eq!(
        schema.tables.keys().collect::<Vec<_>>(),
        file.tables.keys().collect::<Vec<_>>()
    );
    let Reply::ServerId(_) = raw.ok(Call::GetServerId) else {
        panic!()
    };
    assert_eq!(raw.ok(Call::SetDbChangeAware(true)), Reply::Empty);
    assert_eq!(
        raw.ok(Call::Echo(vec![json!("ping"), json!(7)])),
        Reply::Echo(vec![json!("ping"), json!(7)])
    );

    // monitor_cond (update2) on two tables, and an old-style monitor (update) on one.
    let cond_requests = MonitorRequests::default()
        .with(
            "Logical_Switch",
            MonitorRequest {
                conditions: Some(vec![Condition::new(
                    "name",
                    Function::Ne,
                    Atom::from("hidden"),
                )]),
                ..Default::default()
            },
        )
        .with("Logical_Switch_Port", MonitorRequest::default());
    let Reply::MonitorCond(initial) = raw.ok(Call::MonitorCond {
        db: NB.into(),
        monitor_id: json!("m2"),
        requests: cond_requests.clone(),
    }) else {
        panic!()
    };
    assert!(initial.0.is_empty(), "empty database: {initial:?}");
    let Reply::Monitor(v1) = raw.ok(Call::Monitor {
        db: NB.into(),
        monitor_id: json!(["v1"]),
        requests: MonitorRequests::default().with(
            "Logical_Switch",
            MonitorRequest {
                columns: Some(vec!["name".into()]),
                ..Default::default()
            },
        ),
    }) else {
        panic!()
    };
    assert!(v1.0.is_empty());

    // One lock, so that `assert` can pass.
    assert_eq!(
        raw.ok(Call::Lock {
            lock: "ovnlink".into()
        }),
        Reply::Lock { locked: true }
    );

    // A transact with every operation kind that can succeed together.
    let sw1 = Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0001);
    let ops = vec![
        Operation::Insert {
            table: "Logical_Switch_Port".into(),
            row: Row::new()
                .with("name", Atom::from("lsp0"))
                .with("addresses", Datum::set(["00:00:00:00:00:01 10.0.0.1"])),
            uuid_name: Some("lsp0".into()),
            uuid: None,
        },
        Operation::Insert {
            table: "Logical_Switch".into(),
            row: Row::new()
                .with("name", Atom::from("sw0"))
                .with("ports", Atom::NamedUuid("lsp0".into()))
                .with("external_ids", Datum::map([("owner", "ovnlink")])),
            uuid_name: Some("sw0".into()),
            uuid: None,
        },
        Operation::Insert {
            table: "Logical_Switch".into(),
            row: Row::new().with("name", Atom::from("sw1")),
            uuid_name: None,
            uuid: Some(sw1),
        },
        Operation::Select {
            table: "Logical_Switch".into(),
            conditions: vec![Condition::eq("name", Atom::from("sw0"))],
            columns: Some(vec!["name".into(), "external_ids".into()]),
        },
        Operation::Update {
            table: "Logical_Switch".into(),
            conditions: vec![Condition::uuid(sw1)],
            row: Row::new().with("other_config", Datum::map([("mcast_snoop", "true")])),
        },
        Operation::Mutate {
            table: "Logical_Switch".into(),
            conditions: vec![Condition::new(
                "external_ids",
                Function::Includes,
                Datum::map([("owner", "ovnlink")]),
            )],
            mutations: vec![Mutation::new(
                "external_ids",
                Mutator::Insert,
                Datum::map([("tier", "web")]),
            )],
        },
        Operation::Wait {
            table: "Logical_Switch".into(),
            conditions: vec![Condition::eq("name", Atom::from("nope"))],
            columns: vec!["name".into()],
            until: WaitUntil::Equal,
            rows: vec![],
            timeout: Some(0),
        },
        Operation::Comment {
            comment: "ovnlink interop".into(),
        },
        Operation::Assert {
            lock: "ovnlink".into(),
        },
        Operation::Commit { durable: false },
    ];
    let replies_before = raw.notes.len();
    let t = raw.transact(ops);
    assert!(t.first_error().is_none(), "{t:?}");
    assert_eq!(t.0.len(), 10);
    assert!(matches!(t.0[0], OperationResult::Insert { .. }));
    assert_eq!(t.0[2], OperationResult::Insert { uuid: sw1 });
    assert_eq!(
        t.0[3],
        OperationResult::Select {
            rows: vec![Row::new()
                .with("name", Atom::from("sw0"))
                .with("external_ids", Datum::map([("owner", "ovnlink")]))]
        }
    );
    assert_eq!(t.0[4], OperationResult::Count { count: 1 });
    assert_eq!(t.0[5], OperationResult::Count { count: 1 });
    for i in 6..10 {
        assert_eq!(t.0[i], OperationResult::Empty, "op {i}");
    }
    // ovsdb-server sends the updates of a transaction before its reply.
    let notes: Vec<_> = raw.notes.drain(replies_before..).collect();
    assert!(
        notes
            .iter()
            .any(|c| matches!(c, Call::Update2 { monitor_id, .. } if monitor_id == &json!("m2"))),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|c| matches!(c, Call::Update { monitor_id, .. } if monitor_id == &json!(["v1"]))),
        "{notes:?}"
    );

    // Optional (0..1) columns: update2 diffs carry the new value, not a set difference.
    for tag in [5, 7] {
        let t = raw.transact(vec![Operation::Update {
            table: "Logical_Switch_Port".into(),
            conditions: vec![Condition::eq("name", Atom::from("lsp0"))],
            row: Row::new().with("tag_request", Datum::scalar(tag)),
        }]);
        assert_eq!(t.0, [OperationResult::Count { count: 1 }]);
    }
    let modifies = raw.notes.iter().filter(|c| {
        matches!(c, Call::Update2 { updates, .. } if updates.0.get("Logical_Switch_Port").is_some_and(|rows| {
            rows.iter().any(|(_, u)| matches!(u, RowUpdate2::Modify(d) if d.get("tag_request") == Some(&Datum::scalar(7))))
        }))
    });
    assert_eq!(
        modifies.count(),
        1,
        "the second change arrives as the new value 7"
    );

    // Delete; abort; and the errors a client must classify.
    let t = raw.transact(vec![Operation::Delete {
        table: "Logical_Switch".into(),
        conditions: vec![Condition::uuid(sw1)],
    }]);
    assert_eq!(t.0, [OperationResult::Count { count: 1 }]);
    let t = raw.transact(vec![Operation::Abort]);
    assert_eq!(
        t.first_error().map(|(i, e)| (i, e.kind)),
        Some((0, ErrorKind::Aborted))
    );
    let ghost = Uuid::from_u128(0xdead_0000_0000_4000_8000_0000_0000_0000);
    let t = raw.transact(vec![Operation::Insert {
        table: "Logical_Switch".into(),
        row: Row::new()
            .with("name", Atom::from("bad"))
            .with("ports", Atom::Uuid(ghost)),
        uuid_name: None,
        uuid: None,
    }]);
    // A commit-time failure comes as one extra result after the operations.
    assert_eq!(t.0.len(), 2, "{t:?}");
    assert_eq!(
        t.first_error().map(|(i, e)| (i, e.kind)),
        Some((1, ErrorKind::ReferentialIntegrityViolation))
    );
    let t = raw.transact(vec![Operation::Insert {
        table: "Logical_Switch_Port".into(),
        row: Row::new()
            .with("name", Atom::from("p"))
            .with("tag_request", Datum::scalar(5000)),
        uuid_name: None,
        uuid: None,
    }]);
    assert_eq!(
        t.first_error().map(|(i, e)| (i, e.kind)),
        Some((0, ErrorKind::ConstraintViolation)),
        "{t:?}"
    );
    let t = raw.transact(vec![
        Operation::Insert {
            table: "Logical_Switch".into(),
            row: Row::new(),
            uuid_name: None,
            uuid: Some(sw1),
        },
        Operation::Insert {
            table: "Logical_Switch".into(),
            row: Row::new(),
            uuid_name: None,
            uuid: Some(sw1),
        },
    ]);
    assert_eq!(
        t.first_error().map(|(_, e)| e.kind),
        Some(ErrorKind::DuplicateUuid),
        "{t:?}"
    );
    let t = raw.transact(vec![Operation::Wait {
        table: "Logical_Switch".into(),
        conditions: vec![],
        columns: vec!["name".into()],
        until: WaitUntil::Equal,
        rows: vec![],
        timeout: Some(0),
    }]);
    assert_eq!(
        t.first_error().map(|(i, e)| (i, e.kind)),
        Some((0, ErrorKind::TimedOut))
    );
    assert_eq!(
        raw.ok(Call::Unlock {
            lock: "ovnlink".into()
        }),
        Reply::Empty
    );
    let t = raw.transact(vec![Operation::Assert {
        lock: "ovnlink".into(),
    }]);
    assert_eq!(
        t.first_error().map(|(i, e)| (i, e.kind)),
        Some((0, ErrorKind::NotOwner))
    );
    let Err(CallError::Server(e)) = raw.call(Call::GetSchema { db: "Nope".into() }) else {
        panic!()
    };
    assert_eq!(e.kind, ErrorKind::UnknownDatabase);

    // The replica built from update2 notifications equals what select returns.
    let mut replica: HashMap<String, HashMap<Uuid, Row>> = HashMap::new();
    for note in notes.into_iter().chain(raw.notes.drain(..)) {
        if let Call::Update2 { updates, .. } = note {
            apply_all(&mut replica, &schema, updates);
        }
    }
    for table in ["Logical_Switch", "Logical_Switch_Port"] {
        let want = select_all(&mut raw, table, &schema);
        assert_eq!(want.len(), 1, "{table}");
        let got = replica.get(table).cloned().unwrap_or_default();
        assert_eq!(got, want, "{table}");
    }

    // monitor_cond_since on a standalone database: found=false, zero id, full initial copy.
    let Reply::MonitorCondSince(r) = raw.ok(Call::MonitorCondSince {
        db: NB.into(),
        monitor_id: json!("m3"),
        requests: cond_requests,
        last_txn_id: Uuid::from_u128(42),
    }) else {
        panic!()
    };
    assert!(!r.found);
    assert_eq!(r.last_txn_id, Uuid::nil());
    let mut fresh = HashMap::new();
    apply_all(&mut fresh, &schema, r.updates);
    for table in ["Logical_Switch", "Logical_Switch_Port"] {
        assert_eq!(fresh.get(table), replica.get(table), "{table}");
    }
    assert_eq!(
        raw.ok(Call::MonitorCancel {
            monitor_id: json!("m3")
        }),
        Reply::Empty
    );
}

#[test]
fn monitor_cond_since_resumes_on_a_clustered_database() {
    if !server::real_servers() {
        return;
    }
    let cluster = OvsdbCluster::start(OVN_NB_SCHEMA, 1).expect("start a one-member cluster");
    let mut raw = Raw::connect(&cluster.unix_path(0));
    let Reply::GetSchema(schema) = raw.ok(Call::GetSchema { db: NB.into() }) else {
        panic!()
    };
    let requests = MonitorRequests::default().with("Logical_Switch", MonitorRequest::default());
    let insert = |name: &str| Operation::Insert {
        table: "Logical_Switch".into(),
        row: Row::new().with("name", Atom::from(name)),
        uuid_name: None,
        uuid: None,
    };
    assert!(raw.transact(vec![insert("a")]).first_error().is_none());

    let Reply::MonitorCondSince(first) = raw.ok(Call::MonitorCondSince {
        db: NB.into(),
        monitor_id: json!("s1"),
        requests: requests.clone(),
        last_txn_id: Uuid::nil(),
    }) else {
        panic!()
    };
    assert!(!first.found);
    assert_ne!(
        first.last_txn_id,
        Uuid::nil(),
        "clustered databases keep transaction ids"
    );
    let mut replica = HashMap::new();
    apply_all(&mut replica, &schema, first.updates);
    let mut last = first.last_txn_id;

    // Changes arrive as update3, each carrying the id of its transaction.
    assert!(raw.transact(vec![insert("b")]).first_error().is_none());
    let mut saw_update3 = false;
    for note in raw.notes.drain(..) {
        if let Call::Update3 {
            last_txn_id,
            updates,
            ..
        } = note
        {
            apply_all(&mut replica, &schema, updates);
            last = last_txn_id;
            saw_update3 = true;
        }
    }
    assert!(saw_update3);
    assert_eq!(
        raw.ok(Call::MonitorCancel {
            monitor_id: json!("s1")
        }),
        Reply::Empty
    );

    // A change made while "disconnected", then resume from the last id: found=true, only
    // the delta comes, and the replica ends equal to the server.
    assert!(raw.transact(vec![insert("c")]).first_error().is_none());
    let Reply::MonitorCondSince(resumed) = raw.ok(Call::MonitorCondSince {
        db: NB.into(),
        monitor_id: json!("s2"),
        requests,
        last_txn_id: last,
    }) else {
        panic!()
    };
    assert!(resumed.found, "resume within the server's history");
    let delta: usize = resumed.updates.0.values().map(Vec::len).sum();
    assert_eq!(
        delta, 1,
        "only the change since the last id: {:?}",
        resumed.updates
    );
    apply_all(&mut replica, &schema, resumed.updates);
    let got = replica.get("Logical_Switch").cloned().unwrap_or_default();
    assert_eq!(got, select_all(&mut raw, "Logical_Switch", &schema));
    assert_eq!(got.len(), 3);
}
