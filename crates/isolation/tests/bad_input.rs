//! Bad input gives a typed error naming the object, and no plan at all (plans are one
//! transaction per database, so nothing is ever half-applied).

use ic_routes::Prefix;
use isolation::{plan_b, plan_c, Error, Inventory, Policy, TopologyConfig, World};

const TOPOLOGY_A: &str = include_str!("../testdata/topology-a.json");
const POLICY_A: &str = include_str!("../testdata/policy-a.json");

fn world() -> World {
    World::from_inventory_json(TOPOLOGY_A).expect("testdata")
}

#[test]
fn policy_naming_an_unknown_router_is_an_error_naming_the_selector() {
    let inv = Inventory::from_world(&world());
    Policy::from_json(POLICY_A).unwrap().check(&inv).unwrap();
    let p = Policy::from_json(
        r#"{"pairs": [{"openstack": {"router": "neutron-nope"}, "kubernetes": {"vpc": "vpc-a"}}]}"#,
    )
    .unwrap();
    let e = p.check(&inv).unwrap_err();
    assert_eq!(
        e,
        Error::NoSuchVpc {
            at: "pairs[0].openstack".into(),
            selector: r#"{"router":"neutron-nope"}"#.into()
        }
    );
    assert_eq!(
        e.to_string(),
        r#"pairs[0].openstack: {"router":"neutron-nope"} matches no VPC"#
    );
    // A Kubernetes selector naming an OpenStack router matches nothing either.
    let p = Policy::from_json(
        r#"{"pairs": [{"openstack": {"router_name": "tenant-a"}, "kubernetes": {"router": "neutron-r1"}}]}"#,
    )
    .unwrap();
    assert!(
        matches!(p.check(&inv), Err(Error::NoSuchVpc { at, .. }) if at == "pairs[0].kubernetes")
    );
    let p = Policy::from_json(
        r#"{"peerings": [{"a": {"vpc": "vpc-a"}, "b": {"zone": "k8s", "vpc": "vpc-z"}}]}"#,
    )
    .unwrap();
    assert_eq!(
        p.check(&inv).unwrap_err().to_string(),
        r#"peerings[0].b: {"zone":"k8s","vpc":"vpc-z"} matches no VPC"#
    );
}

#[test]
fn malformed_policies_are_policy_errors() {
    let e = Policy::from_json(
        r#"{"pairs": [{"openstack": {"routr": "x"}, "kubernetes": {"vpc": "a"}}]}"#,
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::Policy(m) if m.contains("unknown field `routr`")),
        "{e}"
    );
    let e = Policy::from_json(r#"{"pairs": [{"openstack": {}, "kubernetes": {"vpc": "a"}}]}"#)
        .unwrap_err();
    assert_eq!(e, Error::Policy("pairs[0]: empty selector".into()));
    let e = Policy::from_json(r#"{"unknown_source": "maybe"}"#).unwrap_err();
    assert!(matches!(&e, Error::Policy(m) if m.contains("maybe")), "{e}");
}

#[test]
fn rows_without_the_expected_external_ids_are_not_vpcs() {
    // A `neutron-<id>` router that lost `neutron:router_name` is not taken for a Neutron
    // VPC; a policy naming it says so instead of silently isolating nothing.
    let mut w = world();
    let os = w.zones.iter_mut().find(|z| z.zone == "os").unwrap();
    for lr in os.routers.values_mut().filter(|r| r.name == "neutron-r1") {
        lr.external_ids = Default::default();
    }
    let inv = Inventory::from_world(&w);
    assert!(inv.vpcs().iter().all(|v| v.router != "neutron-r1"));
    let e = Policy::from_json(POLICY_A)
        .unwrap()
        .check(&inv)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"pairs[0].openstack: {"router_name":"tenant-a"} matches no VPC"#
    );
    // A Kube-OVN router without `vendor=kube-ovn` likewise.
    let mut w = world();
    let k8s = w.zones.iter_mut().find(|z| z.zone == "k8s").unwrap();
    for lr in k8s.routers.values_mut().filter(|r| r.name == "vpc-b") {
        lr.external_ids = Default::default();
    }
    let e = Policy::from_json(POLICY_A)
        .unwrap()
        .check(&Inventory::from_world(&w))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"pairs[1].kubernetes: {"zone":"k8s","vpc":"vpc-b"} matches no VPC"#
    );
}

#[test]
fn a_pool_overlapping_tenant_networks_is_refused_before_planning() {
    let w = world();
    let inv = Inventory::from_world(&w);
    let policy = Policy::from_json(POLICY_A).unwrap();
    let mut cfg = TopologyConfig::default();
    cfg.pool = Prefix::parse("10.0.0.0/16").unwrap();
    let e = plan_b(&w, &inv, &policy, &cfg).unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.starts_with("pool 10.0.0.0/16 overlaps 10.0.0.0/24 of VPC os/neutron-r1")),
        "{e}"
    );
    let e = plan_c(&w.zones[0], &inv, &policy, &cfg).unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("overlaps")),
        "{e}"
    );
    // The external (gateway) network counts too.
    cfg.pool = Prefix::parse("172.24.4.0/28").unwrap();
    let e = plan_b(&w, &inv, &policy, &cfg).unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("172.24.4.0/24")),
        "{e}"
    );
    // Blocks that cannot be carved.
    cfg.pool = Prefix::parse("169.254.100.0/24").unwrap();
    cfg.block_len = 31;
    let e = plan_b(&w, &inv, &policy, &cfg).unwrap_err();
    assert_eq!(
        e,
        Error::Config("cannot carve /31 blocks from 169.254.100.0/24".into())
    );
}

#[test]
fn malformed_inventories_name_the_part() {
    let e = World::from_inventory_json(r#"{"zones": 3}"#).unwrap_err();
    assert_eq!(e, Error::Input("inventory: zones must be an object".into()));
    let e = World::from_inventory_json(
        r#"{"zones": {"os": {"Logical_Router": {"00000000-0000-0000-0000-000000000001": {"name": 5}}}}}"#,
    )
    .unwrap_err();
    let m = e.to_string();
    assert!(m.contains("Logical_Router") && m.contains("name"), "{m}");
    let e = World::from_inventory_json(r#"{"ic_sb": "not a dump"}"#).unwrap_err();
    assert!(e.to_string().contains("ic_sb"), "{e}");
}
