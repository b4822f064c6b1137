//! `ic-routed`: one availability zone's interconnection daemon, with ovn-ic's flags.
//!
//! ```text
//! ic-routed --ovnnb-db=unix:/run/ovn/ovnnb_db.sock --ovnsb-db=tcp:127.0.0.1:6642 \
//!           --ic-nb-db=tcp:127.0.0.1:6645 --ic-sb-db=tcp:127.0.0.1:6646 \
//!           --log-file=/tmp/ic.log --pidfile=/tmp/ic.pid --unixctl=/tmp/ic.ctl --detach
//! ```
//!
//! # Under `ovn-ctl`
//!
//! Installed as `ovn-ic` (a copy or a link earlier in `PATH` than Debian's), the program is
//! named after `argv[0]` and `ovn-ctl start_ic`/`stop_ic`/`restart_ic` and `ovn-appctl -t
//! ovn-ic` drive it as they drive ovn-ic: a locked pid file (`ic_routed::pidfile`),
//! `--detach`/`--monitor` by re-executing itself (`ic_routed::daemonize`), `--user`
//! (`ic_routed::user`), ovn-ic's control commands (`ic_routed::unixctl`) and Open vSwitch's log
//! flags (`ic_routed::vlog`). One binary plays three roles, told apart by
//! `ic_routed::daemonize::ROLE_ENV`: the foreground command, the monitor and the daemon.
//!
//! # VPC isolation
//!
//! With `--isolation-policy=POLICY.json` the route engine runs with crate `isolation`'s
//! `VpcFilter`: a router of this zone learns an IC-SB route only when its VPC and the
//! route's source VPC may talk under the policy, and a Neutron router never advertises its
//! external gateway networks.
//!
//! - The policy is `isolation::Policy` JSON (pairs of OpenStack and Kubernetes VPCs, extra
//!   peerings, `unknown_source`/`unknown_learner`, both deny by default).
//! - The VPC inventory is live (`isolation::live`): this zone's VPCs are read from its NB
//!   replica; every advertisement of a VPC router carries the VPC's identity in IC-SB
//!   `Route.external_ids` (`ovnlink:vpc`, `ovnlink:vpc-kind`, `ovnlink:vpc-project`,
//!   `ovnlink:vpc-router-name`, `ovnlink:vpc-kube`), from which the `ic-routed` of another
//!   zone rebuilds the VPCs its policy selectors match (a claim is believed only from the
//!   zone it names). Zones running stock ovn-ic write no claims: give their VPCs with
//!   `--isolation-zone-nb ZONE=REMOTE` (a read-only replica of that zone's NB, ovn-ic's
//!   remote syntax and TLS flags; repeatable) or with `--isolation-inventory=FILE`. For a
//!   zone, a replica wins over the file, and the file over claims.
//! - The inventory file is `isolation::World::from_inventory_json`'s format:
//!   `{"zones": {"<az>": DB, …}, "ic_nb": DB, "ic_sb": DB}` with `DB` either
//!   `{"<Table>": {"<uuid>": {<column>: <datum>}}}` or the text of
//!   `ovsdb-client -f json dump <remote> OVN_Northbound`; zone keys are availability-zone
//!   names. Sources are identified by `lr-id`, `nb-id`, the nexthop's transit-switch port,
//!   the `ovnlink:vpc` tag, then prefix containment (see `isolation::filter`); learners by
//!   router UUID, else by router name.
//! - VPCs, subnets and routers created, changed or deleted in any zone take effect within a
//!   round: the inventory is rebuilt when a table it reads changes (the zone's routers,
//!   router ports, switches and switch ports; IC-SB zones, port bindings and claims; a
//!   remote replica), and when the filter it gives differs the route engine recomputes
//!   every route.
//! - The policy is re-read on `ovn-appctl -t CTL isolation/reload` and on SIGHUP. A file
//!   that does not parse or validate is refused with one line naming the file and the
//!   entry (the reply's error, or a log line for SIGHUP) and the running policy stays;
//!   a good one takes effect in the next round. With `--isolation-inventory`, every
//!   selector must match one of the file's VPCs, at start and on reload; without, a
//!   selector may name a VPC that does not exist yet (logged).
//! - At start a policy or inventory file that does not parse, or a selector that matches no
//!   VPC of the inventory file, is an error naming the file and the object, and the daemon
//!   does not start.
#![forbid(unsafe_code)]

/// The daemon allocates and frees many small rows per round (replica updates, engine
/// groups, operations); mimalloc cut a 20k-route round's allocator time (measured with
/// `perf`: malloc/free were a quarter of the samples with glibc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use ic_routed::daemon::{Config, Control, Daemon, TlsFiles};
use ic_routed::daemonize::{self, Launch, MonitorEvent, Role, StartError};
use ic_routed::pidfile::Pidfile;
use ic_routed::policy::{Isolation, PolicySource};
use ic_routed::unixctl::{Context, Unixctl};
use ic_routed::user::Credentials;
use ic_routed::vlog::{Levels, Vlog};
use ic_routed::Controls;
use tracing::{error, info, warn};

/// OVN interconnection management daemon (route exchange, transit switches, port bindings
/// and gateways of one availability zone): a drop-in replacement for `ovn-ic`.
#[derive(Debug, Parser)]
#[command(name = "ic-routed", version, about)]
struct Args {
    /// Connect to the zone's OVN_Northbound at DATABASE (`tcp:IP:PORT`, `ssl:IP:PORT`,
    /// `unix:PATH`, comma-separated for a cluster). Default: $OVN_NB_DB or
    /// unix:$OVN_RUNDIR/ovnnb_db.sock.
    #[arg(long = "ovnnb-db", value_name = "DATABASE")]
    ovnnb_db: Option<String>,
    /// Connect to the zone's OVN_Southbound at DATABASE. Default: $OVN_SB_DB or
    /// unix:$OVN_RUNDIR/ovnsb_db.sock.
    #[arg(long = "ovnsb-db", value_name = "DATABASE")]
    ovnsb_db: Option<String>,
    /// Connect to OVN_IC_Northbound at DATABASE. Default: $OVN_IC_NB_DB or
    /// unix:$OVN_RUNDIR/ovn_ic_nb_db.sock.
    #[arg(long = "ic-nb-db", value_name = "DATABASE")]
    ic_nb_db: Option<String>,
    /// Connect to OVN_IC_Southbound at DATABASE. Default: $OVN_IC_SB_DB or
    /// unix:$OVN_RUNDIR/ovn_ic_sb_db.sock.
    #[arg(long = "ic-sb-db", value_name = "DATABASE")]
    ic_sb_db: Option<String>,
    /// Private key for `ssl:` remotes (PEM).
    #[arg(short = 'p', long = "private-key", value_name = "FILE")]
    private_key: Option<PathBuf>,
    /// Certificate for `ssl:` remotes (PEM).
    #[arg(short = 'c', long = "certificate", value_name = "FILE")]
    certificate: Option<PathBuf>,
    /// CA certificate that signed the servers' certificates (PEM).
    #[arg(short = 'C', long = "ca-cert", value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// TLS protocol versions to allow (`TLSv1.2`, `TLSv1.3`, `TLSv1.2+`, comma-separated).
    /// ic-routed offers TLS 1.2 and 1.3; a list that allows neither is an error.
    #[arg(long = "ssl-protocols", value_name = "PROTOCOLS")]
    ssl_protocols: Option<String>,
    /// Accepted for compatibility; rustls's TLS 1.2 cipher suites are used.
    #[arg(long = "ssl-ciphers", value_name = "CIPHERS")]
    ssl_ciphers: Option<String>,
    /// Accepted for compatibility; rustls's TLS 1.3 cipher suites are used.
    #[arg(long = "ssl-ciphersuites", value_name = "SUITES")]
    ssl_ciphersuites: Option<String>,
    /// Control socket for `ovn-appctl -t` (relative to $OVN_RUNDIR).
    /// Default: $OVN_RUNDIR/PROGRAM.PID.ctl, PROGRAM being the name it runs under
    /// (`ovn-ic` when installed so).
    #[arg(long, value_name = "SOCKET")]
    unixctl: Option<PathBuf>,
    /// Create a locked pid file (relative to $OVN_RUNDIR; default $OVN_RUNDIR/PROGRAM.pid).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    pidfile: Option<PathBuf>,
    /// With --pidfile, start even if a running daemon holds the pid file.
    #[arg(long)]
    overwrite_pidfile: bool,
    /// Run in the background; returns once the pid file and control socket are ready.
    #[arg(long)]
    detach: bool,
    /// Accepted for compatibility (the daemon never changes directory).
    #[arg(long)]
    no_chdir: bool,
    /// Accepted for compatibility (there is no self-confinement to disable).
    #[arg(long)]
    no_self_confinement: bool,
    /// Start a monitor process that restarts the daemon after a crash (SIGSEGV, SIGABRT, a
    /// panic, …), not after `exit`, SIGTERM or SIGKILL.
    #[arg(long)]
    monitor: bool,
    /// Run as USER (and GROUP, else USER's primary group) instead of root, from before the
    /// pid file is created; names are read from /etc/passwd and /etc/group.
    #[arg(long, value_name = "USER[:GROUP]")]
    user: Option<String>,
    /// Log to FILE (default $OVS_LOGDIR/PROGRAM.log, /var/log/openvswitch/PROGRAM.log
    /// without OVS_LOGDIR, as Open vSwitch's daemons).
    #[arg(long = "log-file", value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    log_file: Option<PathBuf>,
    /// Log levels, as Open vSwitch's vlog: `[DESTINATION:]LEVEL` with DESTINATION `console`,
    /// `syslog` (not sent) or `file`, LEVEL `off`, `emer`, `err`, `warn`, `info`, `dbg`; a
    /// module name is accepted and sets every module. Plain `-v` means `dbg` everywhere.
    /// RUST_LOG, when set, decides instead.
    #[arg(short = 'v', long = "verbose", value_name = "SPEC", num_args = 0..=1, default_missing_value = "dbg")]
    verbose: Vec<String>,
    /// Accepted for compatibility (nothing is sent to syslog).
    #[arg(long = "syslog-method", value_name = "METHOD")]
    syslog_method: Option<String>,
    /// Accepted for compatibility (nothing is sent to syslog).
    #[arg(long = "syslog-target", value_name = "HOST:PORT")]
    syslog_target: Option<String>,
    /// Behave as this release of ovn-ic (`23.03`, `24.03.2`, … `26.03`): which route rules
    /// apply (same-zone learning from 23.09, `ic-route-denylist` from 24.09, route tags from
    /// 25.03, …). Default: the release of the zone's OVN_Northbound schema.
    #[arg(long = "ovn-release", value_name = "RELEASE", value_parser = parse_release)]
    ovn_release: Option<ic_routes::Release>,
    /// VPC isolation policy (crate `isolation`'s Policy JSON: `pairs`, `peerings`,
    /// `unknown_source`, `unknown_learner`). Routers then learn only routes of VPCs the
    /// policy lets them talk to. VPCs are read live: this zone's from its NB, other zones'
    /// from the claims their ic-routed writes on its advertisements, from
    /// --isolation-zone-nb replicas or from --isolation-inventory. Re-read on
    /// `isolation/reload` and SIGHUP.
    #[arg(long = "isolation-policy", value_name = "FILE")]
    isolation_policy: Option<PathBuf>,
    /// VPCs of zones that neither run ic-routed nor have an --isolation-zone-nb replica:
    /// JSON `{"zones": {"<az>": DB, …}, "ic_nb": DB, "ic_sb": DB}` where DB is the object or
    /// string `ovsdb-client -f json dump` prints for that zone's OVN_Northbound. Every
    /// policy selector must then match one of its VPCs. Requires --isolation-policy.
    #[arg(
        long = "isolation-inventory",
        value_name = "FILE",
        requires = "isolation_policy"
    )]
    isolation_inventory: Option<PathBuf>,
    /// Read another zone's VPCs from a read-only replica of its OVN_Northbound (a zone that
    /// runs stock ovn-ic, which writes no VPC claims): ZONE is its availability-zone name,
    /// REMOTE ovn-ic's remote syntax (the TLS flags apply). Repeatable. Requires
    /// --isolation-policy.
    #[arg(
        long = "isolation-zone-nb",
        value_name = "ZONE=REMOTE",
        requires = "isolation_policy",
        value_parser = ic_routed::policy::ZoneRemote::parse
    )]
    isolation_zone_nb: Vec<ic_routed::policy::ZoneRemote>,
    /// Serve Prometheus metrics (OpenMetrics text) at http://ADDR:PORT/metrics: rounds,
    /// round duration, routes advertised and learned, route decisions by reason,
    /// transactions, replica state, lock state. Off by default.
    #[arg(long = "metrics-address", value_name = "ADDR:PORT")]
    metrics_address: Option<std::net::SocketAddr>,
}

/// Reads the isolation policy and the inventory file, if any; the error names the file and
/// what is wrong with it.
fn isolation(
    policy_file: &Path,
    inventory_file: Option<&Path>,
    zone_nbs: Vec<ic_routed::policy::ZoneRemote>,
) -> Result<Isolation, String> {
    let file = match inventory_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let world = isolation::World::from_inventory_json(&text)
                .map_err(|e| format!("--isolation-inventory {}: {e}", path.display()))?;
            Some(Arc::new(world))
        }
        None => None,
    };
    let check = file.as_deref().map(isolation::Inventory::from_world);
    let policy =
        PolicySource::load(policy_file, check).map_err(|e| format!("--isolation-policy {e}"))?;
    Ok(Isolation::new(Arc::new(policy))
        .file(file)
        .zone_nbs(zone_nbs))
}

fn parse_release(text: &str) -> Result<ic_routes::Release, String> {
    ic_routes::Release::parse(text).ok_or_else(|| {
        format!("`{text}` is not a release (expected MAJOR.MINOR[.PATCH], e.g. 25.03)")
    })
}

/// Where pid files and control sockets live: $OVN_RUNDIR, else `/var/run/ovn`.
fn rundir() -> PathBuf {
    std::env::var_os("OVN_RUNDIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/run/ovn"))
}

/// A `--pidfile` or `--unixctl` name as Open vSwitch resolves it: relative to the run
/// directory.
fn in_rundir(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        rundir().join(path)
    }
}

/// Where `--log-file` without a name writes, as Open vSwitch's library decides for every
/// daemon (ovn-ic's included): $OVS_LOGDIR, else `/var/log/openvswitch`.
fn logdir() -> PathBuf {
    std::env::var_os("OVS_LOGDIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/log/openvswitch"))
}

fn default_db(env: &str, sock: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| format!("unix:{}", rundir().join(sock).display()))
}

/// Checks `--ssl-protocols` against what ic-routed offers (TLS 1.2 and 1.3): the list must
/// allow one of them. Returns whether it allows exactly what is offered.
fn check_ssl_protocols(list: &str) -> Result<bool, String> {
    const KNOWN: [&str; 4] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
    let mut allowed = [false; 4];
    for word in list.split([',', ' ']).filter(|w| !w.is_empty()) {
        let (name, and_later) = match word.strip_suffix('+') {
            Some(n) => (n, true),
            None => (word, false),
        };
        let Some(i) = KNOWN.iter().position(|k| *k == name) else {
            return Err(format!("--ssl-protocols: unknown protocol `{word}`"));
        };
        for (j, a) in allowed.iter_mut().enumerate() {
            if j == i || (and_later && j > i) {
                *a = true;
            }
        }
    }
    if !allowed[2] && !allowed[3] {
        return Err(format!(
            "--ssl-protocols={list}: ic-routed speaks only TLSv1.2 and TLSv1.3"
        ));
    }
    Ok(allowed[2] && allowed[3])
}

impl Args {
    /// The log levels of `-v`/`--verbose`.
    fn levels(&self) -> Result<Levels, String> {
        let mut levels = Levels::default();
        for spec in &self.verbose {
            levels.apply(spec).map_err(|e| format!("-v{spec}: {e}"))?;
        }
        Ok(levels)
    }

    /// The log file: `--log-file=FILE`, or the default for `--log-file` alone.
    fn log_file(&self, program: &str) -> Option<PathBuf> {
        self.log_file.as_ref().map(|p| {
            if p.as_os_str().is_empty() {
                logdir().join(format!("{program}.log"))
            } else {
                p.clone()
            }
        })
    }

    fn pidfile(&self, program: &str) -> Option<PathBuf> {
        self.pidfile.as_ref().map(|p| {
            if p.as_os_str().is_empty() {
                rundir().join(format!("{program}.pid"))
            } else {
                in_rundir(p)
            }
        })
    }

    fn unixctl(&self, program: &str) -> PathBuf {
        match &self.unixctl {
            Some(p) => in_rundir(p),
            None => rundir().join(format!("{program}.{}.ctl", std::process::id())),
        }
    }

    /// Flags that cannot work: refused before anything starts.
    fn check(&self) -> Result<(), String> {
        if let Some(list) = &self.ssl_protocols {
            check_ssl_protocols(list)?;
        }
        self.levels().map(|_| ())
    }

    /// The daemon's configuration (the isolation files are read here).
    fn config(&self) -> Result<Config, String> {
        let tls = match (&self.private_key, &self.certificate, &self.ca_cert) {
            (Some(k), Some(c), Some(ca)) => Some(TlsFiles {
                private_key: k.clone(),
                certificate: c.clone(),
                ca_cert: ca.clone(),
            }),
            (None, None, None) => None,
            _ => return Err("--private-key, --certificate and --ca-cert go together".to_owned()),
        };
        let config = Config::new(
            self.ovnnb_db
                .clone()
                .unwrap_or_else(|| default_db("OVN_NB_DB", "ovnnb_db.sock")),
            self.ovnsb_db
                .clone()
                .unwrap_or_else(|| default_db("OVN_SB_DB", "ovnsb_db.sock")),
            self.ic_nb_db
                .clone()
                .unwrap_or_else(|| default_db("OVN_IC_NB_DB", "ovn_ic_nb_db.sock")),
            self.ic_sb_db
                .clone()
                .unwrap_or_else(|| default_db("OVN_IC_SB_DB", "ovn_ic_sb_db.sock")),
        )
        .tls(tls)
        .release(self.ovn_release)
        .metrics(
            self.metrics_address
                .map(|_| std::sync::Arc::new(ic_routed::Metrics::new())),
        );
        config.check().map_err(|e| e.to_string())?;
        let Some(policy) = &self.isolation_policy else {
            return Ok(config);
        };
        let iso = isolation(
            policy,
            self.isolation_inventory.as_deref(),
            self.isolation_zone_nb.clone(),
        )?;
        let p = iso.policy.policy();
        info!(
            pairs = p.pairs.len(),
            peerings = p.peerings.len(),
            file_vpcs = iso
                .file
                .as_deref()
                .map_or(0, |w| isolation::Inventory::from_world(w).vpcs().len()),
            zone_nbs = iso.zone_nbs.len(),
            "VPC isolation on"
        );
        let config = config.isolation(Some(iso));
        config.check().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let program = daemonize::program_name();
    if let Err(e) = args.check() {
        eprintln!("{program}: {e}");
        return ExitCode::FAILURE;
    }
    let role = Role::current();
    // First, while this process has one thread; re-executed processes inherit the ids.
    if let (Role::Foreground, Some(spec)) = (role, &args.user) {
        if let Err(e) = Credentials::lookup(spec).and_then(|c| c.assume()) {
            eprintln!("{program}: {e}");
            return ExitCode::FAILURE;
        }
    }
    match role {
        Role::Foreground if args.detach => detach(&args, &program),
        Role::Foreground if args.monitor => run_monitor(&args, &program, Role::Foreground),
        Role::Monitor => run_monitor(&args, &program, Role::Monitor),
        role => run_daemon(&args, &program, role),
    }
}

/// A child's failing exit status as this process's (Open vSwitch's parent process passes its
/// child's on the same way).
fn passed_on(status: std::process::ExitStatus) -> ExitCode {
    ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    )
}

/// `--detach`: starts the monitor (`--monitor`) or the daemon in the background and returns
/// once it is ready. A daemon that fails first has said why on standard error; its exit
/// status is passed on, as Open vSwitch does.
fn detach(args: &Args, program: &str) -> ExitCode {
    let role = if args.monitor {
        Role::Monitor
    } else {
        Role::Daemon { monitored: false }
    };
    match Launch::current().start(role, true) {
        Ok(_) => ExitCode::SUCCESS,
        Err(StartError::Died(status)) if status.code().is_some_and(|c| c != 0) => passed_on(status),
        Err(e) => {
            eprintln!("{program}: could not detach from foreground session: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The monitor: runs the daemon and restarts it after a crash (see
/// `ic_routed::daemonize`). It logs to the daemon's log file, opening it for each message so
/// that a rotated file is never held.
fn run_monitor(args: &Args, program: &str, role: Role) -> ExitCode {
    let detached = role == Role::Monitor && daemonize::detached();
    if detached {
        daemonize::new_session();
    }
    // Open vSwitch names its monitor process so; `pidof ovn-ic` finds only the daemon.
    daemonize::set_process_name("monitor");
    let levels = args.levels().unwrap_or_default();
    let vlog = match Vlog::install(levels, args.log_file(program).as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{program}: {e}");
            return ExitCode::FAILURE;
        }
    };
    vlog.close();
    let result = daemonize::monitor(&Launch::current(), role, detached, |event| {
        let _ = vlog.reopen();
        match event {
            MonitorEvent::Started { pid } => info!(target: "monitor", pid, "daemon started"),
            MonitorEvent::Restarting {
                crashes,
                pid,
                how,
                wait,
            } => {
                if !wait.is_zero() {
                    warn!(target: "monitor",
                        "{crashes} crashes: pid {pid} died, {how}, waiting until {} seconds since last restart",
                        daemonize::RESTART_INTERVAL.as_secs()
                    );
                }
                error!(target: "monitor", "{crashes} crashes: pid {pid} died, {how}, restarting");
            }
            MonitorEvent::Exiting { pid, how } => {
                info!(target: "monitor", "pid {pid} died, {how}, exiting")
            }
            MonitorEvent::StartFailed(why) => {
                error!(target: "monitor", "could not restart the daemon: {why}")
            }
        }
        vlog.close();
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(StartError::Died(status)) if status.code().is_some_and(|c| c != 0) => passed_on(status),
        Err(e) => {
            eprintln!("{program}: could not initiate process monitoring: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The daemon itself: pid file, control socket, readiness, then the databases.
fn run_daemon(args: &Args, program: &str, role: Role) -> ExitCode {
    let detached = role != Role::Foreground && daemonize::detached();
    if detached && role == (Role::Daemon { monitored: false }) {
        daemonize::new_session();
    }
    // Named after the program (`ovn-ic`), whatever file was executed: `ovn-ctl` checks it.
    daemonize::set_process_name(program);
    let levels = args.levels().unwrap_or_default();
    let vlog = match Vlog::install(levels, args.log_file(program).as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{program}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A panic is a bug, as a failed assertion is in ovn-ic: abort (SIGABRT), so that the
    // monitor restarts the daemon instead of leaving it half alive.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |panic| {
        error!("{panic}");
        default_hook(panic);
        std::process::abort();
    }));
    match daemon_main(args, program, role, detached, vlog) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn daemon_main(
    args: &Args,
    program: &str,
    role: Role,
    detached: bool,
    vlog: Arc<Vlog>,
) -> Result<(), String> {
    info!(
        "{program} (ic-routed {}) starting, pid {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    let config = args.config()?;
    if let Some(list) = &args.ssl_protocols {
        if !check_ssl_protocols(list)? {
            warn!("--ssl-protocols={list}: TLSv1.2 and TLSv1.3 are offered regardless");
        }
    }
    if args.ssl_ciphers.is_some() || args.ssl_ciphersuites.is_some() {
        info!("--ssl-ciphers/--ssl-ciphersuites: rustls's cipher suites are used");
    }
    let pidfile = match args.pidfile(program) {
        Some(path) => {
            Some(Pidfile::create(&path, args.overwrite_pidfile).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = runtime.block_on(async move {
        let controls = Controls::new();
        let ctl_path = args.unixctl(program);
        let policy = config.isolation.as_ref().map(|i| i.policy.clone());
        let context = Context::new(controls.clone())
            .vlog(Some(vlog))
            .isolation(policy.clone());
        let unixctl = Unixctl::start(&ctl_path, context)
            .map_err(|e| format!("{}: cannot listen: {e}", ctl_path.display()))?;
        daemonize::notify_ready(role, detached);
        info!(
            nb = %config.ovnnb_db, sb = %config.ovnsb_db, ic_nb = %config.ic_nb_db, ic_sb = %config.ic_sb_db,
            control = %unixctl.path().display(),
            "connecting"
        );
        if let Some(policy) = policy {
            // SIGHUP re-reads the policy, as `isolation/reload` does.
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                Ok(mut hup) => {
                    tokio::spawn(async move {
                        while hup.recv().await.is_some() {
                            match policy.reload() {
                                Ok(text) => info!("SIGHUP: {text}"),
                                Err(e) => warn!("SIGHUP: isolation policy refused: {e}"),
                            }
                        }
                    });
                }
                Err(e) => warn!(error = %e, "cannot catch SIGHUP; use isolation/reload"),
            }
        }
        if let (Some(addr), Some(metrics)) = (args.metrics_address, config.metrics.clone()) {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("--metrics-address {addr}: cannot listen: {e}"))?;
            info!(%addr, "serving metrics at /metrics");
            tokio::spawn(ic_routed::metrics::serve(listener, metrics));
        }
        let signals = controls.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
            signals.send(Control::Exit);
        });
        let daemon = tokio::select! {
            daemon = Daemon::start_with(config, controls.clone()) => daemon.map_err(|e| e.to_string())?,
            () = controls.exit_requested() => {
                info!("exiting");
                return Ok(());
            }
        };
        daemon.run(std::future::pending()).await;
        drop(unixctl);
        Ok(())
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(pidfile);
    result
}
