//! The replica cache: the rows of the monitored tables, kept by the connection task.
//!
//! Every notification (one server transaction) is applied under one write lock, so a reader
//! never sees half a transaction. Readers take the read lock briefly through
//! [`Cache::read`]; consumers that want changes subscribe to [`CacheEvent`]s.

use std::any::Any;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use ovsdb_proto::typed::{self, Table};
use ovsdb_proto::{
    apply_update, apply_update2, Applied, DatabaseSchema, Datum, Row, RowUpdate, RowUpdate2,
    TableSchema, TableUpdates, TableUpdates2, Uuid,
};
use tracing::warn;

/// Rows of one table by UUID.
pub type TableRows = HashMap<Uuid, Row>;

/// The replica of one database: rows by table, for the tables monitored, with the typed
/// mirrors and indexes registered on the [`Cache`]. Everything in it reflects the same whole
/// number of server transactions.
///
/// A table is kept in one of two ways: untyped ([`Row`]s, read with [`Tables::table`]), with
/// an optional typed mirror ([`Cache::register_typed`]), or typed only
/// ([`Cache::register_typed_only`], [`MonitorSpec::typed`](crate::MonitorSpec::typed)): its
/// rows are decoded straight into the generated type and kept once, read with
/// [`Tables::typed`]. Typed-only tables are the fast and small way to replicate a large table.
#[derive(Debug, Default)]
pub struct Tables {
    tables: HashMap<String, TableRows>,
    typed: HashMap<&'static str, Box<dyn Mirror>>,
    /// Tables kept typed only: their rows live in `typed`, never in `tables`.
    owned: HashSet<&'static str>,
    indexes: HashMap<String, Index>,
}

impl Clone for Tables {
    fn clone(&self) -> Self {
        Tables {
            tables: self.tables.clone(),
            typed: self
                .typed
                .iter()
                .map(|(k, m)| (*k, m.clone_box()))
                .collect(),
            owned: self.owned.clone(),
            indexes: self.indexes.clone(),
        }
    }
}

/// One row change of a notification, in either protocol version.
pub(crate) enum AnyUpdate {
    V1(RowUpdate),
    V2(RowUpdate2),
}

/// A change decoded and applied to a copy, waiting to be moved into the cache.
type Staged = Box<dyn Any + Send>;

/// A typed copy of one table: kept in step with the untyped rows (a mirror), or holding the
/// table's only copy (typed only).
trait Mirror: Send + Sync + std::fmt::Debug {
    fn rebuild(&mut self, rows: Option<&TableRows>);
    fn update(&mut self, uuid: Uuid, row: Option<&Row>);
    fn as_any(&self) -> &dyn Any;
    fn clone_box(&self) -> Box<dyn Mirror>;
    fn len(&self) -> usize;
    /// Every row as an untyped row with all its columns (indexes over typed-only tables).
    fn full_rows(&self) -> Vec<(Uuid, Row)>;
    fn full_row(&self, uuid: Uuid) -> Option<Row>;
    /// A fresh copy of the table from a `<table-update2>` JSON object.
    fn decode_copy(&self, json: &[u8]) -> ovsdb_proto::Result<Staged>;
    /// A fresh copy of the table from decoded row updates.
    fn copy_from(&self, updates: Vec<(Uuid, RowUpdate2)>) -> ovsdb_proto::Result<Staged>;
    /// Replaces the rows with a copy from `decode_copy` or `copy_from`.
    fn install(&mut self, copy: Staged);
    /// Applies `updates` to copies of the rows they touch.
    fn stage(
        &self,
        updates: Vec<(Uuid, AnyUpdate)>,
    ) -> ovsdb_proto::Result<(Staged, Vec<(Uuid, Applied)>)>;
    /// Moves staged rows in.
    fn commit(&mut self, staged: Staged);
}

#[derive(Debug, Clone)]
struct TypedRows<T>(HashMap<Uuid, T>);

impl<T: Table + Send + Sync + 'static> TypedRows<T> {
    fn convert(uuid: Uuid, row: &Row) -> Option<T> {
        match T::from_row(uuid, row) {
            Ok(t) => Some(t),
            Err(e) => {
                // The server's schema allows what the generated type does not (schema skew).
                warn!(table = T::NAME, %uuid, error = %e, "row left out of its typed table");
                None
            }
        }
    }
}

impl<T: Table + Send + Sync + 'static> Mirror for TypedRows<T> {
    fn rebuild(&mut self, rows: Option<&TableRows>) {
        self.0 = rows
            .into_iter()
            .flatten()
            .filter_map(|(u, r)| Self::convert(*u, r).map(|t| (*u, t)))
            .collect();
    }
    fn update(&mut self, uuid: Uuid, row: Option<&Row>) {
        match row.and_then(|r| Self::convert(uuid, r)) {
            Some(t) => self.0.insert(uuid, t),
            None => self.0.remove(&uuid),
        };
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn Mirror> {
        Box::new(self.clone())
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn full_rows(&self) -> Vec<(Uuid, Row)> {
        self.0.iter().map(|(u, t)| (*u, t.to_full_row())).collect()
    }
    fn full_row(&self, uuid: Uuid) -> Option<Row> {
        self.0.get(&uuid).map(Table::to_full_row)
    }
    fn decode_copy(&self, json: &[u8]) -> ovsdb_proto::Result<Staged> {
        let mut rows: HashMap<Uuid, T> = HashMap::new();
        typed::apply_table_update2_json(json, &mut rows)?;
        Ok(Box::new(rows))
    }
    fn copy_from(&self, updates: Vec<(Uuid, RowUpdate2)>) -> ovsdb_proto::Result<Staged> {
        let mut rows = HashMap::with_capacity(updates.len());
        for (uuid, u) in updates {
            T::apply_update2(&mut rows, uuid, &u)?;
        }
        Ok(Box::new(rows))
    }
    fn install(&mut self, copy: Staged) {
        if let Ok(rows) = copy.downcast::<HashMap<Uuid, T>>() {
            self.0 = *rows;
        }
    }
    fn stage(
        &self,
        updates: Vec<(Uuid, AnyUpdate)>,
    ) -> ovsdb_proto::Result<(Staged, Vec<(Uuid, Applied)>)> {
        let mut scratch: HashMap<Uuid, T> = HashMap::with_capacity(updates.len());
        let mut touched = Vec::with_capacity(updates.len());
        let mut seen = HashSet::with_capacity(updates.len());
        let mut changes = Vec::with_capacity(updates.len());
        for (uuid, u) in updates {
            if seen.insert(uuid) {
                touched.push(uuid);
                if let Some(row) = self.0.get(&uuid) {
                    scratch.insert(uuid, row.clone());
                }
            }
            let applied = match u {
                // The scratch row is a copy that an error throws away: change it in place
                // (`Table::apply_update2` would copy a large row once more).
                AnyUpdate::V2(RowUpdate2::Modify(diff)) => {
                    let row = scratch.get_mut(&uuid).ok_or_else(|| {
                        ovsdb_proto::Error::Protocol(format!(
                            "modify of unknown row {} {uuid}",
                            T::NAME
                        ))
                    })?;
                    row.apply_diff(&diff)?;
                    Applied::Modified
                }
                AnyUpdate::V2(u) => T::apply_update2(&mut scratch, uuid, &u)?,
                AnyUpdate::V1(RowUpdate { new: Some(new), .. }) => {
                    // Version 1 sends the changed columns' new values: merge them in.
                    let (full, applied) = match scratch.get(&uuid) {
                        Some(old) => {
                            let mut full = old.to_full_row();
                            for (c, v) in new.iter() {
                                full.insert(c, v.clone());
                            }
                            (full, Applied::Modified)
                        }
                        None => (new, Applied::Inserted),
                    };
                    scratch.insert(uuid, T::from_row(uuid, &full)?);
                    applied
                }
                AnyUpdate::V1(RowUpdate { new: None, .. }) => {
                    T::apply_update2(&mut scratch, uuid, &RowUpdate2::Delete)?
                }
            };
            changes.push((uuid, applied));
        }
        let staged: Vec<(Uuid, Option<T>)> = touched
            .into_iter()
            .map(|u| (u, scratch.remove(&u)))
            .collect();
        Ok((Box::new(staged), changes))
    }
    fn commit(&mut self, staged: Staged) {
        if let Ok(rows) = staged.downcast::<Vec<(Uuid, Option<T>)>>() {
            for (uuid, row) in *rows {
                match row {
                    Some(r) => self.0.insert(uuid, r),
                    None => self.0.remove(&uuid),
                };
            }
        }
    }
}

/// The key function of an index: the key of a row, or `None` to leave the row out.
pub type IndexKey = Arc<dyn Fn(&Row) -> Option<Vec<Datum>> + Send + Sync>;

/// An index over one table: key → rows.
#[derive(Clone)]
struct Index {
    table: String,
    key: IndexKey,
    map: HashMap<Vec<Datum>, Vec<Uuid>>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("table", &self.table)
            .field("keys", &self.map.len())
            .finish()
    }
}

impl Index {
    fn insert(&mut self, uuid: Uuid, row: &Row) {
        if let Some(k) = (self.key)(row) {
            let v = self.map.entry(k).or_default();
            if !v.contains(&uuid) {
                v.push(uuid);
            }
        }
    }
    fn remove(&mut self, uuid: Uuid, row: &Row) {
        if let Some(k) = (self.key)(row) {
            if let Some(v) = self.map.get_mut(&k) {
                v.retain(|u| *u != uuid);
                if v.is_empty() {
                    self.map.remove(&k);
                }
            }
        }
    }
    fn rebuild<'r>(&mut self, rows: impl Iterator<Item = (&'r Uuid, &'r Row)>) {
        self.map.clear();
        for (u, r) in rows {
            self.insert(*u, r);
        }
    }
}

impl Tables {
    /// The untyped rows of `table`: `None` if it is not monitored, or kept typed only (read
    /// those with [`Tables::typed`]).
    pub fn table(&self, table: &str) -> Option<&TableRows> {
        self.tables.get(table)
    }

    /// One untyped row (see [`Tables::table`]).
    pub fn row(&self, table: &str, uuid: &Uuid) -> Option<&Row> {
        self.tables.get(table)?.get(uuid)
    }

    /// Number of rows in `table`, however it is kept.
    pub fn len(&self, table: &str) -> usize {
        match self.tables.get(table) {
            Some(rows) => rows.len(),
            None if self.is_owned(table) => self.typed.get(table).map_or(0, |m| m.len()),
            None => 0,
        }
    }

    /// Iterates over `(table name, untyped rows)`; typed-only tables are in
    /// [`Tables::typed_only_tables`].
    pub fn iter(&self) -> impl Iterator<Item = (&str, &TableRows)> {
        self.tables.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The names of the tables kept typed only.
    pub fn typed_only_tables(&self) -> impl Iterator<Item = &str> {
        self.owned.iter().copied()
    }

    /// Total number of rows, however they are kept.
    pub fn total_rows(&self) -> usize {
        let untyped: usize = self.tables.values().map(HashMap::len).sum();
        let typed: usize = self
            .owned
            .iter()
            .filter_map(|t| self.typed.get(t))
            .map(|m| m.len())
            .sum();
        untyped + typed
    }

    /// The typed rows of `T`'s table, if [`Cache::register_typed`] or
    /// [`Cache::register_typed_only`] asked for them.
    pub fn typed<T: Table + Send + Sync + 'static>(&self) -> Option<&HashMap<Uuid, T>> {
        self.typed
            .get(T::NAME)?
            .as_any()
            .downcast_ref::<TypedRows<T>>()
            .map(|t| &t.0)
    }

    /// The rows whose key in index `name` (see [`Cache::add_index`]) is `key`.
    pub fn lookup(&self, name: &str, key: &[Datum]) -> &[Uuid] {
        self.indexes
            .get(name)
            .and_then(|i| i.map.get(key))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether `table` is kept typed only.
    fn is_owned(&self, table: &str) -> bool {
        self.owned.contains(table)
    }

    /// Re-derives the typed copy and the indexes of `table` from its rows.
    fn rebuild_derived(&mut self, table: &str) {
        if self.is_owned(table) {
            if !self.indexes.values().any(|i| i.table == table) {
                return;
            }
            let rows = self
                .typed
                .get(table)
                .map(|m| m.full_rows())
                .unwrap_or_default();
            for index in self.indexes.values_mut().filter(|i| i.table == table) {
                index.rebuild(rows.iter().map(|(u, r)| (u, r)));
            }
            return;
        }
        let rows = self.tables.get(table);
        if let Some(m) = self.typed.get_mut(table) {
            m.rebuild(rows);
        }
        for index in self.indexes.values_mut().filter(|i| i.table == table) {
            index.rebuild(rows.into_iter().flatten());
        }
    }
}

/// One row change applied to the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowChange {
    /// Table.
    pub table: String,
    /// Row.
    pub uuid: Uuid,
    /// What happened.
    pub kind: Applied,
}

/// What a subscriber hears about a database's cache.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CacheEvent {
    /// One server transaction was applied.
    Changed {
        /// Database.
        db: String,
        /// The rows it changed, in order.
        changes: Arc<Vec<RowChange>>,
    },
    /// Tables were replaced by a full copy from the server (first sync, or a resume the
    /// server could not serve from its history). Re-read them.
    Resynced {
        /// Database.
        db: String,
        /// The tables replaced.
        tables: Vec<String>,
    },
}

/// The replica of one database, shared between the connection task and readers.
#[derive(Debug)]
pub struct Cache {
    db: String,
    schema: RwLock<Option<Arc<DatabaseSchema>>>,
    tables: RwLock<Tables>,
}

impl Cache {
    pub(crate) fn new(db: &str) -> Self {
        Cache {
            db: db.to_owned(),
            schema: RwLock::new(None),
            tables: RwLock::new(Tables::default()),
        }
    }

    /// The database name.
    pub fn db(&self) -> &str {
        &self.db
    }

    /// The schema the server reported, once connected.
    pub fn schema(&self) -> Option<Arc<DatabaseSchema>> {
        self.schema
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_schema(&self, schema: Arc<DatabaseSchema>) {
        *self.schema.write().unwrap_or_else(|e| e.into_inner()) = Some(schema);
    }

    /// Keeps a typed copy of `T`'s table (a generated row type such as
    /// `ovn_nb::LogicalRouter`), updated with every transaction under the same lock as the
    /// untyped rows; read it with [`Tables::typed`]. Rows that do not fit `T` (a newer
    /// server's values) are left out with a log line.
    pub fn register_typed<T: Table + Send + Sync + 'static>(&self) {
        let mut guard = self.tables.write().unwrap_or_else(|e| e.into_inner());
        if guard.is_owned(T::NAME) {
            return;
        }
        guard
            .typed
            .insert(T::NAME, Box::new(TypedRows::<T>(HashMap::new())));
        guard.rebuild_derived(T::NAME);
    }

    /// Keeps `T`'s table typed only: its rows are decoded straight into `T` (one pass over
    /// a monitor reply, no untyped copy) and read with [`Tables::typed`];
    /// [`Tables::table`] no longer lists it. Rows already held are converted. Register
    /// before the first sync (see [`MonitorSpec::typed`](crate::MonitorSpec::typed)) to get
    /// the fast path from the start. Rows that do not fit `T` (a newer server's values) are
    /// an error that makes the client resync, as any update the cache cannot apply.
    pub fn register_typed_only<T: Table + Send + Sync + 'static>(&self) {
        let mut guard = self.tables.write().unwrap_or_else(|e| e.into_inner());
        if guard.is_owned(T::NAME) {
            return;
        }
        let mut mirror = TypedRows::<T>(HashMap::new());
        mirror.rebuild(guard.tables.get(T::NAME));
        guard.tables.remove(T::NAME);
        guard.typed.insert(T::NAME, Box::new(mirror));
        guard.owned.insert(T::NAME);
        guard.rebuild_derived(T::NAME);
    }

    /// Adds an index named `name` over `table`, keyed by `key`; look it up with
    /// [`Tables::lookup`]. It is kept in step with every transaction.
    pub fn add_index(&self, name: &str, table: &str, key: IndexKey) {
        let mut guard = self.tables.write().unwrap_or_else(|e| e.into_inner());
        let index = Index {
            table: table.to_owned(),
            key,
            map: HashMap::new(),
        };
        guard.indexes.insert(name.to_owned(), index);
        guard.rebuild_derived(table);
    }

    /// Adds an index over `columns` of `table` (a schema index, or any other column set),
    /// named `table(col,col…)`; rows missing a column are left out.
    pub fn add_column_index(&self, table: &str, columns: &[&str]) -> String {
        let name = format!("{table}({})", columns.join(","));
        let cols: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        let key: IndexKey =
            Arc::new(move |row: &Row| cols.iter().map(|c| row.get(c).cloned()).collect());
        self.add_index(&name, table, key);
        name
    }

    /// Adds the indexes the schema declares for every monitored table.
    pub fn add_schema_indexes(&self) -> Vec<String> {
        let Some(schema) = self.schema() else {
            return Vec::new();
        };
        let monitored: Vec<String> = self.read().tables.keys().cloned().collect();
        let mut names = Vec::new();
        for (t, ts) in schema.tables.iter().filter(|(t, _)| monitored.contains(t)) {
            for idx in &ts.indexes {
                let cols: Vec<&str> = idx.iter().map(String::as_str).collect();
                names.push(self.add_column_index(t, &cols));
            }
        }
        names
    }

    /// A consistent view of the replica; hold it briefly (the connection task waits for it
    /// to apply the next transaction).
    pub fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the replica (for callers that need to hold it).
    pub fn snapshot(&self) -> Tables {
        self.read().clone()
    }

    /// Replaces `tables` with a fresh copy (`initial` rows), then applies it.
    pub(crate) fn replace(
        &self,
        schema: &DatabaseSchema,
        tables: &[String],
        updates: TableUpdates2,
    ) -> ovsdb_proto::Result<()> {
        let copies = updates
            .0
            .into_iter()
            .map(|(t, rows)| (t, FullCopy::Decoded(rows)))
            .collect();
        self.replace_with(schema, tables, copies)
    }

    /// Like [`Cache::replace`], from each table's raw `<table-update2>` JSON: typed-only
    /// tables decode it straight into their type.
    pub(crate) fn replace_json(
        &self,
        schema: &DatabaseSchema,
        tables: &[String],
        updates: Vec<(String, &[u8])>,
    ) -> ovsdb_proto::Result<()> {
        let copies = updates
            .into_iter()
            .map(|(t, json)| (t, FullCopy::Json(json)))
            .collect();
        self.replace_with(schema, tables, copies)
    }

    fn replace_with(
        &self,
        schema: &DatabaseSchema,
        tables: &[String],
        copies: Vec<(String, FullCopy<'_>)>,
    ) -> ovsdb_proto::Result<()> {
        let mut fresh: HashMap<String, TableRows> = HashMap::new();
        let mut typed: Vec<(String, Staged)> = Vec::new();
        {
            // Decoding needs only to read the registrations: readers go on meanwhile.
            let guard = self.read();
            for t in tables.iter().filter(|t| !guard.is_owned(t)) {
                fresh.insert(t.clone(), TableRows::new());
            }
            for (t, copy) in copies {
                let ts = schema.table(&t).ok_or_else(|| {
                    ovsdb_proto::Error::Protocol(format!("update for unknown table {t}"))
                })?;
                if let Some(m) = guard.typed.get(t.as_str()).filter(|_| guard.is_owned(&t)) {
                    let staged = match copy {
                        FullCopy::Json(json) => m.decode_copy(json)?,
                        FullCopy::Decoded(rows) => m.copy_from(rows)?,
                    };
                    typed.push((t, staged));
                    continue;
                }
                let rows = match copy {
                    FullCopy::Json(json) => ovsdb_proto::decode_table_update2(json)?,
                    FullCopy::Decoded(rows) => rows,
                };
                let target = fresh.entry(t.clone()).or_default();
                target.reserve(rows.len());
                for (uuid, u) in rows {
                    apply_update2(target, &t, ts, uuid, u)?;
                }
            }
        }
        let mut guard = self.tables.write().unwrap_or_else(|e| e.into_inner());
        let listed: HashSet<&str> = typed.iter().map(|(t, _)| t.as_str()).collect();
        let emptied: Vec<String> = tables
            .iter()
            .filter(|t| guard.is_owned(t) && !listed.contains(t.as_str()))
            .cloned()
            .collect();
        for t in emptied {
            // The server sent no row of it: empty.
            if let Some(m) = guard.typed.get_mut(t.as_str()) {
                m.rebuild(None);
            }
            guard.rebuild_derived(&t);
        }
        for (t, staged) in typed {
            if let Some(m) = guard.typed.get_mut(t.as_str()) {
                m.install(staged);
            }
            guard.rebuild_derived(&t);
        }
        for (t, rows) in fresh {
            guard.tables.insert(t.clone(), rows);
            guard.rebuild_derived(&t);
        }
        Ok(())
    }

    /// Applies one `update2`/`update3` (one server transaction) atomically. On error nothing
    /// is applied.
    pub(crate) fn apply2(
        &self,
        schema: &DatabaseSchema,
        updates: TableUpdates2,
    ) -> ovsdb_proto::Result<Vec<RowChange>> {
        self.apply_staged(schema, updates.0, apply_update2, AnyUpdate::V2)
    }

    /// Applies one `update` (version 1) atomically.
    pub(crate) fn apply1(
        &self,
        schema: &DatabaseSchema,
        updates: TableUpdates,
    ) -> ovsdb_proto::Result<Vec<RowChange>> {
        self.apply_staged(schema, updates.0, apply_update, AnyUpdate::V1)
    }

    /// Applies changes to copies of the touched rows, then moves them into the cache, so
    /// that a bad update leaves the cache as it was.
    fn apply_staged<U>(
        &self,
        schema: &DatabaseSchema,
        updates: impl IntoIterator<Item = (String, Vec<(Uuid, U)>)>,
        apply: impl Fn(&mut TableRows, &str, &TableSchema, Uuid, U) -> ovsdb_proto::Result<Applied>,
        any: impl Fn(U) -> AnyUpdate,
    ) -> ovsdb_proto::Result<Vec<RowChange>> {
        let mut guard = self.tables.write().unwrap_or_else(|e| e.into_inner());
        let mut staged: HashMap<String, TableRows> = HashMap::new();
        let mut typed: Vec<(String, Staged)> = Vec::new();
        let mut changes = Vec::new();
        for (t, rows) in updates {
            let ts = schema.table(&t).ok_or_else(|| {
                ovsdb_proto::Error::Protocol(format!("update for unknown table {t}"))
            })?;
            if let Some(m) = guard.typed.get(t.as_str()).filter(|_| guard.is_owned(&t)) {
                let rows = rows.into_iter().map(|(u, r)| (u, any(r))).collect();
                let (stage, applied) = m.stage(rows)?;
                changes.extend(applied.into_iter().map(|(uuid, kind)| RowChange {
                    table: t.clone(),
                    uuid,
                    kind,
                }));
                typed.push((t, stage));
                continue;
            }
            let current = guard.tables.get(&t);
            let stage = staged.entry(t.clone()).or_default();
            for (uuid, u) in rows {
                if let Entry::Vacant(e) = stage.entry(uuid) {
                    if let Some(row) = current.and_then(|c| c.get(&uuid)) {
                        e.insert(row.clone());
                    }
                }
                let kind = apply(stage, &t, ts, uuid, u)?;
                changes.push(RowChange {
                    table: t.clone(),
                    uuid,
                    kind,
                });
            }
        }
        commit(&mut guard, staged, typed, &changes);
        Ok(changes)
    }
}

/// A table's full copy, as received.
enum FullCopy<'a> {
    /// Its `<table-update2>` JSON.
    Json(&'a [u8]),
    /// Decoded generic row updates.
    Decoded(Vec<(Uuid, RowUpdate2)>),
}

/// Moves the staged final state of every touched row into the cache (a row absent from the
/// stage was deleted), and keeps the typed mirrors and indexes in step.
fn commit(
    guard: &mut Tables,
    mut staged: HashMap<String, TableRows>,
    typed_staged: Vec<(String, Staged)>,
    changes: &[RowChange],
) {
    let Tables {
        tables,
        typed,
        owned,
        indexes,
    } = guard;
    // Typed-only tables: indexes see each touched row before and after.
    for (t, stage) in typed_staged {
        let Some(m) = typed.get_mut(t.as_str()) else {
            continue;
        };
        let indexed: Vec<&mut Index> = indexes.values_mut().filter(|i| i.table == t).collect();
        if indexed.is_empty() {
            m.commit(stage);
            continue;
        }
        let touched: Vec<Uuid> = changes
            .iter()
            .filter(|c| c.table == t)
            .map(|c| c.uuid)
            .collect();
        let before: Vec<(Uuid, Option<Row>)> =
            touched.iter().map(|u| (*u, m.full_row(*u))).collect();
        m.commit(stage);
        for index in indexed {
            for (u, old) in &before {
                if let Some(old) = old {
                    index.remove(*u, old);
                }
                if let Some(new) = m.full_row(*u) {
                    index.insert(*u, &new);
                }
            }
        }
    }
    let mut done = HashSet::new();
    for c in changes.iter().filter(|c| !owned.contains(c.table.as_str())) {
        if !done.insert((c.table.as_str(), c.uuid)) {
            continue;
        }
        let table = tables.entry(c.table.clone()).or_default();
        let old = match staged.get_mut(&c.table).and_then(|s| s.remove(&c.uuid)) {
            Some(row) => table.insert(c.uuid, row),
            None => table.remove(&c.uuid),
        };
        let new = table.get(&c.uuid);
        for index in indexes.values_mut().filter(|i| i.table == c.table) {
            if let Some(old) = &old {
                index.remove(c.uuid, old);
            }
            if let Some(new) = new {
                index.insert(c.uuid, new);
            }
        }
        if let Some(m) = typed.get_mut(c.table.as_str()) {
            m.update(c.uuid, new);
        }
    }
}

/// A replica is one source of typed rows for pure code (the other is an offline
/// [`ovsdb_proto::typed::TypedStore`]).
impl ovsdb_proto::typed::TypedRows for Tables {
    fn rows<T: Table + Send + Sync + 'static>(&self) -> Option<&HashMap<Uuid, T>> {
        self.typed::<T>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovn_nb::{LogicalSwitch, LogicalSwitchPort};
    use ovsdb_proto::{Atom, TableUpdate};

    fn uuid(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn named(name: &str) -> Row {
        Row::new().with("name", Atom::from(name))
    }

    /// A cache of NB's Logical_Switch and Logical_Switch_Port, typed only.
    fn typed_cache() -> (Cache, Arc<DatabaseSchema>) {
        let schema = Arc::new(ovn_nb::schema().clone());
        let cache = Cache::new(ovn_nb::NAME);
        cache.set_schema(schema.clone());
        cache.register_typed_only::<LogicalSwitch>();
        cache.register_typed_only::<LogicalSwitchPort>();
        (cache, schema)
    }

    fn updates2(t: &str, rows: TableUpdate<RowUpdate2>) -> TableUpdates2 {
        TableUpdates2([(t.to_owned(), rows)].into_iter().collect())
    }

    #[test]
    fn typed_only_initial_copy_from_json_and_empty_tables() {
        let (cache, schema) = typed_cache();
        let json = format!(
            r#"{{"{}":{{"initial":{{"name":"sw0","external_ids":["map",[["k","v"]]]}}}}}}"#,
            uuid(1)
        );
        let tables = [
            "Logical_Switch".to_owned(),
            "Logical_Switch_Port".to_owned(),
        ];
        cache
            .replace_json(
                &schema,
                &tables,
                vec![("Logical_Switch".into(), json.as_bytes())],
            )
            .unwrap();
        let t = cache.read();
        assert!(t.table("Logical_Switch").is_none());
        let sw = &t.typed::<LogicalSwitch>().unwrap()[&uuid(1)];
        assert_eq!((sw.name.as_str(), sw.uuid), ("sw0", uuid(1)));
        assert_eq!(sw.external_ids.get("k"), Some("v"));
        assert_eq!(
            (t.len("Logical_Switch"), t.len("Logical_Switch_Port")),
            (1, 0)
        );
        assert_eq!(t.total_rows(), 1);
        drop(t);
        // A bad copy is an error and leaves the cache as it was.
        let bad = format!(r#"{{"{}":{{"initial":{{"name":7}}}}}}"#, uuid(2));
        let err = cache
            .replace_json(
                &schema,
                &tables,
                vec![("Logical_Switch".into(), bad.as_bytes())],
            )
            .unwrap_err();
        assert!(err.to_string().contains("Logical_Switch"), "{err}");
        assert_eq!(cache.read().typed::<LogicalSwitch>().unwrap().len(), 1);
        // A table the copy does not mention is emptied.
        cache.replace_json(&schema, &tables, vec![]).unwrap();
        assert_eq!(cache.read().total_rows(), 0);
    }

    #[test]
    fn typed_only_updates_are_all_or_nothing_in_both_versions() {
        let (cache, schema) = typed_cache();
        let changes = cache
            .apply2(
                &schema,
                updates2(
                    "Logical_Switch",
                    vec![
                        (uuid(1), RowUpdate2::Insert(named("a"))),
                        (uuid(2), RowUpdate2::Insert(named("b"))),
                    ],
                ),
            )
            .unwrap();
        assert_eq!(changes.len(), 2);
        // One transaction touching two tables, the second change bad (modify of an unknown
        // row): nothing of it is applied.
        let mut bad = updates2(
            "Logical_Switch",
            vec![(uuid(1), RowUpdate2::Modify(named("a2")))],
        );
        bad.0.insert(
            "Logical_Switch_Port".into(),
            vec![(uuid(9), RowUpdate2::Modify(named("ghost")))],
        );
        assert!(cache.apply2(&schema, bad).is_err());
        let names = |c: &Cache| -> Vec<String> {
            let t = c.read();
            let mut v: Vec<String> = t
                .typed::<LogicalSwitch>()
                .unwrap()
                .values()
                .map(|s| s.name.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&cache), ["a", "b"]);
        // Version 1: `new` holds the changed columns (merged), no `new` deletes.
        let v1 = |rows: Vec<(Uuid, RowUpdate)>| {
            TableUpdates([("Logical_Switch".to_owned(), rows)].into_iter().collect())
        };
        let kinds: Vec<Applied> = cache
            .apply1(
                &schema,
                v1(vec![
                    (
                        uuid(1),
                        RowUpdate {
                            old: Some(named("a")),
                            new: Some(Row::new().with("external_ids", Datum::map([("x", "1")]))),
                        },
                    ),
                    (
                        uuid(2),
                        RowUpdate {
                            old: Some(named("b")),
                            new: None,
                        },
                    ),
                    (
                        uuid(3),
                        RowUpdate {
                            old: None,
                            new: Some(named("c")),
                        },
                    ),
                ]),
            )
            .unwrap()
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            kinds,
            [Applied::Modified, Applied::Deleted, Applied::Inserted]
        );
        assert_eq!(names(&cache), ["a", "c"]);
        let t = cache.read();
        let a = &t.typed::<LogicalSwitch>().unwrap()[&uuid(1)];
        assert_eq!(a.external_ids.get("x"), Some("1"));
    }

    #[test]
    fn indexes_follow_typed_only_tables() {
        let (cache, schema) = typed_cache();
        let name = cache.add_column_index("Logical_Switch", &["name"]);
        cache
            .apply2(
                &schema,
                updates2(
                    "Logical_Switch",
                    vec![(uuid(1), RowUpdate2::Insert(named("a")))],
                ),
            )
            .unwrap();
        assert_eq!(cache.read().lookup(&name, &[Datum::scalar("a")]), [uuid(1)]);
        cache
            .apply2(
                &schema,
                updates2(
                    "Logical_Switch",
                    vec![(uuid(1), RowUpdate2::Modify(named("z")))],
                ),
            )
            .unwrap();
        let t = cache.read();
        assert!(t.lookup(&name, &[Datum::scalar("a")]).is_empty());
        assert_eq!(t.lookup(&name, &[Datum::scalar("z")]), [uuid(1)]);
    }
}
