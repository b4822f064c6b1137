//! Scenario tests: VPC model, policy, filter and verifier on topology A.

use ic_routes::{AdvertiseCandidate, LearnCandidate, Prefix, RouteFilter};
use ovn_ic_sb::{Route, RouteOrigin};

use crate::fixture::{exchange, ids, policy_a, topology_a, topology_a_with, Uuids};
use crate::{
    verify, Cell, Decision, Inventory, Policy, Source, SourceRule, VpcFilter, VpcKind, World,
};

mod guards;
mod inventory_json;
mod live_inventory;
mod props;
mod topologies;

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
