//! Generates typed Rust rows from OVSDB schemas (`.ovsschema`, RFC 7047 §3.2): one schema,
//! or the schemas of several releases of a database merged into one model.
//!
//! This is a build tool, not a runtime library: its output is committed (the `ovn-nb`,
//! `ovn-sb`, `ovn-ic-nb` and `ovn-ic-sb` crates) and a drift test regenerates it. The output
//! uses the runtime in [`ovsdb_proto::typed`] and [`ovsdb_proto::skew`].
//!
//! ```no_run
//! // The schemas a crate pins, listed in its `schema/releases.txt`, oldest release first.
//! let pinned = ovsdb_codegen::read_pinned(
//!     std::path::Path::new("crates/ovn-nb/schema/releases.txt"),
//!     "../schema/",
//! )?;
//! let out = ovsdb_codegen::generate_pinned(&pinned)?;
//! std::fs::write("crates/ovn-nb/src/generated.rs", out.code).unwrap();
//! # Ok::<(), ovsdb_codegen::Error>(())
//! ```
//!
//! # Several releases, one model
//!
//! A database's schema grows from release to release. [`generate_pinned`] takes the schema of
//! each pinned release and generates the types of their merged **model**
//! ([`ovsdb_proto::skew::SchemaHistory`]): every table and column of any release, each with
//! its loosest type (the union of string enumerations, the widest ranges, the smallest `min`
//! and largest `max`), so the rows of a server of any pinned release decode. A column whose
//! atomic type, map-ness or referenced table differs between releases is an error. The
//! output also records the first pinned release of every table and column (`Table::since`,
//! `Column::since`, a `Since …` line in the docs; enum values listed only by some releases
//! say which), embeds every pinned schema (`PINNED`; `SCHEMA_JSON` is the newest, the schema
//! to serve) and builds the history on first use (`history()`; `schema()` is the model). One
//! schema ([`generate`]) is a history of one release.
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
//! The module also gets the schema's `NAME`, the newest release (`RELEASE`) and its schema's
//! `VERSION` and `CKSUM`, the schema texts (`SCHEMA_JSON` and `PINNED`, `include_str!`s of
//! the schema files kept next to the code), `history()`, `schema()`, a `releases` module of
//! release constants and a `tables` module of table name constants. Output order follows the
//! model's sorted table and column names, so it is deterministic. [`generate`] runs the code
//! through `rustfmt` so that `cargo fmt --check` accepts it.

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ovsdb_proto::schema::{AtomicType, BaseType, ColumnSchema, ColumnType, RefType, TableSchema};
use ovsdb_proto::skew::{PinnedSchema, Release, SchemaHistory};
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

/// How to generate the code of one schema (see [`generate`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The schema file's path as the generated file's `include_str!` must name it (relative
    /// to the generated file).
    pub schema_include: String,
    /// The release the schema belongs to; `None` takes the schema's own `x.y.z` version
    /// (`0.0.0` for a schema without one).
    pub release: Option<Release>,
}

impl Options {
    /// Options for a generated file that reaches its schema file at `schema_include`.
    pub fn new(schema_include: impl Into<String>) -> Self {
        Options {
            schema_include: schema_include.into(),
            release: None,
        }
    }

    /// Names the release the schema belongs to.
    pub fn release(mut self, release: Release) -> Self {
        self.release = Some(release);
        self
    }
}

/// One pinned release's schema as the generator reads it (see [`generate_pinned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PinnedFile {
    /// The release.
    pub release: Release,
    /// The schema file's path as the generated file's `include_str!` must name it.
    pub include: String,
    /// The schema's text.
    pub json: String,
}

impl PinnedFile {
    /// The schema `json` of `release`, reached from the generated file at `include`.
    pub fn new(release: Release, include: impl Into<String>, json: impl Into<String>) -> Self {
        PinnedFile {
            release,
            include: include.into(),
            json: json.into(),
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

/// Generates the module for `schema_json`, one release's schema, and formats it with
/// `rustfmt` (edition 2021). If `rustfmt` cannot be run, the unformatted code is returned
/// with `formatted` false.
pub fn generate(schema_json: &[u8], options: &Options) -> Result<Generated, Error> {
    formatted(generate_unformatted(schema_json, options)?)
}

/// Generates the module for the schemas of several releases (oldest first): the types of
/// their merged model (see [`ovsdb_proto::skew`]), the release that introduced each table and
/// column, and every pinned schema embedded. Formatted like [`generate`].
pub fn generate_pinned(files: &[PinnedFile]) -> Result<Generated, Error> {
    formatted(generate_pinned_unformatted(files)?)
}

fn formatted(code: String) -> Result<Generated, Error> {
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

/// The generated crates of this workspace, as directories relative to the workspace root.
/// Each keeps its pinned schemas in `<crate>/schema/` with the list of pinned releases in
/// `<crate>/schema/releases.txt`, and its code in `<crate>/src/generated.rs`.
pub const OVN_CRATES: &[&str] = &[
    "crates/ovn-nb",
    "crates/ovn-sb",
    "crates/ovn-ic-nb",
    "crates/ovn-ic-sb",
];

/// The name of a crate's list of pinned releases, in its `schema/` directory.
pub const RELEASES_FILE: &str = "releases.txt";

/// Where a generated crate's schemas and code live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CratePaths {
    /// The list of pinned releases (`schema/releases.txt`).
    pub releases: PathBuf,
    /// The generated file.
    pub generated: PathBuf,
}

/// The paths of every crate of [`OVN_CRATES`] under the workspace root `root`.
pub fn ovn_crate_paths(root: &Path) -> Vec<CratePaths> {
    OVN_CRATES
        .iter()
        .map(|dir| CratePaths {
            releases: root.join(dir).join("schema").join(RELEASES_FILE),
            generated: root.join(dir).join("src").join("generated.rs"),
        })
        .collect()
}

/// One line of a list of pinned releases.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReleaseLine {
    /// The release.
    pub release: Release,
    /// Its schema file, in the list's directory.
    pub file: String,
}

/// Parses a list of pinned releases: one `RELEASE FILE` pair per line, oldest release first,
/// `#` starting a comment. Releases sharing a schema name the same file.
pub fn parse_releases(text: &str) -> Result<Vec<ReleaseLine>, Error> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: &str| Error::Unsupported(format!("{RELEASES_FILE} line {}: {why}", n + 1));
        let mut words = line.split_whitespace();
        let (Some(release), Some(file), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad("expected RELEASE FILE"));
        };
        let release = Release::parse(release).ok_or_else(|| bad("not a release"))?;
        if file.contains('/') || !file.ends_with(".ovsschema") {
            return Err(bad("the file must be an .ovsschema next to the list"));
        }
        out.push(ReleaseLine {
            release,
            file: file.to_owned(),
        });
    }
    Ok(out)
}

/// The pinned schemas of a list of releases (`releases.txt`) and its directory, as
/// [`generate_pinned`] takes them; each is included as `<include_dir><file>` (a generated
/// crate's `src/generated.rs` reaches its schemas with `../schema/`). A file's name must end
/// with its schema's version (`ovn-nb-7.0.0.ovsschema`).
pub fn read_pinned(releases: &Path, include_dir: &str) -> Result<Vec<PinnedFile>, Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let text = std::fs::read_to_string(releases).map_err(io(releases))?;
    let dir = releases.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for line in parse_releases(&text)? {
        let path = dir.join(&line.file);
        let json = std::fs::read_to_string(&path).map_err(io(&path))?;
        let schema = DatabaseSchema::from_slice(json.as_bytes())?;
        let version = schema.version.unwrap_or_default();
        if !line.file.ends_with(&format!("-{version}.ovsschema")) {
            return Err(Error::Unsupported(format!(
                "{}: the name does not end with the schema's version {version}",
                line.file
            )));
        }
        out.push(PinnedFile::new(
            line.release,
            format!("{include_dir}{}", line.file),
            json,
        ));
    }
    Ok(out)
}

/// Generates the code of one crate of [`OVN_CRATES`] from its committed schemas.
pub fn generate_crate(paths: &CratePaths) -> Result<Generated, Error> {
    generate_pinned(&read_pinned(&paths.releases, "../schema/")?)
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
    /// Per value, the releases that list it when not all releases with the column do
    /// (`since 25.09.0`), else empty.
    notes: Vec<String>,
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
    /// The first pinned release with the column.
    since: Release,
}

struct TableDef {
    name: String,
    struct_name: String,
    column_enum: String,
    columns: Vec<ColumnDef>,
    doc: Vec<String>,
    /// The first pinned release with the table.
    since: Release,
}

/// The pinned releases behind a model.
struct Releases<'a> {
    history: &'a SchemaHistory,
    /// Each pinned release's schema, in the order of `history.pinned()`.
    schemas: &'a [DatabaseSchema],
}

impl Releases<'_> {
    fn oldest(&self) -> Release {
        self.history.pinned()[0].release
    }

    /// `V23_03_1`: the constant of `release` in the generated `releases` module.
    fn constant(release: Release) -> String {
        format!("V{}", release.to_string().replace('.', "_"))
    }

    /// The releases that list each of `values` in the enumeration of `table.column`'s key
    /// (or value), as a doc note when not every release with the column does.
    fn enum_notes(
        &self,
        table: &str,
        column: &str,
        value_part: bool,
        values: &[String],
    ) -> Vec<String> {
        let mut with_column = Vec::new();
        let mut listing: Vec<Vec<Release>> = vec![Vec::new(); values.len()];
        for (p, s) in self.history.pinned().iter().zip(self.schemas) {
            let Some(c) = s.table(table).and_then(|t| t.columns.get(column)) else {
                continue;
            };
            with_column.push(p.release);
            let base = if value_part {
                c.type_.value.as_ref()
            } else {
                Some(&c.type_.key)
            };
            let Some(e) = base.and_then(|b| b.enumeration.as_ref()) else {
                continue;
            };
            for (i, v) in values.iter().enumerate() {
                if e.contains(&Atom::String(v.clone())) {
                    listing[i].push(p.release);
                }
            }
        }
        listing
            .iter()
            .map(|l| {
                if l.len() == with_column.len() {
                    return String::new();
                }
                let (Some(first), Some(last)) = (l.first(), l.last()) else {
                    return String::new();
                };
                let from = *first != with_column[0];
                let until = Some(last) != with_column.last();
                match (from, until) {
                    (true, true) => format!("listed from {first} to {last}"),
                    (true, false) => format!("listed since {first}"),
                    (false, true) => format!("listed up to {last}"),
                    (false, false) => "not listed in every release".to_owned(),
                }
            })
            .collect()
    }
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
                notes: Vec::new(),
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

fn build_model(schema: &DatabaseSchema, releases: &Releases<'_>) -> Result<Model, Error> {
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
        let table_since = releases
            .history
            .table_since(tname)
            .unwrap_or_else(|| releases.oldest());
        let mut columns = Vec::new();
        let mut fields = BTreeSet::new();
        let mut variants = BTreeSet::new();
        for (cname, col) in &table.columns {
            let enums_before = model.enums.len();
            let since = releases
                .history
                .column_since(tname, cname)
                .unwrap_or_else(|| releases.oldest());
            let mut def = build_column(
                &mut namer,
                tname,
                &struct_name,
                (cname, col),
                since,
                &mut model,
            )?;
            for e in model.enums.iter_mut().skip(enums_before) {
                let wire: Vec<String> = e.values.iter().map(|(v, _)| v.clone()).collect();
                let value_part = e.origin.ends_with(" value");
                e.notes = releases.enum_notes(tname, cname, value_part, &wire);
            }
            if since != table_since {
                def.doc.push_str(&format!(" Since {since}."));
            }
            if !fields.insert(def.field.clone()) || !variants.insert(def.variant.clone()) {
                return Err(Error::Unsupported(format!(
                    "two columns of {tname} give the Rust name {} / {}",
                    def.field, def.variant
                )));
            }
            columns.push(def);
        }
        let since = table_since;
        let mut doc = table_doc(schema, tname, table);
        if since != releases.oldest() {
            doc.push(format!("First in release {since}."));
        }
        model.tables.push(TableDef {
            name: tname.clone(),
            column_enum: format!("{struct_name}Column"),
            struct_name,
            columns,
            doc,
            since,
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
    (name, col): (&str, &ColumnSchema),
    since: Release,
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
        since,
    })
}

// ---------------------------------------------------------------------------------------------
// Emission.

/// Generates the module for `schema_json` without formatting it.
pub fn generate_unformatted(schema_json: &[u8], options: &Options) -> Result<String, Error> {
    let schema = DatabaseSchema::from_slice(schema_json)?;
    let release = options.release.unwrap_or_else(|| {
        schema
            .version
            .as_deref()
            .and_then(Release::parse)
            .unwrap_or(Release::new("0.0.0"))
    });
    let json = String::from_utf8(schema_json.to_vec())
        .map_err(|e| Error::Unsupported(format!("the schema is not UTF-8: {e}")))?;
    let file = PinnedFile::new(release, options.schema_include.clone(), json);
    generate_pinned_unformatted(std::slice::from_ref(&file))
}

/// Generates the module for the schemas of several releases without formatting it.
pub fn generate_pinned_unformatted(files: &[PinnedFile]) -> Result<String, Error> {
    let pinned = files
        .iter()
        .map(|f| PinnedSchema::owned(f.release, f.json.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let history = SchemaHistory::new(pinned)?;
    let schemas = history
        .pinned()
        .iter()
        .map(PinnedSchema::schema)
        .collect::<Result<Vec<_>, _>>()?;
    let releases = Releases {
        history: &history,
        schemas: &schemas,
    };
    let schema = history.model();
    let model = build_model(schema, &releases)?;
    let mut o = String::new();
    emit_header(&mut o, files, &releases, &model);
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

fn emit_header(o: &mut String, files: &[PinnedFile], releases: &Releases<'_>, model: &Model) {
    let history = releases.history;
    let schema = history.model();
    let pinned = history.pinned();
    let newest = history.newest();
    let newest_schema = &releases.schemas[releases.schemas.len() - 1];
    let cksum = newest_schema.cksum.as_deref().unwrap_or("");
    let from = match files {
        [one] => format!(
            "{} ({} {})",
            one.include.rsplit('/').next().unwrap_or_default(),
            schema.name,
            one_version(&newest.version)
        ),
        _ => format!(
            "the {} schemas of releases\n// {} to {} (versions {} to {})",
            schema.name,
            pinned[0].release,
            newest.release,
            one_version(&pinned[0].version),
            one_version(&newest.version)
        ),
    };
    w!(
        o,
        "// @generated by ovsdb-codegen from {from}. Do not edit by hand:"
    );
    w!(o, "// change the generator or the schemas, then run");
    w!(o, "// `cargo run -p ovsdb-codegen -- --all`.");
    w!(o);
    w!(o, "use std::sync::LazyLock;");
    w!(o);
    w!(
        o,
        "use ovsdb_proto::schema::{{ColumnType, DatabaseSchema, TableSchema}};"
    );
    w!(
        o,
        "use ovsdb_proto::skew::{{PinnedSchema, Release, SchemaHistory}};"
    );
    let mut typed = vec![
        "self",
        "Column",
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
    w!(o, "use ovsdb_proto::typed::rt::{{self, ColumnSeed}};");
    w!(o, "use ovsdb_proto::{{Datum, Result, Row, Uuid}};");
    w!(o);
    w!(o, "/// The schema's name.");
    w!(o, "pub const NAME: &str = {};", lit(&schema.name));
    w!(
        o,
        "/// The newest pinned release, whose schema is [`SCHEMA_JSON`]."
    );
    w!(
        o,
        "pub const RELEASE: Release = releases::{};",
        Releases::constant(newest.release)
    );
    w!(
        o,
        "/// The schema version of the newest pinned release (empty if its schema has none)."
    );
    w!(o, "pub const VERSION: &str = {};", lit(&newest.version));
    w!(
        o,
        "/// The checksum recorded in the newest pinned release's schema (empty if none)."
    );
    w!(o, "pub const CKSUM: &str = {};", lit(cksum));
    // One constant per schema file: releases that share a schema share its text.
    let mut consts: Vec<(&str, String)> = Vec::new();
    for f in files {
        if !consts.iter().any(|(inc, _)| *inc == f.include) {
            consts.push((&f.include, format!("SCHEMA_{}", consts.len())));
        }
    }
    let const_of = |include: &str| {
        consts
            .iter()
            .find(|(inc, _)| *inc == include)
            .map(|(_, c)| c.clone())
            .unwrap_or_default()
    };
    let newest_file = &files[files.len() - 1];
    w!(
        o,
        "/// The newest pinned release's schema, as JSON: the schema an embedded server serves."
    );
    w!(
        o,
        "pub const SCHEMA_JSON: &str = {};",
        const_of(&newest_file.include)
    );
    w!(o);
    for (include, name) in &consts {
        w!(o, "const {name}: &str = include_str!({});", lit(include));
    }
    w!(o);
    w!(
        o,
        "/// Every pinned release's schema, oldest release first."
    );
    w!(o, "pub static PINNED: &[PinnedSchema] = &[");
    for (f, p) in files.iter().zip(pinned) {
        w!(
            o,
            "    PinnedSchema::new(releases::{}, {}, {}),",
            Releases::constant(p.release),
            lit(&p.version),
            const_of(&f.include)
        );
    }
    w!(o, "];");
    w!(o);
    w!(
        o,
        "static HISTORY: LazyLock<SchemaHistory> = LazyLock::new(|| rt::embedded_history(PINNED));"
    );
    w!(o);
    w!(
        o,
        "/// The pinned releases merged: the model, the first release of each table and column,"
    );
    w!(
        o,
        "/// and which release a server's schema belongs to (see [`ovsdb_proto::skew`])."
    );
    w!(o, "pub fn history() -> &'static SchemaHistory {{");
    w!(o, "    &HISTORY");
    w!(o, "}}");
    w!(o);
    w!(
        o,
        "/// The model the code was generated from: every pinned release's tables and columns,"
    );
    w!(
        o,
        "/// each with its loosest type. It is no server's schema: an embedded server serves"
    );
    w!(o, "/// [`SCHEMA_JSON`] or one of [`PINNED`].");
    w!(o, "pub fn schema() -> &'static DatabaseSchema {{");
    w!(o, "    HISTORY.model()");
    w!(o, "}}");
    w!(o);
    w!(o, "/// The pinned releases.");
    w!(o, "pub mod releases {{");
    w!(o, "    use ovsdb_proto::skew::Release;");
    w!(o);
    for p in pinned {
        let version = if p.version.is_empty() {
            "no version".to_owned()
        } else {
            format!("version {}", p.version)
        };
        w!(o, "    /// Release {} (schema {version}).", p.release);
        w!(
            o,
            "    pub const {}: Release = Release::new({});",
            Releases::constant(p.release),
            lit(&p.release.to_string())
        );
    }
    w!(o, "    /// Every pinned release, oldest first.");
    let all: Vec<String> = pinned
        .iter()
        .map(|p| Releases::constant(p.release))
        .collect();
    w!(o, "    pub const ALL: &[Release] = &[{}];", all.join(", "));
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

fn one_version(v: &str) -> &str {
    if v.is_empty() {
        "without version"
    } else {
        v
    }
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
        "static {types}: LazyLock<Vec<&'static ColumnType>> = LazyLock::new(|| rt::embedded_column_types::<{c}>({s}::schema()));"
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
    w!(o);
    w!(o, "    fn since(&self) -> Release {{");
    if t.columns.is_empty() {
        w!(o, "        match *self {{}}");
    } else {
        w!(o, "        match self {{");
        for col in &t.columns {
            w!(
                o,
                "            {c}::{} => releases::{},",
                col.variant,
                Releases::constant(col.since)
            );
        }
        w!(o, "        }}");
    }
    w!(o, "    }}");
    w!(o, "}}");

    // The Table impl.
    w!(o);
    w!(o, "impl Table for {s} {{");
    w!(o, "    const NAME: &'static str = {};", lit(&t.name));
    w!(o, "    type Column = {c};");
    w!(o);
    w!(o, "    fn schema() -> &'static TableSchema {{");
    w!(o, "        rt::embedded_table(schema(), Self::NAME)");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn since() -> Release {{");
    w!(o, "        releases::{}", Releases::constant(t.since));
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn history() -> &'static SchemaHistory {{");
    w!(o, "        history()");
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
                "                {c}::{} => out.{} = rt::decode_column(Self::NAME, name, datum, ty)?,",
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
                "                {c}::{} => rt::apply_column_diff(&mut self.{}, Self::NAME, name, datum, ty)?,",
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
    w!(o, "    /// [`rt::deserialize_row`]); the UUID stays nil.");
    w!(
        o,
        "    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {{"
    );
    w!(o, "        rt::deserialize_row(d)");
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
    w!(o, "    fn history() -> &'static SchemaHistory {{");
    w!(o, "        history()");
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
    for (i, (value, variant)) in e.values.iter().enumerate() {
        match e.notes.get(i).filter(|n| !n.is_empty()) {
            Some(note) => {
                w!(o, "    /// `{value}` ({note}).");
            }
            None => {
                w!(o, "    /// `{value}`.");
            }
        }
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

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
