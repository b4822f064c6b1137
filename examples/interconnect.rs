//! The whole interconnection scenario in one command, with nothing installed:
//!
//! ```text
//! cargo run --release --example interconnect
//! ```
//!
//! It starts embedded OVSDB servers in-process (IC-NB, IC-SB, and the NB and SB of two
//! availability zones, on unix sockets in a temp dir), seeds an OpenStack zone with two
//! Neutron tenants (`tenant-a`, project `p1`, 10.0.0.0/24; `tenant-b`, project `p2`,
//! 10.1.0.0/24, each with an external gateway port) and a Kubernetes zone with two Kube-OVN
//! VPCs (`vpc-a` 10.16.0.0/16, `vpc-b` 10.17.0.0/16), and a policy pairing tenant-a with
//! vpc-a and project p2 with vpc-b. Then, each time on fresh servers, it runs:
//!
//! 1. **Topology B**: one transit switch per VPC pair (`isolation::plan_b`), stock
//!    route exchange;
//! 2. **Topology A with the VPC filter**: one shared transit switch (`isolation::plan_a`),
//!    `isolation::VpcFilter` given to both zones' daemons;
//! 3. **Topology A without the filter** and without guard ACLs (stock ovn-ic behaviour),
//!    to show what the filter prevents.
//!
//! Each zone runs `ic_routed::Daemon` in-process (the code the `ic-routed` binary runs). A
//! **northd stand-in** (`ic_routed::embedded`) writes the few southbound rows `ovn-northd`
//! would. Once the databases stop changing it prints every VPC router's routes in
//! `ovn-nbctl lr-route-list` layout and the VPC reachability matrix of `isolation::verify`.
//!
//! Real databases instead of embedded ones (no server is started; the northd stand-in runs
//! only with `--northd-stand-in`, for zones without `ovn-northd`):
//!
//! ```text
//! cargo run --release --example interconnect -- \
//!     --ic-nb-db=tcp:127.0.0.1:6645 --ic-sb-db=tcp:127.0.0.1:6646 \
//!     --zone openstack=unix:/run/os/nb.sock,unix:/run/os/sb.sock \
//!     --zone kubernetes=unix:/run/k8s/nb.sock,unix:/run/k8s/sb.sock \
//!     [--topology a|b|a-unfiltered] [--northd-stand-in] [--timeout SECS]
//! ```
//!
//! The first `--zone` gets the OpenStack tenants, the second the Kubernetes VPCs; the zone
//! name is written into `NB_Global.name`. With real databases one topology runs (default
//! `a`); with embedded ones `--topology` picks one (default: all three).
//!
//! Exit status: 0 when every run converged as expected (no leak where a policy holds), 1
//! when not, 2 on bad arguments or an unreachable database.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ic_routed::{Config, Daemon};
use isolation::{verify, Inventory, Policy, Report, TopologyConfig, VpcKind, World};
use ovn_nb::{LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute, LogicalSwitch};
use ovn_nb::{LogicalSwitchPort, NbGlobal};
use ovsdb_client::{Client, ClientConfig};
use ovsdb_proto::dump::Dump;
use ovsdb_proto::typed::{Ref, StringMap, Table};
use ovsdb_proto::{Operation, OperationResult, Uuid};

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

/// Embedded servers on unix sockets in a temp dir; stopped on drop.
pub struct Embedded {
    servers: Vec<ovsdb_server::Server>,
    _dir: tempfile::TempDir,
    /// Their remotes.
    pub remotes: Remotes,
}

impl Embedded {
    /// Starts IC-NB, IC-SB and, per zone name, an NB and an SB server.
    pub async fn start(zones: &[&str]) -> Result<Embedded, String> {
        let dir = tempfile::Builder::new()
            .prefix("ovnlink-interconnect")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let mut servers = Vec::new();
        let mut serve = |file: String, db: usize| {
            let (name, json) = ic_routed::embedded::DATABASES[db];
            let server = ovsdb_server::Server::new();
            let schema = ovsdb_proto::DatabaseSchema::from_slice(json.as_bytes())
                .map_err(|e| format!("{name} schema: {e}"))?;
            server
                .add_database(schema)
                .map_err(|e| format!("{name}: {e}"))?;
            let path = dir.path().join(file);
            servers.push(server.clone());
            Ok::<_, String>((server, format!("punix:{}", path.display())))
        };
        let mut pending = vec![
            serve("ic-nb.sock".into(), 2)?,
            serve("ic-sb.sock".into(), 3)?,
        ];
        for z in zones {
            pending.push(serve(format!("{z}-nb.sock"), 0)?);
            pending.push(serve(format!("{z}-sb.sock"), 1)?);
        }
        let mut remotes = Vec::new();
        for (server, remote) in &pending {
            remotes.push(
                server
                    .listen(remote)
                    .await
                    .map_err(|e| format!("{remote}: {e}"))?,
            );
        }
        Ok(Embedded {
            servers,
            _dir: dir,
            remotes: Remotes {
                ic_nb: remotes[0].clone(),
                ic_sb: remotes[1].clone(),
                zones: zones
                    .iter()
                    .enumerate()
                    .map(|(i, z)| ZoneRemotes {
                        name: (*z).to_owned(),
                        nb: remotes[2 + 2 * i].clone(),
                        sb: remotes[3 + 2 * i].clone(),
                    })
                    .collect(),
            },
        })
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        for s in &self.servers {
            s.shutdown();
        }
    }
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
        ic_routed::show::lr_route_list(&self.routes)
    }

    /// The learned prefixes (`external_ids:ic-learned-route`), normalised as `ovn-nbctl`
    /// prints them (ovn-ic stores connected networks with their host bits), sorted.
    pub fn learned(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .routes
            .iter()
            .filter(|r| r.external_ids.contains_key("ic-learned-route"))
            .map(|r| ic_routed::show::normalize(&r.ip_prefix).unwrap_or(r.ip_prefix.clone()))
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

/// A UUID for a new row, unique within the process and across runs.
fn new_uuid() -> Uuid {
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = N.fetch_add(1, Ordering::Relaxed);
    Uuid::from_u128((u128::from(t) << 64) | u128::from(n))
}

fn ids(pairs: &[(&str, &str)]) -> StringMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn mac(n: u32) -> String {
    format!("0a:00:00:00:{:02x}:{:02x}", (n >> 8) & 0xff, n & 0xff)
}

/// Rows of one zone's tenants, as Neutron or Kube-OVN would write them.
#[derive(Default)]
struct Seed {
    ops: Vec<Operation>,
    macs: u32,
}

impl Seed {
    fn insert<T: Table>(&mut self, row: &T) {
        self.ops.push(row.insert_op());
    }

    fn lrp(&mut self, name: &str, network: &str, ext: &[(&str, &str)]) -> LogicalRouterPort {
        self.macs += 1;
        let mut p = LogicalRouterPort::default();
        p.uuid = new_uuid();
        p.name = name.to_owned();
        p.mac = mac(self.macs);
        p.networks = vec![network.to_owned()];
        p.external_ids = ids(ext);
        self.insert(&p);
        p
    }

    fn lsp(
        &mut self,
        name: &str,
        type_: &str,
        addresses: &str,
        options: &[(&str, &str)],
        ext: &[(&str, &str)],
    ) -> LogicalSwitchPort {
        let mut p = LogicalSwitchPort::default();
        p.uuid = new_uuid();
        p.name = name.to_owned();
        p.type_ = type_.to_owned();
        p.addresses = vec![addresses.to_owned()];
        p.options = ids(options);
        p.external_ids = ids(ext);
        self.insert(&p);
        p
    }

    fn switch(&mut self, name: &str, ports: &[&LogicalSwitchPort], other: &[(&str, &str)]) {
        let mut ls = LogicalSwitch::default();
        ls.uuid = new_uuid();
        ls.name = name.to_owned();
        ls.other_config = ids(other);
        ls.ports = ports.iter().map(|p| Ref::new(p.uuid)).collect();
        self.insert(&ls);
    }

    fn router(&mut self, name: &str, ports: &[&LogicalRouterPort], ext: &[(&str, &str)]) {
        let mut lr = LogicalRouter::default();
        lr.uuid = new_uuid();
        lr.name = name.to_owned();
        lr.external_ids = ids(ext);
        lr.ports = ports.iter().map(|p| Ref::new(p.uuid)).collect();
        self.insert(&lr);
    }

    /// A Neutron router `neutron-<id>` with one tenant network and an external gateway.
    fn neutron(&mut self, id: &str, human: &str, project: &str, cidr_gw: &str, ext_gw: &str) {
        let router = format!("neutron-{id}");
        let (ip, _) = cidr_gw.split_once('/').unwrap_or((cidr_gw, ""));
        let vm_ip = ip
            .rsplit_once('.')
            .map_or(ip.to_owned(), |(a, _)| format!("{a}.5"));
        let lrp_if = self.lrp(
            &format!("lrp-if-{id}"),
            cidr_gw,
            &[
                ("neutron:router_name", &router),
                ("neutron:is_ext_gw", "False"),
            ],
        );
        let lrp_gw = self.lrp(
            &format!("lrp-gw-{id}"),
            ext_gw,
            &[
                ("neutron:router_name", &router),
                ("neutron:is_ext_gw", "True"),
            ],
        );
        let if_port = self.lsp(
            &format!("if-{id}"),
            "router",
            "router",
            &[("router-port", &lrp_if.name)],
            &[
                ("neutron:device_id", id),
                ("neutron:device_owner", "network:router_interface"),
                ("neutron:project_id", project),
            ],
        );
        self.macs += 1;
        let vm = self.lsp(
            &format!("vm-{id}"),
            "",
            &format!("{} {vm_ip}", mac(self.macs)),
            &[],
            &[("neutron:project_id", project), ("neutron:port_name", "vm")],
        );
        self.switch(&format!("neutron-net-{id}"), &[&if_port, &vm], &[]);
        self.router(
            &router,
            &[&lrp_if, &lrp_gw],
            &[
                ("neutron:router_name", human),
                ("neutron:revision_number", "3"),
            ],
        );
    }

    /// A Kube-OVN custom VPC `vpc` with one subnet and one pod.
    fn kube_vpc(&mut self, vpc: &str, subnet: &str, cidr_gw: &str) {
        let lrp = self.lrp(
            &format!("{vpc}-{subnet}"),
            cidr_gw,
            &[("vendor", "kube-ovn")],
        );
        let lsp = self.lsp(
            &format!("{subnet}-{vpc}"),
            "router",
            "router",
            &[("router-port", &lrp.name)],
            &[("vendor", "kube-ovn")],
        );
        let (ip, _) = cidr_gw.split_once('/').unwrap_or((cidr_gw, ""));
        let pod_ip = ip
            .rsplit_once('.')
            .map_or(ip.to_owned(), |(a, _)| format!("{a}.2"));
        self.macs += 1;
        let pod = self.lsp(
            &format!("pod1.{vpc}"),
            "",
            &format!("{} {pod_ip}", mac(self.macs)),
            &[],
            &[
                ("pod", &format!("{vpc}/pod1")),
                ("vendor", "kube-ovn"),
                ("ls", subnet),
            ],
        );
        self.switch(subnet, &[&lsp, &pod], &[("vendor", "kube-ovn")]);
        self.router(vpc, &[&lrp], &[("vendor", "kube-ovn")]);
    }
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

/// Open clients to every database.
struct Clients {
    ic_nb: Client,
    ic_sb: Client,
    /// Per zone: name, NB, SB.
    zones: Vec<(String, Client, Client)>,
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
        Ok(Clients {
            ic_nb: open(&remotes.ic_nb).await?,
            ic_sb: open(&remotes.ic_sb).await?,
            zones,
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

    /// A fingerprint of everything the daemons and the stand-in write.
    async fn fingerprint(&self) -> Result<String, String> {
        let mut s = String::new();
        for (_, nb, sb) in &self.zones {
            let t = dump(nb, ovn_nb::NAME, NB_TABLES).await?;
            let _ = write!(s, "{:?}", t.tables());
            let t = dump(sb, "OVN_Southbound", &["Port_Binding", "Datapath_Binding"]).await?;
            let _ = write!(s, "{:?}", t.tables());
        }
        let t = dump(
            &self.ic_sb,
            "OVN_IC_Southbound",
            &[
                "Availability_Zone",
                "Datapath_Binding",
                "Port_Binding",
                "Route",
            ],
        )
        .await?;
        let _ = write!(s, "{:?}", t.tables());
        Ok(s)
    }

    /// Runs the northd stand-in (when asked) and waits until nothing changes for a while.
    async fn settle(&self, opts: &RunOptions, deadline: Instant) -> Result<(), String> {
        const QUIET: u32 = 4;
        let mut last = String::new();
        let mut quiet = 0;
        while quiet < QUIET {
            if Instant::now() > deadline {
                return Err(format!(
                    "no convergence within {} s",
                    opts.timeout.as_secs()
                ));
            }
            let mut wrote = 0;
            if opts.northd_stand_in {
                for (name, nb, sb) in &self.zones {
                    wrote += ic_routed::embedded::northd_pass(nb, sb)
                        .await
                        .map_err(|e| format!("{name}: northd stand-in: {e}"))?;
                }
            }
            let now = self.fingerprint().await?;
            if wrote == 0 && now == last {
                quiet += 1;
            } else {
                quiet = 0;
                last = now;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        Ok(())
    }
}

/// Names the zone and turns route exchange on (`NB_Global`), then writes the tenants: the
/// Neutron routers in the first zone, the Kube-OVN VPCs in the second. Tenants whose
/// router already exists are left alone.
async fn seed(clients: &Clients) -> Result<(), String> {
    for (i, (name, nb, _)) in clients.zones.iter().enumerate() {
        let t = dump(nb, ovn_nb::NAME, &["NB_Global", "Logical_Router"]).await?;
        let globals: BTreeMap<Uuid, NbGlobal> = t.typed().map_err(|e| e.to_string())?;
        let routers: BTreeMap<Uuid, LogicalRouter> = t.typed().map_err(|e| e.to_string())?;
        let mut seed = Seed {
            macs: 0x100 * (i as u32 + 1),
            ..Seed::default()
        };
        let options = [("ic-route-adv", "true"), ("ic-route-learn", "true")];
        match globals.values().next() {
            Some(g) => {
                let mut new = g.clone();
                new.name = name.clone();
                for (k, v) in options {
                    new.options.insert(k, v);
                }
                seed.ops.extend(NbGlobal::update_changed_op(g, &new));
            }
            None => {
                let mut g = NbGlobal::default();
                g.name = name.clone();
                g.options = ids(&options);
                seed.insert(&g);
            }
        }
        let has = |n: &str| routers.values().any(|r| r.name == n);
        if i == 0 {
            if !has("neutron-r1") {
                seed.neutron("r1", "tenant-a", "p1", "10.0.0.1/24", "172.24.4.10/24");
            }
            if !has("neutron-r2") {
                seed.neutron("r2", "tenant-b", "p2", "10.1.0.1/24", "172.24.4.11/24");
            }
        } else {
            if !has("vpc-a") {
                seed.kube_vpc("vpc-a", "subnet-a", "10.16.0.1/16");
            }
            if !has("vpc-b") {
                seed.kube_vpc("vpc-b", "subnet-b", "10.17.0.1/16");
            }
        }
        if !seed.ops.is_empty() {
            nb.transact_checked(ovn_nb::NAME, seed.ops)
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
    let clients = Clients::connect(remotes).await?;
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
    let servers = Embedded::start(&[OPENSTACK, KUBERNETES]).await?;
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

struct Args {
    remotes: Option<Remotes>,
    topologies: Vec<Topology>,
    northd_stand_in: bool,
    timeout: Duration,
}

const USAGE: &str = "usage: interconnect [--topology a|b|a-unfiltered|all] [--timeout SECS]
       interconnect --ic-nb-db=REMOTE --ic-sb-db=REMOTE --zone NAME=NB,SB --zone NAME=NB,SB
                    [--topology a|b|a-unfiltered] [--northd-stand-in] [--timeout SECS]";

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = std::env::args().skip(1);
    let (mut ic_nb, mut ic_sb, mut zones) = (None, None, Vec::new());
    let mut topology = None;
    let mut northd_stand_in = false;
    let mut timeout = Duration::from_secs(30);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--ic-nb-db" => ic_nb = Some(value()?),
            "--ic-sb-db" => ic_sb = Some(value()?),
            "--zone" => {
                let v = value()?;
                let (name, dbs) = v.split_once('=').ok_or("--zone wants NAME=NB,SB")?;
                let (nb, sb) = dbs.split_once(',').ok_or("--zone wants NAME=NB,SB")?;
                zones.push(ZoneRemotes {
                    name: name.to_owned(),
                    nb: nb.to_owned(),
                    sb: sb.to_owned(),
                });
            }
            "--topology" => {
                topology = Some(match value()?.as_str() {
                    "a" => vec![Topology::AFiltered],
                    "b" => vec![Topology::B],
                    "a-unfiltered" => vec![Topology::AUnfiltered],
                    "all" => vec![Topology::B, Topology::AFiltered, Topology::AUnfiltered],
                    other => return Err(format!("unknown topology {other:?}")),
                })
            }
            "--northd-stand-in" => northd_stand_in = true,
            "--timeout" => {
                let v = value()?;
                let s: u64 = v.parse().map_err(|_| format!("bad --timeout {v:?}"))?;
                timeout = Duration::from_secs(s);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let remotes = match (ic_nb, ic_sb, zones.len()) {
        (None, None, 0) => None,
        (Some(ic_nb), Some(ic_sb), 2) => Some(Remotes {
            ic_nb,
            ic_sb,
            zones,
        }),
        _ => {
            return Err(format!(
                "real databases need --ic-nb-db, --ic-sb-db and two --zone\n{USAGE}"
            ))
        }
    };
    let topologies = match (topology, &remotes) {
        (Some(t), Some(_)) if t.len() > 1 => {
            return Err("with real databases, pick one --topology".into())
        }
        (Some(t), _) => t,
        (None, Some(_)) => vec![Topology::AFiltered],
        (None, None) => vec![Topology::B, Topology::AFiltered, Topology::AUnfiltered],
    };
    Ok(Some(Args {
        remotes,
        topologies,
        northd_stand_in,
        timeout,
    }))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    use std::io::Write as _;
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interconnect: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut ok = true;
    for topology in &args.topologies {
        let outcome = match &args.remotes {
            None => run_embedded(*topology, args.timeout).await,
            Some(remotes) => {
                let opts = RunOptions {
                    northd_stand_in: args.northd_stand_in,
                    timeout: args.timeout,
                };
                run(remotes, *topology, &opts).await
            }
        };
        match outcome {
            Ok(o) => {
                ok &= as_expected(&o);
                // A closed pipe (`| head`) is not worth a panic.
                let _ = std::io::stdout().write_all(o.render().as_bytes());
            }
            Err(e) => {
                eprintln!("interconnect: {}: {e}", topology.title());
                return std::process::ExitCode::from(2);
            }
        }
    }
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}
