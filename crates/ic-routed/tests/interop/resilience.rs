//! Restarts and bad input: ic-routed killed mid-convergence, the IC-SB server restarted,
//! a standby taking over, unparsable rows skipped.

use std::time::Duration;

use ovnlink_testkit::ovn::{real_ovn, wait_for, IcLab};

use crate::common::*;

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
