//! Wire examples from RFC 7047 and ovsdb-server(7), with exact expected values.

use std::time::{Duration, Instant};

use ovsdb_proto::*;
use serde_json::json;

const U1: &str = "36e7d6f3-6e0b-4b3d-9a5c-0f1e2d3c4b5a";
const U2: &str = "9b0b3c8e-1d2f-4a5b-8c7d-6e5f4a3b2c1d";

fn uuid(s: &str) -> Uuid {
    parse_uuid(s).unwrap()
}

fn datum(text: &str) -> Datum {
    serde_json::from_str(text).unwrap()
}

fn text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

#[test]
fn atoms_decode_and_encode_exactly() {
    let cases: &[(&str, Atom)] = &[
        ("42", Atom::Integer(42)),
        ("-9223372036854775808", Atom::Integer(i64::MIN)),
        ("1.5", Atom::Real(1.5)),
        ("true", Atom::Boolean(true)),
        (r#""br-int""#, Atom::String("br-int".into())),
        (&format!(r#"["uuid","{U1}"]"#), Atom::Uuid(uuid(U1))),
        (r#"["named-uuid","row0"]"#, Atom::NamedUuid("row0".into())),
    ];
    for (wire, atom) in cases {
        let got: Atom = serde_json::from_str(wire).unwrap();
        assert_eq!(&got, atom, "{wire}");
        assert_eq!(&text(&got), wire);
    }
    // Out of range and malformed atoms are errors, never panics.
    for bad in [
        "9223372036854775808",
        r#"["uuid","not-a-uuid"]"#,
        r#"["uuid"]"#,
        r#"["foo","x"]"#,
        "null",
        "{}",
    ] {
        assert!(serde_json::from_str::<Atom>(bad).is_err(), "{bad}");
    }
}

#[test]
fn sets_and_maps_follow_rfc7047_notation() {
    // A one-element set is the bare atom; other sets are ["set",[...]].
    assert_eq!(datum(r#""a""#), Datum::set(["a"]));
    assert_eq!(datum(r#"["set",["a"]]"#), Datum::set(["a"]));
    assert_eq!(text(&datum(r#"["set",["a"]]"#)), r#""a""#);
    assert_eq!(text(&datum(r#"["set",[]]"#)), r#"["set",[]]"#);
    // Elements are kept sorted, so order on the wire does not matter for equality.
    assert_eq!(datum(r#"["set",["b","a"]]"#), datum(r#"["set",["a","b"]]"#));
    assert_eq!(text(&datum(r#"["set",["b","a"]]"#)), r#"["set",["a","b"]]"#);
    assert_eq!(
        text(&datum(&format!(
            r#"["set",[["uuid","{U2}"],["uuid","{U1}"]]]"#
        ))),
        format!(r#"["set",[["uuid","{U1}"],["uuid","{U2}"]]]"#)
    );
    // Maps.
    let m = datum(r#"["map",[["neutron:name","r1"],["k8s.ovn.org/id","7"]]]"#);
    assert_eq!(m.as_map().unwrap().get_str("neutron:name"), Some("r1"));
    assert_eq!(
        text(&m),
        r#"["map",[["k8s.ovn.org/id","7"],["neutron:name","r1"]]]"#
    );
    // A JSON object is not a map; duplicates are errors as in ovsdb-server.
    for bad in [
        r#"{"a":"b"}"#,
        r#"["set",["a","a"]]"#,
        r#"["map",[["k","1"],["k","2"]]]"#,
        r#"["map",[["k"]]]"#,
        "[]",
    ] {
        assert!(serde_json::from_str::<Datum>(bad).is_err(), "{bad}");
    }
}

fn string_type() -> BaseType {
    BaseType::new(AtomicType::String)
}

#[test]
fn datums_are_checked_against_column_types() {
    let real = ColumnType::scalar(BaseType::new(AtomicType::Real));
    // ovsdb-server writes 1.0 as 1: conform makes it a real.
    assert_eq!(datum("1").conform(&real).unwrap(), Datum::scalar(1.0));

    let mut key = BaseType::new(AtomicType::Integer);
    key.min_integer = Some(1);
    key.max_integer = Some(4095);
    let tag = ColumnType::new(key, None, 0, Some(1));
    assert_eq!(datum("4095").conform(&tag).unwrap(), Datum::scalar(4095));
    assert!(datum("4096")
        .conform(&tag)
        .unwrap_err()
        .contains("outside the allowed range"));
    assert!(datum(r#"["set",[1,2]]"#)
        .conform(&tag)
        .unwrap_err()
        .contains("more than the maximum 1"));
    assert!(datum(r#""x""#)
        .conform(&tag)
        .unwrap_err()
        .contains("expected integer, got string"));

    let mut policy = string_type();
    policy.enumeration = Some(Set::from_atoms(vec!["dst-ip".into(), "src-ip".into()]));
    let policy = ColumnType::new(policy, None, 0, Some(1));
    assert!(datum(r#""src-ip""#).conform(&policy).is_ok());
    assert!(datum(r#""dst-mac""#)
        .conform(&policy)
        .unwrap_err()
        .contains("not one of the allowed values"));

    let mut name = string_type();
    name.min_length = Some(1);
    name.max_length = Some(3);
    let name = ColumnType::scalar(name);
    assert!(
        datum(r#""héé""#).conform(&name).is_ok(),
        "length counts characters, not bytes"
    );
    assert!(datum(r#""""#).conform(&name).is_err());
    assert!(datum(r#"["set",[]]"#)
        .conform(&name)
        .unwrap_err()
        .contains("fewer than the minimum 1"));

    let ids = ColumnType::new(string_type(), Some(string_type()), 0, None);
    assert_eq!(
        datum(r#"["set",[]]"#).conform(&ids).unwrap(),
        Datum::Map(Map::new())
    );
    assert!(datum(r#""a""#).conform(&ids).is_err());
}

#[test]
fn conditions_including_boolean_ones() {
    let c: Condition = serde_json::from_str(r#"["name","==","sw0"]"#).unwrap();
    assert_eq!(c, Condition::eq("name", Atom::from("sw0")));
    let c: Condition = serde_json::from_str(r#"["ports","includes",["set",[]]]"#).unwrap();
    assert_eq!(
        c,
        Condition::new("ports", Function::Includes, Datum::empty_set())
    );
    assert_eq!(
        serde_json::from_str::<Condition>("true").unwrap(),
        Condition::Bool(true)
    );
    assert_eq!(
        serde_json::from_str::<Condition>("false").unwrap(),
        Condition::Bool(false)
    );
    for f in Function::ALL {
        let wire = format!(r#"["tag","{}",1]"#, f.as_str());
        let c: Condition = serde_json::from_str(&wire).unwrap();
        assert_eq!(text(&c), wire);
    }
    assert!(serde_json::from_str::<Condition>(r#"["name","~=","x"]"#).is_err());
    assert!(serde_json::from_str::<Condition>(r#"["name","=="]"#).is_err());
}

#[test]
fn mutations() {
    for m in Mutator::ALL {
        let wire = format!(r#"["external_ids","{}",["map",[["a","b"]]]]"#, m.as_str());
        let got: Mutation = serde_json::from_str(&wire).unwrap();
        assert_eq!(got.mutator, m);
        assert_eq!(text(&got), wire);
    }
    assert!(serde_json::from_str::<Mutation>(r#"["x","^=",1]"#).is_err());
}

#[test]
fn operations_encode_as_rfc7047_section_5_2() {
    let ops = vec![
        Operation::Insert {
            table: "Logical_Switch".into(),
            row: Row::new().with("name", Atom::from("sw0")),
            uuid_name: Some("sw0".into()),
            uuid: None,
        },
        Operation::Insert {
            table: "Logical_Switch".into(),
            row: Row::new(),
            uuid_name: None,
            uuid: Some(uuid(U1)),
        },
        Operation::Select {
            table: "Logical_Switch".into(),
            conditions: vec![Condition::eq("name", Atom::from("sw0"))],
            columns: Some(vec!["_uuid".into()]),
        },
        Operation::Update {
            table: "Logical_Switch".into(),
            conditions: vec![Condition::uuid(uuid(U1))],
            row: Row::new().with("other_config", Datum::map([("mcast_snoop", "true")])),
        },
        Operation::Mutate {
            table: "Logical_Switch".into(),
            conditions: vec![],
            mutations: vec![Mutation::new(
                "ports",
                Mutator::Insert,
                Atom::NamedUuid("p0".into()),
            )],
        },
        Operation::Delete {
            table: "Logical_Switch".into(),
            conditions: vec![Condition::Bool(true)],
        },
        Operation::Wait {
            table: "Logical_Switch".into(),
            conditions: vec![],
            columns: vec!["name".into()],
            until: WaitUntil::Equal,
            rows: vec![Row::new().with("name", Atom::from("sw0"))],
            timeout: Some(0),
        },
        Operation::Commit { durable: false },
        Operation::Abort,
        Operation::Comment {
            comment: "ovn-nbctl: ls-add sw0".into(),
        },
        Operation::Assert {
            lock: "ovn_northd".into(),
        },
    ];
    let expected = [
        r#"{"op":"insert","table":"Logical_Switch","row":{"name":"sw0"},"uuid-name":"sw0"}"#.to_string(),
        format!(r#"{{"op":"insert","table":"Logical_Switch","row":{{}},"uuid":"{U1}"}}"#),
        r#"{"op":"select","table":"Logical_Switch","where":[["name","==","sw0"]],"columns":["_uuid"]}"#.to_string(),
        format!(
            r#"{{"op":"update","table":"Logical_Switch","where":[["_uuid","==",["uuid","{U1}"]]],"row":{{"other_config":["map",[["mcast_snoop","true"]]]}}}}"#
        ),
        r#"{"op":"mutate","table":"Logical_Switch","where":[],"mutations":[["ports","insert",["named-uuid","p0"]]]}"#.to_string(),
        r#"{"op":"delete","table":"Logical_Switch","where":[true]}"#.to_string(),
        r#"{"op":"wait","table":"Logical_Switch","where":[],"columns":["name"],"until":"==","rows":[{"name":"sw0"}],"timeout":0}"#
            .to_string(),
        r#"{"op":"commit","durable":false}"#.to_string(),
        r#"{"op":"abort"}"#.to_string(),
        r#"{"op":"comment","comment":"ovn-nbctl: ls-add sw0"}"#.to_string(),
        r#"{"op":"assert","lock":"ovn_northd"}"#.to_string(),
    ];
    for (op, want) in ops.iter().zip(expected.iter()) {
        assert_eq!(&text(op), want);
        let back: Operation = serde_json::from_str(want).unwrap();
        assert_eq!(&back, op);
    }
    // The full request, as a client writes it.
    let mut out = Vec::new();
    Call::Transact {
        db: "OVN_Northbound".into(),
        ops: ops[..1].to_vec(),
    }
    .encode(Some(&json!(7)), &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"id":7,"method":"transact","params":["OVN_Northbound",{"op":"insert","table":"Logical_Switch","row":{"name":"sw0"},"uuid-name":"sw0"}]}"#
    );
    assert!(serde_json::from_str::<Operation>(r#"{"op":"explode","table":"x"}"#).is_err());
    assert!(serde_json::from_str::<Operation>(
        r#"{"op":"delete","table":"x","where":[],"bogus":1}"#
    )
    .is_err());
}

#[test]
fn transact_results_and_errors() {
    let wire = format!(
        r#"[{{"uuid":["uuid","{U1}"]}},{{"count":2}},{{"rows":[{{"name":"sw0"}}]}},{{}},{{"error":"referential integrity violation","details":"cannot delete Logical_Switch row {U2} because of 1 remaining reference(s)"}},null,{{"error":"constraint violation","details":"x","syntax":"[]"}}]"#
    );
    let r = Reply::decode(Method::Transact, wire.as_bytes()).unwrap();
    let Reply::Transact(t) = r else {
        panic!("{r:?}")
    };
    assert_eq!(t.0[0], OperationResult::Insert { uuid: uuid(U1) });
    assert_eq!(t.0[1], OperationResult::Count { count: 2 });
    assert_eq!(
        t.0[2],
        OperationResult::Select {
            rows: vec![Row::new().with("name", Atom::from("sw0"))]
        }
    );
    assert_eq!(t.0[3], OperationResult::Empty);
    assert_eq!(t.0[5], OperationResult::NotExecuted);
    let (i, e) = t.first_error().unwrap();
    assert_eq!(i, 4);
    assert_eq!(e.kind, ErrorKind::ReferentialIntegrityViolation);
    assert!(e
        .details
        .as_deref()
        .unwrap()
        .starts_with("cannot delete Logical_Switch row"));
    let OperationResult::Error(last) = &t.0[6] else {
        panic!()
    };
    assert_eq!(last.kind, ErrorKind::ConstraintViolation);
    assert_eq!(last.extra.get("syntax"), Some(&json!("[]")));
    assert_eq!(text(&t), wire);
    for (s, k) in [
        ("timed out", ErrorKind::TimedOut),
        ("not owner", ErrorKind::NotOwner),
        ("permission error", ErrorKind::PermissionError),
        ("duplicate uuid", ErrorKind::DuplicateUuid),
        ("something new", ErrorKind::Other),
    ] {
        assert_eq!(OvsdbError::new(s, None).kind, k);
    }
}

fn lsp_table() -> (DatabaseSchema, TableSchema) {
    let schema = DatabaseSchema::from_json(&json!({
        "name": "T", "version": "1.0.0",
        "tables": {"Logical_Switch_Port": {"columns": {
            "name": {"type": "string"},
            "addresses": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
            "tag": {"type": {"key": {"type": "integer", "minInteger": 1, "maxInteger": 4095}, "min": 0, "max": 1}},
            "options": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
            "up": {"type": {"key": "boolean", "min": 0, "max": 1}},
            "enabled": {"type": {"key": "boolean", "min": 0, "max": 1}}
        }, "isRoot": true}}
    }))
    .unwrap();
    let t = schema.table("Logical_Switch_Port").unwrap().clone();
    (schema, t)
}

#[test]
fn update2_initial_fills_defaults_and_modify_applies_diffs() {
    // ovsdb-server.7 §4.1.14: initial/insert omit default columns; modify carries diffs.
    let (_, table) = lsp_table();
    let wire = format!(
        r#"{{"Logical_Switch_Port":{{"{U1}":{{"initial":{{"name":"lsp0","addresses":["set",["00:00:00:00:00:01 10.0.0.1","unknown"]],"options":["map",[["a","1"],["b","2"]]],"up":false}}}}}}}}"#
    );
    let Reply::MonitorCond(updates) = Reply::decode(Method::MonitorCond, wire.as_bytes()).unwrap()
    else {
        panic!()
    };
    let mut rows = std::collections::HashMap::new();
    for (u, upd) in updates.0["Logical_Switch_Port"].clone() {
        assert_eq!(
            apply_update2(&mut rows, "Logical_Switch_Port", &table, u, upd).unwrap(),
            Applied::Inserted
        );
    }
    let row = &rows[&uuid(U1)];
    assert_eq!(row.get("tag"), Some(&Datum::empty_set()), "default filled");
    assert_eq!(row.get("enabled"), Some(&Datum::empty_set()));

    // Set diff = symmetric difference; map diff = new keys, removed keys, changed values;
    // columns of at most one element (scalars, optional values) carry the new value, as
    // ovsdb-server's `ovsdb_datum_diff` writes them.
    let modify = r#"{"modify":{"name":"lsp0-renamed","addresses":["set",["unknown","router"]],"options":["map",[["a","1"],["b","3"],["c","4"]]],"up":true,"tag":7}}"#;
    let upd: RowUpdate2 = serde_json::from_str(modify).unwrap();
    assert_eq!(
        apply_update2(&mut rows, "Logical_Switch_Port", &table, uuid(U1), upd).unwrap(),
        Applied::Modified
    );
    let row = &rows[&uuid(U1)];
    assert_eq!(row.get("name"), Some(&Datum::scalar("lsp0-renamed")));
    assert_eq!(
        row.get("addresses"),
        Some(&Datum::set(["00:00:00:00:00:01 10.0.0.1", "router"]))
    );
    assert_eq!(
        row.get("options"),
        Some(&Datum::map([("b", "3"), ("c", "4")]))
    );
    assert_eq!(row.get("up"), Some(&Datum::scalar(true)));
    assert_eq!(row.get("tag"), Some(&Datum::scalar(7)));

    let upd: RowUpdate2 = serde_json::from_str(r#"{"delete":null}"#).unwrap();
    assert_eq!(
        apply_update2(&mut rows, "Logical_Switch_Port", &table, uuid(U1), upd).unwrap(),
        Applied::Deleted
    );
    assert!(rows.is_empty());
    // A modify of a row the replica does not have is the server's fault.
    let upd: RowUpdate2 = serde_json::from_str(r#"{"modify":{"up":true}}"#).unwrap();
    assert!(matches!(
        apply_update2(&mut rows, "Logical_Switch_Port", &table, uuid(U1), upd),
        Err(Error::Protocol(_))
    ));
    // A value that breaks the column type names table.column and the value.
    let upd: RowUpdate2 = serde_json::from_str(r#"{"insert":{"tag":5000}}"#).unwrap();
    let err = apply_update2(&mut rows, "Logical_Switch_Port", &table, uuid(U2), upd).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Logical_Switch_Port.tag: 5000 is outside the allowed range (value 5000)"
    );
    // Columns a newer server has are ignored.
    let upd: RowUpdate2 = serde_json::from_str(r#"{"insert":{"name":"x","brand_new":1}}"#).unwrap();
    apply_update2(&mut rows, "Logical_Switch_Port", &table, uuid(U2), upd).unwrap();
    assert!(rows[&uuid(U2)].get("brand_new").is_none());
}

#[test]
fn row_diff_is_what_apply_diff_undoes() {
    let (_, table) = lsp_table();
    let mut old = Row::new()
        .with("name", Atom::from("a"))
        .with("addresses", Datum::set(["x", "y"]))
        .with("options", Datum::map([("k", "1"), ("j", "2")]));
    old.fill_defaults(&table);
    let mut new = Row::new()
        .with("name", Atom::from("b"))
        .with("addresses", Datum::set(["y", "z"]))
        .with("options", Datum::map([("k", "9"), ("l", "3")]))
        .with("tag", Datum::scalar(3));
    new.fill_defaults(&table);
    let diff = Row::diff(&old, &new, &table);
    assert_eq!(
        text(&diff),
        r#"{"addresses":["set",["x","z"]],"name":"b","options":["map",[["j","2"],["k","9"],["l","3"]]],"tag":3}"#
    );
    let mut applied = old.clone();
    applied.apply_diff("T", diff, &table).unwrap();
    assert_eq!(applied, new);
}

#[test]
fn update_v1_and_update3_notifications() {
    let wire = format!(
        r#"{{"id":null,"method":"update","params":["mon",{{"Logical_Switch":{{"{U1}":{{"old":{{"name":"a"}},"new":{{"name":"b","ports":["set",[]]}}}}}}}}]}}"#
    );
    let Message::Notification { method, params } = Message::decode_slice(wire.as_bytes()).unwrap()
    else {
        panic!()
    };
    let Call::Update {
        monitor_id,
        updates,
    } = Call::decode(&method, params.as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!(monitor_id, json!("mon"));
    let (u, upd) = &updates.0["Logical_Switch"][0];
    assert_eq!(*u, uuid(U1));
    assert_eq!(
        upd.old.as_ref().unwrap().get("name"),
        Some(&Datum::scalar("a"))
    );

    let wire = format!(
        r#"{{"id":null,"method":"update3","params":[["OVN_Northbound","x"],"{U2}",{{"NB_Global":{{"{U1}":{{"modify":{{"nb_cfg":5}}}}}}}}]}}"#
    );
    let Message::Notification { method, params } = Message::decode_slice(wire.as_bytes()).unwrap()
    else {
        panic!()
    };
    let call = Call::decode(&method, params.as_bytes()).unwrap();
    let Call::Update3 {
        monitor_id,
        last_txn_id,
        updates,
    } = &call
    else {
        panic!()
    };
    assert_eq!(monitor_id, &json!(["OVN_Northbound", "x"]));
    assert_eq!(*last_txn_id, uuid(U2));
    assert_eq!(
        updates.0["NB_Global"][0].1,
        RowUpdate2::Modify(Row::new().with("nb_cfg", Datum::scalar(5)))
    );
    let mut out = Vec::new();
    call.encode(None, &mut out);
    assert_eq!(String::from_utf8(out).unwrap(), wire);
}

#[test]
fn monitor_cond_since_reply_and_requests() {
    let wire = format!(r#"[true,"{U1}",{{}}]"#);
    let Reply::MonitorCondSince(r) =
        Reply::decode(Method::MonitorCondSince, wire.as_bytes()).unwrap()
    else {
        panic!()
    };
    assert!(r.found);
    assert_eq!(r.last_txn_id, uuid(U1));
    assert!(r.updates.0.is_empty());

    // A bare monitor-request is accepted where an array is expected (RFC 7047 §4.1.5).
    let params = r#"["OVN_Northbound",null,{"Logical_Router":{"columns":["name"]},"ACL":[{"where":[["priority",">",1000]],"select":{"initial":true,"insert":true,"delete":true,"modify":false}}]},"00000000-0000-0000-0000-000000000000"]"#;
    let call = Call::decode("monitor_cond_since", params.as_bytes()).unwrap();
    let Call::MonitorCondSince {
        requests,
        last_txn_id,
        ..
    } = &call
    else {
        panic!()
    };
    assert_eq!(*last_txn_id, Uuid::nil());
    assert_eq!(
        requests.0["Logical_Router"][0].columns,
        Some(vec!["name".to_string()])
    );
    assert!(!requests.0["ACL"][0].select.unwrap().modify);
    assert_eq!(
        call.params_json(),
        r#"["OVN_Northbound",null,{"ACL":[{"where":[["priority",">",1000]],"select":{"initial":true,"insert":true,"delete":true,"modify":false}}],"Logical_Router":[{"columns":["name"]}]},"00000000-0000-0000-0000-000000000000"]"#
    );
}

#[test]
fn envelopes_of_requests_notifications_responses_and_errors() {
    // RFC 7047 §4.1.11: echo.
    let m = Message::decode_slice(br#"{"method":"echo","params":[],"id":"echo"}"#).unwrap();
    let Message::Request { id, method, params } = m else {
        panic!()
    };
    assert_eq!(
        (id, method.as_str(), params.as_bytes()),
        (json!("echo"), "echo", &b"[]"[..])
    );
    let m = Message::decode_slice(br#"{"id":3,"result":{"locked":true},"error":null}"#).unwrap();
    let Message::Response { id, result } = m else {
        panic!()
    };
    assert_eq!(id, json!(3));
    assert_eq!(
        Reply::decode(Method::Lock, result.as_bytes()).unwrap(),
        Reply::Lock { locked: true }
    );
    let m = Message::decode_slice(br#"{"id":4,"result":null,"error":"unknown method"}"#).unwrap();
    assert_eq!(
        m,
        Message::Error {
            id: json!(4),
            error: json!("unknown method")
        }
    );
    let m = Message::decode_slice(br#"{"id":null,"method":"locked","params":["ovn_ic"]}"#).unwrap();
    let Message::Notification { method, params } = m else {
        panic!()
    };
    assert_eq!(
        Call::decode(&method, params.as_bytes()).unwrap(),
        Call::Locked {
            lock: "ovn_ic".into()
        }
    );
    // Errors carry a position and never panic.
    for bad in [
        &b"{}"[..],
        b"[1,2]",
        b"{\"method\":\"echo\",\"params\":{},\"id\":1}",
        b"{\"id\":1,",
        b"{\"id\":1}",
    ] {
        let e = Message::decode_slice(bad).unwrap_err();
        assert!(matches!(e, Error::Decode(_)), "{e}");
    }
    let e = Message::decode_slice(b"{\"id\":1,\n \"result\": [1,}").unwrap_err();
    assert!(e.to_string().contains("line 2 column"), "{e}");
    assert!(Call::decode("no_such_method", b"[]").is_err());
    // Encoding gives back the same envelope.
    for wire in [
        r#"{"id":"echo","method":"echo","params":[]}"#,
        r#"{"id":null,"method":"stolen","params":["l"]}"#,
        r#"{"id":1,"result":["a"],"error":null}"#,
        r#"{"id":2,"result":null,"error":{"error":"syntax error"}}"#,
    ] {
        let mut out = Vec::new();
        Message::decode_slice(wire.as_bytes())
            .unwrap()
            .encode(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), wire);
    }
}

#[test]
fn every_method_encodes_to_its_documented_params() {
    let cases: Vec<(Call, &str)> = vec![
        (Call::ListDbs, r#"[]"#),
        (
            Call::GetSchema {
                db: "OVN_Northbound".into(),
            },
            r#"["OVN_Northbound"]"#,
        ),
        (Call::Cancel { id: json!(5) }, r#"[5]"#),
        (
            Call::Monitor {
                db: "db".into(),
                monitor_id: json!(null),
                requests: MonitorRequests::default().with("T", MonitorRequest::default()),
            },
            r#"["db",null,{"T":[{}]}]"#,
        ),
        (
            Call::MonitorCondChange {
                monitor_id: json!("a"),
                new_monitor_id: json!("b"),
                requests: MonitorRequests::default().with(
                    "T",
                    MonitorRequest {
                        conditions: Some(vec![Condition::Bool(false)]),
                        ..Default::default()
                    },
                ),
            },
            r#"["a","b",{"T":[{"where":[false]}]}]"#,
        ),
        (
            Call::MonitorCancel {
                monitor_id: json!("a"),
            },
            r#"["a"]"#,
        ),
        (
            Call::Lock {
                lock: "ovn_ic".into(),
            },
            r#"["ovn_ic"]"#,
        ),
        (
            Call::Steal {
                lock: "ovn_ic".into(),
            },
            r#"["ovn_ic"]"#,
        ),
        (
            Call::Unlock {
                lock: "ovn_ic".into(),
            },
            r#"["ovn_ic"]"#,
        ),
        (Call::Echo(vec![json!("x"), json!(1)]), r#"["x",1]"#),
        (Call::SetDbChangeAware(true), r#"[true]"#),
        (Call::GetServerId, r#"[]"#),
        (
            Call::MonitorCanceled {
                monitor_id: json!("a"),
            },
            r#"["a"]"#,
        ),
        (
            Call::Convert {
                db: "db".into(),
                schema: json!({"name": "db"}),
            },
            r#"["db",{"name":"db"}]"#,
        ),
    ];
    for (call, params) in cases {
        assert_eq!(call.params_json(), params, "{:?}", call.method());
        assert_eq!(
            Call::decode(call.method().as_str(), params.as_bytes()).unwrap(),
            call
        );
    }
    assert_eq!(
        Reply::decode(Method::GetServerId, format!("\"{U1}\"").as_bytes()).unwrap(),
        Reply::ServerId(uuid(U1))
    );
    assert_eq!(
        Reply::decode(Method::MonitorCondChange, b"{}").unwrap(),
        Reply::Empty
    );
}

#[test]
fn schema_parses_and_round_trips() {
    let text = r#"{
      "name": "OVN_IC_Northbound", "version": "1.0.0", "cksum": "1 2",
      "tables": {
        "Transit_Switch": {
          "columns": {
            "name": {"type": "string"},
            "other_config": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
            "external_ids": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}},
          "isRoot": true, "indexes": [["name"]]},
        "Route": {
          "columns": {
            "ts": {"type": {"key": {"type": "uuid", "refTable": "Transit_Switch", "refType": "weak"}, "min": 0, "max": 1}},
            "origin": {"type": {"key": {"type": "string", "enum": ["set", ["connected", "static"]]}}, "ephemeral": true},
            "prio": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 32767}}, "mutable": false}},
          "maxRows": 10}}}"#;
    let s = DatabaseSchema::from_slice(text.as_bytes()).unwrap();
    assert_eq!(s.name, "OVN_IC_Northbound");
    assert_eq!(s.version_triple(), Some((1, 0, 0)));
    assert_eq!(s.cksum.as_deref(), Some("1 2"));
    let ts = &s.tables["Transit_Switch"];
    assert!(ts.is_root);
    assert_eq!(ts.indexes, vec![vec!["name".to_string()]]);
    assert!(ts.columns["other_config"].type_.is_map());
    let route = &s.tables["Route"];
    assert_eq!(route.max_rows, Some(10));
    assert!(!s.is_root("Route"));
    let tsref = &route.columns["ts"].type_;
    assert!(tsref.is_optional());
    assert_eq!(tsref.key.ref_table.as_deref(), Some("Transit_Switch"));
    assert_eq!(tsref.key.ref_type, RefType::Weak);
    assert!(route.columns["origin"].ephemeral);
    assert!(!route.columns["prio"].mutable);
    assert_eq!(route.columns["prio"].type_.key.max_integer, Some(32767));
    assert_eq!(DatabaseSchema::from_json(&s.to_json()).unwrap(), s);
    // A schema without any root table: every table is a root (pre-isRoot schemas).
    let old = DatabaseSchema::from_json(
        &json!({"name":"x","tables":{"A":{"columns":{}},"B":{"columns":{}}}}),
    )
    .unwrap();
    assert!(old.is_root("A") && old.is_root("B"));
}

#[test]
fn bad_schemas_name_the_place() {
    let cases = [
        (
            json!({"name":"x","tables":{"T":{"columns":{"c":{"type":"float"}}}}}),
            "T.c: unknown atomic type",
        ),
        (
            json!({"name":"x","tables":{"T":{"columns":{"c":{"type":{"key":"string","min":2}}}}}}),
            "T.c.min: min must be 0 or 1",
        ),
        (
            json!({"name":"x","tables":{"T":{"columns":{"c":{"type":{"key":{"type":"uuid","refTable":"Nope"}}}}}}}),
            "T.c: refTable names an unknown table",
        ),
        (
            json!({"name":"x","tables":{"T":{"columns":{},"indexes":[["zz"]]}}}),
            "T.indexes: index names an unknown column",
        ),
        (
            json!({"name":"x","version":"1.0","tables":{}}),
            "schema.version: version must be x.y.z",
        ),
        (
            json!({"name":"x","tables":{"T":{"columns":{"_c":{"type":"string"}}}}}),
            "T._c: invalid column name",
        ),
    ];
    for (v, want) in cases {
        let e = DatabaseSchema::from_json(&v).unwrap_err();
        assert!(e.to_string().starts_with(want), "{e} vs {want}");
    }
    assert!(matches!(
        DatabaseSchema::from_slice(b"{\"name\":"),
        Err(Error::Decode(_))
    ));
}

fn reply_of(conn: &mut Connection) -> (RequestId, std::result::Result<Reply, CallError>) {
    match conn.poll_event() {
        Some(Event::Reply { id, result, .. }) => (id, result),
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn connection_matches_replies_answers_echo_and_probes() {
    let t0 = Instant::now();
    let mut c = Connection::new(ConnectionConfig::default(), t0);
    let a = c.call(Call::GetSchema {
        db: "OVN_Northbound".into(),
    });
    let b = c.call(Call::Lock {
        lock: "ovn_ic".into(),
    });
    assert_eq!(c.pending_calls(), 2);
    assert_eq!(
        String::from_utf8(c.poll_transmit().unwrap()).unwrap(),
        r#"{"id":0,"method":"get_schema","params":["OVN_Northbound"]}{"id":1,"method":"lock","params":["ovn_ic"]}"#
    );
    // Replies out of order, split across reads, with a server echo in between.
    let input = br#"{"id":1,"result":{"locked":false},"error":null} {"id":"echo","method":"echo","params":[42]}{"id":0,"result":null,"error":{"error":"unknown database","details":"OVN_Northbound"}}"#;
    let (x, y) = input.split_at(30);
    c.handle_input(x, t0).unwrap();
    assert!(c.poll_event().is_none());
    c.handle_input(y, t0).unwrap();
    assert_eq!(reply_of(&mut c).0, b);
    let (id, r) = reply_of(&mut c);
    assert_eq!(id, a);
    let Err(CallError::Server(e)) = r else {
        panic!()
    };
    assert_eq!(
        (e.kind, e.details.as_deref()),
        (ErrorKind::UnknownDatabase, Some("OVN_Northbound"))
    );
    assert_eq!(
        String::from_utf8(c.poll_transmit().unwrap()).unwrap(),
        r#"{"id":"echo","result":[42],"error":null}"#
    );
    assert_eq!(c.pending_calls(), 0);

    // Inactivity probe: echo after 5 s of silence, dead after 5 more.
    assert_eq!(c.poll_timeout(), Some(t0 + DEFAULT_PROBE_INTERVAL));
    c.handle_timeout(t0 + Duration::from_millis(4999));
    assert!(c.poll_transmit().is_none());
    c.handle_timeout(t0 + DEFAULT_PROBE_INTERVAL);
    assert_eq!(
        String::from_utf8(c.poll_transmit().unwrap()).unwrap(),
        r#"{"id":"echo","method":"echo","params":[]}"#
    );
    // The probe's answer (or any byte) counts as life.
    let t1 = t0 + Duration::from_secs(7);
    c.handle_input(br#"{"id":"echo","result":[],"error":null}"#, t1)
        .unwrap();
    assert!(c.poll_event().is_none());
    assert_eq!(c.poll_timeout(), Some(t1 + DEFAULT_PROBE_INTERVAL));
    c.handle_timeout(t1 + DEFAULT_PROBE_INTERVAL);
    c.handle_timeout(t1 + DEFAULT_PROBE_INTERVAL * 2);
    assert!(matches!(c.poll_event(), Some(Event::ProbeTimeout)));
    assert!(c.is_dead());
}

#[test]
fn connection_reports_misbehaviour_without_losing_later_messages() {
    let t0 = Instant::now();
    let mut c = Connection::new(ConnectionConfig::default().probe_interval(None), t0);
    assert_eq!(c.poll_timeout(), None);
    let id = c.call(Call::ListDbs);
    c.handle_input(br#"{"id":99,"result":[],"error":null}{"id":0,"result":{"not":"a list"},"error":null}{"id":null,"method":"stolen","params":["l"]}"#, t0)
        .unwrap();
    assert!(matches!(
        c.poll_event(),
        Some(Event::Malformed(Error::Protocol(_)))
    ));
    let (got, r) = reply_of(&mut c);
    assert_eq!(got, id);
    assert!(matches!(r, Err(CallError::Malformed(Error::Decode(_)))));
    assert!(
        matches!(c.poll_event(), Some(Event::Notification(Call::Stolen { lock })) if lock == "l")
    );
    // A broken stream is an error of handle_input.
    assert!(matches!(
        c.handle_input(b"]", t0),
        Err(Error::Framing { .. })
    ));
    assert!(c.is_dead());
    let mut small = Connection::new(ConnectionConfig::default().max_message_len(16), t0);
    assert!(matches!(
        small.handle_input(br#"{"id":1,"result":"0123456789"}"#, t0),
        Err(Error::FrameTooLarge { limit: 16, .. })
    ));
}

/// Found by the `update_apply` fuzz target: a modify that breaks the column's bounds must
/// leave the row as it was, all columns included.
#[test]
fn failed_modify_leaves_the_row_unchanged() {
    let (_, table) = lsp_table();
    let mut bounded = table.clone();
    let mut trunks = ColumnType::new(BaseType::new(AtomicType::Integer), None, 0, Some(4));
    trunks.min = 0;
    bounded
        .columns
        .insert("trunks".into(), ColumnSchema::new(trunks));
    let mut rows = std::collections::HashMap::new();
    let ins: RowUpdate2 =
        serde_json::from_str(r#"{"insert":{"name":"a","trunks":["set",[1,2,3,4]]}}"#).unwrap();
    apply_update2(&mut rows, "T", &bounded, uuid(U1), ins).unwrap();
    let before = rows[&uuid(U1)].clone();
    let bad: RowUpdate2 = serde_json::from_str(r#"{"modify":{"name":"b","trunks":5}}"#).unwrap();
    let err = apply_update2(&mut rows, "T", &bounded, uuid(U1), bad).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("T.trunks: diff leaves 5 elements"),
        "{err}"
    );
    assert_eq!(rows[&uuid(U1)], before);
}

/// Found by reading the fuzz targets: a weak reference type without a table survives the
/// schema round trip, and array envelopes are not messages.
#[test]
fn schema_weak_ref_round_trip_and_array_envelopes() {
    let s = DatabaseSchema::from_json(&json!({"name":"S","tables":{"T":{"columns":{
        "c":{"type":{"key":{"type":"uuid","refType":"weak"}}}}}}}))
    .unwrap();
    assert_eq!(DatabaseSchema::from_json(&s.to_json()).unwrap(), s);
    assert!(Message::decode_slice(br#"[1,"echo",[]]"#).is_err());
}

#[test]
fn single_pass_responses_in_any_member_order() {
    for wire in [
        r#"{"id":3,"result":["a","b"],"error":null}"#,
        r#"{"error":null,"result":["a","b"],"id":3}"#,
        r#"{"result":["a","b"],"id":3}"#,
    ] {
        let r = Message::decode_response::<Vec<String>>(wire.as_bytes(), "list_dbs reply").unwrap();
        assert_eq!(
            r,
            Response::Ok {
                id: json!(3),
                result: vec!["a".to_string(), "b".to_string()]
            },
            "{wire}"
        );
    }
    let r = Message::decode_response::<Vec<String>>(
        br#"{"id":4,"result":null,"error":"unknown method"}"#,
        "x",
    )
    .unwrap();
    assert_eq!(
        r,
        Response::Err {
            id: json!(4),
            error: json!("unknown method")
        }
    );
    assert!(Message::decode_response::<Vec<String>>(br#"{"id":4,"result":[1]}"#, "x").is_err());
    assert!(Message::decode_response::<Vec<String>>(br#"{"id":4}"#, "x").is_err());
    assert!(Message::decode_response::<Vec<String>>(br#"[1]"#, "x").is_err());
}
