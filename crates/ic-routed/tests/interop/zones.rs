//! A zone's duties besides routes: availability-zone registration, transit switches,
//! port bindings, gateways, and what a transit switch's deletion removes.

use ovnlink_testkit::ovn::{wait_for, IcDaemon};

use crate::common::*;

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

#[test]
fn az_register_all_modes() {
    all_modes(az_register);
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

#[test]
fn transit_switches_all_modes() {
    all_modes(transit_switches);
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

#[test]
fn port_sync_all_modes() {
    all_modes(port_sync);
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

#[test]
fn gateway_sync_all_modes() {
    all_modes(gateway_sync);
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

#[test]
fn ts_deletion_all_modes() {
    all_modes(ts_deletion);
}
