//! `Snapshot::explain`: one scenario per rule that stops a route, each named as the engine
//! applied it.

use super::{route_sync_world, World};
use crate::explain::{Direction, Explanation, Skip};
use crate::{AllowAll, LearnCandidate, Prefix, RouteFilter};

fn explain(w: &World, z: usize, prefix: &str, filter: &dyn RouteFilter) -> Explanation {
    w.snapshot(z)
        .explain(&Prefix::parse(prefix).unwrap(), None, filter)
}

/// The verdicts of `router`'s decisions in `direction`.
fn verdicts(e: &Explanation, direction: Direction, router: &str) -> Vec<Option<Skip>> {
    e.decisions
        .iter()
        .filter(|d| d.direction == direction && d.router == router)
        .map(|d| d.skipped.clone())
        .collect()
}

fn converged() -> World {
    let mut w = route_sync_world();
    w.converge();
    w
}

#[test]
fn advertised_and_learned_routes_say_so() {
    let w = converged();
    let e = explain(&w, 1, "10.11.1.0/24", &AllowAll);
    assert_eq!(verdicts(&e, Direction::Advertise, "lr1"), [None], "{e}");
    // lr1 sees its own advertisement in IC-SB.
    assert_eq!(
        verdicts(&e, Direction::Learn, "lr1"),
        [Some(Skip::OwnRoute)],
        "{e}"
    );
    let e = explain(&w, 2, "10.11.1.0/24", &AllowAll);
    assert_eq!(verdicts(&e, Direction::Learn, "lr2"), [None], "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with("10.11.1.0/24:\n  lr2 on ts1: static route "),
        "{text}"
    );
    assert_eq!(
        verdicts(&e, Direction::Advertise, "lr2"),
        [Some(Skip::LearnedRoute)],
        "{text}"
    );
    assert!(
        text.contains(" from zone az1 via 169.254.100.1: learned"),
        "{text}"
    );
    // Nothing about a prefix nobody has.
    let e = explain(&w, 2, "192.0.2.0/24", &AllowAll);
    assert!(e.decisions.is_empty());
}

#[test]
fn advertisement_rules() {
    let mut w = converged();
    let e = explain(&w, 1, "10.22.1.0/24", &AllowAll);
    assert_eq!(
        verdicts(&e, Direction::Advertise, "lr1"),
        [Some(Skip::SourceIpPolicy)]
    );
    w.route_add(1, "lr1", "0.0.0.0/0", "169.254.0.3", "");
    w.route_add(1, "lr1", "169.254.7.0/24", "169.254.0.3", "");
    w.route_add(1, "lr1", "10.33.1.0/24", "169.254.0.3", "rtb1");
    w.route_add(1, "lr1", "10.44.0.0/24", "169.254.0.1", "");
    w.route_add(1, "lr1", "10.44.0.0/24", "169.254.0.2", "");
    let one =
        |w: &World, p: &str| verdicts(&explain(w, 1, p, &AllowAll), Direction::Advertise, "lr1");
    assert_eq!(one(&w, "0.0.0.0/0"), [Some(Skip::DefaultRoute)]);
    assert_eq!(one(&w, "169.254.7.0/24"), [Some(Skip::LinkLocal)]);
    assert_eq!(
        one(&w, "10.33.1.0/24"),
        [Some(Skip::RouteTable {
            route: "rtb1".into(),
            port: String::new()
        })]
    );
    assert_eq!(one(&w, "10.44.0.0/24"), [None, Some(Skip::Duplicate)]);
    w.set_option(1, "ic-route-blacklist", "10.11.0.0/16");
    assert_eq!(
        one(&w, "10.11.1.0/24"),
        [Some(Skip::DenyList(Prefix::parse("10.11.0.0/16").unwrap()))]
    );
    w.set_option(1, "ic-route-adv", "false");
    assert_eq!(one(&w, "10.11.1.0/24"), [Some(Skip::AdvertiseOff)]);
}

#[test]
fn learning_rules() {
    let mut w = converged();
    let one = |w: &World| {
        verdicts(
            &explain(w, 2, "10.11.1.0/24", &AllowAll),
            Direction::Learn,
            "lr2",
        )
    };
    // A local route for the prefix wins.
    let local = w.route_add(2, "lr2", "10.11.1.0/24", "169.254.0.9", "");
    assert_eq!(one(&w), [Some(Skip::LocalRouteWins)]);
    w.route_del(2, "lr2", "10.11.1.0/24", "");
    let _ = local;
    // Tags (25.03+): the advertiser's tag is the learner's filter tag.
    w.lrp_set_option(1, "lrp-lr1-ts1", "ic-route-tag", "blue");
    w.lrp_set_option(2, "lrp-lr2-ts1", "ic-route-filter-tag", "blue");
    w.converge();
    assert_eq!(one(&w), [Some(Skip::Tag("blue".into()))]);
    w.lrp_set_option(2, "lrp-lr2-ts1", "ic-route-filter-tag", "red");
    assert_eq!(one(&w), [None]);
    // The nexthop must lie in the learning port's networks.
    let port = w
        .nb(2)
        .router_ports
        .values_mut()
        .find(|p| p.name == "lrp-lr2-ts1")
        .unwrap();
    port.networks = vec!["169.254.200.2/24".into()];
    assert_eq!(one(&w), [Some(Skip::NexthopOutsidePort)]);
    port_reset(&mut w);
    w.set_option(2, "ic-route-denylist", "10.0.0.0/8");
    assert_eq!(
        one(&w),
        [Some(Skip::DenyList(Prefix::parse("10.0.0.0/8").unwrap()))]
    );
    w.remove_option(2, "ic-route-denylist");
    let id = w.router(2, "lr2");
    w.nb(2).routers.get_mut(&id).unwrap().enabled = Some(false);
    assert_eq!(one(&w), [Some(Skip::RouterDisabled)]);
    w.nb(2).routers.get_mut(&id).unwrap().enabled = None;
    w.set_option(2, "ic-route-learn", "false");
    assert_eq!(one(&w), [Some(Skip::LearnOff)]);
}

fn port_reset(w: &mut World) {
    let port = w
        .nb(2)
        .router_ports
        .values_mut()
        .find(|p| p.name == "lrp-lr2-ts1")
        .unwrap();
    port.networks = vec!["169.254.100.2/24".into()];
}

#[derive(Debug)]
struct NoBlue;

impl RouteFilter for NoBlue {
    fn learn(&self, c: &LearnCandidate<'_>) -> bool {
        c.advertiser_zone != "az1"
    }

    fn explain_learn(&self, c: &LearnCandidate<'_>) -> String {
        format!("zone {} is not trusted", c.advertiser_zone)
    }
}

#[test]
fn a_filter_refusal_carries_the_filter_s_reason() {
    let w = converged();
    let e = explain(&w, 2, "10.11.1.0/24", &NoBlue);
    assert_eq!(
        verdicts(&e, Direction::Learn, "lr2"),
        [Some(Skip::Filter("zone az1 is not trusted".into()))]
    );
    assert!(
        e.to_string()
            .contains("not learned: refused by the route filter: zone az1 is not trusted"),
        "{e}"
    );
    // One router only.
    let e = w.snapshot(2).explain(
        &Prefix::parse("10.11.1.0/24").unwrap(),
        Some("nope"),
        &NoBlue,
    );
    assert!(e.decisions.is_empty());
}

#[test]
fn decision_counts_follow_the_engine_when_on() {
    let w = route_sync_world();
    let mut engine = crate::Engine::from_snapshot(w.snapshot(1), AllowAll);
    assert!(engine.decision_counts().is_none());
    engine.count_decisions(true);
    let plan = engine.apply(&[]);
    let counts = engine.decision_counts().unwrap();
    // lr1 advertises 10.11.1.0/24; its src-ip route is skipped.
    assert_eq!(
        counts.taken(Direction::Advertise),
        plan.advertisements_to_insert.len() as u64
    );
    let src_ip = counts
        .skipped(Direction::Advertise)
        .find(|(n, _)| *n == "src_ip")
        .unwrap()
        .1;
    assert_eq!(src_ip, 1);
    assert_eq!(
        counts.skipped(Direction::Learn).count(),
        crate::explain::SKIP_NAMES.len()
    );
    engine.count_decisions(false);
    assert!(engine.decision_counts().is_none());
}

#[test]
fn every_skip_has_its_own_slot() {
    let p = Prefix::parse("10.0.0.0/8").unwrap();
    let all = [
        Skip::AdvertiseOff,
        Skip::LearnOff,
        Skip::DefaultRoute,
        Skip::SourceIpPolicy,
        Skip::LinkLocal,
        Skip::DenyList(p),
        Skip::NotInAllowList,
        Skip::LoadBalancerOff,
        Skip::RouteTable {
            route: "a".into(),
            port: String::new(),
        },
        Skip::Tag("t".into()),
        Skip::BadFormat,
        Skip::LearnedRoute,
        Skip::OwnRoute,
        Skip::OwnZone,
        Skip::SameZoneBeforeRelease,
        Skip::LocalRouteWins,
        Skip::NexthopOutsidePort,
        Skip::RouterDisabled,
        Skip::LocalVip,
        Skip::PortWithoutAddress,
        Skip::NoNexthop,
        Skip::Duplicate,
        Skip::Filter(String::new()),
    ];
    assert_eq!(all.len(), crate::explain::SKIP_NAMES.len());
    for (i, s) in all.iter().enumerate() {
        assert_eq!(s.index(), i, "{s:?}");
        assert_eq!(crate::explain::SKIP_NAMES[i], s.name());
    }
}
