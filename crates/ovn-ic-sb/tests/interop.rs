//! Typed rows of OVN_IC_Southbound and OVN_IC_Northbound against the real `ovsdb-server`:
//! insert typed Availability_Zone, Route and Port_Binding rows, monitor them back decoded
//! straight from the server's bytes (and through the generic `Row` path), and follow a
//! Transit_Switch that `ovn-ic-nbctl ts-add` writes.
//!
//! Skips (with a `skipped:` line) when the binaries are missing, unless `OVNLINK_REAL_TESTS=1`
//! is set: then it fails.

use std::collections::HashMap;

use ovsdb_proto::typed::StringMap;
use std::time::{Duration, Instant};

use ovn_ic_sb::{AvailabilityZone, PortBinding, Route, RouteOrigin};
use ovnlink_testkit::raw::RawClient;
use ovnlink_testkit::server::{
    real_servers, require_binaries, OvsdbServer, OVN_IC_NB_SCHEMA, OVN_IC_SB_SCHEMA,
};
use ovsdb_proto::typed::{Ref, Table, TypedTableUpdate2};
use ovsdb_proto::{Payload, Uuid};
use serde_json::{json, Value};

/// The raw params of an `update2` notification: `[monitor-id, table-updates2]`.
struct Updates(Payload);

impl Updates {
    fn monitor(&self) -> String {
        let (id, _): (Value, serde::de::IgnoredAny) = self.0.decode("update2").unwrap();
        id.as_str().unwrap_or_default().to_owned()
    }
}

fn apply<T: Table>(rows: &mut HashMap<Uuid, T>, update: TypedTableUpdate2<T>) {
    for (uuid, change) in update.0 {
        change.apply(rows, uuid).unwrap();
    }
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(0x1c5b_0000_0000_4000_8000_0000_0000_0000 | n)
}

fn canonical<T: Table>(row: &T) -> T {
    T::from_row(row.uuid(), &row.to_row()).unwrap()
}

#[test]
fn typed_ic_rows_against_real_ovsdb_server() {
    if !real_servers() || !require_binaries(&["ovn-ic-nbctl"]) {
        return;
    }
    let server = OvsdbServer::builder()
        .database(OVN_IC_NB_SCHEMA)
        .database(OVN_IC_SB_SCHEMA)
        .start()
        .expect("start ovsdb-server");
    let mut client = RawClient::connect(&server.unix_path()).expect("connect to ovsdb-server");

    let mut az = AvailabilityZone::default();
    az.uuid = uuid(1);
    az.name = "az1".into();

    let mut route = Route::default();
    route.uuid = uuid(2);
    route.availability_zone = Ref::new(az.uuid);
    route.transit_switch = "ts1".into();
    route.ip_prefix = "10.0.1.0/24".into();
    route.nexthop = "169.254.100.1".into();
    route.origin = RouteOrigin::Connected;
    route.route_table = "rtb-1".into();
    route.external_ids = StringMap::from([("lr-id".to_owned(), "x".to_owned())]);

    let mut binding = PortBinding::default();
    binding.uuid = uuid(3);
    binding.availability_zone = Ref::new(az.uuid);
    binding.transit_switch = "ts1".into();
    binding.logical_port = "ts1-az1".into();
    binding.address = "00:00:00:00:00:01 169.254.100.1/24".into();
    binding.gateway = "gw1".into();
    binding.tunnel_key = 1;

    client.transact(
        "OVN_IC_Southbound",
        &[az.insert_op(), route.insert_op(), binding.insert_op()],
    );

    let requests = json!({"Availability_Zone": {}, "Route": {}, "Port_Binding": {}});
    let reply = client.call("monitor_cond", json!(["OVN_IC_Southbound", "sb", requests]));
    let typed: ovn_ic_sb::TableUpdates2 = reply.decode("monitor_cond reply").unwrap();
    let generic: ovsdb_proto::TableUpdates2 = reply.decode("monitor_cond reply").unwrap();
    let mut zones = HashMap::new();
    let mut routes = HashMap::new();
    let mut bindings = HashMap::new();
    apply(&mut zones, typed.availability_zone);
    apply(&mut routes, typed.route);
    apply(&mut bindings, typed.port_binding);
    assert_eq!(zones[&az.uuid], canonical(&az));
    assert_eq!(routes[&route.uuid], canonical(&route));
    assert_eq!(bindings[&binding.uuid], canonical(&binding));
    for (u, change) in &generic.0["Route"] {
        let ovsdb_proto::RowUpdate2::Initial(row) = change else {
            panic!("not initial: {change:?}");
        };
        assert_eq!(Route::from_row(*u, row).unwrap(), routes[u]);
    }

    // A value the server's schema does not list (as a newer client might send) is refused:
    // the escape hatch is for reading what a newer server writes.
    let mut learned = route.clone();
    learned.origin = RouteOrigin::Other("learned".into());
    let err = {
        let mut params = vec![json!("OVN_IC_Southbound")];
        let op = Route::update_changed_op(&route, &learned).unwrap();
        params.push(serde_json::to_value(op).unwrap());
        let result = client.call("transact", Value::Array(params));
        let results: Vec<Value> = result.decode("transact reply").unwrap();
        results[0]["error"].as_str().unwrap_or_default().to_owned()
    };
    // ovsdb-server enforces the enumeration of its own schema.
    assert_eq!(err, "constraint violation");

    // IC-NB: a Transit_Switch written by ovn-ic-nbctl.
    let reply = client.call(
        "monitor_cond",
        json!(["OVN_IC_Northbound", "nb", {"Transit_Switch": {}}]),
    );
    let typed: ovn_ic_nb::TableUpdates2 = reply.decode("monitor_cond reply").unwrap();
    assert!(typed.transit_switch.0.is_empty());
    let db = format!("--db={}", server.remote());
    server
        .run("ovn-ic-nbctl", &[&db, "ts-add", "ts1"])
        .expect("ts-add");
    let mut switches = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while switches.is_empty() {
        assert!(Instant::now() < deadline, "ts-add did not arrive");
        // Notifications kept while calls waited for their replies come first.
        let note = Updates(client.next_notification("update2"));
        if note.monitor() != "nb" {
            continue;
        }
        let (_, u): (Value, ovn_ic_nb::TableUpdates2) = note.0.decode("update2").unwrap();
        apply(&mut switches, u.transit_switch);
    }
    let ts: Vec<&ovn_ic_nb::TransitSwitch> = switches.values().collect();
    assert_eq!(ts.len(), 1);
    assert_eq!(ts[0].name, "ts1");
}
