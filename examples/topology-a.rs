//! Topology A (one transit switch shared by every VPC), in memory: two tenants, each with
//! an OpenStack VPC (Neutron router) and a Kubernetes VPC (Kube-OVN custom VPC), the
//! OpenStack networks overlapping (both 10.0.0.0/24). `isolation::plan_a` attaches the
//! paired VPCs to transit switch `ts` and plans guard ACLs; routes are then exchanged by the
//! `ic_routes` engine in each zone, first as stock ovn-ic does (no filter), then with the
//! VPC filter. Prints the verifier's matrix for both.
//!
//! ```text
//! cargo run --example topology-a
//! ```
//!
//! Runs with nothing installed (no OVSDB server; `ovnlink_lab::sample` holds the rows).

use ic_routes::AllowAll;
use isolation::{plan_a, verify, Inventory, TopologyConfig, VpcFilter};
use ovnlink_lab::rows::Uuids;
use ovnlink_lab::sample::{self, Tenant};

fn main() {
    let tenants = [
        Tenant::new(0, &["10.0.0.1/24"], &["10.16.0.1/16"]),
        Tenant::new(1, &["10.0.0.1/24"], &["10.17.0.1/16"]),
    ];
    let policy = sample::pairs(&tenants);
    let mut uuids = Uuids::default();
    let mut world = sample::world(&tenants, false, &mut uuids);

    let plan = plan_a(
        &world,
        &Inventory::from_world(&world),
        &policy,
        &TopologyConfig::default(),
    );
    for (zone, ops) in &plan.nb {
        println!("plan_a: {} operations for zone {zone}", ops.len());
    }
    for note in &plan.notes {
        println!("plan_a note: {note}");
    }
    plan.apply(&mut world, &mut || uuids.next())
        .expect("the plan applies");

    let mut stock = world.clone();
    let rounds = sample::exchange(&mut stock, &AllowAll);
    println!("\n== stock route exchange ({rounds} rounds) ==");
    println!(
        "{}",
        verify(&stock, &Inventory::from_world(&stock), &policy)
    );

    let filter = VpcFilter::new(Inventory::from_world(&world), policy.clone());
    let rounds = sample::exchange(&mut world, &filter);
    println!("== with the VPC filter ({rounds} rounds) ==");
    let report = verify(&world, &Inventory::from_world(&world), &policy);
    println!("{report}");
    std::process::exit(i32::from(!report.leaks.is_empty()));
}
