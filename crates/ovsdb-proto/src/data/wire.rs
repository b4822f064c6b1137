//! The data notation on the wire (RFC 7047 §5.1): encoding atoms, sets, maps and datums, and
//! decoding them without a schema (see `Datum::conform`).

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::{Atom, Datum, Map, Set, Uuid};

// ---------------------------------------------------------------------------------------------
// Wire encoding.

struct Tagged<'a, T: ?Sized>(&'static str, &'a T);

impl<T: Serialize + ?Sized> Serialize for Tagged<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(2))?;
        seq.serialize_element(self.0)?;
        seq.serialize_element(self.1)?;
        seq.end()
    }
}

struct UuidText(Uuid);

impl Serialize for UuidText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = uuid::Uuid::encode_buffer();
        s.serialize_str(self.0.hyphenated().encode_lower(&mut buf))
    }
}

impl Serialize for Atom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Atom::Integer(i) => s.serialize_i64(*i),
            Atom::Real(r) => s.serialize_f64(*r),
            Atom::Boolean(b) => s.serialize_bool(*b),
            Atom::String(v) => s.serialize_str(v),
            Atom::Uuid(u) => Tagged("uuid", &UuidText(*u)).serialize(s),
            Atom::NamedUuid(n) => Tagged("named-uuid", n.as_str()).serialize(s),
        }
    }
}

impl Serialize for Set {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.len() == 1 {
            self.0[0].serialize(s)
        } else {
            Tagged("set", &self.0).serialize(s)
        }
    }
}

struct Pairs<'a>(&'a [(Atom, Atom)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (k, v) in self.0 {
            seq.serialize_element(&(k, v))?;
        }
        seq.end()
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Tagged("map", &Pairs(&self.0)).serialize(s)
    }
}

impl Serialize for Datum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Datum::Set(set) => set.serialize(s),
            Datum::Map(map) => map.serialize(s),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Wire decoding (schema-less; see `Datum::conform`).

/// The tag of a JSON array in the data notation.
#[derive(Clone, Copy)]
enum Tag {
    Uuid,
    NamedUuid,
    Set,
    Map,
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Tag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#""uuid", "named-uuid", "set" or "map""#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Tag, E> {
                Ok(match v {
                    "uuid" => Tag::Uuid,
                    "named-uuid" => Tag::NamedUuid,
                    "set" => Tag::Set,
                    "map" => Tag::Map,
                    other => return Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// A UUID in its 36-character text form.
pub(crate) struct UuidStr(pub(crate) Uuid);

impl<'de> Deserialize<'de> for UuidStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = UuidStr;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a UUID in 8-4-4-4-12 hex form")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UuidStr, E> {
                parse_uuid(v)
                    .map(UuidStr)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses the 36-character hyphenated form OVSDB uses (and nothing else).
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    Uuid::try_parse(s).ok()
}

/// Visits the elements of a tagged array after its tag.
enum Element {
    Atom(Atom),
    Set(Vec<Atom>),
    Map(Vec<(Atom, Atom)>),
}

struct AtomSeed;

impl<'de> de::DeserializeSeed<'de> for AtomSeed {
    type Value = Atom;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Atom, D::Error> {
        match d.deserialize_any(ValueVisitor { atom_only: true })? {
            Element::Atom(a) => Ok(a),
            _ => Err(de::Error::custom("expected an atom, got a set or map")),
        }
    }
}

struct ValueVisitor {
    atom_only: bool,
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.atom_only {
            f.write_str("an OVSDB atom")
        } else {
            f.write_str("an OVSDB value (atom, [\"set\",..] or [\"map\",..])")
        }
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Element, E> {
        Ok(Element::Atom(Atom::Boolean(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Element, E> {
        Ok(Element::Atom(Atom::Integer(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Element, E> {
        i64::try_from(v)
            .map(|i| Element::Atom(Atom::Integer(i)))
            .map_err(|_| E::custom(format!("integer {v} out of 64-bit signed range")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Element, E> {
        Ok(Element::Atom(Atom::Real(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Element, E> {
        Ok(Element::Atom(Atom::String(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Element, E> {
        Ok(Element::Atom(Atom::String(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        let tag: Tag = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("empty array is not an OVSDB value"))?;
        let out = match tag {
            Tag::Uuid => {
                let UuidStr(u) = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("[\"uuid\"] lacks its UUID"))?;
                Element::Atom(Atom::Uuid(u))
            }
            Tag::NamedUuid => {
                let name: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("[\"named-uuid\"] lacks its name"))?;
                Element::Atom(Atom::NamedUuid(name))
            }
            Tag::Set if self.atom_only => {
                return Err(de::Error::custom("expected an atom, got a set"))
            }
            Tag::Map if self.atom_only => {
                return Err(de::Error::custom("expected an atom, got a map"))
            }
            Tag::Set => Element::Set(
                seq.next_element_seed(AtomsSeed)?
                    .ok_or_else(|| de::Error::custom("[\"set\"] lacks its elements"))?,
            ),
            Tag::Map => Element::Map(
                seq.next_element_seed(PairsSeed)?
                    .ok_or_else(|| de::Error::custom("[\"map\"] lacks its pairs"))?,
            ),
        };
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(
                "tagged OVSDB value has more than two elements",
            ));
        }
        Ok(out)
    }
}

struct AtomsSeed;

impl<'de> de::DeserializeSeed<'de> for AtomsSeed {
    type Value = Vec<Atom>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Atom>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<Atom>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of atoms")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Atom>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(a) = seq.next_element_seed(AtomSeed)? {
                    out.push(a);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

struct PairSeed;

impl<'de> de::DeserializeSeed<'de> for PairSeed {
    type Value = (Atom, Atom);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(Atom, Atom), D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = (Atom, Atom);
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a [key, value] pair")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(Atom, Atom), A::Error> {
                let k = seq
                    .next_element_seed(AtomSeed)?
                    .ok_or_else(|| de::Error::custom("map pair lacks its key"))?;
                let v = seq
                    .next_element_seed(AtomSeed)?
                    .ok_or_else(|| de::Error::custom("map pair lacks its value"))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("map pair has more than two elements"));
                }
                Ok((k, v))
            }
        }
        d.deserialize_seq(V)
    }
}

struct PairsSeed;

impl<'de> de::DeserializeSeed<'de> for PairsSeed {
    type Value = Vec<(Atom, Atom)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(Atom, Atom)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of [key, value] pairs")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(p) = seq.next_element_seed(PairSeed)? {
                    out.push(p);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'de> Deserialize<'de> for Atom {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::DeserializeSeed::deserialize(AtomSeed, d)
    }
}

impl<'de> Deserialize<'de> for Datum {
    /// Decodes the wire form. Duplicate set elements or map keys are an error, as in
    /// ovsdb-server.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ValueVisitor { atom_only: false })? {
            Element::Atom(a) => Ok(Datum::Set(Set(vec![a]))),
            Element::Set(atoms) => Set::try_from_atoms(atoms)
                .map(Datum::Set)
                .map_err(de::Error::custom),
            Element::Map(pairs) => Map::try_from_pairs(pairs)
                .map(Datum::Map)
                .map_err(de::Error::custom),
        }
    }
}

impl<'de> Deserialize<'de> for Set {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Datum::deserialize(d)? {
            Datum::Set(s) => Ok(s),
            Datum::Map(_) => Err(de::Error::custom("expected a set, got a map")),
        }
    }
}

impl<'de> Deserialize<'de> for Map {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Datum::deserialize(d)? {
            Datum::Map(m) => Ok(m),
            Datum::Set(s) if s.is_empty() => Ok(Map::new()),
            Datum::Set(_) => Err(de::Error::custom("expected a map, got a set")),
        }
    }
}
