//! Commit-time checks of a transaction, in ovsdb-server's order: strong references, garbage
//! collection of unreferenced non-root rows, references to deleted rows, weak-reference cleanup
//! (with the column's `min` rechecked), `maxRows`, index uniqueness.

use std::collections::{BTreeSet, HashMap, HashSet};

use ovsdb_proto::schema::RefType;
use ovsdb_proto::Uuid;

use super::txn::Txn;
use super::*;

impl Txn<'_> {
    /// Commit-time checks; may extend the overlay (garbage collection, weak references).
    pub(super) fn precommit(&mut self) -> OpResult<()> {
        let schema = self.db.schema.clone();
        // Strong references from new and changed rows must point to existing rows.
        let mut to_check: Vec<(String, Uuid)> = Vec::new();
        for (t, rows) in &self.overlay {
            for (u, r) in rows {
                if r.is_some() {
                    to_check.push((t.clone(), *u));
                }
            }
        }
        for (t, u) in &to_check {
            let info = &self.db.info[t];
            let r = self.get(t, *u).expect("live");
            for rc in info.refs.iter().filter(|rc| rc.strength == RefType::Strong) {
                let Some(d) = r.row.get(&rc.column) else {
                    continue;
                };
                for target in ref_atoms(d, rc.key) {
                    if self.get(&rc.table, target).is_none() {
                        return Err(OpError::new(
                            "referential integrity violation",
                            format!(
                                "Table {t} column {} row {u} references nonexistent row {target} in table {}.",
                                rc.column, rc.table
                            ),
                        ));
                    }
                }
            }
        }
        // Garbage collection of non-root rows nothing references any more.
        let mut candidates: BTreeSet<(String, Uuid)> = BTreeSet::new();
        for (t, rows) in &self.overlay {
            for (u, r) in rows {
                if r.is_some() && !schema.is_root(t) {
                    candidates.insert((t.clone(), *u));
                }
                if let Some(old) = self.db.tables.get(t).and_then(|s| s.get(u)) {
                    for rc in &self.db.info[t].refs {
                        if rc.strength != RefType::Strong || schema.is_root(&rc.table) {
                            continue;
                        }
                        if let Some(d) = old.row.get(&rc.column) {
                            for target in ref_atoms(d, rc.key) {
                                candidates.insert((rc.table.clone(), target));
                            }
                        }
                    }
                }
            }
        }
        while !candidates.is_empty() {
            let targets: HashSet<(String, Uuid)> = candidates
                .iter()
                .filter(|(t, u)| self.get(t, *u).is_some())
                .cloned()
                .collect();
            candidates.clear();
            if targets.is_empty() {
                break;
            }
            let counts = self.strong_ref_counts(&targets);
            for (t, u) in targets {
                if counts.get(&(t.clone(), u)).copied().unwrap_or(0) > 0 {
                    continue;
                }
                let old = self.get(&t, u).cloned().expect("live");
                self.put(&t, u, None);
                for rc in &self.db.info[&t].refs {
                    if rc.strength != RefType::Strong || schema.is_root(&rc.table) {
                        continue;
                    }
                    if let Some(d) = old.row.get(&rc.column) {
                        for target in ref_atoms(d, rc.key) {
                            candidates.insert((rc.table.clone(), target));
                        }
                    }
                }
            }
        }
        // Deleted rows must not be referenced any more.
        let mut deleted: HashSet<(String, Uuid)> = HashSet::new();
        for (t, rows) in &self.overlay {
            for (u, r) in rows {
                if r.is_none() && self.db.tables.get(t).is_some_and(|s| s.contains_key(u)) {
                    deleted.insert((t.clone(), *u));
                }
            }
        }
        if !deleted.is_empty() {
            let counts = self.strong_ref_counts(&deleted);
            if let Some(((t, u), n)) = counts.iter().find(|(_, n)| **n > 0) {
                return Err(OpError::new(
                    "referential integrity violation",
                    format!("cannot delete {t} row {u} because of {n} remaining reference(s)"),
                ));
            }
        }
        // Weak references: drop those to rows that do not exist.
        let deleted_tables: HashSet<&str> = deleted.iter().map(|(t, _)| t.as_str()).collect();
        let mut weak_fix: Vec<(String, Uuid)> = Vec::new();
        for (t, info) in &self.db.info {
            let weak: Vec<&RefColumn> = info
                .refs
                .iter()
                .filter(|rc| rc.strength == RefType::Weak)
                .collect();
            if weak.is_empty() {
                continue;
            }
            let scan_all = weak
                .iter()
                .any(|rc| deleted_tables.contains(rc.table.as_str()));
            let check = |u: Uuid, r: &RowData, out: &mut Vec<(String, Uuid)>| {
                for rc in &weak {
                    if let Some(d) = r.row.get(&rc.column) {
                        if ref_atoms(d, rc.key).any(|x| self.get(&rc.table, x).is_none()) {
                            out.push((t.clone(), u));
                            return;
                        }
                    }
                }
            };
            if scan_all {
                self.for_each_row(t, |u, r| check(u, r, &mut weak_fix));
            } else if let Some(ov) = self.overlay.get(t) {
                for (u, r) in ov {
                    if let Some(r) = r {
                        check(*u, r, &mut weak_fix);
                    }
                }
            }
        }
        for (t, u) in weak_fix {
            let mut r = self.get(&t, u).cloned().expect("live");
            let ts = schema.table(&t).expect("known");
            for rc in self.db.info[&t]
                .refs
                .iter()
                .filter(|rc| rc.strength == RefType::Weak)
            {
                let Some(d) = r.row.get(&rc.column) else {
                    continue;
                };
                let live = |a: &Atom| a.as_uuid().is_none_or(|x| self.get(&rc.table, x).is_some());
                let nd = match d {
                    Datum::Set(s) if rc.key => {
                        Datum::Set(s.iter().filter(|a| live(a)).cloned().collect())
                    }
                    Datum::Map(m) => Datum::Map(
                        m.iter()
                            .filter(|(k, v)| if rc.key { live(k) } else { live(v) })
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ),
                    d => d.clone(),
                };
                let ty = &ts.columns[&rc.column].type_;
                if (nd.len() as u64) < ty.min {
                    return Err(OpError::constraint(format!(
                        "Deletion of {} weak reference(s) to deleted (or never-existing) rows from column \"{}\" in \"{t}\" row {u} caused this column to have {} element(s), but the schema requires at least {}.",
                        d.len() - nd.len(),
                        rc.column,
                        nd.len(),
                        ty.min
                    )));
                }
                r.row.insert(rc.column.clone(), nd);
            }
            self.put(&t, u, Some(r));
        }
        // maxRows.
        for t in self.overlay.keys() {
            if let Some(max) = schema.table(t).and_then(|ts| ts.max_rows) {
                let n = self.count_rows(t) as u64;
                if n > max {
                    return Err(OpError::constraint(format!(
                        "transaction causes \"{t}\" table to contain {n} rows, greater than the schema-defined limit of {max} row(s)"
                    )));
                }
            }
        }
        // Index uniqueness: changed rows against each other, then against the committed
        // rows the transaction left alone.
        for (t, ov) in &self.overlay {
            let ts = schema.table(t).expect("known");
            for (i, index) in ts.indexes.iter().enumerate() {
                let mut seen: HashMap<Vec<Datum>, Uuid> = HashMap::with_capacity(ov.len());
                let mut dup = None;
                for (u, r) in ov {
                    let Some(r) = r else { continue };
                    let key = index_key(index, r);
                    let committed = self.db.indexes.get(t).and_then(|m| m[i].get(&key));
                    if let Some(other) = committed {
                        if *other != *u && !ov.contains_key(other) {
                            dup = Some((*other, *u));
                            break;
                        }
                    }
                    if let Some(prev) = seen.insert(key, *u) {
                        dup = Some((prev, *u));
                        break;
                    }
                }
                if let Some((a, b)) = dup {
                    let cols = index
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(" and ");
                    return Err(OpError::constraint(format!(
                        "Transaction causes multiple rows in \"{t}\" table to have identical values for index on column(s) {cols}.  First row, with UUID {a}.  Second row, with UUID {b}."
                    )));
                }
            }
        }
        Ok(())
    }

    /// Strong references to each of `targets` from live rows.
    fn strong_ref_counts(
        &self,
        targets: &HashSet<(String, Uuid)>,
    ) -> HashMap<(String, Uuid), usize> {
        let mut by_table: HashMap<&str, HashSet<Uuid>> = HashMap::new();
        for (t, u) in targets {
            by_table.entry(t.as_str()).or_default().insert(*u);
        }
        let mut counts = HashMap::new();
        for (t, info) in &self.db.info {
            let cols: Vec<(&RefColumn, &HashSet<Uuid>)> = info
                .refs
                .iter()
                .filter(|rc| rc.strength == RefType::Strong)
                .filter_map(|rc| by_table.get(rc.table.as_str()).map(|set| (rc, set)))
                .collect();
            if cols.is_empty() {
                continue;
            }
            self.for_each_row(t, |_, r| {
                for (rc, set) in &cols {
                    if let Some(d) = r.row.get(&rc.column) {
                        for x in ref_atoms(d, rc.key) {
                            if set.contains(&x) {
                                *counts.entry((rc.table.clone(), x)).or_insert(0) += 1;
                            }
                        }
                    }
                }
            });
        }
        counts
    }
}
