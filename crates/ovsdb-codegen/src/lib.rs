//! Generates typed Rust rows from an OVSDB schema (`.ovsschema`, RFC 7047 §3.2).
//!
//! This is a build tool, not a runtime library: its output is committed (the `ovn-nb`,
//! `ovn-sb`, `ovn-ic-nb` and `ovn-ic-sb` crates) and a drift test regenerates it. The output
//! uses the runtime in [`ovsdb_proto::typed`].
//!
//! ```no_run
//! let schema = std::fs::read("crates/ovn-nb/schema/ovn-nb.ovsschema").unwrap();
//! let options = ovsdb_codegen::Options::new("../schema/ovn-nb.ovsschema");
//! let out = ovsdb_codegen::generate(&schema, &options).unwrap();
//! std::fs::write("crates/ovn-nb/src/generated.rs", out.code).unwrap();
//! ```
//!
//! # What a schema becomes
//!
//! For each table `Logical_Switch_Port`:
//!
//! - a struct `LogicalSwitchPort` (CamelCase, all-capital words such as `ACL` become `Acl`)
//!   with `pub uuid: Uuid` and one public field per column, snake_case, Rust keywords escaped
//!   with a trailing underscore (`type` → `type_`). Field types: a scalar (`min` 1, `max` 1)
//!   is `T`; an optional value (`min` 0, `max` 1) is `Option<T>`; any other set is a sorted
//!   `Vec<T>` (see [`ovsdb_proto::typed`] for why not `BTreeSet`); a map is
//!   `StringMap` when it maps plain strings to plain strings (all its text in one buffer:
//!   one allocation per map), otherwise `SortedMap<K, V>` (a vector of pairs sorted by
//!   key: a fraction of a `BTreeMap`'s memory for the few pairs OVSDB maps hold). Atoms are `i64`, `f64`, `bool`, `String`, `Uuid`, and
//!   `Ref<Target>` for a UUID with a `refTable`. Its `Default` is the row OVSDB creates from
//!   an empty insert;
//! - a column enum `LogicalSwitchPortColumn` (`as_str`, [`ovsdb_proto::typed::Column`]);
//! - for every string column with an `enum` constraint, a Rust enum named after the table and
//!   column (`AclAction`; `…Key`/`…Value` for a map's key or value) with one variant per
//!   listed value **and** `Other(String)`. Every string enum gets the escape hatch because
//!   OVN adds values between versions and a client must still read rows a newer server
//!   writes; integer and real ranges, string lengths, non-string enumerations and set sizes
//!   are still checked and give a typed error;
//! - the [`ovsdb_proto::typed::Table`] impl (row decoding with schema skew, `to_row` for
//!   inserts, `update2` diff application) and a `Deserialize` impl that decodes an `update2`
//!   `initial`/`insert` row object straight into the struct.
//!
//! The module also gets `TableUpdates2`, one `TypedTableUpdate2<Row>` field per table, which
//! decodes the `<table-updates2>` of a `monitor_cond` reply or an `update2`/`update3`
//! notification straight from its JSON (unknown tables and columns are skipped).
//!
//! The module also gets the schema's `NAME`, `VERSION` and `CKSUM`, the schema text
//! (`SCHEMA_JSON`, an `include_str!` of the schema file kept next to the code), `schema()`
//! and a `tables` module of table name constants. Output order follows the schema's sorted
//! table and column names, so it is deterministic. [`generate`] runs the code through
//! `rustfmt` so that `cargo fmt --check` accepts it.

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ovsdb_proto::schema::{AtomicType, BaseType, ColumnSchema, ColumnType, RefType, TableSchema};
use ovsdb_proto::{Atom, DatabaseSchema};

/// What can go wrong while generating code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The schema does not parse or breaks RFC 7047.
    #[error("invalid schema: {0}")]
    Schema(#[from] ovsdb_proto::Error),
    /// The schema uses something the generator cannot express in Rust.
    #[error("unsupported schema: {0}")]
    Unsupported(String),
    /// `rustfmt` failed on the generated code (a generator bug).
    #[error("rustfmt failed: {0}")]
    Rustfmt(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// How to generate.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The schema file's path as the generated file's `include_str!` must name it (relative
    /// to the generated file).
    pub schema_include: String,
}

impl Options {
    /// Options for a generated file that reaches its schema file at `schema_include`.
    pub fn new(schema_include: impl Into<String>) -> Self {
        Options {
            schema_include: schema_include.into(),
        }
    }
}

/// Generated code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Generated {
    /// The Rust source.
    pub code: String,
    /// Whether `rustfmt` formatted it (it was not found otherwise).
    pub formatted: bool,
}

/// Generates the module for `schema_json` and formats it with `rustfmt` (edition 2021). If
/// `rustfmt` cannot be run, the unformatted code is returned with `formatted` false.
pub fn generate(schema_json: &[u8], options: &Options) -> Result<Generated, Error> {
    let code = generate_unformatted(schema_json, options)?;
    match rustfmt(&code) {
        Ok(code) => Ok(Generated {
            code,
            formatted: true,
        }),
        Err(Error::Io { .. }) => Ok(Generated {
            code,
            formatted: false,
        }),
        Err(e) => Err(e),
    }
}

/// Formats Rust source with `rustfmt --edition 2021` and default settings.
pub fn rustfmt(code: &str) -> Result<String, Error> {
    let io = |source| Error::Io {
        path: PathBuf::from("rustfmt"),
        source,
    };
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io)?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::Rustfmt("no stdin".into()))?;
    let input = code.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().map_err(io)?;
    writer
        .join()
        .map_err(|_| Error::Rustfmt("writer thread panicked".into()))?
        .map_err(io)?;
    if !out.status.success() {
        return Err(Error::Rustfmt(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| Error::Rustfmt(e.to_string()))
}

/// The generated crates of this workspace: (crate directory, schema file name), relative to
/// the workspace root. The schema lives in `<crate>/schema/`, the code in
/// `<crate>/src/generated.rs`.
pub const OVN_CRATES: &[(&str, &str)] = &[
    ("crates/ovn-nb", "ovn-nb.ovsschema"),
    ("crates/ovn-sb", "ovn-sb.ovsschema"),
    ("crates/ovn-ic-nb", "ovn-ic-nb.ovsschema"),
    ("crates/ovn-ic-sb", "ovn-ic-sb.ovsschema"),
];

/// Where a generated crate's schema and code live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CratePaths {
    /// The schema file.
    pub schema: PathBuf,
    /// The generated file.
    pub generated: PathBuf,
}

/// The paths of every crate of [`OVN_CRATES`] under the workspace root `root`.
pub fn ovn_crate_paths(root: &Path) -> Vec<CratePaths> {
    OVN_CRATES
        .iter()
        .map(|(dir, schema)| CratePaths {
            schema: root.join(dir).join("schema").join(schema),
            generated: root.join(dir).join("src").join("generated.rs"),
        })
        .collect()
}

/// Generates the code of one crate of [`OVN_CRATES`] from its committed schema.
pub fn generate_crate(paths: &CratePaths) -> Result<Generated, Error> {
    let schema = std::fs::read(&paths.schema).map_err(|source| Error::Io {
        path: paths.schema.clone(),
        source,
    })?;
    let name = paths
        .schema
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    generate(&schema, &Options::new(format!("../schema/{name}")))
}

// ---------------------------------------------------------------------------------------------
// Names.

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// `Logical_Switch_Port` → `LogicalSwitchPort`, `ACL` → `Acl`, `QoS` → `QoS`,
/// `allow-related` → `AllowRelated`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        let Some(first) = chars.next() else { continue };
        out.push(first.to_ascii_uppercase());
        let rest = chars.as_str();
        if part.chars().any(|c| c.is_ascii_lowercase()) {
            out.push_str(rest);
        } else {
            out.push_str(&rest.to_ascii_lowercase());
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// A column name as a field: lowercase, non-alphanumerics as `_`, keywords and `uuid`
/// (taken by the row UUID) with a trailing `_`.
fn field_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) || out == "uuid" {
        out.push('_');
    }
    out
}

/// `Logical_Switch_Port` → `LOGICAL_SWITCH_PORT`, `QoS` → `QOS`.
fn screaming(name: &str) -> String {
    let mut out = name.to_ascii_uppercase();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn lit(s: &str) -> String {
    format!("{s:?}")
}

// ---------------------------------------------------------------------------------------------
// The model of the output.

struct EnumDef {
    name: String,
    /// `table.column` (with ` key`/` value` for maps), for the docs.
    origin: String,
    /// (wire value, variant)
    values: Vec<(String, String)>,
}

struct ColumnDef {
    name: String,
    field: String,
    variant: String,
    rust_type: String,
    /// The default expression when it is not `Default::default()`.
    default: Option<String>,
    has_real: bool,
    doc: String,
}

struct TableDef {
    name: String,
    struct_name: String,
    column_enum: String,
    columns: Vec<ColumnDef>,
    doc: Vec<String>,
}

struct Model {
    tables: Vec<TableDef>,
    enums: Vec<EnumDef>,
    uses_map: bool,
    uses_string_map: bool,
    uses_ref: bool,
}

fn enum_values(base: &BaseType) -> Option<Vec<String>> {
    if base.kind != AtomicType::String {
        return None;
    }
    let set = base.enumeration.as_ref()?;
    Some(
        set.iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
    )
}

fn variants(values: &[String]) -> Vec<(String, String)> {
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    for v in values {
        let mut name = camel(v);
        if name.is_empty() {
            name = "Empty".into();
        }
        if name == "Other" || name == "Self" {
            name.push_str("Value");
        }
        let base = name.clone();
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        out.push((v.clone(), name));
    }
    out
}

fn range_doc<T: std::fmt::Display>(min: Option<T>, max: Option<T>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!(" in {a}..={b}"),
        (Some(a), None) => format!(" ≥ {a}"),
        (None, Some(b)) => format!(" ≤ {b}"),
        (None, None) => String::new(),
    }
}

struct Namer<'a> {
    schema: &'a DatabaseSchema,
    struct_names: BTreeMap<String, String>,
    taken: BTreeSet<String>,
}

impl Namer<'_> {
    fn struct_of(&self, table: &str) -> Result<&str, Error> {
        self.struct_names
            .get(table)
            .map(String::as_str)
            .ok_or_else(|| Error::Unsupported(format!("reference to unknown table {table}")))
    }

    /// The Rust type of one atom, and its doc.
    fn base(
        &mut self,
        base: &BaseType,
        enum_name: impl FnOnce() -> (String, String),
        enums: &mut Vec<EnumDef>,
        uses_ref: &mut bool,
    ) -> Result<(String, String), Error> {
        if let Some(values) = enum_values(base) {
            let (name, origin) = enum_name();
            let mut name = name;
            if self.taken.contains(&name) {
                name.push_str("Enum");
            }
            if !self.taken.insert(name.clone()) {
                return Err(Error::Unsupported(format!(
                    "generated enum name {name} of {origin} is taken twice"
                )));
            }
            enums.push(EnumDef {
                name: name.clone(),
                origin,
                values: variants(&values),
            });
            let doc = format!("string enum [`{name}`]");
            return Ok((name, doc));
        }
        let listed = |kind: &str| {
            let e = base.enumeration.as_ref()?;
            let vals: Vec<String> = e.iter().map(Atom::to_string).collect();
            Some(format!("{kind}, one of {}", vals.join(", ")))
        };
        Ok(match base.kind {
            AtomicType::Integer => (
                "i64".into(),
                listed("integer").unwrap_or_else(|| {
                    format!("integer{}", range_doc(base.min_integer, base.max_integer))
                }),
            ),
            AtomicType::Real => (
                "f64".into(),
                listed("real")
                    .unwrap_or_else(|| format!("real{}", range_doc(base.min_real, base.max_real))),
            ),
            AtomicType::Boolean => ("bool".into(), "boolean".into()),
            AtomicType::String => (
                "String".into(),
                match (base.min_length, base.max_length) {
                    (None, None) => "string".into(),
                    (a, b) => format!("string of length{}", range_doc(a, b)),
                },
            ),
            AtomicType::Uuid => match &base.ref_table {
                Some(t) => {
                    *uses_ref = true;
                    let target = self.struct_of(t)?.to_owned();
                    let strength = match base.ref_type {
                        RefType::Strong => "strong",
                        RefType::Weak => "weak",
                    };
                    (
                        format!("Ref<{target}>"),
                        format!("{strength} reference to a [`{target}`] row"),
                    )
                }
                None => ("Uuid".into(), "UUID".into()),
            },
        })
    }
}

fn count_doc(ty: &ColumnType) -> String {
    match ty.max {
        None => format!("{} or more", ty.min),
        Some(m) => format!("{}..={m}", ty.min),
    }
}

fn build_model(schema: &DatabaseSchema) -> Result<Model, Error> {
    let mut namer = Namer {
        schema,
        struct_names: BTreeMap::new(),
        taken: BTreeSet::from(["TableUpdates2".to_owned(), "Database".to_owned()]),
    };
    for name in schema.tables.keys() {
        let s = camel(name);
        for n in [s.clone(), format!("{s}Column")] {
            if !namer.taken.insert(n.clone()) {
                return Err(Error::Unsupported(format!(
                    "two tables give the Rust name {n}"
                )));
            }
        }
        namer.struct_names.insert(name.clone(), s);
    }
    let mut model = Model {
        tables: Vec::new(),
        enums: Vec::new(),
        uses_map: false,
        uses_string_map: false,
        uses_ref: false,
    };
    for (tname, table) in &namer.schema.tables {
        let struct_name = namer.struct_of(tname)?.to_owned();
        let mut columns = Vec::new();
        let mut fields = BTreeSet::new();
        let mut variants = BTreeSet::new();
        for (cname, col) in &table.columns {
            let def = build_column(&mut namer, tname, &struct_name, cname, col, &mut model)?;
            if !fields.insert(def.field.clone()) || !variants.insert(def.variant.clone()) {
                return Err(Error::Unsupported(format!(
                    "two columns of {tname} give the Rust name {} / {}",
                    def.field, def.variant
                )));
            }
            columns.push(def);
        }
        model.tables.push(TableDef {
            name: tname.clone(),
            column_enum: format!("{struct_name}Column"),
            struct_name,
            columns,
            doc: table_doc(schema, tname, table),
        });
    }
    Ok(model)
}

fn table_doc(schema: &DatabaseSchema, name: &str, table: &TableSchema) -> Vec<String> {
    let mut doc = vec![format!("A row of table `{name}`.")];
    let mut facts = Vec::new();
    if schema.is_root(name) {
        facts.push("A root table: rows live without references.".to_owned());
    } else {
        facts.push("Not a root table: rows without strong references are deleted.".to_owned());
    }
    if let Some(m) = table.max_rows {
        facts.push(format!("At most {m} rows."));
    }
    for idx in &table.indexes {
        let cols: Vec<String> = idx.iter().map(|c| format!("`{c}`")).collect();
        facts.push(format!("Unique index: {}.", cols.join(", ")));
    }
    doc.push(String::new());
    doc.extend(facts);
    doc
}

fn build_column(
    namer: &mut Namer<'_>,
    table: &str,
    struct_name: &str,
    name: &str,
    col: &ColumnSchema,
    model: &mut Model,
) -> Result<ColumnDef, Error> {
    let ty = &col.type_;
    let col_camel = camel(name);
    let origin = format!("{table}.{name}");
    let (key_type, key_doc) = namer.base(
        &ty.key,
        || {
            let suffix = if ty.value.is_some() { "Key" } else { "" };
            (
                format!("{struct_name}{col_camel}{suffix}"),
                if ty.value.is_some() {
                    format!("{origin} key")
                } else {
                    origin.clone()
                },
            )
        },
        &mut model.enums,
        &mut model.uses_ref,
    )?;
    let mut has_real = ty.key.kind == AtomicType::Real;
    let (rust_type, default, shape_doc) = match &ty.value {
        Some(vt) => {
            if ty.key.kind == AtomicType::Real {
                return Err(Error::Unsupported(format!(
                    "{origin}: a map with real keys has no SortedMap form"
                )));
            }
            has_real |= vt.kind == AtomicType::Real;
            let (val_type, val_doc) = namer.base(
                vt,
                || {
                    (
                        format!("{struct_name}{col_camel}Value"),
                        format!("{origin} value"),
                    )
                },
                &mut model.enums,
                &mut model.uses_ref,
            )?;
            let shape = format!("map of {} pairs from {key_doc} to {val_doc}", count_doc(ty));
            if key_type == "String" && val_type == "String" {
                // Plain string maps (external_ids, options) keep their text in one buffer.
                model.uses_string_map = true;
                let default = (ty.min > 0).then(|| "StringMap::from([(\"\", \"\")])".to_owned());
                ("StringMap".to_owned(), default, shape)
            } else {
                model.uses_map = true;
                let default = (ty.min > 0).then(|| {
                    "SortedMap::from([(Default::default(), Default::default())])".to_owned()
                });
                (format!("SortedMap<{key_type}, {val_type}>"), default, shape)
            }
        }
        None if ty.is_scalar() => (key_type, None, key_doc),
        None if ty.is_optional() => (
            format!("Option<{key_type}>"),
            None,
            format!("optional {key_doc}"),
        ),
        None => (
            format!("Vec<{key_type}>"),
            (ty.min > 0).then(|| "vec![Default::default()]".to_owned()),
            format!("set of {} × {key_doc}, sorted", count_doc(ty)),
        ),
    };
    let mut doc = format!("`{name}`: {shape_doc}.");
    if col.ephemeral {
        doc.push_str(" Ephemeral.");
    }
    if !col.mutable {
        doc.push_str(" Immutable.");
    }
    Ok(ColumnDef {
        name: name.to_owned(),
        field: field_name(name),
        variant: match col_camel.as_str() {
            "" => "Empty".to_owned(),
            "Self" => "SelfColumn".to_owned(),
            _ => col_camel,
        },
        rust_type,
        default,
        has_real,
        doc,
    })
}

// ---------------------------------------------------------------------------------------------
// Emission.

/// Generates the module for `schema_json` without formatting it.
pub fn generate_unformatted(schema_json: &[u8], options: &Options) -> Result<String, Error> {
    let schema = DatabaseSchema::from_slice(schema_json)?;
    let model = build_model(&schema)?;
    let mut o = String::new();
    emit_header(&mut o, &schema, &model, options);
    for t in &model.tables {
        emit_table(&mut o, t);
    }
    emit_updates(&mut o, &model);
    for e in &model.enums {
        emit_enum(&mut o, e);
    }
    Ok(o)
}

macro_rules! w {
    ($o:expr) => {
        $o.push('\n');
    };
    ($o:expr, $($arg:tt)*) => {
        // Writing to a String cannot fail.
        let _ = writeln!($o, $($arg)*);
    };
}

fn emit_header(o: &mut String, schema: &DatabaseSchema, model: &Model, options: &Options) {
    let version = schema.version.as_deref().unwrap_or("");
    let cksum = schema.cksum.as_deref().unwrap_or("");
    w!(
        o,
        "// @generated by ovsdb-codegen from {} ({} {version}). Do not edit by hand:",
        options
            .schema_include
            .rsplit('/')
            .next()
            .unwrap_or_default(),
        schema.name
    );
    w!(o, "// change the generator or the schema, then run");
    w!(o, "// `cargo run -p ovsdb-codegen -- --all`.");
    w!(o);
    w!(o, "use std::sync::LazyLock;");
    w!(o);
    w!(
        o,
        "use ovsdb_proto::schema::{{ColumnType, DatabaseSchema, TableSchema}};"
    );
    let mut typed = vec![
        "self",
        "Column",
        "ColumnSeed",
        "ColumnValue",
        "Deserialize",
        "Deserializer",
        "IgnoredAny",
        "MapAccess",
        "Table",
        "TypedTableUpdate2",
        "Visitor",
    ];
    if model.uses_ref {
        typed.push("Ref");
    }
    if model.uses_map {
        typed.push("SortedMap");
    }
    if model.uses_string_map {
        typed.push("StringMap");
    }
    if !model.enums.is_empty() {
        typed.push("StringEnum");
    }
    typed.sort_by_key(|s| (*s != "self", s.to_ascii_lowercase()));
    w!(o, "use ovsdb_proto::typed::{{{}}};", typed.join(", "));
    w!(o, "use ovsdb_proto::{{Datum, Result, Row, Uuid}};");
    w!(o);
    w!(o, "/// The schema's name.");
    w!(o, "pub const NAME: &str = {};", lit(&schema.name));
    w!(
        o,
        "/// The schema's version (empty if the schema has none)."
    );
    w!(o, "pub const VERSION: &str = {};", lit(version));
    w!(
        o,
        "/// The checksum recorded in the schema (empty if none)."
    );
    w!(o, "pub const CKSUM: &str = {};", lit(cksum));
    w!(o, "/// The schema the code was generated from, as JSON.");
    w!(
        o,
        "pub const SCHEMA_JSON: &str = include_str!({});",
        lit(&options.schema_include)
    );
    w!(o);
    w!(
        o,
        "static SCHEMA: LazyLock<DatabaseSchema> = LazyLock::new(|| typed::embedded_schema(SCHEMA_JSON));"
    );
    w!(o);
    w!(o, "/// The schema the code was generated from, parsed.");
    w!(o, "pub fn schema() -> &'static DatabaseSchema {{");
    w!(o, "    &SCHEMA");
    w!(o, "}}");
    w!(o);
    w!(o, "/// The names of the schema's tables.");
    w!(o, "pub mod tables {{");
    for t in &model.tables {
        w!(o, "    /// `{}`.", t.name);
        w!(
            o,
            "    pub const {}: &str = {};",
            screaming(&t.name),
            lit(&t.name)
        );
    }
    w!(o, "    /// Every table name, sorted.");
    let all: Vec<String> = model.tables.iter().map(|t| screaming(&t.name)).collect();
    w!(o, "    pub const ALL: &[&str] = &[{}];", all.join(", "));
    w!(o, "}}");
}

fn emit_table(o: &mut String, t: &TableDef) {
    let s = &t.struct_name;
    let c = &t.column_enum;
    let eq = if t.columns.iter().any(|c| c.has_real) {
        ""
    } else {
        ", Eq"
    };
    let derive_default = t.columns.iter().all(|c| c.default.is_none());
    w!(o);
    for line in &t.doc {
        if line.is_empty() {
            w!(o, "///");
        } else {
            w!(o, "/// {line}");
        }
    }
    w!(
        o,
        "#[derive(Debug, Clone, PartialEq{eq}{})]",
        if derive_default { ", Default" } else { "" }
    );
    w!(o, "#[non_exhaustive]");
    w!(o, "pub struct {s} {{");
    w!(o, "    /// The row's UUID (`_uuid`).");
    w!(o, "    pub uuid: Uuid,");
    for col in &t.columns {
        w!(o, "    /// {}", col.doc);
        w!(o, "    pub {}: {},", col.field, col.rust_type);
    }
    w!(o, "}}");
    if !derive_default {
        w!(o);
        w!(o, "impl Default for {s} {{");
        w!(o, "    fn default() -> Self {{");
        w!(o, "        {s} {{");
        w!(o, "            uuid: Uuid::nil(),");
        for col in &t.columns {
            w!(
                o,
                "            {}: {},",
                col.field,
                col.default.as_deref().unwrap_or("Default::default()")
            );
        }
        w!(o, "        }}");
        w!(o, "    }}");
        w!(o, "}}");
    }

    // The column enum.
    w!(o);
    w!(o, "/// The columns of table `{}`.", t.name);
    w!(
        o,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]"
    );
    w!(o, "pub enum {c} {{");
    for col in &t.columns {
        w!(o, "    /// `{}`.", col.name);
        w!(o, "    {},", col.variant);
    }
    w!(o, "}}");
    w!(o);
    w!(o, "impl {c} {{");
    w!(o, "    /// The column's name.");
    w!(o, "    pub const fn as_str(self) -> &'static str {{");
    if t.columns.is_empty() {
        w!(o, "        match self {{}}");
    } else {
        w!(o, "        match self {{");
        for col in &t.columns {
            w!(o, "            {c}::{} => {},", col.variant, lit(&col.name));
        }
        w!(o, "        }}");
    }
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    let types = format!("{}_COLUMN_TYPES", screaming(&t.name));
    w!(
        o,
        "static {types}: LazyLock<Vec<&'static ColumnType>> = LazyLock::new(|| typed::embedded_column_types::<{c}>({s}::schema()));"
    );
    w!(o);
    w!(o, "impl Column for {c} {{");
    w!(o, "    const TABLE: &'static str = {};", lit(&t.name));
    let all: Vec<String> = t
        .columns
        .iter()
        .map(|col| format!("{c}::{}", col.variant))
        .collect();
    w!(o, "    const ALL: &'static [Self] = &[{}];", all.join(", "));
    w!(o);
    w!(o, "    fn name(&self) -> &'static str {{");
    w!(o, "        self.as_str()");
    w!(o, "    }}");
    w!(o);
    if t.columns.is_empty() {
        w!(o, "    fn from_name(_name: &str) -> Option<Self> {{");
        w!(o, "        None");
    } else {
        w!(o, "    fn from_name(name: &str) -> Option<Self> {{");
        w!(o, "        Some(match name {{");
        for col in &t.columns {
            w!(o, "            {} => {c}::{},", lit(&col.name), col.variant);
        }
        w!(o, "            _ => return None,");
        w!(o, "        }})");
    }
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn column_type(&self) -> &'static ColumnType {{");
    w!(o, "        {types}[*self as usize]");
    w!(o, "    }}");
    w!(o, "}}");

    // The Table impl.
    w!(o);
    w!(o, "impl Table for {s} {{");
    w!(o, "    const NAME: &'static str = {};", lit(&t.name));
    w!(o, "    type Column = {c};");
    w!(o);
    w!(o, "    fn schema() -> &'static TableSchema {{");
    w!(o, "        typed::embedded_table(schema(), Self::NAME)");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn uuid(&self) -> Uuid {{");
    w!(o, "        self.uuid");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn set_uuid(&mut self, uuid: Uuid) {{");
    w!(o, "        self.uuid = uuid;");
    w!(o, "    }}");
    w!(o);
    let row_var = if t.columns.is_empty() { "_row" } else { "row" };
    w!(
        o,
        "    fn from_row(uuid: Uuid, {row_var}: &Row) -> Result<Self> {{"
    );
    if t.columns.is_empty() {
        w!(o, "        Ok({s} {{ uuid }})");
    } else {
        w!(o, "        let mut out = {s} {{");
        w!(o, "            uuid,");
        w!(o, "            ..Self::default()");
        w!(o, "        }};");
        w!(o, "        for (name, datum) in row.iter() {{");
        w!(
            o,
            "            let Some(column) = {c}::from_name(name) else {{"
        );
        w!(o, "                continue;");
        w!(o, "            }};");
        w!(o, "            let ty = column.column_type();");
        w!(o, "            match column {{");
        for col in &t.columns {
            w!(
                o,
                "                {c}::{} => out.{} = typed::decode_column(Self::NAME, name, datum, ty)?,",
                col.variant,
                col.field
            );
        }
        w!(o, "            }}");
        w!(o, "        }}");
        w!(o, "        Ok(out)");
    }
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn to_row(&self) -> Row {{");
    if t.columns.is_empty() {
        w!(o, "        Row::new()");
    } else {
        w!(o, "        let default = Self::default();");
        w!(o, "        let mut row = Row::new();");
        for col in &t.columns {
            w!(o, "        if self.{0} != default.{0} {{", col.field);
            w!(
                o,
                "            row.insert({}, self.{}.to_datum());",
                lit(&col.name),
                col.field
            );
            w!(o, "        }}");
        }
        w!(o, "        row");
    }
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn column_datum(&self, column: {c}) -> Datum {{");
    if t.columns.is_empty() {
        w!(o, "        match column {{}}");
    } else {
        w!(o, "        match column {{");
        for col in &t.columns {
            w!(
                o,
                "            {c}::{} => self.{}.to_datum(),",
                col.variant,
                col.field
            );
        }
        w!(o, "        }}");
    }
    w!(o, "    }}");
    w!(o);
    let diff_var = if t.columns.is_empty() {
        "_diff"
    } else {
        "diff"
    };
    w!(
        o,
        "    fn apply_diff(&mut self, {diff_var}: &Row) -> Result<()> {{"
    );
    if !t.columns.is_empty() {
        w!(o, "        for (name, datum) in diff.iter() {{");
        w!(
            o,
            "            let Some(column) = {c}::from_name(name) else {{"
        );
        w!(o, "                continue;");
        w!(o, "            }};");
        w!(o, "            let ty = column.column_type();");
        w!(o, "            match column {{");
        for col in &t.columns {
            w!(
                o,
                "                {c}::{} => typed::apply_column_diff(&mut self.{}, Self::NAME, name, datum, ty)?,",
                col.variant,
                col.field
            );
        }
        w!(o, "            }}");
        w!(o, "        }}");
    }
    w!(o, "        Ok(())");
    w!(o, "    }}");
    w!(o);
    let (col_var, map_var) = if t.columns.is_empty() {
        ("_column", "_map")
    } else {
        ("column", "map")
    };
    w!(
        o,
        "    fn read_column<'de, A: MapAccess<'de>>(&mut self, {col_var}: {c}, {map_var}: &mut A) -> std::result::Result<(), A::Error> {{"
    );
    if !t.columns.is_empty() {
        w!(o, "        match column {{");
        for col in &t.columns {
            w!(
                o,
                "            {c}::{} => self.{} = map.next_value_seed(ColumnSeed::new(column))?,",
                col.variant,
                col.field
            );
        }
        w!(o, "        }}");
    }
    w!(o, "        Ok(())");
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    w!(o, "impl<'de> Deserialize<'de> for {s} {{");
    w!(
        o,
        "    /// Decodes a row object as `update2` `initial` and `insert` rows carry it (see"
    );
    w!(
        o,
        "    /// [`typed::deserialize_row`]); the UUID stays nil."
    );
    w!(
        o,
        "    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {{"
    );
    w!(o, "        typed::deserialize_row(d)");
    w!(o, "    }}");
    w!(o, "}}");
}

fn emit_updates(o: &mut String, model: &Model) {
    w!(o);
    w!(
        o,
        "/// The typed `<table-updates2>` of a `monitor_cond` reply or an `update2`/`update3`"
    );
    w!(
        o,
        "/// notification: one field per table (empty when the message does not mention it)."
    );
    w!(
        o,
        "/// Tables the schema does not know are skipped (schema skew)."
    );
    w!(o, "#[derive(Debug, Clone, PartialEq, Default)]");
    w!(o, "#[non_exhaustive]");
    w!(o, "pub struct TableUpdates2 {{");
    for t in &model.tables {
        w!(o, "    /// `{}`.", t.name);
        w!(
            o,
            "    pub {}: TypedTableUpdate2<{}>,",
            field_name(&t.name),
            t.struct_name
        );
    }
    w!(o, "}}");
    w!(o);
    w!(o, "impl<'de> Deserialize<'de> for TableUpdates2 {{");
    w!(
        o,
        "    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {{"
    );
    w!(o, "        struct V;");
    w!(o, "        impl<'de> Visitor<'de> for V {{");
    w!(o, "            type Value = TableUpdates2;");
    w!(
        o,
        "            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {{"
    );
    w!(
        o,
        "                f.write_str(\"a <table-updates2> object\")"
    );
    w!(o, "            }}");
    w!(
        o,
        "            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<TableUpdates2, A::Error> {{"
    );
    w!(o, "                let mut out = TableUpdates2::default();");
    w!(
        o,
        "                while let Some(table) = map.next_key::<String>()? {{"
    );
    w!(o, "                    match table.as_str() {{");
    for t in &model.tables {
        w!(
            o,
            "                        {} => out.{} = map.next_value()?,",
            lit(&t.name),
            field_name(&t.name)
        );
    }
    w!(o, "                        _ => {{");
    w!(
        o,
        "                            map.next_value::<IgnoredAny>()?;"
    );
    w!(o, "                        }}");
    w!(o, "                    }}");
    w!(o, "                }}");
    w!(o, "                Ok(out)");
    w!(o, "            }}");
    w!(o, "        }}");
    w!(o, "        d.deserialize_map(V)");
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    w!(
        o,
        "/// The database as a whole, for code generic over databases (see [`typed::Database`])."
    );
    w!(o, "#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]");
    w!(o, "pub struct Database;");
    w!(o);
    w!(o, "impl typed::Database for Database {{");
    w!(o, "    const NAME: &'static str = NAME;");
    w!(o);
    w!(o, "    fn schema() -> &'static DatabaseSchema {{");
    w!(o, "        schema()");
    w!(o, "    }}");
    w!(o);
    w!(
        o,
        "    fn visit_tables<V: typed::TableVisitor>(visitor: &mut V) {{"
    );
    for t in &model.tables {
        w!(o, "        visitor.visit::<{}>();", t.struct_name);
    }
    w!(o, "    }}");
    w!(o, "}}");
}

fn emit_enum(o: &mut String, e: &EnumDef) {
    let n = &e.name;
    let listed: Vec<String> = e.values.iter().map(|(v, _)| format!("`{v}`")).collect();
    w!(o);
    w!(
        o,
        "/// The values of `{}`: {}.",
        e.origin,
        listed.join(", ")
    );
    w!(o, "///");
    w!(
        o,
        "/// `Other` holds a value the schema does not list (OVN adds values between versions)."
    );
    w!(
        o,
        "/// Values compare, order and hash by their name, so `Other` of a listed name equals that"
    );
    w!(
        o,
        "/// variant. The default is the empty string, the value OVSDB gives a column nobody set."
    );
    w!(o, "#[derive(Debug, Clone)]");
    w!(o, "#[non_exhaustive]");
    w!(o, "pub enum {n} {{");
    for (value, variant) in &e.values {
        w!(o, "    /// `{value}`.");
        w!(o, "    {variant},");
    }
    w!(o, "    /// A value the schema does not list.");
    w!(o, "    Other(String),");
    w!(o, "}}");
    w!(o);
    w!(o, "impl {n} {{");
    w!(o, "    /// The values the schema lists.");
    let all: Vec<String> = e.values.iter().map(|(_, v)| format!("{n}::{v}")).collect();
    w!(
        o,
        "    pub const LISTED: &'static [{n}] = &[{}];",
        all.join(", ")
    );
    w!(o);
    w!(o, "    /// The value's name, as on the wire.");
    w!(o, "    pub fn as_str(&self) -> &str {{");
    w!(o, "        match self {{");
    for (value, variant) in &e.values {
        w!(o, "            {n}::{variant} => {},", lit(value));
    }
    w!(o, "            {n}::Other(s) => s,");
    w!(o, "        }}");
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    w!(o, "impl StringEnum for {n} {{");
    w!(o, "    fn as_str(&self) -> &str {{");
    w!(o, "        {n}::as_str(self)");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn from_name(name: &str) -> Self {{");
    w!(o, "        match name {{");
    for (value, variant) in &e.values {
        w!(o, "            {} => {n}::{variant},", lit(value));
    }
    w!(o, "            other => {n}::Other(other.to_owned()),");
    w!(o, "        }}");
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    w!(o, "ovsdb_proto::string_enum_traits!({n});");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(camel("Logical_Switch_Port"), "LogicalSwitchPort");
        assert_eq!(camel("ACL"), "Acl");
        assert_eq!(camel("QoS"), "QoS");
        assert_eq!(camel("DHCPv6_Options"), "DHCPv6Options");
        assert_eq!(camel("IC_SB_Global"), "IcSbGlobal");
        assert_eq!(camel("allow-related"), "AllowRelated");
        assert_eq!(camel("dnat_and_snat"), "DnatAndSnat");
        assert_eq!(camel("8021q"), "V8021q");
        assert_eq!(field_name("type"), "type_");
        assert_eq!(field_name("match"), "match_");
        assert_eq!(field_name("uuid"), "uuid_");
        assert_eq!(field_name("ip_prefix"), "ip_prefix");
        assert_eq!(screaming("QoS"), "QOS");
        let v = variants(&["".into(), "Other".into(), "a-b".into(), "a_b".into()]);
        let names: Vec<&str> = v.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["Empty", "OtherValue", "AB", "AB2"]);
    }
}
