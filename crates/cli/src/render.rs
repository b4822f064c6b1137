//! Plans as an operator reads them: each operation as the `ovn-nbctl` / `ovn-ic-nbctl`
//! database command that would make the same change (`create`, `add`, `remove`, `set`,
//! `destroy`, `wait-until`), or as JSON.

use std::fmt::Write as _;

use ovsdb_proto::{Atom, Condition, Datum, Function, Mutator, Operation, WaitUntil};
use serde_json::{json, Value};

/// A string as `ovs-vsctl`-style database commands take it: bare when unambiguous, else
/// quoted.
fn string(s: &str) -> String {
    let bare = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.parse::<f64>().is_err()
        && !matches!(s, "true" | "false");
    if bare {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

fn atom(a: &Atom) -> String {
    match a {
        Atom::Integer(i) => i.to_string(),
        Atom::Real(r) => r.to_string(),
        Atom::Boolean(b) => b.to_string(),
        Atom::String(s) => string(s),
        Atom::Uuid(u) => u.to_string(),
        Atom::NamedUuid(n) => format!("@{n}"),
    }
}

fn datum(d: &Datum) -> String {
    match d {
        Datum::Set(s) if s.len() == 1 => s.iter().map(atom).collect(),
        Datum::Set(s) => format!("[{}]", s.iter().map(atom).collect::<Vec<_>>().join(", ")),
        Datum::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}={}", atom(k), atom(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The rows a command addresses: a UUID, or the conditions.
fn record(conditions: &[Condition]) -> String {
    if let [Condition::Compare {
        column,
        function: Function::Eq,
        value,
    }] = conditions
    {
        if column == "_uuid" {
            if let Some(a) = value.as_atom() {
                return atom(a);
            }
        }
    }
    let parts: Vec<String> = conditions
        .iter()
        .map(|c| match c {
            Condition::Bool(b) => b.to_string(),
            Condition::Compare {
                column,
                function,
                value,
            } => format!("{column}{function}{}", datum(value)),
        })
        .collect();
    format!("[{}]", parts.join(" && "))
}

/// One operation as a database command of `tool` (`ovn-nbctl`, `ovn-ic-nbctl`).
pub fn command(tool: &str, op: &Operation) -> String {
    match op {
        Operation::Insert {
            table,
            row,
            uuid_name,
            ..
        } => {
            let mut s = tool.to_owned();
            if let Some(n) = uuid_name {
                let _ = write!(s, " --id=@{n}");
            }
            let _ = write!(s, " create {table}");
            for (c, d) in row.iter() {
                let _ = write!(s, " {c}={}", datum(d));
            }
            s
        }
        Operation::Update {
            table,
            conditions,
            row,
        } => {
            let mut s = format!("{tool} set {table} {}", record(conditions));
            for (c, d) in row.iter() {
                let _ = write!(s, " {c}={}", datum(d));
            }
            s
        }
        Operation::Mutate {
            table,
            conditions,
            mutations,
        } => {
            let rec = record(conditions);
            mutations
                .iter()
                .map(|m| match m.mutator {
                    Mutator::Insert => {
                        format!("{tool} add {table} {rec} {} {}", m.column, datum(&m.value))
                    }
                    Mutator::Delete => format!(
                        "{tool} remove {table} {rec} {} {}",
                        m.column,
                        datum(&m.value)
                    ),
                    other => format!(
                        "{tool} set {table} {rec} {}{other}{}",
                        m.column,
                        datum(&m.value)
                    ),
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        Operation::Delete { table, conditions } => {
            format!("{tool} destroy {table} {}", record(conditions))
        }
        Operation::Wait {
            table,
            conditions,
            columns,
            until,
            rows,
            ..
        } => {
            let want = match until {
                WaitUntil::Equal => "",
                WaitUntil::NotEqual => " (until they differ)",
            };
            let values: Vec<String> = rows
                .iter()
                .flat_map(|r| {
                    r.iter()
                        .filter(|(c, _)| columns.iter().any(|k| k == c))
                        .map(|(c, d)| format!("{c}={}", datum(d)))
                        .collect::<Vec<_>>()
                })
                .collect();
            if rows.is_empty() {
                format!(
                    "# {tool}: check that {table} has no row {}{want}",
                    record(conditions)
                )
            } else {
                format!(
                    "{tool} wait-until {table} {} {}{want}",
                    record(conditions),
                    values.join(" ")
                )
            }
        }
        Operation::Comment { comment } => format!("# {comment}"),
        other => format!(
            "# {tool}: {}",
            serde_json::to_string(other).unwrap_or_default()
        ),
    }
}

/// One database's operations of a plan.
#[derive(Debug, Clone)]
pub struct DbOps<'a> {
    /// `OVN_Northbound` or `OVN_IC_Northbound`.
    pub database: &'static str,
    /// The zone, for a zone's NB.
    pub zone: Option<&'a str>,
    /// The operations, one transaction.
    pub ops: &'a [Operation],
}

impl DbOps<'_> {
    fn tool(&self) -> &'static str {
        if self.zone.is_some() {
            "ovn-nbctl"
        } else {
            "ovn-ic-nbctl"
        }
    }
}

/// The plan as text: per database, a header and one command per line; then notes and what
/// is pending.
pub fn text(dbs: &[DbOps<'_>], notes: &[String], pending: &[String]) -> String {
    let mut out = String::new();
    if dbs.iter().all(|d| d.ops.is_empty()) {
        out.push_str("nothing to change\n");
    }
    for d in dbs.iter().filter(|d| !d.ops.is_empty()) {
        match d.zone {
            Some(z) => {
                let _ = writeln!(
                    out,
                    "# zone {z}: {} ({} operations)",
                    d.database,
                    d.ops.len()
                );
            }
            None => {
                let _ = writeln!(out, "# {} ({} operations)", d.database, d.ops.len());
            }
        }
        for op in d.ops {
            let _ = writeln!(out, "{}", command(d.tool(), op));
        }
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    for p in pending {
        let _ = writeln!(out, "pending: {p}");
    }
    out
}

/// The plan as JSON: `{"databases": [{"database", "zone", "operations"}], "notes",
/// "pending"}`, operations in RFC 7047 form.
pub fn json(dbs: &[DbOps<'_>], notes: &[String], pending: &[String]) -> Value {
    json!({
        "databases": dbs.iter().filter(|d| !d.ops.is_empty()).map(|d| json!({
            "database": d.database,
            "zone": d.zone,
            "operations": d.ops,
        })).collect::<Vec<_>>(),
        "notes": notes,
        "pending": pending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb_proto::{Mutation, Row, Uuid};

    #[test]
    fn operations_read_as_database_commands() {
        let mut row = Row::new();
        row.insert("name", Datum::from(Atom::from("ovnlink-ts-r1".to_owned())));
        row.insert(
            "networks",
            Datum::from(Atom::from("169.254.100.1/24".to_owned())),
        );
        row.insert(
            "external_ids",
            Datum::map([
                ("ovnlink:owner", "isolation"),
                ("ovnlink:role", "transit-lrp"),
            ]),
        );
        let insert = Operation::Insert {
            table: "Logical_Router_Port".into(),
            row,
            uuid_name: Some("lrp0".into()),
            uuid: None,
        };
        assert_eq!(
            command("ovn-nbctl", &insert),
            r#"ovn-nbctl --id=@lrp0 create Logical_Router_Port external_ids={"ovnlink:owner"=isolation, "ovnlink:role"=transit-lrp} name=ovnlink-ts-r1 networks="169.254.100.1/24""#
        );
        let u = Uuid::from_u128(0x1234);
        let add = Operation::Mutate {
            table: "Logical_Router".into(),
            conditions: vec![Condition::uuid(u)],
            mutations: vec![Mutation::new(
                "ports",
                Mutator::Insert,
                Datum::from(Atom::NamedUuid("lrp0".into())),
            )],
        };
        assert_eq!(
            command("ovn-nbctl", &add),
            format!("ovn-nbctl add Logical_Router {u} ports @lrp0")
        );
        let del = Operation::Delete {
            table: "ACL".into(),
            conditions: vec![Condition::uuid(u)],
        };
        assert_eq!(
            command("ovn-nbctl", &del),
            format!("ovn-nbctl destroy ACL {u}")
        );
    }
}
