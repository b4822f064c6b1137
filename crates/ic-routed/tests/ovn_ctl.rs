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
//! Every test owns a directory (run, log, database and configuration directories, passed as
//! `OVN_RUNDIR`, `OVN_LOGDIR`, `OVN_DBDIR`, `OVN_SYSCONFDIR`), so tests run in parallel; its
//! guard stops every daemon it started, by `ovn-ctl` and then by signal, even when the test
//! fails.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ovnlink_testkit::ovn::wait_for;
use ovnlink_testkit::release::{release, OvnRelease};
use ovnlink_testkit::server::{process_alive, require_binaries, require_files};

const OVN_CTL: &str = "/usr/share/ovn/scripts/ovn-ctl";
/// How long a daemon may take to become active, or a command to finish.
const PATIENCE: Duration = Duration::from_secs(20);

/// Whether the real programs are here (the test kit's skip policy), and, for a root, whether
/// a private mount namespace with `/proc` can be made.
fn available() -> bool {
    if !require_binaries(&[
        "ovsdb-server",
        "ovsdb-tool",
        "ovn-appctl",
        "ovs-appctl",
        "ovn-ic",
    ]) || !require_files(&[OVN_CTL, "/usr/share/openvswitch/scripts/ovs-lib"])
    {
        return false;
    }
    let Some(root) = release().root_dir() else {
        return true;
    };
    let probe = Command::new("/usr/bin/unshare")
        .args(["-m", "--propagation", "private", "/bin/sh", "-c"])
        .arg("mount -t proc proc \"$0/proc\" && test -d \"$0/proc/self\"")
        .arg(root)
        .stdin(Stdio::null())
        .output();
    match probe {
        Ok(out) if out.status.success() => true,
        other => {
            let why = format!("cannot mount /proc in a private namespace: {other:?}");
            if std::env::var_os("OVNLINK_REAL_TESTS").is_some_and(|v| v == "1") {
                panic!("OVNLINK_REAL_TESTS=1 but {why}");
            }
            eprintln!("skipped: {why}");
            false
        }
    }
}

/// A finished command.
#[derive(Debug)]
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `command` with a deadline: a daemon that kept the command's output pipes open (a
/// `--detach` that did not let go of them) shows up as a timeout instead of a hang.
fn run(mut command: Command) -> Ran {
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let (tx, rx) = mpsc::channel();
    for (i, mut pipe) in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .enumerate()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(p) = pipe.as_mut() {
                let _ = p.read_to_string(&mut text);
            }
            let _ = tx.send((i, text));
        });
    }
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = [String::new(), String::new()];
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(2);
        match rx.recv_timeout(left) {
            Ok((i, text)) => out[i] = text,
            Err(_) => {
                panic!("{what} exited ({status}) but its output stayed open: a daemon kept it")
            }
        }
    }
    let [stdout, stderr] = out;
    Ran {
        ok: status.success(),
        stdout,
        stderr,
    }
}

/// One deployment: its directories, and whether `ic-routed` is installed as `ovn-ic`.
struct Site {
    release: &'static OvnRelease,
    /// Host path (inside the root's `/tmp` for a root).
    dir: tempfile::TempDir,
    installed: bool,
}

impl Site {
    /// Makes the directories, installs `ic-routed` as `ovn-ic` when `install`, and starts
    /// the four database servers with `ovn-ctl start_ovsdb` and `start_ic_ovsdb`.
    fn new(install: bool) -> Site {
        let release = release();
        let dir = release.tempdir("ovn-ctl-").expect("temporary directory");
        // Reachable by a daemon that gave up root (`--ovn-user`).
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["run", "log", "db", "etc", "bin"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let site = Site {
            release,
            dir,
            installed: install,
        };
        if install {
            let ours = Path::new(env!("CARGO_BIN_EXE_ic-routed"));
            let target = site.dir.path().join("bin/ovn-ic");
            if release.is_host() {
                std::os::unix::fs::symlink(ours, &target).unwrap();
            } else {
                // A link would point outside the root.
                fs::copy(ours, &target).unwrap();
            }
        }
        for start in ["start_ovsdb", "start_ic_ovsdb"] {
            let r = site.ovn_ctl(&[start]);
            assert!(r.ok, "ovn-ctl {start}: {r:?}");
        }
        site
    }

    /// `path` under the site's directory as the release's programs see it.
    fn inner(&self, sub: &str) -> String {
        self.release
            .inner_text(&self.dir.path().join(sub).to_string_lossy())
    }

    fn host(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn env(&self, command: &mut Command) {
        let path = if self.release.is_host() {
            std::env::var("PATH").unwrap_or_default()
        } else {
            "/usr/sbin:/usr/bin:/sbin:/bin".to_owned()
        };
        let path = if self.installed {
            format!("{}:{path}", self.inner("bin"))
        } else {
            path
        };
        command
            .env("PATH", path)
            .env("OVN_RUNDIR", self.inner("run"))
            .env("OVN_LOGDIR", self.inner("log"))
            .env("OVN_DBDIR", self.inner("db"))
            .env("OVN_SYSCONFDIR", self.inner("etc"))
            .env_remove("OVS_RUNDIR")
            .env_remove("RUST_LOG");
    }

    /// `ovn-ctl ARGS`: on the host directly, in a root under `chroot` with `/proc` mounted
    /// in a private mount namespace.
    fn ovn_ctl(&self, args: &[&str]) -> Ran {
        let mut command = match self.release.root_dir() {
            None => Command::new(OVN_CTL),
            Some(root) => {
                let mut c = Command::new("/usr/bin/unshare");
                c.args(["-m", "--propagation", "private", "/bin/sh", "-c"])
                    .arg("mount -t proc proc \"$0/proc\" && exec chroot \"$0\" \"$@\"")
                    .arg(root)
                    .arg(OVN_CTL);
                c
            }
        };
        command.args(args);
        self.env(&mut command);
        run(command)
    }

    /// `ovn-appctl -t ovn-ic ARGS`: the pid file is found through `OVN_RUNDIR`.
    fn appctl(&self, args: &[&str]) -> Result<String, String> {
        let program = self.release.find_binary("ovn-appctl").expect("ovn-appctl");
        let mut command = self.release.command(&program);
        command.args(["-t", "ovn-ic"]).args(args);
        self.env(&mut command);
        let r = run(command);
        if r.ok {
            Ok(r.stdout)
        } else {
            Err(r.stderr)
        }
    }

    /// The pid in the pid file, if any.
    fn pid(&self) -> Option<u32> {
        fs::read_to_string(self.host("run/ovn-ic.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.host("log/ovn-ic.log")).unwrap_or_default()
    }

    /// Starts `ovn-ic` with `ovn-ctl start_ic` and waits until it holds the lock.
    fn start_ic(&self) -> u32 {
        self.start_ic_with(&[])
    }

    /// [`Site::start_ic`] with `ovn-ctl` options before the command.
    fn start_ic_with(&self, options: &[&str]) -> u32 {
        let mut args = options.to_vec();
        args.push("start_ic");
        let r = self.ovn_ctl(&args);
        assert!(r.ok, "ovn-ctl start_ic: {r:?}\n{}", self.log());
        let pid = self.pid().expect("a pid file once start_ic returns");
        assert!(
            wait_for(PATIENCE, || self.appctl(&["status"]).as_deref()
                == Ok("Status: active\n")),
            "never active: {:?}\n{}",
            self.appctl(&["status"]),
            self.log()
        );
        pid
    }

    /// `ovn-ctl stop_ic`, then checks that the daemon and its monitor are gone with their
    /// files.
    fn stop_ic(&self, pid: u32) {
        let monitor = parent(pid);
        let r = self.ovn_ctl(&["stop_ic"]);
        assert!(r.ok, "ovn-ctl stop_ic: {r:?}");
        assert!(
            wait_for(PATIENCE, || !process_alive(pid)),
            "pid {pid} survived stop_ic"
        );
        if let Some(m) = monitor {
            assert!(
                wait_for(PATIENCE, || !process_alive(m)),
                "monitor {m} survived stop_ic"
            );
        }
        assert!(!self.host("run/ovn-ic.pid").exists(), "pid file left");
        let ctl = self.host(&format!("run/ovn-ic.{pid}.ctl"));
        assert!(!ctl.exists(), "{} left", ctl.display());
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        // Stop what ovn-ctl knows of, then kill whatever a pid file still names (and its
        // monitor), so that a failed test leaves no process behind.
        for stop in ["stop_ic", "stop_ic_ovsdb", "stop_ovsdb"] {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.ovn_ctl(&[stop])))
                .is_err()
            {
                eprintln!("ovn-ctl {stop} failed while cleaning up");
            }
        }
        if let Ok(entries) = fs::read_dir(self.host("run")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".pid") {
                    continue;
                }
                let Some(pid) = fs::read_to_string(entry.path())
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok())
                else {
                    continue;
                };
                if let Some(m) = parent(pid) {
                    signal(m, "KILL");
                }
                signal(pid, "KILL");
            }
        }
    }
}

/// The process's parent, when it is a monitor (Open vSwitch's or ours).
fn parent(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ppid: u32 = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let comm = fs::read_to_string(format!("/proc/{ppid}/comm")).ok()?;
    (comm.trim() == "monitor").then_some(ppid)
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The acceptance: `ovn-ctl start_ic` with `ic-routed` installed as `ovn-ic`, then
/// `ovn-appctl -t ovn-ic status` prints the status, the other commands answer as ovn-ic's,
/// the files are where `ovn-ctl` expects them, and `ovn-ctl stop_ic` stops it.
#[test]
fn ovn_ctl_starts_controls_and_stops_ic_routed_as_ovn_ic() {
    if !available() {
        return;
    }
    let site = Site::new(true);
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
    let site = Site::new(true);
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
    let site = Site::new(true);
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
    let site = Site::new(true);
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
    let real = session(&Site::new(false));
    let ours = session(&Site::new(true));
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
    let site = Site::new(true);
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
    let site = Site::new(true);
    let pid = site.start_ic_with(&["--no-monitor"]);
    assert_eq!(parent(pid), None, "--no-monitor: a monitor runs");
    assert_eq!(comm(pid), "ovn-ic");
    site.stop_ic(pid);
}
