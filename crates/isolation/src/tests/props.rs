//! Property tests of the planners of topologies A, B and C (idempotent, isolating) and of the
//! filter (it matches the ground truth).

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
