//! The README's main job as a library: two zones (an OpenStack one with two Neutron tenants,
//! a Kubernetes one with two Kube-OVN VPCs), interconnected three ways (topology B,
//! topology A with the VPC filter, topology A without it), one in-process `ic-routed`
//! daemon per zone, and the verifier's matrix over the result.
//!
//! `examples/interconnect.rs` is its command line; `tests/interconnect.rs` checks every
//! run. [`run`] works on any databases ([`Remotes`]); [`run_embedded`] starts embedded
//! servers first ([`crate::embedded::Embedded`]) and runs the northd stand-in.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ic_routed::{Config, Daemon};
use isolation::{verify, Inventory, Policy, Report, TopologyConfig, VpcKind, World};
use ovn_nb::{LogicalRouter, LogicalRouterStaticRoute, NbGlobal};
use ovsdb_client::{Client, ClientConfig, MonitorSpec};
use ovsdb_proto::dump::Dump;
use ovsdb_proto::typed::{Table, TypedStore};
use ovsdb_proto::{Operation, OperationResult, Uuid};

use crate::rows::{ids, insert_ops, kube_vpc, neutron_router, NbBuilder, Uuids};

/// The OpenStack zone's default name.
pub const OPENSTACK: &str = "openstack";
/// The Kubernetes zone's default name.
pub const KUBERNETES: &str = "kubernetes";

/// The isolation policy of the scenario: tenant-a ↔ vpc-a, project p2 ↔ vpc-b.
pub const POLICY: &str = r#"{"pairs": [
    {"openstack": {"router_name": "tenant-a"}, "kubernetes": {"vpc": "vpc-a"}},
    {"openstack": {"project": "p2"}, "kubernetes": {"vpc": "vpc-b"}}
]}"#;

/// One availability zone's databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRemotes {
    /// The zone name (`NB_Global.name`).
    pub name: String,
    /// Its `OVN_Northbound` remote.
    pub nb: String,
    /// Its `OVN_Southbound` remote.
    pub sb: String,
}

/// Where every database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remotes {
    /// `OVN_IC_Northbound`.
    pub ic_nb: String,
    /// `OVN_IC_Southbound`.
    pub ic_sb: String,
    /// The OpenStack zone, then the Kubernetes zone.
    pub zones: Vec<ZoneRemotes>,
}

/// Which interconnection topology to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One transit switch per VPC pair (`plan_b`), no route filter.
    B,
    /// One shared transit switch (`plan_a`) with the `VpcFilter` in both daemons and guard
    /// ACLs.
    AFiltered,
    /// One shared transit switch, stock route exchange, no guard ACLs: leaks.
    AUnfiltered,
}

impl Topology {
    /// A heading for the run.
    pub fn title(self) -> &'static str {
        match self {
            Topology::B => "Topology B: one transit switch per VPC pair (stock route exchange)",
            Topology::AFiltered => {
                "Topology A: one shared transit switch, VPC route filter in both zones"
            }
            Topology::AUnfiltered => {
                "Topology A without the filter (stock ovn-ic behaviour, no guard ACLs)"
            }
        }
    }
}

/// One VPC router's static routes.
#[derive(Debug, Clone)]
pub struct RouterRoutes {
    /// Availability zone.
    pub zone: String,
    /// `Logical_Router` name.
    pub router: String,
    /// What the router is (OpenStack tenant and project, Kubernetes VPC).
    pub label: String,
    /// Its static routes.
    pub routes: Vec<LogicalRouterStaticRoute>,
}

impl RouterRoutes {
    /// The routes in `ovn-nbctl lr-route-list` layout.
    pub fn listing(&self) -> String {
        ic_routes::show::lr_route_list(&self.routes)
    }

    /// The learned prefixes (`external_ids:ic-learned-route`), normalised as `ovn-nbctl`
    /// prints them (ovn-ic stores connected networks with their host bits), sorted.
    pub fn learned(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .routes
            .iter()
            .filter(|r| r.external_ids.contains_key("ic-learned-route"))
            .map(|r| ic_routes::show::normalize(&r.ip_prefix).unwrap_or(r.ip_prefix.clone()))
            .collect();
        v.sort();
        v
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The topology built.
    pub topology: Topology,
    /// Every VPC router's routes.
    pub routers: Vec<RouterRoutes>,
    /// The transit switches (`name`, `subnet`).
    pub transit_switches: Vec<(String, String)>,
    /// The verifier's report over the final rows.
    pub report: Report,
    /// Planner notes.
    pub notes: Vec<String>,
    /// From connecting to convergence.
    pub elapsed: Duration,
}

impl Outcome {
    /// The routes of `router` in `zone`.
    pub fn router(&self, zone: &str, router: &str) -> Option<&RouterRoutes> {
        self.routers
            .iter()
            .find(|r| r.zone == zone && r.router == router)
    }

    /// The run as text: routes per router, then the matrix.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "=== {} ===\n", self.topology.title());
        for (name, subnet) in &self.transit_switches {
            let _ = writeln!(out, "transit switch {name}  subnet {subnet}");
        }
        for r in &self.routers {
            let _ = writeln!(
                out,
                "\n--- zone {}, router {} ({}) ---",
                r.zone, r.router, r.label
            );
            let listing = r.listing();
            if listing.is_empty() {
                out.push_str("(no static routes)\n");
            } else {
                out.push_str(&listing);
            }
        }
        let _ = write!(out, "\nVPC reachability:\n{}", self.report);
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        let _ = writeln!(out, "converged in {} ms\n", self.elapsed.as_millis());
        out
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Write the southbound rows `ovn-northd` would (embedded servers: yes).
    pub northd_stand_in: bool,
    /// Give up after this long.
    pub timeout: Duration,
}

fn err(what: &str) -> impl Fn(ovsdb_client::ClientError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// A base for the UUIDs of seeded rows, fresh per run (the rows go into databases that may
/// hold others).
fn fresh_uuids() -> Uuids {
    Uuids(uuid::Uuid::new_v4().as_u128() & !0xffff_ffff)
}

/// Every row of `tables` in `db`, untyped, keyed by UUID.
async fn dump(client: &Client, db: &str, tables: &[&str]) -> Result<Dump, String> {
    let ops = tables
        .iter()
        .map(|t| Operation::Select {
            table: (*t).to_owned(),
            conditions: Vec::new(),
            columns: None,
        })
        .collect();
    let results = client.transact_checked(db, ops).await.map_err(err(db))?;
    let mut out = Dump::new();
    for (table, result) in tables.iter().zip(results) {
        let OperationResult::Select { rows } = result else {
            continue;
        };
        for mut row in rows {
            let uuid = row
                .remove("_uuid")
                .and_then(|d| d.as_atom().and_then(|a| a.as_uuid()));
            row.remove("_version");
            if let Some(uuid) = uuid {
                out.insert(table, uuid, row);
            }
        }
    }
    Ok(out)
}

const NB_TABLES: &[&str] = &[
    "NB_Global",
    "Logical_Router",
    "Logical_Router_Port",
    "Logical_Router_Static_Route",
    "Logical_Switch",
    "Logical_Switch_Port",
    "ACL",
    "Port_Group",
    "Address_Set",
    "Gateway_Chassis",
];

/// Open clients to every database, with replicas of those the daemons and the stand-in
/// write, whose changes come in on `events`.
struct Clients {
    ic_nb: Client,
    ic_sb: Client,
    /// Per zone: name, NB, SB.
    zones: Vec<(String, Client, Client)>,
    /// One `()` per replica change of any monitored database.
    events: tokio::sync::mpsc::UnboundedReceiver<()>,
}

impl Clients {
    async fn connect(remotes: &Remotes) -> Result<Clients, String> {
        let open = |remote: &str| {
            let remote = remote.to_owned();
            async move {
                let cc = ClientConfig::new(&remote).map_err(|e| format!("{remote}: {e}"))?;
                Client::connect(cc, Duration::from_secs(10))
                    .await
                    .map_err(|e| format!("{remote}: {e}"))
            }
        };
        let mut zones = Vec::new();
        for z in &remotes.zones {
            zones.push((z.name.clone(), open(&z.nb).await?, open(&z.sb).await?));
        }
        let ic_nb = open(&remotes.ic_nb).await?;
        let ic_sb = open(&remotes.ic_sb).await?;
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let mut watched = vec![(&ic_sb, "OVN_IC_Southbound")];
        for (_, nb, sb) in &zones {
            watched.push((nb, ovn_nb::NAME));
            watched.push((sb, "OVN_Southbound"));
        }
        for (client, db) in watched {
            let mut rx = client.subscribe();
            client
                .monitor(db, MonitorSpec::all())
                .await
                .map_err(|e| format!("{db}: {e}"))?;
            let tx = tx.clone();
            tokio::spawn(async move {
                // A lagged stream still means changes happened.
                while let Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) =
                    rx.recv().await
                {
                    if tx.send(()).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Clients {
            ic_nb,
            ic_sb,
            zones,
            events,
        })
    }

    /// Every zone's NB rows and the IC rows, as the isolation crate reads them.
    async fn world(&self) -> Result<World, String> {
        let mut world = World::default();
        for (name, nb, _) in &self.zones {
            let t = dump(nb, ovn_nb::NAME, NB_TABLES).await?;
            let z =
                isolation::ZoneNb::from_dump(Some(name), &t).map_err(|e| format!("{name}: {e}"))?;
            world.zones.push(z);
        }
        let ic_nb = dump(&self.ic_nb, "OVN_IC_Northbound", &["Transit_Switch"]).await?;
        let ic_sb = dump(
            &self.ic_sb,
            "OVN_IC_Southbound",
            &["Availability_Zone", "Port_Binding", "Route"],
        )
        .await?;
        world.ic = isolation::IcRows::from_dumps(&ic_nb, &ic_sb).map_err(|e| e.to_string())?;
        Ok(world)
    }

    /// Runs the northd stand-in (when asked) until it has nothing to write and no replica
    /// has changed for [`QUIET`]: the daemons and the stand-in have converged.
    async fn settle(&mut self, opts: &RunOptions, deadline: Instant) -> Result<(), String> {
        loop {
            if Instant::now() > deadline {
                return Err(format!(
                    "no convergence within {} s",
                    opts.timeout.as_secs()
                ));
            }
            let mut wrote = 0;
            if opts.northd_stand_in {
                for (name, nb, sb) in &self.zones {
                    wrote += crate::embedded::northd_pass(nb, sb)
                        .await
                        .map_err(|e| format!("{name}: northd stand-in: {e}"))?;
                }
            }
            if wrote > 0 {
                continue;
            }
            // Quiet: no replica reported a change for a while.
            match tokio::time::timeout(QUIET, self.events.recv()).await {
                Err(_) => return Ok(()),
                Ok(Some(())) => {}
                Ok(None) => return Err("the replicas' event streams ended".to_owned()),
            }
        }
    }
}

/// How long no replica may change before a run counts as converged.
const QUIET: Duration = Duration::from_millis(150);

/// Names the zone and turns route exchange on (`NB_Global`), then writes the tenants with
/// the row builders of [`crate::rows`]: the Neutron routers in the first zone, the Kube-OVN
/// VPCs in the second. Tenants whose router already exists are left alone.
async fn seed(clients: &Clients) -> Result<(), String> {
    for (i, (name, nb, _)) in clients.zones.iter().enumerate() {
        let t = dump(nb, ovn_nb::NAME, &["NB_Global", "Logical_Router"]).await?;
        let globals: BTreeMap<Uuid, NbGlobal> = t.typed().map_err(|e| e.to_string())?;
        let routers: BTreeMap<Uuid, LogicalRouter> = t.typed().map_err(|e| e.to_string())?;
        let mut ops = Vec::new();
        let options = [("ic-route-adv", "true"), ("ic-route-learn", "true")];
        match globals.values().next() {
            Some(g) => {
                let mut new = g.clone();
                new.name = name.clone();
                for (k, v) in options {
                    new.options.insert(k, v);
                }
                ops.extend(NbGlobal::update_changed_op(g, &new));
            }
            None => {
                let mut g = NbGlobal::default();
                g.name = name.clone();
                g.options = ids(&options);
                ops.push(g.insert_op());
            }
        }
        let has = |n: &str| routers.values().any(|r| r.name == n);
        let mut store = TypedStore::new();
        let mut uuids = fresh_uuids();
        let mut b = NbBuilder::new(&mut store, &mut uuids);
        if i == 0 {
            for (id, human, project, net, gw) in [
                ("r1", "tenant-a", "p1", "10.0.0.1/24", "172.24.4.10/24"),
                ("r2", "tenant-b", "p2", "10.1.0.1/24", "172.24.4.11/24"),
            ] {
                if !has(&format!("neutron-{id}")) {
                    neutron_router(&mut b, id, human, project, net, Some(gw));
                }
            }
        } else {
            for (vpc, subnet, net) in [
                ("vpc-a", "subnet-a", "10.16.0.1/16"),
                ("vpc-b", "subnet-b", "10.17.0.1/16"),
            ] {
                if !has(vpc) {
                    kube_vpc(&mut b, vpc, subnet, net);
                }
            }
        }
        ops.extend(insert_ops::<ovn_nb::Database>(&store));
        if !ops.is_empty() {
            nb.transact_checked(ovn_nb::NAME, ops)
                .await
                .map_err(err(name))?;
        }
    }
    Ok(())
}

fn label(inventory: &Inventory, zone: &str, router: &str) -> String {
    match inventory.by_router_name(zone, router).map(|v| &v.kind) {
        Some(VpcKind::OpenStack {
            project,
            router_name,
            ..
        }) => format!(
            "OpenStack router {}, project {}",
            router_name.as_deref().unwrap_or("?"),
            project.as_deref().unwrap_or("?")
        ),
        Some(VpcKind::Kubernetes { vpc, .. }) => format!("Kube-OVN VPC {vpc}"),
        _ => "not a VPC".to_owned(),
    }
}

/// Builds `topology` over the databases of `remotes` with one in-process `ic-routed` daemon
/// per zone, waits until the databases stop changing and reads the outcome.
pub async fn run(
    remotes: &Remotes,
    topology: Topology,
    opts: &RunOptions,
) -> Result<Outcome, String> {
    let started = Instant::now();
    let deadline = started + opts.timeout;
    let mut clients = Clients::connect(remotes).await?;
    seed(&clients).await?;
    let policy = Policy::from_json(POLICY).map_err(|e| e.to_string())?;
    let world = clients.world().await?;
    let inventory = Inventory::from_world(&world);
    let filter: Option<Arc<dyn ic_routes::RouteFilter>> = match topology {
        Topology::AFiltered => Some(Arc::new(isolation::VpcFilter::new(
            inventory.clone(),
            policy.clone(),
        ))),
        _ => None,
    };
    let mut cfg = TopologyConfig::default();
    if topology == Topology::AUnfiltered {
        cfg.guards = None;
    }

    // One daemon per zone, as `ic-routed` runs it.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut daemons = Vec::new();
    for z in &remotes.zones {
        let config =
            Config::new(&z.nb, &z.sb, &remotes.ic_nb, &remotes.ic_sb).filter(filter.clone());
        let daemon = Daemon::start(config)
            .await
            .map_err(|e| format!("{}: ic-routed: {e}", z.name))?;
        let mut stop = stop_rx.clone();
        daemons.push(tokio::spawn(daemon.run(async move {
            let _ = stop.wait_for(|s| *s).await;
        })));
    }

    let result = async {
        let mut notes = Vec::new();
        clients.settle(opts, deadline).await?;
        // Plan, apply, let the daemons (and the stand-in) react; again until the plan is
        // empty (the transit switches' logical switches appear only after a first round).
        let mut settled = false;
        for _ in 0..5 {
            let world = clients.world().await?;
            let inventory = Inventory::from_world(&world);
            let plan = match topology {
                Topology::B => isolation::plan_b(&world, &inventory, &policy, &cfg)
                    .map_err(|e| e.to_string())?,
                Topology::AFiltered | Topology::AUnfiltered => {
                    isolation::plan_a(&world, &inventory, &policy, &cfg)
                }
            };
            notes = plan.notes.clone();
            if plan.is_empty() {
                settled = true;
                break;
            }
            if !plan.ic_nb.is_empty() {
                clients
                    .ic_nb
                    .transact_checked("OVN_IC_Northbound", plan.ic_nb.clone())
                    .await
                    .map_err(err("IC-NB"))?;
            }
            for (zone, ops) in &plan.nb {
                let Some((_, nb, _)) = clients.zones.iter().find(|(n, _, _)| n == zone) else {
                    continue;
                };
                nb.transact_checked(ovn_nb::NAME, ops.clone())
                    .await
                    .map_err(err(zone))?;
            }
            clients.settle(opts, deadline).await?;
        }
        let world = clients.world().await?;
        let inventory = Inventory::from_world(&world);
        let report = verify(&world, &inventory, &policy);
        let mut routers = Vec::new();
        for v in inventory.vpcs() {
            let Some(z) = world.zone(&v.zone) else {
                continue;
            };
            let Some(lr) = z.routers.get(&v.router_uuid) else {
                continue;
            };
            let routes = lr
                .static_routes
                .iter()
                .filter_map(|r| z.static_routes.get(&r.uuid()).cloned())
                .collect();
            routers.push(RouterRoutes {
                zone: v.zone.clone(),
                router: v.router.clone(),
                label: label(&inventory, &v.zone, &v.router),
                routes,
            });
        }
        let mut transit_switches: Vec<(String, String)> = world
            .ic
            .transit_switches
            .values()
            .map(|t| {
                (
                    t.name.clone(),
                    t.external_ids
                        .get("subnet")
                        .map(str::to_owned)
                        .unwrap_or_default(),
                )
            })
            .collect();
        transit_switches.sort();
        // Planner notes that are about pending work are moot once the plan is empty.
        notes.retain(|n| !n.contains("plan again"));
        if !settled {
            notes.push("the planner still had operations after 5 passes".to_owned());
        }
        Ok(Outcome {
            topology,
            routers,
            transit_switches,
            report,
            notes,
            elapsed: started.elapsed(),
        })
    }
    .await;

    let _ = stop_tx.send(true);
    for d in daemons {
        let _ = tokio::time::timeout(Duration::from_secs(5), d).await;
    }
    result
}

/// Runs `topology` on fresh embedded servers (zones `openstack` and `kubernetes`).
pub async fn run_embedded(topology: Topology, timeout: Duration) -> Result<Outcome, String> {
    let servers = crate::embedded::Embedded::start(&[OPENSTACK, KUBERNETES]).await?;
    let opts = RunOptions {
        northd_stand_in: true,
        timeout,
    };
    run(&servers.remotes, topology, &opts).await
}

/// Whether `outcome` is what its topology promises: with topology B or the filter, every
/// VPC learns exactly its partner's tenant CIDR and nothing leaks; without the filter,
/// leaks are expected.
pub fn as_expected(outcome: &Outcome) -> bool {
    match outcome.topology {
        Topology::AUnfiltered => !outcome.report.leaks.is_empty(),
        _ => outcome.report.leaks.is_empty(),
    }
}
