//! Applying `update2` row changes never leaves a row that breaks its column types, and
//! `Row::diff` is exactly undone by applying it.
//!
//! Input layout: records separated by `0xFF` (a byte that never occurs in UTF-8 JSON). Each
//! record is one byte choosing the row (`byte % 4` picks one of four fixed UUIDs) followed by
//! a JSON `<row-update2>` object (`{"initial": row}`, `{"insert": row}`, `{"modify": diff}` or
//! `{"delete": null}`). Records that are not valid `<row-update2>` JSON are skipped.
//!
//! Each record goes through [`apply_update2`] against the fixed table `Port` of [`SCHEMA`],
//! kept as a `HashMap<Uuid, Row>` replica. Checked:
//!
//! - after every apply, successful or not, every row in the replica conforms to the table:
//!   each column of the table is present, nothing else is (but the implicit `_uuid` and
//!   `_version`, which `initial`/`insert` rows may carry), and `Row::conform(.., false)`
//!   accepts it unchanged. A failed apply may leave the replica changed, but not broken;
//! - the result matches the kind of change: `delete` removes the row, the others leave one;
//! - for every two states A (older) and B (newer) that successful applies gave the same row,
//!   `Row::diff(A, B)` applied to A with `Row::apply_diff` gives B, and so does the same diff
//!   sent over the wire (serialized as a `{"modify": …}` update, parsed, applied with
//!   `apply_update2`). Rows are compared on the table's columns: `Row::diff` covers those only,
//!   not `_uuid`/`_version`.
//!
//! The schema has no scalar `enum` column on purpose: its default (`""`) would lie outside the
//! enum, which ovsdb-server allows for omitted columns too, so "every row conforms" would not
//! hold by design. The enum column is optional (default: empty), as OVN's `ACL.severity`.

#![no_main]

use std::collections::HashMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ovsdb_proto::{apply_update2, Applied, DatabaseSchema, Row, RowUpdate2, TableSchema, Uuid};

/// One table with a column of each shape: string scalar, constrained integer scalar,
/// optional integer with a range, integer set of at most 4 elements, unlimited string set,
/// string set of at least one element, string→string map, optional string enum, optional weak
/// reference.
const SCHEMA: &str = r#"{
  "name": "Fuzz",
  "version": "1.0.0",
  "tables": {
    "Port": {
      "columns": {
        "name": {"type": "string"},
        "priority": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 32767}}},
        "tag": {"type": {"key": {"type": "integer", "minInteger": 1, "maxInteger": 4095},
                         "min": 0, "max": 1}},
        "trunks": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 4095},
                            "min": 0, "max": 4}},
        "addresses": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
        "networks": {"type": {"key": "string", "min": 1, "max": "unlimited"}},
        "options": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
        "severity": {"type": {"key": {"type": "string",
                                      "enum": ["set", ["alert", "warning", "notice", "info", "debug"]]},
                              "min": 0, "max": 1}},
        "peer": {"type": {"key": {"type": "uuid", "refTable": "Port", "refType": "weak"},
                          "min": 0, "max": 1}}
      },
      "isRoot": true
    }
  }
}"#;

const TABLE: &str = "Port";

static TABLE_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
    let schema = DatabaseSchema::from_slice(SCHEMA.as_bytes()).expect("the fixed schema parses");
    schema
        .table(TABLE)
        .expect("the fixed schema has the table")
        .clone()
});

const UUIDS: [Uuid; 4] = [
    Uuid::from_u128(0x0000_0001_0000_4000_8000_0000_0000_0001),
    Uuid::from_u128(0x0000_0002_0000_4000_8000_0000_0000_0002),
    Uuid::from_u128(0xffff_ffff_ffff_4fff_bfff_ffff_ffff_fff3),
    Uuid::nil(),
];

/// States kept per row for the pairwise diff check.
const HISTORY: usize = 8;
/// Records applied per input, at most.
const RECORDS: usize = 64;

fn show(row: &Row) -> String {
    serde_json::to_string(row).unwrap_or_default()
}

/// The row without the implicit columns, which `Row::diff` does not cover.
fn table_columns(row: &Row) -> Row {
    row.iter()
        .filter(|(c, _)| TABLE_SCHEMA.columns.contains_key(*c))
        .map(|(c, v)| (c.to_owned(), v.clone()))
        .collect()
}

fn assert_conforms(uuid: Uuid, row: &Row, after: &str) {
    let table = &*TABLE_SCHEMA;
    for name in table.columns.keys() {
        assert!(
            row.get(name).is_some(),
            "{after}: row {uuid} lacks column {name}: {}",
            show(row)
        );
    }
    for (name, _) in row.iter() {
        assert!(
            table.columns.contains_key(name) || name == "_uuid" || name == "_version",
            "{after}: row {uuid} has column {name} the table does not: {}",
            show(row)
        );
    }
    match row.clone().conform(TABLE, table, false) {
        Ok(conformed) => assert_eq!(
            &conformed, row,
            "{after}: row {uuid} is not in canonical form"
        ),
        Err(e) => panic!(
            "{after}: row {uuid} breaks its column types: {e}\n{}",
            show(row)
        ),
    }
}

fn assert_diff_undone(uuid: Uuid, old: &Row, new: &Row) {
    let table = &*TABLE_SCHEMA;
    let want = table_columns(new);
    let diff = Row::diff(old, new, table);

    let mut direct = old.clone();
    if let Err(e) = direct.apply_diff(TABLE, diff.clone(), table) {
        panic!(
            "Row::diff does not apply: {e}\nold {}\nnew {}\ndiff {}",
            show(old),
            show(new),
            show(&diff)
        );
    }
    assert_eq!(
        table_columns(&direct),
        want,
        "Row::diff applied to the old row does not give the new row\nold {}\nnew {}\ndiff {}",
        show(old),
        show(new),
        show(&diff)
    );

    // The same diff, the way a server sends it.
    let wire = serde_json::to_vec(&RowUpdate2::Modify(diff.clone())).expect("a row serializes");
    let update: RowUpdate2 = serde_json::from_slice(&wire).unwrap_or_else(|e| {
        panic!(
            "a serialized diff does not parse: {e}\n{}",
            String::from_utf8_lossy(&wire)
        )
    });
    let mut replica = HashMap::from([(uuid, old.clone())]);
    match apply_update2(&mut replica, TABLE, table, uuid, update) {
        Ok(Applied::Modified) => {}
        other => panic!(
            "the diff sent over the wire applies as {other:?}\nold {}\nnew {}\nwire {}",
            show(old),
            show(new),
            String::from_utf8_lossy(&wire)
        ),
    }
    assert_eq!(
        table_columns(&replica[&uuid]),
        want,
        "the diff sent over the wire does not give the new row\nold {}\nnew {}\nwire {}",
        show(old),
        show(new),
        String::from_utf8_lossy(&wire)
    );

    // A row's diff against itself is empty.
    assert!(
        Row::diff(new, new, table).is_empty(),
        "a row differs from itself"
    );
}

fuzz_target!(|data: &[u8]| {
    let table = &*TABLE_SCHEMA;
    let mut replica: HashMap<Uuid, Row> = HashMap::new();
    let mut history: HashMap<Uuid, Vec<Row>> = HashMap::new();

    for record in data.split(|&b| b == 0xFF).take(RECORDS) {
        let Some((&which, json)) = record.split_first() else {
            continue;
        };
        let Ok(update) = serde_json::from_slice::<RowUpdate2>(json) else {
            continue;
        };
        let uuid = UUIDS[usize::from(which % 4)];
        let kind = match &update {
            RowUpdate2::Initial(_) => "initial",
            RowUpdate2::Insert(_) => "insert",
            RowUpdate2::Modify(_) => "modify",
            RowUpdate2::Delete => "delete",
        };
        let existed = replica.contains_key(&uuid);

        let result = apply_update2(&mut replica, TABLE, table, uuid, update);

        match (kind, &result) {
            (_, Err(_)) => {}
            ("delete", Ok(Applied::Deleted)) => {
                assert!(existed, "delete of an unknown row succeeded");
                assert!(!replica.contains_key(&uuid), "deleted row is still there");
                history.remove(&uuid);
            }
            ("initial" | "insert", Ok(Applied::Inserted)) => {
                assert!(!existed, "{kind} over a row reported Inserted")
            }
            ("initial" | "insert", Ok(Applied::Modified)) => {
                assert!(existed, "{kind} of a new row reported Modified")
            }
            ("modify", Ok(Applied::Modified)) => {
                assert!(existed, "modify of an unknown row succeeded")
            }
            (kind, Ok(applied)) => panic!("{kind} reported {applied:?}"),
        }

        for (u, row) in &replica {
            let after = match &result {
                Ok(_) => format!("after a successful {kind} of {uuid}"),
                Err(e) => format!("after a failed {kind} of {uuid} ({e})"),
            };
            assert_conforms(*u, row, &after);
        }

        if let (Ok(Applied::Inserted | Applied::Modified), Some(new)) =
            (&result, replica.get(&uuid))
        {
            let states = history.entry(uuid).or_default();
            for old in states.iter() {
                assert_diff_undone(uuid, old, new);
            }
            if states.len() == HISTORY {
                states.remove(0);
            }
            states.push(new.clone());
        }
    }
});
