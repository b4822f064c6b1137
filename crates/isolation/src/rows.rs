//! The typed rows the crate reads: every zone's `OVN_Northbound` and the global IC databases.
//!
//! Rows come from replicas (the caller's monitors) or from JSON dumps ([`Tables`]). For tests
//! and offline audits, [`Tables::apply`] applies the operations this crate plans the way
//! `ovsdb-server` would (only the operation shapes the planners emit are supported).

use std::collections::BTreeMap;

use ovn_ic_nb::TransitSwitch;
use ovn_ic_sb::{AvailabilityZone, PortBinding, Route};
use ovn_nb::{
    Acl, AddressSet, GatewayChassis, LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute,
    LogicalSwitch, LogicalSwitchPort, NbGlobal, PortGroup,
};
use ovsdb_proto::typed::Table;
use ovsdb_proto::{Atom, Condition, Datum, Function, Map, Mutator, Operation, Row, Set, Uuid};

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

    /// The zone's rows as untyped [`Tables`].
    pub fn to_tables(&self) -> Tables {
        let mut t = Tables::default();
        t.put(std::slice::from_ref(&self.nb_global).iter());
        t.put(self.routers.values());
        t.put(self.router_ports.values());
        t.put(self.static_routes.values());
        t.put(self.switches.values());
        t.put(self.switch_ports.values());
        t.put(self.acls.values());
        t.put(self.port_groups.values());
        t.put(self.address_sets.values());
        t.put(self.gateway_chassis.values());
        t
    }

    /// Decodes a zone's typed rows from untyped tables. The zone name is `NB_Global.name`
    /// unless `zone` is given.
    pub fn from_tables(zone: Option<&str>, t: &Tables) -> Result<Self, Error> {
        let mut globals: BTreeMap<Uuid, NbGlobal> = t.get()?;
        let nb_global = globals.pop_first().map(|(_, g)| g).unwrap_or_default();
        Ok(ZoneNb {
            zone: zone.map_or_else(|| nb_global.name.clone(), str::to_owned),
            nb_global,
            routers: t.get()?,
            router_ports: t.get()?,
            static_routes: t.get()?,
            switches: t.get()?,
            switch_ports: t.get()?,
            acls: t.get()?,
            port_groups: t.get()?,
            address_sets: t.get()?,
            gateway_chassis: t.get()?,
        })
    }

    /// Applies `ops` (planned by this crate for this zone's NB), giving new rows the UUIDs
    /// `new_uuid` returns.
    pub fn apply(
        &mut self,
        ops: &[Operation],
        new_uuid: &mut impl FnMut() -> Uuid,
    ) -> Result<(), Error> {
        let mut t = self.to_tables();
        t.apply(ops, new_uuid)?;
        *self = ZoneNb::from_tables(Some(&self.zone), &t)?;
        Ok(())
    }
}

impl IcRows {
    /// The IC-NB rows as untyped tables.
    pub fn ic_nb_tables(&self) -> Tables {
        let mut t = Tables::default();
        t.put(self.transit_switches.values());
        t
    }

    /// Decodes the IC rows from the IC-NB and IC-SB tables.
    pub fn from_tables(ic_nb: &Tables, ic_sb: &Tables) -> Result<Self, Error> {
        Ok(IcRows {
            transit_switches: ic_nb.get()?,
            availability_zones: ic_sb.get()?,
            port_bindings: ic_sb.get()?,
            routes: ic_sb.get()?,
        })
    }

    /// Applies IC-NB operations planned by this crate.
    pub fn apply_ic_nb(
        &mut self,
        ops: &[Operation],
        new_uuid: &mut impl FnMut() -> Uuid,
    ) -> Result<(), Error> {
        let mut t = self.ic_nb_tables();
        t.apply(ops, new_uuid)?;
        self.transit_switches = t.get()?;
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
            .map(|z| (z.zone.clone(), z.to_tables().to_json()))
            .collect();
        let mut ic_sb = Tables::default();
        ic_sb.put(self.ic.availability_zones.values());
        ic_sb.put(self.ic.port_bindings.values());
        ic_sb.put(self.ic.routes.values());
        let v = serde_json::json!({
            "zones": zones,
            "ic_nb": self.ic.ic_nb_tables().to_json(),
            "ic_sb": ic_sb.to_json(),
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
        let db = |v: Option<&serde_json::Value>, what: &str| -> Result<Tables, Error> {
            match v {
                None | Some(serde_json::Value::Null) => Ok(Tables::default()),
                Some(serde_json::Value::String(s)) => {
                    Tables::parse_dump(s).map_err(|e| Error::Input(format!("{what}: {e}")))
                }
                Some(other) => Tables::parse_dump(&other.to_string())
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
                world.zones.push(ZoneNb::from_tables(Some(name), &t)?);
            }
        }
        let ic_nb = db(v.get("ic_nb"), "ic_nb")?;
        let ic_sb = db(v.get("ic_sb"), "ic_sb")?;
        world.ic = IcRows::from_tables(&ic_nb, &ic_sb)?;
        Ok(world)
    }
}

/// Untyped rows of one database: table name → row UUID → row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tables(pub BTreeMap<String, BTreeMap<Uuid, Row>>);

impl Tables {
    fn put<'a, T: Table + 'a>(&mut self, rows: impl Iterator<Item = &'a T>) {
        let t = self.0.entry(T::NAME.to_owned()).or_default();
        for r in rows {
            if T::NAME == "NB_Global" && r.uuid().is_nil() && *r == T::default() {
                continue;
            }
            t.insert(r.uuid(), r.to_row());
        }
    }

    /// `{"<table>": {"<uuid>": {row}}}`, empty tables left out.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for (table, rows) in &self.0 {
            if rows.is_empty() {
                continue;
            }
            let rows: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|(u, r)| (u.to_string(), serde_json::to_value(r).unwrap_or_default()))
                .collect();
            out.insert(table.clone(), serde_json::Value::Object(rows));
        }
        serde_json::Value::Object(out)
    }

    /// The typed rows of table `T`.
    pub fn get<T: Table>(&self) -> Result<BTreeMap<Uuid, T>, Error> {
        let mut out = BTreeMap::new();
        if let Some(rows) = self.0.get(T::NAME) {
            for (uuid, row) in rows {
                let r = T::from_row(*uuid, row).map_err(|e| Error::Input(e.to_string()))?;
                out.insert(*uuid, r);
            }
        }
        Ok(out)
    }

    /// Parses a database dump: either one JSON object `{"<table>": {"<uuid>": {row}}}` or the
    /// sequence of objects `ovsdb-client -f json dump` prints (one per table, with `caption`
    /// `"<table> table"`, `headings` and `data`; the `_uuid` column gives the row UUID,
    /// `_version` is ignored).
    pub fn from_dump_json(text: &str) -> Result<Self, Error> {
        Self::parse_dump(text).map_err(Error::Input)
    }

    fn parse_dump(text: &str) -> Result<Self, String> {
        let mut out = Tables::default();
        let stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
        for value in stream {
            let value = value.map_err(|e| e.to_string())?;
            let obj = value.as_object().ok_or("expected a JSON object")?;
            if let (Some(caption), Some(headings), Some(data)) =
                (obj.get("caption"), obj.get("headings"), obj.get("data"))
            {
                let table = caption
                    .as_str()
                    .and_then(|c| c.strip_suffix(" table"))
                    .ok_or("caption must be \"<table> table\"")?;
                let headings: Vec<String> =
                    serde_json::from_value(headings.clone()).map_err(|e| e.to_string())?;
                let data = data.as_array().ok_or("data must be an array")?;
                let rows = out.0.entry(table.to_owned()).or_default();
                for (i, cells) in data.iter().enumerate() {
                    let cells = cells.as_array().ok_or("data rows must be arrays")?;
                    let mut row = Row::new();
                    let mut uuid = None;
                    for (h, c) in headings.iter().zip(cells) {
                        let d: Datum = serde_json::from_value(c.clone())
                            .map_err(|e| format!("{table}.{h} (row {i}): {e}"))?;
                        match h.as_str() {
                            "_uuid" => uuid = d.as_atom().and_then(Atom::as_uuid),
                            "_version" => {}
                            _ => {
                                row.insert(h.clone(), d);
                            }
                        }
                    }
                    let uuid = uuid.ok_or_else(|| format!("{table} row {i} has no _uuid"))?;
                    rows.insert(uuid, row);
                }
                continue;
            }
            for (table, rows_v) in obj {
                let rows_v = rows_v
                    .as_object()
                    .ok_or_else(|| format!("{table}: expected an object of rows"))?;
                let rows = out.0.entry(table.clone()).or_default();
                for (u, r) in rows_v {
                    let uuid =
                        Uuid::parse_str(u).map_err(|_| format!("{table}: bad UUID {u:?}"))?;
                    let row: Row = serde_json::from_value(r.clone())
                        .map_err(|e| format!("{table} {u}: {e}"))?;
                    rows.insert(uuid, row);
                }
            }
        }
        Ok(out)
    }

    /// Applies `ops` as `ovsdb-server` would, for the shapes this crate emits: `insert`
    /// (with `uuid-name`), and `update`, `mutate` (`insert`/`delete` on sets and maps) and
    /// `delete` whose only condition is `_uuid == <uuid>`. Named UUIDs are resolved. No
    /// garbage collection is done (the planners delete the rows they drop explicitly).
    pub fn apply(
        &mut self,
        ops: &[Operation],
        new_uuid: &mut impl FnMut() -> Uuid,
    ) -> Result<(), Error> {
        let mut names: BTreeMap<String, Uuid> = BTreeMap::new();
        for op in ops {
            match op {
                Operation::Insert {
                    table,
                    row,
                    uuid_name,
                    uuid,
                } => {
                    let u = uuid.unwrap_or_else(&mut *new_uuid);
                    if let Some(n) = uuid_name {
                        names.insert(n.clone(), u);
                    }
                    let mut r = Row::new();
                    for (c, d) in row.iter() {
                        r.insert(c, resolve(d, &names)?);
                    }
                    self.0.entry(table.clone()).or_default().insert(u, r);
                }
                Operation::Update {
                    table,
                    conditions,
                    row,
                } => {
                    let u = target(conditions, &names)?;
                    let r = self.row_mut(table, u)?;
                    for (c, d) in row.iter() {
                        r.insert(c, resolve(d, &names)?);
                    }
                }
                Operation::Mutate {
                    table,
                    conditions,
                    mutations,
                } => {
                    let u = target(conditions, &names)?;
                    let r = self.row_mut(table, u)?;
                    for m in mutations {
                        let value = resolve(&m.value, &names)?;
                        let cur = r.get(&m.column).cloned().unwrap_or_default();
                        r.insert(m.column.clone(), mutate(cur, m.mutator, value)?);
                    }
                }
                Operation::Delete { table, conditions } => {
                    let u = target(conditions, &names)?;
                    self.0
                        .get_mut(table)
                        .and_then(|t| t.remove(&u))
                        .ok_or_else(|| {
                            Error::Apply(format!("delete of unknown row {table} {u}"))
                        })?;
                }
                other => return Err(Error::Apply(format!("unsupported operation {other:?}"))),
            }
        }
        Ok(())
    }

    fn row_mut(&mut self, table: &str, u: Uuid) -> Result<&mut Row, Error> {
        self.0
            .get_mut(table)
            .and_then(|t| t.get_mut(&u))
            .ok_or_else(|| Error::Apply(format!("no row {table} {u}")))
    }
}

fn resolve_atom(a: &Atom, names: &BTreeMap<String, Uuid>) -> Result<Atom, Error> {
    match a {
        Atom::NamedUuid(n) => names
            .get(n)
            .map(|u| Atom::Uuid(*u))
            .ok_or_else(|| Error::Apply(format!("unknown named UUID {n}"))),
        other => Ok(other.clone()),
    }
}

fn resolve(d: &Datum, names: &BTreeMap<String, Uuid>) -> Result<Datum, Error> {
    Ok(match d {
        Datum::Set(s) => Datum::Set(Set::from_atoms(
            s.iter()
                .map(|a| resolve_atom(a, names))
                .collect::<Result<_, _>>()?,
        )),
        Datum::Map(m) => Datum::Map(Map::from_pairs(
            m.iter()
                .map(|(k, v)| Ok((resolve_atom(k, names)?, resolve_atom(v, names)?)))
                .collect::<Result<_, Error>>()?,
        )),
    })
}

fn target(conditions: &[Condition], names: &BTreeMap<String, Uuid>) -> Result<Uuid, Error> {
    if let [Condition::Compare {
        column,
        function: Function::Eq,
        value,
    }] = conditions
    {
        if column == "_uuid" {
            if let Some(a) = value.as_atom() {
                if let Atom::Uuid(u) = resolve_atom(a, names)? {
                    return Ok(u);
                }
            }
        }
    }
    Err(Error::Apply(format!(
        "unsupported conditions {conditions:?}"
    )))
}

fn mutate(cur: Datum, mutator: Mutator, value: Datum) -> Result<Datum, Error> {
    Ok(match (cur, mutator, value) {
        (Datum::Set(mut s), Mutator::Insert, Datum::Set(v)) => {
            for a in v.iter() {
                s.insert(a.clone());
            }
            Datum::Set(s)
        }
        (Datum::Set(mut s), Mutator::Delete, Datum::Set(v)) => {
            for a in v.iter() {
                s.remove(a);
            }
            Datum::Set(s)
        }
        (Datum::Map(mut m), Mutator::Insert, Datum::Map(v)) => {
            for (k, val) in v.iter() {
                if m.get(k).is_none() {
                    m.insert(k.clone(), val.clone());
                }
            }
            Datum::Map(m)
        }
        (Datum::Map(mut m), Mutator::Delete, Datum::Set(keys)) => {
            for k in keys.iter() {
                m.remove(k);
            }
            Datum::Map(m)
        }
        (Datum::Map(mut m), Mutator::Delete, Datum::Map(pairs)) => {
            for (k, v) in pairs.iter() {
                if m.get(k) == Some(v) {
                    m.remove(k);
                }
            }
            Datum::Map(m)
        }
        // An empty map column decodes as an empty set.
        (Datum::Set(s), Mutator::Insert, Datum::Map(v)) if s.is_empty() => Datum::Map(v),
        (Datum::Set(s), Mutator::Delete, _) if s.is_empty() => Datum::Set(s),
        (c, m, v) => {
            return Err(Error::Apply(format!(
                "unsupported mutation {m} of {c:?} by {v:?}"
            )))
        }
    })
}
