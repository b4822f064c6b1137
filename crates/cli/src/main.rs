//! `ovnlink`: the operator's tool for VPC isolation across OVN interconnection.
//!
//! ```text
//! ovnlink isolation plan    --topology a --policy POLICY.json \
//!     --ic-nb-db tcp:10.0.0.1:6645 --ic-sb-db tcp:10.0.0.1:6646 \
//!     --zone openstack=tcp:10.0.1.1:6641 --zone k8s=tcp:10.0.2.1:6641
//! ovnlink isolation apply   (same flags)
//! ovnlink isolation audit   --policy POLICY.json (same databases)
//! ovnlink isolation explain --policy POLICY.json --from tenant-a --to 10.16.0.5 (same databases)
//! ovnlink isolation inventory (same databases) > INVENTORY.json
//! ovnlink routes explain 10.16.0.0/16 [--in ZONE] [--router R] [--policy POLICY.json] (same databases)
//! ```
//!
//! Databases are OVSDB remotes in ovn-ic's syntax (`tcp:IP:PORT`, `ssl:IP:PORT`,
//! `unix:PATH`, comma-separated cluster lists; `ssl:` with `--private-key`,
//! `--certificate`, `--ca-cert`), or dump files (`ovsdb-client -f json dump REMOTE DB`
//! output) for offline `plan`, `audit` and `explain`; `--inventory FILE` takes a whole
//! world in `isolation::World::from_inventory_json`'s format.
//!
//! Exit status: 0 done (audit: isolated); 1 audit found a leak, or apply stopped with work
//! still pending (`--timeout`); 2 bad input, a database that cannot be reached, or a write
//! that failed.
#![forbid(unsafe_code)]

mod apply;
mod error;
mod render;
mod report;
mod source;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ic_routes::Prefix;
use isolation::{GuardConfig, Inventory, Policy, TopologyConfig, TopologyPlan, World};

use crate::error::CliError;
use crate::render::DbOps;
use crate::source::{Connect, Deployment, Source, Tls};

#[derive(Parser, Debug)]
#[command(
    name = "ovnlink",
    version,
    about = "VPC isolation across OVN interconnection, for operators"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// VPC isolation: plan, apply, audit, explain.
    #[command(subcommand)]
    Isolation(Isolation),
    /// Route exchange: why a prefix is or is not advertised and learned.
    #[command(subcommand)]
    Routes(Routes),
}

#[derive(Subcommand, Debug)]
enum Routes {
    /// Every decision the route engine takes about PREFIX in each zone (or `--in ZONE`),
    /// with the rule that stopped a route, as `ovn-appctl -t ic-routed routes/explain` does
    /// from inside the daemon.
    Explain(RoutesExplainArgs),
}

#[derive(Args, Debug, Clone)]
struct RoutesExplainArgs {
    /// The prefix (`10.16.0.0/16`, `fd00::/64`).
    prefix: String,
    /// Only this zone.
    #[arg(long = "in", value_name = "ZONE")]
    zone: Option<String>,
    /// Only this router (by name).
    #[arg(long, value_name = "ROUTER")]
    router: Option<String>,
    /// An isolation policy: explain as `ic-routed --isolation-policy` decides (the VPCs of
    /// every zone given).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Follow this release's rules (default: each zone's NB schema release when live, else
    /// the newest).
    #[arg(long = "ovn-release", value_name = "RELEASE")]
    ovn_release: Option<String>,
    #[command(flatten)]
    db: Databases,
}

#[derive(Subcommand, Debug)]
enum Isolation {
    /// Print what `apply` would change, per database (a dry run).
    Plan(PlanArgs),
    /// Make the changes, idempotently, until nothing is left to do.
    Apply(ApplyArgs),
    /// Print the VPCs, the reachability matrix and every leak with its path; exit 1 on a leak.
    Audit(AuditArgs),
    /// Explain how one VPC (or address) reaches another, hop by hop, or why it does not.
    Explain(ExplainArgs),
    /// Print the rows the other commands read, as one inventory file (for offline use and
    /// `ic-routed --isolation-inventory`).
    Inventory(InventoryArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Topology {
    /// One transit switch shared by every paired VPC, with guard ACLs.
    A,
    /// One transit switch per VPC pair.
    B,
    /// One shared NB: router-to-router links (one --zone).
    C,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Default)]
enum Format {
    /// Readable text (`ovn-nbctl` commands, tables).
    #[default]
    Text,
    /// JSON, for automation.
    Json,
}

#[derive(Args, Debug, Clone)]
struct Databases {
    /// A zone's OVN_Northbound: NAME=REMOTE (ovn-ic remote syntax, cluster lists allowed)
    /// or NAME=FILE (an `ovsdb-client -f json dump`). Repeat for every zone.
    #[arg(long = "zone", value_name = "NAME=NB")]
    zones: Vec<String>,
    /// OVN_IC_Northbound: a remote or a dump file.
    #[arg(long = "ic-nb-db", value_name = "REMOTE|FILE")]
    ic_nb_db: Option<String>,
    /// OVN_IC_Southbound: a remote or a dump file.
    #[arg(long = "ic-sb-db", value_name = "REMOTE|FILE")]
    ic_sb_db: Option<String>,
    /// A whole world offline: {"zones": {...}, "ic_nb": ..., "ic_sb": ...}.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// Private key for ssl: remotes (PEM).
    #[arg(short = 'p', long = "private-key", value_name = "FILE")]
    private_key: Option<PathBuf>,
    /// Certificate for ssl: remotes (PEM).
    #[arg(short = 'c', long = "certificate", value_name = "FILE")]
    certificate: Option<PathBuf>,
    /// CA certificate that signed the servers' certificates (PEM).
    #[arg(short = 'C', long = "ca-cert", value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Seconds to wait for each database connection.
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = 10)]
    connect_timeout: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Args, Debug, Clone)]
struct PlanArgs {
    /// The topology to build.
    #[arg(long, value_enum)]
    topology: Topology,
    /// The isolation policy (JSON: pairs, peerings, unknown_source, unknown_learner).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Topology A: the transit switch.
    #[arg(long = "transit-switch", value_name = "NAME", default_value = "ts")]
    transit_switch: String,
    /// Topology A: its subnet when the switch has no external_ids:subnet.
    #[arg(
        long = "transit-subnet",
        value_name = "CIDR",
        default_value = "169.254.100.0/24"
    )]
    transit_subnet: String,
    /// Topologies B and C: the pool link subnets are carved from.
    #[arg(long, value_name = "CIDR", default_value = "169.254.100.0/24")]
    pool: String,
    /// Topologies B and C: the length of each carved subnet.
    #[arg(long = "block-len", value_name = "LEN", default_value_t = 30)]
    block_len: u8,
    /// Pin a zone's transit router ports to chassis: ZONE=CHASSIS[,CHASSIS...] (highest
    /// priority first). Repeatable.
    #[arg(long = "gateway-chassis", value_name = "ZONE=CHASSIS")]
    gateway_chassis: Vec<String>,
    /// Plan no guard ACLs.
    #[arg(long = "no-guards")]
    no_guards: bool,
    #[command(flatten)]
    db: Databases,
}

#[derive(Args, Debug, Clone)]
struct ApplyArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Seconds to wait for what is pending (the NB logical switch ovn-ic creates for a new
    /// transit switch) before giving up with exit status 1.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
}

#[derive(Args, Debug, Clone)]
struct AuditArgs {
    /// The isolation policy; without it every VPC may reach only itself.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    db: Databases,
}

#[derive(Args, Debug, Clone)]
struct ExplainArgs {
    /// The source: a VPC id (zone/router), router, Neutron router name, Kube-OVN VPC name,
    /// or an address in one VPC.
    #[arg(long, value_name = "VPC|IP")]
    from: String,
    /// The destination, as --from.
    #[arg(long, value_name = "VPC|IP")]
    to: String,
    /// The isolation policy; without it every VPC may reach only itself.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    db: Databases,
}

#[derive(Args, Debug, Clone)]
struct InventoryArgs {
    #[command(flatten)]
    db: Databases,
}

impl Databases {
    fn deployment(&self) -> Result<Deployment, CliError> {
        let mut zones = Vec::new();
        for z in &self.zones {
            let (name, db) = z
                .split_once('=')
                .filter(|(n, d)| !n.is_empty() && !d.is_empty())
                .ok_or_else(|| CliError::Input(format!("--zone {z}: expected NAME=NB")))?;
            if zones.iter().any(|(n, _)| n == name) {
                return Err(CliError::Input(format!("--zone {name}: given twice")));
            }
            zones.push((name.to_owned(), Source::parse(db)));
        }
        if zones.is_empty() && self.inventory.is_none() {
            return Err(CliError::Input(
                "no zone: give --zone NAME=NB for every zone (or --inventory FILE)".into(),
            ));
        }
        Ok(Deployment {
            zones,
            ic_nb: self.ic_nb_db.as_deref().map(Source::parse),
            ic_sb: self.ic_sb_db.as_deref().map(Source::parse),
            inventory: self.inventory.clone(),
        })
    }

    fn connect(&self) -> Connect {
        Connect {
            tls: Tls {
                private_key: self.private_key.clone(),
                certificate: self.certificate.clone(),
                ca_cert: self.ca_cert.clone(),
            },
            timeout: Duration::from_secs(self.connect_timeout.max(1)),
        }
    }
}

fn read_policy(path: Option<&PathBuf>) -> Result<Policy, CliError> {
    let Some(path) = path else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("--policy {}: {e}", path.display())))?;
    Policy::from_json(&text)
        .map_err(|e| CliError::Input(format!("--policy {}: {e}", path.display())))
}

/// The policy, checked against the VPCs found: a selector naming no VPC is an error.
fn checked_policy(path: Option<&PathBuf>, inventory: &Inventory) -> Result<Policy, CliError> {
    let policy = read_policy(path)?;
    if let Some(p) = path {
        policy
            .check(inventory)
            .map_err(|e| CliError::Input(format!("--policy {}: {e}", p.display())))?;
    }
    Ok(policy)
}

impl PlanArgs {
    fn config(&self) -> Result<TopologyConfig, CliError> {
        let prefix = |flag: &str, v: &str| {
            Prefix::parse(v).ok_or_else(|| CliError::Input(format!("{flag} {v}: not a CIDR")))
        };
        let mut cfg = TopologyConfig::default();
        cfg.transit_switch = self.transit_switch.clone();
        cfg.transit_subnet = prefix("--transit-subnet", &self.transit_subnet)?;
        cfg.pool = prefix("--pool", &self.pool)?;
        cfg.block_len = self.block_len;
        for g in &self.gateway_chassis {
            let (zone, chassis) = g.split_once('=').ok_or_else(|| {
                CliError::Input(format!(
                    "--gateway-chassis {g}: expected ZONE=CHASSIS[,CHASSIS]"
                ))
            })?;
            cfg.gateway_chassis.insert(
                zone.to_owned(),
                chassis.split(',').map(str::to_owned).collect(),
            );
        }
        cfg.guards = (!self.no_guards).then(GuardConfig::default);
        Ok(cfg)
    }

    /// Plans over `world`.
    fn plan(&self, world: &World, cfg: &TopologyConfig) -> Result<TopologyPlan, CliError> {
        let inventory = Inventory::from_world(world);
        let policy = checked_policy(Some(&self.policy), &inventory)?;
        let plan = match self.topology {
            Topology::A => isolation::plan_a(world, &inventory, &policy, cfg),
            Topology::B => isolation::plan_b(world, &inventory, &policy, cfg)
                .map_err(|e| CliError::Input(e.to_string()))?,
            Topology::C => {
                let [zone] = world.zones.as_slice() else {
                    return Err(CliError::Input(format!(
                        "topology c plans one shared NB: give exactly one --zone (got {})",
                        world.zones.len()
                    )));
                };
                isolation::plan_c(zone, &inventory, &policy, cfg)
                    .map_err(|e| CliError::Input(e.to_string()))?
            }
        };
        Ok(plan)
    }

    fn check_databases(&self) -> Result<(), CliError> {
        let needs_ic = matches!(self.topology, Topology::A | Topology::B);
        if needs_ic && self.db.inventory.is_none() && self.db.ic_nb_db.is_none() {
            return Err(CliError::Input(
                format!(
                    "topology {:?} needs --ic-nb-db (and --ic-sb-db)",
                    self.topology
                )
                .to_lowercase(),
            ));
        }
        Ok(())
    }
}

/// The databases of a plan, in the order they are written.
fn db_ops(plan: &TopologyPlan) -> Vec<DbOps<'_>> {
    let mut dbs = vec![DbOps {
        database: ovn_ic_nb::NAME,
        zone: None,
        ops: &plan.ic_nb,
    }];
    for (zone, ops) in &plan.nb {
        dbs.push(DbOps {
            database: ovn_nb::NAME,
            zone: Some(zone),
            ops,
        });
    }
    dbs
}

fn print(text: &str) {
    use std::io::Write as _;
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(text.as_bytes());
}

async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let cmd = match cli.command {
        Command::Isolation(cmd) => cmd,
        Command::Routes(Routes::Explain(args)) => return routes_explain(args).await,
    };
    match cmd {
        Isolation::Plan(args) => {
            args.check_databases()?;
            let cfg = args.config()?;
            let deployment = args.db.deployment()?;
            let live = deployment.connect(&args.db.connect()).await?;
            let world = deployment.read(&live).await?;
            let plan = args.plan(&world, &cfg)?;
            let dbs = db_ops(&plan);
            match args.db.format {
                Format::Text => print(&render::text(&dbs, &plan.notes, &plan.pending)),
                Format::Json => print(&format!(
                    "{:#}\n",
                    render::json(&dbs, &plan.notes, &plan.pending)
                )),
            }
            Ok(ExitCode::SUCCESS)
        }
        Isolation::Apply(args) => {
            args.plan.check_databases()?;
            let cfg = args.plan.config()?;
            let deployment = args.plan.db.deployment()?;
            if !deployment.all_live() {
                return Err(CliError::Input(
                    "apply writes to live databases: give remotes, not files".into(),
                ));
            }
            let live = deployment.connect(&args.plan.db.connect()).await?;
            let outcome = apply::apply(
                &deployment,
                &live,
                &|world| args.plan.plan(world, &cfg),
                Duration::from_secs(args.timeout),
            )
            .await?;
            match args.plan.db.format {
                Format::Text => print(&outcome.text()),
                Format::Json => print(&format!("{:#}\n", outcome.json())),
            }
            Ok(if outcome.pending.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Isolation::Audit(args) => {
            let deployment = args.db.deployment()?;
            let live = deployment.connect(&args.db.connect()).await?;
            let world = deployment.read(&live).await?;
            let inventory = Inventory::from_world(&world);
            let policy = checked_policy(args.policy.as_ref(), &inventory)?;
            let audit = report::audit(&world, &inventory, &policy);
            match args.db.format {
                Format::Text => print(&audit.text()),
                Format::Json => print(&format!("{:#}\n", audit.json())),
            }
            Ok(if audit.report.leaks.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Isolation::Inventory(args) => {
            let deployment = args.db.deployment()?;
            let live = deployment.connect(&args.db.connect()).await?;
            let world = deployment.read(&live).await?;
            print(&format!("{}\n", world.to_inventory_json()));
            Ok(ExitCode::SUCCESS)
        }
        Isolation::Explain(args) => {
            let deployment = args.db.deployment()?;
            let live = deployment.connect(&args.db.connect()).await?;
            let world = deployment.read(&live).await?;
            let inventory = Inventory::from_world(&world);
            let policy = checked_policy(args.policy.as_ref(), &inventory)?;
            let e = isolation::explain(&world, &inventory, &policy, &args.from, &args.to)
                .map_err(|e| CliError::Input(e.to_string()))?;
            match args.db.format {
                Format::Text => print(&e.to_string()),
                Format::Json => print(&format!("{:#}\n", report::explanation_json(&e))),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn routes_explain(args: RoutesExplainArgs) -> Result<ExitCode, CliError> {
    let prefix = Prefix::parse(&args.prefix)
        .ok_or_else(|| CliError::Input(format!("{}: not a prefix", args.prefix)))?;
    let pinned = match &args.ovn_release {
        Some(r) => Some(ic_routes::Release::parse(r).ok_or_else(|| {
            CliError::Input(format!("--ovn-release {r}: expected MAJOR.MINOR[.PATCH]"))
        })?),
        None => None,
    };
    let deployment = args.db.deployment()?;
    if args.db.ic_sb_db.is_none() && args.db.inventory.is_none() {
        return Err(CliError::Input(
            "routes explain reads IC-SB: give --ic-sb-db (and --ic-nb-db)".into(),
        ));
    }
    let live = deployment.connect(&args.db.connect()).await?;
    let world = deployment.read(&live).await?;
    let inventory = Inventory::from_world(&world);
    let filter = match &args.policy {
        Some(p) => Some(isolation::VpcFilter::new(
            inventory.clone(),
            checked_policy(Some(p), &inventory)?,
        )),
        None => None,
    };
    if let Some(z) = &args.zone {
        if world.zone(z).is_none() {
            return Err(CliError::Input(format!(
                "--in {z}: no such zone (give --zone {z}=NB)"
            )));
        }
    }
    let mut text = String::new();
    for z in world
        .zones
        .iter()
        .filter(|z| args.zone.as_ref().is_none_or(|want| *want == z.zone))
    {
        let Some(mut snapshot) = world.route_snapshot(&z.zone) else {
            continue;
        };
        let release = match pinned {
            Some(r) => Some(r),
            None => match live.zones.iter().find(|(n, _)| *n == z.zone) {
                Some((_, Some(client))) => client
                    .get_schema(ovn_nb::NAME)
                    .await
                    .ok()
                    .and_then(|s| ovn_nb::history().release_of(&s))
                    .map(|m| m.oldest),
                _ => None,
            },
        };
        if let Some(r) = release {
            snapshot.semantics = ic_routes::Semantics::of(r);
        }
        let f: &dyn ic_routes::RouteFilter = match &filter {
            Some(f) => f,
            None => &ic_routes::AllowAll,
        };
        let e = snapshot.explain(&prefix, args.router.as_deref(), f);
        text.push_str(&format!("zone {} ({}):\n{e}", z.zone, snapshot.semantics));
    }
    print(&text);
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ovnlink: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ovnlink: {e}");
            ExitCode::from(2)
        }
    }
}
