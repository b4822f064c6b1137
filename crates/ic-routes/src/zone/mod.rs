//! An availability zone's duties besides routes, as pure functions over typed rows: what
//! ovn-ic 23.03 does in `az_run`, `ts_run`, `gateway_run` and `port_binding_run`, plus the
//! port-binding cleanup at the start of its `route_run`.
//!
//! Each step reads the zone's replicas ([`Rows`]) and appends the operations that bring the
//! databases in line to an [`Ops`]; nothing here touches a socket. The daemon commits one
//! transaction per database per round and runs the next round on the updated replicas, so
//! a step may leave work for the next round (a transit switch's NB logical switch is created
//! in one round, its ports are bound in the next), exactly as ovn-ic converges over its
//! main-loop iterations.

use std::collections::{BTreeMap, HashMap, HashSet};

use ovn_ic_nb::TransitSwitch;
use ovn_ic_sb as icsb;
use ovn_nb::{LogicalSwitch, LogicalSwitchPort, NbGlobal};
use ovn_sb as sb;
use ovsdb_proto::typed::{Column, Ref, StringEnum as _, StringMap, Table, TableVisitor, TypedRows};

use crate::incremental::Database;
use ovsdb_proto::{parse_uuid, Condition, Datum, Mutator, Operation, Uuid};
use tracing::{debug, info, warn};

mod gateway;
mod port_binding;
pub mod status;

pub use gateway::gateway_run;
pub use port_binding::route_port_cleanup;

/// Open vSwitch's default inactivity probe for a `tcp:` or `ssl:` remote
/// (`DEFAULT_PROBE_INTERVAL_MSEC`); `unix:` remotes are not probed.
pub const DEFAULT_PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The inactivity probe interval ovn-ic (≥ 23.06) uses on a connection, from the
/// `options:ic_probe_interval` of the database's global row (`NB_Global` for the zone's NB and
/// SB, `IC_NB_Global` for both IC databases), in milliseconds: absent or not an integer →
/// [`DEFAULT_PROBE_INTERVAL`] when the remote needs probes (`tcp:`, `ssl:`), none for `unix:`;
/// `0` → none; 1–999 → 1 s.
pub fn probe_interval(
    options: Option<&StringMap>,
    remote_needs_probes: bool,
) -> Option<std::time::Duration> {
    let ms = options
        .and_then(|o| o.get("ic_probe_interval"))
        .and_then(|v| v.trim_start().parse::<i32>().ok())
        .unwrap_or(-1);
    match ms {
        ..0 => remote_needs_probes.then_some(DEFAULT_PROBE_INTERVAL),
        0 => None,
        ms => Some(std::time::Duration::from_millis(u64::from(
            ms.max(1000) as u32
        ))),
    }
}

/// Lowest tunnel key of a transit switch's datapath (`OVN_MIN_DP_KEY_GLOBAL`): the top 2^16
/// keys of the 24-bit datapath key space are reserved for interconnection.
pub const MIN_DP_KEY_GLOBAL: u32 = (1 << 24) - (1 << 16) + 1;
/// Highest tunnel key of a transit switch's datapath (`OVN_MAX_DP_KEY_GLOBAL`).
pub const MAX_DP_KEY_GLOBAL: u32 = (1 << 24) - 1;
/// Lowest tunnel key of a transit switch's datapath in VXLAN mode
/// (`OVN_MIN_DP_VXLAN_KEY_GLOBAL`): VXLAN carries 12-bit datapath keys, the top 3072 of them
/// for interconnection.
pub const MIN_DP_VXLAN_KEY_GLOBAL: u32 = 1 << 10;
/// Highest tunnel key of a transit switch's datapath in VXLAN mode.
pub const MAX_DP_VXLAN_KEY_GLOBAL: u32 = (1 << 12) - 1;
/// Highest tunnel key of a transit-switch port (keys are 15 bits, from 1).
pub const MAX_PORT_KEY: u32 = (1 << 15) - 1;

/// The zone's replicas, as the daemon's caches hold them: typed rows by UUID.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    /// NB `NB_Global` rows (the first one counts).
    pub nb_global: &'a HashMap<Uuid, NbGlobal>,
    /// NB `Logical_Switch`.
    pub switches: &'a HashMap<Uuid, LogicalSwitch>,
    /// NB `Logical_Switch_Port`.
    pub switch_ports: &'a HashMap<Uuid, LogicalSwitchPort>,
    /// SB `Chassis`.
    pub chassis: &'a HashMap<Uuid, sb::Chassis>,
    /// SB `Encap`.
    pub sb_encaps: &'a HashMap<Uuid, sb::Encap>,
    /// SB `Port_Binding`.
    pub sb_port_bindings: &'a HashMap<Uuid, sb::PortBinding>,
    /// SB `Datapath_Binding`.
    pub sb_datapaths: &'a HashMap<Uuid, sb::DatapathBinding>,
    /// IC-NB `Transit_Switch`.
    pub transit_switches: &'a HashMap<Uuid, TransitSwitch>,
    /// IC-NB `IC_NB_Global` (the first one counts).
    pub ic_nb_global: &'a HashMap<Uuid, ovn_ic_nb::IcNbGlobal>,
    /// IC-SB `Availability_Zone`.
    pub zones: &'a HashMap<Uuid, icsb::AvailabilityZone>,
    /// IC-SB `Gateway`.
    pub gateways: &'a HashMap<Uuid, icsb::Gateway>,
    /// IC-SB `Encap`.
    pub ic_encaps: &'a HashMap<Uuid, icsb::Encap>,
    /// IC-SB `Datapath_Binding`.
    pub ic_datapaths: &'a HashMap<Uuid, icsb::DatapathBinding>,
    /// IC-SB `Port_Binding`.
    pub ic_port_bindings: &'a HashMap<Uuid, icsb::PortBinding>,
}

impl<'a> Rows<'a> {
    /// The rows of the four databases, or `None` when a source does not hold one of the
    /// tables [`crate::tables::visit_tables`] names (a replica that forgot to monitor it).
    pub fn from_sources(
        nb: &'a impl TypedRows,
        sb: &'a impl TypedRows,
        ic_nb: &'a impl TypedRows,
        ic_sb: &'a impl TypedRows,
    ) -> Option<Rows<'a>> {
        Some(Rows {
            nb_global: nb.rows()?,
            switches: nb.rows()?,
            switch_ports: nb.rows()?,
            chassis: sb.rows()?,
            sb_encaps: sb.rows()?,
            sb_port_bindings: sb.rows()?,
            sb_datapaths: sb.rows()?,
            transit_switches: ic_nb.rows()?,
            ic_nb_global: ic_nb.rows()?,
            zones: ic_sb.rows()?,
            gateways: ic_sb.rows()?,
            ic_encaps: ic_sb.rows()?,
            ic_datapaths: ic_sb.rows()?,
            ic_port_bindings: ic_sb.rows()?,
        })
    }
}

/// Calls `visitor` for every table the zone steps (status counters included) read in `db`.
pub(crate) fn visit_zone_tables<V: TableVisitor>(db: Database, visitor: &mut V) {
    match db {
        Database::Nb => {
            visitor.visit::<NbGlobal>();
            visitor.visit::<LogicalSwitch>();
            visitor.visit::<LogicalSwitchPort>();
        }
        Database::Sb => {
            visitor.visit::<sb::Chassis>();
            visitor.visit::<sb::Encap>();
            visitor.visit::<sb::PortBinding>();
            visitor.visit::<sb::DatapathBinding>();
        }
        Database::IcNb => {
            visitor.visit::<TransitSwitch>();
            visitor.visit::<ovn_ic_nb::IcNbGlobal>();
        }
        Database::IcSb => {
            visitor.visit::<icsb::AvailabilityZone>();
            visitor.visit::<icsb::Gateway>();
            visitor.visit::<icsb::Encap>();
            visitor.visit::<icsb::DatapathBinding>();
            visitor.visit::<icsb::PortBinding>();
            visitor.visit::<icsb::IcSbGlobal>();
        }
    }
}

/// Operations for one round, one list per database.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Ops {
    /// For the zone's `OVN_Northbound`.
    pub nb: Vec<Operation>,
    /// For the zone's `OVN_Southbound` (the daemon prefixes an `assert` of its lock).
    pub sb: Vec<Operation>,
    /// For `OVN_IC_Northbound` (the status counters only).
    pub ic_nb: Vec<Operation>,
    /// For `OVN_IC_Southbound`.
    pub ic_sb: Vec<Operation>,
}

impl Ops {
    /// Whether no database is written.
    pub fn is_empty(&self) -> bool {
        self.nb.is_empty() && self.sb.is_empty() && self.ic_nb.is_empty() && self.ic_sb.is_empty()
    }
}

/// What the zone steps remember between rounds, as ovn-ic keeps it in static variables: the
/// zone name last registered and the tunnel-key allocation hints.
#[derive(Debug, Clone)]
pub struct ZoneState {
    /// The release whose behaviour the steps follow.
    pub semantics: crate::Semantics,
    az_name: Option<String>,
    dp_hint: u32,
    port_hint: u32,
    new_uuid: fn() -> Uuid,
}

/// The zone this daemon serves, as `az_run` finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// No `NB_Global` row yet.
    NoNbGlobal,
    /// `NB_Global.name` is empty: interconnection is off for this zone.
    Unnamed,
    /// The zone's `Availability_Zone` row is being inserted this round.
    Registering(String),
    /// The zone is registered.
    Registered {
        /// Its name.
        name: String,
        /// Its `Availability_Zone` row.
        uuid: Uuid,
    },
}

impl ZoneState {
    /// A fresh state (nothing registered yet, the newest release's rules) whose new rows get
    /// UUIDs from `new_uuid`: random ones in a daemon, a counter in tests and simulations.
    /// The steps never draw randomness themselves.
    pub fn new(new_uuid: fn() -> Uuid) -> Self {
        ZoneState {
            semantics: crate::Semantics::NEWEST,
            az_name: None,
            dp_hint: MIN_DP_KEY_GLOBAL,
            port_hint: 0,
            new_uuid,
        }
    }

    /// Runs every step of a round except route exchange and returns the zone's
    /// registration; the route engine runs only when it is [`Registration::Registered`].
    pub fn run(&mut self, rows: &Rows<'_>, ops: &mut Ops) -> Registration {
        let reg = self.az_run(rows, ops);
        if let Registration::Registered { uuid, .. } = &reg {
            self.ts_run(rows, ops);
            gateway_run(*uuid, rows, ops, self.new_uuid);
            let deleted = self.port_binding_run(*uuid, rows, ops);
            route_port_cleanup(*uuid, rows, &deleted, ops);
        }
        reg
    }

    /// `az_run`: registers the zone in IC-SB under `NB_Global.name` and removes its old row
    /// when the name changes while the daemon runs.
    pub fn az_run(&mut self, rows: &Rows<'_>, ops: &mut Ops) -> Registration {
        let Some(global) = first(rows.nb_global) else {
            info!("NB Global not exist.");
            return Registration::NoNbGlobal;
        };
        if let Some(old) = &self.az_name {
            if *old != global.name {
                if let Some(az) = rows.zones.values().find(|az| az.name == *old) {
                    if !global.name.is_empty() {
                        // 37fd1dd37 (23.03.3, 23.06.3, 23.09.2, 24.03.0): the row keeps its
                        // UUID, so the zone's gateways, port bindings and routes stay
                        // attached. Earlier point releases delete the row, which fails
                        // while anything references it; no release mode reproduces that.
                        info!(zone = %old, new = %global.name, "zone renamed");
                        let mut renamed = az.clone();
                        renamed.name = global.name.clone();
                        ops.ic_sb
                            .push(renamed.update_op(&[icsb::AvailabilityZoneColumn::Name]));
                        self.az_name = Some(global.name.clone());
                        // Registered under the new name once the replica shows it.
                        return Registration::Registering(global.name.clone());
                    }
                    info!(zone = %old, "zone renamed, unregistering the old name");
                    ops.ic_sb.push(icsb::AvailabilityZone::delete_op(az.uuid));
                }
                self.az_name = None;
            }
        }
        if global.name.is_empty() {
            return Registration::Unnamed;
        }
        self.az_name = Some(global.name.clone());
        let mut found: Vec<&icsb::AvailabilityZone> = rows
            .zones
            .values()
            .filter(|az| az.name == global.name)
            .collect();
        found.sort_by_key(|az| az.uuid);
        if let Some(az) = found.first() {
            return Registration::Registered {
                name: global.name.clone(),
                uuid: az.uuid,
            };
        }
        info!(zone = %global.name, "Register AZ {} to interconnection DB.", global.name);
        let mut az = icsb::AvailabilityZone::default();
        az.name = global.name.clone();
        ops.ic_sb.push(az.insert_op());
        Registration::Registering(global.name.clone())
    }

    /// `ts_run`: keeps one NB logical switch per IC-NB transit switch (with
    /// `other_config:interconn-ts` and the datapath tunnel key from IC-SB as
    /// `requested-tnl-key`), and one IC-SB datapath binding per transit switch.
    pub fn ts_run(&mut self, rows: &Rows<'_>, ops: &mut Ops) {
        let mut isb_dps: BTreeMap<&str, Vec<&icsb::DatapathBinding>> = BTreeMap::new();
        let mut used_keys: HashSet<i64> = HashSet::new();
        for dp in sorted(rows.ic_datapaths) {
            isb_dps
                .entry(dp.transit_switch.as_str())
                .or_default()
                .push(dp);
            used_keys.insert(dp.tunnel_key);
        }
        let transit_switches = sorted(rows.transit_switches);
        // ≥ 25.03: VXLAN mode when IC-NB asks for it and some gateway has a VXLAN encap.
        let vxlan = self.semantics.vxlan_mode()
            && first(rows.ic_nb_global).is_some_and(|g| bool_option(&g.options, "vxlan_mode"))
            && rows
                .ic_encaps
                .values()
                .any(|e| e.type_ == icsb::EncapType::Vxlan);
        let vxlan_str = if vxlan { "true" } else { "false" };
        // When a switch's mode flips, every binding is re-keyed in the new range.
        let mut rekey = false;

        // NB side.
        let mut nb_tses: BTreeMap<&str, Vec<&LogicalSwitch>> = BTreeMap::new();
        for ls in sorted(rows.switches) {
            if let Some(ts) = ls.other_config.get("interconn-ts") {
                nb_tses.entry(ts).or_default().push(ls);
            }
        }
        for ts in &transit_switches {
            let key = isb_dps
                .get(ts.name.as_str())
                .and_then(|v| v.first())
                .map(|dp| dp.tunnel_key);
            let existing = nb_tses.get_mut(ts.name.as_str()).and_then(|v| {
                if v.is_empty() {
                    None
                } else {
                    Some(v.remove(0))
                }
            });
            match existing {
                None => {
                    let mut other_config = StringMap::new();
                    other_config.insert("interconn-ts", ts.name.clone());
                    if self.semantics.vxlan_mode() {
                        other_config.insert("ic-vxlan_mode", vxlan_str);
                    }
                    if let Some(k) = key {
                        other_config.insert("requested-tnl-key", k.to_string());
                    }
                    let mut ls = LogicalSwitch::default();
                    ls.name = ts.name.clone();
                    ls.other_config = other_config;
                    info!(transit_switch = %ts.name, "creating the NB logical switch of a transit switch");
                    ops.nb.push(ls.insert_op());
                }
                Some(ls) => {
                    if self.semantics.vxlan_mode()
                        && bool_option(&ls.other_config, "ic-vxlan_mode") != vxlan
                    {
                        info!(transit_switch = %ts.name, vxlan, "transit switch encapsulation mode changed; re-keying the transit switches");
                        rekey = true;
                        ops.nb.push(set_key_op(
                            ls.uuid,
                            ovn_nb::LogicalSwitchColumn::OtherConfig,
                            "ic-vxlan_mode",
                            vxlan_str,
                        ));
                    }
                    if let Some(k) = key {
                        if int_option(&ls.other_config, "requested-tnl-key") != k {
                            debug!(transit_switch = %ts.name, key = k, "Set other_config:requested-tnl-key for transit switch in NB.");
                            ops.nb.push(set_key_op(
                                ls.uuid,
                                ovn_nb::LogicalSwitchColumn::OtherConfig,
                                "requested-tnl-key",
                                &k.to_string(),
                            ));
                        }
                    }
                }
            }
        }
        for extra in nb_tses.values().flatten() {
            info!(switch = %extra.name, "deleting the NB logical switch of a transit switch that is gone");
            ops.nb.push(LogicalSwitch::delete_op(extra.uuid));
        }

        // IC-SB side: one datapath binding per transit switch.
        let (min, max) = if vxlan {
            (MIN_DP_VXLAN_KEY_GLOBAL, MAX_DP_VXLAN_KEY_GLOBAL)
        } else {
            (MIN_DP_KEY_GLOBAL, MAX_DP_KEY_GLOBAL)
        };
        let mut allocate_key = |used: &mut HashSet<i64>| {
            // ≥ 25.03 starts every allocation at the range's minimum (lowest free key);
            // older releases continue after the process's last allocation.
            let mut lowest = min;
            let hint = if self.semantics.vxlan_mode() {
                &mut lowest
            } else {
                &mut self.dp_hint
            };
            let key = allocate(used, min, max, hint);
            if key.is_none() {
                warn!("all transit switch datapath tunnel ids exhausted");
            }
            key
        };
        for ts in &transit_switches {
            match isb_dps.get_mut(ts.name.as_str()) {
                Some(v) if !v.is_empty() => {
                    let dp = v.remove(0);
                    // ovn-ic re-keys every binding, once per zone that sees the change, so
                    // with N zones a switch is re-keyed N times; a key already in the
                    // mode's range is kept here (a deliberate difference).
                    let in_range = (i64::from(min)..=i64::from(max)).contains(&dp.tunnel_key);
                    if rekey && !in_range {
                        if let Some(key) = allocate_key(&mut used_keys) {
                            let mut new = dp.clone();
                            new.tunnel_key = i64::from(key);
                            ops.ic_sb
                                .push(new.update_op(&[icsb::DatapathBindingColumn::TunnelKey]));
                        }
                    }
                }
                _ => {
                    let Some(key) = allocate_key(&mut used_keys) else {
                        continue;
                    };
                    // Another zone may bind the switch at the same time: the wait makes
                    // this transaction fail instead of creating a second binding.
                    ops.ic_sb.push(wait_absent(
                        icsb::DatapathBindingColumn::TransitSwitch,
                        &ts.name,
                    ));
                    let mut dp = icsb::DatapathBinding::default();
                    dp.transit_switch = ts.name.clone();
                    dp.tunnel_key = i64::from(key);
                    ops.ic_sb.push(dp.insert_op());
                }
            }
        }
        // Bindings of switches that left IC-NB go. Duplicates of a live switch (two zones
        // bound it at once; only ovn-ic can do that, our insert is guarded by a `wait`)
        // are left for ovn-ic to resolve: it keeps an arbitrary one of them, and deleting
        // the one it keeps would make both daemons delete and recreate bindings forever.
        for (ts, extra) in &isb_dps {
            if rows.transit_switches.values().any(|t| t.name == *ts) {
                if !extra.is_empty() {
                    warn!(transit_switch = %ts, bindings = extra.len() + 1, "transit switch has several IC-SB datapath bindings; using the first");
                }
                continue;
            }
            for dp in extra {
                ops.ic_sb.push(icsb::DatapathBinding::delete_op(dp.uuid));
            }
        }
    }
}

/// The NB logical switch of transit switch `name`: named `name`, with
/// `other_config:interconn-ts=name`.
fn find_ts_in_nb<'r>(rows: &Rows<'r>, name: &str) -> Option<&'r LogicalSwitch> {
    sorted(rows.switches)
        .into_iter()
        .find(|ls| ls.name == name && ls.other_config.get("interconn-ts") == Some(name))
}

/// `ovn_allocate_tnlid`: the first free key after `hint` in `[min, max]`, wrapping around.
pub fn allocate(used: &mut HashSet<i64>, min: u32, max: u32, hint: &mut u32) -> Option<u32> {
    let next = |k: u32| if k >= max || k < min { min } else { k + 1 };
    let start = *hint;
    let mut k = next(start);
    let span = u64::from(max - min) + 1;
    for _ in 0..span {
        if used.insert(i64::from(k)) {
            *hint = k;
            return Some(k);
        }
        k = next(k);
    }
    None
}

/// The zone's name as ovn-ic reads it: `NB_Global.name` of the first `NB_Global` row (by
/// UUID); `None` when there is no row or its name is empty (the zone is not registered).
pub fn zone_name(nb_global: &HashMap<Uuid, NbGlobal>) -> Option<&str> {
    first(nb_global)
        .map(|g| g.name.as_str())
        .filter(|n| !n.is_empty())
}

fn first<T: Table>(rows: &HashMap<Uuid, T>) -> Option<&T> {
    rows.values().min_by_key(|r| r.uuid())
}

fn sorted<T: Table>(rows: &HashMap<Uuid, T>) -> Vec<&T> {
    let mut v: Vec<&T> = rows.values().collect();
    v.sort_by_key(|r| r.uuid());
    v
}

/// `smap_get_int`: the option as an integer, 0 when absent or not a number.
fn int_option(map: &StringMap, key: &str) -> i64 {
    map.get(key)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// `smap_get_bool` with default false.
fn bool_option(map: &StringMap, key: &str) -> bool {
    map.get(key).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Sets one key of map column `column` of row `uuid` without touching the others (the
/// IDL's `setkey`): delete the key, then insert the new pair, in one `mutate`.
fn set_key_op<C: Column>(uuid: Uuid, column: C, key: &str, value: &str) -> Operation {
    Operation::Mutate {
        table: C::TABLE.to_owned(),
        conditions: vec![Condition::uuid(uuid)],
        mutations: vec![
            column.mutate(Mutator::Delete, Datum::set([key])),
            column.mutate(Mutator::Insert, Datum::map([(key, value)])),
        ],
    }
}

/// A `wait` that fails the transaction unless no row of `column`'s table has
/// `column == value`.
fn wait_absent<C: Column>(column: C, value: &str) -> Operation {
    Operation::Wait {
        table: C::TABLE.to_owned(),
        timeout: Some(0),
        conditions: vec![column.equals(value)],
        columns: vec![column.name().to_owned()],
        until: ovsdb_proto::WaitUntil::Equal,
        rows: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
