//! Guard ACLs: planned, applied and idempotent; overlapping CIDRs that cannot be guarded.

use super::*;
use crate::fixture::topology_a_with;
use crate::{plan_guards, GuardConfig};

fn ops_text(ops: &[ovsdb_proto::Operation]) -> Vec<String> {
    ops.iter()
        .map(|o| serde_json::to_string(o).unwrap())
        .collect()
}

#[test]
fn guards_are_planned_applied_and_idempotent() {
    let mut u = Uuids(0);
    let mut world = topology_a_with(&mut u, "10.1.0.1/24");
    exchange(&mut world, &mut u, None);
    let inv = Inventory::from_world(&world);
    let pol = policy_a();
    let cfg = GuardConfig::default();
    let plan = plan_guards(&world.zones[1], &inv, &pol, &cfg);
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    let text = ops_text(&plan.ops).join("\n");
    assert_eq!(plan.ops.len(), 6, "{text}");
    assert!(
        text.contains(r#""match":"outport == @ovnlink_k8s_vpc_a && ip4 && ip4.src == $ovnlink_k8s_vpc_a_deny_ip4""#),
        "{text}"
    );
    assert!(
        text.contains(r#""addresses":["set",["10.1.0.0/24","10.17.0.0/16"]]"#),
        "{text}"
    );
    assert!(text.contains(r#""priority":31000"#), "{text}");
    assert!(
        !text.contains("neutron:") && !text.contains("kube-ovn"),
        "{text}"
    );
    let mut next = Uuids(5000);
    world.zones[1]
        .apply(&plan.ops, &mut || next.next())
        .unwrap();
    let again = plan_guards(&world.zones[1], &inv, &pol, &cfg);
    assert!(again.ops.is_empty(), "{:?}", ops_text(&again.ops));
    // The guard turns r2 → vpc-a (reachable through stock ovn-ic) into "guarded".
    let report = verify(&world, &inv, &pol);
    assert_eq!(
        report.cell("os/neutron-r2", "k8s/vpc-a"),
        Some(Cell::Guarded),
        "{report}"
    );
    assert_eq!(
        report.cell("os/neutron-r1", "k8s/vpc-b"),
        Some(Cell::Guarded),
        "{report}"
    );
    assert!(
        report.leaks.iter().all(|l| l.to.0.starts_with("os/")),
        "{report}"
    );

    // Allow vpc-a ↔ r2 too: the deny set shrinks in place (one update).
    let mut pol2 = pol.clone();
    pol2.peerings.push(crate::Peering {
        a: crate::Selector::router("neutron-r2"),
        b: crate::Selector::vpc("vpc-a"),
    });
    let plan = plan_guards(&world.zones[1], &inv, &pol2, &cfg);
    let text = ops_text(&plan.ops).join("\n");
    assert_eq!(plan.ops.len(), 1, "{text}");
    assert!(
        text.contains(r#""op":"update""#) && text.contains(r#""addresses":"10.17.0.0/16""#),
        "{text}"
    );
    world.zones[1]
        .apply(&plan.ops, &mut || next.next())
        .unwrap();
    assert!(plan_guards(&world.zones[1], &inv, &pol2, &cfg)
        .ops
        .is_empty());

    // A VPC everybody may reach needs no guard: its rows are deleted.
    let mut pol3 = pol2.clone();
    for x in ["neutron-r1", "vpc-b"] {
        pol3.peerings.push(crate::Peering {
            a: crate::Selector::router(x),
            b: crate::Selector::vpc("vpc-a"),
        });
    }
    let plan = plan_guards(&world.zones[1], &inv, &pol3, &cfg);
    world.zones[1]
        .apply(&plan.ops, &mut || next.next())
        .unwrap();
    assert!(plan_guards(&world.zones[1], &inv, &pol3, &cfg)
        .ops
        .is_empty());
    let z = &world.zones[1];
    let own_acls = z
        .acls
        .values()
        .filter(|a| crate::vpc::is_own(&a.external_ids))
        .count();
    let own_sets = z
        .address_sets
        .values()
        .filter(|a| crate::vpc::is_own(&a.external_ids))
        .count();
    // vpc-a keeps only its port group (no deny set); vpc-b keeps its ACL and set.
    assert_eq!((own_acls, own_sets, z.port_groups.len()), (1, 1, 2));
}

#[test]
fn overlapping_cidrs_cannot_be_guarded_and_are_reported() {
    let world = stock_world();
    let inv = Inventory::from_world(&world);
    let plan = plan_guards(&world.zones[1], &inv, &policy_a(), &GuardConfig::default());
    assert_eq!(
        plan.notes,
        [
            "k8s/vpc-a: cannot guard against 10.0.0.0/24 of os/neutron-r2: it overlaps an allowed CIDR",
            "k8s/vpc-b: cannot guard against 10.0.0.0/24 of os/neutron-r1: it overlaps an allowed CIDR"
        ]
    );
}
