//! Interop with Open vSwitch's C IDL: the same `ovn-nbctl` script against the real
//! `ovsdb-server` and the embedded one must print the same (UUIDs and row order aside).

mod common;

use std::path::Path;

use common::{Target, NB_SCHEMA};
use ovnlink_testkit::server::{require_binaries, require_files, run};

/// `ovn-nbctl` commands, run one by one; each output is compared.
const SCRIPT: &[&[&str]] = &[
    &["ls-add", "sw0"],
    &["ls-add", "sw1"],
    &["lsp-add", "sw0", "p0"],
    &["lsp-set-addresses", "p0", "00:00:00:00:00:01 10.0.0.1"],
    &["lsp-add", "sw0", "p1"],
    &["lsp-set-type", "p1", "router"],
    &["lsp-set-options", "p1", "router-port=lrp0"],
    &["lr-add", "lr0"],
    &[
        "lrp-add",
        "lr0",
        "lrp0",
        "00:00:00:00:01:00",
        "10.0.0.254/24",
    ],
    &["lr-route-add", "lr0", "0.0.0.0/0", "10.0.0.1"],
    &["lr-route-add", "lr0", "192.168.0.0/16", "10.0.0.2"],
    &[
        "acl-add",
        "sw0",
        "from-lport",
        "1000",
        "ip4.src == 10.0.0.1",
        "drop",
    ],
    &["--may-exist", "ls-add", "sw0"],
    &["show"],
    &["lr-route-list", "lr0"],
    &["acl-list", "sw0"],
    &["lsp-get-addresses", "p0"],
    &["lsp-del", "p0"],
    &["lr-route-del", "lr0", "192.168.0.0/16"],
    &["--columns=name,addresses", "list", "Logical_Switch_Port"],
    &["ls-del", "sw1"],
    &["show"],
    &["get", "Logical_Router_Port", "lrp0", "networks"],
    &[
        "lb-add",
        "lb0",
        "10.0.0.10:80",
        "10.0.0.1:8080,10.0.0.2:8080",
        "tcp",
    ],
    &["ls-lb-add", "sw0", "lb0"],
    &["lb-list"],
    &["lr-nat-add", "lr0", "snat", "172.16.0.1", "10.0.0.0/24"],
    &["lr-nat-list", "lr0"],
    &["lr-policy-add", "lr0", "100", "ip4.src == 10.0.0.5", "drop"],
    &["lr-policy-list", "lr0"],
    &[
        "create",
        "Address_Set",
        "name=as1",
        "addresses=\"10.0.0.1\",\"10.0.0.2\"",
    ],
    &["add", "Address_Set", "as1", "addresses", "10.0.0.3"],
    &["remove", "Address_Set", "as1", "addresses", "10.0.0.1"],
    &["--columns=addresses", "find", "Address_Set", "name=as1"],
    &[
        "set",
        "Logical_Switch",
        "sw0",
        "other_config:subnet=10.0.0.0/24",
    ],
    &["clear", "Logical_Switch", "sw0", "acls"],
    &["acl-list", "sw0"],
    &["lb-del", "lb0"],
    &["destroy", "Address_Set", "as1"],
    &["lsp-add", "sw0", "p1"],
    &["ls-del", "nope"],
    &["show"],
];

fn run_script(target: &Target) -> Vec<String> {
    let db = format!("--db=unix:{}", target.path().display());
    SCRIPT
        .iter()
        .map(|cmd| {
            let mut args = vec![db.as_str(), "--no-leader-only"];
            args.extend_from_slice(cmd);
            match run("ovn-nbctl", &args) {
                Ok(out) => out,
                Err(e) => format!("error: {e}").replace(&db, "--db=<remote>"),
            }
        })
        .collect()
}

/// Masks UUIDs and sorts each output's lines: the IDL prints rows in hash order.
fn normalize(outputs: &[String]) -> Vec<String> {
    outputs
        .iter()
        .map(|o| {
            let mut lines: Vec<String> = o
                .lines()
                .map(|line| {
                    line.split(' ')
                        .map(|w| {
                            let t = w.trim_matches(|c: char| !c.is_ascii_hexdigit() && c != '-');
                            if ovsdb_proto::parse_uuid(t).is_some() {
                                w.replace(t, "<uuid>")
                            } else {
                                w.to_owned()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            lines.sort();
            lines.join("\n")
        })
        .collect()
}

#[test]
fn ovn_nbctl_sees_the_same_database() {
    if !require_binaries(&["ovn-nbctl", "ovsdb-server", "ovsdb-tool"])
        || !require_files(&[NB_SCHEMA])
    {
        return;
    }
    let embedded = Target::embedded(&[Path::new(NB_SCHEMA)]);
    let got = normalize(&run_script(&embedded));
    let real = Target::real(&[Path::new(NB_SCHEMA)]);
    let want = normalize(&run_script(&real));
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(w, g, "ovn-nbctl {:?} differs", SCRIPT[i]);
    }
    // Only the two commands meant to fail did.
    let failed: Vec<&str> = got
        .iter()
        .filter(|o| o.starts_with("error"))
        .map(String::as_str)
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
}
