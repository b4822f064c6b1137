//! Interconnected zones simulated offline: the real zone steps, route engine and northd
//! stand-in over in-memory databases with `ovsdb-server`'s transaction rules.
//!
//! [`Interconnection`] holds the IC-NB and IC-SB databases and, per zone, an NB and an SB
//! database ([`ovsdb_server::MemoryDb`]). Each [`round`](Interconnection::round) runs, per
//! zone in order, what the real programs would: the northd stand-in
//! ([`crate::northd`]) brings the zone's SB up to date with its NB, then the zone's
//! interconnection daemon computes from all four databases (the [`crate::zone`] steps, the
//! status counters and the route engine, [`crate::Snapshot::plan_filtered`]) and commits one
//! transaction per database. [`settle`](Interconnection::settle) repeats rounds until one
//! writes nothing.
//!
//! It is how tests, examples and offline tools predict what a deployment does: the
//! isolation verifier's worlds, upstream's scenarios without servers, "what would a stock
//! ovn-ic of release X learn here". There is no second implementation of ovn-ic's rules in
//! it; only the scheduling (zones in turn, each round to completion) is its own.
//!
//! ```
//! use ic_routes::sim::Interconnection;
//!
//! let mut ic = Interconnection::new();
//! ic.add_zone("az1")?;
//! ic.add_zone("az2")?;
//! let rounds = ic.settle(10)?;
//! // Both zones registered in IC-SB.
//! assert_eq!(ic.ic_sb().rows("Availability_Zone").count(), 2);
//! # let _ = rounds;
//! # Ok::<(), ic_routes::sim::SimError>(())
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use ovn_nb::NbGlobal;
use ovsdb_proto::typed::{StringMap, Table, TypedStore};
use ovsdb_proto::{DatabaseSchema, Operation, Uuid};
use ovsdb_server::MemoryDb;

use crate::incremental::Database;
use crate::northd::{northd_stand_in, NorthdRows};
use crate::zone::status::{StatusCounters, StatusRows};
use crate::zone::{Ops, Registration, Rows, ZoneState};
use crate::{AllowAll, RouteFilter, Semantics, Snapshot};

/// Why a simulation step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A transaction was refused by the in-memory database (the simulated program asked for
    /// something the server would refuse).
    #[error("zone {zone}: {database:?} transaction refused at operation {index}: {error}")]
    Refused {
        /// The zone whose step wrote it (`""` for the IC databases' own setup).
        zone: String,
        /// The database.
        database: Database,
        /// The operation that failed.
        index: usize,
        /// The server's error.
        error: String,
    },
    /// The in-memory database failed outside OVSDB's rules (encoding, decoding).
    #[error("zone {zone}: {source}")]
    Memory {
        /// The zone.
        zone: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No zone of that name.
    #[error("no zone {0}")]
    NoSuchZone(String),
    /// Rounds kept writing (a loop between zones, or not enough rounds allowed).
    #[error("still writing after {0} rounds")]
    NoConvergence(usize),
}

/// One simulated availability zone.
pub struct SimZone {
    name: String,
    nb: MemoryDb,
    sb: MemoryDb,
    state: ZoneState,
    counters: StatusCounters,
    filter: Arc<dyn RouteFilter>,
    run_northd: bool,
}

impl std::fmt::Debug for SimZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimZone")
            .field("name", &self.name)
            .field("semantics", &self.state.semantics)
            .finish_non_exhaustive()
    }
}

impl SimZone {
    /// The zone's name (`NB_Global.name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's `OVN_Northbound`.
    pub fn nb(&self) -> &MemoryDb {
        &self.nb
    }

    /// The zone's `OVN_Northbound`, to change the topology (what `ovn-nbctl` does).
    pub fn nb_mut(&mut self) -> &mut MemoryDb {
        &mut self.nb
    }

    /// The zone's `OVN_Southbound`.
    pub fn sb(&self) -> &MemoryDb {
        &self.sb
    }

    /// The zone's `OVN_Southbound`, to add what `ovn-controller` would (chassis, encaps).
    pub fn sb_mut(&mut self) -> &mut MemoryDb {
        &mut self.sb
    }

    /// Makes the zone's daemon behave as `semantics`' ovn-ic.
    pub fn set_semantics(&mut self, semantics: Semantics) {
        self.state.semantics = semantics;
    }

    /// Makes the zone's route engine consult `filter` (VPC isolation); [`AllowAll`] is
    /// ovn-ic.
    pub fn set_filter(&mut self, filter: Arc<dyn RouteFilter>) {
        self.filter = filter;
    }

    /// Whether the northd stand-in runs for this zone (default: yes). Off when the caller
    /// writes the zone's SB itself.
    pub fn set_northd(&mut self, on: bool) {
        self.run_northd = on;
    }
}

/// IC databases and zones in memory (see the module docs).
#[derive(Debug)]
pub struct Interconnection {
    ic_nb: MemoryDb,
    ic_sb: MemoryDb,
    zones: Vec<SimZone>,
}

impl Default for Interconnection {
    fn default() -> Self {
        Interconnection::new()
    }
}

fn parsed(json: &str) -> DatabaseSchema {
    DatabaseSchema::from_slice(json.as_bytes()).expect("a generated crate's schema parses")
}

static NB_SCHEMA: LazyLock<DatabaseSchema> = LazyLock::new(|| parsed(ovn_nb::SCHEMA_JSON));
static SB_SCHEMA: LazyLock<DatabaseSchema> = LazyLock::new(|| parsed(ovn_sb::SCHEMA_JSON));

/// UUIDs of rows the simulated programs insert: unique in the process.
fn sim_uuid() -> Uuid {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Uuid::from_u64_pair(0x5131_0000_0000_4000, NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Interconnection {
    /// Empty IC databases (the newest schemas the typed crates pin), no zone yet.
    pub fn new() -> Self {
        Interconnection {
            ic_nb: MemoryDb::new(parsed(ovn_ic_nb::SCHEMA_JSON)),
            ic_sb: MemoryDb::new(parsed(ovn_ic_sb::SCHEMA_JSON)),
            zones: Vec::new(),
        }
    }

    /// Adds zone `name`: an NB whose `NB_Global` has that name and route advertisement and
    /// learning on (as upstream's tests set them up), an empty SB, and its daemon (newest
    /// rules, no filter).
    ///
    /// # Errors
    ///
    /// When the NB row cannot be written (it can).
    pub fn add_zone(&mut self, name: &str) -> Result<&mut SimZone, SimError> {
        let mut nb = MemoryDb::new(NB_SCHEMA.clone());
        let mut global = NbGlobal::default();
        global.name = name.to_owned();
        global.options = StringMap::from_iter([
            ("ic-route-adv".to_owned(), "true".to_owned()),
            ("ic-route-learn".to_owned(), "true".to_owned()),
        ]);
        commit(name, Database::Nb, &mut nb, vec![global.insert_op()])?;
        self.add_zone_with(name, nb)
    }

    /// Adds zone `name` whose NB is `nb` (loaded by the caller, for example from a dump; its
    /// `NB_Global.name` decides the zone's registration as for ovn-ic).
    ///
    /// # Errors
    ///
    /// None today; the signature leaves room for checks.
    pub fn add_zone_with(&mut self, name: &str, nb: MemoryDb) -> Result<&mut SimZone, SimError> {
        self.zones.push(SimZone {
            name: name.to_owned(),
            nb,
            sb: MemoryDb::new(SB_SCHEMA.clone()),
            state: ZoneState::new(sim_uuid),
            counters: StatusCounters::default(),
            filter: Arc::new(AllowAll),
            run_northd: true,
        });
        Ok(self.zones.last_mut().expect("just pushed"))
    }

    /// The zones, in the order they were added (and run).
    pub fn zones(&self) -> &[SimZone] {
        &self.zones
    }

    /// Zone `name`.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchZone`].
    pub fn zone_mut(&mut self, name: &str) -> Result<&mut SimZone, SimError> {
        self.zones
            .iter_mut()
            .find(|z| z.name == name)
            .ok_or_else(|| SimError::NoSuchZone(name.to_owned()))
    }

    /// `OVN_IC_Northbound`.
    pub fn ic_nb(&self) -> &MemoryDb {
        &self.ic_nb
    }

    /// `OVN_IC_Northbound`, to add transit switches (what `ovn-ic-nbctl ts-add` does).
    pub fn ic_nb_mut(&mut self) -> &mut MemoryDb {
        &mut self.ic_nb
    }

    /// `OVN_IC_Southbound`.
    pub fn ic_sb(&self) -> &MemoryDb {
        &self.ic_sb
    }

    /// `OVN_IC_Southbound`, to load rows an earlier run left (zones, bindings, routes).
    pub fn ic_sb_mut(&mut self) -> &mut MemoryDb {
        &mut self.ic_sb
    }

    /// One round: every zone in turn runs the northd stand-in, then its daemon's steps,
    /// each database's operations committed as one transaction. Returns whether anything
    /// was written.
    ///
    /// # Errors
    ///
    /// When a simulated program's transaction is refused.
    pub fn round(&mut self) -> Result<bool, SimError> {
        let mut wrote = false;
        for i in 0..self.zones.len() {
            wrote |= self.northd(i)?;
            wrote |= self.daemon(i)?;
        }
        Ok(wrote)
    }

    /// Rounds until one writes nothing; returns how many wrote.
    ///
    /// # Errors
    ///
    /// [`SimError::NoConvergence`] after `max_rounds` writing rounds, or a refused
    /// transaction.
    pub fn settle(&mut self, max_rounds: usize) -> Result<usize, SimError> {
        for n in 0..max_rounds {
            if !self.round()? {
                return Ok(n);
            }
        }
        Err(SimError::NoConvergence(max_rounds))
    }

    fn northd(&mut self, i: usize) -> Result<bool, SimError> {
        let z = &mut self.zones[i];
        if !z.run_northd {
            return Ok(false);
        }
        let nb = store::<ovn_nb::Database>(&z.name, &z.nb)?;
        let sb = store::<ovn_sb::Database>(&z.name, &z.sb)?;
        let mut next = sim_uuid;
        let ops = northd_stand_in(&NorthdRows::from_sources(&nb, &sb), &mut next);
        let wrote = !ops.is_empty();
        commit(&z.name, Database::Sb, &mut z.sb, ops)?;
        Ok(wrote)
    }

    fn daemon(&mut self, i: usize) -> Result<bool, SimError> {
        let z = &mut self.zones[i];
        let name = z.name.clone();
        let nb = store::<ovn_nb::Database>(&name, &z.nb)?;
        let sb = store::<ovn_sb::Database>(&name, &z.sb)?;
        let ic_nb = store::<ovn_ic_nb::Database>(&name, &self.ic_nb)?;
        let ic_sb = store::<ovn_ic_sb::Database>(&name, &self.ic_sb)?;
        let rows = Rows::from_sources(&nb, &sb, &ic_nb, &ic_sb)
            .expect("a store of a whole database holds every table");
        let mut ops = Ops::default();
        if let Registration::Registered {
            name: az_name,
            uuid,
        } = z.state.run(&rows, &mut ops)
        {
            if let (Some(ic_nb_global), Some(ic_sb_global)) = (
                ovsdb_proto::typed::TypedRows::rows(&ic_nb),
                ovsdb_proto::typed::TypedRows::rows(&ic_sb),
            ) {
                let status = StatusRows {
                    ic_nb_global,
                    ic_sb_global,
                    zones: rows.zones,
                };
                z.counters.run(uuid, &status, &mut ops);
            }
            let mut snapshot = Snapshot::from_sources(az_name, &nb, &ic_nb, &ic_sb)
                .expect("a store of a whole database holds every table");
            snapshot.ic_sb.supports_lb_origin = true;
            snapshot.semantics = z.state.semantics;
            let plan = snapshot.plan_filtered(z.filter.as_ref());
            let route_ops = plan.operations();
            ops.nb.extend(route_ops.nb);
            ops.ic_sb.extend(route_ops.ic_sb);
        }
        let wrote = !ops.is_empty();
        commit(&name, Database::Nb, &mut z.nb, ops.nb)?;
        commit(&name, Database::Sb, &mut z.sb, ops.sb)?;
        commit(&name, Database::IcNb, &mut self.ic_nb, ops.ic_nb)?;
        commit(&name, Database::IcSb, &mut self.ic_sb, ops.ic_sb)?;
        z.counters.committed();
        Ok(wrote)
    }
}

/// Every table of `D` in `db`, typed.
fn store<D: ovsdb_proto::typed::Database>(
    zone: &str,
    db: &MemoryDb,
) -> Result<TypedStore, SimError> {
    TypedStore::from_dump::<D>(&db.dump()).map_err(|e| SimError::Memory {
        zone: zone.to_owned(),
        source: Box::new(e),
    })
}

/// Commits `ops` to `db` as one transaction (nothing when empty).
fn commit(
    zone: &str,
    database: Database,
    db: &mut MemoryDb,
    ops: Vec<Operation>,
) -> Result<(), SimError> {
    if ops.is_empty() {
        return Ok(());
    }
    let reply = db.transact(&ops).map_err(|e| SimError::Memory {
        zone: zone.to_owned(),
        source: Box::new(e),
    })?;
    reply
        .into_result()
        .map(drop)
        .map_err(|(index, e)| SimError::Refused {
            zone: zone.to_owned(),
            database,
            index,
            error: e.to_string(),
        })
}
