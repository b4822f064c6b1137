//! ovn-ic's route exchange between availability zones as a pure engine.
//!
//! It takes one zone's typed rows (its
//! `OVN_Northbound`, plus the global `OVN_IC_Northbound` and `OVN_IC_Southbound`) and returns
//! a [`Plan`]: the IC-SB `Route` rows (this zone's *advertisements*) to insert, update or
//! delete, and the NB `Logical_Router_Static_Route` rows (*learned routes*) to add to or take
//! off each router. It never touches a socket; the caller (`ic-routed`) turns the plan into
//! transactions with [`Plan::operations`].
//!
//! The task most users come for: run the route engine on a snapshot of a zone. Zone `az1`
//! has a router `lr1` with a static route to `10.11.1.0/24` and a port `lrp1` on the transit
//! switch `ts1`; zone `az2` advertises `10.22.2.0/24` on the same switch. The plan
//! advertises the one and learns the other, as `ovn-ic` would:
//!
//! ```
//! use ic_routes::ovn_ic_nb::TransitSwitch;
//! use ic_routes::ovn_ic_sb::{AvailabilityZone, PortBinding, Route};
//! use ic_routes::ovn_nb::{LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute, LogicalSwitchPort};
//! use ic_routes::Snapshot;
//! use ovsdb_proto::typed::{Ref, StringMap};
//! use ovsdb_proto::Uuid;
//!
//! let id = Uuid::from_u128;
//! let mut snap = Snapshot::new("az1");
//! // The zone's OVN_Northbound (from a replica: `Snapshot::from_sources`).
//! snap.nb.nb_global.name = "az1".into();
//! snap.nb.nb_global.options = StringMap::from([("ic-route-adv", "true"), ("ic-route-learn", "true")]);
//! let mut lr1 = LogicalRouter::default();
//! (lr1.uuid, lr1.name, lr1.ports, lr1.static_routes) = (id(1), "lr1".into(), vec![Ref::new(id(2))], vec![Ref::new(id(3))]);
//! let mut lrp1 = LogicalRouterPort::default();
//! (lrp1.uuid, lrp1.name, lrp1.mac) = (id(2), "lrp1".into(), "aa:aa:aa:aa:aa:01".into());
//! lrp1.networks = vec!["169.254.100.1/24".into()];
//! let mut route = LogicalRouterStaticRoute::default();
//! (route.uuid, route.ip_prefix, route.nexthop) = (id(3), "10.11.1.0/24".into(), "169.254.0.1".into());
//! let mut lsp = LogicalSwitchPort::default(); // the router's port on the transit switch
//! (lsp.uuid, lsp.name, lsp.type_) = (id(4), "ts1-lr1".into(), "router".into());
//! lsp.options = StringMap::from([("router-port", "lrp1")]);
//! snap.nb.routers.insert(lr1.uuid, lr1);
//! snap.nb.router_ports.insert(lrp1.uuid, lrp1);
//! snap.nb.static_routes.insert(route.uuid, route);
//! snap.nb.switch_ports.insert(lsp.uuid, lsp);
//! // OVN_IC_Northbound and OVN_IC_Southbound.
//! let mut ts1 = TransitSwitch::default();
//! (ts1.uuid, ts1.name) = (id(5), "ts1".into());
//! snap.ic_nb.transit_switches.insert(ts1.uuid, ts1);
//! for (uuid, name) in [(id(6), "az1"), (id(7), "az2")] {
//!     let mut az = AvailabilityZone::default();
//!     (az.uuid, az.name) = (uuid, name.into());
//!     snap.ic_sb.availability_zones.insert(uuid, az);
//! }
//! let mut pb = PortBinding::default();
//! (pb.uuid, pb.logical_port, pb.transit_switch) = (id(8), "ts1-lr1".into(), "ts1".into());
//! (pb.availability_zone, pb.address) = (Ref::new(id(6)), "aa:aa:aa:aa:aa:01 169.254.100.1/24".into());
//! pb.external_ids = StringMap::from([("router-id", id(1).to_string())]);
//! snap.ic_sb.port_bindings.insert(pb.uuid, pb);
//! let mut theirs = Route::default();
//! (theirs.uuid, theirs.availability_zone, theirs.transit_switch) = (id(9), Ref::new(id(7)), "ts1".into());
//! (theirs.ip_prefix, theirs.nexthop) = ("10.22.2.0/24".into(), "169.254.100.2".into());
//! snap.ic_sb.routes.insert(theirs.uuid, theirs);
//!
//! let plan = snap.plan();
//! let advertised: Vec<_> = plan.advertisements_to_insert.iter().map(|r| (r.ip_prefix.as_str(), r.nexthop.as_str())).collect();
//! assert_eq!(advertised, [("10.11.1.0/24", "169.254.100.1")]);
//! let learned: Vec<_> = plan.learned_to_insert.iter().map(|l| (l.router, l.route.ip_prefix.as_str(), l.route.nexthop.as_str())).collect();
//! assert_eq!(learned, [(id(1), "10.22.2.0/24", "169.254.100.2")]);
//!
//! // One transaction per database; applied, the next plan is empty.
//! let ops = plan.operations();
//! assert_eq!((ops.nb.len() > 0, ops.ic_sb.len()), (true, 1));
//! let mut next = 100;
//! snap.apply(&plan, &mut || { next += 1; id(next) });
//! assert!(snap.plan().is_empty());
//! ```
//!
//! Two ways to run it:
//!
//! - **Full recompute**: [`plan`] / [`plan_filtered`] (or [`Snapshot::plan`]) over all rows,
//!   as ovn-ic does on every wake-up.
//! - **Incremental**: an [`Engine`] fed the monitors' row changes ([`Change`]) returns delta
//!   plans whose cost follows the change, not the table sizes; see [`incremental`] for the
//!   contract (echoes of the engine's own writes, pending writes, failed transactions).
//!   [`Engine::full_plan`] is the full recompute over the engine's rows, the reference.
//!
//! A [`RouteFilter`] (VPC isolation, crate `isolation`) is consulted for every route that
//! passed ovn-ic's own checks, before it is advertised or learned; [`AllowAll`] is ovn-ic. A
//! filter may also add `external_ids` under a key prefix it owns to the zone's
//! advertisements ([`RouteFilter::annotate`]); without one, the rows are ovn-ic's.
//!
//! # Semantics
//!
//! Those of OVN `main` (reference `ovn-ic-routes.md` §2.5) for the features listed below,
//! with 23.03.1 interoperability: the rows written are the ones a 23.03.1 `ovn-ic` learns
//! correctly (it ignores the extra `external_ids` keys), and rows 23.03.1 writes (no
//! `lr-id`) are learned.
//!
//! - `NB_Global` options `ic-route-adv`, `ic-route-learn`, `ic-route-adv-default`,
//!   `ic-route-learn-default`, `ic-route-adv-lb`, `ic-route-learn-lb` (true only if
//!   `"true"`, any case); the deny list `ic-route-denylist`, falling back to
//!   `ic-route-blacklist` when absent or empty (§1.1), applies to both directions.
//! - Transit-switch ports are this zone's IC-SB port bindings: `logical_port` → NB switch
//!   port → `options:router-port`; the router is `external_ids:router-id` (§2.2). The
//!   port's route table is its router port's `options:route_table`.
//! - Advertised, per transit switch over **all** the zone's routers on it (≥ 23.09): the
//!   router's non-learned static routes of the port's route table (not `src-ip`; prefix
//!   parses; nexthop parses and is not fe80::/64, or is `discard` (≥ 26.03)), the networks of
//!   its non-transit-switch router ports (origin `connected`, route table `""`, host bits
//!   kept), and with `ic-route-adv-lb` the VIPs of its load balancers and load-balancer
//!   groups (/32, /128, origin `loadbalancer`, ≥ 25.09) — only if
//!   [`IcSouthbound::supports_lb_origin`] says the IC-SB schema has that origin, which
//!   23.03's does not. Not advertised: plen 0 without `ic-route-adv-default`, link-local
//!   prefixes (169.254/16, fe80::/10), prefixes denied by the global list or the port's or
//!   router's `ic-route-deny-adv` (≥ 26.03), prefixes outside a non-empty
//!   `ic-route-filter-adv` allow list of the port or router (≥ 25.09; deny beats allow),
//!   learned routes. The nexthop is the first address of the prefix's family of the
//!   transit-switch port. Rows carry `external_ids` `nb-id`, `lr-id` (the advertising
//!   router, ≥ 23.09) and `ic-route-tag` (the port's `options:ic-route-tag`, ≥ 25.03).
//! - Learned: routes on the router's transit switches whose `lr-id` is another router's
//!   (so routers of the same zone learn each other's routes), or, without `lr-id` (23.03
//!   advertisers), from another zone; not carrying the `ic-route-tag` equal to the port's
//!   `ic-route-filter-tag`; whose route table is `""` or the port's; that parse, whose
//!   nexthop is not link-local and lies inside one of the transit-switch port's networks
//!   (c03bda692); whose prefix is neither link-local, nor plen 0 without
//!   `ic-route-learn-default`, nor denied (global list, `ic-route-deny-learn`), nor outside a
//!   non-empty `ic-route-filter-learn`; origin `loadbalancer` only with `ic-route-learn-lb`;
//!   not by a disabled router (`enabled=false`), not through a port with an empty address;
//!   not when the router has a non-learned static route with the same `route_table` and
//!   `ip_prefix` strings, nor a load-balancer VIP inside the prefix. Learned rows copy
//!   `ip_prefix`, `nexthop` and `route_table` verbatim and carry
//!   `external_ids:ic-learned-route` and `options:origin` (§2.6). One row per (route table,
//!   prefix, nexthop, origin) on a router: different nexthops give ECMP.
//! - Rows are matched semantically (parsed prefix with host bits, nexthop, origin, route
//!   table); stale rows are removed; unparsable own rows are deleted (§2.3, §2.7).
//!
//! # Releases
//!
//! The rules above are the newest release's ([`Semantics::NEWEST`]). A [`Snapshot`] (and an
//! [`Engine`], [`Engine::set_semantics`]) can follow an older release instead
//! ([`Semantics::of`]): before 23.09 a zone learns nothing from its own routers, before
//! 24.09 only `ic-route-blacklist` is read, before 25.03 route tags, before 25.09 allow lists
//! and load-balancer routes (and the local-VIP learning block), before 26.03 router deny lists
//! and `discard` routes do not apply. The bugs below, and fixes upstream backported within a
//! series (a disabled router learns nothing), stay fixed in every release.
//!
//! # Upstream bugs fixed here (reference §2.8, §4)
//!
//! - IPv6 deny-list entries match by their own mask (23.03.1 denied every IPv6 prefix at
//!   least as long as any IPv6 entry; fixed upstream in c4f248a31).
//! - Duplicate connected networks (or a static route and a network with the same prefix)
//!   give one advertisement and a [`Diagnostic`], no crash (23.03 dereferenced NULL), and the
//!   IC-SB unique index (which ignores `origin`) is never violated (upstream still can,
//!   quirk 3).
//! - Two IC-SB rows with the same prefix and nexthop give one learned row, never a relearn
//!   loop; two identical learned rows are reduced to one (upstream ≥ 24.03.8 keeps one NB
//!   row per IC-SB row instead).
//! - All of this zone's advertisements are reconciled at once: routes of a transit switch
//!   that left IC-NB, of a port that is gone or lost its addresses, are withdrawn (23.03
//!   left them forever).
//! - A port on a transit switch missing from IC-NB takes no part (23.03 crashes advertising
//!   through it and still learns through it): its advertisements are withdrawn and nothing
//!   is learned through it.
//! - Learned routes are deleted from routers no longer on any transit switch, and from a
//!   router whose port has an empty address (upstream ddc020051), instead of being left or
//!   re-created every pass.
//! - An IPv6 prefix is not advertised through a port without IPv6 address (23.03 advertised
//!   it with an fe80:: nexthop that nobody learns and then deleted and re-inserted it on
//!   every pass).
//! - A NB route whose `ic-learned-route` is not a UUID is treated as a bad learned route and
//!   deleted (23.03 advertised it yet counted it as learned).
//! - Strict address parsing (Rust's parsers, leading whitespace allowed) instead of
//!   `scanf`'s leniency; CIDR-list entries are trimmed and empty entries skipped.
//! - An unset `ic-route-filter-tag` filters nothing (upstream treats it as the tag `""`).
//!
//! # Not done yet
//!
//! OVN `main`-only features: `ic-route-ipv4-next-hop-ipv6`, `override-connected` and
//! IC-SB `Route.options`, origin `connected-dynamic`; SB `Learned_Route` (BGP) prefixes
//! (26.03; the engine reads no SB); transit routers; deleting IC-SB port bindings without
//! router port (`ic-routed`'s job). The incremental engine recomputes a whole router when
//! its ports, options or load balancers change, and the whole zone when `NB_Global`
//! options, transit switches or availability zones change (see [`incremental`]).
#![forbid(unsafe_code)]

pub mod addr;
mod core;
mod engine;
pub mod explain;
pub mod filter;
pub mod incremental;
pub mod northd;
mod plan;
pub mod semantics;
pub mod show;
pub mod sim;
mod snapshot;
pub mod tables;
pub mod zone;

#[cfg(test)]
mod tests;

/// The generated `OVN_IC_Northbound` rows the engine reads (re-exported).
pub use ovn_ic_nb;
/// The generated `OVN_IC_Southbound` rows the engine reads and writes (re-exported).
pub use ovn_ic_sb;
/// The generated `OVN_Northbound` rows the engine reads and writes (re-exported).
pub use ovn_nb;

pub use addr::{Nexthop, PortAddresses, Prefix};
pub use engine::{plan, plan_filtered, IC_LEARNED_ROUTE, IC_ROUTE_TAG, LR_ID, NB_ID};
pub use explain::{Decision, DecisionCounts, Direction, Explanation, Skip};
pub use filter::{AdvertiseCandidate, AllowAll, LearnCandidate, RouteFilter};
pub use incremental::{Change, Database, Engine, Row, Table};
pub use plan::{
    AdvertisementUpdate, Diagnostic, LearnedRouteDelete, LearnedRouteInsert, Operations, Plan,
};
pub use semantics::{Release, Semantics};
pub use snapshot::{IcNorthbound, IcSouthbound, Northbound, RouteScope, Snapshot};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
