//! Typed rows against the real `ovsdb-server` running the real OVN_Northbound schema: insert
//! typed rows, monitor them back (decoded straight from the server's bytes into typed rows,
//! and through the generic `Row` path), change them with typed updates and with `ovn-nbctl`,
//! and follow the `update2` notifications in a typed replica.
//!
//! Skips (with a `skipped:` line) when the binaries are missing, unless `OVNLINK_REAL_TESTS=1`
//! is set: then it fails.

use std::collections::HashMap;

use ovsdb_proto::typed::StringMap;
use std::time::{Duration, Instant};

use ovn_nb::{
    Acl, AclAction, AclDirection, AclSeverity, AddressSet, LogicalRouter, LogicalRouterPort,
    LogicalRouterStaticRoute, LogicalRouterStaticRoutePolicy, LogicalSwitch, LogicalSwitchPort,
    PortGroup, TableUpdates2,
};
use ovnlink_testkit::raw::RawClient;
use ovnlink_testkit::server::{real_servers, OvsdbServer, OVN_NB_SCHEMA};
use ovsdb_proto::typed::{Ref, Table, TypedTableUpdate2};
use ovsdb_proto::{Payload, Uuid};
use serde_json::{json, Value};

fn decode_update2(params: &Payload) -> TableUpdates2 {
    let (_id, updates): (Value, TableUpdates2) = params.decode("update2").unwrap();
    updates
}

const NB: &str = "OVN_Northbound";

/// A typed replica of the monitored tables.
#[derive(Default)]
struct Replica {
    switches: HashMap<Uuid, LogicalSwitch>,
    ports: HashMap<Uuid, LogicalSwitchPort>,
    acls: HashMap<Uuid, Acl>,
    routers: HashMap<Uuid, LogicalRouter>,
    router_ports: HashMap<Uuid, LogicalRouterPort>,
    routes: HashMap<Uuid, LogicalRouterStaticRoute>,
    port_groups: HashMap<Uuid, PortGroup>,
    address_sets: HashMap<Uuid, AddressSet>,
}

fn apply<T: Table>(rows: &mut HashMap<Uuid, T>, update: TypedTableUpdate2<T>) {
    for (uuid, change) in update.0 {
        change.apply(rows, uuid).unwrap();
    }
}

impl Replica {
    fn apply(&mut self, u: TableUpdates2) {
        apply(&mut self.switches, u.logical_switch);
        apply(&mut self.ports, u.logical_switch_port);
        apply(&mut self.acls, u.acl);
        apply(&mut self.routers, u.logical_router);
        apply(&mut self.router_ports, u.logical_router_port);
        apply(&mut self.routes, u.logical_router_static_route);
        apply(&mut self.port_groups, u.port_group);
        apply(&mut self.address_sets, u.address_set);
    }
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000 | n)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn string_map(items: &[(&str, &str)]) -> StringMap {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The form a row takes once decoded (sets sorted).
fn canonical<T: Table>(row: &T) -> T {
    T::from_row(row.uuid(), &row.to_row()).unwrap()
}

fn one<T: Table>(rows: &HashMap<Uuid, T>, what: &str, pred: impl Fn(&T) -> bool) -> T {
    let found: Vec<&T> = rows.values().filter(|r| pred(r)).collect();
    assert_eq!(found.len(), 1, "{what}: {found:?}");
    found[0].clone()
}

#[test]
fn typed_rows_against_real_ovsdb_server() {
    if !real_servers() {
        return;
    }
    let server = OvsdbServer::start(OVN_NB_SCHEMA).expect("start ovsdb-server");
    let mut client = RawClient::connect(&server.unix_path()).expect("connect to ovsdb-server");

    // Typed rows, with explicit UUIDs so they can refer to each other.
    let mut port = LogicalSwitchPort::default();
    port.uuid = uuid(2);
    port.name = "lsp0".into();
    port.addresses = strings(&["00:00:00:00:00:02 10.0.0.2", "router"]);
    port.port_security = strings(&["00:00:00:00:00:02 10.0.0.2"]);
    port.tag_request = Some(5);
    port.enabled = Some(true);
    port.options = string_map(&[("requested-chassis", "hv1")]);
    port.external_ids = string_map(&[("pod", "default/web-0")]);

    let mut acl = Acl::default();
    acl.uuid = uuid(3);
    acl.priority = 1001;
    acl.direction = AclDirection::ToLport;
    acl.match_ = "ip4 && tcp.dst == 80".into();
    acl.action = AclAction::AllowRelated;
    acl.log = true;
    acl.severity = Some(AclSeverity::Info);
    acl.name = Some("web".into());
    acl.label = 7;

    let mut switch = LogicalSwitch::default();
    switch.uuid = uuid(1);
    switch.name = "ls0".into();
    switch.ports = vec![Ref::new(port.uuid)];
    switch.acls = vec![Ref::new(acl.uuid)];
    switch.other_config = string_map(&[("subnet", "10.0.0.0/24")]);

    let mut router_port = LogicalRouterPort::default();
    router_port.uuid = uuid(5);
    router_port.name = "lrp0".into();
    router_port.mac = "00:00:00:00:01:01".into();
    router_port.networks = strings(&["10.0.0.1/24", "fd00::1/64"]);

    let mut route = LogicalRouterStaticRoute::default();
    route.uuid = uuid(6);
    route.ip_prefix = "10.1.0.0/16".into();
    route.nexthop = "10.0.0.254".into();
    route.route_table = "rtb-1".into();
    route.policy = Some(LogicalRouterStaticRoutePolicy::DstIp);
    route.external_ids = string_map(&[("ic-learned-route", "az1")]);

    let mut router = LogicalRouter::default();
    router.uuid = uuid(4);
    router.name = "lr0".into();
    router.ports = vec![Ref::new(router_port.uuid)];
    router.static_routes = vec![Ref::new(route.uuid)];
    router.enabled = Some(true);

    let mut group = PortGroup::default();
    group.uuid = uuid(7);
    group.name = "pg0".into();
    group.ports = vec![Ref::new(port.uuid)];

    let mut set = AddressSet::default();
    set.uuid = uuid(8);
    set.name = "as0".into();
    set.addresses = strings(&["10.0.0.3", "10.0.0.2"]);

    client.transact(
        NB,
        &[
            port.insert_op(),
            acl.insert_op(),
            switch.insert_op(),
            router_port.insert_op(),
            route.insert_op(),
            router.insert_op(),
            group.insert_op(),
            set.insert_op(),
        ],
    );

    // Monitor everything back.
    let tables = [
        "Logical_Switch",
        "Logical_Switch_Port",
        "ACL",
        "Logical_Router",
        "Logical_Router_Port",
        "Logical_Router_Static_Route",
        "Port_Group",
        "Address_Set",
    ];
    let requests: serde_json::Map<String, Value> = tables
        .iter()
        .map(|t| ((*t).to_owned(), json!({})))
        .collect();
    let reply = client.call("monitor_cond", json!(["OVN_Northbound", "typed", requests]));
    let initial: TableUpdates2 = reply.decode("monitor_cond reply").unwrap();
    let generic: ovsdb_proto::TableUpdates2 = reply.decode("monitor_cond reply").unwrap();

    // The generic path decodes to the same typed rows.
    let from_rows = |table: &str| -> HashMap<Uuid, ovsdb_proto::Row> {
        generic.0[table]
            .iter()
            .map(|(u, change)| match change {
                ovsdb_proto::RowUpdate2::Initial(row) => (*u, row.clone()),
                other => panic!("not initial: {other:?}"),
            })
            .collect()
    };
    let mut replica = Replica::default();
    replica.apply(initial);
    for (u, row) in from_rows("Logical_Switch_Port") {
        assert_eq!(
            LogicalSwitchPort::from_row(u, &row).unwrap(),
            replica.ports[&u]
        );
    }
    for (u, row) in from_rows("ACL") {
        assert_eq!(Acl::from_row(u, &row).unwrap(), replica.acls[&u]);
    }

    assert_eq!(replica.ports[&port.uuid], canonical(&port));
    assert_eq!(replica.acls[&acl.uuid], canonical(&acl));
    assert_eq!(replica.switches[&switch.uuid], canonical(&switch));
    assert_eq!(
        replica.router_ports[&router_port.uuid],
        canonical(&router_port)
    );
    assert_eq!(replica.routes[&route.uuid], canonical(&route));
    assert_eq!(replica.routers[&router.uuid], canonical(&router));
    assert_eq!(replica.port_groups[&group.uuid], canonical(&group));
    assert_eq!(replica.address_sets[&set.uuid], canonical(&set));
    assert_eq!(
        replica.address_sets[&set.uuid].addresses,
        ["10.0.0.2", "10.0.0.3"]
    );

    // A typed update: only the changed columns go out; the modify diff comes back.
    let mut new_route = route.clone();
    new_route.nexthop = "10.0.0.253".into();
    new_route.policy = None;
    new_route.external_ids.insert("owner", "test");
    new_route.external_ids.remove("ic-learned-route");
    let op = LogicalRouterStaticRoute::update_changed_op(&route, &new_route).unwrap();
    client.transact(NB, &[op]);
    let mut notes: Vec<TableUpdates2> = client
        .take_notifications("update2")
        .iter()
        .map(decode_update2)
        .collect();
    if notes.is_empty() {
        notes.push(decode_update2(&client.next_notification("update2")));
    }
    for u in notes {
        replica.apply(u);
    }
    assert_eq!(replica.routes[&route.uuid], canonical(&new_route));

    // Rows written by ovn-nbctl.
    let db = format!("--db={}", server.remote());
    server
        .run(
            "ovn-nbctl",
            &[&db, "lr-route-add", "lr0", "10.2.0.0/16", "10.0.0.250"],
        )
        .expect("lr-route-add");
    server
        .run("ovn-nbctl", &[&db, "lsp-add", "ls0", "lsp1"])
        .expect("lsp-add");
    server
        .run(
            "ovn-nbctl",
            &[
                &db,
                "acl-add",
                "ls0",
                "from-lport",
                "100",
                "ip4.src == 10.0.0.9",
                "drop",
            ],
        )
        .expect("acl-add");
    let deadline = Instant::now() + Duration::from_secs(20);
    while replica.routes.len() < 2 || replica.ports.len() < 2 || replica.acls.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "ovn-nbctl changes did not arrive"
        );
        let u = decode_update2(&client.next_notification("update2"));
        replica.apply(u);
    }

    let added = one(&replica.routes, "lr-route-add", |r| {
        r.ip_prefix == "10.2.0.0/16"
    });
    assert_eq!(added.nexthop, "10.0.0.250");
    assert_eq!(added.route_table, "");
    assert_eq!(added.output_port, None);
    assert!(replica.routers[&router.uuid]
        .static_routes
        .contains(&Ref::new(added.uuid)));

    let lsp1 = one(&replica.ports, "lsp-add", |p| p.name == "lsp1");
    assert_eq!(lsp1.type_, "");
    assert!(lsp1.addresses.is_empty());
    assert!(replica.switches[&switch.uuid]
        .ports
        .contains(&Ref::new(lsp1.uuid)));

    let dropped = one(&replica.acls, "acl-add", |a| a.priority == 100);
    assert_eq!(dropped.direction, AclDirection::FromLport);
    assert_eq!(dropped.action, AclAction::Drop);
    assert_eq!(dropped.match_, "ip4.src == 10.0.0.9");
    assert!(!dropped.log);
    assert!(replica.switches[&switch.uuid]
        .acls
        .contains(&Ref::new(dropped.uuid)));

    // The replica equals a fresh select of the server's state.
    let reply = client.call(
        "transact",
        json!([
            "OVN_Northbound",
            LogicalRouterStaticRoute::select_op(vec![])
        ]),
    );
    let results: Vec<Value> = reply.decode("select").unwrap();
    let rows = results[0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let raw: ovsdb_proto::Row = serde_json::from_value(row.clone()).unwrap();
        let Some(ovsdb_proto::Datum::Set(s)) = raw.get("_uuid") else {
            panic!("no _uuid: {row}");
        };
        let u = s.as_slice()[0].as_uuid().unwrap();
        let selected = LogicalRouterStaticRoute::from_row(u, &raw).unwrap();
        assert_eq!(selected, replica.routes[&u]);
    }
}
