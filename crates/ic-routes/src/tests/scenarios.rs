//! Route-exchange scenarios of upstream tests/ovn-ic.at (23.03), rewritten against the engine.

use super::*;
#[test]
fn basic_ipv4_advertise_and_learn() {
    let mut w = route_sync_world();
    assert_eq!(w.converge(), 2);
    assert_eq!(
        w.ic_routes(),
        strings(&[
            "ts1 az1 |10.11.1.0/24 169.254.100.1 static",
            "ts1 az2 |10.11.2.0/24 169.254.100.2 static",
        ])
    );
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&["|10.11.2.0/24 169.254.100.2 static"])
    );
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["|10.11.1.0/24 169.254.100.1 static"])
    );
    // The learned row is exactly what ovn-ic writes (reference §2.6).
    let nb = &w.zones[0].nb;
    let learned = nb
        .static_routes
        .values()
        .find(|r| r.external_ids.contains_key("ic-learned-route"))
        .unwrap();
    let isb = w
        .ic_sb
        .routes
        .values()
        .find(|r| r.ip_prefix == "10.11.2.0/24")
        .unwrap();
    assert_eq!(learned.ip_prefix, "10.11.2.0/24");
    assert_eq!(learned.nexthop, "169.254.100.2");
    assert_eq!(learned.route_table, "");
    assert_eq!(learned.policy, None);
    assert_eq!(
        learned.external_ids["ic-learned-route"],
        isb.uuid.to_string()
    );
    assert_eq!(&learned.options["origin"], "static");
    assert_eq!(isb.external_ids["nb-id"], {
        let lr2 = &w.zones[1].nb;
        lr2.static_routes
            .values()
            .find(|r| r.ip_prefix == "10.11.2.0/24")
            .unwrap()
            .uuid
            .to_string()
    });
}

#[test]
fn withdrawal_when_nb_route_deleted() {
    let mut w = route_sync_world();
    w.converge();
    let row = w
        .ic_sb
        .routes
        .values()
        .find(|r| r.ip_prefix == "10.11.1.0/24")
        .unwrap()
        .uuid;
    let learned_in_az2 = w.zones[1]
        .nb
        .static_routes
        .values()
        .find(|r| r.ip_prefix == "10.11.1.0/24")
        .unwrap()
        .uuid;
    w.route_del(1, "lr1", "10.11.1.0/24", "");
    let p1 = w.plan(1);
    assert_eq!(p1.advertisements_to_delete, vec![row]);
    assert!(p1.advertisements_to_insert.is_empty() && p1.learned_to_delete.is_empty());
    w.apply(1, &p1);
    let p2 = w.plan(2);
    assert_eq!(p2.learned_to_delete.len(), 1);
    assert_eq!(p2.learned_to_delete[0].route, learned_in_az2);
    assert_eq!(p2.learned_to_delete[0].router, w.router(2, "lr2"));
    assert!(p2.learned_to_insert.is_empty() && p2.advertisements_to_delete.is_empty());
    w.apply(2, &p2);
    assert_eq!(w.learned(2, "lr2"), Vec::<String>::new());
    // Adding it back is learned again.
    w.route_add(1, "lr1", "10.11.1.0/24", "169.254.0.1", "");
    w.converge();
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["|10.11.1.0/24 169.254.100.1 static"])
    );
}

#[test]
fn learn_and_adv_disabled() {
    let mut w = route_sync_world();
    w.converge();
    w.set_option(1, "ic-route-learn", "false");
    w.converge();
    assert_eq!(w.learned(1, "lr1"), Vec::<String>::new());
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["|10.11.1.0/24 169.254.100.1 static"])
    );
    w.set_option(1, "ic-route-adv", "false");
    w.converge();
    assert_eq!(w.learned(2, "lr2"), Vec::<String>::new());
    assert_eq!(
        w.ic_routes(),
        strings(&["ts1 az2 |10.11.2.0/24 169.254.100.2 static"])
    );
    // Case-insensitive "true", as smap_get_bool.
    w.set_option(1, "ic-route-adv", "TRUE");
    w.set_option(1, "ic-route-learn", "True");
    w.converge();
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&["|10.11.2.0/24 169.254.100.2 static"])
    );
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["|10.11.1.0/24 169.254.100.1 static"])
    );
}

#[test]
fn default_route_needs_adv_default_and_learn_default() {
    let mut w = route_sync_world();
    w.route_add(1, "lr1", "0.0.0.0/0", "169.254.0.3", "");
    w.converge();
    assert!(!w.ic_routes().iter().any(|r| r.contains("0.0.0.0/0")));
    w.set_option(1, "ic-route-adv-default", "true");
    w.converge();
    assert!(w
        .ic_routes()
        .contains(&"ts1 az1 |0.0.0.0/0 169.254.100.1 static".to_owned()));
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["|10.11.1.0/24 169.254.100.1 static"])
    );
    w.set_option(2, "ic-route-learn-default", "true");
    w.converge();
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&[
            "|0.0.0.0/0 169.254.100.1 static",
            "|10.11.1.0/24 169.254.100.1 static",
        ])
    );
}

#[test]
fn connected_networks_keep_host_bits_and_are_withdrawn() {
    let mut w = route_sync_world();
    w.lrp_add(
        1,
        "lr1",
        "lrp-lr1-ls1",
        "aa:aa:aa:aa:bb:01",
        &["192.168.0.1/24"],
    );
    w.converge();
    assert!(w
        .ic_routes()
        .contains(&"ts1 az1 |192.168.0.1/24 169.254.100.1 connected".to_owned()));
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&[
            "|10.11.1.0/24 169.254.100.1 static",
            "|192.168.0.1/24 169.254.100.1 connected",
        ])
    );
    w.lrp_del(1, "lrp-lr1-ls1");
    w.converge();
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["|10.11.1.0/24 169.254.100.1 static"])
    );
}

#[test]
fn denylist_ipv4_both_names() {
    for key in ["ic-route-blacklist", "ic-route-denylist"] {
        let mut w = route_sync_world();
        w.lrp_add(
            1,
            "lr1",
            "lrp-lr1-ls1",
            "aa:aa:aa:aa:bb:01",
            &["192.168.0.1/24"],
        );
        w.converge();
        w.set_option(2, key, "10.11.0.0/16,192.168.0.0/16");
        w.converge();
        // az2 learns neither; az2 no longer advertises 10.11.2.0/24, so az1 learns nothing.
        assert_eq!(w.learned(2, "lr2"), Vec::<String>::new(), "{key}");
        assert_eq!(w.learned(1, "lr1"), Vec::<String>::new(), "{key}");
        assert_eq!(
            w.ic_routes(),
            strings(&[
                "ts1 az1 |10.11.1.0/24 169.254.100.1 static",
                "ts1 az1 |192.168.0.1/24 169.254.100.1 connected",
            ])
        );
    }
    // An empty denylist falls back to the blacklist.
    let mut w = route_sync_world();
    w.set_option(2, "ic-route-denylist", "");
    w.set_option(2, "ic-route-blacklist", "10.11.1.0/24");
    w.converge();
    assert_eq!(w.learned(2, "lr2"), Vec::<String>::new());
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&["|10.11.2.0/24 169.254.100.2 static"])
    );
}

fn ipv6_world() -> World {
    let mut w = World::new(2);
    w.ts_add("ts1");
    for i in 1..=2 {
        w.enable(i);
        let lr = format!("lr{i}");
        let lrp = format!("lrp-lr{i}-ts1");
        w.lr_add(i, &lr);
        w.lrp_add(
            i,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &[&format!("2001:db8:1::{i}/64")],
        );
        w.connect(i, "ts1", &lr, &lrp);
        w.lrp_add(
            i,
            &lr,
            &format!("lrp-lr{i}-p{i}"),
            &format!("00:00:00:00:00:0{i}"),
            &[&format!("2002:db8:1::{i}/64")],
        );
    }
    w
}

#[test]
fn ipv6_and_link_local_nexthop() {
    let mut w = ipv6_world();
    w.converge();
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&["|2002:db8:1::2/64 2001:db8:1::2 connected"])
    );
    assert_eq!(
        w.ic_routes(),
        strings(&[
            "ts1 az1 |2002:db8:1::1/64 2001:db8:1::1 connected",
            "ts1 az2 |2002:db8:1::2/64 2001:db8:1::2 connected",
        ])
    );
    // TS ports become IPv4 only: nothing IPv6 is advertised or learned, and nothing churns.
    for i in 1..=2 {
        w.lrp_del(i, &format!("lrp-lr{i}-ts1"));
        let lr = format!("lr{i}");
        w.lrp_add(
            i,
            &lr,
            &format!("lrp-lr{i}-ts1"),
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &[&format!("169.254.100.{i}/24")],
        );
    }
    w.converge();
    assert_eq!(w.learned(1, "lr1"), Vec::<String>::new());
    assert_eq!(w.ic_routes(), Vec::<String>::new());
    // A foreign row with a link-local nexthop is never learned.
    let mut r = Route::default();
    r.uuid = w.uuid();
    r.transit_switch = "ts1".into();
    r.availability_zone = Ref::new(w.zones[1].az);
    r.ip_prefix = "2003::/64".into();
    r.nexthop = "fe80::1".into();
    w.ic_sb.routes.insert(r.uuid, r);
    let p = w.plan(1);
    assert!(p.is_empty());
    assert!(matches!(
        p.diagnostics[..],
        [crate::Diagnostic::BadIcSbRoute { .. }]
    ));
}

#[test]
fn denylist_ipv6() {
    let mut w = ipv6_world();
    for i in 1..=2 {
        w.set_option(
            i,
            "ic-route-blacklist",
            "  2003:db8:1::/64,2004:aaaa::/32,2005:1234::/21",
        );
        let lr = format!("lr{i}");
        w.lrp_add(
            i,
            &lr,
            &format!("ext{i}"),
            &format!("11:11:11:11:11:1{i}"),
            &[&format!("2003:db8:1::{i}/64")],
        );
        w.lrp_add(
            i,
            &lr,
            &format!("ext2{i}"),
            &format!("22:22:22:22:22:2{i}"),
            &[&format!("2004:aaaa:bbb::{i}/48")],
        );
        w.lrp_add(
            i,
            &lr,
            &format!("ext3{i}"),
            &format!("33:33:33:33:33:3{i}"),
            &[&format!("2005:1734:5678::{i}/50")],
        );
        w.lrp_add(
            i,
            &lr,
            &format!("ext4{i}"),
            &format!("44:44:44:44:44:4{i}"),
            &[&format!("2005:1834:5678::{i}/50")],
        );
    }
    w.converge();
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&[
            "|2002:db8:1::2/64 2001:db8:1::2 connected",
            "|2005:1834:5678::2/50 2001:db8:1::2 connected",
        ])
    );
    for i in 1..=2 {
        w.remove_option(i, "ic-route-blacklist");
    }
    w.converge();
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&[
            "|2002:db8:1::2/64 2001:db8:1::2 connected",
            "|2003:db8:1::2/64 2001:db8:1::2 connected",
            "|2004:aaaa:bbb::2/48 2001:db8:1::2 connected",
            "|2005:1734:5678::2/50 2001:db8:1::2 connected",
            "|2005:1834:5678::2/50 2001:db8:1::2 connected",
        ])
    );
    for i in 1..=2 {
        w.set_option(i, "ic-route-blacklist", "2003:db8:1::/64,2004:db8:1::/64");
        w.lrp_add(
            i,
            &format!("lr{i}"),
            &format!("ext5{i}"),
            &format!("55:55:55:55:55:5{i}"),
            &[&format!("2004:db8:1::{i}/64")],
        );
    }
    w.converge();
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&[
            "|2002:db8:1::2/64 2001:db8:1::2 connected",
            "|2004:aaaa:bbb::2/48 2001:db8:1::2 connected",
            "|2005:1734:5678::2/50 2001:db8:1::2 connected",
            "|2005:1834:5678::2/50 2001:db8:1::2 connected",
        ])
    );
}

#[test]
fn route_tables() {
    let mut w = World::new(2);
    w.ts_add("ts1");
    for i in 1..=2 {
        w.enable(i);
        let lr = format!("lr{i}");
        let lrp = format!("lrp-lr{i}-ts1");
        w.lr_add(i, &lr);
        w.lrp_add(
            i,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &[&format!("169.254.100.{i}/24")],
        );
        w.connect(i, "ts1", &lr, &lrp);
        w.route_add(i, &lr, &format!("10.11.{i}.0/24"), "169.254.0.1", "");
        w.route_add_policy(
            i,
            &lr,
            &format!("10.22.{i}.0/24"),
            "169.254.0.2",
            "rtb1",
            Some(LogicalRouterStaticRoutePolicy::SrcIp),
        );
    }
    w.converge();
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&["|10.11.2.0/24 169.254.100.2 static"])
    );
    // Move the routes to rtb1: the TS ports are in <main>, nothing is advertised.
    for i in 1..=2 {
        w.route_del(i, &format!("lr{i}"), &format!("10.11.{i}.0/24"), "");
        w.route_add(
            i,
            &format!("lr{i}"),
            &format!("10.11.{i}.0/24"),
            "169.254.0.1",
            "rtb1",
        );
    }
    w.converge();
    assert_eq!(w.learned(1, "lr1"), Vec::<String>::new());
    assert_eq!(w.ic_routes(), Vec::<String>::new());
    // az2's TS port in rtb1: advertised in rtb1, but az1's port is in <main>: not learned.
    w.lrp_set_option(2, "lrp-lr2-ts1", "route_table", "rtb1");
    w.converge();
    assert_eq!(
        w.ic_routes(),
        strings(&["ts1 az2 rtb1|10.11.2.0/24 169.254.100.2 static"])
    );
    assert_eq!(w.learned(1, "lr1"), Vec::<String>::new());
    w.lrp_set_option(1, "lrp-lr1-ts1", "route_table", "rtb1");
    w.converge();
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&["rtb1|10.11.2.0/24 169.254.100.2 static"])
    );
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["rtb1|10.11.1.0/24 169.254.100.1 static"])
    );
    // Default route in rtb1 and a connected network, which goes to <main>.
    w.route_add(1, "lr1", "0.0.0.0/0", "169.254.0.3", "rtb1");
    w.set_option(1, "ic-route-adv-default", "true");
    w.set_option(2, "ic-route-learn-default", "true");
    w.lrp_add(
        1,
        "lr1",
        "lrp-lr1-ls1",
        "aa:aa:aa:aa:bb:01",
        &["192.168.0.1/24"],
    );
    w.converge();
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&[
            "rtb1|0.0.0.0/0 169.254.100.1 static",
            "rtb1|10.11.1.0/24 169.254.100.1 static",
            "|192.168.0.1/24 169.254.100.1 connected",
        ])
    );
    w.set_option(2, "ic-route-blacklist", "10.11.0.0/16,192.168.0.0/16");
    w.converge();
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["rtb1|0.0.0.0/0 169.254.100.1 static"])
    );
    assert_eq!(w.learned(1, "lr1"), Vec::<String>::new());
}

/// Upstream "multiple route tables" (IPv4 and IPv6): three transit switches between lr11
/// and lr12, two between lr21 and lr22, each TS port in its own route table.
#[test]
fn multiple_route_tables_ecmp() {
    for v6 in [false, true] {
        let mut w = World::new(2);
        let net = |j: usize, i: usize| {
            if v6 {
                format!("2001:db8:{j}::{i}/64")
            } else {
                format!("169.254.10{j}.{i}/24")
            }
        };
        for (vpc, n) in [(1, 3), (2, 2)] {
            for i in 1..=2 {
                w.enable(i);
                let lr = format!("lr{vpc}{i}");
                w.lr_add(i, &lr);
                for j in 1..=n {
                    let ts = format!("ts{vpc}{j}");
                    w.ts_add(&ts);
                    let lrp = format!("lrp-{lr}-{ts}");
                    w.lrp_add(
                        i,
                        &lr,
                        &lrp,
                        &format!("aa:aa:aa:aa:a{j}:0{i}"),
                        &[&net(j, i)],
                    );
                    w.lrp_set_option(i, &lrp, "route_table", &format!("rtb{j}"));
                    w.connect(i, &ts, &lr, &lrp);
                }
            }
        }
        let (conn, dst, nh) = if v6 {
            (
                "2001:db8:200::1/64",
                "2001:db8:aaaa::/64",
                "2001:db8:200::1",
            )
        } else {
            ("192.168.0.1/24", "10.10.10.0/24", "192.168.0.1")
        };
        w.lrp_add(2, "lr12", "lrp-lr12", "aa:aa:aa:aa:bb:01", &[conn]);
        for j in 1..=3 {
            w.route_add(2, "lr12", dst, &format!("{nh}{j}"), &format!("rtb{j}"));
        }
        w.lrp_add(2, "lr22", "lrp-lr22", "aa:aa:aa:aa:bb:01", &[conn]);
        w.converge();
        let hop = |j: usize| {
            let n = net(j, 2);
            n.split('/').next().unwrap().to_owned()
        };
        let mut want11: Vec<String> = (1..=3)
            .flat_map(|j| {
                [
                    format!("|{conn} {} connected", hop(j)),
                    format!("rtb{j}|{dst} {} static", hop(j)),
                ]
            })
            .collect();
        want11.sort();
        assert_eq!(w.learned(1, "lr11"), want11, "v6={v6}");
        let want21: Vec<String> = (1..=2)
            .map(|j| format!("|{conn} {} connected", hop(j)))
            .collect();
        assert_eq!(w.learned(1, "lr21"), want21, "v6={v6}");
    }
}

#[test]
fn local_route_blocks_learning() {
    // Upstream "same routes destination".
    let mut w = World::new(2);
    w.ts_add("ts1");
    for i in 1..=2 {
        w.enable(i);
        w.set_option(i, "ic-route-adv-default", "true");
        w.set_option(i, "ic-route-learn-default", "true");
        let lr = format!("lr1{i}");
        let lrp = format!("lrp-{lr}-ts1");
        w.lr_add(i, &lr);
        w.lrp_add(
            i,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &[&format!("169.254.100.{i}/24")],
        );
        w.connect(i, "ts1", &lr, &lrp);
        w.lrp_add(
            i,
            &lr,
            "lrp-local-subnet",
            &format!("00:00:00:00:00:0{i}"),
            &[&format!("192.168.{i}.1/24")],
        );
        w.route_add(i, &lr, "10.0.0.0/24", &format!("192.168.{i}.10"), "");
        w.route_add(i, &lr, "0.0.0.0/0", &format!("192.168.{i}.11"), "");
    }
    w.converge();
    assert_eq!(
        w.learned(1, "lr11"),
        strings(&["|192.168.2.1/24 169.254.100.2 connected"])
    );
    assert_eq!(
        w.learned(2, "lr12"),
        strings(&["|192.168.1.1/24 169.254.100.1 connected"])
    );
    // The check compares strings: a local 10.0.0.1/24 does not block 10.0.0.0/24.
    w.route_del(1, "lr11", "10.0.0.0/24", "");
    w.route_add(1, "lr11", "10.0.0.1/24", "192.168.1.10", "");
    w.converge();
    assert!(w
        .learned(1, "lr11")
        .contains(&"|10.0.0.0/24 169.254.100.2 static".to_owned()));
}

#[test]
fn learned_routes_are_not_readvertised() {
    // az1 —ts1— az2 —ts2— az3: az2 learns az1's route but does not pass it on to az3.
    let mut w = World::new(3);
    for (i, ts, n) in [(1, "ts1", 1), (2, "ts1", 2), (2, "ts2", 2), (3, "ts2", 3)] {
        w.enable(i);
        w.ts_add(ts);
        let lr = format!("lr{i}");
        if w.zones[i - 1].nb.routers.is_empty() {
            w.lr_add(i, &lr);
        }
        let lrp = format!("lrp-{lr}-{ts}");
        let third = if ts == "ts1" { 100 } else { 200 };
        w.lrp_add(
            i,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:0{n}:0{i}"),
            &[&format!("169.254.{third}.{i}/24")],
        );
        w.connect(i, ts, &lr, &lrp);
    }
    w.route_add(1, "lr1", "10.1.0.0/16", "10.0.0.1", "");
    w.converge();
    assert_eq!(
        w.learned(2, "lr2"),
        strings(&["|10.1.0.0/16 169.254.100.1 static"])
    );
    assert_eq!(w.learned(3, "lr3"), Vec::<String>::new());
    assert_eq!(
        w.ic_routes(),
        strings(&["ts1 az1 |10.1.0.0/16 169.254.100.1 static"])
    );
}

#[test]
fn transit_switch_deletion_withdraws_its_routes() {
    // Upstream "route deletion upon TS deletion".
    let mut w = World::new(2);
    for (az, ts) in [(1, 1), (1, 2), (2, 1)] {
        for i in 1..=2 {
            w.set_option(i, "ic-route-adv", "true");
        }
        let t = format!("ts{az}-{ts}");
        let lr = format!("lr{az}-{ts}");
        let lrp = format!("lrp{az}-{ts}");
        w.ts_add(&t);
        w.lr_add(az, &lr);
        w.lrp_add(
            az,
            &lr,
            &lrp,
            &format!("00:00:00:00:00:0{az}"),
            &[&format!("10.0.{az}.1/24")],
        );
        w.connect(az, &t, &lr, &lrp);
        w.route_add(az, &lr, "192.168.0.0/16", &format!("10.0.{az}.10"), "");
    }
    w.converge();
    assert_eq!(
        w.ic_routes(),
        strings(&[
            "ts1-1 az1 |192.168.0.0/16 10.0.1.1 static",
            "ts1-2 az1 |192.168.0.0/16 10.0.1.1 static",
            "ts2-1 az2 |192.168.0.0/16 10.0.2.1 static",
        ])
    );
    // Drop the TS from IC-NB only (ovn-ic's port-binding sync has not run yet).
    w.ic_nb.transit_switches.retain(|_, t| t.name != "ts1-1");
    w.converge();
    assert_eq!(
        w.ic_routes(),
        strings(&[
            "ts1-2 az1 |192.168.0.0/16 10.0.1.1 static",
            "ts2-1 az2 |192.168.0.0/16 10.0.2.1 static",
        ])
    );
    w.ts_del("ts1-2");
    w.converge();
    assert_eq!(
        w.ic_routes(),
        strings(&["ts2-1 az2 |192.168.0.0/16 10.0.2.1 static"])
    );
}

#[test]
fn duplicates_collapse_without_crash() {
    let mut w = route_sync_world();
    // Upstream "duplicate NB route adv/learn": two identical static routes.
    w.route_add(1, "lr1", "1.1.1.1/32", "10.0.1.10", "");
    w.route_add(1, "lr1", "1.1.1.1/32", "10.0.1.10", "");
    // Duplicate connected networks (23.03 crashes), and a static route equal to one of them
    // (23.03 violates the IC-SB unique index).
    w.lrp_add(1, "lr1", "p1", "00:00:00:00:01:01", &["192.168.9.1/24"]);
    w.lrp_add(1, "lr1", "p2", "00:00:00:00:01:02", &["192.168.9.1/24"]);
    w.route_add(1, "lr1", "192.168.9.1/24", "192.168.9.254", "");
    w.converge();
    assert_eq!(
        w.ic_routes(),
        strings(&[
            "ts1 az1 |1.1.1.1/32 169.254.100.1 static",
            "ts1 az1 |10.11.1.0/24 169.254.100.1 static",
            "ts1 az1 |192.168.9.1/24 169.254.100.1 static",
            "ts1 az2 |10.11.2.0/24 169.254.100.2 static",
        ])
    );
    assert_eq!(
        w.plan(1)
            .diagnostics
            .iter()
            .filter(|d| matches!(d, crate::Diagnostic::DuplicateAdvertisement { .. }))
            .count(),
        3
    );
    // Two zones advertising the same prefix with the same nexthop (a reused TS address):
    // one learned row in the third zone, no relearn loop.
    let mut w = World::new(3);
    w.ts_add("ts1");
    w.ts_add("ts2");
    for (i, ts) in [(1, "ts1"), (2, "ts2")] {
        w.enable(i);
        let lr = format!("lr{i}");
        w.lr_add(i, &lr);
        w.lrp_add(i, &lr, "tsp", "aa:00:00:00:00:01", &["169.254.0.1/24"]);
        w.connect(i, ts, &lr, "tsp");
        w.route_add(i, &lr, "10.9.0.0/16", "1.1.1.1", "");
    }
    w.enable(3);
    w.lr_add(3, "lr3");
    w.lrp_add(3, "lr3", "a", "aa:00:00:00:00:03", &["169.254.0.3/24"]);
    w.lrp_add(3, "lr3", "b", "aa:00:00:00:00:04", &["169.254.0.4/24"]);
    w.connect(3, "ts1", "lr3", "a");
    w.connect(3, "ts2", "lr3", "b");
    w.converge();
    assert_eq!(
        w.learned(3, "lr3"),
        strings(&["|10.9.0.0/16 169.254.0.1 static"])
    );
}

#[test]
fn stale_and_bad_rows_are_removed() {
    let mut w = route_sync_world();
    w.converge();
    // A bad own IC-SB row, and a bad learned NB row.
    let mut bad = Route::default();
    bad.uuid = w.uuid();
    bad.transit_switch = "ts1".into();
    bad.availability_zone = Ref::new(w.zones[0].az);
    bad.ip_prefix = "10.300.0.0/24".into();
    bad.nexthop = "169.254.100.1".into();
    let bad_id = bad.uuid;
    w.ic_sb.routes.insert(bad_id, bad);
    let mut learned = LogicalRouterStaticRoute::default();
    learned.uuid = w.uuid();
    learned.ip_prefix = "junk".into();
    learned.nexthop = "169.254.100.2".into();
    learned.external_ids = StringMap::from([("ic-learned-route".to_owned(), bad_id.to_string())]);
    let learned_id = learned.uuid;
    let lr1 = w.router(1, "lr1");
    w.nb(1).static_routes.insert(learned_id, learned);
    w.nb(1)
        .routers
        .get_mut(&lr1)
        .unwrap()
        .static_routes
        .push(learned_id.into());
    let p = w.plan(1);
    assert_eq!(p.advertisements_to_delete, vec![bad_id]);
    assert_eq!(p.learned_to_delete.len(), 1);
    assert_eq!(p.learned_to_delete[0].route, learned_id);
    w.apply(1, &p);
    assert!(w.plan(1).is_empty());
    // A router taken off every transit switch loses its learned routes.
    let pb = w
        .ic_sb
        .port_bindings
        .values()
        .find(|p| p.logical_port == "lsp-ts1-lrp-lr1-ts1")
        .unwrap()
        .uuid;
    w.ic_sb.port_bindings.remove(&pb);
    w.converge();
    assert_eq!(w.learned(1, "lr1"), Vec::<String>::new());
    assert_eq!(
        w.ic_routes(),
        strings(&["ts1 az2 |10.11.2.0/24 169.254.100.2 static"])
    );
    assert_eq!(w.learned(2, "lr2"), Vec::<String>::new());
}

#[test]
fn nb_id_is_refreshed_not_reinserted() {
    let mut w = route_sync_world();
    w.converge();
    let row = w
        .ic_sb
        .routes
        .values()
        .find(|r| r.ip_prefix == "10.11.1.0/24")
        .unwrap()
        .uuid;
    w.route_del(1, "lr1", "10.11.1.0/24", "");
    let new = w.route_add(1, "lr1", "10.11.1.0/24", "169.254.0.9", "");
    let p = w.plan(1);
    assert_eq!(p.advertisements_to_update.len(), 1);
    assert_eq!(p.advertisements_to_update[0].route, row);
    assert_eq!(
        p.advertisements_to_update[0].external_ids["nb-id"],
        new.to_string()
    );
    assert!(p.advertisements_to_insert.is_empty() && p.advertisements_to_delete.is_empty());
    w.apply(1, &p);
    assert!(w.plan(1).is_empty() && w.plan(2).is_empty());
}

#[test]
fn unregistered_zone_does_nothing() {
    let mut w = route_sync_world();
    w.zones[0].name = "nope".into();
    let p = w.plan(1);
    assert!(p.is_empty());
    assert_eq!(
        p.diagnostics,
        vec![crate::Diagnostic::ZoneNotRegistered {
            zone: "nope".into()
        }]
    );
}

#[test]
fn operations_of_a_plan() {
    let mut w = route_sync_world();
    // az2 already advertises; az1's plan inserts one advertisement and one learned route.
    let p2 = w.plan(2);
    w.apply(2, &p2);
    let mut s = w.snapshot(1);
    let p = s.plan();
    assert_eq!(p.advertisements_to_insert.len(), 1);
    assert_eq!(p.learned_to_insert.len(), 1);
    let ops = p.operations();
    let isb = w.ic_sb.routes.values().next().unwrap();
    let lr1 = w.router(1, "lr1");
    let nb_route = w.zones[0]
        .nb
        .static_routes
        .values()
        .find(|r| r.ip_prefix == "10.11.1.0/24")
        .unwrap();
    assert_eq!(
        serde_json::to_value(&ops.nb).unwrap(),
        serde_json::json!([
            {"op": "insert", "table": "Logical_Router_Static_Route", "uuid-name": "learned_route_0",
             "row": {"external_ids": ["map", [["ic-learned-route", isb.uuid.to_string()]]],
                     "ip_prefix": "10.11.2.0/24", "nexthop": "169.254.100.2",
                     "options": ["map", [["origin", "static"]]]}},
            {"op": "mutate", "table": "Logical_Router", "where": [["_uuid", "==", ["uuid", lr1.to_string()]]],
             "mutations": [["static_routes", "insert", ["named-uuid", "learned_route_0"]]]}
        ])
    );
    assert_eq!(
        serde_json::to_value(&ops.ic_sb).unwrap(),
        serde_json::json!([
            {"op": "insert", "table": "Route",
             "row": {"availability_zone": ["uuid", w.zones[0].az.to_string()],
                     "external_ids": ["map", [["lr-id", lr1.to_string()],
                                              ["nb-id", nb_route.uuid.to_string()]]],
                     "ip_prefix": "10.11.1.0/24", "nexthop": "169.254.100.1",
                     "origin": "static", "transit_switch": "ts1"}}
        ])
    );
    // Snapshot::apply gives the same state as applying to the world.
    let mut n = 0x9000;
    s.apply(&p, &mut || {
        n += 1;
        Uuid::from_u128(n)
    });
    assert!(s.plan().is_empty());
}

#[test]
fn determinism_under_reordering() {
    let mut w = route_sync_world();
    w.lrp_add(
        1,
        "lr1",
        "x",
        "00:00:00:00:09:01",
        &["192.168.1.1/24", "10.5.0.1/16"],
    );
    w.route_add(1, "lr1", "10.7.0.0/16", "10.0.0.1", "");
    w.converge();
    w.route_add(1, "lr1", "10.8.0.0/16", "10.0.0.1", "");
    w.route_del(2, "lr2", "10.11.2.0/24", "");
    let a = w.plan(1);
    let b = w.plan(2);
    // Same rows, router sets in another order: same plans.
    for z in &mut w.zones {
        for lr in z.nb.routers.values_mut() {
            lr.static_routes.reverse();
            lr.ports.reverse();
        }
    }
    assert_eq!(w.plan(1), a);
    assert_eq!(w.plan(2), b);
    assert_eq!(w.plan(1), a);
}

#[test]
fn bad_ports_and_deny_entries() {
    let mut w = route_sync_world();
    w.converge();
    // A bad deny-list entry is reported and skipped; the others still apply.
    w.set_option(2, "ic-route-denylist", "bogus,,10.11.1.0/24");
    let p = w.plan(2);
    assert_eq!(
        p.diagnostics,
        vec![crate::Diagnostic::BadDenyListEntry {
            entry: "bogus".into()
        }]
    );
    assert_eq!(p.learned_to_delete.len(), 1);
    w.remove_option(2, "ic-route-denylist");
    w.converge();
    // A port binding whose address lost its MAC: its advertisements are withdrawn (HEAD
    // behaviour) and learning through it goes on.
    let pb = w
        .ic_sb
        .port_bindings
        .values()
        .find(|p| p.logical_port == "lsp-ts1-lrp-lr1-ts1")
        .unwrap()
        .uuid;
    w.ic_sb.port_bindings.get_mut(&pb).unwrap().address = "garbage".into();
    let p = w.plan(1);
    assert_eq!(p.advertisements_to_delete.len(), 1);
    assert!(matches!(
        p.diagnostics[..],
        [crate::Diagnostic::BadPortAddress { .. }]
    ));
    w.apply(1, &p);
    assert_eq!(
        w.learned(1, "lr1"),
        strings(&["|10.11.2.0/24 169.254.100.2 static"])
    );
    // A port binding without NB switch port is reported and ignored.
    let lsp = w.zones[0]
        .nb
        .switch_ports
        .values()
        .find(|l| l.name == "lsp-ts1-lrp-lr1-ts1")
        .unwrap()
        .uuid;
    w.nb(1).switch_ports.remove(&lsp);
    let p = w.plan(1);
    assert_eq!(
        p.diagnostics,
        vec![crate::Diagnostic::PortWithoutRouterPort {
            logical_port: "lsp-ts1-lrp-lr1-ts1".into()
        }]
    );
}

#[test]
fn port_on_vanished_transit_switch_is_not_a_connected_network() {
    let mut w = route_sync_world();
    w.ts_add("ts9");
    w.lrp_add(
        1,
        "lr1",
        "lrp-lr1-ts9",
        "aa:aa:aa:aa:09:01",
        &["10.99.0.1/24"],
    );
    w.connect(1, "ts9", "lr1", "lrp-lr1-ts9");
    w.converge();
    let before = w.ic_routes();
    assert!(!before.iter().any(|r| r.contains("10.99.0.1/24")));
    // ts9 leaves IC-NB while its port binding is still there.
    w.ic_nb.transit_switches.retain(|_, t| t.name != "ts9");
    w.converge();
    let want: Vec<String> = before
        .into_iter()
        .filter(|r| !r.starts_with("ts9 "))
        .collect();
    assert_eq!(w.ic_routes(), want);
}
