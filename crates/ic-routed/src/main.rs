//! `ic-routed`: one availability zone's interconnection daemon, with ovn-ic's flags.
//!
//! ```text
//! ic-routed --ovnnb-db=unix:/run/ovn/ovnnb_db.sock --ovnsb-db=tcp:127.0.0.1:6642 \
//!           --ic-nb-db=tcp:127.0.0.1:6645 --ic-sb-db=tcp:127.0.0.1:6646 \
//!           --log-file=/tmp/ic.log --pidfile=/tmp/ic.pid --unixctl=/tmp/ic.ctl --detach
//! ```
//!
//! # VPC isolation
//!
//! With `--isolation-policy=POLICY.json --isolation-inventory=INVENTORY.json` the route
//! engine runs with crate `isolation`'s `VpcFilter`: a router of this zone learns an IC-SB
//! route only when its VPC and the route's source VPC may talk under the policy, and a
//! Neutron router never advertises its external gateway networks.
//!
//! - The policy is `isolation::Policy` JSON (pairs of OpenStack and Kubernetes VPCs, extra
//!   peerings, `unknown_source`/`unknown_learner`, both deny by default).
//! - The inventory is `isolation::World::from_inventory_json`'s format:
//!   `{"zones": {"<az>": DB, …}, "ic_nb": DB, "ic_sb": DB}` with `DB` either
//!   `{"<Table>": {"<uuid>": {<column>: <datum>}}}` or the text of
//!   `ovsdb-client -f json dump <remote> OVN_Northbound`. Zone keys are availability-zone
//!   names (`NB_Global.name`). It must hold the NB rows of every zone whose VPCs take part,
//!   this one included: IC-SB rows alone say which zone and which transit-switch port
//!   advertised a route, not which tenant VPC it belongs to. `ic_nb`/`ic_sb` may be left
//!   out. Sources are identified by `lr-id`, `nb-id`, the nexthop's transit-switch port, a
//!   `ovnlink:vpc` tag, then prefix containment (see `isolation::filter`); learners by
//!   router UUID, else by router name (which survives a re-created row).
//! - Both files are read once at start; after VPCs change, write a new inventory and
//!   restart the daemon (the engine assumes a filter's decisions are stable). A file that
//!   does not parse, or a policy selector that matches no VPC of the inventory, is an error
//!   naming the file and the object, and the daemon does not start.
#![forbid(unsafe_code)]

/// The daemon allocates and frees many small rows per round (replica updates, engine
/// groups, operations); mimalloc cut a 20k-route round's allocator time (measured with
/// `perf`: malloc/free were a quarter of the samples with glibc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use ic_routed::daemon::{Config, Control, Daemon, TlsFiles};
use ic_routed::unixctl::Unixctl;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

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
    /// Control socket for `ovn-appctl -t SOCKET` (exit, status, pause, resume, is-paused).
    /// Default: $OVN_RUNDIR/ic-routed.PID.ctl.
    #[arg(long, value_name = "SOCKET")]
    unixctl: Option<PathBuf>,
    /// Write the process id to FILE (default $OVN_RUNDIR/ic-routed.pid).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    pidfile: Option<PathBuf>,
    /// Replace the pid file even if another process's id is in it.
    #[arg(long)]
    overwrite_pidfile: bool,
    /// Run in the background.
    #[arg(long)]
    detach: bool,
    /// Accepted for compatibility (the daemon never changes directory).
    #[arg(long)]
    no_chdir: bool,
    /// Accepted for compatibility (no monitor process is started).
    #[arg(long)]
    monitor: bool,
    /// Log to FILE (default $OVN_LOGDIR/ic-routed.log) as well as stderr when attached.
    #[arg(long = "log-file", value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    log_file: Option<PathBuf>,
    /// Log verbosity: `dbg`/`debug`, `info`, `warn`, `err` (Open vSwitch vlog levels; any
    /// `module:destination:` prefix is ignored). Plain `-v` means debug. RUST_LOG wins.
    #[arg(short = 'v', long = "verbose", value_name = "SPEC", num_args = 0..=1, default_missing_value = "dbg")]
    verbose: Vec<String>,
    /// Behave as this release of ovn-ic (`23.03`, `24.03.2`, … `26.03`): which route rules
    /// apply (same-zone learning from 23.09, `ic-route-denylist` from 24.09, route tags from
    /// 25.03, …). Default: the release of the zone's OVN_Northbound schema.
    #[arg(long = "ovn-release", value_name = "RELEASE", value_parser = parse_release)]
    ovn_release: Option<ic_routes::Release>,
    /// VPC isolation policy (crate `isolation`'s Policy JSON: `pairs`, `peerings`,
    /// `unknown_source`, `unknown_learner`). Routers then learn only routes of VPCs the
    /// policy lets them talk to. Requires --isolation-inventory.
    #[arg(
        long = "isolation-policy",
        value_name = "FILE",
        requires = "isolation_inventory"
    )]
    isolation_policy: Option<PathBuf>,
    /// The VPCs of every zone taking part, this one included: JSON
    /// `{"zones": {"<az>": DB, …}, "ic_nb": DB, "ic_sb": DB}` where DB is the object or
    /// string `ovsdb-client -f json dump` prints for that zone's OVN_Northbound. Read once
    /// at start; restart after VPCs change. Requires --isolation-policy.
    #[arg(
        long = "isolation-inventory",
        value_name = "FILE",
        requires = "isolation_policy"
    )]
    isolation_inventory: Option<PathBuf>,
}

/// Builds the VPC route filter from the policy and inventory files; the error names the
/// file and what is wrong with it.
fn isolation_filter(
    policy_file: &Path,
    inventory_file: &Path,
) -> Result<isolation::VpcFilter, String> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let policy = isolation::Policy::from_json(&read(policy_file)?)
        .map_err(|e| format!("--isolation-policy {}: {e}", policy_file.display()))?;
    let world = isolation::World::from_inventory_json(&read(inventory_file)?)
        .map_err(|e| format!("--isolation-inventory {}: {e}", inventory_file.display()))?;
    let vpcs = isolation::Inventory::from_world(&world);
    policy.check(&vpcs).map_err(|e| {
        format!(
            "--isolation-policy {} against --isolation-inventory {}: {e}",
            policy_file.display(),
            inventory_file.display()
        )
    })?;
    Ok(isolation::VpcFilter::new(vpcs, policy))
}

fn parse_release(text: &str) -> Result<ic_routes::Release, String> {
    ic_routes::Release::parse(text).ok_or_else(|| {
        format!("`{text}` is not a release (expected MAJOR.MINOR[.PATCH], e.g. 25.03)")
    })
}

fn rundir() -> PathBuf {
    std::env::var_os("OVN_RUNDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/run/ovn"))
}

fn default_db(env: &str, sock: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| format!("unix:{}", rundir().join(sock).display()))
}

fn level(specs: &[String]) -> &'static str {
    let mut level = "info";
    for spec in specs {
        let last = spec.rsplit(':').next().unwrap_or("");
        level = match last {
            "dbg" | "debug" => "debug",
            "info" => "info",
            "warn" => "warn",
            "err" | "emer" | "error" => "error",
            "off" => "off",
            _ => level,
        };
    }
    level
}

/// A writer that appends to the log file and, when attached, to stderr.
#[derive(Clone)]
struct LogWriter {
    file: Option<Arc<Mutex<std::fs::File>>>,
    stderr: bool,
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(f) = &self.file {
            f.lock().unwrap_or_else(|e| e.into_inner()).write_all(buf)?;
        }
        if self.stderr {
            let _ = std::io::stderr().write_all(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn detach(pidfile: Option<&Path>) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("ic-routed: cannot find own executable to detach: {e}");
            return ExitCode::FAILURE;
        }
    };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--detach")
        .collect();
    let mut child = match Command::new(exe)
        .args(&args)
        .env("IC_ROUTED_DETACHED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ic-routed: cannot start the background process: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Like Open vSwitch's --detach, return once the daemon is up: its pid file is written.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("ic-routed: background process exited early ({status})");
            return ExitCode::FAILURE;
        }
        let ready = match pidfile {
            Some(p) => std::fs::read_to_string(p)
                .map(|s| s.trim() == child.id().to_string())
                .unwrap_or(false),
            None => Instant::now() > deadline - Duration::from_secs(9),
        };
        if ready || Instant::now() > deadline {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Read the isolation files before detaching, so a bad file is reported on the terminal.
    let isolation = match (&args.isolation_policy, &args.isolation_inventory) {
        (Some(p), Some(i)) => match isolation_filter(p, i) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("ic-routed: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let pidfile = args.pidfile.as_ref().map(|p| {
        if p.as_os_str().is_empty() {
            rundir().join("ic-routed.pid")
        } else {
            p.clone()
        }
    });
    if args.detach && std::env::var_os("IC_ROUTED_DETACHED").is_none() {
        return detach(pidfile.as_deref());
    }
    let attached = std::env::var_os("IC_ROUTED_DETACHED").is_none();

    let log_file = args.log_file.as_ref().map(|p| {
        if p.as_os_str().is_empty() {
            std::env::var_os("OVN_LOGDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/log/ovn"))
                .join("ic-routed.log")
        } else {
            p.clone()
        }
    });
    let file = match &log_file {
        Some(p) => match OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => Some(Arc::new(Mutex::new(f))),
            Err(e) => {
                eprintln!("ic-routed: cannot open log file {}: {e}", p.display());
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let writer = LogWriter {
        file,
        stderr: attached,
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},ovsdb_client=info", level(&args.verbose))));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    if let Some(p) = &pidfile {
        if !args.overwrite_pidfile {
            if let Ok(old) = std::fs::read_to_string(p) {
                if let Ok(pid) = old.trim().parse::<u32>() {
                    if Path::new(&format!("/proc/{pid}")).exists() && pid != std::process::id() {
                        error!(pidfile = %p.display(), pid, "pidfile is held by a running process");
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            error!(pidfile = %p.display(), error = %e, "cannot write pidfile");
            return ExitCode::FAILURE;
        }
    }

    let tls = match (&args.private_key, &args.certificate, &args.ca_cert) {
        (Some(k), Some(c), Some(ca)) => Some(TlsFiles {
            private_key: k.clone(),
            certificate: c.clone(),
            ca_cert: ca.clone(),
        }),
        (None, None, None) => None,
        _ => {
            error!("--private-key, --certificate and --ca-cert go together");
            return ExitCode::FAILURE;
        }
    };
    let config = Config::new(
        args.ovnnb_db
            .clone()
            .unwrap_or_else(|| default_db("OVN_NB_DB", "ovnnb_db.sock")),
        args.ovnsb_db
            .clone()
            .unwrap_or_else(|| default_db("OVN_SB_DB", "ovnsb_db.sock")),
        args.ic_nb_db
            .clone()
            .unwrap_or_else(|| default_db("OVN_IC_NB_DB", "ovn_ic_nb_db.sock")),
        args.ic_sb_db
            .clone()
            .unwrap_or_else(|| default_db("OVN_IC_SB_DB", "ovn_ic_sb_db.sock")),
    )
    .tls(tls)
    .release(args.ovn_release);
    let config = match isolation {
        Some(f) => {
            info!(
                vpcs = f.inventory().vpcs().len(),
                pairs = f.policy().pairs.len(),
                "VPC isolation filter on"
            );
            config.filter(Some(Arc::new(f)))
        }
        None => config,
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        info!(
            nb = %config.ovnnb_db, sb = %config.ovnsb_db, ic_nb = %config.ic_nb_db, ic_sb = %config.ic_sb_db,
            "ic-routed {} starting", env!("CARGO_PKG_VERSION")
        );
        let daemon = match Daemon::start(config).await {
            Ok(d) => d,
            Err(e) => {
                error!(error = %e, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        let ctl_path = args.unixctl.clone().unwrap_or_else(|| {
            rundir().join(format!("ic-routed.{}.ctl", std::process::id()))
        });
        let _unixctl = match Unixctl::start(&ctl_path, daemon.controller(), daemon.status()) {
            Ok(u) => Some(u),
            Err(e) => {
                warn!(socket = %ctl_path.display(), error = %e, "no control socket");
                None
            }
        };
        let controller = daemon.controller();
        let shutdown = async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
            controller.send_replace(Control::Exit);
        };
        tokio::spawn(shutdown);
        daemon.run(std::future::pending()).await;
        ExitCode::SUCCESS
    });
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    code
}
