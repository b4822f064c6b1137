//! `ic-routed` installed as `ovn-ic` and run by Debian's own `ovn-ctl` (issue 13): started,
//! stopped and restarted with `start_ic`/`stop_ic`/`restart_ic`, controlled with
//! `ovn-appctl -t ovn-ic`, its pid file and log file where `ovn-ctl` expects them, and its
//! `--detach --monitor` behaving as `ovn-ctl` expects, beside Debian's real `ovn-ic` under the
//! same script.
//!
//! Each test runs the release the test kit chooses: the host's (Debian 12, OVN 23.03.1) or,
//! with `OVNLINK_OVN_ROOT` naming a Debian 13 root (OVN 25.03.0), that root's `ovn-ctl`,
//! `ovsdb-server` and `ovn-appctl` under `chroot`. Installing means a directory first in
//! `PATH` that holds `ovn-ic`, `ic-routed` under that name (a symbolic link on the host, a
//! copy inside a root); `ovn-ctl` only appends its own directories to `PATH`, so the real
//! `/usr/bin/ovn-ic` stays for the tests that compare with it. `ovn-ctl` and Open vSwitch's
//! `ovs-lib` read `/proc` (`pid_exists`, `pid_comm_check`), so inside a root `ovn-ctl` runs
//! in a private mount namespace (`unshare -m`) with `/proc` mounted there: the mount never
//! reaches the host's table and ends with the namespace's last process.
//!
//! The harness (`Site`, `run`) is the test kit's `ovn_ctl` module, shared with the Debian
//! package's test (`deb.rs`). Every test owns a directory (run, log, database and configuration directories, passed as
//! `OVN_RUNDIR`, `OVN_LOGDIR`, `OVN_DBDIR`, `OVN_SYSCONFDIR`), so tests run in parallel; its
//! guard stops every daemon it started, by `ovn-ctl` and then by signal, even when the test
//! fails.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::process::Command;

use ovnlink_testkit::ovn::wait_for;
use ovnlink_testkit::ovn_ctl::{self, comm, parent, run, signal, Site, PATIENCE};
use ovnlink_testkit::release::release;
use ovnlink_testkit::server::process_alive;

fn available() -> bool {
    ovn_ctl::available()
}

/// A site of the current release, with `ic-routed` installed as `ovn-ic` when `install`.
fn site(install: bool) -> Site<'static> {
    let ours = Path::new(env!("CARGO_BIN_EXE_ic-routed"));
    Site::new(release(), install.then_some(ours))
}

/// The acceptance: `ovn-ctl start_ic` with `ic-routed` installed as `ovn-ic`, then
/// `ovn-appctl -t ovn-ic status` prints the status, the other commands answer as ovn-ic's,
/// the files are where `ovn-ctl` expects them, and `ovn-ctl stop_ic` stops it.
#[test]
fn ovn_ctl_starts_controls_and_stops_ic_routed_as_ovn_ic() {
    if !available() {
        return;
    }
    let site = site(true);
    let pid = site.start_ic();
    // Named after the program: the pid file, the control socket, the log file.
    assert!(site.host(&format!("run/ovn-ic.{pid}.ctl")).exists());
    assert!(site.log().contains("ic-routed"), "{}", site.log());
    // What ovn-ctl's pid_comm_check reads, and the monitor beside it.
    assert_eq!(comm(pid), "ovn-ic");
    assert!(parent(pid).is_some(), "--monitor: no monitor process");
    let status = site.ovn_ctl(&["status_ic"]);
    assert_eq!(status.stdout, format!("ovn-ic is running with pid {pid}\n"));
    // The pid file is locked by the daemon: a second daemon refuses to start.
    let again = site.ovn_ctl(&["start_ic"]);
    assert!(
        again.ok && again.stdout.contains("ovn-ic is already running"),
        "{again:?}"
    );
    assert_eq!(site.pid(), Some(pid));

    assert_eq!(site.appctl(&["is-paused"]).unwrap(), "false\n");
    assert_eq!(site.appctl(&["pause"]).unwrap(), "");
    assert_eq!(site.appctl(&["is-paused"]).unwrap(), "true\n");
    assert_eq!(site.appctl(&["status"]).unwrap(), "Status: paused\n");
    assert_eq!(site.appctl(&["resume"]).unwrap(), "");
    assert_eq!(site.appctl(&["is-paused"]).unwrap(), "false\n");
    assert!(wait_for(PATIENCE, || site.appctl(&["status"]).as_deref()
        == Ok("Status: active\n")));
    for db in ["nb", "sb", "ic-nb", "ic-sb"] {
        assert_eq!(
            site.appctl(&[&format!("{db}-connection-status")]).unwrap(),
            "connected\n"
        );
    }
    // `ovs-lib` reads the last field of the first line: the ovn-ic release followed.
    let version = site.appctl(&["version"]).unwrap();
    assert_eq!(
        version.lines().next(),
        Some(format!("ovn-ic {}", site.release.ovn_version()).as_str()),
        "{version}"
    );
    assert!(site
        .appctl(&["list-commands"])
        .unwrap()
        .contains("  ic-sb-connection-status \n"));
    // logrotate's postrotate command.
    assert_eq!(site.appctl(&["vlog/reopen"]).unwrap(), "");
    let err = site.appctl(&["nosuch"]).unwrap_err();
    assert!(err.contains("\"nosuch\" is not a valid command"), "{err}");

    site.stop_ic(pid);
    assert!(site.log().contains("exiting"), "{}", site.log());
    let gone = site.appctl(&["status"]).unwrap_err();
    assert!(gone.contains("cannot read pidfile"), "{gone}");
}

/// `restart_ic` replaces the daemon (a new pid, answering), and a second daemon started by
/// hand on the same pid file is refused while the first runs.
#[test]
fn restart_ic_gives_a_new_daemon() {
    if !available() {
        return;
    }
    let site = site(true);
    let first = site.start_ic();
    let r = site.ovn_ctl(&["restart_ic"]);
    assert!(r.ok, "ovn-ctl restart_ic: {r:?}");
    assert!(
        r.stdout.contains(&format!("Exiting ovn-ic ({first})")),
        "{r:?}"
    );
    let second = site.pid().expect("pid file after restart_ic");
    assert_ne!(first, second);
    assert!(!process_alive(first));
    assert!(wait_for(PATIENCE, || site.appctl(&["status"]).as_deref()
        == Ok("Status: active\n")));

    // ic-routed itself, on the host, against the same pid file: refused, pid file intact.
    let pidfile = site.host("run/ovn-ic.pid");
    let mut by_hand = Command::new(env!("CARGO_BIN_EXE_ic-routed"));
    by_hand
        .arg(format!("--pidfile={}", pidfile.display()))
        .arg(format!("--unixctl={}", site.host("run/x.ctl").display()))
        .arg("--ovnnb-db=unix:/nonexistent")
        .arg("--detach");
    let refused = run(by_hand);
    assert!(!refused.ok, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains(&format!("already running as pid {second}")),
        "{refused:?}"
    );
    assert_eq!(site.pid(), Some(second));
    site.stop_ic(second);
}

/// The monitor restarts a daemon that crashed (SIGABRT: a panic, or an abort) with a new pid
/// in the pid file, and lets a SIGKILLed one go, as Open vSwitch's monitor does; `stop_ic`
/// then clears the stale files.
#[test]
fn the_monitor_restarts_a_crashed_daemon_but_not_a_killed_one() {
    if !available() {
        return;
    }
    let site = site(true);
    let first = site.start_ic();
    let monitor = parent(first).expect("a monitor");
    signal(first, "ABRT");
    assert!(
        wait_for(PATIENCE, || site.pid().is_some_and(|p| p != first)),
        "no restart after SIGABRT\n{}",
        site.log()
    );
    let second = site.pid().unwrap();
    assert_eq!(
        parent(second),
        Some(monitor),
        "restarted by the same monitor"
    );
    assert!(wait_for(PATIENCE, || site.appctl(&["status"]).as_deref()
        == Ok("Status: active\n")));
    assert!(
        site.log()
            .contains(&format!("1 crashes: pid {first} died, killed (Aborted)")),
        "{}",
        site.log()
    );

    signal(second, "KILL");
    assert!(
        wait_for(PATIENCE, || !process_alive(monitor)),
        "the monitor outlived a SIGKILLed daemon"
    );
    assert_eq!(
        site.pid(),
        Some(second),
        "a killed daemon leaves its pid file"
    );
    let stale = site.appctl(&["status"]).unwrap_err();
    assert!(stale.contains("No such process"), "{stale}");
    let r = site.ovn_ctl(&["stop_ic"]);
    assert!(r.ok, "{r:?}");
    assert!(!site.host("run/ovn-ic.pid").exists());
    assert!(!site.host(&format!("run/ovn-ic.{second}.ctl")).exists());
}

/// The connection-status commands follow the databases: `not connected` while `ovn-ctl`
/// has the northbound server stopped, `connected` once it is back.
#[test]
fn connection_status_follows_the_servers() {
    if !available() {
        return;
    }
    let site = site(true);
    let pid = site.start_ic();
    let r = site.ovn_ctl(&["stop_nb_ovsdb"]);
    assert!(r.ok, "{r:?}");
    assert!(
        wait_for(PATIENCE, || site
            .appctl(&["nb-connection-status"])
            .as_deref()
            == Ok("not connected\n")),
        "{:?}",
        site.appctl(&["nb-connection-status"])
    );
    assert_eq!(
        site.appctl(&["sb-connection-status"]).unwrap(),
        "connected\n"
    );
    let r = site.ovn_ctl(&["start_nb_ovsdb"]);
    assert!(r.ok, "{r:?}");
    assert!(
        wait_for(PATIENCE, || site
            .appctl(&["nb-connection-status"])
            .as_deref()
            == Ok("connected\n")),
        "{:?}\n{}",
        site.appctl(&["nb-connection-status"]),
        site.log()
    );
    site.stop_ic(pid);
}

/// The same `ovn-ctl` and `ovn-appctl` session against Debian's real `ovn-ic` and against
/// `ic-routed` installed as `ovn-ic` prints the same replies (the connection-status commands
/// from OVN 24.03, which added them; `version`'s first line).
#[test]
fn replies_match_the_real_ovn_ic() {
    if !available() {
        return;
    }
    let session = |site: &Site| -> Vec<String> {
        let pid = site.start_ic();
        let mut commands = vec!["status", "is-paused", "pause", "is-paused", "status"];
        commands.extend(["resume", "is-paused"]);
        if site.release.at_least(24, 3) {
            commands.extend([
                "nb-connection-status",
                "sb-connection-status",
                "ic-nb-connection-status",
                "ic-sb-connection-status",
            ]);
        }
        let mut replies: Vec<String> = commands
            .iter()
            .map(|c| format!("{c}: {:?}", site.appctl(&[c])))
            .collect();
        let version = site.appctl(&["version"]).unwrap();
        replies.push(format!(
            "version: {}",
            version.lines().next().unwrap_or_default()
        ));
        let bad = site.appctl(&["status", "extra"]).unwrap_err();
        replies.push(format!(
            "extra argument: {}",
            bad.lines().next().unwrap_or("")
        ));
        site.stop_ic(pid);
        replies
    };
    let real = session(&site(false));
    let ours = session(&site(true));
    assert_eq!(ours, real, "{}", release().describe());
}

/// A `/proc/PID/status` field's first value (`Uid`, `Gid`) and the `Groups` line.
fn ids(pid: u32) -> (String, String, String) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    (field("Uid"), field("Gid"), field("Groups"))
}

/// `ovn-ctl --ovn-user=nobody:nogroup start_ic` (`--user nobody:nogroup`): the daemon and
/// its monitor run as that user and group with no supplementary groups, as Open vSwitch's
/// daemons do, own the pid file, answer, and stop.
#[test]
fn ovn_user_runs_the_daemon_as_that_user() {
    if !available() {
        return;
    }
    let site = site(true);
    let passwd = fs::read_to_string(site.release.host_path("/etc/passwd")).unwrap();
    let nobody: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .expect("a nobody user")
        .split(':')
        .collect();
    let (uid, gid) = (nobody[2], nobody[3]);
    let pid = site.start_ic_with(&["--ovn-user=nobody:nogroup"]);
    let monitor = parent(pid).expect("a monitor");
    for p in [pid, monitor] {
        let expected = (
            format!("{uid} {uid} {uid} {uid}"),
            format!("{gid} {gid} {gid} {gid}"),
            String::new(),
        );
        assert_eq!(ids(p), expected, "pid {p}");
    }
    let owner = fs::metadata(site.host("run/ovn-ic.pid")).unwrap().uid();
    assert_eq!(owner.to_string(), uid);
    assert_eq!(
        site.appctl(&["sb-connection-status"]).unwrap(),
        "connected\n"
    );
    site.stop_ic(pid);
}

/// What Debian's systemd unit runs (`ovn-ctl start_ic --no-monitor`, `Type=forking` with
/// `PIDFile=`): `--detach` alone, no monitor, the pid file naming the daemon as soon as
/// `ovn-ctl` returns.
#[test]
fn no_monitor_as_the_systemd_unit_starts_it() {
    if !available() {
        return;
    }
    let site = site(true);
    let pid = site.start_ic_with(&["--no-monitor"]);
    assert_eq!(parent(pid), None, "--no-monitor: a monitor runs");
    assert_eq!(comm(pid), "ovn-ic");
    site.stop_ic(pid);
}
