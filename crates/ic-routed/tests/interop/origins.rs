//! Route origins: IC-SB and learned rows carry `static` or `connected`, and a router that
//! leaves the transit switch has its advertisements and learned routes withdrawn.

use ovnlink_testkit::ovn::{real_ovn, wait_for, IcDaemon};

use crate::common::*;

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
