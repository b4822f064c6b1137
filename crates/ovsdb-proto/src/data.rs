//! OVSDB data notation (RFC 7047 §5.1): atoms, sets, maps and datums.
//!
//! A [`Datum`] is the value of one column: a [`Set`] of atoms or a [`Map`] from atoms to atoms.
//! A scalar is a set of exactly one atom and an optional value a set of zero or one atom, as in
//! RFC 7047. Sets and maps keep their elements sorted and unique, so equality is structural and
//! lookups are binary searches.
//!
//! On the wire a one-element set is the bare atom, other sets are `["set",[..]]`, maps are
//! `["map",[[k,v],..]]`, UUIDs are `["uuid","…"]` and named UUIDs `["named-uuid","…"]`.
//! Decoding without a schema cannot tell an integer from a real written without a fraction
//! (ovsdb-server prints `1.0` as `1`), so decoded data is brought to a column's type with
//! [`Datum::conform`].

use std::cmp::Ordering;
use std::fmt;

use crate::schema::{AtomicType, BaseType, ColumnType};

pub use uuid::Uuid;

mod wire;

pub use wire::parse_uuid;
pub(crate) use wire::UuidStr;

/// One atomic value (RFC 7047 §5.1 `<atom>`).
#[derive(Debug, Clone)]
pub enum Atom {
    /// A 64-bit signed integer.
    Integer(i64),
    /// A double-precision real.
    Real(f64),
    /// A boolean.
    Boolean(bool),
    /// A UTF-8 string.
    String(String),
    /// A row UUID, `["uuid","…"]` on the wire.
    Uuid(Uuid),
    /// A reference to the `uuid-name` of an insert in the same transaction,
    /// `["named-uuid","…"]` on the wire.
    NamedUuid(String),
}

impl Atom {
    /// The atomic type of this atom; a named UUID has type `uuid`.
    pub fn atomic_type(&self) -> AtomicType {
        match self {
            Atom::Integer(_) => AtomicType::Integer,
            Atom::Real(_) => AtomicType::Real,
            Atom::Boolean(_) => AtomicType::Boolean,
            Atom::String(_) => AtomicType::String,
            Atom::Uuid(_) | Atom::NamedUuid(_) => AtomicType::Uuid,
        }
    }

    /// The default atom of a type: 0, 0.0, false, "" or the all-zero UUID.
    pub fn default_of(kind: AtomicType) -> Atom {
        match kind {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(String::new()),
            AtomicType::Uuid => Atom::Uuid(Uuid::nil()),
        }
    }

    /// The string, if this is a string atom.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer atom.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The real, if this is a real atom (integers are not converted).
    pub fn as_real(&self) -> Option<f64> {
        match self {
            Atom::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean atom.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The UUID, if this is a (non-named) UUID atom.
    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Atom::Integer(_) => 0,
            Atom::Real(_) => 1,
            Atom::Boolean(_) => 2,
            Atom::String(_) => 3,
            Atom::Uuid(_) => 4,
            Atom::NamedUuid(_) => 5,
        }
    }

    /// Brings a decoded atom to `base`'s type (an integer becomes a real where a real is
    /// expected) and checks the base type's constraints.
    pub fn conform(self, base: &BaseType) -> Result<Atom, String> {
        let atom = match (self, base.kind) {
            (Atom::Integer(i), AtomicType::Real) => Atom::Real(i as f64),
            (a, kind) if a.atomic_type() == kind => a,
            (a, kind) => return Err(format!("expected {kind}, got {}", a.atomic_type())),
        };
        base.check(&atom)?;
        Ok(atom)
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Atom {}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Atoms of one type order by value (reals by IEEE total order); atoms of different types
/// order by type. The order is only used to keep sets and maps canonical.
impl Ord for Atom {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.total_cmp(b),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b)) => a.cmp(b),
            (Atom::Uuid(a), Atom::Uuid(b)) => a.cmp(b),
            (Atom::NamedUuid(a), Atom::NamedUuid(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl std::hash::Hash for Atom {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Atom::Integer(i) => i.hash(state),
            Atom::Real(r) => r.to_bits().hash(state),
            Atom::Boolean(b) => b.hash(state),
            Atom::String(s) | Atom::NamedUuid(s) => s.hash(state),
            Atom::Uuid(u) => u.hash(state),
        }
    }
}

impl fmt::Display for Atom {
    /// Formats the atom as its JSON wire form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl From<i64> for Atom {
    fn from(v: i64) -> Self {
        Atom::Integer(v)
    }
}
impl From<f64> for Atom {
    fn from(v: f64) -> Self {
        Atom::Real(v)
    }
}
impl From<bool> for Atom {
    fn from(v: bool) -> Self {
        Atom::Boolean(v)
    }
}
impl From<String> for Atom {
    fn from(v: String) -> Self {
        Atom::String(v)
    }
}
impl From<&str> for Atom {
    fn from(v: &str) -> Self {
        Atom::String(v.to_owned())
    }
}
impl From<Uuid> for Atom {
    fn from(v: Uuid) -> Self {
        Atom::Uuid(v)
    }
}

/// A sorted set of unique atoms (RFC 7047 `<set>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Set(Vec<Atom>);

impl Set {
    /// The empty set.
    pub const fn new() -> Self {
        Set(Vec::new())
    }

    /// A set from atoms in any order; duplicates are dropped.
    pub fn from_atoms(mut atoms: Vec<Atom>) -> Self {
        if !is_strictly_sorted(&atoms) {
            atoms.sort_unstable();
            atoms.dedup();
        }
        Set(atoms)
    }

    /// A set from atoms that must be unique; duplicates are an error (as in ovsdb-server).
    pub fn try_from_atoms(mut atoms: Vec<Atom>) -> Result<Self, String> {
        if !is_strictly_sorted(&atoms) {
            atoms.sort_unstable();
            if let Some(w) = atoms.windows(2).find(|w| w[0] == w[1]) {
                return Err(format!("set contains duplicate value {}", w[0]));
            }
        }
        Ok(Set(atoms))
    }

    /// The atoms, sorted.
    pub fn as_slice(&self) -> &[Atom] {
        &self.0
    }

    /// The atoms, sorted, by value.
    pub fn into_vec(self) -> Vec<Atom> {
        self.0
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the set holds `atom`.
    pub fn contains(&self, atom: &Atom) -> bool {
        self.0.binary_search(atom).is_ok()
    }

    /// Adds `atom`; returns false if it was present.
    pub fn insert(&mut self, atom: Atom) -> bool {
        match self.0.binary_search(&atom) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, atom);
                true
            }
        }
    }

    /// Removes `atom`; returns false if it was absent.
    pub fn remove(&mut self, atom: &Atom) -> bool {
        match self.0.binary_search(atom) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Iterates over the atoms in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Atom> {
        self.0.iter()
    }

    /// Replaces `self` with the symmetric difference of `self` and `other`.
    pub fn symmetric_difference_with(&mut self, other: &Set) {
        let mut out = Vec::with_capacity(self.0.len() + other.0.len());
        let mut a = std::mem::take(&mut self.0).into_iter().peekable();
        let mut b = other.0.iter().peekable();
        loop {
            match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => match x.cmp(y) {
                    Ordering::Less => out.extend(a.next()),
                    Ordering::Greater => out.extend(b.next().cloned()),
                    Ordering::Equal => {
                        a.next();
                        b.next();
                    }
                },
                (Some(_), None) => out.extend(a.by_ref()),
                (None, Some(_)) => out.extend(b.by_ref().cloned()),
                (None, None) => break,
            }
        }
        self.0 = out;
    }
}

impl FromIterator<Atom> for Set {
    fn from_iter<I: IntoIterator<Item = Atom>>(iter: I) -> Self {
        Set::from_atoms(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Set {
    type Item = &'a Atom;
    type IntoIter = std::slice::Iter<'a, Atom>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A map from unique atoms to atoms, sorted by key (RFC 7047 `<map>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Map(Vec<(Atom, Atom)>);

impl Map {
    /// The empty map.
    pub const fn new() -> Self {
        Map(Vec::new())
    }

    /// A map from pairs in any order; for a repeated key the last pair wins.
    pub fn from_pairs(mut pairs: Vec<(Atom, Atom)>) -> Self {
        if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
            pairs.reverse();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs.dedup_by(|a, b| a.0 == b.0);
        }
        Map(pairs)
    }

    /// A map from pairs whose keys must be unique; a repeated key is an error (as in
    /// ovsdb-server).
    pub fn try_from_pairs(mut pairs: Vec<(Atom, Atom)>) -> Result<Self, String> {
        if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(format!("map contains duplicate key {}", w[0].0));
            }
        }
        Ok(Map(pairs))
    }

    /// The pairs, sorted by key.
    pub fn as_slice(&self) -> &[(Atom, Atom)] {
        &self.0
    }

    /// The pairs, sorted by key, by value.
    pub fn into_vec(self) -> Vec<(Atom, Atom)> {
        self.0
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value for `key`.
    pub fn get(&self, key: &Atom) -> Option<&Atom> {
        self.0
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The value for the string key `key`, if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| match k {
                Atom::String(s) => s.as_str().cmp(key),
                other => other.rank().cmp(&3),
            })
            .ok()
            .and_then(|i| self.0[i].1.as_str())
    }

    /// Sets `key` to `value`, returning the old value.
    pub fn insert(&mut self, key: Atom, value: Atom) -> Option<Atom> {
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &Atom) -> Option<Atom> {
        match self.0.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => Some(self.0.remove(i).1),
            Err(_) => None,
        }
    }

    /// Iterates over the pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Atom, &Atom)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(Atom, Atom)> for Map {
    fn from_iter<I: IntoIterator<Item = (Atom, Atom)>>(iter: I) -> Self {
        Map::from_pairs(iter.into_iter().collect())
    }
}

fn is_strictly_sorted(atoms: &[Atom]) -> bool {
    atoms.windows(2).all(|w| w[0] < w[1])
}

/// The value of one column (RFC 7047 `<value>`): a set (scalars and optional values are sets
/// of one and of zero or one atom) or a map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Datum {
    /// A set of atoms.
    Set(Set),
    /// A map of atoms to atoms.
    Map(Map),
}

impl Default for Datum {
    fn default() -> Self {
        Datum::Set(Set::new())
    }
}

impl Datum {
    /// A datum holding one atom.
    pub fn scalar(atom: impl Into<Atom>) -> Self {
        Datum::Set(Set(vec![atom.into()]))
    }

    /// The empty set.
    pub const fn empty_set() -> Self {
        Datum::Set(Set::new())
    }

    /// A set datum from atoms in any order.
    pub fn set<A: Into<Atom>>(atoms: impl IntoIterator<Item = A>) -> Self {
        Datum::Set(atoms.into_iter().map(Into::into).collect())
    }

    /// A map datum from pairs in any order.
    pub fn map<K: Into<Atom>, V: Into<Atom>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Datum::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The single atom of a one-element set.
    pub fn as_atom(&self) -> Option<&Atom> {
        match self {
            Datum::Set(s) if s.len() == 1 => s.0.first(),
            _ => None,
        }
    }

    /// The set, if this is a set.
    pub fn as_set(&self) -> Option<&Set> {
        match self {
            Datum::Set(s) => Some(s),
            Datum::Map(_) => None,
        }
    }

    /// The map, if this is a map. An empty set counts as an empty map, since a decoder
    /// without a schema cannot tell them apart.
    pub fn as_map(&self) -> Option<&Map> {
        static EMPTY: Map = Map::new();
        match self {
            Datum::Map(m) => Some(m),
            Datum::Set(s) if s.is_empty() => Some(&EMPTY),
            Datum::Set(_) => None,
        }
    }

    /// Number of atoms (set) or pairs (map).
    pub fn len(&self) -> usize {
        match self {
            Datum::Set(s) => s.len(),
            Datum::Map(m) => m.len(),
        }
    }

    /// Whether the datum holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The default value of a column type: empty if `min` is 0, otherwise the default atom
    /// (or pair) of the key (and value) type.
    pub fn default_of(ty: &ColumnType) -> Datum {
        match (&ty.value, ty.min) {
            (None, 0) => Datum::Set(Set::new()),
            (Some(_), 0) => Datum::Map(Map::new()),
            (None, _) => Datum::scalar(Atom::default_of(ty.key.kind)),
            (Some(v), _) => Datum::Map(Map(vec![(
                Atom::default_of(ty.key.kind),
                Atom::default_of(v.kind),
            )])),
        }
    }

    /// Checks the datum against the column type `ty` without changing it (see
    /// [`Datum::conform`] for the rules). `Ok(true)`: it fits as it is; `Ok(false)`: it fits
    /// once converted (integers where reals are expected, an empty set for an empty map).
    pub fn check(&self, ty: &ColumnType) -> Result<bool, String> {
        fn atom_fits(a: &Atom, base: &BaseType) -> Result<bool, String> {
            match (a, base.kind) {
                (Atom::Integer(i), AtomicType::Real) => {
                    base.check(&Atom::Real(*i as f64)).map(|()| false)
                }
                (a, kind) if a.atomic_type() == kind => base.check(a).map(|()| true),
                (a, kind) => Err(format!("expected {kind}, got {}", a.atomic_type())),
            }
        }
        let mut exact = true;
        match (self, &ty.value) {
            (Datum::Set(s), None) => {
                for a in s.iter() {
                    exact &= atom_fits(a, &ty.key)?;
                }
            }
            (Datum::Map(m), Some(vt)) => {
                for (k, v) in m.iter() {
                    exact &= atom_fits(k, &ty.key)?;
                    exact &= atom_fits(v, vt)?;
                }
            }
            (Datum::Set(s), Some(_)) if s.is_empty() => exact = false,
            (Datum::Set(_), Some(_)) => return Err("expected a map, got a set".into()),
            (Datum::Map(_), None) => return Err("expected a set, got a map".into()),
        }
        let n = self.len() as u64;
        if n < ty.min {
            return Err(format!("{n} elements, fewer than the minimum {}", ty.min));
        }
        if let Some(max) = ty.max {
            if n > max {
                return Err(format!("{n} elements, more than the maximum {max}"));
            }
        }
        Ok(exact)
    }

    /// Brings a datum decoded without a schema to the column type `ty` and checks every
    /// constraint of RFC 7047 §3.2: atom types (integers become reals where reals are
    /// expected), `enum`, integer and real ranges, string lengths and the `min`/`max` number
    /// of elements. Returns a description of the first violation.
    pub fn conform(self, ty: &ColumnType) -> Result<Datum, String> {
        if self.check(ty)? {
            return Ok(self);
        }
        self.convert(ty)
    }

    /// The conversion path of [`Datum::conform`].
    fn convert(self, ty: &ColumnType) -> Result<Datum, String> {
        let datum = match (self, &ty.value) {
            (Datum::Set(s), None) => {
                let mut atoms = Vec::with_capacity(s.len());
                for a in s.0 {
                    atoms.push(a.conform(&ty.key)?);
                }
                Datum::Set(Set::try_from_atoms(atoms)?)
            }
            (Datum::Map(m), Some(vt)) => {
                let mut pairs = Vec::with_capacity(m.len());
                for (k, v) in m.0 {
                    pairs.push((k.conform(&ty.key)?, v.conform(vt)?));
                }
                Datum::Map(Map::try_from_pairs(pairs)?)
            }
            (Datum::Set(s), Some(_)) if s.is_empty() => Datum::Map(Map::new()),
            (Datum::Set(_), Some(_)) => return Err("expected a map, got a set".into()),
            (Datum::Map(_), None) => return Err("expected a set, got a map".into()),
        };
        let n = datum.len() as u64;
        if n < ty.min {
            return Err(format!("{n} elements, fewer than the minimum {}", ty.min));
        }
        if let Some(max) = ty.max {
            if n > max {
                return Err(format!("{n} elements, more than the maximum {max}"));
            }
        }
        Ok(datum)
    }

    /// The `update2` diff that turns `old` into `new` for a column of type `ty`
    /// (ovsdb-server.7 §4.1.14, `ovsdb_datum_diff`): the new value when at most one element
    /// is allowed (scalars and optional values), the symmetric difference for a set, and for a
    /// map the keys only one side has plus the keys whose value changed (with the new value).
    pub fn diff(old: &Datum, new: &Datum, ty: &ColumnType) -> Datum {
        if !ty.is_composite() {
            return new.clone();
        }
        match (old, new) {
            (Datum::Set(a), Datum::Set(b)) if ty.value.is_none() => {
                let mut d = a.clone();
                d.symmetric_difference_with(b);
                Datum::Set(d)
            }
            _ => {
                let a = old.as_map().cloned().unwrap_or_default();
                let b = new.as_map().cloned().unwrap_or_default();
                let mut out = Vec::new();
                let (mut i, mut j) = (0, 0);
                while i < a.0.len() || j < b.0.len() {
                    match (a.0.get(i), b.0.get(j)) {
                        (Some(x), Some(y)) => match x.0.cmp(&y.0) {
                            Ordering::Less => {
                                out.push(x.clone());
                                i += 1;
                            }
                            Ordering::Greater => {
                                out.push(y.clone());
                                j += 1;
                            }
                            Ordering::Equal => {
                                if x.1 != y.1 {
                                    out.push(y.clone());
                                }
                                i += 1;
                                j += 1;
                            }
                        },
                        (Some(x), None) => {
                            out.push(x.clone());
                            i += 1;
                        }
                        (None, Some(y)) => {
                            out.push(y.clone());
                            j += 1;
                        }
                        (None, None) => break,
                    }
                }
                Datum::Map(Map(out))
            }
        }
    }

    /// Applies an `update2` `modify` diff (see [`Datum::diff`]) for a column of type `ty`.
    ///
    /// The datum changes only if the whole diff applies and the result fits the column type.
    pub fn apply_diff(&mut self, diff: Datum, ty: &ColumnType) -> Result<(), String> {
        *self = self.with_diff(diff, ty)?;
        Ok(())
    }

    /// The value after applying an `update2` diff (see [`Datum::apply_diff`]), leaving `self`
    /// as it is.
    pub fn with_diff(&self, diff: Datum, ty: &ColumnType) -> Result<Datum, String> {
        if !ty.is_composite() {
            return diff.conform(ty);
        }
        let mut next = self.clone();
        next.apply_composite_diff(diff, ty)?;
        Ok(next)
    }

    /// Applies a set or map diff in place; on error `self` may hold part of it.
    fn apply_composite_diff(&mut self, diff: Datum, ty: &ColumnType) -> Result<(), String> {
        match ty.value {
            None => {
                let Datum::Set(d) = diff else {
                    return Err("set diff expected, got a map".into());
                };
                let Datum::Set(s) = self else {
                    return Err("column holds a map, not a set".into());
                };
                let mut atoms = Vec::with_capacity(d.len());
                for a in d.0 {
                    atoms.push(a.conform(&ty.key)?);
                }
                s.symmetric_difference_with(&Set::from_atoms(atoms));
            }
            Some(ref vt) => {
                let d = match diff {
                    Datum::Map(m) => m,
                    Datum::Set(s) if s.is_empty() => Map::new(),
                    Datum::Set(_) => return Err("map diff expected, got a set".into()),
                };
                if let Datum::Set(s) = self {
                    if !s.is_empty() {
                        return Err("column holds a set, not a map".into());
                    }
                    *self = Datum::Map(Map::new());
                }
                let Datum::Map(m) = self else {
                    unreachable!("made a map above")
                };
                for (k, v) in d.0 {
                    let k = k.conform(&ty.key)?;
                    let v = v.conform(vt)?;
                    match m.0.binary_search_by(|(x, _)| x.cmp(&k)) {
                        Ok(i) if m.0[i].1 == v => {
                            m.0.remove(i);
                        }
                        Ok(i) => m.0[i].1 = v,
                        Err(i) => m.0.insert(i, (k, v)),
                    }
                }
            }
        }
        let n = self.len() as u64;
        if n < ty.min || ty.max.is_some_and(|max| n > max) {
            return Err(format!(
                "diff leaves {n} elements, outside the column's bounds"
            ));
        }
        Ok(())
    }
}

impl From<Atom> for Datum {
    fn from(a: Atom) -> Self {
        Datum::scalar(a)
    }
}
impl From<Set> for Datum {
    fn from(s: Set) -> Self {
        Datum::Set(s)
    }
}
impl From<Map> for Datum {
    fn from(m: Map) -> Self {
        Datum::Map(m)
    }
}
