//! Monitors (RFC 7047 §4.1.5, ovsdb-server.7 §4.1.12–4.1.15): what a session watches, and
//! the `update`/`update2`/`update3` contents of each commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use ovsdb_proto::{
    Call, Datum, MonitorRequests, MonitorSelect, Row, RowUpdate, RowUpdate2, TableUpdates,
    TableUpdates2, Uuid,
};
use serde_json::Value;

use crate::db::{Commit, Cond, Db, OpError, RowData};

/// The notification flavour of a monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `monitor`: `update` notifications.
    V1,
    /// `monitor_cond`: `update2`.
    V2,
    /// `monitor_cond_since`: `update3`.
    V3,
}

/// A kind of row change, for the per-column `select` of monitor requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Initial,
    Insert,
    Delete,
    Modify,
}

fn wants(sel: &MonitorSelect, kind: Kind) -> bool {
    match kind {
        Kind::Initial => sel.initial,
        Kind::Insert => sel.insert,
        Kind::Delete => sel.delete,
        Kind::Modify => sel.modify,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct MonTable {
    /// Columns, sorted, each with the `select` of the request that named it.
    pub columns: Vec<(String, MonitorSelect)>,
    /// The union of the requests' `select`.
    pub select: MonitorSelect,
    /// `None`: every row; otherwise a row is reported if any condition holds.
    pub conds: Option<Vec<Cond>>,
}

impl MonTable {
    /// The columns reported for changes of `kind`.
    fn cols(&self, kind: Kind) -> impl Iterator<Item = &String> {
        self.columns
            .iter()
            .filter(move |(_, s)| wants(s, kind))
            .map(|(c, _)| c)
    }

    fn matches(&self, uuid: Uuid, row: &RowData) -> bool {
        match &self.conds {
            None => true,
            Some(c) => c.iter().any(|c| c.eval(uuid, row)),
        }
    }
}

/// One monitor of a session.
#[derive(Debug, Clone)]
pub(crate) struct Monitor {
    pub db: String,
    pub id: Value,
    pub flavor: Flavor,
    pub tables: BTreeMap<String, MonTable>,
}

fn select_or(a: MonitorSelect, b: MonitorSelect) -> MonitorSelect {
    MonitorSelect {
        initial: a.initial || b.initial,
        insert: a.insert || b.insert,
        delete: a.delete || b.delete,
        modify: a.modify || b.modify,
    }
}

impl Monitor {
    /// Checks monitor requests against the database.
    pub fn new(
        db: &Db,
        db_name: &str,
        id: Value,
        flavor: Flavor,
        requests: MonitorRequests,
    ) -> Result<Monitor, OpError> {
        let mut tables = BTreeMap::new();
        for (t, reqs) in requests.0 {
            let ts = db
                .schema
                .table(&t)
                .ok_or_else(|| OpError::syntax(format!("no table named {t}")))?;
            let mut mt: Option<MonTable> = None;
            for r in reqs {
                let columns = match r.columns {
                    Some(cols) => {
                        for c in &cols {
                            if ts.column(c).is_none() {
                                return Err(OpError::syntax(format!(
                                    "{t} table has no column named {c}"
                                )));
                            }
                        }
                        cols
                    }
                    None => ts
                        .columns
                        .keys()
                        .cloned()
                        .chain(std::iter::once("_version".to_owned()))
                        .collect(),
                };
                let conds = match r.conditions {
                    Some(c) if flavor != Flavor::V1 && !c.is_empty() => {
                        Some(db.parse_conditions(&t, c)?)
                    }
                    _ => None,
                };
                let select = r.select.unwrap_or_default();
                let columns: Vec<(String, MonitorSelect)> =
                    columns.into_iter().map(|c| (c, select)).collect();
                mt = Some(match mt {
                    None => MonTable {
                        columns,
                        select,
                        conds,
                    },
                    Some(mut m) => {
                        for c in columns {
                            if m.columns.iter().any(|(x, _)| *x == c.0) {
                                return Err(OpError::syntax(format!(
                                    "column {} mentioned more than once",
                                    c.0
                                )));
                            }
                            m.columns.push(c);
                        }
                        m.select = select_or(m.select, select);
                        m.conds = match (m.conds, conds) {
                            (Some(mut a), Some(b)) => {
                                a.extend(b);
                                Some(a)
                            }
                            _ => None,
                        };
                        m
                    }
                });
            }
            if let Some(mut m) = mt {
                m.columns.sort_by(|a, b| a.0.cmp(&b.0));
                m.columns.dedup_by(|a, b| a.0 == b.0);
                tables.insert(t, m);
            }
        }
        Ok(Monitor {
            db: db_name.to_owned(),
            id,
            flavor,
            tables,
        })
    }

    /// The full row (monitored columns).
    fn project(&self, mt: &MonTable, kind: Kind, u: Uuid, r: &RowData) -> Row {
        mt.cols(kind)
            .filter_map(|c| r.value(u, c).map(|d| (c.clone(), d)))
            .collect()
    }

    /// The row without default-valued columns (`update2` `initial` and `insert`).
    fn project_nodefault(
        &self,
        db: &Db,
        table: &str,
        mt: &MonTable,
        kind: Kind,
        u: Uuid,
        r: &RowData,
    ) -> Row {
        let defaults = &db.info[table].defaults;
        mt.cols(kind)
            .filter_map(|c| {
                let d = r.value(u, c)?;
                (defaults.get(c) != Some(&d)).then(|| (c.clone(), d))
            })
            .collect()
    }

    /// The monitor's initial contents, for `monitor`.
    pub fn initial_v1(&self, db: &Db) -> TableUpdates {
        let mut out = BTreeMap::new();
        for (t, mt) in &self.tables {
            if !mt.select.initial {
                continue;
            }
            let rows: Vec<(Uuid, RowUpdate)> = db.tables[t]
                .iter()
                .map(|(u, r)| {
                    (
                        *u,
                        RowUpdate {
                            old: None,
                            new: Some(self.project(mt, Kind::Initial, *u, r)),
                        },
                    )
                })
                .collect();
            if !rows.is_empty() {
                out.insert(t.clone(), rows);
            }
        }
        TableUpdates(out)
    }

    /// The monitor's initial contents, for `monitor_cond` and `monitor_cond_since`.
    pub fn initial_v2(&self, db: &Db) -> TableUpdates2 {
        let mut out = BTreeMap::new();
        for (t, mt) in &self.tables {
            if !mt.select.initial {
                continue;
            }
            let rows: Vec<(Uuid, RowUpdate2)> = db.tables[t]
                .iter()
                .filter(|(u, r)| mt.matches(**u, r))
                .map(|(u, r)| {
                    (
                        *u,
                        RowUpdate2::Initial(self.project_nodefault(
                            db,
                            t,
                            mt,
                            Kind::Initial,
                            *u,
                            r,
                        )),
                    )
                })
                .collect();
            if !rows.is_empty() {
                out.insert(t.clone(), rows);
            }
        }
        TableUpdates2(out)
    }

    /// The notification for a commit, if it concerns this monitor.
    pub fn notification(&self, db: &Db, commit: &Commit) -> Option<Call> {
        self.notification_for(db, &[commit], commit.txn_id)
    }

    /// The `update2` contents of several commits merged, per row from the first old to the
    /// last new value.
    pub fn updates2_since(&self, db: &Db, commits: &[Arc<Commit>]) -> TableUpdates2 {
        let refs: Vec<&Commit> = commits.iter().map(|c| &**c).collect();
        self.updates2(db, &refs)
    }

    fn notification_for(&self, db: &Db, commits: &[&Commit], txn: Uuid) -> Option<Call> {
        match self.flavor {
            Flavor::V1 => {
                let u = self.updates1(commits);
                (!u.0.is_empty()).then(|| Call::Update {
                    monitor_id: self.id.clone(),
                    updates: u,
                })
            }
            Flavor::V2 => {
                let u = self.updates2(db, commits);
                (!u.0.is_empty()).then(|| Call::Update2 {
                    monitor_id: self.id.clone(),
                    updates: u,
                })
            }
            Flavor::V3 => {
                let u = self.updates2(db, commits);
                (!u.0.is_empty()).then(|| Call::Update3 {
                    monitor_id: self.id.clone(),
                    last_txn_id: txn,
                    updates: u,
                })
            }
        }
    }

    fn merged<'c>(
        &self,
        commits: &[&'c Commit],
        table: &str,
    ) -> Vec<(Uuid, Option<&'c RowData>, Option<&'c RowData>)> {
        let r = |x: &'c Option<Arc<RowData>>| x.as_deref();
        if commits.len() == 1 {
            return commits[0]
                .changes
                .get(table)
                .map(|l| l.iter().map(|c| (c.uuid, r(&c.old), r(&c.new))).collect())
                .unwrap_or_default();
        }
        let mut m: BTreeMap<Uuid, (Option<&RowData>, Option<&RowData>)> = BTreeMap::new();
        for c in commits {
            for ch in c.changes.get(table).into_iter().flatten() {
                m.entry(ch.uuid)
                    .and_modify(|e| e.1 = r(&ch.new))
                    .or_insert((r(&ch.old), r(&ch.new)));
            }
        }
        m.into_iter().map(|(u, (o, n))| (u, o, n)).collect()
    }

    fn updates1(&self, commits: &[&Commit]) -> TableUpdates {
        let mut out = BTreeMap::new();
        for (t, mt) in &self.tables {
            let mut rows = Vec::new();
            for (u, old, new) in self.merged(commits, t) {
                let upd = match (old, new) {
                    (None, Some(n)) if mt.select.insert => RowUpdate {
                        old: None,
                        new: Some(self.project(mt, Kind::Insert, u, n)),
                    },
                    (Some(o), None) if mt.select.delete => RowUpdate {
                        old: Some(self.project(mt, Kind::Delete, u, o)),
                        new: None,
                    },
                    (Some(o), Some(n)) if mt.select.modify => {
                        // As ovsdb-server: a change to any monitored column is reported,
                        // with the columns selected for modifications.
                        if !mt
                            .columns
                            .iter()
                            .any(|(c, _)| o.value(u, c) != n.value(u, c))
                        {
                            continue;
                        }
                        let changed: Row = mt
                            .cols(Kind::Modify)
                            .filter(|c| o.value(u, c) != n.value(u, c))
                            .filter_map(|c| o.value(u, c).map(|d| (c.clone(), d)))
                            .collect();
                        RowUpdate {
                            old: Some(changed),
                            new: Some(self.project(mt, Kind::Modify, u, n)),
                        }
                    }
                    _ => continue,
                };
                rows.push((u, upd));
            }
            if !rows.is_empty() {
                out.insert(t.clone(), rows);
            }
        }
        TableUpdates(out)
    }

    fn updates2(&self, db: &Db, commits: &[&Commit]) -> TableUpdates2 {
        let mut out = BTreeMap::new();
        for (t, mt) in &self.tables {
            let ts = &db.schema.tables[t];
            let mut rows = Vec::new();
            for (u, old, new) in self.merged(commits, t) {
                let om = old.filter(|o| mt.matches(u, o));
                let nm = new.filter(|n| mt.matches(u, n));
                let upd = match (om, nm) {
                    (None, Some(n)) if mt.select.insert => {
                        RowUpdate2::Insert(self.project_nodefault(db, t, mt, Kind::Insert, u, n))
                    }
                    (Some(_), None) if mt.select.delete => RowUpdate2::Delete,
                    (Some(o), Some(n)) if mt.select.modify => {
                        let diff: Row = mt
                            .cols(Kind::Modify)
                            .filter_map(|c| {
                                let (a, b) = (o.value(u, c)?, n.value(u, c)?);
                                let ty = &ts.column(c)?.type_;
                                (a != b).then(|| (c.clone(), Datum::diff(&a, &b, ty)))
                            })
                            .collect();
                        if diff.is_empty() {
                            continue;
                        }
                        RowUpdate2::Modify(diff)
                    }
                    _ => continue,
                };
                rows.push((u, upd));
            }
            if !rows.is_empty() {
                out.insert(t.clone(), rows);
            }
        }
        TableUpdates2(out)
    }

    /// Replaces the conditions of the tables in `requests`; returns the `update2` contents
    /// that take the client from the old conditions to the new ones.
    pub fn change_conditions(
        &mut self,
        db: &Db,
        requests: MonitorRequests,
    ) -> Result<TableUpdates2, OpError> {
        let mut new_tables = self.tables.clone();
        for (t, reqs) in requests.0 {
            let Some(mt) = new_tables.get_mut(&t) else {
                return Err(OpError::syntax(format!("no table named {t} in monitor")));
            };
            let mut conds: Option<Vec<Cond>> = Some(Vec::new());
            let mut any_empty = false;
            for r in reqs {
                if let Some(cols) = &r.columns {
                    let mut cols = cols.clone();
                    cols.sort();
                    cols.dedup();
                    let mine: Vec<String> = mt.columns.iter().map(|(c, _)| c.clone()).collect();
                    if cols != mine {
                        return Err(OpError::syntax("changing columns is not supported"));
                    }
                }
                match r.conditions {
                    Some(c) if !c.is_empty() => {
                        let parsed = db.parse_conditions(&t, c)?;
                        if let Some(v) = conds.as_mut() {
                            v.extend(parsed);
                        }
                    }
                    _ => any_empty = true,
                }
            }
            mt.conds = if any_empty { None } else { conds };
        }
        let mut out = BTreeMap::new();
        for (t, nt) in &new_tables {
            let ot = &self.tables[t];
            let mut rows = Vec::new();
            for (u, r) in &db.tables[t] {
                match (ot.matches(*u, r), nt.matches(*u, r)) {
                    (false, true) => rows.push((
                        *u,
                        RowUpdate2::Insert(self.project_nodefault(db, t, nt, Kind::Insert, *u, r)),
                    )),
                    (true, false) => rows.push((*u, RowUpdate2::Delete)),
                    _ => {}
                }
            }
            if !rows.is_empty() {
                out.insert(t.clone(), rows);
            }
        }
        self.tables = new_tables;
        Ok(TableUpdates2(out))
    }
}
