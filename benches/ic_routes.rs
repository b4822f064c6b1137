//! ovn-ic route exchange (`ic-routes`) at 100k routes × 10 zones: the full recompute beside
//! the incremental engine, measured in the same run so the ratio can be read directly.
//!
//! The zone under test (`az0`) has one router on transit switch `ts1` with 10k static
//! routes it advertises; nine other zones advertise 100k routes on `ts1` in total, all
//! learned by `az0`'s router. The state is converged (the full plan is empty) before
//! measuring.
//!
//! - `ic_routes/full_plan_100k`: `Engine::full_plan` (the reference full recompute over
//!   the engine's rows, indexes built once).
//! - `ic_routes/plan_100k`: `ic_routes::plan` from typed rows (builds its indexes too).
//! - `ic_routes/incremental_local_route`: one static route added (plan: one IC-SB insert),
//!   its echo, the route removed (plan: one IC-SB delete), its echo: four `Engine::apply`
//!   calls.
//! - `ic_routes/incremental_remote_route`: another zone's advertisement appears (plan: one
//!   learned route), its echo, the advertisement is withdrawn (plan: the learned route is
//!   removed), its echo: four calls.
//! - `ic_routes/incremental_remote_route_metrics`: the same with `ic-routed --metrics-address`
//!   on (the engine counts its decisions, the metrics take them after every call): within
//!   5 % of the line above is the goal.
//! - `ic_routes/incremental_connected_network`: a router port with a new network is added to
//!   the router (a topology change: plan: one IC-SB insert), its echo, the port removed
//!   (plan: one IC-SB delete), its echo: four calls.
//!
//! Run: `cargo bench --bench ic_routes -- --warm-up-time 1 --measurement-time 5`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode};
use ic_routes::ovn_ic_nb::TransitSwitch;
use ic_routes::ovn_ic_sb::{AvailabilityZone, PortBinding, Route, RouteOrigin};
use ic_routes::ovn_nb::{
    LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute, LogicalSwitchPort,
};
use ic_routes::{AllowAll, Change, Engine, Row, Snapshot, Table};
use ovsdb_proto::typed::{Ref, StringMap};
use ovsdb_proto::Uuid;

const ZONES: usize = 10;
const REMOTE_ROUTES: usize = 100_000;
const LOCAL_ROUTES: usize = 10_000;

struct Ids(u128);

impl Ids {
    fn next(&mut self) -> Uuid {
        self.0 += 1;
        Uuid::from_u128(self.0)
    }
}

struct Setup {
    snapshot: Snapshot,
    router: Uuid,
    az: Vec<Uuid>,
    ids: Ids,
}

fn setup() -> Setup {
    let mut ids = Ids(0x10_0000);
    let mut s = Snapshot::new("az0");
    let mut azs = Vec::new();
    for z in 0..ZONES {
        let mut az = AvailabilityZone::default();
        az.uuid = ids.next();
        az.name = format!("az{z}");
        azs.push(az.uuid);
        s.ic_sb.availability_zones.insert(az.uuid, az);
    }
    let mut ts = TransitSwitch::default();
    ts.uuid = ids.next();
    ts.name = "ts1".into();
    s.ic_nb.transit_switches.insert(ts.uuid, ts);
    for k in ["ic-route-adv", "ic-route-learn"] {
        s.nb.nb_global.options.insert(k, "true");
    }
    s.nb.nb_global.name = "az0".into();

    let mut lr = LogicalRouter::default();
    lr.uuid = ids.next();
    lr.name = "lr0".into();
    let mut lrp = LogicalRouterPort::default();
    lrp.uuid = ids.next();
    lrp.name = "lrp-lr0-ts1".into();
    lrp.mac = "aa:00:00:00:00:01".into();
    lrp.networks = vec!["169.254.0.1/16".into()];
    lr.ports.push(Ref::new(lrp.uuid));
    let mut lsp = LogicalSwitchPort::default();
    lsp.uuid = ids.next();
    lsp.name = "lsp-ts1-lr0".into();
    lsp.type_ = "router".into();
    lsp.options = StringMap::from([("router-port".to_owned(), lrp.name.clone())]);
    // Every zone's port binding on ts1.
    for (z, az) in azs.iter().enumerate() {
        let mut pb = PortBinding::default();
        pb.uuid = ids.next();
        pb.logical_port = if z == 0 {
            lsp.name.clone()
        } else {
            format!("lsp-ts1-lr{z}")
        };
        pb.transit_switch = "ts1".into();
        pb.availability_zone = Ref::new(*az);
        pb.address = format!("aa:00:00:00:00:{:02x} 169.254.0.{}/16", z + 1, z + 1);
        if z == 0 {
            pb.external_ids = StringMap::from([("router-id".to_owned(), lr.uuid.to_string())]);
        }
        s.ic_sb.port_bindings.insert(pb.uuid, pb);
    }
    for i in 0..LOCAL_ROUTES {
        let mut r = LogicalRouterStaticRoute::default();
        r.uuid = ids.next();
        r.ip_prefix = format!("10.{}.{}.0/24", i / 256, i % 256);
        r.nexthop = "192.168.0.254".into();
        lr.static_routes.push(Ref::new(r.uuid));
        s.nb.static_routes.insert(r.uuid, r);
    }
    for i in 0..REMOTE_ROUTES {
        let z = 1 + i % (ZONES - 1);
        let mut r = Route::default();
        r.uuid = ids.next();
        r.transit_switch = "ts1".into();
        r.availability_zone = Ref::new(azs[z]);
        r.ip_prefix = format!("{}.{}.{}.0/24", 100 + z, (i / 256) % 256, i % 256);
        r.nexthop = format!("169.254.0.{}", z + 1);
        r.origin = RouteOrigin::Static;
        s.ic_sb.routes.insert(r.uuid, r);
    }
    let router = lr.uuid;
    s.nb.routers.insert(lr.uuid, lr);
    s.nb.router_ports.insert(lrp.uuid, lrp);
    s.nb.switch_ports.insert(lsp.uuid, lsp);

    // Converge.
    let p = s.plan();
    assert_eq!(p.advertisements_to_insert.len(), LOCAL_ROUTES);
    assert_eq!(p.learned_to_insert.len(), REMOTE_ROUTES);
    s.apply(&p, &mut || ids.next());
    assert!(s.plan().is_empty());
    Setup {
        snapshot: s,
        router,
        az: azs,
        ids,
    }
}

fn bench(c: &mut Criterion) {
    let t = Instant::now();
    let Setup {
        snapshot,
        router,
        az,
        mut ids,
    } = setup();
    eprintln!("setup: {:?}", t.elapsed());
    let mut engine = Engine::from_snapshot(snapshot.clone(), AllowAll);
    assert!(engine.apply(&[]).is_empty());

    let mut g = c.benchmark_group("ic_routes");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.bench_function("full_plan_100k", |b| {
        b.iter(|| {
            let p = engine.full_plan();
            assert!(p.is_empty());
            black_box(p)
        })
    });
    g.bench_function("plan_100k", |b| {
        b.iter(|| {
            let p = ic_routes::plan(
                &snapshot.zone,
                &snapshot.nb,
                &snapshot.ic_nb,
                &snapshot.ic_sb,
            );
            assert!(p.is_empty());
            black_box(p)
        })
    });
    drop(g);

    let mut g = c.benchmark_group("ic_routes");
    g.sample_size(100);
    let lr0 = snapshot.nb.routers[&router].clone();
    g.bench_function("incremental_local_route", |b| {
        b.iter(|| {
            // Add a static route: the row and the router's new static_routes.
            let mut r = LogicalRouterStaticRoute::default();
            r.uuid = ids.next();
            r.ip_prefix = "172.16.0.0/16".into();
            r.nexthop = "192.168.0.254".into();
            let mut lr = lr0.clone();
            lr.static_routes.push(Ref::new(r.uuid));
            let route = r.uuid;
            let p = engine.apply_changes([
                Change::Upsert(Row::LogicalRouterStaticRoute(r)),
                Change::Upsert(Row::LogicalRouter(lr)),
            ]);
            assert_eq!(p.advertisements_to_insert.len(), 1);
            // Its echo.
            let mut ad = p.advertisements_to_insert[0].clone();
            ad.uuid = ids.next();
            let ad_id = ad.uuid;
            assert!(engine
                .apply_changes([Change::Upsert(Row::Route(ad))])
                .is_empty());
            // Remove it.
            let p = engine.apply_changes([
                Change::Upsert(Row::LogicalRouter(lr0.clone())),
                Change::Delete(Table::LogicalRouterStaticRoute, route),
            ]);
            assert_eq!(p.advertisements_to_delete, [ad_id]);
            assert!(engine
                .apply_changes([Change::Delete(Table::Route, ad_id)])
                .is_empty());
        })
    });
    // One remote advertisement learned and withdrawn, with their echoes; `metrics`: the
    // engine counts its decisions and ic-routed's metrics take them after every step, as
    // with `--metrics-address`.
    let mut remote_cycle = |engine: &mut Engine, metrics: Option<&ic_routed::Metrics>| {
        let step = |engine: &mut Engine, changes: Vec<Change>| {
            let p = engine.apply_changes(changes);
            if let (Some(m), Some(c)) = (metrics, engine.decision_counts()) {
                m.observe_decisions(c, false);
            }
            p
        };
        let mut r = Route::default();
        r.uuid = ids.next();
        r.transit_switch = "ts1".into();
        r.availability_zone = Ref::new(az[3]);
        r.ip_prefix = "172.17.0.0/16".into();
        r.nexthop = "169.254.0.4".into();
        r.origin = RouteOrigin::Connected;
        let isb = r.uuid;
        let p = step(engine, vec![Change::Upsert(Row::Route(r))]);
        assert_eq!(p.learned_to_insert.len(), 1);
        // Echo: the learned row and the router's static_routes.
        let mut learned = p.learned_to_insert[0].route.clone();
        learned.uuid = ids.next();
        let lid = learned.uuid;
        let mut lr = lr0.clone();
        lr.static_routes.push(Ref::new(lid));
        assert!(step(
            engine,
            vec![
                Change::Upsert(Row::LogicalRouterStaticRoute(learned)),
                Change::Upsert(Row::LogicalRouter(lr)),
            ]
        )
        .is_empty());
        // Withdrawn.
        let p = step(engine, vec![Change::Delete(Table::Route, isb)]);
        assert_eq!(p.learned_to_delete.len(), 1);
        assert!(step(
            engine,
            vec![
                Change::Upsert(Row::LogicalRouter(lr0.clone())),
                Change::Delete(Table::LogicalRouterStaticRoute, lid),
            ]
        )
        .is_empty());
    };
    g.bench_function("incremental_remote_route", |b| {
        b.iter(|| remote_cycle(&mut engine, None))
    });
    let metrics = ic_routed::Metrics::new();
    engine.count_decisions(true);
    g.bench_function("incremental_remote_route_metrics", |b| {
        b.iter(|| remote_cycle(&mut engine, Some(&metrics)))
    });
    engine.count_decisions(false);
    let lr0 = snapshot.nb.routers[&router].clone();
    g.bench_function("incremental_connected_network", |b| {
        b.iter(|| {
            let mut lrp = LogicalRouterPort::default();
            lrp.uuid = ids.next();
            lrp.name = "lan".into();
            lrp.mac = "00:00:00:00:00:99".into();
            lrp.networks = vec!["172.18.0.1/24".into()];
            let port = lrp.uuid;
            let mut lr = lr0.clone();
            lr.ports.push(Ref::new(port));
            let p = engine.apply_changes([
                Change::Upsert(Row::LogicalRouterPort(lrp)),
                Change::Upsert(Row::LogicalRouter(lr)),
            ]);
            assert_eq!(p.advertisements_to_insert.len(), 1);
            let mut ad = p.advertisements_to_insert[0].clone();
            ad.uuid = ids.next();
            let ad_id = ad.uuid;
            assert!(engine
                .apply_changes([Change::Upsert(Row::Route(ad))])
                .is_empty());
            let p = engine.apply_changes([
                Change::Upsert(Row::LogicalRouter(lr0.clone())),
                Change::Delete(Table::LogicalRouterPort, port),
            ]);
            assert_eq!(p.advertisements_to_delete, [ad_id]);
            assert!(engine
                .apply_changes([Change::Delete(Table::Route, ad_id)])
                .is_empty());
        })
    });
    drop(g);
    assert!(engine.full_plan().is_empty());
}

criterion_group!(benches, bench);
criterion_main!(benches);
