//! Scenarios of the features upstream added after 23.03 (reference §2.5, §4), ported from
//! upstream tests/ovn-ic.at where the reference names them, and of the [`RouteFilter`] hook.

use ovn_ic_sb::{Route, RouteOrigin};
use ovn_nb::{LoadBalancer, LoadBalancerGroup};
use ovsdb_proto::typed::{Ref, StringMap};
use ovsdb_proto::Uuid;

use super::{strings, World};
use crate::{plan_filtered, AdvertiseCandidate, LearnCandidate, RouteFilter};

impl World {
    pub(super) fn lr_set_option(&mut self, z: usize, lr: &str, key: &str, value: &str) {
        let id = self.router(z, lr);
        let r = self.nb(z).routers.get_mut(&id).unwrap();
        r.options.insert(key, value);
    }

    fn lr_remove_option(&mut self, z: usize, lr: &str, key: &str) {
        let id = self.router(z, lr);
        self.nb(z).routers.get_mut(&id).unwrap().options.remove(key);
    }

    fn lrp_remove_option(&mut self, z: usize, name: &str, key: &str) {
        let p = self
            .nb(z)
            .router_ports
            .values_mut()
            .find(|p| p.name == name)
            .unwrap();
        p.options.remove(key);
    }

    fn lb_add(&mut self, z: usize, name: &str, vips: &[&str]) -> Uuid {
        let mut lb = LoadBalancer::default();
        lb.uuid = self.uuid();
        lb.name = name.to_owned();
        lb.vips = vips
            .iter()
            .map(|v| (v.to_string(), "1.1.1.1:80".to_owned()))
            .collect();
        let id = lb.uuid;
        self.nb(z).load_balancers.insert(id, lb);
        id
    }

    fn lr_lb_add(&mut self, z: usize, lr: &str, lb: Uuid) {
        let id = self.router(z, lr);
        let r = self.nb(z).routers.get_mut(&id).unwrap();
        r.load_balancer.push(Ref::new(lb));
        r.load_balancer.sort();
    }

    fn lr_lb_del(&mut self, z: usize, lr: &str, lb: Uuid) {
        let id = self.router(z, lr);
        let r = self.nb(z).routers.get_mut(&id).unwrap();
        r.load_balancer.retain(|l| l.uuid() != lb);
    }

    fn ic_route(&self, ts: &str, prefix: &str) -> Vec<&Route> {
        self.ic_sb
            .routes
            .values()
            .filter(|r| r.transit_switch == ts && r.ip_prefix == prefix)
            .collect()
    }

    /// `prefix nexthop` of the learned routes of `lr` whose prefix starts with `start`.
    pub(super) fn learned_short(&self, z: usize, lr: &str, start: &str) -> Vec<String> {
        self.learned(z, lr)
            .into_iter()
            .filter_map(|l| {
                let (_, rest) = l.split_once('|')?;
                let mut it = rest.split(' ');
                let (p, n) = (it.next()?, it.next()?);
                p.starts_with(start).then(|| format!("{p} {n}"))
            })
            .collect()
    }
}

/// Upstream "route sync -- multiple logical routers": lr11 in az1, lr21 and lr22 in az2, all
/// on ts1; routers of the same zone learn each other's routes (≥ 23.09, `lr-id`).
#[test]
fn multiple_logical_routers() {
    let mut w = World::new(2);
    w.ts_add("ts1");
    w.enable(1);
    w.enable(2);
    w.lr_add(1, "lr11");
    w.lrp_add(
        1,
        "lr11",
        "lrp-lr11-ts1",
        "aa:aa:aa:aa:a1:01",
        &["169.254.10.11/24"],
    );
    w.connect(1, "ts1", "lr11", "lrp-lr11-ts1");
    for i in 1..=2 {
        let lr = format!("lr2{i}");
        let lrp = format!("lrp-{lr}-ts1");
        w.lr_add(2, &lr);
        w.lrp_add(
            2,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:a2:0{i}"),
            &[&format!("169.254.10.2{i}/24")],
        );
        w.connect(2, "ts1", &lr, &lrp);
    }
    w.lrp_add(
        1,
        "lr11",
        "lrp-lr11",
        "aa:aa:aa:aa:bb:01",
        &["192.168.0.1/24"],
    );
    w.lrp_add(
        2,
        "lr21",
        "lrp-lr21",
        "aa:aa:aa:aa:bc:01",
        &["192.168.1.1/24"],
    );
    w.lrp_add(
        2,
        "lr22",
        "lrp-lr22",
        "aa:aa:aa:aa:bc:02",
        &["192.168.2.1/24"],
    );
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "192.168"),
        strings(&[
            "192.168.1.1/24 169.254.10.21",
            "192.168.2.1/24 169.254.10.22"
        ])
    );
    assert_eq!(
        w.learned_short(2, "lr21", "192.168"),
        strings(&[
            "192.168.0.1/24 169.254.10.11",
            "192.168.2.1/24 169.254.10.22"
        ])
    );
    assert_eq!(
        w.learned_short(2, "lr22", "192.168"),
        strings(&[
            "192.168.0.1/24 169.254.10.11",
            "192.168.1.1/24 169.254.10.21"
        ])
    );
    // Every advertisement names its router; both routers of az2 keep theirs on ts1.
    let lr22 = w.router(2, "lr22");
    let r = w.ic_route("ts1", "192.168.2.1/24");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].external_ids["lr-id"], lr22.to_string());
    assert!(w.plan(1).is_empty() && w.plan(2).is_empty());
}

/// Upstream "Backward compatibility of learning routes in the same AZ": a row without
/// `lr-id` (as 23.03 writes) from another zone is learned; from the own zone it is not; a
/// row naming the learner itself, or with a bad `lr-id`, is not.
#[test]
fn legacy_rows_without_lr_id() {
    let mut w = World::new(1);
    w.enable(1);
    w.ts_add("ts1");
    w.ts_add("ts2");
    let mut fake = ovn_ic_sb::AvailabilityZone::default();
    fake.uuid = w.uuid();
    fake.name = "fake_az".into();
    let fake_az = fake.uuid;
    w.ic_sb.availability_zones.insert(fake.uuid, fake);
    let lr1 = w.lr_add(1, "lr1");
    w.lrp_add(
        1,
        "lr1",
        "lrp-lr1-ts1",
        "aa:aa:aa:aa:aa:02",
        &["169.254.100.1/24"],
    );
    w.connect(1, "ts1", "lr1", "lrp-lr1-ts1");
    let own_az = w.zones[0].az;
    let add = |w: &mut World, az: Uuid, prefix: &str, lr_id: Option<&str>| {
        let mut r = Route::default();
        r.uuid = w.uuid();
        r.availability_zone = Ref::new(az);
        r.transit_switch = "ts1".into();
        r.ip_prefix = prefix.into();
        r.nexthop = "169.254.100.2".into();
        r.origin = RouteOrigin::Connected;
        if let Some(id) = lr_id {
            r.external_ids = StringMap::from([("lr-id".to_owned(), id.to_owned())]);
        }
        w.ic_sb.routes.insert(r.uuid, r);
    };
    add(&mut w, fake_az, "172.31.0.0/24", None);
    add(&mut w, own_az, "172.31.1.0/24", None);
    add(&mut w, own_az, "172.31.2.0/24", Some(&lr1.to_string()));
    add(&mut w, fake_az, "172.31.3.0/24", Some("not-a-uuid"));
    add(
        &mut w,
        fake_az,
        "172.31.4.0/24",
        Some(&Uuid::from_u128(7).to_string()),
    );
    let p = w.plan(1);
    let got: Vec<&str> = p
        .learned_to_insert
        .iter()
        .map(|i| i.route.ip_prefix.as_str())
        .collect();
    assert_eq!(got, ["172.31.0.0/24", "172.31.4.0/24"]);
    // The own zone's legacy rows on a switch are this zone's advertisements: the
    // reconcile withdraws them (no router of the zone wants them).
    assert_eq!(p.advertisements_to_delete.len(), 2);
}

/// Upstream "route tag -- tagging and filtering routes" (reduced to VPC1): the tag of the
/// advertising port goes into `external_ids:ic-route-tag`; a learner port whose
/// `ic-route-filter-tag` equals it does not learn the route; removing the tag removes it.
#[test]
fn route_tags() {
    let mut w = World::new(2);
    for i in 1..=2 {
        w.enable(i);
        let lr = format!("lr1{i}");
        w.lr_add(i, &lr);
        for j in 1..=2 {
            let ts = format!("ts1{j}");
            w.ts_add(&ts);
            let lrp = format!("lrp-{lr}-{ts}");
            w.lrp_add(
                i,
                &lr,
                &lrp,
                &format!("aa:aa:aa:aa:a{j}:0{i}"),
                &[&format!("169.254.10{j}.{i}/24")],
            );
            w.connect(i, &ts, &lr, &lrp);
        }
    }
    w.lrp_add(
        2,
        "lr12",
        "lrp-lr12",
        "aa:aa:aa:aa:bb:01",
        &["192.168.0.1/24"],
    );
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "192.168"),
        strings(&[
            "192.168.0.1/24 169.254.101.2",
            "192.168.0.1/24 169.254.102.2"
        ])
    );
    w.ts_add("tspeer");
    w.lrp_add(
        1,
        "lr11",
        "lrp-lr11-tspeer",
        "aa:aa:aa:aa:11:01",
        &["169.254.103.11/24"],
    );
    w.connect(1, "tspeer", "lr11", "lrp-lr11-tspeer");
    w.lrp_add(
        2,
        "lr12",
        "lrp-lr12-tspeer",
        "aa:aa:aa:aa:12:01",
        &["169.254.103.12/24"],
    );
    w.connect(2, "tspeer", "lr12", "lrp-lr12-tspeer");
    w.lrp_set_option(2, "lrp-lr12-tspeer", "ic-route-tag", "vpc1");
    w.converge();
    let r = w.ic_route("tspeer", "192.168.0.1/24");
    assert_eq!(r[0].external_ids.get("ic-route-tag"), Some("vpc1"));
    assert_eq!(r[0].nexthop, "169.254.103.12");
    assert_eq!(
        w.ic_route("ts11", "192.168.0.1/24")[0]
            .external_ids
            .get("ic-route-tag"),
        None
    );
    assert_eq!(
        w.learned_short(1, "lr11", "192.168"),
        strings(&[
            "192.168.0.1/24 169.254.101.2",
            "192.168.0.1/24 169.254.102.2",
            "192.168.0.1/24 169.254.103.12",
        ])
    );
    w.lrp_set_option(1, "lrp-lr11-tspeer", "ic-route-filter-tag", "vpc1");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "192.168"),
        strings(&[
            "192.168.0.1/24 169.254.101.2",
            "192.168.0.1/24 169.254.102.2"
        ])
    );
    // Removing the tag updates the row in place and the route is learned again.
    let row = w.ic_route("tspeer", "192.168.0.1/24")[0].uuid;
    w.lrp_remove_option(2, "lrp-lr12-tspeer", "ic-route-tag");
    let p = w.plan(2);
    assert_eq!(p.advertisements_to_update.len(), 1);
    assert_eq!(p.advertisements_to_update[0].route, row);
    assert!(!p.advertisements_to_update[0]
        .external_ids
        .contains_key("ic-route-tag"));
    w.converge();
    assert_eq!(w.learned_short(1, "lr11", "192.168").len(), 3);
}

fn filter_world() -> World {
    let mut w = World::new(2);
    w.ts_add("ts1");
    for i in 1..=2 {
        w.enable(i);
        let lr = format!("lr1{i}");
        w.lr_add(i, &lr);
        let lrp = format!("lrp-{lr}-ts1");
        w.lrp_add(
            i,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:ab:0{i}"),
            &[&format!("169.254.101.{i}/24"), &format!("fe80:10::{i}/64")],
        );
        w.connect(i, "ts1", &lr, &lrp);
    }
    w
}

/// Upstream "prefix filter -- filtering routes": `ic-route-filter-adv` on the advertiser's
/// port and `ic-route-filter-learn` on the learner's port are allow lists; invalid entries
/// are ignored.
#[test]
fn prefix_filter_allow_lists() {
    let mut w = filter_world();
    w.lrp_add(
        2,
        "lr12",
        "lrp-lr12-1",
        "aa:aa:aa:aa:bb:01",
        &["192.168.12.1/24", "2001:db12::1/64"],
    );
    w.lrp_add(
        2,
        "lr12",
        "lrp-lr12-2",
        "aa:aa:aa:aa:bb:02",
        &["192.168.2.1/24", "2001:db22::1/64"],
    );
    w.lrp_add(
        1,
        "lr11",
        "lrp-lr11",
        "aa:aa:aa:aa:cc:01",
        &["192.168.11.1/24", "2001:db11::1/64"],
    );
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "192.168"),
        strings(&[
            "192.168.12.1/24 169.254.101.2",
            "192.168.2.1/24 169.254.101.2"
        ])
    );
    assert_eq!(
        w.learned_short(2, "lr12", "192.168"),
        strings(&["192.168.11.1/24 169.254.101.1"])
    );
    w.lrp_set_option(2, "lrp-lr12-ts1", "ic-route-filter-adv", "192.168.12.0/24");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "192.168"),
        strings(&["192.168.12.1/24 169.254.101.2"])
    );
    // An IPv4-only allow list admits no IPv6 prefix (upstream quirk 9).
    assert_eq!(w.learned_short(1, "lr11", "2001"), Vec::<String>::new());
    w.lrp_set_option(
        2,
        "lrp-lr12-ts1",
        "ic-route-filter-adv",
        "192.168.12.0/24,invalid",
    );
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "192.168"),
        strings(&["192.168.12.1/24 169.254.101.2"])
    );
    assert!(w
        .plan(2)
        .diagnostics
        .contains(&crate::Diagnostic::BadFilterEntry {
            owner: "lsp-ts1-lrp-lr12-ts1".into(),
            key: "ic-route-filter-adv".into(),
            entry: "invalid".into(),
        }));
    w.lrp_remove_option(2, "lrp-lr12-ts1", "ic-route-filter-adv");
    w.lrp_set_option(1, "lrp-lr11-ts1", "ic-route-filter-learn", "192.168.2.0/24");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "192.168"),
        strings(&["192.168.2.1/24 169.254.101.2"])
    );
    w.lrp_remove_option(1, "lrp-lr11-ts1", "ic-route-filter-learn");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "2001"),
        strings(&["2001:db12::1/64 fe80:10::2", "2001:db22::1/64 fe80:10::2"])
    );
    w.lrp_set_option(2, "lrp-lr12-ts1", "ic-route-filter-adv", "2001:db22::/64");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "2001"),
        strings(&["2001:db22::1/64 fe80:10::2"])
    );
    w.lrp_remove_option(2, "lrp-lr12-ts1", "ic-route-filter-adv");
    // The router-level list merges with the port's.
    w.lr_set_option(1, "lr11", "ic-route-filter-learn", "2001:db12::/64");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "2001"),
        strings(&["2001:db12::1/64 fe80:10::2"])
    );
    w.lrp_set_option(1, "lrp-lr11-ts1", "ic-route-filter-learn", "2001:db22::/64");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "2001"),
        strings(&["2001:db12::1/64 fe80:10::2", "2001:db22::1/64 fe80:10::2"])
    );
}

/// Upstream "prefix filter -- deny route adv": port and router deny lists in both
/// directions, merged with the global deny list; deny beats allow.
#[test]
fn prefix_filter_deny_lists() {
    let mut w = filter_world();
    w.lrp_add(
        2,
        "lr12",
        "lrp-lr12-1",
        "aa:aa:aa:aa:cc:01",
        &["192.168.100.1/24", "2001:db12::1/64"],
    );
    w.lrp_add(
        2,
        "lr12",
        "lrp-lr12-2",
        "aa:aa:aa:aa:cc:02",
        &["192.168.200.1/24", "2001:db22::1/64"],
    );
    let all = strings(&[
        "192.168.100.1/24 169.254.101.2",
        "192.168.200.1/24 169.254.101.2",
        "2001:db12::1/64 fe80:10::2",
        "2001:db22::1/64 fe80:10::2",
    ]);
    w.converge();
    assert_eq!(w.learned_short(1, "lr11", ""), all);
    w.lrp_set_option(
        2,
        "lrp-lr12-ts1",
        "ic-route-deny-adv",
        "192.168.100.0/24,2001:db12::/64",
    );
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", ""),
        strings(&[
            "192.168.200.1/24 169.254.101.2",
            "2001:db22::1/64 fe80:10::2"
        ])
    );
    w.lrp_remove_option(2, "lrp-lr12-ts1", "ic-route-deny-adv");
    w.lrp_set_option(
        1,
        "lrp-lr11-ts1",
        "ic-route-deny-learn",
        "192.168.200.0/24,2001:db22::/64",
    );
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", ""),
        strings(&[
            "192.168.100.1/24 169.254.101.2",
            "2001:db12::1/64 fe80:10::2"
        ])
    );
    w.lrp_remove_option(1, "lrp-lr11-ts1", "ic-route-deny-learn");
    w.lr_set_option(2, "lr12", "ic-route-deny-adv", "192.168.100.0/24");
    w.lr_set_option(1, "lr11", "ic-route-deny-learn", "2001:db22::/64");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", ""),
        strings(&[
            "192.168.200.1/24 169.254.101.2",
            "2001:db12::1/64 fe80:10::2"
        ])
    );
    w.lr_remove_option(2, "lr12", "ic-route-deny-adv");
    w.lr_remove_option(1, "lr11", "ic-route-deny-learn");
    w.converge();
    assert_eq!(w.learned_short(1, "lr11", ""), all);
    // Combination with the global list.
    w.lrp_set_option(2, "lrp-lr12-ts1", "ic-route-deny-adv", "192.168.100.0/24");
    w.lrp_set_option(1, "lrp-lr11-ts1", "ic-route-deny-learn", "192.168.200.0/24");
    w.set_option(2, "ic-route-denylist", "2001:db12::/64");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", ""),
        strings(&["2001:db22::1/64 fe80:10::2"])
    );
    w.lrp_remove_option(1, "lrp-lr11-ts1", "ic-route-deny-learn");
    w.remove_option(2, "ic-route-denylist");
    // Deny beats allow.
    w.lrp_set_option(
        2,
        "lrp-lr12-ts1",
        "ic-route-filter-adv",
        "192.168.100.0/24,192.168.200.0/24",
    );
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", ""),
        strings(&["192.168.200.1/24 169.254.101.2"])
    );
}

fn lb_world(lb_origin: bool) -> World {
    let mut w = World::new(2);
    w.ts_add("ts1");
    w.ic_sb.supports_lb_origin = lb_origin;
    for i in 1..=2 {
        w.enable(i);
        w.set_option(i, "ic-route-adv-lb", "true");
        w.set_option(i, "ic-route-learn-lb", "true");
        let lr = format!("lr{i}");
        w.lr_add(i, &lr);
        let lrp = format!("lrp-lr{i}-ts1");
        w.lrp_add(
            i,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &[
                &format!("169.254.100.{i}/24"),
                &format!("2001:db8:1::{i}/64"),
            ],
        );
        w.connect(i, "ts1", &lr, &lrp);
        let lb = w.lb_add(i, &format!("lb{i}"), &[&format!("200.1.{i}.50:80")]);
        w.lr_lb_add(i, &lr, lb);
    }
    w
}

/// Upstream "route sync -- loadbalancer": VIPs of the router's load balancers and load
/// balancer groups are advertised as /32 or /128 with origin `loadbalancer` (only where the
/// IC-SB schema allows it), learned only with `ic-route-learn-lb`; a local VIP inside a
/// prefix suppresses learning it.
#[test]
fn loadbalancer_routes() {
    let mut w = lb_world(true);
    w.converge();
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&["|200.1.2.50/32 169.254.100.2 loadbalancer"])
    );
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["|200.1.1.50/32 169.254.100.1 loadbalancer"])
    );
    // Several LBs, two with the same VIP address (different ports): one route each address.
    let lb3 = w.lb_add(1, "lb3", &["200.1.1.53:80"]);
    let lb4 = w.lb_add(1, "lb4", &["200.1.1.53:8080"]);
    let lb5 = w.lb_add(1, "lb5", &["200.1.1.54:80"]);
    for lb in [lb3, lb4, lb5] {
        w.lr_lb_add(1, "lr1", lb);
    }
    w.converge();
    assert_eq!(w.ic_route("ts1", "200.1.1.53/32").len(), 1);
    assert_eq!(
        w.learned_short(2, "lr2", "200"),
        strings(&[
            "200.1.1.50/32 169.254.100.1",
            "200.1.1.53/32 169.254.100.1",
            "200.1.1.54/32 169.254.100.1"
        ])
    );
    w.lr_lb_del(1, "lr1", lb5);
    // A load balancer group.
    let lb6 = w.lb_add(1, "lb6", &["250.1.1.11:80"]);
    let mut g = LoadBalancerGroup::default();
    g.uuid = w.uuid();
    g.name = "lbg".into();
    g.load_balancer = vec![Ref::new(lb6)];
    let gid = g.uuid;
    w.nb(1).load_balancer_groups.insert(gid, g);
    let lr1 = w.router(1, "lr1");
    w.nb(1)
        .routers
        .get_mut(&lr1)
        .unwrap()
        .load_balancer_group
        .push(Ref::new(gid));
    w.converge();
    assert_eq!(
        w.learned_short(2, "lr2", "2"),
        strings(&[
            "200.1.1.50/32 169.254.100.1",
            "200.1.1.53/32 169.254.100.1",
            "250.1.1.11/32 169.254.100.1"
        ])
    );
    // Learning switched off.
    w.set_option(2, "ic-route-learn-lb", "false");
    w.converge();
    assert_eq!(w.learned(2, "lr2"), Vec::<String>::new());
    w.set_option(2, "ic-route-learn-lb", "true");
    // IPv6 VIP.
    let v6 = w.lb_add(1, "lb_v6", &["[4242::1]:80"]);
    w.lr_lb_add(1, "lr1", v6);
    w.converge();
    let r = w.ic_route("ts1", "4242::1/128");
    assert_eq!(
        (r[0].nexthop.as_str(), r[0].origin.as_str()),
        ("2001:db8:1::1", "loadbalancer")
    );
    // A local VIP equal to a remote static route's prefix suppresses learning it.
    w.route_add(1, "lr1", "200.1.3.55", "169.1.1.1", "");
    w.converge();
    assert!(w.learned_short(2, "lr2", "200.1.3.55").len() == 1);
    let tmp = w.lb_add(2, "lb_temp", &["200.1.3.55:80"]);
    w.lr_lb_add(2, "lr2", tmp);
    w.converge();
    assert_eq!(
        w.learned_short(2, "lr2", "200.1.3.55"),
        Vec::<String>::new()
    );
    // Advertising switched off withdraws the VIP routes.
    w.set_option(1, "ic-route-adv-lb", "false");
    w.converge();
    assert!(w
        .ic_sb
        .routes
        .values()
        .filter(|r| r.origin.as_str() == "loadbalancer")
        .all(|r| r.availability_zone.uuid() != w.zones[0].az));
}

/// On a 23.03 IC-SB (schema without origin `loadbalancer`) nothing with that origin is
/// written, whatever the options say.
#[test]
fn loadbalancer_routes_need_schema_support() {
    let mut w = lb_world(false);
    w.converge();
    assert!(w.ic_sb.routes.is_empty());
    assert_eq!(w.learned(1, "lr1"), Vec::<String>::new());
}

/// Upstream "Advertise discard static routes" (26.03): a static route with nexthop
/// `discard` is advertised with the transit-switch port's address.
#[test]
fn discard_static_routes() {
    let mut w = World::new(2);
    w.ts_add("ts11");
    for i in 1..=2 {
        w.enable(i);
        let lr = format!("lr1{i}");
        w.lr_add(i, &lr);
        let lrp = format!("lrp-{lr}-ts11");
        w.lrp_add(
            i,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:a1:0{i}"),
            &[&format!("169.254.101.{i}/24")],
        );
        w.connect(i, "ts11", &lr, &lrp);
    }
    w.route_add(2, "lr12", "192.168.0.0/24", "discard", "");
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr11", "192.168"),
        strings(&["192.168.0.0/24 169.254.101.2"])
    );
    assert_eq!(
        w.ic_route("ts11", "192.168.0.0/24")[0].origin,
        RouteOrigin::Static
    );
}

/// A disabled router learns nothing (26.03, backported to 24.03.7); a route whose nexthop
/// is outside the learner's transit-switch port networks is not learned (c03bda692).
#[test]
fn disabled_router_and_foreign_nexthop() {
    let mut w = super::route_sync_world();
    w.converge();
    assert_eq!(w.learned(1, "lr1").len(), 1);
    let lr1 = w.router(1, "lr1");
    w.nb(1).routers.get_mut(&lr1).unwrap().enabled = Some(false);
    w.converge();
    assert_eq!(w.learned(1, "lr1"), Vec::<String>::new());
    assert_eq!(w.learned(2, "lr2").len(), 1);
    w.nb(1).routers.get_mut(&lr1).unwrap().enabled = Some(true);
    w.converge();
    assert_eq!(w.learned(1, "lr1").len(), 1);
    let mut r = Route::default();
    r.uuid = w.uuid();
    r.transit_switch = "ts1".into();
    r.availability_zone = Ref::new(w.zones[1].az);
    r.ip_prefix = "10.99.0.0/16".into();
    r.nexthop = "169.254.200.2".into();
    r.origin = RouteOrigin::Static;
    w.ic_sb.routes.insert(r.uuid, r);
    assert!(w.plan(1).learned_to_insert.is_empty());
}

/// A toy policy: `lr1` may not learn 10.11.0.0/16, and nobody advertises static routes.
#[derive(Debug)]
struct Toy;

impl RouteFilter for Toy {
    fn learn(&self, c: &LearnCandidate<'_>) -> bool {
        assert_eq!(c.zone, "az1");
        assert_eq!(c.transit_switch, "ts1");
        assert_eq!(c.advertiser_zone, "az2");
        !(c.router.name == "lr1" && c.prefix.is_within(&"10.11.0.0/16".parse_prefix()))
    }

    fn advertise(&self, c: &AdvertiseCandidate<'_>) -> bool {
        *c.origin != RouteOrigin::Static
    }
}

trait ParsePrefix {
    fn parse_prefix(&self) -> crate::Prefix;
}

impl ParsePrefix for str {
    fn parse_prefix(&self) -> crate::Prefix {
        crate::Prefix::parse(self).unwrap()
    }
}

#[test]
fn route_filter_is_consulted_after_own_checks() {
    let mut w = super::route_sync_world();
    w.lrp_add(1, "lr1", "lan", "00:00:00:00:01:01", &["192.168.1.1/24"]);
    w.lrp_add(2, "lr2", "lan", "00:00:00:00:01:02", &["192.168.2.1/24"]);
    w.converge();
    assert_eq!(
        w.learned_short(1, "lr1", ""),
        strings(&["10.11.2.0/24 169.254.100.2", "192.168.2.1/24 169.254.100.2"])
    );
    // Zone 1 with the toy filter: it stops learning 10.11.2.0/24 and withdraws its static
    // advertisement; connected ones stay.
    let z = &w.zones[0];
    let p = plan_filtered(&z.name, &z.nb, &w.ic_nb, &w.ic_sb, &Toy);
    assert_eq!(p.learned_to_delete.len(), 1);
    assert_eq!(p.advertisements_to_delete.len(), 1);
    assert!(p.learned_to_insert.is_empty() && p.advertisements_to_insert.is_empty());
    let gone = &w.ic_sb.routes[&p.advertisements_to_delete[0]];
    assert_eq!(gone.ip_prefix, "10.11.1.0/24");
    // The filter only narrows: with learning off the filter is never asked (its asserts
    // would not matter) and nothing is learned.
    w.set_option(1, "ic-route-learn", "false");
    let z = &w.zones[0];
    let p = plan_filtered(&z.name, &z.nb, &w.ic_nb, &w.ic_sb, &Toy);
    assert_eq!(p.learned_to_delete.len(), 2);
    // AllowAll is the plain plan.
    let z = &w.zones[0];
    assert_eq!(
        plan_filtered(&z.name, &z.nb, &w.ic_nb, &w.ic_sb, &crate::AllowAll),
        w.plan(1)
    );
}

/// Annotates every advertisement with its router's name under `x:` (or, with `None`, owns
/// `x:` and annotates nothing).
#[derive(Debug, Clone)]
struct Annotating(Option<Vec<(String, StringMap)>>);

impl RouteFilter for Annotating {
    fn annotate(&self, c: &AdvertiseCandidate<'_>) -> Option<&StringMap> {
        let list = self.0.as_ref()?;
        list.iter()
            .find(|(name, _)| *name == c.router.name)
            .map(|(_, ids)| ids)
    }

    fn annotation_prefix(&self) -> Option<&str> {
        Some("x:")
    }
}

fn annotating(routers: &[&str]) -> Annotating {
    Annotating(Some(
        routers
            .iter()
            .map(|r| {
                (
                    (*r).to_owned(),
                    StringMap::from_pairs([("x:router", *r), ("x:kind", "toy")]),
                )
            })
            .collect(),
    ))
}

#[test]
fn route_filter_annotations_are_written_kept_current_and_removed() {
    let mut w = super::route_sync_world();
    w.converge();
    let own = |w: &super::World| -> Vec<(String, Option<String>, Option<String>)> {
        let az = w.zones[0].az;
        let mut v: Vec<_> = w
            .ic_sb
            .routes
            .values()
            .filter(|r| r.availability_zone.uuid() == az)
            .map(|r| {
                (
                    r.ip_prefix.clone(),
                    r.external_ids.get("x:router").map(str::to_owned),
                    r.external_ids.get("x:kind").map(str::to_owned),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = own(&w);
    assert!(!before.is_empty());
    assert!(before.iter().all(|(_, r, k)| r.is_none() && k.is_none()));
    let run = |w: &mut super::World, f: &Annotating| {
        let z = &w.zones[0];
        let p = plan_filtered(&z.name, &z.nb, &w.ic_nb, &w.ic_sb, f);
        // The incremental engine's first plan is the full recompute.
        let mut engine = crate::Engine::from_snapshot(w.snapshot(1), f.clone());
        assert_eq!(engine.apply(&[]), p);
        w.apply(1, &p);
        let z = &w.zones[0];
        assert!(
            plan_filtered(&z.name, &z.nb, &w.ic_nb, &w.ic_sb, f).is_empty(),
            "idempotent"
        );
        p
    };
    // 1. Existing advertisements are updated in place (no withdraw), every one annotated.
    let p = run(&mut w, &annotating(&["lr1"]));
    assert_eq!(p.advertisements_to_update.len(), before.len());
    assert!(p.advertisements_to_delete.is_empty() && p.advertisements_to_insert.is_empty());
    assert!(p.learned_to_insert.is_empty() && p.learned_to_delete.is_empty());
    assert!(own(&w)
        .iter()
        .all(|(_, r, k)| r.as_deref() == Some("lr1") && k.as_deref() == Some("toy")));
    // The engine's own keys are still there.
    assert!(w
        .ic_sb
        .routes
        .values()
        .all(|r| r.external_ids.contains_key(crate::NB_ID)
            && r.external_ids.contains_key(crate::LR_ID)));
    // 2. A new advertisement is inserted annotated.
    w.lrp_add(1, "lr1", "lan", "00:00:00:00:01:01", &["192.168.1.1/24"]);
    let p = run(&mut w, &annotating(&["lr1"]));
    assert_eq!(p.advertisements_to_insert.len(), 1);
    assert_eq!(
        p.advertisements_to_insert[0].external_ids.get("x:router"),
        Some("lr1")
    );
    // 3. A filter that does not own the prefix leaves the keys alone (ovn-ic's rows are
    // only ever touched where the engine's own keys are concerned).
    let z = &w.zones[0];
    assert!(plan_filtered(&z.name, &z.nb, &w.ic_nb, &w.ic_sb, &crate::AllowAll).is_empty());
    // 4. An annotation that changes replaces the stale key, one that disappears is removed.
    let mut changed = annotating(&["lr1"]);
    if let Some(list) = changed.0.as_mut() {
        list[0].1 = StringMap::from_pairs([("x:router", "lr1")]);
    }
    let p = run(&mut w, &changed);
    assert_eq!(p.advertisements_to_update.len(), before.len() + 1);
    assert!(own(&w)
        .iter()
        .all(|(_, r, k)| r.as_deref() == Some("lr1") && k.is_none()));
    run(&mut w, &Annotating(None));
    assert!(own(&w).iter().all(|(_, r, k)| r.is_none() && k.is_none()));
    // Other zones' rows are never touched.
    assert!(w
        .ic_sb
        .routes
        .values()
        .all(|r| !r.external_ids.keys().any(|k| k.starts_with("x:"))));
}
