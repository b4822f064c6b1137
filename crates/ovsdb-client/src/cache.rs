//! The replica cache: the rows of the monitored tables, kept by the connection task.
//!
//! Every notification (one server transaction) is applied under one write lock, so a reader
//! never sees half a transaction. Readers take the read lock briefly through
//! [`Cache::read`]; consumers that want changes subscribe to [`CacheEvent`]s.

use std::any::Any;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use ovsdb_proto::typed::Table;
use ovsdb_proto::{
    apply_update, apply_update2, Applied, DatabaseSchema, Datum, Row, TableSchema, TableUpdates,
    TableUpdates2, Uuid,
};
use tracing::warn;

/// Rows of one table by UUID.
pub type TableRows = HashMap<Uuid, Row>;

/// The replica of one database: rows by table, for the tables monitored, with the typed
/// mirrors and indexes registered on the [`Cache`]. Everything in it reflects the same whole
/// number of server transactions.
#[derive(Debug, Default)]
pub struct Tables {
    tables: HashMap<String, TableRows>,
    typed: HashMap<&'static str, Box<dyn Mirror>>,
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
            indexes: self.indexes.clone(),
        }
    }
}

/// A typed copy of one table, kept in step with the untyped rows.
trait Mirror: Send + Sync + std::fmt::Debug {
    fn rebuild(&mut self, rows: Option<&TableRows>);
    fn update(&mut self, uuid: Uuid, row: Option<&Row>);
    fn as_any(&self) -> &dyn Any;
    fn clone_box(&self) -> Box<dyn Mirror>;
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
    fn rebuild(&mut self, rows: Option<&TableRows>) {
        self.map.clear();
        for (u, r) in rows.into_iter().flatten() {
            self.insert(*u, r);
        }
    }
}

impl Tables {
    /// The rows of `table` (empty if not monitored or empty).
    pub fn table(&self, table: &str) -> Option<&TableRows> {
        self.tables.get(table)
    }

    /// One row.
    pub fn row(&self, table: &str, uuid: &Uuid) -> Option<&Row> {
        self.tables.get(table)?.get(uuid)
    }

    /// Number of rows in `table`.
    pub fn len(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, HashMap::len)
    }

    /// Iterates over `(table name, rows)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &TableRows)> {
        self.tables.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Total number of rows.
    pub fn total_rows(&self) -> usize {
        self.tables.values().map(HashMap::len).sum()
    }

    /// The typed copy of `T`'s table, if [`Cache::register_typed`] asked for it.
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

    /// Re-derives the typed copy and the indexes of `table` from its rows.
    fn rebuild_derived(&mut self, table: &str) {
        let rows = self.tables.get(table);
        if let Some(m) = self.typed.get_mut(table) {
            m.rebuild(rows);
        }
        for index in self.indexes.values_mut().filter(|i| i.table == table) {
            index.rebuild(rows);
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
        guard
            .typed
            .insert(T::NAME, Box::new(TypedRows::<T>(HashMap::new())));
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
        let mut fresh = HashMap::new();
        for t in tables {
            fresh.insert(t.clone(), TableRows::new());
        }
        for (t, rows) in updates.0 {
            let ts = schema.table(&t).ok_or_else(|| {
                ovsdb_proto::Error::Protocol(format!("update for unknown table {t}"))
            })?;
            let target = fresh.entry(t.clone()).or_default();
            target.reserve(rows.len());
            for (uuid, u) in rows {
                apply_update2(target, &t, ts, uuid, u)?;
            }
        }
        let mut guard = self.tables.write().unwrap_or_else(|e| e.into_inner());
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
        self.apply_staged(schema, updates.0, apply_update2)
    }

    /// Applies one `update` (version 1) atomically.
    pub(crate) fn apply1(
        &self,
        schema: &DatabaseSchema,
        updates: TableUpdates,
    ) -> ovsdb_proto::Result<Vec<RowChange>> {
        self.apply_staged(schema, updates.0, apply_update)
    }

    /// Applies changes to copies of the touched rows, then moves them into the cache, so
    /// that a bad update leaves the cache as it was.
    fn apply_staged<U>(
        &self,
        schema: &DatabaseSchema,
        updates: impl IntoIterator<Item = (String, Vec<(Uuid, U)>)>,
        apply: impl Fn(&mut TableRows, &str, &TableSchema, Uuid, U) -> ovsdb_proto::Result<Applied>,
    ) -> ovsdb_proto::Result<Vec<RowChange>> {
        let mut guard = self.tables.write().unwrap_or_else(|e| e.into_inner());
        let mut staged: HashMap<String, TableRows> = HashMap::new();
        let mut changes = Vec::new();
        for (t, rows) in updates {
            let ts = schema.table(&t).ok_or_else(|| {
                ovsdb_proto::Error::Protocol(format!("update for unknown table {t}"))
            })?;
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
        commit(&mut guard, staged, &changes);
        Ok(changes)
    }
}

/// Moves the staged final state of every touched row into the cache (a row absent from the
/// stage was deleted).
fn commit(guard: &mut Tables, mut staged: HashMap<String, TableRows>, changes: &[RowChange]) {
    let Tables {
        tables,
        typed,
        indexes,
    } = guard;
    let mut done = std::collections::HashSet::new();
    for c in changes {
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
