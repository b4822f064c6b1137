//! The model of the output: the tables, columns and string enums to generate, built from the
//! merged schema of the pinned releases, with the release that introduced each and their docs.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb_proto::schema::{AtomicType, ColumnSchema, ColumnType, TableSchema};
use ovsdb_proto::skew::{Release, SchemaHistory};
use ovsdb_proto::{Atom, DatabaseSchema};

use crate::naming::{camel, field_name, Namer};
use crate::Error;

pub(crate) struct EnumDef {
    pub(crate) name: String,
    /// `table.column` (with ` key`/` value` for maps), for the docs.
    pub(crate) origin: String,
    /// (wire value, variant)
    pub(crate) values: Vec<(String, String)>,
    /// Per value, the releases that list it when not all releases with the column do
    /// (`since 25.09.0`), else empty.
    pub(crate) notes: Vec<String>,
}

pub(crate) struct ColumnDef {
    pub(crate) name: String,
    pub(crate) field: String,
    pub(crate) variant: String,
    pub(crate) rust_type: String,
    /// The default expression when it is not `Default::default()`.
    pub(crate) default: Option<String>,
    pub(crate) has_real: bool,
    pub(crate) doc: String,
    /// The first pinned release with the column.
    pub(crate) since: Release,
}

pub(crate) struct TableDef {
    pub(crate) name: String,
    pub(crate) struct_name: String,
    pub(crate) column_enum: String,
    pub(crate) columns: Vec<ColumnDef>,
    pub(crate) doc: Vec<String>,
    /// The first pinned release with the table.
    pub(crate) since: Release,
}

/// The pinned releases behind a model.
pub(crate) struct Releases<'a> {
    pub(crate) history: &'a SchemaHistory,
    /// Each pinned release's schema, in the order of `history.pinned()`.
    pub(crate) schemas: &'a [DatabaseSchema],
}

impl Releases<'_> {
    pub(crate) fn oldest(&self) -> Release {
        self.history.pinned()[0].release
    }

    /// `V23_03_1`: the constant of `release` in the generated `releases` module.
    pub(crate) fn constant(release: Release) -> String {
        format!("V{}", release.to_string().replace('.', "_"))
    }

    /// The releases that list each of `values` in the enumeration of `table.column`'s key
    /// (or value), as a doc note when not every release with the column does.
    pub(crate) fn enum_notes(
        &self,
        table: &str,
        column: &str,
        value_part: bool,
        values: &[String],
    ) -> Vec<String> {
        let mut with_column = Vec::new();
        let mut listing: Vec<Vec<Release>> = vec![Vec::new(); values.len()];
        for (p, s) in self.history.pinned().iter().zip(self.schemas) {
            let Some(c) = s.table(table).and_then(|t| t.columns.get(column)) else {
                continue;
            };
            with_column.push(p.release);
            let base = if value_part {
                c.type_.value.as_ref()
            } else {
                Some(&c.type_.key)
            };
            let Some(e) = base.and_then(|b| b.enumeration.as_ref()) else {
                continue;
            };
            for (i, v) in values.iter().enumerate() {
                if e.contains(&Atom::String(v.clone())) {
                    listing[i].push(p.release);
                }
            }
        }
        listing
            .iter()
            .map(|l| {
                if l.len() == with_column.len() {
                    return String::new();
                }
                let (Some(first), Some(last)) = (l.first(), l.last()) else {
                    return String::new();
                };
                let from = *first != with_column[0];
                let until = Some(last) != with_column.last();
                match (from, until) {
                    (true, true) => format!("listed from {first} to {last}"),
                    (true, false) => format!("listed since {first}"),
                    (false, true) => format!("listed up to {last}"),
                    (false, false) => "not listed in every release".to_owned(),
                }
            })
            .collect()
    }
}

pub(crate) struct Model {
    pub(crate) tables: Vec<TableDef>,
    pub(crate) enums: Vec<EnumDef>,
    pub(crate) uses_map: bool,
    pub(crate) uses_string_map: bool,
    pub(crate) uses_ref: bool,
}

fn count_doc(ty: &ColumnType) -> String {
    match ty.max {
        None => format!("{} or more", ty.min),
        Some(m) => format!("{}..={m}", ty.min),
    }
}

pub(crate) fn build_model(
    schema: &DatabaseSchema,
    releases: &Releases<'_>,
) -> Result<Model, Error> {
    let mut namer = Namer {
        schema,
        struct_names: BTreeMap::new(),
        taken: BTreeSet::from(["TableUpdates2".to_owned(), "Database".to_owned()]),
    };
    for name in schema.tables.keys() {
        let s = camel(name);
        for n in [s.clone(), format!("{s}Column")] {
            if !namer.taken.insert(n.clone()) {
                return Err(Error::Unsupported(format!(
                    "two tables give the Rust name {n}"
                )));
            }
        }
        namer.struct_names.insert(name.clone(), s);
    }
    let mut model = Model {
        tables: Vec::new(),
        enums: Vec::new(),
        uses_map: false,
        uses_string_map: false,
        uses_ref: false,
    };
    for (tname, table) in &namer.schema.tables {
        let struct_name = namer.struct_of(tname)?.to_owned();
        let table_since = releases
            .history
            .table_since(tname)
            .unwrap_or_else(|| releases.oldest());
        let mut columns = Vec::new();
        let mut fields = BTreeSet::new();
        let mut variants = BTreeSet::new();
        for (cname, col) in &table.columns {
            let enums_before = model.enums.len();
            let since = releases
                .history
                .column_since(tname, cname)
                .unwrap_or_else(|| releases.oldest());
            let mut def = build_column(
                &mut namer,
                tname,
                &struct_name,
                (cname, col),
                since,
                &mut model,
            )?;
            for e in model.enums.iter_mut().skip(enums_before) {
                let wire: Vec<String> = e.values.iter().map(|(v, _)| v.clone()).collect();
                let value_part = e.origin.ends_with(" value");
                e.notes = releases.enum_notes(tname, cname, value_part, &wire);
            }
            if since != table_since {
                def.doc.push_str(&format!(" Since {since}."));
            }
            if !fields.insert(def.field.clone()) || !variants.insert(def.variant.clone()) {
                return Err(Error::Unsupported(format!(
                    "two columns of {tname} give the Rust name {} / {}",
                    def.field, def.variant
                )));
            }
            columns.push(def);
        }
        let since = table_since;
        let mut doc = table_doc(schema, tname, table);
        if since != releases.oldest() {
            doc.push(format!("First in release {since}."));
        }
        model.tables.push(TableDef {
            name: tname.clone(),
            column_enum: format!("{struct_name}Column"),
            struct_name,
            columns,
            doc,
            since,
        });
    }
    Ok(model)
}

fn table_doc(schema: &DatabaseSchema, name: &str, table: &TableSchema) -> Vec<String> {
    let mut doc = vec![format!("A row of table `{name}`.")];
    let mut facts = Vec::new();
    if schema.is_root(name) {
        facts.push("A root table: rows live without references.".to_owned());
    } else {
        facts.push("Not a root table: rows without strong references are deleted.".to_owned());
    }
    if let Some(m) = table.max_rows {
        facts.push(format!("At most {m} rows."));
    }
    for idx in &table.indexes {
        let cols: Vec<String> = idx.iter().map(|c| format!("`{c}`")).collect();
        facts.push(format!("Unique index: {}.", cols.join(", ")));
    }
    doc.push(String::new());
    doc.extend(facts);
    doc
}

fn build_column(
    namer: &mut Namer<'_>,
    table: &str,
    struct_name: &str,
    (name, col): (&str, &ColumnSchema),
    since: Release,
    model: &mut Model,
) -> Result<ColumnDef, Error> {
    let ty = &col.type_;
    let col_camel = camel(name);
    let origin = format!("{table}.{name}");
    let (key_type, key_doc) = namer.base(
        &ty.key,
        || {
            let suffix = if ty.value.is_some() { "Key" } else { "" };
            (
                format!("{struct_name}{col_camel}{suffix}"),
                if ty.value.is_some() {
                    format!("{origin} key")
                } else {
                    origin.clone()
                },
            )
        },
        &mut model.enums,
        &mut model.uses_ref,
    )?;
    let mut has_real = ty.key.kind == AtomicType::Real;
    let (rust_type, default, shape_doc) = match &ty.value {
        Some(vt) => {
            if ty.key.kind == AtomicType::Real {
                return Err(Error::Unsupported(format!(
                    "{origin}: a map with real keys has no SortedMap form"
                )));
            }
            has_real |= vt.kind == AtomicType::Real;
            let (val_type, val_doc) = namer.base(
                vt,
                || {
                    (
                        format!("{struct_name}{col_camel}Value"),
                        format!("{origin} value"),
                    )
                },
                &mut model.enums,
                &mut model.uses_ref,
            )?;
            let shape = format!("map of {} pairs from {key_doc} to {val_doc}", count_doc(ty));
            if key_type == "String" && val_type == "String" {
                // Plain string maps (external_ids, options) keep their text in one buffer.
                model.uses_string_map = true;
                let default = (ty.min > 0).then(|| "StringMap::from([(\"\", \"\")])".to_owned());
                ("StringMap".to_owned(), default, shape)
            } else {
                model.uses_map = true;
                let default = (ty.min > 0).then(|| {
                    "SortedMap::from([(Default::default(), Default::default())])".to_owned()
                });
                (format!("SortedMap<{key_type}, {val_type}>"), default, shape)
            }
        }
        None if ty.is_scalar() => (key_type, None, key_doc),
        None if ty.is_optional() => (
            format!("Option<{key_type}>"),
            None,
            format!("optional {key_doc}"),
        ),
        None => (
            format!("Vec<{key_type}>"),
            (ty.min > 0).then(|| "vec![Default::default()]".to_owned()),
            format!("set of {} × {key_doc}, sorted", count_doc(ty)),
        ),
    };
    let mut doc = format!("`{name}`: {shape_doc}.");
    if col.ephemeral {
        doc.push_str(" Ephemeral.");
    }
    if !col.mutable {
        doc.push_str(" Immutable.");
    }
    Ok(ColumnDef {
        name: name.to_owned(),
        field: field_name(name),
        variant: match col_camel.as_str() {
            "" => "Empty".to_owned(),
            "Self" => "SelfColumn".to_owned(),
            _ => col_camel,
        },
        rust_type,
        default,
        has_real,
        doc,
        since,
    })
}
