//! One table: its row struct, column enum and trait impls.

use std::fmt::Write as _;

use crate::model::{Releases, TableDef};
use crate::naming::{lit, screaming};

pub(crate) fn emit_table(o: &mut String, t: &TableDef) {
    let s = &t.struct_name;
    let c = &t.column_enum;
    let eq = if t.columns.iter().any(|c| c.has_real) {
        ""
    } else {
        ", Eq"
    };
    let derive_default = t.columns.iter().all(|c| c.default.is_none());
    w!(o);
    for line in &t.doc {
        if line.is_empty() {
            w!(o, "///");
        } else {
            w!(o, "/// {line}");
        }
    }
    w!(
        o,
        "#[derive(Debug, Clone, PartialEq{eq}{})]",
        if derive_default { ", Default" } else { "" }
    );
    w!(o, "#[non_exhaustive]");
    w!(o, "pub struct {s} {{");
    w!(o, "    /// The row's UUID (`_uuid`).");
    w!(o, "    pub uuid: Uuid,");
    for col in &t.columns {
        w!(o, "    /// {}", col.doc);
        w!(o, "    pub {}: {},", col.field, col.rust_type);
    }
    w!(o, "}}");
    if !derive_default {
        w!(o);
        w!(o, "impl Default for {s} {{");
        w!(o, "    fn default() -> Self {{");
        w!(o, "        {s} {{");
        w!(o, "            uuid: Uuid::nil(),");
        for col in &t.columns {
            w!(
                o,
                "            {}: {},",
                col.field,
                col.default.as_deref().unwrap_or("Default::default()")
            );
        }
        w!(o, "        }}");
        w!(o, "    }}");
        w!(o, "}}");
    }

    // The column enum.
    w!(o);
    w!(o, "/// The columns of table `{}`.", t.name);
    w!(
        o,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]"
    );
    w!(o, "pub enum {c} {{");
    for col in &t.columns {
        w!(o, "    /// `{}`.", col.name);
        w!(o, "    {},", col.variant);
    }
    w!(o, "}}");
    w!(o);
    w!(o, "impl {c} {{");
    w!(o, "    /// The column's name.");
    w!(o, "    pub const fn as_str(self) -> &'static str {{");
    if t.columns.is_empty() {
        w!(o, "        match self {{}}");
    } else {
        w!(o, "        match self {{");
        for col in &t.columns {
            w!(o, "            {c}::{} => {},", col.variant, lit(&col.name));
        }
        w!(o, "        }}");
    }
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    let types = format!("{}_COLUMN_TYPES", screaming(&t.name));
    w!(
        o,
        "static {types}: LazyLock<Vec<&'static ColumnType>> = LazyLock::new(|| rt::embedded_column_types::<{c}>({s}::schema()));"
    );
    w!(o);
    w!(o, "impl Column for {c} {{");
    w!(o, "    const TABLE: &'static str = {};", lit(&t.name));
    let all: Vec<String> = t
        .columns
        .iter()
        .map(|col| format!("{c}::{}", col.variant))
        .collect();
    w!(o, "    const ALL: &'static [Self] = &[{}];", all.join(", "));
    w!(o);
    w!(o, "    fn name(&self) -> &'static str {{");
    w!(o, "        self.as_str()");
    w!(o, "    }}");
    w!(o);
    if t.columns.is_empty() {
        w!(o, "    fn from_name(_name: &str) -> Option<Self> {{");
        w!(o, "        None");
    } else {
        w!(o, "    fn from_name(name: &str) -> Option<Self> {{");
        w!(o, "        Some(match name {{");
        for col in &t.columns {
            w!(o, "            {} => {c}::{},", lit(&col.name), col.variant);
        }
        w!(o, "            _ => return None,");
        w!(o, "        }})");
    }
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn column_type(&self) -> &'static ColumnType {{");
    w!(o, "        {types}[*self as usize]");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn since(&self) -> Release {{");
    if t.columns.is_empty() {
        w!(o, "        match *self {{}}");
    } else {
        w!(o, "        match self {{");
        for col in &t.columns {
            w!(
                o,
                "            {c}::{} => releases::{},",
                col.variant,
                Releases::constant(col.since)
            );
        }
        w!(o, "        }}");
    }
    w!(o, "    }}");
    w!(o, "}}");

    // The Table impl.
    w!(o);
    w!(o, "impl Table for {s} {{");
    w!(o, "    const NAME: &'static str = {};", lit(&t.name));
    w!(o, "    type Column = {c};");
    w!(o);
    w!(o, "    fn schema() -> &'static TableSchema {{");
    w!(o, "        rt::embedded_table(schema(), Self::NAME)");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn since() -> Release {{");
    w!(o, "        releases::{}", Releases::constant(t.since));
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn history() -> &'static SchemaHistory {{");
    w!(o, "        history()");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn uuid(&self) -> Uuid {{");
    w!(o, "        self.uuid");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn set_uuid(&mut self, uuid: Uuid) {{");
    w!(o, "        self.uuid = uuid;");
    w!(o, "    }}");
    w!(o);
    let row_var = if t.columns.is_empty() { "_row" } else { "row" };
    w!(
        o,
        "    fn from_row(uuid: Uuid, {row_var}: &Row) -> Result<Self> {{"
    );
    if t.columns.is_empty() {
        w!(o, "        Ok({s} {{ uuid }})");
    } else {
        w!(o, "        let mut out = {s} {{");
        w!(o, "            uuid,");
        w!(o, "            ..Self::default()");
        w!(o, "        }};");
        w!(o, "        for (name, datum) in row.iter() {{");
        w!(
            o,
            "            let Some(column) = {c}::from_name(name) else {{"
        );
        w!(o, "                continue;");
        w!(o, "            }};");
        w!(o, "            let ty = column.column_type();");
        w!(o, "            match column {{");
        for col in &t.columns {
            w!(
                o,
                "                {c}::{} => out.{} = rt::decode_column(Self::NAME, name, datum, ty)?,",
                col.variant,
                col.field
            );
        }
        w!(o, "            }}");
        w!(o, "        }}");
        w!(o, "        Ok(out)");
    }
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn to_row(&self) -> Row {{");
    if t.columns.is_empty() {
        w!(o, "        Row::new()");
    } else {
        w!(o, "        let default = Self::default();");
        w!(o, "        let mut row = Row::new();");
        for col in &t.columns {
            w!(o, "        if self.{0} != default.{0} {{", col.field);
            w!(
                o,
                "            row.insert({}, self.{}.to_datum());",
                lit(&col.name),
                col.field
            );
            w!(o, "        }}");
        }
        w!(o, "        row");
    }
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn column_datum(&self, column: {c}) -> Datum {{");
    if t.columns.is_empty() {
        w!(o, "        match column {{}}");
    } else {
        w!(o, "        match column {{");
        for col in &t.columns {
            w!(
                o,
                "            {c}::{} => self.{}.to_datum(),",
                col.variant,
                col.field
            );
        }
        w!(o, "        }}");
    }
    w!(o, "    }}");
    w!(o);
    let diff_var = if t.columns.is_empty() {
        "_diff"
    } else {
        "diff"
    };
    w!(
        o,
        "    fn apply_diff(&mut self, {diff_var}: &Row) -> Result<()> {{"
    );
    if !t.columns.is_empty() {
        w!(o, "        for (name, datum) in diff.iter() {{");
        w!(
            o,
            "            let Some(column) = {c}::from_name(name) else {{"
        );
        w!(o, "                continue;");
        w!(o, "            }};");
        w!(o, "            let ty = column.column_type();");
        w!(o, "            match column {{");
        for col in &t.columns {
            w!(
                o,
                "                {c}::{} => rt::apply_column_diff(&mut self.{}, Self::NAME, name, datum, ty)?,",
                col.variant,
                col.field
            );
        }
        w!(o, "            }}");
        w!(o, "        }}");
    }
    w!(o, "        Ok(())");
    w!(o, "    }}");
    w!(o);
    let (col_var, map_var) = if t.columns.is_empty() {
        ("_column", "_map")
    } else {
        ("column", "map")
    };
    w!(
        o,
        "    fn read_column<'de, A: MapAccess<'de>>(&mut self, {col_var}: {c}, {map_var}: &mut A) -> std::result::Result<(), A::Error> {{"
    );
    if !t.columns.is_empty() {
        w!(o, "        match column {{");
        for col in &t.columns {
            w!(
                o,
                "            {c}::{} => self.{} = map.next_value_seed(ColumnSeed::new(column))?,",
                col.variant,
                col.field
            );
        }
        w!(o, "        }}");
    }
    w!(o, "        Ok(())");
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    w!(o, "impl<'de> Deserialize<'de> for {s} {{");
    w!(
        o,
        "    /// Decodes a row object as `update2` `initial` and `insert` rows carry it (see"
    );
    w!(o, "    /// [`rt::deserialize_row`]); the UUID stays nil.");
    w!(
        o,
        "    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {{"
    );
    w!(o, "        rt::deserialize_row(d)");
    w!(o, "    }}");
    w!(o, "}}");
}
