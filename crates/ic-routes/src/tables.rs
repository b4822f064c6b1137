//! Every table ovn-ic's logic reads, by database: the zone steps' (registration, transit
//! switches, port bindings, gateways, status counters) and the route engine's. A replica
//! that registers exactly these (see [`visit_tables`]) can feed [`crate::zone::Rows`],
//! [`crate::Snapshot::from_sources`] and [`crate::Change::read`]; a table added to the
//! engine or the steps is then monitored by every daemon without another list to update.

use std::any::TypeId;
use std::collections::HashSet;

use ovsdb_proto::typed::{Table, TableVisitor};

use crate::incremental::{visit_engine_tables, Database};
use crate::zone::visit_zone_tables;

/// Calls `visitor` once for every table ovn-ic's logic reads in `db`.
pub fn visit_tables<V: TableVisitor>(db: Database, visitor: &mut V) {
    struct Once<'a, V> {
        seen: HashSet<TypeId>,
        inner: &'a mut V,
    }
    impl<V: TableVisitor> TableVisitor for Once<'_, V> {
        fn visit<T: Table + Send + Sync + 'static>(&mut self) {
            if self.seen.insert(TypeId::of::<T>()) {
                self.inner.visit::<T>();
            }
        }
    }
    let mut once = Once {
        seen: HashSet::new(),
        inner: visitor,
    };
    visit_zone_tables(db, &mut once);
    visit_engine_tables(db, &mut once);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::Rows;
    use crate::{Change, Snapshot, Table as EngineTable};
    use ovsdb_proto::typed::TypedStore;
    use ovsdb_proto::Uuid;

    fn store(db: Database) -> TypedStore {
        let mut s = TypedStore::new();
        visit_tables(db, &mut s);
        s
    }

    /// Stores holding exactly the listed tables feed every reader: a table read but not
    /// listed would make these `None` or panic.
    #[test]
    fn the_list_covers_every_reader() {
        let [nb, sb, ic_nb, ic_sb] = Database::ALL.map(store);
        assert!(Rows::from_sources(&nb, &sb, &ic_nb, &ic_sb).is_some());
        for t in EngineTable::ALL {
            let src = match t.database() {
                Database::Nb => &nb,
                Database::Sb => &sb,
                Database::IcNb => &ic_nb,
                Database::IcSb => &ic_sb,
            };
            assert_eq!(
                Change::read(*t, Uuid::from_u128(1), src),
                Some(Change::Delete(*t, Uuid::from_u128(1))),
                "{t:?}"
            );
            assert_eq!(EngineTable::find(t.database(), t.name()), Some(*t));
        }
        assert!(Snapshot::from_sources("az1", &nb, &ic_nb, &ic_sb).is_some());
    }
}
