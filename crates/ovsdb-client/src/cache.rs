//! The replica cache: the rows of the monitored tables, kept by the connection task.
//!
//! Every notification (one server transaction) is applied under one write lock, so a reader
//! never sees half a transaction. Readers take the read lock briefly through
//! [`Cache::read`]; consumers that want changes subscribe to [`CacheEvent`]s.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use ovsdb_proto::{
    apply_update, apply_update2, Applied, DatabaseSchema, Row, TableSchema, TableUpdates,
    TableUpdates2, Uuid,
};

/// Rows of one table by UUID.
pub type TableRows = HashMap<Uuid, Row>;

/// The replica of one database: rows by table, for the tables monitored.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    tables: HashMap<String, TableRows>,
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
            guard.tables.insert(t, rows);
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
    let mut done = std::collections::HashSet::new();
    for c in changes {
        if !done.insert((c.table.as_str(), c.uuid)) {
            continue;
        }
        let table = guard.tables.entry(c.table.clone()).or_default();
        match staged.get_mut(&c.table).and_then(|s| s.remove(&c.uuid)) {
            Some(row) => {
                table.insert(c.uuid, row);
            }
            None => {
                table.remove(&c.uuid);
            }
        }
    }
}
