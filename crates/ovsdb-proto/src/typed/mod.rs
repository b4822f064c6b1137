//! The runtime of generated typed rows (`ovsdb-codegen` output such as the `ovn-nb` crate).
//!
//! Generated code turns each table of a schema into a struct implementing [`Table`] and a
//! column enum implementing [`Column`]. This module holds what those impls share:
//!
//! - [`Ref<T>`], a typed row reference (a UUID that remembers the table it points into);
//! - [`Atomic`], the conversion between one [`Atom`](crate::Atom) and a Rust value (`String`, `i64`, `f64`,
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
//! [`Atomic::cmp_atomic`], which is the order of [`Atom`](crate::Atom)) and free of duplicates; a set
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

use crate::data::{Datum, Uuid};
use crate::error::{Error, Result};
use crate::operation::{Condition, Function, Mutation, Mutator, Operation};
use crate::row::{Applied, Row, RowUpdate2};
use crate::schema::{ColumnType, DatabaseSchema, TableSchema};
use crate::skew::{Release, SchemaHistory};
pub use crate::sorted_map::SortedMap;
pub use crate::store::{TypedRows, TypedStore};
pub use crate::string_map::{Iter as StringMapIter, StringMap, StringMapBuilder, TooLong};

// Re-exported for generated code, which depends on this crate only.
pub use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

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

#[doc(hidden)]
pub mod rt;
/// Checks a string atom of a map against its base type's constraints (enumeration, lengths).
mod values;
mod wire;

#[cfg(test)]
mod tests;

#[allow(
    unused_imports,
    reason = "the submodules share these crate-private helpers"
)]
pub(crate) use values::*;
pub use values::{Atomic, ColumnValue, StringEnum};
#[allow(
    unused_imports,
    reason = "the submodules share these crate-private helpers"
)]
pub(crate) use wire::*;
pub use wire::{apply_table_update2_json, TypedRowUpdate2, TypedTableUpdate2};

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

/// A datum built by hand (a set of keys to delete from a map, say).
impl IntoDatum for Datum {
    fn into_datum(self) -> Datum {
        self
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
