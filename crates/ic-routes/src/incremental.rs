//! The incremental engine: row changes in, delta plans out.
//!
//! # Contract
//!
//! An [`Engine`] holds one zone's view of the rows route exchange reads (the same tables as
//! a [`Snapshot`]) and the writes it has asked for that have not come back yet.
//!
//! 1. Feed it **every** change of those tables as the monitors report them, in the order
//!    the servers committed them, with [`Engine::apply`]: the initial dump (as
//!    [`Change::Upsert`]s) and later updates, **including the echoes of the engine's own
//!    writes**. A change carries the row's full new content (the daemon's replica after the
//!    update), or only the UUID for a delete. Rows of tables not listed in [`Table`], and
//!    columns the engine does not read, need not be fed; feeding them is harmless.
//! 2. Each call returns the delta [`Plan`]: what must be written now, given every change
//!    applied so far **and assuming every earlier plan is being written**. Commit the
//!    plans' operations ([`Plan::operations`]) in the order they were returned, each
//!    database's part as one transaction.
//! 3. A write is *pending* from the plan that asked for it until its echo arrives:
//!    an inserted IC-SB `Route` until a row of this zone with the same transit switch,
//!    route table, prefix, nexthop and origin is inserted; a deleted one until its delete
//!    arrives; an `external_ids` update until the row's next modification; a learned route
//!    until a row with the same prefix, nexthop, route table, `ic-learned-route` and
//!    `origin` is attached to the router; a removed one until it is detached. The engine
//!    never asks for a pending write again; a pending insert that is no longer wanted is
//!    deleted after its echo arrives (its UUID is unknown before).
//! 4. If a transaction fails (or its outcome is unknown and the connection is re-synced),
//!    call [`Engine::abandon_pending`] for that database: the pending writes are forgotten
//!    and the returned plan asks again for what is still needed given the rows seen.
//!
//! The cost of a call is proportional to the groups the changes touch: a static route or an
//! IC-SB route touches the learning groups (router, prefix) and advertisement groups
//! (transit switch, prefix) of its prefix on the routers and switches concerned; a
//! router's `static_routes` column is diffed with plain comparisons (O(its length), no
//! hashing unless the order changed). Any other change (options, ports, routers' other
//! columns, transit switches, zones, this zone's port bindings, load balancers) rebuilds the
//! zone's small topology (O(switch ports + router ports + local port bindings)) and then
//! recomputes: nothing if the topology did not change (e.g. `nb_cfg` bumps); the changed
//! prefixes if only a router's connected networks changed; all groups of a router whose
//! ports, options, `enabled` or load balancers changed; the whole zone if zone-wide inputs
//! changed (`NB_Global` options, the zone's registration, transit switches, zone names).
//! Port bindings of other zones are ignored. A full recompute keeps respecting pending
//! writes.
//!
//! [`Engine::full_plan`] is the reference: the full recompute ([`crate::plan_filtered`])
//! over the engine's rows, ignoring pending writes. Once every echo has arrived, it equals
//! what the incremental plans left to do: nothing.

use ovn_ic_nb::TransitSwitch;
use ovn_ic_sb::{AvailabilityZone, PortBinding, Route};
use ovn_nb::{
    LoadBalancer, LoadBalancerGroup, LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute,
    LogicalSwitchPort, NbGlobal,
};
use ovsdb_proto::typed::{Ref, TypedRows};
use ovsdb_proto::Uuid;

use crate::addr::Prefix;
use crate::core::{
    full_plan, sort_dedup, sort_plan, Ctx, FastSet, Index, PKey, Pending, Rows, Topo,
};
use crate::explain::DecisionCounts;
use crate::filter::{AllowAll, RouteFilter};
use crate::plan::Plan;
use crate::semantics::Semantics;
use crate::snapshot::{RouteScope, Snapshot};
use crate::IC_LEARNED_ROUTE;

/// The tables the engine reads, each with its database and generated row type: the one
/// list from which [`Table`], [`Row`], [`Change::read`] and [`crate::tables`] are made, so a
/// table added here is monitored, typed and fed by every user of the engine.
macro_rules! engine_tables {
    ($($variant:ident => $db:ident, $ty:ty, $doc:literal;)*) => {
        /// A table the engine reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Table {
            $(#[doc = $doc] $variant,)*
        }

        /// A row of a table the engine reads.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Row {
            $(#[doc = $doc] $variant($ty),)*
        }

        impl Table {
            /// Every table the engine reads.
            pub const ALL: &'static [Table] = &[$(Table::$variant,)*];

            /// The table's name in its database.
            pub fn name(self) -> &'static str {
                match self {
                    $(Table::$variant => <$ty as ovsdb_proto::typed::Table>::NAME,)*
                }
            }

            /// The database the table is in.
            pub fn database(self) -> Database {
                match self {
                    $(Table::$variant => Database::$db,)*
                }
            }

            /// The table called `name` in database `db`, if the engine reads it.
            pub fn find(db: Database, name: &str) -> Option<Table> {
                Table::ALL
                    .iter()
                    .copied()
                    .find(|t| t.database() == db && t.name() == name)
            }
        }

        impl Row {
            /// The table of the row.
            pub fn table(&self) -> Table {
                match self {
                    $(Row::$variant(_) => Table::$variant,)*
                }
            }
        }

        impl Change {
            /// The change of row `uuid` of `table` as `rows` now holds it: an upsert of its
            /// current content, or a delete when it is gone. `None` when `rows` does not hold
            /// the table typed.
            pub fn read(table: Table, uuid: Uuid, rows: &impl TypedRows) -> Option<Change> {
                Some(match table {
                    $(Table::$variant => match rows.rows::<$ty>()?.get(&uuid) {
                        Some(r) => Change::Upsert(Row::$variant(r.clone())),
                        None => Change::Delete(table, uuid),
                    },)*
                })
            }
        }

        /// Calls `visitor` for every table the engine reads in database `db`.
        pub(crate) fn visit_engine_tables<V: ovsdb_proto::typed::TableVisitor>(
            db: Database,
            visitor: &mut V,
        ) {
            $(if Database::$db == db { visitor.visit::<$ty>(); })*
        }
    };
}

engine_tables! {
    NbGlobal => Nb, NbGlobal, "NB `NB_Global` (a single row; its UUID is ignored).";
    LogicalRouter => Nb, LogicalRouter, "NB `Logical_Router`.";
    LogicalRouterPort => Nb, LogicalRouterPort, "NB `Logical_Router_Port`.";
    LogicalRouterStaticRoute => Nb, LogicalRouterStaticRoute, "NB `Logical_Router_Static_Route`.";
    LogicalSwitchPort => Nb, LogicalSwitchPort, "NB `Logical_Switch_Port`.";
    LoadBalancer => Nb, LoadBalancer, "NB `Load_Balancer`.";
    LoadBalancerGroup => Nb, LoadBalancerGroup, "NB `Load_Balancer_Group`.";
    TransitSwitch => IcNb, TransitSwitch, "IC-NB `Transit_Switch`.";
    AvailabilityZone => IcSb, AvailabilityZone, "IC-SB `Availability_Zone`.";
    PortBinding => IcSb, PortBinding, "IC-SB `Port_Binding`.";
    Route => IcSb, Route, "IC-SB `Route`.";
}

/// One row change, as a monitor reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "changes are moved once from a monitor update into the engine; a box per row \
              would only add an allocation"
)]
pub enum Change {
    /// A row was inserted or modified: its full new content.
    Upsert(Row),
    /// A row was deleted.
    Delete(Table, Uuid),
}

/// One of a zone's four databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Database {
    /// The zone's `OVN_Northbound` (the engine writes learned routes).
    Nb,
    /// The zone's `OVN_Southbound` (the engine reads nothing of it; the zone steps do).
    Sb,
    /// `OVN_IC_Northbound`.
    IcNb,
    /// `OVN_IC_Southbound` (the engine writes advertisements).
    IcSb,
}

impl Database {
    /// The four, in the order the daemon opens them.
    pub const ALL: [Database; 4] = [Database::Nb, Database::Sb, Database::IcNb, Database::IcSb];

    /// The database's schema name (`OVN_Northbound`, …).
    pub fn schema_name(self) -> &'static str {
        match self {
            Database::Nb => ovn_nb::NAME,
            Database::Sb => ovn_sb::NAME,
            Database::IcNb => ovn_ic_nb::NAME,
            Database::IcSb => ovn_ic_sb::NAME,
        }
    }
}

fn diff_map<T: Clone + PartialEq>(
    old: &std::collections::BTreeMap<Uuid, T>,
    new: &std::collections::BTreeMap<Uuid, T>,
    table: Table,
    wrap: fn(T) -> Row,
    out: &mut Vec<Change>,
) {
    for (u, row) in new {
        if old.get(u) != Some(row) {
            out.push(Change::Upsert(wrap(row.clone())));
        }
    }
    for u in old.keys() {
        if !new.contains_key(u) {
            out.push(Change::Delete(table, *u));
        }
    }
}

impl Change {
    /// The changes that turn `old`'s rows into `new`'s (zone names and
    /// [`crate::IcSouthbound::supports_lb_origin`] are ignored): upserts of
    /// rows that are new or differ, then deletes, table by table. Handy to feed an engine
    /// from two replica snapshots, and in tests.
    pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<Change> {
        let mut out = Vec::new();
        if old.nb.nb_global != new.nb.nb_global {
            out.push(Change::Upsert(Row::NbGlobal(new.nb.nb_global.clone())));
        }
        let (o, n) = (&old.nb, &new.nb);
        diff_map(
            &o.static_routes,
            &n.static_routes,
            Table::LogicalRouterStaticRoute,
            Row::LogicalRouterStaticRoute,
            &mut out,
        );
        diff_map(
            &o.routers,
            &n.routers,
            Table::LogicalRouter,
            Row::LogicalRouter,
            &mut out,
        );
        diff_map(
            &o.router_ports,
            &n.router_ports,
            Table::LogicalRouterPort,
            Row::LogicalRouterPort,
            &mut out,
        );
        diff_map(
            &o.switch_ports,
            &n.switch_ports,
            Table::LogicalSwitchPort,
            Row::LogicalSwitchPort,
            &mut out,
        );
        diff_map(
            &o.load_balancers,
            &n.load_balancers,
            Table::LoadBalancer,
            Row::LoadBalancer,
            &mut out,
        );
        diff_map(
            &o.load_balancer_groups,
            &n.load_balancer_groups,
            Table::LoadBalancerGroup,
            Row::LoadBalancerGroup,
            &mut out,
        );
        diff_map(
            &old.ic_nb.transit_switches,
            &new.ic_nb.transit_switches,
            Table::TransitSwitch,
            Row::TransitSwitch,
            &mut out,
        );
        let (o, n) = (&old.ic_sb, &new.ic_sb);
        diff_map(
            &o.availability_zones,
            &n.availability_zones,
            Table::AvailabilityZone,
            Row::AvailabilityZone,
            &mut out,
        );
        diff_map(
            &o.port_bindings,
            &n.port_bindings,
            Table::PortBinding,
            Row::PortBinding,
            &mut out,
        );
        diff_map(&o.routes, &n.routes, Table::Route, Row::Route, &mut out);
        out
    }
}

/// The UUIDs only in `old` and only in `new` (both sets, no repeats): the common head and
/// tail are skipped with plain comparisons (one route added or removed leaves everything
/// else in place, whatever the order), the rest goes through hash sets.
fn set_diff<T>(old: &[Ref<T>], new: &[Ref<T>]) -> (Vec<Uuid>, Vec<Uuid>) {
    let head = old
        .iter()
        .zip(new)
        .take_while(|(a, b)| a.uuid() == b.uuid())
        .count();
    let (old, new) = (&old[head..], &new[head..]);
    let tail = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take_while(|(a, b)| a.uuid() == b.uuid())
        .count();
    let (old, new) = (&old[..old.len() - tail], &new[..new.len() - tail]);
    let o: FastSet<Uuid> = old.iter().map(|r| r.uuid()).collect();
    let n: FastSet<Uuid> = new.iter().map(|r| r.uuid()).collect();
    let removed = old
        .iter()
        .map(|r| r.uuid())
        .filter(|u| !n.contains(u))
        .collect();
    let added = new
        .iter()
        .map(|r| r.uuid())
        .filter(|u| !o.contains(u))
        .collect();
    (removed, added)
}

/// One zone's incremental route-exchange engine (see the module docs for the contract).
///
/// Methods: getters ([`Engine::zone`], [`Engine::snapshot`], [`Engine::has_pending`],
/// [`Engine::full_plan`]); input ([`Engine::apply`], [`Engine::apply_changes`]); commands
/// ([`Engine::recompute`], [`Engine::abandon_pending`], [`Engine::set_filter`],
/// [`Engine::set_supports_lb_origin`]).
#[derive(Debug)]
pub struct Engine {
    snapshot: Snapshot,
    filter: Box<dyn RouteFilter>,
    topo: Topo,
    idx: Index,
    pending: Pending,
    topo_dirty: bool,
    all_dirty: bool,
    dirty_ads: FastSet<(String, PKey)>,
    dirty_learns: FastSet<(Uuid, PKey)>,
    /// Decision counters, when asked for ([`Engine::count_decisions`]).
    counts: Option<DecisionCounts>,
    /// The IC-SB routes the engine keeps, when limited ([`Engine::from_scoped_snapshot`]).
    scope: Option<RouteScope>,
    /// Whether the zone's scope grew past `scope` ([`Engine::needs_snapshot`]).
    scope_grew: bool,
}

impl Engine {
    /// An engine for zone `zone` with no rows yet, consulting `filter`.
    pub fn new(zone: impl Into<String>, filter: impl RouteFilter + 'static) -> Self {
        Engine::from_snapshot(Snapshot::new(zone), filter)
    }

    /// An engine for zone `zone` that allows everything ([`AllowAll`]).
    pub fn unfiltered(zone: impl Into<String>) -> Self {
        Engine::new(zone, AllowAll)
    }

    /// An engine whose rows are `snapshot`'s, with nothing pending. Its first
    /// [`Engine::apply`] (with or without changes) returns the full plan.
    pub fn from_snapshot(snapshot: Snapshot, filter: impl RouteFilter + 'static) -> Self {
        let rows = snapshot.rows();
        let topo = Topo::build(rows);
        let idx = Index::build(rows);
        Engine {
            snapshot,
            filter: Box::new(filter),
            topo,
            idx,
            pending: Pending::default(),
            topo_dirty: false,
            all_dirty: true,
            dirty_ads: FastSet::default(),
            dirty_learns: FastSet::default(),
            counts: None,
            scope: None,
            scope_grew: false,
        }
    }

    /// Like [`Engine::from_snapshot`], keeping only the IC-SB routes in the zone's
    /// [`RouteScope`] (the snapshot's others are dropped; [`Snapshot::from_sources_scoped`]
    /// does not copy them), and ignoring route changes outside it. The plans are those of
    /// an engine that keeps every route. When the zone's scope grows (a port binding on
    /// a new transit switch, the zone's registration), routes the engine dropped may now
    /// count: [`Engine::needs_snapshot`] turns true, and the caller must discard the plan
    /// and start a new engine from a fresh snapshot.
    pub fn from_scoped_snapshot(
        mut snapshot: Snapshot,
        filter: impl RouteFilter + 'static,
    ) -> Self {
        let scope = RouteScope::of(&snapshot);
        snapshot.ic_sb.routes.retain(|_, r| scope.contains(r));
        let mut engine = Engine::from_snapshot(snapshot, filter);
        engine.scope = Some(scope);
        engine
    }

    /// Whether this engine, limited to a [`RouteScope`], was fed changes that widen the
    /// zone's scope: its plans may miss routes it dropped, so the caller must discard the
    /// last plan and build a new engine from a fresh snapshot. Always false for an engine
    /// that keeps every route.
    pub fn needs_snapshot(&self) -> bool {
        self.scope_grew
    }

    /// After a change to the zone's registration or port bindings: notes whether the scope
    /// grew past the one the engine keeps.
    fn check_scope(&mut self) {
        if let Some(scope) = &self.scope {
            if !scope.covers(&RouteScope::of(&self.snapshot)) {
                self.scope_grew = true;
            }
        }
    }

    /// Starts (or stops) counting the engine's decisions per direction and reason; off by
    /// default, and then free.
    pub fn count_decisions(&mut self, on: bool) {
        self.counts = on.then(|| self.counts.take().unwrap_or_default());
    }

    /// The decision counts since counting started, if on.
    pub fn decision_counts(&self) -> Option<&DecisionCounts> {
        self.counts.as_ref()
    }

    /// The zone's name.
    pub fn zone(&self) -> &str {
        &self.snapshot.zone
    }

    /// The rows as fed so far (pending writes are not in them).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Whether some write asked for has not come back yet.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The full recompute over the engine's rows, ignoring pending writes: the reference
    /// the incremental plans are checked against. Changes nothing.
    pub fn full_plan(&self) -> Plan {
        full_plan(
            self.rows(),
            &self.topo_now(),
            &Pending::default(),
            self.filter.as_ref(),
            None,
        )
    }

    /// Applies `changes` and returns the delta plan (module docs, points 1–3).
    pub fn apply(&mut self, changes: &[Change]) -> Plan {
        self.apply_changes(changes.iter().cloned())
    }

    /// [`Engine::apply`] taking the changes by value (no copy of the rows).
    pub fn apply_changes(&mut self, changes: impl IntoIterator<Item = Change>) -> Plan {
        for c in changes {
            self.change(c);
        }
        self.run()
    }

    /// Recomputes every group (respecting pending writes) and returns what is missing:
    /// after [`Engine::set_filter`], or to repair a view the caller distrusts.
    pub fn recompute(&mut self) -> Plan {
        self.all_dirty = true;
        self.run()
    }

    /// Forgets the pending writes to `db` (its transaction failed) and returns the plan of
    /// what is still needed (module docs, point 4).
    pub fn abandon_pending(&mut self, db: Database) -> Plan {
        let p = &mut self.pending;
        match db {
            Database::IcSb => {
                for (k, _) in p.ad_inserts.drain() {
                    self.dirty_ads.insert(k);
                }
                let uuids: Vec<Uuid> = p
                    .ad_deletes
                    .drain()
                    .chain(p.ad_updates.drain().map(|(u, _)| u))
                    .collect();
                for u in uuids {
                    if let Some(r) = self.snapshot.ic_sb.routes.get(&u) {
                        self.dirty_ads
                            .insert((r.transit_switch.clone(), Prefix::parse(&r.ip_prefix)));
                    }
                }
            }
            Database::Sb | Database::IcNb => {}
            Database::Nb => {
                for (k, _) in p.learn_inserts.drain() {
                    self.dirty_learns.insert(k);
                }
                for (lr, sr) in p.learn_deletes.drain() {
                    let key = self
                        .snapshot
                        .nb
                        .static_routes
                        .get(&sr)
                        .map(|r| Prefix::parse(&r.ip_prefix));
                    match key {
                        Some(key) => {
                            self.dirty_learns.insert((lr, key));
                        }
                        None => self.all_dirty = true,
                    }
                }
            }
        }
        self.run()
    }

    /// Replaces the filter; the next plan recomputes the whole zone.
    pub fn set_filter(&mut self, filter: impl RouteFilter + 'static) {
        self.filter = Box::new(filter);
        self.all_dirty = true;
    }

    /// Sets the release of ovn-ic whose rules apply ([`Snapshot::semantics`]); the next plan
    /// recomputes the whole zone when it changes.
    pub fn set_semantics(&mut self, semantics: Semantics) {
        if self.snapshot.semantics != semantics {
            self.snapshot.semantics = semantics;
            self.topo_dirty = true;
            self.all_dirty = true;
        }
    }

    /// The release of ovn-ic whose rules apply.
    pub fn semantics(&self) -> Semantics {
        self.snapshot.semantics
    }

    /// Sets [`crate::IcSouthbound::supports_lb_origin`] (from the IC-SB server's schema);
    /// takes effect with the next plan.
    pub fn set_supports_lb_origin(&mut self, supported: bool) {
        if self.snapshot.ic_sb.supports_lb_origin != supported {
            self.snapshot.ic_sb.supports_lb_origin = supported;
            self.topo_dirty = true;
        }
    }

    fn rows(&self) -> Rows<'_> {
        self.snapshot.rows()
    }

    fn topo_now(&self) -> std::borrow::Cow<'_, Topo> {
        if self.topo_dirty {
            std::borrow::Cow::Owned(Topo::build(self.rows()))
        } else {
            std::borrow::Cow::Borrowed(&self.topo)
        }
    }

    fn run(&mut self) -> Plan {
        let mut out = Plan::default();
        if self.topo_dirty {
            self.topo_dirty = false;
            let topo = Topo::build(self.rows());
            if topo != self.topo {
                let old = std::mem::replace(&mut self.topo, topo);
                self.mark_topology(&old);
            }
        }
        let all = std::mem::take(&mut self.all_dirty);
        if all {
            self.dirty_ads.clear();
            self.dirty_learns.clear();
            let out = full_plan(
                self.rows(),
                &self.topo,
                &self.pending,
                self.filter.as_ref(),
                self.counts.as_ref(),
            );
            self.record(&out);
            return out;
        }
        let mut ads: Vec<(String, PKey)> =
            std::mem::take(&mut self.dirty_ads).into_iter().collect();
        let mut learns: Vec<(Uuid, PKey)> =
            std::mem::take(&mut self.dirty_learns).into_iter().collect();
        let ctx = Ctx {
            rows: self.rows(),
            topo: &self.topo,
            pending: &self.pending,
            filter: self.filter.as_ref(),
            trace: None,
            counts: self.counts.as_ref(),
        };
        // Sorted groups: deterministic diagnostics.
        sort_dedup(&mut ads);
        sort_dedup(&mut learns);
        ctx.groups(&self.idx, &ads, &learns, &mut out);
        sort_plan(&mut out);
        self.record(&out);
        out
    }

    /// Marks what a topology change touches: the whole zone if a zone-wide input changed
    /// (zone registration, options, transit switches, zone names), else the groups of the
    /// routers whose context changed (only the changed prefixes when just their connected
    /// networks changed).
    fn mark_topology(&mut self, old: &Topo) {
        let new = &self.topo;
        let global = (
            &old.az,
            &old.opts,
            &old.lb_origin,
            &old.ts_names,
            &old.az_names,
        ) != (
            &new.az,
            &new.opts,
            &new.lb_origin,
            &new.ts_names,
            &new.az_names,
        );
        if global {
            self.all_dirty = true;
            return;
        }
        let mut routers: Vec<Uuid> = old
            .routers
            .keys()
            .chain(new.routers.keys())
            .copied()
            .collect();
        sort_dedup(&mut routers);
        for lr in routers {
            let (o, n) = (old.routers.get(&lr), new.routers.get(&lr));
            if o == n {
                continue;
            }
            match (o, n) {
                (Some(o), Some(n))
                    if (&o.ports, &o.enabled, &o.vips) == (&n.ports, &n.enabled, &n.vips) =>
                {
                    // Only connected networks changed: they are advertised, never learned.
                    let mut changed: Vec<Prefix> = o
                        .networks
                        .keys()
                        .chain(n.networks.keys())
                        .filter(|p| o.networks.get(p) != n.networks.get(p))
                        .copied()
                        .collect();
                    sort_dedup(&mut changed);
                    for port in &n.ports {
                        for p in &changed {
                            self.dirty_ads
                                .insert((port.transit_switch.clone(), Some(*p)));
                        }
                    }
                }
                _ => {
                    let mut tss: Vec<&String> = o
                        .into_iter()
                        .chain(n)
                        .flat_map(|c| c.ports.iter().map(|p| &p.transit_switch))
                        .collect();
                    sort_dedup(&mut tss);
                    let mut keys: Vec<PKey> = self
                        .idx
                        .router_statics
                        .get(&lr)
                        .into_iter()
                        .flat_map(|m| m.keys().copied())
                        .collect();
                    for c in o.into_iter().chain(n) {
                        keys.extend(c.networks.keys().chain(c.vips.keys()).map(|p| Some(*p)));
                    }
                    sort_dedup(&mut keys);
                    for ts in &tss {
                        for k in &keys {
                            self.dirty_ads.insert(((*ts).clone(), *k));
                        }
                    }
                    let mut learns: Vec<PKey> = self
                        .idx
                        .router_statics
                        .get(&lr)
                        .into_iter()
                        .flat_map(|m| m.keys().copied())
                        .collect();
                    for ts in &tss {
                        if let Some(m) = self.idx.routes_by_ts.get(*ts) {
                            learns.extend(m.keys().copied());
                        }
                    }
                    for k in learns {
                        self.dirty_learns.insert((lr, k));
                    }
                }
            }
        }
    }

    /// Records a plan's writes as pending.
    fn record(&mut self, plan: &Plan) {
        let p = &mut self.pending;
        for r in &plan.advertisements_to_insert {
            p.ad_inserts
                .entry((r.transit_switch.clone(), Prefix::parse(&r.ip_prefix)))
                .or_default()
                .push(r.clone());
        }
        p.ad_deletes
            .extend(plan.advertisements_to_delete.iter().copied());
        for u in &plan.advertisements_to_update {
            p.ad_updates.insert(u.route, u.external_ids.clone());
        }
        for ins in &plan.learned_to_insert {
            p.learn_inserts
                .entry((ins.router, Prefix::parse(&ins.route.ip_prefix)))
                .or_default()
                .push(ins.route.clone());
        }
        p.learn_deletes
            .extend(plan.learned_to_delete.iter().map(|d| (d.router, d.route)));
    }

    /// Marks the groups a static route with prefix `key` on router `lr` belongs to.
    fn mark_static(&mut self, lr: Uuid, key: PKey) {
        self.dirty_learns.insert((lr, key));
        if let Some(ctx) = self.topo.routers.get(&lr) {
            for port in &ctx.ports {
                self.dirty_ads.insert((port.transit_switch.clone(), key));
            }
        }
    }

    /// Marks the groups an IC-SB route belongs to.
    fn mark_route(&mut self, r: &Route) {
        let key = Prefix::parse(&r.ip_prefix);
        for lr in self
            .topo
            .ts_routers
            .get(&r.transit_switch)
            .into_iter()
            .flatten()
        {
            self.dirty_learns.insert((*lr, key));
        }
        if self
            .topo
            .az
            .is_none_or(|az| az == r.availability_zone.uuid())
        {
            self.dirty_ads.insert((r.transit_switch.clone(), key));
        }
    }

    /// A learned route was attached to router `lr`: the echo of a pending insert?
    fn attached(&mut self, lr: Uuid, row: &LogicalRouterStaticRoute) {
        if !row.external_ids.contains_key(IC_LEARNED_ROUTE) {
            return;
        }
        let key = (lr, Prefix::parse(&row.ip_prefix));
        let Some(v) = self.pending.learn_inserts.get_mut(&key) else {
            return;
        };
        if let Some(i) = v.iter().position(|p| {
            p.ip_prefix == row.ip_prefix
                && p.nexthop == row.nexthop
                && p.route_table == row.route_table
                && p.external_ids.get(IC_LEARNED_ROUTE) == row.external_ids.get(IC_LEARNED_ROUTE)
                && p.options.get("origin") == row.options.get("origin")
        }) {
            v.remove(i);
            if v.is_empty() {
                self.pending.learn_inserts.remove(&key);
            }
        }
    }

    fn change(&mut self, c: Change) {
        match c {
            Change::Upsert(Row::LogicalRouterStaticRoute(row)) => {
                let uuid = row.uuid;
                let old = self.snapshot.nb.static_routes.insert(uuid, row);
                let refs = self.idx.refs(uuid).to_vec();
                for lr in refs {
                    let row = &self.snapshot.nb.static_routes[&uuid];
                    let new_key = Prefix::parse(&row.ip_prefix);
                    if let Some(old) = &old {
                        self.idx.detach(lr, old);
                        self.mark_static(lr, Prefix::parse(&old.ip_prefix));
                    }
                    let row = &self.snapshot.nb.static_routes[&uuid];
                    self.idx.attach(lr, row);
                    self.mark_static(lr, new_key);
                    if old.is_none() {
                        let row = self.snapshot.nb.static_routes[&uuid].clone();
                        self.attached(lr, &row);
                    }
                }
            }
            Change::Delete(Table::LogicalRouterStaticRoute, uuid) => {
                let Some(old) = self.snapshot.nb.static_routes.remove(&uuid) else {
                    return;
                };
                for lr in self.idx.refs(uuid).to_vec() {
                    self.idx.detach(lr, &old);
                    self.mark_static(lr, Prefix::parse(&old.ip_prefix));
                    self.pending.learn_deletes.remove(&(lr, uuid));
                }
            }
            Change::Upsert(Row::LogicalRouter(row)) => {
                let lr = row.uuid;
                let old = self.snapshot.nb.routers.insert(lr, row);
                let new = &self.snapshot.nb.routers[&lr];
                let same_topo = old.as_ref().is_some_and(|o| {
                    (&o.name, &o.ports, &o.enabled, &o.options)
                        == (&new.name, &new.ports, &new.enabled, &new.options)
                        && (&o.load_balancer, &o.load_balancer_group)
                            == (&new.load_balancer, &new.load_balancer_group)
                });
                if !same_topo {
                    self.topo_dirty = true;
                }
                let empty = Vec::new();
                let old_refs = old.as_ref().map(|o| &o.static_routes).unwrap_or(&empty);
                let (removed, added) = set_diff(old_refs, &new.static_routes);
                for sr in removed {
                    let row = self.snapshot.nb.static_routes.get(&sr);
                    self.idx.remove_ref(lr, sr, row);
                    if let Some(row) = row {
                        let key = Prefix::parse(&row.ip_prefix);
                        self.mark_static(lr, key);
                    }
                    self.pending.learn_deletes.remove(&(lr, sr));
                }
                for sr in added {
                    let row = self.snapshot.nb.static_routes.get(&sr).cloned();
                    if self.idx.add_ref(lr, sr, row.as_ref()) {
                        if let Some(row) = row {
                            self.mark_static(lr, Prefix::parse(&row.ip_prefix));
                            self.attached(lr, &row);
                        }
                    }
                }
            }
            Change::Delete(Table::LogicalRouter, lr) => {
                let Some(old) = self.snapshot.nb.routers.remove(&lr) else {
                    return;
                };
                self.topo_dirty = true;
                for sr in old.static_routes.iter().map(|r| r.uuid()) {
                    let row = self.snapshot.nb.static_routes.get(&sr);
                    self.idx.remove_ref(lr, sr, row);
                    if let Some(row) = row {
                        let key = Prefix::parse(&row.ip_prefix);
                        self.mark_static(lr, key);
                    }
                    self.pending.learn_deletes.remove(&(lr, sr));
                }
                self.pending.learn_inserts.retain(|(r, _), _| *r != lr);
            }
            Change::Upsert(Row::Route(row))
                if self.scope.as_ref().is_some_and(|s| !s.contains(&row)) =>
            {
                // Out of scope: never read. (A row moved out of the scope is forgotten.)
                if let Some(old) = self.snapshot.ic_sb.routes.remove(&row.uuid) {
                    self.idx.remove_route(&old);
                    self.mark_route(&old);
                }
            }
            Change::Upsert(Row::Route(row)) => {
                let uuid = row.uuid;
                match self.snapshot.ic_sb.routes.insert(uuid, row) {
                    Some(old) => {
                        self.idx.remove_route(&old);
                        self.mark_route(&old);
                        self.pending.ad_updates.remove(&uuid);
                    }
                    None => {
                        let row = &self.snapshot.ic_sb.routes[&uuid];
                        let key = (row.transit_switch.clone(), Prefix::parse(&row.ip_prefix));
                        if let Some(v) = self.pending.ad_inserts.get_mut(&key) {
                            if let Some(i) = v.iter().position(|p| {
                                p.availability_zone == row.availability_zone
                                    && p.route_table == row.route_table
                                    && p.ip_prefix == row.ip_prefix
                                    && p.nexthop == row.nexthop
                                    && p.origin == row.origin
                            }) {
                                v.remove(i);
                                if v.is_empty() {
                                    self.pending.ad_inserts.remove(&key);
                                }
                            }
                        }
                    }
                }
                let row = self.snapshot.ic_sb.routes[&uuid].clone();
                self.idx.add_route(&row);
                self.mark_route(&row);
            }
            Change::Delete(Table::Route, uuid) => {
                self.pending.ad_deletes.remove(&uuid);
                self.pending.ad_updates.remove(&uuid);
                if let Some(old) = self.snapshot.ic_sb.routes.remove(&uuid) {
                    self.idx.remove_route(&old);
                    self.mark_route(&old);
                }
            }
            Change::Upsert(Row::PortBinding(row)) => {
                let az = self.topo.az;
                let local = |p: &PortBinding| az.is_none_or(|az| p.availability_zone.uuid() == az);
                let relevant = local(&row);
                let old = self.snapshot.ic_sb.port_bindings.insert(row.uuid, row);
                if relevant || old.as_ref().is_some_and(local) {
                    self.topo_dirty = true;
                    self.check_scope();
                }
            }
            Change::Delete(Table::PortBinding, uuid) => {
                let az = self.topo.az;
                if let Some(old) = self.snapshot.ic_sb.port_bindings.remove(&uuid) {
                    if az.is_none_or(|az| old.availability_zone.uuid() == az) {
                        self.topo_dirty = true;
                    }
                }
            }
            Change::Upsert(row) => {
                self.topo_dirty = true;
                let s = &mut self.snapshot;
                match row {
                    Row::NbGlobal(r) => s.nb.nb_global = r,
                    Row::LogicalRouterPort(r) => {
                        s.nb.router_ports.insert(r.uuid, r);
                    }
                    Row::LogicalSwitchPort(r) => {
                        s.nb.switch_ports.insert(r.uuid, r);
                    }
                    Row::LoadBalancer(r) => {
                        s.nb.load_balancers.insert(r.uuid, r);
                    }
                    Row::LoadBalancerGroup(r) => {
                        s.nb.load_balancer_groups.insert(r.uuid, r);
                    }
                    Row::TransitSwitch(r) => {
                        s.ic_nb.transit_switches.insert(r.uuid, r);
                    }
                    Row::AvailabilityZone(r) => {
                        s.ic_sb.availability_zones.insert(r.uuid, r);
                        self.check_scope();
                    }
                    Row::LogicalRouter(_)
                    | Row::LogicalRouterStaticRoute(_)
                    | Row::PortBinding(_)
                    | Row::Route(_) => unreachable!("handled above"),
                }
            }
            Change::Delete(table, uuid) => {
                self.topo_dirty = true;
                let s = &mut self.snapshot;
                match table {
                    Table::NbGlobal => s.nb.nb_global = NbGlobal::default(),
                    Table::LogicalRouterPort => {
                        s.nb.router_ports.remove(&uuid);
                    }
                    Table::LogicalSwitchPort => {
                        s.nb.switch_ports.remove(&uuid);
                    }
                    Table::LoadBalancer => {
                        s.nb.load_balancers.remove(&uuid);
                    }
                    Table::LoadBalancerGroup => {
                        s.nb.load_balancer_groups.remove(&uuid);
                    }
                    Table::TransitSwitch => {
                        s.ic_nb.transit_switches.remove(&uuid);
                    }
                    Table::AvailabilityZone => {
                        s.ic_sb.availability_zones.remove(&uuid);
                    }
                    Table::LogicalRouter
                    | Table::LogicalRouterStaticRoute
                    | Table::PortBinding
                    | Table::Route => unreachable!("handled above"),
                }
            }
        }
    }
}
