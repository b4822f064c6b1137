//! The in-memory database and the transaction engine (RFC 7047 §5.2), without IO.
//!
//! A transaction runs against an overlay on the committed tables, so that a failure anywhere
//! leaves the database untouched. Commit-time checks follow ovsdb-server's order: strong
//! references, garbage collection of unreferenced non-root rows, references to deleted rows,
//! weak-reference cleanup (with the column's `min` rechecked), `maxRows`, index uniqueness.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use ovsdb_proto::schema::{AtomicType, BaseType, RefType, TableSchema};
use ovsdb_proto::{Atom, Condition, DatabaseSchema, Datum, Function, Mutator, Row, Uuid};
use serde_json::value::RawValue;
use serde_json::{json, Value};

mod commit;
mod txn;
mod value;

use txn::{Step, Txn};
use value::{check_constraints, has_named, map_atoms, relax, shown, type_name};

/// Transactions kept for `monitor_cond_since` (as ovsdb-server's history limit).
pub(crate) const HISTORY_LIMIT: usize = 100;

/// A fresh random (version 4) UUID.
pub(crate) fn random_uuid() -> Uuid {
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

/// A stored row: every column (defaults filled in) and its `_version`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowData {
    pub row: Row,
    pub version: Uuid,
}

impl RowData {
    /// A column's value, including the implicit `_uuid` and `_version`.
    pub fn value(&self, uuid: Uuid, column: &str) -> Option<Datum> {
        match column {
            "_uuid" => Some(Datum::scalar(uuid)),
            "_version" => Some(Datum::scalar(self.version)),
            c => self.row.get(c).cloned(),
        }
    }

    fn value_ref<'a>(&'a self, uuid: Uuid, column: &str, tmp: &'a mut Datum) -> Option<&'a Datum> {
        match column {
            "_uuid" => {
                *tmp = Datum::scalar(uuid);
                Some(tmp)
            }
            "_version" => {
                *tmp = Datum::scalar(self.version);
                Some(tmp)
            }
            c => self.row.get(c),
        }
    }
}

/// The rows of one table.
pub(crate) type Rows = HashMap<Uuid, Arc<RowData>>;

/// One row's change in a commit.
#[derive(Debug, Clone)]
pub(crate) struct RowChange {
    pub uuid: Uuid,
    pub old: Option<Arc<RowData>>,
    pub new: Option<Arc<RowData>>,
}

/// A committed transaction.
#[derive(Debug)]
pub(crate) struct Commit {
    pub txn_id: Uuid,
    pub changes: BTreeMap<String, Vec<RowChange>>,
}

/// An OVSDB error object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpError {
    pub error: &'static str,
    pub details: String,
}

impl OpError {
    pub fn new(error: &'static str, details: impl Into<String>) -> Self {
        OpError {
            error,
            details: details.into(),
        }
    }

    pub fn syntax(details: impl Into<String>) -> Self {
        Self::new("syntax error", details)
    }

    pub fn constraint(details: impl Into<String>) -> Self {
        Self::new("constraint violation", details)
    }

    pub fn to_json(&self) -> Value {
        json!({"error": self.error, "details": self.details})
    }
}

type OpResult<T> = Result<T, OpError>;

/// A condition checked against the schema, named UUIDs resolved.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Compare {
        column: String,
        function: Function,
        value: Datum,
    },
    Bool(bool),
}

impl Cond {
    /// Whether the condition holds for `row`.
    pub fn eval(&self, uuid: Uuid, row: &RowData) -> bool {
        let (column, function, arg) = match self {
            Cond::Bool(b) => return *b,
            Cond::Compare {
                column,
                function,
                value,
            } => (column, *function, value),
        };
        let mut tmp = Datum::empty_set();
        let Some(v) = row.value_ref(uuid, column, &mut tmp) else {
            return false;
        };
        compare(v, function, arg)
    }
}

fn compare(v: &Datum, function: Function, arg: &Datum) -> bool {
    match function {
        Function::Eq => v == arg,
        Function::Ne => v != arg,
        Function::Includes => match (v, arg) {
            (Datum::Set(a), Datum::Set(b)) => b.iter().all(|x| a.contains(x)),
            (Datum::Map(a), Datum::Map(b)) => b.iter().all(|(k, x)| a.get(k) == Some(x)),
            (_, b) => b.is_empty(),
        },
        Function::Excludes => match (v, arg) {
            (Datum::Set(a), Datum::Set(b)) => !b.iter().any(|x| a.contains(x)),
            (Datum::Map(a), Datum::Map(b)) => !b.iter().any(|(k, x)| a.get(k) == Some(x)),
            _ => true,
        },
        Function::Lt | Function::Le | Function::Gt | Function::Ge => {
            let (Some(a), Some(b)) = (v.as_atom(), arg.as_atom()) else {
                return false;
            };
            let o = a.cmp(b);
            match function {
                Function::Lt => o.is_lt(),
                Function::Le => o.is_le(),
                Function::Gt => o.is_gt(),
                _ => o.is_ge(),
            }
        }
    }
}

/// Whether every condition holds (a transaction's `where`).
pub(crate) fn all_hold(conds: &[Cond], uuid: Uuid, row: &RowData) -> bool {
    conds.iter().all(|c| c.eval(uuid, row))
}

/// Per-table facts derived from the schema once.
#[derive(Debug)]
pub(crate) struct TableInfo {
    pub defaults: BTreeMap<String, Datum>,
    /// Columns with references: (column, referenced table, strength, in key / in value).
    pub refs: Vec<RefColumn>,
}

#[derive(Debug, Clone)]
pub(crate) struct RefColumn {
    pub column: String,
    pub table: String,
    pub strength: RefType,
    pub key: bool,
}

impl TableInfo {
    fn new(t: &TableSchema) -> Self {
        let mut refs = Vec::new();
        for (name, c) in &t.columns {
            let mut add = |b: &BaseType, key: bool| {
                if let (AtomicType::Uuid, Some(rt)) = (b.kind, &b.ref_table) {
                    refs.push(RefColumn {
                        column: name.clone(),
                        table: rt.clone(),
                        strength: b.ref_type,
                        key,
                    });
                }
            };
            add(&c.type_.key, true);
            if let Some(v) = &c.type_.value {
                add(v, false);
            }
        }
        TableInfo {
            defaults: t
                .columns
                .iter()
                .map(|(n, c)| (n.clone(), Datum::default_of(&c.type_)))
                .collect(),
            refs,
        }
    }
}

fn index_key(index: &[String], r: &RowData) -> Vec<Datum> {
    index
        .iter()
        .map(|c| r.row.get(c).cloned().unwrap_or_default())
        .collect()
}

fn ref_atoms<'a>(d: &'a Datum, key: bool) -> Box<dyn Iterator<Item = Uuid> + 'a> {
    match d {
        Datum::Set(s) if key => Box::new(s.iter().filter_map(Atom::as_uuid)),
        Datum::Set(_) => Box::new(std::iter::empty()),
        Datum::Map(m) => Box::new(
            m.iter()
                .filter_map(move |(k, v)| if key { k.as_uuid() } else { v.as_uuid() }),
        ),
    }
}

/// One database: schema, rows and transaction history.
#[derive(Debug)]
pub(crate) struct Db {
    pub schema: Arc<DatabaseSchema>,
    pub tables: BTreeMap<String, Rows>,
    pub info: BTreeMap<String, TableInfo>,
    /// Per table, one map per schema index: key values → the row holding them.
    pub indexes: BTreeMap<String, Vec<HashMap<Vec<Datum>, Uuid>>>,
    pub history: VecDeque<Arc<Commit>>,
    pub last_txn: Uuid,
}

/// What a transaction did.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Finished: one result per operation (plus a commit error, if any), and the commit if
    /// it changed anything.
    Done {
        results: Vec<Value>,
        commit: Option<Arc<Commit>>,
    },
    /// A `wait` did not hold and has time left: run the transaction again later.
    Blocked { deadline_ms: Option<u64> },
}

/// What the session running a transaction brings to it.
pub(crate) struct TxnContext<'a> {
    /// Whether the session holds a lock (for `assert`).
    pub holds_lock: &'a dyn Fn(&str) -> bool,
    /// The transaction's waits have run out of time.
    pub expired: bool,
    /// The database may not be written (`_Server`).
    pub read_only: bool,
}

impl Db {
    pub fn new(schema: DatabaseSchema) -> Self {
        let tables = schema
            .tables
            .keys()
            .map(|t| (t.clone(), Rows::new()))
            .collect();
        let info = schema
            .tables
            .iter()
            .map(|(n, t)| (n.clone(), TableInfo::new(t)))
            .collect();
        let indexes = schema
            .tables
            .iter()
            .filter(|(_, t)| !t.indexes.is_empty())
            .map(|(n, t)| (n.clone(), vec![HashMap::new(); t.indexes.len()]))
            .collect();
        Db {
            indexes,
            schema: Arc::new(schema),
            tables,
            info,
            history: VecDeque::new(),
            last_txn: Uuid::nil(),
        }
    }

    /// Runs a transaction's operations (JSON, parsed one by one as ovsdb-server does).
    pub fn transact(&mut self, ops: &[Box<RawValue>], ctx: &TxnContext<'_>) -> Outcome {
        let mut txn = Txn {
            db: self,
            overlay: BTreeMap::new(),
            symtab: HashMap::new(),
        };
        let n = ops.len();
        let mut results = Vec::with_capacity(n + 1);
        for (i, op) in ops.iter().enumerate() {
            match txn.execute(i, n, op, ctx) {
                Ok(Step::Result(r)) => results.push(r),
                Ok(Step::Blocked(deadline_ms)) => return Outcome::Blocked { deadline_ms },
                Err(e) => {
                    results.push(e.to_json());
                    results.resize(n.max(results.len()), Value::Null);
                    return Outcome::Done {
                        results,
                        commit: None,
                    };
                }
            }
        }
        if let Err(e) = txn.precommit() {
            results.push(e.to_json());
            return Outcome::Done {
                results,
                commit: None,
            };
        }
        let overlay = std::mem::take(&mut txn.overlay);
        let commit = self.apply(overlay);
        Outcome::Done { results, commit }
    }

    /// Writes an overlay to the tables; `None` if it changed nothing.
    pub fn apply(
        &mut self,
        overlay: BTreeMap<String, HashMap<Uuid, Option<RowData>>>,
    ) -> Option<Arc<Commit>> {
        let mut changes = BTreeMap::new();
        for (table, rows) in overlay {
            let Some(stored) = self.tables.get_mut(&table) else {
                continue;
            };
            let mut list = Vec::new();
            for (uuid, new) in rows {
                let old = stored.get(&uuid);
                let new = match (old, new) {
                    (None, None) => continue,
                    (Some(o), Some(n)) if o.row == n.row => continue,
                    (Some(o), Some(mut n)) => {
                        if n.version == o.version {
                            n.version = random_uuid();
                        }
                        Some(Arc::new(n))
                    }
                    (_, n) => n.map(Arc::new),
                };
                let old = match &new {
                    Some(n) => stored.insert(uuid, n.clone()),
                    None => stored.remove(&uuid),
                };
                if let Some(maps) = self.indexes.get_mut(&table) {
                    let cols = &self.schema.tables[&table].indexes;
                    for (map, index) in maps.iter_mut().zip(cols) {
                        if let Some(o) = &old {
                            let key = index_key(index, o);
                            if map.get(&key) == Some(&uuid) {
                                map.remove(&key);
                            }
                        }
                        if let Some(n) = &new {
                            map.insert(index_key(index, n), uuid);
                        }
                    }
                }
                list.push(RowChange { uuid, old, new });
            }
            if !list.is_empty() {
                changes.insert(table, list);
            }
        }
        if changes.is_empty() {
            return None;
        }
        let commit = Arc::new(Commit {
            txn_id: random_uuid(),
            changes,
        });
        self.last_txn = commit.txn_id;
        self.history.push_back(commit.clone());
        while self.history.len() > HISTORY_LIMIT {
            self.history.pop_front();
        }
        Some(commit)
    }

    /// The commits after `txn_id`, if the history still has it.
    pub fn history_since(&self, txn_id: Uuid) -> Option<Vec<Arc<Commit>>> {
        if txn_id.is_nil() {
            return None;
        }
        if txn_id == self.last_txn {
            return Some(Vec::new());
        }
        let pos = self.history.iter().position(|c| c.txn_id == txn_id)?;
        Some(self.history.iter().skip(pos + 1).cloned().collect())
    }

    /// Parses monitor and transaction conditions of `table`.
    pub fn parse_conditions(&self, table: &str, conds: Vec<Condition>) -> OpResult<Vec<Cond>> {
        let ts = self
            .schema
            .table(table)
            .ok_or_else(|| OpError::syntax(format!("No table named {table}.")))?;
        conds
            .into_iter()
            .map(|c| parse_condition(table, ts, c, &mut |_| Uuid::nil()))
            .collect()
    }
}

fn parse_condition(
    table: &str,
    ts: &TableSchema,
    c: Condition,
    named: &mut dyn FnMut(&str) -> Uuid,
) -> OpResult<Cond> {
    let (column, function, value) = match c {
        Condition::Bool(b) => return Ok(Cond::Bool(b)),
        Condition::Compare {
            column,
            function,
            value,
        } => (column, function, value),
    };
    let cs = ts.column(&column).ok_or_else(|| {
        OpError::new(
            "unknown column",
            format!("No column {column} in table {table}."),
        )
    })?;
    let ty = &cs.type_;
    let ordered = matches!(ty.key.kind, AtomicType::Integer | AtomicType::Real)
        && ty.value.is_none()
        && ty.max == Some(1);
    let (min, max) = match function {
        Function::Lt | Function::Le | Function::Gt | Function::Ge => {
            if !ordered {
                return Err(OpError::syntax(format!(
                    "Type mismatch: \"{function}\" operator may not be applied to column {column} of type {}.",
                    type_name(ty)
                )));
            }
            (1, Some(1))
        }
        Function::Eq | Function::Ne => (ty.min, ty.max),
        Function::Includes | Function::Excludes => (0, None),
    };
    let text = shown(&value);
    let mut value = value
        .conform(&relax(ty, min, max))
        .map_err(|e| OpError::syntax(format!("{e} in {text}")))?;
    check_constraints(&value, ty)?;
    if has_named(&value) {
        value = map_atoms(value, &mut |a| match a {
            Atom::NamedUuid(n) => Atom::Uuid(named(&n)),
            a => a,
        });
    }
    Ok(Cond::Compare {
        column,
        function,
        value,
    })
}

#[cfg(test)]
mod tests;
