//! Column values: atoms, the Rust types of columns, and their conversions to and from
//! OVSDB data (with every constraint of the column's type checked).

use std::cmp::Ordering;
use std::fmt;

use serde::de::{self, DeserializeSeed, SeqAccess};

use super::*;
use crate::data::{Atom, Datum, Map, Set, Uuid};
use crate::error::{Error, Result};
use crate::schema::{AtomicType, BaseType, ColumnType};

// ---------------------------------------------------------------------------------------------
// Atoms.

/// A Rust type that holds one atom of a column.
///
/// Implemented for `String`, `i64`, `f64`, `bool`, [`Uuid`], [`Ref<T>`], and by generated
/// string enums (see [`StringEnum`]).
pub trait Atomic: Sized + Clone + Default + PartialEq {
    /// The atomic type this Rust type holds.
    const KIND: AtomicType;

    /// Converts `atom`, checking its type and the constraints of `base` (ranges, lengths,
    /// non-string enumerations). An integer converts to a real.
    fn from_atom(atom: &Atom, base: &BaseType) -> Result<Self, String>;

    /// The atom.
    fn to_atom(&self) -> Atom;

    /// The order of the atoms (the order of [`Atom`]), used to keep sets sorted.
    fn cmp_atomic(&self, other: &Self) -> Ordering;

    /// Converts an atom read straight from JSON, like [`Atomic::from_atom`]. The default goes
    /// through [`Atom`]; implementations override it to skip that allocation.
    fn from_wire(atom: WireAtom<'_>, base: &BaseType) -> Result<Self, String> {
        Self::from_atom(&atom.to_atom(), base)
    }
}

/// An atom as the JSON decoder sees it, borrowing its string.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum WireAtom<'a> {
    /// An integer.
    Integer(i64),
    /// A real.
    Real(f64),
    /// A boolean.
    Boolean(bool),
    /// A string.
    String(&'a str),
    /// `["uuid", "…"]`.
    Uuid(Uuid),
    /// `["named-uuid", "…"]`.
    NamedUuid(&'a str),
}

impl WireAtom<'_> {
    /// The owned atom.
    pub fn to_atom(self) -> Atom {
        match self {
            WireAtom::Integer(i) => Atom::Integer(i),
            WireAtom::Real(r) => Atom::Real(r),
            WireAtom::Boolean(b) => Atom::Boolean(b),
            WireAtom::String(s) => Atom::String(s.to_owned()),
            WireAtom::Uuid(u) => Atom::Uuid(u),
            WireAtom::NamedUuid(n) => Atom::NamedUuid(n.to_owned()),
        }
    }
}

pub(crate) fn wrong_wire_type(expected: AtomicType, got: WireAtom<'_>) -> String {
    wrong_type(expected, &got.to_atom())
}

pub(crate) fn has_string_constraints(base: &BaseType) -> bool {
    base.enumeration.is_some() || base.min_length.is_some() || base.max_length.is_some()
}

pub(crate) fn wrong_type(expected: AtomicType, got: &Atom) -> String {
    format!("expected {expected}, got {} {got}", got.atomic_type())
}

impl Atomic for String {
    const KIND: AtomicType = AtomicType::String;
    fn from_atom(atom: &Atom, base: &BaseType) -> Result<Self, String> {
        match atom {
            Atom::String(s) => {
                base.check(atom)?;
                Ok(s.clone())
            }
            other => Err(wrong_type(Self::KIND, other)),
        }
    }
    fn to_atom(&self) -> Atom {
        Atom::String(self.clone())
    }
    fn cmp_atomic(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
    fn from_wire(atom: WireAtom<'_>, base: &BaseType) -> Result<Self, String> {
        match atom {
            WireAtom::String(s) => {
                let owned = s.to_owned();
                if has_string_constraints(base) {
                    let atom = Atom::String(owned);
                    base.check(&atom)?;
                    let Atom::String(owned) = atom else {
                        unreachable!("built as a string above")
                    };
                    return Ok(owned);
                }
                Ok(owned)
            }
            other => Err(wrong_wire_type(Self::KIND, other)),
        }
    }
}

impl Atomic for i64 {
    const KIND: AtomicType = AtomicType::Integer;
    fn from_atom(atom: &Atom, base: &BaseType) -> Result<Self, String> {
        match atom {
            Atom::Integer(i) => {
                base.check(atom)?;
                Ok(*i)
            }
            other => Err(wrong_type(Self::KIND, other)),
        }
    }
    fn to_atom(&self) -> Atom {
        Atom::Integer(*self)
    }
    fn cmp_atomic(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
    fn from_wire(atom: WireAtom<'_>, base: &BaseType) -> Result<Self, String> {
        match atom {
            WireAtom::Integer(i) => Self::from_atom(&Atom::Integer(i), base),
            other => Err(wrong_wire_type(Self::KIND, other)),
        }
    }
}

impl Atomic for f64 {
    const KIND: AtomicType = AtomicType::Real;
    fn from_atom(atom: &Atom, base: &BaseType) -> Result<Self, String> {
        let r = match atom {
            Atom::Real(r) => *r,
            // ovsdb-server prints a real without a fraction as an integer.
            Atom::Integer(i) => *i as f64,
            other => return Err(wrong_type(Self::KIND, other)),
        };
        base.check(&Atom::Real(r))?;
        Ok(r)
    }
    fn to_atom(&self) -> Atom {
        Atom::Real(*self)
    }
    fn cmp_atomic(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
    fn from_wire(atom: WireAtom<'_>, base: &BaseType) -> Result<Self, String> {
        match atom {
            WireAtom::Real(r) => Self::from_atom(&Atom::Real(r), base),
            WireAtom::Integer(i) => Self::from_atom(&Atom::Integer(i), base),
            other => Err(wrong_wire_type(Self::KIND, other)),
        }
    }
}

impl Atomic for bool {
    const KIND: AtomicType = AtomicType::Boolean;
    fn from_atom(atom: &Atom, base: &BaseType) -> Result<Self, String> {
        match atom {
            Atom::Boolean(b) => {
                base.check(atom)?;
                Ok(*b)
            }
            other => Err(wrong_type(Self::KIND, other)),
        }
    }
    fn to_atom(&self) -> Atom {
        Atom::Boolean(*self)
    }
    fn cmp_atomic(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
    fn from_wire(atom: WireAtom<'_>, base: &BaseType) -> Result<Self, String> {
        match atom {
            WireAtom::Boolean(b) => Self::from_atom(&Atom::Boolean(b), base),
            other => Err(wrong_wire_type(Self::KIND, other)),
        }
    }
}

impl Atomic for Uuid {
    const KIND: AtomicType = AtomicType::Uuid;
    fn from_atom(atom: &Atom, _base: &BaseType) -> Result<Self, String> {
        match atom {
            Atom::Uuid(u) => Ok(*u),
            Atom::NamedUuid(n) => Err(format!(
                "named UUID {n:?} where a row UUID is expected (named UUIDs only exist inside \
                 a transaction)"
            )),
            other => Err(wrong_type(Self::KIND, other)),
        }
    }
    fn to_atom(&self) -> Atom {
        Atom::Uuid(*self)
    }
    fn cmp_atomic(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
    fn from_wire(atom: WireAtom<'_>, base: &BaseType) -> Result<Self, String> {
        match atom {
            WireAtom::Uuid(u) => Ok(u),
            other => Self::from_atom(&other.to_atom(), base),
        }
    }
}

impl<T> Atomic for Ref<T> {
    const KIND: AtomicType = AtomicType::Uuid;
    fn from_atom(atom: &Atom, base: &BaseType) -> Result<Self, String> {
        Uuid::from_atom(atom, base).map(Ref::new)
    }
    fn to_atom(&self) -> Atom {
        Atom::Uuid(self.uuid)
    }
    fn cmp_atomic(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
    fn from_wire(atom: WireAtom<'_>, base: &BaseType) -> Result<Self, String> {
        Uuid::from_wire(atom, base).map(Ref::new)
    }
}

/// A generated enum of the values of a string enumeration, with an `Other(String)` escape
/// hatch for values the schema does not list.
///
/// Generated enums implement [`Atomic`] with [`string_enum_from_atom`] and order, compare
/// and hash by [`StringEnum::as_str`], so `Other("drop")` equals the listed `Drop` variant.
pub trait StringEnum: Sized {
    /// The value's name, as on the wire.
    fn as_str(&self) -> &str;

    /// The variant for a wire value: a listed variant, or `Other` for an unlisted one.
    fn from_name(name: &str) -> Self;
}

/// The traits every generated string enum shares, derived from its [`StringEnum`] impl:
/// `Default` (the empty name), `From<&str>`, equality, order and hash by name, `Display`, and
/// [`Atomic`]. The generator writes one invocation per enum instead of repeating them.
#[doc(hidden)]
#[macro_export]
macro_rules! string_enum_traits {
    ($name:ident) => {
        impl ::std::default::Default for $name {
            fn default() -> Self {
                <Self as $crate::typed::StringEnum>::from_name("")
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(name: &str) -> Self {
                <Self as $crate::typed::StringEnum>::from_name(name)
            }
        }

        impl ::std::cmp::PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                $crate::typed::StringEnum::as_str(self) == $crate::typed::StringEnum::as_str(other)
            }
        }

        impl ::std::cmp::Eq for $name {}

        impl ::std::cmp::PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> ::std::option::Option<::std::cmp::Ordering> {
                ::std::option::Option::Some(::std::cmp::Ord::cmp(self, other))
            }
        }

        impl ::std::cmp::Ord for $name {
            fn cmp(&self, other: &Self) -> ::std::cmp::Ordering {
                $crate::typed::StringEnum::as_str(self)
                    .cmp($crate::typed::StringEnum::as_str(other))
            }
        }

        impl ::std::hash::Hash for $name {
            fn hash<H: ::std::hash::Hasher>(&self, state: &mut H) {
                $crate::typed::StringEnum::as_str(self).hash(state);
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::typed::StringEnum::as_str(self))
            }
        }

        impl $crate::typed::Atomic for $name {
            const KIND: $crate::schema::AtomicType = $crate::schema::AtomicType::String;

            fn from_atom(
                atom: &$crate::Atom,
                base: &$crate::schema::BaseType,
            ) -> ::std::result::Result<Self, ::std::string::String> {
                $crate::typed::rt::string_enum_from_atom(atom, base)
            }

            fn to_atom(&self) -> $crate::Atom {
                $crate::Atom::String($crate::typed::StringEnum::as_str(self).to_owned())
            }

            fn cmp_atomic(&self, other: &Self) -> ::std::cmp::Ordering {
                ::std::cmp::Ord::cmp(self, other)
            }
        }
    };
}

/// [`Atomic::from_atom`] for a generated [`StringEnum`]: any string converts (unlisted values
/// to `Other`); other atom types are an error. Length constraints of `base` are checked.
pub fn string_enum_from_atom<E: StringEnum>(atom: &Atom, base: &BaseType) -> Result<E, String> {
    match atom {
        Atom::String(s) => {
            if base.min_length.is_some() || base.max_length.is_some() {
                let mut plain = base.clone();
                plain.enumeration = None;
                plain.check(atom)?;
            }
            Ok(E::from_name(s))
        }
        other => Err(wrong_type(AtomicType::String, other)),
    }
}

/// [`Atomic::from_wire`] for a generated [`StringEnum`]: like [`string_enum_from_atom`],
/// without allocating for listed values.
pub fn string_enum_from_wire<E: StringEnum>(
    atom: WireAtom<'_>,
    base: &BaseType,
) -> Result<E, String> {
    match atom {
        WireAtom::String(s) => {
            if base.min_length.is_some() || base.max_length.is_some() {
                return string_enum_from_atom(&Atom::String(s.to_owned()), base);
            }
            Ok(E::from_name(s))
        }
        other => Err(wrong_wire_type(AtomicType::String, other)),
    }
}

// ---------------------------------------------------------------------------------------------
// Column values.

/// The Rust type of a column: a scalar [`Atomic`] `T`, `Option<T>`, `Vec<T>` (a sorted set)
/// or `BTreeMap<K, V>`.
pub trait ColumnValue: Sized + Clone + PartialEq {
    /// Converts a column's datum, checking every constraint of `ty` (atom types, ranges,
    /// lengths, the number of elements).
    fn from_datum(datum: &Datum, ty: &ColumnType) -> Result<Self, String>;

    /// The datum (sets sorted, maps sorted by key).
    fn to_datum(&self) -> Datum;

    /// Applies an `update2` `modify` diff (see [`Datum::diff`]): the new value where at most one
    /// element is allowed (scalars, optional values), otherwise the symmetric difference of a
    /// set or the changed, added and removed pairs of a map.
    fn apply_diff(&mut self, diff: &Datum, ty: &ColumnType) -> Result<(), String>;

    /// Decodes the column's wire form (RFC 7047 §5.1: a bare atom, `["set",[…]]`,
    /// `["map",[…]]`, `["uuid","…"]`) straight into the value, with the checks of
    /// [`ColumnValue::from_datum`], without building a [`Datum`].
    fn deserialize_wire<'de, D: Deserializer<'de>>(d: D, ty: &ColumnType)
        -> Result<Self, D::Error>;
}

/// Whether `update2` diffs of the column are differences rather than new values: more than
/// one element allowed (Open vSwitch's `ovsdb_type_is_composite`).
pub(crate) fn is_composite(ty: &ColumnType) -> bool {
    ty.max != Some(1)
}

pub(crate) fn check_count(n: usize, ty: &ColumnType) -> Result<(), String> {
    let n = n as u64;
    if n < ty.min {
        return Err(format!("{n} elements, fewer than the minimum {}", ty.min));
    }
    if let Some(max) = ty.max {
        if n > max {
            return Err(format!("{n} elements, more than the maximum {max}"));
        }
    }
    Ok(())
}

pub(crate) fn set_atoms(datum: &Datum) -> Result<&[Atom], String> {
    match datum {
        Datum::Set(s) => Ok(s.as_slice()),
        Datum::Map(m) if m.is_empty() => Ok(&[]),
        Datum::Map(_) => Err("expected a set, got a map".into()),
    }
}

pub(crate) fn atoms_to_vec<T: Atomic>(atoms: &[Atom], base: &BaseType) -> Result<Vec<T>, String> {
    let mut out = Vec::with_capacity(atoms.len());
    for a in atoms {
        out.push(T::from_atom(a, base)?);
    }
    sort_set(&mut out);
    Ok(out)
}

/// Sorts a set in [`Atomic::cmp_atomic`] order and drops duplicates, the form decoded sets
/// have.
pub fn sort_set<T: Atomic>(set: &mut Vec<T>) {
    if !set
        .windows(2)
        .all(|w| w[0].cmp_atomic(&w[1]) == Ordering::Less)
    {
        set.sort_by(T::cmp_atomic);
        set.dedup_by(|a, b| a.cmp_atomic(b) == Ordering::Equal);
    }
}

/// Replaces `set` (sorted) with its symmetric difference with `diff` (sorted).
pub(crate) fn symmetric_difference<T: Atomic>(set: &mut Vec<T>, diff: Vec<T>) {
    let mut out = Vec::with_capacity(set.len() + diff.len());
    let mut a = std::mem::take(set).into_iter().peekable();
    let mut b = diff.into_iter().peekable();
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => match x.cmp_atomic(y) {
                Ordering::Less => out.extend(a.next()),
                Ordering::Greater => out.extend(b.next()),
                Ordering::Equal => {
                    a.next();
                    b.next();
                }
            },
            (Some(_), None) => out.extend(a.by_ref()),
            (None, Some(_)) => out.extend(b.by_ref()),
            (None, None) => break,
        }
    }
    *set = out;
}

impl<T: Atomic> ColumnValue for T {
    fn from_datum(datum: &Datum, ty: &ColumnType) -> Result<Self, String> {
        let atoms = set_atoms(datum)?;
        check_count(atoms.len(), ty)?;
        match atoms {
            [a] => T::from_atom(a, &ty.key),
            _ => Err(format!("{} elements where one is expected", atoms.len())),
        }
    }
    fn to_datum(&self) -> Datum {
        Datum::scalar(self.to_atom())
    }
    fn apply_diff(&mut self, diff: &Datum, ty: &ColumnType) -> Result<(), String> {
        *self = Self::from_datum(diff, ty)?;
        Ok(())
    }
    fn deserialize_wire<'de, D: Deserializer<'de>>(
        d: D,
        ty: &ColumnType,
    ) -> Result<Self, D::Error> {
        let one: AtMostOne<T> = d.deserialize_any(SetVisitor::new(&ty.key))?;
        check_count(one.len(), ty).map_err(de::Error::custom)?;
        match one.first {
            Some(t) if one.extra == 0 => Ok(t),
            _ => Err(de::Error::custom(format!(
                "{} elements where one is expected",
                one.len()
            ))),
        }
    }
}

impl<T: Atomic> ColumnValue for Option<T> {
    fn from_datum(datum: &Datum, ty: &ColumnType) -> Result<Self, String> {
        let atoms = set_atoms(datum)?;
        check_count(atoms.len(), ty)?;
        match atoms {
            [] => Ok(None),
            [a] => T::from_atom(a, &ty.key).map(Some),
            _ => Err(format!(
                "{} elements where at most one is expected",
                atoms.len()
            )),
        }
    }
    fn to_datum(&self) -> Datum {
        Datum::Set(Set::from_atoms(self.iter().map(T::to_atom).collect()))
    }
    fn apply_diff(&mut self, diff: &Datum, ty: &ColumnType) -> Result<(), String> {
        if !is_composite(ty) {
            *self = Self::from_datum(diff, ty)?;
            return Ok(());
        }
        let d = atoms_to_vec::<T>(set_atoms(diff)?, &ty.key)?;
        let mut set: Vec<T> = self.take().into_iter().collect();
        symmetric_difference(&mut set, d);
        check_count(set.len(), ty).map_err(|e| format!("diff leaves {e}"))?;
        match set.len() {
            0 | 1 => *self = set.pop(),
            n => {
                return Err(format!(
                    "diff leaves {n} elements where at most one is allowed"
                ))
            }
        }
        Ok(())
    }
    fn deserialize_wire<'de, D: Deserializer<'de>>(
        d: D,
        ty: &ColumnType,
    ) -> Result<Self, D::Error> {
        let one: AtMostOne<T> = d.deserialize_any(SetVisitor::new(&ty.key))?;
        check_count(one.len(), ty).map_err(de::Error::custom)?;
        if one.extra > 0 {
            return Err(de::Error::custom(format!(
                "{} elements where at most one is expected",
                one.len()
            )));
        }
        Ok(one.first)
    }
}

impl<T: Atomic> ColumnValue for Vec<T> {
    fn from_datum(datum: &Datum, ty: &ColumnType) -> Result<Self, String> {
        let atoms = set_atoms(datum)?;
        check_count(atoms.len(), ty)?;
        atoms_to_vec(atoms, &ty.key)
    }
    fn to_datum(&self) -> Datum {
        Datum::Set(Set::from_atoms(self.iter().map(T::to_atom).collect()))
    }
    fn apply_diff(&mut self, diff: &Datum, ty: &ColumnType) -> Result<(), String> {
        if !is_composite(ty) {
            *self = Self::from_datum(diff, ty)?;
            return Ok(());
        }
        let d = atoms_to_vec::<T>(set_atoms(diff)?, &ty.key)?;
        sort_set(self);
        symmetric_difference(self, d);
        check_count(self.len(), ty).map_err(|e| format!("diff leaves {e}"))
    }
    fn deserialize_wire<'de, D: Deserializer<'de>>(
        d: D,
        ty: &ColumnType,
    ) -> Result<Self, D::Error> {
        let mut set: Vec<T> = d.deserialize_any(SetVisitor::new(&ty.key))?;
        check_count(set.len(), ty).map_err(de::Error::custom)?;
        // A replica keeps every row: no spare capacity (most sets hold one or two atoms).
        set.shrink_to_fit();
        if !set
            .windows(2)
            .all(|w| w[0].cmp_atomic(&w[1]) == Ordering::Less)
        {
            set.sort_by(T::cmp_atomic);
            if let Some(w) = set
                .windows(2)
                .find(|w| w[0].cmp_atomic(&w[1]) == Ordering::Equal)
            {
                return Err(de::Error::custom(format!(
                    "set contains duplicate value {}",
                    w[0].to_atom()
                )));
            }
        }
        Ok(set)
    }
}

pub(crate) fn map_pairs(datum: &Datum) -> Result<&[(Atom, Atom)], String> {
    match datum {
        Datum::Map(m) => Ok(m.as_slice()),
        Datum::Set(s) if s.is_empty() => Ok(&[]),
        Datum::Set(_) => Err("expected a map, got a set".into()),
    }
}

pub(crate) fn value_type(ty: &ColumnType) -> Result<&BaseType, String> {
    ty.value
        .as_ref()
        .ok_or_else(|| "column is not a map but its Rust type is".to_owned())
}

impl<K: Atomic + Ord, V: Atomic> ColumnValue for SortedMap<K, V> {
    fn from_datum(datum: &Datum, ty: &ColumnType) -> Result<Self, String> {
        let pairs = map_pairs(datum)?;
        check_count(pairs.len(), ty)?;
        let vt = value_type(ty)?;
        let mut out = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            out.push((K::from_atom(k, &ty.key)?, V::from_atom(v, vt)?));
        }
        // `Map` pairs are sorted and unique by atom order; typed keys may order otherwise.
        SortedMap::try_from_pairs(out)
            .map_err(|k| format!("map contains duplicate key {}", k.to_atom()))
    }
    fn to_datum(&self) -> Datum {
        Datum::Map(Map::from_pairs(
            self.iter()
                .map(|(k, v)| (k.to_atom(), v.to_atom()))
                .collect(),
        ))
    }
    fn apply_diff(&mut self, diff: &Datum, ty: &ColumnType) -> Result<(), String> {
        if !is_composite(ty) {
            *self = Self::from_datum(diff, ty)?;
            return Ok(());
        }
        let vt = value_type(ty)?;
        for (k, v) in map_pairs(diff)? {
            let k = K::from_atom(k, &ty.key)?;
            let v = V::from_atom(v, vt)?;
            match self.get(&k) {
                Some(cur) if *cur == v => {
                    self.remove(&k);
                }
                _ => {
                    self.insert(k, v);
                }
            }
        }
        check_count(self.len(), ty).map_err(|e| format!("diff leaves {e}"))
    }
    fn deserialize_wire<'de, D: Deserializer<'de>>(
        d: D,
        ty: &ColumnType,
    ) -> Result<Self, D::Error> {
        let vt = value_type(ty).map_err(de::Error::custom)?;
        let map = d.deserialize_any(MapVisitor {
            key: &ty.key,
            value: vt,
            out: Vec::new(),
        })?;
        check_count(map.len(), ty).map_err(de::Error::custom)?;
        Ok(map)
    }
}

/// Implements `DeserializeSeed` for a seed that is its own [`Visitor`]: it asks the
/// deserializer for `$shape` (`deserialize_seq`, `deserialize_map`, …) and visits what comes.
/// `[$generics]` are the impl's type parameters besides `'de`.
pub(crate) fn check_map_string(s: &str, base: &BaseType) -> Result<(), String> {
    if base.kind != AtomicType::String {
        return Err(format!(
            "expected {} atoms, the Rust type holds strings",
            base.kind
        ));
    }
    if has_string_constraints(base) {
        base.check(&Atom::String(s.to_owned()))?;
    }
    Ok(())
}

pub(crate) fn string_atom<'a>(atom: &'a Atom, base: &BaseType) -> Result<&'a str, String> {
    match atom {
        Atom::String(s) => {
            check_map_string(s, base)?;
            Ok(s)
        }
        other => Err(wrong_type(AtomicType::String, other)),
    }
}

impl ColumnValue for StringMap {
    fn from_datum(datum: &Datum, ty: &ColumnType) -> Result<Self, String> {
        let pairs = map_pairs(datum)?;
        check_count(pairs.len(), ty)?;
        let vt = value_type(ty)?;
        let mut b = StringMapBuilder::new();
        for (k, v) in pairs {
            b.push(string_atom(k, &ty.key)?)
                .map_err(|e| e.to_string())?;
            b.push(string_atom(v, vt)?).map_err(|e| e.to_string())?;
        }
        b.build()
            .map_err(|k| format!("map contains duplicate key {}", Atom::String(k)))
    }
    fn to_datum(&self) -> Datum {
        Datum::Map(Map::from_pairs(
            self.iter()
                .map(|(k, v)| (Atom::String(k.to_owned()), Atom::String(v.to_owned())))
                .collect(),
        ))
    }
    fn apply_diff(&mut self, diff: &Datum, ty: &ColumnType) -> Result<(), String> {
        if !is_composite(ty) {
            *self = Self::from_datum(diff, ty)?;
            return Ok(());
        }
        let vt = value_type(ty)?;
        for (k, v) in map_pairs(diff)? {
            let (k, v) = (string_atom(k, &ty.key)?, string_atom(v, vt)?);
            if self.get(k) == Some(v) {
                self.remove(k);
            } else {
                self.insert(k, v);
            }
        }
        check_count(self.len(), ty).map_err(|e| format!("diff leaves {e}"))
    }
    fn deserialize_wire<'de, D: Deserializer<'de>>(
        d: D,
        ty: &ColumnType,
    ) -> Result<Self, D::Error> {
        let vt = value_type(ty).map_err(de::Error::custom)?;
        let map = d.deserialize_any(StringMapVisitor {
            key: &ty.key,
            value: vt,
        })?;
        check_count(map.len(), ty).map_err(de::Error::custom)?;
        Ok(map)
    }
}

/// One string of a string map, appended to the builder as it is read.
pub(crate) struct MapStringSeed<'a, 'b> {
    pub(crate) base: &'a BaseType,
    pub(crate) out: &'b mut StringMapBuilder,
}

seed_visits_itself!(deserialize_str, [] MapStringSeed<'_, '_>);

impl<'de> Visitor<'de> for MapStringSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OVSDB string atom")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        check_map_string(v, self.base).map_err(E::custom)?;
        self.out.push(v).map_err(E::custom)
    }
}

/// The `[key, value]` pairs of a string map.
pub(crate) struct MapStringPairs<'a, 'b> {
    pub(crate) key: &'a BaseType,
    pub(crate) value: &'a BaseType,
    pub(crate) out: &'b mut StringMapBuilder,
}

seed_visits_itself!(deserialize_seq, [] MapStringPairs<'_, '_>);

impl<'de> Visitor<'de> for MapStringPairs<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [key, value] pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        struct Pair<'a, 'b>(MapStringPairs<'a, 'b>);
        seed_visits_itself!(deserialize_seq, [] Pair<'_, '_>);
        impl<'de> Visitor<'de> for Pair<'_, '_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a [key, value] pair")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                let MapStringPairs { key, value, out } = self.0;
                let before = out.strings();
                seq.next_element_seed(MapStringSeed {
                    base: key,
                    out: &mut *out,
                })?;
                seq.next_element_seed(MapStringSeed {
                    base: value,
                    out: &mut *out,
                })?;
                if out.strings() != before + 2 {
                    return Err(de::Error::custom("map pair lacks its key or value"));
                }
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("map pair has more than two elements"));
                }
                Ok(())
            }
        }
        while seq
            .next_element_seed(Pair(MapStringPairs {
                key: self.key,
                value: self.value,
                out: &mut *self.out,
            }))?
            .is_some()
        {}
        Ok(())
    }
}

/// A string map's wire value: `["map",[…]]` (or the empty `["set",[]]`).
pub(crate) struct StringMapVisitor<'a> {
    pub(crate) key: &'a BaseType,
    pub(crate) value: &'a BaseType,
}

impl<'de> Visitor<'de> for StringMapVisitor<'_> {
    type Value = StringMap;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OVSDB map [\"map\",[…]]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringMap, A::Error> {
        // One scratch builder per thread: a map then costs one exact allocation, not the
        // growth of two buffers. Decoding a map's strings never decodes another map.
        thread_local! {
            static SCRATCH: std::cell::RefCell<StringMapBuilder> =
                std::cell::RefCell::new(StringMapBuilder::new());
        }
        let mut read = |out: &mut StringMapBuilder| {
            let pairs = MapStringPairs {
                key: self.key,
                value: self.value,
                out: &mut *out,
            };
            read_tagged_map(&mut seq, pairs)?;
            out.build().map_err(|k| {
                de::Error::custom(format!("map contains duplicate key {}", Atom::String(k)))
            })
        };
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut out) => {
                out.clear();
                read(&mut out)
            }
            Err(_) => read(&mut StringMapBuilder::new()),
        })
    }
    scalars_are_not_maps!();
}

/// Reads the rest of a map's wire form after its opening `[`: the tag, then the pairs with
/// `pairs` (`["map",[…]]`) or an empty set (`["set",[]]`, how an empty map may come).
pub(crate) fn read_tagged_map<'de, A, P>(seq: &mut A, pairs: P) -> Result<(), A::Error>
where
    A: SeqAccess<'de>,
    P: DeserializeSeed<'de, Value = ()>,
{
    let tag: WireTag = seq
        .next_element()?
        .ok_or_else(|| de::Error::custom("empty array is not an OVSDB value"))?;
    match tag {
        WireTag::Map => {
            seq.next_element_seed(pairs)?
                .ok_or_else(|| de::Error::custom("[\"map\"] lacks its pairs"))?;
        }
        WireTag::Set => {
            let atoms: Vec<IgnoredAny> = seq
                .next_element()?
                .ok_or_else(|| de::Error::custom("[\"set\"] lacks its elements"))?;
            if !atoms.is_empty() {
                return Err(de::Error::custom("expected a map, got a set"));
            }
        }
        WireTag::Uuid | WireTag::NamedUuid => {
            return Err(de::Error::custom("expected a map, got a set"))
        }
    }
    end_of_tagged(seq)
}

pub(crate) fn datum_text(datum: &Datum) -> String {
    serde_json::to_string(datum).unwrap_or_default()
}

/// Decodes the value of `table.column` from `datum` (see [`ColumnValue::from_datum`]), with
/// an [`Error::Schema`] naming the column and the value on failure.
pub fn decode_column<V: ColumnValue>(
    table: &str,
    column: &str,
    datum: &Datum,
    ty: &ColumnType,
) -> Result<V> {
    V::from_datum(datum, ty)
        .map_err(|reason| Error::schema(format!("{table}.{column}"), datum_text(datum), reason))
}

/// Applies an `update2` diff to the value of `table.column` (see
/// [`ColumnValue::apply_diff`]), with an [`Error::Schema`] naming the column and the diff on
/// failure. On failure the value may be partly changed.
pub fn apply_column_diff<V: ColumnValue>(
    value: &mut V,
    table: &str,
    column: &str,
    diff: &Datum,
    ty: &ColumnType,
) -> Result<()> {
    value
        .apply_diff(diff, ty)
        .map_err(|reason| Error::schema(format!("{table}.{column}"), datum_text(diff), reason))
}
