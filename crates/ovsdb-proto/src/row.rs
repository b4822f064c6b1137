//! Rows, and `update`/`update2`/`update3` semantics as pure functions.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::data::{Datum, Uuid, UuidStr};
use crate::error::{Error, Result};
use crate::schema::TableSchema;

/// A row: column name → value (RFC 7047 `<row>`), kept sorted by column name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Row(BTreeMap<String, Datum>);

impl Row {
    /// An empty row.
    pub fn new() -> Self {
        Row(BTreeMap::new())
    }

    /// A column's value.
    pub fn get(&self, column: &str) -> Option<&Datum> {
        self.0.get(column)
    }

    /// A column's value, mutably.
    pub fn get_mut(&mut self, column: &str) -> Option<&mut Datum> {
        self.0.get_mut(column)
    }

    /// Sets a column, returning its old value.
    pub fn insert(&mut self, column: impl Into<String>, value: impl Into<Datum>) -> Option<Datum> {
        self.0.insert(column.into(), value.into())
    }

    /// Removes a column.
    pub fn remove(&mut self, column: &str) -> Option<Datum> {
        self.0.remove(column)
    }

    /// Number of columns present.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no column is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over `(column, value)` in column order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Datum)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Builder-style [`Row::insert`].
    pub fn with(mut self, column: impl Into<String>, value: impl Into<Datum>) -> Self {
        self.insert(column, value);
        self
    }

    /// Brings every column to its type in `table` (see [`Datum::conform`]). Columns the
    /// schema does not know are dropped when `drop_unknown` is set (schema skew: a newer
    /// server), and are an error otherwise.
    pub fn conform(
        mut self,
        table_name: &str,
        table: &TableSchema,
        drop_unknown: bool,
    ) -> Result<Row> {
        if let Some(col) = self.0.keys().find(|c| table.column(c).is_none()) {
            if !drop_unknown {
                return Err(Error::schema(
                    format!("{table_name}.{col}"),
                    "",
                    "unknown column",
                ));
            }
            self.0.retain(|c, _| table.column(c).is_some());
        }
        // In place: most rows already fit, and rebuilding the map would cost an allocation
        // per node.
        for (col, value) in self.0.iter_mut() {
            let Some(cs) = table.column(col) else {
                continue;
            };
            // The value is written out only for an error message.
            let bad = |value: &Datum, e| {
                let shown = serde_json::to_string(value).unwrap_or_default();
                Error::schema(format!("{table_name}.{col}"), shown, e)
            };
            match value.check(&cs.type_) {
                Ok(true) => {}
                Ok(false) => {
                    *value = value
                        .clone()
                        .conform(&cs.type_)
                        .map_err(|e| bad(value, e))?
                }
                Err(e) => return Err(bad(value, e)),
            }
        }
        Ok(self)
    }

    /// Fills every column of `table` that the row lacks with the column's default, as a
    /// replica must for `update2` `initial` and `insert` rows (which omit default values).
    pub fn fill_defaults(&mut self, table: &TableSchema) {
        for (name, c) in &table.columns {
            if !self.0.contains_key(name) {
                self.0.insert(name.clone(), Datum::default_of(&c.type_));
            }
        }
    }

    /// Applies an `update2` `modify` diff row: each column's diff is applied with
    /// [`Datum::apply_diff`]. Columns unknown to `table` are ignored (schema skew). Either the
    /// whole diff applies or, on error, the row stays as it was.
    pub fn apply_diff(&mut self, table_name: &str, diff: Row, table: &TableSchema) -> Result<()> {
        let mut changed = Vec::with_capacity(diff.0.len());
        for (col, d) in diff.0 {
            let Some(cs) = table.column(&col) else {
                continue;
            };
            let shown = || serde_json::to_string(&d).unwrap_or_default();
            let next = match self.0.get(&col) {
                Some(cur) => cur.with_diff(d.clone(), &cs.type_),
                None => Datum::default_of(&cs.type_).with_diff(d.clone(), &cs.type_),
            }
            .map_err(|e| Error::schema(format!("{table_name}.{col}"), shown(), e))?;
            changed.push((col, next));
        }
        self.0.extend(changed);
        Ok(())
    }

    /// The `modify` diff row that turns `old` into `new` (columns that differ only).
    pub fn diff(old: &Row, new: &Row, table: &TableSchema) -> Row {
        let mut out = BTreeMap::new();
        for (name, c) in &table.columns {
            let def;
            let (a, b) = match (old.0.get(name), new.0.get(name)) {
                (Some(a), Some(b)) => (a, b),
                (None, None) => continue,
                (a, b) => {
                    def = Datum::default_of(&c.type_);
                    (a.unwrap_or(&def), b.unwrap_or(&def))
                }
            };
            if a != b {
                out.insert(name.clone(), Datum::diff(a, b, &c.type_));
            }
        }
        Row(out)
    }
}

impl FromIterator<(String, Datum)> for Row {
    fn from_iter<I: IntoIterator<Item = (String, Datum)>>(iter: I) -> Self {
        Row(iter.into_iter().collect())
    }
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Row;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a row object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Row, A::Error> {
                let mut row = BTreeMap::new();
                while let Some(k) = map.next_key::<String>()? {
                    let v: Datum = map.next_value()?;
                    // Duplicate keys: the last one wins, as in the Open vSwitch parser.
                    row.insert(k, v);
                }
                Ok(Row(row))
            }
        }
        d.deserialize_map(V)
    }
}

/// A row change of the original `update` notification (RFC 7047 §4.1.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowUpdate {
    /// The row before the change (absent for an insert; only changed columns for a modify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Row>,
    /// The row after the change (absent for a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Row>,
}

/// A row change of `update2`/`update3` (ovsdb-server.7 §4.1.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowUpdate2 {
    /// A row present when the monitor started (default-valued columns omitted).
    Initial(Row),
    /// A new row (default-valued columns omitted).
    Insert(Row),
    /// Changed columns, as diffs (see [`Datum::diff`](crate::Datum::diff)).
    Modify(Row),
    /// The row was deleted.
    Delete,
}

impl Serialize for RowUpdate2 {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            RowUpdate2::Initial(r) => m.serialize_entry("initial", r)?,
            RowUpdate2::Insert(r) => m.serialize_entry("insert", r)?,
            RowUpdate2::Modify(r) => m.serialize_entry("modify", r)?,
            RowUpdate2::Delete => m.serialize_entry("delete", &())?,
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for RowUpdate2 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RowUpdate2;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a <row-update2> object with one of initial, insert, modify, delete")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RowUpdate2, A::Error> {
                let mut out = None;
                while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let u = match &*k {
                        "initial" => RowUpdate2::Initial(map.next_value()?),
                        "insert" => RowUpdate2::Insert(map.next_value()?),
                        "modify" => RowUpdate2::Modify(map.next_value()?),
                        "delete" => {
                            map.next_value::<de::IgnoredAny>()?;
                            RowUpdate2::Delete
                        }
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["initial", "insert", "modify", "delete"],
                            ))
                        }
                    };
                    if out.replace(u).is_some() {
                        return Err(de::Error::custom("<row-update2> has more than one member"));
                    }
                }
                out.ok_or_else(|| de::Error::custom("<row-update2> is empty"))
            }
        }
        d.deserialize_map(V)
    }
}

/// Changes to one table, in the order they arrived.
pub type TableUpdate<U> = Vec<(Uuid, U)>;

/// Reads one table's object from row UUID to row update.
struct RowsVisitor<U>(PhantomData<fn() -> U>);

impl<'de, U: Deserialize<'de>> Visitor<'de> for RowsVisitor<U> {
    type Value = TableUpdate<U>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object from row UUID to row update")
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(UuidStr(u)) = map.next_key()? {
            out.push((u, map.next_value()?));
        }
        Ok(out)
    }
}

/// Decodes one table's `<table-update2>` object (row UUID → `<row-update2>`), as a member
/// of a `<table-updates2>` carries it.
pub fn decode_table_update2(json: &[u8]) -> Result<TableUpdate<RowUpdate2>> {
    struct Rows;
    impl<'de> DeserializeSeed<'de> for Rows {
        type Value = TableUpdate<RowUpdate2>;
        fn deserialize<D: Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<Self::Value, D::Error> {
            d.deserialize_map(RowsVisitor(PhantomData))
        }
    }
    crate::json::from_bytes_seed(json, Rows).map_err(|e| Error::from_json("<table-update2>", &e))
}

/// `<table-updates>` of `update` and `monitor` replies: table → row UUID → change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableUpdates(pub BTreeMap<String, TableUpdate<RowUpdate>>);

/// `<table-updates2>` of `update2`/`update3` and `monitor_cond` replies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableUpdates2(pub BTreeMap<String, TableUpdate<RowUpdate2>>);

macro_rules! table_updates_serde {
    ($ty:ident, $row:ty, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                struct Rows<'a>(&'a [(Uuid, $row)]);
                impl Serialize for Rows<'_> {
                    fn serialize<S: Serializer>(
                        &self,
                        s: S,
                    ) -> std::result::Result<S::Ok, S::Error> {
                        let mut m = s.serialize_map(Some(self.0.len()))?;
                        let mut buf = Uuid::encode_buffer();
                        for (u, r) in self.0 {
                            m.serialize_entry(&*u.hyphenated().encode_lower(&mut buf), r)?;
                        }
                        m.end()
                    }
                }
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (t, rows) in &self.0 {
                    m.serialize_entry(t, &Rows(rows))?;
                }
                m.end()
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct Rows(TableUpdate<$row>);
                impl<'de> Deserialize<'de> for Rows {
                    fn deserialize<D: Deserializer<'de>>(
                        d: D,
                    ) -> std::result::Result<Self, D::Error> {
                        d.deserialize_map(RowsVisitor(PhantomData)).map(Rows)
                    }
                }
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> std::result::Result<$ty, A::Error> {
                        let mut out = BTreeMap::new();
                        while let Some(t) = map.next_key::<String>()? {
                            let Rows(rows) = map.next_value()?;
                            out.insert(t, rows);
                        }
                        Ok($ty(out))
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

table_updates_serde!(TableUpdates, RowUpdate, "a <table-updates> object");
table_updates_serde!(TableUpdates2, RowUpdate2, "a <table-updates2> object");

/// What applying a row update did to a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A row was added.
    Inserted,
    /// A row changed.
    Modified,
    /// A row was removed.
    Deleted,
}

/// Applies one `update2` row change to a replica table held as a map from UUID to row.
///
/// `initial`/`insert` rows are conformed to the schema and their omitted columns filled with
/// defaults (an `insert` of a row the replica has replaces it and reports
/// [`Applied::Modified`]); `modify` diffs are applied column by column, all or nothing;
/// `delete` removes the row. A `modify` or `delete` of an unknown row is a protocol error.
/// Columns the schema does not know are ignored (schema skew).
pub fn apply_update2(
    rows: &mut std::collections::HashMap<Uuid, Row>,
    table_name: &str,
    table: &TableSchema,
    uuid: Uuid,
    update: RowUpdate2,
) -> Result<Applied> {
    match update {
        RowUpdate2::Initial(r) | RowUpdate2::Insert(r) => {
            let mut row = r.conform(table_name, table, true)?;
            row.fill_defaults(table);
            match rows.insert(uuid, row) {
                None => Ok(Applied::Inserted),
                Some(_) => Ok(Applied::Modified),
            }
        }
        RowUpdate2::Modify(diff) => {
            let row = rows.get_mut(&uuid).ok_or_else(|| {
                Error::Protocol(format!("modify of unknown row {table_name} {uuid}"))
            })?;
            row.apply_diff(table_name, diff, table)?;
            Ok(Applied::Modified)
        }
        RowUpdate2::Delete => rows
            .remove(&uuid)
            .map(|_| Applied::Deleted)
            .ok_or_else(|| Error::Protocol(format!("delete of unknown row {table_name} {uuid}"))),
    }
}

/// Applies one `update` (version 1) row change: `new` replaces the row (conformed, with
/// defaults for columns the server left out), a missing `new` deletes it.
pub fn apply_update(
    rows: &mut std::collections::HashMap<Uuid, Row>,
    table_name: &str,
    table: &TableSchema,
    uuid: Uuid,
    update: RowUpdate,
) -> Result<Applied> {
    match update.new {
        Some(new) => {
            let mut new = new.conform(table_name, table, true)?;
            match rows.get_mut(&uuid) {
                Some(row) => {
                    for (k, v) in new.0 {
                        row.0.insert(k, v);
                    }
                    Ok(Applied::Modified)
                }
                None => {
                    new.fill_defaults(table);
                    rows.insert(uuid, new);
                    Ok(Applied::Inserted)
                }
            }
        }
        None => rows
            .remove(&uuid)
            .map(|_| Applied::Deleted)
            .ok_or_else(|| Error::Protocol(format!("delete of unknown row {table_name} {uuid}"))),
    }
}
