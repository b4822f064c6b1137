//! Indexes over the rows (routes by router and prefix, IC-SB routes by transit switch
//! and prefix), the writes still pending, and the sorted lists a group reads.

use std::collections::BTreeMap;

use ovn_ic_sb::Route;
use ovn_nb::LogicalRouterStaticRoute;
use ovsdb_proto::typed::StringMap;
use ovsdb_proto::Uuid;

use super::topo::Topo;
use super::{FastMap, FastSet, PKey, Rows};
use crate::addr::Prefix;

/// A small sorted set of UUIDs (groups hold a handful of rows; a vector is denser than a
/// B-tree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UuidSet(Vec<Uuid>);

impl UuidSet {
    fn insert(&mut self, u: Uuid) {
        if let Err(i) = self.0.binary_search(&u) {
            self.0.insert(i, u);
        }
    }

    fn remove(&mut self, u: &Uuid) {
        if let Ok(i) = self.0.binary_search(u) {
            self.0.remove(i);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a UuidSet {
    type Item = &'a Uuid;
    type IntoIter = std::slice::Iter<'a, Uuid>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The high-volume rows, indexed by group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Index {
    /// Static route → routers whose `static_routes` hold it.
    pub static_refs: FastMap<Uuid, Vec<Uuid>>,
    /// Router → prefix → its static routes (rows present and referenced).
    pub router_statics: FastMap<Uuid, FastMap<PKey, UuidSet>>,
    /// Transit switch → prefix → IC-SB routes of every zone.
    pub routes_by_ts: FastMap<String, FastMap<PKey, UuidSet>>,
    /// Availability zone → transit switch → prefix → number of its IC-SB routes.
    pub az_groups: FastMap<Uuid, FastMap<String, BTreeMap<PKey, usize>>>,
}

impl Index {
    pub(crate) fn build(rows: Rows<'_>) -> Index {
        let mut idx = Index::default();
        for lr in rows.nb.routers.values() {
            for r in &lr.static_routes {
                idx.add_ref(lr.uuid, r.uuid(), rows.nb.static_routes.get(&r.uuid()));
            }
        }
        for r in rows.ic_sb.routes.values() {
            idx.add_route(r);
        }
        idx
    }

    /// Records that router `lr` references static route `sr` (row `row` if present).
    /// Returns whether the reference is new.
    pub(crate) fn add_ref(
        &mut self,
        lr: Uuid,
        sr: Uuid,
        row: Option<&LogicalRouterStaticRoute>,
    ) -> bool {
        let refs = self.static_refs.entry(sr).or_default();
        if refs.contains(&lr) {
            return false;
        }
        refs.push(lr);
        if let Some(row) = row {
            self.attach(lr, row);
        }
        true
    }

    /// Forgets that router `lr` references static route `sr`.
    pub(crate) fn remove_ref(
        &mut self,
        lr: Uuid,
        sr: Uuid,
        row: Option<&LogicalRouterStaticRoute>,
    ) {
        if let Some(refs) = self.static_refs.get_mut(&sr) {
            refs.retain(|r| *r != lr);
            if refs.is_empty() {
                self.static_refs.remove(&sr);
            }
        }
        if let Some(row) = row {
            self.detach(lr, row);
        }
    }

    pub(crate) fn refs(&self, sr: Uuid) -> &[Uuid] {
        self.static_refs.get(&sr).map(Vec::as_slice).unwrap_or(&[])
    }

    pub(crate) fn attach(&mut self, lr: Uuid, row: &LogicalRouterStaticRoute) {
        self.router_statics
            .entry(lr)
            .or_default()
            .entry(Prefix::parse(&row.ip_prefix))
            .or_default()
            .insert(row.uuid);
    }

    pub(crate) fn detach(&mut self, lr: Uuid, row: &LogicalRouterStaticRoute) {
        let Some(m) = self.router_statics.get_mut(&lr) else {
            return;
        };
        let key = Prefix::parse(&row.ip_prefix);
        if let Some(s) = m.get_mut(&key) {
            s.remove(&row.uuid);
            if s.is_empty() {
                m.remove(&key);
            }
        }
        if m.is_empty() {
            self.router_statics.remove(&lr);
        }
    }

    pub(crate) fn add_route(&mut self, r: &Route) {
        let key = Prefix::parse(&r.ip_prefix);
        self.routes_by_ts
            .entry(r.transit_switch.clone())
            .or_default()
            .entry(key)
            .or_default()
            .insert(r.uuid);
        *self
            .az_groups
            .entry(r.availability_zone.uuid())
            .or_default()
            .entry(r.transit_switch.clone())
            .or_default()
            .entry(key)
            .or_default() += 1;
    }

    pub(crate) fn remove_route(&mut self, r: &Route) {
        let key = Prefix::parse(&r.ip_prefix);
        if let Some(m) = self.routes_by_ts.get_mut(&r.transit_switch) {
            if let Some(s) = m.get_mut(&key) {
                s.remove(&r.uuid);
                if s.is_empty() {
                    m.remove(&key);
                }
            }
            if m.is_empty() {
                self.routes_by_ts.remove(&r.transit_switch);
            }
        }
        let az = r.availability_zone.uuid();
        if let Some(m) = self.az_groups.get_mut(&az) {
            if let Some(g) = m.get_mut(&r.transit_switch) {
                if let Some(n) = g.get_mut(&key) {
                    *n -= 1;
                    if *n == 0 {
                        g.remove(&key);
                    }
                }
                if g.is_empty() {
                    m.remove(&r.transit_switch);
                }
            }
            if m.is_empty() {
                self.az_groups.remove(&az);
            }
        }
    }

    pub(super) fn statics(&self, lr: Uuid, key: &PKey) -> impl Iterator<Item = Uuid> + '_ {
        self.router_statics
            .get(&lr)
            .and_then(|m| m.get(key))
            .into_iter()
            .flatten()
            .copied()
    }

    pub(super) fn routes(&self, ts: &str, key: &PKey) -> impl Iterator<Item = Uuid> + '_ {
        self.routes_by_ts
            .get(ts)
            .and_then(|m| m.get(key))
            .into_iter()
            .flatten()
            .copied()
    }
}

/// Writes already asked for whose echo has not come back: the incremental engine counts
/// them as done. The full recompute uses an empty one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pending {
    /// IC-SB routes inserted, by group.
    pub ad_inserts: FastMap<(String, PKey), Vec<Route>>,
    /// IC-SB routes deleted.
    pub ad_deletes: FastSet<Uuid>,
    /// IC-SB routes whose `external_ids` were updated.
    pub ad_updates: FastMap<Uuid, StringMap>,
    /// Learned routes inserted, by group.
    pub learn_inserts: FastMap<(Uuid, PKey), Vec<LogicalRouterStaticRoute>>,
    /// Learned routes taken off their router.
    pub learn_deletes: FastSet<(Uuid, Uuid)>,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.ad_inserts.is_empty()
            && self.ad_deletes.is_empty()
            && self.ad_updates.is_empty()
            && self.learn_inserts.is_empty()
            && self.learn_deletes.is_empty()
    }
}

/// The rows of some groups, sorted by (prefix, UUID): every group for the full recompute
/// (one scan of the tables), or the few groups a change touches (through the [`Index`]).
#[derive(Default)]
pub(crate) struct Lists<'a> {
    /// Router → its static routes.
    pub(super) statics: FastMap<Uuid, Run<&'a LogicalRouterStaticRoute>>,
    /// Transit switch → the IC-SB routes of every zone on it.
    pub(super) routes: FastMap<&'a str, Run<&'a Route>>,
}

/// A list sorted by prefix, with a cursor: looking prefixes up in ascending order (as the
/// full recompute does) costs O(1) each instead of a binary search.
pub(crate) struct Run<T> {
    pub(super) v: Vec<(PKey, T)>,
    hint: std::cell::Cell<usize>,
}

impl<T> Run<T> {
    fn new(v: Vec<(PKey, T)>) -> Self {
        Run {
            v,
            hint: std::cell::Cell::new(0),
        }
    }

    /// The entries whose prefix is `key`.
    fn get(&self, key: &PKey) -> &[(PKey, T)] {
        let v = &self.v;
        let h = self.hint.get().min(v.len());
        let at_hint = (h == v.len() || v[h].0 >= *key) && (h == 0 || v[h - 1].0 < *key);
        let lo = if at_hint {
            h
        } else {
            v.partition_point(|(k, _)| k < key)
        };
        let mut hi = lo;
        while hi < v.len() && v[hi].0 == *key {
            hi += 1;
        }
        self.hint.set(hi);
        &v[lo..hi]
    }

    /// The distinct prefixes.
    pub(super) fn keys(&self) -> impl Iterator<Item = PKey> + '_ {
        keys(&self.v)
    }
}

/// The distinct keys of a sorted list.
fn keys<T>(v: &[(PKey, T)]) -> impl Iterator<Item = PKey> + '_ {
    let mut last = None;
    v.iter().filter_map(move |(k, _)| {
        if last == Some(*k) {
            None
        } else {
            last = Some(*k);
            Some(*k)
        }
    })
}

impl<'a> Lists<'a> {
    /// Every group, from one scan of the rows.
    pub(crate) fn all(rows: Rows<'a>) -> Self {
        let mut l = Lists::default();
        for lr in rows.nb.routers.values() {
            let v: Vec<(PKey, &LogicalRouterStaticRoute)> = lr
                .static_routes
                .iter()
                .filter_map(|r| rows.nb.static_routes.get(&r.uuid()))
                .map(|r| (Prefix::parse(&r.ip_prefix), r))
                .collect();
            if !v.is_empty() {
                let mut v = v;
                v.sort_unstable_by_key(|a| (a.0, a.1.uuid));
                v.dedup_by(|a, b| a.1.uuid == b.1.uuid);
                l.statics.insert(lr.uuid, Run::new(v));
            }
        }
        let mut routes: FastMap<&str, Vec<(PKey, &Route)>> = FastMap::default();
        for r in rows.ic_sb.routes.values() {
            routes
                .entry(r.transit_switch.as_str())
                .or_default()
                .push((Prefix::parse(&r.ip_prefix), r));
        }
        for (ts, mut v) in routes {
            // Stable: UUID order (the table's) within a prefix.
            v.sort_by_key(|a| a.0);
            l.routes.insert(ts, Run::new(v));
        }
        l
    }

    fn add_statics(&mut self, rows: Rows<'a>, idx: &Index, lr: Uuid, key: &PKey) {
        if self.statics.contains_key(&lr) {
            return;
        }
        let v = idx
            .statics(lr, key)
            .filter_map(|u| rows.nb.static_routes.get(&u))
            .map(|r| (*key, r))
            .collect();
        self.statics.insert(lr, Run::new(v));
    }

    fn add_routes(&mut self, rows: Rows<'a>, idx: &Index, ts: &'a str, key: &PKey) {
        if self.routes.contains_key(ts) {
            return;
        }
        let v = idx
            .routes(ts, key)
            .filter_map(|u| rows.ic_sb.routes.get(&u))
            .map(|r| (*key, r))
            .collect();
        self.routes.insert(ts, Run::new(v));
    }

    /// The rows advertisement group `(ts, key)` reads.
    pub(crate) fn for_ad(
        rows: Rows<'a>,
        topo: &'a Topo,
        idx: &Index,
        ts: &'a str,
        key: &PKey,
    ) -> Self {
        let mut l = Lists::default();
        for lr in topo.ts_routers.get(ts).into_iter().flatten() {
            l.add_statics(rows, idx, *lr, key);
        }
        l.add_routes(rows, idx, ts, key);
        l
    }

    /// The rows learning group `(lr, key)` reads.
    pub(crate) fn for_learn(
        rows: Rows<'a>,
        topo: &'a Topo,
        idx: &Index,
        lr: Uuid,
        key: &PKey,
    ) -> Self {
        let mut l = Lists::default();
        l.add_statics(rows, idx, lr, key);
        for port in topo.routers.get(&lr).into_iter().flat_map(|c| &c.ports) {
            l.add_routes(rows, idx, &port.transit_switch, key);
        }
        l
    }

    pub(super) fn statics(
        &self,
        lr: Uuid,
        key: &PKey,
    ) -> impl Iterator<Item = &'a LogicalRouterStaticRoute> + '_ {
        let v = self.statics.get(&lr).map(|r| r.get(key)).unwrap_or(&[]);
        v.iter().map(|(_, r)| *r)
    }

    pub(super) fn routes(&self, ts: &str, key: &PKey) -> impl Iterator<Item = &'a Route> + '_ {
        let v = self.routes.get(ts).map(|r| r.get(key)).unwrap_or(&[]);
        v.iter().map(|(_, r)| *r)
    }
}
