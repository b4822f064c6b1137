//! The planners of topologies A, B and C: the operations they return and the worlds they make.

use super::*;
use crate::fixture::{bare, mirror_ts, shared};
use crate::{plan_a, plan_b, plan_c, TopologyConfig, TopologyPlan};
use ovsdb_proto::Operation;

fn ops_of(plan: &TopologyPlan) -> Vec<String> {
    let mut v: Vec<String> = plan
        .ic_nb
        .iter()
        .map(|o| format!("ic_nb {}", serde_json::to_string(o).unwrap()))
        .collect();
    for (z, ops) in &plan.nb {
        v.extend(
            ops.iter()
                .map(|o| format!("{z} {}", serde_json::to_string(o).unwrap())),
        );
    }
    v
}

/// No `update` or `delete` of a row carrying `neutron:` keys or `vendor=kube-ovn`.
fn assert_foreign_rows_only_mutated(world: &World, plan: &TopologyPlan) {
    for (zone, ops) in &plan.nb {
        let z = world.zone(zone).unwrap();
        let t = z.to_dump();
        for op in ops {
            let (table, conditions) = match op {
                Operation::Update {
                    table, conditions, ..
                }
                | Operation::Delete { table, conditions } => (table, conditions),
                _ => continue,
            };
            let ovsdb_proto::Condition::Compare { value, .. } = &conditions[0] else {
                panic!()
            };
            let uuid = value.as_atom().and_then(|a| a.as_uuid()).unwrap();
            let row = &t.tables()[table][&uuid];
            let ext = serde_json::to_string(&row.get("external_ids")).unwrap();
            assert!(
                !ext.contains("neutron:") && !ext.contains("kube-ovn"),
                "{op:?} touches {ext}"
            );
        }
    }
}

#[test]
fn topology_a_attaches_paired_vpcs_and_is_idempotent() {
    let mut u = Uuids(0);
    let mut world = bare(&mut u, "10.1.0.1/24", &["ts"]);
    let pol = policy_a();
    let mut cfg = TopologyConfig::default();
    cfg.gateway_chassis
        .insert("os".into(), vec!["gw-1".into(), "gw-2".into()]);
    let inv = Inventory::from_world(&world);
    let plan = plan_a(&world, &inv, &pol, &cfg);
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    assert!(plan.ic_nb.is_empty());
    assert_foreign_rows_only_mutated(&world, &plan);
    plan.apply(&mut world, &mut || u.next()).unwrap();
    let again = plan_a(&world, &Inventory::from_world(&world), &pol, &cfg);
    assert!(again.is_empty(), "{:#?}", ops_of(&again));
    let os = world.zone("os").unwrap();
    let lrp = os
        .router_ports
        .values()
        .find(|l| l.name == "ovnlink-ts-neutron-r1")
        .unwrap();
    let mut gcs: Vec<String> = lrp
        .gateway_chassis
        .iter()
        .map(|g| {
            let g = &os.gateway_chassis[&g.uuid()];
            format!("{} {} {}", g.name, g.chassis_name, g.priority)
        })
        .collect();
    gcs.sort();
    assert_eq!(
        gcs,
        [
            "ovnlink-ts-neutron-r1-gw-1 gw-1 2",
            "ovnlink-ts-neutron-r1-gw-2 gw-2 1"
        ]
    );
    // A changed chassis list is reconciled on the existing port.
    cfg.gateway_chassis.insert("os".into(), vec!["gw-2".into()]);
    let plan = plan_a(&world, &Inventory::from_world(&world), &pol, &cfg);
    plan.apply(&mut world, &mut || u.next()).unwrap();
    assert!(plan_a(&world, &Inventory::from_world(&world), &pol, &cfg).is_empty());
    let os = world.zone("os").unwrap();
    let lrp = os
        .router_ports
        .values()
        .find(|l| l.name == "ovnlink-ts-neutron-r1")
        .unwrap();
    assert_eq!(lrp.gateway_chassis.len(), 1);
    assert_eq!(
        os.gateway_chassis[&lrp.gateway_chassis[0].uuid()].priority,
        1
    );
    assert_eq!(os.gateway_chassis.len(), 2);
    let mut addrs: Vec<String> = world
        .zones
        .iter()
        .flat_map(|z| z.router_ports.values())
        .filter(|l| l.name.starts_with("ovnlink-ts-"))
        .map(|l| format!("{} {}", l.name, l.networks[0]))
        .collect();
    addrs.sort();
    assert_eq!(
        addrs,
        [
            "ovnlink-ts-neutron-r1 169.254.100.3/24",
            "ovnlink-ts-neutron-r2 169.254.100.4/24",
            "ovnlink-ts-vpc-a 169.254.100.1/24",
            "ovnlink-ts-vpc-b 169.254.100.2/24"
        ]
    );
    // The VPC model is unchanged by the attachment (transit ports are not tenant space).
    assert_eq!(Inventory::from_world(&world).vpcs(), inv.vpcs());
    // Route exchange with the VPC filter: no leaks; without it: leaks.
    let mut stock = world.clone();
    exchange(&mut stock, &mut Uuids(9000), None);
    let filter = VpcFilter::new(Inventory::from_world(&stock), pol.clone());
    let mut filtered = world.clone();
    exchange(&mut filtered, &mut Uuids(9000), Some(&filter));
    let inv2 = Inventory::from_world(&filtered);
    let report = verify(&filtered, &inv2, &pol);
    assert!(report.leaks.is_empty(), "{report}");
    assert_eq!(
        report.cell("os/neutron-r1", "k8s/vpc-a"),
        Some(Cell::Reachable),
        "{report}"
    );
    assert_eq!(
        report.cell("k8s/vpc-b", "os/neutron-r2"),
        Some(Cell::Reachable),
        "{report}"
    );
    // Without the filter, r1 reaches vpc-b, but the guard ACLs (part of the plan) drop it.
    let report = verify(&stock, &Inventory::from_world(&stock), &pol);
    assert_eq!(
        report.cell("os/neutron-r1", "k8s/vpc-b"),
        Some(Cell::Guarded),
        "{report}"
    );
    assert_eq!(
        report.cell("k8s/vpc-b", "os/neutron-r1"),
        Some(Cell::Leak),
        "{report}"
    );
}

#[test]
fn topology_b_one_transit_switch_per_pair() {
    let mut u = Uuids(0);
    let mut world = bare(&mut u, "10.0.0.1/24", &["ts"]);
    let pol = policy_a();
    let cfg = TopologyConfig {
        pool: Prefix::parse("169.254.100.0/23").unwrap(),
        ..TopologyConfig::default()
    };
    let plan = plan_b(&world, &Inventory::from_world(&world), &pol, &cfg).unwrap();
    assert_eq!(plan.ic_nb.len(), 2, "{:#?}", ops_of(&plan));
    let pending = plan
        .pending
        .iter()
        .filter(|n| n.contains("has no logical switch yet"))
        .count();
    assert_eq!(pending, 4, "{:?}", plan.pending);
    plan.apply(&mut world, &mut || u.next()).unwrap();
    mirror_ts(&mut world, &mut u);
    let plan = plan_b(&world, &Inventory::from_world(&world), &pol, &cfg).unwrap();
    assert!(plan.ic_nb.is_empty(), "{:?}", plan.notes);
    assert!(
        plan.notes.iter().all(|n| n.contains("cannot guard")),
        "{:?}",
        plan.notes
    );
    assert_foreign_rows_only_mutated(&world, &plan);
    plan.apply(&mut world, &mut || u.next()).unwrap();
    mirror_ts(&mut world, &mut u);
    let again = plan_b(&world, &Inventory::from_world(&world), &pol, &cfg).unwrap();
    assert!(again.is_empty(), "{:#?}", ops_of(&again));
    // Each pair's transit switch holds exactly the pair's two routers, /30 from the pool
    // after Kube-OVN's 169.254.100.0/24.
    let mut ts: Vec<String> = world
        .ic
        .transit_switches
        .values()
        .filter(|t| t.name != "ts")
        .map(|t| {
            format!(
                "{} {}",
                &t.external_ids["ovnlink:pair"], &t.external_ids["subnet"]
            )
        })
        .collect();
    ts.sort();
    assert_eq!(
        ts,
        [
            "os/neutron-r1|k8s/vpc-a 169.254.101.0/30",
            "os/neutron-r2|k8s/vpc-b 169.254.101.4/30"
        ]
    );
    let inv = Inventory::from_world(&world);
    for t in world
        .ic
        .transit_switches
        .values()
        .filter(|t| t.name != "ts")
    {
        let mut on: Vec<String> = Vec::new();
        for z in &world.zones {
            let ix = crate::vpc::ZoneIndex::new(z);
            for l in z.router_ports.values() {
                if ix.lrp_ts.get(l.name.as_str()) == Some(&t.name.as_str()) {
                    on.push(format!("{} {}", ix.lrp_owner[&l.uuid], l.networks[0]));
                }
            }
        }
        assert_eq!(on.len(), 2, "{on:?}");
    }
    // Stock ovn-ic (no filter), overlapping tenant CIDRs: isolated by the topology.
    exchange(&mut world, &mut u, None);
    let report = verify(&world, &inv, &pol);
    assert!(report.leaks.is_empty(), "{report}");
    assert_eq!(
        report.cell("os/neutron-r2", "k8s/vpc-b"),
        Some(Cell::Reachable),
        "{report}"
    );
    assert_eq!(
        report.cell("k8s/vpc-a", "os/neutron-r1"),
        Some(Cell::Reachable),
        "{report}"
    );

    // Drop the second pair: its transit switch and ports go.
    let mut pol1 = pol.clone();
    pol1.pairs.truncate(1);
    let plan = plan_b(&world, &inv, &pol1, &cfg).unwrap();
    let text = ops_of(&plan).join("\n");
    assert_eq!(plan.ic_nb.len(), 1, "{text}");
    assert!(
        text.contains(r#"ic_nb {"op":"delete","table":"Transit_Switch""#),
        "{text}"
    );
    plan.apply(&mut world, &mut || u.next()).unwrap();
    mirror_ts(&mut world, &mut u);
    assert!(plan_b(&world, &Inventory::from_world(&world), &pol1, &cfg)
        .unwrap()
        .is_empty());
}

#[test]
fn topology_c_links_routers_beside_neutron_rows() {
    let mut u = Uuids(0);
    let mut world = shared(&mut u);
    let pol = Policy::from_json(
        r#"{"pairs": [
                {"openstack": {"router_name": "tenant-a"}, "kubernetes": {"vpc": "vpc-a"}},
                {"openstack": {"project": "p2"}, "kubernetes": {"vpc": "vpc-b"}}
            ]}"#,
    )
    .unwrap();
    let cfg = TopologyConfig::default();
    let inv = Inventory::from_world(&world);
    let before = verify(&world, &inv, &pol);
    assert_eq!(before.cell("os/neutron-r1", "k8s/vpc-a"), None);
    assert_eq!(
        before.cell("shared/neutron-r1", "shared/vpc-a"),
        Some(Cell::NoRoute),
        "{before}"
    );
    let plan = plan_c(&world.zones[0], &inv, &pol, &cfg).unwrap();
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    assert_foreign_rows_only_mutated(&world, &plan);
    plan.apply(&mut world, &mut || u.next()).unwrap();
    let again = plan_c(&world.zones[0], &Inventory::from_world(&world), &pol, &cfg).unwrap();
    assert!(again.is_empty(), "{:#?}", ops_of(&again));
    let inv2 = Inventory::from_world(&world);
    assert_eq!(inv2.vpcs(), inv.vpcs());
    let report = verify(&world, &inv2, &pol);
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
    // A Kube-OVN VPC peering vpc-a ↔ vpc-b with a route: reachable, dropped by the guard.
    let z = &mut world.zones[0];
    let a = *z.routers.iter().find(|(_, r)| r.name == "vpc-a").unwrap().0;
    let bb = *z.routers.iter().find(|(_, r)| r.name == "vpc-b").unwrap().0;
    let mut b = crate::fixture::B { z, u: &mut u };
    let pa = b.lrp(
        a,
        "vpc-a-vpc-b",
        &["10.255.0.1/30"],
        &[("vendor", "kube-ovn")],
        None,
    );
    let pb = b.lrp(
        bb,
        "vpc-b-vpc-a",
        &["10.255.0.2/30"],
        &[("vendor", "kube-ovn")],
        None,
    );
    b.z.router_ports.get_mut(&pa).unwrap().peer = Some("vpc-b-vpc-a".into());
    b.z.router_ports.get_mut(&pb).unwrap().peer = Some("vpc-a-vpc-b".into());
    b.route(a, "10.17.0.0/16", "10.255.0.2", &[("vendor", "kube-ovn")]);
    assert_eq!(Inventory::from_world(&world).vpcs(), inv2.vpcs());
    let report = verify(&world, &inv2, &pol);
    assert!(report.leaks.is_empty(), "{report}");
    assert_eq!(
        report.cell("shared/vpc-a", "shared/vpc-b"),
        Some(Cell::Guarded),
        "{report}"
    );
    assert_eq!(
        report.guarded[0].to_string(),
        "shared/vpc-a → shared/vpc-b (10.17.0.0/16): shared/vpc-a [10.17.0.0/16 via 10.255.0.2 (static)] → peer link vpc-a-vpc-b → shared/vpc-b [10.17.0.1/16 connected (vpc-b-subnet-b)]"
    );
    // Without guard rows it is a leak.
    for z in &mut world.zones {
        z.acls.clear();
    }
    let report = verify(&world, &inv2, &pol);
    assert_eq!(
        report.cell("shared/vpc-a", "shared/vpc-b"),
        Some(Cell::Leak),
        "{report}"
    );
    assert_eq!(report.leaks.len(), 1, "{report}");
}
