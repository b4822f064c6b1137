//! VPC isolation with a live inventory inside the daemon: the policy in force, replicas of
//! other zones' NBs, and the filter rebuilt when a table the VPC model reads changes.

use super::*;

/// Another zone's NB replica for the live inventory; the cache appears once in sync.
struct RemoteZone {
    zone: String,
    client: Client,
    cache: Arc<Mutex<Option<Arc<Cache>>>>,
}

/// VPC isolation with a live inventory: the policy in force, the inventory's sources and
/// the filter built from them.
pub(super) struct LiveIsolation {
    config: Isolation,
    policy: watch::Receiver<u64>,
    remotes: Vec<RemoteZone>,
    /// Set by the remote replicas' tasks when one of their relevant tables changed.
    remote_changed: Arc<AtomicBool>,
    /// Wakes the daemon for a remote replica's change.
    wake: Arc<Notify>,
    /// A relevant table of the zone's NB or of IC-SB changed (other than `Route`).
    pub(super) dirty: bool,
    /// IC-SB routes changed since the last build.
    pub(super) routes_changed: Vec<Uuid>,
    /// The IC-SB routes whose claims fed the last build.
    claim_routes: BTreeSet<Uuid>,
    /// Refused claims already logged.
    refused: BTreeSet<String>,
    /// The zone the filter was built for.
    zone: String,
    pub(super) filter: Option<Arc<isolation::VpcFilter>>,
}

impl LiveIsolation {
    #[allow(clippy::result_large_err)] // `DaemonError`, as `Daemon::start` returns it
    pub(super) fn start(config: &Isolation, daemon: &Config) -> Result<LiveIsolation, DaemonError> {
        let wake = Arc::new(Notify::new());
        let remote_changed = Arc::new(AtomicBool::new(false));
        let mut remotes = Vec::new();
        for z in &config.zone_nbs {
            remotes.push(open_remote_zone(z, daemon, &remote_changed, &wake)?);
        }
        Ok(LiveIsolation {
            policy: config.policy.subscribe(),
            config: config.clone(),
            remotes,
            remote_changed,
            wake,
            dirty: true,
            routes_changed: Vec::new(),
            claim_routes: BTreeSet::new(),
            refused: BTreeSet::new(),
            zone: String::new(),
            filter: None,
        })
    }

    /// Records a change of the zone's NB or IC-SB replica that may change the inventory.
    pub(super) fn note(&mut self, db: Database, table: &str, uuid: Uuid) {
        match db {
            Database::Nb
                if table != nb::LogicalRouterStaticRoute::NAME
                    && isolation::live::NB_TABLES.contains(&table) =>
            {
                // The zone's own static routes do not make VPCs (its advertisements carry
                // `lr-id`, and learned routes are written here every round).
                self.dirty = true;
            }
            Database::IcSb if table == icsb::Route::NAME => self.routes_changed.push(uuid),
            Database::IcSb if isolation::live::IC_SB_TABLES.contains(&table) => self.dirty = true,
            _ => {}
        }
    }

    /// Waits until a remote replica changed or a new policy was put in force.
    pub(super) async fn changed(&mut self) {
        tokio::select! {
            _ = self.wake.notified() => {}
            r = self.policy.changed() => {
                if r.is_err() {
                    std::future::pending::<()>().await;
                }
                // `changed` marked the new policy seen: remember it for the next round.
                self.dirty = true;
            }
        }
    }

    /// Rebuilds the inventory and the filter if something they depend on changed; true
    /// when the filter changed (the route engine must then recompute everything).
    pub(super) fn refresh(
        &mut self,
        zone: &str,
        az: Uuid,
        nb_rows: &Tables,
        ic_sb: &Tables,
    ) -> bool {
        let policy_changed = self.policy.has_changed().unwrap_or(false);
        if policy_changed {
            self.policy.borrow_and_update();
        }
        let remote = self.remote_changed.swap(false, Ordering::AcqRel);
        let routes = ic_sb.typed::<icsb::Route>();
        let claims_changed = self.routes_changed.drain(..).any(|u| {
            self.claim_routes.contains(&u)
                || routes.and_then(|m| m.get(&u)).is_some_and(|r| {
                    r.availability_zone.uuid() != az
                        && r.external_ids.contains_key(isolation::VPC_KEY)
                })
        });
        if !(self.dirty || policy_changed || remote || claims_changed)
            && self.filter.is_some()
            && self.zone == zone
        {
            return false;
        }
        self.dirty = false;
        let t0 = Instant::now();
        let own = match isolation::ZoneNb::from_sources(zone, nb_rows) {
            Ok(z) => z,
            Err(e) => {
                warn!(error = %e, "cannot read the zone's VPCs");
                return false;
            }
        };
        let mut others = Vec::new();
        for r in &self.remotes {
            let cache = match r.cache.lock() {
                Ok(c) => c.clone(),
                Err(poisoned) => poisoned.into_inner().clone(),
            };
            if let Some(cache) = cache {
                match isolation::ZoneNb::from_sources(&r.zone, &*cache.read()) {
                    Ok(z) => others.push(z),
                    Err(e) => warn!(zone = %r.zone, error = %e, "cannot read the zone's VPCs"),
                }
            }
        }
        let zones: Vec<&isolation::ZoneNb> = std::iter::once(&own).chain(&others).collect();
        let sources = isolation::live::Sources::new(&zones, self.config.file.as_deref());
        let live = isolation::live::build(sources, ic_sb);
        for r in &live.refused {
            if !self.refused.contains(r) {
                warn!("VPC claim refused: {r}");
            }
        }
        self.refused = live.refused.iter().cloned().collect();
        self.claim_routes = live.claim_routes;
        let policy = self.config.policy.policy();
        let filter = isolation::VpcFilter::new(live.inventory, (*policy).clone());
        let build_us = t0.elapsed().as_micros() as u64;
        if self.zone == zone && self.filter.as_deref() == Some(&filter) {
            debug!(build_us, "VPC inventory unchanged");
            return false;
        }
        let vpcs: Vec<&str> = filter
            .inventory()
            .vpcs()
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        info!(
            vpcs = %vpcs.join(" "),
            pairs = policy.pairs.len(),
            peerings = policy.peerings.len(),
            build_us,
            "VPC isolation filter updated; recomputing routes"
        );
        if self.config.file.is_none() {
            // Without an inventory file VPCs may be created after the policy names them.
            if let Err(e) = policy.check(filter.inventory()) {
                info!("isolation policy: {e} (yet)");
            }
        }
        self.zone = zone.to_owned();
        self.filter = Some(Arc::new(filter));
        true
    }

    pub(super) fn shutdown(&self) {
        for r in &self.remotes {
            r.client.shutdown();
        }
    }
}

/// Starts the read-only replica of another zone's NB (`--isolation-zone-nb`): a task
/// monitors the tables the VPC model reads and flags `changed` (waking the daemon) on
/// every change of them.
#[allow(clippy::result_large_err)] // `DaemonError`, as `Daemon::start` returns it
fn open_remote_zone(
    z: &ZoneRemote,
    config: &Config,
    changed: &Arc<AtomicBool>,
    wake: &Arc<Notify>,
) -> Result<RemoteZone, DaemonError> {
    struct Collect(Vec<TypedTable>);
    impl TableVisitor for Collect {
        fn visit<T: Table + Send + Sync + 'static>(&mut self) {
            self.0.push(TypedTable::of::<T>());
        }
    }
    let mut tables = Collect(Vec::new());
    isolation::live::visit_nb_tables(&mut tables);
    let tables = tables.0;
    let client = Client::start(client_config("zone-nb", &z.remote, config)?);
    let mut events = client.subscribe();
    let slot = Arc::new(Mutex::new(None));
    let (task_client, task_slot) = (client.clone(), slot.clone());
    let (changed, wake) = (changed.clone(), wake.clone());
    let (zone, remote) = (z.zone.clone(), z.remote.clone());
    info!(zone = %zone, remote = %remote, "connecting to the zone's NB for its VPCs");
    tokio::spawn(async move {
        let spec = MonitorSpec {
            typed: tables.clone(),
            ..MonitorSpec::tables(tables.iter().map(TypedTable::name))
        };
        let cache = match task_client.monitor(nb::NAME, spec).await {
            Ok(cache) => cache,
            Err(e) => {
                warn!(zone = %zone, remote = %remote, error = %e, "no replica of the zone's NB; its VPCs come from claims or the inventory file");
                return;
            }
        };
        info!(zone = %zone, rows = cache.read().total_rows(), "zone NB replica in sync");
        if let Ok(mut s) = task_slot.lock() {
            *s = Some(cache);
        }
        let flag = || {
            changed.store(true, Ordering::Release);
            wake.notify_one();
        };
        flag();
        loop {
            match events.recv().await {
                Ok(CacheEvent::Changed { changes, .. }) => {
                    if changes
                        .iter()
                        .any(|c| isolation::live::NB_TABLES.contains(&c.table.as_str()))
                    {
                        flag();
                    }
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => flag(),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Ok(RemoteZone {
        zone: z.zone.clone(),
        client,
        cache: slot,
    })
}
