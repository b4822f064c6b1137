//! The computation shared by the full recompute and the incremental engine.
//!
//! The plan of a zone is the union of independent *groups*:
//!
//! - an **advertisement group** `(transit switch, prefix)`: this zone's IC-SB `Route` rows on
//!   that switch with that prefix, reconciled with what the zone's routers on the switch want
//!   to advertise with that prefix;
//! - a **learning group** `(router, prefix)`: the router's learned NB routes with that
//!   prefix, reconciled with the IC-SB routes of that prefix on the router's transit
//!   switches.
//!
//! Prefixes are compared parsed (host bits kept); rows whose prefix does not parse form the
//! group of prefix `None` (they are all deleted). What a group needs beyond its own rows is
//! the zone's *topology* ([`Topo`]: options, the routers' transit-switch ports, connected
//! networks, load-balancer VIPs), which is small and rebuilt whenever one of its inputs
//! changes. The full recompute computes every group; the incremental engine computes the
//! groups a change touches, with the same functions.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use ovn_ic_sb::{Route, RouteOrigin};
use ovn_nb::{LogicalRouterStaticRoute, LogicalRouterStaticRoutePolicy};
use ovsdb_proto::typed::{Ref, StringMap};
use ovsdb_proto::{parse_uuid, Uuid};

use crate::addr::{parse_route, Nexthop, PortAddresses, Prefix};
use crate::filter::{AdvertiseCandidate, LearnCandidate, RouteFilter};
use crate::plan::{AdvertisementUpdate, Diagnostic, LearnedRouteDelete, LearnedRouteInsert, Plan};
use crate::semantics::Semantics;
use crate::snapshot::{IcNorthbound, IcSouthbound, Northbound};
use crate::{IC_LEARNED_ROUTE, IC_ROUTE_TAG, LR_ID, NB_ID};

/// A fast non-cryptographic hasher (the Fx hash of rustc) for the engine's indexes, keyed
/// by UUIDs, prefixes and transit-switch names. Keys come from the zones' databases, whose
/// writers are trusted operators, so hash flooding is not a concern here.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // MurmurHash3's finaliser: spreads the high bits (where Fx leaves the entropy of
        // big-endian counters) into the low bits hashbrown indexes with.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A hash map with [`FxHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// A hash set with [`FxHasher`].
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

/// The prefix of a group: `None` for rows whose prefix does not parse.
pub(crate) type PKey = Option<Prefix>;

/// The `origin` string of load-balancer VIP routes (IC-SB schema ≥ 2.2.0).
pub(crate) const ORIGIN_LB: &str = "loadbalancer";

/// The rows a computation reads.
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub zone: &'a str,
    pub nb: &'a Northbound,
    pub ic_nb: &'a IcNorthbound,
    pub ic_sb: &'a IcSouthbound,
    pub semantics: Semantics,
}

fn opt_bool(options: &StringMap, key: &str) -> bool {
    options
        .get(key)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A parsed CIDR list option; `None` when the option is absent or has no entry.
fn read_list(
    options: &StringMap,
    key: &str,
    owner: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Prefix>> {
    let list = options.get(key)?;
    let mut out = None::<Vec<Prefix>>;
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let v = out.get_or_insert_with(Vec::new);
        match Prefix::parse(entry) {
            Some(p) => v.push(p),
            None => diags.push(Diagnostic::BadFilterEntry {
                owner: owner.to_owned(),
                key: key.to_owned(),
                entry: entry.to_owned(),
            }),
        }
    }
    out
}

/// Concatenation of optional lists: `None` only when all are `None`.
fn merge(lists: [Option<Vec<Prefix>>; 2]) -> Option<Vec<Prefix>> {
    let mut out = None::<Vec<Prefix>>;
    for l in lists.into_iter().flatten() {
        out.get_or_insert_with(Vec::new).extend(l);
    }
    out
}

/// The `NB_Global` options of route exchange.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Options {
    pub adv: bool,
    pub learn: bool,
    pub adv_default: bool,
    pub learn_default: bool,
    pub adv_lb: bool,
    pub learn_lb: bool,
    pub deny: Vec<Prefix>,
}

impl Options {
    fn read(options: &StringMap, semantics: Semantics, diags: &mut Vec<Diagnostic>) -> Self {
        // ≥ 24.09 name first; an absent or empty `ic-route-denylist` falls back to the
        // 23.03 name (reference §1.1), the only one older releases read.
        let list = options
            .get("ic-route-denylist")
            .filter(|v| semantics.reads_denylist() && !v.is_empty())
            .or_else(|| options.get("ic-route-blacklist"))
            .unwrap_or("");
        let mut deny = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match Prefix::parse(entry) {
                Some(p) => deny.push(p),
                None => diags.push(Diagnostic::BadDenyListEntry {
                    entry: entry.to_owned(),
                }),
            }
        }
        Options {
            adv: opt_bool(options, "ic-route-adv"),
            learn: opt_bool(options, "ic-route-learn"),
            adv_default: opt_bool(options, "ic-route-adv-default"),
            learn_default: opt_bool(options, "ic-route-learn-default"),
            adv_lb: semantics.lb_routes() && opt_bool(options, "ic-route-adv-lb"),
            learn_lb: semantics.lb_routes() && opt_bool(options, "ic-route-learn-lb"),
            deny,
        }
    }
}

/// One local port of a router on a transit switch (present in IC-NB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Port {
    pub transit_switch: String,
    pub route_table: String,
    /// `Port_Binding.address` is empty (a disabled router): nothing is learned through it.
    pub address_empty: bool,
    pub addrs: Option<PortAddresses>,
    /// Networks of the transit-switch router port (learned nexthops must be inside one).
    pub networks: Vec<Prefix>,
    /// `ic-route-tag` of the router port, `""` when unset.
    pub tag: String,
    /// `ic-route-filter-tag` of the router port.
    pub filter_tag: Option<String>,
    /// Allow lists (port ∪ router); `None` allows everything.
    pub allow_adv: Option<Vec<Prefix>>,
    pub allow_learn: Option<Vec<Prefix>>,
    /// Deny lists (port ∪ router; the global list is in [`Options`]).
    pub deny_adv: Vec<Prefix>,
    pub deny_learn: Vec<Prefix>,
}

/// A router of this zone with at least one local transit-switch port binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouterCtx {
    pub enabled: bool,
    /// Ports on transit switches present in IC-NB, in port-binding UUID order.
    pub ports: Vec<Port>,
    /// Connected networks of the non-transit-switch router ports: prefix → router ports,
    /// in `Logical_Router.ports` order.
    pub networks: FastMap<Prefix, Vec<Uuid>>,
    /// Load-balancer VIPs (/32, /128) → load balancers, in UUID order.
    pub vips: FastMap<Prefix, Vec<Uuid>>,
}

/// Everything but the high-volume rows (static routes, IC-SB routes): rebuilt when one of
/// its inputs changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Topo {
    pub az: Option<Uuid>,
    pub opts: Options,
    pub lb_origin: bool,
    pub ts_names: FastSet<String>,
    pub routers: BTreeMap<Uuid, RouterCtx>,
    /// Transit switch → routers with a port on it, in UUID order.
    pub ts_routers: FastMap<String, Vec<Uuid>>,
    /// Availability zone UUID → name.
    pub az_names: FastMap<Uuid, String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a load-balancer VIP key (`IP`, `IP:PORT`, `[IPv6]:PORT`).
pub(crate) fn parse_vip(key: &str) -> Option<IpAddr> {
    let key = key.trim();
    if let Some(rest) = key.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = key.parse::<IpAddr>() {
        return Some(ip);
    }
    let (ip, port) = key.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

impl Topo {
    pub(crate) fn build(rows: Rows<'_>) -> Topo {
        let (nb, ic_nb, ic_sb) = (rows.nb, rows.ic_nb, rows.ic_sb);
        let mut t = Topo {
            lb_origin: ic_sb.supports_lb_origin,
            az_names: ic_sb
                .availability_zones
                .values()
                .map(|a| (a.uuid, a.name.clone()))
                .collect(),
            ..Topo::default()
        };
        let zone = rows.zone;
        t.az = ic_sb
            .availability_zones
            .values()
            .find(|az| !zone.is_empty() && az.name == zone)
            .map(|az| az.uuid);
        let Some(az) = t.az else {
            t.diagnostics.push(Diagnostic::ZoneNotRegistered {
                zone: zone.to_owned(),
            });
            return t;
        };
        let sem = rows.semantics;
        t.opts = Options::read(&nb.nb_global.options, sem, &mut t.diagnostics);
        t.ts_names = ic_nb
            .transit_switches
            .values()
            .map(|s| s.name.clone())
            .collect();
        let mut lsp_by_name = FastMap::default();
        for lsp in nb.switch_ports.values() {
            lsp_by_name.entry(lsp.name.as_str()).or_insert(lsp);
        }
        let mut lrp_by_name = FastMap::default();
        for lrp in nb.router_ports.values() {
            lrp_by_name.entry(lrp.name.as_str()).or_insert(lrp);
        }

        // Group this zone's port bindings by router (reference §2.2).
        let mut ports: BTreeMap<Uuid, Vec<Port>> = BTreeMap::new();
        let mut ts_lrps: FastMap<Uuid, FastSet<&str>> = FastMap::default();
        for pb in ic_sb.port_bindings.values() {
            if pb.availability_zone.uuid() != az {
                continue;
            }
            let Some(lrp_name) = lsp_by_name
                .get(pb.logical_port.as_str())
                .and_then(|lsp| lsp.options.get("router-port"))
            else {
                t.diagnostics.push(Diagnostic::PortWithoutRouterPort {
                    logical_port: pb.logical_port.clone(),
                });
                continue;
            };
            let Some(lr) = pb
                .external_ids
                .get("router-id")
                .and_then(parse_uuid)
                .and_then(|u| nb.routers.get(&u))
            else {
                continue;
            };
            // Every local transit-switch router port counts for `lrp_is_ts_port`, so its
            // networks are never advertised as connected routes.
            ts_lrps.entry(lr.uuid).or_default().insert(lrp_name);
            // A port on a transit switch missing from IC-NB takes no other part.
            if !t.ts_names.contains(pb.transit_switch.as_str()) {
                continue;
            }
            let lrp = lrp_by_name.get(lrp_name).copied();
            let empty = StringMap::default();
            let lrp_opts = lrp.map(|p| &p.options).unwrap_or(&empty);
            let addrs = PortAddresses::parse(&pb.address);
            if addrs.is_none() {
                t.diagnostics.push(Diagnostic::BadPortAddress {
                    logical_port: pb.logical_port.clone(),
                    address: pb.address.clone(),
                });
            }
            let d = &mut t.diagnostics;
            let (po, ro) = (&pb.logical_port, &lr.name);
            let list = |d: &mut Vec<Diagnostic>, key: &str| {
                merge([
                    read_list(lrp_opts, key, po, d),
                    read_list(&lr.options, key, ro, d),
                ])
            };
            let port = Port {
                transit_switch: pb.transit_switch.clone(),
                route_table: lrp_opts
                    .get("route_table")
                    .map(str::to_owned)
                    .unwrap_or_default(),
                address_empty: pb.address.is_empty(),
                addrs,
                networks: lrp
                    .map(|p| p.networks.iter().filter_map(|n| Prefix::parse(n)).collect())
                    .unwrap_or_default(),
                tag: lrp_opts
                    .get("ic-route-tag")
                    .filter(|_| sem.route_tags())
                    .map(str::to_owned)
                    .unwrap_or_default(),
                filter_tag: lrp_opts
                    .get("ic-route-filter-tag")
                    .filter(|s| sem.route_tags() && !s.is_empty())
                    .map(str::to_owned),
                allow_adv: sem
                    .allow_lists()
                    .then(|| list(d, "ic-route-filter-adv"))
                    .flatten(),
                allow_learn: sem
                    .allow_lists()
                    .then(|| list(d, "ic-route-filter-learn"))
                    .flatten(),
                deny_adv: sem
                    .router_deny_lists()
                    .then(|| list(d, "ic-route-deny-adv"))
                    .flatten()
                    .unwrap_or_default(),
                deny_learn: sem
                    .router_deny_lists()
                    .then(|| list(d, "ic-route-deny-learn"))
                    .flatten()
                    .unwrap_or_default(),
            };
            ports.entry(lr.uuid).or_default().push(port);
        }

        for (uuid, ports) in ports {
            let lr = &nb.routers[&uuid];
            let tsl = ts_lrps.get(&uuid);
            let mut networks: FastMap<Prefix, Vec<Uuid>> = FastMap::default();
            for lrp in lr
                .ports
                .iter()
                .filter_map(|p| nb.router_ports.get(&p.uuid()))
            {
                if tsl.is_some_and(|t| t.contains(lrp.name.as_str())) {
                    continue;
                }
                for n in &lrp.networks {
                    if let Some(p) = Prefix::parse(n) {
                        networks.entry(p).or_default().push(lrp.uuid);
                    }
                }
            }
            let mut vips: FastMap<Prefix, Vec<Uuid>> = FastMap::default();
            let mut lbs: BTreeSet<Uuid> = lr.load_balancer.iter().map(|r| r.uuid()).collect();
            for g in lr
                .load_balancer_group
                .iter()
                .filter_map(|g| nb.load_balancer_groups.get(&g.uuid()))
            {
                lbs.extend(g.load_balancer.iter().map(|r| r.uuid()));
            }
            for lb in lbs.iter().filter_map(|u| nb.load_balancers.get(u)) {
                for key in lb.vips.keys() {
                    let Some(ip) = parse_vip(key) else { continue };
                    let plen = if ip.is_ipv4() { 32 } else { 128 };
                    let Some(p) = Prefix::new(ip, plen) else {
                        continue;
                    };
                    let v = vips.entry(p).or_default();
                    if !v.contains(&lb.uuid) {
                        v.push(lb.uuid);
                    }
                }
            }
            for p in &ports {
                let v = t.ts_routers.entry(p.transit_switch.clone()).or_default();
                if v.last() != Some(&uuid) {
                    v.push(uuid);
                }
            }
            t.routers.insert(
                uuid,
                RouterCtx {
                    enabled: lr.enabled != Some(false) || !sem.disabled_router_learns_nothing(),
                    ports,
                    networks,
                    vips,
                },
            );
        }
        t
    }

    /// `route_need_advertise` (reference §2.5) for a prefix through `port`.
    fn need_advertise(&self, prefix: &Prefix, src_ip: bool, port: &Port) -> bool {
        let o = &self.opts;
        o.adv
            && (prefix.plen() != 0 || o.adv_default)
            && !src_ip
            && !prefix.is_link_local()
            && !port
                .deny_adv
                .iter()
                .chain(&o.deny)
                .any(|d| prefix.is_within(d))
            && port
                .allow_adv
                .as_ref()
                .is_none_or(|a| a.iter().any(|e| prefix.is_within(e)))
    }

    /// `route_need_learn` (reference §2.5) minus the router-wide checks.
    fn need_learn(&self, prefix: &Prefix, origin: &RouteOrigin, port: &Port) -> bool {
        let o = &self.opts;
        o.learn
            && (prefix.plen() != 0 || o.learn_default)
            && (origin.as_str() != ORIGIN_LB || o.learn_lb)
            && !prefix.is_link_local()
            && !port
                .deny_learn
                .iter()
                .chain(&o.deny)
                .any(|d| prefix.is_within(d))
            && port
                .allow_learn
                .as_ref()
                .is_none_or(|a| a.iter().any(|e| prefix.is_within(e)))
    }
}

/// Whether `nexthop` is inside one of `networks` (`lrp_has_neighbor_in_ts`).
fn has_neighbor(networks: &[Prefix], nexthop: IpAddr) -> bool {
    networks.iter().any(|n| {
        Prefix::new(nexthop, if nexthop.is_ipv4() { 32 } else { 128 })
            .is_some_and(|h| h.is_within(n))
    })
}

/// Whether a local VIP falls inside `prefix` as upstream's `route_matches_local_lb` compares
/// (the VIP masked to the prefix length equals the prefix address *with* its host bits).
fn vip_matches(vip: &Prefix, prefix: &Prefix) -> bool {
    match (vip.addr(), prefix.addr()) {
        (IpAddr::V4(v), IpAddr::V4(p)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.plen()))
                .unwrap_or(0);
            u32::from(v) & mask == u32::from(p)
        }
        (IpAddr::V6(v), IpAddr::V6(p)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.plen()))
                .unwrap_or(0);
            u128::from(v) & mask == u128::from(p)
        }
        _ => false,
    }
}

/// A small sorted set of UUIDs (groups hold a handful of rows; a vector is denser than a
/// B-tree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UuidSet(Vec<Uuid>);

impl UuidSet {
    fn insert(&mut self, u: Uuid) {
        if let Err(i) = self.0.binary_search(&u) {
            self.0.insert(i, u);
        }
    }

    fn remove(&mut self, u: &Uuid) {
        if let Ok(i) = self.0.binary_search(u) {
            self.0.remove(i);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a UuidSet {
    type Item = &'a Uuid;
    type IntoIter = std::slice::Iter<'a, Uuid>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The high-volume rows, indexed by group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Index {
    /// Static route → routers whose `static_routes` hold it.
    pub static_refs: FastMap<Uuid, Vec<Uuid>>,
    /// Router → prefix → its static routes (rows present and referenced).
    pub router_statics: FastMap<Uuid, FastMap<PKey, UuidSet>>,
    /// Transit switch → prefix → IC-SB routes of every zone.
    pub routes_by_ts: FastMap<String, FastMap<PKey, UuidSet>>,
    /// Availability zone → transit switch → prefix → number of its IC-SB routes.
    pub az_groups: FastMap<Uuid, FastMap<String, BTreeMap<PKey, usize>>>,
}

impl Index {
    pub(crate) fn build(rows: Rows<'_>) -> Index {
        let mut idx = Index::default();
        for lr in rows.nb.routers.values() {
            for r in &lr.static_routes {
                idx.add_ref(lr.uuid, r.uuid(), rows.nb.static_routes.get(&r.uuid()));
            }
        }
        for r in rows.ic_sb.routes.values() {
            idx.add_route(r);
        }
        idx
    }

    /// Records that router `lr` references static route `sr` (row `row` if present).
    /// Returns whether the reference is new.
    pub(crate) fn add_ref(
        &mut self,
        lr: Uuid,
        sr: Uuid,
        row: Option<&LogicalRouterStaticRoute>,
    ) -> bool {
        let refs = self.static_refs.entry(sr).or_default();
        if refs.contains(&lr) {
            return false;
        }
        refs.push(lr);
        if let Some(row) = row {
            self.attach(lr, row);
        }
        true
    }

    /// Forgets that router `lr` references static route `sr`.
    pub(crate) fn remove_ref(
        &mut self,
        lr: Uuid,
        sr: Uuid,
        row: Option<&LogicalRouterStaticRoute>,
    ) {
        if let Some(refs) = self.static_refs.get_mut(&sr) {
            refs.retain(|r| *r != lr);
            if refs.is_empty() {
                self.static_refs.remove(&sr);
            }
        }
        if let Some(row) = row {
            self.detach(lr, row);
        }
    }

    pub(crate) fn refs(&self, sr: Uuid) -> &[Uuid] {
        self.static_refs.get(&sr).map(Vec::as_slice).unwrap_or(&[])
    }

    pub(crate) fn attach(&mut self, lr: Uuid, row: &LogicalRouterStaticRoute) {
        self.router_statics
            .entry(lr)
            .or_default()
            .entry(Prefix::parse(&row.ip_prefix))
            .or_default()
            .insert(row.uuid);
    }

    pub(crate) fn detach(&mut self, lr: Uuid, row: &LogicalRouterStaticRoute) {
        let Some(m) = self.router_statics.get_mut(&lr) else {
            return;
        };
        let key = Prefix::parse(&row.ip_prefix);
        if let Some(s) = m.get_mut(&key) {
            s.remove(&row.uuid);
            if s.is_empty() {
                m.remove(&key);
            }
        }
        if m.is_empty() {
            self.router_statics.remove(&lr);
        }
    }

    pub(crate) fn add_route(&mut self, r: &Route) {
        let key = Prefix::parse(&r.ip_prefix);
        self.routes_by_ts
            .entry(r.transit_switch.clone())
            .or_default()
            .entry(key)
            .or_default()
            .insert(r.uuid);
        *self
            .az_groups
            .entry(r.availability_zone.uuid())
            .or_default()
            .entry(r.transit_switch.clone())
            .or_default()
            .entry(key)
            .or_default() += 1;
    }

    pub(crate) fn remove_route(&mut self, r: &Route) {
        let key = Prefix::parse(&r.ip_prefix);
        if let Some(m) = self.routes_by_ts.get_mut(&r.transit_switch) {
            if let Some(s) = m.get_mut(&key) {
                s.remove(&r.uuid);
                if s.is_empty() {
                    m.remove(&key);
                }
            }
            if m.is_empty() {
                self.routes_by_ts.remove(&r.transit_switch);
            }
        }
        let az = r.availability_zone.uuid();
        if let Some(m) = self.az_groups.get_mut(&az) {
            if let Some(g) = m.get_mut(&r.transit_switch) {
                if let Some(n) = g.get_mut(&key) {
                    *n -= 1;
                    if *n == 0 {
                        g.remove(&key);
                    }
                }
                if g.is_empty() {
                    m.remove(&r.transit_switch);
                }
            }
            if m.is_empty() {
                self.az_groups.remove(&az);
            }
        }
    }

    fn statics(&self, lr: Uuid, key: &PKey) -> impl Iterator<Item = Uuid> + '_ {
        self.router_statics
            .get(&lr)
            .and_then(|m| m.get(key))
            .into_iter()
            .flatten()
            .copied()
    }

    fn routes(&self, ts: &str, key: &PKey) -> impl Iterator<Item = Uuid> + '_ {
        self.routes_by_ts
            .get(ts)
            .and_then(|m| m.get(key))
            .into_iter()
            .flatten()
            .copied()
    }
}

/// Writes already asked for whose echo has not come back: the incremental engine counts
/// them as done. The full recompute uses an empty one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pending {
    /// IC-SB routes inserted, by group.
    pub ad_inserts: FastMap<(String, PKey), Vec<Route>>,
    /// IC-SB routes deleted.
    pub ad_deletes: FastSet<Uuid>,
    /// IC-SB routes whose `external_ids` were updated.
    pub ad_updates: FastMap<Uuid, StringMap>,
    /// Learned routes inserted, by group.
    pub learn_inserts: FastMap<(Uuid, PKey), Vec<LogicalRouterStaticRoute>>,
    /// Learned routes taken off their router.
    pub learn_deletes: FastSet<(Uuid, Uuid)>,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.ad_inserts.is_empty()
            && self.ad_deletes.is_empty()
            && self.ad_updates.is_empty()
            && self.learn_inserts.is_empty()
            && self.learn_deletes.is_empty()
    }
}

/// The context of one computation.
pub(crate) struct Ctx<'a> {
    pub rows: Rows<'a>,
    pub topo: &'a Topo,
    pub pending: &'a Pending,
    pub filter: &'a dyn RouteFilter,
}

/// The rows of some groups, sorted by (prefix, UUID): every group for the full recompute
/// (one scan of the tables), or the few groups a change touches (through the [`Index`]).
#[derive(Default)]
pub(crate) struct Lists<'a> {
    /// Router → its static routes.
    statics: FastMap<Uuid, Run<&'a LogicalRouterStaticRoute>>,
    /// Transit switch → the IC-SB routes of every zone on it.
    routes: FastMap<&'a str, Run<&'a Route>>,
}

/// A list sorted by prefix, with a cursor: looking prefixes up in ascending order (as the
/// full recompute does) costs O(1) each instead of a binary search.
pub(crate) struct Run<T> {
    v: Vec<(PKey, T)>,
    hint: std::cell::Cell<usize>,
}

impl<T> Run<T> {
    fn new(v: Vec<(PKey, T)>) -> Self {
        Run {
            v,
            hint: std::cell::Cell::new(0),
        }
    }

    /// The entries whose prefix is `key`.
    fn get(&self, key: &PKey) -> &[(PKey, T)] {
        let v = &self.v;
        let h = self.hint.get().min(v.len());
        let at_hint = (h == v.len() || v[h].0 >= *key) && (h == 0 || v[h - 1].0 < *key);
        let lo = if at_hint {
            h
        } else {
            v.partition_point(|(k, _)| k < key)
        };
        let mut hi = lo;
        while hi < v.len() && v[hi].0 == *key {
            hi += 1;
        }
        self.hint.set(hi);
        &v[lo..hi]
    }

    /// The distinct prefixes.
    fn keys(&self) -> impl Iterator<Item = PKey> + '_ {
        keys(&self.v)
    }
}

/// The distinct keys of a sorted list.
fn keys<T>(v: &[(PKey, T)]) -> impl Iterator<Item = PKey> + '_ {
    let mut last = None;
    v.iter().filter_map(move |(k, _)| {
        if last == Some(*k) {
            None
        } else {
            last = Some(*k);
            Some(*k)
        }
    })
}

impl<'a> Lists<'a> {
    /// Every group, from one scan of the rows.
    pub(crate) fn all(rows: Rows<'a>) -> Self {
        let mut l = Lists::default();
        for lr in rows.nb.routers.values() {
            let v: Vec<(PKey, &LogicalRouterStaticRoute)> = lr
                .static_routes
                .iter()
                .filter_map(|r| rows.nb.static_routes.get(&r.uuid()))
                .map(|r| (Prefix::parse(&r.ip_prefix), r))
                .collect();
            if !v.is_empty() {
                let mut v = v;
                v.sort_unstable_by_key(|a| (a.0, a.1.uuid));
                v.dedup_by(|a, b| a.1.uuid == b.1.uuid);
                l.statics.insert(lr.uuid, Run::new(v));
            }
        }
        let mut routes: FastMap<&str, Vec<(PKey, &Route)>> = FastMap::default();
        for r in rows.ic_sb.routes.values() {
            routes
                .entry(r.transit_switch.as_str())
                .or_default()
                .push((Prefix::parse(&r.ip_prefix), r));
        }
        for (ts, mut v) in routes {
            // Stable: UUID order (the table's) within a prefix.
            v.sort_by_key(|a| a.0);
            l.routes.insert(ts, Run::new(v));
        }
        l
    }

    fn add_statics(&mut self, rows: Rows<'a>, idx: &Index, lr: Uuid, key: &PKey) {
        if self.statics.contains_key(&lr) {
            return;
        }
        let v = idx
            .statics(lr, key)
            .filter_map(|u| rows.nb.static_routes.get(&u))
            .map(|r| (*key, r))
            .collect();
        self.statics.insert(lr, Run::new(v));
    }

    fn add_routes(&mut self, rows: Rows<'a>, idx: &Index, ts: &'a str, key: &PKey) {
        if self.routes.contains_key(ts) {
            return;
        }
        let v = idx
            .routes(ts, key)
            .filter_map(|u| rows.ic_sb.routes.get(&u))
            .map(|r| (*key, r))
            .collect();
        self.routes.insert(ts, Run::new(v));
    }

    /// The rows advertisement group `(ts, key)` reads.
    pub(crate) fn for_ad(
        rows: Rows<'a>,
        topo: &'a Topo,
        idx: &Index,
        ts: &'a str,
        key: &PKey,
    ) -> Self {
        let mut l = Lists::default();
        for lr in topo.ts_routers.get(ts).into_iter().flatten() {
            l.add_statics(rows, idx, *lr, key);
        }
        l.add_routes(rows, idx, ts, key);
        l
    }

    /// The rows learning group `(lr, key)` reads.
    pub(crate) fn for_learn(
        rows: Rows<'a>,
        topo: &'a Topo,
        idx: &Index,
        lr: Uuid,
        key: &PKey,
    ) -> Self {
        let mut l = Lists::default();
        l.add_statics(rows, idx, lr, key);
        for port in topo.routers.get(&lr).into_iter().flat_map(|c| &c.ports) {
            l.add_routes(rows, idx, &port.transit_switch, key);
        }
        l
    }

    fn statics(
        &self,
        lr: Uuid,
        key: &PKey,
    ) -> impl Iterator<Item = &'a LogicalRouterStaticRoute> + '_ {
        let v = self.statics.get(&lr).map(|r| r.get(key)).unwrap_or(&[]);
        v.iter().map(|(_, r)| *r)
    }

    fn routes(&self, ts: &str, key: &PKey) -> impl Iterator<Item = &'a Route> + '_ {
        let v = self.routes.get(ts).map(|r| r.get(key)).unwrap_or(&[]);
        v.iter().map(|(_, r)| *r)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct AdKey<'a> {
    nexthop: IpAddr,
    route_table: &'a str,
}

struct AdEntry<'a> {
    origin: RouteOrigin,
    nb_id: Uuid,
    lr_id: Uuid,
    tag: &'a str,
    matched: bool,
}

/// The identity of a learned route within a (router, prefix) group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LearnKey<'a> {
    nexthop: IpAddr,
    route_table: &'a str,
    origin: &'a str,
}

/// Advertised static routes: the prefix parses, the nexthop parses or is `discard`
/// (≥ 26.03), and is not link-local.
fn advertisable(r: &LogicalRouterStaticRoute, semantics: Semantics) -> bool {
    if r.nexthop == "discard" && semantics.discard_routes() {
        return Prefix::parse(&r.ip_prefix).is_some();
    }
    parse_route(&r.ip_prefix, &r.nexthop).is_some()
}

fn lb_origin() -> RouteOrigin {
    RouteOrigin::Loadbalancer
}

/// The external ids an advertisement should carry, given its current ones.
fn wanted_ids(current: &StringMap, nb_id: Uuid, lr_id: Uuid, tag: &str) -> StringMap {
    let mut ids = current.clone();
    if ids.get(NB_ID).and_then(parse_uuid) != Some(nb_id) {
        ids.insert(NB_ID, nb_id.to_string());
    }
    if ids.get(LR_ID).and_then(parse_uuid) != Some(lr_id) {
        ids.insert(LR_ID, lr_id.to_string());
    }
    if tag.is_empty() {
        ids.remove(IC_ROUTE_TAG);
    } else if ids.get(IC_ROUTE_TAG) != Some(tag) {
        ids.insert(IC_ROUTE_TAG, tag);
    }
    ids
}

impl Ctx<'_> {
    /// Reconciles advertisement group `(ts, key)` into `out`.
    pub(crate) fn ad_group(&self, lists: &Lists<'_>, ts: &str, key: &PKey, out: &mut Plan) {
        let Some(az) = self.topo.az else { return };
        let nb = self.rows.nb;
        let topo = self.topo;
        let mut desired: BTreeMap<AdKey<'_>, AdEntry<'_>> = BTreeMap::new();
        if let (Some(prefix), true) = (key, topo.ts_names.contains(ts)) {
            for lr_uuid in topo.ts_routers.get(ts).into_iter().flatten() {
                let (Some(ctx), Some(lr)) = (topo.routers.get(lr_uuid), nb.routers.get(lr_uuid))
                else {
                    continue;
                };
                for port in ctx.ports.iter().filter(|p| p.transit_switch == ts) {
                    let Some(addrs) = &port.addrs else { continue };
                    let mut add = |route_table: &'_ str, origin: RouteOrigin, nb_id: Uuid| {
                        let cand = AdvertiseCandidate {
                            zone: self.rows.zone,
                            router: lr,
                            transit_switch: ts,
                            prefix,
                            route_table,
                            origin: &origin,
                        };
                        if !self.filter.advertise(&cand) {
                            return;
                        }
                        let Some(nexthop) = addrs.nexthop_for(prefix) else {
                            return;
                        };
                        let k = AdKey {
                            nexthop: nexthop.0,
                            // Connected and VIP routes carry "", statics their table,
                            // which equals the port's.
                            route_table: if route_table.is_empty() {
                                ""
                            } else {
                                port.route_table.as_str()
                            },
                        };
                        match desired.entry(k) {
                            Entry::Occupied(_) => {
                                out.diagnostics.push(Diagnostic::DuplicateAdvertisement {
                                    transit_switch: ts.to_owned(),
                                    ip_prefix: prefix.to_string(),
                                    nb_id,
                                })
                            }
                            Entry::Vacant(v) => {
                                v.insert(AdEntry {
                                    origin,
                                    nb_id,
                                    lr_id: lr.uuid,
                                    tag: &port.tag,
                                    matched: false,
                                });
                            }
                        }
                    };
                    for r in lists.statics(lr.uuid, key) {
                        if r.external_ids.contains_key(IC_LEARNED_ROUTE)
                            || r.route_table != port.route_table
                            || !advertisable(r, self.rows.semantics)
                        {
                            continue;
                        }
                        let src_ip = r.policy == Some(LogicalRouterStaticRoutePolicy::SrcIp);
                        if topo.need_advertise(prefix, src_ip, port) {
                            add(&r.route_table, RouteOrigin::Static, r.uuid);
                        }
                    }
                    if topo.need_advertise(prefix, false, port) {
                        for lrp in ctx.networks.get(prefix).into_iter().flatten() {
                            add("", RouteOrigin::Connected, *lrp);
                        }
                        if topo.opts.adv_lb && topo.lb_origin {
                            for lb in ctx.vips.get(prefix).into_iter().flatten() {
                                add("", lb_origin(), *lb);
                            }
                        }
                    }
                }
            }
        }

        // Reconcile this zone's rows of the group (advertise_routes, orphan sweep).
        let own = lists
            .routes(ts, key)
            .filter(|r| r.availability_zone.uuid() == az);
        for r in own {
            if self.pending.ad_deletes.contains(&r.uuid) {
                continue;
            }
            if !topo.ts_names.contains(ts) {
                out.advertisements_to_delete.push(r.uuid);
                continue;
            }
            let Some((_, nexthop)) = parse_route(&r.ip_prefix, &r.nexthop) else {
                out.diagnostics.push(Diagnostic::BadIcSbRoute {
                    uuid: r.uuid,
                    ip_prefix: r.ip_prefix.clone(),
                    nexthop: r.nexthop.clone(),
                });
                out.advertisements_to_delete.push(r.uuid);
                continue;
            };
            let k = AdKey {
                nexthop: nexthop.0,
                route_table: &r.route_table,
            };
            match desired.get_mut(&k) {
                Some(e) if !e.matched && e.origin == r.origin => {
                    e.matched = true;
                    let current = self
                        .pending
                        .ad_updates
                        .get(&r.uuid)
                        .unwrap_or(&r.external_ids);
                    let ids = wanted_ids(current, e.nb_id, e.lr_id, e.tag);
                    if &ids != current {
                        out.advertisements_to_update.push(AdvertisementUpdate {
                            route: r.uuid,
                            external_ids: ids,
                        });
                    }
                }
                _ => out.advertisements_to_delete.push(r.uuid),
            }
        }
        // Inserts already asked for count as present; an unwanted one is deleted once its
        // echo arrives.
        let pend = self.pending.ad_inserts.get(&(ts.to_owned(), *key));
        for r in pend.into_iter().flatten() {
            let Some((_, nexthop)) = parse_route(&r.ip_prefix, &r.nexthop) else {
                continue;
            };
            let k = AdKey {
                nexthop: nexthop.0,
                route_table: &r.route_table,
            };
            if let Some(e) = desired.get_mut(&k) {
                if !e.matched && e.origin == r.origin {
                    e.matched = true;
                }
            }
        }
        let Some(prefix) = key else { return };
        for (k, e) in desired {
            if e.matched {
                continue;
            }
            let mut row = Route::default();
            row.transit_switch = ts.to_owned();
            row.availability_zone = Ref::new(az);
            row.route_table = k.route_table.to_owned();
            row.ip_prefix = prefix.to_string();
            row.nexthop = Nexthop(k.nexthop).to_string();
            row.origin = e.origin;
            row.external_ids = wanted_ids(&StringMap::default(), e.nb_id, e.lr_id, e.tag);
            out.advertisements_to_insert.push(row);
        }
    }

    /// Reconciles learning group `(router, key)` into `out`.
    pub(crate) fn learn_group(&self, lists: &Lists<'_>, lr_uuid: Uuid, key: &PKey, out: &mut Plan) {
        let nb = self.rows.nb;
        let topo = self.topo;
        let Some(lr) = nb.routers.get(&lr_uuid) else {
            return;
        };
        let statics: Vec<&LogicalRouterStaticRoute> = lists.statics(lr_uuid, key).collect();

        // Existing learned routes of the group.
        let mut learned: BTreeMap<LearnKey<'_>, Vec<(Option<Uuid>, Uuid)>> = BTreeMap::new();
        for r in &statics {
            let Some(isb) = r.external_ids.get(IC_LEARNED_ROUTE) else {
                continue;
            };
            if self.pending.learn_deletes.contains(&(lr_uuid, r.uuid)) {
                continue;
            }
            let parsed = parse_uuid(isb).zip(parse_route(&r.ip_prefix, &r.nexthop));
            let Some((isb, (_, nexthop))) = parsed else {
                out.diagnostics.push(Diagnostic::BadLearnedRoute {
                    uuid: r.uuid,
                    ip_prefix: r.ip_prefix.clone(),
                    nexthop: r.nexthop.clone(),
                });
                out.learned_to_delete.push(LearnedRouteDelete {
                    router: lr_uuid,
                    route: r.uuid,
                });
                continue;
            };
            let k = LearnKey {
                route_table: &r.route_table,
                nexthop: nexthop.0,
                origin: r.options.get("origin").unwrap_or(""),
            };
            learned.entry(k).or_default().push((Some(r.uuid), isb));
        }
        let pend = self.pending.learn_inserts.get(&(lr_uuid, *key));
        for r in pend.into_iter().flatten() {
            let parsed = r
                .external_ids
                .get(IC_LEARNED_ROUTE)
                .and_then(parse_uuid)
                .zip(parse_route(&r.ip_prefix, &r.nexthop));
            if let Some((isb, (_, nexthop))) = parsed {
                let k = LearnKey {
                    route_table: &r.route_table,
                    nexthop: nexthop.0,
                    origin: r.options.get("origin").unwrap_or(""),
                };
                learned.entry(k).or_default().push((None, isb));
            }
        }

        // Candidates (sync_learned_routes).
        let mut candidates: BTreeMap<LearnKey<'_>, Vec<&Route>> = BTreeMap::new();
        let ctx = topo.routers.get(&lr_uuid);
        if let (Some(prefix), Some(ctx), Some(az)) = (key, ctx, topo.az) {
            let learning =
                topo.opts.learn && ctx.enabled && !ctx.vips.keys().any(|v| vip_matches(v, prefix));
            let local_gw: FastSet<(&str, &str)> = statics
                .iter()
                .filter(|r| !r.external_ids.contains_key(IC_LEARNED_ROUTE))
                .map(|r| (r.route_table.as_str(), r.ip_prefix.as_str()))
                .collect();
            for port in ctx.ports.iter().filter(|p| learning && !p.address_empty) {
                for r in lists.routes(&port.transit_switch, key) {
                    // Ownership: a row with `lr-id` (≥ 23.09) is skipped only if it is this
                    // router's; a legacy row (23.03) only if it is this zone's.
                    match r.external_ids.get(LR_ID) {
                        Some(id) => match parse_uuid(id) {
                            Some(id) if id != lr_uuid => {}
                            _ => continue,
                        },
                        None if r.availability_zone.uuid() == az => continue,
                        None => {}
                    }
                    // Before 23.09 a zone learns nothing from its own routers.
                    if !self.rows.semantics.learns_within_zone() && r.availability_zone.uuid() == az
                    {
                        continue;
                    }
                    if let (Some(tag), Some(filter)) =
                        (r.external_ids.get(IC_ROUTE_TAG), &port.filter_tag)
                    {
                        if tag == filter {
                            continue;
                        }
                    }
                    if !r.route_table.is_empty() && r.route_table != port.route_table {
                        continue;
                    }
                    let Some((_, nexthop)) = parse_route(&r.ip_prefix, &r.nexthop) else {
                        out.diagnostics.push(Diagnostic::BadIcSbRoute {
                            uuid: r.uuid,
                            ip_prefix: r.ip_prefix.clone(),
                            nexthop: r.nexthop.clone(),
                        });
                        continue;
                    };
                    if !topo.need_learn(prefix, &r.origin, port)
                        || local_gw.contains(&(r.route_table.as_str(), r.ip_prefix.as_str()))
                        || !has_neighbor(&port.networks, nexthop.0)
                    {
                        continue;
                    }
                    let advertiser = topo
                        .az_names
                        .get(&r.availability_zone.uuid())
                        .map(String::as_str)
                        .unwrap_or("");
                    let cand = LearnCandidate {
                        zone: self.rows.zone,
                        router: lr,
                        transit_switch: &port.transit_switch,
                        advertiser_zone: advertiser,
                        route: r,
                        prefix,
                    };
                    if !self.filter.learn(&cand) {
                        continue;
                    }
                    let k = LearnKey {
                        route_table: &r.route_table,
                        nexthop: nexthop.0,
                        origin: r.origin.as_str(),
                    };
                    let v = candidates.entry(k).or_default();
                    if !v.iter().any(|x| x.uuid == r.uuid) {
                        v.push(r);
                    }
                }
            }
        }

        for (k, rows) in learned {
            let sources = candidates.get(&k);
            let keep = rows
                .iter()
                .position(|(_, isb)| sources.is_some_and(|s| s.iter().any(|r| r.uuid == *isb)));
            for (i, (row, _)) in rows.iter().enumerate() {
                if let (Some(row), false) = (row, Some(i) == keep) {
                    out.learned_to_delete.push(LearnedRouteDelete {
                        router: lr_uuid,
                        route: *row,
                    });
                }
            }
            if keep.is_some() {
                candidates.remove(&k);
            }
        }
        for rows in candidates.values() {
            let Some(src) = rows.iter().min_by_key(|r| r.uuid) else {
                continue;
            };
            let mut route = LogicalRouterStaticRoute::default();
            route.ip_prefix = src.ip_prefix.clone();
            route.nexthop = src.nexthop.clone();
            route.route_table = src.route_table.clone();
            route.external_ids =
                StringMap::from([(IC_LEARNED_ROUTE.to_owned(), src.uuid.to_string())]);
            route.options =
                StringMap::from([("origin".to_owned(), src.origin.as_str().to_owned())]);
            out.learned_to_insert.push(LearnedRouteInsert {
                router: lr_uuid,
                route,
            });
        }
    }

    /// Every group of `lists` (built by [`Lists::all`]) computed into `out`.
    pub(crate) fn all_groups(&self, lists: &Lists<'_>, out: &mut Plan) {
        let topo = self.topo;
        let Some(az) = topo.az else {
            return;
        };
        // Learning groups, router by router.
        let mut routers: Vec<Uuid> = lists.statics.keys().copied().collect();
        routers.extend(topo.routers.keys());
        sort_dedup(&mut routers);
        let mut ks: Vec<PKey> = Vec::new();
        for lr in routers {
            ks.clear();
            if let Some(r) = lists.statics.get(&lr) {
                ks.extend(r.keys());
            }
            for port in topo.routers.get(&lr).into_iter().flat_map(|c| &c.ports) {
                if let Some(r) = lists.routes.get(port.transit_switch.as_str()) {
                    ks.extend(r.keys());
                }
            }
            sort_dedup(&mut ks);
            for k in &ks {
                self.learn_group(lists, lr, k, out);
            }
        }
        // Advertisement groups, transit switch by transit switch.
        let mut tss: Vec<&str> = topo.ts_routers.keys().map(String::as_str).collect();
        tss.extend(lists.routes.keys());
        sort_dedup(&mut tss);
        for ts in tss {
            ks.clear();
            for lr in topo.ts_routers.get(ts).into_iter().flatten() {
                if let Some(r) = lists.statics.get(lr) {
                    // Learned routes are never advertised: only local ones make groups.
                    ks.extend(
                        r.v.iter()
                            .filter(|(_, s)| !s.external_ids.contains_key(IC_LEARNED_ROUTE))
                            .map(|(k, _)| *k),
                    );
                }
                if let Some(c) = topo.routers.get(lr) {
                    ks.extend(c.networks.keys().chain(c.vips.keys()).map(|p| Some(*p)));
                }
            }
            if let Some(r) = lists.routes.get(ts) {
                ks.extend(
                    r.v.iter()
                        .filter(|(_, r)| r.availability_zone.uuid() == az)
                        .map(|(k, _)| *k),
                );
            }
            sort_dedup(&mut ks);
            for k in &ks {
                self.ad_group(lists, ts, k, out);
            }
        }
    }

    /// The given groups computed into `out`, each from the rows the index gives.
    pub(crate) fn groups(
        &self,
        idx: &Index,
        ads: &[(String, PKey)],
        learns: &[(Uuid, PKey)],
        out: &mut Plan,
    ) {
        if self.topo.az.is_none() {
            return;
        }
        for (lr, key) in learns {
            let lists = Lists::for_learn(self.rows, self.topo, idx, *lr, key);
            self.learn_group(&lists, *lr, key, out);
        }
        for (ts, key) in ads {
            let lists = Lists::for_ad(self.rows, self.topo, idx, ts, key);
            self.ad_group(&lists, ts, key, out);
        }
    }
}

/// Sorts and removes repeats.
pub(crate) fn sort_dedup<T: Ord>(v: &mut Vec<T>) {
    v.sort_unstable();
    v.dedup();
}

/// Puts a plan's lists in their documented order.
pub(crate) fn sort_plan(out: &mut Plan) {
    out.advertisements_to_insert.sort_by_cached_key(|a| {
        (
            Prefix::parse(&a.ip_prefix),
            Nexthop::parse(&a.nexthop),
            a.transit_switch.clone(),
            a.route_table.clone(),
        )
    });
    out.advertisements_to_update.sort_by_key(|u| u.route);
    out.advertisements_to_delete.sort_unstable();
    out.advertisements_to_delete.dedup();
    out.learned_to_insert.sort_by_cached_key(|a| {
        (
            a.router,
            Prefix::parse(&a.route.ip_prefix),
            Nexthop::parse(&a.route.nexthop),
            a.route.route_table.clone(),
            a.route.options.get("origin").map(str::to_owned),
        )
    });
    out.learned_to_delete.sort_unstable();
    out.learned_to_delete.dedup();
}

/// The full recompute over `rows` (counting `pending` writes as done).
pub(crate) fn full_plan(
    rows: Rows<'_>,
    topo: &Topo,
    pending: &Pending,
    filter: &dyn RouteFilter,
) -> Plan {
    let ctx = Ctx {
        rows,
        topo,
        pending,
        filter,
    };
    let mut out = Plan {
        diagnostics: topo.diagnostics.clone(),
        ..Plan::default()
    };
    let lists = Lists::all(rows);
    ctx.all_groups(&lists, &mut out);
    sort_plan(&mut out);
    out
}
