//! The full recompute: ovn-ic 23.03's `route_run` (reference §2.4) with the fixes listed in
//! the crate docs.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use ovn_ic_sb::{Route, RouteOrigin};
use ovn_nb::{LogicalRouter, LogicalRouterStaticRoute, LogicalRouterStaticRoutePolicy};
use ovsdb_proto::typed::{Ref, SortedMap};
use ovsdb_proto::{parse_uuid, Uuid};

use crate::addr::{parse_route, Nexthop, PortAddresses, Prefix};
use crate::plan::{AdvertisementUpdate, Diagnostic, LearnedRouteDelete, LearnedRouteInsert, Plan};
use crate::snapshot::{IcNorthbound, IcSouthbound, Northbound};

/// `external_ids` key marking a learned NB route; its value is the IC-SB route's UUID.
pub const IC_LEARNED_ROUTE: &str = "ic-learned-route";
/// `external_ids` key of an IC-SB route naming the NB row it was made from.
pub const NB_ID: &str = "nb-id";

/// The `NB_Global` options of route exchange.
struct Options {
    adv: bool,
    learn: bool,
    adv_default: bool,
    learn_default: bool,
    deny: Vec<Prefix>,
}

fn opt_bool(options: &SortedMap<String, String>, key: &str) -> bool {
    options
        .get(key)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

impl Options {
    fn read(options: &SortedMap<String, String>, diags: &mut Vec<Diagnostic>) -> Self {
        // ≥ 24.09 name first; an absent or empty `ic-route-denylist` falls back to the
        // 23.03 name (reference §1.1).
        let list = options
            .get("ic-route-denylist")
            .filter(|v| !v.is_empty())
            .or_else(|| options.get("ic-route-blacklist"))
            .map(String::as_str)
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
            deny,
        }
    }

    fn denied(&self, prefix: &Prefix) -> bool {
        self.deny.iter().any(|d| prefix.is_within(d))
    }

    /// `route_need_advertise` (reference §2.4).
    fn need_advertise(&self, prefix: &Prefix, src_ip: bool) -> bool {
        self.adv
            && (prefix.plen() != 0 || self.adv_default)
            && !src_ip
            && !prefix.is_link_local()
            && !self.denied(prefix)
    }

    /// `route_need_learn` without the local-route check (reference §2.4).
    fn need_learn(&self, prefix: &Prefix) -> bool {
        self.learn
            && (prefix.plen() != 0 || self.learn_default)
            && !prefix.is_link_local()
            && !self.denied(prefix)
    }
}

/// One local port of a router on a transit switch.
struct TsPort<'a> {
    transit_switch: &'a str,
    route_table: &'a str,
    address: &'a str,
    addrs: Option<PortAddresses>,
}

/// The identity of an advertisement: the IC-SB unique index (transit switch, route table,
/// prefix, nexthop) with the zone implied; `origin` is deliberately not part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct AdKey<'a> {
    // Numbers first: they order most keys without a string comparison.
    prefix: Prefix,
    nexthop: IpAddr,
    transit_switch: &'a str,
    route_table: &'a str,
}

struct AdEntry {
    origin: RouteOrigin,
    nb_id: Uuid,
    matched: bool,
}

/// A candidate advertisement before its nexthop is chosen.
struct Ad<'a> {
    prefix: Prefix,
    route_table: &'a str,
    origin: RouteOrigin,
    nb_id: Uuid,
}

/// `add_to_routes_ad`: records an advertisement through a port unless an equal one (same
/// unique-index tuple) is already there.
fn add_ad<'a>(
    desired: &mut BTreeMap<AdKey<'a>, AdEntry>,
    diags: &mut Vec<Diagnostic>,
    transit_switch: &'a str,
    addrs: &PortAddresses,
    ad: Ad<'a>,
) {
    let Some(nexthop) = addrs.nexthop_for(&ad.prefix) else {
        return;
    };
    let key = AdKey {
        transit_switch,
        route_table: ad.route_table,
        prefix: ad.prefix,
        nexthop: nexthop.0,
    };
    match desired.entry(key) {
        Entry::Occupied(_) => diags.push(Diagnostic::DuplicateAdvertisement {
            transit_switch: transit_switch.to_owned(),
            ip_prefix: ad.prefix.to_string(),
            nb_id: ad.nb_id,
        }),
        Entry::Vacant(v) => {
            v.insert(AdEntry {
                origin: ad.origin,
                nb_id: ad.nb_id,
                matched: false,
            });
        }
    }
}

/// The identity of a learned route on one router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LearnKey<'a> {
    prefix: Prefix,
    nexthop: IpAddr,
    route_table: &'a str,
    origin: &'a str,
}

/// Computes the plan of zone `zone` from its NB rows and the global IC rows: a full
/// recompute, ovn-ic 23.03's `route_run` (see the crate docs for the deviations).
pub fn plan(zone: &str, nb: &Northbound, ic_nb: &IcNorthbound, ic_sb: &IcSouthbound) -> Plan {
    let mut out = Plan::default();
    let az = ic_sb
        .availability_zones
        .values()
        .find(|az| !zone.is_empty() && az.name == zone)
        .map(|az| az.uuid);
    let Some(az) = az else {
        out.diagnostics.push(Diagnostic::ZoneNotRegistered {
            zone: zone.to_owned(),
        });
        return out;
    };
    let opts = Options::read(&nb.nb_global.options, &mut out.diagnostics);

    let ts_names: HashSet<&str> = ic_nb
        .transit_switches
        .values()
        .map(|t| t.name.as_str())
        .collect();
    let mut lsp_by_name = HashMap::new();
    for lsp in nb.switch_ports.values() {
        lsp_by_name.entry(lsp.name.as_str()).or_insert(lsp);
    }
    let mut lrp_by_name = HashMap::new();
    for lrp in nb.router_ports.values() {
        lrp_by_name.entry(lrp.name.as_str()).or_insert(lrp);
    }

    // Group this zone's port bindings by router (reference §2.2).
    let mut ic_lrs: BTreeMap<Uuid, (&LogicalRouter, Vec<TsPort<'_>>)> = BTreeMap::new();
    let mut ts_lrps_by_router: HashMap<Uuid, HashSet<&str>> = HashMap::new();
    for pb in ic_sb.port_bindings.values() {
        if pb.availability_zone.uuid() != az {
            continue;
        }
        let Some(lrp_name) = lsp_by_name
            .get(pb.logical_port.as_str())
            .and_then(|lsp| lsp.options.get("router-port"))
        else {
            out.diagnostics.push(Diagnostic::PortWithoutRouterPort {
                logical_port: pb.logical_port.clone(),
            });
            continue;
        };
        let Some(lr) = pb
            .external_ids
            .get("router-id")
            .and_then(|s| parse_uuid(s))
            .and_then(|u| nb.routers.get(&u))
        else {
            continue;
        };
        // Every local transit-switch router port counts as one for `lrp_is_ts_port`, so
        // its networks are never advertised as connected routes.
        ts_lrps_by_router
            .entry(lr.uuid)
            .or_default()
            .insert(lrp_name.as_str());
        // Deviation: a port on a transit switch missing from IC-NB takes no other part
        // (23.03 crashes advertising through it).
        if !ts_names.contains(pb.transit_switch.as_str()) {
            continue;
        }
        let route_table = lrp_by_name
            .get(lrp_name.as_str())
            .and_then(|lrp| lrp.options.get("route_table"))
            .map(String::as_str)
            .unwrap_or("");
        let addrs = PortAddresses::parse(&pb.address);
        if addrs.is_none() {
            out.diagnostics.push(Diagnostic::BadPortAddress {
                logical_port: pb.logical_port.clone(),
                address: pb.address.clone(),
            });
        }
        ic_lrs
            .entry(lr.uuid)
            .or_insert((lr, Vec::new()))
            .1
            .push(TsPort {
                transit_switch: &pb.transit_switch,
                route_table,
                address: &pb.address,
                addrs,
            });
    }

    // Other zones' routes by transit switch, in UUID order (the IC-SB index by TS).
    let mut routes_by_ts: HashMap<&str, Vec<&Route>> = HashMap::new();
    for r in ic_sb.routes.values() {
        routes_by_ts.entry(&r.transit_switch).or_default().push(r);
    }

    let mut desired: BTreeMap<AdKey<'_>, AdEntry> = BTreeMap::new();
    for (lr, ports) in ic_lrs.values() {
        // Static routes of the router, split into learned and local ones.
        let mut learned: BTreeMap<LearnKey<'_>, Vec<(&LogicalRouterStaticRoute, Uuid)>> =
            BTreeMap::new();
        let mut local: Vec<&LogicalRouterStaticRoute> = Vec::new();
        let mut local_gw: HashSet<(&str, &str)> = HashSet::new();
        for r in lr
            .static_routes
            .iter()
            .filter_map(|r| nb.static_routes.get(&r.uuid()))
        {
            match r.external_ids.get(IC_LEARNED_ROUTE) {
                Some(isb) => {
                    let parsed = parse_uuid(isb).zip(parse_route(&r.ip_prefix, &r.nexthop));
                    let Some((isb, (prefix, nexthop))) = parsed else {
                        out.diagnostics.push(Diagnostic::BadLearnedRoute {
                            uuid: r.uuid,
                            ip_prefix: r.ip_prefix.clone(),
                            nexthop: r.nexthop.clone(),
                        });
                        out.learned_to_delete.push(LearnedRouteDelete {
                            router: lr.uuid,
                            route: r.uuid,
                        });
                        continue;
                    };
                    let key = LearnKey {
                        route_table: &r.route_table,
                        prefix,
                        nexthop: nexthop.0,
                        origin: r.options.get("origin").map(String::as_str).unwrap_or(""),
                    };
                    learned.entry(key).or_default().push((r, isb));
                }
                None => {
                    local_gw.insert((r.route_table.as_str(), r.ip_prefix.as_str()));
                    local.push(r);
                }
            }
        }
        let ts_lrps = ts_lrps_by_router.get(&lr.uuid);

        // Advertisements through each port (build_ts_routes_to_adv).
        for port in ports {
            let Some(addrs) = &port.addrs else { continue };
            for r in &local {
                if r.route_table != port.route_table {
                    continue;
                }
                let Some((prefix, _)) = parse_route(&r.ip_prefix, &r.nexthop) else {
                    continue;
                };
                let src_ip = r.policy == Some(LogicalRouterStaticRoutePolicy::SrcIp);
                if opts.need_advertise(&prefix, src_ip) {
                    let ad = Ad {
                        prefix,
                        route_table: &r.route_table,
                        origin: RouteOrigin::Static,
                        nb_id: r.uuid,
                    };
                    add_ad(
                        &mut desired,
                        &mut out.diagnostics,
                        port.transit_switch,
                        addrs,
                        ad,
                    );
                }
            }
            for lrp in lr
                .ports
                .iter()
                .filter_map(|p| nb.router_ports.get(&p.uuid()))
            {
                if ts_lrps.is_some_and(|t| t.contains(lrp.name.as_str())) {
                    continue;
                }
                for network in &lrp.networks {
                    let Some(prefix) = Prefix::parse(network) else {
                        continue;
                    };
                    if opts.need_advertise(&prefix, false) {
                        let ad = Ad {
                            prefix,
                            route_table: "",
                            origin: RouteOrigin::Connected,
                            nb_id: lrp.uuid,
                        };
                        add_ad(
                            &mut desired,
                            &mut out.diagnostics,
                            port.transit_switch,
                            addrs,
                            ad,
                        );
                    }
                }
            }
        }

        // Learning (sync_learned_routes).
        let mut candidates: BTreeMap<LearnKey<'_>, Vec<&Route>> = BTreeMap::new();
        for port in ports {
            // Fix ddc020051: nothing is learned through a port without address (a disabled
            // router), so its learned routes go away instead of being re-created forever.
            if port.address.is_empty() {
                continue;
            }
            let on_ts = routes_by_ts.get(port.transit_switch).map(Vec::as_slice);
            for r in on_ts.unwrap_or_default() {
                // Never learn from the own zone (23.03: no `lr-id`, no same-zone learning).
                if r.availability_zone.uuid() == az {
                    continue;
                }
                if !r.route_table.is_empty() && r.route_table != port.route_table {
                    continue;
                }
                let Some((prefix, nexthop)) = parse_route(&r.ip_prefix, &r.nexthop) else {
                    out.diagnostics.push(Diagnostic::BadIcSbRoute {
                        uuid: r.uuid,
                        ip_prefix: r.ip_prefix.clone(),
                        nexthop: r.nexthop.clone(),
                    });
                    continue;
                };
                if !opts.need_learn(&prefix)
                    || local_gw.contains(&(r.route_table.as_str(), r.ip_prefix.as_str()))
                {
                    continue;
                }
                let key = LearnKey {
                    route_table: &r.route_table,
                    prefix,
                    nexthop: nexthop.0,
                    origin: r.origin.as_str(),
                };
                candidates.entry(key).or_default().push(r);
            }
        }
        for (key, rows) in learned {
            let sources = candidates.get(&key);
            let keep = rows
                .iter()
                .position(|(_, isb)| sources.is_some_and(|s| s.iter().any(|r| r.uuid == *isb)));
            for (i, (row, _)) in rows.iter().enumerate() {
                if Some(i) != keep {
                    out.learned_to_delete.push(LearnedRouteDelete {
                        router: lr.uuid,
                        route: row.uuid,
                    });
                }
            }
            if keep.is_some() {
                candidates.remove(&key);
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
                SortedMap::from([(IC_LEARNED_ROUTE.to_owned(), src.uuid.to_string())]);
            route.options =
                SortedMap::from([("origin".to_owned(), src.origin.as_str().to_owned())]);
            out.learned_to_insert.push(LearnedRouteInsert {
                router: lr.uuid,
                route,
            });
        }
    }

    // Routers no longer on any transit switch keep no learned route (23.03 leaves them).
    for lr in nb.routers.values() {
        if ic_lrs.contains_key(&lr.uuid) {
            continue;
        }
        for r in lr
            .static_routes
            .iter()
            .filter_map(|r| nb.static_routes.get(&r.uuid()))
        {
            if r.external_ids.contains_key(IC_LEARNED_ROUTE) {
                out.learned_to_delete.push(LearnedRouteDelete {
                    router: lr.uuid,
                    route: r.uuid,
                });
            }
        }
    }

    // Reconcile every advertisement of this zone (advertise_routes and
    // delete_orphan_ic_routes, over all transit switches at once).
    for r in ic_sb.routes.values() {
        if r.availability_zone.uuid() != az {
            continue;
        }
        if !ts_names.contains(r.transit_switch.as_str()) {
            out.advertisements_to_delete.push(r.uuid);
            continue;
        }
        let Some((prefix, nexthop)) = parse_route(&r.ip_prefix, &r.nexthop) else {
            out.diagnostics.push(Diagnostic::BadIcSbRoute {
                uuid: r.uuid,
                ip_prefix: r.ip_prefix.clone(),
                nexthop: r.nexthop.clone(),
            });
            out.advertisements_to_delete.push(r.uuid);
            continue;
        };
        let key = AdKey {
            transit_switch: &r.transit_switch,
            route_table: &r.route_table,
            prefix,
            nexthop: nexthop.0,
        };
        match desired.get_mut(&key) {
            Some(e) if !e.matched && e.origin == r.origin => {
                e.matched = true;
                let current = r.external_ids.get(NB_ID).and_then(|s| parse_uuid(s));
                if current != Some(e.nb_id) {
                    let mut external_ids = r.external_ids.clone();
                    external_ids.insert(NB_ID.to_owned(), e.nb_id.to_string());
                    out.advertisements_to_update.push(AdvertisementUpdate {
                        route: r.uuid,
                        external_ids,
                    });
                }
            }
            _ => out.advertisements_to_delete.push(r.uuid),
        }
    }
    for (key, e) in desired {
        if e.matched {
            continue;
        }
        let mut row = Route::default();
        row.transit_switch = key.transit_switch.to_owned();
        row.availability_zone = Ref::new(az);
        row.route_table = key.route_table.to_owned();
        row.ip_prefix = key.prefix.to_string();
        row.nexthop = Nexthop(key.nexthop).to_string();
        row.origin = e.origin;
        row.external_ids = SortedMap::from([(NB_ID.to_owned(), e.nb_id.to_string())]);
        out.advertisements_to_insert.push(row);
    }

    out.advertisements_to_delete.sort();
    out.learned_to_delete.sort();
    out.learned_to_delete.dedup();
    out
}
