//! The runtime of generated code: what `ovsdb-codegen`'s output calls, and nothing a user
//! needs to name. Hidden from the documentation; its contents may change with the
//! generator.

pub use super::values::{
    apply_column_diff, decode_column, sort_set, string_enum_from_atom, string_enum_from_wire,
    WireAtom,
};
pub use super::wire::{deserialize_row, ColumnSeed};

use crate::schema::{ColumnType, DatabaseSchema, TableSchema};
use crate::skew::{PinnedSchema, SchemaHistory};

use super::Column;

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
