//! Column values: parsing a value for a column's type, its constraints and element counts,
//! and the arithmetic and set/map mutators of `mutate`.

use ovsdb_proto::schema::{BaseType, ColumnType};
use ovsdb_proto::{Atom, Datum, Map, Mutator, Set};

use super::{OpError, OpResult};

/// A base type without constraints (what parsing checks; constraints are checked apart).
pub(super) fn relax_base(b: &BaseType) -> BaseType {
    let mut n = BaseType::new(b.kind);
    n.ref_table.clone_from(&b.ref_table);
    n.ref_type = b.ref_type;
    n
}

pub(super) fn relax(ty: &ColumnType, min: u64, max: Option<u64>) -> ColumnType {
    ColumnType::new(
        relax_base(&ty.key),
        ty.value.as_ref().map(relax_base),
        min,
        max,
    )
}

pub(super) fn type_name(ty: &ColumnType) -> String {
    let k = ty.key.kind.name();
    match (&ty.value, ty.min, ty.max) {
        (Some(v), _, _) => format!("map of {k} to {}", v.kind.name()),
        (None, 1, Some(1)) => k.to_owned(),
        (None, 0, Some(1)) => format!("optional {k}"),
        _ => format!("set of {k}"),
    }
}

pub(super) fn shown(d: &Datum) -> String {
    serde_json::to_string(d).unwrap_or_default()
}

pub(super) fn has_named(d: &Datum) -> bool {
    match d {
        Datum::Set(s) => s.iter().any(|a| matches!(a, Atom::NamedUuid(_))),
        Datum::Map(m) => m
            .iter()
            .any(|(k, v)| matches!(k, Atom::NamedUuid(_)) || matches!(v, Atom::NamedUuid(_))),
    }
}

/// Parses a value for a column: types and element counts are syntax errors, value
/// constraints (enum, ranges, lengths) constraint violations.
pub(super) fn parse_value(
    d: Datum,
    ty: &ColumnType,
    min: u64,
    max: Option<u64>,
) -> OpResult<Datum> {
    let text = shown(&d);
    let d = d
        .conform(&relax(ty, min, max))
        .map_err(|e| OpError::syntax(format!("{e} in {text}")))?;
    check_constraints(&d, ty)?;
    Ok(d)
}

pub(super) fn check_constraints(d: &Datum, ty: &ColumnType) -> OpResult<()> {
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

pub(super) fn check_count(d: &Datum, ty: &ColumnType, column: &str) -> OpResult<()> {
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

pub(super) fn map_atoms(d: Datum, f: &mut impl FnMut(Atom) -> Atom) -> Datum {
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

pub(super) fn arith(a: &Atom, mutator: Mutator, b: &Atom) -> OpResult<Atom> {
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

pub(super) fn apply_mutation(
    cur: Datum,
    mutator: Mutator,
    arg: &Datum,
    ty: &ColumnType,
) -> OpResult<Datum> {
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
