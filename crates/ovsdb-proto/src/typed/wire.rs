//! Decoding generated rows straight from the wire (`serde` seeds and visitors over the
//! JSON of a monitor reply or update), without a generic copy.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, SeqAccess};

use super::*;
use crate::data::{Uuid, UuidStr};
use crate::error::{Error, Result};
use crate::row::{Applied, Row, RowUpdate2};
use crate::schema::{BaseType, ColumnType};

// ---------------------------------------------------------------------------------------------
// Wire decoding straight into typed values.

/// The tag of a JSON array in the data notation.
pub(crate) enum WireTag {
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
pub(crate) trait Collect<T>: Default {
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
pub(crate) struct AtMostOne<T> {
    pub(crate) first: Option<T>,
    pub(crate) extra: usize,
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
    pub(crate) fn len(&self) -> usize {
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
pub(crate) fn wire_scalar<T: Atomic, E: de::Error>(
    atom: WireAtom<'_>,
    base: &BaseType,
) -> Result<T, E> {
    T::from_wire(atom, base).map_err(E::custom)
}

pub(crate) fn wire_u64<T: Atomic, E: de::Error>(v: u64, base: &BaseType) -> Result<T, E> {
    let i = i64::try_from(v)
        .map_err(|_| E::custom(format!("integer {v} out of 64-bit signed range")))?;
    wire_scalar(WireAtom::Integer(i), base)
}

/// Reads the rest of `["uuid","…"]` or `["named-uuid","…"]` after its tag.
pub(crate) fn wire_uuid<'de, T: Atomic, A: SeqAccess<'de>>(
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

pub(crate) fn end_of_tagged<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<(), A::Error> {
    if seq.next_element::<IgnoredAny>()?.is_some() {
        return Err(de::Error::custom(
            "tagged OVSDB value has more than two elements",
        ));
    }
    Ok(())
}

/// One atom: a JSON scalar, `["uuid","…"]` or `["named-uuid","…"]`.
pub(crate) struct AtomSeed<'a, T> {
    pub(crate) base: &'a BaseType,
    pub(crate) target: PhantomData<fn() -> T>,
}

impl<'a, T> AtomSeed<'a, T> {
    pub(crate) fn new(base: &'a BaseType) -> Self {
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
pub(crate) struct ElementsSeed<'a, 'c, T, C> {
    pub(crate) base: &'a BaseType,
    pub(crate) out: &'c mut C,
    pub(crate) target: PhantomData<fn() -> T>,
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
pub(crate) struct SetVisitor<'a, T, C> {
    pub(crate) base: &'a BaseType,
    pub(crate) target: PhantomData<fn() -> (T, C)>,
}

impl<'a, T, C> SetVisitor<'a, T, C> {
    pub(crate) fn new(base: &'a BaseType) -> Self {
        SetVisitor {
            base,
            target: PhantomData,
        }
    }

    pub(crate) fn one<E>(t: Result<T, E>) -> Result<C, E>
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
pub(crate) struct PairSeed<'a, K, V> {
    pub(crate) key: &'a BaseType,
    pub(crate) value: &'a BaseType,
    pub(crate) target: PhantomData<fn() -> (K, V)>,
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
pub(crate) struct PairsSeed<'a, 'c, K, V> {
    pub(crate) key: &'a BaseType,
    pub(crate) value: &'a BaseType,
    pub(crate) out: &'c mut Vec<(K, V)>,
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
pub(crate) struct MapVisitor<'a, K, V> {
    pub(crate) key: &'a BaseType,
    pub(crate) value: &'a BaseType,
    pub(crate) out: Vec<(K, V)>,
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
pub(crate) struct ColumnKey<C>(Option<C>);

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
pub(crate) struct RowInto<'r, T>(&'r mut T);

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
pub(crate) struct RowUpdateInto<'v, T> {
    pub(crate) uuid: Uuid,
    pub(crate) out: &'v mut Vec<(Uuid, TypedRowUpdate2<T>)>,
}

seed_visits_itself!(deserialize_map, [T: Table] RowUpdateInto<'_, T>);

pub(crate) enum UpdateKind {
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

/// A row's UUID as the key of a `<table-update2>`, with the number of bytes of the text being
/// parsed that start at it, when it borrows from that text (see [`crate::json::bytes_after`]).
struct RowKey {
    uuid: Uuid,
    rest: Option<usize>,
}

impl<'de> Deserialize<'de> for RowKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RowKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a UUID in 8-4-4-4-12 hex form")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<RowKey, E> {
                let key = self.visit_str(v)?;
                Ok(RowKey {
                    rest: crate::json::bytes_after(v),
                    ..key
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RowKey, E> {
                match crate::data::parse_uuid(v) {
                    Some(uuid) => Ok(RowKey { uuid, rest: None }),
                    None => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_str(V)
    }
}

/// Rows a table's list holds before its size is estimated from the text (below that,
/// doubling costs little: 1,024 rows of a few hundred bytes).
const SAMPLE_ROWS: usize = 1024;

/// Makes room in a full list of row updates. Once [`SAMPLE_ROWS`] rows have been read from
/// text whose positions are known (`first`: the bytes from the first row's key to the end of
/// the text, `rest`: from the current row's), it reserves the rows that the rest of the
/// text would hold at the density so far, plus a sixteenth (one row too few would copy the
/// whole list again): once, for a table that is the last big one of its message (rows are
/// in UUID order, so their density does not drift); a table followed by others reserves
/// too much address space, which `shrink_to_fit` hands back. At least a quarter more is
/// reserved each time, so a low estimate never makes growth quadratic.
/// Without positions (a caller's own deserializer), the list doubles as a `Vec` does.
fn reserve_rows<R>(out: &mut Vec<R>, first: Option<usize>, rest: Option<usize>) {
    let len = out.len();
    if let (true, Some(first), Some(rest)) = (len >= SAMPLE_ROWS, first, rest) {
        let spanned = first.saturating_sub(rest);
        if let Some(estimate) = rest.saturating_mul(len).checked_div(spanned) {
            let estimate = estimate.saturating_add(estimate / 16 + 1);
            out.reserve_exact(estimate.max(len / 4));
            return;
        }
    }
    out.reserve(1);
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
                let mut first = None;
                while let Some(RowKey { uuid, rest }) = map.next_key()? {
                    if out.is_empty() {
                        first = rest;
                    }
                    if out.len() == out.capacity() {
                        reserve_rows(&mut out, first, rest);
                    }
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

#[cfg(test)]
mod reserve_tests {
    use super::*;

    fn full(len: usize) -> Vec<u8> {
        let v = vec![0; len];
        assert_eq!(v.capacity(), len);
        v
    }

    #[test]
    fn a_full_list_reserves_what_the_rest_of_the_text_holds() {
        // 1,024 rows in the first 50,000 bytes, 50,000 bytes to go: 1,024 more rows and a
        // sixteenth.
        let mut v = full(1024);
        reserve_rows(&mut v, Some(100_000), Some(50_000));
        assert!(
            v.capacity() >= 2113 && v.capacity() < 2200,
            "{}",
            v.capacity()
        );
        // Near the end at least a quarter more, so that growth stays geometric.
        let mut v = full(4096);
        reserve_rows(&mut v, Some(100_000), Some(10));
        assert!(v.capacity() >= 5120, "{}", v.capacity());
    }

    #[test]
    fn without_positions_or_a_sample_the_list_doubles() {
        let mut v = full(1024);
        reserve_rows(&mut v, None, Some(50_000));
        assert!(v.capacity() >= 2048);
        let mut v = full(16);
        reserve_rows(&mut v, Some(100_000), Some(50_000));
        assert!(
            v.capacity() >= 32 && v.capacity() < 1024,
            "{}",
            v.capacity()
        );
    }
}
