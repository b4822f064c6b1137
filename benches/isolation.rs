//! Benches of crate `isolation` at realistic size: 1,000 VPCs (500 tenants, each a Neutron
//! router and a Kube-OVN VPC) with 10 prefixes each, on one transit switch, every VPC
//! allowed to 10 VPCs of the other zone, so the route engine with the VPC filter leaves
//! 100,000 learned routes.
//!
//! - `filter/learn`: one `VpcFilter::learn` decision (goal ≤ 1 µs), against the
//!   allow-everything filter in the same run (the baseline: the cost of the call itself).
//! - `verify/1000-vpcs`: the full reachability matrix and leak search (goal ≤ 1 s), against
//!   building the VPC inventory of the same rows.
//!
//! ```text
//! cargo bench --bench isolation
//! ```

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ic_routes::{AllowAll, LearnCandidate, Prefix, RouteFilter};
use isolation::{verify, Inventory, Peering, Policy, Selector, VpcFilter, World};
use ovnlink_lab::rows::Uuids;
use ovnlink_lab::sample::{self, Tenant};

const TENANTS: usize = 500;
const PREFIXES: usize = 10;
const PEERS: usize = 10;

fn net(base: u8, n: usize) -> String {
    format!("{base}.{}.{}.1/24", n / 256, n % 256)
}

fn big() -> (World, Policy) {
    let tenants: Vec<Tenant> = (0..TENANTS)
        .map(|i| {
            let os: Vec<String> = (0..PREFIXES).map(|k| net(10, i * PREFIXES + k)).collect();
            let k8s: Vec<String> = (0..PREFIXES).map(|k| net(11, i * PREFIXES + k)).collect();
            let os: Vec<&str> = os.iter().map(String::as_str).collect();
            let k8s: Vec<&str> = k8s.iter().map(String::as_str).collect();
            Tenant::new(i, &os, &k8s)
        })
        .collect();
    let mut policy = sample::pairs(&tenants);
    for (i, t) in tenants.iter().enumerate() {
        for k in 1..PEERS {
            let mut p = Peering::default();
            p.a = Selector::router(t.router());
            p.b = Selector::vpc(tenants[(i + k) % TENANTS].vpc());
            policy.peerings.push(p);
        }
    }
    let mut u = Uuids::default();
    let mut world = sample::world(&tenants, false, &mut u);
    sample::attach_all(&mut world, &mut u);
    let filter = VpcFilter::new(Inventory::from_world(&world), policy.clone());
    sample::exchange(&mut world, &filter);
    (world, policy)
}

fn benches(c: &mut Criterion) {
    let (world, policy) = big();
    let learned: usize = world
        .zones
        .iter()
        .map(|z| {
            z.static_routes
                .values()
                .filter(|r| r.external_ids.contains_key("ic-learned-route"))
                .count()
        })
        .sum();
    let inv = Inventory::from_world(&world);
    eprintln!(
        "isolation bench: {} VPCs, {} IC-SB routes, {learned} learned routes",
        inv.vpcs().len(),
        world.ic.routes.len()
    );
    let filter = VpcFilter::new(inv.clone(), policy.clone());

    // Learn candidates: every k8s router × a slice of the OpenStack advertisements.
    let k8s = world.zone("k8s").expect("zone k8s");
    let routes: Vec<(_, Prefix)> = world
        .ic
        .routes
        .values()
        .filter(|r| r.ip_prefix.starts_with("10."))
        .take(100)
        .map(|r| (r, Prefix::parse(&r.ip_prefix).expect("a prefix")))
        .collect();
    let learners: Vec<_> = k8s.routers.values().take(10).collect();
    let candidates: Vec<LearnCandidate<'_>> = learners
        .iter()
        .flat_map(|lr| {
            routes.iter().map(move |(r, p)| LearnCandidate {
                zone: "k8s",
                router: lr,
                transit_switch: "ts",
                advertiser_zone: "os",
                route: r,
                prefix: p,
            })
        })
        .collect();
    let allowed = candidates.iter().filter(|c| filter.learn(c)).count();
    eprintln!(
        "isolation bench: {} candidates, {allowed} allowed",
        candidates.len()
    );

    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(candidates.len() as u64));
    g.bench_function("learn/allow-all (baseline)", |b| {
        b.iter(|| {
            candidates
                .iter()
                .filter(|c| AllowAll.learn(black_box(c)))
                .count()
        })
    });
    g.bench_function("learn/vpc-filter", |b| {
        b.iter(|| {
            candidates
                .iter()
                .filter(|c| filter.learn(black_box(c)))
                .count()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("verify");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("1000-vpcs/inventory (baseline)", |b| {
        b.iter(|| Inventory::from_world(black_box(&world)))
    });
    g.bench_function("1000-vpcs/verify", |b| {
        b.iter(|| verify(black_box(&world), &inv, &policy))
    });
    g.finish();
}

criterion_group!(isolation_benches, benches);
criterion_main!(isolation_benches);
