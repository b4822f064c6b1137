//! Route exchange scenarios from upstream's "route sync" family: static, connected and
//! default routes, route tables, IPv6, the same destination in both zones, duplicates.

use std::time::Duration;

use ovnlink_testkit::ovn::{real_ovn, wait_for, IcDaemon};

use crate::common::*;

/// Upstream "route sync", first part: static routes are advertised and learned, src-ip
/// routes are not, deletion withdraws, the learn and adv switches work, default routes
/// need their own switches, connected networks, and the deny list.
fn route_sync(daemons: &[IcDaemon]) {
    let lab = ts1_lab(daemons, "169.254.100");
    for i in 1..=2 {
        let z = i - 1;
        let lr = format!("lr{i}");
        let zone = &lab.zones[z];
        zone.nbctl(&[
            "lr-route-add",
            &lr,
            &format!("10.11.{i}.0/24"),
            "169.254.0.1",
        ])
        .unwrap();
        zone.nbctl(&[
            "--policy=src-ip",
            "lr-route-add",
            &lr,
            &format!("10.22.{i}.0/24"),
            "169.254.0.2",
        ])
        .unwrap();
    }
    expect_routes(
        &lab,
        0,
        "lr1",
        "IPv4 Routes
Route Table <main>:
             10.11.1.0/24               169.254.0.1 dst-ip
             10.11.2.0/24             169.254.100.2 dst-ip (learned)
             10.22.1.0/24               169.254.0.2 src-ip
",
    );
    expect_routes(
        &lab,
        1,
        "lr2",
        "IPv4 Routes
Route Table <main>:
             10.11.1.0/24             169.254.100.1 dst-ip (learned)
             10.11.2.0/24               169.254.0.1 dst-ip
             10.22.2.0/24               169.254.0.2 src-ip
",
    );
    let (az1, az2) = (&lab.zones[0], &lab.zones[1]);

    // Deleting the route in AZ1 withdraws it from AZ2; adding it back relearns it.
    az1.nbctl(&["lr-route-del", "lr1", "10.11.1.0/24"]).unwrap();
    wait_routes(&lab, 1, "lr2", "withdrawn", |s| !s.contains("learned"));
    az1.nbctl(&["lr-route-add", "lr1", "10.11.1.0/24", "169.254.0.1"])
        .unwrap();
    wait_routes(&lab, 1, "lr2", "relearned", |s| s.contains("learned"));

    // Learning off in AZ1: its learned routes go, AZ2 still learns AZ1's.
    az1.nbctl(&["set", "nb_global", ".", "options:ic-route-learn=false"])
        .unwrap();
    expect_routes(
        &lab,
        0,
        "lr1",
        "IPv4 Routes
Route Table <main>:
             10.11.1.0/24               169.254.0.1 dst-ip
             10.22.1.0/24               169.254.0.2 src-ip
",
    );
    assert!(az2.routes("lr2").unwrap().contains("learned"));

    // Advertising off in AZ1: AZ2 loses the route.
    az1.nbctl(&["set", "nb_global", ".", "options:ic-route-adv=false"])
        .unwrap();
    expect_routes(
        &lab,
        1,
        "lr2",
        "IPv4 Routes
Route Table <main>:
             10.11.2.0/24               169.254.0.1 dst-ip
             10.22.2.0/24               169.254.0.2 src-ip
",
    );

    // A default route is neither advertised nor learned by default.
    az1.nbctl(&["lr-route-add", "lr1", "0.0.0.0/0", "169.254.0.3"])
        .unwrap();
    az1.nbctl(&[
        "set",
        "nb_global",
        ".",
        "options:ic-route-adv=true",
        "options:ic-route-learn=true",
    ])
    .unwrap();
    wait_routes(&lab, 0, "lr1", "AZ1 learns again", |s| {
        s.contains("learned")
    });
    expect_routes(
        &lab,
        1,
        "lr2",
        "IPv4 Routes
Route Table <main>:
             10.11.1.0/24             169.254.100.1 dst-ip (learned)
             10.11.2.0/24               169.254.0.1 dst-ip
             10.22.2.0/24               169.254.0.2 src-ip
",
    );

    // With adv-default in AZ1 and learn-default in AZ2 it is.
    az1.nbctl(&["set", "nb_global", ".", "options:ic-route-adv-default=true"])
        .unwrap();
    assert!(wait_for(CONVERGE, || lab
        .ic_sbctl(&["list", "route"])
        .unwrap_or_default()
        .contains("0.0.0.0")));
    az2.nbctl(&[
        "set",
        "nb_global",
        ".",
        "options:ic-route-learn-default=true",
    ])
    .unwrap();
    wait_routes(&lab, 1, "lr2", "default learned", |s| {
        s.lines()
            .any(|l| l.contains("learned") && l.contains("0.0.0.0"))
    });

    // A directly connected network is advertised, and withdrawn with its port.
    az1.nbctl(&[
        "lrp-add",
        "lr1",
        "lrp-lr1-ls1",
        "aa:aa:aa:aa:bb:01",
        "192.168.0.1/24",
    ])
    .unwrap();
    wait_routes(&lab, 1, "lr2", "connected learned", |s| {
        s.lines()
            .any(|l| l.contains("learned") && l.contains("192.168"))
    });
    az1.nbctl(&["lrp-del", "lrp-lr1-ls1"]).unwrap();
    wait_routes(&lab, 1, "lr2", "connected withdrawn", |s| {
        !s.lines()
            .any(|l| l.contains("learned") && l.contains("192.168"))
    });

    // The deny list (23.03's `ic-route-blacklist`) stops learning in both directions.
    az1.nbctl(&[
        "lrp-add",
        "lr1",
        "lrp-lr1-ls1",
        "aa:aa:aa:aa:bb:01",
        "192.168.0.1/24",
    ])
    .unwrap();
    wait_routes(&lab, 1, "lr2", "connected learned again", |s| {
        s.lines()
            .any(|l| l.contains("learned") && l.contains("192.168"))
    });
    wait_routes(&lab, 0, "lr1", "AZ1 learns 10.11.2.0", |s| {
        s.lines()
            .any(|l| l.contains("learned") && l.contains("10.11"))
    });
    az2.nbctl(&[
        "set",
        "nb_global",
        ".",
        "options:ic-route-blacklist=\"10.11.0.0/16,192.168.0.0/16\"",
    ])
    .unwrap();
    wait_routes(&lab, 1, "lr2", "deny list stops learning", |s| {
        !s.lines()
            .any(|l| l.contains("learned") && l.contains("192.168"))
    });
    wait_routes(&lab, 0, "lr1", "deny list stops advertising", |s| {
        !s.lines()
            .any(|l| l.contains("learned") && l.contains("10.11"))
    });
}

#[test]
fn route_sync_all_ic_routed() {
    if !real_ovn() {
        return;
    }
    route_sync(&[ic_routed(), ic_routed()]);
}

#[test]
fn route_sync_mixed_with_ovn_ic() {
    if !real_ovn() {
        return;
    }
    route_sync(&[IcDaemon::OvnIc, ic_routed()]);
    route_sync(&[ic_routed(), IcDaemon::OvnIc]);
}

/// Upstream "route sync -- route tables": routes of a route table are advertised only
/// through a port with that table and learned only through one; connected networks always
/// go to `<main>`.
fn route_tables(daemons: &[IcDaemon]) {
    let lab = ts1_lab(daemons, "169.254.100");
    for i in 1..=2 {
        let z = i - 1;
        let lr = format!("lr{i}");
        let zone = &lab.zones[z];
        zone.nbctl(&[
            "lr-route-add",
            &lr,
            &format!("10.11.{i}.0/24"),
            "169.254.0.1",
        ])
        .unwrap();
        zone.nbctl(&[
            "--policy=src-ip",
            "--route-table=rtb1",
            "lr-route-add",
            &lr,
            &format!("10.22.{i}.0/24"),
            "169.254.0.2",
        ])
        .unwrap();
    }
    expect_routes(
        &lab,
        0,
        "lr1",
        "IPv4 Routes
Route Table <main>:
             10.11.1.0/24               169.254.0.1 dst-ip
             10.11.2.0/24             169.254.100.2 dst-ip (learned)

Route Table rtb1:
             10.22.1.0/24               169.254.0.2 src-ip
",
    );
    // Move the static routes to rtb1: nothing is learned while the ports use <main>.
    for i in 1..=2 {
        let zone = &lab.zones[i - 1];
        let lr = format!("lr{i}");
        zone.nbctl(&[
            "lr-route-del",
            &lr,
            &format!("10.11.{i}.0/24"),
            "169.254.0.1",
        ])
        .unwrap();
        zone.nbctl(&[
            "--route-table=rtb1",
            "lr-route-add",
            &lr,
            &format!("10.11.{i}.0/24"),
            "169.254.0.1",
        ])
        .unwrap();
    }
    let rtb1_only = "IPv4 Routes
Route Table rtb1:
             10.11.1.0/24               169.254.0.1 dst-ip
             10.22.1.0/24               169.254.0.2 src-ip
";
    expect_routes(&lab, 0, "lr1", rtb1_only);
    wait_routes(&lab, 1, "lr2", "nothing learned", |s| {
        !s.contains("learned")
    });
    // AZ2's port joins rtb1: it advertises 10.11.2.0/24 in rtb1; AZ1 (port in <main>)
    // does not learn it.
    lab.zones[1]
        .nbctl(&["lrp-set-options", "lrp-lr2-ts1", "route_table=rtb1"])
        .unwrap();
    assert!(
        wait_for(CONVERGE, || lab
            .ic_sbctl(&["find", "route", "route_table=rtb1"])
            .unwrap_or_default()
            .contains("10.11.2.0/24")),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lab.zones[0].routes("lr1").unwrap(), rtb1_only);
    lab.zones[0]
        .nbctl(&["lrp-set-options", "lrp-lr1-ts1", "route_table=rtb1"])
        .unwrap();
    expect_routes(
        &lab,
        0,
        "lr1",
        "IPv4 Routes
Route Table rtb1:
             10.11.1.0/24               169.254.0.1 dst-ip
             10.11.2.0/24             169.254.100.2 dst-ip (learned)
             10.22.1.0/24               169.254.0.2 src-ip
",
    );
    // Default routes in rtb1, and a connected network (learned into <main>).
    let (az1, az2) = (&lab.zones[0], &lab.zones[1]);
    az1.nbctl(&[
        "--route-table=rtb1",
        "lr-route-add",
        "lr1",
        "0.0.0.0/0",
        "169.254.0.3",
    ])
    .unwrap();
    az1.nbctl(&["set", "nb_global", ".", "options:ic-route-adv-default=true"])
        .unwrap();
    az2.nbctl(&[
        "set",
        "nb_global",
        ".",
        "options:ic-route-learn-default=true",
    ])
    .unwrap();
    az1.nbctl(&[
        "lrp-add",
        "lr1",
        "lrp-lr1-ls1",
        "aa:aa:aa:aa:bb:01",
        "192.168.0.1/24",
    ])
    .unwrap();
    expect_routes(
        &lab,
        1,
        "lr2",
        "IPv4 Routes
Route Table <main>:
           192.168.0.0/24             169.254.100.1 dst-ip (learned)

Route Table rtb1:
             10.11.1.0/24             169.254.100.1 dst-ip (learned)
             10.11.2.0/24               169.254.0.1 dst-ip
             10.22.2.0/24               169.254.0.2 src-ip
                0.0.0.0/0             169.254.100.1 dst-ip (learned)
",
    );
    az2.nbctl(&[
        "set",
        "nb_global",
        ".",
        "options:ic-route-blacklist=\"10.11.0.0/16,192.168.0.0/16\"",
    ])
    .unwrap();
    expect_routes(
        &lab,
        1,
        "lr2",
        "IPv4 Routes
Route Table rtb1:
             10.11.2.0/24               169.254.0.1 dst-ip
             10.22.2.0/24               169.254.0.2 src-ip
                0.0.0.0/0             169.254.100.1 dst-ip (learned)
",
    );
    wait_routes(&lab, 0, "lr1", "AZ1 stops learning 10.11", |s| {
        !s.lines()
            .any(|l| l.contains("learned") && l.contains("10.11"))
    });
}

#[test]
fn route_tables_all_modes() {
    all_modes(route_tables);
}

/// Upstream "route sync -- IPv6 route tables": IPv6 connected networks, and no learning
/// through link-local-only transit ports.
fn ipv6(daemons: &[IcDaemon]) {
    let lab = lab(daemons);
    lab.ic_nbctl(&["ts-add", "ts1"]).unwrap();
    for i in 1..=2 {
        let z = i - 1;
        wait_switch(&lab, z, "ts1");
        let lr = format!("lr{i}");
        lab.attach_router(
            z,
            &lr,
            "ts1",
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &[&format!("2001:db8:1::{i}/64")],
        )
        .unwrap();
        lab.zones[z]
            .nbctl(&[
                "lrp-add",
                &lr,
                &format!("lrp-lr{i}-p{i}"),
                &format!("00:00:00:00:00:0{i}"),
                &format!("2002:db8:1::{i}/64"),
            ])
            .unwrap();
    }
    wait_routes(&lab, 0, "lr1", "IPv6 learned", |s| {
        let learned: Vec<String> = s
            .lines()
            .filter(|l| l.contains("learned"))
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect();
        learned == ["2002:db8:1::/64 2001:db8:1::2"]
    });
    for i in 1..=2 {
        let zone = &lab.zones[i - 1];
        let lr = format!("lr{i}");
        zone.nbctl(&["lrp-del", &format!("lrp-lr{i}-ts1")]).unwrap();
        zone.nbctl(&[
            "lrp-add",
            &lr,
            &format!("lrp-lr{i}-ts1"),
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &format!("169.254.100.{i}/24"),
        ])
        .unwrap();
    }
    wait_routes(
        &lab,
        0,
        "lr1",
        "nothing learned over IPv4-only ports",
        |s| !s.contains("learned"),
    );
}

#[test]
fn ipv6_all_modes() {
    all_modes(ipv6);
}

/// Upstream "route sync -- multiple route tables": one router on three transit switches
/// with one route table each gives ECMP for connected networks and per-table static
/// routes; a second VPC on other switches learns only its own peer's routes.
fn multiple_route_tables(daemons: &[IcDaemon]) {
    let lab = lab(daemons);
    for (vpc, n) in [(1, 3), (2, 2)] {
        for i in 1..=2 {
            let lr = format!("lr{vpc}{i}");
            lab.zones[i - 1].nbctl(&["lr-add", &lr]).unwrap();
            for j in 1..=n {
                let ts = format!("ts{vpc}{j}");
                lab.ic_nbctl(&["--may-exist", "ts-add", &ts]).unwrap();
                wait_switch(&lab, i - 1, &ts);
                lab.attach_router(
                    i - 1,
                    &lr,
                    &ts,
                    &format!("aa:aa:aa:aa:a{j}:0{i}"),
                    &[&format!("169.254.10{j}.{i}/24")],
                )
                .unwrap();
                lab.zones[i - 1]
                    .nbctl(&[
                        "lrp-set-options",
                        &format!("lrp-{lr}-{ts}"),
                        &format!("route_table=rtb{j}"),
                    ])
                    .unwrap();
            }
        }
    }
    let az2 = &lab.zones[1];
    az2.nbctl(&[
        "lrp-add",
        "lr12",
        "lrp-lr12",
        "aa:aa:aa:aa:bb:01",
        "192.168.0.1/24",
    ])
    .unwrap();
    for (j, nh) in [
        (1, "192.168.0.10"),
        (2, "192.168.0.11"),
        (3, "192.168.0.12"),
    ] {
        az2.nbctl(&[
            &format!("--route-table=rtb{j}"),
            "lr-route-add",
            "lr12",
            "10.10.10.0/24",
            nh,
        ])
        .unwrap();
    }
    az2.nbctl(&[
        "lrp-add",
        "lr22",
        "lrp-lr22",
        "aa:aa:aa:aa:bb:01",
        "192.168.0.1/24",
    ])
    .unwrap();
    wait_routes(&lab, 0, "lr11", "ECMP over three switches", |s| {
        let mut v: Vec<String> = s
            .lines()
            .filter(|l| l.contains("192.168") && l.contains("learned"))
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                format!("{} {} {}", w[0], w[1], w.get(4).copied().unwrap_or(""))
            })
            .collect();
        v.sort();
        v == [
            "192.168.0.0/24 169.254.101.2 ecmp",
            "192.168.0.0/24 169.254.102.2 ecmp",
            "192.168.0.0/24 169.254.103.2 ecmp",
        ]
    });
    for j in 1..=3 {
        let out = format!(
            "IPv4 Routes\nRoute Table rtb{j}:\n            10.10.10.0/24             169.254.10{j}.2 dst-ip (learned)\n"
        );
        let mut last = String::new();
        let ok = wait_for(CONVERGE, || {
            last = lab.zones[0]
                .nbctl(&[&format!("--route-table=rtb{j}"), "lr-route-list", "lr11"])
                .unwrap_or_default();
            last == out
        });
        assert!(ok, "rtb{j}: {last}\n{}", lab.logs());
    }
    wait_routes(&lab, 0, "lr21", "VPC2 learns only its peer", |s| {
        let mut v: Vec<&str> = s.lines().filter(|l| l.contains("192.168")).collect();
        v.sort();
        v == [
            "           192.168.0.0/24             169.254.101.2 dst-ip (learned) ecmp",
            "           192.168.0.0/24             169.254.102.2 dst-ip (learned) ecmp",
        ]
    });
}

#[test]
fn multiple_route_tables_all_modes() {
    all_modes(multiple_route_tables);
}

/// Upstream "same routes destination": each zone keeps its own default and 10.0.0.0/24
/// routes and learns only the other's connected network.
fn same_destination(daemons: &[IcDaemon]) {
    let lab = lab(daemons);
    lab.ic_nbctl(&["ts-add", "ts1"]).unwrap();
    for i in 1..=2 {
        let z = i - 1;
        let zone = &lab.zones[z];
        zone.nbctl(&[
            "set",
            "nb_global",
            ".",
            "options:ic-route-learn-default=true",
            "options:ic-route-adv-default=true",
        ])
        .unwrap();
        wait_switch(&lab, z, "ts1");
        let lr = format!("lr1{i}");
        lab.attach_router(
            z,
            &lr,
            "ts1",
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &[&format!("169.254.100.{i}/24")],
        )
        .unwrap();
        zone.nbctl(&[
            "lrp-add",
            &lr,
            "lrp-local-subnet",
            &format!("00:00:00:00:00:0{i}"),
            &format!("192.168.{i}.1/24"),
        ])
        .unwrap();
        zone.nbctl(&[
            "lr-route-add",
            &lr,
            "10.0.0.0/24",
            &format!("192.168.{i}.10"),
        ])
        .unwrap();
        zone.nbctl(&["lr-route-add", &lr, "0.0.0.0/0", &format!("192.168.{i}.11")])
            .unwrap();
    }
    for (z, i, o) in [(0, 1, 2), (1, 2, 1)] {
        let want = vec![
            format!("                0.0.0.0/0              192.168.{i}.11 dst-ip"),
            format!("              10.0.0.0/24              192.168.{i}.10 dst-ip"),
            format!("           192.168.{o}.0/24             169.254.100.{o} dst-ip (learned)"),
        ];
        wait_routes(&lab, z, &format!("lr1{i}"), "own routes kept", |s| {
            let mut v: Vec<&str> = s.lines().filter(|l| l.contains("dst-ip")).collect();
            v.sort();
            v == want
        });
    }
}

#[test]
fn same_destination_all_modes() {
    all_modes(same_destination);
}

/// Upstream "duplicate NB route adv/learn": two identical static routes give one
/// advertisement.
fn duplicate_routes(daemons: &[IcDaemon]) {
    let lab = lab(daemons);
    lab.ic_nbctl(&["ts-add", "ts1"]).unwrap();
    for i in 1..=2 {
        let z = i - 1;
        lab.zones[z]
            .nbctl(&[
                "set",
                "nb_global",
                ".",
                "options:ic-route-adv-default=true",
                "options:ic-route-learn-default=true",
            ])
            .unwrap();
        wait_switch(&lab, z, "ts1");
        // Router names differ per zone: switch-port names must be unique across zones.
        lab.attach_router(
            z,
            &format!("lr{i}"),
            "ts1",
            &format!("00:00:00:00:0{i}:01"),
            &[&format!("10.0.{i}.1/24")],
        )
        .unwrap();
    }
    for _ in 0..2 {
        lab.zones[0]
            .nbctl(&[
                "--id=@id",
                "create",
                "logical-router-static-route",
                "ip_prefix=1.1.1.1/32",
                "nexthop=10.0.1.10",
                "--",
                "add",
                "logical-router",
                "lr1",
                "static_routes",
                "@id",
            ])
            .unwrap();
    }
    let count = || {
        lab.ic_sbctl(&[
            "--bare",
            "--columns=_uuid",
            "find",
            "Route",
            "ip_prefix=\"1.1.1.1/32\"",
        ])
        .unwrap_or_default()
        .split_whitespace()
        .count()
    };
    assert!(wait_for(CONVERGE, || count() == 1), "{}", lab.logs());
    // AZ2's port (10.0.2.1/24) does not contain the nexthop 10.0.1.1: 23.03 learns the
    // route anyway, ic-routed (like upstream since c03bda692) does not; never twice.
    std::thread::sleep(Duration::from_millis(500));
    let twice = lab.zones[1]
        .routes("lr2")
        .unwrap()
        .lines()
        .filter(|l| l.contains("1.1.1.1"))
        .count();
    assert!(twice <= 1, "learned {twice} times");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), 1);
}

#[test]
fn duplicate_routes_all_modes() {
    all_modes(duplicate_routes);
}
