//! The golden output of `tests/golden/routes.releases.txt` (three releases of a small
//! interconnection schema) compiled and exercised: the merged model reads every release's
//! rows, each table and column knows its first release, a server's schema is matched to its
//! release, and writes are checked against an older server's schema. Then the same release
//! matching on every schema the four OVN crates pin.

#[path = "golden/routes.rs"]
#[allow(dead_code, reason = "generated items that this test does not use")]
mod routes;

use ovsdb_proto::skew::{check_operations, Release, SkewUse};
use ovsdb_proto::typed::{Column, Table};
use ovsdb_proto::{Datum, Error, Operation, Row, Uuid};
use routes::{
    releases, AvailabilityZone, AvailabilityZoneColumn, Encap, EncapType, Route, RouteOrigin,
    ServiceMonitor,
};

#[test]
fn pinned_releases_and_the_newest_schema() {
    assert_eq!(
        releases::ALL,
        [releases::V1_0_0, releases::V1_1_0, releases::V2_0_0]
    );
    assert_eq!(routes::RELEASE, Release::new("2.0.0"));
    assert_eq!(routes::VERSION, "0.2.0");
    let versions: Vec<&str> = routes::PINNED.iter().map(|p| &*p.version).collect();
    assert_eq!(versions, ["0.1.0", "0.1.0", "0.2.0"]);
    // SCHEMA_JSON is the newest release's file, verbatim; the model is not.
    assert_eq!(routes::SCHEMA_JSON, &*routes::PINNED[2].json);
    let newest = routes::PINNED[2].schema().unwrap();
    assert_ne!(&newest, routes::schema());
    assert_eq!(routes::history().newest().release, releases::V2_0_0);
}

#[test]
fn tables_and_columns_know_their_first_release() {
    assert_eq!(AvailabilityZone::since(), releases::V1_0_0);
    assert_eq!(AvailabilityZoneColumn::Name.since(), releases::V1_0_0);
    assert_eq!(AvailabilityZoneColumn::NbIcCfg.since(), releases::V2_0_0);
    assert_eq!(ServiceMonitor::since(), releases::V2_0_0);
    assert_eq!(
        AvailabilityZone::history().column_since("Availability_Zone", "nb_ic_cfg"),
        Some(releases::V2_0_0)
    );
}

#[test]
fn every_pinned_schema_is_matched_to_its_releases() {
    let h = routes::history();
    for p in h.pinned() {
        let found = h.release_of(&p.schema().unwrap()).unwrap();
        assert!(found.exact, "{}", p.release);
        assert!(found.oldest <= p.release && p.release <= found.newest);
    }
    let old = routes::PINNED[0].schema().unwrap();
    assert_eq!(h.release_of(&old).unwrap().to_string(), "1.0.0 to 1.1.0");
    let missing: Vec<String> = h.missing(&old).iter().map(ToString::to_string).collect();
    assert_eq!(
        missing,
        [
            "Availability_Zone.nb_ic_cfg (since 2.0.0)",
            "table Service_Monitor (since 2.0.0)"
        ]
    );
    assert_eq!(
        AvailabilityZone::missing_columns(&old),
        [AvailabilityZoneColumn::NbIcCfg]
    );
    assert!(!ServiceMonitor::is_in(&old));
}

#[test]
fn the_model_reads_every_release() {
    // `stt` is listed only up to 1.1.0: it still decodes into its variant.
    let row = Row::new()
        .with("type", Datum::scalar("stt"))
        .with("networks", Datum::empty_set())
        .with("table_id", Datum::scalar(33));
    let encap = Encap::from_row(Uuid::from_u128(1), &row).unwrap();
    assert!(matches!(encap.type_, EncapType::Stt));
    assert!(encap.networks.is_empty());
    assert_eq!(encap.table_id, 33);
    // `loadbalancer` is listed since 2.0.0.
    let route: Route = serde_json::from_str(r#"{"origin":"loadbalancer"}"#).unwrap();
    assert!(matches!(route.origin, RouteOrigin::Loadbalancer));
    // A 1.0.0 server sends no `nb_ic_cfg`: it reads as its default.
    let az: AvailabilityZone = serde_json::from_str(r#"{"name":"az1"}"#).unwrap();
    assert_eq!(az.nb_ic_cfg, 0);
}

#[test]
fn writes_fit_an_older_server_or_are_refused() {
    let old = routes::PINNED[0].schema().unwrap();
    let h = routes::history();
    let mut az = AvailabilityZone {
        uuid: Uuid::from_u128(1),
        name: "az1".into(),
        ..Default::default()
    };
    // A default-valued new column is not even in the insert.
    let mut ops = vec![az.insert_op()];
    assert_eq!(check_operations(&mut ops, &old, Some(h)).unwrap(), 0);
    // Updating it to its default is dropped; to another value is refused.
    let mut ops = vec![az.update_op(&[
        AvailabilityZoneColumn::Name,
        AvailabilityZoneColumn::NbIcCfg,
    ])];
    assert_eq!(check_operations(&mut ops, &old, Some(h)).unwrap(), 1);
    let Operation::Update { row, .. } = &ops[0] else {
        panic!("{:?}", ops[0]);
    };
    assert_eq!(row, &Row::new().with("name", Datum::scalar("az1")));
    az.nb_ic_cfg = 5;
    let mut ops = vec![az.insert_op()];
    let Err(Error::Skew(e)) = check_operations(&mut ops, &old, Some(h)) else {
        panic!("not refused");
    };
    assert_eq!(
        (e.column.as_deref(), e.since, e.usage),
        (Some("nb_ic_cfg"), Some(releases::V2_0_0), SkewUse::Value)
    );
    assert_eq!(
        e.to_string(),
        "Mini_IC 0.1.0 has no column Availability_Zone.nb_ic_cfg (first in release 2.0.0); \
         operation 0 writes 5; nothing was sent"
    );
    let mut ops = vec![ServiceMonitor::default().insert_op()];
    let Err(Error::Skew(e)) = check_operations(&mut ops, &old, Some(h)) else {
        panic!("not refused");
    };
    assert_eq!(
        (e.table.as_str(), e.usage),
        ("Service_Monitor", SkewUse::Table)
    );
    // The newest schema takes everything.
    let mut ops = vec![az.insert_op(), ServiceMonitor::default().insert_op()];
    let newest = h.newest().schema().unwrap();
    assert_eq!(check_operations(&mut ops, &newest, Some(h)).unwrap(), 0);
}

/// Every pinned schema of the four OVN crates is matched to its release, and the model has
/// all of it: each of its tables and columns appeared at or before that release, and what it
/// lacks appeared after.
#[test]
fn every_pinned_ovn_schema_is_matched_to_its_release() {
    for history in [
        ovn_nb::history(),
        ovn_sb::history(),
        ovn_ic_nb::history(),
        ovn_ic_sb::history(),
    ] {
        assert_eq!(history.newest().release, Release::new("26.03.2"));
        for p in history.pinned() {
            let schema = p.schema().unwrap();
            let found = history.release_of(&schema).unwrap();
            assert!(found.exact, "{} {}", history.name(), p.release);
            assert!(found.oldest <= p.release && p.release <= found.newest);
            for (tname, t) in &schema.tables {
                assert!(history.table_since(tname).unwrap() <= p.release);
                for cname in t.columns.keys() {
                    let since = history.column_since(tname, cname).unwrap();
                    assert!(since <= p.release, "{tname}.{cname}");
                    assert!(history
                        .model()
                        .table(tname)
                        .unwrap()
                        .columns
                        .contains_key(cname));
                }
            }
            for m in history.missing(&schema) {
                assert!(m.since > p.release, "{} {}: {m}", history.name(), p.release);
            }
        }
    }
    // Debian 12's and Debian 13's releases, as the interop tests meet them.
    let ic_sb = ovn_ic_sb::history();
    let old = ic_sb
        .pinned_of(Release::new("23.03.1"))
        .unwrap()
        .schema()
        .unwrap();
    assert_eq!(
        ic_sb.release_of(&old).unwrap().to_string(),
        "23.03.1 to 23.09.0"
    );
    let missing: Vec<String> = ic_sb
        .missing(&old)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        missing,
        [
            "Availability_Zone.nb_ic_cfg (since 24.03.0)",
            "Datapath_Binding.nb_ic_uuid (since 26.03.2)",
            "Datapath_Binding.type (since 26.03.2)",
            "IC_SB_Global.nb_ic_cfg (since 24.03.0)",
            "Port_Binding.nb_ic_uuid (since 26.03.2)",
            "Port_Binding.type (since 26.03.2)",
            "SSL.ssl_ciphersuites (since 25.03.0)",
            "table Service_Monitor (since 25.09.0)",
        ]
    );
    let nb = ovn_nb::history();
    let trixie = nb
        .pinned_of(Release::new("25.03.0"))
        .unwrap()
        .schema()
        .unwrap();
    assert_eq!(nb.release_of(&trixie).unwrap().to_string(), "25.03.0");
    assert_eq!(
        nb.column_since("Logical_Switch_Port", "peer"),
        Some(Release::new("25.03.0"))
    );
    assert_eq!(
        nb.column_since("Logical_Switch_Port", "health_checks"),
        Some(Release::new("26.03.2"))
    );
}
