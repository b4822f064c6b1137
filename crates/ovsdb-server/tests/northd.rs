//! Interop with `ovn-northd`: the embedded server hosts OVN Northbound and Southbound;
//! northd (C IDL: `_Server` checks, `monitor_cond_since`, locks, big transactions with
//! references, indexes and garbage collection) translates a small topology into SB.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{Target, NB_SCHEMA};
use ovnlink_testkit::server::{require_binaries, require_files, run};

const SB_SCHEMA: &str = "/usr/share/ovn/ovn-sb.ovsschema";

struct Northd(Child);

impl Drop for Northd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ovn_northd_translates_nb_into_sb() {
    if !require_binaries(&["ovn-northd", "ovn-nbctl", "ovn-sbctl"])
        || !require_files(&[NB_SCHEMA, SB_SCHEMA])
    {
        return;
    }
    let target = Target::embedded(&[Path::new(NB_SCHEMA), Path::new(SB_SCHEMA)]);
    let remote = format!("unix:{}", target.path().display());
    let release = ovnlink_testkit::release::release();
    let tmp = release.tempdir("northd").unwrap();
    let dir = tmp.path();
    let program = release.find_binary("ovn-northd").expect("ovn-northd");
    let northd = Northd(
        release
            .command(&program)
            .args(release.args(
                &program,
                &[
                    format!("--ovnnb-db={remote}"),
                    format!("--ovnsb-db={remote}"),
                    format!("--unixctl={}", dir.join("northd.ctl").display()),
                    format!("--log-file={}", dir.join("northd.log").display()),
                    "-vconsole:off".to_owned(),
                ],
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ovn-northd"),
    );
    let nb = format!("--db={remote}");
    let nbctl = |args: &[&str]| {
        let mut a = vec![nb.as_str()];
        a.extend_from_slice(args);
        run("ovn-nbctl", &a).expect("ovn-nbctl")
    };
    let sbctl = |args: &[&str]| {
        let mut a = vec![nb.as_str()];
        a.extend_from_slice(args);
        run("ovn-sbctl", &a).expect("ovn-sbctl")
    };
    nbctl(&["ls-add", "sw0"]);
    nbctl(&["lsp-add", "sw0", "p0"]);
    nbctl(&["lsp-set-addresses", "p0", "00:00:00:00:00:01 10.0.0.1"]);
    nbctl(&["lr-add", "lr0"]);
    nbctl(&[
        "lrp-add",
        "lr0",
        "lrp0",
        "00:00:00:00:01:00",
        "10.0.0.254/24",
    ]);
    nbctl(&["lsp-add", "sw0", "sw0-lr0"]);
    nbctl(&["lsp-set-type", "sw0-lr0", "router"]);
    nbctl(&["lsp-set-options", "sw0-lr0", "router-port=lrp0"]);
    nbctl(&["lsp-set-addresses", "sw0-lr0", "router"]);
    let ports = || -> Vec<String> {
        let mut v: Vec<String> =
            sbctl(&["--bare", "--columns=logical_port", "list", "Port_Binding"])
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
        v.sort();
        v
    };
    eventually("two datapaths and their ports in SB", || {
        let dp = sbctl(&["--bare", "--columns=_uuid", "list", "Datapath_Binding"]);
        dp.lines().filter(|l| !l.is_empty()).count() == 2 && ports() == ["lrp0", "p0", "sw0-lr0"]
    });
    eventually("logical flows", || {
        sbctl(&["lflow-list"]).lines().count() > 100
    });
    // northd holds its lock on the embedded server.
    let status = run(
        "ovs-appctl",
        &[
            "-t",
            &dir.join("northd.ctl").display().to_string(),
            "status",
        ],
    )
    .expect("northd status");
    assert!(status.contains("active"), "{status}");
    // Deleting the switch removes its datapath (references and GC in SB).
    nbctl(&["ls-del", "sw0"]);
    eventually("sw0's datapath and ports gone", || {
        let dp = sbctl(&["--bare", "--columns=_uuid", "list", "Datapath_Binding"]);
        dp.lines().filter(|l| !l.is_empty()).count() == 1 && ports() == ["lrp0"]
    });
    drop(northd);
}
