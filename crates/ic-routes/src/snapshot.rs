//! The typed rows one zone's engine reads, grouped by database.

use std::collections::BTreeMap;

use ovn_ic_nb::TransitSwitch;
use ovn_ic_sb::{AvailabilityZone, PortBinding, Route};
use ovn_nb::{
    LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute, LogicalSwitchPort, NbGlobal,
};
use ovsdb_proto::Uuid;

use crate::plan::Plan;

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
}

impl Snapshot {
    /// An empty snapshot of zone `zone`.
    pub fn new(zone: impl Into<String>) -> Self {
        Snapshot {
            zone: zone.into(),
            ..Snapshot::default()
        }
    }

    /// The plan of a full recompute over this snapshot (see [`crate::plan`]).
    pub fn plan(&self) -> Plan {
        crate::plan(&self.zone, &self.nb, &self.ic_nb, &self.ic_sb)
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
        for d in &plan.learned_to_delete {
            if let Some(lr) = self.routers.get_mut(&d.router) {
                lr.static_routes.retain(|r| r.uuid() != d.route);
            }
            let referenced = self
                .routers
                .values()
                .any(|lr| lr.static_routes.iter().any(|r| r.uuid() == d.route));
            if !referenced {
                self.static_routes.remove(&d.route);
            }
        }
        for ins in &plan.learned_to_insert {
            let Some(lr) = self.routers.get_mut(&ins.router) else {
                continue;
            };
            let mut row = ins.route.clone();
            row.uuid = new_uuid();
            lr.static_routes.push(row.uuid.into());
            lr.static_routes.sort();
            self.static_routes.insert(row.uuid, row);
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
