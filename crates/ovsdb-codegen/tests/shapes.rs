//! The golden output of `tests/golden/shapes.ovsschema` compiled and exercised: every column
//! shape, keyword escaping, non-derivable defaults, integer enums, a table without columns.

#[path = "golden/shapes.rs"]
#[allow(dead_code, reason = "generated items that this test does not use")]
mod shapes;

use ovsdb_proto::typed::SortedMap;

use ovsdb_proto::typed::{Column, Ref, Table};
use ovsdb_proto::{Datum, Operation, Row, Uuid};
use shapes::{Gadget, Part, Widget, WidgetColumn, WidgetLimitsKey, WidgetType};

fn datum(json: &str) -> Datum {
    serde_json::from_str(json).unwrap()
}

#[test]
fn defaults_follow_ovsdb() {
    let w = Widget::default();
    // A set with min 1 defaults to one default atom, as in OVSDB.
    assert_eq!(w.addresses, [String::new()]);
    assert_eq!(w.type_, WidgetType::Empty);
    assert_eq!(w.type_.as_str(), "");
    assert_eq!(w.to_row(), Row::new());
    let full = w.to_full_row();
    assert_eq!(full.len(), WidgetColumn::ALL.len());
    assert_eq!(full.get("addresses"), Some(&Datum::scalar("")));
    assert_eq!(
        Widget::from_row(Uuid::nil(), &Row::new()).unwrap(),
        Widget::default()
    );
}

#[test]
fn enum_variant_names() {
    assert_eq!(WidgetType::from("square-ish"), WidgetType::SquareIsh);
    assert_eq!(WidgetType::from("Other"), WidgetType::OtherValue);
    assert_eq!(WidgetType::from("hex"), WidgetType::Other("hex".into()));
    assert_eq!(WidgetType::Other("round".into()), WidgetType::Round);
    assert_eq!(WidgetType::LISTED.len(), 4);
}

#[test]
fn every_shape_round_trips() {
    let part = Uuid::from_u128(7);
    let row = Row::new()
        .with("name", Datum::scalar("w1"))
        .with("type", Datum::scalar("round"))
        .with("size", Datum::scalar(4095))
        .with("ratio", Datum::scalar(2))
        .with("parity", Datum::scalar(2))
        .with("enabled", Datum::scalar(false))
        .with("tags", Datum::set(["b", "a"]))
        .with("addresses", Datum::set(["x"]))
        .with("parts", Datum::set([part]))
        .with("owner", Datum::set([Uuid::from_u128(9)]))
        .with("external_ids", Datum::map([("k", "v")]))
        .with("limits", datum(r#"["map",[["burst",5],["rate",10]]]"#))
        .with("by_name", Datum::map([("p", part)]))
        .with("match", Datum::scalar("ip4"))
        .with("counter", Datum::scalar(-3))
        .with(
            "loose",
            Datum::set([Uuid::from_u128(1), Uuid::from_u128(2)]),
        )
        .with("newer_column", Datum::scalar("ignored"));
    let w = Widget::from_row(Uuid::from_u128(1), &row).unwrap();
    assert_eq!(w.type_, WidgetType::Round);
    assert_eq!(w.ratio, Some(2.0));
    assert_eq!(w.tags, ["a", "b"]);
    assert_eq!(w.parts, [Ref::<Part>::new(part)]);
    assert_eq!(w.owner, Some(Ref::<Gadget>::new(Uuid::from_u128(9))));
    assert_eq!(
        w.limits,
        SortedMap::from([(WidgetLimitsKey::Burst, 5), (WidgetLimitsKey::Rate, 10)])
    );
    assert_eq!(w.match_, "ip4");
    // Straight from the wire, unknown column included.
    let mut direct: Widget = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
    direct.uuid = w.uuid;
    assert_eq!(direct, w);
    let gadget: Gadget = serde_json::from_str(r#"{"x":1}"#).unwrap();
    assert_eq!(gadget, Gadget::default());
    let err = serde_json::from_str::<Widget>(r#"{"parity":3}"#).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Widget.parity: 3 is not one of the allowed values"),
        "{err}"
    );
    let mut expected = row.clone();
    expected.remove("newer_column");
    expected.insert("ratio", Datum::scalar(2.0));
    assert_eq!(w.to_row(), expected);
}

#[test]
fn constraint_errors_name_the_column() {
    let cases = [
        (
            "size",
            "4096",
            "Widget.size: 4096 is outside the allowed range (value 4096)",
        ),
        (
            "parity",
            "3",
            "Widget.parity: 3 is not one of the allowed values (value 3)",
        ),
        (
            "ratio",
            "0.25",
            "Widget.ratio: 0.25 is outside the allowed range (value 0.25)",
        ),
        (
            "tags",
            r#"["set",["a","b","c","d"]]"#,
            r#"Widget.tags: 4 elements, more than the maximum 3 (value ["set",["a","b","c","d"]])"#,
        ),
        (
            "tags",
            r#""longer than 8""#,
            r#"Widget.tags: "longer than 8" length 13 is outside the allowed length (value "longer than 8")"#,
        ),
        (
            "addresses",
            r#"["set",[]]"#,
            r#"Widget.addresses: 0 elements, fewer than the minimum 1 (value ["set",[]])"#,
        ),
        (
            "limits",
            r#"["map",[["rate",0]]]"#,
            r#"Widget.limits: 0 is outside the allowed range (value ["map",[["rate",0]]])"#,
        ),
        (
            "name",
            r#"["uuid","00000000-0000-0000-0000-000000000001"]"#,
            r#"Widget.name: expected string, got uuid ["uuid","00000000-0000-0000-0000-000000000001"] (value ["uuid","00000000-0000-0000-0000-000000000001"])"#,
        ),
    ];
    for (column, value, want) in cases {
        let row = Row::new().with(column, datum(value));
        let err = Widget::from_row(Uuid::nil(), &row).unwrap_err();
        assert_eq!(err.to_string(), want, "{column} = {value}");
    }
}

#[test]
fn diffs_apply() {
    let mut w = Widget {
        name: "a".into(),
        tags: vec!["x".into()],
        limits: SortedMap::from([(WidgetLimitsKey::Rate, 3)]),
        ..Widget::default()
    };
    let mut v = w.clone();
    v.name = "b".into();
    v.tags = vec!["y".into(), "z".into()];
    v.limits.clear();
    v.limits.insert(WidgetLimitsKey::Other("peak".into()), 4);
    v.owner = Some(Ref::new(Uuid::from_u128(3)));
    assert_eq!(
        Widget::changed_columns(&w, &v),
        [
            WidgetColumn::Limits,
            WidgetColumn::Name,
            WidgetColumn::Owner,
            WidgetColumn::Tags
        ]
    );
    let Some(Operation::Update { row, .. }) = Widget::update_changed_op(&w, &v) else {
        panic!("no update");
    };
    assert_eq!(row.len(), 4);
    assert_eq!(Widget::update_changed_op(&w, &w), None);
    let diff = Widget::diff(&w, &v);
    assert_eq!(diff.len(), 4);
    w.apply_diff(&diff).unwrap();
    assert_eq!(w, v);
}

#[test]
fn conditions_and_mutations() {
    let c = WidgetColumn::Type.equals(WidgetType::SquareIsh);
    assert_eq!(
        serde_json::to_string(&c).unwrap(),
        r#"["type","==","square-ish"]"#
    );
    let c = WidgetColumn::Tags.includes(vec!["a".to_owned()]);
    assert_eq!(
        serde_json::to_string(&c).unwrap(),
        r#"["tags","includes","a"]"#
    );
    let m = WidgetColumn::ExternalIds
        .insert_values(SortedMap::from([("k".to_owned(), "v".to_owned())]));
    assert_eq!(
        serde_json::to_string(&m).unwrap(),
        r#"["external_ids","insert",["map",[["k","v"]]]]"#
    );
    assert_eq!(WidgetColumn::Match.name(), "match");
    assert_eq!(WidgetColumn::from_name("match"), Some(WidgetColumn::Match));
    assert_eq!(WidgetColumn::from_name("nope"), None);
}

#[test]
fn schema_skew_queries() {
    let mut older = shapes::schema().clone();
    older
        .tables
        .get_mut("Widget")
        .unwrap()
        .columns
        .remove("loose");
    older.tables.remove("Gadget");
    assert_eq!(Widget::missing_columns(&older), [WidgetColumn::Loose]);
    assert!(Widget::is_in(&older));
    assert!(!Gadget::is_in(&older));
    assert!(!WidgetColumn::Loose.is_in(&older));
    assert!(WidgetColumn::Name.is_in(&older));
}

#[test]
fn constants() {
    assert_eq!(shapes::NAME, "Shapes");
    assert_eq!(shapes::VERSION, "1.2.3");
    assert_eq!(shapes::CKSUM, "12345 678");
    assert_eq!(shapes::tables::ALL, ["Gadget", "Part", "Widget"]);
    assert_eq!(Widget::NAME, shapes::tables::WIDGET);
    assert_eq!(Widget::schema().columns.len(), WidgetColumn::ALL.len());
}
