//! The engine as the ovn-ic of each release ([`Semantics`]): a rule a release lacks is off
//! in that release's zones, and on from the release that added it.

use ovn_ic_sb::{Route, RouteOrigin};
use ovsdb_proto::typed::Ref;

use super::{route_sync_world, strings, World};
use crate::{Change, Engine, Release, Semantics, Snapshot};

fn at(release: &str) -> Semantics {
    Semantics::of(Release::new(release))
}

/// Every zone of `w` follows `release`.
fn set_all(w: &mut World, release: &str) {
    for z in &mut w.zones {
        z.semantics = at(release);
    }
}

/// One zone with routers lr1 and lr2 on ts1, each with a connected network: since 23.09 each
/// learns the other's network; 23.03 skips every route of its own zone.
fn one_zone_two_routers() -> World {
    let mut w = World::new(1);
    w.enable(1);
    w.ts_add("ts1");
    for i in 1..=2 {
        let lr = format!("lr{i}");
        let lrp = format!("lrp-{lr}-ts1");
        w.lr_add(1, &lr);
        w.lrp_add(
            1,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:a1:0{i}"),
            &[&format!("169.254.10.{i}/24")],
        );
        w.connect(1, "ts1", &lr, &lrp);
        w.lrp_add(
            1,
            &lr,
            &format!("lrp-{lr}-net"),
            &format!("aa:aa:aa:aa:b1:0{i}"),
            &[&format!("192.168.{i}.1/24")],
        );
    }
    w
}

#[test]
fn same_zone_learning_starts_with_23_09() {
    for (release, learns) in [("23.03.1", false), ("23.06.0", false), ("23.09.0", true)] {
        let mut w = one_zone_two_routers();
        set_all(&mut w, release);
        w.converge();
        let want = if learns {
            strings(&["192.168.2.1/24 169.254.10.2"])
        } else {
            Vec::new()
        };
        assert_eq!(w.learned_short(1, "lr1", "192.168"), want, "{release}");
        // Both routers advertise in every release: 23.03's reconcile, which let one router
        // of a zone delete the other's rows, is an upstream bug not reproduced.
        assert_eq!(w.ic_routes().len(), 2, "{release}: {:?}", w.ic_routes());
    }
}

#[test]
fn routes_from_other_zones_are_learned_in_every_release() {
    for release in ["23.03.1", "24.03.0", "25.03.0", "26.03.2"] {
        let mut w = route_sync_world();
        set_all(&mut w, release);
        w.converge();
        assert_eq!(
            w.learned(1, "lr1"),
            strings(&["|10.11.2.0/24 169.254.100.2 static"]),
            "{release}"
        );
        // The rows name their router whatever the release: learners of 23.09 to 25.03.1
        // skip rows without `lr-id`.
        assert!(w
            .ic_sb
            .routes
            .values()
            .all(|r| r.external_ids.contains_key("lr-id")));
    }
}

#[test]
fn the_denylist_name_is_read_from_24_09() {
    for (release, denied) in [("24.03.0", false), ("24.09.0", true), ("25.03.0", true)] {
        let mut w = route_sync_world();
        set_all(&mut w, release);
        w.set_option(2, "ic-route-denylist", "10.11.0.0/16");
        w.converge();
        let got = w.learned(2, "lr2");
        assert_eq!(got.is_empty(), denied, "{release}: {got:?}");
    }
    // The old name is read by every release.
    let mut w = route_sync_world();
    set_all(&mut w, "23.03.1");
    w.set_option(2, "ic-route-blacklist", "10.11.0.0/16");
    w.converge();
    assert_eq!(w.learned(2, "lr2"), Vec::<String>::new());
}

#[test]
fn route_tags_apply_from_25_03() {
    for (release, tagged) in [("24.09.0", false), ("25.03.0", true)] {
        let mut w = route_sync_world();
        set_all(&mut w, release);
        w.lrp_set_option(2, "lrp-lr2-ts1", "ic-route-tag", "vpc1");
        w.lrp_set_option(1, "lrp-lr1-ts1", "ic-route-filter-tag", "vpc1");
        w.converge();
        let tags: Vec<Option<&str>> = w
            .ic_sb
            .routes
            .values()
            .filter(|r| r.ip_prefix == "10.11.2.0/24")
            .map(|r| r.external_ids.get("ic-route-tag"))
            .collect();
        assert_eq!(tags, [tagged.then_some("vpc1")], "{release}");
        assert_eq!(w.learned(1, "lr1").is_empty(), tagged, "{release}");
    }
}

#[test]
fn allow_and_deny_lists_of_routers_apply_from_their_releases() {
    // Allow list (25.09): lr1 learns only 10.99.0.0/16, so not 10.11.2.0/24.
    for (release, filtered) in [("25.03.0", false), ("25.09.0", true)] {
        let mut w = route_sync_world();
        set_all(&mut w, release);
        w.lr_set_option(1, "lr1", "ic-route-filter-learn", "10.99.0.0/16");
        w.converge();
        assert_eq!(w.learned(1, "lr1").is_empty(), filtered, "{release}");
    }
    // Deny list (26.03): lr1 refuses 10.11.0.0/16.
    for (release, filtered) in [("25.09.0", false), ("26.03.0", true)] {
        let mut w = route_sync_world();
        set_all(&mut w, release);
        w.lr_set_option(1, "lr1", "ic-route-deny-learn", "10.11.0.0/16");
        w.converge();
        assert_eq!(w.learned(1, "lr1").is_empty(), filtered, "{release}");
    }
}

#[test]
fn discard_routes_are_advertised_from_26_03() {
    for (release, advertised) in [("25.09.0", false), ("26.03.0", true)] {
        let mut w = route_sync_world();
        set_all(&mut w, release);
        w.route_add(2, "lr2", "192.168.9.0/24", "discard", "");
        w.converge();
        let found = w
            .ic_sb
            .routes
            .values()
            .any(|r| r.ip_prefix == "192.168.9.0/24");
        assert_eq!(found, advertised, "{release}");
    }
}

/// A disabled router learns nothing in every release mode: the fix (ddc020051) reached
/// 24.03.7 and 25.03.2, and releases without it either learn nothing anyway (the port's
/// address is empty) or re-insert the routes on every pass.
#[test]
fn disabled_routers_learn_nothing_in_every_release() {
    for release in ["23.03.1", "24.09.0", "25.03.0"] {
        let mut w = route_sync_world();
        set_all(&mut w, release);
        w.converge();
        assert!(!w.learned(1, "lr1").is_empty(), "{release}");
        let lr1 = w.router(1, "lr1");
        w.nb(1).routers.get_mut(&lr1).unwrap().enabled = Some(false);
        w.converge();
        assert!(w.learned(1, "lr1").is_empty(), "{release}");
    }
}

/// A router's load-balancer VIP inside a remote prefix stops it learning that prefix only
/// from 25.09, with the rest of load-balancer routing; 25.03 ignores load balancers.
#[test]
fn local_vips_block_learning_from_25_09() {
    for (release, learns) in [("25.03.0", true), ("25.09.0", false)] {
        let mut w = route_sync_world();
        set_all(&mut w, release);
        let mut lb = ovn_nb::LoadBalancer::default();
        lb.uuid = w.uuid();
        lb.name = "octavia".into();
        lb.vips.insert("10.11.2.5:80", "10.11.1.10:8080");
        let id = lb.uuid;
        w.nb(1).load_balancers.insert(id, lb);
        let lr1 = w.router(1, "lr1");
        w.nb(1).routers.get_mut(&lr1).unwrap().load_balancer = vec![Ref::new(id)];
        w.converge();
        let learned = w
            .learned(1, "lr1")
            .iter()
            .any(|l| l.contains("10.11.2.0/24"));
        assert_eq!(learned, learns, "{release}");
    }
}

#[test]
fn load_balancer_origins_need_25_09() {
    let mut w = route_sync_world();
    set_all(&mut w, "25.03.0");
    w.ic_sb.supports_lb_origin = true;
    w.set_option(1, "ic-route-learn-lb", "true");
    // A zone without a daemon in this world, so that nobody withdraws its row.
    let mut fake = ovn_ic_sb::AvailabilityZone::default();
    fake.uuid = w.uuid();
    fake.name = "fake_az".into();
    let fake_az = fake.uuid;
    w.ic_sb.availability_zones.insert(fake_az, fake);
    let mut r = Route::default();
    r.uuid = w.uuid();
    r.transit_switch = "ts1".into();
    r.availability_zone = Ref::new(fake_az);
    r.ip_prefix = "10.77.0.10/32".into();
    r.nexthop = "169.254.100.2".into();
    r.origin = RouteOrigin::Loadbalancer;
    w.ic_sb.routes.insert(r.uuid, r);
    w.converge();
    assert!(
        !w.learned(1, "lr1").iter().any(|l| l.contains("10.77.0.10")),
        "25.03 has no load-balancer routes"
    );
    set_all(&mut w, "25.09.0");
    w.converge();
    assert!(w.learned(1, "lr1").iter().any(|l| l.contains("10.77.0.10")));
}

/// The incremental engine follows a release change as a full recompute would.
#[test]
fn incremental_engine_follows_a_release_change() {
    let mut w = one_zone_two_routers();
    set_all(&mut w, "23.03.1");
    w.converge();
    let snap: Snapshot = w.snapshot(1);
    let mut engine = Engine::from_snapshot(snap, crate::AllowAll);
    assert!(engine.apply(&[]).is_empty());
    assert_eq!(engine.semantics(), at("23.03.1"));
    engine.set_semantics(at("25.03.0"));
    let delta = engine.apply(&Vec::<Change>::new());
    let mut full = w.snapshot(1);
    full.semantics = at("25.03.0");
    assert_eq!(delta, full.plan());
    assert_eq!(
        delta.learned_to_insert.len(),
        2,
        "each router learns the other's"
    );
}
