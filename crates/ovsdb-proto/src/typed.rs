//! The runtime of generated typed rows (`ovsdb-codegen` output such as the `ovn-nb` crate).
//!
//! Generated code turns each table of a schema into a struct implementing [`Table`] and a
//! column enum implementing [`Column`]. This module holds what those impls share:
//!
//! - [`Ref<T>`], a typed row reference (a UUID that remembers the table it points into);
//! - [`Atomic`], the conversion between one [`Atom`] and a Rust value (`String`, `i64`, `f64`,
//!   `bool`, [`Uuid`], [`Ref<T>`] and generated string enums);
//! - [`ColumnValue`], the conversion between a column's [`Datum`] and its field type: `T` for a
//!   scalar (`min` 1, `max` 1), `Option<T>` for an optional value (`min` 0, `max` 1), `Vec<T>`
//!   for a set and `BTreeMap<K, V>` for a map, including `update2` diff application;
//! - [`IntoDatum`] and the condition and mutation builders of [`Column`];
//! - decoding straight from the wire: [`deserialize_row`] (the `Deserialize` of generated
//!   structs), [`ColumnSeed`], [`TypedTableUpdate2`] and [`TypedRowUpdate2`]. This path reads
//!   `update2`/`update3` rows and `monitor_cond` replies into typed rows without building
//!   [`Row`]s and [`Datum`]s first, with the same checks as [`Table::from_row`]; the
//!   generated `TableUpdates2` of each schema crate decodes a whole `<table-updates2>`.
//!
//! ```
//! use ovsdb_proto::typed::{Column, Ref};
//! use ovsdb_proto::{Condition, Datum, Function, Uuid};
//!
//! // A generated crate gives `LogicalSwitchPortColumn::Name.equals("lsp0")`; any `Column`
//! // builds conditions and mutations from typed values the same way.
//! struct Port;
//! let port: Ref<Port> = Ref::new(Uuid::from_u128(7));
//! assert_eq!(port.to_string(), "00000000-0000-0000-0000-000000000007");
//! let c = Condition::new("name", Function::Eq, Datum::scalar("lsp0"));
//! assert_eq!(serde_json::to_string(&c).unwrap(), r#"["name","==","lsp0"]"#);
//! ```
//!
//! # Sets are sorted `Vec`s
//!
//! A set column is a `Vec<T>`, not a `BTreeSet<T>`: it costs one allocation instead of a tree
//! node per row and also holds reals. Decoded sets are sorted (in the order of
//! [`Atomic::cmp_atomic`], which is the order of [`Atom`]) and free of duplicates; a set
//! written by the caller may be in any order, since [`ColumnValue::to_datum`] sorts it. Keep
//! the sets of typed rows you compare sorted (see [`sort_set`]).
//!
//! # Errors
//!
//! A value that breaks its column's type (a wrong atom type, too many or too few elements, an
//! integer out of range, a string too long, a value outside a non-string enumeration) gives
//! [`Error::Schema`] whose path is `table.column` and whose value is the datum as JSON. String
//! enumerations never fail: their generated enums carry an `Other(String)` escape hatch, because
//! OVN adds values between versions.
//!
//! # Schema skew
//!
//! [`Table::from_row`] ignores columns it does not know (a newer server) and leaves the
//! columns a row lacks at their default (an older server, or `update2` rows, which omit
//! default values). [`Table::missing_columns`] and [`Column::is_in`] tell whether a server's
//! schema has a table's columns.
//!
//! A generated crate covers several releases of its schema: its types come from the merged
//! model of [`crate::skew::SchemaHistory`], so they read every pinned release's rows;
//! [`Table::since`] and [`Column::since`] name the release that introduced a table or
//! column, and [`crate::skew::check_operations`] keeps what a server lacks out of its
//! transactions.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, SeqAccess};

use crate::data::{Atom, Datum, Map, Set, Uuid, UuidStr};
use crate::error::{Error, Result};
use crate::operation::{Condition, Function, Mutation, Mutator, Operation};
use crate::row::{Applied, Row, RowUpdate2};
use crate::schema::{AtomicType, BaseType, ColumnType, DatabaseSchema, TableSchema};
use crate::skew::{PinnedSchema, Release, SchemaHistory};
pub use crate::sorted_map::SortedMap;
pub use crate::store::{TypedRows, TypedStore};
pub use crate::string_map::{Iter as StringMapIter, StringMap, StringMapBuilder, TooLong};

// Re-exported for generated code, which depends on this crate only.
pub use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

// ---------------------------------------------------------------------------------------------
// Typed references.

/// A reference to a row of table `T`: a UUID that remembers its target table.
///
/// On the wire it is a plain `["uuid", "…"]`; the type parameter only keeps references to
/// different tables apart at compile time. It is `Copy`, ordered and hashed by its UUID
/// whatever `T` is.
pub struct Ref<T> {
    uuid: Uuid,
    target: PhantomData<fn() -> T>,
}

impl<T> Ref<T> {
    /// A reference to the row `uuid`.
    pub const fn new(uuid: Uuid) -> Self {
        Ref {
            uuid,
            target: PhantomData,
        }
    }

    /// The referenced row's UUID.
    pub const fn uuid(self) -> Uuid {
        self.uuid
    }

    /// The same UUID as a reference into another table.
    pub const fn cast<U>(self) -> Ref<U> {
        Ref::new(self.uuid)
    }
}

impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Ref<T> {}

impl<T> PartialEq for Ref<T> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}

impl<T> Eq for Ref<T> {}

impl<T> PartialOrd for Ref<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Ref<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.uuid.cmp(&other.uuid)
    }
}

impl<T> Hash for Ref<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.uuid.hash(state);
    }
}

impl<T> Default for Ref<T> {
    /// The nil UUID, OVSDB's default UUID atom.
    fn default() -> Self {
        Ref::new(Uuid::nil())
    }
}

impl<T> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ref({})", self.uuid)
    }
}

impl<T> fmt::Display for Ref<T> {
    /// The hyphenated UUID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.uuid, f)
    }
}

impl<T> From<Uuid> for Ref<T> {
    fn from(uuid: Uuid) -> Self {
        Ref::new(uuid)
    }
}

impl<T> From<Ref<T>> for Uuid {
    fn from(r: Ref<T>) -> Self {
        r.uuid
    }
}

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

fn wrong_wire_type(expected: AtomicType, got: WireAtom<'_>) -> String {
    wrong_type(expected, &got.to_atom())
}

fn has_string_constraints(base: &BaseType) -> bool {
    base.enumeration.is_some() || base.min_length.is_some() || base.max_length.is_some()
}

fn wrong_type(expected: AtomicType, got: &Atom) -> String {
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
                $crate::typed::string_enum_from_atom(atom, base)
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
fn is_composite(ty: &ColumnType) -> bool {
    ty.max != Some(1)
}

fn check_count(n: usize, ty: &ColumnType) -> Result<(), String> {
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

fn set_atoms(datum: &Datum) -> Result<&[Atom], String> {
    match datum {
        Datum::Set(s) => Ok(s.as_slice()),
        Datum::Map(m) if m.is_empty() => Ok(&[]),
        Datum::Map(_) => Err("expected a set, got a map".into()),
    }
}

fn atoms_to_vec<T: Atomic>(atoms: &[Atom], base: &BaseType) -> Result<Vec<T>, String> {
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
fn symmetric_difference<T: Atomic>(set: &mut Vec<T>, diff: Vec<T>) {
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

fn map_pairs(datum: &Datum) -> Result<&[(Atom, Atom)], String> {
    match datum {
        Datum::Map(m) => Ok(m.as_slice()),
        Datum::Set(s) if s.is_empty() => Ok(&[]),
        Datum::Set(_) => Err("expected a map, got a set".into()),
    }
}

fn value_type(ty: &ColumnType) -> Result<&BaseType, String> {
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
macro_rules! seed_visits_itself {
    ($shape:ident, [$($generics:tt)*] $seed:ty) => {
        impl<'de, $($generics)*> DeserializeSeed<'de> for $seed {
            type Value = <Self as Visitor<'de>>::Value;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.$shape(self)
            }
        }
    };
}

/// The `visit_*` methods of a map visitor for the scalar atoms a map cannot be.
macro_rules! scalars_are_not_maps {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(E::custom("expected a map, got a set"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(E::custom("expected a map, got a set"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(E::custom("expected a map, got a set"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(E::custom("expected a map, got a set"))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom("expected a map, got a set"))
        }
    };
}

/// Checks a string atom of a map against its base type's constraints (enumeration, lengths).
fn check_map_string(s: &str, base: &BaseType) -> Result<(), String> {
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

fn string_atom<'a>(atom: &'a Atom, base: &BaseType) -> Result<&'a str, String> {
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
struct MapStringSeed<'a, 'b> {
    base: &'a BaseType,
    out: &'b mut StringMapBuilder,
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
struct MapStringPairs<'a, 'b> {
    key: &'a BaseType,
    value: &'a BaseType,
    out: &'b mut StringMapBuilder,
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
struct StringMapVisitor<'a> {
    key: &'a BaseType,
    value: &'a BaseType,
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
fn read_tagged_map<'de, A, P>(seq: &mut A, pairs: P) -> Result<(), A::Error>
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

fn datum_text(datum: &Datum) -> String {
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

// ---------------------------------------------------------------------------------------------
// Wire decoding straight into typed values.

/// The tag of a JSON array in the data notation.
enum WireTag {
    Set,
    Map,
    Uuid,
    NamedUuid,
}

impl<'de> Deserialize<'de> for WireTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = WireTag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#""set", "map", "uuid" or "named-uuid""#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireTag, E> {
                Ok(match v {
                    "set" => WireTag::Set,
                    "map" => WireTag::Map,
                    "uuid" => WireTag::Uuid,
                    "named-uuid" => WireTag::NamedUuid,
                    other => return Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// Where a set visitor puts the atoms it reads.
trait Collect<T>: Default {
    fn push(&mut self, t: T);
    /// The collection of one atom (a bare atom on the wire).
    fn one(t: T) -> Self {
        let mut out = Self::default();
        out.push(t);
        out
    }
}

impl<T> Collect<T> for Vec<T> {
    fn push(&mut self, t: T) {
        Vec::push(self, t);
    }
    fn one(t: T) -> Self {
        // Exactly one slot: a first `push` would reserve four, and the set is then shrunk.
        vec![t]
    }
}

/// Keeps the first atom and counts the others: scalars and optional values without a `Vec`.
struct AtMostOne<T> {
    first: Option<T>,
    extra: usize,
}

impl<T> Default for AtMostOne<T> {
    fn default() -> Self {
        AtMostOne {
            first: None,
            extra: 0,
        }
    }
}

impl<T> AtMostOne<T> {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.extra
    }
}

impl<T> Collect<T> for AtMostOne<T> {
    fn push(&mut self, t: T) {
        if self.first.is_none() {
            self.first = Some(t);
        } else {
            self.extra += 1;
        }
    }
}

/// Converts a JSON scalar to `T` (shared by the atom and set visitors).
fn wire_scalar<T: Atomic, E: de::Error>(atom: WireAtom<'_>, base: &BaseType) -> Result<T, E> {
    T::from_wire(atom, base).map_err(E::custom)
}

fn wire_u64<T: Atomic, E: de::Error>(v: u64, base: &BaseType) -> Result<T, E> {
    let i = i64::try_from(v)
        .map_err(|_| E::custom(format!("integer {v} out of 64-bit signed range")))?;
    wire_scalar(WireAtom::Integer(i), base)
}

/// Reads the rest of `["uuid","…"]` or `["named-uuid","…"]` after its tag.
fn wire_uuid<'de, T: Atomic, A: SeqAccess<'de>>(
    tag: WireTag,
    seq: &mut A,
    base: &BaseType,
) -> Result<T, A::Error> {
    let t = match tag {
        WireTag::Uuid => {
            let UuidStr(u) = seq
                .next_element()?
                .ok_or_else(|| de::Error::custom("[\"uuid\"] lacks its UUID"))?;
            wire_scalar(WireAtom::Uuid(u), base)?
        }
        WireTag::NamedUuid => {
            let name: String = seq
                .next_element()?
                .ok_or_else(|| de::Error::custom("[\"named-uuid\"] lacks its name"))?;
            wire_scalar(WireAtom::NamedUuid(&name), base)?
        }
        WireTag::Set | WireTag::Map => {
            return Err(de::Error::custom("expected an atom, got a set or map"))
        }
    };
    end_of_tagged(seq)?;
    Ok(t)
}

fn end_of_tagged<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<(), A::Error> {
    if seq.next_element::<IgnoredAny>()?.is_some() {
        return Err(de::Error::custom(
            "tagged OVSDB value has more than two elements",
        ));
    }
    Ok(())
}

/// One atom: a JSON scalar, `["uuid","…"]` or `["named-uuid","…"]`.
struct AtomSeed<'a, T> {
    base: &'a BaseType,
    target: PhantomData<fn() -> T>,
}

impl<'a, T> AtomSeed<'a, T> {
    fn new(base: &'a BaseType) -> Self {
        AtomSeed {
            base,
            target: PhantomData,
        }
    }
}

seed_visits_itself!(deserialize_any, [T: Atomic] AtomSeed<'_, T>);

impl<'de, T: Atomic> Visitor<'de> for AtomSeed<'_, T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an OVSDB {} atom", self.base.kind)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        wire_scalar(WireAtom::Boolean(v), self.base)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        wire_scalar(WireAtom::Integer(v), self.base)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        wire_u64(v, self.base)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        wire_scalar(WireAtom::Real(v), self.base)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        wire_scalar(WireAtom::String(v), self.base)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let tag: WireTag = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("empty array is not an OVSDB atom"))?;
        wire_uuid(tag, &mut seq, self.base)
    }
}

/// The elements of `["set",[…]]`.
struct ElementsSeed<'a, 'c, T, C> {
    base: &'a BaseType,
    out: &'c mut C,
    target: PhantomData<fn() -> T>,
}

seed_visits_itself!(deserialize_seq, [T: Atomic, C: Collect<T>] ElementsSeed<'_, '_, T, C>);

impl<'de, T: Atomic, C: Collect<T>> Visitor<'de> for ElementsSeed<'_, '_, T, C> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of atoms")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(t) = seq.next_element_seed(AtomSeed::<T>::new(self.base))? {
            self.out.push(t);
        }
        Ok(())
    }
}

/// A set-typed value: a bare atom or `["set",[…]]`.
struct SetVisitor<'a, T, C> {
    base: &'a BaseType,
    target: PhantomData<fn() -> (T, C)>,
}

impl<'a, T, C> SetVisitor<'a, T, C> {
    fn new(base: &'a BaseType) -> Self {
        SetVisitor {
            base,
            target: PhantomData,
        }
    }

    fn one<E>(t: Result<T, E>) -> Result<C, E>
    where
        C: Collect<T>,
    {
        Ok(C::one(t?))
    }
}

impl<'de, T: Atomic, C: Collect<T>> Visitor<'de> for SetVisitor<'_, T, C> {
    type Value = C;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an OVSDB {} atom or [\"set\",[…]]", self.base.kind)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<C, E> {
        Self::one(wire_scalar(WireAtom::Boolean(v), self.base))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<C, E> {
        Self::one(wire_scalar(WireAtom::Integer(v), self.base))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<C, E> {
        Self::one(wire_u64(v, self.base))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<C, E> {
        Self::one(wire_scalar(WireAtom::Real(v), self.base))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<C, E> {
        Self::one(wire_scalar(WireAtom::String(v), self.base))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<C, A::Error> {
        let tag: WireTag = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("empty array is not an OVSDB value"))?;
        match tag {
            WireTag::Set => {
                let mut out = C::default();
                seq.next_element_seed(ElementsSeed {
                    base: self.base,
                    out: &mut out,
                    target: PhantomData,
                })?
                .ok_or_else(|| de::Error::custom("[\"set\"] lacks its elements"))?;
                end_of_tagged(&mut seq)?;
                Ok(out)
            }
            WireTag::Map => {
                let pairs: Vec<IgnoredAny> = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("[\"map\"] lacks its pairs"))?;
                if !pairs.is_empty() {
                    return Err(de::Error::custom("expected a set, got a map"));
                }
                end_of_tagged(&mut seq)?;
                Ok(C::default())
            }
            tag => Self::one(wire_uuid(tag, &mut seq, self.base)),
        }
    }
}

/// A `[key, value]` pair of `["map",[…]]`.
struct PairSeed<'a, K, V> {
    key: &'a BaseType,
    value: &'a BaseType,
    target: PhantomData<fn() -> (K, V)>,
}

seed_visits_itself!(deserialize_seq, [K: Atomic, V: Atomic] PairSeed<'_, K, V>);

impl<'de, K: Atomic, V: Atomic> Visitor<'de> for PairSeed<'_, K, V> {
    type Value = (K, V);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a [key, value] pair")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(K, V), A::Error> {
        let k = seq
            .next_element_seed(AtomSeed::<K>::new(self.key))?
            .ok_or_else(|| de::Error::custom("map pair lacks its key"))?;
        let v = seq
            .next_element_seed(AtomSeed::<V>::new(self.value))?
            .ok_or_else(|| de::Error::custom("map pair lacks its value"))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("map pair has more than two elements"));
        }
        Ok((k, v))
    }
}

/// The pairs of `["map",[…]]`, into a map.
struct PairsSeed<'a, 'c, K, V> {
    key: &'a BaseType,
    value: &'a BaseType,
    out: &'c mut Vec<(K, V)>,
}

seed_visits_itself!(deserialize_seq, [K: Atomic + Ord, V: Atomic] PairsSeed<'_, '_, K, V>);

impl<'de, K: Atomic + Ord, V: Atomic> Visitor<'de> for PairsSeed<'_, '_, K, V> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [key, value] pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let seed = || PairSeed::<K, V> {
            key: self.key,
            value: self.value,
            target: PhantomData,
        };
        if let Some(n) = seq.size_hint() {
            self.out.reserve_exact(n);
        }
        while let Some(pair) = seq.next_element_seed(seed())? {
            self.out.push(pair);
        }
        Ok(())
    }
}

/// A map-typed value: `["map",[…]]` (or the empty `["set",[]]`).
struct MapVisitor<'a, K, V> {
    key: &'a BaseType,
    value: &'a BaseType,
    out: Vec<(K, V)>,
}

impl<'de, K: Atomic + Ord, V: Atomic> Visitor<'de> for MapVisitor<'_, K, V> {
    type Value = SortedMap<K, V>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OVSDB map [\"map\",[…]]")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        let pairs = PairsSeed {
            key: self.key,
            value: self.value,
            out: &mut self.out,
        };
        read_tagged_map(&mut seq, pairs)?;
        let mut out = std::mem::take(&mut self.out);
        out.shrink_to_fit();
        SortedMap::try_from_pairs(out)
            .map_err(|k| de::Error::custom(format!("map contains duplicate key {}", k.to_atom())))
    }
    scalars_are_not_maps!();
}

/// Decodes one column's wire value into its typed field (see
/// [`ColumnValue::deserialize_wire`]); errors name `table.column`. Generated
/// [`Table::read_column`] impls use it with [`MapAccess::next_value_seed`].
pub struct ColumnSeed<'a, C, V> {
    column: C,
    ty: &'a ColumnType,
    target: PhantomData<fn() -> V>,
}

impl<C: Column, V> ColumnSeed<'static, C, V> {
    /// The seed of `column`.
    pub fn new(column: C) -> Self {
        ColumnSeed {
            column,
            ty: column.column_type(),
            target: PhantomData,
        }
    }
}

impl<'de, C: Column, V: ColumnValue> DeserializeSeed<'de> for ColumnSeed<'_, C, V> {
    type Value = V;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V, D::Error> {
        V::deserialize_wire(d, self.ty)
            .map_err(|e| de::Error::custom(format!("{}.{}: {e}", C::TABLE, self.column.name())))
    }
}

/// A row key: the column it names, or `None` for a column the table does not know.
struct ColumnKey<C>(Option<C>);

impl<'de, C: Column> Deserialize<'de> for ColumnKey<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<C>(PhantomData<fn() -> C>);
        impl<C: Column> Visitor<'_> for V<C> {
            type Value = ColumnKey<C>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnKey<C>, E> {
                Ok(ColumnKey(C::from_name(v)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// Reads a row object's columns into an existing row, in place: the row is built where it
/// will stay rather than moved there (a generated row is a few hundred bytes).
struct RowInto<'r, T>(&'r mut T);

seed_visits_itself!(deserialize_map, [T: Table] RowInto<'_, T>);

impl<'de, T: Table> Visitor<'de> for RowInto<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} row object", T::NAME)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(ColumnKey(column)) = map.next_key::<ColumnKey<T::Column>>()? {
            match column {
                Some(c) => self.0.read_column(c, &mut map)?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Decodes a row object in the form of `update2` `initial` and `insert` rows straight into a
/// typed row: absent columns keep their default, unknown columns are skipped (schema skew),
/// every value is checked against its column type. The UUID stays nil: it is the key the row
/// sits under (see [`TypedTableUpdate2`]). Generated structs implement `Deserialize` with it.
pub fn deserialize_row<'de, T: Table, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let mut row = T::default();
    RowInto(&mut row).deserialize(d)?;
    Ok(row)
}

/// A typed `<row-update2>` of `update2`/`update3` and `monitor_cond` replies.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedRowUpdate2<T> {
    /// A row present when the monitor started.
    Initial(T),
    /// A new row.
    Insert(T),
    /// Changed columns, as diffs, to apply with [`Table::apply_diff`].
    Modify(Row),
    /// The row was deleted.
    Delete,
}

impl<T: Table> TypedRowUpdate2<T> {
    /// Applies the change to a replica of the table, like [`Table::apply_update2`].
    pub fn apply(self, rows: &mut HashMap<Uuid, T>, uuid: Uuid) -> Result<Applied> {
        match self {
            TypedRowUpdate2::Initial(row) | TypedRowUpdate2::Insert(row) => {
                match rows.insert(uuid, row) {
                    None => Ok(Applied::Inserted),
                    Some(_) => Ok(Applied::Modified),
                }
            }
            TypedRowUpdate2::Modify(diff) => {
                T::apply_update2(rows, uuid, &RowUpdate2::Modify(diff))
            }
            TypedRowUpdate2::Delete => T::apply_update2(rows, uuid, &RowUpdate2::Delete),
        }
    }
}

/// The changes to one table in a `<table-updates2>`, typed, in the order they arrived.
/// `Initial` and `Insert` rows carry the UUID they arrived under.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedTableUpdate2<T>(pub Vec<(Uuid, TypedRowUpdate2<T>)>);

impl<T> Default for TypedTableUpdate2<T> {
    fn default() -> Self {
        TypedTableUpdate2(Vec::new())
    }
}

/// Decodes one `<row-update2>` and appends it to a table's list of changes. `Initial` and
/// `Insert` rows are decoded in the slot they end up in.
struct RowUpdateInto<'v, T> {
    uuid: Uuid,
    out: &'v mut Vec<(Uuid, TypedRowUpdate2<T>)>,
}

seed_visits_itself!(deserialize_map, [T: Table] RowUpdateInto<'_, T>);

enum UpdateKind {
    Initial,
    Insert,
    Modify,
    Delete,
}

impl<'de> Deserialize<'de> for UpdateKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = UpdateKind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("initial, insert, modify or delete")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UpdateKind, E> {
                Ok(match v {
                    "initial" => UpdateKind::Initial,
                    "insert" => UpdateKind::Insert,
                    "modify" => UpdateKind::Modify,
                    "delete" => UpdateKind::Delete,
                    other => {
                        return Err(E::unknown_field(
                            other,
                            &["initial", "insert", "modify", "delete"],
                        ))
                    }
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de, T: Table> Visitor<'de> for RowUpdateInto<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a <row-update2> object with one of initial, insert, modify, delete")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(kind) = map.next_key::<UpdateKind>()? else {
            return Err(de::Error::custom("<row-update2> is empty"));
        };
        let update = match kind {
            UpdateKind::Initial => TypedRowUpdate2::Initial(T::default()),
            UpdateKind::Insert => TypedRowUpdate2::Insert(T::default()),
            UpdateKind::Modify => TypedRowUpdate2::Modify(map.next_value()?),
            UpdateKind::Delete => {
                map.next_value::<IgnoredAny>()?;
                TypedRowUpdate2::Delete
            }
        };
        self.out.push((self.uuid, update));
        if let Some((_, TypedRowUpdate2::Initial(row) | TypedRowUpdate2::Insert(row))) =
            self.out.last_mut()
        {
            map.next_value_seed(RowInto(row))?;
            row.set_uuid(self.uuid);
        }
        if map.next_key::<UpdateKind>()?.is_some() {
            return Err(de::Error::custom("<row-update2> has more than one member"));
        }
        Ok(())
    }
}

/// Decodes one table's `<table-update2>` object (row UUID → `<row-update2>`, as a
/// `monitor_cond` reply or an `update2` notification carries it) and applies every row
/// change to `rows` as it is read, without an intermediate list. Returns the changes in
/// order. On error `rows` may hold the changes before the bad one: callers that need all or
/// nothing decode into a fresh map (a full copy) or a staged copy.
pub fn apply_table_update2_json<T: Table>(
    json: &[u8],
    rows: &mut HashMap<Uuid, T>,
) -> Result<Vec<(Uuid, Applied)>> {
    struct Seed<'m, T>(&'m mut HashMap<Uuid, T>);
    seed_visits_itself!(deserialize_map, [T: Table] Seed<'_, T>);
    impl<'de, T: Table> Visitor<'de> for Seed<'_, T> {
        type Value = Vec<(Uuid, Applied)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an object from {} row UUID to row update", T::NAME)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut changes = Vec::new();
            // One slot, reused: each change is applied as soon as it is decoded.
            let mut slot = Vec::with_capacity(1);
            while let Some(UuidStr(uuid)) = map.next_key()? {
                map.next_value_seed(RowUpdateInto {
                    uuid,
                    out: &mut slot,
                })?;
                let Some((u, update)) = slot.pop() else {
                    continue;
                };
                let applied = update.apply(self.0, u).map_err(de::Error::custom)?;
                changes.push((u, applied));
            }
            Ok(changes)
        }
    }
    crate::json::from_bytes_seed(json, Seed(rows)).map_err(|e| Error::from_json(T::NAME, &e))
}

/// Something that wants to hear about every table of a database by its generated type
/// (see [`Database::visit_tables`]).
pub trait TableVisitor {
    /// Called once per table.
    fn visit<T: Table + Send + Sync + 'static>(&mut self);
}

/// A generated database: its name and its tables, for code generic over databases (a
/// client registering a typed replica of every table, for instance).
pub trait Database {
    /// The schema's name.
    const NAME: &'static str;

    /// The model the code was generated from: every pinned release's tables and columns
    /// (see [`crate::skew`]).
    fn schema() -> &'static DatabaseSchema;

    /// The pinned releases of the schema and the first release of each table and column.
    fn history() -> &'static SchemaHistory;

    /// Calls `visitor` once per table, in name order.
    fn visit_tables<V: TableVisitor>(visitor: &mut V);
}

impl<'de, T: Table> Deserialize<'de> for TypedTableUpdate2<T> {
    /// Decodes the object from row UUID to `<row-update2>` of one table.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<fn() -> T>);
        impl<'de, T: Table> Visitor<'de> for V<T> {
            type Value = TypedTableUpdate2<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an object from {} row UUID to row update", T::NAME)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(UuidStr(uuid)) = map.next_key()? {
                    map.next_value_seed(RowUpdateInto {
                        uuid,
                        out: &mut out,
                    })?;
                }
                out.shrink_to_fit();
                Ok(TypedTableUpdate2(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------------
// Query values.

/// A value usable as the argument of a condition or a mutation: any [`ColumnValue`], and
/// `&str`.
pub trait IntoDatum {
    /// The datum.
    fn into_datum(self) -> Datum;
}

impl<T: ColumnValue> IntoDatum for T {
    fn into_datum(self) -> Datum {
        self.to_datum()
    }
}

impl IntoDatum for &str {
    fn into_datum(self) -> Datum {
        Datum::scalar(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Columns and tables.

/// The column enum of a generated table: one variant per column of the schema (without the
/// implicit `_uuid` and `_version`), with typed condition and mutation builders.
///
/// The builders do not check that the value has the column's type; the server does.
pub trait Column: Copy + Eq + Ord + Hash + fmt::Debug + 'static {
    /// The table's name.
    const TABLE: &'static str;

    /// Every column, in name order.
    const ALL: &'static [Self];

    /// The column's name.
    fn name(&self) -> &'static str;

    /// The column called `name`, if the generated table has it.
    fn from_name(name: &str) -> Option<Self>;

    /// The column's type in the model the code was generated from (the loosest type of its
    /// pinned releases, see [`crate::skew`]).
    fn column_type(&self) -> &'static ColumnType;

    /// The first pinned release whose schema has the column.
    fn since(&self) -> Release;

    /// Whether the table of `server`'s schema has this column (schema skew).
    fn is_in(&self, server: &DatabaseSchema) -> bool {
        server
            .table(Self::TABLE)
            .is_some_and(|t| t.columns.contains_key(self.name()))
    }

    /// `[column, function, value]`.
    fn compare(self, function: Function, value: impl IntoDatum) -> Condition {
        Condition::new(self.name(), function, value.into_datum())
    }

    /// `[column, "==", value]`.
    fn equals(self, value: impl IntoDatum) -> Condition {
        self.compare(Function::Eq, value)
    }

    /// `[column, "!=", value]`.
    fn not_equals(self, value: impl IntoDatum) -> Condition {
        self.compare(Function::Ne, value)
    }

    /// `[column, "includes", value]`: the column's set or map contains `value`.
    fn includes(self, value: impl IntoDatum) -> Condition {
        self.compare(Function::Includes, value)
    }

    /// `[column, "excludes", value]`: the column's set or map has nothing of `value`.
    fn excludes(self, value: impl IntoDatum) -> Condition {
        self.compare(Function::Excludes, value)
    }

    /// `[column, mutator, value]`.
    fn mutate(self, mutator: Mutator, value: impl IntoDatum) -> Mutation {
        Mutation::new(self.name(), mutator, value.into_datum())
    }

    /// `[column, "insert", value]`: adds elements to a set, or pairs to a map.
    fn insert_values(self, value: impl IntoDatum) -> Mutation {
        self.mutate(Mutator::Insert, value)
    }

    /// `[column, "delete", value]`: removes elements of a set, or keys (a set) or pairs (a
    /// map) of a map.
    fn delete_values(self, value: impl IntoDatum) -> Mutation {
        self.mutate(Mutator::Delete, value)
    }
}

/// A generated typed row of one table.
///
/// Generated structs have `pub uuid: Uuid` and one public field per column; their `Default`
/// is the row OVSDB creates when an insert names no column.
pub trait Table: Sized + Clone + Default + PartialEq + fmt::Debug {
    /// The table's name.
    const NAME: &'static str;

    /// The table's column enum.
    type Column: Column;

    /// The table's schema in the model the code was generated from.
    fn schema() -> &'static TableSchema;

    /// The first pinned release whose schema has the table.
    fn since() -> Release;

    /// The history of the table's database: its pinned releases, merged model and the
    /// release of each table and column (the same as the generated crate's `history()`).
    fn history() -> &'static SchemaHistory;

    /// The row's UUID (`_uuid`).
    fn uuid(&self) -> Uuid;

    /// Sets the row's UUID.
    fn set_uuid(&mut self, uuid: Uuid);

    /// Decodes a row: columns the table does not know are ignored, columns the row lacks
    /// keep their default (schema skew, and `update2` rows omit default values).
    fn from_row(uuid: Uuid, row: &Row) -> Result<Self>;

    /// The row's columns that differ from their default, as an insert wants them.
    fn to_row(&self) -> Row;

    /// One column's value.
    fn column_datum(&self, column: Self::Column) -> Datum;

    /// Applies an `update2` `modify` diff row; columns the table does not know are ignored.
    fn apply_diff(&mut self, diff: &Row) -> Result<()>;

    /// Reads the value of `column` from `map` (the next value of a row object being decoded
    /// by [`deserialize_row`]) into its field, with a [`ColumnSeed`].
    fn read_column<'de, A: MapAccess<'de>>(
        &mut self,
        column: Self::Column,
        map: &mut A,
    ) -> Result<(), A::Error>;

    /// Every column's value.
    fn to_full_row(&self) -> Row {
        Self::Column::ALL
            .iter()
            .map(|c| (c.name().to_owned(), self.column_datum(*c)))
            .collect()
    }

    /// Whether `server`'s schema has this table.
    fn is_in(server: &DatabaseSchema) -> bool {
        server.table(Self::NAME).is_some()
    }

    /// The columns of this table that `server`'s schema lacks (all, if it lacks the table).
    fn missing_columns(server: &DatabaseSchema) -> Vec<Self::Column> {
        Self::Column::ALL
            .iter()
            .copied()
            .filter(|c| !c.is_in(server))
            .collect()
    }

    /// The `update2` `modify` diff row that turns `old` into `new`.
    fn diff(old: &Self, new: &Self) -> Row {
        Row::diff(&old.to_full_row(), &new.to_full_row(), Self::schema())
    }

    /// Applies one `update2`/`update3` row change to a replica of the table, like
    /// [`crate::apply_update2`] does for untyped rows.
    fn apply_update2(
        rows: &mut HashMap<Uuid, Self>,
        uuid: Uuid,
        update: &RowUpdate2,
    ) -> Result<Applied> {
        match update {
            RowUpdate2::Initial(r) | RowUpdate2::Insert(r) => {
                match rows.insert(uuid, Self::from_row(uuid, r)?) {
                    None => Ok(Applied::Inserted),
                    Some(_) => Ok(Applied::Modified),
                }
            }
            RowUpdate2::Modify(diff) => {
                let row = rows.get_mut(&uuid).ok_or_else(|| {
                    Error::Protocol(format!("modify of unknown row {} {uuid}", Self::NAME))
                })?;
                // All or nothing: a diff that fails half way leaves the row as it was.
                let mut next = row.clone();
                next.apply_diff(diff)?;
                *row = next;
                Ok(Applied::Modified)
            }
            RowUpdate2::Delete => rows.remove(&uuid).map(|_| Applied::Deleted).ok_or_else(|| {
                Error::Protocol(format!("delete of unknown row {} {uuid}", Self::NAME))
            }),
        }
    }

    /// An `insert` of this row's non-default columns. A non-nil [`Table::uuid`] is sent as
    /// the row's UUID (Open vSwitch ≥ 2.13), so other operations can refer to it.
    fn insert_op(&self) -> Operation {
        let uuid = self.uuid();
        Operation::Insert {
            table: Self::NAME.to_owned(),
            row: self.to_row(),
            uuid_name: None,
            uuid: (!uuid.is_nil()).then_some(uuid),
        }
    }

    /// An `update` of the row with this UUID that sets `columns` to this row's values.
    fn update_op(&self, columns: &[Self::Column]) -> Operation {
        Operation::Update {
            table: Self::NAME.to_owned(),
            conditions: vec![Condition::uuid(self.uuid())],
            row: columns
                .iter()
                .map(|c| (c.name().to_owned(), self.column_datum(*c)))
                .collect(),
        }
    }

    /// The columns whose values differ between `old` and `new`.
    fn changed_columns(old: &Self, new: &Self) -> Vec<Self::Column> {
        Self::Column::ALL
            .iter()
            .copied()
            .filter(|c| old.column_datum(*c) != new.column_datum(*c))
            .collect()
    }

    /// An `update` of the row `new.uuid()` that sets the columns that differ from `old`, or
    /// `None` if none do.
    fn update_changed_op(old: &Self, new: &Self) -> Option<Operation> {
        let columns = Self::changed_columns(old, new);
        (!columns.is_empty()).then(|| new.update_op(&columns))
    }

    /// A `mutate` of the row `uuid`.
    fn mutate_op(uuid: Uuid, mutations: Vec<Mutation>) -> Operation {
        Operation::Mutate {
            table: Self::NAME.to_owned(),
            conditions: vec![Condition::uuid(uuid)],
            mutations,
        }
    }

    /// A `delete` of the row `uuid`.
    fn delete_op(uuid: Uuid) -> Operation {
        Operation::Delete {
            table: Self::NAME.to_owned(),
            conditions: vec![Condition::uuid(uuid)],
        }
    }

    /// A `select` of the rows matching `conditions`.
    fn select_op(conditions: Vec<Condition>) -> Operation {
        Operation::Select {
            table: Self::NAME.to_owned(),
            conditions,
            columns: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Support for generated code.

/// Parses the schema a generated crate embeds.
///
/// # Panics
///
/// If `json` is not a valid schema. Generated crates embed the schema their code was
/// generated from, which the generator has parsed, so this only panics on a hand-edited
/// schema file.
pub fn embedded_schema(json: &str) -> DatabaseSchema {
    match DatabaseSchema::from_slice(json.as_bytes()) {
        Ok(s) => s,
        Err(e) => panic!("the embedded schema is invalid: {e}"),
    }
}

/// Builds the history of a generated crate's pinned schemas.
///
/// # Panics
///
/// If the schemas do not parse or do not merge, which only happens when a schema file was
/// edited after the code was generated (the generator has merged them).
pub fn embedded_history(pinned: &[PinnedSchema]) -> SchemaHistory {
    match SchemaHistory::new(pinned.to_vec()) {
        Ok(h) => h,
        Err(e) => panic!("the embedded schemas are invalid: {e}"),
    }
}

/// The schema of `table` in a generated crate's embedded schema.
///
/// # Panics
///
/// If the schema lacks the table, which only happens when the schema file was edited after
/// the code was generated.
pub fn embedded_table<'a>(schema: &'a DatabaseSchema, table: &str) -> &'a TableSchema {
    match schema.table(table) {
        Some(t) => t,
        None => panic!("the embedded schema lacks table {table}; regenerate the code"),
    }
}

/// The types of `columns` of `table`, in order, for a generated column enum.
///
/// # Panics
///
/// If the table lacks one of the columns (see [`embedded_table`]).
pub fn embedded_column_types<C: Column>(table: &TableSchema) -> Vec<&ColumnType> {
    C::ALL
        .iter()
        .map(|c| match table.columns.get(c.name()) {
            Some(cs) => &cs.type_,
            None => panic!(
                "the embedded schema lacks column {}.{}; regenerate the code",
                C::TABLE,
                c.name()
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(json: &str) -> ColumnType {
        let schema =
            format!(r#"{{"name":"T","tables":{{"t":{{"columns":{{"c":{{"type":{json}}}}}}}}}}}"#);
        let s = DatabaseSchema::from_slice(schema.as_bytes()).unwrap();
        s.tables["t"].columns["c"].type_.clone()
    }

    fn datum(json: &str) -> Datum {
        serde_json::from_str(json).unwrap()
    }

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
    enum Action {
        Allow,
        Drop,
        Other(String),
        #[default]
        Unset,
    }

    impl StringEnum for Action {
        fn as_str(&self) -> &str {
            match self {
                Action::Allow => "allow",
                Action::Drop => "drop",
                Action::Other(s) => s,
                Action::Unset => "",
            }
        }
        fn from_name(name: &str) -> Self {
            match name {
                "allow" => Action::Allow,
                "drop" => Action::Drop,
                "" => Action::Unset,
                other => Action::Other(other.to_owned()),
            }
        }
    }

    impl Atomic for Action {
        const KIND: AtomicType = AtomicType::String;
        fn from_atom(atom: &Atom, base: &BaseType) -> Result<Self, String> {
            string_enum_from_atom(atom, base)
        }
        fn to_atom(&self) -> Atom {
            Atom::String(self.as_str().to_owned())
        }
        fn cmp_atomic(&self, other: &Self) -> Ordering {
            self.as_str().cmp(other.as_str())
        }
    }

    #[test]
    fn wrong_atom_type_names_column_and_value() {
        let t = ty(r#""string""#);
        let err = decode_column::<String>("Logical_Switch", "name", &datum("5"), &t).unwrap_err();
        let Error::Schema(e) = err else {
            panic!("{err:?}")
        };
        assert_eq!(e.path, "Logical_Switch.name");
        assert_eq!(e.value, "5");
        assert_eq!(e.reason, "expected string, got integer 5");
    }

    #[test]
    fn set_too_large() {
        let t = ty(r#"{"key":"string","min":0,"max":2}"#);
        let err = decode_column::<Vec<String>>("T", "c", &datum(r#"["set",["a","b","c"]]"#), &t)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"T.c: 3 elements, more than the maximum 2 (value ["set",["a","b","c"]])"#
        );
        let t = ty(r#"{"key":"integer","min":0,"max":1}"#);
        let err =
            decode_column::<Option<i64>>("T", "c", &datum(r#"["set",[1,2]]"#), &t).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"T.c: 2 elements, more than the maximum 1 (value ["set",[1,2]])"#
        );
    }

    #[test]
    fn integer_out_of_range() {
        let t = ty(r#"{"key":{"type":"integer","minInteger":0,"maxInteger":32767}}"#);
        assert_eq!(
            decode_column::<i64>("ACL", "priority", &datum("100"), &t).unwrap(),
            100
        );
        let err = decode_column::<i64>("ACL", "priority", &datum("40000"), &t).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ACL.priority: 40000 is outside the allowed range (value 40000)"
        );
    }

    #[test]
    fn non_string_enum_has_no_escape_hatch() {
        let t = ty(r#"{"key":{"type":"integer","enum":["set",[1,2]]}}"#);
        assert_eq!(decode_column::<i64>("T", "c", &datum("2"), &t).unwrap(), 2);
        let err = decode_column::<i64>("T", "c", &datum("3"), &t).unwrap_err();
        assert_eq!(
            err.to_string(),
            "T.c: 3 is not one of the allowed values (value 3)"
        );
    }

    #[test]
    fn string_enum_escape_hatch() {
        let t = ty(r#"{"key":{"type":"string","enum":["set",["allow","drop"]]}}"#);
        assert_eq!(
            decode_column::<Action>("ACL", "action", &datum(r#""drop""#), &t).unwrap(),
            Action::Drop
        );
        assert_eq!(
            decode_column::<Action>("ACL", "action", &datum(r#""pass""#), &t).unwrap(),
            Action::Other("pass".into())
        );
        assert_eq!(Action::Other("pass".into()).to_datum(), datum(r#""pass""#));
        let err = decode_column::<Action>("ACL", "action", &datum("true"), &t).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ACL.action: expected string, got boolean true (value true)"
        );
    }

    #[test]
    fn integer_reads_as_real() {
        let t = ty(r#""real""#);
        assert_eq!(
            decode_column::<f64>("T", "c", &datum("2"), &t).unwrap(),
            2.0
        );
    }

    #[test]
    fn named_uuid_is_not_a_row_uuid() {
        let t = ty(r#""uuid""#);
        let err = decode_column::<Uuid>("T", "c", &datum(r#"["named-uuid","x"]"#), &t).unwrap_err();
        assert!(
            err.to_string().starts_with("T.c: named UUID \"x\""),
            "{err}"
        );
    }

    #[test]
    fn set_diffs() {
        let t = ty(r#"{"key":"string","min":0,"max":"unlimited"}"#);
        let mut v: Vec<String> =
            decode_column("T", "c", &datum(r#"["set",["b","a"]]"#), &t).unwrap();
        assert_eq!(v, ["a", "b"]);
        apply_column_diff(&mut v, "T", "c", &datum(r#"["set",["a","c"]]"#), &t).unwrap();
        assert_eq!(v, ["b", "c"]);
        // At most one element: the diff is the new value, as ovsdb-server sends it.
        let t = ty(r#"{"key":"integer","min":0,"max":1}"#);
        let mut o: Option<i64> = None;
        apply_column_diff(&mut o, "T", "c", &datum("5"), &t).unwrap();
        assert_eq!(o, Some(5));
        apply_column_diff(&mut o, "T", "c", &datum("6"), &t).unwrap();
        assert_eq!(o, Some(6));
        apply_column_diff(&mut o, "T", "c", &datum(r#"["set",[]]"#), &t).unwrap();
        assert_eq!(o, None);
        let err = apply_column_diff(&mut o, "T", "c", &datum(r#"["set",[1,2]]"#), &t).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"T.c: 2 elements, more than the maximum 1 (value ["set",[1,2]])"#
        );
    }

    #[test]
    fn map_diffs() {
        let t = ty(r#"{"key":"string","value":"string","min":0,"max":"unlimited"}"#);
        let mut m: SortedMap<String, String> =
            decode_column("T", "c", &datum(r#"["map",[["a","1"],["b","2"]]]"#), &t).unwrap();
        let diff = datum(r#"["map",[["a","1"],["b","3"],["c","4"]]]"#);
        apply_column_diff(&mut m, "T", "c", &diff, &t).unwrap();
        let want: SortedMap<String, String> = [("b", "3"), ("c", "4")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        assert_eq!(m, want);
        assert_eq!(m.to_datum(), datum(r#"["map",[["b","3"],["c","4"]]]"#));
        let err =
            decode_column::<SortedMap<String, String>>("T", "c", &datum(r#""x""#), &t).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"T.c: expected a map, got a set (value "x")"#
        );
    }

    #[test]
    fn refs_are_copy_ordered_and_display_their_uuid() {
        struct Target;
        let u = Uuid::from_u128(0x1234);
        let r: Ref<Target> = Ref::new(u);
        let s = r;
        assert_eq!(r, s);
        assert_eq!(r.to_string(), "00000000-0000-0000-0000-000000001234");
        assert!(Ref::<Target>::new(Uuid::nil()) < r);
        assert_eq!(r.to_atom(), Atom::Uuid(u));
        assert_eq!(
            format!("{r:?}"),
            "Ref(00000000-0000-0000-0000-000000001234)"
        );
    }

    #[test]
    fn query_values() {
        assert_eq!("x".into_datum(), Datum::scalar("x"));
        assert_eq!(Some(3i64).into_datum(), Datum::scalar(3));
        assert_eq!(None::<i64>.into_datum(), Datum::empty_set());
        assert_eq!(
            vec!["b".to_owned(), "a".to_owned()].into_datum(),
            Datum::set(["a", "b"])
        );
    }
}
