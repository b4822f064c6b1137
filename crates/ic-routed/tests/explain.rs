//! `ovn-appctl -t ic-routed routes/explain PREFIX [ROUTER]` and `routes/list [ROUTER]` on
//! real OVN (the test kit's release): every rule the engine applied, named, for routes of
//! each kind an operator meets.

use std::path::PathBuf;
use std::time::Duration;

use ovnlink_testkit::ovn::{real_ovn, wait_for, IcDaemon, IcLab};
use ovnlink_testkit::server::{require_binaries, run};

const CONVERGE: Duration = Duration::from_secs(30);

fn ic_routed() -> IcDaemon {
    IcDaemon::IcRouted(PathBuf::from(env!("CARGO_BIN_EXE_ic-routed")))
}

fn appctl(lab: &mut IcLab, zone: usize, args: &[&str]) -> Result<String, String> {
    let ctl = lab.zones[zone].ics()[0].ctl().to_owned();
    let mut all = vec!["-t", ctl.to_str().unwrap()];
    all.extend_from_slice(args);
    run("ovs-appctl", &all).map_err(|e| e.to_string())
}

#[test]
fn routes_explain_names_the_rule_for_each_kind_of_route() {
    if !real_ovn() || !require_binaries(&["ovs-appctl"]) {
        return;
    }
    let mut lab = IcLab::start_ts1(&[ic_routed(), ic_routed()], &[], "169.254.100", CONVERGE);
    let (az1, az2) = (&lab.zones[0], &lab.zones[1]);
    for args in [
        vec!["lr-route-add", "lr1", "10.11.1.0/24", "169.254.0.1"],
        vec![
            "--policy=src-ip",
            "lr-route-add",
            "lr1",
            "10.22.1.0/24",
            "169.254.0.2",
        ],
        vec!["lr-route-add", "lr1", "0.0.0.0/0", "169.254.0.3"],
        vec![
            "--route-table=rtb1",
            "lr-route-add",
            "lr1",
            "10.33.1.0/24",
            "169.254.0.4",
        ],
        vec!["lr-route-add", "lr1", "10.44.1.0/24", "169.254.0.5"],
        vec!["lr-route-add", "lr1", "10.55.1.0/24", "169.254.0.6"],
    ] {
        az1.nbctl(&args).unwrap();
    }
    az2.nbctl(&["lr-route-add", "lr2", "10.55.1.0/24", "169.254.0.7"])
        .unwrap();
    az2.set_nb_options(&["options:ic-route-blacklist=10.44.0.0/16"])
        .unwrap();
    assert!(
        wait_for(CONVERGE, || az2
            .routes("lr2")
            .is_ok_and(|r| r.contains("10.11.1.0/24"))),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    let cases: [(usize, &str, &str); 9] = [
        (
            1,
            "10.11.1.0/24",
            "from zone az1 via 169.254.100.1: learned",
        ),
        (
            1,
            "10.11.1.0/24",
            "not advertised: a learned route is never advertised again",
        ),
        (
            0,
            "10.11.1.0/24",
            "not learned: the router advertised it itself (lr-id)",
        ),
        (0, "10.22.1.0/24", "not advertised: a src-ip policy route"),
        (0, "0.0.0.0/0", "not advertised: a default route"),
        (
            0,
            "10.33.1.0/24",
            "not advertised: route table \"rtb1\" is not the transit port's \"\"",
        ),
        (
            1,
            "10.44.1.0/24",
            "not learned: inside deny-list entry 10.44.0.0/16",
        ),
        (
            1,
            "10.55.1.0/24",
            "not learned: the router has a local static route for the prefix in that table",
        ),
        (0, "10.44.1.0/24", "lr1 on ts1: static route "),
    ];
    for (zone, prefix, want) in cases {
        let out = appctl(&mut lab, zone, &["routes/explain", prefix]).unwrap();
        assert!(
            out.starts_with(&format!("{prefix}:\n")) && out.contains(want),
            "zone {zone} routes/explain {prefix}: want {want:?}\n{out}"
        );
    }
    // One router, and bad arguments.
    let out = appctl(&mut lab, 1, &["routes/explain", "10.11.1.0/24", "lr2"]).unwrap();
    assert!(
        out.lines().skip(1).all(|l| l.starts_with("  lr2 ")),
        "{out}"
    );
    let err = appctl(&mut lab, 1, &["routes/explain", "10.11.1.0/24", "nope"]).unwrap_err();
    assert!(err.contains("nope: no such router in zone az2"), "{err}");
    let err = appctl(&mut lab, 1, &["routes/explain", "ten"]).unwrap_err();
    assert!(err.contains("ten: not a prefix"), "{err}");

    // routes/list: learned routes in lr-route-list layout with their origin, advertisements.
    let out = appctl(&mut lab, 1, &["routes/list", "lr2"]).unwrap();
    assert!(
        out.starts_with("Router lr2 (zone az2)\nLearned:\nIPv4 Routes\n"),
        "{out}"
    );
    assert!(
        out.contains("             10.11.1.0/24             169.254.100.1 dst-ip (learned)"),
        "{out}"
    );
    assert!(
        out.contains("  10.11.1.0/24 via 169.254.100.1: from zone az1 on ts1 (origin static)"),
        "{out}"
    );
    assert!(
        out.contains("  10.55.1.0/24 via 169.254.100.2: on ts1 (origin static)"),
        "{out}"
    );
    let list = appctl(&mut lab, 0, &["list-commands"]).unwrap();
    assert!(
        list.contains("routes/explain") && list.contains("routes/list"),
        "{list}"
    );
}
