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

mod emit;
mod model;
mod naming;
mod pinned;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ovsdb_proto::skew::{PinnedSchema, Release, SchemaHistory};
use ovsdb_proto::DatabaseSchema;

use crate::emit::{emit_enum, emit_header, emit_table, emit_updates};
use crate::model::{build_model, Releases};
pub use crate::pinned::{
    generate_crate, ovn_crate_paths, parse_releases, read_pinned, CratePaths, PinnedFile,
    ReleaseLine, OVN_CRATES, RELEASES_FILE,
};

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

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
