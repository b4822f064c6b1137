//! Unit tests of schema skew: releases, merging them into one model, release detection
//! and the write check.

use super::*;
use crate::operation::Mutation;

const V1: &str = r#"{"name":"IC","version":"1.1.1","tables":{
        "Zone":{"columns":{"name":{"type":"string"},
            "nets":{"type":{"key":"string","min":1,"max":"unlimited"}},
            "key":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":32}}}},
            "isRoot":true,"indexes":[["name"]]},
        "Encap":{"columns":{"type":{"type":{"key":{"type":"string",
            "enum":["set",["geneve","stt","vxlan"]]}}}},"isRoot":true}}}"#;
const V2: &str = r#"{"name":"IC","version":"1.2.0","tables":{
        "Zone":{"columns":{"name":{"type":"string"},
            "nets":{"type":{"key":"string","min":0,"max":"unlimited"}},
            "key":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":33}}},
            "cfg":{"type":"integer"},
            "ids":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
            "peer":{"type":{"key":"string","min":0,"max":1}}},
            "isRoot":true,"indexes":[["name"]]},
        "Encap":{"columns":{"type":{"type":{"key":{"type":"string",
            "enum":["set",["geneve","vxlan"]]}}}},"isRoot":true},
        "Monitor":{"columns":{"port":{"type":"string"}},"isRoot":true}}}"#;

fn history() -> SchemaHistory {
    SchemaHistory::new(vec![
        PinnedSchema::new(Release::new("23.03.1"), "1.1.1", V1),
        PinnedSchema::new(Release::new("23.06.0"), "1.1.1", V1),
        PinnedSchema::new(Release::new("24.03.0"), "1.2.0", V2),
    ])
    .unwrap()
}

fn old_server() -> DatabaseSchema {
    DatabaseSchema::from_slice(V1.as_bytes()).unwrap()
}

fn skew(r: Result<usize>) -> SkewError {
    match r {
        Err(Error::Skew(e)) => *e,
        other => panic!("expected a skew error, got {other:?}"),
    }
}

#[test]
fn releases_parse_order_and_print_as_written() {
    let r = Release::new("25.03.0");
    assert_eq!((r.major(), r.minor(), r.patch()), (25, 3, 0));
    assert_eq!(r.to_string(), "25.03.0");
    assert_eq!(
        "v26.03.2".parse::<Release>().unwrap().to_string(),
        "26.03.2"
    );
    assert_eq!(Release::new("3.5").to_string(), "3.5.0");
    assert_eq!(Release::new("25.3.0"), r);
    assert!(Release::new("23.03.1") < Release::new("23.06.0"));
    assert!(Release::new("24.09.0") < Release::new("25.03.0"));
    for bad in [
        "",
        "25",
        "25.",
        ".3",
        "25.03.0.1",
        "a.b",
        "25.03.x",
        "70000.1",
        "1.000001",
    ] {
        assert_eq!(Release::parse(bad), None, "{bad:?}");
        assert!(bad.parse::<Release>().is_err());
    }
    assert_eq!(format!("{r:?}"), "Release(25.03.0)");
}

#[test]
fn the_model_is_the_loosest_superset() {
    let h = history();
    let m = h.model();
    assert_eq!(m.version.as_deref(), Some("1.2.0"));
    assert_eq!(m.cksum, None);
    let zone = m.table("Zone").unwrap();
    assert_eq!(zone.columns["nets"].type_.min, 0);
    assert_eq!(zone.columns["key"].type_.key.max_integer, Some(33));
    assert!(zone.columns.contains_key("cfg"));
    let encap = &m.table("Encap").unwrap().columns["type"].type_.key;
    let listed: Vec<_> = encap
        .enumeration
        .as_ref()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(listed, ["geneve", "stt", "vxlan"]);
    assert!(m.table("Monitor").is_some());
    assert_eq!(h.table_since("Monitor"), Some(Release::new("24.03.0")));
    assert_eq!(h.table_since("Zone"), Some(Release::new("23.03.1")));
    assert_eq!(h.column_since("Zone", "cfg"), Some(Release::new("24.03.0")));
    assert_eq!(
        h.column_since("Zone", "name"),
        Some(Release::new("23.03.1"))
    );
    assert_eq!(h.column_since("Zone", "nope"), None);
    assert_eq!(h.newest().release, Release::new("24.03.0"));
    assert_eq!(
        h.pinned_of(Release::new("23.06.0")).unwrap().version,
        "1.1.1"
    );
}

#[test]
fn conflicting_releases_are_errors() {
    let v3 = V2
        .replace(r#""cfg":{"type":"integer"}"#, r#""cfg":{"type":"string"}"#)
        .replace("1.2.0", "1.3.0");
    let err = SchemaHistory::new(vec![
        PinnedSchema::new(Release::new("24.03.0"), "1.2.0", V2),
        PinnedSchema::owned(Release::new("25.03.0"), v3).unwrap(),
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Zone.cfg: the atomic type changes between releases (integer and string)"
    );
    let err = SchemaHistory::new(vec![
        PinnedSchema::new(Release::new("24.03.0"), "1.2.0", V2),
        PinnedSchema::new(Release::new("23.03.1"), "1.1.1", V1),
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "release 23.03.1: releases must increase (after 24.03.0)"
    );
    let err = SchemaHistory::new(vec![PinnedSchema::new(
        Release::new("24.03.0"),
        "9.9.9",
        V2,
    )])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "release 24.03.0: the pinned version differs from the schema's \"1.2.0\" (value 9.9.9)"
    );
    assert!(SchemaHistory::new(Vec::new()).is_err());
}

#[test]
fn release_detection_by_version() {
    let h = history();
    let old = h.release_of(&old_server()).unwrap();
    assert_eq!(
        (old.oldest, old.newest, old.exact),
        (Release::new("23.03.1"), Release::new("23.06.0"), true)
    );
    assert_eq!(old.to_string(), "23.03.1 to 23.06.0");
    let new = h.release_of(&h.newest().schema().unwrap()).unwrap();
    assert_eq!(new.to_string(), "24.03.0");
    let mut between = old_server();
    between.version = Some("1.1.5".into());
    assert_eq!(
        h.release_of(&between).unwrap().to_string(),
        "23.03.1 to 23.06.0 or newer"
    );
    between.version = Some("2.0.0".into());
    assert_eq!(
        h.release_of(&between).unwrap().to_string(),
        "24.03.0 or newer"
    );
    between.version = Some("1.0.0".into());
    assert_eq!(h.release_of(&between), None);
    between.version = None;
    assert_eq!(h.release_of(&between), None);
    let mut other = old_server();
    other.name = "Other".into();
    assert_eq!(h.release_of(&other), None);
}

#[test]
fn missing_lists_tables_and_columns_with_their_release() {
    let h = history();
    let missing: Vec<String> = h
        .missing(&old_server())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        missing,
        [
            "table Monitor (since 24.03.0)",
            "Zone.cfg (since 24.03.0)",
            "Zone.ids (since 24.03.0)",
            "Zone.peer (since 24.03.0)"
        ]
    );
    assert!(h.missing(&h.newest().schema().unwrap()).is_empty());
}

fn insert(row: Row) -> Operation {
    Operation::Insert {
        table: "Zone".into(),
        row,
        uuid_name: None,
        uuid: None,
    }
}

#[test]
fn defaults_of_missing_columns_are_dropped() {
    let h = history();
    let server = old_server();
    let mut ops = vec![
        insert(
            Row::new()
                .with("name", Datum::scalar("az1"))
                .with("cfg", Datum::scalar(0))
                .with("ids", Datum::Map(Default::default()))
                .with("peer", Datum::empty_set()),
        ),
        Operation::Select {
            table: "Zone".into(),
            conditions: vec![],
            columns: Some(vec!["name".into(), "cfg".into()]),
        },
        Operation::Mutate {
            table: "Zone".into(),
            conditions: vec![Condition::eq("name", Datum::scalar("az1"))],
            mutations: vec![
                Mutation::new("ids", Mutator::Delete, Datum::set(["k"])),
                Mutation::new("name", Mutator::Insert, Datum::empty_set()),
            ],
        },
        Operation::Wait {
            table: "Zone".into(),
            conditions: vec![],
            columns: vec!["name".into(), "cfg".into()],
            until: crate::WaitUntil::Equal,
            rows: vec![Row::new()
                .with("name", Datum::scalar("az1"))
                .with("cfg", Datum::scalar(0))],
            timeout: Some(0),
        },
    ];
    assert_eq!(h.check(&mut ops, &server).unwrap(), 7);
    assert_eq!(
        ops[0],
        insert(Row::new().with("name", Datum::scalar("az1")))
    );
    let Operation::Select { columns, .. } = &ops[1] else {
        panic!()
    };
    assert_eq!(columns.as_deref(), Some(&["name".to_owned()][..]));
    let Operation::Mutate { mutations, .. } = &ops[2] else {
        panic!()
    };
    assert_eq!(mutations.len(), 1);
    let Operation::Wait { columns, rows, .. } = &ops[3] else {
        panic!()
    };
    assert_eq!(columns, &["name"]);
    assert_eq!(rows, &[Row::new().with("name", Datum::scalar("az1"))]);
    // Against the newest schema, nothing changes.
    let mut same = vec![insert(Row::new().with("cfg", Datum::scalar(0)))];
    assert_eq!(
        h.check(&mut same, &h.newest().schema().unwrap()).unwrap(),
        0
    );
    assert_eq!(same, [insert(Row::new().with("cfg", Datum::scalar(0)))]);
}

#[test]
fn other_values_tables_and_conditions_are_refused() {
    let h = history();
    let server = old_server();
    let original = vec![
        insert(Row::new().with("peer", Datum::empty_set())),
        insert(
            Row::new()
                .with("name", Datum::scalar("az1"))
                .with("cfg", Datum::scalar(5)),
        ),
    ];
    let mut ops = original.clone();
    let e = skew(h.check(&mut ops, &server));
    assert_eq!(ops, original, "nothing is dropped when the check fails");
    assert_eq!(
        (e.operation, e.table.as_str(), e.column.as_deref(), e.usage),
        (1, "Zone", Some("cfg"), SkewUse::Value)
    );
    assert_eq!(e.since, Some(Release::new("24.03.0")));
    assert_eq!(e.server_version.as_deref(), Some("1.1.1"));
    assert_eq!(
        e.to_string(),
        "IC 1.1.1 has no column Zone.cfg (first in release 24.03.0); operation 1 writes 5; \
             nothing was sent"
    );
    // An optional column holding a value is not its default, even a zero-like one.
    let mut ops = vec![insert(Row::new().with("peer", Datum::scalar("")))];
    assert_eq!(skew(h.check(&mut ops, &server)).usage, SkewUse::Value);

    let mut ops = vec![Operation::Insert {
        table: "Monitor".into(),
        row: Row::new(),
        uuid_name: None,
        uuid: None,
    }];
    let e = skew(h.check(&mut ops, &server));
    assert_eq!(
        e.to_string(),
        "IC 1.1.1 has no table Monitor (first in release 24.03.0); operation 0 uses the \
             table; nothing was sent"
    );

    let mut ops = vec![Operation::Delete {
        table: "Zone".into(),
        conditions: vec![Condition::eq("cfg", Datum::scalar(0))],
    }];
    let e = skew(h.check(&mut ops, &server));
    assert_eq!(e.usage, SkewUse::Condition);
    assert_eq!(e.value, r#"["cfg","==",0]"#);

    let mut ops = vec![Operation::Mutate {
        table: "Zone".into(),
        conditions: vec![],
        mutations: vec![Mutation::new("cfg", Mutator::Add, Datum::scalar(1))],
    }];
    assert_eq!(skew(h.check(&mut ops, &server)).usage, SkewUse::Mutation);
}

#[test]
fn without_a_history_only_empty_values_count_as_defaults() {
    let server = old_server();
    let mut ops = vec![insert(Row::new().with("ids", Datum::empty_set()))];
    assert_eq!(check_operations(&mut ops, &server, None).unwrap(), 1);
    let mut ops = vec![insert(Row::new().with("cfg", Datum::scalar(0)))];
    let e = skew(check_operations(&mut ops, &server, None));
    assert_eq!((e.column.as_deref(), e.since), (Some("cfg"), None));
    assert_eq!(
        e.to_string(),
        "IC 1.1.1 has no column Zone.cfg; operation 0 writes 0; nothing was sent"
    );
    // Operations without a table pass untouched.
    let mut ops = vec![Operation::Comment {
        comment: "x".into(),
    }];
    assert_eq!(check_operations(&mut ops, &server, None).unwrap(), 0);
}
