//! The in-memory database and the transaction engine (RFC 7047 §5.2), without IO.
//!
//! A transaction runs against an overlay on the committed tables, so that a failure anywhere
//! leaves the database untouched. Commit-time checks follow ovsdb-server's order: strong
//! references, garbage collection of unreferenced non-root rows, references to deleted rows,
//! weak-reference cleanup (with the column's `min` rechecked), `maxRows`, index uniqueness.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use ovsdb_proto::schema::{AtomicType, BaseType, ColumnType, RefType, TableSchema};
use ovsdb_proto::{
    Atom, Condition, DatabaseSchema, Datum, Function, Map, Mutation, Mutator, Operation, Row, Set,
    Uuid, WaitUntil,
};
use serde_json::value::RawValue;
use serde_json::{json, Value};

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

/// A base type without constraints (what parsing checks; constraints are checked apart).
fn relax_base(b: &BaseType) -> BaseType {
    let mut n = BaseType::new(b.kind);
    n.ref_table.clone_from(&b.ref_table);
    n.ref_type = b.ref_type;
    n
}

fn relax(ty: &ColumnType, min: u64, max: Option<u64>) -> ColumnType {
    ColumnType::new(
        relax_base(&ty.key),
        ty.value.as_ref().map(relax_base),
        min,
        max,
    )
}

fn type_name(ty: &ColumnType) -> String {
    let k = ty.key.kind.name();
    match (&ty.value, ty.min, ty.max) {
        (Some(v), _, _) => format!("map of {k} to {}", v.kind.name()),
        (None, 1, Some(1)) => k.to_owned(),
        (None, 0, Some(1)) => format!("optional {k}"),
        _ => format!("set of {k}"),
    }
}

fn shown(d: &Datum) -> String {
    serde_json::to_string(d).unwrap_or_default()
}

fn has_named(d: &Datum) -> bool {
    match d {
        Datum::Set(s) => s.iter().any(|a| matches!(a, Atom::NamedUuid(_))),
        Datum::Map(m) => m
            .iter()
            .any(|(k, v)| matches!(k, Atom::NamedUuid(_)) || matches!(v, Atom::NamedUuid(_))),
    }
}

/// Parses a value for a column: types and element counts are syntax errors, value
/// constraints (enum, ranges, lengths) constraint violations.
fn parse_value(d: Datum, ty: &ColumnType, min: u64, max: Option<u64>) -> OpResult<Datum> {
    let text = shown(&d);
    let d = d
        .conform(&relax(ty, min, max))
        .map_err(|e| OpError::syntax(format!("{e} in {text}")))?;
    check_constraints(&d, ty)?;
    Ok(d)
}

fn check_constraints(d: &Datum, ty: &ColumnType) -> OpResult<()> {
    let check = |a: &Atom, b: &BaseType| {
        if matches!(a, Atom::NamedUuid(_)) {
            return Ok(());
        }
        b.check(a).map_err(OpError::constraint)
    };
    match d {
        Datum::Set(s) => s.iter().try_for_each(|a| check(a, &ty.key)),
        Datum::Map(m) => m.iter().try_for_each(|(k, v)| {
            check(k, &ty.key)?;
            match &ty.value {
                Some(vt) => check(v, vt),
                None => Ok(()),
            }
        }),
    }
}

fn check_count(d: &Datum, ty: &ColumnType, column: &str) -> OpResult<()> {
    let n = d.len() as u64;
    if n < ty.min || ty.max.is_some_and(|m| n > m) {
        let max = ty.max.map_or("unlimited".to_owned(), |m| m.to_string());
        return Err(OpError::constraint(format!(
            "Attempted to store {n} elements in {} column {column} with min {} and max {max}.",
            type_name(ty),
            ty.min
        )));
    }
    Ok(())
}

fn map_atoms(d: Datum, f: &mut impl FnMut(Atom) -> Atom) -> Datum {
    match d {
        Datum::Set(s) => Datum::Set(Set::from_atoms(s.into_vec().into_iter().map(f).collect())),
        Datum::Map(m) => Datum::Map(Map::from_pairs(
            m.into_vec()
                .into_iter()
                .map(|(k, v)| (f(k), f(v)))
                .collect(),
        )),
    }
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

enum Step {
    Result(Value),
    Blocked(Option<u64>),
}

struct Txn<'a> {
    db: &'a Db,
    overlay: BTreeMap<String, HashMap<Uuid, Option<RowData>>>,
    /// uuid-name → (UUID, whether an insert created it).
    symtab: HashMap<String, (Uuid, bool)>,
}

/// Stands for "every column" in a `wait` that names none.
const ALL_COLUMNS: &str = "\u{0}all";

fn has_member(raw: &RawValue, name: &str) -> bool {
    serde_json::from_str::<serde_json::Map<String, Value>>(raw.get())
        .is_ok_and(|m| m.contains_key(name))
}

fn parse_op(op: &RawValue, i: usize, n: usize) -> OpResult<Operation> {
    let fail = |why: String| {
        OpError::syntax(format!(
            "Parsing ovsdb operation {} of {n} failed: {why}",
            i + 1
        ))
    };
    match serde_json::from_str::<Operation>(op.get()) {
        Ok(Operation::Insert { row, .. }) if row.is_empty() && !has_member(op, "row") => {
            Err(fail("Required 'row' member is missing.".into()))
        }
        Ok(op) => Ok(op),
        Err(e) => {
            // `wait` without `columns` (the C IDL sends that): all columns.
            if let Ok(mut m) = serde_json::from_str::<serde_json::Map<String, Value>>(op.get()) {
                if m.get("op").and_then(Value::as_str) == Some("wait") && !m.contains_key("columns")
                {
                    m.insert("columns".into(), json!([ALL_COLUMNS]));
                    if let Ok(op) = serde_json::from_value(Value::Object(m)) {
                        return Ok(op);
                    }
                }
            }
            #[derive(serde::Deserialize)]
            struct Head {
                op: Option<Value>,
            }
            let name = serde_json::from_str::<Head>(op.get())
                .ok()
                .and_then(|h| h.op)
                .and_then(|v| v.as_str().map(str::to_owned));
            let Some(name) = name else {
                return Err(fail(
                    "Required 'op' member is missing or not a string.".into(),
                ));
            };
            if !matches!(
                name.as_str(),
                "insert"
                    | "select"
                    | "update"
                    | "mutate"
                    | "delete"
                    | "wait"
                    | "commit"
                    | "abort"
                    | "comment"
                    | "assert"
            ) {
                return Err(fail(format!("No operation \"{name}\"")));
            }
            let why = e.to_string();
            // A repeated set element or map key: ovsdb-server's own error kind.
            if why.contains("contains duplicate") {
                Err(OpError::new("ovsdb error", why))
            } else {
                Err(fail(why))
            }
        }
    }
}

impl Txn<'_> {
    fn get(&self, table: &str, uuid: Uuid) -> Option<&RowData> {
        if let Some(o) = self.overlay.get(table).and_then(|t| t.get(&uuid)) {
            return o.as_ref();
        }
        self.db.tables.get(table)?.get(&uuid).map(|r| &**r)
    }

    fn put(&mut self, table: &str, uuid: Uuid, row: Option<RowData>) {
        match self.overlay.get_mut(table) {
            Some(t) => {
                t.insert(uuid, row);
            }
            None => {
                self.overlay
                    .entry(table.to_owned())
                    .or_default()
                    .insert(uuid, row);
            }
        }
    }

    /// Every live row of `table` in the transaction's view.
    fn for_each_row<'s>(&'s self, table: &str, mut f: impl FnMut(Uuid, &'s RowData)) {
        let ov = self.overlay.get(table);
        if let Some(rows) = self.db.tables.get(table) {
            for (u, r) in rows {
                if ov.is_some_and(|o| o.contains_key(u)) {
                    continue;
                }
                f(*u, r);
            }
        }
        if let Some(ov) = ov {
            for (u, r) in ov {
                if let Some(r) = r {
                    f(*u, r);
                }
            }
        }
    }

    fn count_rows(&self, table: &str) -> usize {
        let mut n = self.db.tables.get(table).map_or(0, HashMap::len);
        if let Some(ov) = self.overlay.get(table) {
            let stored = self.db.tables.get(table);
            for (u, r) in ov {
                let existed = stored.is_some_and(|s| s.contains_key(u));
                match (existed, r.is_some()) {
                    (true, false) => n -= 1,
                    (false, true) => n += 1,
                    _ => {}
                }
            }
        }
        n
    }

    fn matching(&self, table: &str, conds: &[Cond]) -> Vec<Uuid> {
        for c in conds {
            if let Cond::Compare {
                column,
                function: Function::Eq,
                value,
            } = c
            {
                if column == "_uuid" {
                    let Some(u) = value.as_atom().and_then(Atom::as_uuid) else {
                        return Vec::new();
                    };
                    return match self.get(table, u) {
                        Some(r) if all_hold(conds, u, r) => vec![u],
                        _ => Vec::new(),
                    };
                }
            }
        }
        // `column == value` on a one-column index: look the committed row up, and check
        // the rows the transaction changed.
        if let (Some(maps), Some(ts)) = (self.db.indexes.get(table), self.db.schema.table(table)) {
            for c in conds {
                let Cond::Compare {
                    column,
                    function: Function::Eq,
                    value,
                } = c
                else {
                    continue;
                };
                let Some(i) = ts
                    .indexes
                    .iter()
                    .position(|ix| ix.len() == 1 && ix[0] == *column)
                else {
                    continue;
                };
                let ov = self.overlay.get(table);
                let mut out = Vec::new();
                if let Some(u) = maps[i].get(std::slice::from_ref(value)) {
                    if !ov.is_some_and(|o| o.contains_key(u)) {
                        if let Some(r) = self.db.tables.get(table).and_then(|t| t.get(u)) {
                            if all_hold(conds, *u, r) {
                                out.push(*u);
                            }
                        }
                    }
                }
                for (u, r) in ov.into_iter().flatten() {
                    if let Some(r) = r {
                        if all_hold(conds, *u, r) {
                            out.push(*u);
                        }
                    }
                }
                return out;
            }
        }
        let mut out = Vec::new();
        self.for_each_row(table, |u, r| {
            if all_hold(conds, u, r) {
                out.push(u);
            }
        });
        out
    }

    fn symbol(&mut self, name: &str) -> Uuid {
        self.symtab
            .entry(name.to_owned())
            .or_insert_with(|| (random_uuid(), false))
            .0
    }

    fn resolve(&mut self, d: Datum) -> Datum {
        if !has_named(&d) {
            return d;
        }
        map_atoms(d, &mut |a| match a {
            Atom::NamedUuid(n) => Atom::Uuid(self.symbol(&n)),
            a => a,
        })
    }

    fn table_schema(&self, table: &str) -> OpResult<Arc<DatabaseSchema>> {
        if self.db.schema.table(table).is_none() {
            return Err(OpError::syntax(format!("No table named {table}.")));
        }
        Ok(self.db.schema.clone())
    }

    fn conditions(&mut self, table: &str, conds: Vec<Condition>) -> OpResult<Vec<Cond>> {
        let schema = self.table_schema(table)?;
        let ts = schema.table(table).expect("checked");
        let mut out = Vec::with_capacity(conds.len());
        for c in conds {
            let mut named = |n: &str| self.symbol(n);
            out.push(parse_condition(table, ts, c, &mut named)?);
        }
        Ok(out)
    }

    fn columns(&self, ts: &TableSchema, columns: Vec<String>) -> OpResult<Vec<String>> {
        for c in &columns {
            if ts.column(c).is_none() {
                return Err(OpError::syntax(format!("{c} is not a valid column name")));
            }
        }
        Ok(columns)
    }

    /// Parses a row of an insert or update.
    fn parse_row(
        &mut self,
        table: &str,
        mut row: Row,
        update: bool,
    ) -> OpResult<Vec<(String, Datum)>> {
        let schema = self.db.schema.clone();
        let ts = schema.table(table).expect("checked");
        let mut out = Vec::with_capacity(row.len());
        let names: Vec<String> = row.iter().map(|(c, _)| c.to_owned()).collect();
        for col in names {
            let d = row.remove(&col).expect("listed");
            let col = col.as_str();
            let cs = match ts.column(col) {
                Some(cs) => cs,
                None => {
                    return Err(OpError::new(
                        "unknown column",
                        format!("No column {col} in table {table}."),
                    ))
                }
            };
            let internal = col == "_uuid" || col == "_version";
            if update && (internal || !cs.mutable) {
                return Err(OpError::constraint(format!(
                    "Cannot update immutable column {col} in table {table}."
                )));
            }
            if internal {
                continue;
            }
            let d = parse_value(d, &cs.type_, cs.type_.min, cs.type_.max)?;
            let d = self.resolve(d);
            out.push((col.to_owned(), d));
        }
        Ok(out)
    }

    fn execute(
        &mut self,
        i: usize,
        n: usize,
        op: &RawValue,
        ctx: &TxnContext<'_>,
    ) -> OpResult<Step> {
        let op = parse_op(op, i, n)?;
        if ctx.read_only
            && matches!(
                op,
                Operation::Insert { .. }
                    | Operation::Update { .. }
                    | Operation::Mutate { .. }
                    | Operation::Delete { .. }
            )
        {
            return Err(OpError::new(
                "not allowed",
                "The _Server database is read-only.",
            ));
        }
        let r = match op {
            Operation::Insert {
                table,
                row,
                uuid_name,
                uuid,
            } => self.insert(&table, row, uuid_name, uuid)?,
            Operation::Select {
                table,
                conditions,
                columns,
            } => {
                let conds = self.conditions(&table, conditions)?;
                let schema = self.db.schema.clone();
                let ts = schema.table(&table).expect("checked");
                let columns = columns.map(|c| self.columns(ts, c)).transpose()?;
                let mut rows = Vec::new();
                for u in self.matching(&table, &conds) {
                    let r = self.get(&table, u).expect("matched");
                    let mut out = serde_json::Map::new();
                    match &columns {
                        Some(cols) => {
                            for c in cols {
                                let v = r.value(u, c).unwrap_or_default();
                                out.insert(c.clone(), serde_json::to_value(&v).unwrap_or_default());
                            }
                        }
                        None => {
                            out.insert("_uuid".into(), json!(["uuid", u.to_string()]));
                            out.insert("_version".into(), json!(["uuid", r.version.to_string()]));
                            for (c, v) in r.row.iter() {
                                out.insert(
                                    c.to_owned(),
                                    serde_json::to_value(v).unwrap_or_default(),
                                );
                            }
                        }
                    }
                    rows.push(Value::Object(out));
                }
                json!({ "rows": rows })
            }
            Operation::Update {
                table,
                conditions,
                row,
            } => {
                let conds = self.conditions(&table, conditions)?;
                let values = self.parse_row(&table, row, true)?;
                let matched = self.matching(&table, &conds);
                for u in &matched {
                    let mut r = self.get(&table, *u).expect("matched").clone();
                    for (c, v) in &values {
                        r.row.insert(c.clone(), v.clone());
                    }
                    self.put(&table, *u, Some(r));
                }
                json!({ "count": matched.len() })
            }
            Operation::Mutate {
                table,
                conditions,
                mutations,
            } => self.mutate(&table, conditions, mutations)?,
            Operation::Delete { table, conditions } => {
                let conds = self.conditions(&table, conditions)?;
                let matched = self.matching(&table, &conds);
                for u in &matched {
                    self.put(&table, *u, None);
                }
                json!({ "count": matched.len() })
            }
            Operation::Wait {
                table,
                conditions,
                columns,
                until,
                rows,
                timeout,
            } => {
                let conds = self.conditions(&table, conditions)?;
                let schema = self.db.schema.clone();
                let ts = schema.table(&table).expect("checked");
                let columns = if columns.len() == 1 && columns[0] == ALL_COLUMNS {
                    // No `columns`: every column, the implicit ones included.
                    ts.columns
                        .keys()
                        .cloned()
                        .chain(["_uuid".to_owned(), "_version".to_owned()])
                        .collect()
                } else {
                    self.columns(ts, columns)?
                };
                let mut expected: HashMap<Vec<Datum>, i64> = HashMap::new();
                for row in rows {
                    let mut key = Vec::with_capacity(columns.len());
                    for c in &columns {
                        let cs = ts.column(c).expect("checked");
                        let d = match row.get(c) {
                            Some(d) => {
                                let text = shown(d);
                                d.clone()
                                    .conform(&relax(&cs.type_, cs.type_.min, cs.type_.max))
                                    .map_err(|e| OpError::syntax(format!("{e} in {text}")))?
                            }
                            None => Datum::default_of(&cs.type_),
                        };
                        key.push(self.resolve(d));
                    }
                    *expected.entry(key).or_default() += 1;
                }
                for u in self.matching(&table, &conds) {
                    let r = self.get(&table, u).expect("matched");
                    let key: Vec<Datum> = columns
                        .iter()
                        .map(|c| r.value(u, c).unwrap_or_default())
                        .collect();
                    *expected.entry(key).or_default() -= 1;
                }
                let equal = expected.values().all(|n| *n == 0);
                let holds = match until {
                    WaitUntil::Equal => equal,
                    WaitUntil::NotEqual => !equal,
                };
                if !holds {
                    if timeout == Some(0) || ctx.expired {
                        return Err(OpError::new("timed out", "\"where\" clause test failed"));
                    }
                    return Ok(Step::Blocked(timeout));
                }
                json!({})
            }
            Operation::Commit { .. } | Operation::Comment { .. } => json!({}),
            Operation::Abort => return Err(OpError::new("aborted", "aborted by request")),
            Operation::Assert { lock } => {
                if !(ctx.holds_lock)(&lock) {
                    return Err(OpError::new(
                        "not owner",
                        format!("Asserted lock {lock} not held."),
                    ));
                }
                json!({})
            }
            _ => return Err(OpError::syntax("unsupported operation")),
        };
        Ok(Step::Result(r))
    }

    fn insert(
        &mut self,
        table: &str,
        row: Row,
        uuid_name: Option<String>,
        uuid: Option<Uuid>,
    ) -> OpResult<Value> {
        let schema = self.table_schema(table)?;
        let ts = schema.table(table).expect("checked");
        let uuid = match uuid {
            Some(u) => {
                if self.get(table, u).is_some()
                    || self
                        .db
                        .tables
                        .get(table)
                        .is_some_and(|t| t.contains_key(&u))
                {
                    return Err(OpError::new(
                        "duplicate uuid",
                        format!("This UUID would duplicate a UUID already present within the table or deleted within the same transaction: {u}"),
                    ));
                }
                u
            }
            None => random_uuid(),
        };
        let uuid = match uuid_name {
            Some(name) => match self.symtab.get_mut(&name) {
                Some((_, true)) => {
                    return Err(OpError::new(
                        "duplicate uuid-name",
                        "This \"uuid-name\" appeared on an earlier \"insert\" operation.",
                    ))
                }
                Some((u, created)) => {
                    *created = true;
                    *u
                }
                None => {
                    self.symtab.insert(name, (uuid, true));
                    uuid
                }
            },
            None => uuid,
        };
        let values = self.parse_row(table, row, false)?;
        let info = &self.db.info[table];
        let mut full = Row::new();
        for (c, d) in &info.defaults {
            full.insert(c.clone(), d.clone());
        }
        for (c, v) in values {
            full.insert(c, v);
        }
        let _ = ts;
        self.put(
            table,
            uuid,
            Some(RowData {
                row: full,
                version: random_uuid(),
            }),
        );
        Ok(json!({ "uuid": ["uuid", uuid.to_string()] }))
    }

    fn mutate(
        &mut self,
        table: &str,
        conditions: Vec<Condition>,
        mutations: Vec<Mutation>,
    ) -> OpResult<Value> {
        let conds = self.conditions(table, conditions)?;
        let schema = self.db.schema.clone();
        let ts = schema.table(table).expect("checked");
        let mut parsed = Vec::with_capacity(mutations.len());
        for m in mutations {
            let cs = ts.column(&m.column).ok_or_else(|| {
                OpError::new(
                    "unknown column",
                    format!("No column {} in table {table}.", m.column),
                )
            })?;
            if !cs.mutable || m.column.starts_with('_') {
                return Err(OpError::constraint(format!(
                    "Cannot mutate immutable column {} in table {table}.",
                    m.column
                )));
            }
            let ty = &cs.type_;
            let mismatch = || {
                OpError::syntax(format!(
                    "Type mismatch: \"{}\" operator may not be applied to column {} of type {}.",
                    m.mutator,
                    m.column,
                    type_name(ty)
                ))
            };
            let text = shown(&m.value);
            let syntax = |e: String| OpError::syntax(format!("{e} in {text}"));
            let arg = match m.mutator {
                Mutator::Add | Mutator::Sub | Mutator::Mul | Mutator::Div | Mutator::Mod => {
                    let numeric = match ty.key.kind {
                        AtomicType::Integer => true,
                        AtomicType::Real => m.mutator != Mutator::Mod,
                        _ => false,
                    };
                    if !numeric || ty.value.is_some() {
                        return Err(mismatch());
                    }
                    let arg = m
                        .value
                        .conform(&ColumnType::scalar(relax_base(&ty.key)))
                        .map_err(syntax)?;
                    if matches!(m.mutator, Mutator::Div | Mutator::Mod) {
                        let zero = match arg.as_atom() {
                            Some(Atom::Integer(0)) => true,
                            Some(Atom::Real(r)) => *r == 0.0,
                            _ => false,
                        };
                        if zero {
                            return Err(OpError::new("domain error", "Division by zero."));
                        }
                    }
                    arg
                }
                Mutator::Insert | Mutator::Delete => {
                    if ty.is_scalar() {
                        return Err(mismatch());
                    }
                    let max = if m.mutator == Mutator::Insert {
                        ty.max
                    } else {
                        None
                    };
                    let value = m.value;
                    let arg = match (&ty.value, &value) {
                        (Some(_), Datum::Set(s))
                            if m.mutator == Mutator::Delete && !s.is_empty() =>
                        {
                            value
                                .conform(&ColumnType::new(relax_base(&ty.key), None, 0, None))
                                .map_err(syntax)?
                        }
                        _ => value.conform(&relax(ty, 0, max)).map_err(syntax)?,
                    };
                    if m.mutator == Mutator::Insert {
                        check_constraints(&arg, ty)?;
                    }
                    self.resolve(arg)
                }
            };
            parsed.push((m.column, m.mutator, arg, ty.clone()));
        }
        let matched = self.matching(table, &conds);
        for u in &matched {
            let mut r = self.get(table, *u).expect("matched").clone();
            for (col, mutator, arg, ty) in &parsed {
                let cur = r.row.get(col).cloned().unwrap_or_default();
                let next = apply_mutation(cur, *mutator, arg, ty)?;
                check_count(&next, ty, col)?;
                check_constraints(&next, ty)?;
                r.row.insert(col.clone(), next);
            }
            self.put(table, *u, Some(r));
        }
        Ok(json!({ "count": matched.len() }))
    }

    /// Commit-time checks; may extend the overlay (garbage collection, weak references).
    fn precommit(&mut self) -> OpResult<()> {
        let schema = self.db.schema.clone();
        // Strong references from new and changed rows must point to existing rows.
        let mut to_check: Vec<(String, Uuid)> = Vec::new();
        for (t, rows) in &self.overlay {
            for (u, r) in rows {
                if r.is_some() {
                    to_check.push((t.clone(), *u));
                }
            }
        }
        for (t, u) in &to_check {
            let info = &self.db.info[t];
            let r = self.get(t, *u).expect("live");
            for rc in info.refs.iter().filter(|rc| rc.strength == RefType::Strong) {
                let Some(d) = r.row.get(&rc.column) else {
                    continue;
                };
                for target in ref_atoms(d, rc.key) {
                    if self.get(&rc.table, target).is_none() {
                        return Err(OpError::new(
                            "referential integrity violation",
                            format!(
                                "Table {t} column {} row {u} references nonexistent row {target} in table {}.",
                                rc.column, rc.table
                            ),
                        ));
                    }
                }
            }
        }
        // Garbage collection of non-root rows nothing references any more.
        let mut candidates: BTreeSet<(String, Uuid)> = BTreeSet::new();
        for (t, rows) in &self.overlay {
            for (u, r) in rows {
                if r.is_some() && !schema.is_root(t) {
                    candidates.insert((t.clone(), *u));
                }
                if let Some(old) = self.db.tables.get(t).and_then(|s| s.get(u)) {
                    for rc in &self.db.info[t].refs {
                        if rc.strength != RefType::Strong || schema.is_root(&rc.table) {
                            continue;
                        }
                        if let Some(d) = old.row.get(&rc.column) {
                            for target in ref_atoms(d, rc.key) {
                                candidates.insert((rc.table.clone(), target));
                            }
                        }
                    }
                }
            }
        }
        while !candidates.is_empty() {
            let targets: HashSet<(String, Uuid)> = candidates
                .iter()
                .filter(|(t, u)| self.get(t, *u).is_some())
                .cloned()
                .collect();
            candidates.clear();
            if targets.is_empty() {
                break;
            }
            let counts = self.strong_ref_counts(&targets);
            for (t, u) in targets {
                if counts.get(&(t.clone(), u)).copied().unwrap_or(0) > 0 {
                    continue;
                }
                let old = self.get(&t, u).cloned().expect("live");
                self.put(&t, u, None);
                for rc in &self.db.info[&t].refs {
                    if rc.strength != RefType::Strong || schema.is_root(&rc.table) {
                        continue;
                    }
                    if let Some(d) = old.row.get(&rc.column) {
                        for target in ref_atoms(d, rc.key) {
                            candidates.insert((rc.table.clone(), target));
                        }
                    }
                }
            }
        }
        // Deleted rows must not be referenced any more.
        let mut deleted: HashSet<(String, Uuid)> = HashSet::new();
        for (t, rows) in &self.overlay {
            for (u, r) in rows {
                if r.is_none() && self.db.tables.get(t).is_some_and(|s| s.contains_key(u)) {
                    deleted.insert((t.clone(), *u));
                }
            }
        }
        if !deleted.is_empty() {
            let counts = self.strong_ref_counts(&deleted);
            if let Some(((t, u), n)) = counts.iter().find(|(_, n)| **n > 0) {
                return Err(OpError::new(
                    "referential integrity violation",
                    format!("cannot delete {t} row {u} because of {n} remaining reference(s)"),
                ));
            }
        }
        // Weak references: drop those to rows that do not exist.
        let deleted_tables: HashSet<&str> = deleted.iter().map(|(t, _)| t.as_str()).collect();
        let mut weak_fix: Vec<(String, Uuid)> = Vec::new();
        for (t, info) in &self.db.info {
            let weak: Vec<&RefColumn> = info
                .refs
                .iter()
                .filter(|rc| rc.strength == RefType::Weak)
                .collect();
            if weak.is_empty() {
                continue;
            }
            let scan_all = weak
                .iter()
                .any(|rc| deleted_tables.contains(rc.table.as_str()));
            let check = |u: Uuid, r: &RowData, out: &mut Vec<(String, Uuid)>| {
                for rc in &weak {
                    if let Some(d) = r.row.get(&rc.column) {
                        if ref_atoms(d, rc.key).any(|x| self.get(&rc.table, x).is_none()) {
                            out.push((t.clone(), u));
                            return;
                        }
                    }
                }
            };
            if scan_all {
                self.for_each_row(t, |u, r| check(u, r, &mut weak_fix));
            } else if let Some(ov) = self.overlay.get(t) {
                for (u, r) in ov {
                    if let Some(r) = r {
                        check(*u, r, &mut weak_fix);
                    }
                }
            }
        }
        for (t, u) in weak_fix {
            let mut r = self.get(&t, u).cloned().expect("live");
            let ts = schema.table(&t).expect("known");
            for rc in self.db.info[&t]
                .refs
                .iter()
                .filter(|rc| rc.strength == RefType::Weak)
            {
                let Some(d) = r.row.get(&rc.column) else {
                    continue;
                };
                let live = |a: &Atom| a.as_uuid().is_none_or(|x| self.get(&rc.table, x).is_some());
                let nd = match d {
                    Datum::Set(s) if rc.key => {
                        Datum::Set(s.iter().filter(|a| live(a)).cloned().collect())
                    }
                    Datum::Map(m) => Datum::Map(
                        m.iter()
                            .filter(|(k, v)| if rc.key { live(k) } else { live(v) })
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ),
                    d => d.clone(),
                };
                let ty = &ts.columns[&rc.column].type_;
                if (nd.len() as u64) < ty.min {
                    return Err(OpError::constraint(format!(
                        "Deletion of {} weak reference(s) to deleted (or never-existing) rows from column \"{}\" in \"{t}\" row {u} caused this column to have {} element(s), but the schema requires at least {}.",
                        d.len() - nd.len(),
                        rc.column,
                        nd.len(),
                        ty.min
                    )));
                }
                r.row.insert(rc.column.clone(), nd);
            }
            self.put(&t, u, Some(r));
        }
        // maxRows.
        for t in self.overlay.keys() {
            if let Some(max) = schema.table(t).and_then(|ts| ts.max_rows) {
                let n = self.count_rows(t) as u64;
                if n > max {
                    return Err(OpError::constraint(format!(
                        "transaction causes \"{t}\" table to contain {n} rows, greater than the schema-defined limit of {max} row(s)"
                    )));
                }
            }
        }
        // Index uniqueness: changed rows against each other, then against the committed
        // rows the transaction left alone.
        for (t, ov) in &self.overlay {
            let ts = schema.table(t).expect("known");
            for (i, index) in ts.indexes.iter().enumerate() {
                let mut seen: HashMap<Vec<Datum>, Uuid> = HashMap::with_capacity(ov.len());
                let mut dup = None;
                for (u, r) in ov {
                    let Some(r) = r else { continue };
                    let key = index_key(index, r);
                    let committed = self.db.indexes.get(t).and_then(|m| m[i].get(&key));
                    if let Some(other) = committed {
                        if *other != *u && !ov.contains_key(other) {
                            dup = Some((*other, *u));
                            break;
                        }
                    }
                    if let Some(prev) = seen.insert(key, *u) {
                        dup = Some((prev, *u));
                        break;
                    }
                }
                if let Some((a, b)) = dup {
                    let cols = index
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(" and ");
                    return Err(OpError::constraint(format!(
                        "Transaction causes multiple rows in \"{t}\" table to have identical values for index on column(s) {cols}.  First row, with UUID {a}.  Second row, with UUID {b}."
                    )));
                }
            }
        }
        Ok(())
    }

    /// Strong references to each of `targets` from live rows.
    fn strong_ref_counts(
        &self,
        targets: &HashSet<(String, Uuid)>,
    ) -> HashMap<(String, Uuid), usize> {
        let mut by_table: HashMap<&str, HashSet<Uuid>> = HashMap::new();
        for (t, u) in targets {
            by_table.entry(t.as_str()).or_default().insert(*u);
        }
        let mut counts = HashMap::new();
        for (t, info) in &self.db.info {
            let cols: Vec<(&RefColumn, &HashSet<Uuid>)> = info
                .refs
                .iter()
                .filter(|rc| rc.strength == RefType::Strong)
                .filter_map(|rc| by_table.get(rc.table.as_str()).map(|set| (rc, set)))
                .collect();
            if cols.is_empty() {
                continue;
            }
            self.for_each_row(t, |_, r| {
                for (rc, set) in &cols {
                    if let Some(d) = r.row.get(&rc.column) {
                        for x in ref_atoms(d, rc.key) {
                            if set.contains(&x) {
                                *counts.entry((rc.table.clone(), x)).or_insert(0) += 1;
                            }
                        }
                    }
                }
            });
        }
        counts
    }
}

fn arith(a: &Atom, mutator: Mutator, b: &Atom) -> OpResult<Atom> {
    let range = || {
        OpError::new(
            "range error",
            format!("Result of \"{mutator}\" operation is out of range."),
        )
    };
    match (a, b) {
        (Atom::Integer(x), Atom::Integer(y)) => {
            let r = match mutator {
                Mutator::Add => x.checked_add(*y),
                Mutator::Sub => x.checked_sub(*y),
                Mutator::Mul => x.checked_mul(*y),
                Mutator::Div => x.checked_div(*y),
                Mutator::Mod => x.checked_rem(*y),
                _ => None,
            };
            r.map(Atom::Integer).ok_or_else(range)
        }
        (Atom::Real(x), Atom::Real(y)) => {
            let r = match mutator {
                Mutator::Add => x + y,
                Mutator::Sub => x - y,
                Mutator::Mul => x * y,
                Mutator::Div => x / y,
                _ => f64::NAN,
            };
            if r.is_finite() {
                Ok(Atom::Real(r))
            } else {
                Err(range())
            }
        }
        _ => Err(OpError::syntax("type mismatch in mutation")),
    }
}

fn apply_mutation(cur: Datum, mutator: Mutator, arg: &Datum, ty: &ColumnType) -> OpResult<Datum> {
    match mutator {
        Mutator::Add | Mutator::Sub | Mutator::Mul | Mutator::Div | Mutator::Mod => {
            let b = arg
                .as_atom()
                .ok_or_else(|| OpError::syntax("bad argument"))?;
            let Datum::Set(s) = cur else {
                return Err(OpError::syntax("arithmetic on a map"));
            };
            let mut atoms = Vec::with_capacity(s.len());
            for a in s.iter() {
                atoms.push(arith(a, mutator, b)?);
            }
            let n = atoms.len();
            let set = Set::from_atoms(atoms);
            if set.len() != n {
                return Err(OpError::constraint(
                    "Mutation would cause a set to contain duplicate values.",
                ));
            }
            Ok(Datum::Set(set))
        }
        Mutator::Insert => match (cur, arg) {
            (Datum::Set(mut s), Datum::Set(a)) => {
                for x in a.iter() {
                    s.insert(x.clone());
                }
                Ok(Datum::Set(s))
            }
            (cur, Datum::Map(a)) => {
                let mut m = cur.as_map().cloned().unwrap_or_default();
                for (k, v) in a.iter() {
                    if m.get(k).is_none() {
                        m.insert(k.clone(), v.clone());
                    }
                }
                Ok(Datum::Map(m))
            }
            (cur, Datum::Set(a)) if a.is_empty() => Ok(cur),
            _ => Err(OpError::syntax("insert argument does not fit the column")),
        },
        Mutator::Delete => match (cur, arg) {
            (Datum::Set(mut s), Datum::Set(a)) if ty.value.is_none() => {
                for x in a.iter() {
                    s.remove(x);
                }
                Ok(Datum::Set(s))
            }
            (cur, Datum::Set(keys)) => {
                let mut m = cur.as_map().cloned().unwrap_or_default();
                for k in keys.iter() {
                    m.remove(k);
                }
                Ok(Datum::Map(m))
            }
            (cur, Datum::Map(pairs)) => {
                let mut m = cur.as_map().cloned().unwrap_or_default();
                for (k, v) in pairs.iter() {
                    if m.get(k) == Some(v) {
                        m.remove(k);
                    }
                }
                Ok(Datum::Map(m))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Db {
        let schema = DatabaseSchema::from_slice(
            br#"{"name": "T", "tables": {
                "P": {"columns": {"n": {"type": "integer"},
                                  "kids": {"type": {"key": {"type": "uuid", "refTable": "C"}, "min": 0, "max": "unlimited"}},
                                  "w": {"type": {"key": {"type": "uuid", "refTable": "C", "refType": "weak"}, "min": 0, "max": "unlimited"}}},
                      "isRoot": true},
                "C": {"columns": {"s": {"type": "string"}}}}}"#,
        )
        .unwrap();
        Db::new(schema)
    }

    fn run(db: &mut Db, ops: Value) -> Vec<Value> {
        let ops: Vec<Box<RawValue>> = ops
            .as_array()
            .unwrap()
            .iter()
            .map(|o| serde_json::value::to_raw_value(o).unwrap())
            .collect();
        let no_locks = |_: &str| false;
        let ctx = TxnContext {
            holds_lock: &no_locks,
            expired: false,
            read_only: false,
        };
        match db.transact(&ops, &ctx) {
            Outcome::Done { results, .. } => results,
            Outcome::Blocked { .. } => panic!("blocked"),
        }
    }

    #[test]
    fn failed_transactions_change_nothing() {
        let mut d = db();
        let r = run(
            &mut d,
            json!([{"op": "insert", "table": "P", "row": {"n": 1}},
                   {"op": "mutate", "table": "P", "where": [], "mutations": [["n", "/=", 0]]}]),
        );
        assert_eq!(r[1]["error"], "domain error");
        assert!(d.tables["P"].is_empty());
        assert!(d.history.is_empty());
        assert!(d.last_txn.is_nil());
    }

    #[test]
    fn garbage_collection_and_weak_references() {
        let mut d = db();
        let r = run(
            &mut d,
            json!([{"op": "insert", "table": "C", "uuid-name": "a", "row": {"s": "a"}},
                   {"op": "insert", "table": "C", "uuid-name": "b", "row": {"s": "b"}},
                   {"op": "insert", "table": "C", "row": {"s": "garbage"}},
                   {"op": "insert", "table": "P", "row": {"kids": ["named-uuid", "a"], "w": ["set", [["named-uuid", "a"], ["named-uuid", "b"]]]}}]),
        );
        assert!(r.iter().all(|r| r.get("error").is_none()), "{r:?}");
        // Only the referenced child survives; the weak reference to the collected one goes.
        assert_eq!(d.tables["C"].len(), 1);
        let p = d.tables["P"].values().next().unwrap();
        assert_eq!(p.row.get("w").unwrap().len(), 1);
        // Dropping the strong reference collects the last child and empties the weak set.
        run(
            &mut d,
            json!([{"op": "update", "table": "P", "where": [], "row": {"kids": ["set", []]}}]),
        );
        assert!(d.tables["C"].is_empty());
        let p = d.tables["P"].values().next().unwrap();
        assert!(p.row.get("w").unwrap().is_empty());
        assert_eq!(d.history.len(), 2);
    }

    #[test]
    fn history_is_bounded() {
        let mut d = db();
        let mut ids = Vec::new();
        for i in 0..(HISTORY_LIMIT + 2) {
            run(
                &mut d,
                json!([{"op": "insert", "table": "P", "row": {"n": i}}]),
            );
            ids.push(d.last_txn);
        }
        assert_eq!(d.history.len(), HISTORY_LIMIT);
        assert!(d.history_since(ids[0]).is_none());
        assert_eq!(
            d.history_since(ids[2]).map(|c| c.len()),
            Some(HISTORY_LIMIT - 1)
        );
        assert_eq!(d.history_since(d.last_txn).map(|c| c.len()), Some(0));
        assert!(d.history_since(Uuid::nil()).is_none());
    }

    #[test]
    fn index_lookups_see_the_transaction() {
        let schema = DatabaseSchema::from_slice(
            br#"{"name": "I", "tables": {"T": {"columns": {"k": {"type": "string"}}, "indexes": [["k"]], "isRoot": true}}}"#,
        )
        .unwrap();
        let mut d = Db::new(schema);
        run(
            &mut d,
            json!([{"op": "insert", "table": "T", "row": {"k": "a"}}]),
        );
        let r = run(
            &mut d,
            json!([{"op": "update", "table": "T", "where": [["k", "==", "a"]], "row": {"k": "b"}},
                   {"op": "select", "table": "T", "where": [["k", "==", "a"]], "columns": ["k"]},
                   {"op": "select", "table": "T", "where": [["k", "==", "b"]], "columns": ["k"]},
                   {"op": "insert", "table": "T", "row": {"k": "a"}},
                   {"op": "select", "table": "T", "where": [["k", "==", "a"]], "columns": ["k"]}]),
        );
        assert_eq!(r[0], json!({"count": 1}));
        assert_eq!(r[1], json!({"rows": []}));
        assert_eq!(r[2], json!({"rows": [{"k": "b"}]}));
        assert_eq!(r[4], json!({"rows": [{"k": "a"}]}));
        assert_eq!(r.len(), 5, "{r:?}");
        let r = run(
            &mut d,
            json!([{"op": "insert", "table": "T", "row": {"k": "b"}}]),
        );
        assert_eq!(r[1]["error"], "constraint violation");
        let r = run(
            &mut d,
            json!([{"op": "delete", "table": "T", "where": [["k", "==", "b"]]}]),
        );
        assert_eq!(r[0], json!({"count": 1}));
        assert_eq!(d.indexes["T"][0].len(), 1);
    }

    #[test]
    fn arithmetic_errors() {
        assert_eq!(
            arith(&Atom::Integer(i64::MAX), Mutator::Add, &Atom::Integer(1))
                .unwrap_err()
                .error,
            "range error"
        );
        assert_eq!(
            arith(&Atom::Real(f64::MAX), Mutator::Mul, &Atom::Real(2.0))
                .unwrap_err()
                .error,
            "range error"
        );
        assert_eq!(
            arith(&Atom::Integer(7), Mutator::Mod, &Atom::Integer(4)).unwrap(),
            Atom::Integer(3)
        );
    }

    #[test]
    fn random_uuids_are_version_4() {
        let u = random_uuid();
        assert_eq!(u.get_version_num(), 4);
        assert_ne!(u, random_uuid());
    }
}
