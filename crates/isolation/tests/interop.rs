//! Plans applied to a real `ovsdb-server` holding rows written by `ovn-nbctl` the way
//! Neutron and Kube-OVN write them, read back with `ovsdb-client -f json dump`.
//!
//! Skipped (with a `skipped:` line) when Debian's Open vSwitch / OVN programs are missing,
//! unless `OVNLINK_REAL_TESTS=1`.

use isolation::{
    plan_b, plan_c, verify, Cell, IcRows, Inventory, Policy, TopologyConfig, VpcKind, World, ZoneNb,
};
use ovnlink_testkit::raw::RawClient;
use ovnlink_testkit::server::{real_servers, OvsdbServer, OVN_IC_NB_SCHEMA, OVN_NB_SCHEMA};
use ovnlink_testkit::tenants::{kube_tenant, neutron_tenant};
use ovsdb_proto::dump::Dump;

const POLICY: &str = r#"{"pairs": [
    {"openstack": {"router_name": "tenant-a"}, "kubernetes": {"vpc": "vpc-a"}},
    {"openstack": {"project": "p2"}, "kubernetes": {"vpc": "vpc-b"}}
]}"#;

fn dump(server: &OvsdbServer, db: &str) -> Dump {
    let text = server
        .run(
            "ovsdb-client",
            &["-f", "json", "dump", &server.remote(), db],
        )
        .expect("ovsdb-client dump");
    Dump::parse(&text).expect("a dump")
}

#[test]
fn topology_c_plan_applies_to_a_real_nb_and_is_idempotent() {
    if !real_servers() {
        return;
    }
    let server = OvsdbServer::start(OVN_NB_SCHEMA).expect("ovsdb-server");
    neutron_tenant(&server, 0, "r1", "tenant-a", "p1", "10.0.0.1/24", 0);
    neutron_tenant(&server, 0, "r2", "tenant-b", "p2", "10.1.0.1/24", 1);
    kube_tenant(&server, 0, "vpc-a", "subnet-a", "10.16.0.1/16", 2);
    kube_tenant(&server, 0, "vpc-b", "subnet-b", "10.17.0.1/16", 3);

    let read = || {
        let mut w = World::default();
        w.zones
            .push(ZoneNb::from_dump(Some("shared"), &dump(&server, "OVN_Northbound")).unwrap());
        w
    };
    let world = read();
    let inv = Inventory::from_world(&world);
    let ids: Vec<&str> = inv.vpcs().iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    let r1 = inv
        .vpcs()
        .iter()
        .find(|v| v.router == "neutron-r1")
        .unwrap();
    assert!(
        matches!(&r1.kind, VpcKind::OpenStack { project: Some(p), .. } if p == "p1"),
        "{r1:?}"
    );
    assert_eq!(
        r1.cidrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["10.0.0.0/24"]
    );

    let policy = Policy::from_json(POLICY).unwrap();
    let cfg = TopologyConfig::default();
    let plan = plan_c(&world.zones[0], &inv, &policy, &cfg).unwrap();
    assert!(
        !plan.is_empty() && plan.notes.is_empty(),
        "{:?}",
        plan.notes
    );
    let mut client = RawClient::connect(&server.unix_path()).expect("connect");
    client.transact("OVN_Northbound", &plan.nb["shared"]);

    let world = read();
    let inv = Inventory::from_world(&world);
    let again = plan_c(&world.zones[0], &inv, &policy, &cfg).unwrap();
    assert!(again.is_empty(), "{again:#?}");
    let report = verify(&world, &inv, &policy);
    assert!(report.leaks.is_empty(), "{report}");
    assert_eq!(
        report.cell("shared/neutron-r1", "shared/vpc-a"),
        Some(Cell::Reachable),
        "{report}"
    );
    assert_eq!(
        report.cell("shared/vpc-b", "shared/neutron-r2"),
        Some(Cell::Reachable),
        "{report}"
    );
    assert_eq!(
        report.cell("shared/neutron-r1", "shared/vpc-b"),
        Some(Cell::Isolated),
        "{report}"
    );

    // What ovn-nbctl sees: a route on the Neutron router, the guard ACLs on the port group.
    let db = format!("--db={}", server.remote());
    let routes = server
        .run("ovn-nbctl", &[&db, "lr-route-list", "neutron-r1"])
        .unwrap();
    assert!(
        routes.contains("10.16.0.0/16") && routes.contains("169.254.100.2"),
        "{routes}"
    );
    let acls = server
        .run("ovn-nbctl", &[&db, "acl-list", "ovnlink_shared_vpc_a"])
        .unwrap();
    assert!(
        acls.contains("to-lport 31000 (outport == @ovnlink_shared_vpc_a && ip4 && ip4.src == $ovnlink_shared_vpc_a_deny_ip4) drop"),
        "{acls}"
    );
    // Neutron's rows are as they were.
    let r1 = server
        .run(
            "ovn-nbctl",
            &[&db, "get", "Logical_Router", "neutron-r1", "external_ids"],
        )
        .unwrap();
    assert_eq!(
        r1.trim(),
        r#"{"neutron:revision_number"="1", "neutron:router_name"=tenant-a}"#
    );

    // Drop the pairs: everything this crate wrote goes, nothing else.
    let empty = Policy::default();
    let plan = plan_c(&world.zones[0], &inv, &empty, &cfg).unwrap();
    client.transact("OVN_Northbound", &plan.nb["shared"]);
    let world = read();
    let inv = Inventory::from_world(&world);
    assert!(plan_c(&world.zones[0], &inv, &empty, &cfg)
        .unwrap()
        .is_empty());
    let z = &world.zones[0];
    assert_eq!(z.static_routes.len(), 0);
    assert_eq!(z.router_ports.len(), 6);
    assert_eq!(
        z.port_groups.len(),
        2,
        "the pod guards stay (vpc-a, vpc-b): nobody may reach anybody"
    );
}

#[test]
fn topology_b_plan_applies_to_real_databases() {
    if !real_servers() {
        return;
    }
    let os = OvsdbServer::start(OVN_NB_SCHEMA).expect("ovsdb-server");
    let k8s = OvsdbServer::start(OVN_NB_SCHEMA).expect("ovsdb-server");
    let ic = OvsdbServer::start(OVN_IC_NB_SCHEMA).expect("ovsdb-server");
    neutron_tenant(&os, 0, "r1", "tenant-a", "p1", "10.0.0.1/24", 0);
    neutron_tenant(&os, 0, "r2", "tenant-b", "p2", "10.0.0.1/24", 1);
    kube_tenant(&k8s, 1, "vpc-a", "subnet-a", "10.16.0.1/16", 2);
    kube_tenant(&k8s, 1, "vpc-b", "subnet-b", "10.17.0.1/16", 3);
    let read = || {
        let mut w = World::default();
        w.zones
            .push(ZoneNb::from_dump(Some("os"), &dump(&os, "OVN_Northbound")).unwrap());
        w.zones
            .push(ZoneNb::from_dump(Some("k8s"), &dump(&k8s, "OVN_Northbound")).unwrap());
        w.ic = IcRows::from_dumps(&dump(&ic, "OVN_IC_Northbound"), &Dump::new()).unwrap();
        w
    };
    let policy = Policy::from_json(POLICY).unwrap();
    let cfg = TopologyConfig::default();
    let mut clients = [
        RawClient::connect(&os.unix_path()).unwrap(),
        RawClient::connect(&k8s.unix_path()).unwrap(),
    ];
    let mut ic_client = RawClient::connect(&ic.unix_path()).unwrap();
    for round in 0..3 {
        let world = read();
        let plan = plan_b(&world, &Inventory::from_world(&world), &policy, &cfg).unwrap();
        if round == 2 {
            assert!(plan.is_empty(), "{plan:#?}");
            break;
        }
        if !plan.ic_nb.is_empty() {
            ic_client.transact("OVN_IC_Northbound", &plan.ic_nb);
        }
        for (i, zone) in ["os", "k8s"].iter().enumerate() {
            if let Some(ops) = plan.nb.get(*zone) {
                clients[i].transact("OVN_Northbound", ops);
            }
        }
        // What ovn-ic does: mirror every transit switch into each zone.
        let names = ic
            .run(
                "ovn-ic-nbctl",
                &[
                    &format!("--db={}", ic.remote()),
                    "--bare",
                    "--columns=name",
                    "list",
                    "Transit_Switch",
                ],
            )
            .unwrap();
        for name in names.split_whitespace() {
            for s in [&os, &k8s] {
                let db = format!("--db={}", s.remote());
                s.run(
                    "ovn-nbctl",
                    &[
                        &db,
                        "--may-exist",
                        "ls-add",
                        name,
                        "--",
                        "set",
                        "Logical_Switch",
                        name,
                        &format!("other_config:interconn-ts={name}"),
                    ],
                )
                .unwrap();
            }
        }
    }
    let world = read();
    let ts: Vec<_> = world
        .ic
        .transit_switches
        .values()
        .map(|t| {
            t.external_ids
                .get("subnet")
                .map(str::to_owned)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(ts.len(), 2, "{ts:?}");
    let db = format!("--db={}", os.remote());
    let ports = os
        .run("ovn-nbctl", &[&db, "lrp-list", "neutron-r1"])
        .unwrap();
    assert!(ports.contains("ovnlink-ovnlink-"), "{ports}");
}
