//! The typed rows one zone's engine reads, grouped by database.

use std::collections::BTreeMap;

use ovn_ic_nb::TransitSwitch;
use ovn_ic_sb::{AvailabilityZone, PortBinding, Route, RouteColumn};
use ovn_nb::{
    LoadBalancer, LoadBalancerGroup, LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute,
    LogicalSwitchPort, NbGlobal,
};
use ovsdb_proto::typed::{Table, TypedRows};
use ovsdb_proto::{Atom, Condition, Uuid};

use crate::plan::Plan;
use crate::semantics::Semantics;

/// The rows of one zone's `OVN_Northbound` the route exchange reads, keyed by row UUID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Northbound {
    /// The `NB_Global` row (its `options` hold the `ic-route-*` switches).
    pub nb_global: NbGlobal,
    /// `Logical_Router` rows.
    pub routers: BTreeMap<Uuid, LogicalRouter>,
    /// `Logical_Router_Port` rows.
    pub router_ports: BTreeMap<Uuid, LogicalRouterPort>,
    /// `Logical_Router_Static_Route` rows.
    pub static_routes: BTreeMap<Uuid, LogicalRouterStaticRoute>,
    /// `Logical_Switch_Port` rows (transit-switch ports are found by name).
    pub switch_ports: BTreeMap<Uuid, LogicalSwitchPort>,
    /// `Load_Balancer` rows (VIPs of the routers' load balancers, OVN ≥ 25.09 features).
    pub load_balancers: BTreeMap<Uuid, LoadBalancer>,
    /// `Load_Balancer_Group` rows.
    pub load_balancer_groups: BTreeMap<Uuid, LoadBalancerGroup>,
}

/// The rows of `OVN_IC_Northbound` the route exchange reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IcNorthbound {
    /// `Transit_Switch` rows.
    pub transit_switches: BTreeMap<Uuid, TransitSwitch>,
}

/// The rows of `OVN_IC_Southbound` the route exchange reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IcSouthbound {
    /// `Availability_Zone` rows.
    pub availability_zones: BTreeMap<Uuid, AvailabilityZone>,
    /// `Port_Binding` rows.
    pub port_bindings: BTreeMap<Uuid, PortBinding>,
    /// `Route` rows (advertisements of every zone).
    pub routes: BTreeMap<Uuid, Route>,
    /// Whether the server's IC-SB schema lets `Route.origin` be `loadbalancer` (schema
    /// ≥ 2.2.0, OVN 25.09; 23.03's 1.1.x does not). The engine advertises load-balancer
    /// VIPs only when this is set (and `NB_Global` `options:ic-route-adv-lb` is true), so
    /// it never writes a value the server rejects. Default: false.
    pub supports_lb_origin: bool,
}

/// Everything one zone's route exchange reads: its zone name, its NB rows and the global
/// IC-NB and IC-SB rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// This availability zone's name (`NB_Global.name`, the IC-SB `Availability_Zone.name`).
    pub zone: String,
    /// The zone's northbound rows.
    pub nb: Northbound,
    /// The global IC northbound rows.
    pub ic_nb: IcNorthbound,
    /// The global IC southbound rows.
    pub ic_sb: IcSouthbound,
    /// The release of ovn-ic whose rules apply (default: the newest).
    pub semantics: Semantics,
}

impl Snapshot {
    /// An empty snapshot of zone `zone`.
    pub fn new(zone: impl Into<String>) -> Self {
        Snapshot {
            zone: zone.into(),
            ..Snapshot::default()
        }
    }

    /// A snapshot of zone `zone` copied from typed row sources (replicas or offline stores);
    /// `None` when a source lacks one of the engine's tables (see
    /// [`crate::tables::visit_tables`]). `NB_Global` is the row with the smallest UUID.
    /// [`IcSouthbound::supports_lb_origin`] and [`Snapshot::semantics`] are left at their
    /// defaults: they come from the servers' schemas, which the caller knows.
    pub fn from_sources(
        zone: impl Into<String>,
        nb: &impl TypedRows,
        ic_nb: &impl TypedRows,
        ic_sb: &impl TypedRows,
    ) -> Option<Snapshot> {
        Snapshot::copy(zone.into(), nb, ic_nb, ic_sb, false)
    }

    fn copy(
        zone: String,
        nb: &impl TypedRows,
        ic_nb: &impl TypedRows,
        ic_sb: &impl TypedRows,
        scoped: bool,
    ) -> Option<Snapshot> {
        fn all<T: Table + Clone + Send + Sync + 'static>(
            src: &impl TypedRows,
        ) -> Option<BTreeMap<Uuid, T>> {
            Some(
                src.rows::<T>()?
                    .iter()
                    .map(|(u, r)| (*u, r.clone()))
                    .collect(),
            )
        }
        let mut s = Snapshot::new(zone);
        s.nb.nb_global = nb
            .rows::<NbGlobal>()?
            .values()
            .min_by_key(|g| g.uuid)
            .cloned()
            .unwrap_or_default();
        s.nb.routers = all(nb)?;
        s.nb.router_ports = all(nb)?;
        s.nb.static_routes = all(nb)?;
        s.nb.switch_ports = all(nb)?;
        s.nb.load_balancers = all(nb)?;
        s.nb.load_balancer_groups = all(nb)?;
        s.ic_nb.transit_switches = all(ic_nb)?;
        s.ic_sb.availability_zones = all(ic_sb)?;
        s.ic_sb.port_bindings = all(ic_sb)?;
        s.ic_sb.routes = if scoped {
            let scope = RouteScope::of(&s);
            ic_sb
                .rows::<Route>()?
                .iter()
                .filter(|(_, r)| scope.contains(r))
                .map(|(u, r)| (*u, r.clone()))
                .collect()
        } else {
            all(ic_sb)?
        };
        Some(s)
    }

    /// Like [`Snapshot::from_sources`], but copies only the IC-SB routes in the zone's
    /// [`RouteScope`]: with many zones on one IC-SB most routes are on transit switches
    /// the zone has no port on, and copying them would double the memory of the replica
    /// for nothing. Feed the result to [`crate::Engine::from_scoped_snapshot`].
    pub fn from_sources_scoped(
        zone: impl Into<String>,
        nb: &impl TypedRows,
        ic_nb: &impl TypedRows,
        ic_sb: &impl TypedRows,
    ) -> Option<Snapshot> {
        Snapshot::copy(zone.into(), nb, ic_nb, ic_sb, true)
    }

    /// The plan of a full recompute over this snapshot (see [`crate::plan`]).
    pub fn plan(&self) -> Plan {
        self.plan_filtered(&crate::AllowAll)
    }

    /// The plan of a full recompute over this snapshot with `filter` consulted (see
    /// [`crate::plan_filtered`]).
    pub fn plan_filtered(&self, filter: &dyn crate::RouteFilter) -> Plan {
        crate::engine::plan_with(self.rows(), filter)
    }

    /// Every decision the engine takes about `prefix` in this zone, for every router or
    /// only `router` (by name), with `filter` consulted: what is advertised on which transit
    /// switch, what is learned from which zone, and for everything else the rule that
    /// stopped it (see [`crate::explain`]).
    pub fn explain(
        &self,
        prefix: &crate::Prefix,
        router: Option<&str>,
        filter: &dyn crate::RouteFilter,
    ) -> crate::explain::Explanation {
        let rows = self.rows();
        let topo = crate::core::Topo::build(rows);
        crate::explain::Explanation {
            prefix: Some(*prefix),
            decisions: crate::core::explain(rows, &topo, filter, prefix, router),
        }
    }

    /// The rows as the computation reads them.
    pub(crate) fn rows(&self) -> crate::core::Rows<'_> {
        crate::core::Rows {
            zone: &self.zone,
            nb: &self.nb,
            ic_nb: &self.ic_nb,
            ic_sb: &self.ic_sb,
            semantics: self.semantics,
        }
    }

    /// Applies `plan` to this snapshot as the servers would apply its operations, giving new
    /// rows the UUIDs `new_uuid` returns.
    pub fn apply(&mut self, plan: &Plan, new_uuid: &mut impl FnMut() -> Uuid) {
        self.nb.apply(plan, new_uuid);
        self.ic_sb.apply(plan, new_uuid);
    }
}

impl Northbound {
    /// Applies the NB part of `plan` (learned routes), giving inserted rows the UUIDs
    /// `new_uuid` returns. A learned route removed from its router is deleted once no router
    /// refers to it (OVSDB garbage-collects the non-root table).
    pub fn apply(&mut self, plan: &Plan, new_uuid: &mut impl FnMut() -> Uuid) {
        let mut removed: BTreeMap<Uuid, std::collections::BTreeSet<Uuid>> = BTreeMap::new();
        for d in &plan.learned_to_delete {
            removed.entry(d.router).or_default().insert(d.route);
        }
        for (lr, routes) in &removed {
            if let Some(lr) = self.routers.get_mut(lr) {
                lr.static_routes.retain(|r| !routes.contains(&r.uuid()));
            }
        }
        let candidates: std::collections::BTreeSet<Uuid> =
            removed.values().flatten().copied().collect();
        if !candidates.is_empty() {
            let referenced: std::collections::BTreeSet<Uuid> = self
                .routers
                .values()
                .flat_map(|lr| lr.static_routes.iter().map(|r| r.uuid()))
                .filter(|u| candidates.contains(u))
                .collect();
            for u in candidates.difference(&referenced) {
                self.static_routes.remove(u);
            }
        }
        let mut touched = std::collections::BTreeSet::new();
        for ins in &plan.learned_to_insert {
            let Some(lr) = self.routers.get_mut(&ins.router) else {
                continue;
            };
            let mut row = ins.route.clone();
            row.uuid = new_uuid();
            lr.static_routes.push(row.uuid.into());
            touched.insert(ins.router);
            self.static_routes.insert(row.uuid, row);
        }
        for lr in touched {
            if let Some(lr) = self.routers.get_mut(&lr) {
                lr.static_routes.sort();
            }
        }
    }
}

impl IcSouthbound {
    /// Applies the IC-SB part of `plan` (this zone's advertisements), giving inserted rows
    /// the UUIDs `new_uuid` returns.
    pub fn apply(&mut self, plan: &Plan, new_uuid: &mut impl FnMut() -> Uuid) {
        for uuid in &plan.advertisements_to_delete {
            self.routes.remove(uuid);
        }
        for up in &plan.advertisements_to_update {
            if let Some(r) = self.routes.get_mut(&up.route) {
                r.external_ids = up.external_ids.clone();
            }
        }
        for r in &plan.advertisements_to_insert {
            let mut row = r.clone();
            row.uuid = new_uuid();
            self.routes.insert(row.uuid, row);
        }
    }
}

/// The IC-SB routes one zone's route exchange reads: its own advertisements (on any transit
/// switch, so stale ones are swept) and every zone's routes on the transit switches where
/// it has a port binding (where its routers learn). The others cannot change its plan:
/// learning reads only the routes of a switch a local router is bound to, and
/// advertisement reconciles only the zone's own rows. A zone not registered yet (no
/// `Availability_Zone` named as it) has an empty scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteScope {
    zone: Option<Uuid>,
    switches: std::collections::BTreeSet<String>,
}

impl RouteScope {
    /// The scope of `snapshot`'s zone, from its `Availability_Zone` and `Port_Binding` rows.
    pub fn of(snapshot: &Snapshot) -> RouteScope {
        RouteScope::from_rows(
            &snapshot.zone,
            snapshot.ic_sb.availability_zones.values(),
            snapshot.ic_sb.port_bindings.values(),
        )
    }

    /// The scope of the zone named `zone`, from IC-SB rows (a replica, a store): `None` when
    /// `ic_sb` lacks the `Availability_Zone` or `Port_Binding` table.
    pub fn read(zone: &str, ic_sb: &impl TypedRows) -> Option<RouteScope> {
        Some(RouteScope::from_rows(
            zone,
            ic_sb.rows::<AvailabilityZone>()?.values(),
            ic_sb.rows::<PortBinding>()?.values(),
        ))
    }

    fn from_rows<'a>(
        zone: &str,
        mut zones: impl Iterator<Item = &'a AvailabilityZone>,
        bindings: impl Iterator<Item = &'a PortBinding>,
    ) -> RouteScope {
        let zone = zones
            .find(|az| !zone.is_empty() && az.name == zone)
            .map(|az| az.uuid);
        let switches = zone
            .map(|az| {
                bindings
                    .filter(|pb| pb.availability_zone.uuid() == az)
                    .map(|pb| pb.transit_switch.clone())
                    .collect()
            })
            .unwrap_or_default();
        RouteScope { zone, switches }
    }

    /// The `where` clauses of a conditional monitor of IC-SB `Route` that holds exactly the
    /// routes in this scope (a row is kept if any clause holds): the zone's own routes and
    /// one clause per transit switch it is bound to; `[false]` for an empty scope.
    pub fn conditions(&self) -> Vec<Condition> {
        let Some(az) = self.zone else {
            return vec![Condition::Bool(false)];
        };
        std::iter::once(Condition::eq(
            RouteColumn::AvailabilityZone.as_str(),
            Atom::Uuid(az),
        ))
        .chain(
            self.switches.iter().map(|ts| {
                Condition::eq(RouteColumn::TransitSwitch.as_str(), Atom::from(ts.as_str()))
            }),
        )
        .collect()
    }

    /// The zone's `Availability_Zone` row, if it is registered.
    pub fn zone(&self) -> Option<Uuid> {
        self.zone
    }

    /// The transit switches the zone has a port binding on.
    pub fn transit_switches(&self) -> impl Iterator<Item = &str> {
        self.switches.iter().map(String::as_str)
    }

    /// Whether route `r` is in the scope.
    pub fn contains(&self, r: &Route) -> bool {
        self.zone.is_some_and(|az| {
            r.availability_zone.uuid() == az || self.switches.contains(&r.transit_switch)
        })
    }

    /// Whether every route in `other` is in this scope.
    pub fn covers(&self, other: &RouteScope) -> bool {
        other.zone.is_none()
            || (self.zone == other.zone && other.switches.is_subset(&self.switches))
    }
}
