//! The output of the engine: rows to write, and the OVSDB operations that write them.

use std::collections::BTreeMap;
use std::fmt;

use ovn_ic_sb::{Route, RouteColumn};
use ovn_nb::{LogicalRouter, LogicalRouterStaticRoute};
use ovsdb_proto::typed::{Column as _, StringMap, Table};
use ovsdb_proto::{Atom, Datum, Mutator, Operation, Uuid};

/// A learned route to add to a router: the NB `Logical_Router_Static_Route` row (its UUID is
/// nil) and the `Logical_Router` whose `static_routes` gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LearnedRouteInsert {
    /// The learning router.
    pub router: Uuid,
    /// The row to insert: `ip_prefix`, `nexthop` and `route_table` copied from the IC-SB
    /// route, `external_ids:ic-learned-route` = its UUID, `options:origin` = its origin.
    pub route: LogicalRouterStaticRoute,
}

/// A learned route to take off a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct LearnedRouteDelete {
    /// The router that holds the route.
    pub router: Uuid,
    /// The `Logical_Router_Static_Route` row.
    pub route: Uuid,
}

/// A refresh of an advertisement's `external_ids` (its `nb-id`, `lr-id` or `ic-route-tag`
/// changed, or a [`RouteFilter`](crate::RouteFilter)'s annotation).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdvertisementUpdate {
    /// The IC-SB `Route` row.
    pub route: Uuid,
    /// Its new `external_ids`.
    pub external_ids: StringMap,
}

/// Something the engine skipped or repaired, for the caller to log (ovn-ic's log lines).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diagnostic {
    /// The zone has no IC-SB `Availability_Zone` row (or no name): nothing is done.
    ZoneNotRegistered {
        /// The zone name.
        zone: String,
    },
    /// An entry of `ic-route-denylist`/`ic-route-blacklist` is not a CIDR; it is ignored.
    BadDenyListEntry {
        /// The entry.
        entry: String,
    },
    /// A local IC-SB port binding whose NB switch port is missing or has no
    /// `options:router-port`; it takes no part in route exchange.
    PortWithoutRouterPort {
        /// `Port_Binding.logical_port`.
        logical_port: String,
    },
    /// A local IC-SB port binding whose `address` has no valid MAC; nothing is advertised
    /// through it.
    BadPortAddress {
        /// `Port_Binding.logical_port`.
        logical_port: String,
        /// The address string.
        address: String,
    },
    /// An IC-SB route whose prefix or nexthop does not parse (or whose nexthop is
    /// link-local): deleted if it is this zone's, ignored otherwise.
    BadIcSbRoute {
        /// The row.
        uuid: Uuid,
        /// Its `ip_prefix`.
        ip_prefix: String,
        /// Its `nexthop`.
        nexthop: String,
    },
    /// A learned NB route that does not parse (or whose `ic-learned-route` is not a UUID);
    /// deleted.
    BadLearnedRoute {
        /// The row.
        uuid: Uuid,
        /// Its `ip_prefix`.
        ip_prefix: String,
        /// Its `nexthop`.
        nexthop: String,
    },
    /// An entry of a per-router or per-port CIDR list option (`ic-route-filter-adv`,
    /// `ic-route-filter-learn`, `ic-route-deny-adv`, `ic-route-deny-learn`) is not a CIDR;
    /// it is ignored (a list whose entries are all invalid still allows nothing).
    BadFilterEntry {
        /// The router's name or the transit-switch port's `logical_port`.
        owner: String,
        /// The option key.
        key: String,
        /// The entry.
        entry: String,
    },
    /// Two local sources gave the same advertisement (same transit switch, route table,
    /// prefix and nexthop); the later one was dropped.
    DuplicateAdvertisement {
        /// The transit switch.
        transit_switch: String,
        /// The advertised prefix.
        ip_prefix: String,
        /// The NB row (static route or router port) that was dropped.
        nb_id: Uuid,
    },
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnostic::ZoneNotRegistered { zone } => {
                write!(f, "availability zone {zone:?} is not registered in IC-SB")
            }
            Diagnostic::BadDenyListEntry { entry } => {
                write!(
                    f,
                    "bad format in NB_Global deny list: {entry:?}, CIDR expected"
                )
            }
            Diagnostic::PortWithoutRouterPort { logical_port } => write!(
                f,
                "route sync ignores port {logical_port}: no logical router port in NB"
            ),
            Diagnostic::BadPortAddress {
                logical_port,
                address,
            } => write!(
                f,
                "route sync ignores port {logical_port}: invalid addresses {address:?}"
            ),
            Diagnostic::BadIcSbRoute {
                uuid,
                ip_prefix,
                nexthop,
            } => write!(
                f,
                "bad route format in IC-SB {uuid}: {ip_prefix} -> {nexthop}"
            ),
            Diagnostic::BadLearnedRoute {
                uuid,
                ip_prefix,
                nexthop,
            } => write!(
                f,
                "bad format of learned route in NB {uuid}: {ip_prefix} -> {nexthop}, deleted"
            ),
            Diagnostic::BadFilterEntry { owner, key, entry } => write!(
                f,
                "bad format in {owner} options:{key}: {entry:?}, CIDR expected"
            ),
            Diagnostic::DuplicateAdvertisement {
                transit_switch,
                ip_prefix,
                nb_id,
            } => write!(
                f,
                "duplicate advertisement of {ip_prefix} on {transit_switch} suppressed (NB \
                 uuid {nb_id})"
            ),
        }
    }
}

/// What a full recompute wants written: this zone's advertisements in IC-SB and its
/// routers' learned routes in NB. Every list is in a deterministic order (inserts by key,
/// deletes by UUID).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// IC-SB `Route` rows to insert (UUIDs nil), ordered by (prefix, nexthop, transit
    /// switch, route table); prefixes order IPv4 first, then by address and length.
    pub advertisements_to_insert: Vec<Route>,
    /// IC-SB `Route` rows whose `external_ids` change, by UUID.
    pub advertisements_to_update: Vec<AdvertisementUpdate>,
    /// IC-SB `Route` rows to delete, by UUID.
    pub advertisements_to_delete: Vec<Uuid>,
    /// Learned routes to add, ordered by (router, prefix, nexthop, route table, origin).
    pub learned_to_insert: Vec<LearnedRouteInsert>,
    /// Learned routes to remove, ordered by (router, route).
    pub learned_to_delete: Vec<LearnedRouteDelete>,
    /// What was skipped or repaired, for logging. Not part of [`Plan::is_empty`].
    pub diagnostics: Vec<Diagnostic>,
}

/// The operations of a plan, one transaction per database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operations {
    /// For the zone's `OVN_Northbound`.
    pub nb: Vec<Operation>,
    /// For `OVN_IC_Southbound`.
    pub ic_sb: Vec<Operation>,
}

impl Plan {
    /// Whether the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.advertisements_to_insert.is_empty()
            && self.advertisements_to_update.is_empty()
            && self.advertisements_to_delete.is_empty()
            && self.learned_to_insert.is_empty()
            && self.learned_to_delete.is_empty()
    }

    /// The OVSDB operations that carry out the plan.
    ///
    /// IC-SB: a `delete` per withdrawn route, an `update` of `external_ids` per refresh, an
    /// `insert` per new route. NB: an `insert` per learned route with `uuid-name`
    /// `learned_route_N`, then per router one `mutate` of `static_routes` that deletes the
    /// withdrawn routes and inserts the named new ones (removed rows are garbage-collected
    /// by the server).
    pub fn operations(&self) -> Operations {
        let mut ic_sb = Vec::new();
        for uuid in &self.advertisements_to_delete {
            ic_sb.push(Route::delete_op(*uuid));
        }
        for up in &self.advertisements_to_update {
            let mut row = Route::default();
            row.uuid = up.route;
            row.external_ids = up.external_ids.clone();
            ic_sb.push(row.update_op(&[RouteColumn::ExternalIds]));
        }
        for r in &self.advertisements_to_insert {
            ic_sb.push(r.insert_op());
        }

        let mut nb = Vec::new();
        let mut per_router: BTreeMap<Uuid, (Vec<Atom>, Vec<Atom>)> = BTreeMap::new();
        for d in &self.learned_to_delete {
            per_router
                .entry(d.router)
                .or_default()
                .0
                .push(Atom::Uuid(d.route));
        }
        for (i, ins) in self.learned_to_insert.iter().enumerate() {
            let name = format!("learned_route_{i}");
            let mut row = ins.route.clone();
            row.uuid = Uuid::nil();
            let mut op = row.insert_op();
            if let Operation::Insert { uuid_name, .. } = &mut op {
                *uuid_name = Some(name.clone());
            }
            nb.push(op);
            per_router
                .entry(ins.router)
                .or_default()
                .1
                .push(Atom::NamedUuid(name));
        }
        for (router, (del, add)) in per_router {
            let mut mutations = Vec::new();
            if !del.is_empty() {
                mutations.push(
                    ovn_nb::LogicalRouterColumn::StaticRoutes
                        .mutate(Mutator::Delete, Datum::set(del)),
                );
            }
            if !add.is_empty() {
                mutations.push(
                    ovn_nb::LogicalRouterColumn::StaticRoutes
                        .mutate(Mutator::Insert, Datum::set(add)),
                );
            }
            nb.push(LogicalRouter::mutate_op(router, mutations));
        }
        Operations { nb, ic_sb }
    }
}
