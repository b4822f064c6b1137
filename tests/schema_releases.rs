//! The generated OVN crates against real servers of two OVN releases: Debian 12's
//! `ovsdb-server` 3.1 with OVN 23.03.1's schemas (the host), and Debian 13's `ovsdb-server`
//! 3.5 with OVN 25.03.0's schemas (a Debian 13 root, run through `chroot`).
//!
//! For each of the four databases, through `ovsdb-client`:
//!
//! - the server's schema is matched to its pinned release (exactly), and equals that
//!   release's pinned schema;
//! - a row of every table the server has (with every column the server has set to a
//!   non-default value, references to the other rows of the transaction) is built as a
//!   generated row, inserted with `insert_op`, and read back through a typed-only monitor
//!   equal to what was inserted: the columns the server lacks read as their defaults;
//! - every column the server lacks is refused with `ClientError::Skew` (naming the column,
//!   the server's version and the release that introduced it) when a value other than its
//!   default is written, and left out when its default is; every table the server lacks is
//!   refused.
//!
//! The server is the test kit's release (`ovnlink_testkit::release`): the host's 23.03.1, or
//! 25.03.0 when `OVNLINK_OVN_ROOT` names the Debian 13 root; `scripts/test.sh` runs both.
//! Tests skip (with a `skipped:` line) without the binaries, unless `OVNLINK_REAL_TESTS=1`
//! is set.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ovnlink_testkit::release::release;
use ovnlink_testkit::server::{
    real_servers, OvsdbServer, OVN_IC_NB_SCHEMA, OVN_IC_SB_SCHEMA, OVN_NB_SCHEMA, OVN_SB_SCHEMA,
};
use ovsdb_client::{Client, ClientConfig, ClientError, MonitorSpec, Tables};
use ovsdb_proto::schema::{AtomicType, BaseType, ColumnType, TableSchema};
use ovsdb_proto::skew::{Release, SkewUse};
use ovsdb_proto::typed::{Column, Database, Table, TableVisitor};
use ovsdb_proto::{Atom, DatabaseSchema, Datum, Map, Operation, Row, Set, Uuid};

const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Servers.

/// A real `ovsdb-server` of the test kit's release with the four OVN databases, and that
/// release (by its northbound schema's version, which must be a pinned one exactly).
fn start_release() -> (OvsdbServer, Release) {
    let server = OvsdbServer::builder()
        .database(OVN_NB_SCHEMA)
        .database(OVN_SB_SCHEMA)
        .database(OVN_IC_NB_SCHEMA)
        .database(OVN_IC_SB_SCHEMA)
        .start()
        .expect("start ovsdb-server");
    let path = release().host_path(OVN_NB_SCHEMA);
    let schema = DatabaseSchema::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let found = ovn_nb::history()
        .release_of(&schema)
        .expect("a pinned release");
    assert!(found.exact, "{found} is not a pinned schema");
    (server, found.oldest)
}

// ---------------------------------------------------------------------------------------------
// Values.

/// A non-default atom of `base` (`n` varies it), or `None` for a reference.
fn atom(base: &BaseType, n: usize) -> Option<Atom> {
    if base.ref_table.is_some() {
        return None;
    }
    if let Some(e) = &base.enumeration {
        let listed: Vec<&Atom> = e
            .iter()
            .filter(|a| **a != Atom::default_of(base.kind))
            .collect();
        return listed
            .get(n % listed.len().max(1))
            .map(|a| (*a).clone())
            .or_else(|| e.iter().next().cloned());
    }
    Some(match base.kind {
        AtomicType::Integer => {
            let lo = base.min_integer.unwrap_or(i64::MIN);
            let hi = base.max_integer.unwrap_or(i64::MAX);
            Atom::Integer((1 + n as i64).clamp(lo, hi))
        }
        AtomicType::Real => {
            let lo = base.min_real.unwrap_or(f64::MIN);
            let hi = base.max_real.unwrap_or(f64::MAX);
            Atom::Real((1.5 + n as f64).clamp(lo, hi))
        }
        AtomicType::Boolean => Atom::Boolean(n % 2 == 0),
        AtomicType::String => {
            let min = base.min_length.unwrap_or(1).max(1) as usize;
            let max = base.max_length.unwrap_or(64) as usize;
            let mut s = format!("v{n}");
            while s.len() < min {
                s.push('x');
            }
            s.truncate(max.max(1));
            Atom::String(s)
        }
        AtomicType::Uuid => Atom::Uuid(Uuid::from_u128(0xabc0 + n as u128)),
    })
}

/// A non-default value of `ty`; references point at `targets`' rows. `None` when a
/// reference has no target (the column is left at its default) or the column cannot be
/// filled.
fn datum(ty: &ColumnType, targets: &BTreeMap<String, Uuid>) -> Option<Datum> {
    let reference = |b: &BaseType| {
        b.ref_table
            .as_ref()
            .and_then(|t| targets.get(t))
            .map(|u| Atom::Uuid(*u))
    };
    let one = |b: &BaseType, n: usize| atom(b, n).or_else(|| reference(b));
    let wanted = match ty.max {
        Some(1) => 1,
        _ => 2,
    };
    match &ty.value {
        None => {
            let atoms: BTreeSet<Atom> = (0..wanted).filter_map(|n| one(&ty.key, n)).collect();
            (!atoms.is_empty()).then(|| Datum::Set(Set::from_atoms(atoms.into_iter().collect())))
        }
        Some(v) => {
            let key = one(&ty.key, 0)?;
            let value = one(v, 0)?;
            Some(Datum::Map(Map::from_pairs(vec![(key, value)])))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The plan of one database.

type Check = Box<dyn Fn(&Tables)>;

/// Builds a table's typed row from an untyped one: its insert and its read-back check.
type Make = Box<dyn Fn(Uuid, &Row) -> (Operation, Check)>;

/// One generated table, as the visitor saw it.
struct Planned {
    name: &'static str,
    make: Make,
}

/// Something the server must refuse: operations, and the table and column named.
struct Refusal {
    ops: Vec<Operation>,
    table: &'static str,
    column: Option<&'static str>,
    since: Release,
}

struct Plan<'a> {
    server: &'a DatabaseSchema,
    release: Release,
    tables: Vec<Planned>,
    refused: Vec<Refusal>,
    /// Writes of default values to columns the server lacks: they must go through.
    defaults: Vec<Operation>,
}

impl TableVisitor for Plan<'_> {
    fn visit<T: Table + Send + Sync + 'static>(&mut self) {
        let Some(st) = self.server.table(T::NAME) else {
            assert!(T::since() > self.release, "{} is older", T::NAME);
            self.refused.push(Refusal {
                ops: vec![T::default().insert_op()],
                table: T::NAME,
                column: None,
                since: T::since(),
            });
            return;
        };
        for c in T::missing_columns(self.server) {
            assert!(
                c.since() > self.release,
                "{}.{} is older",
                T::NAME,
                c.name()
            );
            let uuid = Uuid::from_u128(0xdead_0000 + self.refused.len() as u128);
            let value = datum(c.column_type(), &BTreeMap::new())
                .unwrap_or_else(|| Datum::scalar(Atom::Uuid(Uuid::from_u128(7))));
            let row = T::from_row(uuid, &Row::new().with(c.name(), value)).unwrap();
            self.refused.push(Refusal {
                ops: vec![row.update_op(&[c])],
                table: T::NAME,
                column: Some(c.name()),
                since: c.since(),
            });
            let mut default = T::default();
            default.set_uuid(uuid);
            self.defaults.push(default.update_op(&[c]));
        }
        assert_eq!(
            st.columns.len() + T::missing_columns(self.server).len(),
            T::Column::ALL.len()
        );
        self.tables.push(Planned {
            name: T::NAME,
            make: Box::new(|uuid, row| {
                let typed = T::from_row(uuid, row).unwrap();
                // Every value the server has survives the generated row.
                for (name, value) in row.iter() {
                    let c = T::Column::from_name(name).unwrap();
                    let conformed = value.clone().conform(c.column_type()).unwrap();
                    assert_eq!(typed.column_datum(c), conformed, "{}.{name}", T::NAME);
                }
                let op = typed.insert_op();
                let check: Check = Box::new(move |tables: &Tables| {
                    let rows = tables.typed::<T>().expect("a typed-only table");
                    assert_eq!(rows.get(&uuid), Some(&typed), "{}", T::NAME);
                });
                (op, check)
            }),
        });
    }
}

/// Which of the server's tables get a row: those whose rows can be built (references to
/// other such rows) and survive the commit (a root, or referenced by a surviving row).
fn rows_for(server: &DatabaseSchema, tables: &[Planned]) -> BTreeMap<String, (Uuid, Row)> {
    let mut chosen: BTreeMap<String, Uuid> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.to_owned(), Uuid::from_u128(0x5c4e_0000 + i as u128)))
        .collect();
    loop {
        let mut rows = BTreeMap::new();
        let mut dropped = None;
        for (name, uuid) in &chosen {
            let ts: &TableSchema = server.table(name).unwrap();
            let mut row = Row::new();
            for (cname, c) in &ts.columns {
                match datum(&c.type_, &chosen) {
                    Some(d) => {
                        row.insert(cname.clone(), d);
                    }
                    None if c.type_.min > 0 => dropped = Some(name.clone()),
                    None => {}
                }
            }
            rows.insert(name.clone(), (*uuid, row));
        }
        // Rows of non-root tables that no chosen row references are collected at commit.
        let referenced: BTreeSet<Uuid> = rows
            .values()
            .flat_map(|(_, r)| r.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>())
            .flat_map(|d| match d {
                Datum::Set(s) => s.into_vec(),
                Datum::Map(m) => m.into_vec().into_iter().flat_map(|(k, v)| [k, v]).collect(),
            })
            .filter_map(|a| a.as_uuid())
            .collect();
        if dropped.is_none() {
            dropped = chosen
                .iter()
                .find(|(name, uuid)| !server.is_root(name) && !referenced.contains(uuid))
                .map(|(name, _)| name.clone());
        }
        match dropped {
            Some(name) => {
                chosen.remove(&name);
            }
            None => return rows,
        }
    }
}

async fn exercise<D: Database>(client: &Client, release: Release) {
    let server = client.get_schema(D::NAME).await.unwrap();
    let history = D::history();
    let found = history.release_of(&server).unwrap();
    assert!(found.exact, "{}: {found}", D::NAME);
    assert!(
        found.oldest <= release && release <= found.newest,
        "{}: {found}",
        D::NAME
    );
    let pinned = history.pinned_of(release).unwrap().schema().unwrap();
    assert_eq!(pinned.tables, server.tables, "{}", D::NAME);

    let mut plan = Plan {
        server: &server,
        release,
        tables: Vec::new(),
        refused: Vec::new(),
        defaults: Vec::new(),
    };
    D::visit_tables(&mut plan);
    let rows = rows_for(&server, &plan.tables);
    assert!(
        rows.len() * 2 > plan.tables.len(),
        "{}: only {} of {} tables get a row",
        D::NAME,
        rows.len(),
        plan.tables.len()
    );
    let mut ops = Vec::new();
    let mut checks = Vec::new();
    for t in &plan.tables {
        if let Some((uuid, row)) = rows.get(t.name) {
            let (op, check) = (t.make)(*uuid, row);
            ops.push(op);
            checks.push(check);
        }
    }
    eprintln!(
        "{} {}: rows of {} of {} tables ({}), {} refusals",
        D::NAME,
        found,
        rows.len(),
        plan.tables.len(),
        rows.keys().cloned().collect::<Vec<_>>().join(" "),
        plan.refused.len()
    );
    client.transact_checked(D::NAME, ops).await.unwrap();
    let cache = client
        .monitor(D::NAME, MonitorSpec::all().typed_database::<D>())
        .await
        .unwrap();
    {
        let tables = cache.read();
        for check in &checks {
            check(&tables);
        }
    }

    for r in plan.refused {
        let err = client.transact(D::NAME, r.ops).await.unwrap_err();
        let ClientError::Skew(e) = &err else {
            panic!("{}: {err}", D::NAME);
        };
        assert_eq!(
            (e.table.as_str(), e.column.as_deref(), e.since),
            (r.table, r.column, Some(r.since)),
            "{err}"
        );
        assert_eq!(e.server_version, server.version, "{err}");
        assert_eq!(
            e.usage,
            if r.column.is_some() {
                SkewUse::Value
            } else {
                SkewUse::Table
            }
        );
    }
    client
        .transact_checked(D::NAME, plan.defaults)
        .await
        .unwrap();
}

async fn all_databases(server: &OvsdbServer, release: Release) {
    let config = ClientConfig::new(&server.remote()).unwrap();
    let client = Client::connect(config, WAIT).await.unwrap();
    exercise::<ovn_nb::Database>(&client, release).await;
    exercise::<ovn_sb::Database>(&client, release).await;
    exercise::<ovn_ic_nb::Database>(&client, release).await;
    exercise::<ovn_ic_sb::Database>(&client, release).await;
    client.shutdown();
}

/// Runs against the test kit's release: OVN 23.03.1 on the host, 25.03.0 with
/// `OVNLINK_OVN_ROOT` naming the Debian 13 root (`scripts/test.sh` runs both).
#[tokio::test]
async fn generated_rows_against_the_release() {
    if !real_servers() {
        return;
    }
    let (server, found) = start_release();
    assert_eq!(
        found.to_string(),
        release().ovn_version(),
        "{}",
        release().describe()
    );
    all_databases(&server, found).await;
}

/// The issue's own case: an IC-SB `Availability_Zone` against an OVN 23.03.1 server.
#[tokio::test]
async fn availability_zone_nb_ic_cfg_against_ovn_23_03() {
    if !real_servers() {
        return;
    }
    let (server, found) = start_release();
    if found != Release::new("23.03.1") {
        eprintln!("skipped: needs OVN 23.03.1, the release is {found}");
        return;
    }
    let config = ClientConfig::new(&server.remote())
        .unwrap()
        .history(ovn_ic_sb::history());
    let client = Client::connect(config, WAIT).await.unwrap();
    const DB: &str = ovn_ic_sb::NAME;

    let mut az = ovn_ic_sb::AvailabilityZone::default();
    az.uuid = Uuid::from_u128(0xa2);
    az.name = "az1".into();
    use ovn_ic_sb::AvailabilityZoneColumn as Az;
    // nb_ic_cfg = 0 (its default): the insert works, and so does an update of the column.
    client
        .transact_checked(
            DB,
            vec![az.insert_op(), az.update_op(&[Az::Name, Az::NbIcCfg])],
        )
        .await
        .unwrap();
    // nb_ic_cfg = 5: refused before anything is sent.
    az.nb_ic_cfg = 5;
    let mut other = az.clone();
    other.uuid = Uuid::from_u128(0xa3);
    other.name = "az2".into();
    let err = client
        .transact(DB, vec![other.insert_op()])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "OVN_IC_Southbound 1.1.1 has no column Availability_Zone.nb_ic_cfg (first in release \
         24.03.0); operation 0 writes 5; nothing was sent"
    );
    // A table the server lacks: refused too.
    let err = client
        .transact(DB, vec![ovn_ic_sb::ServiceMonitor::default().insert_op()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Skew(e) if e.table == "Service_Monitor" && e.column.is_none()),
        "{err}"
    );
    // Reading: the zone has nb_ic_cfg at its default, and only az1 exists.
    let cache = client
        .monitor(
            DB,
            MonitorSpec::all().typed_database::<ovn_ic_sb::Database>(),
        )
        .await
        .unwrap();
    let tables = cache.read();
    let zones = tables.typed::<ovn_ic_sb::AvailabilityZone>().unwrap();
    let names: Vec<(&str, i64)> = zones
        .values()
        .map(|z| (z.name.as_str(), z.nb_ic_cfg))
        .collect();
    assert_eq!(names, [("az1", 0)]);
    drop(tables);
    client.shutdown();
}
