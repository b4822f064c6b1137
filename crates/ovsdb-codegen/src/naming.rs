//! Rust names for schema names (types, fields, constants, enum variants) and the Rust type
//! and doc of each column's atoms.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb_proto::schema::{AtomicType, BaseType, RefType};
use ovsdb_proto::{Atom, DatabaseSchema};

use crate::model::EnumDef;
use crate::Error;

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// `Logical_Switch_Port` → `LogicalSwitchPort`, `ACL` → `Acl`, `QoS` → `QoS`,
/// `allow-related` → `AllowRelated`.
pub(crate) fn camel(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        let Some(first) = chars.next() else { continue };
        out.push(first.to_ascii_uppercase());
        let rest = chars.as_str();
        if part.chars().any(|c| c.is_ascii_lowercase()) {
            out.push_str(rest);
        } else {
            out.push_str(&rest.to_ascii_lowercase());
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// A column name as a field: lowercase, non-alphanumerics as `_`, keywords and `uuid`
/// (taken by the row UUID) with a trailing `_`.
pub(crate) fn field_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) || out == "uuid" {
        out.push('_');
    }
    out
}

/// `Logical_Switch_Port` → `LOGICAL_SWITCH_PORT`, `QoS` → `QOS`.
pub(crate) fn screaming(name: &str) -> String {
    let mut out = name.to_ascii_uppercase();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

pub(crate) fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn enum_values(base: &BaseType) -> Option<Vec<String>> {
    if base.kind != AtomicType::String {
        return None;
    }
    let set = base.enumeration.as_ref()?;
    Some(
        set.iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
    )
}

fn variants(values: &[String]) -> Vec<(String, String)> {
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    for v in values {
        let mut name = camel(v);
        if name.is_empty() {
            name = "Empty".into();
        }
        if name == "Other" || name == "Self" {
            name.push_str("Value");
        }
        let base = name.clone();
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        out.push((v.clone(), name));
    }
    out
}

fn range_doc<T: std::fmt::Display>(min: Option<T>, max: Option<T>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!(" in {a}..={b}"),
        (Some(a), None) => format!(" ≥ {a}"),
        (None, Some(b)) => format!(" ≤ {b}"),
        (None, None) => String::new(),
    }
}

pub(crate) struct Namer<'a> {
    pub(crate) schema: &'a DatabaseSchema,
    pub(crate) struct_names: BTreeMap<String, String>,
    pub(crate) taken: BTreeSet<String>,
}

impl Namer<'_> {
    pub(crate) fn struct_of(&self, table: &str) -> Result<&str, Error> {
        self.struct_names
            .get(table)
            .map(String::as_str)
            .ok_or_else(|| Error::Unsupported(format!("reference to unknown table {table}")))
    }

    /// The Rust type of one atom, and its doc.
    pub(crate) fn base(
        &mut self,
        base: &BaseType,
        enum_name: impl FnOnce() -> (String, String),
        enums: &mut Vec<EnumDef>,
        uses_ref: &mut bool,
    ) -> Result<(String, String), Error> {
        if let Some(values) = enum_values(base) {
            let (name, origin) = enum_name();
            let mut name = name;
            if self.taken.contains(&name) {
                name.push_str("Enum");
            }
            if !self.taken.insert(name.clone()) {
                return Err(Error::Unsupported(format!(
                    "generated enum name {name} of {origin} is taken twice"
                )));
            }
            enums.push(EnumDef {
                name: name.clone(),
                origin,
                values: variants(&values),
                notes: Vec::new(),
            });
            let doc = format!("string enum [`{name}`]");
            return Ok((name, doc));
        }
        let listed = |kind: &str| {
            let e = base.enumeration.as_ref()?;
            let vals: Vec<String> = e.iter().map(Atom::to_string).collect();
            Some(format!("{kind}, one of {}", vals.join(", ")))
        };
        Ok(match base.kind {
            AtomicType::Integer => (
                "i64".into(),
                listed("integer").unwrap_or_else(|| {
                    format!("integer{}", range_doc(base.min_integer, base.max_integer))
                }),
            ),
            AtomicType::Real => (
                "f64".into(),
                listed("real")
                    .unwrap_or_else(|| format!("real{}", range_doc(base.min_real, base.max_real))),
            ),
            AtomicType::Boolean => ("bool".into(), "boolean".into()),
            AtomicType::String => (
                "String".into(),
                match (base.min_length, base.max_length) {
                    (None, None) => "string".into(),
                    (a, b) => format!("string of length{}", range_doc(a, b)),
                },
            ),
            AtomicType::Uuid => match &base.ref_table {
                Some(t) => {
                    *uses_ref = true;
                    let target = self.struct_of(t)?.to_owned();
                    let strength = match base.ref_type {
                        RefType::Strong => "strong",
                        RefType::Weak => "weak",
                    };
                    (
                        format!("Ref<{target}>"),
                        format!("{strength} reference to a [`{target}`] row"),
                    )
                }
                None => ("Uuid".into(), "UUID".into()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(camel("Logical_Switch_Port"), "LogicalSwitchPort");
        assert_eq!(camel("ACL"), "Acl");
        assert_eq!(camel("QoS"), "QoS");
        assert_eq!(camel("DHCPv6_Options"), "DHCPv6Options");
        assert_eq!(camel("IC_SB_Global"), "IcSbGlobal");
        assert_eq!(camel("allow-related"), "AllowRelated");
        assert_eq!(camel("dnat_and_snat"), "DnatAndSnat");
        assert_eq!(camel("8021q"), "V8021q");
        assert_eq!(field_name("type"), "type_");
        assert_eq!(field_name("match"), "match_");
        assert_eq!(field_name("uuid"), "uuid_");
        assert_eq!(field_name("ip_prefix"), "ip_prefix");
        assert_eq!(screaming("QoS"), "QOS");
        let v = variants(&["".into(), "Other".into(), "a-b".into(), "a_b".into()]);
        let names: Vec<&str> = v.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["Empty", "OtherValue", "AB", "AB2"]);
    }
}
