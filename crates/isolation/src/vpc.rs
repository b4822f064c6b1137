//! The VPC model: which routers of which zone are tenant VPCs, and their address space.
//!
//! - **OpenStack VPC**: a Neutron router, i.e. a `Logical_Router` named `neutron-<uuid>`
//!   whose `external_ids` carry `neutron:router_name`. Its tenant CIDRs are the networks of
//!   its router ports that are not the external gateway (`neutron:is_ext_gw` ≠ `"True"`),
//!   not on a transit switch, not a router-to-router link (`peer`) and not link-local; the
//!   gateway networks are kept apart as [`Vpc::external`]. Its project is read from the
//!   router-interface switch ports (`neutron:device_id` = router id, `neutron:device_owner`
//!   = `network:router_interface[_distributed]` or `network:ha_router_replicated_interface`,
//!   `neutron:project_id`); Logical_Router rows carry no project.
//! - **Kubernetes VPC**: a Kube-OVN router: `ovn-cluster` (the default VPC) or a router
//!   tagged `external_ids:vendor=kube-ovn` (a custom VPC, named after its `Vpc` CR). Its
//!   CIDRs are the networks of its subnet router ports (`<vpc>-<subnet>`), with the same
//!   exclusions, and without the node switch `join` of the default VPC (router port
//!   `ovn-cluster-join`, 100.64.0.0/16 in every cluster; Kube-OVN never advertises it).
//!
//! Routers that are neither (transit routers, this crate's own rows) are not VPCs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;

use ic_routes::{PortAddresses, Prefix};
use ovn_ic_sb::PortBinding;
use ovn_nb::{LogicalRouter, LogicalRouterPort};
use ovsdb_proto::Uuid;

use crate::net::network;
use crate::rows::{World, ZoneNb};
use crate::{OWNER, OWNER_KEY};

/// The Kube-OVN default VPC router.
pub const KUBE_OVN_CLUSTER_ROUTER: &str = "ovn-cluster";

/// The router port of Kube-OVN's node switch `join` on `ovn-cluster`.
pub const KUBE_OVN_JOIN_PORT: &str = "ovn-cluster-join";

/// A VPC's identity: `<zone>/<router name>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VpcId(pub String);

impl VpcId {
    /// The id of router `router` of zone `zone`.
    pub fn new(zone: &str, router: &str) -> Self {
        VpcId(format!("{zone}/{router}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VpcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Which cloud a VPC belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VpcKind {
    /// A Neutron router.
    OpenStack {
        /// The Neutron router UUID (`neutron-<uuid>` without the prefix).
        router_id: String,
        /// The router's project, from its router-interface ports.
        project: Option<String>,
        /// The human router name (`neutron:router_name`).
        router_name: Option<String>,
    },
    /// A Kube-OVN VPC.
    Kubernetes {
        /// The `Vpc` CR name (= the router name).
        vpc: String,
        /// Whether this is the default VPC `ovn-cluster`.
        default: bool,
    },
}

/// One tenant VPC: a router of one zone and its address space.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vpc {
    /// `<zone>/<router name>`.
    pub id: VpcId,
    /// OpenStack or Kubernetes, with the kind's identifiers.
    pub kind: VpcKind,
    /// The availability zone.
    pub zone: String,
    /// The `Logical_Router` name.
    pub router: String,
    /// The `Logical_Router` row UUID.
    pub router_uuid: Uuid,
    /// Tenant CIDRs (host bits cleared, sorted): Neutron networks or Kube-OVN subnets.
    pub cidrs: Vec<Prefix>,
    /// External (gateway) networks of a Neutron router, never tenant space.
    pub external: Vec<Prefix>,
    /// The logical switches attached to the tenant router ports.
    pub switches: Vec<Uuid>,
}

impl Vpc {
    /// Whether this is an OpenStack VPC.
    pub fn is_openstack(&self) -> bool {
        matches!(self.kind, VpcKind::OpenStack { .. })
    }

    /// Whether `prefix` lies inside one of the tenant CIDRs.
    pub fn covers(&self, prefix: &Prefix) -> bool {
        self.cidrs.iter().any(|c| prefix.is_within(c))
    }
}

/// Per-zone lookups shared by the VPC model, the verifier and the planners.
#[derive(Debug, Default)]
pub(crate) struct ZoneIndex<'a> {
    pub lrp_by_name: HashMap<&'a str, &'a LogicalRouterPort>,
    /// LRP UUID → owning router UUID.
    pub lrp_owner: HashMap<Uuid, Uuid>,
    /// Static route UUID → owning router UUID.
    pub route_owner: HashMap<Uuid, Uuid>,
    /// LRP name → transit switch name, for router ports on a transit switch.
    pub lrp_ts: HashMap<&'a str, &'a str>,
    /// LRP name → logical switch UUID it is attached to (router-type switch port).
    pub lrp_ls: HashMap<&'a str, Uuid>,
    /// Transit switch name → its local logical switch UUID.
    pub ts_ls: HashMap<&'a str, Uuid>,
}

impl<'a> ZoneIndex<'a> {
    pub fn new(z: &'a ZoneNb) -> Self {
        let mut ix = ZoneIndex::default();
        for lrp in z.router_ports.values() {
            ix.lrp_by_name.entry(lrp.name.as_str()).or_insert(lrp);
        }
        for lr in z.routers.values() {
            for p in &lr.ports {
                ix.lrp_owner.insert(p.uuid(), lr.uuid);
            }
            for r in &lr.static_routes {
                ix.route_owner.insert(r.uuid(), lr.uuid);
            }
        }
        for ls in z.switches.values() {
            let ts = ls.other_config.get("interconn-ts");
            if let Some(ts) = ts {
                ix.ts_ls.insert(ts, ls.uuid);
            }
            for p in &ls.ports {
                let Some(lsp) = z.switch_ports.get(&p.uuid()) else {
                    continue;
                };
                if lsp.type_ != "router" {
                    continue;
                }
                if let Some(rp) = lsp.options.get("router-port") {
                    ix.lrp_ls.insert(rp, ls.uuid);
                    if let Some(ts) = ts {
                        ix.lrp_ts.insert(rp, ts);
                    }
                }
            }
        }
        ix
    }

    /// The router ports of `lr`.
    pub fn ports(&self, z: &'a ZoneNb, lr: &LogicalRouter) -> Vec<&'a LogicalRouterPort> {
        lr.ports
            .iter()
            .filter_map(|p| z.router_ports.get(&p.uuid()))
            .collect()
    }
}

/// Whether a row is one of this crate's own (tagged `ovnlink:owner=isolation`).
pub fn is_own(external_ids: &ovsdb_proto::typed::StringMap) -> bool {
    external_ids.get(OWNER_KEY) == Some(OWNER)
}

const ROUTER_INTERFACE_OWNERS: &[&str] = &[
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
];

fn vpcs_of_zone(z: &ZoneNb) -> Vec<Vpc> {
    let ix = ZoneIndex::new(z);
    let mut out = Vec::new();
    for lr in z.routers.values() {
        let kind = if let (Some(id), true) = (
            lr.name.strip_prefix("neutron-"),
            lr.external_ids.contains_key("neutron:router_name"),
        ) {
            let project = z
                .switch_ports
                .values()
                .filter(|p| {
                    p.external_ids.get("neutron:device_id") == Some(id)
                        && p.external_ids
                            .get("neutron:device_owner")
                            .is_some_and(|o| ROUTER_INTERFACE_OWNERS.contains(&o))
                })
                .filter_map(|p| p.external_ids.get("neutron:project_id"))
                .find(|p| !p.is_empty())
                .map(str::to_owned);
            VpcKind::OpenStack {
                router_id: id.to_owned(),
                project,
                router_name: lr
                    .external_ids
                    .get("neutron:router_name")
                    .map(str::to_owned),
            }
        } else if lr.name == KUBE_OVN_CLUSTER_ROUTER
            || lr.external_ids.get("vendor") == Some("kube-ovn")
        {
            VpcKind::Kubernetes {
                vpc: lr.name.clone(),
                default: lr.name == KUBE_OVN_CLUSTER_ROUTER,
            }
        } else {
            continue;
        };
        let mut cidrs = BTreeSet::new();
        let mut external = BTreeSet::new();
        let mut switches = BTreeSet::new();
        for lrp in ix.ports(z, lr) {
            if ix.lrp_ts.contains_key(lrp.name.as_str())
                || lrp.peer.is_some()
                || is_own(&lrp.external_ids)
                || lrp.name == KUBE_OVN_JOIN_PORT
            {
                continue;
            }
            let ext = lrp.external_ids.get("neutron:is_ext_gw") == Some("True");
            for n in &lrp.networks {
                let Some(p) = Prefix::parse(n) else { continue };
                if p.is_link_local() {
                    continue;
                }
                if ext {
                    external.insert(network(&p));
                } else {
                    cidrs.insert(network(&p));
                }
            }
            if !ext {
                if let Some(ls) = ix.lrp_ls.get(lrp.name.as_str()) {
                    switches.insert(*ls);
                }
            }
        }
        out.push(Vpc {
            id: VpcId::new(&z.zone, &lr.name),
            kind,
            zone: z.zone.clone(),
            router: lr.name.clone(),
            router_uuid: lr.uuid,
            cidrs: cidrs.into_iter().collect(),
            external: external.into_iter().collect(),
            switches: switches.into_iter().collect(),
        });
    }
    out.sort_by(|a, b| a.router.cmp(&b.router));
    out
}

/// The VPCs of every zone, with the lookups the route filter needs. Two inventories are
/// equal when they hold the same VPCs with the same lookups (a daemon rebuilds its route
/// engine only when its inventory changed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    vpcs: Vec<Vpc>,
    by_id: HashMap<VpcId, usize>,
    by_router: HashMap<(String, Uuid), usize>,
    /// NB row UUID (router, router port, static route) → VPC, per zone.
    by_row: HashMap<(String, Uuid), usize>,
    /// NB row UUID → VPCs, whatever the zone.
    by_row_any: HashMap<Uuid, Vec<usize>>,
    /// (transit switch, port address) → VPCs owning that port.
    ts_ports: HashMap<(String, IpAddr), BTreeSet<usize>>,
    /// VPCs known only from claims (indexes into `vpcs`).
    claimed: BTreeSet<usize>,
}

impl Inventory {
    /// The VPCs of every zone of `world`, and the addresses of their transit-switch ports
    /// (from each zone's NB and from the IC-SB port bindings).
    pub fn from_world(world: &World) -> Self {
        let mut inv = Inventory::default();
        for z in &world.zones {
            inv.add_zone(z);
        }
        let azs = world
            .ic
            .availability_zones
            .values()
            .map(|a| (a.uuid, a.name.clone()))
            .collect();
        inv.add_port_bindings(&azs, world.ic.port_bindings.values());
        inv
    }

    /// Adds the addresses of IC-SB port bindings (`address` "MAC IP/LEN…" and
    /// `external_ids:router-id`, of any zone) to the transit-switch ports of the VPCs
    /// already known.
    pub(crate) fn add_port_bindings<'a>(
        &mut self,
        azs: &HashMap<Uuid, String>,
        port_bindings: impl IntoIterator<Item = &'a PortBinding>,
    ) {
        for pb in port_bindings {
            let Some(zone) = azs.get(&pb.availability_zone.uuid()) else {
                continue;
            };
            let Some(router) = pb
                .external_ids
                .get("router-id")
                .and_then(|s| Uuid::parse_str(s).ok())
            else {
                continue;
            };
            let Some(&i) = self.by_router.get(&(zone.clone(), router)) else {
                continue;
            };
            if let Some(addrs) = PortAddresses::parse(&pb.address) {
                for a in addrs.ipv4.iter().chain(&addrs.ipv6) {
                    self.ts_ports
                        .entry((pb.transit_switch.clone(), *a))
                        .or_default()
                        .insert(i);
                }
            }
        }
    }

    /// Adds a VPC known only from another zone's claims ([`crate::live`]): `rows` are the
    /// NB rows its advertisements name (`lr-id`, `nb-id`), `ts_ports` its nexthops.
    pub(crate) fn add_claimed(
        &mut self,
        vpc: Vpc,
        rows: impl IntoIterator<Item = Uuid>,
        ts_ports: impl IntoIterator<Item = (String, IpAddr)>,
    ) {
        if self.by_id.contains_key(&vpc.id) {
            return;
        }
        let i = self.vpcs.len();
        for r in rows {
            if self.by_row.insert((vpc.zone.clone(), r), i).is_none() {
                self.by_row_any.entry(r).or_default().push(i);
            }
        }
        for key in ts_ports {
            self.ts_ports.entry(key).or_default().insert(i);
        }
        if !vpc.router_uuid.is_nil() {
            self.by_router
                .insert((vpc.zone.clone(), vpc.router_uuid), i);
        }
        self.by_id.insert(vpc.id.clone(), i);
        self.claimed.insert(i);
        self.vpcs.push(vpc);
    }

    /// Whether `vpc` is known only from another zone's claims, not from NB rows.
    pub fn is_claimed(&self, vpc: &Vpc) -> bool {
        self.index(&vpc.id)
            .is_some_and(|i| self.claimed.contains(&i))
    }

    /// The zones whose VPCs were read from NB rows.
    pub fn zones(&self) -> BTreeSet<&str> {
        self.vpcs
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.claimed.contains(i))
            .map(|(_, v)| v.zone.as_str())
            .collect()
    }

    /// The VPCs of one zone only.
    pub fn from_zone(zone: &ZoneNb) -> Self {
        let mut inv = Inventory::default();
        inv.add_zone(zone);
        inv
    }

    pub(crate) fn add_zone(&mut self, z: &ZoneNb) {
        let ix = ZoneIndex::new(z);
        for vpc in vpcs_of_zone(z) {
            let i = self.vpcs.len();
            let lr = &z.routers[&vpc.router_uuid];
            let mut rows = vec![lr.uuid];
            rows.extend(lr.ports.iter().map(|p| p.uuid()));
            rows.extend(lr.static_routes.iter().map(|p| p.uuid()));
            for r in rows {
                self.by_row.insert((z.zone.clone(), r), i);
                self.by_row_any.entry(r).or_default().push(i);
            }
            for lrp in ix.ports(z, lr) {
                if let Some(ts) = ix.lrp_ts.get(lrp.name.as_str()) {
                    for n in &lrp.networks {
                        if let Some(p) = Prefix::parse(n) {
                            self.ts_ports
                                .entry(((*ts).to_owned(), p.addr()))
                                .or_default()
                                .insert(i);
                        }
                    }
                }
            }
            self.by_router.insert((z.zone.clone(), vpc.router_uuid), i);
            self.by_id.entry(vpc.id.clone()).or_insert(i);
            self.vpcs.push(vpc);
        }
    }

    /// Every VPC, zone by zone (in the order given), routers in name order.
    pub fn vpcs(&self) -> &[Vpc] {
        &self.vpcs
    }

    /// The VPC with this id.
    pub fn get(&self, id: &VpcId) -> Option<&Vpc> {
        self.by_id.get(id).map(|&i| &self.vpcs[i])
    }

    /// The index in [`Inventory::vpcs`] of the VPC with this id.
    pub fn index(&self, id: &VpcId) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The VPC whose router is `router` in zone `zone`.
    pub fn by_router(&self, zone: &str, router: Uuid) -> Option<&Vpc> {
        self.by_router
            .get(&(zone.to_owned(), router))
            .map(|&i| &self.vpcs[i])
    }

    /// The VPC whose router is called `name` in zone `zone`.
    pub fn by_router_name(&self, zone: &str, name: &str) -> Option<&Vpc> {
        self.vpcs
            .iter()
            .find(|v| v.zone == zone && v.router == name)
    }

    /// The VPC owning NB row `row` (router, router port or static route) of zone `zone`;
    /// with `zone` empty, of any zone when that is unambiguous.
    pub fn by_nb_row(&self, zone: &str, row: Uuid) -> Option<&Vpc> {
        if !zone.is_empty() {
            return self
                .by_row
                .get(&(zone.to_owned(), row))
                .map(|&i| &self.vpcs[i]);
        }
        match self.by_row_any.get(&row).map(Vec::as_slice) {
            Some([i]) => Some(&self.vpcs[*i]),
            _ => None,
        }
    }

    /// The VPCs owning a port with address `addr` on transit switch `ts`.
    pub fn by_transit_port(&self, ts: &str, addr: IpAddr) -> Vec<&Vpc> {
        self.ts_ports
            .get(&(ts.to_owned(), addr))
            .map(|s| s.iter().map(|&i| &self.vpcs[i]).collect())
            .unwrap_or_default()
    }

    /// The VPCs (of zone `zone`, or of every zone when `zone` is empty) whose tenant CIDRs
    /// contain `prefix`.
    pub fn by_prefix(&self, zone: &str, prefix: &Prefix) -> Vec<&Vpc> {
        self.vpcs
            .iter()
            .filter(|v| (zone.is_empty() || v.zone == zone) && v.covers(prefix))
            .collect()
    }

    /// VPCs by id.
    pub fn map(&self) -> BTreeMap<&VpcId, &Vpc> {
        self.vpcs.iter().map(|v| (&v.id, v)).collect()
    }
}
