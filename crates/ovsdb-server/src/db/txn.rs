//! One transaction's run: its operations (RFC 7047 §5.2) parsed and executed against an
//! overlay on the committed tables, so that a failure anywhere leaves the database untouched.

use std::collections::{BTreeMap, HashMap};

use ovsdb_proto::schema::{ColumnType, TableSchema};
use ovsdb_proto::{
    Atom, Condition, DatabaseSchema, Datum, Mutation, Operation, Row, Uuid, WaitUntil,
};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::value::*;
use super::*;

pub(super) enum Step {
    Result(Value),
    Blocked(Option<u64>),
}

pub(super) struct Txn<'a> {
    pub(super) db: &'a Db,
    pub(super) overlay: BTreeMap<String, HashMap<Uuid, Option<RowData>>>,
    /// uuid-name → (UUID, whether an insert created it).
    pub(super) symtab: HashMap<String, (Uuid, bool)>,
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
    pub(super) fn get(&self, table: &str, uuid: Uuid) -> Option<&RowData> {
        if let Some(o) = self.overlay.get(table).and_then(|t| t.get(&uuid)) {
            return o.as_ref();
        }
        self.db.tables.get(table)?.get(&uuid).map(|r| &**r)
    }

    pub(super) fn put(&mut self, table: &str, uuid: Uuid, row: Option<RowData>) {
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
    pub(super) fn for_each_row<'s>(&'s self, table: &str, mut f: impl FnMut(Uuid, &'s RowData)) {
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

    pub(super) fn count_rows(&self, table: &str) -> usize {
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

    pub(super) fn execute(
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
}
