//! The zone's topology: options, the routers' transit-switch ports, connected networks,
//! load-balancer VIPs; rebuilt whenever one of its inputs changes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ovn_ic_sb::RouteOrigin;

use ovsdb_proto::typed::StringMap;
use ovsdb_proto::{parse_uuid, Uuid};

use super::{FastMap, FastSet, Rows, ORIGIN_LB};

use crate::addr::{PortAddresses, Prefix};
use crate::explain::Skip;

use crate::plan::Diagnostic;
use crate::semantics::Semantics;

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
            // VIPs are advertised, and block learning of prefixes containing them, from
            // 25.09 on; older releases ignore load balancers.
            let mut vips: FastMap<Prefix, Vec<Uuid>> = FastMap::default();
            let mut lbs: BTreeSet<Uuid> = BTreeSet::new();
            if sem.lb_routes() {
                lbs.extend(lr.load_balancer.iter().map(|r| r.uuid()));
                for g in lr
                    .load_balancer_group
                    .iter()
                    .filter_map(|g| nb.load_balancer_groups.get(&g.uuid()))
                {
                    lbs.extend(g.load_balancer.iter().map(|r| r.uuid()));
                }
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
                    enabled: lr.enabled != Some(false),
                    ports,
                    networks,
                    vips,
                },
            );
        }
        t
    }

    /// `route_need_advertise` (reference §2.5) for a prefix through `port`: `Ok` to
    /// advertise, else the rule that refuses.
    pub(super) fn advertise_check(
        &self,
        prefix: &Prefix,
        src_ip: bool,
        port: &Port,
    ) -> Result<(), Skip> {
        let o = &self.opts;
        if !o.adv {
            return Err(Skip::AdvertiseOff);
        }
        if prefix.plen() == 0 && !o.adv_default {
            return Err(Skip::DefaultRoute);
        }
        if src_ip {
            return Err(Skip::SourceIpPolicy);
        }
        if prefix.is_link_local() {
            return Err(Skip::LinkLocal);
        }
        if let Some(d) = port
            .deny_adv
            .iter()
            .chain(&o.deny)
            .find(|d| prefix.is_within(d))
        {
            return Err(Skip::DenyList(*d));
        }
        if !port
            .allow_adv
            .as_ref()
            .is_none_or(|a| a.iter().any(|e| prefix.is_within(e)))
        {
            return Err(Skip::NotInAllowList);
        }
        Ok(())
    }

    /// `route_need_learn` (reference §2.5) minus the router-wide checks: `Ok` to learn,
    /// else the rule that refuses.
    pub(super) fn learn_check(
        &self,
        prefix: &Prefix,
        origin: &RouteOrigin,
        port: &Port,
    ) -> Result<(), Skip> {
        let o = &self.opts;
        if !o.learn {
            return Err(Skip::LearnOff);
        }
        if prefix.plen() == 0 && !o.learn_default {
            return Err(Skip::DefaultRoute);
        }
        if origin.as_str() == ORIGIN_LB && !o.learn_lb {
            return Err(Skip::LoadBalancerOff);
        }
        if prefix.is_link_local() {
            return Err(Skip::LinkLocal);
        }
        if let Some(d) = port
            .deny_learn
            .iter()
            .chain(&o.deny)
            .find(|d| prefix.is_within(d))
        {
            return Err(Skip::DenyList(*d));
        }
        if !port
            .allow_learn
            .as_ref()
            .is_none_or(|a| a.iter().any(|e| prefix.is_within(e)))
        {
            return Err(Skip::NotInAllowList);
        }
        Ok(())
    }
}

/// Whether `nexthop` is inside one of `networks` (`lrp_has_neighbor_in_ts`).
pub(crate) fn has_neighbor(networks: &[Prefix], nexthop: IpAddr) -> bool {
    networks.iter().any(|n| {
        Prefix::new(nexthop, if nexthop.is_ipv4() { 32 } else { 128 })
            .is_some_and(|h| h.is_within(n))
    })
}

/// Whether a local VIP falls inside `prefix` as upstream's `route_matches_local_lb` compares
/// (the VIP masked to the prefix length equals the prefix address *with* its host bits).
pub(crate) fn vip_matches(vip: &Prefix, prefix: &Prefix) -> bool {
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
