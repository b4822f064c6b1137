//! The typed rows the crate reads: every zone's `OVN_Northbound` and the global IC databases.
//!
//! Rows come from replicas (the caller's monitors) or from database dumps
//! ([`ovsdb_proto::dump::Dump`]). For tests, dry runs and offline audits, [`ZoneNb::apply`] and
//! [`IcRows::apply_ic_nb`] apply planned operations with the embedded server's transaction
//! engine ([`ovsdb_server::MemoryDb`]), so they follow `ovsdb-server`'s rules: named UUIDs,
//! references, garbage collection of unreferenced non-root rows, constraints, all or nothing.

use std::collections::BTreeMap;

use ovn_ic_nb::TransitSwitch;
use ovn_ic_sb::{AvailabilityZone, PortBinding, Route};
use ovn_nb::{
    Acl, AddressSet, GatewayChassis, LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute,
    LogicalSwitch, LogicalSwitchPort, NbGlobal, PortGroup,
};
use std::sync::LazyLock;

use ovsdb_proto::dump::Dump;
use ovsdb_proto::typed::{Table, TypedRows, TypedStore};
use ovsdb_proto::{DatabaseSchema, Operation, Uuid};
use ovsdb_server::MemoryDb;

use crate::error::Error;

/// The rows of one availability zone's `OVN_Northbound` the crate reads, keyed by UUID.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ZoneNb {
    /// The zone's name (`NB_Global.name`, IC-SB `Availability_Zone.name`).
    pub zone: String,
    /// The `NB_Global` row.
    pub nb_global: NbGlobal,
    /// `Logical_Router` rows.
    pub routers: BTreeMap<Uuid, LogicalRouter>,
    /// `Logical_Router_Port` rows.
    pub router_ports: BTreeMap<Uuid, LogicalRouterPort>,
    /// `Logical_Router_Static_Route` rows.
    pub static_routes: BTreeMap<Uuid, LogicalRouterStaticRoute>,
    /// `Logical_Switch` rows.
    pub switches: BTreeMap<Uuid, LogicalSwitch>,
    /// `Logical_Switch_Port` rows.
    pub switch_ports: BTreeMap<Uuid, LogicalSwitchPort>,
    /// `ACL` rows.
    pub acls: BTreeMap<Uuid, Acl>,
    /// `Port_Group` rows.
    pub port_groups: BTreeMap<Uuid, PortGroup>,
    /// `Address_Set` rows.
    pub address_sets: BTreeMap<Uuid, AddressSet>,
    /// `Gateway_Chassis` rows.
    pub gateway_chassis: BTreeMap<Uuid, GatewayChassis>,
}

/// The global `OVN_IC_Northbound` and `OVN_IC_Southbound` rows the crate reads.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct IcRows {
    /// IC-NB `Transit_Switch` rows.
    pub transit_switches: BTreeMap<Uuid, TransitSwitch>,
    /// IC-SB `Availability_Zone` rows.
    pub availability_zones: BTreeMap<Uuid, AvailabilityZone>,
    /// IC-SB `Port_Binding` rows.
    pub port_bindings: BTreeMap<Uuid, PortBinding>,
    /// IC-SB `Route` rows.
    pub routes: BTreeMap<Uuid, Route>,
}

/// Everything: the NB rows of every zone and the global IC rows.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct World {
    /// One entry per availability zone (topology C: a single zone holding both sides).
    pub zones: Vec<ZoneNb>,
    /// The IC databases (empty in topology C).
    pub ic: IcRows,
}

impl ZoneNb {
    /// An empty zone called `zone`.
    pub fn new(zone: impl Into<String>) -> Self {
        ZoneNb {
            zone: zone.into(),
            ..ZoneNb::default()
        }
    }

    /// The zone's rows from a typed source (a replica, a store); `NB_Global` is the row with
    /// the smallest UUID. Tables the source lacks are empty.
    pub fn from_sources(zone: &str, src: &impl TypedRows) -> Result<Self, Error> {
        fn all<T: Table + Clone + Send + Sync + 'static>(
            src: &impl TypedRows,
        ) -> BTreeMap<Uuid, T> {
            src.rows::<T>()
                .map(|m| m.iter().map(|(u, r)| (*u, r.clone())).collect())
                .unwrap_or_default()
        }
        let mut globals: BTreeMap<Uuid, NbGlobal> = all(src);
        Ok(ZoneNb {
            zone: zone.to_owned(),
            nb_global: globals.pop_first().map(|(_, g)| g).unwrap_or_default(),
            routers: all(src),
            router_ports: all(src),
            static_routes: all(src),
            switches: all(src),
            switch_ports: all(src),
            acls: all(src),
            port_groups: all(src),
            address_sets: all(src),
            gateway_chassis: all(src),
        })
    }

    /// The zone's rows as a typed store (to add rows with builders, or feed code that reads
    /// [`TypedRows`]).
    pub fn to_store(&self) -> TypedStore {
        let mut s = TypedStore::new();
        let d = self.to_dump();
        fn put<T: Table + Send + Sync + 'static>(s: &mut TypedStore, rows: &BTreeMap<Uuid, T>) {
            let t = s.table_mut::<T>();
            for (u, r) in rows {
                t.insert(*u, r.clone());
            }
        }
        if let Ok(g) = d.typed::<NbGlobal>() {
            put(&mut s, &g);
        }
        put(&mut s, &self.routers);
        put(&mut s, &self.router_ports);
        put(&mut s, &self.static_routes);
        put(&mut s, &self.switches);
        put(&mut s, &self.switch_ports);
        put(&mut s, &self.acls);
        put(&mut s, &self.port_groups);
        put(&mut s, &self.address_sets);
        put(&mut s, &self.gateway_chassis);
        s
    }

    /// The zone's rows as a dump (the tables [`ZoneNb`] holds).
    pub fn to_dump(&self) -> Dump {
        let mut t = Dump::new();
        let global = (!self.nb_global.uuid.is_nil() || self.nb_global != NbGlobal::default())
            .then_some(&self.nb_global);
        t.insert_typed(global);
        t.insert_typed(self.routers.values());
        t.insert_typed(self.router_ports.values());
        t.insert_typed(self.static_routes.values());
        t.insert_typed(self.switches.values());
        t.insert_typed(self.switch_ports.values());
        t.insert_typed(self.acls.values());
        t.insert_typed(self.port_groups.values());
        t.insert_typed(self.address_sets.values());
        t.insert_typed(self.gateway_chassis.values());
        t
    }

    /// Decodes a zone's typed rows from a dump. The zone name is `NB_Global.name` unless
    /// `zone` is given.
    pub fn from_dump(zone: Option<&str>, t: &Dump) -> Result<Self, Error> {
        let input = |e: ovsdb_proto::Error| Error::Input(e.to_string());
        let mut globals: BTreeMap<Uuid, NbGlobal> = t.typed().map_err(input)?;
        let nb_global = globals.pop_first().map(|(_, g)| g).unwrap_or_default();
        Ok(ZoneNb {
            zone: zone.map_or_else(|| nb_global.name.clone(), str::to_owned),
            nb_global,
            routers: t.typed().map_err(input)?,
            router_ports: t.typed().map_err(input)?,
            static_routes: t.typed().map_err(input)?,
            switches: t.typed().map_err(input)?,
            switch_ports: t.typed().map_err(input)?,
            acls: t.typed().map_err(input)?,
            port_groups: t.typed().map_err(input)?,
            address_sets: t.typed().map_err(input)?,
            gateway_chassis: t.typed().map_err(input)?,
        })
    }

    /// Applies `ops` (planned by this crate for this zone's NB) as `ovsdb-server` would,
    /// giving inserted rows without a UUID the UUIDs `new_uuid` returns. All or nothing: on
    /// an error the rows stay as they were.
    pub fn apply(
        &mut self,
        ops: &[Operation],
        new_uuid: &mut impl FnMut() -> Uuid,
    ) -> Result<(), Error> {
        static SCHEMA: LazyLock<DatabaseSchema> =
            LazyLock::new(|| ovn_nb::schema().subset(ZONE_TABLES.iter().copied()));
        let db = apply_to(&SCHEMA, &self.to_dump(), ops, new_uuid)?;
        *self = ZoneNb::from_dump(Some(&self.zone), &memory_dump(&db, ZONE_TABLES))?;
        Ok(())
    }
}

/// The `OVN_Northbound` tables a [`ZoneNb`] holds.
pub(crate) const ZONE_TABLES: &[&str] = &[
    NbGlobal::NAME,
    LogicalRouter::NAME,
    LogicalRouterPort::NAME,
    LogicalRouterStaticRoute::NAME,
    LogicalSwitch::NAME,
    LogicalSwitchPort::NAME,
    Acl::NAME,
    PortGroup::NAME,
    AddressSet::NAME,
    GatewayChassis::NAME,
];

/// A [`MemoryDb`] of `schema` holding `rows`, after `ops` (inserts without a UUID get one
/// from `new_uuid`, so that callers choose them deterministically).
fn apply_to(
    schema: &DatabaseSchema,
    rows: &Dump,
    ops: &[Operation],
    new_uuid: &mut impl FnMut() -> Uuid,
) -> Result<MemoryDb, Error> {
    let mut db = MemoryDb::new(schema.clone());
    let load = rows
        .tables()
        .iter()
        .flat_map(|(t, rows)| rows.iter().map(move |(u, r)| (t.as_str(), *u, r.clone())));
    let reply = db.load(load).map_err(|e| Error::Input(e.to_string()))?;
    if let Err((i, e)) = reply.into_result() {
        return Err(Error::Input(format!("rows do not load (row {i}): {e}")));
    }
    let mut ops = ops.to_vec();
    for op in &mut ops {
        if let Operation::Insert { uuid, .. } = op {
            if uuid.is_none() {
                *uuid = Some(new_uuid());
            }
        }
    }
    let reply = db.transact(&ops).map_err(|e| Error::Apply(e.to_string()))?;
    if let Err((i, e)) = reply.into_result() {
        return Err(Error::Apply(format!("operation {i}: {e}")));
    }
    Ok(db)
}

/// The rows of `tables` held by `db`.
fn memory_dump(db: &MemoryDb, tables: &[&str]) -> Dump {
    let mut d = Dump::new();
    for table in tables {
        for (uuid, row) in db.rows(table) {
            d.insert(table, uuid, row.clone());
        }
    }
    d
}

impl IcRows {
    /// The IC-NB rows as a dump.
    pub fn ic_nb_dump(&self) -> Dump {
        let mut t = Dump::new();
        t.insert_typed(self.transit_switches.values());
        t
    }

    /// The IC-SB rows as a dump.
    pub fn ic_sb_dump(&self) -> Dump {
        let mut t = Dump::new();
        t.insert_typed(self.availability_zones.values());
        t.insert_typed(self.port_bindings.values());
        t.insert_typed(self.routes.values());
        t
    }

    /// Decodes the IC rows from the IC-NB and IC-SB dumps.
    pub fn from_dumps(ic_nb: &Dump, ic_sb: &Dump) -> Result<Self, Error> {
        let input = |e: ovsdb_proto::Error| Error::Input(e.to_string());
        Ok(IcRows {
            transit_switches: ic_nb.typed().map_err(input)?,
            availability_zones: ic_sb.typed().map_err(input)?,
            port_bindings: ic_sb.typed().map_err(input)?,
            routes: ic_sb.typed().map_err(input)?,
        })
    }

    /// Applies IC-NB operations planned by this crate (see [`ZoneNb::apply`]).
    pub fn apply_ic_nb(
        &mut self,
        ops: &[Operation],
        new_uuid: &mut impl FnMut() -> Uuid,
    ) -> Result<(), Error> {
        static SCHEMA: LazyLock<DatabaseSchema> =
            LazyLock::new(|| ovn_ic_nb::schema().subset([TransitSwitch::NAME]));
        let db = apply_to(&SCHEMA, &self.ic_nb_dump(), ops, new_uuid)?;
        self.transit_switches = db.typed().map_err(|e| Error::Input(e.to_string()))?;
        Ok(())
    }
}

impl World {
    /// The zone called `name`.
    pub fn zone(&self, name: &str) -> Option<&ZoneNb> {
        self.zones.iter().find(|z| z.zone == name)
    }

    /// The zone called `name`, mutably.
    pub fn zone_mut(&mut self, name: &str) -> Option<&mut ZoneNb> {
        self.zones.iter_mut().find(|z| z.zone == name)
    }

    /// The route engine's snapshot of zone `name` (its NB rows and the IC rows), to run
    /// [`ic_routes::plan_filtered`] with a [`VpcFilter`](crate::VpcFilter).
    pub fn route_snapshot(&self, name: &str) -> Option<ic_routes::Snapshot> {
        let z = self.zone(name)?;
        let mut s = ic_routes::Snapshot::new(name);
        s.nb.nb_global = z.nb_global.clone();
        s.nb.routers = z.routers.clone();
        s.nb.router_ports = z.router_ports.clone();
        s.nb.static_routes = z.static_routes.clone();
        s.nb.switch_ports = z.switch_ports.clone();
        s.ic_nb.transit_switches = self.ic.transit_switches.clone();
        s.ic_sb.availability_zones = self.ic.availability_zones.clone();
        s.ic_sb.port_bindings = self.ic.port_bindings.clone();
        s.ic_sb.routes = self.ic.routes.clone();
        Some(s)
    }

    /// Writes the crate's inventory JSON format (see [`World::from_inventory_json`]), with
    /// the object form of each database.
    pub fn to_inventory_json(&self) -> String {
        let zones: serde_json::Map<String, serde_json::Value> = self
            .zones
            .iter()
            .map(|z| (z.zone.clone(), z.to_dump().to_json()))
            .collect();
        let v = serde_json::json!({
            "zones": zones,
            "ic_nb": self.ic.ic_nb_dump().to_json(),
            "ic_sb": self.ic.ic_sb_dump().to_json(),
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    /// Reads the crate's inventory JSON format (see the crate docs, "Inventory format"):
    /// `{"zones": {"<az>": <db>}, "ic_nb": <db>, "ic_sb": <db>}` where each `<db>` is either
    /// `{"<table>": {"<uuid>": {<column>: <datum>}}}` or the text `ovsdb-client -f json dump`
    /// prints, embedded as a JSON string.
    pub fn from_inventory_json(text: &str) -> Result<Self, Error> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::Input(format!("inventory: {e}")))?;
        let db = |v: Option<&serde_json::Value>, what: &str| -> Result<Dump, Error> {
            match v {
                None | Some(serde_json::Value::Null) => Ok(Dump::new()),
                Some(serde_json::Value::String(s)) => {
                    Dump::parse(s).map_err(|e| Error::Input(format!("{what}: {e}")))
                }
                Some(other) => Dump::parse(&other.to_string())
                    .map_err(|e| Error::Input(format!("{what}: {e}"))),
            }
        };
        let mut world = World::default();
        if let Some(zones) = v.get("zones") {
            let zones = zones
                .as_object()
                .ok_or_else(|| Error::Input("inventory: zones must be an object".into()))?;
            for (name, z) in zones {
                let t = db(Some(z), &format!("zones.{name}"))?;
                world.zones.push(ZoneNb::from_dump(Some(name), &t)?);
            }
        }
        let ic_nb = db(v.get("ic_nb"), "ic_nb")?;
        let ic_sb = db(v.get("ic_sb"), "ic_sb")?;
        world.ic = IcRows::from_dumps(&ic_nb, &ic_sb)?;
        Ok(world)
    }
}
