//! Topology B (one transit switch per OpenStack/Kubernetes VPC pair), in memory: three
//! tenants with overlapping OpenStack networks. `isolation::plan_b` creates a transit
//! switch per pair with a /30 from the link-local pool and attaches only the pair's two
//! routers; after the interconnection daemon mirrors the new transit switches into the
//! zones, a second round attaches the routers. Routes are exchanged by the `ic_routes`
//! engine without any filter (stock ovn-ic behaviour): the separate transit switches alone
//! keep the tenants apart. Prints the verifier's matrix.
//!
//! ```text
//! cargo run --example topology-b
//! ```
//!
//! Runs with nothing installed (no OVSDB server; `ovnlink_lab::sample` holds the rows).

use ic_routes::AllowAll;
use isolation::{plan_b, verify, Inventory, TopologyConfig};
use ovnlink_lab::rows::Uuids;
use ovnlink_lab::sample::{self, Tenant};

fn main() {
    let tenants = [
        Tenant::new(0, &["10.0.0.1/24"], &["10.16.0.1/16"]),
        Tenant::new(1, &["10.0.0.1/24"], &["10.17.0.1/16"]),
        Tenant::new(2, &["10.2.0.1/24"], &["10.18.0.1/16"]),
    ];
    let policy = sample::pairs(&tenants);
    let mut uuids = Uuids::default();
    let mut world = sample::world(&tenants, false, &mut uuids);
    let cfg = TopologyConfig::default();
    for round in 1..=3 {
        let plan = match plan_b(&world, &Inventory::from_world(&world), &policy, &cfg) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("topology-b: {e}");
                std::process::exit(2);
            }
        };
        if plan.is_empty() {
            println!("plan_b round {round}: nothing to do");
            break;
        }
        println!(
            "plan_b round {round}: {} IC-NB operations, {} NB operations",
            plan.ic_nb.len(),
            plan.nb.values().map(Vec::len).sum::<usize>()
        );
        plan.apply(&mut world, &mut || uuids.next())
            .expect("the plan applies");
        sample::exchange(&mut world, &ic_routes::AllowAll);
    }
    for ts in world.ic.transit_switches.values() {
        println!(
            "transit switch {} {}",
            ts.name,
            ts.external_ids.get("subnet").unwrap_or("")
        );
    }
    let rounds = sample::exchange(&mut world, &AllowAll);
    println!("\n== stock route exchange ({rounds} rounds) ==");
    let report = verify(&world, &Inventory::from_world(&world), &policy);
    println!("{report}");
    std::process::exit(i32::from(!report.leaks.is_empty()));
}
