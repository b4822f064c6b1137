//! The schema model (RFC 7047 §3.2): databases, tables, columns and their types.
//!
//! [`DatabaseSchema::from_json`] parses any `.ovsschema` file or `get_schema` reply and checks
//! it the way ovsdb-server does (known atomic types, `min ≤ max`, references to existing
//! tables, index columns that exist). [`DatabaseSchema::to_json`] writes it back.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Map as JsonMap, Value};

use crate::data::{Atom, Datum, Set};
use crate::error::{Error, Result};

/// The five atomic types of RFC 7047 §3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtomicType {
    /// 64-bit signed integer.
    Integer,
    /// Double-precision real.
    Real,
    /// Boolean.
    Boolean,
    /// UTF-8 string.
    String,
    /// UUID (possibly a reference to a row).
    Uuid,
}

impl AtomicType {
    /// The type's name in schemas.
    pub fn name(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }

    /// Parses a type name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return None,
        })
    }
}

impl fmt::Display for AtomicType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a reference keeps its target alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RefType {
    /// Deleting a referenced row is a referential integrity violation.
    #[default]
    Strong,
    /// Deleting a referenced row removes the reference.
    Weak,
}

/// A base type: an atomic type with its constraints (RFC 7047 `<base-type>`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct BaseType {
    /// The atomic type.
    pub kind: AtomicType,
    /// Allowed values, if restricted.
    pub enumeration: Option<Set>,
    /// Minimum integer value.
    pub min_integer: Option<i64>,
    /// Maximum integer value.
    pub max_integer: Option<i64>,
    /// Minimum real value.
    pub min_real: Option<f64>,
    /// Maximum real value.
    pub max_real: Option<f64>,
    /// Minimum string length in characters.
    pub min_length: Option<u64>,
    /// Maximum string length in characters.
    pub max_length: Option<u64>,
    /// Table a UUID refers to.
    pub ref_table: Option<String>,
    /// Strength of the reference (meaningful with `ref_table`).
    pub ref_type: RefType,
}

/// Integer, so that [`BaseType`] can derive `Default`.
impl Default for AtomicType {
    fn default() -> Self {
        AtomicType::Integer
    }
}

impl BaseType {
    /// An unconstrained base type.
    pub fn new(kind: AtomicType) -> Self {
        BaseType {
            kind,
            ..Default::default()
        }
    }

    /// Checks `atom`'s constraints (its type must already match).
    pub fn check(&self, atom: &Atom) -> Result<(), String> {
        if let Some(e) = &self.enumeration {
            if !e.contains(atom) {
                return Err(format!("{atom} is not one of the allowed values"));
            }
            return Ok(());
        }
        let out_of_range = match atom {
            Atom::Integer(i) => {
                self.min_integer.is_some_and(|m| *i < m) || self.max_integer.is_some_and(|m| *i > m)
            }
            Atom::Real(r) => {
                self.min_real.is_some_and(|m| *r < m) || self.max_real.is_some_and(|m| *r > m)
            }
            Atom::String(s) if self.min_length.is_some() || self.max_length.is_some() => {
                let n = s.chars().count() as u64;
                if self.min_length.is_some_and(|m| n < m) || self.max_length.is_some_and(|m| n > m)
                {
                    return Err(format!("\"{s}\" length {n} is outside the allowed length"));
                }
                false
            }
            _ => false,
        };
        if out_of_range {
            return Err(format!("{atom} is outside the allowed range"));
        }
        Ok(())
    }

    fn from_json(v: &Value, path: &str) -> Result<Self> {
        let obj = match v {
            Value::String(s) => {
                return AtomicType::from_name(s)
                    .map(BaseType::new)
                    .ok_or_else(|| Error::schema(path, v.to_string(), "unknown atomic type"));
            }
            Value::Object(o) => o,
            _ => {
                return Err(Error::schema(
                    path,
                    v.to_string(),
                    "base type must be a string or an object",
                ))
            }
        };
        let kind = obj
            .get("type")
            .and_then(Value::as_str)
            .and_then(AtomicType::from_name)
            .ok_or_else(|| {
                Error::schema(path, v.to_string(), "base type lacks a valid \"type\"")
            })?;
        let mut b = BaseType::new(kind);
        for (key, val) in obj {
            let bad = |why: &str| Error::schema(format!("{path}.{key}"), val.to_string(), why);
            match key.as_str() {
                "type" => {}
                "enum" => {
                    let d: Datum =
                        serde_json::from_value(val.clone()).map_err(|e| bad(&e.to_string()))?;
                    let Datum::Set(s) = d else {
                        return Err(bad("enum must be a set"));
                    };
                    let typed = BaseType::new(kind);
                    let atoms = s
                        .into_vec()
                        .into_iter()
                        .map(|a| a.conform(&typed))
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|e| bad(&e))?;
                    b.enumeration = Some(Set::from_atoms(atoms));
                }
                "minInteger" => {
                    b.min_integer = Some(val.as_i64().ok_or_else(|| bad("not an integer"))?)
                }
                "maxInteger" => {
                    b.max_integer = Some(val.as_i64().ok_or_else(|| bad("not an integer"))?)
                }
                "minReal" => b.min_real = Some(val.as_f64().ok_or_else(|| bad("not a number"))?),
                "maxReal" => b.max_real = Some(val.as_f64().ok_or_else(|| bad("not a number"))?),
                "minLength" => b.min_length = Some(val.as_u64().ok_or_else(|| bad("not a count"))?),
                "maxLength" => b.max_length = Some(val.as_u64().ok_or_else(|| bad("not a count"))?),
                "refTable" => {
                    b.ref_table = Some(val.as_str().ok_or_else(|| bad("not a string"))?.to_owned())
                }
                "refType" => {
                    b.ref_type = match val.as_str() {
                        Some("strong") => RefType::Strong,
                        Some("weak") => RefType::Weak,
                        _ => return Err(bad("refType must be \"strong\" or \"weak\"")),
                    }
                }
                _ => return Err(bad("unknown base type member")),
            }
        }
        Ok(b)
    }

    fn to_json(&self) -> Value {
        let mut o = JsonMap::new();
        o.insert("type".into(), json!(self.kind.name()));
        if let Some(e) = &self.enumeration {
            // A one-element enum is written as the bare atom, like any one-element set.
            o.insert(
                "enum".into(),
                serde_json::to_value(e).unwrap_or(Value::Null),
            );
        }
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                o.insert(k.into(), v);
            }
        };
        put("minInteger", self.min_integer.map(Value::from));
        put("maxInteger", self.max_integer.map(Value::from));
        put("minReal", self.min_real.map(Value::from));
        put("maxReal", self.max_real.map(Value::from));
        put("minLength", self.min_length.map(Value::from));
        put("maxLength", self.max_length.map(Value::from));
        put("refTable", self.ref_table.clone().map(Value::from));
        if self.ref_type == RefType::Weak {
            o.insert("refType".into(), json!("weak"));
        }
        if o.len() == 1 {
            json!(self.kind.name())
        } else {
            Value::Object(o)
        }
    }
}

/// A column type (RFC 7047 `<type>`): key type, optional value type (a map), and the
/// number of elements allowed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ColumnType {
    /// Type of the atoms (or map keys).
    pub key: BaseType,
    /// Type of the map values; `None` for sets and scalars.
    pub value: Option<BaseType>,
    /// Minimum number of elements (0 or 1).
    pub min: u64,
    /// Maximum number of elements; `None` for `"unlimited"`.
    pub max: Option<u64>,
}

impl ColumnType {
    /// A column holding exactly one atom of `key`.
    pub fn scalar(key: BaseType) -> Self {
        ColumnType {
            key,
            value: None,
            min: 1,
            max: Some(1),
        }
    }

    /// A set (or with `value`, a map) of `min..=max` elements (`max` `None` = unlimited).
    pub fn new(key: BaseType, value: Option<BaseType>, min: u64, max: Option<u64>) -> Self {
        ColumnType {
            key,
            value,
            min,
            max,
        }
    }

    /// More than one element allowed (Open vSwitch's "composite" type): `update2` diffs of
    /// such columns are set or map differences; diffs of the others carry the new value.
    pub fn is_composite(&self) -> bool {
        self.max != Some(1)
    }

    /// Exactly one atom and no value type.
    pub fn is_scalar(&self) -> bool {
        self.value.is_none() && self.min == 1 && self.max == Some(1)
    }

    /// Zero or one atom and no value type.
    pub fn is_optional(&self) -> bool {
        self.value.is_none() && self.min == 0 && self.max == Some(1)
    }

    /// Whether this is a map type.
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    /// Whether this is a set type other than a scalar or optional value.
    pub fn is_set(&self) -> bool {
        self.value.is_none() && self.max != Some(1)
    }

    fn from_json(v: &Value, path: &str) -> Result<Self> {
        let obj = match v {
            Value::String(_) => return Ok(ColumnType::scalar(BaseType::from_json(v, path)?)),
            Value::Object(o) => o,
            _ => {
                return Err(Error::schema(
                    path,
                    v.to_string(),
                    "column type must be a string or an object",
                ))
            }
        };
        for k in obj.keys() {
            if !matches!(k.as_str(), "key" | "value" | "min" | "max") {
                return Err(Error::schema(
                    format!("{path}.{k}"),
                    "",
                    "unknown column type member",
                ));
            }
        }
        let key = BaseType::from_json(
            obj.get("key")
                .ok_or_else(|| Error::schema(path, v.to_string(), "column type lacks \"key\""))?,
            &format!("{path}.key"),
        )?;
        let value = obj
            .get("value")
            .map(|vt| BaseType::from_json(vt, &format!("{path}.value")))
            .transpose()?;
        let min = match obj.get("min") {
            None => 1,
            Some(m) => m.as_u64().filter(|m| *m <= 1).ok_or_else(|| {
                Error::schema(format!("{path}.min"), m.to_string(), "min must be 0 or 1")
            })?,
        };
        let max = match obj.get("max") {
            None => Some(1),
            Some(Value::String(s)) if s == "unlimited" => None,
            Some(m) => Some(m.as_u64().filter(|m| *m >= 1).ok_or_else(|| {
                Error::schema(
                    format!("{path}.max"),
                    m.to_string(),
                    "max must be ≥ 1 or \"unlimited\"",
                )
            })?),
        };
        if max.is_some_and(|max| min > max) {
            return Err(Error::schema(
                path,
                v.to_string(),
                "min is greater than max",
            ));
        }
        Ok(ColumnType {
            key,
            value,
            min,
            max,
        })
    }

    fn to_json(&self) -> Value {
        if self.is_scalar() && self.key.to_json().is_string() {
            return self.key.to_json();
        }
        let mut o = JsonMap::new();
        o.insert("key".into(), self.key.to_json());
        if let Some(v) = &self.value {
            o.insert("value".into(), v.to_json());
        }
        if self.min != 1 {
            o.insert("min".into(), json!(self.min));
        }
        match self.max {
            None => {
                o.insert("max".into(), json!("unlimited"));
            }
            Some(1) => {}
            Some(m) => {
                o.insert("max".into(), json!(m));
            }
        }
        Value::Object(o)
    }
}

/// A column (RFC 7047 `<column-schema>`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ColumnSchema {
    /// The column's type.
    pub type_: ColumnType,
    /// Not written to disk (a clustered database persists it anyway).
    pub ephemeral: bool,
    /// Whether the column may change after insert.
    pub mutable: bool,
}

impl ColumnSchema {
    /// A persistent, mutable column of type `type_`.
    pub fn new(type_: ColumnType) -> Self {
        ColumnSchema {
            type_,
            ephemeral: false,
            mutable: true,
        }
    }
}

/// A table (RFC 7047 `<table-schema>`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TableSchema {
    /// Columns by name (without the implicit `_uuid` and `_version`).
    pub columns: BTreeMap<String, ColumnSchema>,
    /// Maximum number of rows.
    pub max_rows: Option<u64>,
    /// Whether rows live without being referenced (see [`DatabaseSchema::is_root`]).
    pub is_root: bool,
    /// Sets of columns whose values must be unique across rows.
    pub indexes: Vec<Vec<String>>,
}

/// The type of the implicit `_uuid` and `_version` columns.
pub static UUID_COLUMN: std::sync::LazyLock<ColumnSchema> =
    std::sync::LazyLock::new(|| ColumnSchema {
        type_: ColumnType::scalar(BaseType::new(AtomicType::Uuid)),
        ephemeral: false,
        mutable: false,
    });

impl TableSchema {
    /// A table with no columns, not a root, without limits or indexes.
    pub fn new() -> Self {
        TableSchema {
            columns: BTreeMap::new(),
            max_rows: None,
            is_root: false,
            indexes: Vec::new(),
        }
    }

    /// A column by name, including the implicit `_uuid` and `_version`.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        match name {
            "_uuid" | "_version" => Some(&UUID_COLUMN),
            _ => self.columns.get(name),
        }
    }

    fn from_json(v: &Value, db: &JsonMap<String, Value>, path: &str) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::schema(path, "", "table must be an object"))?;
        let mut t = TableSchema::new();
        for (key, val) in obj {
            let p = format!("{path}.{key}");
            match key.as_str() {
                "columns" => {
                    let cols = val
                        .as_object()
                        .ok_or_else(|| Error::schema(&p, "", "columns must be an object"))?;
                    for (name, c) in cols {
                        let cp = format!("{path}.{name}");
                        if name.starts_with('_') || !is_id(name) {
                            return Err(Error::schema(&cp, "", "invalid column name"));
                        }
                        t.columns.insert(name.clone(), column_from_json(c, &cp)?);
                    }
                }
                "maxRows" => {
                    t.max_rows =
                        Some(val.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                            Error::schema(&p, val.to_string(), "maxRows must be ≥ 1")
                        })?)
                }
                "isRoot" => {
                    t.is_root = val
                        .as_bool()
                        .ok_or_else(|| Error::schema(&p, val.to_string(), "not a boolean"))?
                }
                "indexes" => {
                    let bad = || {
                        Error::schema(
                            &p,
                            val.to_string(),
                            "indexes must be an array of arrays of column names",
                        )
                    };
                    for idx in val.as_array().ok_or_else(bad)? {
                        let cols = idx
                            .as_array()
                            .ok_or_else(bad)?
                            .iter()
                            .map(|c| c.as_str().map(str::to_owned).ok_or_else(bad))
                            .collect::<Result<Vec<_>>>()?;
                        if cols.is_empty() {
                            return Err(Error::schema(
                                &p,
                                val.to_string(),
                                "index must have at least one column",
                            ));
                        }
                        t.indexes.push(cols);
                    }
                }
                _ => return Err(Error::schema(&p, "", "unknown table member")),
            }
        }
        if t.columns.is_empty() && obj.get("columns").is_none() {
            return Err(Error::schema(path, "", "table lacks \"columns\""));
        }
        for idx in &t.indexes {
            for c in idx {
                if t.column(c).is_none() {
                    return Err(Error::schema(
                        format!("{path}.indexes"),
                        c.clone(),
                        "index names an unknown column",
                    ));
                }
            }
        }
        for (name, c) in &t.columns {
            for base in std::iter::once(&c.type_.key).chain(c.type_.value.as_ref()) {
                if let Some(rt) = &base.ref_table {
                    if !db.contains_key(rt) {
                        return Err(Error::schema(
                            format!("{path}.{name}"),
                            rt.clone(),
                            "refTable names an unknown table",
                        ));
                    }
                }
            }
        }
        Ok(t)
    }

    fn to_json(&self) -> Value {
        let mut o = JsonMap::new();
        let cols: JsonMap<String, Value> = self
            .columns
            .iter()
            .map(|(n, c)| {
                let mut co = JsonMap::new();
                co.insert("type".into(), c.type_.to_json());
                if c.ephemeral {
                    co.insert("ephemeral".into(), json!(true));
                }
                if !c.mutable {
                    co.insert("mutable".into(), json!(false));
                }
                (n.clone(), Value::Object(co))
            })
            .collect();
        o.insert("columns".into(), Value::Object(cols));
        if let Some(m) = self.max_rows {
            o.insert("maxRows".into(), json!(m));
        }
        if self.is_root {
            o.insert("isRoot".into(), json!(true));
        }
        if !self.indexes.is_empty() {
            o.insert("indexes".into(), json!(self.indexes));
        }
        Value::Object(o)
    }
}

fn column_from_json(v: &Value, path: &str) -> Result<ColumnSchema> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::schema(path, "", "column must be an object"))?;
    let mut type_ = None;
    let mut c = ColumnSchema {
        type_: ColumnType::scalar(BaseType::new(AtomicType::Integer)),
        ephemeral: false,
        mutable: true,
    };
    for (key, val) in obj {
        let p = format!("{path}.{key}");
        match key.as_str() {
            "type" => type_ = Some(ColumnType::from_json(val, path)?),
            "ephemeral" => {
                c.ephemeral = val
                    .as_bool()
                    .ok_or_else(|| Error::schema(&p, val.to_string(), "not a boolean"))?
            }
            "mutable" => {
                c.mutable = val
                    .as_bool()
                    .ok_or_else(|| Error::schema(&p, val.to_string(), "not a boolean"))?
            }
            _ => return Err(Error::schema(&p, "", "unknown column member")),
        }
    }
    c.type_ = type_.ok_or_else(|| Error::schema(path, "", "column lacks \"type\""))?;
    Ok(c)
}

fn is_id(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A database schema (RFC 7047 `<database-schema>`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DatabaseSchema {
    /// The database name, e.g. `OVN_Northbound`.
    pub name: String,
    /// The schema version, `x.y.z` (may be missing on very old servers).
    pub version: Option<String>,
    /// The checksum recorded in the schema, kept as given.
    pub cksum: Option<String>,
    /// Tables by name.
    pub tables: BTreeMap<String, TableSchema>,
}

impl Default for TableSchema {
    fn default() -> Self {
        Self::new()
    }
}

impl DatabaseSchema {
    /// An empty schema named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        DatabaseSchema {
            name: name.into(),
            version: None,
            cksum: None,
            tables: BTreeMap::new(),
        }
    }

    /// This schema restricted to `tables` (names it lacks are ignored): references to a table
    /// left out become plain UUIDs, so rows of the kept tables still load and keep those
    /// references, while references among the kept tables keep their strength (and non-root
    /// rows their garbage collection). For an in-memory copy of part of a database.
    pub fn subset<'a>(&self, tables: impl IntoIterator<Item = &'a str>) -> DatabaseSchema {
        let keep: std::collections::BTreeSet<&str> = tables
            .into_iter()
            .filter(|t| self.tables.contains_key(*t))
            .collect();
        let mut out = DatabaseSchema::new(self.name.clone());
        out.version = self.version.clone();
        for name in &keep {
            let mut table = self.tables[*name].clone();
            for column in table.columns.values_mut() {
                let ty = &mut column.type_;
                for base in std::iter::once(&mut ty.key).chain(ty.value.as_mut()) {
                    if base.ref_table.as_deref().is_some_and(|t| !keep.contains(t)) {
                        base.ref_table = None;
                        base.ref_type = RefType::default();
                    }
                }
            }
            out.tables.insert((*name).to_owned(), table);
        }
        out
    }

    /// Parses a schema from JSON text (an `.ovsschema` file or a `get_schema` result).
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::from_json("schema", &e))?;
        Self::from_json(&v)
    }

    /// Parses and checks a schema from a JSON value.
    pub fn from_json(v: &Value) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::schema("schema", "", "schema must be an object"))?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| is_id(n))
            .ok_or_else(|| Error::schema("schema.name", "", "missing or invalid database name"))?
            .to_owned();
        let mut s = DatabaseSchema::new(name);
        let tables = obj
            .get("tables")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::schema(&s.name, "", "schema lacks \"tables\""))?;
        for (key, val) in obj {
            match key.as_str() {
                "name" | "tables" => {}
                "version" => {
                    let ver = val.as_str().filter(|v| is_version(v));
                    s.version = Some(
                        ver.ok_or_else(|| {
                            Error::schema(
                                "schema.version",
                                val.to_string(),
                                "version must be x.y.z",
                            )
                        })?
                        .to_owned(),
                    );
                }
                "cksum" => {
                    s.cksum = Some(
                        val.as_str()
                            .ok_or_else(|| {
                                Error::schema("schema.cksum", val.to_string(), "not a string")
                            })?
                            .to_owned(),
                    )
                }
                _ => {
                    return Err(Error::schema(
                        format!("schema.{key}"),
                        "",
                        "unknown schema member",
                    ))
                }
            }
        }
        for (tname, t) in tables {
            if tname.starts_with('_') && s.name != "_Server" || !is_id(tname) {
                return Err(Error::schema(tname, "", "invalid table name"));
            }
            s.tables
                .insert(tname.clone(), TableSchema::from_json(t, tables, tname)?);
        }
        Ok(s)
    }

    /// Writes the schema as JSON, in the form ovsdb-server accepts.
    pub fn to_json(&self) -> Value {
        let mut o = JsonMap::new();
        o.insert("name".into(), json!(self.name));
        if let Some(v) = &self.version {
            o.insert("version".into(), json!(v));
        }
        if let Some(c) = &self.cksum {
            o.insert("cksum".into(), json!(c));
        }
        let tables: JsonMap<String, Value> = self
            .tables
            .iter()
            .map(|(n, t)| (n.clone(), t.to_json()))
            .collect();
        o.insert("tables".into(), Value::Object(tables));
        Value::Object(o)
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.get(name)
    }

    /// Whether rows of `table` survive without references. As in ovsdb-server, a schema with
    /// no root table at all (written before `isRoot` existed) treats every table as a root.
    pub fn is_root(&self, table: &str) -> bool {
        match self.tables.get(table) {
            Some(t) if t.is_root => true,
            Some(_) => !self.tables.values().any(|t| t.is_root),
            None => false,
        }
    }

    /// The version as numbers, if it has the `x.y.z` form.
    pub fn version_triple(&self) -> Option<(u32, u32, u32)> {
        let mut it = self
            .version
            .as_deref()?
            .split('.')
            .map(|p| p.parse::<u32>().ok());
        Some((it.next()??, it.next()??, it.next()??))
    }
}

fn is_version(v: &str) -> bool {
    let parts: Vec<_> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}
