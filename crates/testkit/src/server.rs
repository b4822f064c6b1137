//! Real-server harness: runs Debian's `ovsdb-server` as a plain process for integration tests.
//!
//! Each server lives in a fresh temporary directory that holds its database files, its unix
//! socket (`db.sock`), pid file, log file and control socket. Dropping the handle stops the
//! process (SIGTERM, then SIGKILL after a short grace) and removes the directory; this also
//! happens while a panicking test unwinds.
//!
//! - [`OvsdbServer`]: one standalone server with one or more databases, reachable over a unix
//!   socket and optionally over TCP on `127.0.0.1`. It can be stopped, restarted (same database
//!   files, same socket path, same TCP port) and killed with SIGKILL.
//! - [`OvsdbCluster`]: an `n`-member Raft cluster of one database, each member with its own
//!   directory and unix socket, Raft traffic on `tcp:127.0.0.1:<port>`. It finds the leader,
//!   kills members and hands leadership over.
//! - [`real_servers`], [`require_binaries`], [`require_files`]: the skip policy. A test that
//!   needs the real programs starts with `if !real_servers() { return; }`. When the programs are
//!   missing, the test prints a `skipped: ...` line and passes, unless `OVNLINK_REAL_TESTS=1` is
//!   set (as `scripts/test.sh` and CI do), in which case it panics with installation advice.
//! - [`run`]: runs a command-line tool (`ovn-nbctl`, `ovsdb-client`, ...) with a time limit and
//!   returns its standard output, or an error carrying its standard error.
//!
//! The programs are looked up on `PATH` and in `/usr/sbin` (where Debian puts `ovsdb-server`,
//! outside a normal user's `PATH`), or in a Debian root under `chroot` when
//! `OVNLINK_OVN_ROOT` names one (see [`crate::release`]): the same test then runs against
//! another OVN release. Only unix sockets and `127.0.0.1` are ever used.
//!
//! ```no_run
//! use ovnlink_testkit::server::{real_servers, OvsdbServer, OVN_NB_SCHEMA};
//!
//! # fn main() -> std::io::Result<()> {
//! if !real_servers() {
//!     return Ok(());
//! }
//! let server = OvsdbServer::builder().database(OVN_NB_SCHEMA).tcp(true).start()?;
//! let db = format!("--db={}", server.remote());
//! server.run("ovn-nbctl", &[&db, "ls-add", "sw0"])?;
//! let switches = server.run("ovn-nbctl", &[&db, "ls-list"])?;
//! assert!(switches.trim_end().ends_with("(sw0)"));
//! # Ok(())
//! # }
//! ```
//!
//! A process that is killed outright (SIGKILL of the test binary) cannot run destructors, so
//! its servers keep running; they hold only files under the system's temporary directory.

use std::fs;
use std::io::{self, Read};
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;

use crate::release::release;
use std::time::{Duration, Instant};

mod cluster;

pub use cluster::OvsdbCluster;

/// Schema of OVN's northbound database (`OVN_Northbound`), from Debian's `ovn-central`.
pub const OVN_NB_SCHEMA: &str = "/usr/share/ovn/ovn-nb.ovsschema";
/// Schema of OVN's southbound database (`OVN_Southbound`), from Debian's `ovn-central`.
pub const OVN_SB_SCHEMA: &str = "/usr/share/ovn/ovn-sb.ovsschema";
/// Schema of the interconnection northbound database (`OVN_IC_Northbound`), from `ovn-ic-db`.
pub const OVN_IC_NB_SCHEMA: &str = "/usr/share/ovn/ovn-ic-nb.ovsschema";
/// Schema of the interconnection southbound database (`OVN_IC_Southbound`), from `ovn-ic-db`.
pub const OVN_IC_SB_SCHEMA: &str = "/usr/share/ovn/ovn-ic-sb.ovsschema";
/// Schema of Open vSwitch's configuration database (`Open_vSwitch`), from
/// `openvswitch-switch` (pulled in by `ovn-host`).
pub const VSWITCH_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// Every schema constant of this module.
pub const ALL_SCHEMAS: &[&str] = &[
    OVN_NB_SCHEMA,
    OVN_SB_SCHEMA,
    OVN_IC_NB_SCHEMA,
    OVN_IC_SB_SCHEMA,
    VSWITCH_SCHEMA,
];

/// The programs the harness itself runs.
pub const SERVER_BINARIES: &[&str] = &["ovsdb-server", "ovsdb-tool", "ovsdb-client", "ovs-appctl"];

/// Environment variable that turns a missing program into a test failure when set to `1`.
pub const REAL_TESTS_ENV: &str = "OVNLINK_REAL_TESTS";

/// The Debian packages that provide every program and schema the real-server tests use.
pub const DEBIAN_PACKAGES: &str =
    "openvswitch-common ovn-common ovn-central ovn-ic ovn-ic-db ovn-host";

/// How long [`OvsdbServerBuilder::start`] waits for a server to accept connections by default.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// How long [`OvsdbCluster::start`] waits for the members to form a cluster by default.
pub const DEFAULT_CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`run`] lets a command run before it kills it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a server gets to exit after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// How long to wait for a process to disappear after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Pause between two polls of a condition.
const POLL: Duration = Duration::from_millis(10);

/// Lines of the log quoted in an error.
const LOG_TAIL_LINES: usize = 25;

/// Returns the full host path of the program `name` in the current
/// [`release`](crate::release::release()): on the host, `PATH` then `/usr/sbin`, `/usr/bin`,
/// `/sbin`, `/bin`, `/usr/local/sbin`; in a release root, those directories of the root. A
/// `name` containing `/` is returned as is when that file exists.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    release().find_binary(name)
}

/// Decides whether a test that needs the programs `names` runs.
///
/// Returns `true` when all of them are found (see [`find_binary`]). Otherwise, when the
/// environment variable `OVNLINK_REAL_TESTS` is `1`, it panics with a message that says how to
/// install them; when it is not, it prints `skipped: ...` to standard error and returns `false`,
/// and the test should return early.
///
/// # Panics
///
/// When a program is missing and `OVNLINK_REAL_TESTS=1` is set.
pub fn require_binaries(names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| find_binary(name).is_none())
        .collect();
    decide("program", &missing, real_tests_required())
}

/// Like [`require_binaries`], for files that must exist (schemas such as [`OVN_NB_SCHEMA`]),
/// named as the current release's programs see them.
///
/// # Panics
///
/// When a file is missing and `OVNLINK_REAL_TESTS=1` is set.
pub fn require_files(paths: &[&str]) -> bool {
    let missing: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|path| !release().host_path(path).exists())
        .collect();
    decide("file", &missing, real_tests_required())
}

/// Decides whether a test against the real servers runs: [`require_binaries`] for
/// [`SERVER_BINARIES`], then [`require_files`] for [`ALL_SCHEMAS`]. A test that also runs
/// other programs (`ovn-nbctl`, `ovn-northd`, `ovn-ic`) checks them with [`require_binaries`].
///
/// # Panics
///
/// When something is missing and `OVNLINK_REAL_TESTS=1` is set.
pub fn real_servers() -> bool {
    require_binaries(SERVER_BINARIES) && require_files(ALL_SCHEMAS)
}

/// The skip policy for what the other `require_*` functions do not cover (host tools such as
/// `dpkg-deb`, a Debian root): `true` when `missing` is empty; otherwise a panic under
/// `OVNLINK_REAL_TESTS=1`, else a `skipped:` line and `false`. `kind` names what is missing
/// (`program`, `file`, `root`).
///
/// # Panics
///
/// When something is missing and `OVNLINK_REAL_TESTS=1` is set.
pub fn require(kind: &str, missing: &[&str]) -> bool {
    decide(kind, missing, real_tests_required())
}

fn real_tests_required() -> bool {
    std::env::var_os(REAL_TESTS_ENV).is_some_and(|value| value == "1")
}

/// The skip policy, apart from the environment: `true` when nothing is missing; a panic when
/// something is missing and the real tests are required; otherwise a `skipped:` line.
fn decide(kind: &str, missing: &[&str], required: bool) -> bool {
    if missing.is_empty() {
        return true;
    }
    let what = format!("{kind}(s) not found: {}", missing.join(", "));
    if required {
        panic!(
            "{REAL_TESTS_ENV}=1 but {what}. Install Debian's packages with \
             `apt-get install {DEBIAN_PACKAGES}` (scripts/test.sh does this), \
             or unset {REAL_TESTS_ENV} to skip the tests that need them."
        );
    }
    let test = thread::current().name().unwrap_or("test").to_owned();
    eprintln!(
        "skipped: {test}: {what} (install: apt-get install {DEBIAN_PACKAGES}; \
         set {REAL_TESTS_ENV}=1 to make this a failure)"
    );
    false
}

/// Runs `program` with `args` and returns its standard output.
///
/// The program is looked up with [`find_binary`], gets no standard input, and is killed after
/// [`COMMAND_TIMEOUT`]. A non-zero exit status is an error whose message holds the command
/// line, the status and the program's standard error.
pub fn run(program: &str, args: &[&str]) -> io::Result<String> {
    run_with_timeout(program, args, COMMAND_TIMEOUT)
}

/// Like [`run`], with a time limit of `timeout` instead of [`COMMAND_TIMEOUT`].
pub fn run_with_timeout(program: &str, args: &[&str], timeout: Duration) -> io::Result<String> {
    let output = run_command(program, args, timeout)?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(io::Error::other(format!(
            "`{}` failed ({}): {}",
            command_line(program, args),
            output.status,
            output.stderr.trim_end()
        )))
    }
}

/// Tells whether the process `pid` exists and is not a zombie.
///
/// A daemon that exited but was not yet reaped by its parent (the container's init, since
/// `ovsdb-server --detach` leaves the harness's process tree) counts as gone.
pub fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| !matches!(state, 'Z' | 'X' | 'x')),
        Err(_) if Path::new("/proc/self/stat").exists() => false,
        // No procfs: ask kill(1), which cannot tell zombies apart.
        Err(_) => Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success()),
    }
}

struct CommandOutput {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn command_line(program: &str, args: &[&str]) -> String {
    let mut line = program.to_owned();
    for arg in args {
        line.push(' ');
        line.push_str(arg);
    }
    line
}

/// Runs a command with a time limit. Output is read on helper threads and collected through
/// channels with a deadline, so a daemon that keeps the pipes open cannot hang the caller.
fn run_command(program: &str, args: &[&str], timeout: Duration) -> io::Result<CommandOutput> {
    let path = find_binary(program).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("program `{program}` not found on PATH or in /usr/sbin"),
        )
    })?;
    let mut child = release()
        .command(&path)
        .args(release().args(&path, args))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| annotate(err, &format!("cannot run {}", path.display())))?;
    let stdout = child.stdout.take().map(read_in_background);
    let stderr = child.stderr.take().map(read_in_background);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            // Best effort: the child may have exited in between.
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "`{}` did not finish within {timeout:?}",
                    command_line(program, args)
                ),
            ));
        }
        thread::sleep(POLL);
    };
    let collect = |reader: Option<mpsc::Receiver<Vec<u8>>>| {
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        reader
            .and_then(|rx| rx.recv_timeout(remaining).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    Ok(CommandOutput {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn read_in_background<R: Read + Send + 'static>(mut reader: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the stream; what was read so far is still worth reporting.
        let _ = reader.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

fn annotate(err: io::Error, context: &str) -> io::Error {
    io::Error::new(err.kind(), format!("{context}: {err}"))
}

/// Sends `signal` (`TERM`, `KILL`) to `pid` with kill(1).
pub(crate) fn send_signal(pid: u32, signal: &str) -> io::Result<()> {
    // The host's kill(1): pids are shared with a release root, so no chroot is needed.
    let output = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stdin(Stdio::null())
        .output()?;
    if output.status.success() || !process_alive(pid) {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "kill -s {signal} {pid} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        )))
    }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes.
fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL);
    }
}

/// Reads the `name` member of an `.ovsschema` file.
fn schema_name(schema: &Path) -> io::Result<String> {
    let in_release = release().host_path(schema);
    let file = if in_release.exists() {
        in_release.as_path()
    } else {
        schema
    };
    let text = fs::read_to_string(file)
        .map_err(|err| annotate(err, &format!("cannot read schema {}", schema.display())))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|err| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("schema {} is not JSON: {err}", schema.display()),
        )
    })?;
    json.get("name")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("schema {} has no string member `name`", schema.display()),
            )
        })
}

/// The schema file `schema` as the release's `ovsdb-tool` can read it: the release's own file
/// when it has one at that path (`/usr/share/ovn/…` names the root's schema inside a root),
/// otherwise a copy in `dir` (a schema of the repository, outside the root).
fn reachable_schema(schema: &Path, dir: &Path) -> io::Result<PathBuf> {
    let r = release();
    if r.is_host() || r.host_path(schema).exists() {
        return Ok(schema.to_path_buf());
    }
    let name = schema
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "schema path has no name"))?;
    let copy = dir.join(name);
    fs::copy(schema, &copy)
        .map_err(|err| annotate(err, &format!("cannot copy schema {}", schema.display())))?;
    Ok(copy)
}

fn path_str(path: &Path) -> io::Result<&str> {
    path.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {} is not UTF-8", path.display()),
        )
    })
}

fn temp_dir(prefix: &str) -> io::Result<tempfile::TempDir> {
    // A short prefix keeps socket paths far below the 108-byte limit of `sun_path`; inside a
    // release root, so that its programs reach the files.
    release().tempdir(prefix)
}

/// Finds the port in the `socket_util` line `0:127.0.0.1: listening on port N` that
/// `ovsdb-server` logs for `--remote=ptcp:0:127.0.0.1`.
fn parse_listening_port(log: &str) -> Option<u16> {
    log.lines()
        .filter_map(|line| line.split_once("0:127.0.0.1: listening on port "))
        .find_map(|(_, port)| port.trim().parse().ok())
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One `ovsdb-server` process and the files it uses, all in `dir`. Stops the process on drop.
#[derive(Debug)]
struct Daemon {
    /// Directory of the socket, pid, log and control files.
    dir: PathBuf,
    /// Database files served, in order.
    db_files: Vec<PathBuf>,
    /// Whether to listen on TCP `127.0.0.1` too.
    tcp: bool,
    /// TCP port, known after the first start and reused by restarts.
    tcp_port: Option<u16>,
    /// Extra command-line arguments.
    extra_args: Vec<String>,
    /// How long a start may take.
    startup_timeout: Duration,
    /// Pid of the running daemon; `None` when stopped.
    pid: Option<u32>,
}

impl Daemon {
    fn sock(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    fn ctl(&self) -> PathBuf {
        self.dir.join("ovsdb-server.ctl")
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.join("ovsdb-server.pid")
    }

    fn logfile(&self) -> PathBuf {
        self.dir.join("ovsdb-server.log")
    }

    fn stderr_file(&self) -> PathBuf {
        self.dir.join("ovsdb-server.stderr")
    }

    fn log(&self) -> String {
        fs::read(self.logfile())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The last lines of the log and everything the daemon wrote to standard error, for errors.
    fn diagnostics(&self) -> String {
        let stderr = fs::read_to_string(self.stderr_file()).unwrap_or_default();
        format!(
            "\n--- standard error ---\n{}\n--- last lines of {} ---\n{}",
            stderr.trim_end(),
            self.logfile().display(),
            tail(&self.log(), LOG_TAIL_LINES)
        )
    }

    fn is_running(&self) -> bool {
        self.pid.is_some_and(process_alive)
    }

    /// Starts the daemon and waits until its sockets accept connections.
    fn start(&mut self) -> io::Result<()> {
        if self.is_running() {
            return Err(io::Error::other("ovsdb-server is already running"));
        }
        self.pid = None;
        let sock = self.sock();
        // A SIGKILLed server leaves its socket behind; remove it so that a successful connect
        // below proves the new server is up.
        let _ = fs::remove_file(&sock);
        let _ = fs::remove_file(self.pidfile());
        let log_len = fs::metadata(self.logfile()).map_or(0, |meta| meta.len());

        let mut args: Vec<String> = Vec::new();
        for db in &self.db_files {
            args.push(path_str(db)?.to_owned());
        }
        args.push(format!("--remote=punix:{}", path_str(&sock)?));
        if self.tcp {
            let port = self.tcp_port.unwrap_or(0);
            args.push(format!("--remote=ptcp:{port}:127.0.0.1"));
        }
        args.extend([
            "--detach".to_owned(),
            "--no-chdir".to_owned(),
            format!("--pidfile={}", path_str(&self.pidfile())?),
            format!("--log-file={}", path_str(&self.logfile())?),
            format!("--unixctl={}", path_str(&self.ctl())?),
        ]);
        args.extend(self.extra_args.iter().cloned());

        let program = find_binary("ovsdb-server")
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "ovsdb-server not found"))?;
        let stderr = fs::File::create(self.stderr_file())?;
        let stdout = stderr.try_clone()?;
        // With --detach the process we spawn forks the daemon and exits once the daemon has
        // opened its databases and sockets, so its exit status reports startup failures.
        let mut parent = release()
            .command(&program)
            .args(release().args(&program, &args))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|err| annotate(err, &format!("cannot run {}", program.display())))?;
        let started = Instant::now();
        let deadline = started + self.startup_timeout;
        let status = loop {
            if let Some(status) = parent.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = parent.kill();
                let _ = parent.wait();
                break None;
            }
            thread::sleep(POLL);
        };
        self.pid = fs::read_to_string(self.pidfile())
            .ok()
            .and_then(|text| text.trim().parse().ok());
        let failure = match status {
            None => Some(format!(
                "ovsdb-server did not detach within {:?}",
                self.startup_timeout
            )),
            Some(status) if !status.success() => Some(format!("ovsdb-server exited with {status}")),
            Some(_) if self.pid.is_none() => Some(format!(
                "ovsdb-server detached but wrote no pid to {}",
                self.pidfile().display()
            )),
            Some(_) => None,
        };
        if let Some(failure) = failure {
            return Err(self.fail(failure));
        }

        let remaining = deadline.saturating_duration_since(Instant::now());
        if !wait_until(remaining, || UnixStream::connect(&sock).is_ok()) {
            let failure = format!(
                "ovsdb-server did not accept connections on {} within {:?}",
                sock.display(),
                self.startup_timeout
            );
            return Err(self.fail(failure));
        }
        if self.tcp {
            if self.tcp_port.is_none() {
                let new_log = fs::read(self.logfile()).unwrap_or_default();
                let start = usize::try_from(log_len).unwrap_or(0).min(new_log.len());
                self.tcp_port = parse_listening_port(&String::from_utf8_lossy(&new_log[start..]));
            }
            let Some(port) = self.tcp_port else {
                let failure = "ovsdb-server logged no `listening on port` line".to_owned();
                return Err(self.fail(failure));
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !wait_until(remaining, || {
                TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
            }) {
                let failure = format!("ovsdb-server did not accept connections on port {port}");
                return Err(self.fail(failure));
            }
        }
        Ok(())
    }

    /// Kills whatever started and builds the error for a failed start.
    fn fail(&mut self, failure: String) -> io::Error {
        let diagnostics = self.diagnostics();
        let _ = self.kill_hard();
        io::Error::other(format!("{failure} [{}]{diagnostics}", release().describe()))
    }

    /// Whether `pid` still names an `ovsdb-server` (guards against signalling a reused pid).
    fn owns(pid: u32) -> bool {
        match fs::read_to_string(format!("/proc/{pid}/comm")) {
            Ok(comm) => comm.trim_end() == "ovsdb-server",
            Err(_) => process_alive(pid),
        }
    }

    /// SIGTERM, then SIGKILL if the process is still there after [`STOP_GRACE`].
    fn stop(&mut self) -> io::Result<()> {
        let Some(pid) = self.pid else {
            return Ok(());
        };
        if Self::owns(pid) && process_alive(pid) {
            send_signal(pid, "TERM")?;
            if !wait_until(STOP_GRACE, || !process_alive(pid)) {
                return self.kill_hard();
            }
        }
        self.pid = None;
        Ok(())
    }

    /// SIGKILL, and wait until the process is gone.
    fn kill_hard(&mut self) -> io::Result<()> {
        let Some(pid) = self.pid else {
            return Ok(());
        };
        if Self::owns(pid) && process_alive(pid) {
            send_signal(pid, "KILL")?;
            if !wait_until(KILL_WAIT, || !process_alive(pid)) {
                return Err(io::Error::other(format!(
                    "ovsdb-server {pid} still alive {KILL_WAIT:?} after SIGKILL"
                )));
            }
        }
        self.pid = None;
        Ok(())
    }

    /// Runs `ovs-appctl -t <control socket> args...`.
    fn appctl(&self, args: &[&str]) -> io::Result<String> {
        let target = format!("--target={}", path_str(&self.ctl())?);
        let mut full = vec!["--timeout=10", target.as_str()];
        full.extend_from_slice(args);
        run("ovs-appctl", &full)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.stop().is_err() {
            // Last resort; nothing more can be done in a destructor.
            let _ = self.kill_hard();
        }
    }
}

/// Configures and starts an [`OvsdbServer`]; made by [`OvsdbServer::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct OvsdbServerBuilder {
    schemas: Vec<PathBuf>,
    tcp: bool,
    startup_timeout: Duration,
    args: Vec<String>,
}

impl OvsdbServerBuilder {
    /// Adds a database created from the schema file `schema` (`ovsdb-tool create`). The file
    /// is named after the schema's `name`, in the server's directory. Call it once per
    /// database; two schemas with the same name are an error at [`start`](Self::start).
    pub fn database(mut self, schema: impl AsRef<Path>) -> Self {
        self.schemas.push(schema.as_ref().to_path_buf());
        self
    }

    /// Also listens on TCP `127.0.0.1` (off by default). The port is chosen by the kernel at
    /// the first start and kept across restarts; see [`OvsdbServer::tcp_port`].
    pub fn tcp(mut self, enable: bool) -> Self {
        self.tcp = enable;
        self
    }

    /// How long a start (and each restart) may take before it fails; default
    /// [`DEFAULT_STARTUP_TIMEOUT`].
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Passes one more argument to `ovsdb-server`, for example `-vjsonrpc:file:dbg` or
    /// `--disable-file-column-diff`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Creates the temporary directory and the database files, starts the server and waits
    /// until it accepts connections.
    ///
    /// The error of a failed start carries `ovsdb-server`'s standard error and the tail of
    /// its log.
    pub fn start(self) -> io::Result<OvsdbServer> {
        let dir = temp_dir("ovsdb-")?;
        let mut databases = Vec::with_capacity(self.schemas.len());
        let mut db_files = Vec::with_capacity(self.schemas.len());
        for schema in &self.schemas {
            let name = schema_name(schema)?;
            if databases.contains(&name) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("two databases named {name}"),
                ));
            }
            let file = dir.path().join(format!("{name}.db"));
            let schema = reachable_schema(schema, dir.path())?;
            run(
                "ovsdb-tool",
                &["create", path_str(&file)?, path_str(&schema)?],
            )?;
            databases.push(name);
            db_files.push(file);
        }
        let mut daemon = Daemon {
            dir: dir.path().to_path_buf(),
            db_files,
            tcp: self.tcp,
            tcp_port: None,
            extra_args: self.args,
            startup_timeout: self.startup_timeout,
            pid: None,
        };
        daemon.start()?;
        Ok(OvsdbServer {
            daemon,
            databases,
            dir,
        })
    }
}

/// A standalone `ovsdb-server` running in a temporary directory; stopped and removed on drop.
///
/// Made by [`OvsdbServer::builder`] or [`OvsdbServer::start`].
#[derive(Debug)]
pub struct OvsdbServer {
    // Field order matters: the daemon is dropped (stopped) before its directory is removed.
    daemon: Daemon,
    databases: Vec<String>,
    dir: tempfile::TempDir,
}

impl OvsdbServer {
    /// A builder with no database, unix socket only, [`DEFAULT_STARTUP_TIMEOUT`].
    pub fn builder() -> OvsdbServerBuilder {
        OvsdbServerBuilder {
            schemas: Vec::new(),
            tcp: false,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            args: Vec::new(),
        }
    }

    /// Starts a server with one database created from `schema`, on a unix socket only.
    pub fn start(schema: impl AsRef<Path>) -> io::Result<Self> {
        Self::builder().database(schema).start()
    }

    /// The server's temporary directory (database files, socket, pid file, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Path of the unix socket, `<dir>/db.sock`. It stays the same across restarts.
    pub fn unix_path(&self) -> PathBuf {
        self.daemon.sock()
    }

    /// The connection method for the unix socket: `unix:<dir>/db.sock`.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.daemon.sock().display())
    }

    /// The TCP port on `127.0.0.1`, when the server was built with [`tcp(true)`](
    /// OvsdbServerBuilder::tcp). It stays the same across restarts.
    pub fn tcp_port(&self) -> Option<u16> {
        self.daemon.tcp_port
    }

    /// The connection method for TCP, `tcp:127.0.0.1:<port>`, when TCP is on.
    pub fn tcp_remote(&self) -> Option<String> {
        self.daemon
            .tcp_port
            .map(|port| format!("tcp:127.0.0.1:{port}"))
    }

    /// Names of the databases served (besides `_Server`), in the order they were added.
    pub fn databases(&self) -> &[String] {
        &self.databases
    }

    /// Path of the file holding database `name`.
    pub fn db_path(&self, name: &str) -> Option<PathBuf> {
        self.databases
            .iter()
            .position(|db| db == name)
            .map(|i| self.daemon.db_files[i].clone())
    }

    /// Pid of the running server; `None` after [`stop`](Self::stop) or
    /// [`kill_hard`](Self::kill_hard).
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid
    }

    /// Whether the server process is alive.
    pub fn is_running(&self) -> bool {
        self.daemon.is_running()
    }

    /// Contents of the server's log file (all runs, appended), empty if it cannot be read.
    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// Runs a command-line tool and returns its standard output; see the free function [`run`].
    /// Pass the server with [`remote`](Self::remote), for example
    /// `server.run("ovsdb-client", &["dump", &server.remote(), "OVN_Northbound"])`.
    pub fn run(&self, program: &str, args: &[&str]) -> io::Result<String> {
        run(program, args)
    }

    /// Runs `ovs-appctl` against this server's control socket, for example
    /// `server.appctl(&["ovsdb-server/compact"])`.
    pub fn appctl(&self, args: &[&str]) -> io::Result<String> {
        self.daemon.appctl(args)
    }

    /// Stops the server (SIGTERM, SIGKILL after a short grace) and keeps its files.
    /// Stopping a stopped server does nothing.
    pub fn stop(&mut self) -> io::Result<()> {
        self.daemon.stop()
    }

    /// Kills the server with SIGKILL, as a crash would, and keeps its files.
    pub fn kill_hard(&mut self) -> io::Result<()> {
        self.daemon.kill_hard()
    }

    /// Stops the server if it runs, then starts it again on the same database files, socket
    /// path and TCP port, and waits until it accepts connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.daemon.stop()?;
        self.daemon.start()
    }
}

#[cfg(test)]
mod tests;
