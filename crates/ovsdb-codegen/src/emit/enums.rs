//! One string enum: its variants, `Other(String)` and the conversions from and to wire values.

use std::fmt::Write as _;

use crate::model::EnumDef;
use crate::naming::lit;

pub(crate) fn emit_enum(o: &mut String, e: &EnumDef) {
    let n = &e.name;
    let listed: Vec<String> = e.values.iter().map(|(v, _)| format!("`{v}`")).collect();
    w!(o);
    w!(
        o,
        "/// The values of `{}`: {}.",
        e.origin,
        listed.join(", ")
    );
    w!(o, "///");
    w!(
        o,
        "/// `Other` holds a value the schema does not list (OVN adds values between versions)."
    );
    w!(
        o,
        "/// Values compare, order and hash by their name, so `Other` of a listed name equals that"
    );
    w!(
        o,
        "/// variant. The default is the empty string, the value OVSDB gives a column nobody set."
    );
    w!(o, "#[derive(Debug, Clone)]");
    w!(o, "#[non_exhaustive]");
    w!(o, "pub enum {n} {{");
    for (i, (value, variant)) in e.values.iter().enumerate() {
        match e.notes.get(i).filter(|n| !n.is_empty()) {
            Some(note) => {
                w!(o, "    /// `{value}` ({note}).");
            }
            None => {
                w!(o, "    /// `{value}`.");
            }
        }
        w!(o, "    {variant},");
    }
    w!(o, "    /// A value the schema does not list.");
    w!(o, "    Other(String),");
    w!(o, "}}");
    w!(o);
    w!(o, "impl {n} {{");
    w!(o, "    /// The values the schema lists.");
    let all: Vec<String> = e.values.iter().map(|(_, v)| format!("{n}::{v}")).collect();
    w!(
        o,
        "    pub const LISTED: &'static [{n}] = &[{}];",
        all.join(", ")
    );
    w!(o);
    w!(o, "    /// The value's name, as on the wire.");
    w!(o, "    pub fn as_str(&self) -> &str {{");
    w!(o, "        match self {{");
    for (value, variant) in &e.values {
        w!(o, "            {n}::{variant} => {},", lit(value));
    }
    w!(o, "            {n}::Other(s) => s,");
    w!(o, "        }}");
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    w!(o, "impl StringEnum for {n} {{");
    w!(o, "    fn as_str(&self) -> &str {{");
    w!(o, "        {n}::as_str(self)");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn from_name(name: &str) -> Self {{");
    w!(o, "        match name {{");
    for (value, variant) in &e.values {
        w!(o, "            {} => {n}::{variant},", lit(value));
    }
    w!(o, "            other => {n}::Other(other.to_owned()),");
    w!(o, "        }}");
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    w!(o, "ovsdb_proto::string_enum_traits!({n});");
}
