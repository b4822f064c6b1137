//! Transaction operations (RFC 7047 §5.2), conditions, mutations and their results.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::{Datum, Uuid, UuidStr};
use crate::row::Row;

/// A comparison function of a condition (RFC 7047 §5.1 `<function>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `includes`: the column's value is a superset of the argument.
    Includes,
    /// `excludes`: the column's value has nothing in common with the argument.
    Excludes,
}

impl Function {
    /// All functions.
    pub const ALL: [Function; 8] = [
        Function::Lt,
        Function::Le,
        Function::Eq,
        Function::Ne,
        Function::Ge,
        Function::Gt,
        Function::Includes,
        Function::Excludes,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Ge => ">=",
            Function::Gt => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }

    /// Parses a wire name.
    pub fn from_name(s: &str) -> Option<Self> {
        Function::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A mutator (RFC 7047 §5.1 `<mutator>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutator {
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=`
    Mod,
    /// `insert`: add elements to a set, or pairs to a map (existing keys are kept).
    Insert,
    /// `delete`: remove elements from a set, or keys (or exact pairs) from a map.
    Delete,
}

impl Mutator {
    /// All mutators.
    pub const ALL: [Mutator; 7] = [
        Mutator::Add,
        Mutator::Sub,
        Mutator::Mul,
        Mutator::Div,
        Mutator::Mod,
        Mutator::Insert,
        Mutator::Delete,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }

    /// Parses a wire name.
    pub fn from_name(s: &str) -> Option<Self> {
        Mutator::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

macro_rules! name_serde {
    ($ty:ident, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $ty::from_name(&s).ok_or_else(|| {
                    de::Error::custom(format!(concat!("unknown ", $what, " {:?}"), s))
                })
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

name_serde!(Function, "function");
name_serde!(Mutator, "mutator");

/// A condition (RFC 7047 §5.1 `<condition>`), or the constant `true`/`false` that
/// `monitor_cond` `where` clauses accept (ovsdb-server.7 §4.1.12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `[column, function, value]`.
    Compare {
        /// The column compared.
        column: String,
        /// The comparison.
        function: Function,
        /// The value compared against.
        value: Datum,
    },
    /// A constant condition.
    Bool(bool),
}

impl Condition {
    /// `[column, function, value]`.
    pub fn new(column: impl Into<String>, function: Function, value: impl Into<Datum>) -> Self {
        Condition::Compare {
            column: column.into(),
            function,
            value: value.into(),
        }
    }

    /// `[column, "==", value]`.
    pub fn eq(column: impl Into<String>, value: impl Into<Datum>) -> Self {
        Self::new(column, Function::Eq, value)
    }

    /// `["_uuid", "==", ["uuid", uuid]]`.
    pub fn uuid(uuid: Uuid) -> Self {
        Self::eq("_uuid", crate::Atom::Uuid(uuid))
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Condition::Bool(b) => s.serialize_bool(*b),
            Condition::Compare {
                column,
                function,
                value,
            } => {
                let mut seq = s.serialize_seq(Some(3))?;
                seq.serialize_element(column)?;
                seq.serialize_element(function)?;
                seq.serialize_element(value)?;
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Bool(bool),
            Triple(String, Function, Datum),
        }
        Ok(
            match Wire::deserialize(d).map_err(|_| {
                de::Error::custom("a condition must be [column, function, value] or a boolean")
            })? {
                Wire::Bool(b) => Condition::Bool(b),
                Wire::Triple(column, function, value) => Condition::Compare {
                    column,
                    function,
                    value,
                },
            },
        )
    }
}

/// A mutation (RFC 7047 §5.1 `<mutation>`): `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "(String, Mutator, Datum)", into = "(String, Mutator, Datum)")]
pub struct Mutation {
    /// The column mutated.
    pub column: String,
    /// How.
    pub mutator: Mutator,
    /// The argument.
    pub value: Datum,
}

impl Mutation {
    /// `[column, mutator, value]`.
    pub fn new(column: impl Into<String>, mutator: Mutator, value: impl Into<Datum>) -> Self {
        Mutation {
            column: column.into(),
            mutator,
            value: value.into(),
        }
    }
}

impl From<(String, Mutator, Datum)> for Mutation {
    fn from((column, mutator, value): (String, Mutator, Datum)) -> Self {
        Mutation {
            column,
            mutator,
            value,
        }
    }
}

impl From<Mutation> for (String, Mutator, Datum) {
    fn from(m: Mutation) -> Self {
        (m.column, m.mutator, m.value)
    }
}

/// The `until` of a `wait` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WaitUntil {
    /// Wait until the selected rows equal `rows`.
    #[serde(rename = "==")]
    Equal,
    /// Wait until the selected rows differ from `rows`.
    #[serde(rename = "!=")]
    NotEqual,
}

/// One operation of a `transact` request (RFC 7047 §5.2, with the Open vSwitch `uuid`
/// extension of `insert`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum Operation {
    /// Insert a row.
    Insert {
        /// Table.
        table: String,
        /// Column values (omitted columns take their defaults).
        #[serde(default)]
        row: Row,
        /// Name for the new row's UUID, usable as `["named-uuid", name]` later in the
        /// transaction.
        #[serde(rename = "uuid-name", default, skip_serializing_if = "Option::is_none")]
        uuid_name: Option<String>,
        /// The UUID the new row must have (Open vSwitch ≥ 2.13).
        #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_uuid")]
        uuid: Option<Uuid>,
    },
    /// Select rows.
    Select {
        /// Table.
        table: String,
        /// Conditions, all of which must hold.
        #[serde(rename = "where")]
        conditions: Vec<Condition>,
        /// Columns to return (all if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        columns: Option<Vec<String>>,
    },
    /// Update rows.
    Update {
        /// Table.
        table: String,
        /// Conditions, all of which must hold.
        #[serde(rename = "where")]
        conditions: Vec<Condition>,
        /// New column values.
        row: Row,
    },
    /// Mutate rows.
    Mutate {
        /// Table.
        table: String,
        /// Conditions, all of which must hold.
        #[serde(rename = "where")]
        conditions: Vec<Condition>,
        /// Mutations to apply.
        mutations: Vec<Mutation>,
    },
    /// Delete rows.
    Delete {
        /// Table.
        table: String,
        /// Conditions, all of which must hold.
        #[serde(rename = "where")]
        conditions: Vec<Condition>,
    },
    /// Wait until selected rows equal (or differ from) given rows; the optimistic-concurrency
    /// guard of OVSDB clients.
    Wait {
        /// Table.
        table: String,
        /// Conditions, all of which must hold.
        #[serde(rename = "where")]
        conditions: Vec<Condition>,
        /// Columns compared.
        columns: Vec<String>,
        /// Equality or inequality.
        until: WaitUntil,
        /// Expected rows (only `columns` of them).
        rows: Vec<Row>,
        /// Milliseconds to wait; absent means forever, 0 means check once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<u64>,
    },
    /// Commit, optionally durably.
    Commit {
        /// Wait for the disk write.
        durable: bool,
    },
    /// Abort the transaction (its result is the error `aborted`).
    Abort,
    /// Record a comment in the transaction log.
    Comment {
        /// The text.
        comment: String,
    },
    /// Fail with `not owner` unless the session holds `lock`.
    Assert {
        /// Lock name.
        lock: String,
    },
}

impl Operation {
    /// The table the operation works on, if any.
    pub fn table(&self) -> Option<&str> {
        match self {
            Operation::Insert { table, .. }
            | Operation::Select { table, .. }
            | Operation::Update { table, .. }
            | Operation::Mutate { table, .. }
            | Operation::Delete { table, .. }
            | Operation::Wait { table, .. } => Some(table),
            _ => None,
        }
    }
}

mod opt_uuid {
    use super::*;

    pub fn serialize<S: Serializer>(u: &Option<Uuid>, s: S) -> Result<S::Ok, S::Error> {
        match u {
            Some(u) => {
                let mut buf = Uuid::encode_buffer();
                s.serialize_str(u.hyphenated().encode_lower(&mut buf))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
        Ok(Option::<UuidStr>::deserialize(d)?.map(|u| u.0))
    }
}

/// The standard error strings of RFC 7047 and ovsdb-server.7, as a typed kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `referential integrity violation`
    ReferentialIntegrityViolation,
    /// `constraint violation`
    ConstraintViolation,
    /// `resources exhausted`
    ResourcesExhausted,
    /// `I/O error`
    IoError,
    /// `duplicate uuid-name`
    DuplicateUuidName,
    /// `duplicate uuid`
    DuplicateUuid,
    /// `domain error`
    DomainError,
    /// `range error`
    RangeError,
    /// `timed out`
    TimedOut,
    /// `not supported`
    NotSupported,
    /// `aborted`
    Aborted,
    /// `not owner`
    NotOwner,
    /// `canceled`
    Canceled,
    /// `unknown database`
    UnknownDatabase,
    /// `unknown table`
    UnknownTable,
    /// `unknown column`
    UnknownColumn,
    /// `syntax error`
    SyntaxError,
    /// `permission error` (RBAC)
    PermissionError,
    /// `ovsdb error`
    OvsdbError,
    /// `database not available`
    DatabaseNotAvailable,
    /// `internal error`
    InternalError,
    /// `unknown method`
    UnknownMethod,
    /// `unknown error` or any string not listed here (kept in [`OvsdbError::error`]).
    Other,
}

impl ErrorKind {
    const NAMES: [(&'static str, ErrorKind); 22] = [
        (
            "referential integrity violation",
            ErrorKind::ReferentialIntegrityViolation,
        ),
        ("constraint violation", ErrorKind::ConstraintViolation),
        ("resources exhausted", ErrorKind::ResourcesExhausted),
        ("I/O error", ErrorKind::IoError),
        ("duplicate uuid-name", ErrorKind::DuplicateUuidName),
        ("duplicate uuid", ErrorKind::DuplicateUuid),
        ("domain error", ErrorKind::DomainError),
        ("range error", ErrorKind::RangeError),
        ("timed out", ErrorKind::TimedOut),
        ("not supported", ErrorKind::NotSupported),
        ("aborted", ErrorKind::Aborted),
        ("not owner", ErrorKind::NotOwner),
        ("canceled", ErrorKind::Canceled),
        ("unknown database", ErrorKind::UnknownDatabase),
        ("unknown table", ErrorKind::UnknownTable),
        ("unknown column", ErrorKind::UnknownColumn),
        ("syntax error", ErrorKind::SyntaxError),
        ("permission error", ErrorKind::PermissionError),
        ("ovsdb error", ErrorKind::OvsdbError),
        ("database not available", ErrorKind::DatabaseNotAvailable),
        ("internal error", ErrorKind::InternalError),
        ("unknown method", ErrorKind::UnknownMethod),
    ];

    /// Classifies an error string.
    pub fn from_name(s: &str) -> Self {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map_or(ErrorKind::Other, |(_, k)| *k)
    }
}

/// An OVSDB error object (`{"error": …, "details": …}`): data for the caller, returned in
/// operation results and as JSON-RPC errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsdbError {
    /// The classified `error` string.
    pub kind: ErrorKind,
    /// The `error` string as sent.
    pub error: String,
    /// The `details`, if any.
    pub details: Option<String>,
    /// Any other members (`syntax`, `io-error`, …), kept as sent.
    pub extra: serde_json::Map<String, Value>,
}

impl OvsdbError {
    /// An error with a standard or custom `error` string.
    pub fn new(error: impl Into<String>, details: Option<String>) -> Self {
        let error = error.into();
        OvsdbError {
            kind: ErrorKind::from_name(&error),
            error,
            details,
            extra: serde_json::Map::new(),
        }
    }

    /// Reads an error object; `None` if `v` is not an object with a string `error`.
    pub fn from_value(v: &Value) -> Option<Self> {
        let o = v.as_object()?;
        let error = o.get("error")?.as_str()?;
        let mut e = OvsdbError::new(
            error,
            o.get("details").and_then(Value::as_str).map(str::to_owned),
        );
        e.extra = o
            .iter()
            .filter(|(k, _)| *k != "error" && *k != "details")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(e)
    }
}

impl fmt::Display for OvsdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.details {
            Some(d) => write!(f, "{}: {}", self.error, d),
            None => f.write_str(&self.error),
        }
    }
}

impl std::error::Error for OvsdbError {}

impl Serialize for OvsdbError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("error", &self.error)?;
        if let Some(d) = &self.details {
            m.serialize_entry("details", d)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for OvsdbError {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        OvsdbError::from_value(&v).ok_or_else(|| de::Error::custom("expected an error object"))
    }
}

/// The result of one operation of a transaction (RFC 7047 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperationResult {
    /// `insert`: the new row's UUID.
    Insert {
        /// UUID of the inserted row.
        uuid: Uuid,
    },
    /// `select`: the rows.
    Select {
        /// Selected rows (selected columns only).
        rows: Vec<Row>,
    },
    /// `update`, `mutate`, `delete`: number of rows matched.
    Count {
        /// Rows affected.
        count: u64,
    },
    /// `wait`, `commit`, `comment`, `assert`: an empty object.
    Empty,
    /// The operation failed.
    Error(OvsdbError),
    /// `null`: not executed because an earlier operation failed.
    NotExecuted,
}

impl Serialize for OperationResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OperationResult::Insert { uuid } => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("uuid", &crate::Atom::Uuid(*uuid))?;
                m.end()
            }
            OperationResult::Select { rows } => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("rows", rows)?;
                m.end()
            }
            OperationResult::Count { count } => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("count", count)?;
                m.end()
            }
            OperationResult::Empty => s.serialize_map(Some(0))?.end(),
            OperationResult::Error(e) => e.serialize(s),
            OperationResult::NotExecuted => s.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for OperationResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fields {
            #[serde(default)]
            uuid: Option<crate::Atom>,
            #[serde(default)]
            rows: Option<Vec<Row>>,
            #[serde(default)]
            count: Option<u64>,
        }
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(OperationResult::NotExecuted);
        }
        if let Some(e) = OvsdbError::from_value(&v) {
            return Ok(OperationResult::Error(e));
        }
        let f: Fields = serde_json::from_value(v).map_err(de::Error::custom)?;
        Ok(match f {
            Fields {
                uuid: Some(crate::Atom::Uuid(uuid)),
                rows: None,
                count: None,
            } => OperationResult::Insert { uuid },
            Fields {
                uuid: None,
                rows: Some(rows),
                count: None,
            } => OperationResult::Select { rows },
            Fields {
                uuid: None,
                rows: None,
                count: Some(count),
            } => OperationResult::Count { count },
            Fields {
                uuid: None,
                rows: None,
                count: None,
            } => OperationResult::Empty,
            _ => return Err(de::Error::custom("unrecognised operation result")),
        })
    }
}

/// The reply to a `transact`: one result per operation, plus a trailing error when the
/// commit itself failed (RFC 7047 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransactReply(pub Vec<OperationResult>);

impl TransactReply {
    /// The first error and the index of the operation that caused it; an index equal to
    /// `n_ops` (or beyond) means the commit failed as a whole.
    pub fn first_error(&self) -> Option<(usize, &OvsdbError)> {
        self.0.iter().enumerate().find_map(|(i, r)| match r {
            OperationResult::Error(e) => Some((i, e)),
            _ => None,
        })
    }

    /// `Ok(results)` if nothing failed, else the first error with its operation index.
    pub fn into_result(self) -> Result<Vec<OperationResult>, (usize, OvsdbError)> {
        match self.first_error() {
            Some((i, e)) => Err((i, e.clone())),
            None => Ok(self.0),
        }
    }
}
