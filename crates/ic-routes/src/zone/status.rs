//! The interconnection status counters of OVN ≥ 24.03 (`update_sequence_numbers` in ovn-ic),
//! as a pure step over typed rows.
//!
//! A CMS asks "has every zone applied my IC-NB changes?" by incrementing
//! `IC_NB_Global.nb_ic_cfg` (`ovn-ic-nbctl --wait=sb sync` does, then waits until
//! `IC_NB_Global.sb_ic_cfg` catches up). Each zone's daemon, after it has committed a round
//! computed from that IC-NB state, brings its `Availability_Zone.nb_ic_cfg` up to the value;
//! once every zone's row holds the same value, a daemon copies it into
//! `IC_SB_Global.nb_ic_cfg` and `IC_NB_Global.sb_ic_cfg`. The algorithm, step by step as
//! ovn-ic 24.03 to 26.03 run it each time they are active and registered:
//!
//! 1. If `IC_NB_Global.nb_ic_cfg` differs from both `IC_SB_Global.nb_ic_cfg` and this zone's
//!    counter, increment this zone's counter (a `mutate +=1`; at `i64::MAX` it wraps to 0),
//!    remember the IC-NB value as the one to confirm, and stop.
//! 2. Else, if this zone's counter differs from the last confirmed value, set it to that
//!    value, and stop.
//! 3. Else, if every zone's counter equals this zone's, and the two globals differ, set
//!    `IC_SB_Global.nb_ic_cfg` and `IC_NB_Global.sb_ic_cfg` to it.
//!
//! "Confirmed" means: a round computed after seeing that IC-NB value has committed its
//! IC-SB transaction (ovn-ic's `ovsdb_idl_loop` `next_cfg`/`cur_cfg`). The daemon reports it
//! through [`StatusCounters::committed`].
//!
//! One deliberate difference: ovn-ic starts with nothing confirmed (0), so a restarted ovn-ic
//! first resets its zone's counter to 0 and, at the next sync, climbs back one transaction
//! per increment. Here the first round's IC-NB value is the one to confirm: the first round
//! computes everything from the whole current state, so once it commits the zone has applied
//! that value, and the counter is set to it directly.
//!
//! The step runs only when both IC databases' schemas have the counters (IC-NB ≥ 1.1.0,
//! IC-SB ≥ 1.2.0, OVN 24.03); the global rows are created when missing (under a `wait` that
//! the table is still empty, so two zones never create two).

use std::collections::HashMap;

use ovn_ic_nb::IcNbGlobal;
use ovn_ic_sb::{AvailabilityZone, IcSbGlobal};
use ovsdb_proto::typed::Table;
use ovsdb_proto::{Condition, Datum, Mutation, Mutator, Operation, Row, Uuid, WaitUntil};

use super::Ops;

/// What the status step remembers between rounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounters {
    /// The IC-NB `nb_ic_cfg` a committed round has applied (`cur_cfg`); `None` before the
    /// first commit.
    confirmed: Option<i64>,
    /// The IC-NB `nb_ic_cfg` of the latest round (`next_cfg`).
    seen: Option<i64>,
}

/// The rows the status step reads.
#[derive(Debug, Clone, Copy)]
pub struct StatusRows<'a> {
    /// IC-NB `IC_NB_Global`.
    pub ic_nb_global: &'a HashMap<Uuid, IcNbGlobal>,
    /// IC-SB `IC_SB_Global`.
    pub ic_sb_global: &'a HashMap<Uuid, IcSbGlobal>,
    /// IC-SB `Availability_Zone`.
    pub zones: &'a HashMap<Uuid, AvailabilityZone>,
}

impl StatusCounters {
    /// The last confirmed IC-NB value, if any.
    pub fn confirmed(&self) -> Option<i64> {
        self.confirmed
    }

    /// Runs the step for the registered zone `az`, appending IC-NB and IC-SB operations.
    pub fn run(&mut self, az: Uuid, rows: &StatusRows<'_>, ops: &mut Ops) {
        let Some(zone) = rows.zones.get(&az) else {
            return;
        };
        let inb = first(rows.ic_nb_global);
        let isb = first(rows.ic_sb_global);
        if inb.is_none() {
            ops.ic_nb.extend(create_if_empty::<IcNbGlobal>());
        }
        if isb.is_none() {
            ops.ic_sb.extend(create_if_empty::<IcSbGlobal>());
        }
        let (Some(inb), Some(isb)) = (inb, isb) else {
            return;
        };
        let wanted = inb.nb_ic_cfg;
        if self.seen.is_none() {
            // The first round applies the whole current state: confirm its value (see the
            // module's deliberate difference).
            self.seen = Some(wanted);
        }
        if wanted != isb.nb_ic_cfg && wanted != zone.nb_ic_cfg {
            let mut az_ops = Vec::new();
            if zone.nb_ic_cfg == i64::MAX {
                az_ops.push(set_cfg(AvailabilityZone::NAME, az, "nb_ic_cfg", 0));
            }
            az_ops.push(Operation::Mutate {
                table: AvailabilityZone::NAME.to_owned(),
                conditions: vec![Condition::uuid(az)],
                mutations: vec![Mutation::new(
                    "nb_ic_cfg",
                    Mutator::Add,
                    Datum::from(ovsdb_proto::Atom::Integer(1)),
                )],
            });
            ops.ic_sb.extend(az_ops);
            self.seen = Some(wanted);
            return;
        }
        // Nothing is confirmed before the first round commits.
        let Some(confirmed) = self.confirmed else {
            return;
        };
        if zone.nb_ic_cfg != confirmed {
            ops.ic_sb
                .push(set_cfg(AvailabilityZone::NAME, az, "nb_ic_cfg", confirmed));
            return;
        }
        if rows.zones.values().any(|z| z.nb_ic_cfg != zone.nb_ic_cfg) {
            return;
        }
        if inb.nb_ic_cfg != isb.nb_ic_cfg {
            ops.ic_sb.push(set_cfg(
                IcSbGlobal::NAME,
                isb.uuid,
                "nb_ic_cfg",
                zone.nb_ic_cfg,
            ));
            ops.ic_nb.push(set_cfg(
                IcNbGlobal::NAME,
                inb.uuid,
                "sb_ic_cfg",
                zone.nb_ic_cfg,
            ));
        }
    }

    /// Tells the step that the round's IC-SB transaction committed (or had nothing to
    /// commit): the IC-NB value that round saw is now applied.
    pub fn committed(&mut self) {
        if self.seen.is_some() {
            self.confirmed = self.seen;
        }
    }
}

/// The row with the smallest UUID (the one ovn-ic's `*_first` would return is unspecified;
/// the databases hold one).
fn first<T: Table>(rows: &HashMap<Uuid, T>) -> Option<&T> {
    rows.values().min_by_key(|r| r.uuid())
}

fn set_cfg(table: &str, uuid: Uuid, column: &str, value: i64) -> Operation {
    let mut row = Row::new();
    row.insert(
        column.to_owned(),
        Datum::from(ovsdb_proto::Atom::Integer(value)),
    );
    Operation::Update {
        table: table.to_owned(),
        conditions: vec![Condition::uuid(uuid)],
        row,
    }
}

/// Inserts the table's one row, guarded so that the transaction fails if another daemon
/// created it meanwhile.
fn create_if_empty<T: Table>() -> [Operation; 2] {
    [
        Operation::Wait {
            table: T::NAME.to_owned(),
            timeout: Some(0),
            conditions: Vec::new(),
            columns: Vec::new(),
            until: WaitUntil::Equal,
            rows: Vec::new(),
        },
        T::default().insert_op(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    struct World {
        inb: HashMap<Uuid, IcNbGlobal>,
        isb: HashMap<Uuid, IcSbGlobal>,
        zones: HashMap<Uuid, AvailabilityZone>,
    }

    const INB: Uuid = Uuid::from_u128(1);
    const ISB: Uuid = Uuid::from_u128(2);
    const AZ1: Uuid = Uuid::from_u128(11);
    const AZ2: Uuid = Uuid::from_u128(12);

    impl World {
        fn new(zones: &[Uuid]) -> World {
            let mut inb = IcNbGlobal::default();
            inb.uuid = INB;
            let mut isb = IcSbGlobal::default();
            isb.uuid = ISB;
            World {
                inb: HashMap::from([(INB, inb)]),
                isb: HashMap::from([(ISB, isb)]),
                zones: zones
                    .iter()
                    .map(|u| {
                        let mut z = AvailabilityZone::default();
                        z.uuid = *u;
                        z.name = format!("az{}", u.as_u128());
                        (*u, z)
                    })
                    .collect(),
            }
        }

        fn rows(&self) -> StatusRows<'_> {
            StatusRows {
                ic_nb_global: &self.inb,
                ic_sb_global: &self.isb,
                zones: &self.zones,
            }
        }

        /// Applies `ops` as the servers would (only what this step writes).
        fn apply(&mut self, ops: &Ops) {
            for op in ops.ic_sb.iter().chain(&ops.ic_nb) {
                match op {
                    Operation::Mutate {
                        table,
                        conditions,
                        mutations,
                    } => {
                        assert_eq!(table, "Availability_Zone");
                        assert_eq!(mutations[0].mutator, Mutator::Add);
                        let uuid = uuid_of(conditions);
                        self.zones.get_mut(&uuid).unwrap().nb_ic_cfg += 1;
                    }
                    Operation::Update {
                        table,
                        conditions,
                        row,
                    } => {
                        let uuid = uuid_of(conditions);
                        let (col, v) = row.iter().next().unwrap();
                        let v = v.as_atom().unwrap().as_integer().unwrap();
                        match (table.as_str(), col) {
                            ("Availability_Zone", "nb_ic_cfg") => {
                                self.zones.get_mut(&uuid).unwrap().nb_ic_cfg = v
                            }
                            ("IC_SB_Global", "nb_ic_cfg") => {
                                self.isb.get_mut(&uuid).unwrap().nb_ic_cfg = v
                            }
                            ("IC_NB_Global", "sb_ic_cfg") => {
                                self.inb.get_mut(&uuid).unwrap().sb_ic_cfg = v
                            }
                            other => panic!("unexpected write {other:?}"),
                        }
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }

        /// `ovn-ic-nbctl sync`.
        fn sync(&mut self) {
            self.inb.get_mut(&INB).unwrap().nb_ic_cfg += 1;
        }

        fn caught_up(&self) -> bool {
            let inb = &self.inb[&INB];
            inb.sb_ic_cfg >= inb.nb_ic_cfg
        }
    }

    fn uuid_of(conditions: &[Condition]) -> Uuid {
        let json = serde_json::to_value(&conditions[0]).unwrap();
        json[2][1].as_str().unwrap().parse().unwrap()
    }

    /// One round of each zone's daemon, in order; returns whether anything was written.
    fn round(w: &mut World, daemons: &mut [(Uuid, StatusCounters)]) -> bool {
        let mut wrote = false;
        for (az, s) in daemons.iter_mut() {
            let mut ops = Ops::default();
            s.run(*az, &w.rows(), &mut ops);
            wrote |= !ops.is_empty();
            w.apply(&ops);
            s.committed();
        }
        wrote
    }

    fn settle(w: &mut World, daemons: &mut [(Uuid, StatusCounters)]) -> usize {
        for n in 0..20 {
            if !round(w, daemons) {
                return n;
            }
        }
        panic!("status counters never settle");
    }

    #[test]
    fn a_sync_is_confirmed_once_every_zone_caught_up() {
        let mut w = World::new(&[AZ1, AZ2]);
        let mut d = [
            (AZ1, StatusCounters::default()),
            (AZ2, StatusCounters::default()),
        ];
        settle(&mut w, &mut d);
        assert!(w.caught_up());
        w.sync();
        assert!(!w.caught_up());
        // Only zone 1 runs: zone 2's counter lags, so the globals wait.
        let mut only1 = [d[0]];
        settle(&mut w, &mut only1);
        d[0] = only1[0];
        assert_eq!(w.zones[&AZ1].nb_ic_cfg, 1);
        assert_eq!(w.zones[&AZ2].nb_ic_cfg, 0);
        assert!(!w.caught_up());
        settle(&mut w, &mut d);
        assert_eq!(w.zones[&AZ2].nb_ic_cfg, 1);
        assert_eq!(w.isb[&ISB].nb_ic_cfg, 1);
        assert_eq!(w.inb[&INB].sb_ic_cfg, 1);
        assert!(w.caught_up());
    }

    #[test]
    fn several_syncs_before_a_round_climb_one_increment_per_round() {
        let mut w = World::new(&[AZ1]);
        let mut d = [(AZ1, StatusCounters::default())];
        settle(&mut w, &mut d);
        for _ in 0..3 {
            w.sync();
        }
        let rounds = settle(&mut w, &mut d);
        assert_eq!(w.zones[&AZ1].nb_ic_cfg, 3);
        assert!(w.caught_up());
        // Three increments, then the globals.
        assert_eq!(rounds, 4);
    }

    #[test]
    fn a_restarted_daemon_keeps_its_zone_counter() {
        let mut w = World::new(&[AZ1]);
        let mut d = [(AZ1, StatusCounters::default())];
        for _ in 0..5 {
            w.sync();
            settle(&mut w, &mut d);
        }
        assert_eq!(w.zones[&AZ1].nb_ic_cfg, 5);
        let mut fresh = [(AZ1, StatusCounters::default())];
        assert_eq!(
            settle(&mut w, &mut fresh),
            0,
            "nothing to write after a restart"
        );
        assert_eq!(w.zones[&AZ1].nb_ic_cfg, 5);
        w.sync();
        settle(&mut w, &mut fresh);
        assert!(w.caught_up());
    }

    #[test]
    fn a_counter_ahead_of_the_confirmed_value_is_set_back() {
        let mut w = World::new(&[AZ1]);
        let mut d = [(AZ1, StatusCounters::default())];
        settle(&mut w, &mut d);
        w.zones.get_mut(&AZ1).unwrap().nb_ic_cfg = 9;
        settle(&mut w, &mut d);
        assert_eq!(w.zones[&AZ1].nb_ic_cfg, 0);
    }

    #[test]
    fn an_uncommitted_round_confirms_nothing() {
        let mut w = World::new(&[AZ1]);
        let mut s = StatusCounters::default();
        let mut ops = Ops::default();
        s.run(AZ1, &w.rows(), &mut ops);
        s.committed();
        w.sync();
        let mut ops = Ops::default();
        s.run(AZ1, &w.rows(), &mut ops);
        // The increment was not committed: the next round still sees the old counter and
        // the old confirmed value.
        assert_eq!(ops.ic_sb.len(), 1);
        let mut again = Ops::default();
        s.run(AZ1, &w.rows(), &mut again);
        assert_eq!(again.ic_sb.len(), 1);
        assert_eq!(s.confirmed(), Some(0));
    }

    #[test]
    fn missing_global_rows_are_created_under_a_wait() {
        let mut w = World::new(&[AZ1]);
        w.inb.clear();
        w.isb.clear();
        let mut ops = Ops::default();
        StatusCounters::default().run(AZ1, &w.rows(), &mut ops);
        assert!(matches!(ops.ic_nb[0], Operation::Wait { .. }));
        assert!(
            matches!(ops.ic_nb[1], Operation::Insert { ref table, .. } if table == "IC_NB_Global")
        );
        assert!(matches!(ops.ic_sb[0], Operation::Wait { .. }));
        assert!(
            matches!(ops.ic_sb[1], Operation::Insert { ref table, .. } if table == "IC_SB_Global")
        );
    }
}
