//! Debian's `ovn-ctl` running an interconnection controller: a [`Site`] owns the run, log,
//! database and configuration directories of one deployment, starts the four database
//! servers with `ovn-ctl start_ovsdb` and `start_ic_ovsdb`, and starts, controls and stops
//! `ovn-ic` (Debian's, or `ic-routed` installed under that name) with `ovn-ctl` and
//! `ovn-appctl -t ovn-ic`, as an operator does.
//!
//! A site runs the programs of one [`OvnRelease`]: the host's, or a Debian root's under
//! `chroot`. `ovn-ctl` and Open vSwitch's `ovs-lib` read `/proc` (`pid_exists`,
//! `pid_comm_check`), so inside a root `ovn-ctl` runs in a private mount namespace
//! (`unshare -m`) with `/proc` mounted there: the mount never reaches the host's table and
//! ends with the namespace's last process.
//!
//! Dropping a site stops every daemon it started, by `ovn-ctl` and then by signal, even
//! while a failed test unwinds, and removes its directory.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::ovn::wait_for;
use crate::release::{release, OvnRelease};
use crate::server::{process_alive, require, require_binaries, require_files};

/// Where Debian puts `ovn-ctl` (package `ovn-common`).
pub const OVN_CTL: &str = "/usr/share/ovn/scripts/ovn-ctl";

/// How long a daemon may take to become active, or a command to finish.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Whether the real programs are here for the current [`release`] (the test kit's skip
/// policy), and, for a root, whether a private mount namespace with `/proc` can be made.
///
/// # Panics
///
/// When something is missing and `OVNLINK_REAL_TESTS=1` is set.
pub fn available() -> bool {
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
            let why = format!("a private namespace with /proc (unshare -m): {other:?}");
            require("capability", &[&why])
        }
    }
}

/// A finished command.
#[derive(Debug)]
pub struct Ran {
    /// Whether it exited with status 0.
    pub ok: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Runs `command` with a deadline ([`PATIENCE`]): a daemon that kept the command's output
/// pipes open (a `--detach` that did not let go of them) shows up as a timeout instead of a
/// hang.
///
/// # Panics
///
/// When the command cannot start, does not finish in time, or its output stays open.
pub fn run(command: Command) -> Ran {
    run_for(command, PATIENCE)
}

/// [`run`] with another deadline (a build, a package installation).
///
/// # Panics
///
/// As [`run`].
pub fn run_for(mut command: Command, patience: Duration) -> Ran {
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
    let deadline = Instant::now() + patience;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {patience:?}");
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

/// One deployment: its directories, and the directory first in `PATH` when a program was
/// installed as `ovn-ic` there.
pub struct Site<'r> {
    /// The release whose programs run.
    pub release: &'r OvnRelease,
    /// Host path (inside the root's `/tmp` for a root).
    dir: tempfile::TempDir,
    installed: bool,
    /// `PATH` for the release's programs instead of the default (see [`Site::set_path`]).
    path: Option<String>,
}

impl<'r> Site<'r> {
    /// Makes the directories (`run`, `log`, `db`, `etc`, `bin`, passed as `OVN_RUNDIR`,
    /// `OVN_LOGDIR`, `OVN_DBDIR`, `OVN_SYSCONFDIR`), installs `install` (a host program) as
    /// `ovn-ic` in `bin`, first in `PATH`, when given, and starts the four database servers
    /// with `ovn-ctl start_ovsdb` and `start_ic_ovsdb`. Without `install`, `ovn-ctl` runs the
    /// release's own `/usr/bin/ovn-ic`, whatever that is.
    ///
    /// # Panics
    ///
    /// When a directory cannot be made or a server does not start.
    pub fn new(release: &'r OvnRelease, install: Option<&Path>) -> Site<'r> {
        let dir = release.tempdir("ovn-ctl-").expect("temporary directory");
        // Reachable by a daemon that gave up root (`--ovn-user`).
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("directory mode");
        for sub in ["run", "log", "db", "etc", "bin"] {
            fs::create_dir(dir.path().join(sub)).expect("site directory");
        }
        let site = Site {
            release,
            dir,
            installed: install.is_some(),
            path: None,
        };
        if let Some(ours) = install {
            let target = site.dir.path().join("bin/ovn-ic");
            if release.is_host() {
                std::os::unix::fs::symlink(ours, &target).expect("symbolic link");
            } else {
                // A link would point outside the root.
                fs::copy(ours, &target).expect("copy into the root");
            }
        }
        for start in ["start_ovsdb", "start_ic_ovsdb"] {
            let r = site.ovn_ctl(&[start]);
            assert!(r.ok, "ovn-ctl {start}: {r:?}");
        }
        site
    }

    /// `sub` under the site's directory as the release's programs see it.
    pub fn inner(&self, sub: &str) -> String {
        self.release
            .inner_text(&self.dir.path().join(sub).to_string_lossy())
    }

    /// `sub` under the site's directory as the host sees it.
    pub fn host(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// Runs the release's programs with `path` as `PATH` from now on (as a systemd unit's
    /// `Environment=PATH=` does), instead of the host's `PATH` or, in a root,
    /// `/usr/sbin:/usr/bin:/sbin:/bin`, with the installed `ovn-ic`'s directory first.
    pub fn set_path(&mut self, path: &str) {
        self.path = Some(path.to_owned());
    }

    fn env(&self, command: &mut Command) {
        let path = if let Some(path) = &self.path {
            path.clone()
        } else if self.release.is_host() {
            std::env::var("PATH").unwrap_or_default()
        } else {
            "/usr/sbin:/usr/bin:/sbin:/bin".to_owned()
        };
        let path = if self.installed && self.path.is_none() {
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
    pub fn ovn_ctl(&self, args: &[&str]) -> Ran {
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

    /// `ovn-appctl -t ovn-ic ARGS`: the pid file is found through `OVN_RUNDIR`. The reply, or
    /// the program's standard error.
    ///
    /// # Panics
    ///
    /// When the release has no `ovn-appctl`.
    pub fn appctl(&self, args: &[&str]) -> Result<String, String> {
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

    /// The pid in `ovn-ic`'s pid file, if any.
    pub fn pid(&self) -> Option<u32> {
        fs::read_to_string(self.host("run/ovn-ic.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// `ovn-ic`'s log file (empty when there is none).
    pub fn log(&self) -> String {
        fs::read_to_string(self.host("log/ovn-ic.log")).unwrap_or_default()
    }

    /// Starts `ovn-ic` with `ovn-ctl start_ic` and waits until it holds the lock.
    ///
    /// # Panics
    ///
    /// When `ovn-ctl` fails, no pid file names the daemon, or it never reports
    /// `Status: active`.
    pub fn start_ic(&self) -> u32 {
        self.start_ic_with(&[])
    }

    /// [`Site::start_ic`] with `ovn-ctl` options before the command.
    ///
    /// # Panics
    ///
    /// As [`Site::start_ic`].
    pub fn start_ic_with(&self, options: &[&str]) -> u32 {
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
    ///
    /// # Panics
    ///
    /// When `ovn-ctl` fails or a process or file survives.
    pub fn stop_ic(&self, pid: u32) {
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

impl Drop for Site<'_> {
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

/// The process's parent, when it is a monitor (Open vSwitch's or `ic-routed`'s).
pub fn parent(pid: u32) -> Option<u32> {
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

/// Sends `sig` (a name: `KILL`, `ABRT`) to `pid` with `kill(1)`, ignoring failures.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// The process's name as `ovn-ctl`'s `pid_comm_check` reads it (`/proc/PID/comm`).
pub fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}
