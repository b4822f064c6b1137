//! `--detach` and `--monitor` with Open vSwitch's observable behaviour, without `fork`.
//!
//! Open vSwitch daemons fork: `--detach` forks a child and the parent returns once the child
//! says it is ready (pid file locked, control socket listening); `--monitor` forks once more
//! and the middle process watches the daemon, restarting it after a crash. A multi-threaded
//! Rust process cannot fork safely, so `ic-routed` re-executes itself instead, with the same
//! arguments and `argv[0]`, and tells the new process its part through the environment
//! ([`ROLE_ENV`]):
//!
//! ```text
//! ovn-ctl ─► ovn-ic --detach --monitor …      (foreground: waits, exits 0 once ready)
//!              └─► ovn-ic (role monitor)       setsid; comm "monitor"; restarts after a crash
//!                    └─► ovn-ic (role daemon)  pid file, control socket, the work
//! ```
//!
//! Readiness travels on the child's standard output, a pipe to its parent: the child writes
//! [`READY`] once its pid file is locked and its control socket listens, then points its
//! standard output (and, when detached, its standard error) at `/dev/null`. A child that
//! dies first closes the pipe without writing, and the parent fails with the child's exit
//! status. Until then a child's standard error is its parent's, so startup errors reach the
//! terminal (or `ovn-ctl`'s output) as they do with Open vSwitch's daemons.
//!
//! The monitor restarts the daemon when it dies of a signal that means a bug, the list Open
//! vSwitch documents for `--monitor` ([`should_restart`]): SIGABRT (a panic in `ic-routed`
//! aborts), SIGALRM, SIGBUS, SIGFPE, SIGILL, SIGPIPE, SIGSEGV, SIGXCPU and SIGXFSZ, at most
//! once every 10 seconds. Any other end (an exit of any status after `exit` or an error,
//! SIGTERM, SIGKILL) ends the monitor too, as with Open vSwitch: `ovn-ctl stop_ic` and an
//! operator's `kill -9` stop the daemon for good.
//!
//! One consequence of Rust's runtime: it handles SIGSEGV and SIGBUS to report stack
//! overflows, and a SIGSEGV or SIGBUS that another process *sends* (`kill -SEGV`), not a real
//! fault, only resets that handler the first time; the second one kills. Real faults, and
//! every other signal of the list, end the daemon at once.

use std::ffi::{CString, OsString};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::{CommandExt, ExitStatusExt};

use rustix::process::Signal;

/// The environment variable that tells a re-executed `ic-routed` its part: `monitor`,
/// `daemon` (detached by a parent that waits for it) or `monitored-daemon` (started by a
/// monitor). Internal; unset for a process started by hand.
pub const ROLE_ENV: &str = "OVNLINK_IC_ROUTED_ROLE";

/// Set (to `1`) for the processes of a detached daemon.
pub const DETACHED_ENV: &str = "OVNLINK_IC_ROUTED_DETACHED";

/// What a child writes on its standard output once it is ready.
pub const READY: &[u8] = b"ready\n";

/// The shortest time between two restarts by the monitor (Open vSwitch's).
pub const RESTART_INTERVAL: Duration = Duration::from_secs(10);

/// This process's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Started by hand or by a script: detaches or monitors as its flags say, or is the
    /// daemon itself.
    Foreground,
    /// The monitor of a detached daemon.
    Monitor,
    /// The daemon, started by a parent that waits for its readiness.
    Daemon {
        /// Whether a monitor started it.
        monitored: bool,
    },
}

impl Role {
    /// This process's role, from [`ROLE_ENV`].
    pub fn current() -> Role {
        Role::from_env_value(std::env::var(ROLE_ENV).ok().as_deref())
    }

    fn from_env_value(value: Option<&str>) -> Role {
        match value {
            Some("monitor") => Role::Monitor,
            Some("daemon") => Role::Daemon { monitored: false },
            Some("monitored-daemon") => Role::Daemon { monitored: true },
            _ => Role::Foreground,
        }
    }

    fn env_value(self) -> Option<&'static str> {
        match self {
            Role::Foreground => None,
            Role::Monitor => Some("monitor"),
            Role::Daemon { monitored: false } => Some("daemon"),
            Role::Daemon { monitored: true } => Some("monitored-daemon"),
        }
    }
}

/// Whether this process belongs to a detached daemon ([`DETACHED_ENV`]).
pub fn detached() -> bool {
    std::env::var_os(DETACHED_ENV).is_some_and(|v| v == "1")
}

/// The program's name, as Open vSwitch takes it: the last component of `argv[0]`
/// (`ovn-ic` when installed under that name), `ic-routed` when there is none.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .and_then(|a| {
            Path::new(a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "ic-routed".to_owned())
}

/// Sets this process's name (`/proc/PID/comm`, what `ps` and `ovn-ctl`'s `pid_comm_check`
/// read) to at most 15 bytes of `name`. A re-executed process is otherwise named after the
/// executable file, not after the name it was installed under. Call it on the main thread.
pub fn set_process_name(name: &str) {
    let mut bytes: Vec<u8> = name.bytes().filter(|b| *b != 0).collect();
    bytes.truncate(15);
    if let Ok(name) = CString::new(bytes) {
        let _ = rustix::thread::set_name(&name);
    }
}

/// How to start this program again: the executable, `argv[0]` and the arguments.
#[derive(Debug, Clone)]
pub struct Launch {
    exe: PathBuf,
    arg0: OsString,
    args: Vec<OsString>,
}

impl Launch {
    /// This process's own command line. The executable is `/proc/self/exe`: the file this
    /// process runs, even after an upgrade replaced it (a fork would run the old code too),
    /// and reachable after `--user` gave up root whatever the permissions of its directory.
    /// Without `/proc`, the path it resolved to, else `argv[0]` (looked up in `PATH`).
    pub fn current() -> Launch {
        let mut argv = std::env::args_os();
        let arg0 = argv.next().unwrap_or_else(|| OsString::from("ic-routed"));
        let proc_exe = Path::new("/proc/self/exe");
        let exe = if proc_exe.exists() {
            proc_exe.to_path_buf()
        } else {
            std::env::current_exe().unwrap_or_else(|_| PathBuf::from(&arg0))
        };
        Launch {
            exe,
            arg0,
            args: argv.collect(),
        }
    }

    /// Starts the program as `role`, standard input from `/dev/null`, standard output a
    /// pipe for the readiness message, standard error inherited; returns once the child is
    /// ready.
    ///
    /// # Errors
    ///
    /// [`StartError::Spawn`] when it cannot be started, [`StartError::Died`] (with the exit
    /// status) when it ends before it is ready.
    pub fn start(&self, role: Role, detached: bool) -> Result<Child, StartError> {
        // Close-on-exec: only the child's standard output (a dup2 of the write end) stays.
        let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| StartError::Spawn(e.into()))?;
        let mut reader = std::fs::File::from(reader);
        let mut command = Command::new(&self.exe);
        command
            .arg0(&self.arg0)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::inherit());
        match role.env_value() {
            Some(v) => command.env(ROLE_ENV, v),
            None => command.env_remove(ROLE_ENV),
        };
        if detached {
            command.env(DETACHED_ENV, "1");
        } else {
            command.env_remove(DETACHED_ENV);
        }
        let mut child = command.spawn().map_err(StartError::Spawn)?;
        // The write end lives in `command` until it is dropped; the child's copy then is the
        // only one, so a child that dies closes the pipe.
        drop(command);
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < READY.len() {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if got.starts_with(READY) {
            return Ok(child);
        }
        match child.wait() {
            Ok(status) => Err(StartError::Died(status)),
            Err(e) => Err(StartError::Spawn(e)),
        }
    }
}

/// Why a child never became ready.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// It could not be started (or waited for).
    #[error("cannot start: {0}")]
    Spawn(#[source] io::Error),
    /// It ended before it was ready.
    #[error("child died before signaling startup ({})", describe(.0))]
    Died(ExitStatus),
}

/// Called by a started child once it is ready: tells the parent (for [`Role::Foreground`],
/// nobody waits) and lets go of the pipe; a detached process also lets go of the standard
/// error it inherited, so that whoever ran the foreground command sees its output end.
pub fn notify_ready(role: Role, detached: bool) {
    if role == Role::Foreground {
        return;
    }
    let mut out = io::stdout().lock();
    let _ = out.write_all(READY);
    let _ = out.flush();
    drop(out);
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = rustix::stdio::dup2_stdout(&null);
        if detached {
            let _ = rustix::stdio::dup2_stderr(&null);
        }
    }
}

/// Starts a new session, leaving the terminal's (a detached process's first step).
pub fn new_session() {
    let _ = rustix::process::setsid();
}

/// Whether the monitor restarts a daemon that ended with `status`: it died of SIGABRT,
/// SIGALRM, SIGBUS, SIGFPE, SIGILL, SIGPIPE, SIGSEGV, SIGXCPU or SIGXFSZ (Open vSwitch's
/// list of signals that mean a bug).
pub fn should_restart(status: ExitStatus) -> bool {
    const CRASHES: [Signal; 9] = [
        Signal::ABORT,
        Signal::ALARM,
        Signal::BUS,
        Signal::FPE,
        Signal::ILL,
        Signal::PIPE,
        Signal::SEGV,
        Signal::XCPU,
        Signal::XFSZ,
    ];
    status
        .signal()
        .is_some_and(|s| CRASHES.iter().any(|c| c.as_raw() == s))
}

/// An exit status in words, as Open vSwitch's monitor logs it: `exit status 1`,
/// `killed (Segmentation fault)`, `killed (Aborted), core dumped`.
pub fn describe(status: &ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    let Some(sig) = status.signal() else {
        return "unknown status".to_owned();
    };
    let names: [(Signal, &str); 14] = [
        (Signal::HUP, "Hangup"),
        (Signal::INT, "Interrupt"),
        (Signal::QUIT, "Quit"),
        (Signal::ILL, "Illegal instruction"),
        (Signal::ABORT, "Aborted"),
        (Signal::BUS, "Bus error"),
        (Signal::FPE, "Floating point exception"),
        (Signal::KILL, "Killed"),
        (Signal::SEGV, "Segmentation fault"),
        (Signal::PIPE, "Broken pipe"),
        (Signal::ALARM, "Alarm clock"),
        (Signal::TERM, "Terminated"),
        (Signal::XCPU, "CPU time limit exceeded"),
        (Signal::XFSZ, "File size limit exceeded"),
    ];
    let name = names
        .iter()
        .find(|(s, _)| s.as_raw() == sig)
        .map_or_else(|| format!("signal {sig}"), |(_, n)| (*n).to_owned());
    if status.core_dumped() {
        format!("killed ({name}), core dumped")
    } else {
        format!("killed ({name})")
    }
}

/// What the monitor reports, for its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorEvent {
    /// The daemon died of a crash and is restarted (after `wait` when the last restart was
    /// less than [`RESTART_INTERVAL`] ago).
    Restarting {
        /// Crashes so far.
        crashes: u32,
        /// The dead daemon.
        pid: u32,
        /// How it died ([`describe`]).
        how: String,
        /// The delay before the restart.
        wait: Duration,
    },
    /// A daemon (re)started.
    Started {
        /// Its process id.
        pid: u32,
    },
    /// The daemon ended for good; the monitor exits.
    Exiting {
        /// The dead daemon.
        pid: u32,
        /// How it ended ([`describe`]).
        how: String,
    },
    /// A restarted daemon could not be started at all (the monitor retries).
    StartFailed(String),
}

/// Runs the monitor: starts the daemon, tells this process's parent once it is ready (a
/// detached monitor), restarts it after each crash ([`should_restart`]), and returns when it
/// ends otherwise. `report` receives every event.
///
/// # Errors
///
/// When the first daemon never became ready: the monitor then exits with failure, and its
/// parent reports it.
pub fn monitor(
    launch: &Launch,
    role: Role,
    detached: bool,
    mut report: impl FnMut(&MonitorEvent),
) -> Result<(), StartError> {
    let daemon = Role::Daemon { monitored: true };
    let mut child = launch.start(daemon, detached)?;
    report(&MonitorEvent::Started { pid: child.id() });
    notify_ready(role, detached);
    let mut crashes = 0u32;
    let mut last_restart: Option<Instant> = None;
    loop {
        let pid = child.id();
        let status = match child.wait() {
            Ok(status) => status,
            Err(e) => {
                report(&MonitorEvent::StartFailed(format!("waitpid failed ({e})")));
                return Ok(());
            }
        };
        let mut status = status;
        // Restart for as long as the daemon keeps crashing (also before it is ready).
        loop {
            if !should_restart(status) {
                report(&MonitorEvent::Exiting {
                    pid,
                    how: describe(&status),
                });
                return Ok(());
            }
            crashes += 1;
            if status.core_dumped() {
                // Like Open vSwitch: one core file is enough.
                let _ = rustix::process::setrlimit(
                    rustix::process::Resource::Core,
                    rustix::process::Rlimit {
                        current: Some(0),
                        maximum: Some(0),
                    },
                );
            }
            let wait = last_restart.map_or(Duration::ZERO, |t| {
                RESTART_INTERVAL.saturating_sub(t.elapsed())
            });
            report(&MonitorEvent::Restarting {
                crashes,
                pid,
                how: describe(&status),
                wait,
            });
            std::thread::sleep(wait);
            last_restart = Some(Instant::now());
            match launch.start(daemon, detached) {
                Ok(c) => {
                    report(&MonitorEvent::Started { pid: c.id() });
                    child = c;
                    break;
                }
                Err(StartError::Died(s)) => status = s,
                Err(e) => {
                    report(&MonitorEvent::StartFailed(e.to_string()));
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signaled(sig: Signal) -> ExitStatus {
        ExitStatus::from_raw(sig.as_raw())
    }

    #[test]
    fn crashes_restart_and_ordinary_ends_do_not() {
        for sig in [Signal::SEGV, Signal::ABORT, Signal::BUS, Signal::PIPE] {
            assert!(should_restart(signaled(sig)), "{sig:?}");
        }
        for sig in [Signal::KILL, Signal::TERM, Signal::INT, Signal::HUP] {
            assert!(!should_restart(signaled(sig)), "{sig:?}");
        }
        assert!(!should_restart(ExitStatus::from_raw(0)));
        assert!(!should_restart(ExitStatus::from_raw(1 << 8)));
        assert!(!should_restart(ExitStatus::from_raw(101 << 8)));
    }

    #[test]
    fn statuses_read_as_open_vswitch_logs_them() {
        assert_eq!(describe(&ExitStatus::from_raw(0)), "exit status 0");
        assert_eq!(describe(&ExitStatus::from_raw(1 << 8)), "exit status 1");
        assert_eq!(
            describe(&signaled(Signal::SEGV)),
            "killed (Segmentation fault)"
        );
        assert_eq!(describe(&signaled(Signal::KILL)), "killed (Killed)");
        // 0x80: the core-dump bit of a wait status.
        assert_eq!(
            describe(&ExitStatus::from_raw(Signal::ABORT.as_raw() | 0x80)),
            "killed (Aborted), core dumped"
        );
    }

    #[test]
    fn roles_round_trip_through_the_environment_value() {
        for role in [
            Role::Monitor,
            Role::Daemon { monitored: false },
            Role::Daemon { monitored: true },
        ] {
            assert_eq!(Role::from_env_value(role.env_value()), role);
        }
        assert_eq!(Role::Foreground.env_value(), None);
        assert_eq!(Role::from_env_value(Some("other")), Role::Foreground);
    }
}
