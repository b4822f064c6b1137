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
    let ok = wait_for(CONVERGE, || {
        lab.zones[zone]
            .nbctl(&[
                "--bare",
                "--columns=name",
                "find",
                "Logical_Switch",
                &format!("name={ts}"),
            ])
            .map(|s| s.trim() == ts)
            .unwrap_or(false)
    });
    assert!(
        ok,
        "transit switch {ts} never reached {}\n{}",
        lab.zones[zone].name,
        lab.logs()
    );
}

/// Upstream "route sync", first part: static routes are advertised and learned, src-ip
/// routes are not, deletion withdraws, the learn and adv switches work, default routes
/// need their own switches, connected networks, and the deny list.
fn route_sync(daemons: &[IcDaemon]) {
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
            &[&format!("169.254.100.{i}/24")],
        )
        .unwrap();
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
