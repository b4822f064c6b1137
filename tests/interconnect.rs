//! The README's main job (`cargo run --release --example interconnect`) as a test: the
//! whole interconnection scenario on embedded servers, with the code the example runs
//! (`ovnlink_lab::interconnect`).
//!
//! Each test starts its own embedded IC-NB, IC-SB and two zones' NB/SB servers (unix
//! sockets in a temp dir), runs one `ic_routed::Daemon` per zone in-process with the northd
//! stand-in, and checks the learned routes, their `lr-route-list` text and the VPC
//! reachability matrix.

use std::time::Duration;

use isolation::Cell;

use ovnlink_lab::interconnect::{self, Outcome, Topology, KUBERNETES, OPENSTACK};

/// Each run converges well within this (it takes about a second in a debug build).
const BOUND: Duration = Duration::from_secs(20);

async fn run(topology: Topology) -> Outcome {
    let outcome = tokio::time::timeout(BOUND, interconnect::run_embedded(topology, BOUND))
        .await
        .unwrap_or_else(|_| panic!("{topology:?}: no result within {BOUND:?}"))
        .unwrap_or_else(|e| panic!("{topology:?}: {e}"));
    assert!(outcome.elapsed < BOUND, "{:?}", outcome.elapsed);
    assert!(outcome.notes.is_empty(), "{}", outcome.render());
    outcome
}

fn learned(o: &Outcome, zone: &str, router: &str) -> Vec<String> {
    o.router(zone, router)
        .unwrap_or_else(|| panic!("no router {zone}/{router}:\n{}", o.render()))
        .learned()
}

fn id(zone: &str, router: &str) -> String {
    format!("{zone}/{router}")
}

/// Pairs (tenant-a ↔ vpc-a, p2 ↔ vpc-b) reach each other; every other pair is isolated.
fn assert_policy_holds(o: &Outcome) {
    let r1 = id(OPENSTACK, "neutron-r1");
    let r2 = id(OPENSTACK, "neutron-r2");
    let a = id(KUBERNETES, "vpc-a");
    let b = id(KUBERNETES, "vpc-b");
    let text = o.render();
    assert!(o.report.leaks.is_empty(), "{text}");
    for (from, to, want) in [
        (&r1, &a, Cell::Reachable),
        (&a, &r1, Cell::Reachable),
        (&r2, &b, Cell::Reachable),
        (&b, &r2, Cell::Reachable),
        (&r1, &b, Cell::Isolated),
        (&r1, &r2, Cell::Isolated),
        (&r2, &a, Cell::Isolated),
        (&r2, &r1, Cell::Isolated),
        (&a, &b, Cell::Isolated),
        (&a, &r2, Cell::Isolated),
        (&b, &a, Cell::Isolated),
        (&b, &r1, Cell::Isolated),
    ] {
        assert_eq!(o.report.cell(from, to), Some(want), "{from} → {to}\n{text}");
    }
    assert!(interconnect::as_expected(o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_b_connects_each_pair_over_its_own_transit_switch() {
    let o = run(Topology::B).await;
    let text = o.render();
    assert_eq!(o.transit_switches.len(), 2, "{text}");
    assert_eq!(
        learned(&o, OPENSTACK, "neutron-r1"),
        ["10.16.0.0/16"],
        "{text}"
    );
    assert_eq!(
        learned(&o, OPENSTACK, "neutron-r2"),
        ["10.17.0.0/16"],
        "{text}"
    );
    // Stock route exchange: the Neutron gateway network is advertised too.
    assert_eq!(
        learned(&o, KUBERNETES, "vpc-a"),
        ["10.0.0.0/24", "172.24.4.0/24"],
        "{text}"
    );
    assert_eq!(
        learned(&o, KUBERNETES, "vpc-b"),
        ["10.1.0.0/24", "172.24.4.0/24"],
        "{text}"
    );
    assert_policy_holds(&o);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_a_with_the_filter_learns_only_within_pairs() {
    let o = run(Topology::AFiltered).await;
    let text = o.render();
    assert_eq!(
        o.transit_switches,
        [("ts".to_owned(), "169.254.100.0/24".to_owned())],
        "{text}"
    );
    assert_eq!(
        learned(&o, OPENSTACK, "neutron-r1"),
        ["10.16.0.0/16"],
        "{text}"
    );
    assert_eq!(
        learned(&o, OPENSTACK, "neutron-r2"),
        ["10.17.0.0/16"],
        "{text}"
    );
    // The filter also keeps the Neutron gateway networks from being advertised.
    assert_eq!(learned(&o, KUBERNETES, "vpc-a"), ["10.0.0.0/24"], "{text}");
    assert_eq!(learned(&o, KUBERNETES, "vpc-b"), ["10.1.0.0/24"], "{text}");
    // plan_a numbers the members in VPC id order: vpc-a .1, vpc-b .2, r1 .3, r2 .4.
    let listing = |zone, router| o.router(zone, router).map(|r| r.listing());
    assert_eq!(
        listing(KUBERNETES, "vpc-a").as_deref(),
        Some(
            "IPv4 Routes
Route Table <main>:
              10.0.0.0/24             169.254.100.3 dst-ip (learned)
"
        ),
        "{text}"
    );
    assert_eq!(
        listing(OPENSTACK, "neutron-r2").as_deref(),
        Some(
            "IPv4 Routes
Route Table <main>:
             10.17.0.0/16             169.254.100.2 dst-ip (learned)
"
        ),
        "{text}"
    );
    assert_policy_holds(&o);
    assert!(
        text.contains("VPC reachability:") && text.contains("no leaks"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_a_without_the_filter_leaks() {
    let o = run(Topology::AUnfiltered).await;
    let text = o.render();
    // Stock exchange on one shared switch: every router learns every other zone's VPC
    // CIDRs (the planner's zone route tag keeps a zone's own routers from learning each
    // other's, as OVN 25.03 and later honour it).
    assert_eq!(
        learned(&o, OPENSTACK, "neutron-r1"),
        ["10.16.0.0/16", "10.17.0.0/16"],
        "{text}"
    );
    let r1 = id(OPENSTACK, "neutron-r1");
    assert_eq!(
        o.report.cell(&r1, &id(KUBERNETES, "vpc-b")),
        Some(Cell::Leak),
        "{text}"
    );
    assert_eq!(o.report.leaks.len(), 4, "{text}");
    assert!(interconnect::as_expected(&o));
}
