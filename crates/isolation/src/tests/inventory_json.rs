//! The inventory file: its JSON round trip, the test data and `ovsdb-client dump` input.

use super::*;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/topology-a.json");

/// Regenerates `testdata/topology-a.json` (stock ovn-ic over topology A):
/// `cargo test -p isolation -- --ignored write_testdata`.
#[test]
#[ignore = "writes testdata"]
fn write_testdata() {
    let mut world = stock_world();
    for z in &mut world.zones {
        z.nb_global.name = z.zone.clone();
    }
    std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).unwrap();
    std::fs::write(TESTDATA, world.to_inventory_json()).unwrap();
}

#[test]
fn round_trip_and_testdata() {
    let mut world = stock_world();
    // JSON objects are read in key order.
    world.zones.sort_by(|a, b| a.zone.cmp(&b.zone));
    let back = World::from_inventory_json(&world.to_inventory_json()).unwrap();
    assert_eq!(back.ic, world.ic);
    assert_eq!(back.zones.len(), 2);
    for (a, b) in back.zones.iter().zip(&world.zones) {
        assert_eq!(
            (&a.routers, &a.router_ports, &a.static_routes),
            (&b.routers, &b.router_ports, &b.static_routes)
        );
        assert_eq!(
            (&a.switches, &a.switch_ports),
            (&b.switches, &b.switch_ports)
        );
    }
    let text = std::fs::read_to_string(TESTDATA).unwrap();
    let file = World::from_inventory_json(&text).unwrap();
    let pol = policy_a();
    let want = verify(&world, &Inventory::from_world(&world), &pol);
    let got = verify(&file, &Inventory::from_world(&file), &pol);
    assert_eq!(got.to_string(), want.to_string());
}

#[test]
fn ovsdb_client_dump_format() {
    // What `ovsdb-client -f json dump` prints: one object per table.
    let dump = r#"{"caption":"Logical_Router table","data":[[["uuid","6b1e7a5a-1a0f-4c38-9d0b-6e2f1f0b7a01"],1,["map",[["neutron:router_name","tenant-a"]]],"neutron-r9",["set",[]],["uuid","00000000-0000-0000-0000-000000000001"]]],"headings":["_uuid","_version_unused","external_ids","name","ports","_version"]}
{"caption":"NB_Global table","data":[[["uuid","6b1e7a5a-1a0f-4c38-9d0b-6e2f1f0b7a02"],"az9"]],"headings":["_uuid","name"]}"#;
    let inv = format!(
        r#"{{"zones": {{"az9": {}}}}}"#,
        serde_json::to_string(dump).unwrap()
    );
    let world = World::from_inventory_json(&inv).unwrap();
    let z = &world.zones[0];
    assert_eq!(z.nb_global.name, "az9");
    let lr = z.routers.values().next().unwrap();
    assert_eq!(lr.name, "neutron-r9");
    assert_eq!(
        Inventory::from_world(&world).vpcs()[0].id.as_str(),
        "az9/neutron-r9"
    );
    assert!(World::from_inventory_json(
        r#"{"zones": {"x": {"Logical_Router": {"not-a-uuid": {}}}}}"#
    )
    .is_err());
    assert!(World::from_inventory_json("[").is_err());
}
