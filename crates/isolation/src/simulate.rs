//! What the interconnection daemons would do with a [`World`], offline.
//!
//! [`exchange`] runs the real ovn-ic logic ([`ic_routes::sim`]: the northd stand-in, the
//! zone steps, the route engine, over in-memory databases with `ovsdb-server`'s rules)
//! on the world's rows until nothing changes, then reads the rows back: transit switches
//! mirrored into every zone, zones registered, router ports bound, routes advertised and
//! learned. It is how the tests, examples and audits predict a deployment — with the
//! isolation filter in some zones, or as a stock `ovn-ic` of a given release — without a
//! second implementation of ovn-ic's rules.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use ic_routes::sim::Interconnection;
use ic_routes::{RouteFilter, Semantics};
use ovn_nb::{LoadBalancer, LoadBalancerGroup};
use ovsdb_proto::dump::Dump;
use ovsdb_proto::typed::Table;
use ovsdb_proto::DatabaseSchema;
use ovsdb_server::MemoryDb;

use crate::error::Error;
use crate::rows::{IcRows, World, ZoneNb, ZONE_TABLES};

/// How each zone's daemon behaves.
#[derive(Clone)]
pub struct Daemons {
    /// The filter of every zone not in `filters` ([`ic_routes::AllowAll`] is ovn-ic's).
    pub default_filter: Arc<dyn RouteFilter>,
    /// Per zone name: its own filter.
    pub filters: BTreeMap<String, Arc<dyn RouteFilter>>,
    /// The release of ovn-ic every zone follows.
    pub semantics: Semantics,
    /// Per zone name: its own release.
    pub releases: BTreeMap<String, Semantics>,
}

impl std::fmt::Debug for Daemons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemons")
            .field("filters", &self.filters.keys().collect::<Vec<_>>())
            .field("semantics", &self.semantics)
            .field("releases", &self.releases)
            .finish_non_exhaustive()
    }
}

impl Daemons {
    /// Every zone runs the stock daemon of `semantics`' release.
    pub fn stock(semantics: Semantics) -> Self {
        Daemons {
            default_filter: Arc::new(ic_routes::AllowAll),
            filters: BTreeMap::new(),
            semantics,
            releases: BTreeMap::new(),
        }
    }

    /// Every zone runs the newest rules with `filter`.
    pub fn filtered(filter: Arc<dyn RouteFilter>) -> Self {
        Daemons {
            default_filter: filter,
            ..Daemons::stock(Semantics::NEWEST)
        }
    }
}

/// The NB tables a simulated zone holds: those of [`ZoneNb`] and the load balancers the
/// route engine reads.
static SIM_NB: LazyLock<DatabaseSchema> = LazyLock::new(|| {
    ovn_nb::schema().subset(
        ZONE_TABLES
            .iter()
            .copied()
            .chain([LoadBalancer::NAME, LoadBalancerGroup::NAME]),
    )
});

/// Runs the zones' daemons on `world` until nothing changes (at most `max_rounds` rounds
/// that write) and replaces the world's rows with the result. A zone whose `NB_Global` has
/// no name gets the zone's name, and `ic-route-adv`/`ic-route-learn` are on unless the
/// world says otherwise: a world describes zones meant to be interconnected. Returns the
/// number of rounds that wrote.
///
/// # Errors
///
/// When the rows do not load (dangling references), a simulated transaction is refused,
/// or the daemons keep writing.
pub fn exchange(world: &mut World, daemons: &Daemons, max_rounds: usize) -> Result<usize, Error> {
    let sim_err = |e: ic_routes::sim::SimError| Error::Apply(e.to_string());
    let mut ic = Interconnection::new();
    load(ic.ic_nb_mut(), &world.ic.ic_nb_dump())?;
    load(ic.ic_sb_mut(), &world.ic.ic_sb_dump())?;
    for z in &world.zones {
        let mut nb = MemoryDb::new(SIM_NB.clone());
        let mut zone = z.clone();
        if zone.nb_global.name.is_empty() {
            zone.nb_global.name = zone.zone.clone();
        }
        for key in ["ic-route-adv", "ic-route-learn"] {
            if zone.nb_global.options.get(key).is_none() {
                zone.nb_global.options.insert(key, "true");
            }
        }
        load(&mut nb, &zone.to_dump())?;
        let sim = ic.add_zone_with(&z.zone, nb).map_err(sim_err)?;
        sim.set_semantics(
            daemons
                .releases
                .get(&z.zone)
                .copied()
                .unwrap_or(daemons.semantics),
        );
        sim.set_filter(
            daemons
                .filters
                .get(&z.zone)
                .cloned()
                .unwrap_or_else(|| daemons.default_filter.clone()),
        );
    }
    let rounds = ic.settle(max_rounds).map_err(sim_err)?;
    for (z, sim) in world.zones.iter_mut().zip(ic.zones()) {
        let mut back = ZoneNb::from_dump(Some(&z.zone), &sim.nb().dump())?;
        // The world keeps its own NB_Global (the name and options set above were for the
        // daemons).
        back.nb_global = z.nb_global.clone();
        *z = back;
    }
    world.ic = IcRows::from_dumps(&ic.ic_nb().dump(), &ic.ic_sb().dump())?;
    Ok(rounds)
}

/// Loads `rows` into `db` with their UUIDs.
fn load(db: &mut MemoryDb, rows: &Dump) -> Result<(), Error> {
    let all = rows
        .tables()
        .iter()
        .flat_map(|(t, r)| r.iter().map(move |(u, row)| (t.as_str(), *u, row.clone())));
    let reply = db.load(all).map_err(|e| Error::Input(e.to_string()))?;
    reply
        .into_result()
        .map(drop)
        .map_err(|(i, e)| Error::Input(format!("rows do not load (row {i}): {e}")))
}
