//! `ic-routed` against real OVN 23.03: per zone an NB and SB `ovsdb-server` and
//! `ovn-northd`, global IC-NB and IC-SB `ovsdb-server`s, topology made with `ovn-nbctl` and
//! `ovn-ic-nbctl`. Scenarios are ported from upstream's tests/ovn-ic.at; each runs with
//! `ic-routed` in every zone and in mixed deployments beside the real `ovn-ic`.

use std::path::PathBuf;
use std::time::Duration;

use ovnlink_testkit::ovn::{real_ovn, wait_for, IcDaemon, IcLab};

const CONVERGE: Duration = Duration::from_secs(30);

fn ic_routed() -> IcDaemon {
    IcDaemon::IcRouted(PathBuf::from(env!("CARGO_BIN_EXE_ic-routed")))
}

/// A lab with one zone per entry of `daemons`, each running that daemon.
fn lab(daemons: &[IcDaemon]) -> IcLab {
    let mut lab = IcLab::start(daemons.len()).expect("lab starts");
    for (i, d) in daemons.iter().enumerate() {
        lab.start_ic(i, d).expect("daemon starts");
    }
    lab
}

/// A lab running `daemons` with transit switch `ts1` and, in zone `i` (1-based), router
/// `lr<i>` attached to it through MAC `aa:aa:aa:aa:aa:0<i>` and `<net>.<i>/24`: the start of
/// most upstream scenarios.
fn ts1_lab(daemons: &[IcDaemon], net: &str) -> IcLab {
    let lab = lab(daemons);
    lab.join_routers("ts1", net, CONVERGE);
    lab
}

/// Waits until `zone`'s `lr-route-list router` equals `expected`; panics with the logs
/// otherwise.
fn expect_routes(lab: &IcLab, zone: usize, router: &str, expected: &str) {
    let mut last = String::new();
    let ok = wait_for(CONVERGE, || {
        last = lab.zones[zone].routes(router).unwrap_or_default();
        last == expected
    });
    assert!(
        ok,
        "{} lr-route-list {router}:\n{last}\nexpected:\n{expected}\n{}",
        lab.zones[zone].name,
        lab.logs()
    );
}

/// Waits until `check` holds on `zone`'s route list of `router`.
fn wait_routes(lab: &IcLab, zone: usize, router: &str, what: &str, check: impl Fn(&str) -> bool) {
    let mut last = String::new();
    let ok = wait_for(CONVERGE, || {
        last = lab.zones[zone].routes(router).unwrap_or_default();
        check(&last)
    });
    assert!(
        ok,
        "{}: {what}; lr-route-list {router}:\n{last}\n{}",
        lab.zones[zone].name,
        lab.logs()
    );
}

fn wait_switch(lab: &IcLab, zone: usize, ts: &str) {
    assert!(
        lab.wait_switch(zone, ts, CONVERGE),
        "transit switch {ts} never reached {}\n{}",
        lab.zones[zone].name,
        lab.logs()
    );
}

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

/// Upstream "route sync", origins: IC-SB rows and learned rows carry `static` or
/// `connected`, connected prefixes keep their host bits.
fn origins(daemons: &[IcDaemon]) {
    let lab = ts1_lab(daemons, "169.254.100");
    for i in 1..=2 {
        let z = i - 1;
        let lr = format!("lr{i}");
        let zone = &lab.zones[z];
        zone.nbctl(&[
            "lrp-add",
            &lr,
            &format!("lrp-lr{i}-p{i}"),
            &format!("00:00:00:00:00:0{i}"),
            &format!("192.168.{i}.1/24"),
        ])
        .unwrap();
        zone.nbctl(&[
            "lr-route-add",
            &lr,
            &format!("10.11.{i}.0/24"),
            "169.254.0.1",
        ])
        .unwrap();
    }
    let count = |out: String| out.lines().filter(|l| l.starts_with("_uuid")).count();
    for i in 1..=2 {
        for (prefix, origin) in [
            (format!("10.11.{i}.0/24"), "static"),
            (format!("192.168.{i}.1/24"), "connected"),
        ] {
            let ok = wait_for(CONVERGE, || {
                count(
                    lab.ic_sbctl(&[
                        "find",
                        "route",
                        &format!("ip_prefix=\"{prefix}\""),
                        &format!("origin={origin}"),
                    ])
                    .unwrap_or_default(),
                ) == 1
            });
            assert!(ok, "IC-SB route {prefix} {origin}\n{}", lab.logs());
            let learner = &lab.zones[2 - i];
            let ok = wait_for(CONVERGE, || {
                count(
                    learner
                        .nbctl(&[
                            "find",
                            "Logical_Router_Static_Route",
                            &format!("ip_prefix=\"{prefix}\""),
                            &format!("options:origin={origin}"),
                        ])
                        .unwrap_or_default(),
                ) == 1
            });
            assert!(
                ok,
                "learned {prefix} {origin} in {}\n{}",
                learner.name,
                lab.logs()
            );
        }
    }
}

/// Replaces every UUID in `text` by `<N>`, numbered by first appearance (upstream's
/// `uuidfilt`).
fn uuidfilt(text: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if i + 36 <= b.len() && ovsdb_proto::parse_uuid(&text[i..i + 36]).is_some() {
            let u = text[i..i + 36].to_owned();
            let n = seen.iter().position(|s| *s == u).unwrap_or_else(|| {
                seen.push(u);
                seen.len() - 1
            });
            out.push_str(&format!("<{n}>"));
            i += 36;
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn wait_output(what: &str, lab: &IcLab, mut get: impl FnMut() -> String, want: &str) {
    let mut last = String::new();
    let ok = wait_for(CONVERGE, || {
        last = get();
        last == want
    });
    assert!(ok, "{what}:\n{last}\nexpected:\n{want}\n{}", lab.logs());
}

/// Upstream "AZ register": zones register, a renamed zone replaces its row, an emptied
/// name unregisters.
fn az_register(daemons: &[IcDaemon]) {
    let lab = lab(daemons);
    let show = || lab.ic_sbctl(&["show"]).unwrap_or_default();
    wait_output(
        "zones",
        &lab,
        show,
        "availability-zone az1\navailability-zone az2\n",
    );
    lab.zones[0]
        .nbctl(&["set", "NB_Global", ".", "name=az3"])
        .unwrap();
    wait_output(
        "renamed",
        &lab,
        show,
        "availability-zone az2\navailability-zone az3\n",
    );
    lab.zones[1]
        .nbctl(&["set", "NB_Global", ".", "name=\"\""])
        .unwrap();
    wait_output("unnamed", &lab, show, "availability-zone az3\n");
}

/// Upstream "transit switch handling": one IC-SB datapath binding and one NB logical
/// switch per transit switch, the NB switch's datapath gets the IC tunnel key, deletion.
fn transit_switches(daemons: &[IcDaemon]) {
    let lab = lab(daemons);
    let az1 = &lab.zones[0];
    az1.sbctl(&["chassis-add", "fakechassis", "vxlan", "192.168.0.2"])
        .unwrap();
    lab.ic_nbctl(&["ts-add", "ts1"]).unwrap();
    lab.ic_nbctl(&["ts-add", "ts2"]).unwrap();
    let dps = || {
        let mut v: Vec<String> = lab
            .ic_sbctl(&[
                "--bare",
                "--columns=transit_switch",
                "list",
                "Datapath_Binding",
            ])
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        v.sort();
        v.join(" ")
    };
    let switches = |z: usize| {
        let mut v: Vec<String> = lab.zones[z]
            .nbctl(&["--bare", "--columns=name", "list", "Logical_Switch"])
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        v.sort();
        v.join(" ")
    };
    wait_output("IC-SB datapaths", &lab, dps, "ts1 ts2");
    for z in 0..2 {
        wait_output("NB switches", &lab, || switches(z), "ts1 ts2");
    }
    let key = lab
        .ic_sbctl(&[
            "--bare",
            "--columns=tunnel_key",
            "find",
            "Datapath_Binding",
            "transit_switch=ts1",
        ])
        .unwrap();
    let key = key.trim();
    assert!(key.parse::<u32>().is_ok_and(|k| k >= 16711681), "{key}");
    wait_output(
        "SB datapath key",
        &lab,
        || {
            az1.sbctl(&[
                "--bare",
                "--columns=tunnel_key",
                "find",
                "Datapath_Binding",
                "external_ids:interconn-ts=ts1",
            ])
            .unwrap_or_default()
            .trim()
            .to_owned()
        },
        key,
    );
    lab.ic_nbctl(&["ts-del", "ts1"]).unwrap();
    wait_output("IC-SB datapaths", &lab, dps, "ts2");
    for z in 0..2 {
        wait_output("NB switches", &lab, || switches(z), "ts2");
    }
}

/// Upstream "port sync" (without a chassis to bind the gateway port): a router port on
/// a transit switch becomes a `remote` port with its address in the other zone, follows
/// address changes, loses its address with its router port, and goes with its switch port.
fn port_sync(daemons: &[IcDaemon]) {
    let lab = lab(daemons);
    lab.ic_nbctl(&["ts-add", "ts1"]).unwrap();
    wait_switch(&lab, 0, "ts1");
    wait_switch(&lab, 1, "ts1");
    lab.attach_router(0, "lr1", "ts1", "aa:aa:aa:aa:aa:01", &["169.254.100.1/24"])
        .unwrap();
    let (az1, az2) = (&lab.zones[0], &lab.zones[1]);
    let show2 = || uuidfilt(&az2.nbctl(&["show"]).unwrap_or_default());
    wait_output(
        "remote port",
        &lab,
        show2,
        "switch <0> (ts1)\n    port lsp-ts1-lr1\n        type: remote\n        addresses: [\"aa:aa:aa:aa:aa:01 169.254.100.1/24\"]\n",
    );
    wait_output(
        "SB remote binding",
        &lab,
        || {
            az2.sbctl(&[
                "-f",
                "csv",
                "-d",
                "bare",
                "--no-headings",
                "--columns",
                "logical_port,type",
                "list",
                "port_binding",
            ])
            .unwrap_or_default()
        },
        "lsp-ts1-lr1,remote\n",
    );
    // The remote port's tunnel key is the IC-SB binding's.
    let key = lab
        .ic_sbctl(&[
            "--bare",
            "--columns=tunnel_key",
            "find",
            "Port_Binding",
            "logical_port=lsp-ts1-lr1",
        ])
        .unwrap();
    wait_output(
        "requested-tnl-key",
        &lab,
        || {
            az2.nbctl(&[
                "get",
                "Logical_Switch_Port",
                "lsp-ts1-lr1",
                "options:requested-tnl-key",
            ])
            .unwrap_or_default()
            .trim()
            .trim_matches('"')
            .to_owned()
        },
        key.trim(),
    );
    az1.nbctl(&[
        "set",
        "logical_router_port",
        "lrp-lr1-ts1",
        "mac=\"aa:aa:aa:aa:aa:02\"",
        // A set of two networks (one string with a space is one network, which
        // northd 25.03 refuses).
        "networks=[\"169.254.100.2/24\",\"169.254.200.3/24\"]",
    ])
    .unwrap();
    let mut last = String::new();
    assert!(
        wait_for(CONVERGE, || {
            last = show2();
            last.contains("aa:aa:aa:aa:aa:02 169.254.100.2/24 169.254.200.3/24")
        }),
        "az2 show:\n{last}\nIC-SB:\n{}\n{}",
        lab.ic_sbctl(&["list", "Port_Binding"]).unwrap_or_default(),
        lab.logs()
    );
    az1.nbctl(&["lrp-del", "lrp-lr1-ts1"]).unwrap();
    wait_output(
        "address gone",
        &lab,
        show2,
        "switch <0> (ts1)\n    port lsp-ts1-lr1\n        type: remote\n",
    );
    az1.nbctl(&["lsp-del", "lsp-ts1-lr1"]).unwrap();
    wait_output("remote port gone", &lab, show2, "switch <0> (ts1)\n");
}

/// Upstream "gateway sync", with chassis rows made by `ovn-sbctl` instead of an
/// ovn-controller: an interconnection gateway of AZ1 appears in AZ2's SB as a remote
/// chassis, follows encap changes and goes when it stops being a gateway.
fn gateway_sync(daemons: &[IcDaemon]) {
    let lab = lab(daemons);
    let (az1, az2) = (&lab.zones[0], &lab.zones[1]);
    az1.sbctl(&["chassis-add", "gw1", "geneve", "192.168.0.1"])
        .unwrap();
    az1.sbctl(&[
        "set",
        "chassis",
        "gw1",
        "hostname=gw1",
        "other_config:is-interconn=true",
    ])
    .unwrap();
    let show2 = || az2.sbctl(&["show"]).unwrap_or_default();
    wait_output("remote chassis", &lab, show2, "Chassis gw1\n    hostname: gw1\n    Encap geneve\n        ip: \"192.168.0.1\"\n        options: {csum=\"true\"}\n");
    wait_output(
        "is-remote",
        &lab,
        || {
            az2.sbctl(&[
                "-f",
                "csv",
                "-d",
                "bare",
                "--no-headings",
                "--columns",
                "other_config",
                "list",
                "chassis",
            ])
            .unwrap_or_default()
        },
        "is-remote=true\n",
    );
    assert!(
        lab.ic_sbctl(&["show"]).unwrap().contains("gateway gw1"),
        "{}",
        lab.logs()
    );
    // Encap change.
    let encap = az1
        .sbctl(&[
            "--bare",
            "--columns=_uuid",
            "find",
            "Encap",
            "chassis_name=gw1",
        ])
        .unwrap();
    az1.sbctl(&["set", "encap", encap.trim(), "ip=192.168.0.2"])
        .unwrap();
    assert!(
        wait_for(CONVERGE, || show2().contains("192.168.0.2")),
        "{}",
        lab.logs()
    );
    az1.sbctl(&["set", "chassis", "gw1", "other_config:is-interconn=false"])
        .unwrap();
    wait_output("gateway gone", &lab, show2, "");
    az1.sbctl(&["set", "chassis", "gw1", "other_config:is-interconn=true"])
        .unwrap();
    assert!(
        wait_for(CONVERGE, || show2().contains("gw1")),
        "{}",
        lab.logs()
    );
    az1.sbctl(&["chassis-del", "gw1"]).unwrap();
    wait_output("chassis deleted", &lab, show2, "");
}

/// Upstream "port-bindings deletion upon TS deletion" and "route deletion upon TS
/// deletion": deleting a transit switch takes its port bindings and its routes with it,
/// while the same prefix on other switches stays.
fn ts_deletion(daemons: &[IcDaemon]) {
    let lab = lab(daemons);
    for z in 0..2 {
        lab.zones[z]
            .nbctl(&[
                "set",
                "nb_global",
                ".",
                "options:ic-route-adv-default=true",
                "options:ic-route-learn-default=true",
            ])
            .unwrap();
    }
    for (az, ts) in [(1, 1), (1, 2), (2, 1)] {
        let name = format!("ts{az}-{ts}");
        lab.ic_nbctl(&["ts-add", &name]).unwrap();
        wait_switch(&lab, az - 1, &name);
        let lr = format!("lr{az}-{ts}");
        lab.attach_router(
            az - 1,
            &lr,
            &name,
            &format!("00:00:00:00:00:0{az}"),
            &[&format!("10.0.{az}.1/24")],
        )
        .unwrap();
        lab.zones[az - 1]
            .nbctl(&[
                "lr-route-add",
                &lr,
                "192.168.0.0/16",
                &format!("10.0.{az}.10"),
            ])
            .unwrap();
    }
    let routes = || {
        lab.ic_sbctl(&[
            "--bare",
            "--columns=transit_switch",
            "find",
            "Route",
            "ip_prefix=\"192.168.0.0/16\"",
        ])
        .unwrap_or_default()
        .split_whitespace()
        .count()
    };
    assert!(wait_for(CONVERGE, || routes() == 3), "{}", lab.logs());
    let pb = || {
        lab.ic_sbctl(&[
            "--bare",
            "--columns=logical_port",
            "find",
            "Port_Binding",
            "transit_switch=ts1-1",
        ])
        .unwrap_or_default()
    };
    assert!(
        wait_for(CONVERGE, || pb().contains("lsp-ts1-1-lr1-1")),
        "{}",
        lab.logs()
    );
    lab.ic_nbctl(&["ts-del", "ts1-1"]).unwrap();
    assert!(wait_for(CONVERGE, || routes() == 2), "{}", lab.logs());
    assert!(
        wait_for(CONVERGE, || pb().trim().is_empty()),
        "{}",
        lab.logs()
    );
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

/// `text` with UUIDs blanked and sibling blocks (a line and its more-indented followers)
/// sorted at every level: `ovn-nbctl show` lists rows in UUID order, which differs between
/// two otherwise equal deployments.
fn sorted_tree(text: &str) -> String {
    fn indent(l: &str) -> usize {
        l.len() - l.trim_start().len()
    }
    fn blocks(lines: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let base = indent(lines[i]);
            let mut j = i + 1;
            while j < lines.len() && indent(lines[j]) > base {
                j += 1;
            }
            let mut children = blocks(&lines[i + 1..j]);
            children.sort();
            let mut b = format!("{}\n", lines[i]);
            for c in children {
                b.push_str(&c);
            }
            out.push(b);
            i = j;
        }
        out
    }
    let blanked = uuidfilt(text);
    let mut numbered = String::new();
    let mut rest = blanked.as_str();
    // Drop the numbers uuidfilt gave: they follow the order being normalized away.
    while let Some(start) = rest.find('<') {
        numbered.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end)
                if rest[start + 1..start + end]
                    .chars()
                    .all(|c| c.is_ascii_digit()) =>
            {
                numbered.push_str("<uuid>");
                rest = &rest[start + end + 1..];
            }
            _ => {
                numbered.push('<');
                rest = &rest[start + 1..];
            }
        }
    }
    numbered.push_str(rest);
    let lines: Vec<&str> = numbered.lines().collect();
    let mut top = blocks(&lines);
    top.sort();
    top.concat()
}

/// Everything a deployment's interconnection decides, normalized for comparison between
/// deployments: per zone the routes of every router, the NB switches with their (remote)
/// ports and addresses, the SB chassis; IC-SB zones, gateways, port bindings and routes.
fn dump(lab: &IcLab) -> String {
    let mut out = String::new();
    for z in &lab.zones {
        let mut routers: Vec<String> = z
            .nbctl(&["--bare", "--columns=name", "list", "Logical_Router"])
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        routers.sort();
        for r in routers {
            out.push_str(&format!(
                "== {} {r}\n{}",
                z.name,
                z.routes(&r).unwrap_or_default()
            ));
        }
        out.push_str(&format!(
            "== {} nb\n{}",
            z.name,
            sorted_tree(&z.nbctl(&["show"]).unwrap_or_default())
        ));
        out.push_str(&format!(
            "== {} sb chassis\n{}",
            z.name,
            z.sbctl(&["show"]).unwrap_or_default()
        ));
        // Every remote port carries its IC-SB binding's tunnel key.
        let mut remotes: Vec<String> = Vec::new();
        for line in z
            .nbctl(&[
                "-f",
                "csv",
                "--no-headings",
                "-d",
                "bare",
                "--columns=name,options",
                "find",
                "Logical_Switch_Port",
                "type=remote",
            ])
            .unwrap_or_default()
            .lines()
        {
            let name = line.split(',').next().unwrap_or("");
            let key = lab
                .ic_sbctl(&[
                    "--bare",
                    "--columns=tunnel_key",
                    "find",
                    "Port_Binding",
                    &format!("logical_port={name}"),
                ])
                .unwrap_or_default();
            let ok = line.contains(&format!("requested-tnl-key={}", key.trim()));
            remotes.push(format!("remote {name} key consistent: {ok}\n"));
        }
        remotes.sort();
        out.push_str(&remotes.concat());
    }
    out.push_str(&format!(
        "== ic-sb\n{}",
        lab.ic_sbctl(&["show"]).unwrap_or_default()
    ));
    let zones: Vec<(String, String)> = lab
        .ic_sbctl(&[
            "-f",
            "csv",
            "--no-headings",
            "--columns=_uuid,name",
            "list",
            "Availability_Zone",
        ])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(',').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect();
    let mut routes: Vec<String> = lab
        .ic_sbctl(&[
            "-f",
            "csv",
            "--no-headings",
            "--columns=availability_zone,transit_switch,route_table,ip_prefix,nexthop,origin",
            "list",
            "Route",
        ])
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut l = l.to_owned();
            for (u, n) in &zones {
                l = l.replace(u, n);
            }
            l
        })
        .collect();
    routes.sort();
    out.push_str(&format!("== ic-sb routes\n{}\n", routes.join("\n")));
    out
}

/// Waits until `dump` stops changing (the same twice, 1.5 s apart, after at least 2 s).
fn settled(lab: &IcLab) -> String {
    std::thread::sleep(Duration::from_secs(2));
    let mut last = dump(lab);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(1500));
        let now = dump(lab);
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("no steady state:\n{last}\n{}", lab.logs());
}

/// A topology with most of 23.03's features, then a round of deletions: returns the
/// steady state after each phase.
fn rich_topology(daemons: &[IcDaemon]) -> Vec<String> {
    let lab = lab(daemons);
    let mut states = Vec::new();
    lab.ic_nbctl(&["ts-add", "ts1"]).unwrap();
    lab.ic_nbctl(&["ts-add", "ts2"]).unwrap();
    for z in 0..2 {
        wait_switch(&lab, z, "ts1");
        wait_switch(&lab, z, "ts2");
    }
    let (az1, az2) = (&lab.zones[0], &lab.zones[1]);
    az1.sbctl(&["chassis-add", "gw1", "geneve", "192.168.0.1"])
        .unwrap();
    az1.sbctl(&[
        "set",
        "chassis",
        "gw1",
        "hostname=gw1",
        "other_config:is-interconn=true",
    ])
    .unwrap();
    // AZ1: lr1 on ts1 (dual stack), a tenant network, static routes incl. default and
    // src-ip, advertising defaults.
    lab.attach_router(
        0,
        "lr1",
        "ts1",
        "aa:aa:aa:aa:aa:01",
        &["169.254.100.1/24", "2001:db8:100::1/64"],
    )
    .unwrap();
    az1.nbctl(&[
        "lrp-add",
        "lr1",
        "lrp-lr1-net",
        "00:00:00:00:01:01",
        "10.1.0.1/24",
        "fd00:1::1/64",
    ])
    .unwrap();
    az1.nbctl(&["lr-route-add", "lr1", "10.100.0.0/16", "10.1.0.254"])
        .unwrap();
    az1.nbctl(&["lr-route-add", "lr1", "fd00:100::/48", "fd00:1::fe"])
        .unwrap();
    az1.nbctl(&["lr-route-add", "lr1", "0.0.0.0/0", "10.1.0.253"])
        .unwrap();
    az1.nbctl(&[
        "--policy=src-ip",
        "lr-route-add",
        "lr1",
        "10.1.0.0/24",
        "10.1.0.252",
    ])
    .unwrap();
    az1.nbctl(&["set", "nb_global", ".", "options:ic-route-adv-default=true"])
        .unwrap();
    // AZ1: lr4 on ts2 in route table rtb1.
    lab.attach_router(0, "lr4", "ts2", "aa:aa:aa:aa:bb:04", &["169.254.200.4/24"])
        .unwrap();
    az1.nbctl(&["lrp-set-options", "lrp-lr4-ts2", "route_table=rtb1"])
        .unwrap();
    az1.nbctl(&[
        "--route-table=rtb1",
        "lr-route-add",
        "lr4",
        "10.40.0.0/16",
        "169.254.200.40",
    ])
    .unwrap();
    // AZ2: lr2 on ts1 learning defaults, a deny list; lr3 on ts2 in rtb1.
    lab.attach_router(
        1,
        "lr2",
        "ts1",
        "aa:aa:aa:aa:aa:02",
        &["169.254.100.2/24", "2001:db8:100::2/64"],
    )
    .unwrap();
    az2.nbctl(&[
        "lrp-add",
        "lr2",
        "lrp-lr2-net",
        "00:00:00:00:02:01",
        "10.2.0.1/24",
    ])
    .unwrap();
    az2.nbctl(&["lr-route-add", "lr2", "10.100.0.0/16", "10.2.0.254"])
        .unwrap();
    az2.nbctl(&["lr-route-add", "lr2", "10.200.0.0/16", "10.2.0.254"])
        .unwrap();
    az2.nbctl(&[
        "set",
        "nb_global",
        ".",
        "options:ic-route-learn-default=true",
        "options:ic-route-blacklist=\"10.99.0.0/16\"",
    ])
    .unwrap();
    az1.nbctl(&["lr-route-add", "lr1", "10.99.1.0/24", "10.1.0.251"])
        .unwrap();
    lab.attach_router(1, "lr3", "ts2", "aa:aa:aa:aa:bb:03", &["169.254.200.3/24"])
        .unwrap();
    az2.nbctl(&["lrp-set-options", "lrp-lr3-ts2", "route_table=rtb1"])
        .unwrap();
    az2.nbctl(&[
        "lrp-add",
        "lr3",
        "lrp-lr3-net",
        "00:00:00:00:03:01",
        "10.3.0.1/24",
    ])
    .unwrap();
    az2.nbctl(&[
        "--route-table=rtb1",
        "lr-route-add",
        "lr3",
        "10.30.0.0/16",
        "10.3.0.254",
    ])
    .unwrap();
    states.push(settled(&lab));
    // Deletions and changes.
    az1.nbctl(&["lr-route-del", "lr1", "10.100.0.0/16"])
        .unwrap();
    az1.nbctl(&["lrp-del", "lrp-lr1-net"]).unwrap();
    // (Not `lsp-del`: 23.03 then leaves the port's advertisements and the router's learned
    // routes behind; `orphans_are_withdrawn` covers what ic-routed does instead.)
    az2.nbctl(&["--route-table=rtb1", "lr-route-del", "lr3", "10.30.0.0/16"])
        .unwrap();
    az2.nbctl(&[
        "set",
        "nb_global",
        ".",
        "options:ic-route-blacklist=\"10.1.0.0/16\"",
    ])
    .unwrap();
    az1.sbctl(&["chassis-del", "gw1"]).unwrap();
    lab.ic_nbctl(&["ts-add", "ts3"]).unwrap();
    states.push(settled(&lab));
    states
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

/// Runs `scenario` with ic-routed in both zones, then beside ovn-ic in each position.
fn all_modes(scenario: fn(&[IcDaemon])) {
    if !real_ovn() {
        return;
    }
    scenario(&[ic_routed(), ic_routed()]);
    scenario(&[IcDaemon::OvnIc, ic_routed()]);
    scenario(&[ic_routed(), IcDaemon::OvnIc]);
}

#[test]
fn route_tables_all_modes() {
    all_modes(route_tables);
}

#[test]
fn ipv6_all_modes() {
    all_modes(ipv6);
}

#[test]
fn multiple_route_tables_all_modes() {
    all_modes(multiple_route_tables);
}

#[test]
fn same_destination_all_modes() {
    all_modes(same_destination);
}

#[test]
fn origins_all_modes() {
    all_modes(origins);
}

/// Deleting a router's transit-switch port withdraws its advertisements and the router's
/// learned routes (23.03 left both behind, reference §2.8).
#[test]
fn orphans_are_withdrawn() {
    if !real_ovn() {
        return;
    }
    let lab = lab(&[ic_routed(), ic_routed()]);
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
            &[&format!("169.254.100.{i}/24")],
        )
        .unwrap();
        lab.zones[z]
            .nbctl(&[
                "lr-route-add",
                &lr,
                &format!("10.11.{i}.0/24"),
                "169.254.0.1",
            ])
            .unwrap();
    }
    wait_routes(&lab, 0, "lr1", "learned", |s| {
        s.contains("10.11.2.0/24") && s.contains("learned")
    });
    lab.zones[1].nbctl(&["lsp-del", "lsp-ts1-lr2"]).unwrap();
    wait_routes(&lab, 0, "lr1", "AZ2's route withdrawn", |s| {
        !s.contains("learned")
    });
    wait_routes(&lab, 1, "lr2", "AZ2's learned routes removed", |s| {
        !s.contains("learned")
    });
    let az2_routes = || {
        lab.ic_sbctl(&[
            "--bare",
            "--columns=ip_prefix",
            "find",
            "Route",
            "ip_prefix=\"10.11.2.0/24\"",
        ])
        .unwrap_or_default()
    };
    assert!(
        wait_for(CONVERGE, || az2_routes().trim().is_empty()),
        "{}",
        lab.logs()
    );
}

#[test]
fn az_register_all_modes() {
    all_modes(az_register);
}

#[test]
fn transit_switches_all_modes() {
    all_modes(transit_switches);
}

#[test]
fn port_sync_all_modes() {
    all_modes(port_sync);
}

#[test]
fn gateway_sync_all_modes() {
    all_modes(gateway_sync);
}

#[test]
fn ts_deletion_all_modes() {
    all_modes(ts_deletion);
}

#[test]
fn duplicate_routes_all_modes() {
    all_modes(duplicate_routes);
}

/// The steady states of a mixed deployment (ovn-ic in one zone, ic-routed in the other)
/// equal those of an all-ovn-ic deployment, in both positions.
#[test]
fn mixed_deployment_equals_all_ovn_ic() {
    if !real_ovn() {
        return;
    }
    let reference = rich_topology(&[IcDaemon::OvnIc, IcDaemon::OvnIc]);
    assert!(reference[0].contains("(learned)"), "{}", reference[0]);
    for mode in [
        [IcDaemon::OvnIc, ic_routed()],
        [ic_routed(), IcDaemon::OvnIc],
    ] {
        let got = rich_topology(&mode);
        for (phase, (want, got)) in reference.iter().zip(&got).enumerate() {
            assert_eq!(got, want, "phase {phase} with {mode:?}");
        }
    }
    let all_ours = rich_topology(&[ic_routed(), ic_routed()]);
    for (phase, (want, got)) in reference.iter().zip(&all_ours).enumerate() {
        assert_eq!(got, want, "phase {phase} with ic-routed in both zones");
    }
}

/// Adds `n` static routes `10.<a>.<b>.0/24` via `nexthop` to `router` in batches.
fn add_routes(lab: &IcLab, zone: usize, router: &str, n: usize, nexthop: &str) {
    let mut args: Vec<String> = Vec::new();
    for i in 0..n {
        if !args.is_empty() {
            args.push("--".into());
        }
        args.extend([
            "lr-route-add".into(),
            router.into(),
            format!("10.{}.{}.0/24", 100 + i / 256, i % 256),
            nexthop.into(),
        ]);
        if args.len() > 2000 || i + 1 == n {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            lab.zones[zone].nbctl(&refs).unwrap();
            args.clear();
        }
    }
}

fn learned_count(lab: &IcLab, zone: usize, router: &str) -> usize {
    lab.zones[zone]
        .routes(router)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("(learned)"))
        .count()
}

fn two_zone_lab() -> IcLab {
    ts1_lab(&[ic_routed(), ic_routed()], "169.254.100")
}

/// Killing ic-routed while it learns 3,000 routes and starting it again converges to
/// exactly one learned row per route, with no stale or duplicate IC-SB rows.
#[test]
fn restart_mid_convergence() {
    if !real_ovn() {
        return;
    }
    let mut lab = two_zone_lab();
    add_routes(&lab, 0, "lr1", 3000, "169.254.0.1");
    // Kill AZ2's daemon as soon as it has learned some but not all.
    assert!(
        wait_for(CONVERGE, || learned_count(&lab, 1, "lr2") > 0),
        "{}",
        lab.logs()
    );
    lab.zones[1].ics()[0].kill_hard();
    let partial = learned_count(&lab, 1, "lr2");
    lab.start_ic(1, &ic_routed()).unwrap();
    assert!(
        wait_for(Duration::from_secs(60), || learned_count(&lab, 1, "lr2")
            == 3000),
        "learned {} of 3000 after restart (had {partial})\n{}",
        learned_count(&lab, 1, "lr2"),
        lab.logs()
    );
    std::thread::sleep(Duration::from_secs(1));
    let rows = lab.zones[1]
        .nbctl(&[
            "--bare",
            "--columns=ip_prefix",
            "find",
            "Logical_Router_Static_Route",
            "external_ids:ic-learned-route!=\"\"",
        ])
        .unwrap_or_default();
    let mut prefixes: Vec<&str> = rows.split_whitespace().collect();
    let total = prefixes.len();
    prefixes.sort();
    prefixes.dedup();
    assert_eq!(
        (total, prefixes.len()),
        (3000, 3000),
        "duplicate learned rows"
    );
    let ic_routes = lab
        .ic_sbctl(&["--bare", "--columns=ip_prefix", "list", "Route"])
        .unwrap_or_default();
    assert_eq!(ic_routes.split_whitespace().count(), 3000);
}

/// Restarting the IC-SB server (same files) while routes change: both daemons reconnect,
/// what changed meanwhile is exchanged, and nothing is duplicated.
#[test]
fn database_restart() {
    if !real_ovn() {
        return;
    }
    let mut lab = two_zone_lab();
    add_routes(&lab, 0, "lr1", 200, "169.254.0.1");
    assert!(
        wait_for(CONVERGE, || learned_count(&lab, 1, "lr2") == 200),
        "{}",
        lab.logs()
    );
    lab.ic_sb.stop().unwrap();
    lab.zones[0]
        .nbctl(&["lr-route-add", "lr1", "172.16.0.0/16", "169.254.0.1"])
        .unwrap();
    lab.zones[0]
        .nbctl(&["lr-route-del", "lr1", "10.100.0.0/24"])
        .unwrap();
    lab.ic_sb.restart().unwrap();
    wait_routes(&lab, 1, "lr2", "changes made during the outage", |s| {
        s.contains("172.16.0.0/16") && !s.contains("10.100.0.0/24")
    });
    assert!(
        wait_for(CONVERGE, || learned_count(&lab, 1, "lr2") == 200),
        "{}",
        lab.logs()
    );
    // The NB server of AZ2 restarts too: its learned routes stay exactly once.
    lab.zones[1].nb.restart().unwrap();
    lab.zones[0]
        .nbctl(&["lr-route-add", "lr1", "172.17.0.0/16", "169.254.0.1"])
        .unwrap();
    wait_routes(&lab, 1, "lr2", "learned after NB restart", |s| {
        s.contains("172.17.0.0/16")
    });
    assert_eq!(learned_count(&lab, 1, "lr2"), 201);
}

/// A second ic-routed for a zone is a standby (it holds no lock and writes nothing) until
/// the active one dies; `ovn-appctl status` tells which is which.
#[test]
fn standby_takes_over() {
    if !real_ovn() || !ovnlink_testkit::server::require_binaries(&["ovs-appctl"]) {
        return;
    }
    let mut lab = two_zone_lab();
    lab.zones[0]
        .nbctl(&["lr-route-add", "lr1", "10.11.1.0/24", "169.254.0.1"])
        .unwrap();
    wait_routes(&lab, 1, "lr2", "learned", |s| s.contains("10.11.1.0/24"));
    lab.start_ic(1, &ic_routed()).unwrap();
    let status = |lab: &mut IcLab, i: usize| {
        let ctl = lab.zones[1].ics()[i].ctl().to_owned();
        ovnlink_testkit::server::run("ovs-appctl", &["-t", ctl.to_str().unwrap(), "status"])
            .unwrap_or_default()
    };
    assert!(wait_for(CONVERGE, || status(&mut lab, 0) == "Status: active\n"));
    assert!(wait_for(CONVERGE, || status(&mut lab, 1) == "Status: standby\n"));
    lab.zones[1].ics()[0].kill_hard();
    assert!(
        wait_for(CONVERGE, || status(&mut lab, 1) == "Status: active\n"),
        "{}",
        lab.logs()
    );
    lab.zones[0]
        .nbctl(&["lr-route-add", "lr1", "10.11.9.0/24", "169.254.0.1"])
        .unwrap();
    wait_routes(&lab, 1, "lr2", "learned by the new active daemon", |s| {
        s.contains("10.11.9.0/24")
    });
    // pause/resume through the control socket.
    let ctl = lab.zones[1].ics()[1].ctl().to_owned();
    ovnlink_testkit::server::run("ovs-appctl", &["-t", ctl.to_str().unwrap(), "pause"]).unwrap();
    assert!(wait_for(CONVERGE, || status(&mut lab, 1) == "Status: paused\n"));
    lab.zones[0]
        .nbctl(&["lr-route-add", "lr1", "10.11.10.0/24", "169.254.0.1"])
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(!lab.zones[1]
        .routes("lr2")
        .unwrap()
        .contains("10.11.10.0/24"));
    ovnlink_testkit::server::run("ovs-appctl", &["-t", ctl.to_str().unwrap(), "resume"]).unwrap();
    wait_routes(&lab, 1, "lr2", "learned after resume", |s| {
        s.contains("10.11.10.0/24")
    });
}

/// Unparsable prefixes and nexthops in NB and IC-SB are skipped with a log line (an own
/// bad learned route is deleted), never a crash.
#[test]
fn bad_input_is_skipped() {
    if !real_ovn() {
        return;
    }
    let mut lab = two_zone_lab();
    let az1 = &lab.zones[0];
    az1.nbctl(&[
        "--id=@r",
        "create",
        "Logical_Router_Static_Route",
        "ip_prefix=\"not-a-prefix\"",
        "nexthop=\"169.254.0.1\"",
        "--",
        "add",
        "Logical_Router",
        "lr1",
        "static_routes",
        "@r",
    ])
    .unwrap();
    az1.nbctl(&[
        "--id=@r",
        "create",
        "Logical_Router_Static_Route",
        "ip_prefix=\"10.5.0.0/16\"",
        "nexthop=\"bogus\"",
        "--",
        "add",
        "Logical_Router",
        "lr1",
        "static_routes",
        "@r",
    ])
    .unwrap();
    // Another zone's bad advertisement, straight into IC-SB.
    let az = lab
        .ic_sbctl(&[
            "--bare",
            "--columns=_uuid",
            "find",
            "Availability_Zone",
            "name=az1",
        ])
        .unwrap();
    lab.ic_sbctl(&[
        "create",
        "Route",
        "transit_switch=ts1",
        &format!("availability_zone={}", az.trim()),
        "ip_prefix=\"300.1.1.0/24\"",
        "nexthop=\"169.254.100.1\"",
        "origin=static",
    ])
    .unwrap();
    // A learned route in AZ2 that points at nothing parsable.
    lab.zones[1]
        .nbctl(&[
            "--id=@r",
            "create",
            "Logical_Router_Static_Route",
            "ip_prefix=\"junk\"",
            "nexthop=\"junk\"",
            "external_ids:ic-learned-route=\"00000000-0000-0000-0000-000000000001\"",
            "--",
            "add",
            "Logical_Router",
            "lr2",
            "static_routes",
            "@r",
        ])
        .unwrap();
    lab.zones[0]
        .nbctl(&["lr-route-add", "lr1", "10.11.1.0/24", "169.254.0.1"])
        .unwrap();
    wait_routes(&lab, 1, "lr2", "good route learned, bad ones not", |s| {
        s.contains("10.11.1.0/24") && !s.contains("300.1.1") && !s.contains("10.5.0.0")
    });
    let junk = || {
        lab.zones[1]
            .nbctl(&[
                "--bare",
                "--columns=_uuid",
                "find",
                "Logical_Router_Static_Route",
                "ip_prefix=junk",
            ])
            .unwrap_or_default()
    };
    assert!(
        wait_for(CONVERGE, || junk().trim().is_empty()),
        "{}",
        lab.logs()
    );
    for z in 0..2 {
        assert!(
            lab.zones[z].ics()[0].pid().is_some(),
            "ic-routed died\n{}",
            lab.logs()
        );
    }
}
