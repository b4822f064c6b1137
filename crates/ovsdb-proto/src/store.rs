//! The typed seam between where rows live and what reads them.
//!
//! Pure code (ovn-ic's zone steps, the route engine's snapshot and change builders, the
//! isolation verifier) reads typed rows through [`TypedRows`]: the rows of a table, by UUID,
//! as the generated type. Two sources implement it: a live replica (`ovsdb-client`'s cache)
//! and [`TypedStore`], a plain offline store filled from a dump, an in-memory database or by
//! hand. Code written against the trait runs unchanged on either.

use std::any::{Any, TypeId};
use std::collections::HashMap;

use crate::data::Uuid;
use crate::dump::Dump;
use crate::error::Result;
use crate::typed::{Database, Table, TableVisitor};

/// Typed rows of tables, by row type.
pub trait TypedRows {
    /// The rows of `T`'s table by UUID, or `None` if this source does not hold that table
    /// typed (a replica that does not monitor it).
    fn rows<T: Table + Send + Sync + 'static>(&self) -> Option<&HashMap<Uuid, T>>;
}

/// A plain store of typed rows: one map per table type.
#[derive(Default)]
pub struct TypedStore {
    tables: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for TypedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedStore")
            .field("tables", &self.tables.len())
            .finish()
    }
}

impl TypedRows for TypedStore {
    fn rows<T: Table + Send + Sync + 'static>(&self) -> Option<&HashMap<Uuid, T>> {
        self.tables.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

/// Visiting a table makes it present (empty) in the store: `D::visit_tables(&mut store)`
/// gives a store that holds every table of `D`.
impl TableVisitor for TypedStore {
    fn visit<T: Table + Send + Sync + 'static>(&mut self) {
        self.table_mut::<T>();
    }
}

impl TypedStore {
    /// An empty store.
    pub fn new() -> Self {
        TypedStore::default()
    }

    /// The rows of `T`'s table, created empty if missing.
    pub fn table_mut<T: Table + Send + Sync + 'static>(&mut self) -> &mut HashMap<Uuid, T> {
        self.tables
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(HashMap::<Uuid, T>::new()))
            .downcast_mut()
            .expect("the map of a TypeId holds that type")
    }

    /// Adds (or replaces) `row`, under its UUID.
    pub fn insert<T: Table + Send + Sync + 'static>(&mut self, row: T) {
        self.table_mut::<T>().insert(row.uuid(), row);
    }

    /// Removes the row `uuid` of `T`'s table.
    pub fn remove<T: Table + Send + Sync + 'static>(&mut self, uuid: Uuid) -> Option<T> {
        self.table_mut::<T>().remove(&uuid)
    }

    /// The rows of every table of database `D` this store holds, as a dump.
    pub fn to_dump<D: Database>(&self) -> Dump {
        struct Put<'a> {
            store: &'a TypedStore,
            dump: Dump,
        }
        impl TableVisitor for Put<'_> {
            fn visit<T: Table + Send + Sync + 'static>(&mut self) {
                if let Some(rows) = self.store.rows::<T>() {
                    let mut sorted: Vec<&T> = rows.values().collect();
                    sorted.sort_by_key(|r| r.uuid());
                    self.dump.insert_typed(sorted);
                }
            }
        }
        let mut put = Put {
            store: self,
            dump: Dump::new(),
        };
        D::visit_tables(&mut put);
        put.dump
    }

    /// Every table of database `D`, decoded from `dump` (tables the dump lacks are empty).
    ///
    /// # Errors
    ///
    /// When a row of the dump does not fit its generated type.
    pub fn from_dump<D: Database>(dump: &Dump) -> Result<Self> {
        struct Fill<'a> {
            dump: &'a Dump,
            store: TypedStore,
            error: Option<crate::Error>,
        }
        impl TableVisitor for Fill<'_> {
            fn visit<T: Table + Send + Sync + 'static>(&mut self) {
                if self.error.is_some() {
                    return;
                }
                match self.dump.typed::<T>() {
                    Ok(rows) => {
                        *self.store.table_mut::<T>() = rows.into_iter().collect();
                    }
                    Err(e) => self.error = Some(e),
                }
            }
        }
        let mut fill = Fill {
            dump,
            store: TypedStore::new(),
            error: None,
        };
        D::visit_tables(&mut fill);
        match fill.error {
            Some(e) => Err(e),
            None => Ok(fill.store),
        }
    }
}
