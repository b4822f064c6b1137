//! The session driven by a scripted server: bytes in, bytes and events out, no real time.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

const TXN1: &str = "11111111-1111-1111-1111-111111111111";
const TXN2: &str = "22222222-2222-2222-2222-222222222222";
const ROW: &str = "33333333-3333-3333-3333-333333333333";
const DB_ROW: &str = "44444444-4444-4444-4444-444444444444";

fn server_schema() -> Value {
    json!({"name": "_Server", "version": "1.2.0", "tables": {"Database": {"columns": {
        "name": {"type": "string"},
        "model": {"type": {"key": {"type": "string",
            "enum": ["set", ["standalone", "clustered", "relay"]]}}},
        "connected": {"type": "boolean"},
        "leader": {"type": "boolean"},
        "schema": {"type": {"key": "string", "min": 0}},
        "cid": {"type": {"key": "uuid", "min": 0}},
        "index": {"type": {"key": "integer", "min": 0}}}}}})
}

fn db_schema() -> Value {
    json!({"name": "DB", "version": "1.0.0", "tables": {"T": {"columns": {
        "name": {"type": "string"}}}}})
}

/// The `_Server.Database` row of `DB` in a cluster.
fn db_row(leader: bool, index: i64) -> Value {
    json!({"name": "DB", "model": "clustered", "connected": true, "leader": leader,
        "schema": db_schema().to_string(), "index": index})
}

/// A scripted server on the other end of a session.
struct Peer {
    session: Session,
    now: Instant,
    /// Events taken before a look at the bytes sent, as a shell does.
    seen: Vec<SessionEvent>,
}

impl Peer {
    fn new(config: SessionConfig) -> Peer {
        Peer {
            session: Session::new(config),
            now: Instant::now(),
            seen: Vec::new(),
        }
    }

    /// The messages the session sent since the last look.
    fn sent(&mut self) -> Vec<Value> {
        // A shell carries out the events before it writes: replies are handled then.
        self.seen
            .extend(std::iter::from_fn(|| self.session.poll_event()));
        let mut out = Vec::new();
        while let Some(bytes) = self.session.poll_transmit() {
            for v in serde_json::Deserializer::from_slice(&bytes).into_iter::<Value>() {
                out.push(v.expect("the session sends JSON"));
            }
        }
        out
    }

    /// The one message sent since the last look, which must call `method`; its id.
    fn expect(&mut self, method: &str) -> (u64, Value) {
        let sent = self.sent();
        assert_eq!(sent.len(), 1, "expected one {method}, got {sent:?}");
        assert_eq!(sent[0]["method"], method, "{sent:?}");
        // Probes carry the id "echo".
        let id = sent[0]["id"].as_u64().unwrap_or(u64::MAX);
        (id, sent[0]["params"].clone())
    }

    fn input(&mut self, v: Value) {
        self.session
            .handle_input(v.to_string().as_bytes(), self.now);
    }

    fn reply(&mut self, id: u64, result: Value) {
        self.input(json!({"id": id, "result": result, "error": null}));
    }

    fn error(&mut self, id: u64, error: &str) {
        self.input(json!({"id": id, "result": null, "error": error}));
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.input(json!({"id": null, "method": method, "params": params}));
    }

    fn events(&mut self) -> Vec<SessionEvent> {
        let mut events = std::mem::take(&mut self.seen);
        events.extend(std::iter::from_fn(|| self.session.poll_event()));
        events
    }

    /// Admission by `_Server`, with `row` as the database's row.
    fn admit(&mut self, row: Value) {
        let (id, params) = self.expect("get_schema");
        assert_eq!(params, json!(["_Server"]));
        self.reply(id, server_schema());
        assert!(self.events().is_empty());
        let (id, params) = self.expect("monitor_cond");
        assert_eq!(params[0], "_Server");
        self.reply(id, json!({"Database": {DB_ROW: {"initial": row}}}));
    }

    /// Admission of a leader, then the change-aware request.
    fn admit_leader(&mut self, index: i64) {
        self.admit(db_row(true, index));
        let (id, _) = self.expect("set_db_change_aware");
        self.reply(id, json!({}));
    }

    /// The schema of `DB`, then a monitor request; the request's id and parameters, and
    /// the events before the schema.
    fn schema_then_monitor(&mut self, method: &str) -> (u64, Value, Vec<SessionEvent>) {
        let (id, params) = self.expect("get_schema");
        assert_eq!(params, json!(["DB"]));
        self.reply(id, db_schema());
        let mut events = self.events();
        assert!(
            matches!(events.last(), Some(SessionEvent::Schema { db, .. }) if db == "DB"),
            "{events:?}"
        );
        events.pop();
        let (id, params) = self.expect(method);
        (id, params, events)
    }

    /// A first connection with one monitor of `DB` (registered before it), synced from
    /// `TXN1`: the connection is ready once admitted, then the monitor is added.
    fn ready(&mut self) -> MonitorId {
        let m = self.session.monitor("DB", None);
        self.session.connect("tcp:127.0.0.1:6641", self.now);
        self.admit_leader(5);
        let (id, _, before) = self.schema_then_monitor("monitor_cond_since");
        assert!(
            matches!(&before[..], [SessionEvent::Ready { session: 1 }]),
            "{before:?}"
        );
        self.reply(
            id,
            json!([false, TXN1, {"T": {ROW: {"initial": {"name": "a"}}}}]),
        );
        let events = self.events();
        assert!(
            matches!(
                &events[..],
                [
                    SessionEvent::Sync { kind: SyncKind::Full, .. },
                    SessionEvent::MonitorReady(r),
                ] if *r == m
            ),
            "{events:?}"
        );
        m
    }

    /// The same session on a new connection; the monitors are part of its handshake now.
    fn reconnect(&mut self, remote: &str) {
        self.session.handle_disconnect();
        self.events();
        self.session.connect(remote, self.now);
    }
}

fn uuid(s: &str) -> Uuid {
    crate::parse_uuid(s).unwrap()
}

#[test]
fn calls_wait_for_admission_and_for_the_monitor_asked_before_them() {
    let mut p = Peer::new(SessionConfig::default());
    let m = p.session.monitor("DB", Some(vec!["T".into()]));
    // Made before any connection: it waits for one, and for the monitor before it.
    let call = p.session.call(Call::ListDbs);
    assert!(p.session.poll_transmit().is_none());
    p.session.connect("tcp:127.0.0.1:6641", p.now);
    p.admit_leader(5);
    let (id, params, _) = p.schema_then_monitor("monitor_cond_since");
    assert_eq!(params[0], "DB");
    assert_eq!(params[1], json!(["DB", 0]));
    assert_eq!(params[2], json!({"T": [{}]}));
    // Nothing was ever seen: resume from the zero id.
    assert_eq!(params[3], json!("00000000-0000-0000-0000-000000000000"));
    assert!(p.session.is_ready());
    assert!(p.sent().is_empty(), "the call waits for the monitor");
    p.reply(
        id,
        json!([false, TXN1, {"T": {ROW: {"initial": {"name": "a"}}}}]),
    );
    let events = p.events();
    let [SessionEvent::Sync {
        monitor,
        db,
        tables,
        kind,
        updates,
    }, SessionEvent::MonitorReady(ready)] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (*monitor, db.as_str(), *kind, *ready),
        (m, "DB", SyncKind::Full, m)
    );
    assert_eq!(tables, &["T".to_string()]);
    assert_eq!(
        updates.members(),
        vec![(
            "T",
            format!(r#"{{"{ROW}":{{"initial":{{"name":"a"}}}}}}"#).as_bytes()
        )]
    );
    assert_eq!(p.session.last_txn_id(m), Some(uuid(TXN1)));
    // Now the queued call goes out.
    let (id, _) = p.expect("list_dbs");
    p.reply(id, json!(["DB", "_Server"]));
    let events = p.events();
    assert!(
        matches!(&events[..], [SessionEvent::Reply { call: c, result: Ok(Reply::ListDbs(dbs)), .. }]
            if *c == call && dbs.len() == 2),
        "{events:?}"
    );
}

#[test]
fn monitor_methods_fall_back_on_older_servers() {
    let mut p = Peer::new(SessionConfig::default());
    let m = p.session.monitor("DB", None);
    p.session.connect("unix:db.sock", p.now);
    // A server older than 2.9: no `_Server`, nothing to check.
    let (id, _) = p.expect("get_schema");
    p.error(id, "unknown database");
    let (id, _, _) = p.schema_then_monitor("monitor_cond_since");
    p.error(id, "unknown method");
    let (id, params) = p.expect("monitor_cond");
    assert_eq!(params.as_array().unwrap().len(), 3, "{params:?}");
    p.error(id, "unknown method");
    let (id, _) = p.expect("monitor");
    p.reply(id, json!({"T": {ROW: {"new": {"name": "a"}}}}));
    let events = p.events();
    let [SessionEvent::Sync {
        kind: SyncKind::Full,
        updates: InitialUpdates::Decoded(u),
        ..
    }, SessionEvent::MonitorReady(_)] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(u.0["T"].len(), 1);
    assert_eq!(p.session.last_txn_id(m), None);
    // What the server lacks is remembered for the connection: a new monitor goes
    // straight to `monitor`.
    p.session.monitor("DB", Some(vec!["T".into()]));
    let (_, params) = p.expect("monitor");
    assert_eq!(params[1], json!(["DB", 1]));
}

#[test]
fn a_leader_that_steps_down_is_left_and_its_calls_and_locks_end() {
    let mut p = Peer::new(SessionConfig::default());
    p.ready();
    p.session.lock("ovn_ic", false);
    let (id, params) = p.expect("lock");
    assert_eq!(params, json!(["ovn_ic"]));
    p.reply(id, json!({"locked": true}));
    let events = p.events();
    assert!(
        matches!(&events[..], [SessionEvent::Lock { name, held: true }] if name == "ovn_ic"),
        "{events:?}"
    );
    let call = p.session.call(Call::ListDbs);
    p.expect("list_dbs");
    p.notify(
        "update2",
        json!(["_Server", {"Database": {DB_ROW: {"modify": {"leader": false}}}}]),
    );
    let events = p.events();
    let [SessionEvent::Reply {
        call: c,
        result: Err(CallFailure::Disconnected),
        ..
    }, SessionEvent::Lock { held: false, .. }, SessionEvent::Closed {
        reason: CloseReason::Refused { db, why },
        next_remote_now: true,
    }] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (*c, db.as_str(), *why),
        (call, "DB", "is not the cluster leader")
    );
    assert!(p.session.remote().is_none());
    assert!(p.session.poll_transmit().is_none());
}

#[test]
fn a_follower_is_refused_unless_followers_are_accepted() {
    let mut p = Peer::new(SessionConfig::default());
    p.ready();
    p.reconnect("tcp:127.0.0.2:6641");
    p.admit(db_row(false, 5));
    let events = p.events();
    assert!(
        matches!(
            &events[..],
            [SessionEvent::Closed {
                reason: CloseReason::Refused {
                    why: "is not the cluster leader",
                    ..
                },
                next_remote_now: true
            }]
        ),
        "{events:?}"
    );
    let mut p = Peer::new(SessionConfig::default().leader_only(false));
    p.ready();
    p.reconnect("tcp:127.0.0.2:6641");
    p.admit(db_row(false, 5));
    p.expect("set_db_change_aware");
}

#[test]
fn a_server_behind_what_was_seen_is_refused_and_the_next_resumes() {
    let mut p = Peer::new(SessionConfig::default());
    let m = p.ready();
    p.notify(
        "update3",
        json!([["DB", 0], TXN2, {"T": {ROW: {"modify": {"name": "b"}}}}]),
    );
    let events = p.events();
    assert!(
        matches!(&events[..], [SessionEvent::Update { monitor, updates: MonitorUpdate::V2(_), .. }] if *monitor == m),
        "{events:?}"
    );
    assert_eq!(p.session.last_txn_id(m), Some(uuid(TXN2)));
    p.session.handle_disconnect();
    assert!(
        p.events().is_empty(),
        "no calls, no locks: nothing to report"
    );

    // A server whose log is behind index 5 (seen on the first) is not used.
    p.session.connect("tcp:127.0.0.2:6641", p.now);
    p.admit(db_row(true, 3));
    let events = p.events();
    assert!(
        matches!(
            &events[..],
            [SessionEvent::Closed {
                reason: CloseReason::Refused {
                    why: "has older data than already seen",
                    ..
                },
                ..
            }]
        ),
        "{events:?}"
    );

    // One that caught up is; the monitor resumes from the last transaction.
    p.session.connect("tcp:127.0.0.3:6641", p.now);
    p.admit_leader(7);
    let (id, params, _) = p.schema_then_monitor("monitor_cond_since");
    assert_eq!(params[3], json!(TXN2));
    p.reply(id, json!([true, TXN2, {}]));
    let events = p.events();
    assert!(
        matches!(
            &events[..],
            [
                SessionEvent::Sync {
                    kind: SyncKind::Resumed,
                    ..
                },
                SessionEvent::Ready { session: 2 },
                SessionEvent::MonitorReady(_)
            ]
        ),
        "{events:?}"
    );
}

#[test]
fn a_server_of_another_cluster_is_refused() {
    let mut p = Peer::new(SessionConfig::default().cid(Some(uuid(TXN1))));
    p.session.monitor("DB", None);
    p.session.connect("tcp:127.0.0.1:6641", p.now);
    let mut row = db_row(true, 5);
    row["cid"] = json!(["uuid", TXN2]);
    p.admit(row);
    let (id, _) = p.expect("set_db_change_aware");
    p.reply(id, json!({}));
    // Ready (nothing monitored yet); the monitor's database is checked when it is added,
    // and the connection is left before anyone acts on it.
    let events = p.events();
    assert!(
        matches!(
            &events[..],
            [SessionEvent::Closed {
                reason: CloseReason::Refused {
                    why: "belongs to another cluster",
                    ..
                },
                next_remote_now: true
            }]
        ),
        "{events:?}"
    );
}

#[test]
fn locks_follow_locked_and_stolen_and_are_asked_again_after_a_reconnect() {
    let mut p = Peer::new(SessionConfig::default());
    p.ready();
    p.session.lock("ovn_ic", false);
    let (id, _) = p.expect("lock");
    // Someone else holds it: wait for `locked`.
    p.reply(id, json!({"locked": false}));
    p.notify("locked", json!(["ovn_ic"]));
    p.notify("stolen", json!(["ovn_ic"]));
    let held: Vec<bool> = p
        .events()
        .into_iter()
        .map(|e| match e {
            SessionEvent::Lock { held, .. } => held,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(held, [false, true, false]);
    // After a reconnect the lock is asked for again, right after admission.
    p.session.handle_disconnect();
    assert!(matches!(
        &p.events()[..],
        [SessionEvent::Lock { held: false, .. }]
    ));
    p.session.connect("tcp:127.0.0.1:6641", p.now);
    p.admit_leader(5);
    let sent = p.sent();
    assert_eq!(sent[0]["method"], "lock", "{sent:?}");
    assert_eq!(sent[1]["method"], "get_schema", "{sent:?}");
    p.reply(sent[1]["id"].as_u64().unwrap(), db_schema());
    let (id, _) = p.expect("monitor_cond_since");
    p.reply(id, json!([true, TXN1, {}]));
    p.events();
    assert!(p.session.is_ready());
    // Unlocking says so at once, and nothing more is heard of the lock.
    p.session.unlock("ovn_ic");
    p.notify("locked", json!(["ovn_ic"]));
    let events = p.events();
    assert!(
        matches!(&events[..], [SessionEvent::Lock { held: false, .. }]),
        "{events:?}"
    );
    assert_eq!(p.expect("unlock").1, json!(["ovn_ic"]));
}

#[test]
fn updates_come_out_before_the_reply_that_followed_them() {
    let mut p = Peer::new(SessionConfig::default().check_writes(false));
    let m = p.ready();
    let call = p.session.call(Call::Transact {
        db: "DB".into(),
        ops: vec![],
    });
    let (id, _) = p.expect("transact");
    // One read holding both messages, as ovsdb-server sends them.
    let bytes = format!(
        "{}{}",
        json!({"id": null, "method": "update3",
            "params": [["DB", 0], TXN2, {"T": {ROW: {"delete": null}}}]}),
        json!({"id": id, "result": [], "error": null})
    );
    p.session.handle_input(bytes.as_bytes(), p.now);
    let first = p.session.poll_event();
    assert!(matches!(first, Some(SessionEvent::Update { monitor, .. }) if monitor == m));
    let second = p.session.poll_event();
    assert!(
        matches!(second, Some(SessionEvent::Reply { call: c, .. }) if c == call),
        "{second:?}"
    );
}

#[test]
fn a_transaction_the_server_schema_cannot_hold_is_refused_unsent() {
    let mut p = Peer::new(SessionConfig::default());
    p.ready();
    let ops: Vec<Operation> = serde_json::from_value(json!([
        {"op": "insert", "table": "T", "row": {"name": "x", "color": "red"}}
    ]))
    .unwrap();
    let call = p.session.call(Call::Transact {
        db: "DB".into(),
        ops,
    });
    assert!(p.sent().is_empty());
    let events = p.events();
    assert!(
        matches!(&events[..], [SessionEvent::Reply { call: c, result: Err(CallFailure::Skew(_)), .. }] if *c == call),
        "{events:?}"
    );
}

#[test]
fn a_transaction_on_an_unmonitored_database_waits_for_its_schema() {
    let mut p = Peer::new(SessionConfig::default());
    p.session.connect("unix:db.sock", p.now);
    let (id, _) = p.expect("get_schema");
    p.error(id, "unknown database");
    // Ready at once: nothing to monitor.
    assert!(matches!(
        &p.events()[..],
        [SessionEvent::Ready { session: 1 }]
    ));
    let ops: Vec<Operation> =
        serde_json::from_value(json!([{"op": "insert", "table": "T", "row": {"name": "x"}}]))
            .unwrap();
    let first = p.session.call(Call::Transact {
        db: "DB".into(),
        ops: ops.clone(),
    });
    let second = p.session.call(Call::ListDbs);
    let (id, params) = p.expect("get_schema");
    assert_eq!(params, json!(["DB"]));
    p.reply(id, db_schema());
    // The transaction goes first, then the call queued behind it.
    let sent = p.sent();
    assert_eq!(
        sent.iter().map(|m| m["method"].clone()).collect::<Vec<_>>(),
        [json!("transact"), json!("list_dbs")]
    );
    // The schema is kept for the connection.
    p.session.call(Call::Transact {
        db: "DB".into(),
        ops,
    });
    p.expect("transact");
    let ids: Vec<u64> = sent.iter().map(|m| m["id"].as_u64().unwrap()).collect();
    p.reply(ids[1], json!(["DB"]));
    p.reply(ids[0], json!([{"uuid": ["uuid", ROW]}]));
    let calls: Vec<CallId> = p
        .events()
        .into_iter()
        .map(|e| match e {
            SessionEvent::Reply {
                call,
                result: Ok(_),
                ..
            } => call,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(calls, [second, first]);
}

#[test]
fn a_monitor_of_a_missing_database_or_table_is_refused() {
    let mut p = Peer::new(SessionConfig::default());
    p.ready();
    let gone = p.session.monitor("Other", None);
    assert!(p.sent().is_empty(), "_Server says it is not served");
    let events = p.events();
    assert!(
        matches!(&events[..], [SessionEvent::MonitorFailed { monitor, error }]
            if *monitor == gone && error == "the server has no database Other"),
        "{events:?}"
    );
    let bad = p
        .session
        .monitor("DB", Some(vec!["T".into(), "Nope".into()]));
    let events = p.events();
    assert!(
        matches!(&events[..], [SessionEvent::MonitorFailed { monitor, error }]
            if *monitor == bad && error == "DB has no table Nope"),
        "{events:?}"
    );
}

#[test]
fn a_copy_that_does_not_apply_ends_the_connection_and_asks_for_a_full_one() {
    let mut p = Peer::new(SessionConfig::default());
    let m = p.ready();
    assert_eq!(p.session.last_txn_id(m), Some(uuid(TXN1)));
    p.notify(
        "update3",
        json!([["DB", 0], TXN2, {"T": {ROW: {"modify": {"name": "b"}}}}]),
    );
    assert_eq!(p.events().len(), 1);
    p.session
        .handle_cache_error(m, Error::Protocol("no such row".into()));
    let events = p.events();
    assert!(
        matches!(
            &events[..],
            [SessionEvent::Closed {
                reason: CloseReason::Protocol(_),
                next_remote_now: false
            }]
        ),
        "{events:?}"
    );
    assert_eq!(p.session.last_txn_id(m), None);
}

#[test]
fn silence_past_two_probe_intervals_ends_the_connection() {
    let config = SessionConfig::default()
        .connection(ConnectionConfig::default().probe_interval(Some(Duration::from_secs(5))));
    let mut p = Peer::new(config);
    p.session.connect("tcp:127.0.0.1:6641", p.now);
    p.sent();
    let first = p.session.poll_timeout().unwrap();
    assert_eq!(first, p.now + Duration::from_secs(5));
    p.session.handle_timeout(first);
    assert_eq!(p.expect("echo").1, json!([]));
    p.session.handle_timeout(first + Duration::from_secs(5));
    let events = p.events();
    assert!(
        matches!(
            &events[..],
            [SessionEvent::Closed {
                reason: CloseReason::ProbeTimeout,
                ..
            }]
        ),
        "{events:?}"
    );
}

#[test]
fn bad_bytes_end_the_connection_with_a_protocol_error() {
    let mut p = Peer::new(SessionConfig::default());
    p.session.connect("tcp:127.0.0.1:6641", p.now);
    p.sent();
    p.session.handle_input(b"]]]", p.now);
    let events = p.events();
    assert!(
        matches!(
            &events[..],
            [SessionEvent::Closed {
                reason: CloseReason::Protocol(_),
                ..
            }]
        ),
        "{events:?}"
    );
}

#[test]
fn conditions_go_with_the_request_then_as_changes_and_reset_the_resume_point() {
    let clause = |name: &str| Condition::Compare {
        column: "name".into(),
        function: crate::Function::Eq,
        value: crate::Datum::from(crate::Atom::from(name)),
    };
    let mut p = Peer::new(SessionConfig::default());
    let m = p.session.monitor("DB", None);
    p.session.set_condition(m, "T", Some(vec![clause("a")]));
    p.session.connect("tcp:127.0.0.1:6641", p.now);
    p.admit_leader(5);
    let (id, params, _) = p.schema_then_monitor("monitor_cond_since");
    assert_eq!(params[2], json!({"T": [{"where": [["name", "==", "a"]]}]}));
    p.reply(id, json!([false, TXN1, {}]));
    p.events();
    assert_eq!(p.session.last_txn_id(m), Some(uuid(TXN1)));

    // A change on a live monitor: `monitor_cond_change`, and no resume point until the
    // server has answered it (updates meanwhile may follow the old clauses).
    p.session.set_condition(m, "T", Some(vec![clause("b")]));
    let (id, params) = p.expect("monitor_cond_change");
    assert_eq!(
        params,
        json!([["DB", 0], ["DB", 0], {"T": [{"where": [["name", "==", "b"]]}]}])
    );
    assert_eq!(p.session.last_txn_id(m), None);
    p.notify("update3", json!([["DB", 0], TXN2, {}]));
    p.events();
    assert_eq!(p.session.last_txn_id(m), None);
    p.reply(id, json!({}));
    p.notify("update3", json!([["DB", 0], TXN2, {}]));
    p.events();
    assert_eq!(p.session.last_txn_id(m), Some(uuid(TXN2)));

    // The same clauses again: nothing to say.
    p.session.set_condition(m, "T", Some(vec![clause("b")]));
    assert!(p.sent().is_empty());

    // Changed while disconnected: the next connection asks with the new clauses, for a
    // full copy.
    p.session.handle_disconnect();
    p.session.set_condition(m, "T", None);
    p.session.connect("tcp:127.0.0.1:6641", p.now);
    p.admit_leader(5);
    let (_, params, _) = p.schema_then_monitor("monitor_cond_since");
    assert_eq!(params[2], json!({"T": [{}]}));
    assert_eq!(params[3], json!("00000000-0000-0000-0000-000000000000"));
}
