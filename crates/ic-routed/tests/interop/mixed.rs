//! Mixed deployments: the steady states of ovn-ic beside ic-routed equal those of
//! ovn-ic everywhere, on a topology with most of 23.03's features.

use std::time::Duration;

use ovnlink_testkit::ovn::{real_ovn, IcDaemon, IcLab};

use crate::common::*;

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
