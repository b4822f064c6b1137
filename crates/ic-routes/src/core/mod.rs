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

use crate::addr::{Nexthop, Prefix};
use crate::explain::{Decision, DecisionCounts, Direction, Skip, Trace};
use crate::filter::RouteFilter;
use crate::plan::Plan;
use crate::semantics::Semantics;
use crate::snapshot::{IcNorthbound, IcSouthbound, Northbound};

mod groups;
mod index;
mod topo;

pub(crate) use index::{Index, Lists, Pending};
pub(crate) use topo::Topo;

/// A hash map with rustc's Fx hash for the engine's indexes, keyed by UUIDs, prefixes and
/// transit-switch names. Keys come from the zones' databases, whose writers are trusted
/// operators, so hash flooding is not a concern here.
pub(crate) type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;
/// A hash set with rustc's Fx hash.
pub(crate) type FastSet<K> = rustc_hash::FxHashSet<K>;

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

/// The context of one computation.
pub(crate) struct Ctx<'a> {
    pub rows: Rows<'a>,
    pub topo: &'a Topo,
    pub pending: &'a Pending,
    pub filter: &'a dyn RouteFilter,
    /// Where decisions go when explaining (`None` in rounds: nothing is recorded).
    pub trace: Option<&'a Trace>,
    /// Decision counters (metrics), when on.
    pub counts: Option<&'a DecisionCounts>,
}

impl Ctx<'_> {
    /// Counts a decision (metrics) and records it when explaining.
    #[inline]
    pub(crate) fn note(
        &self,
        direction: Direction,
        skipped: Option<&Skip>,
        decision: impl FnOnce() -> Decision,
    ) {
        if let Some(c) = self.counts {
            c.add(direction, skipped);
        }
        if let Some(t) = self.trace {
            t.borrow_mut().push(decision());
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
    counts: Option<&DecisionCounts>,
) -> Plan {
    let ctx = Ctx {
        rows,
        topo,
        pending,
        filter,
        trace: None,
        counts,
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

/// Every decision the full computation takes about `prefix` (optionally for one router).
pub(crate) fn explain(
    rows: Rows<'_>,
    topo: &Topo,
    filter: &dyn RouteFilter,
    prefix: &Prefix,
    router: Option<&str>,
) -> Vec<Decision> {
    let trace = Trace::default();
    let pending = Pending::default();
    let ctx = Ctx {
        rows,
        topo,
        pending: &pending,
        filter,
        trace: Some(&trace),
        counts: None,
    };
    let lists = Lists::all(rows);
    // Groups are keyed by the prefix as written (connected networks keep their host bits:
    // `10.0.0.1/24`): explain every key of the same network.
    let same = |k: &Prefix| k.plen() == prefix.plen() && k.is_within(prefix);
    let mut keys: Vec<PKey> = vec![Some(*prefix)];
    keys.extend(
        lists
            .statics
            .values()
            .flat_map(|r| r.v.iter().map(|(k, _)| *k))
            .chain(
                lists
                    .routes
                    .values()
                    .flat_map(|r| r.v.iter().map(|(k, _)| *k)),
            )
            .chain(
                topo.routers
                    .values()
                    .flat_map(|c| c.networks.keys().chain(c.vips.keys()).map(|p| Some(*p))),
            )
            .filter(|k| k.as_ref().is_some_and(same)),
    );
    sort_dedup(&mut keys);
    let mut out = Plan::default();
    let mut tss: Vec<&str> = topo.ts_routers.keys().map(String::as_str).collect();
    sort_dedup(&mut tss);
    let mut routers: Vec<_> = topo.routers.keys().copied().collect();
    sort_dedup(&mut routers);
    for key in &keys {
        for ts in &tss {
            ctx.ad_group(&lists, ts, key, &mut out);
        }
    }
    for key in &keys {
        for lr in &routers {
            ctx.learn_group(&lists, *lr, key, &mut out);
        }
    }
    let mut decisions = trace.into_inner();
    if let Some(r) = router {
        decisions.retain(|d| d.router == r);
    }
    decisions
}
