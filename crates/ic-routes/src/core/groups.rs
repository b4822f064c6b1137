//! Reconciling one advertisement group (transit switch, prefix) and one learning group
//! (router, prefix).

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::net::IpAddr;

use ovn_ic_sb::{Route, RouteOrigin};
use ovn_nb::{LogicalRouterStaticRoute, LogicalRouterStaticRoutePolicy};
use ovsdb_proto::typed::{Ref, StringMap};
use ovsdb_proto::{parse_uuid, Uuid};

use super::index::{Index, Lists};
use super::topo::{has_neighbor, vip_matches};
use super::{sort_dedup, Ctx, FastSet, PKey};
use crate::addr::{parse_route, Nexthop, Prefix};
use crate::explain::{Decision, Direction, Skip};
use crate::filter::{AdvertiseCandidate, LearnCandidate};
use crate::plan::{AdvertisementUpdate, Diagnostic, LearnedRouteDelete, LearnedRouteInsert, Plan};
use crate::semantics::Semantics;

use crate::{IC_LEARNED_ROUTE, IC_ROUTE_TAG, LR_ID, NB_ID};

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
    /// The filter's extra `external_ids`.
    annotation: Option<&'a StringMap>,
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

/// The keys a filter owns on advertisements and what it wants under them.
#[derive(Clone, Copy)]
struct Owned<'a> {
    prefix: &'a str,
    annotation: Option<&'a StringMap>,
}

/// The external ids an advertisement should carry, given its current ones. Without an
/// owned prefix (no filter annotates), only the engine's own keys are touched.
fn wanted_ids(
    current: &StringMap,
    nb_id: Uuid,
    lr_id: Uuid,
    tag: &str,
    owned: Option<Owned<'_>>,
) -> StringMap {
    let mut ids = current.clone();
    if let Some(Owned { prefix, annotation }) = owned {
        let stale: Vec<String> = ids
            .keys()
            .filter(|k| k.starts_with(prefix) && annotation.is_none_or(|a| !a.contains_key(k)))
            .map(str::to_owned)
            .collect();
        for k in stale {
            ids.remove(&k);
        }
        for (k, v) in annotation.into_iter().flat_map(StringMap::iter) {
            if k.starts_with(prefix) && ids.get(k) != Some(v) {
                ids.insert(k, v);
            }
        }
    }
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
        let owned_prefix = self.filter.annotation_prefix();
        let owned = |annotation| owned_prefix.map(|prefix| Owned { prefix, annotation });
        let mut desired: BTreeMap<AdKey<'_>, AdEntry<'_>> = BTreeMap::new();
        if let (Some(prefix), true) = (key, topo.ts_names.contains(ts)) {
            for lr_uuid in topo.ts_routers.get(ts).into_iter().flatten() {
                let (Some(ctx), Some(lr)) = (topo.routers.get(lr_uuid), nb.routers.get(lr_uuid))
                else {
                    continue;
                };
                let note = |route: &dyn Fn() -> String, row: Uuid, skipped: Option<Skip>| {
                    self.note(Direction::Advertise, skipped.as_ref(), || Decision {
                        direction: Direction::Advertise,
                        router: lr.name.clone(),
                        transit_switch: ts.to_owned(),
                        route: route(),
                        row,
                        skipped: skipped.clone(),
                    })
                };
                for port in ctx.ports.iter().filter(|p| p.transit_switch == ts) {
                    let Some(addrs) = &port.addrs else {
                        note(
                            &|| "every route of the router".to_owned(),
                            lr.uuid,
                            Some(Skip::PortWithoutAddress),
                        );
                        continue;
                    };
                    let mut add = |route_table: &'_ str,
                                   origin: RouteOrigin,
                                   nb_id: Uuid,
                                   what: &dyn Fn() -> String| {
                        let cand = AdvertiseCandidate {
                            zone: self.rows.zone,
                            router: lr,
                            transit_switch: ts,
                            prefix,
                            route_table,
                            origin: &origin,
                        };
                        if !self.filter.advertise(&cand) {
                            note(
                                what,
                                nb_id,
                                Some(Skip::Filter(self.filter.explain_advertise(&cand))),
                            );
                            return;
                        }
                        let annotation = match owned_prefix {
                            Some(_) => self.filter.annotate(&cand),
                            None => None,
                        };
                        let Some(nexthop) = addrs.nexthop_for(prefix) else {
                            note(what, nb_id, Some(Skip::NoNexthop));
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
                                note(what, nb_id, Some(Skip::Duplicate));
                                out.diagnostics.push(Diagnostic::DuplicateAdvertisement {
                                    transit_switch: ts.to_owned(),
                                    ip_prefix: prefix.to_string(),
                                    nb_id,
                                })
                            }
                            Entry::Vacant(v) => {
                                note(what, nb_id, None);
                                v.insert(AdEntry {
                                    origin,
                                    nb_id,
                                    lr_id: lr.uuid,
                                    tag: &port.tag,
                                    annotation,
                                    matched: false,
                                });
                            }
                        }
                    };
                    for r in lists.statics(lr.uuid, key) {
                        let what = || format!("static route {} via {}", r.uuid, r.nexthop);
                        let skip = if r.external_ids.contains_key(IC_LEARNED_ROUTE) {
                            Some(Skip::LearnedRoute)
                        } else if r.route_table != port.route_table {
                            Some(Skip::RouteTable {
                                route: r.route_table.clone(),
                                port: port.route_table.clone(),
                            })
                        } else if !advertisable(r, self.rows.semantics) {
                            Some(Skip::BadFormat)
                        } else {
                            None
                        };
                        if let Some(skip) = skip {
                            note(&what, r.uuid, Some(skip));
                            continue;
                        }
                        let src_ip = r.policy == Some(LogicalRouterStaticRoutePolicy::SrcIp);
                        match topo.advertise_check(prefix, src_ip, port) {
                            Ok(()) => add(&r.route_table, RouteOrigin::Static, r.uuid, &what),
                            Err(skip) => note(&what, r.uuid, Some(skip)),
                        }
                    }
                    let lrps = ctx.networks.get(prefix).into_iter().flatten();
                    let vips = ctx.vips.get(prefix).into_iter().flatten();
                    let connected = |lrp: &Uuid| {
                        let name = nb.router_ports.get(lrp).map_or("?", |p| p.name.as_str());
                        format!("connected network of router port {name}")
                    };
                    match topo.advertise_check(prefix, false, port) {
                        Ok(()) => {
                            for lrp in lrps {
                                add("", RouteOrigin::Connected, *lrp, &|| connected(lrp));
                            }
                            for lb in vips {
                                let what = || format!("VIP of load balancer {lb}");
                                if topo.opts.adv_lb && topo.lb_origin {
                                    add("", lb_origin(), *lb, &what);
                                } else {
                                    note(&what, *lb, Some(Skip::LoadBalancerOff));
                                }
                            }
                        }
                        Err(skip) => {
                            for lrp in lrps {
                                note(&|| connected(lrp), *lrp, Some(skip.clone()));
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
                    let ids = wanted_ids(current, e.nb_id, e.lr_id, e.tag, owned(e.annotation));
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
            row.external_ids = wanted_ids(
                &StringMap::default(),
                e.nb_id,
                e.lr_id,
                e.tag,
                owned(e.annotation),
            );
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
            let not_learning = if !topo.opts.learn {
                Some(Skip::LearnOff)
            } else if !ctx.enabled {
                Some(Skip::RouterDisabled)
            } else if ctx.vips.keys().any(|v| vip_matches(v, prefix)) {
                Some(Skip::LocalVip)
            } else {
                None
            };
            let learning = not_learning.is_none();
            let note = |ts: &str, r: &Route, skipped: Option<Skip>| {
                self.note(Direction::Learn, skipped.as_ref(), || Decision {
                    direction: Direction::Learn,
                    router: lr.name.clone(),
                    transit_switch: ts.to_owned(),
                    route: format!(
                        "IC-SB route {} from zone {} via {}{}",
                        r.uuid,
                        topo.az_names
                            .get(&r.availability_zone.uuid())
                            .map_or("?", String::as_str),
                        r.nexthop,
                        if r.route_table.is_empty() {
                            String::new()
                        } else {
                            format!(" (table {})", r.route_table)
                        }
                    ),
                    row: r.uuid,
                    skipped: skipped.clone(),
                })
            };
            if self.trace.is_some() {
                // Explaining: say why ports that learn nothing learn nothing.
                for port in &ctx.ports {
                    let why = not_learning
                        .clone()
                        .or_else(|| port.address_empty.then_some(Skip::PortWithoutAddress));
                    if let Some(why) = why {
                        for r in lists.routes(&port.transit_switch, key) {
                            note(&port.transit_switch, r, Some(why.clone()));
                        }
                    }
                }
            }
            let local_gw: FastSet<(&str, &str)> = statics
                .iter()
                .filter(|r| !r.external_ids.contains_key(IC_LEARNED_ROUTE))
                .map(|r| (r.route_table.as_str(), r.ip_prefix.as_str()))
                .collect();
            for port in ctx.ports.iter().filter(|p| learning && !p.address_empty) {
                for r in lists.routes(&port.transit_switch, key) {
                    // Ownership: a row with `lr-id` (≥ 23.09) is skipped only if it is this
                    // router's; a legacy row (23.03) only if it is this zone's.
                    let ts = port.transit_switch.as_str();
                    match r.external_ids.get(LR_ID) {
                        Some(id) => match parse_uuid(id) {
                            Some(id) if id != lr_uuid => {}
                            _ => {
                                note(ts, r, Some(Skip::OwnRoute));
                                continue;
                            }
                        },
                        None if r.availability_zone.uuid() == az => {
                            note(ts, r, Some(Skip::OwnZone));
                            continue;
                        }
                        None => {}
                    }
                    // Before 23.09 a zone learns nothing from its own routers.
                    if !self.rows.semantics.learns_within_zone() && r.availability_zone.uuid() == az
                    {
                        note(ts, r, Some(Skip::SameZoneBeforeRelease));
                        continue;
                    }
                    if let (Some(tag), Some(filter)) =
                        (r.external_ids.get(IC_ROUTE_TAG), &port.filter_tag)
                    {
                        if tag == filter {
                            note(ts, r, Some(Skip::Tag(tag.to_owned())));
                            continue;
                        }
                    }
                    if !r.route_table.is_empty() && r.route_table != port.route_table {
                        note(
                            ts,
                            r,
                            Some(Skip::RouteTable {
                                route: r.route_table.clone(),
                                port: port.route_table.clone(),
                            }),
                        );
                        continue;
                    }
                    let Some((_, nexthop)) = parse_route(&r.ip_prefix, &r.nexthop) else {
                        note(ts, r, Some(Skip::BadFormat));
                        out.diagnostics.push(Diagnostic::BadIcSbRoute {
                            uuid: r.uuid,
                            ip_prefix: r.ip_prefix.clone(),
                            nexthop: r.nexthop.clone(),
                        });
                        continue;
                    };
                    let skip = if let Err(skip) = topo.learn_check(prefix, &r.origin, port) {
                        Some(skip)
                    } else if local_gw.contains(&(r.route_table.as_str(), r.ip_prefix.as_str())) {
                        Some(Skip::LocalRouteWins)
                    } else if !has_neighbor(&port.networks, nexthop.0) {
                        Some(Skip::NexthopOutsidePort)
                    } else {
                        None
                    };
                    if let Some(skip) = skip {
                        note(ts, r, Some(skip));
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
                        note(ts, r, Some(Skip::Filter(self.filter.explain_learn(&cand))));
                        continue;
                    }
                    note(ts, r, None);
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
