//! Typed decoding straight from the wire (`Deserialize` of the generated structs and of
//! `TableUpdates2`) agrees with the generic path (`Row`/`Datum`, then `from_row`).

use std::collections::HashMap;

use bytes::Bytes;
use ovn_nb::{Acl, AclAction, LogicalSwitchPort, TableUpdates2};
use ovsdb_proto::typed::{Table, TypedRowUpdate2, TypedTableUpdate2};
use ovsdb_proto::{Applied, Message, RowUpdate2, Uuid};

fn result(reply: Vec<u8>) -> ovsdb_proto::Payload {
    match Message::decode(Bytes::from(reply)).unwrap() {
        Message::Response { result, .. } => result,
        other => panic!("not a response: {other:?}"),
    }
}

#[test]
fn monitor_cond_reply_decodes_like_the_row_path() {
    let payload = result(ovnlink_testkit::gen::lsp_monitor_cond_reply(1000, 1));

    let typed: TableUpdates2 = payload.decode("monitor_cond reply").unwrap();
    let generic: ovsdb_proto::TableUpdates2 = payload.decode("monitor_cond reply").unwrap();
    let rows = &generic.0["Logical_Switch_Port"];
    assert_eq!(typed.logical_switch_port.0.len(), 1000);
    assert_eq!(rows.len(), 1000);
    assert!(typed.acl.0.is_empty());

    for ((u1, t), (u2, g)) in typed.logical_switch_port.0.iter().zip(rows) {
        assert_eq!(u1, u2);
        let (TypedRowUpdate2::Initial(t), RowUpdate2::Initial(g)) = (t, g) else {
            panic!("not initial rows: {t:?} {g:?}");
        };
        let from_row = LogicalSwitchPort::from_row(*u2, g).unwrap();
        assert_eq!(t, &from_row);
        assert_eq!(t.uuid, *u1);
    }

    // The rows look like Kube-OVN pods.
    let (_, TypedRowUpdate2::Initial(first)) = &typed.logical_switch_port.0[0] else {
        panic!("not an initial row");
    };
    assert!(first.name.contains('.'), "{first:?}");
    assert!(!first.addresses.is_empty());
    assert!(first.external_ids.contains_key("pod"));
    assert!(first.options.contains_key("requested-chassis"));

    // Into a replica.
    let mut replica = HashMap::new();
    for (uuid, change) in typed.logical_switch_port.0 {
        assert_eq!(change.apply(&mut replica, uuid).unwrap(), Applied::Inserted);
    }
    assert_eq!(replica.len(), 1000);
}

#[test]
fn every_kind_of_row_update() {
    let u1 = "00000000-0000-0000-0000-000000000001";
    let u2 = "00000000-0000-0000-0000-000000000002";
    let json = format!(
        r#"{{"ACL":{{
            "{u1}":{{"insert":{{"action":"allow-related","priority":1001,"match":"ip4",
                               "direction":"to-lport","future_column":["set",[1,2]],
                               "log":true,"severity":["set",[]],"meter":"m"}}}},
            "{u2}":{{"modify":{{"priority":7}}}}
        }},"Some_Future_Table":{{"{u1}":{{"delete":null}}}},
        "Logical_Switch_Port":{{"{u2}":{{"delete":null}}}}}}"#
    );
    let updates: TableUpdates2 = serde_json::from_str(&json).unwrap();
    let uuid = Uuid::from_u128(1);
    let [(got_uuid, TypedRowUpdate2::Insert(acl)), (_, TypedRowUpdate2::Modify(diff))] =
        updates.acl.0.as_slice()
    else {
        panic!("{updates:?}");
    };
    assert_eq!(*got_uuid, uuid);
    assert_eq!(acl.uuid, uuid);
    assert_eq!(acl.action, AclAction::AllowRelated);
    assert_eq!(acl.priority, 1001);
    assert_eq!(acl.match_, "ip4");
    assert!(acl.log);
    assert_eq!(acl.severity, None);
    assert_eq!(acl.meter.as_deref(), Some("m"));
    assert_eq!(diff.len(), 1);
    assert_eq!(
        updates.logical_switch_port.0,
        [(Uuid::from_u128(2), TypedRowUpdate2::Delete)]
    );

    // The same row through the generic path.
    let generic: ovsdb_proto::TableUpdates2 = serde_json::from_str(&json).unwrap();
    let RowUpdate2::Insert(row) = &generic.0["ACL"][0].1 else {
        panic!("not an insert");
    };
    assert_eq!(&Acl::from_row(uuid, row).unwrap(), acl);
}

#[test]
fn wire_errors_name_the_column() {
    let cases = [
        (
            r#"{"priority":"high"}"#,
            "ACL.priority: expected integer, got string \"high\"",
        ),
        (
            r#"{"priority":40000}"#,
            "ACL.priority: 40000 is outside the allowed range",
        ),
        (
            r#"{"action":7}"#,
            "ACL.action: expected string, got integer 7",
        ),
        (
            r#"{"name":["set",["a","b"]]}"#,
            "ACL.name: 2 elements, more than the maximum 1",
        ),
        (
            r#"{"external_ids":"x"}"#,
            "ACL.external_ids: expected a map, got a set",
        ),
        (
            r#"{"external_ids":["map",[["a","1"],["a","2"]]]}"#,
            "ACL.external_ids: map contains duplicate key \"a\"",
        ),
        (
            r#"{"label":18446744073709551615}"#,
            "ACL.label: integer 18446744073709551615 out of 64-bit signed range",
        ),
    ];
    for (json, want) in cases {
        let err = serde_json::from_str::<Acl>(json).unwrap_err().to_string();
        assert!(err.starts_with(want), "{json}: {err}");
    }
    let err = serde_json::from_str::<LogicalSwitchPort>(r#"{"addresses":["set",["a","a"]]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(r#"Logical_Switch_Port.addresses: set contains duplicate value "a""#),
        "{err}"
    );
    let err = serde_json::from_str::<LogicalSwitchPort>(r#"{"dhcpv4_options":["named-uuid","x"]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(r#"Logical_Switch_Port.dhcpv4_options: named UUID "x""#),
        "{err}"
    );
}

#[test]
fn refs_and_unlisted_enum_values_from_the_wire() {
    let lsp: LogicalSwitchPort = serde_json::from_str(
        r#"{"dhcpv4_options":["uuid","00000000-0000-0000-0000-00000000000a"],
            "mirror_rules":["set",[["uuid","00000000-0000-0000-0000-00000000000c"],
                                   ["uuid","00000000-0000-0000-0000-00000000000b"]]],
            "tag":["set",[]],"tag_request":5,"enabled":false}"#,
    )
    .unwrap();
    assert_eq!(lsp.dhcpv4_options.unwrap().uuid(), Uuid::from_u128(10));
    let mirrors: Vec<Uuid> = lsp.mirror_rules.iter().map(|r| r.uuid()).collect();
    assert_eq!(mirrors, [Uuid::from_u128(11), Uuid::from_u128(12)]);
    assert_eq!(
        (lsp.tag, lsp.tag_request, lsp.enabled),
        (None, Some(5), Some(false))
    );
    // `pass` is listed since 23.06; a value no pinned release lists goes to `Other`.
    let acl: Acl = serde_json::from_str(r#"{"action":"pass"}"#).unwrap();
    assert!(matches!(acl.action, AclAction::Pass));
    let acl: Acl = serde_json::from_str(r#"{"action":"redirect"}"#).unwrap();
    assert!(matches!(&acl.action, AclAction::Other(s) if s == "redirect"));
}

#[test]
fn malformed_row_updates_are_errors_on_both_typed_paths() {
    let u1 = "00000000-0000-0000-0000-000000000001";
    let cases = [
        (format!(r#"{{"{u1}":{{}}}}"#), "<row-update2> is empty"),
        (
            format!(r#"{{"{u1}":{{"insert":{{"name":"a"}},"delete":null}}}}"#),
            "<row-update2> has more than one member",
        ),
        (
            format!(r#"{{"{u1}":{{"upsert":{{}}}}}}"#),
            "unknown field `upsert`",
        ),
        (
            format!(r#"{{"{u1}":{{"initial":{{"name":7}}}}}}"#),
            "Logical_Switch_Port.name: expected string",
        ),
    ];
    for (json, want) in &cases {
        let err = serde_json::from_str::<TypedTableUpdate2<LogicalSwitchPort>>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{json}: {err}");
        let mut rows = HashMap::new();
        let err = ovsdb_proto::typed::apply_table_update2_json::<LogicalSwitchPort>(
            json.as_bytes(),
            &mut rows,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(want), "{json}: {err}");
    }

    // A well-formed list applies row by row, in order.
    let u2 = "00000000-0000-0000-0000-000000000002";
    let json = format!(
        r#"{{"{u1}":{{"insert":{{"name":"a","up":true}}}},"{u2}":{{"initial":{{"name":"b"}}}},
            "{u1}":{{"modify":{{"name":"c"}}}}}}"#
    );
    let mut rows = HashMap::new();
    let applied = ovsdb_proto::typed::apply_table_update2_json::<LogicalSwitchPort>(
        json.as_bytes(),
        &mut rows,
    )
    .unwrap();
    assert_eq!(applied.len(), 3);
    let a = &rows[&Uuid::from_u128(1)];
    assert_eq!(
        (a.uuid, a.name.as_str(), a.up),
        (Uuid::from_u128(1), "c", Some(true))
    );
    assert_eq!(rows[&Uuid::from_u128(2)].name, "b");
}
