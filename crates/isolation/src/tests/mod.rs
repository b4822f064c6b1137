//! Scenario tests: VPC model, policy, filter and verifier on topology A.

use ic_routes::{AdvertiseCandidate, LearnCandidate, Prefix, RouteFilter};
use ovn_ic_sb::{Route, RouteOrigin};

use crate::fixture::{exchange, ids, policy_a, topology_a, topology_a_with, Uuids};
use crate::{
    verify, Cell, Decision, Inventory, Policy, Source, SourceRule, VpcFilter, VpcKind, World,
};

fn p(s: &str) -> Prefix {
    Prefix::parse(s).unwrap()
}

#[test]
fn vpc_model_of_topology_a() {
    let mut u = Uuids(0);
    let world = topology_a(&mut u);
    let inv = Inventory::from_world(&world);
    let ids: Vec<&str> = inv.vpcs().iter().map(|v| v.id.as_str()).collect();
    assert_eq!(
        ids,
        ["os/neutron-r1", "os/neutron-r2", "k8s/vpc-a", "k8s/vpc-b"]
    );
    let r1 = &inv.vpcs()[0];
    assert_eq!(
        r1.kind,
        VpcKind::OpenStack {
            router_id: "r1".into(),
            project: Some("p1".into()),
            router_name: Some("tenant-a".into())
        }
    );
    assert_eq!(r1.cidrs, [p("10.0.0.0/24")]);
    assert_eq!(r1.external, [p("172.24.4.0/24")]);
    assert_eq!(r1.switches.len(), 1);
    let a = &inv.vpcs()[2];
    assert_eq!(
        a.kind,
        VpcKind::Kubernetes {
            vpc: "vpc-a".into(),
            default: false
        }
    );
    assert_eq!(a.cidrs, [p("10.16.0.0/16")]);
    assert!(a.external.is_empty());
    assert_eq!(
        inv.by_transit_port("ts", "169.254.100.12".parse().unwrap())[0]
            .id
            .as_str(),
        "os/neutron-r2"
    );
}

#[test]
fn policy_pairs_are_symmetric_and_default_deny() {
    let mut u = Uuids(0);
    let inv = Inventory::from_world(&topology_a(&mut u));
    let pol = policy_a();
    let v = inv.vpcs();
    let (r1, r2, a, b) = (&v[0], &v[1], &v[2], &v[3]);
    assert!(pol.allows(r1, a) && pol.allows(a, r1));
    assert!(pol.allows(r2, b) && pol.allows(b, r2));
    assert!(!pol.allows(r1, b) && !pol.allows(r2, a) && !pol.allows(r1, r2) && !pol.allows(a, b));
    assert!(pol.allows(a, a));
    assert_eq!(pol.unknown_source, Decision::Deny);
    assert_eq!(pol.pairs_among(v).len(), 2);
    let mut pol2 = pol.clone();
    pol2.peerings.push(crate::Peering {
        a: crate::Selector::vpc("vpc-a"),
        b: crate::Selector::vpc("vpc-b"),
    });
    assert!(pol2.allows(b, a));
    assert!(Policy::from_json(r#"{"pairs":[{"openstack":{},"kubernetes":{"vpc":"x"}}]}"#).is_err());
    assert!(Policy::from_json(r#"{"pairs":[], "bogus": 1}"#).is_err());
    let round: Policy = serde_json::from_str(&serde_json::to_string(&pol).unwrap()).unwrap();
    assert_eq!(round, pol);
}

/// Every (learner, route) decision of the filter over `world`'s IC-SB routes, as
/// `learner <- prefix via nexthop: allowed`.
fn decisions(world: &World, filter: &VpcFilter) -> Vec<String> {
    let mut out = Vec::new();
    let az = |r: &Route| {
        world
            .ic
            .availability_zones
            .get(&r.availability_zone.uuid())
            .map_or("", |a| a.name.as_str())
    };
    for z in &world.zones {
        for lr in z.routers.values() {
            for r in world.ic.routes.values() {
                if az(r) == z.zone {
                    continue;
                }
                let prefix = p(&r.ip_prefix);
                let c = LearnCandidate {
                    zone: &z.zone,
                    router: lr,
                    transit_switch: &r.transit_switch,
                    advertiser_zone: az(r),
                    route: r,
                    prefix: &prefix,
                };
                if filter.learn(&c) {
                    out.push(format!("{} <- {} via {}", lr.name, r.ip_prefix, r.nexthop));
                }
            }
        }
    }
    out.sort();
    out
}

fn expected_a() -> Vec<String> {
    let mut v: Vec<String> = [
        "neutron-r1 <- 10.16.0.1/16 via 169.254.100.21",
        "neutron-r2 <- 10.17.0.1/16 via 169.254.100.22",
        "vpc-a <- 10.0.0.1/24 via 169.254.100.11",
        "vpc-a <- 172.24.4.10/24 via 169.254.100.11",
        "vpc-b <- 10.0.0.1/24 via 169.254.100.12",
        "vpc-b <- 172.24.4.11/24 via 169.254.100.12",
    ]
    .map(String::from)
    .to_vec();
    v.sort();
    v
}

fn stock_world() -> World {
    let mut u = Uuids(0);
    let mut world = topology_a(&mut u);
    exchange(&mut world, &mut u, None);
    world
}

#[test]
fn filter_identifies_sources_by_nb_id_of_stock_23_03() {
    let world = stock_world();
    let filter = VpcFilter::new(Inventory::from_world(&world), policy_a());
    assert_eq!(decisions(&world, &filter), expected_a());
    // Every route here carries nb-id only, as 23.03.1 writes it.
    let r = world
        .ic
        .routes
        .values()
        .find(|r| r.nexthop == "169.254.100.12")
        .unwrap();
    let prefix = p(&r.ip_prefix);
    let lr = world.zones[1]
        .routers
        .values()
        .find(|l| l.name == "vpc-a")
        .unwrap();
    let c = LearnCandidate {
        zone: "k8s",
        router: lr,
        transit_switch: "ts",
        advertiser_zone: "os",
        route: r,
        prefix: &prefix,
    };
    assert_eq!(
        filter.source(&c),
        Source::Vpc(crate::VpcId("os/neutron-r2".into()), SourceRule::NbId)
    );
}

fn rewrite(world: &mut World, f: impl Fn(&mut Route)) {
    for r in world.ic.routes.values_mut() {
        f(r);
    }
}

#[test]
fn filter_uses_lr_id_then_transit_port_then_tag() {
    let base = stock_world();
    let inv = Inventory::from_world(&base);
    // lr-id only (nb-id of an unknown row).
    let mut w = base.clone();
    let pb_router: std::collections::BTreeMap<String, String> =
        w.ic.port_bindings
            .values()
            .map(|pb| {
                let ip = pb.address.split_whitespace().nth(1).unwrap();
                (
                    p(ip).addr().to_string(),
                    pb.external_ids.get("router-id").unwrap().to_owned(),
                )
            })
            .collect();
    rewrite(&mut w, |r| {
        r.external_ids = ids(&[
            ("nb-id", "00000000-0000-0000-0000-00000000ffff"),
            ("lr-id", &pb_router[&r.nexthop]),
        ]);
    });
    let filter = VpcFilter::new(inv.clone(), policy_a());
    assert_eq!(decisions(&w, &filter), expected_a());
    // No external_ids at all: the nexthop names the transit-switch port.
    let mut w = base.clone();
    rewrite(&mut w, |r| r.external_ids = ids(&[]));
    assert_eq!(decisions(&w, &filter), expected_a());
    let r = w.ic.routes.values().next().unwrap();
    let pre = p(&r.ip_prefix);
    let lr = w.zones[0].routers.values().next().unwrap();
    let az = if w.ic.availability_zones[&r.availability_zone.uuid()].name == "os" {
        "os"
    } else {
        "k8s"
    };
    let c = LearnCandidate {
        zone: "x",
        router: lr,
        transit_switch: "ts",
        advertiser_zone: az,
        route: r,
        prefix: &pre,
    };
    assert!(matches!(
        filter.source(&c),
        Source::Vpc(_, SourceRule::TransitPort)
    ));
    // Unknown nexthop, tag present.
    let mut w = base.clone();
    rewrite(&mut w, |r| {
        let owner = inv.by_transit_port("ts", r.nexthop.parse().unwrap())[0]
            .id
            .0
            .clone();
        r.external_ids = ids(&[(crate::VPC_KEY, &owner)]);
        r.nexthop = "169.254.100.99".into();
    });
    let got = decisions(&w, &filter);
    assert_eq!(got.len(), 6, "{got:?}");
}

#[test]
fn filter_falls_back_to_prefix_and_denies_ambiguous_and_unknown() {
    let base = stock_world();
    let inv = Inventory::from_world(&base);
    let filter = VpcFilter::new(inv, policy_a());
    let mut w = base.clone();
    rewrite(&mut w, |r| {
        r.external_ids = ids(&[]);
        r.nexthop = "169.254.100.99".into();
    });
    // 10.0.0.0/24 is in both r1 and r2 (overlap): ambiguous → denied to vpc-a and vpc-b.
    // 172.24.4.x is no tenant space: unknown → denied.
    let got = decisions(&w, &filter);
    assert_eq!(
        got,
        [
            "neutron-r1 <- 10.16.0.1/16 via 169.254.100.99",
            "neutron-r2 <- 10.17.0.1/16 via 169.254.100.99"
        ]
    );
    let mut pol = policy_a();
    pol.unknown_source = Decision::Allow;
    let filter = VpcFilter::new(filter.inventory().clone(), pol);
    let got = decisions(&w, &filter);
    assert_eq!(
        got,
        [
            "neutron-r1 <- 10.16.0.1/16 via 169.254.100.99",
            "neutron-r2 <- 10.17.0.1/16 via 169.254.100.99",
            "vpc-a <- 172.24.4.10/24 via 169.254.100.99",
            "vpc-a <- 172.24.4.11/24 via 169.254.100.99",
            "vpc-b <- 172.24.4.10/24 via 169.254.100.99",
            "vpc-b <- 172.24.4.11/24 via 169.254.100.99"
        ]
    );
    // A router that is not a VPC learns nothing by default.
    let r = w.ic.routes.values().next().unwrap();
    let pre = p(&r.ip_prefix);
    let stranger = mk!(ovn_nb::LogicalRouter {
        name: "other".into()
    });
    let c = LearnCandidate {
        zone: "k8s",
        router: &stranger,
        transit_switch: "ts",
        advertiser_zone: "os",
        route: r,
        prefix: &pre,
    };
    assert!(!filter.learn(&c));
}

#[test]
fn filter_never_advertises_neutron_gateway_networks() {
    let world = stock_world();
    let filter = VpcFilter::new(Inventory::from_world(&world), policy_a());
    let lr = world.zones[0]
        .routers
        .values()
        .find(|l| l.name == "neutron-r1")
        .unwrap();
    let ad = |s: &str| {
        let pre = p(s);
        filter.advertise(&AdvertiseCandidate {
            zone: "os",
            router: lr,
            transit_switch: "ts",
            prefix: &pre,
            route_table: "",
            origin: &RouteOrigin::Connected,
        })
    };
    assert!(ad("10.0.0.1/24"));
    assert!(!ad("172.24.4.10/24"));
}

#[test]
fn verifier_reports_leaks_of_stock_ovn_ic_with_paths() {
    let world = stock_world();
    let inv = Inventory::from_world(&world);
    let report = verify(&world, &inv, &policy_a());
    let text = report.to_string();
    assert_eq!(
        report.cell("os/neutron-r1", "k8s/vpc-a"),
        Some(Cell::Reachable),
        "{text}"
    );
    assert_eq!(
        report.cell("os/neutron-r1", "k8s/vpc-b"),
        Some(Cell::Leak),
        "{text}"
    );
    assert_eq!(
        report.cell("k8s/vpc-a", "os/neutron-r2"),
        Some(Cell::Leak),
        "{text}"
    );
    // Overlapping CIDRs: r1's own 10.0.0.0/24 wins, r2 is not reached.
    assert_eq!(
        report.cell("os/neutron-r1", "os/neutron-r2"),
        Some(Cell::Isolated),
        "{text}"
    );
    assert_eq!(
        report.cell("k8s/vpc-a", "k8s/vpc-b"),
        Some(Cell::Isolated),
        "{text}"
    );
    let leak = report
        .leaks
        .iter()
        .find(|l| l.from.0 == "k8s/vpc-a" && l.to.0 == "os/neutron-r2")
        .unwrap();
    assert_eq!(
        leak.to_string(),
        "k8s/vpc-a → os/neutron-r2 (10.0.0.0/24): k8s/vpc-a [10.0.0.1/24 via 169.254.100.12 (learned), branch 2/2] → transit switch ts → os/neutron-r2 [10.0.0.1/24 connected (lrp-if-r2)]"
    );
    assert_eq!(report.leaks.len(), 4, "{text}");
    assert_eq!(
        report.warnings,
        [
            "k8s/vpc-a: 10.0.0.0/24 is ECMP across os/neutron-r1, os/neutron-r2",
            "k8s/vpc-a: 172.24.4.0/24 is ECMP across os/neutron-r1, os/neutron-r2",
            "k8s/vpc-b: 10.0.0.0/24 is ECMP across os/neutron-r1, os/neutron-r2",
            "k8s/vpc-b: 172.24.4.0/24 is ECMP across os/neutron-r1, os/neutron-r2"
        ]
    );
}

#[test]
fn verifier_terminates_on_routing_loops() {
    let mut u = Uuids(0);
    let mut world = stock_world();
    // r1 and r2 point 10.99.0.0/16 at each other over their transit ports (a loop), and
    // vpc-a sends it to r1.
    let os = world.zone_mut("os").unwrap();
    let r1 = *os
        .routers
        .iter()
        .find(|(_, r)| r.name == "neutron-r1")
        .unwrap()
        .0;
    let r2 = *os
        .routers
        .iter()
        .find(|(_, r)| r.name == "neutron-r2")
        .unwrap()
        .0;
    u.0 = 100_000;
    let mut b = crate::fixture::B { z: os, u: &mut u };
    b.route(r1, "10.99.0.0/16", "169.254.100.12", &[]);
    b.route(r2, "10.99.0.0/16", "169.254.100.11", &[]);
    // vpc-b owns 10.99.0.0/16 only in the policy's imagination: give it the network.
    let k8s = world.zone_mut("k8s").unwrap();
    let vb = *k8s
        .routers
        .iter()
        .find(|(_, r)| r.name == "vpc-b")
        .unwrap()
        .0;
    let mut b = crate::fixture::B { z: k8s, u: &mut u };
    b.lrp(
        vb,
        "vpc-b-extra",
        &["10.99.0.1/16"],
        &[("vendor", "kube-ovn")],
        None,
    );
    let inv = Inventory::from_world(&world);
    let report = verify(&world, &inv, &policy_a());
    // r1 → vpc-b is still a leak through the learned 10.17/16; the loop adds nothing and ends.
    assert_eq!(report.cell("os/neutron-r1", "k8s/vpc-b"), Some(Cell::Leak));
    assert!(
        report
            .leaks
            .iter()
            .all(|l| l.destination.to_string() != "10.99.0.0/16"),
        "{report}"
    );
}

#[test]
fn verifier_finds_no_leak_when_the_filter_learns() {
    let mut u = Uuids(0);
    let mut world = topology_a(&mut u);
    let filter = {
        let mut w = world.clone();
        exchange(&mut w, &mut Uuids(1000), None);
        VpcFilter::new(Inventory::from_world(&w), policy_a())
    };
    exchange(&mut world, &mut u, Some(&filter));
    let report = verify(&world, &Inventory::from_world(&world), &policy_a());
    assert!(report.leaks.is_empty(), "{report}");
    assert_eq!(
        report.cell("os/neutron-r2", "k8s/vpc-b"),
        Some(Cell::Reachable)
    );
    assert_eq!(
        report.cell("k8s/vpc-b", "os/neutron-r2"),
        Some(Cell::Reachable)
    );
    let text = report.to_string();
    assert!(
        text.starts_with(
            "from \\ to     | os/neutron-r1 | os/neutron-r2 | k8s/vpc-a | k8s/vpc-b\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nno leaks\n"), "{text}");
}

#[test]
fn explain_names_the_learned_route_its_zone_and_the_filter_verdict() {
    let world = stock_world();
    let inv = Inventory::from_world(&world);
    // A leak of stock ovn-ic: the path, the IC-SB row it was learned from, and that the
    // VPC filter would have refused it.
    let e = crate::explain(&world, &inv, &policy_a(), "k8s/vpc-a", "os/neutron-r2").unwrap();
    assert_eq!(e.cell, Cell::Leak);
    assert!(e.policy.starts_with("not allowed"), "{e}");
    let d = &e.destinations[0];
    let hops = d.path.as_ref().expect("a path");
    assert!(hops[0].learned_from.is_some(), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("learned from zone os over transit switch ts"),
        "{text}"
    );
    assert!(text.contains("the VPC filter refuses it"), "{text}");
    // An allowed pair by address, and the pair rule that allows it.
    let e = crate::explain(&world, &inv, &policy_a(), "tenant-a", "10.16.0.5").unwrap();
    assert_eq!(
        (e.from.as_str(), e.to.as_str()),
        ("os/neutron-r1", "k8s/vpc-a")
    );
    assert_eq!(e.cell, Cell::Reachable);
    assert!(e.policy.starts_with("allowed by pairs[0]"), "{e}");
    assert_eq!(e.destinations.len(), 1);
    assert!(e.to_string().contains("the VPC filter learns it"), "{e}");
    // With the filter, the refused route is not learned: no path, and the note says why.
    let mut u = Uuids(0);
    let mut world = topology_a(&mut u);
    let filter = {
        let mut w = world.clone();
        exchange(&mut w, &mut Uuids(1000), None);
        VpcFilter::new(Inventory::from_world(&w), policy_a())
    };
    exchange(&mut world, &mut u, Some(&filter));
    let inv = Inventory::from_world(&world);
    let e = crate::explain(&world, &inv, &policy_a(), "k8s/vpc-b", "os/neutron-r1").unwrap();
    assert_eq!(e.cell, Cell::Isolated, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("k8s/vpc-b: its best route for 10.0.0.0/24 is"),
        "{text}"
    );
    assert!(
        text.contains("has not learned it") && text.contains("the VPC filter refuses it"),
        "{text}"
    );
    // Bad endpoints name the cause.
    let err = crate::explain(&world, &inv, &policy_a(), "nope", "vpc-a").unwrap_err();
    assert!(err.to_string().contains("nope: no such VPC"), "{err}");
    let err = crate::explain(&world, &inv, &policy_a(), "vpc-a", "192.0.2.1").unwrap_err();
    assert!(err.to_string().contains("in no VPC"), "{err}");
}

mod guards {
    use super::*;
    use crate::fixture::topology_a_with;
    use crate::{plan_guards, GuardConfig};

    fn ops_text(ops: &[ovsdb_proto::Operation]) -> Vec<String> {
        ops.iter()
            .map(|o| serde_json::to_string(o).unwrap())
            .collect()
    }

    #[test]
    fn guards_are_planned_applied_and_idempotent() {
        let mut u = Uuids(0);
        let mut world = topology_a_with(&mut u, "10.1.0.1/24");
        exchange(&mut world, &mut u, None);
        let inv = Inventory::from_world(&world);
        let pol = policy_a();
        let cfg = GuardConfig::default();
        let plan = plan_guards(&world.zones[1], &inv, &pol, &cfg);
        assert!(plan.notes.is_empty(), "{:?}", plan.notes);
        let text = ops_text(&plan.ops).join("\n");
        assert_eq!(plan.ops.len(), 6, "{text}");
        assert!(
            text.contains(r#""match":"outport == @ovnlink_k8s_vpc_a && ip4 && ip4.src == $ovnlink_k8s_vpc_a_deny_ip4""#),
            "{text}"
        );
        assert!(
            text.contains(r#""addresses":["set",["10.1.0.0/24","10.17.0.0/16"]]"#),
            "{text}"
        );
        assert!(text.contains(r#""priority":31000"#), "{text}");
        assert!(
            !text.contains("neutron:") && !text.contains("kube-ovn"),
            "{text}"
        );
        let mut next = Uuids(5000);
        world.zones[1]
            .apply(&plan.ops, &mut || next.next())
            .unwrap();
        let again = plan_guards(&world.zones[1], &inv, &pol, &cfg);
        assert!(again.ops.is_empty(), "{:?}", ops_text(&again.ops));
        // The guard turns r2 → vpc-a (reachable through stock ovn-ic) into "guarded".
        let report = verify(&world, &inv, &pol);
        assert_eq!(
            report.cell("os/neutron-r2", "k8s/vpc-a"),
            Some(Cell::Guarded),
            "{report}"
        );
        assert_eq!(
            report.cell("os/neutron-r1", "k8s/vpc-b"),
            Some(Cell::Guarded),
            "{report}"
        );
        assert!(
            report.leaks.iter().all(|l| l.to.0.starts_with("os/")),
            "{report}"
        );

        // Allow vpc-a ↔ r2 too: the deny set shrinks in place (one update).
        let mut pol2 = pol.clone();
        pol2.peerings.push(crate::Peering {
            a: crate::Selector::router("neutron-r2"),
            b: crate::Selector::vpc("vpc-a"),
        });
        let plan = plan_guards(&world.zones[1], &inv, &pol2, &cfg);
        let text = ops_text(&plan.ops).join("\n");
        assert_eq!(plan.ops.len(), 1, "{text}");
        assert!(
            text.contains(r#""op":"update""#) && text.contains(r#""addresses":"10.17.0.0/16""#),
            "{text}"
        );
        world.zones[1]
            .apply(&plan.ops, &mut || next.next())
            .unwrap();
        assert!(plan_guards(&world.zones[1], &inv, &pol2, &cfg)
            .ops
            .is_empty());

        // A VPC everybody may reach needs no guard: its rows are deleted.
        let mut pol3 = pol2.clone();
        for x in ["neutron-r1", "vpc-b"] {
            pol3.peerings.push(crate::Peering {
                a: crate::Selector::router(x),
                b: crate::Selector::vpc("vpc-a"),
            });
        }
        let plan = plan_guards(&world.zones[1], &inv, &pol3, &cfg);
        world.zones[1]
            .apply(&plan.ops, &mut || next.next())
            .unwrap();
        assert!(plan_guards(&world.zones[1], &inv, &pol3, &cfg)
            .ops
            .is_empty());
        let z = &world.zones[1];
        let own_acls = z
            .acls
            .values()
            .filter(|a| crate::vpc::is_own(&a.external_ids))
            .count();
        let own_sets = z
            .address_sets
            .values()
            .filter(|a| crate::vpc::is_own(&a.external_ids))
            .count();
        // vpc-a keeps only its port group (no deny set); vpc-b keeps its ACL and set.
        assert_eq!((own_acls, own_sets, z.port_groups.len()), (1, 1, 2));
    }

    #[test]
    fn overlapping_cidrs_cannot_be_guarded_and_are_reported() {
        let world = stock_world();
        let inv = Inventory::from_world(&world);
        let plan = plan_guards(&world.zones[1], &inv, &policy_a(), &GuardConfig::default());
        assert_eq!(
            plan.notes,
            [
                "k8s/vpc-a: cannot guard against 10.0.0.0/24 of os/neutron-r2: it overlaps an allowed CIDR",
                "k8s/vpc-b: cannot guard against 10.0.0.0/24 of os/neutron-r1: it overlaps an allowed CIDR"
            ]
        );
    }
}

mod topologies {
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
}

#[test]
fn route_engine_learns_only_paired_routes_with_the_filter() {
    // Zones as stock ovn-ic left them (IC-SB advertisements with nb-id only), learned
    // routes removed: the engine of zone k8s re-learns with the VPC filter.
    let mut world = stock_world();
    for z in &mut world.zones {
        let learned: Vec<_> = z
            .static_routes
            .values()
            .filter(|r| r.external_ids.contains_key("ic-learned-route"))
            .map(|r| r.uuid)
            .collect();
        for lr in z.routers.values_mut() {
            lr.static_routes.retain(|r| !learned.contains(&r.uuid()));
        }
        z.static_routes.retain(|u, _| !learned.contains(u));
        z.nb_global.name = z.zone.clone();
        z.nb_global.options = ids(&[("ic-route-adv", "true"), ("ic-route-learn", "true")]);
    }
    let filter = VpcFilter::new(Inventory::from_world(&world), policy_a());
    for zone in ["os", "k8s"] {
        let snap = world.route_snapshot(zone).unwrap();
        let plan = ic_routes::plan_filtered(zone, &snap.nb, &snap.ic_nb, &snap.ic_sb, &filter);
        let z = world.zone(zone).unwrap();
        let mut got: Vec<String> = plan
            .learned_to_insert
            .iter()
            .map(|l| {
                format!(
                    "{} <- {} via {}",
                    z.routers[&l.router].name, l.route.ip_prefix, l.route.nexthop
                )
            })
            .collect();
        got.sort();
        let want: Vec<String> = expected_a()
            .into_iter()
            .filter(|w| (zone == "os") == w.starts_with("neutron"))
            .collect();
        assert_eq!(got, want, "{zone}");
        let stock = ic_routes::plan(zone, &snap.nb, &snap.ic_nb, &snap.ic_sb);
        assert!(stock.learned_to_insert.len() > got.len());
    }
    // The engine's explanation names the policy: vpc-a may not learn tenant-b's network.
    let snap = world.route_snapshot("k8s").unwrap();
    let e = snap.explain(
        &ic_routes::Prefix::parse("10.0.0.0/24").unwrap(),
        Some("vpc-a"),
        &filter,
    );
    let text = e.to_string();
    assert!(
        text.contains("not learned: refused by the route filter: source VPC os/neutron-r2 (by NbId): no pair or peering of the policy lets it talk to k8s/vpc-a"),
        "{text}"
    );
    assert!(
        text.contains("learned\n") || text.lines().any(|l| l.ends_with(": learned")),
        "{text}"
    );
}

mod inventory_json {
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
}

mod props {
    use super::*;
    use crate::fixture::{bare, mirror_ts, shared};
    use crate::{plan_a, plan_b, plan_c, Pair, Peering, Selector, TopologyConfig};
    use proptest::prelude::*;

    /// A policy from 4 pair bits (r1/r2 × vpc-a/vpc-b) and 2 peering bits (vpc-a↔vpc-b,
    /// r1↔r2).
    fn policy(bits: u8) -> Policy {
        let mut p = Policy::default();
        let os = ["neutron-r1", "neutron-r2"];
        let k = ["vpc-a", "vpc-b"];
        for i in 0..4 {
            if bits & (1 << i) != 0 {
                p.pairs.push(Pair::new(
                    Selector::router(os[i / 2]),
                    Selector::vpc(k[i % 2]),
                ));
            }
        }
        if bits & 16 != 0 {
            p.peerings.push(Peering {
                a: Selector::vpc("vpc-a"),
                b: Selector::vpc("vpc-b"),
            });
        }
        if bits & 32 != 0 {
            p.peerings.push(Peering {
                a: Selector::router("neutron-r1"),
                b: Selector::router("neutron-r2"),
            });
        }
        p
    }

    fn r2_net(overlap: bool) -> &'static str {
        if overlap {
            "10.0.0.1/24"
        } else {
            "10.1.0.1/24"
        }
    }

    fn no_leaks(world: &World, pol: &Policy) -> Result<(), TestCaseError> {
        let report = verify(world, &Inventory::from_world(world), pol);
        prop_assert!(report.leaks.is_empty(), "{}", report);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The filter's decision equals the policy applied to the true source (the router
        /// owning the route's nb-id), for every learner and route.
        #[test]
        fn filter_matches_ground_truth(bits in 0u8..64, overlap: bool, strip_nb_id: bool) {
            let mut u = Uuids(0);
            let mut world = crate::fixture::topology_a_with(&mut u, r2_net(overlap));
            exchange(&mut world, &mut u, None);
            let pol = policy(bits);
            let inv = Inventory::from_world(&world);
            let filter = VpcFilter::new(inv.clone(), pol.clone());
            for z in &world.zones {
                for lr in z.routers.values() {
                    let Some(learner) = inv.by_router(&z.zone, lr.uuid) else { continue };
                    for r in world.ic.routes.values() {
                        let adv = &world.ic.availability_zones[&r.availability_zone.uuid()].name;
                        let truth = inv.by_nb_row(adv, r.external_ids["nb-id"].parse().unwrap()).unwrap();
                        let mut route = r.clone();
                        if strip_nb_id {
                            route.external_ids = ids(&[]);
                        }
                        let prefix = p(&r.ip_prefix);
                        let c = LearnCandidate { zone: &z.zone, router: lr, transit_switch: "ts", advertiser_zone: adv, route: &route, prefix: &prefix };
                        // Never a route into the learner's own tenant space from another VPC.
                        let into_own = truth.id != learner.id
                            && learner.cidrs.iter().any(|c| prefix.is_within(c) || c.is_within(&prefix));
                        let want = pol.allows(learner, truth) && !into_own;
                        prop_assert_eq!(filter.learn(&c), want, "{} <- {} via {}", lr.name, r.ip_prefix, r.nexthop);
                    }
                }
            }
        }

        #[test]
        fn topology_a_is_idempotent_and_isolates_with_the_filter(bits in 0u8..64, overlap: bool) {
            let mut u = Uuids(0);
            let mut world = bare(&mut u, r2_net(overlap), &["ts"]);
            let pol = policy(bits);
            let cfg = TopologyConfig::default();
            let plan = plan_a(&world, &Inventory::from_world(&world), &pol, &cfg);
            plan.apply(&mut world, &mut || u.next()).unwrap();
            let again = plan_a(&world, &Inventory::from_world(&world), &pol, &cfg);
            prop_assert!(again.is_empty(), "{:?}", again);
            let mut stock = world.clone();
            exchange(&mut stock, &mut Uuids(900_000), None);
            let filter = VpcFilter::new(Inventory::from_world(&stock), pol.clone());
            exchange(&mut world, &mut Uuids(900_000), Some(&filter));
            no_leaks(&world, &pol)?;
        }

        #[test]
        fn topology_b_is_idempotent_and_isolates_without_the_filter(bits in 0u8..64, overlap: bool) {
            let mut u = Uuids(0);
            let mut world = bare(&mut u, r2_net(overlap), &["ts"]);
            let pol = policy(bits);
            let cfg = TopologyConfig { pool: p("169.254.96.0/20"), block_len: 29, ..TopologyConfig::default() };
            for _ in 0..2 {
                let plan = plan_b(&world, &Inventory::from_world(&world), &pol, &cfg).unwrap();
                plan.apply(&mut world, &mut || u.next()).unwrap();
                mirror_ts(&mut world, &mut u);
            }
            let again = plan_b(&world, &Inventory::from_world(&world), &pol, &cfg).unwrap();
            prop_assert!(again.is_empty(), "{:?}", again);
            // Every own transit switch carries exactly its pair's two routers.
            let own = world.ic.transit_switches.values().filter(|t| t.name != "ts").count();
            let pairs = crate::topology::tests_support::cross_zone_pairs_len(&Inventory::from_world(&world), &pol);
            prop_assert_eq!(own, pairs);
            exchange(&mut world, &mut u, None);
            no_leaks(&world, &pol)?;
        }

        #[test]
        fn topology_c_is_idempotent_and_isolates(bits in 0u8..64) {
            let mut u = Uuids(0);
            let mut world = shared(&mut u);
            let pol = policy(bits);
            let cfg = TopologyConfig::default();
            let plan = plan_c(&world.zones[0], &Inventory::from_world(&world), &pol, &cfg).unwrap();
            plan.apply(&mut world, &mut || u.next()).unwrap();
            let again = plan_c(&world.zones[0], &Inventory::from_world(&world), &pol, &cfg).unwrap();
            prop_assert!(again.is_empty(), "{:?}", again);
            no_leaks(&world, &pol)?;
            // Every allowed OpenStack ↔ Kubernetes pair is reachable both ways.
            let inv = Inventory::from_world(&world);
            let report = verify(&world, &inv, &pol);
            for x in inv.vpcs().iter().filter(|v| v.is_openstack()) {
                for y in inv.vpcs().iter().filter(|v| !v.is_openstack()) {
                    let want = if pol.allows(x, y) { Cell::Reachable } else { Cell::Isolated };
                    prop_assert_eq!(report.cell(x.id.as_str(), y.id.as_str()), Some(want));
                    prop_assert_eq!(report.cell(y.id.as_str(), x.id.as_str()), Some(want));
                }
            }
        }
    }
}

#[test]
fn default_vpc_without_join_and_neutron_router_with_pod_subnet() {
    let mut u = Uuids(0);
    let mut z = crate::ZoneNb::new("k8s");
    {
        let mut b = crate::fixture::B {
            z: &mut z,
            u: &mut u,
        };
        let lr = b.router("ovn-cluster", &[]);
        let ls = b.switch("ovn-default", &[]);
        let join = b.switch("join", &[]);
        b.lrp(
            lr,
            "ovn-cluster-ovn-default",
            &["10.244.0.1/16"],
            &[],
            Some(ls),
        );
        b.lrp(lr, "ovn-cluster-join", &["100.64.0.1/16"], &[], Some(join));
        // Topology C style: a Kube-OVN subnet on a Neutron router.
        let n = crate::fixture::neutron_router(&mut b, "r7", "t7", "p7", "10.7.0.1/24", None);
        let pods = b.switch("pods-r7", &[("vendor", "kube-ovn")]);
        b.lrp(
            n,
            "neutron-r7-pods-r7",
            &["10.70.0.1/24"],
            &[("vendor", "kube-ovn")],
            Some(pods),
        );
        b.lsp(pods, "p.ns", "", &[], &[("pod", "ns/p")]);
    }
    let inv = Inventory::from_zone(&z);
    let v = inv.vpcs();
    assert_eq!(
        v[1].kind,
        VpcKind::Kubernetes {
            vpc: "ovn-cluster".into(),
            default: true
        }
    );
    assert_eq!(v[1].cidrs, [p("10.244.0.0/16")]);
    assert_eq!(v[0].cidrs, [p("10.7.0.0/24"), p("10.70.0.0/24")]);
    assert_eq!(crate::guard::pod_ports(&z, &v[0]).len(), 1);
    assert!(v[0].external.is_empty());
}

#[test]
fn ipv6_cidrs_get_their_own_guard_and_unknown_advertiser_zone_still_resolves() {
    let mut u = Uuids(0);
    let mut world = crate::fixture::topology_a_with(&mut u, "10.1.0.1/24");
    let os = world.zone_mut("os").unwrap();
    let lrp = os
        .router_ports
        .values_mut()
        .find(|l| l.name == "lrp-if-r1")
        .unwrap();
    lrp.networks.push("2001:db8:1::1/64".into());
    exchange(&mut world, &mut u, None);
    let inv = Inventory::from_world(&world);
    assert_eq!(
        inv.vpcs()[0].cidrs,
        [p("10.0.0.0/24"), p("2001:db8:1::/64")]
    );
    let pol = policy_a();
    let plan = crate::plan_guards(
        world.zone("k8s").unwrap(),
        &inv,
        &pol,
        &crate::GuardConfig::default(),
    );
    let text: Vec<String> = plan
        .ops
        .iter()
        .map(|o| serde_json::to_string(o).unwrap())
        .collect();
    let text = text.join("\n");
    assert!(
        text.contains(r#""name":"ovnlink_k8s_vpc_b_deny_ip6""#),
        "{text}"
    );
    assert!(text.contains(r#""addresses":"2001:db8:1::/64""#), "{text}");
    assert!(
        text.contains(
            "outport == @ovnlink_k8s_vpc_b && ip6 && ip6.src == $ovnlink_k8s_vpc_b_deny_ip6"
        ),
        "{text}"
    );
    // An advertiser zone the learner does not know ("" = no Availability_Zone row).
    let filter = VpcFilter::new(inv, pol);
    let r = world
        .ic
        .routes
        .values()
        .find(|r| r.ip_prefix == "10.0.0.1/24")
        .unwrap();
    let prefix = p(&r.ip_prefix);
    let k8s = world.zone("k8s").unwrap();
    for (name, want) in [("vpc-a", true), ("vpc-b", false)] {
        let lr = k8s.routers.values().find(|l| l.name == name).unwrap();
        let c = LearnCandidate {
            zone: "k8s",
            router: lr,
            transit_switch: "ts",
            advertiser_zone: "",
            route: r,
            prefix: &prefix,
        };
        assert_eq!(filter.learn(&c), want, "{name}");
        assert!(matches!(
            filter.source(&c),
            Source::Vpc(_, SourceRule::NbId)
        ));
    }
}

/// The live inventory ([`crate::live`]): claims written by the filter, read back by other
/// zones' daemons, with no inventory file.
mod live_inventory {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use ovsdb_proto::typed::TypedStore;

    use super::*;
    use crate::fixture::{attach, kube_vpc, B};
    use crate::live::{self, Claim, Sources, KIND_KEY, PROJECT_KEY, ROUTER_NAME_KEY};
    use crate::simulate::{self, Daemons};
    use crate::{IcRows, ZoneNb, VPC_KEY};

    /// The IC-SB tables [`live::build`] reads, as a replica holds them.
    fn ic_sb(ic: &IcRows) -> TypedStore {
        let mut s = TypedStore::new();
        for r in ic.availability_zones.values() {
            s.insert(r.clone());
        }
        for r in ic.port_bindings.values() {
            s.insert(r.clone());
        }
        for r in ic.routes.values() {
            s.insert(r.clone());
        }
        s
    }

    /// What zone `zone`'s daemon would build: its own NB, plus `replicas` of other zones.
    fn live_of(world: &World, zone: &str, replicas: &[&str]) -> live::Live {
        let mut zones: Vec<&ZoneNb> = vec![world.zone(zone).unwrap()];
        zones.extend(replicas.iter().map(|z| world.zone(z).unwrap()));
        live::build(Sources::new(&zones, None), &ic_sb(&world.ic))
    }

    /// Runs the daemons of both zones, each with the filter its live inventory gives,
    /// rebuilding the filters until they stop changing (what `ic-routed` does round after
    /// round). Returns the number of rebuilds.
    fn settle_live(world: &mut World, policy: &Policy) -> usize {
        let mut last: BTreeMap<String, VpcFilter> = BTreeMap::new();
        for rebuild in 0..6 {
            let filters: BTreeMap<String, VpcFilter> = world
                .zones
                .iter()
                .map(|z| {
                    let inv = live_of(world, &z.zone, &[]).inventory;
                    (z.zone.clone(), VpcFilter::new(inv, policy.clone()))
                })
                .collect();
            if filters == last {
                return rebuild;
            }
            let mut daemons = Daemons::stock(ic_routes::Semantics::NEWEST);
            for (z, f) in &filters {
                daemons
                    .filters
                    .insert(z.clone(), Arc::new(f.clone()) as Arc<dyn RouteFilter>);
            }
            simulate::exchange(world, &daemons, 16).expect("the daemons settle");
            last = filters;
        }
        panic!("live filters never settled");
    }

    /// `router <- prefix via nexthop` for every learned route of the world.
    fn learned(world: &World) -> Vec<String> {
        let mut out = Vec::new();
        for z in &world.zones {
            for lr in z.routers.values() {
                for r in &lr.static_routes {
                    let r = &z.static_routes[&r.uuid()];
                    if r.external_ids.contains_key("ic-learned-route") {
                        out.push(format!("{} <- {} via {}", lr.name, r.ip_prefix, r.nexthop));
                    }
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn claims_round_trip_and_refuse_other_zones_and_bad_kinds() {
        let mut u = Uuids(0);
        let world = topology_a(&mut u);
        let inv = Inventory::from_world(&world);
        for v in inv.vpcs() {
            let ids = Claim::of(v).to_external_ids();
            assert!(ids.keys().all(|k| k.starts_with(live::CLAIM_PREFIX)));
            let back = Claim::decode(&v.zone, &ids).unwrap().unwrap();
            assert_eq!(back, Claim::of(v));
        }
        let r1 = inv.by_router_name("os", "neutron-r1").unwrap();
        let ids = Claim::of(r1).to_external_ids();
        assert_eq!(ids.get(VPC_KEY), Some("os/neutron-r1"));
        assert_eq!(ids.get(KIND_KEY), Some("openstack"));
        assert_eq!(ids.get(PROJECT_KEY), Some("p1"));
        assert_eq!(ids.get(ROUTER_NAME_KEY), Some("tenant-a"));
        let a = inv.by_router_name("k8s", "vpc-a").unwrap();
        assert_eq!(
            Claim::of(a).to_external_ids(),
            ids_of(&[
                (VPC_KEY, "k8s/vpc-a"),
                (KIND_KEY, "kubernetes"),
                (live::KUBE_VPC_KEY, "vpc-a")
            ])
        );
        // No claim; a claim of another zone's VPC; malformed ones.
        assert_eq!(Claim::decode("os", &ids_of(&[("nb-id", "x")])), Ok(None));
        let err = |zone: &str, pairs: &[(&str, &str)]| {
            Claim::decode(zone, &ids_of(pairs)).unwrap_err().to_string()
        };
        let e = err(
            "k8s",
            &[(VPC_KEY, "os/neutron-r1"), (KIND_KEY, "openstack")],
        );
        assert!(e.contains("not a VPC of this zone"), "{e}");
        let e = err("os", &[(VPC_KEY, "os/"), (KIND_KEY, "openstack")]);
        assert!(e.contains("not a VPC of this zone"), "{e}");
        let e = err("os", &[(VPC_KEY, "os/neutron-r1"), (KIND_KEY, "vmware")]);
        assert!(e.contains("ovnlink:vpc-kind=Some(\"vmware\")"), "{e}");
        let e = err("os", &[(VPC_KEY, "os/r1"), (KIND_KEY, "openstack")]);
        assert!(e.contains("neutron-<id>"), "{e}");
    }

    fn ids_of(pairs: &[(&str, &str)]) -> ovsdb_proto::typed::StringMap {
        ovsdb_proto::typed::StringMap::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn live_filters_learn_what_the_file_inventory_learns() {
        let policy = policy_a();
        // Reference: every zone's daemon with the whole inventory (the file mode).
        let mut u = Uuids(0);
        let mut by_file = topology_a_with(&mut u, "10.1.0.1/24");
        let f = VpcFilter::new(Inventory::from_world(&by_file), policy.clone());
        exchange(&mut by_file, &mut u, Some(&f));
        // Live: each zone knows its own NB and what the other zone's advertisements claim.
        let mut u = Uuids(0);
        let mut world = topology_a_with(&mut u, "10.1.0.1/24");
        let rebuilds = settle_live(&mut world, &policy);
        assert!(
            rebuilds >= 2,
            "claims arrive after a first exchange: {rebuilds}"
        );
        assert_eq!(learned(&world), learned(&by_file));
        assert_eq!(
            learned(&world),
            [
                "neutron-r1 <- 10.16.0.1/16 via 169.254.100.21",
                "neutron-r2 <- 10.17.0.1/16 via 169.254.100.22",
                "vpc-a <- 10.0.0.1/24 via 169.254.100.11",
                "vpc-b <- 10.1.0.1/24 via 169.254.100.12",
            ]
        );
        // What zone k8s knows of zone os: claimed VPCs, with their identity, tenant CIDRs
        // (connected advertisements, not the gateway network), router and ports.
        let live = live_of(&world, "k8s", &[]);
        assert!(live.refused.is_empty(), "{:?}", live.refused);
        let inv = &live.inventory;
        let r1 = inv.get(&crate::VpcId::new("os", "neutron-r1")).unwrap();
        assert!(inv.is_claimed(r1));
        assert_eq!(
            r1.kind,
            VpcKind::OpenStack {
                router_id: "r1".into(),
                project: Some("p1".into()),
                router_name: Some("tenant-a".into()),
            }
        );
        assert_eq!(r1.cidrs, vec![p("10.0.0.0/24")]);
        let os = world.zone("os").unwrap();
        let r1_row = os
            .routers
            .values()
            .find(|r| r.name == "neutron-r1")
            .unwrap();
        assert_eq!(r1.router_uuid, r1_row.uuid);
        assert_eq!(
            inv.by_router("os", r1_row.uuid).map(|v| &v.id),
            Some(&r1.id)
        );
        assert_eq!(
            inv.by_transit_port("ts", "169.254.100.11".parse().unwrap())
                .iter()
                .map(|v| v.id.as_str())
                .collect::<Vec<_>>(),
            ["os/neutron-r1"]
        );
        assert_eq!(inv.zones().into_iter().collect::<Vec<_>>(), ["k8s"]);
        // The same inventory again: equal (a daemon keeps its engine).
        assert_eq!(live_of(&world, "k8s", &[]), live);
        // A replica of zone os takes precedence over its claims.
        let with_replica = live_of(&world, "k8s", &["os"]);
        let r1 = with_replica
            .inventory
            .get(&crate::VpcId::new("os", "neutron-r1"))
            .unwrap();
        assert!(!with_replica.inventory.is_claimed(r1));
        assert_eq!(r1.external, vec![p("172.24.4.0/24")]);
        assert!(with_replica.claim_routes.is_empty());
    }

    #[test]
    fn a_vpc_created_later_is_learned_and_one_deleted_is_forgotten() {
        let policy = Policy::from_json(
            r#"{"pairs": [
                {"openstack": {"router_name": "tenant-a"}, "kubernetes": {"vpc": "vpc-a"}},
                {"openstack": {"project": "p2"}, "kubernetes": {"vpc": "vpc-c"}}
            ]}"#,
        )
        .unwrap();
        let mut u = Uuids(0);
        let mut world = topology_a_with(&mut u, "10.1.0.1/24");
        settle_live(&mut world, &policy);
        // vpc-b is paired with nobody: it learns nothing and nobody learns it.
        assert!(!learned(&world).iter().any(|l| l.contains("10.17.")));
        // A third VPC appears in zone k8s, paired with project p2.
        {
            let k8s = world.zone_mut("k8s").unwrap();
            let mut b = B { z: k8s, u: &mut u };
            let c = kube_vpc(&mut b, "vpc-c", "subnet-c", "10.18.0.1/16");
            attach(&mut b, c, "ts", "169.254.100.23/24");
        }
        settle_live(&mut world, &policy);
        let l = learned(&world);
        assert!(
            l.contains(&"neutron-r2 <- 10.18.0.1/16 via 169.254.100.23".to_owned()),
            "{l:#?}"
        );
        assert!(
            l.contains(&"vpc-c <- 10.1.0.1/24 via 169.254.100.12".to_owned()),
            "{l:#?}"
        );
        assert!(
            !l.iter().any(|x| x.starts_with("neutron-r1 <- 10.18.")),
            "{l:#?}"
        );
        let os_view = live_of(&world, "os", &[]);
        assert!(os_view
            .inventory
            .get(&crate::VpcId::new("k8s", "vpc-c"))
            .is_some());
        // Its router goes (Kube-OVN deletes the VPC): its advertisements are withdrawn, the
        // other zone forgets it and unlearns its routes.
        {
            let k8s = world.zone_mut("k8s").unwrap();
            let c = k8s
                .routers
                .values()
                .find(|r| r.name == "vpc-c")
                .unwrap()
                .uuid;
            k8s.routers.remove(&c);
        }
        settle_live(&mut world, &policy);
        assert!(!learned(&world).iter().any(|x| x.contains("10.18.")));
        let os_view = live_of(&world, "os", &[]);
        assert!(os_view
            .inventory
            .get(&crate::VpcId::new("k8s", "vpc-c"))
            .is_none());
    }

    #[test]
    fn a_zone_cannot_claim_another_zones_vpc() {
        let mut u = Uuids(0);
        let mut world = topology_a_with(&mut u, "10.1.0.1/24");
        settle_live(&mut world, &policy_a());
        // Zone os re-labels one of its routes as k8s's vpc-a.
        let os_az = world
            .ic
            .availability_zones
            .values()
            .find(|a| a.name == "os")
            .unwrap()
            .uuid;
        let spoofed = world
            .ic
            .routes
            .values_mut()
            .find(|r| r.availability_zone.uuid() == os_az)
            .unwrap();
        spoofed.external_ids.insert(VPC_KEY, "k8s/vpc-a");
        let uuid = spoofed.uuid;
        let live = live_of(&world, "k8s", &[]);
        assert_eq!(live.refused.len(), 1, "{:?}", live.refused);
        assert!(
            live.refused[0].contains(&uuid.to_string())
                && live.refused[0].contains("not a VPC of this zone"),
            "{:?}",
            live.refused
        );
        assert!(!live.claim_routes.contains(&uuid));
    }
}
