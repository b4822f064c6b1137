//! Property tests of the generated OVN crates: arbitrary typed rows round-trip through an
//! `insert` operation (typed row → `to_row` → JSON → `Operation` → `from_row`) and through
//! `update2` (`initial`, then a `modify` diff between two arbitrary rows, both as JSON).
//!
//! Arbitrary typed rows come from two sources: a strategy written by hand against the typed
//! fields of `Logical_Router_Static_Route`, and, for many tables of every schema, a strategy
//! derived from the column types that builds arbitrary valid rows (some columns left out) and
//! decodes them with `from_row`.

use std::collections::HashMap;

use ovsdb_proto::typed::StringMap;

use ovsdb_proto::schema::{AtomicType, BaseType, ColumnType, TableSchema};
use ovsdb_proto::typed::{Ref, Table};
use ovsdb_proto::{Applied, Atom, Datum, Map, Operation, Row, RowUpdate2, Set, Uuid};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::de::DeserializeOwned;

// ---------------------------------------------------------------------------------------------
// Strategies derived from a table schema.

fn atom_strategy(base: &BaseType) -> BoxedStrategy<Atom> {
    if let Some(e) = &base.enumeration {
        let listed: Vec<Atom> = e.iter().cloned().collect();
        let pick = proptest::sample::select(listed);
        return if base.kind == AtomicType::String {
            // Values a newer server may send go to the escape hatch.
            prop_oneof![3 => pick, 1 => "[a-z]{1,6}".prop_map(Atom::String)].boxed()
        } else {
            pick.boxed()
        };
    }
    match base.kind {
        AtomicType::Integer => {
            let lo = base.min_integer.unwrap_or(-1_000_000);
            let hi = base.max_integer.unwrap_or(1_000_000);
            (lo..=hi).prop_map(Atom::Integer).boxed()
        }
        AtomicType::Real => {
            let lo = base.min_real.unwrap_or(-1e9);
            let hi = base.max_real.unwrap_or(1e9);
            (lo..=hi).prop_map(Atom::Real).boxed()
        }
        AtomicType::Boolean => any::<bool>().prop_map(Atom::Boolean).boxed(),
        AtomicType::String => {
            let lo = base.min_length.unwrap_or(0) as usize;
            let hi = base.max_length.unwrap_or(12).min(12) as usize;
            proptest::collection::vec(any::<char>(), lo..=hi.max(lo))
                .prop_map(|c| Atom::String(c.into_iter().collect()))
                .boxed()
        }
        AtomicType::Uuid => any::<u128>()
            .prop_map(|u| Atom::Uuid(Uuid::from_u128(u)))
            .boxed(),
    }
}

fn datum_strategy(ty: &ColumnType) -> BoxedStrategy<Datum> {
    let min = ty.min as usize;
    let max = ty.max.map_or(4, |m| (m as usize).min(4)).max(min);
    let key = atom_strategy(&ty.key);
    match &ty.value {
        None => proptest::collection::vec(key, min..=max)
            .prop_map(|atoms| Datum::Set(Set::from_atoms(atoms)))
            .boxed(),
        Some(vt) => proptest::collection::vec((key, atom_strategy(vt)), min..=max)
            .prop_map(|pairs| Datum::Map(Map::from_pairs(pairs)))
            .boxed(),
    }
}

/// Arbitrary valid rows of `table`; each column is left out (default) a quarter of the time.
fn row_strategy(table: &TableSchema) -> BoxedStrategy<Row> {
    let columns: Vec<BoxedStrategy<Option<(String, Datum)>>> = table
        .columns
        .iter()
        .map(|(name, c)| {
            let name = name.clone();
            // A column whose default breaks its own constraints (an integer with
            // `minInteger` 1, say) cannot go back to the default on a real server.
            let default_ok = Datum::default_of(&c.type_).conform(&c.type_).is_ok();
            let datum = datum_strategy(&c.type_);
            if default_ok {
                proptest::option::weighted(0.75, datum)
                    .prop_map(move |d| d.map(|d| (name.clone(), d)))
                    .boxed()
            } else {
                datum.prop_map(move |d| Some((name.clone(), d))).boxed()
            }
        })
        .collect();
    columns
        .prop_map(|cols| cols.into_iter().flatten().collect())
        .boxed()
}

fn typed_strategy<T: Table + 'static>() -> BoxedStrategy<T> {
    (any::<u128>(), row_strategy(T::schema()))
        .prop_map(|(u, row)| match T::from_row(Uuid::from_u128(u), &row) {
            Ok(t) => t,
            Err(e) => panic!("a valid {} row failed to decode: {e}", T::NAME),
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// The properties.

fn insert_round_trip<T: Table + DeserializeOwned>(typed: &T) -> Result<(), TestCaseError> {
    let json = serde_json::to_string(&typed.insert_op()).unwrap();
    let op: Operation = serde_json::from_str(&json).unwrap();
    let Operation::Insert {
        table, row, uuid, ..
    } = op
    else {
        return Err(TestCaseError::fail(format!("not an insert: {json}")));
    };
    prop_assert_eq!(table, T::NAME);
    let uuid = uuid.unwrap_or_default();
    prop_assert_eq!(uuid, typed.uuid());
    let back = T::from_row(uuid, &row).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, typed, "insert JSON {}", json);

    // The same row object decoded straight into the typed row.
    let row_json = serde_json::to_string(&row).unwrap();
    let mut direct: T = serde_json::from_str(&row_json)
        .map_err(|e| TestCaseError::fail(format!("{e}: {row_json}")))?;
    direct.set_uuid(uuid);
    prop_assert_eq!(&direct, typed, "row JSON {}", row_json);
    Ok(())
}

fn through_json(update: RowUpdate2) -> RowUpdate2 {
    serde_json::from_str(&serde_json::to_string(&update).unwrap()).unwrap()
}

fn update2_round_trip<T: Table>(old: &T, new: &T) -> Result<(), TestCaseError> {
    let uuid = old.uuid();
    let fail = |e: ovsdb_proto::Error| TestCaseError::fail(e.to_string());
    let mut replica: HashMap<Uuid, T> = HashMap::new();
    let mut untyped: HashMap<Uuid, Row> = HashMap::new();
    let initial = through_json(RowUpdate2::Initial(old.to_row()));
    let applied = T::apply_update2(&mut replica, uuid, &initial).map_err(fail)?;
    prop_assert_eq!(applied, Applied::Inserted);
    prop_assert_eq!(&replica[&uuid], old);
    // The untyped replica rejects the string enum values the schema does not list, which the
    // typed rows keep in `Other`; compare with it only when there are none.
    let strict = |t: &T| t.to_row().conform(T::NAME, T::schema(), false).is_ok();
    let compare_untyped = strict(old) && strict(new);
    if compare_untyped {
        ovsdb_proto::apply_update2(&mut untyped, T::NAME, T::schema(), uuid, initial.clone())
            .map_err(fail)?;
    }

    // The diff of the two rows with every column filled, as ovsdb-server computes it.
    let mut a = old.to_row();
    a.fill_defaults(T::schema());
    let mut b = new.to_row();
    b.fill_defaults(T::schema());
    let diff = Row::diff(&a, &b, T::schema());
    prop_assert_eq!(&diff, &T::diff(old, new));
    let modify = through_json(RowUpdate2::Modify(diff));
    let applied = T::apply_update2(&mut replica, uuid, &modify).map_err(fail)?;
    prop_assert_eq!(applied, Applied::Modified);
    let mut want = new.clone();
    want = T::from_row(uuid, &want.to_row()).map_err(fail)?;
    prop_assert_eq!(&replica[&uuid], &want);

    if compare_untyped {
        ovsdb_proto::apply_update2(&mut untyped, T::NAME, T::schema(), uuid, modify)
            .map_err(fail)?;
        let decoded = T::from_row(uuid, &untyped[&uuid]).map_err(fail)?;
        prop_assert_eq!(&decoded, &want);
    }

    let applied = T::apply_update2(&mut replica, uuid, &RowUpdate2::Delete).map_err(fail)?;
    prop_assert_eq!(applied, Applied::Deleted);
    prop_assert!(replica.is_empty());
    Ok(())
}

fn check<T: Table + DeserializeOwned + 'static>(cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (typed_strategy::<T>(), typed_strategy::<T>());
    let result = runner.run(&strategy, |(old, new)| {
        insert_round_trip(&old)?;
        update2_round_trip(&old, &new)
    });
    if let Err(e) = result {
        panic!("{}: {e}", T::NAME);
    }
}

#[test]
fn nb_logical_router_static_route() {
    check::<ovn_nb::LogicalRouterStaticRoute>(256);
}

#[test]
fn nb_logical_switch_port() {
    check::<ovn_nb::LogicalSwitchPort>(256);
}

#[test]
fn nb_acl() {
    check::<ovn_nb::Acl>(256);
}

#[test]
fn ic_sb_route() {
    check::<ovn_ic_sb::Route>(256);
}

#[test]
fn more_nb_tables() {
    check::<ovn_nb::LogicalRouter>(64);
    check::<ovn_nb::LogicalRouterPort>(64);
    check::<ovn_nb::LogicalSwitch>(64);
    check::<ovn_nb::PortGroup>(64);
    check::<ovn_nb::AddressSet>(64);
    check::<ovn_nb::Nat>(64);
    check::<ovn_nb::LoadBalancer>(64);
    check::<ovn_nb::QoS>(64);
    check::<ovn_nb::NbGlobal>(64);
}

#[test]
fn more_ic_and_sb_tables() {
    check::<ovn_ic_sb::AvailabilityZone>(64);
    check::<ovn_ic_sb::PortBinding>(64);
    check::<ovn_ic_sb::Gateway>(64);
    check::<ovn_ic_nb::TransitSwitch>(64);
    check::<ovn_sb::PortBinding>(64);
    check::<ovn_sb::Chassis>(64);
    check::<ovn_sb::LogicalFlow>(64);
}

// ---------------------------------------------------------------------------------------------
// A strategy written against the typed fields.

fn strings() -> impl Strategy<Value = String> {
    "\\PC{0,10}"
}

fn string_map() -> impl Strategy<Value = StringMap> {
    proptest::collection::btree_map("[a-z:-]{1,8}", strings(), 0..4)
        .prop_map(|m| m.into_iter().collect())
}

fn static_route() -> impl Strategy<Value = ovn_nb::LogicalRouterStaticRoute> {
    use ovn_nb::LogicalRouterStaticRoutePolicy as Policy;
    let policy = prop_oneof![
        Just(Policy::SrcIp),
        Just(Policy::DstIp),
        "[a-z]{1,6}".prop_map(|s| Policy::from(s.as_str())),
    ];
    (
        any::<u128>(),
        proptest::option::of(any::<u128>()),
        string_map(),
        "[0-9./:a-f]{0,18}",
        "[0-9./:a-f]{0,18}",
        string_map(),
        proptest::option::of(strings()),
        proptest::option::of(policy),
        strings(),
    )
        .prop_map(
            |(uuid, bfd, external_ids, ip_prefix, nexthop, options, port, policy, table)| {
                let mut r = ovn_nb::LogicalRouterStaticRoute::default();
                r.uuid = Uuid::from_u128(uuid);
                r.bfd = bfd.map(|u| Ref::new(Uuid::from_u128(u)));
                r.external_ids = external_ids;
                r.ip_prefix = ip_prefix;
                r.nexthop = nexthop;
                r.options = options;
                r.output_port = port;
                r.policy = policy;
                r.route_table = table;
                r
            },
        )
}

proptest! {
    #[test]
    fn typed_static_routes_round_trip(old in static_route(), new in static_route()) {
        insert_round_trip(&old)?;
        update2_round_trip(&old, &new)?;
    }
}
