//! The lab starts, waits and text filters every scenario shares.

use std::path::PathBuf;
use std::time::Duration;

use ovnlink_testkit::ovn::{real_ovn, wait_for, IcDaemon, IcLab};

pub const CONVERGE: Duration = Duration::from_secs(30);

pub fn ic_routed() -> IcDaemon {
    IcDaemon::IcRouted(PathBuf::from(env!("CARGO_BIN_EXE_ic-routed")))
}

/// A lab with one zone per entry of `daemons`, each running that daemon.
pub fn lab(daemons: &[IcDaemon]) -> IcLab {
    IcLab::start_daemons(daemons, &[]).expect("lab starts")
}

/// A lab running `daemons` with transit switch `ts1` and, in zone `i` (1-based), router
/// `lr<i>` attached to it through MAC `aa:aa:aa:aa:aa:0<i>` and `<net>.<i>/24`: the start of
/// most upstream scenarios.
pub fn ts1_lab(daemons: &[IcDaemon], net: &str) -> IcLab {
    IcLab::start_ts1(daemons, &[], net, CONVERGE)
}

/// Waits until `zone`'s `lr-route-list router` equals `expected`; panics with the logs
/// otherwise.
pub fn expect_routes(lab: &IcLab, zone: usize, router: &str, expected: &str) {
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
pub fn wait_routes(
    lab: &IcLab,
    zone: usize,
    router: &str,
    what: &str,
    check: impl Fn(&str) -> bool,
) {
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

pub fn wait_switch(lab: &IcLab, zone: usize, ts: &str) {
    assert!(
        lab.wait_switch(zone, ts, CONVERGE),
        "transit switch {ts} never reached {}\n{}",
        lab.zones[zone].name,
        lab.logs()
    );
}

pub fn wait_output(what: &str, lab: &IcLab, mut get: impl FnMut() -> String, want: &str) {
    let mut last = String::new();
    let ok = wait_for(CONVERGE, || {
        last = get();
        last == want
    });
    assert!(ok, "{what}:\n{last}\nexpected:\n{want}\n{}", lab.logs());
}

/// Replaces every UUID in `text` by `<N>`, numbered by first appearance (upstream's
/// `uuidfilt`).
pub fn uuidfilt(text: &str) -> String {
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

/// Runs `scenario` with ic-routed in both zones, then beside ovn-ic in each position.
pub fn all_modes(scenario: fn(&[IcDaemon])) {
    if !real_ovn() {
        return;
    }
    scenario(&[ic_routed(), ic_routed()]);
    scenario(&[IcDaemon::OvnIc, ic_routed()]);
    scenario(&[ic_routed(), IcDaemon::OvnIc]);
}
