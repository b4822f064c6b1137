//! `ic-routed` as the ovn-ic of the zone's release, on real OVN (the test kit's release:
//! Debian 12's 23.03.1, or Debian 13's 25.03.0 with `OVNLINK_OVN_ROOT`): the interconnection
//! status counters of 24.03+, and the release-specific route rules, each beside Debian's
//! `ovn-ic` of the same release.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ovnlink_testkit::ovn::{real_ovn, wait_for, IcDaemon, IcLab};
use ovnlink_testkit::release::release;
use ovnlink_testkit::server::run_with_timeout;

const CONVERGE: Duration = Duration::from_secs(30);

fn ic_routed() -> IcDaemon {
    IcDaemon::IcRouted(PathBuf::from(env!("CARGO_BIN_EXE_ic-routed")))
}

fn lab(daemons: &[IcDaemon]) -> IcLab {
    let mut lab = IcLab::start(daemons.len()).expect("lab starts");
    for (i, d) in daemons.iter().enumerate() {
        lab.start_ic(i, d).expect("daemon starts");
    }
    let n = daemons.len();
    assert!(
        wait_for(CONVERGE, || zone_names(&lab).len() == n),
        "zones never registered\n{}",
        lab.logs()
    );
    lab
}

fn zone_names(lab: &IcLab) -> Vec<String> {
    lab.ic_sbctl(&["--bare", "--columns=name", "list", "Availability_Zone"])
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// One integer column of every row of `table`, sorted.
fn ints(lab: &IcLab, sb: bool, table: &str, column: &str) -> Vec<i64> {
    let args = ["--bare", &format!("--columns={column}"), "list", table];
    let out = if sb {
        lab.ic_sbctl(&args)
    } else {
        lab.ic_nbctl(&args)
    }
    .unwrap_or_default();
    let mut v: Vec<i64> = out
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// `ovn-ic-nbctl --wait=sb sync`, with a deadline of `limit`; its duration.
fn wait_sb_sync(lab: &IcLab, limit: Duration) -> Result<Duration, String> {
    let db = format!("--db={}", lab.ic_nb.remote());
    let started = Instant::now();
    run_with_timeout("ovn-ic-nbctl", &[&db, "--wait=sb", "sync"], limit)
        .map(|_| started.elapsed())
        .map_err(|e| e.to_string())
}

fn needs_counters() -> bool {
    if !real_ovn() {
        return false;
    }
    if !release().at_least(24, 3) {
        eprintln!(
            "skipped: the status counters are OVN 24.03's; the release is {}",
            release().describe()
        );
        return false;
    }
    true
}

/// `ovn-ic-nbctl --wait=sb sync` returns within 2 s with `ic-routed` in one zone and in
/// every zone, as with Debian's `ovn-ic` everywhere; afterwards every counter agrees.
#[test]
fn wait_sb_sync_returns_in_every_deployment() {
    if !needs_counters() {
        return;
    }
    let deployments = [
        ("all ovn-ic", vec![IcDaemon::OvnIc, IcDaemon::OvnIc]),
        ("ic-routed in az1", vec![ic_routed(), IcDaemon::OvnIc]),
        ("ic-routed in az2", vec![IcDaemon::OvnIc, ic_routed()]),
        ("all ic-routed", vec![ic_routed(), ic_routed()]),
    ];
    for (what, daemons) in deployments {
        let lab = lab(&daemons);
        for round in 1..=3 {
            // A change each time, as a CMS would make before it waits.
            lab.ic_nbctl(&["ts-add", &format!("ts{round}")]).unwrap();
            let took = wait_sb_sync(&lab, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{what}: sync {round}: {e}\n{}", lab.logs()));
            assert!(
                took < Duration::from_secs(2),
                "{what}: sync {round} took {took:?}\n{}",
                lab.logs()
            );
            let nb_cfg = ints(&lab, false, "IC_NB_Global", "nb_ic_cfg");
            let sb_cfg = ints(&lab, false, "IC_NB_Global", "sb_ic_cfg");
            assert_eq!(nb_cfg, sb_cfg, "{what}: sync {round}");
            assert_eq!(
                ints(&lab, true, "IC_SB_Global", "nb_ic_cfg"),
                nb_cfg,
                "{what}"
            );
            assert_eq!(
                ints(&lab, true, "Availability_Zone", "nb_ic_cfg"),
                vec![nb_cfg[0]; 2],
                "{what}: every zone's counter"
            );
        }
    }
}

/// A daemon restarted between syncs does not hold the next sync up.
#[test]
fn wait_sb_sync_after_a_restart() {
    if !needs_counters() {
        return;
    }
    let mut lab = lab(&[ic_routed(), ic_routed()]);
    for _ in 0..3 {
        wait_sb_sync(&lab, Duration::from_secs(10)).unwrap();
    }
    lab.zones[0].ics()[0].stop();
    lab.start_ic(0, &ic_routed()).unwrap();
    let took = wait_sb_sync(&lab, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", lab.logs()));
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(ints(&lab, true, "Availability_Zone", "nb_ic_cfg"), [4, 4]);
}
