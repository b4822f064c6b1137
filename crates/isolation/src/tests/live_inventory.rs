//! The live inventory ([`crate::live`]): claims written by the filter, read back by other
//! zones' daemons, with no inventory file.

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
