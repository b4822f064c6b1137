//! Typed decoding straight from the wire (the generated `ovn_nb` rows) never panics on any
//! input, and what it accepts agrees with the generic path.
//!
//! Input: any bytes, taken as an OVN_Northbound `<table-updates2>` object (the `result` of a
//! `monitor_cond` reply, or the updates of an `update2` notification).
//!
//! Checked:
//!
//! - `ovn_nb::TableUpdates2` decodes or returns an error, and never panics;
//! - when it decodes and the generic decoder (`decode_table_update2`) accepts the
//!   `Logical_Switch_Port` or `ACL` member too, both give the same changes in the same order,
//!   and every typed `initial`/`insert` row (string maps, string sets, enums, references,
//!   bounded integers) equals `Table::from_row` of the generic row. The generic decoder may
//!   refuse what the typed one accepts: the typed side skips unknown tables and columns
//!   unread (schema skew), the generic one reads every value;
//! - every such row comes back unchanged through `Table::to_row` and `Table::from_row`;
//! - `typed::apply_table_update2_json` over the `Logical_Switch_Port` member succeeds exactly
//!   when applying the decoded list row by row does, and then leaves the same replica.

#![no_main]

use std::collections::{BTreeMap, HashMap};

use libfuzzer_sys::fuzz_target;
use ovn_nb::{Acl, LogicalSwitchPort};
use ovsdb_proto::typed::{apply_table_update2_json, Table, TypedRowUpdate2, TypedTableUpdate2};
use ovsdb_proto::{decode_table_update2, json, RowUpdate2, Uuid};
use serde_json::value::RawValue;

/// The typed rows of one table agree with the generic rows of the table's member.
fn agrees<T: Table>(typed: &TypedTableUpdate2<T>, members: &BTreeMap<String, &RawValue>) {
    let Some(member) = members.get(T::NAME) else {
        assert!(typed.0.is_empty(), "{}: rows from no member", T::NAME);
        return;
    };
    let Ok(rows) = decode_table_update2(member.get().as_bytes()) else {
        return;
    };
    assert_eq!(typed.0.len(), rows.len(), "{}: row counts differ", T::NAME);
    for ((uuid, typed), (generic_uuid, generic)) in typed.0.iter().zip(&rows) {
        assert_eq!(uuid, generic_uuid);
        let (row, generic) = match (typed, generic) {
            (TypedRowUpdate2::Initial(row), RowUpdate2::Initial(g))
            | (TypedRowUpdate2::Insert(row), RowUpdate2::Insert(g)) => (row, g),
            (TypedRowUpdate2::Modify(diff), RowUpdate2::Modify(g)) => {
                assert_eq!(diff, g);
                continue;
            }
            (TypedRowUpdate2::Delete, RowUpdate2::Delete) => continue,
            (t, g) => panic!("{}: {t:?} decoded as {g:?}", T::NAME),
        };
        let from_generic = T::from_row(*uuid, generic)
            .unwrap_or_else(|e| panic!("typed accepted {row:?}, from_row refused: {e}"));
        assert_eq!(&from_generic, row);
        let again = T::from_row(*uuid, &row.to_row())
            .unwrap_or_else(|e| panic!("{row:?} does not come back from to_row: {e}"));
        assert_eq!(&again, row);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(typed) = json::from_bytes::<ovn_nb::TableUpdates2>(data) else {
        return;
    };
    let members: BTreeMap<String, &RawValue> =
        json::from_bytes(data).expect("an object the typed decoder accepted");
    agrees::<LogicalSwitchPort>(&typed.logical_switch_port, &members);
    agrees::<Acl>(&typed.acl, &members);

    let Some(lsp) = members.get(LogicalSwitchPort::NAME) else {
        return;
    };
    let mut applied = HashMap::new();
    let direct = apply_table_update2_json::<LogicalSwitchPort>(lsp.get().as_bytes(), &mut applied);
    let mut folded: HashMap<Uuid, LogicalSwitchPort> = HashMap::new();
    let listed = typed
        .logical_switch_port
        .0
        .into_iter()
        .try_for_each(|(uuid, update)| update.apply(&mut folded, uuid).map(drop));
    assert_eq!(direct.is_ok(), listed.is_ok(), "{direct:?} vs {listed:?}");
    if direct.is_ok() {
        assert_eq!(applied, folded);
    }
});
