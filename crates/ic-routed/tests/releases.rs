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

/// A standby that takes the lock over after another daemon synced does not set the zone's
/// counter back: it starts from the zone's counter, not from the value it confirmed long ago.
#[test]
fn wait_sb_sync_after_a_takeover() {
    if !needs_counters() || !ovnlink_testkit::server::require_binaries(&["ovs-appctl"]) {
        return;
    }
    let mut lab = lab(&[ic_routed(), ic_routed()]);
    lab.start_ic(0, &ic_routed()).unwrap();
    let appctl = |lab: &mut IcLab, i: usize, cmd: &str| {
        let ctl = lab.zones[0].ics()[i].ctl().to_owned();
        ovnlink_testkit::server::run("ovs-appctl", &["-t", ctl.to_str().unwrap(), cmd])
            .unwrap_or_default()
    };
    wait_sb_sync(&lab, Duration::from_secs(10)).unwrap();
    assert_eq!(appctl(&mut lab, 0, "status"), "Status: active\n");
    // The first daemon confirms counter 1, pauses, and the second carries on to 4.
    appctl(&mut lab, 0, "pause");
    assert!(wait_for(CONVERGE, || appctl(&mut lab, 1, "status")
        == "Status: active\n"));
    for _ in 0..3 {
        wait_sb_sync(&lab, Duration::from_secs(10)).unwrap();
    }
    appctl(&mut lab, 0, "resume");
    assert!(wait_for(CONVERGE, || appctl(&mut lab, 0, "status")
        == "Status: standby\n"));
    lab.zones[0].ics()[1].kill_hard();
    assert!(
        wait_for(CONVERGE, || appctl(&mut lab, 0, "status")
            == "Status: active\n"),
        "{}",
        lab.logs()
    );
    // Its first rounds leave the zone's counter alone (a stale one would set it back to 1
    // until the next sync).
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(ints(&lab, true, "Availability_Zone", "nb_ic_cfg"), [4, 4]);
    let took = wait_sb_sync(&lab, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", lab.logs()));
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(ints(&lab, true, "Availability_Zone", "nb_ic_cfg"), [5, 5]);
}

/// Every deployment of two zones: both daemons `ic-routed`, both Debian's `ovn-ic`, and
/// the two mixed ones.
fn deployments() -> [[IcDaemon; 2]; 4] {
    [
        [ic_routed(), ic_routed()],
        [IcDaemon::OvnIc, IcDaemon::OvnIc],
        [IcDaemon::OvnIc, ic_routed()],
        [ic_routed(), IcDaemon::OvnIc],
    ]
}

fn wait_eq(lab: &IcLab, what: &str, mut get: impl FnMut() -> String, want: &str) {
    let mut last = String::new();
    let ok = wait_for(CONVERGE, || {
        last = get();
        last == want
    });
    assert!(ok, "{what}:\n{last}\nexpected:\n{want}\n{}", lab.logs());
}

/// `ovn-sbctl chassis-add name encap 192.168.0.1` and
/// `other_config:is-interconn=true`: an interconnection gateway without ovn-controller.
fn gateway_chassis(lab: &IcLab, zone: usize, name: &str, encap: &str) {
    let z = &lab.zones[zone];
    z.sbctl(&["chassis-add", name, encap, "192.168.0.1"])
        .unwrap();
    z.sbctl(&["set", "Chassis", name, "other_config:is-interconn=true"])
        .unwrap();
}

fn column(lab: &IcLab, zone: Option<usize>, args: &[&str]) -> String {
    let out = match zone {
        Some(z) => lab.zones[z].sbctl(args),
        None => lab.ic_sbctl(args),
    };
    out.unwrap_or_default().trim().to_owned()
}

/// Whether the release under test renames a zone in place (37fd1dd37: 23.03.3, 23.06.3,
/// 23.09.2, 24.03.0 and later).
fn ovn_ic_renames_in_place() -> bool {
    let v: Vec<u32> = release()
        .ovn_version()
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let (series, patch) = (
        (v[0], v.get(1).copied().unwrap_or(0)),
        v.get(2).copied().unwrap_or(0),
    );
    match series {
        (23, 3) | (23, 6) => patch >= 3,
        (23, 9) => patch >= 2,
        s => s >= (24, 3),
    }
}

/// Upstream "AZ update in GW": renaming a zone that has an interconnection gateway keeps
/// its `Availability_Zone` row (same UUID, the gateway still refers to it). `ic-routed`
/// does it whatever release it follows, here also pinned to 23.03; Debian 12's `ovn-ic`
/// 23.03.1 predates the fix: its delete of the referenced row fails, the old row stays and
/// it registers the new name beside it (a documented difference).
#[test]
fn a_renamed_zone_keeps_its_row_and_gateway() {
    if !real_ovn() {
        return;
    }
    for daemon in [IcDaemon::OvnIc, ic_routed()] {
        let pins: &[&str] = match daemon {
            IcDaemon::OvnIc => &[""],
            IcDaemon::IcRouted(_) => &["", "--ovn-release=23.03"],
        };
        for pin in pins {
            let mut lab = IcLab::start(1).expect("lab starts");
            let extra: Vec<String> = pin.split_whitespace().map(str::to_owned).collect();
            lab.start_ic_with_args(0, &daemon, &extra).unwrap();
            gateway_chassis(&lab, 0, "gw-az1", "geneve");
            let gw_zone = || {
                column(
                    &lab,
                    None,
                    &[
                        "--bare",
                        "--columns=availability_zone",
                        "find",
                        "Gateway",
                        "name=gw-az1",
                    ],
                )
            };
            let mut az = String::new();
            assert!(
                wait_for(CONVERGE, || {
                    az = gw_zone();
                    !az.is_empty()
                }),
                "{daemon:?} {pin}: no gateway\n{}",
                lab.logs()
            );
            lab.zones[0]
                .nbctl(&["set", "NB_Global", ".", "name=az2"])
                .unwrap();
            let names = || {
                column(
                    &lab,
                    None,
                    &[
                        "--bare",
                        "--columns=_uuid,name",
                        "list",
                        "Availability_Zone",
                    ],
                )
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
            };
            let what = format!("{daemon:?} {pin}: zones");
            if matches!(daemon, IcDaemon::OvnIc) && !ovn_ic_renames_in_place() {
                // The referenced row can be neither deleted nor renamed: it stays as az1
                // (whether the new name's row gets in depends on transaction timing).
                std::thread::sleep(Duration::from_secs(3));
                let now = names();
                assert!(
                    now.starts_with(&format!("{az} az1")) || now.contains(&format!(" {az} az1")),
                    "{what}: {now}\n{}",
                    lab.logs()
                );
            } else {
                wait_eq(&lab, &what, names, &format!("{az} az2"));
            }
            assert_eq!(gw_zone(), az, "{daemon:?} {pin}");
        }
    }
}

/// Upstream "VXLAN tunnel key" (25.03): a new transit switch's NB switch carries
/// `ic-vxlan_mode=false` and the lowest key of the 24-bit range; with
/// `IC_NB_Global options:vxlan_mode=true` and a gateway with a VXLAN encap it moves to the
/// 12-bit range, and back. Releases before 25.03 write no `ic-vxlan_mode`.
#[test]
fn vxlan_tunnel_keys_follow_the_release() {
    if !real_ovn() {
        return;
    }
    let vxlan = release().at_least(25, 3);
    for daemon in [IcDaemon::OvnIc, ic_routed()] {
        let lab = lab(std::slice::from_ref(&daemon));
        gateway_chassis(&lab, 0, "gw-az1", "vxlan");
        lab.ic_nbctl(&["ts-add", "ts1"]).unwrap();
        let config = || {
            lab.zones[0]
                .nbctl(&[
                    "--bare",
                    "--columns=other_config",
                    "find",
                    "Logical_Switch",
                    "name=ts1",
                ])
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let mode = |m: &str| {
            if vxlan {
                format!("ic-vxlan_mode={m} ")
            } else {
                String::new()
            }
        };
        let want =
            |m: &str, key: u32| format!("{}interconn-ts=ts1 requested-tnl-key={key}", mode(m));
        let what = format!("{daemon:?} on {}", release().describe());
        wait_eq(&lab, &what, config, &want("false", 16_711_682));
        if !vxlan {
            continue;
        }
        lab.ic_nbctl(&["set", "IC_NB_Global", ".", "options:vxlan_mode=true"])
            .unwrap();
        wait_eq(&lab, &what, config, &want("true", 1025));
        lab.ic_nbctl(&["set", "IC_NB_Global", ".", "options:vxlan_mode=false"])
            .unwrap();
        wait_eq(&lab, &what, config, &want("false", 16_711_682));
    }
}

/// Upstream "port sync" with `requested-chassis`: from 23.09 ovn-northd binds a remote
/// port whose NB row names a chassis, and ovn-ic leaves that binding alone; 23.03's northd
/// does not, and its ovn-ic keeps the port unbound while the other zone's port has no
/// gateway. Either way the binding must hold still (no daemon undoing the other). Once the
/// option goes and the router port has a gateway, the interconnection daemon binds the
/// remote port to it in every release.
#[test]
fn remote_ports_with_requested_chassis_follow_the_release() {
    if !real_ovn() {
        return;
    }
    let northd_binds = release().at_least(23, 9);
    for daemons in deployments() {
        let what = format!("{daemons:?} on {}", release().describe());
        let lab = lab(&daemons);
        lab.ic_nbctl(&["ts-add", "ts1"]).unwrap();
        assert!(lab.wait_switch(0, "ts1", CONVERGE) && lab.wait_switch(1, "ts1", CONVERGE));
        gateway_chassis(&lab, 0, "gw1", "geneve");
        lab.attach_router(0, "lr1", "ts1", "aa:aa:aa:aa:aa:01", &["169.254.100.1/24"])
            .unwrap();
        let az2 = &lab.zones[1];
        let remote_gw = || {
            column(
                &lab,
                Some(1),
                &["--bare", "--columns=_uuid", "find", "Chassis", "name=gw1"],
            )
        };
        let bound = || {
            column(
                &lab,
                Some(1),
                &[
                    "--bare",
                    "--columns=chassis",
                    "find",
                    "Port_Binding",
                    "logical_port=lsp-ts1-lr1",
                ],
            )
        };
        assert!(
            wait_for(CONVERGE, || !remote_gw().is_empty()
                && lab.zones[1].has_switch("ts1")
                && az2
                    .nbctl(&["get", "Logical_Switch_Port", "lsp-ts1-lr1", "type"])
                    .is_ok()),
            "{what}: no remote gateway or port\n{}",
            lab.logs()
        );
        az2.nbctl(&["lsp-set-options", "lsp-ts1-lr1", "requested-chassis=gw1"])
            .unwrap();
        let want = if northd_binds {
            remote_gw()
        } else {
            String::new()
        };
        wait_eq(&lab, &what, bound, &want);
        // Held still for two seconds: nobody undoes northd's (or ovn-ic's) binding.
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            assert_eq!(bound(), want, "{what}: binding flapped\n{}", lab.logs());
            std::thread::sleep(Duration::from_millis(50));
        }

        // No requested chassis, and az1's router port on gateway gw1: the daemon binds.
        az2.nbctl(&[
            "remove",
            "Logical_Switch_Port",
            "lsp-ts1-lr1",
            "options",
            "requested-chassis",
        ])
        .unwrap();
        let az1 = &lab.zones[0];
        az1.nbctl(&["lrp-set-gateway-chassis", "lrp-lr1-ts1", "gw1"])
            .unwrap();
        assert!(
            wait_for(CONVERGE, || az1
                .sbctl(&[
                    "--bare",
                    "--columns=_uuid",
                    "find",
                    "Port_Binding",
                    "logical_port=cr-lrp-lr1-ts1"
                ])
                .is_ok_and(|s| !s.trim().is_empty())),
            "{what}: no chassis-redirect port\n{}",
            lab.logs()
        );
        // What ovn-controller on gw1 would do.
        let cr = column(
            &lab,
            Some(0),
            &[
                "--bare",
                "--columns=_uuid",
                "find",
                "Port_Binding",
                "logical_port=cr-lrp-lr1-ts1",
            ],
        );
        let gw1 = column(
            &lab,
            Some(0),
            &["--bare", "--columns=_uuid", "find", "Chassis", "name=gw1"],
        );
        az1.sbctl(&["set", "Port_Binding", &cr, &format!("chassis={gw1}")])
            .unwrap();
        let gateway = || {
            column(
                &lab,
                None,
                &[
                    "--bare",
                    "--columns=gateway",
                    "find",
                    "Port_Binding",
                    "logical_port=lsp-ts1-lr1",
                ],
            )
        };
        wait_eq(&lab, &what, gateway, "gw1");
        wait_eq(&lab, &what, bound, &remote_gw());
    }
}
