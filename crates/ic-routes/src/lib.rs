//! ovn-ic's route exchange between availability zones as a pure engine.
//!
//! This crate is the engine layer of issue #5: it takes one zone's typed rows (its
//! `OVN_Northbound`, plus the global `OVN_IC_Northbound` and `OVN_IC_Southbound`) and returns
//! a [`Plan`]: the IC-SB `Route` rows (this zone's *advertisements*) to insert, update or
//! delete, and the NB `Logical_Router_Static_Route` rows (*learned routes*) to add to or take
//! off each router. It never touches a socket; the caller (the future `ic-routed`) turns the
//! plan into transactions with [`Plan::operations`].
//!
//! ```
//! use ic_routes::Snapshot;
//!
//! let snapshot = Snapshot::new("az1"); // fill snapshot.nb, .ic_nb, .ic_sb from replicas
//! let plan = snapshot.plan();
//! let ops = plan.operations(); // ops.nb → the zone's NB, ops.ic_sb → IC-SB
//! assert!(plan.is_empty() && ops.nb.is_empty() && ops.ic_sb.is_empty());
//! ```
//!
//! # Semantics
//!
//! Those of OVN 23.03's `ovn-ic` (`route_run`, reference `ovn-ic-routes.md` §2.3–2.4, §2.6),
//! so that a zone running this engine interoperates with zones running Debian's 23.03.1:
//!
//! - `NB_Global` options `ic-route-adv`, `ic-route-learn`, `ic-route-adv-default`,
//!   `ic-route-learn-default` (true only if `"true"`, any case); the deny list
//!   `ic-route-denylist`, falling back to `ic-route-blacklist` when absent or empty (§1.1),
//!   applies to both directions.
//! - Transit-switch ports are this zone's IC-SB port bindings: `logical_port` → NB switch
//!   port → `options:router-port`; the router is `external_ids:router-id` (§2.2). The
//!   port's route table is its router port's `options:route_table`.
//! - Advertised: the router's non-learned static routes of the port's route table (not
//!   `src-ip`, prefix and nexthop parse, nexthop not fe80::/64), and the networks of its
//!   non-transit-switch router ports (origin `connected`, route table `""`, host bits kept).
//!   Not advertised: plen 0 without `ic-route-adv-default`, link-local prefixes
//!   (169.254/16, fe80::/10), denied prefixes, learned routes. The nexthop is the first
//!   address of the prefix's family of the transit-switch port (§2.4).
//! - Learned: other zones' routes on the same transit switch whose route table is `""` or
//!   the port's, that parse, whose nexthop is not link-local, whose prefix is neither
//!   link-local nor denied nor plen 0 without `ic-route-learn-default`, and for which the
//!   router has no non-learned static route with the same `route_table` and `ip_prefix`
//!   strings. Learned rows copy `ip_prefix`, `nexthop` and `route_table` verbatim and carry
//!   `external_ids:ic-learned-route` and `options:origin` (§2.6). One row per (route table,
//!   prefix, nexthop, origin) on a router: different nexthops give ECMP.
//! - Rows are matched semantically (parsed prefix with host bits, nexthop, origin, route
//!   table); stale rows are removed; unparsable own rows are deleted (§2.3, §2.7).
//!
//! # Upstream bugs fixed here (reference §2.8, §4)
//!
//! - IPv6 deny-list entries match by their own mask (23.03.1 denied every IPv6 prefix at
//!   least as long as any IPv6 entry; fixed upstream in c4f248a31).
//! - Duplicate connected networks (or a static route and a network with the same prefix)
//!   give one advertisement and a [`Diagnostic`], no crash (23.03 dereferenced NULL), and the
//!   IC-SB unique index (which ignores `origin`) is never violated.
//! - Two IC-SB rows with the same prefix and nexthop give one learned row, never a relearn
//!   loop; two identical learned rows are reduced to one.
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
//!   `scanf`'s leniency; deny-list entries are trimmed and empty entries skipped.
//!
//! # Not done yet
//!
//! Several routers of one zone on one transit switch are handled as one per-switch
//! advertisement set (no `lr-id`, no learning between routers of the same zone); route tags,
//! allow lists (`ic-route-filter-*`), per-router deny lists, discard routes, load-balancer
//! VIP routes, the HEAD nexthop-in-subnet learning check, incremental updates, and the
//! deletion of port bindings without router port (`ic-routed`'s job) are left for later.
#![forbid(unsafe_code)]

pub mod addr;
pub mod filter;
mod engine;
mod plan;
mod snapshot;

#[cfg(test)]
mod tests;

pub use addr::{Nexthop, PortAddresses, Prefix};
pub use filter::{AdvertiseCandidate, AllowAll, LearnCandidate, RouteFilter};
pub use engine::{plan, IC_LEARNED_ROUTE, NB_ID};
pub use plan::{
    AdvertisementUpdate, Diagnostic, LearnedRouteDelete, LearnedRouteInsert, Operations, Plan,
};
pub use snapshot::{IcNorthbound, IcSouthbound, Northbound, Snapshot};
