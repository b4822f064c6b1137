//! A **northd stand-in**: the few southbound rows ovn-ic reads, computed from the
//! northbound rows as `ovn-northd` would write them, for zones run without `ovn-northd`
//! (embedded servers, offline simulations).
//!
//! `ic-routed` reads a few southbound rows that `ovn-northd` writes from the northbound
//! database: for a transit-switch port `lsp` of type `router` with
//! `options:router-port=lrp`, the `Port_Binding` of `lsp` (with `options:peer=lrp`), the
//! `Port_Binding` of `lrp` (whose `mac` holds `"<mac> <network>…"`) and the router's
//! `Datapath_Binding` (with `external_ids:logical-router=<NB router UUID>`). With embedded
//! servers there is no northd, so [`northd_stand_in`] writes exactly those rows, and
//! nothing else (no logical flows, no chassis, no multicast groups):
//!
//! - one `Datapath_Binding` per NB logical switch (`external_ids:logical-switch`) and
//!   router (`external_ids:logical-router`), tunnel key from
//!   `other_config:requested-tnl-key` when free, else the lowest free key;
//! - for every switch port of type `router` whose `options:router-port` names an existing
//!   router port: a `patch` binding of the switch port (on the switch's datapath,
//!   `options:peer`=router port) and one of the router port (on the router's datapath,
//!   `mac`=`"<mac> <networks>"`, `options:peer`=switch port);
//! - for every switch port of type `remote` (a port ovn-ic made for another zone's
//!   router): a `remote` binding with the port's addresses and its
//!   `options:requested-tnl-key`, which ovn-ic then binds to the other zone's gateway.
//!
//! Every row it writes carries `external_ids:`[`STAND_IN_KEY`]`=true`; it updates and
//! deletes only such rows, so running it against a southbound database that a real
//! `ovn-northd` owns changes nothing northd wrote (it only adds missing rows, which northd
//! would then replace). It is a test and demo aid, not a northd.
//!
//! The daemon-side glue that reads NB and SB over clients and commits the operations
//! lives with the embedded demos; [`crate::sim`] runs it offline.

use std::collections::{BTreeMap, BTreeSet};

use ovn_nb::{LogicalRouter, LogicalRouterPort, LogicalSwitch, LogicalSwitchPort};
use ovn_sb as sb;
use ovsdb_proto::typed::{Ref, StringMap, Table, TypedRows};
use ovsdb_proto::{Operation, Uuid};

/// `external_ids` key on every southbound row the stand-in writes.
pub const STAND_IN_KEY: &str = "ovnlink:northd-stand-in";

const MAX_DP_KEY: i64 = (1 << 24) - 1;
const MAX_PORT_KEY: i64 = (1 << 15) - 1;

/// What the stand-in reads: NB topology and the SB rows it may already have written.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct NorthdRows {
    /// NB `Logical_Switch` rows.
    pub switches: Vec<LogicalSwitch>,
    /// NB `Logical_Switch_Port` rows.
    pub switch_ports: Vec<LogicalSwitchPort>,
    /// NB `Logical_Router` rows.
    pub routers: Vec<LogicalRouter>,
    /// NB `Logical_Router_Port` rows.
    pub router_ports: Vec<LogicalRouterPort>,
    /// SB `Datapath_Binding` rows.
    pub datapaths: Vec<sb::DatapathBinding>,
    /// SB `Port_Binding` rows.
    pub port_bindings: Vec<sb::PortBinding>,
}

impl NorthdRows {
    /// The rows the stand-in reads, from a zone's NB and SB (tables a source lacks are
    /// empty).
    pub fn from_sources(nb: &impl TypedRows, sb: &impl TypedRows) -> Self {
        fn all<T: Table + Clone + Send + Sync + 'static>(src: &impl TypedRows) -> Vec<T> {
            src.rows::<T>()
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default()
        }
        NorthdRows {
            switches: all(nb),
            switch_ports: all(nb),
            routers: all(nb),
            router_ports: all(nb),
            datapaths: all(sb),
            port_bindings: all(sb),
        }
    }
}

fn owned(ids: &StringMap) -> bool {
    ids.get(STAND_IN_KEY) == Some("true")
}

fn lowest_free(used: &BTreeSet<i64>, max: i64) -> Option<i64> {
    (1..=max).find(|k| !used.contains(k))
}

/// The southbound operations (one transaction) that bring `rows`' SB side in line with its
/// NB side, as described in the module docs. New rows get UUIDs from `new_uuid` (sent as
/// the insert's `uuid`, Open vSwitch ≥ 2.13). Empty when nothing is to be done.
pub fn northd_stand_in(rows: &NorthdRows, new_uuid: &mut impl FnMut() -> Uuid) -> Vec<Operation> {
    let mut ops = Vec::new();
    let mut dp_keys: BTreeSet<i64> = rows.datapaths.iter().map(|d| d.tunnel_key).collect();
    // NB row UUID → datapath UUID.
    let mut dp_of: BTreeMap<Uuid, Uuid> = BTreeMap::new();
    let mut wanted_dps = BTreeSet::new();
    let mut datapath = |nb_uuid: Uuid,
                        key_name: &str,
                        name: &str,
                        requested: Option<&str>,
                        ops: &mut Vec<Operation>|
     -> Option<Uuid> {
        let id = nb_uuid.to_string();
        if let Some(dp) = rows
            .datapaths
            .iter()
            .find(|d| d.external_ids.get(key_name) == Some(&id))
        {
            return Some(dp.uuid);
        }
        let requested = requested
            .and_then(|k| k.parse::<i64>().ok())
            .filter(|k| (1..=MAX_DP_KEY).contains(k) && !dp_keys.contains(k));
        let key = requested.or_else(|| lowest_free(&dp_keys, MAX_DP_KEY))?;
        dp_keys.insert(key);
        let mut dp = sb::DatapathBinding::default();
        dp.uuid = new_uuid();
        dp.tunnel_key = key;
        dp.external_ids = StringMap::from_iter([
            (key_name.to_owned(), id),
            ("name".to_owned(), name.to_owned()),
            (STAND_IN_KEY.to_owned(), "true".to_owned()),
        ]);
        ops.push(dp.insert_op());
        Some(dp.uuid)
    };
    let mut switches: Vec<&LogicalSwitch> = rows.switches.iter().collect();
    switches.sort_by_key(|s| s.uuid);
    for ls in &switches {
        let requested = ls.other_config.get("requested-tnl-key");
        if let Some(dp) = datapath(ls.uuid, "logical-switch", &ls.name, requested, &mut ops) {
            dp_of.insert(ls.uuid, dp);
            wanted_dps.insert(dp);
        }
    }
    let mut routers: Vec<&LogicalRouter> = rows.routers.iter().collect();
    routers.sort_by_key(|r| r.uuid);
    for lr in &routers {
        let requested = lr.options.get("requested-tnl-key");
        if let Some(dp) = datapath(lr.uuid, "logical-router", &lr.name, requested, &mut ops) {
            dp_of.insert(lr.uuid, dp);
            wanted_dps.insert(dp);
        }
    }

    // Router port name → (router port, router UUID).
    let mut lrp_by_name: BTreeMap<&str, (&LogicalRouterPort, Uuid)> = BTreeMap::new();
    for lr in &routers {
        for p in &lr.ports {
            if let Some(lrp) = rows.router_ports.iter().find(|l| l.uuid == p.uuid()) {
                lrp_by_name.insert(lrp.name.as_str(), (lrp, lr.uuid));
            }
        }
    }
    let lsp_by_uuid: BTreeMap<Uuid, &LogicalSwitchPort> =
        rows.switch_ports.iter().map(|p| (p.uuid, p)).collect();
    let existing: BTreeMap<&str, &sb::PortBinding> = rows
        .port_bindings
        .iter()
        .map(|pb| (pb.logical_port.as_str(), pb))
        .collect();
    let mut port_keys: BTreeMap<Uuid, BTreeSet<i64>> = BTreeMap::new();
    for pb in &rows.port_bindings {
        port_keys
            .entry(pb.datapath.uuid())
            .or_default()
            .insert(pb.tunnel_key);
    }
    let mut wanted_pbs = BTreeSet::new();
    let mut binding = |name: &str,
                       dp: Uuid,
                       kind: &str,
                       peer: Option<&str>,
                       mac: Vec<String>,
                       requested: Option<&str>,
                       ops: &mut Vec<Operation>| {
        // A port bound already in this pass (two switch ports naming one router port):
        // ovn-northd keeps the first peer too.
        if !wanted_pbs.insert(name.to_owned()) {
            return;
        }
        let options = StringMap::from_iter(peer.map(|p| ("peer".to_owned(), p.to_owned())));
        if let Some(old) = existing.get(name) {
            if !owned(&old.external_ids) {
                return;
            }
            let mut new = (*old).clone();
            new.mac = mac;
            new.options = options;
            kind.clone_into(&mut new.type_);
            if new.datapath.uuid() != dp {
                let keys = port_keys.entry(dp).or_default();
                let Some(key) = lowest_free(keys, MAX_PORT_KEY) else {
                    return;
                };
                keys.insert(key);
                new.datapath = Ref::new(dp);
                new.tunnel_key = key;
            }
            ops.extend(sb::PortBinding::update_changed_op(old, &new));
            return;
        }
        let keys = port_keys.entry(dp).or_default();
        let requested = requested
            .and_then(|k| k.parse::<i64>().ok())
            .filter(|k| (1..=MAX_PORT_KEY).contains(k) && !keys.contains(k));
        let Some(key) = requested.or_else(|| lowest_free(keys, MAX_PORT_KEY)) else {
            return;
        };
        keys.insert(key);
        let mut pb = sb::PortBinding::default();
        pb.uuid = new_uuid();
        pb.logical_port = name.to_owned();
        pb.type_ = kind.to_owned();
        pb.datapath = Ref::new(dp);
        pb.tunnel_key = key;
        pb.mac = mac;
        pb.options = options;
        pb.external_ids = StringMap::from_iter([(STAND_IN_KEY.to_owned(), "true".to_owned())]);
        ops.push(pb.insert_op());
    };
    for ls in &switches {
        let Some(&ls_dp) = dp_of.get(&ls.uuid) else {
            continue;
        };
        let mut ports: Vec<&LogicalSwitchPort> = ls
            .ports
            .iter()
            .filter_map(|p| lsp_by_uuid.get(&p.uuid()).copied())
            .collect();
        ports.sort_by(|a, b| a.name.cmp(&b.name));
        for lsp in ports {
            if lsp.type_ == "remote" {
                // A port of another zone (ovn-ic made it): bound so that its chassis can
                // be set, with its addresses and its tunnel key.
                let requested = lsp.options.get("requested-tnl-key");
                let mac = lsp.addresses.clone();
                binding(&lsp.name, ls_dp, "remote", None, mac, requested, &mut ops);
                continue;
            }
            if lsp.type_ != "router" {
                continue;
            }
            let Some((lrp, lr)) = lsp
                .options
                .get("router-port")
                .and_then(|n| lrp_by_name.get(n))
            else {
                continue;
            };
            let Some(&lr_dp) = dp_of.get(lr) else {
                continue;
            };
            let requested = lsp.options.get("requested-tnl-key");
            binding(
                &lsp.name,
                ls_dp,
                "patch",
                Some(&lrp.name),
                vec!["router".to_owned()],
                requested,
                &mut ops,
            );
            let mut mac = lrp.mac.clone();
            for n in &lrp.networks {
                mac.push(' ');
                mac.push_str(n);
            }
            binding(
                &lrp.name,
                lr_dp,
                "patch",
                Some(&lsp.name),
                vec![mac],
                None,
                &mut ops,
            );
        }
    }
    // Leftovers this stand-in wrote: bindings first (they reference the datapaths).
    let mut stale_dps = BTreeSet::new();
    for dp in &rows.datapaths {
        if owned(&dp.external_ids) && !wanted_dps.contains(&dp.uuid) {
            stale_dps.insert(dp.uuid);
        }
    }
    for pb in &rows.port_bindings {
        if owned(&pb.external_ids)
            && (!wanted_pbs.contains(&pb.logical_port) || stale_dps.contains(&pb.datapath.uuid()))
        {
            ops.push(sb::PortBinding::delete_op(pb.uuid));
        }
    }
    ops.extend(stale_dps.into_iter().map(sb::DatapathBinding::delete_op));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(pairs: &[(&str, &str)]) -> StringMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// One router attached to one switch through a router-type port.
    fn topology() -> NorthdRows {
        let mut lrp = LogicalRouterPort::default();
        lrp.uuid = Uuid::from_u128(11);
        lrp.name = "lrp-ts".into();
        lrp.mac = "0a:00:00:00:00:01".into();
        lrp.networks = vec!["169.254.100.1/24".into()];
        let mut lr = LogicalRouter::default();
        lr.uuid = Uuid::from_u128(10);
        lr.name = "lr1".into();
        lr.ports = vec![Ref::new(lrp.uuid)];
        let mut lsp = LogicalSwitchPort::default();
        lsp.uuid = Uuid::from_u128(21);
        lsp.name = "lsp-ts".into();
        lsp.type_ = "router".into();
        lsp.options = ids(&[("router-port", "lrp-ts")]);
        let mut other = LogicalSwitchPort::default();
        other.uuid = Uuid::from_u128(22);
        other.name = "vm".into();
        let mut ls = LogicalSwitch::default();
        ls.uuid = Uuid::from_u128(20);
        ls.name = "ts1".into();
        ls.other_config = ids(&[("interconn-ts", "ts1"), ("requested-tnl-key", "16711681")]);
        ls.ports = vec![Ref::new(lsp.uuid), Ref::new(other.uuid)];
        NorthdRows {
            switches: vec![ls],
            switch_ports: vec![lsp, other],
            routers: vec![lr],
            router_ports: vec![lrp],
            ..NorthdRows::default()
        }
    }

    /// Applies inserts, updates and deletes of the stand-in's own shapes to `rows`' SB side.
    fn apply(rows: &mut NorthdRows, ops: &[Operation]) {
        for op in ops {
            match op {
                Operation::Insert {
                    table, row, uuid, ..
                } => {
                    let uuid = uuid.expect("explicit UUIDs");
                    if table == sb::DatapathBinding::NAME {
                        rows.datapaths
                            .push(sb::DatapathBinding::from_row(uuid, row).unwrap());
                    } else {
                        rows.port_bindings
                            .push(sb::PortBinding::from_row(uuid, row).unwrap());
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn writes_what_ic_routed_reads_then_nothing() {
        let mut rows = topology();
        let mut n = 100u128;
        let mut next = || {
            n += 1;
            Uuid::from_u128(n)
        };
        let ops = northd_stand_in(&rows, &mut next);
        assert_eq!(ops.len(), 4, "{ops:?}");
        apply(&mut rows, &ops);
        let ls_dp = rows
            .datapaths
            .iter()
            .find(|d| {
                d.external_ids.get("logical-switch") == Some(&Uuid::from_u128(20).to_string())
            })
            .unwrap();
        assert_eq!(ls_dp.tunnel_key, 16711681);
        let lr_dp = rows
            .datapaths
            .iter()
            .find(|d| {
                d.external_ids.get("logical-router") == Some(&Uuid::from_u128(10).to_string())
            })
            .unwrap();
        assert_eq!(lr_dp.tunnel_key, 1);
        let pb = |name: &str| {
            rows.port_bindings
                .iter()
                .find(|p| p.logical_port == name)
                .unwrap()
                .clone()
        };
        let (lsp, lrp) = (pb("lsp-ts"), pb("lrp-ts"));
        assert_eq!(lsp.options.get("peer"), Some("lrp-ts"));
        assert_eq!(lsp.datapath.uuid(), ls_dp.uuid);
        assert_eq!(lrp.datapath.uuid(), lr_dp.uuid);
        assert_eq!(
            lrp.mac,
            vec!["0a:00:00:00:00:01 169.254.100.1/24".to_owned()]
        );
        assert_eq!((lsp.tunnel_key, lrp.tunnel_key), (1, 1));
        assert!(northd_stand_in(&rows, &mut next).is_empty());

        // A changed network is written into the router port's binding.
        rows.router_ports[0].networks = vec!["169.254.100.9/24".into()];
        let ops = northd_stand_in(&rows, &mut next);
        assert!(
            matches!(ops.as_slice(), [Operation::Update { table, .. }] if table == "Port_Binding"),
            "{ops:?}"
        );

        // The router's removal deletes its datapath and the two bindings.
        rows.routers.clear();
        let ops = northd_stand_in(&rows, &mut next);
        let deletes: Vec<&str> = ops
            .iter()
            .filter_map(|o| match o {
                Operation::Delete { table, .. } => Some(table.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            deletes,
            ["Port_Binding", "Port_Binding", "Datapath_Binding"]
        );
    }

    #[test]
    fn leaves_rows_of_a_real_northd_alone() {
        let mut rows = topology();
        let mut dp = sb::DatapathBinding::default();
        dp.uuid = Uuid::from_u128(500);
        dp.tunnel_key = 1;
        dp.external_ids = ids(&[("logical-router", &Uuid::from_u128(10).to_string())]);
        let mut pb = sb::PortBinding::default();
        pb.uuid = Uuid::from_u128(501);
        pb.logical_port = "lrp-ts".into();
        pb.datapath = Ref::new(dp.uuid);
        pb.tunnel_key = 1;
        pb.mac = vec!["something else".into()];
        rows.datapaths.push(dp);
        rows.port_bindings.push(pb);
        let mut n = 100u128;
        let ops = northd_stand_in(&rows, &mut || {
            n += 1;
            Uuid::from_u128(n)
        });
        // Only the switch's datapath and the switch port's binding are missing.
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert!(ops.iter().all(|o| matches!(o, Operation::Insert { .. })));
    }
}
