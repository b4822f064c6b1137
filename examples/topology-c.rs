//! Topology C (OpenStack deployed on Kube-OVN's NB/SB: one shared NB), in memory: two
//! tenants in one zone. `isolation::plan_c` links each OpenStack router to its Kubernetes
//! counterpart (a router-to-router `peer` link from the link-local pool, static routes for
//! the other side's CIDRs) beside Neutron's rows, plus guard ACLs on the pods. No route
//! exchange is involved. Prints the operations per table and the verifier's matrix.
//!
//! ```text
//! cargo run --example topology-c
//! ```
//!
//! Runs with nothing installed (no OVSDB server; `ovnlink_lab::sample` holds the rows).

use std::collections::BTreeMap;

use isolation::{plan_c, verify, Inventory, TopologyConfig};
use ovnlink_lab::rows::Uuids;
use ovnlink_lab::sample::{self, Tenant};

fn main() {
    let tenants = [
        Tenant::new(0, &["10.0.0.1/24"], &["10.16.0.1/16"]),
        Tenant::new(1, &["10.1.0.1/24"], &["10.17.0.1/16"]),
    ];
    let policy = sample::pairs(&tenants);
    let mut uuids = Uuids::default();
    let mut world = sample::world(&tenants, true, &mut uuids);
    let plan = match plan_c(
        &world.zones[0],
        &Inventory::from_world(&world),
        &policy,
        &TopologyConfig::default(),
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("topology-c: {e}");
            std::process::exit(2);
        }
    };
    let mut per_table: BTreeMap<String, usize> = BTreeMap::new();
    for op in plan.nb.values().flatten() {
        let v = serde_json::to_value(op).unwrap_or_default();
        let key = format!(
            "{} {}",
            v["op"].as_str().unwrap_or("?"),
            v["table"].as_str().unwrap_or("?")
        );
        *per_table.entry(key).or_default() += 1;
    }
    for (k, n) in &per_table {
        println!("plan_c: {n} × {k}");
    }
    plan.apply(&mut world, &mut || uuids.next())
        .expect("the plan applies");
    let report = verify(&world, &Inventory::from_world(&world), &policy);
    println!("\n{report}");
    std::process::exit(i32::from(!report.leaks.is_empty()));
}
