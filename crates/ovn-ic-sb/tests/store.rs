//! The offline typed store over generated rows: filled from a dump, read through the same
//! `TypedRows` seam as a live replica.

use ovn_ic_sb::{AvailabilityZone, Route};
use ovsdb_proto::dump::Dump;
use ovsdb_proto::typed::{TypedRows, TypedStore};
use ovsdb_proto::Uuid;

#[test]
fn a_store_from_a_dump_holds_every_table_typed() {
    let mut az = AvailabilityZone::default();
    az.uuid = Uuid::from_u128(1);
    az.name = "az1".into();
    let mut dump = Dump::new();
    dump.insert_typed([&az]);
    let store = TypedStore::from_dump::<ovn_ic_sb::Database>(&dump).unwrap();
    assert_eq!(store.rows::<AvailabilityZone>().unwrap()[&az.uuid], az);
    // Every table of the database is there, empty when the dump lacks it.
    assert!(store.rows::<Route>().unwrap().is_empty());
}

#[test]
fn rows_go_in_and_come_out_by_type() {
    let mut s = TypedStore::new();
    assert!(s.rows::<AvailabilityZone>().is_none());
    let mut az = AvailabilityZone::default();
    az.uuid = Uuid::from_u128(7);
    s.insert(az.clone());
    assert_eq!(s.rows::<AvailabilityZone>().unwrap().len(), 1);
    assert_eq!(s.remove::<AvailabilityZone>(az.uuid), Some(az));
    assert!(s.rows::<AvailabilityZone>().unwrap().is_empty());
}

#[test]
fn a_row_that_does_not_fit_is_an_error_naming_it() {
    let mut dump = Dump::new();
    let mut row = ovsdb_proto::Row::new();
    row.insert(
        "name".to_owned(),
        ovsdb_proto::Datum::from(ovsdb_proto::Atom::Integer(5)),
    );
    dump.insert("Availability_Zone", Uuid::from_u128(9), row);
    let err = TypedStore::from_dump::<ovn_ic_sb::Database>(&dump).unwrap_err();
    assert!(err.to_string().contains("Availability_Zone"), "{err}");
}
