//! Schema skew across releases: one typed model over several releases of a schema, the
//! release a server's schema belongs to, and writes checked against the server's schema.
//!
//! A schema grows with the software that ships it (OVN 24.03 added
//! `Availability_Zone.nb_ic_cfg` to `OVN_IC_Southbound`, 25.09 added its `Service_Monitor`
//! table). A client built for one release cannot read what a newer server adds, and a client
//! built for the newest one must not send an older server a column it lacks: the server
//! would refuse the whole transaction.
//!
//! - [`Release`] names a release of the software that ships a schema (`25.03.0`); it orders
//!   numerically and prints as written.
//! - [`PinnedSchema`] is one release's schema, kept verbatim.
//! - [`SchemaHistory`] merges the pinned schemas into one **model**, a superset that reads
//!   every pinned release's data: every table and column of any release, each type the
//!   loosest of its releases (the union of string enumerations, so a value only an older
//!   release lists still decodes; the widest integer, real and length ranges; the smallest
//!   `min` and the largest `max`). A column whose atomic type, map-ness or referenced table
//!   differs between releases cannot be one Rust type and is an error. Tables keep the
//!   newest release's indexes, root flag and column flags. The history also records the
//!   first pinned release that has each table and column, tells which pinned release a
//!   server's schema belongs to ([`SchemaHistory::release_of`]) and what of the model it
//!   lacks ([`SchemaHistory::missing`]).
//! - [`check_operations`] makes a transaction fit a server's schema before it is sent: a
//!   value of a column the server lacks is dropped when it is the column's default (what the
//!   server would read anyway) and is otherwise a [`SkewError`] naming the table, the column,
//!   the server's schema version and the release that introduced it. Nothing is lost
//!   silently.
//!
//! The generated crates of `ovsdb-codegen` embed their pinned schemas and build their
//! history once, on first use:
//!
//! ```
//! use ovsdb_proto::skew::{PinnedSchema, Release, SchemaHistory};
//!
//! const V1: &str = r#"{"name":"Db","version":"1.0.0","tables":{
//!     "Zone":{"columns":{"name":{"type":"string"}},"isRoot":true}}}"#;
//! const V2: &str = r#"{"name":"Db","version":"1.1.0","tables":{
//!     "Zone":{"columns":{"name":{"type":"string"},"cfg":{"type":"integer"}},"isRoot":true}}}"#;
//! let history = SchemaHistory::new(vec![
//!     PinnedSchema::new(Release::new("23.03.1"), "1.0.0", V1),
//!     PinnedSchema::new(Release::new("24.03.0"), "1.1.0", V2),
//! ])?;
//! assert_eq!(history.column_since("Zone", "cfg"), Some(Release::new("24.03.0")));
//!
//! let old_server = history.pinned()[0].schema()?;
//! let found = history.release_of(&old_server).unwrap();
//! assert_eq!((found.oldest, found.exact), (Release::new("23.03.1"), true));
//! # Ok::<(), ovsdb_proto::Error>(())
//! ```

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::data::Datum;
use crate::error::{Error, Result};
use crate::operation::{Condition, Mutator, Operation};
use crate::row::Row;
use crate::schema::{BaseType, ColumnType, DatabaseSchema, TableSchema};

// ---------------------------------------------------------------------------------------------
// Releases.

/// A release of the software that ships a schema: `major.minor.patch`, such as OVN's
/// `25.03.0` (year and month) or Open vSwitch's `3.5.0`.
///
/// Releases compare and hash by their three numbers; they print as they were written (the
/// minor number keeps its leading zeros, so OVN's `25.03.0` stays `25.03.0`). A missing patch
/// number is 0, and a leading `v` (a git tag) is accepted.
#[derive(Clone, Copy)]
pub struct Release {
    major: u16,
    minor: u16,
    patch: u16,
    minor_width: u8,
}

impl Release {
    /// Parses `major.minor[.patch]` at compile time, for constants.
    ///
    /// # Panics
    ///
    /// If `text` is not a release; in a constant that is a compile error. Use
    /// [`Release::parse`] or [`str::parse`] for input.
    pub const fn new(text: &str) -> Release {
        match Release::parse(text) {
            Some(r) => r,
            None => panic!("not a release: expected major.minor[.patch]"),
        }
    }

    /// Parses `major.minor[.patch]` (each number at most 65535, a leading `v` allowed).
    pub const fn parse(text: &str) -> Option<Release> {
        let b = text.as_bytes();
        let mut i = if !b.is_empty() && b[0] == b'v' { 1 } else { 0 };
        let mut parts = [0u32; 3];
        let mut widths = [0u8; 3];
        let mut n = 0;
        let mut digits = 0u8;
        while i < b.len() {
            let c = b[i];
            if c == b'.' {
                if digits == 0 || n == 2 {
                    return None;
                }
                widths[n] = digits;
                n += 1;
                digits = 0;
            } else if c.is_ascii_digit() {
                if digits == 5 {
                    return None;
                }
                parts[n] = parts[n] * 10 + (c - b'0') as u32;
                if parts[n] > u16::MAX as u32 {
                    return None;
                }
                digits += 1;
            } else {
                return None;
            }
            i += 1;
        }
        if digits == 0 || n == 0 {
            return None;
        }
        widths[n] = digits;
        Some(Release {
            major: parts[0] as u16,
            minor: parts[1] as u16,
            patch: parts[2] as u16,
            minor_width: widths[1],
        })
    }

    /// The major number (`25` of `25.03.0`).
    pub const fn major(self) -> u16 {
        self.major
    }

    /// The minor number (`3` of `25.03.0`).
    pub const fn minor(self) -> u16 {
        self.minor
    }

    /// The patch number (`0` of `25.03.0`).
    pub const fn patch(self) -> u16 {
        self.patch
    }

    fn key(self) -> (u16, u16, u16) {
        (self.major, self.minor, self.patch)
    }
}

impl PartialEq for Release {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Release {}

impl PartialOrd for Release {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Release {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl Hash for Release {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = usize::from(self.minor_width);
        write!(f, "{}.{:0width$}.{}", self.major, self.minor, self.patch)
    }
}

impl fmt::Debug for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Release({self})")
    }
}

impl FromStr for Release {
    type Err = Error;

    fn from_str(s: &str) -> Result<Release> {
        Release::parse(s).ok_or_else(|| Error::decode("release", s, "expected major.minor[.patch]"))
    }
}

// ---------------------------------------------------------------------------------------------
// Pinned schemas.

/// One release's schema, kept verbatim (the text a server of that release serves).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PinnedSchema {
    /// The release that ships the schema.
    pub release: Release,
    /// The schema's `version` (empty if it has none).
    pub version: Cow<'static, str>,
    /// The schema as JSON (an `.ovsschema` file).
    pub json: Cow<'static, str>,
}

impl PinnedSchema {
    /// A schema embedded in a program (generated crates list theirs in a constant).
    pub const fn new(release: Release, version: &'static str, json: &'static str) -> Self {
        PinnedSchema {
            release,
            version: Cow::Borrowed(version),
            json: Cow::Borrowed(json),
        }
    }

    /// A schema read at run time; its version is taken from the text.
    pub fn owned(release: Release, json: String) -> Result<Self> {
        let schema = DatabaseSchema::from_slice(json.as_bytes())?;
        Ok(PinnedSchema {
            release,
            version: Cow::Owned(schema.version.unwrap_or_default()),
            json: Cow::Owned(json),
        })
    }

    /// The schema, parsed.
    pub fn schema(&self) -> Result<DatabaseSchema> {
        DatabaseSchema::from_slice(self.json.as_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// The history.

/// Where a table and its columns first appear among the pinned releases.
#[derive(Debug, Clone)]
struct TableSince {
    since: Release,
    columns: BTreeMap<String, Release>,
}

/// The pinned schemas of a database, oldest release first, merged into one model (see the
/// [module docs](self) for the merge rules).
#[derive(Debug, Clone)]
pub struct SchemaHistory {
    pinned: Vec<PinnedSchema>,
    /// `version_triple` of each pinned schema, in the order of `pinned`.
    versions: Vec<Option<(u32, u32, u32)>>,
    model: DatabaseSchema,
    since: BTreeMap<String, TableSince>,
}

impl SchemaHistory {
    /// Parses and merges `pinned`, which must be in increasing release order, name one
    /// database, carry the versions their texts declare, and not go back in schema version.
    pub fn new(pinned: Vec<PinnedSchema>) -> Result<Self> {
        let mut schemas = Vec::with_capacity(pinned.len());
        for (i, p) in pinned.iter().enumerate() {
            let what = format!("release {}", p.release);
            let s = p.schema().map_err(|e| match e {
                Error::Schema(mut s) => {
                    s.path = format!("{what}: {}", s.path);
                    Error::Schema(s)
                }
                other => other,
            })?;
            if s.version.as_deref().unwrap_or("") != p.version {
                return Err(Error::schema(
                    what,
                    p.version.to_string(),
                    format!(
                        "the pinned version differs from the schema's {:?}",
                        s.version.as_deref().unwrap_or("")
                    ),
                ));
            }
            if let Some(prev) = i.checked_sub(1).map(|j| &pinned[j]) {
                if prev.release >= p.release {
                    return Err(Error::schema(
                        what,
                        "",
                        format!("releases must increase (after {})", prev.release),
                    ));
                }
            }
            if let Some(first) = schemas.first() {
                let first: &DatabaseSchema = first;
                if first.name != s.name {
                    return Err(Error::schema(
                        what,
                        s.name.clone(),
                        format!("a schema of another database than {}", first.name),
                    ));
                }
            }
            schemas.push(s);
        }
        let versions: Vec<_> = schemas.iter().map(DatabaseSchema::version_triple).collect();
        for (i, w) in versions.windows(2).enumerate() {
            if let [Some(a), Some(b)] = w {
                if b < a {
                    return Err(Error::schema(
                        format!("release {}", pinned[i + 1].release),
                        pinned[i + 1].version.to_string(),
                        "the schema version goes back",
                    ));
                }
            }
        }
        let Some(newest) = schemas.last() else {
            return Err(Error::Usage(
                "a schema history needs a pinned schema".into(),
            ));
        };
        let mut model = newest.clone();
        model.cksum = None;
        for older in schemas.iter().rev().skip(1) {
            merge_schema(&mut model, older)?;
        }
        let mut since: BTreeMap<String, TableSince> = BTreeMap::new();
        for (p, s) in pinned.iter().zip(&schemas) {
            for (tname, t) in &s.tables {
                let entry = since.entry(tname.clone()).or_insert_with(|| TableSince {
                    since: p.release,
                    columns: BTreeMap::new(),
                });
                for cname in t.columns.keys() {
                    entry.columns.entry(cname.clone()).or_insert(p.release);
                }
            }
        }
        Ok(SchemaHistory {
            pinned,
            versions,
            model,
            since,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.model.name
    }

    /// The pinned schemas, oldest release first.
    pub fn pinned(&self) -> &[PinnedSchema] {
        &self.pinned
    }

    /// The newest pinned schema: the one an embedded server should serve.
    pub fn newest(&self) -> &PinnedSchema {
        // `new` refuses an empty history.
        &self.pinned[self.pinned.len() - 1]
    }

    /// The pinned schema of `release`, if it is pinned.
    pub fn pinned_of(&self, release: Release) -> Option<&PinnedSchema> {
        self.pinned.iter().find(|p| p.release == release)
    }

    /// The merged model: every table and column of every pinned release, with the loosest
    /// types. It is not any server's schema (its version is the newest release's, it has no
    /// checksum); it is what typed rows decode with.
    pub fn model(&self) -> &DatabaseSchema {
        &self.model
    }

    /// The first pinned release that has `table`.
    pub fn table_since(&self, table: &str) -> Option<Release> {
        self.since.get(table).map(|t| t.since)
    }

    /// The first pinned release that has `table.column`.
    pub fn column_since(&self, table: &str, column: &str) -> Option<Release> {
        self.since.get(table)?.columns.get(column).copied()
    }

    /// Which pinned releases `server`'s schema belongs to, by its version: the pinned
    /// releases whose schema version is the greatest one not newer than the server's. `None`
    /// if the server's schema is of another database, has no `x.y.z` version, or is older
    /// than every pinned release.
    pub fn release_of(&self, server: &DatabaseSchema) -> Option<ReleaseMatch> {
        if server.name != self.model.name {
            return None;
        }
        let v = server.version_triple()?;
        let best = self.versions.iter().flatten().filter(|p| **p <= v).max()?;
        let mut matching = self
            .pinned
            .iter()
            .zip(&self.versions)
            .filter(|(_, pv)| pv.as_ref() == Some(best))
            .map(|(p, _)| p.release);
        let oldest = matching.next()?;
        let newest = matching.next_back().unwrap_or(oldest);
        Some(ReleaseMatch {
            oldest,
            newest,
            exact: *best == v,
        })
    }

    /// The model's tables and columns that `server`'s schema lacks, in name order, each with
    /// the release that introduced it (a table the server lacks is one entry).
    pub fn missing(&self, server: &DatabaseSchema) -> Vec<Missing> {
        let mut out = Vec::new();
        for (tname, t) in &self.since {
            let Some(st) = server.table(tname) else {
                out.push(Missing {
                    table: tname.clone(),
                    column: None,
                    since: t.since,
                });
                continue;
            };
            for (cname, since) in &t.columns {
                if !st.columns.contains_key(cname) {
                    out.push(Missing {
                        table: tname.clone(),
                        column: Some(cname.clone()),
                        since: *since,
                    });
                }
            }
        }
        out
    }

    /// [`check_operations`] with this history.
    pub fn check(&self, ops: &mut [Operation], server: &DatabaseSchema) -> Result<usize> {
        check_operations(ops, server, Some(self))
    }
}

/// The pinned releases a server's schema belongs to (see [`SchemaHistory::release_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ReleaseMatch {
    /// The oldest pinned release with the matched schema version.
    pub oldest: Release,
    /// The newest pinned release with the matched schema version (releases often share a
    /// schema: OVN 23.03 to 23.09 all ship `OVN_IC_Northbound` 1.0.0).
    pub newest: Release,
    /// Whether the server's version is that schema version exactly; if not, the server is
    /// newer (a later release, or a backport on that release's branch) and has at least
    /// those releases' tables and columns.
    pub exact: bool,
}

impl fmt::Display for ReleaseMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.oldest == self.newest {
            write!(f, "{}", self.oldest)?;
        } else {
            write!(f, "{} to {}", self.oldest, self.newest)?;
        }
        if !self.exact {
            f.write_str(" or newer")?;
        }
        Ok(())
    }
}

/// A table or column of the model that a server's schema lacks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Missing {
    /// The table.
    pub table: String,
    /// The column, or `None` when the whole table is missing.
    pub column: Option<String>,
    /// The first pinned release that has it.
    pub since: Release,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{}.{c} (since {})", self.table, self.since),
            None => write!(f, "table {} (since {})", self.table, self.since),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Merging.

fn merge_schema(model: &mut DatabaseSchema, older: &DatabaseSchema) -> Result<()> {
    for (tname, ot) in &older.tables {
        let Some(mt) = model.tables.get_mut(tname) else {
            model.tables.insert(tname.clone(), ot.clone());
            continue;
        };
        merge_table(mt, ot, tname)?;
    }
    Ok(())
}

fn merge_table(model: &mut TableSchema, older: &TableSchema, tname: &str) -> Result<()> {
    model.max_rows = match (model.max_rows, older.max_rows) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    for (cname, oc) in &older.columns {
        match model.columns.get_mut(cname) {
            None => {
                model.columns.insert(cname.clone(), oc.clone());
            }
            Some(mc) => merge_type(&mut mc.type_, &oc.type_, &format!("{tname}.{cname}"))?,
        }
    }
    Ok(())
}

fn merge_type(model: &mut ColumnType, older: &ColumnType, path: &str) -> Result<()> {
    match (&mut model.value, &older.value) {
        (None, None) => {}
        (Some(mv), Some(ov)) => merge_base(mv, ov, &format!("{path} value"))?,
        _ => {
            return Err(Error::schema(
                path,
                "",
                "a map in one release and a set in another",
            ))
        }
    }
    merge_base(&mut model.key, &older.key, path)?;
    model.min = model.min.min(older.min);
    model.max = match (model.max, older.max) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    Ok(())
}

fn merge_base(model: &mut BaseType, older: &BaseType, path: &str) -> Result<()> {
    if model.kind != older.kind {
        return Err(Error::schema(
            path,
            "",
            format!(
                "the atomic type changes between releases ({} and {})",
                older.kind, model.kind
            ),
        ));
    }
    if model.ref_table != older.ref_table {
        return Err(Error::schema(
            path,
            "",
            "the referenced table changes between releases",
        ));
    }
    model.enumeration = match (model.enumeration.take(), &older.enumeration) {
        (Some(mut m), Some(o)) => {
            for atom in o.iter() {
                m.insert(atom.clone());
            }
            Some(m)
        }
        _ => None,
    };
    fn loosest<T: Copy>(a: Option<T>, b: Option<T>, pick: fn(T, T) -> T) -> Option<T> {
        Some(pick(a?, b?))
    }
    model.min_integer = loosest(model.min_integer, older.min_integer, i64::min);
    model.max_integer = loosest(model.max_integer, older.max_integer, i64::max);
    model.min_real = loosest(model.min_real, older.min_real, f64::min);
    model.max_real = loosest(model.max_real, older.max_real, f64::max);
    model.min_length = loosest(model.min_length, older.min_length, u64::min);
    model.max_length = loosest(model.max_length, older.max_length, u64::max);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The write check.

/// How an operation uses a table or column that the server's schema lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkewUse {
    /// The operation works on a table the server lacks.
    Table,
    /// A value other than the column's default, in an `insert`, `update` or `wait` row.
    Value,
    /// A condition (`where`) on the column.
    Condition,
    /// A mutation of the column that changes its default value.
    Mutation,
}

/// An operation needs a table or column the server's schema lacks (see
/// [`check_operations`]); the transaction was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkewError {
    /// The database.
    pub database: String,
    /// The server's schema version (`None` if its schema has none).
    pub server_version: Option<String>,
    /// The index of the operation in the transaction.
    pub operation: usize,
    /// The table.
    pub table: String,
    /// The column, or `None` when the server lacks the whole table.
    pub column: Option<String>,
    /// The first pinned release that has the table or column, when a history knows it.
    pub since: Option<Release>,
    /// How the operation uses it.
    pub usage: SkewUse,
    /// The value refused, as JSON (empty when there is none to show).
    pub value: String,
}

impl fmt::Display for SkewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.database)?;
        if let Some(v) = &self.server_version {
            write!(f, " {v}")?;
        }
        match &self.column {
            Some(c) => write!(f, " has no column {}.{c}", self.table)?,
            None => write!(f, " has no table {}", self.table)?,
        }
        if let Some(r) = self.since {
            write!(f, " (first in release {r})")?;
        }
        write!(f, "; operation {} ", self.operation)?;
        match self.usage {
            SkewUse::Table => f.write_str("uses the table")?,
            SkewUse::Value => write!(f, "writes {}", self.value)?,
            SkewUse::Condition => write!(f, "has a condition on it ({})", self.value)?,
            SkewUse::Mutation => write!(f, "mutates it ({})", self.value)?,
        }
        f.write_str("; nothing was sent")
    }
}

impl std::error::Error for SkewError {}

/// Makes `ops` fit `server`'s schema, or says why they cannot, before they are sent.
///
/// A table or column the server lacks never reaches it:
///
/// - in an `insert`, `update` or `wait` row, a value of a column the server lacks is dropped
///   when it is the column's default (the value the server's rows read as, having no such
///   column): empty for a column that may be empty, the atomic default (`0`, `""`, `false`)
///   otherwise. The column's type comes from `history`'s model; without one (or for a column
///   the model does not know) only an empty value counts as the default;
/// - a `select`'s or `wait`'s `columns` lose the columns the server lacks (a typed row reads
///   them as their defaults);
/// - a mutation of a column the server lacks is dropped when it cannot change the default
///   (inserting or deleting nothing, or deleting from a column whose default is empty);
/// - anything else (another value, a condition on such a column, any operation on a table
///   the server lacks) is [`Error::Skew`], and `ops` are left as they were.
///
/// Returns how many values, columns and mutations were dropped. `history` is ignored if it
/// is of another database than `server`.
pub fn check_operations(
    ops: &mut [Operation],
    server: &DatabaseSchema,
    history: Option<&SchemaHistory>,
) -> Result<usize> {
    let history = history.filter(|h| h.name() == server.name);
    let check = Check { server, history };
    let mut dropped = 0;
    for (i, op) in ops.iter().enumerate() {
        dropped += check.op(i, op).map_err(Error::Skew)?;
    }
    if dropped > 0 {
        for op in ops.iter_mut() {
            drop_missing(op, server);
        }
    }
    Ok(dropped)
}

struct Check<'a> {
    server: &'a DatabaseSchema,
    history: Option<&'a SchemaHistory>,
}

impl Check<'_> {
    fn error(
        &self,
        operation: usize,
        table: &str,
        column: Option<&str>,
        usage: SkewUse,
        value: String,
    ) -> Box<SkewError> {
        let since = self.history.and_then(|h| match column {
            Some(c) => h.column_since(table, c),
            None => h.table_since(table),
        });
        Box::new(SkewError {
            database: self.server.name.clone(),
            server_version: self.server.version.clone(),
            operation,
            table: table.to_owned(),
            column: column.map(str::to_owned),
            since,
            usage,
            value,
        })
    }

    fn model_type(&self, table: &str, column: &str) -> Option<&ColumnType> {
        let t = self.history?.model().table(table)?;
        Some(&t.columns.get(column)?.type_)
    }

    /// Whether `value` is the default of `table.column`, a column the server lacks.
    fn is_default(&self, table: &str, column: &str, value: &Datum) -> bool {
        if value.is_empty() {
            return true;
        }
        let Some(ty) = self.model_type(table, column) else {
            return false;
        };
        ty.min > 0
            && value
                .clone()
                .conform(ty)
                .is_ok_and(|v| v == Datum::default_of(ty))
    }

    /// Checks one operation; returns how many things [`drop_missing`] will drop from it.
    fn op(&self, i: usize, op: &Operation) -> std::result::Result<usize, Box<SkewError>> {
        let Some(table) = op.table() else {
            return Ok(0);
        };
        let Some(ts) = self.server.table(table) else {
            return Err(self.error(i, table, None, SkewUse::Table, String::new()));
        };
        let mut dropped = 0;
        let missing = |c: &str| ts.column(c).is_none();
        let conditions = match op {
            Operation::Select { conditions, .. }
            | Operation::Update { conditions, .. }
            | Operation::Mutate { conditions, .. }
            | Operation::Delete { conditions, .. }
            | Operation::Wait { conditions, .. } => conditions.as_slice(),
            _ => &[],
        };
        for c in conditions {
            if let Condition::Compare { column, .. } = c {
                if missing(column) {
                    let shown = serde_json::to_string(c).unwrap_or_default();
                    return Err(self.error(i, table, Some(column), SkewUse::Condition, shown));
                }
            }
        }
        let row_check = |row: &Row, dropped: &mut usize| {
            for (column, value) in row.iter() {
                if !missing(column) {
                    continue;
                }
                if !self.is_default(table, column, value) {
                    let shown = serde_json::to_string(value).unwrap_or_default();
                    return Err(self.error(i, table, Some(column), SkewUse::Value, shown));
                }
                *dropped += 1;
            }
            Ok(())
        };
        match op {
            Operation::Insert { row, .. } | Operation::Update { row, .. } => {
                row_check(row, &mut dropped)?
            }
            Operation::Select {
                columns: Some(columns),
                ..
            } => dropped += columns.iter().filter(|c| missing(c)).count(),
            Operation::Wait { columns, rows, .. } => {
                for row in rows {
                    row_check(row, &mut dropped)?;
                }
                dropped += columns.iter().filter(|c| missing(c)).count();
            }
            Operation::Mutate { mutations, .. } => {
                for m in mutations {
                    if !missing(&m.column) {
                        continue;
                    }
                    let empty_default = self
                        .model_type(table, &m.column)
                        .is_some_and(|ty| ty.min == 0);
                    let noop = m.value.is_empty()
                        && matches!(m.mutator, Mutator::Insert | Mutator::Delete)
                        || m.mutator == Mutator::Delete && empty_default;
                    if !noop {
                        let shown = serde_json::to_string(m).unwrap_or_default();
                        return Err(self.error(
                            i,
                            table,
                            Some(&m.column),
                            SkewUse::Mutation,
                            shown,
                        ));
                    }
                    dropped += 1;
                }
            }
            _ => {}
        }
        Ok(dropped)
    }
}

/// Drops from `op` every column its table lacks in `server` (after [`Check::op`] allowed it).
fn drop_missing(op: &mut Operation, server: &DatabaseSchema) {
    let Some(ts) = op.table().and_then(|t| server.table(t)) else {
        return;
    };
    let keep_row = |row: &mut Row| {
        let gone: Vec<String> = row
            .iter()
            .filter(|(c, _)| ts.column(c).is_none())
            .map(|(c, _)| c.to_owned())
            .collect();
        for c in gone {
            row.remove(&c);
        }
    };
    match op {
        Operation::Insert { row, .. } | Operation::Update { row, .. } => keep_row(row),
        Operation::Select {
            columns: Some(columns),
            ..
        } => columns.retain(|c| ts.column(c).is_some()),
        Operation::Wait { columns, rows, .. } => {
            columns.retain(|c| ts.column(c).is_some());
            rows.iter_mut().for_each(keep_row);
        }
        Operation::Mutate { mutations, .. } => mutations.retain(|m| ts.column(&m.column).is_some()),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
