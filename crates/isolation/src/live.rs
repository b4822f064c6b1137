//! The inventory a daemon keeps live: VPCs read from NB replicas, and from the claims other
//! zones' daemons write on their IC-SB advertisements.
//!
//! A daemon with a policy and no inventory file (`ic-routed --isolation-policy`) knows its
//! own zone's VPCs from its NB replica. Other zones' VPCs come, per zone, from the first of:
//!
//! 1. a replica of that zone's `OVN_Northbound` (`--isolation-zone-nb ZONE=REMOTE`, for a
//!    zone running stock ovn-ic);
//! 2. the inventory file, when one is given (zones it holds);
//! 3. **claims**: [`VpcFilter`](crate::VpcFilter) annotates every advertisement of a VPC
//!    router with the VPC's identity ([`Claim`], `external_ids` keys under
//!    [`CLAIM_PREFIX`]), so that an `ic-routed` in another zone rebuilds a [`Vpc`] that
//!    policy selectors match (kind, Neutron project and router name, Kube-OVN VPC name,
//!    zone, router). Its tenant CIDRs are the prefixes of its `connected` advertisements,
//!    its router UUID the routes' `lr-id`, its transit-switch ports their nexthops.
//!
//! A claim is believed only for the zone that wrote it: the zone part of its VPC id must
//! be the advertising `Availability_Zone`'s name, so a zone cannot speak for another.
//! [`build`] is a pure function of those rows; a daemon calls it again when a table of
//! [`NB_TABLES`] or [`IC_SB_TABLES`] changed and rebuilds its route engine when the result
//! differs ([`Inventory`] equality).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use ic_routes::{Nexthop, Prefix, LR_ID, NB_ID};
use ovn_ic_sb::{AvailabilityZone, PortBinding, Route, RouteOrigin};
use ovn_nb::{
    LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute, LogicalSwitch, LogicalSwitchPort,
    NbGlobal,
};
use ovsdb_proto::typed::{StringMap, Table, TableVisitor, TypedRows};
use ovsdb_proto::Uuid;

use crate::error::Error;
use crate::net::network;
use crate::rows::{World, ZoneNb};
use crate::vpc::{Inventory, Vpc, VpcId, VpcKind, KUBE_OVN_CLUSTER_ROUTER};
use crate::VPC_KEY;

/// The prefix of every claim key on IC-SB `Route.external_ids`; a
/// [`VpcFilter`](crate::VpcFilter) owns it on its zone's advertisements.
pub const CLAIM_PREFIX: &str = "ovnlink:vpc";
/// `external_ids` key of a claim: `openstack` or `kubernetes`.
pub const KIND_KEY: &str = "ovnlink:vpc-kind";
/// `external_ids` key of a claim: the Neutron project (OpenStack VPCs whose project is
/// known).
pub const PROJECT_KEY: &str = "ovnlink:vpc-project";
/// `external_ids` key of a claim: Neutron's human router name (`neutron:router_name`).
pub const ROUTER_NAME_KEY: &str = "ovnlink:vpc-router-name";
/// `external_ids` key of a claim: the Kube-OVN `Vpc` name.
pub const KUBE_VPC_KEY: &str = "ovnlink:vpc-kube";

/// The `OVN_Northbound` tables the VPC model reads (a replica that feeds [`build`] must
/// hold them typed).
pub const NB_TABLES: &[&str] = &[
    NbGlobal::NAME,
    LogicalRouter::NAME,
    LogicalRouterPort::NAME,
    LogicalRouterStaticRoute::NAME,
    LogicalSwitch::NAME,
    LogicalSwitchPort::NAME,
];

/// The `OVN_IC_Southbound` tables [`build`] reads.
pub const IC_SB_TABLES: &[&str] = &[AvailabilityZone::NAME, PortBinding::NAME, Route::NAME];

/// Calls `visitor` for every table of [`NB_TABLES`] (to register them with a replica).
pub fn visit_nb_tables<V: TableVisitor>(visitor: &mut V) {
    visitor.visit::<NbGlobal>();
    visitor.visit::<LogicalRouter>();
    visitor.visit::<LogicalRouterPort>();
    visitor.visit::<LogicalRouterStaticRoute>();
    visitor.visit::<LogicalSwitch>();
    visitor.visit::<LogicalSwitchPort>();
}

/// Calls `visitor` for every table of [`IC_SB_TABLES`].
pub fn visit_ic_sb_tables<V: TableVisitor>(visitor: &mut V) {
    visitor.visit::<AvailabilityZone>();
    visitor.visit::<PortBinding>();
    visitor.visit::<Route>();
}

/// A VPC's identity as its zone's daemon claims it on its advertisements.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// `<zone>/<router>`.
    pub id: VpcId,
    /// The availability zone.
    pub zone: String,
    /// The `Logical_Router` name.
    pub router: String,
    /// OpenStack or Kubernetes, with what policy selectors match.
    pub kind: VpcKind,
}

impl Claim {
    /// The claim of a VPC read from NB rows.
    pub fn of(vpc: &Vpc) -> Claim {
        Claim {
            id: vpc.id.clone(),
            zone: vpc.zone.clone(),
            router: vpc.router.clone(),
            kind: vpc.kind.clone(),
        }
    }

    /// The `external_ids` that carry the claim (every key starts with [`CLAIM_PREFIX`]).
    pub fn to_external_ids(&self) -> StringMap {
        let mut pairs: Vec<(&str, &str)> = vec![(VPC_KEY, self.id.as_str())];
        match &self.kind {
            VpcKind::OpenStack {
                project,
                router_name,
                ..
            } => {
                pairs.push((KIND_KEY, "openstack"));
                if let Some(p) = project {
                    pairs.push((PROJECT_KEY, p));
                }
                if let Some(n) = router_name {
                    pairs.push((ROUTER_NAME_KEY, n));
                }
            }
            VpcKind::Kubernetes { vpc, .. } => {
                pairs.push((KIND_KEY, "kubernetes"));
                pairs.push((KUBE_VPC_KEY, vpc));
            }
        }
        StringMap::from_pairs(pairs)
    }

    /// The claim carried by `external_ids` of a route advertised by zone `zone`: `Ok(None)`
    /// without [`VPC_KEY`]; an error, naming the key, when the claim is malformed or names
    /// a VPC of another zone.
    pub fn decode(zone: &str, external_ids: &StringMap) -> Result<Option<Claim>, Error> {
        let Some(id) = external_ids.get(VPC_KEY) else {
            return Ok(None);
        };
        let bad =
            |what: String| Error::Input(format!("claim {VPC_KEY}={id:?} of zone {zone:?}: {what}"));
        let router = match id.strip_prefix(zone).and_then(|r| r.strip_prefix('/')) {
            Some(r) if !r.is_empty() && !zone.is_empty() => r,
            _ => return Err(bad("not a VPC of this zone".to_owned())),
        };
        let text = |key: &str| {
            external_ids
                .get(key)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let kind = match external_ids.get(KIND_KEY) {
            Some("openstack") => {
                let Some(router_id) = router.strip_prefix("neutron-") else {
                    return Err(bad(format!(
                        "{KIND_KEY}=openstack on a router not named neutron-<id>"
                    )));
                };
                VpcKind::OpenStack {
                    router_id: router_id.to_owned(),
                    project: text(PROJECT_KEY),
                    router_name: text(ROUTER_NAME_KEY),
                }
            }
            Some("kubernetes") => VpcKind::Kubernetes {
                vpc: text(KUBE_VPC_KEY).unwrap_or_else(|| router.to_owned()),
                default: router == KUBE_OVN_CLUSTER_ROUTER,
            },
            other => return Err(bad(format!("{KIND_KEY}={other:?}"))),
        };
        Ok(Some(Claim {
            id: VpcId(id.to_owned()),
            zone: zone.to_owned(),
            router: router.to_owned(),
            kind,
        }))
    }
}

/// Where the VPCs of a live inventory come from (see the module docs for the precedence).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Sources<'a> {
    /// NB rows of zones read from replicas: the daemon's own zone first, then the zones of
    /// `--isolation-zone-nb`.
    pub zones: &'a [&'a ZoneNb],
    /// The inventory file, if any.
    pub file: Option<&'a World>,
}

impl<'a> Sources<'a> {
    /// Zones from replicas, and an optional inventory file.
    pub fn new(zones: &'a [&'a ZoneNb], file: Option<&'a World>) -> Self {
        Sources { zones, file }
    }
}

/// A live inventory and what was set aside while building it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Live {
    /// The VPCs of every zone.
    pub inventory: Inventory,
    /// The IC-SB routes whose claims fed the inventory (a daemon rebuilds when one of them
    /// changes or goes).
    pub claim_routes: BTreeSet<Uuid>,
    /// Claims refused (malformed, or naming another zone's VPC), one line each.
    pub refused: Vec<String>,
}

/// Builds the inventory from NB replicas, the inventory file and the claims on the IC-SB
/// routes of `ic_sb` (its `Availability_Zone`, `Port_Binding` and `Route` tables; missing
/// tables read as empty).
pub fn build(sources: Sources<'_>, ic_sb: &impl TypedRows) -> Live {
    let mut inv = Inventory::default();
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    let mut zones: Vec<&ZoneNb> = Vec::new();
    for z in sources
        .zones
        .iter()
        .copied()
        .chain(sources.file.into_iter().flat_map(|w| w.zones.iter()))
    {
        if covered.insert(z.zone.as_str()) {
            zones.push(z);
        }
    }
    for z in &zones {
        inv.add_zone(z);
    }
    let azs: HashMap<Uuid, String> = ic_sb
        .rows::<AvailabilityZone>()
        .map(|m| m.values().map(|a| (a.uuid, a.name.clone())).collect())
        .unwrap_or_default();
    let mut live = Live::default();
    // Claims, per VPC, in route UUID order (deterministic whatever the replica's order).
    let mut routes: Vec<&Route> = ic_sb
        .rows::<Route>()
        .map(|m| m.values().collect())
        .unwrap_or_default();
    routes.sort_unstable_by_key(|r| r.uuid);
    struct Claimed {
        claim: Claim,
        router_uuid: Option<Uuid>,
        cidrs: BTreeSet<Prefix>,
        rows: BTreeSet<Uuid>,
        ts_ports: BTreeSet<(String, IpAddr)>,
    }
    let mut claimed: BTreeMap<VpcId, Claimed> = BTreeMap::new();
    for r in routes {
        let Some(zone) = azs.get(&r.availability_zone.uuid()) else {
            continue;
        };
        if covered.contains(zone.as_str()) || !r.external_ids.contains_key(VPC_KEY) {
            continue;
        }
        let claim = match Claim::decode(zone, &r.external_ids) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                live.refused.push(format!("IC-SB route {}: {e}", r.uuid));
                continue;
            }
        };
        live.claim_routes.insert(r.uuid);
        let lr_id = r
            .external_ids
            .get(LR_ID)
            .and_then(|s| Uuid::parse_str(s).ok());
        let e = claimed.entry(claim.id.clone()).or_insert_with(|| Claimed {
            claim: claim.clone(),
            router_uuid: None,
            cidrs: BTreeSet::new(),
            rows: BTreeSet::new(),
            ts_ports: BTreeSet::new(),
        });
        if e.claim != claim {
            live.refused.push(format!(
                "IC-SB route {}: claim of {} differs from an earlier route's; the earlier one is kept",
                r.uuid, claim.id
            ));
            continue;
        }
        if let Some(u) = lr_id {
            e.router_uuid.get_or_insert(u);
            e.rows.insert(u);
        }
        if let Some(u) = r
            .external_ids
            .get(NB_ID)
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            e.rows.insert(u);
        }
        if let Some(nh) = Nexthop::parse(&r.nexthop) {
            e.ts_ports.insert((r.transit_switch.clone(), nh.0));
        }
        if r.origin == RouteOrigin::Connected {
            if let Some(p) = Prefix::parse(&r.ip_prefix).filter(|p| !p.is_link_local()) {
                e.cidrs.insert(network(&p));
            }
        }
    }
    for (_, c) in claimed {
        let vpc = Vpc {
            id: c.claim.id,
            kind: c.claim.kind,
            zone: c.claim.zone,
            router: c.claim.router,
            router_uuid: c.router_uuid.unwrap_or(Uuid::nil()),
            cidrs: c.cidrs.into_iter().collect(),
            external: Vec::new(),
            switches: Vec::new(),
        };
        inv.add_claimed(vpc, c.rows, c.ts_ports);
    }
    if let Some(pbs) = ic_sb.rows::<PortBinding>() {
        let mut pbs: Vec<&PortBinding> = pbs.values().collect();
        pbs.sort_unstable_by_key(|p| p.uuid);
        inv.add_port_bindings(&azs, pbs);
    }
    live.inventory = inv;
    live
}
