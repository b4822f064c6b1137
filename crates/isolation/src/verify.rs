//! The reachability verifier: which VPC can route to which, at the routing layer, across
//! zones, and where that breaks the policy.
//!
//! For every ordered pair of VPCs (X, Y) and every tenant CIDR `d` of Y, the verifier starts
//! at X's router and follows longest-prefix matches:
//!
//! - candidate routes are the router's connected networks (router-port `networks`) and
//!   static routes (local and learned), of the main route table or of the route table of the
//!   port the traffic came in through;
//! - a route covering `d` wins by OVN 23.03's priority (`plen × 3`, + 2 for connected
//!   networks and learned `connected` routes, + 1 for static ones); ties are ECMP and every
//!   branch is followed; routes more specific than `d` inside `d` are followed too (part of
//!   `d` goes there);
//! - a nexthop is resolved on the egress port's segment to the router owning that address:
//!   across zones on a transit switch (NB rows of every zone, IC-SB port bindings), on a
//!   logical switch of the zone, or over a router-to-router `peer` link;
//! - `d` is reached when the path ends on a connected network of Y's router. Other connected
//!   networks (including X's own, overlapping CIDRs) end the branch; so do `discard` routes
//!   and nexthops nobody owns. Paths are bounded (16 routers, no router visited twice for the
//!   same destination), so routing loops terminate.
//!
//! A reachable pair that the policy does not allow is a leak unless this crate's guard ACLs
//! on Y's side drop every CIDR of X (then the cell says `guarded`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use ic_routes::{Nexthop, PortAddresses, Prefix};
use ovsdb_proto::Uuid;

use crate::net::{contains, network, overlaps};
use crate::policy::Policy;
use crate::rows::{World, ZoneNb};
use crate::vpc::{is_own, Inventory, Vpc, VpcId, ZoneIndex};
use crate::{ROLE_KEY, VPC_KEY};

const MAX_HOPS: usize = 16;

/// One matrix cell: can the row VPC route to the column VPC, and may it?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cell {
    /// The VPC itself.
    Same,
    /// Allowed and reachable.
    Reachable,
    /// Allowed but no route.
    NoRoute,
    /// Not allowed and not reachable: isolated as it should be.
    Isolated,
    /// Not allowed, reachable, but dropped by guard ACLs.
    Guarded,
    /// Not allowed and reachable: a leak.
    Leak,
}

impl Cell {
    fn label(self) -> &'static str {
        match self {
            Cell::Same => "self",
            Cell::Reachable => "ok",
            Cell::NoRoute => "no-route",
            Cell::Isolated => "-",
            Cell::Guarded => "guarded",
            Cell::Leak => "LEAK",
        }
    }
}

/// One router on a path and the route it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The zone.
    pub zone: String,
    /// The router name.
    pub router: String,
    /// The route taken, e.g. `10.16.0.0/16 via 169.254.100.21 (learned)` or
    /// `10.16.0.1/16 connected (vpc-a-subnet-a)`.
    pub route: String,
    /// The segment towards the next router (`transit switch ts`, `switch join`, `peer
    /// link`), if any.
    pub via: Option<String>,
    /// For a learned route, the IC-SB `Route` row it was learned from (its UUID in
    /// `external_ids:ic-learned-route`), if that row is known.
    pub learned_from: Option<Uuid>,
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} [{}]", self.zone, self.router, self.route)?;
        if let Some(v) = &self.via {
            write!(f, " → {v}")?;
        }
        Ok(())
    }
}

/// A path from one VPC into another that the policy does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The source VPC.
    pub from: VpcId,
    /// The destination VPC.
    pub to: VpcId,
    /// The destination CIDR (of `to`) that is reachable.
    pub destination: Prefix,
    /// The routers and routes, from `from`'s router to `to`'s.
    pub path: Vec<Hop>,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {} ({}): ", self.from, self.to, self.destination)?;
        for (i, h) in self.path.iter().enumerate() {
            if i > 0 {
                f.write_str(" → ")?;
            }
            write!(f, "{h}")?;
        }
        Ok(())
    }
}

/// The verifier's result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The VPCs, in the order of the matrix rows and columns.
    pub vpcs: Vec<VpcId>,
    /// `matrix[i][j]`: from `vpcs[i]` to `vpcs[j]`.
    pub matrix: Vec<Vec<Cell>>,
    /// Every leak (one per source, destination and destination CIDR), with its path.
    pub leaks: Vec<Leak>,
    /// Reachable but disallowed pairs that guard ACLs drop, with their path.
    pub guarded: Vec<Leak>,
    /// Routing hazards that are not leaks by themselves: a prefix a VPC router sends to
    /// routers of several VPCs (ECMP across tenants, e.g. overlapping CIDRs learned over one
    /// transit switch).
    pub warnings: Vec<String>,
}

impl Report {
    /// The cell from `from` to `to`.
    pub fn cell(&self, from: &str, to: &str) -> Option<Cell> {
        let i = self.vpcs.iter().position(|v| v.0 == from)?;
        let j = self.vpcs.iter().position(|v| v.0 == to)?;
        Some(self.matrix[i][j])
    }
}

impl fmt::Display for Report {
    /// A matrix table (rows: from, columns: to), then the leaks with their paths.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w0 = self
            .vpcs
            .iter()
            .map(|v| v.0.len())
            .max()
            .unwrap_or(0)
            .max(9);
        let ws: Vec<usize> = self.vpcs.iter().map(|v| v.0.len().max(8)).collect();
        write!(f, "{:<w0$}", "from \\ to")?;
        for (v, w) in self.vpcs.iter().zip(&ws) {
            write!(f, " | {:<w$}", v.0)?;
        }
        writeln!(f)?;
        write!(f, "{}", "-".repeat(w0))?;
        for w in &ws {
            write!(f, "-+-{}", "-".repeat(*w))?;
        }
        writeln!(f)?;
        for (i, v) in self.vpcs.iter().enumerate() {
            write!(f, "{:<w0$}", v.0)?;
            for (c, w) in self.matrix[i].iter().zip(&ws) {
                write!(f, " | {:<w$}", c.label())?;
            }
            writeln!(f)?;
        }
        if self.leaks.is_empty() {
            writeln!(f, "\nno leaks")?;
        } else {
            writeln!(f, "\n{} leak(s):", self.leaks.len())?;
            for l in &self.leaks {
                writeln!(f, "  {l}")?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "\n{} warning(s):", self.warnings.len())?;
            for w in &self.warnings {
                writeln!(f, "  {w}")?;
            }
        }
        if !self.guarded.is_empty() {
            writeln!(f, "\n{} guarded path(s):", self.guarded.len())?;
            for l in &self.guarded {
                writeln!(f, "  {l}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Connected {
        lrp: String,
    },
    Via {
        nexthop: IpAddr,
        learned: bool,
        /// `external_ids:ic-learned-route`.
        ic_route: Option<Uuid>,
        output_port: Option<String>,
    },
    Discard,
}

impl Kind {
    /// Connected networks first (by port name), then routes by nexthop, then discards.
    fn order_key(&self) -> (u8, String, Option<IpAddr>) {
        match self {
            Kind::Connected { lrp } => (0, lrp.clone(), None),
            Kind::Via { nexthop, .. } => (1, String::new(), Some(*nexthop)),
            Kind::Discard => (2, String::new(), None),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    prefix: Prefix,
    table: String,
    priority: u32,
    kind: Kind,
}

/// (zone index, router UUID, ingress router-port name).
type Next = (usize, Uuid, String);

struct ZoneView<'a> {
    z: &'a ZoneNb,
    ix: ZoneIndex<'a>,
    /// (logical switch, address) → (router, router port name).
    ls_ports: HashMap<(Uuid, IpAddr), Vec<(Uuid, String)>>,
    routes: HashMap<Uuid, Vec<Entry>>,
}

pub(crate) struct Net<'a> {
    zones: Vec<ZoneView<'a>>,
    ts_ports: HashMap<(String, IpAddr), Vec<Next>>,
}

impl<'a> Net<'a> {
    pub(crate) fn new(world: &'a World) -> Self {
        let mut zones = Vec::new();
        let mut ts_ports: HashMap<(String, IpAddr), Vec<Next>> = HashMap::new();
        for (zi, z) in world.zones.iter().enumerate() {
            let ix = ZoneIndex::new(z);
            let mut ls_ports: HashMap<(Uuid, IpAddr), Vec<(Uuid, String)>> = HashMap::new();
            let mut routes: HashMap<Uuid, Vec<Entry>> = HashMap::new();
            for lr in z.routers.values() {
                let mut entries = Vec::new();
                for lrp in ix.ports(z, lr) {
                    for n in &lrp.networks {
                        let Some(p) = Prefix::parse(n) else { continue };
                        entries.push(Entry {
                            prefix: p,
                            table: String::new(),
                            priority: u32::from(p.plen()) * 3 + 2,
                            kind: Kind::Connected {
                                lrp: lrp.name.clone(),
                            },
                        });
                        let key_next = (zi, lr.uuid, lrp.name.clone());
                        if let Some(ts) = ix.lrp_ts.get(lrp.name.as_str()) {
                            ts_ports
                                .entry(((*ts).to_owned(), p.addr()))
                                .or_default()
                                .push(key_next);
                        } else if let Some(ls) = ix.lrp_ls.get(lrp.name.as_str()) {
                            ls_ports
                                .entry((*ls, p.addr()))
                                .or_default()
                                .push((lr.uuid, lrp.name.clone()));
                        }
                    }
                }
                for r in lr
                    .static_routes
                    .iter()
                    .filter_map(|r| z.static_routes.get(&r.uuid()))
                {
                    if r.policy.as_ref().is_some_and(|p| p.to_string() == "src-ip") {
                        continue;
                    }
                    let Some(p) = Prefix::parse(&r.ip_prefix) else {
                        continue;
                    };
                    let learned = r.external_ids.contains_key("ic-learned-route");
                    let connected_origin = learned && r.options.get("origin") == Some("connected");
                    let kind = if r.nexthop == "discard" {
                        Kind::Discard
                    } else if let Some(nh) = Nexthop::parse(&r.nexthop) {
                        Kind::Via {
                            nexthop: nh.0,
                            learned,
                            ic_route: r
                                .external_ids
                                .get("ic-learned-route")
                                .and_then(|u| Uuid::parse_str(u).ok()),
                            output_port: r.output_port.clone(),
                        }
                    } else {
                        continue;
                    };
                    entries.push(Entry {
                        prefix: p,
                        table: r.route_table.clone(),
                        priority: u32::from(p.plen()) * 3 + if connected_origin { 2 } else { 1 },
                        kind,
                    });
                }
                routes.insert(lr.uuid, entries);
            }
            zones.push(ZoneView {
                z,
                ix,
                ls_ports,
                routes,
            });
        }
        // IC-SB port bindings of zones whose NB rows are missing.
        let az: HashMap<Uuid, &str> = world
            .ic
            .availability_zones
            .values()
            .map(|a| (a.uuid, a.name.as_str()))
            .collect();
        for pb in world.ic.port_bindings.values() {
            let Some(zi) = az
                .get(&pb.availability_zone.uuid())
                .and_then(|n| world.zones.iter().position(|z| z.zone == *n))
            else {
                continue;
            };
            let Some(router) = pb
                .external_ids
                .get("router-id")
                .and_then(|s| Uuid::parse_str(s).ok())
            else {
                continue;
            };
            let lrp = zones[zi]
                .z
                .switch_ports
                .values()
                .find(|l| l.name == pb.logical_port)
                .and_then(|l| l.options.get("router-port").map(str::to_owned))
                .unwrap_or_default();
            for a in PortAddresses::parse(&pb.address)
                .map(|a| [a.ipv4, a.ipv6].concat())
                .unwrap_or_default()
            {
                let e = ts_ports.entry((pb.transit_switch.clone(), a)).or_default();
                if !e.iter().any(|(z, r, _)| *z == zi && *r == router) {
                    e.push((zi, router, lrp.clone()));
                }
            }
        }
        Net { zones, ts_ports }
    }

    /// The routers a nexthop of router `lr` of zone `zi` leads to, and the segment name.
    fn resolve(
        &self,
        zi: usize,
        lr: Uuid,
        nh: IpAddr,
        output_port: Option<&str>,
    ) -> (Vec<Next>, Option<String>) {
        let zv = &self.zones[zi];
        let Some(router) = zv.z.routers.get(&lr) else {
            return (Vec::new(), None);
        };
        let ports = zv.ix.ports(zv.z, router);
        let egress = ports.iter().find(|p| match output_port {
            Some(o) => p.name == o,
            None => p
                .networks
                .iter()
                .filter_map(|n| Prefix::parse(n))
                .any(|n| contains(&n, nh)),
        });
        let Some(egress) = egress else {
            return (Vec::new(), None);
        };
        if let Some(ts) = zv.ix.lrp_ts.get(egress.name.as_str()) {
            let next = self
                .ts_ports
                .get(&((*ts).to_owned(), nh))
                .map(|v| {
                    v.iter()
                        .filter(|(z, r, _)| !(*z == zi && *r == lr))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            return (next, Some(format!("transit switch {ts}")));
        }
        if let Some(peer) = &egress.peer {
            let next = zv
                .ix
                .lrp_by_name
                .get(peer.as_str())
                .filter(|p| {
                    p.networks
                        .iter()
                        .filter_map(|n| Prefix::parse(n))
                        .any(|n| n.addr() == nh)
                })
                .and_then(|p| {
                    zv.ix
                        .lrp_owner
                        .get(&p.uuid)
                        .map(|o| (zi, *o, p.name.clone()))
                })
                .into_iter()
                .collect();
            return (next, Some(format!("peer link {}", egress.name)));
        }
        if let Some(ls) = zv.ix.lrp_ls.get(egress.name.as_str()) {
            let next = zv
                .ls_ports
                .get(&(*ls, nh))
                .map(|v| {
                    v.iter()
                        .filter(|(r, _)| *r != lr)
                        .map(|(r, p)| (zi, *r, p.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let name =
                zv.z.switches
                    .get(ls)
                    .map_or_else(String::new, |s| s.name.clone());
            return (next, Some(format!("switch {name}")));
        }
        (Vec::new(), None)
    }

    /// The most specific route (main table) of router `lr` of zone `zi` that covers `d`,
    /// described as in a [`Hop`].
    pub(crate) fn covering_route(&self, zi: usize, lr: Uuid, d: &Prefix) -> Option<String> {
        let e = self.zones[zi]
            .routes
            .get(&lr)?
            .iter()
            .filter(|e| e.table.is_empty() && d.is_within(&e.prefix))
            .max_by_key(|e| e.priority)?;
        Some(match &e.kind {
            Kind::Connected { lrp } => format!("{} connected ({lrp})", e.prefix),
            Kind::Via {
                nexthop, learned, ..
            } => format!(
                "{} via {nexthop} ({})",
                e.prefix,
                if *learned { "learned" } else { "static" }
            ),
            Kind::Discard => format!("{} discard", e.prefix),
        })
    }

    /// A path from router `from` to a connected network of router `to` for destination `d`.
    pub(crate) fn find(
        &self,
        from: (usize, Uuid),
        to: (usize, Uuid),
        d: Prefix,
    ) -> Option<Vec<Hop>> {
        let mut visited = HashSet::new();
        let mut path = Vec::new();
        self.walk(from.0, from.1, "", to, d, &mut visited, &mut path)
            .then_some(path)
    }

    #[allow(clippy::too_many_arguments, reason = "a recursive walk's state")]
    fn walk(
        &self,
        zi: usize,
        lr: Uuid,
        ingress: &str,
        to: (usize, Uuid),
        d: Prefix,
        visited: &mut HashSet<(usize, Uuid, String, Prefix)>,
        path: &mut Vec<Hop>,
    ) -> bool {
        let zv = &self.zones[zi];
        let Some(router) = zv.z.routers.get(&lr) else {
            return false;
        };
        let table = zv
            .ix
            .lrp_by_name
            .get(ingress)
            .and_then(|p| p.options.get("route_table"))
            .unwrap_or("");
        if path.len() >= MAX_HOPS || !visited.insert((zi, lr, table.to_owned(), d)) {
            return false;
        }
        let entries: Vec<&Entry> = zv
            .routes
            .get(&lr)
            .map(|v| {
                v.iter()
                    .filter(|e| e.table.is_empty() || e.table == table)
                    .collect()
            })
            .unwrap_or_default();
        let best = entries
            .iter()
            .filter(|e| d.is_within(&e.prefix))
            .map(|e| e.priority)
            .max();
        let mut branches: Vec<(&Entry, Prefix)> = entries
            .iter()
            .filter(|e| d.is_within(&e.prefix) && Some(e.priority) == best)
            .map(|e| (*e, d))
            .collect();
        branches.extend(
            entries
                .iter()
                .filter(|e| e.prefix.plen() > d.plen() && e.prefix.is_within(&d))
                .map(|e| (*e, e.prefix)),
        );
        // Members in a stable order (by what they are, not by row UUIDs), so reports are
        // the same whoever created the rows.
        branches.sort_by_key(|(e, dd)| (*dd, e.kind.order_key()));
        let ecmp = branches.len();
        for (i, (e, dd)) in branches.into_iter().enumerate() {
            let tag = if ecmp > 1 {
                format!(", branch {}/{ecmp}", i + 1)
            } else {
                String::new()
            };
            let mut hop = Hop {
                zone: zv.z.zone.clone(),
                router: router.name.clone(),
                route: String::new(),
                via: None,
                learned_from: None,
            };
            match &e.kind {
                Kind::Connected { lrp } => {
                    if (zi, lr) == to && overlaps(&e.prefix, &dd) {
                        hop.route = format!("{} connected ({lrp}{tag})", e.prefix);
                        path.push(hop);
                        return true;
                    }
                }
                Kind::Discard => {}
                Kind::Via {
                    nexthop,
                    learned,
                    ic_route,
                    output_port,
                } => {
                    let (next, via) = self.resolve(zi, lr, *nexthop, output_port.as_deref());
                    hop.learned_from = *ic_route;
                    hop.route = format!(
                        "{} via {}{}{tag}",
                        e.prefix,
                        nexthop,
                        if *learned { " (learned)" } else { " (static)" }
                    );
                    hop.via = via;
                    path.push(hop);
                    for (nz, nr, nlrp) in next {
                        if self.walk(nz, nr, &nlrp, to, dd, visited, path) {
                            return true;
                        }
                    }
                    path.pop();
                }
            }
        }
        false
    }
}

/// The tenant CIDRs of every VPC, indexed for "which overlap this prefix".
struct Dests {
    /// (IPv4?, first address, VPC index), sorted.
    by_start: Vec<(bool, u128, usize)>,
    /// (IPv4?, first address, prefix length) → VPC indexes.
    exact: HashMap<(bool, u128, u8), Vec<usize>>,
    /// The prefix lengths in use, per family.
    lens: Vec<(bool, u8)>,
}

/// (IPv4?, first address, last address) of a prefix.
fn bounds(p: &Prefix) -> (bool, u128, u128) {
    let n = network(p);
    let (v4, start, bits) = match n.addr() {
        IpAddr::V4(a) => (true, u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (false, u128::from(a), 128),
    };
    let host = u32::from(bits - n.plen().min(bits));
    let mask = if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    (v4, start, start | mask)
}

impl Dests {
    fn new(vpcs: &[Vpc]) -> Self {
        let mut d = Dests {
            by_start: Vec::new(),
            exact: HashMap::new(),
            lens: Vec::new(),
        };
        for (i, v) in vpcs.iter().enumerate() {
            for c in &v.cidrs {
                let (v4, start, _) = bounds(c);
                d.by_start.push((v4, start, i));
                d.exact.entry((v4, start, c.plen())).or_default().push(i);
                if !d.lens.contains(&(v4, c.plen())) {
                    d.lens.push((v4, c.plen()));
                }
            }
        }
        d.by_start.sort_unstable();
        d
    }

    /// Calls `f` with the index of every VPC with a CIDR overlapping `p` (maybe twice).
    fn overlapping(&self, p: &Prefix, mut f: impl FnMut(usize)) {
        let (v4, start, end) = bounds(p);
        // CIDRs starting inside `p`: inside it, or (aligned) containing it.
        let lo = self.by_start.partition_point(|e| (e.0, e.1) < (v4, start));
        for e in &self.by_start[lo..] {
            if e.0 != v4 || e.1 > end {
                break;
            }
            f(e.2);
        }
        // CIDRs containing `p` that start before it.
        for &(fam, len) in &self.lens {
            if fam != v4 || len >= p.plen() {
                continue;
            }
            let Some(outer) = Prefix::new(p.addr(), len) else {
                continue;
            };
            let (_, s, _) = bounds(&outer);
            if let Some(ix) = self.exact.get(&(v4, s, len)) {
                ix.iter().for_each(|&i| f(i));
            }
        }
    }
}

/// Whether this crate's guard ACLs in `to`'s zone drop every CIDR of `from`.
pub(crate) fn guarded(world: &World, from: &Vpc, to: &Vpc) -> bool {
    let Some(z) = world.zone(&to.zone) else {
        return false;
    };
    if from.cidrs.is_empty() {
        return false;
    }
    let own = |e: &ovsdb_proto::typed::StringMap, role: &str| {
        is_own(e) && e.get(VPC_KEY) == Some(to.id.as_str()) && e.get(ROLE_KEY) == Some(role)
    };
    from.cidrs.iter().all(|c| {
        let fam = if c.is_ipv4() { "ip4" } else { "ip6" };
        let acl = z.acls.values().any(|a| {
            own(&a.external_ids, &format!("guard-acl-{fam}")) && a.action.to_string() == "drop"
        });
        let set = z.address_sets.values().any(|s| {
            own(&s.external_ids, &format!("guard-deny-{fam}"))
                && s.addresses
                    .iter()
                    .filter_map(|a| Prefix::parse(a))
                    .any(|a| c.is_within(&a))
        });
        acl && set
    })
}

/// Computes the VPC reachability matrix of `world` and checks it against `policy`.
pub fn verify(world: &World, inventory: &Inventory, policy: &Policy) -> Report {
    let net = Net::new(world);
    let vpcs = inventory.vpcs();
    let zone_idx: Vec<Option<usize>> = vpcs
        .iter()
        .map(|v| world.zones.iter().position(|z| z.zone == v.zone))
        .collect();
    let allowed_pairs = policy.allowed_pairs(vpcs);
    let dests = Dests::new(vpcs);
    let mut matrix = Vec::new();
    let mut leaks = Vec::new();
    let mut guarded_paths = Vec::new();
    let mut candidate = vec![false; vpcs.len()];
    for (i, x) in vpcs.iter().enumerate() {
        // Only VPCs with a CIDR overlapping one of X's main-table routes can be reached
        // from X: the others get no path search.
        candidate.iter_mut().for_each(|c| *c = false);
        if let Some(xz) = zone_idx[i] {
            for e in net.zones[xz]
                .routes
                .get(&x.router_uuid)
                .into_iter()
                .flatten()
                .filter(|e| e.table.is_empty())
            {
                dests.overlapping(&e.prefix, |j| candidate[j] = true);
            }
        }
        let mut row = Vec::new();
        for (j, y) in vpcs.iter().enumerate() {
            if x.id == y.id {
                row.push(Cell::Same);
                continue;
            }
            let allowed = allowed_pairs.contains(&(i, j));
            let (Some(xz), Some(yz), true) = (zone_idx[i], zone_idx[j], candidate[j]) else {
                row.push(if allowed {
                    Cell::NoRoute
                } else {
                    Cell::Isolated
                });
                continue;
            };
            let mut found = Vec::new();
            for d in &y.cidrs {
                if let Some(path) = net.find((xz, x.router_uuid), (yz, y.router_uuid), *d) {
                    found.push(Leak {
                        from: x.id.clone(),
                        to: y.id.clone(),
                        destination: *d,
                        path,
                    });
                }
            }
            let cell = match (found.is_empty(), allowed) {
                (true, true) => Cell::NoRoute,
                (true, false) => Cell::Isolated,
                (false, true) => Cell::Reachable,
                (false, false) => {
                    if guarded(world, x, y) {
                        guarded_paths.extend(found);
                        Cell::Guarded
                    } else {
                        leaks.extend(found);
                        Cell::Leak
                    }
                }
            };
            row.push(cell);
        }
        matrix.push(row);
    }
    let mut warnings = Vec::new();
    for (i, v) in vpcs.iter().enumerate() {
        let Some(zi) = zone_idx[i] else { continue };
        let mut groups: std::collections::BTreeMap<
            (String, Prefix),
            std::collections::BTreeSet<String>,
        > = std::collections::BTreeMap::new();
        for e in net.zones[zi]
            .routes
            .get(&v.router_uuid)
            .into_iter()
            .flatten()
        {
            let Kind::Via {
                nexthop,
                output_port,
                ..
            } = &e.kind
            else {
                continue;
            };
            let (next, _) = net.resolve(zi, v.router_uuid, *nexthop, output_port.as_deref());
            for (nz, nr, _) in next {
                let z = &net.zones[nz].z.zone;
                let target = inventory.by_router(z, nr).map_or_else(
                    || {
                        format!(
                            "{z}/{}",
                            net.zones[nz]
                                .z
                                .routers
                                .get(&nr)
                                .map_or("?", |r| r.name.as_str())
                        )
                    },
                    |t| t.id.0.clone(),
                );
                groups
                    .entry((e.table.clone(), network(&e.prefix)))
                    .or_default()
                    .insert(target);
            }
        }
        for ((_, prefix), targets) in groups {
            if targets.len() > 1 {
                let t: Vec<&str> = targets.iter().map(String::as_str).collect();
                warnings.push(format!(
                    "{}: {prefix} is ECMP across {}",
                    v.id,
                    t.join(", ")
                ));
            }
        }
    }
    Report {
        vpcs: vpcs.iter().map(|v| v.id.clone()).collect(),
        matrix,
        leaks,
        guarded: guarded_paths,
        warnings,
    }
}
