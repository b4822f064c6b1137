//! Database dumps: the rows of a database as text, and back.
//!
//! [`Dump`] holds untyped rows by table and UUID. It reads the two forms tools produce:
//!
//! - what `ovsdb-client -f json dump REMOTE DATABASE` prints: one JSON object per table,
//!   `{"caption": "<table> table", "headings": [...], "data": [[...], ...]}`, the `_uuid`
//!   column naming each row (`_version` is ignored);
//! - one object `{"<table>": {"<uuid>": {"<column>": <datum>, ...}}}` (what
//!   [`Dump::to_json`] writes).
//!
//! Typed rows go in with [`Dump::insert_typed`] and come out with [`Dump::typed`].
//!
//! ```
//! use ovsdb_proto::dump::Dump;
//!
//! let text = r#"{"caption":"NB_Global table","data":[[["uuid","0b8a0e4c-9b0a-4c5e-8f5e-1c2d3e4f5a6b"],["map",[]],"az1"]],"headings":["_uuid","external_ids","name"]}"#;
//! let dump = Dump::parse(text)?;
//! let rows = &dump.tables()["NB_Global"];
//! assert_eq!(rows.len(), 1);
//! # Ok::<(), ovsdb_proto::Error>(())
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use crate::data::{Atom, Datum, Uuid};
use crate::error::{Error, Result};
use crate::row::Row;
use crate::typed::Table;

/// Untyped rows of one database: table name → row UUID → row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    tables: BTreeMap<String, BTreeMap<Uuid, Row>>,
}

impl Dump {
    /// An empty dump.
    pub fn new() -> Self {
        Dump::default()
    }

    /// The rows, by table and UUID.
    pub fn tables(&self) -> &BTreeMap<String, BTreeMap<Uuid, Row>> {
        &self.tables
    }

    /// The rows of `table` (none if the dump lacks it).
    pub fn rows(&self, table: &str) -> impl Iterator<Item = (Uuid, &Row)> + '_ {
        self.tables
            .get(table)
            .into_iter()
            .flat_map(|t| t.iter().map(|(u, r)| (*u, r)))
    }

    /// Adds (or replaces) one row.
    pub fn insert(&mut self, table: &str, uuid: Uuid, row: Row) {
        self.tables
            .entry(table.to_owned())
            .or_default()
            .insert(uuid, row);
    }

    /// Adds typed rows of `T`'s table (each row under its own UUID, all its columns). The
    /// table is listed even when `rows` is empty.
    pub fn insert_typed<'a, T: Table + 'a>(&mut self, rows: impl IntoIterator<Item = &'a T>) {
        let table = self.tables.entry(T::NAME.to_owned()).or_default();
        for r in rows {
            table.insert(r.uuid(), r.to_row());
        }
    }

    /// The rows of `T`'s table as typed rows.
    ///
    /// # Errors
    ///
    /// When a row does not fit `T`: the error names the table and the row.
    pub fn typed<T: Table>(&self) -> Result<BTreeMap<Uuid, T>> {
        self.rows(T::NAME)
            .map(|(uuid, row)| {
                T::from_row(uuid, row).map(|t| (uuid, t)).map_err(|e| {
                    Error::decode("dump", format!("{} {uuid}", T::NAME), e.to_string())
                })
            })
            .collect()
    }

    /// `{"<table>": {"<uuid>": {row}}}`; empty tables are left out.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (table, rows) in &self.tables {
            if rows.is_empty() {
                continue;
            }
            let rows: serde_json::Map<String, Value> = rows
                .iter()
                .map(|(u, r)| (u.to_string(), serde_json::to_value(r).unwrap_or_default()))
                .collect();
            out.insert(table.clone(), Value::Object(rows));
        }
        Value::Object(out)
    }

    /// Parses either form (see the module docs); several objects may follow each other.
    ///
    /// # Errors
    ///
    /// When the text is not JSON, or an object is neither form: the error names the table,
    /// the column and the row.
    pub fn parse(text: &str) -> Result<Dump> {
        let mut out = Dump::default();
        let stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        for value in stream {
            let value = value.map_err(|e| Error::from_json("dump", &e))?;
            let obj = value
                .as_object()
                .ok_or_else(|| Error::decode("dump", "$", "expected a JSON object"))?;
            if let (Some(caption), Some(headings), Some(data)) =
                (obj.get("caption"), obj.get("headings"), obj.get("data"))
            {
                out.parse_table(caption, headings, data)?;
                continue;
            }
            for (table, rows_v) in obj {
                let rows_v = rows_v
                    .as_object()
                    .ok_or_else(|| Error::decode("dump", table, "expected an object of rows"))?;
                let rows = out.tables.entry(table.clone()).or_default();
                for (u, r) in rows_v {
                    let uuid = Uuid::parse_str(u)
                        .map_err(|_| Error::decode("dump", table, format!("bad UUID {u:?}")))?;
                    let row: Row = serde_json::from_value(r.clone()).map_err(|e| {
                        Error::decode("dump", format!("{table} {u}"), e.to_string())
                    })?;
                    rows.insert(uuid, row);
                }
            }
        }
        Ok(out)
    }

    /// One `ovsdb-client -f json dump` table object.
    fn parse_table(&mut self, caption: &Value, headings: &Value, data: &Value) -> Result<()> {
        let table = caption
            .as_str()
            .and_then(|c| c.strip_suffix(" table"))
            .ok_or_else(|| Error::decode("dump", "$", "caption must be \"<table> table\""))?;
        let headings: Vec<String> = serde_json::from_value(headings.clone())
            .map_err(|e| Error::decode("dump", format!("{table} headings"), e.to_string()))?;
        let data = data
            .as_array()
            .ok_or_else(|| Error::decode("dump", table, "data must be an array"))?;
        let rows = self.tables.entry(table.to_owned()).or_default();
        for (i, cells) in data.iter().enumerate() {
            let cells = cells
                .as_array()
                .ok_or_else(|| Error::decode("dump", format!("{table} row {i}"), "not an array"))?;
            let mut row = Row::new();
            let mut uuid = None;
            for (h, c) in headings.iter().zip(cells) {
                let d: Datum = serde_json::from_value(c.clone()).map_err(|e| {
                    Error::decode("dump", format!("{table}.{h} (row {i})"), e.to_string())
                })?;
                match h.as_str() {
                    "_uuid" => uuid = d.as_atom().and_then(Atom::as_uuid),
                    "_version" => {}
                    _ => {
                        row.insert(h.clone(), d);
                    }
                }
            }
            let uuid =
                uuid.ok_or_else(|| Error::decode("dump", format!("{table} row {i}"), "no _uuid"))?;
            rows.insert(uuid, row);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"{"caption":"Logical_Switch table","data":[[["uuid","00000000-0000-0000-0000-000000000001"],"ls0",["set",[]]],[["uuid","00000000-0000-0000-0000-000000000002"],"ls1",["set",[]]]],"headings":["_uuid","name","ports"]}
{"caption":"NB_Global table","data":[[["uuid","00000000-0000-0000-0000-000000000003"],["uuid","00000000-0000-0000-0000-000000000009"],"az1"]],"headings":["_uuid","_version","name"]}"#;

    #[test]
    fn both_forms_read_and_write_back() {
        let d = Dump::parse(DUMP).unwrap();
        assert_eq!(d.tables()["Logical_Switch"].len(), 2);
        let g = &d.tables()["NB_Global"][&Uuid::from_u128(3)];
        assert_eq!(g.get("name"), Some(&Datum::from(Atom::from("az1"))));
        assert!(g.get("_version").is_none());
        let again = Dump::parse(&d.to_json().to_string()).unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn bad_input_names_what_is_wrong() {
        for (text, want) in [
            ("[1]", "expected a JSON object"),
            (
                r#"{"caption":"X","headings":[],"data":[]}"#,
                "caption must be",
            ),
            (
                r#"{"caption":"T table","headings":["name"],"data":[["a"]]}"#,
                "T row 0",
            ),
            (r#"{"T":{"not-a-uuid":{}}}"#, "bad UUID"),
            ("{", "dump"),
        ] {
            let err = Dump::parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
