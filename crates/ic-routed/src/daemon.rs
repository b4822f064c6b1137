//! The tokio shell: replicas of the zone's four databases, the `ovn_ic` lock, and rounds.
//!
//! A round reads the four replicas under their read locks, runs the [`ic_routes::zone`] steps
//! and the route engine, and commits at most one transaction per database (the southbound
//! one guarded by an `assert` of the lock, so a daemon that lost the lock cannot write).
//! Because `ovsdb-client` returns from `transact` only once the replica holds the
//! transaction's effects, the next round sees them; rounds repeat until one writes nothing,
//! then the daemon sleeps until a replica changes or the lock changes hands.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ic_routes::{
    AllowAll, Change, Database, Engine, RouteFilter, RouteScope, Snapshot, Table as EngineTable,
};
use ovn_ic_sb as icsb;
use ovn_nb as nb;
use ovsdb_client::tls::TlsConfig;
use ovsdb_client::{
    Cache, CacheEvent, Client, ClientConfig, ClientError, LockHandle, MonitorSpec, Tables,
    TypedTable,
};
use ovsdb_proto::typed::{StringMap, Table, TableVisitor};
use ovsdb_proto::{Condition, Operation, Uuid};
use tokio::sync::{broadcast, watch, Notify};
use tracing::{debug, info, warn};

use crate::controls::{Asked, Controls, Query};
pub use crate::controls::{Control, Status};
use crate::metrics::Metrics;
use crate::policy::{Isolation, ZoneRemote};
use ic_routes::zone::status::{StatusCounters, StatusRows};
use ic_routes::zone::{Ops, Registration, Rows, ZoneState};

mod config;
mod live_isolation;
mod route_scope;

use config::{client_config, needs_probes};
pub use config::{Config, TlsFiles};
use live_isolation::LiveIsolation;
use route_scope::scopes_routes;

/// The name of the southbound lock that makes one daemon per zone active (ovn-ic's).
pub const LOCK_NAME: &str = "ovn_ic";

/// A shared filter, as the engine takes it.
#[derive(Debug, Clone)]
struct SharedFilter(Arc<dyn RouteFilter>);

impl RouteFilter for SharedFilter {
    fn learn(&self, candidate: &ic_routes::LearnCandidate<'_>) -> bool {
        self.0.learn(candidate)
    }
    fn advertise(&self, candidate: &ic_routes::AdvertiseCandidate<'_>) -> bool {
        self.0.advertise(candidate)
    }
    fn annotate(
        &self,
        candidate: &ic_routes::AdvertiseCandidate<'_>,
    ) -> Option<&ovsdb_proto::typed::StringMap> {
        self.0.annotate(candidate)
    }
    fn annotation_prefix(&self) -> Option<&str> {
        self.0.annotation_prefix()
    }
}

/// Why the daemon could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// A remote or the TLS files are unusable.
    #[error("{db}: {source}")]
    Config {
        /// Which database.
        db: &'static str,
        /// The cause.
        #[source]
        source: ClientError,
    },
    /// A connection failed for good (the client shut down).
    #[error("{db}: {source}")]
    Client {
        /// Which database.
        db: &'static str,
        /// The cause.
        #[source]
        source: ClientError,
    },
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoundStats {
    /// Whether this daemon held the lock and the zone was registered.
    pub active: bool,
    /// Operations sent per database: NB, SB, IC-NB, IC-SB.
    pub ops: [usize; 4],
    /// Transactions that failed.
    pub failed: usize,
    /// Learned routes inserted and deleted by the route engine.
    pub learned: (usize, usize),
    /// Advertisements inserted and deleted by the route engine.
    pub advertised: (usize, usize),
    /// Time spent computing (replicas locked), and committing.
    pub compute: Duration,
    /// Time spent committing.
    pub commit: Duration,
}

impl RoundStats {
    /// Whether the round wrote anything.
    pub fn wrote(&self) -> bool {
        self.ops.iter().any(|n| *n > 0)
    }
}

struct Db {
    name: &'static str,
    /// Whether the remote is probed by default (`tcp:`/`ssl:`, not `unix:`).
    needs_probes: bool,
    /// The inactivity probe interval the connection uses now.
    probe: Option<Duration>,
    client: Client,
    cache: Arc<Cache>,
    events: broadcast::Receiver<CacheEvent>,
}

/// One zone's interconnection daemon.
pub struct Daemon {
    config: Config,
    nb: Db,
    sb: Db,
    ic_nb: Db,
    ic_sb: Db,
    lock: LockHandle,
    state: ZoneState,
    status_counters: StatusCounters,
    was_active: bool,
    controls: Controls,
    control: watch::Receiver<Control>,
    /// The incremental route engine, once the zone is registered.
    engine: Option<Engine>,
    /// Rows of the engine's tables changed since it last looked.
    changed: Vec<(EngineTable, Uuid)>,
    /// The engine must be rebuilt from the replicas (start, resync, lag, failed write).
    rebuild: bool,
    /// VPC isolation with a live inventory, when configured.
    isolation: Option<LiveIsolation>,
    /// Questions from the control socket (`routes/explain`, `routes/list`).
    queries: Option<tokio::sync::mpsc::UnboundedReceiver<Asked>>,
    /// The route scope the IC-SB `Route` monitor's condition holds, or `None` when it keeps
    /// every route (VPC isolation's live inventory reads other zones' claims on any switch).
    route_scope: Option<RouteScope>,
    /// The last round found the zone's scope wider or narrower than the monitor's: the
    /// next one follows it before the routes are planned.
    scope_behind: bool,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("ovnnb_db", &self.config.ovnnb_db)
            .field("active", &self.was_active)
            .finish()
    }
}

/// The tables ic-routed reads in `db`: exactly those ovn-ic's logic reads
/// ([`ic_routes::tables::visit_tables`]), each kept typed only (decoded straight into the
/// generated rows, never as untyped rows).
fn typed_tables(db: Database) -> Vec<TypedTable> {
    struct Collect(Vec<TypedTable>);
    impl TableVisitor for Collect {
        fn visit<T: Table + Send + Sync + 'static>(&mut self) {
            self.0.push(TypedTable::of::<T>());
        }
    }
    let mut c = Collect(Vec::new());
    ic_routes::tables::visit_tables(db, &mut c);
    // And those VPC isolation's live inventory reads, if ovn-ic's logic does not already.
    match db {
        Database::Nb => isolation::live::visit_nb_tables(&mut c),
        Database::IcSb => isolation::live::visit_ic_sb_tables(&mut c),
        _ => {}
    }
    let mut seen = std::collections::HashSet::new();
    c.0.retain(|t| seen.insert(t.name().to_owned()));
    c.0
}

/// The short name of a database in logs (ovn-ic's IDL names).
fn db_name(db: Database) -> &'static str {
    match db {
        Database::Nb => "ovnnb",
        Database::Sb => "ovnsb",
        Database::IcNb => "ic-nb",
        _ => "ic-sb",
    }
}

async fn open(
    kind: Database,
    remote: &str,
    config: &Config,
    controls: &Controls,
) -> Result<Db, DaemonError> {
    let (name, db, tables) = (db_name(kind), kind.schema_name(), typed_tables(kind));
    let client = Client::start(client_config(name, remote, config)?);
    // `*-connection-status`: follow the client's state for as long as it lives.
    let mut state = client.watch_status();
    let connected = controls.connection(kind).clone();
    tokio::spawn(async move {
        loop {
            let up = matches!(
                *state.borrow_and_update(),
                ovsdb_client::Status::Connected { .. }
            );
            connected.send_replace(up);
            if state.changed().await.is_err() {
                connected.send_replace(false);
                return;
            }
        }
    });
    let events = client.subscribe();
    info!(db = name, remote, "connecting");
    let mut spec = MonitorSpec {
        typed: tables.clone(),
        ..MonitorSpec::tables(tables.iter().map(TypedTable::name))
    };
    if kind == Database::IcSb && scopes_routes(config) {
        // No route until the zone's scope is known (`Daemon::follow_route_scope`).
        spec = spec.condition(icsb::Route::NAME, vec![Condition::Bool(false)]);
    }
    let cache = client
        .monitor(db, spec)
        .await
        .map_err(|source| DaemonError::Client { db: name, source })?;
    info!(
        db = name,
        rows = cache.read().total_rows(),
        "replica in sync"
    );
    if let (Some(schema), Some(t)) = (cache.schema(), tables.first()) {
        let history = t.history();
        let missing = history.missing(&schema);
        info!(
            db = name,
            version = schema.version.as_deref().unwrap_or(""),
            release = %history
                .release_of(&schema)
                .map_or_else(|| "unknown".to_owned(), |r| r.to_string()),
            missing = missing.len(),
            "server schema"
        );
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
            debug!(db = name, missing = %list.join(", "), "not on the server");
        }
    }
    Ok(Db {
        name,
        needs_probes: needs_probes(remote),
        probe: ic_routes::zone::probe_interval(None, needs_probes(remote)),
        client,
        cache,
        events,
    })
}

impl Daemon {
    /// Connects to the four databases, waits for their initial copies and asks for the
    /// `ovn_ic` lock on the southbound database.
    pub async fn start(config: Config) -> Result<Daemon, DaemonError> {
        Daemon::start_with(config, Controls::new()).await
    }

    /// Like [`Daemon::start`], obeying and reporting through `controls`, which a control
    /// socket may serve already (it reports each connection as it comes up).
    pub async fn start_with(config: Config, controls: Controls) -> Result<Daemon, DaemonError> {
        controls.set_semantics(
            config
                .release
                .map_or(ic_routes::Semantics::NEWEST, ic_routes::Semantics::of),
        );
        let (nb, sb, ic_nb, ic_sb) = tokio::try_join!(
            open(Database::Nb, &config.ovnnb_db, &config, &controls),
            open(Database::Sb, &config.ovnsb_db, &config, &controls),
            open(Database::IcNb, &config.ic_nb_db, &config, &controls),
            open(Database::IcSb, &config.ic_sb_db, &config, &controls),
        )?;
        let control = controls.controller().subscribe();
        let controls_queries = controls.take_queries();
        let lock = sb
            .client
            .lock(LOCK_NAME)
            .map_err(|source| DaemonError::Client {
                db: "ovnsb",
                source,
            })?;
        let isolation = match &config.isolation {
            Some(i) => Some(LiveIsolation::start(i, &config)?),
            None => None,
        };
        let route_scope = scopes_routes(&config).then(RouteScope::default);
        let daemon = Daemon {
            isolation,
            config,
            nb,
            sb,
            ic_nb,
            ic_sb,
            lock,
            state: ZoneState::new(random_uuid),
            status_counters: StatusCounters::default(),
            was_active: false,
            controls,
            control,
            engine: None,
            changed: Vec::new(),
            rebuild: true,
            queries: controls_queries,
            route_scope,
            scope_behind: false,
        };
        daemon.controls.set_semantics(daemon.semantics());
        if let Some(m) = &daemon.config.metrics {
            m.attach(
                &daemon.controls,
                daemon.nb.cache.clone(),
                daemon.ic_sb.cache.clone(),
            );
        }
        Ok(daemon)
    }

    /// The sender the control socket (or an embedding program) uses to pause, resume or
    /// stop [`Daemon::run`].
    pub fn controller(&self) -> Arc<watch::Sender<Control>> {
        self.controls.controller()
    }

    /// The daemon's state as `ovn-appctl status` reports it.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.controls.status()
    }

    /// The daemon's commands and reports (what its control socket serves).
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Whether this daemon holds the `ovn_ic` lock (it is the zone's active instance).
    pub fn is_active(&self) -> bool {
        self.lock.is_held()
    }

    /// Follows `options:ic_probe_interval` of `NB_Global` (NB and SB connections) and
    /// `IC_NB_Global` (both IC connections), as ovn-ic does on every main-loop iteration.
    fn follow_probe_intervals(&mut self) {
        let probes =
            |cache: &Cache, needs_probes: [bool; 2], global: fn(&Tables) -> Option<&StringMap>| {
                let t = cache.read();
                let options = global(&t);
                needs_probes.map(|n| ic_routes::zone::probe_interval(options, n))
            };
        let [nb, sb] = probes(
            &self.nb.cache,
            [self.nb.needs_probes, self.sb.needs_probes],
            |t| {
                t.typed::<nb::NbGlobal>()
                    .and_then(|rows| rows.values().next())
                    .map(|g| &g.options)
            },
        );
        let [ic_nb, ic_sb] = probes(
            &self.ic_nb.cache,
            [self.ic_nb.needs_probes, self.ic_sb.needs_probes],
            |t| {
                t.typed::<ovn_ic_nb::IcNbGlobal>()
                    .and_then(|rows| rows.values().next())
                    .map(|g| &g.options)
            },
        );
        for (db, probe) in [
            (&mut self.nb, nb),
            (&mut self.sb, sb),
            (&mut self.ic_nb, ic_nb),
            (&mut self.ic_sb, ic_sb),
        ] {
            if probe != db.probe && db.client.set_probe_interval(probe).is_ok() {
                info!(db = db.name, interval_ms = ?probe.map(|p| p.as_millis()), "inactivity probe interval");
                db.probe = probe;
            }
        }
    }

    /// The route filter in force: the live VPC filter, else the configured one.
    fn route_filter(&self) -> Option<Arc<dyn RouteFilter>> {
        match &self.isolation {
            Some(iso) => iso.filter.clone().map(|f| f as Arc<dyn RouteFilter>),
            None => self.config.filter.clone(),
        }
    }

    /// Runs one round: when active, computes and commits what the zone needs.
    pub async fn round(&mut self) -> RoundStats {
        let mut stats = RoundStats::default();
        self.follow_probe_intervals();
        let held = self.lock.is_held();
        if held != self.was_active {
            self.controls.set_status(if held {
                Status::Active
            } else {
                Status::Standby
            });
            if held {
                // A standby's counters are stale: start again from the zone's current
                // value, as a freshly started daemon does (the README's restart row).
                self.status_counters = StatusCounters::default();
                info!("ovn-ic lock acquired. This ovn-ic instance is now active.");
            } else {
                info!("ovn-ic lock lost. This ovn-ic instance is now on standby.");
            }
            self.was_active = held;
        }
        if !held {
            // As ovn-ic: a standby recomputes in full once it becomes active, so it keeps
            // neither the engine nor an ever-growing list of changes meanwhile.
            self.changed.clear();
            self.engine = None;
            self.rebuild = true;
            if let Some(iso) = &mut self.isolation {
                iso.routes_changed.clear();
                iso.dirty = true;
            }
            return stats;
        }
        if !self.follow_route_scope().await {
            stats.failed += 1;
            return stats;
        }
        let started = Instant::now();
        let (ops, registered, plan_counts) = self.compute();
        stats.compute = started.elapsed();
        stats.active = registered;
        stats.learned = (plan_counts.0, plan_counts.1);
        stats.advertised = (plan_counts.2, plan_counts.3);
        stats.ops = [ops.nb.len(), ops.sb.len(), ops.ic_nb.len(), ops.ic_sb.len()];
        let commit = Instant::now();
        let (nb_ops, sb_ops, ic_nb_ops, ic_sb_ops) = (ops.nb, ops.sb, ops.ic_nb, ops.ic_sb);
        let mut sb_txn = sb_ops;
        if !sb_txn.is_empty() {
            sb_txn.insert(
                0,
                Operation::Assert {
                    lock: LOCK_NAME.to_owned(),
                },
            );
        }
        let (a, b, d, c) = tokio::join!(
            commit_db(&self.nb, nb_ops),
            commit_db(&self.sb, sb_txn),
            commit_db(&self.ic_nb, ic_nb_ops),
            commit_db(&self.ic_sb, ic_sb_ops),
        );
        stats.failed = [a, b, c, d].iter().filter(|ok| !**ok).count();
        if let Some(m) = &self.config.metrics {
            let dbs = [Database::Nb, Database::Sb, Database::IcNb, Database::IcSb];
            for ((db, ok), n) in dbs.into_iter().zip([a, b, d, c]).zip(stats.ops) {
                if n > 0 {
                    m.transaction(db, ok);
                }
            }
        }
        if c && registered {
            // The IC-NB state this round computed from is applied (ovn-ic's `cur_cfg`).
            self.status_counters.committed();
        }
        if !a || !c {
            // The engine's pending writes to that database will never echo back.
            self.rebuild = true;
        }
        stats.commit = commit.elapsed();
        if let Some(m) = &self.config.metrics {
            m.round((stats.compute + stats.commit).as_secs_f64(), stats.wrote());
        }
        if stats.wrote() {
            debug!(
                nb = stats.ops[0],
                sb = stats.ops[1],
                ic_nb = stats.ops[2],
                ic_sb = stats.ops[3],
                learned_added = stats.learned.0,
                learned_removed = stats.learned.1,
                advertised_added = stats.advertised.0,
                advertised_removed = stats.advertised.1,
                compute_us = stats.compute.as_micros() as u64,
                commit_us = stats.commit.as_micros() as u64,
                "round committed"
            );
        }
        stats
    }

    /// Computes one round's operations from the replicas (all four read-locked meanwhile,
    /// so the round sees whole transactions).
    fn compute(&mut self) -> (Ops, bool, (usize, usize, usize, usize)) {
        let nb_t = self.nb.cache.read();
        let sb_t = self.sb.cache.read();
        let icnb_t = self.ic_nb.cache.read();
        let icsb_t = self.ic_sb.cache.read();
        // Every table read here is registered in `Daemon::start` from the same list, and a
        // registered mirror exists even when the server lacks its table (schema skew: it is
        // then empty).
        let Some(rows) = Rows::from_sources(&*nb_t, &*sb_t, &*icnb_t, &*icsb_t) else {
            warn!("a replica lacks a table the zone steps read");
            return (Ops::default(), false, (0, 0, 0, 0));
        };
        let semantics = self.semantics();
        if self.state.semantics != semantics {
            info!(%semantics, "behaving as this release of ovn-ic");
            self.state.semantics = semantics;
            self.controls.set_semantics(semantics);
        }
        let mut ops = Ops::default();
        let t0 = Instant::now();
        let reg = self.state.run(&rows, &mut ops);
        let zone_us = t0.elapsed().as_micros() as u64;
        let Registration::Registered { name, uuid: az } = reg else {
            return (ops, false, (0, 0, 0, 0));
        };
        if let Some(m) = &self.config.metrics {
            m.zone(Some(az));
        }
        // The routes are planned only from a replica that holds the zone's whole scope: a
        // port binding or the registration may have changed it since the round began.
        self.scope_behind = self
            .route_scope
            .as_ref()
            .is_some_and(|s| RouteScope::read(&name, &*icsb_t).as_ref() != Some(s));
        if self.counters_supported() {
            if let (Some(ic_nb_global), Some(ic_sb_global)) = (
                icnb_t.typed::<ovn_ic_nb::IcNbGlobal>(),
                icsb_t.typed::<icsb::IcSbGlobal>(),
            ) {
                let status_rows = StatusRows {
                    ic_nb_global,
                    ic_sb_global,
                    zones: rows.zones,
                };
                self.status_counters.run(az, &status_rows, &mut ops);
            }
        }
        if self.scope_behind {
            return (ops, false, (0, 0, 0, 0));
        }
        if let Some(iso) = &mut self.isolation {
            if iso.refresh(&name, az, &nb_t, &icsb_t) {
                self.rebuild = true;
            }
        }
        let rebuild = self.rebuild || self.engine.as_ref().is_none_or(|e| e.zone() != name);
        let mut plan = None;
        if rebuild {
            drop((nb_t, sb_t, icnb_t, icsb_t));
        } else {
            let t1 = Instant::now();
            let changes = row_changes(&self.changed, [&nb_t, &sb_t, &icnb_t, &icsb_t]);
            let n = changes.len();
            let read_us = t1.elapsed().as_micros() as u64;
            drop((nb_t, sb_t, icnb_t, icsb_t));
            self.changed.clear();
            let engine = self.engine.as_mut().expect("checked above");
            engine.set_semantics(semantics);
            let t2 = Instant::now();
            let p = engine.apply_changes(changes);
            if let (Some(m), Some(c)) = (&self.config.metrics, engine.decision_counts()) {
                m.observe_decisions(c, false);
            }
            if n > 0 {
                debug!(
                    changes = n,
                    zone_us,
                    read_us,
                    engine_us = t2.elapsed().as_micros() as u64,
                    "route engine"
                );
            }
            if engine.needs_snapshot() {
                // The zone bound a port on another transit switch (or registered): routes
                // the engine left out may count now. Its plan may lack them; start again.
                info!("the zone's route scope grew; reading the IC-SB routes again");
            } else {
                plan = Some(p);
            }
        }
        let plan = match plan {
            Some(p) => p,
            None => match self.rebuild_engine(&name, semantics) {
                Some(p) => p,
                None => return (ops, false, (0, 0, 0, 0)),
            },
        };
        for d in &plan.diagnostics {
            warn!("{d}");
        }
        let counts = (
            plan.learned_to_insert.len(),
            plan.learned_to_delete.len(),
            plan.advertisements_to_insert.len(),
            plan.advertisements_to_delete.len(),
        );
        let route_ops = plan.operations();
        ops.nb.extend(route_ops.nb);
        ops.ic_sb.extend(route_ops.ic_sb);
        (ops, true, counts)
    }

    /// The release of ovn-ic to behave as: the pinned one, else the release of the zone's
    /// `OVN_Northbound` schema (the zone's own OVN), else the newest.
    /// A new route engine from the replicas as they are now: the zone's rows and only the
    /// IC-SB routes in its scope ([`ic_routes::RouteScope`]); returns its first (full) plan,
    /// or `None` when a replica lacks a table the engine reads.
    fn rebuild_engine(
        &mut self,
        name: &str,
        semantics: ic_routes::Semantics,
    ) -> Option<ic_routes::Plan> {
        let nb_t = self.nb.cache.read();
        let icnb_t = self.ic_nb.cache.read();
        let icsb_t = self.ic_sb.cache.read();
        let Some(mut snapshot) = Snapshot::from_sources_scoped(name, &*nb_t, &*icnb_t, &*icsb_t)
        else {
            warn!("a replica lacks a table the route engine reads");
            return None;
        };
        drop((nb_t, icnb_t, icsb_t));
        snapshot.ic_sb.supports_lb_origin = supports_lb_origin(&self.ic_sb.cache);
        snapshot.semantics = semantics;
        self.changed.clear();
        self.rebuild = false;
        let mut engine = match self.route_filter() {
            Some(f) => Engine::from_scoped_snapshot(snapshot, SharedFilter(f)),
            None => Engine::from_scoped_snapshot(snapshot, AllowAll),
        };
        engine.count_decisions(self.config.metrics.is_some());
        let plan = engine.apply(&[]);
        if let (Some(m), Some(c)) = (&self.config.metrics, engine.decision_counts()) {
            m.observe_decisions(c, true);
        }
        self.engine = Some(engine);
        Some(plan)
    }

    fn semantics(&self) -> ic_routes::Semantics {
        if let Some(r) = self.config.release {
            return ic_routes::Semantics::of(r);
        }
        self.nb
            .cache
            .schema()
            .and_then(|s| nb::history().release_of(&s))
            .map_or(ic_routes::Semantics::NEWEST, |m| {
                ic_routes::Semantics::of(m.oldest)
            })
    }

    /// Whether both IC databases have the status counters (IC-NB ≥ 1.1.0, IC-SB ≥ 1.2.0,
    /// OVN 24.03).
    fn counters_supported(&self) -> bool {
        let has = |cache: &Cache, table: &str, column: &str| {
            cache
                .schema()
                .is_some_and(|s| s.table(table).is_some_and(|t| t.column(column).is_some()))
        };
        has(&self.ic_nb.cache, "IC_NB_Global", "sb_ic_cfg")
            && has(&self.ic_sb.cache, "Availability_Zone", "nb_ic_cfg")
            && has(&self.ic_sb.cache, "IC_SB_Global", "nb_ic_cfg")
    }

    /// Runs rounds until `shutdown` completes: a round after every replica change and every
    /// change of lock ownership, repeated while rounds write.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut busy = 0u32;
        loop {
            let control = *self.control.borrow_and_update();
            match control {
                Control::Exit => break,
                Control::Pause => {
                    if self.controls.set_status(Status::Paused) != Status::Paused {
                        info!("This ovn-ic instance is now paused.");
                        let _ = self.sb.client.unlock(LOCK_NAME);
                        self.was_active = false;
                    }
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = self.control.changed() => {}
                        Some(asked) = next_query(&mut self.queries) => self.answer(asked),
                    }
                    continue;
                }
                Control::Run => {
                    if self.controls.status_now() == Status::Paused {
                        self.controls.set_status(Status::Standby);
                        match self.sb.client.lock(LOCK_NAME) {
                            Ok(lock) => self.lock = lock,
                            Err(e) => warn!(error = %e, "cannot ask for the lock again"),
                        }
                    }
                }
            }
            let stats = self.round().await;
            let again = if stats.failed > 0 {
                busy = 0;
                Some(self.config.retry_delay)
            } else if stats.wrote() || self.scope_behind {
                busy += 1;
                if busy >= self.config.max_busy_rounds {
                    warn!(rounds = busy, "still writing after many rounds; pausing");
                    busy = 0;
                    Some(self.config.retry_delay)
                } else {
                    Some(Duration::ZERO)
                }
            } else {
                busy = 0;
                None
            };
            if again == Some(Duration::ZERO) {
                self.drain_events();
                continue;
            }
            let sleep = tokio::time::sleep(again.unwrap_or(Duration::from_secs(3600)));
            tokio::pin!(sleep);
            // Wake on a change from the ownership the last round acted on, not from what
            // the handle says now: the lock may have been granted since that round looked,
            // and waiting for it to be lost would then leave the daemon on standby.
            let mut lock = self.lock.clone();
            let active = self.was_active;
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.control.changed() => {}
                _ = &mut sleep, if again.is_some() => {}
                ev = next_event(&mut self.nb.events) => self.note(Database::Nb, ev),
                ev = next_event(&mut self.ic_nb.events) => self.note(Database::IcNb, ev),
                ev = next_event(&mut self.ic_sb.events) => self.note(Database::IcSb, ev),
                ev = next_event(&mut self.sb.events) => self.note(Database::Sb, ev),
                _ = lock_changed(&mut lock, active) => {}
                _ = async { match self.isolation.as_mut() { Some(iso) => iso.changed().await, None => std::future::pending().await } } => {}
                Some(asked) = next_query(&mut self.queries) => self.answer(asked),
            }
            self.drain_events();
        }
        info!("exiting");
        self.shutdown();
    }

    /// Answers a question from the control socket from the replicas as they are now.
    fn answer(&self, asked: Asked) {
        let reply = self
            .snapshot_now()
            .and_then(|(snapshot, filter)| match asked.query {
                Query::Explain { prefix, router } => {
                    if let Some(r) = &router {
                        if !snapshot.nb.routers.values().any(|lr| lr.name == *r) {
                            return Err(format!("{r}: no such router in zone {}", snapshot.zone));
                        }
                    }
                    let filter: &dyn RouteFilter = match &filter {
                        Some(f) => f.as_ref(),
                        None => &AllowAll,
                    };
                    Ok(snapshot
                        .explain(&prefix, router.as_deref(), filter)
                        .to_string())
                }
                Query::List { router } => {
                    ic_routes::show::routes_list(&snapshot, router.as_deref())
                }
            });
        let _ = asked.reply.send(reply);
    }

    /// A full snapshot of the zone from the replicas, and the route filter in force.
    #[allow(clippy::type_complexity)]
    fn snapshot_now(&self) -> Result<(Snapshot, Option<Arc<dyn RouteFilter>>), String> {
        let nb_t = self.nb.cache.read();
        let icnb_t = self.ic_nb.cache.read();
        let icsb_t = self.ic_sb.cache.read();
        let name = nb_t
            .typed::<nb::NbGlobal>()
            .and_then(ic_routes::zone::zone_name)
            .ok_or("the zone has no name yet (NB_Global.name), or its NB replica is not in sync")?;
        let mut snapshot = Snapshot::from_sources(name, &*nb_t, &*icnb_t, &*icsb_t)
            .ok_or("a replica lacks a table the route engine reads")?;
        snapshot.ic_sb.supports_lb_origin = supports_lb_origin(&self.ic_sb.cache);
        snapshot.semantics = self.semantics();
        let filter = self.route_filter();
        Ok((snapshot, filter))
    }

    /// Takes every event already queued.
    fn drain_events(&mut self) {
        for db in Database::ALL {
            loop {
                let ev = self.db_mut(db).events.try_recv();
                match ev {
                    Ok(ev) => self.note(db, Ok(ev)),
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        self.note(db, Err(broadcast::error::RecvError::Lagged(n)))
                    }
                    Err(_) => break,
                }
            }
        }
    }

    fn db_mut(&mut self, db: Database) -> &mut Db {
        match db {
            Database::Nb => &mut self.nb,
            Database::Sb => &mut self.sb,
            Database::IcNb => &mut self.ic_nb,
            _ => &mut self.ic_sb,
        }
    }

    /// Records what a replica event means for the route engine.
    fn note(&mut self, db: Database, ev: Result<CacheEvent, broadcast::error::RecvError>) {
        match ev {
            Ok(CacheEvent::Changed { changes, .. }) => {
                if let Some(m) = &self.config.metrics {
                    m.changed();
                }
                for c in changes.iter() {
                    if let Some(table) = EngineTable::find(db, &c.table) {
                        self.changed.push((table, c.uuid));
                    }
                    if let Some(iso) = &mut self.isolation {
                        iso.note(db, &c.table, c.uuid);
                    }
                }
            }
            // The SB replica feeds no engine table: a resync there only wakes a round.
            Ok(_) if db == Database::Sb => {
                if let Some(m) = &self.config.metrics {
                    m.resynced(db);
                }
            }
            Ok(_) => {
                if let Some(m) = &self.config.metrics {
                    m.resynced(db);
                }
                self.rebuild = true;
                if let Some(iso) = &mut self.isolation {
                    iso.dirty = true;
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                if db != Database::Sb {
                    debug!(
                        missed = n,
                        "replica events lagged; rebuilding the route engine"
                    );
                    self.rebuild = true;
                    if let Some(iso) = &mut self.isolation {
                        iso.dirty = true;
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => {}
        }
    }

    /// Closes the four connections (releasing the lock).
    pub fn shutdown(&self) {
        for db in [&self.nb, &self.sb, &self.ic_nb, &self.ic_sb] {
            db.client.shutdown();
        }
        if let Some(iso) = &self.isolation {
            iso.shutdown();
        }
    }
}

/// Returns once the lock's ownership differs from `active`; never if the client is gone
/// (its connections are closing, and the daemon with them).
async fn lock_changed(lock: &mut LockHandle, active: bool) {
    let changed = if active {
        lock.lost().await
    } else {
        lock.acquired().await
    };
    if changed.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The next event of a replica; never returns once the client is gone.
async fn next_event(
    rx: &mut broadcast::Receiver<CacheEvent>,
) -> Result<CacheEvent, broadcast::error::RecvError> {
    match rx.recv().await {
        Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        other => other,
    }
}

/// The engine's view of the rows that changed: each row once, in the order of its last
/// change, with the replica's current content (or a delete). `replicas` is indexed by
/// [`Database::ALL`]'s order.
fn row_changes(changed: &[(EngineTable, Uuid)], replicas: [&Tables; 4]) -> Vec<Change> {
    let mut last: HashMap<(EngineTable, Uuid), usize> = HashMap::new();
    for (i, key) in changed.iter().enumerate() {
        last.insert(*key, i);
    }
    let mut order: Vec<(usize, (EngineTable, Uuid))> =
        last.into_iter().map(|(k, i)| (i, k)).collect();
    order.sort_unstable_by_key(|(i, _)| *i);
    order
        .into_iter()
        .filter_map(|(_, (table, uuid))| {
            let db = Database::ALL.iter().position(|d| *d == table.database())?;
            Change::read(table, uuid, replicas[db])
        })
        .collect()
}

/// A random (version 4) UUID for the rows the zone steps insert.
fn random_uuid() -> Uuid {
    uuid::Uuid::new_v4()
}

/// Whether the IC-SB server's schema lets `Route.origin` be `loadbalancer` (OVN ≥ 25.09).
fn supports_lb_origin(cache: &Cache) -> bool {
    cache
        .schema()
        .and_then(|s| {
            let col = s.table(icsb::Route::NAME)?.column("origin")?;
            let set = col.type_.key.enumeration.as_ref()?;
            Some(set.iter().any(|a| a.as_str() == Some("loadbalancer")))
        })
        .unwrap_or(false)
}

/// Commits `ops` to `db`; false when the transaction failed (logged).
async fn commit_db(db: &Db, ops: Vec<Operation>) -> bool {
    if ops.is_empty() {
        return true;
    }
    let n = ops.len();
    if tracing::enabled!(tracing::Level::TRACE) {
        let json = serde_json::to_string(&ops).unwrap_or_default();
        tracing::trace!(db = db.name, %json, "transact");
    }
    match db.client.transact(db.cache.db(), ops).await {
        Ok(reply) => match reply.into_result() {
            Ok(_) => true,
            Err((index, error)) => {
                warn!(db = db.name, operations = n, index, %error, "transaction failed");
                false
            }
        },
        Err(e) => {
            warn!(db = db.name, operations = n, error = %e, "transaction not committed");
            false
        }
    }
}

/// The next question from the control socket; never, without a channel.
async fn next_query(
    queries: &mut Option<tokio::sync::mpsc::UnboundedReceiver<Asked>>,
) -> Option<Asked> {
    match queries {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
