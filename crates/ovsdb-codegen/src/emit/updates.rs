//! `TableUpdates2`: the typed `<table-updates2>` of the whole database.

use std::fmt::Write as _;

use crate::model::Model;
use crate::naming::{field_name, lit};

pub(crate) fn emit_updates(o: &mut String, model: &Model) {
    w!(o);
    w!(
        o,
        "/// The typed `<table-updates2>` of a `monitor_cond` reply or an `update2`/`update3`"
    );
    w!(
        o,
        "/// notification: one field per table (empty when the message does not mention it)."
    );
    w!(
        o,
        "/// Tables the schema does not know are skipped (schema skew)."
    );
    w!(o, "#[derive(Debug, Clone, PartialEq, Default)]");
    w!(o, "#[non_exhaustive]");
    w!(o, "pub struct TableUpdates2 {{");
    for t in &model.tables {
        w!(o, "    /// `{}`.", t.name);
        w!(
            o,
            "    pub {}: TypedTableUpdate2<{}>,",
            field_name(&t.name),
            t.struct_name
        );
    }
    w!(o, "}}");
    w!(o);
    w!(o, "impl<'de> Deserialize<'de> for TableUpdates2 {{");
    w!(
        o,
        "    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {{"
    );
    w!(o, "        struct V;");
    w!(o, "        impl<'de> Visitor<'de> for V {{");
    w!(o, "            type Value = TableUpdates2;");
    w!(
        o,
        "            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {{"
    );
    w!(
        o,
        "                f.write_str(\"a <table-updates2> object\")"
    );
    w!(o, "            }}");
    w!(
        o,
        "            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<TableUpdates2, A::Error> {{"
    );
    w!(o, "                let mut out = TableUpdates2::default();");
    w!(
        o,
        "                while let Some(table) = map.next_key::<String>()? {{"
    );
    w!(o, "                    match table.as_str() {{");
    for t in &model.tables {
        w!(
            o,
            "                        {} => out.{} = map.next_value()?,",
            lit(&t.name),
            field_name(&t.name)
        );
    }
    w!(o, "                        _ => {{");
    w!(
        o,
        "                            map.next_value::<IgnoredAny>()?;"
    );
    w!(o, "                        }}");
    w!(o, "                    }}");
    w!(o, "                }}");
    w!(o, "                Ok(out)");
    w!(o, "            }}");
    w!(o, "        }}");
    w!(o, "        d.deserialize_map(V)");
    w!(o, "    }}");
    w!(o, "}}");
    w!(o);
    w!(
        o,
        "/// The database as a whole, for code generic over databases (see [`typed::Database`])."
    );
    w!(o, "#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]");
    w!(o, "pub struct Database;");
    w!(o);
    w!(o, "impl typed::Database for Database {{");
    w!(o, "    const NAME: &'static str = NAME;");
    w!(o);
    w!(o, "    fn schema() -> &'static DatabaseSchema {{");
    w!(o, "        schema()");
    w!(o, "    }}");
    w!(o);
    w!(o, "    fn history() -> &'static SchemaHistory {{");
    w!(o, "        history()");
    w!(o, "    }}");
    w!(o);
    w!(
        o,
        "    fn visit_tables<V: typed::TableVisitor>(visitor: &mut V) {{"
    );
    for t in &model.tables {
        w!(o, "        visitor.visit::<{}>();", t.struct_name);
    }
    w!(o, "    }}");
    w!(o, "}}");
}
