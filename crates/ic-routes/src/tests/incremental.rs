//! The incremental engine: the contract of pending writes and echoes, and property tests
//! comparing it with the full recompute.

use ovn_nb::LogicalRouterStaticRoutePolicy;
use ovsdb_proto::typed::Ref;
use ovsdb_proto::Uuid;

use super::{route_sync_world, World};
use crate::{Change, Database, Engine, Plan, Snapshot};

/// Zone `z` driven by an incremental engine: what the engine has seen so far.
struct Driver {
    z: usize,
    engine: Engine,
    seen: Snapshot,
}

impl Driver {
    fn new(w: &World, z: usize) -> Self {
        let mut seen = Snapshot::new(w.zones[z - 1].name.clone());
        seen.ic_sb.supports_lb_origin = w.ic_sb.supports_lb_origin;
        let mut engine = Engine::unfiltered(seen.zone.clone());
        engine.set_supports_lb_origin(w.ic_sb.supports_lb_origin);
        Driver { z, engine, seen }
    }

    /// Feeds what changed in the world since the last call (including echoes).
    fn feed(&mut self, w: &World) -> Plan {
        let now = w.snapshot(self.z);
        let changes = Change::diff(&self.seen, &now);
        self.seen = now;
        self.engine.apply_changes(changes)
    }
}

fn without_diags(mut p: Plan) -> Plan {
    p.diagnostics.clear();
    p
}

#[test]
fn engine_follows_the_contract() {
    let mut w = route_sync_world();
    let mut d = Driver::new(&w, 1);
    // The initial dump gives the full plan.
    let p = d.feed(&w);
    assert_eq!(p, w.plan(1));
    assert_eq!(p.advertisements_to_insert.len(), 1);
    assert!(d.engine.has_pending());
    // Until the echo arrives, nothing is asked twice.
    assert!(d.engine.apply(&[]).is_empty());
    assert!(d.engine.recompute().is_empty());
    w.apply(1, &p);
    assert!(d.feed(&w).is_empty());
    assert!(!d.engine.has_pending());
    // Zone 2 advertises; zone 1 learns from the change alone.
    let p2 = w.plan(2);
    w.apply(2, &p2);
    let p = d.feed(&w);
    assert_eq!(p.learned_to_insert.len(), 1);
    assert_eq!(p, w.plan(1));
    w.apply(1, &p);
    assert!(d.feed(&w).is_empty());
    assert!(d.engine.full_plan().is_empty());
    // One route added: one insert; its echo: nothing more.
    w.route_add(1, "lr1", "10.50.0.0/16", "169.254.0.1", "");
    let p = d.feed(&w);
    assert_eq!(p.advertisements_to_insert.len(), 1);
    assert_eq!(p.advertisements_to_insert[0].ip_prefix, "10.50.0.0/16");
    assert_eq!(
        without_diags(p.clone()),
        without_diags(d.engine.full_plan())
    );
    // The IC-SB transaction fails: abandoning gives the same write again.
    let again = d.engine.abandon_pending(Database::IcSb);
    assert_eq!(again, p);
    w.apply(1, &again);
    assert!(d.feed(&w).is_empty());
    // A NB failure is independent of IC-SB.
    w.route_del(1, "lr1", "10.50.0.0/16", "");
    let p = d.feed(&w);
    assert_eq!(p.advertisements_to_delete.len(), 1);
    assert!(d.engine.abandon_pending(Database::Nb).is_empty());
    w.apply(1, &p);
    assert!(d.feed(&w).is_empty());
    assert!(!d.engine.has_pending());
    // A pending insert that stops being wanted is deleted once its echo arrives.
    w.route_add(1, "lr1", "10.51.0.0/16", "169.254.0.1", "");
    let p = d.feed(&w);
    w.route_del(1, "lr1", "10.51.0.0/16", "");
    assert!(d.feed(&w).is_empty());
    w.apply(1, &p);
    let p = d.feed(&w);
    assert_eq!(p.advertisements_to_delete.len(), 1);
    w.apply(1, &p);
    assert!(d.feed(&w).is_empty());
    assert!(w.plan(1).is_empty());
}

#[test]
fn nb_global_noise_costs_nothing() {
    let mut w = route_sync_world();
    w.converge();
    let mut d = Driver::new(&w, 1);
    assert!(d.feed(&w).is_empty());
    // nb_cfg bumps etc. do not change the topology: no recompute, no plan.
    w.nb(1).nb_global.nb_cfg = 42;
    assert!(d.feed(&w).is_empty());
    // Turning learning off is a zone-wide change.
    w.set_option(1, "ic-route-learn", "false");
    let p = d.feed(&w);
    assert_eq!(p.learned_to_delete.len(), 1);
}

#[test]
fn from_snapshot_matches_plan() {
    let mut w = route_sync_world();
    w.converge();
    w.route_add(1, "lr1", "10.60.0.0/16", "169.254.0.1", "");
    let mut e = Engine::from_snapshot(w.snapshot(1), crate::AllowAll);
    assert_eq!(e.full_plan(), w.plan(1));
    assert_eq!(e.apply(&[]), w.plan(1));
    assert_eq!(e.zone(), "az1");
    assert_eq!(e.snapshot(), &w.snapshot(1));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    const PREFIXES: &[&str] = &[
        "10.1.0.0/16",
        "10.1.0.0/24",
        "10.1.2.3/24",
        "0.0.0.0/0",
        "169.254.5.0/24",
        "2001:db8:5::/64",
        "10.2.0.0/16",
        "200.1.1.50/32",
        "bad",
    ];

    #[derive(Debug, Clone)]
    enum Op {
        AddRoute {
            z: usize,
            lr: usize,
            p: usize,
            table: bool,
            src: bool,
        },
        DelRoute {
            z: usize,
            n: usize,
        },
        Lan {
            z: usize,
            lr: usize,
            nets: Vec<usize>,
        },
        Flag {
            z: usize,
            key: usize,
            on: bool,
        },
        Deny {
            z: usize,
            list: usize,
        },
        PortTable {
            z: usize,
            on: bool,
        },
        TagPort {
            z: usize,
            tag: bool,
            filter: bool,
        },
        AllowLearn {
            z: usize,
            on: bool,
        },
        Ts2 {
            present: bool,
        },
        Vip {
            z: usize,
            on: bool,
        },
        Enabled {
            z: usize,
            on: bool,
        },
        /// Zone 1's port on ts2 loses / gets back its `router-id`.
        RouterId {
            on: bool,
        },
        /// Deliver the engine its echo now (true) or later (false).
        Echo(bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        let z = 1..=3usize;
        prop_oneof![
            4 => (z.clone(), 0..2usize, 0..PREFIXES.len(), any::<bool>(), any::<bool>())
                .prop_map(|(z, lr, p, table, src)| Op::AddRoute { z, lr, p, table, src }),
            2 => (z.clone(), 0..8usize).prop_map(|(z, n)| Op::DelRoute { z, n }),
            2 => (z.clone(), 0..2usize, proptest::collection::vec(0..PREFIXES.len(), 0..3))
                .prop_map(|(z, lr, nets)| Op::Lan { z, lr, nets }),
            2 => (z.clone(), 0..4usize, any::<bool>()).prop_map(|(z, key, on)| Op::Flag { z, key, on }),
            1 => (z.clone(), 0..3usize).prop_map(|(z, list)| Op::Deny { z, list }),
            1 => (z.clone(), any::<bool>()).prop_map(|(z, on)| Op::PortTable { z, on }),
            1 => (z.clone(), any::<bool>(), any::<bool>()).prop_map(|(z, tag, filter)| Op::TagPort { z, tag, filter }),
            1 => (z.clone(), any::<bool>()).prop_map(|(z, on)| Op::AllowLearn { z, on }),
            1 => any::<bool>().prop_map(|present| Op::Ts2 { present }),
            1 => (z.clone(), any::<bool>()).prop_map(|(z, on)| Op::Vip { z, on }),
            1 => (z.clone(), any::<bool>()).prop_map(|(z, on)| Op::Enabled { z, on }),
            1 => any::<bool>().prop_map(|on| Op::RouterId { on }),
            3 => any::<bool>().prop_map(Op::Echo),
        ]
    }

    /// Three zones on ts1; zone 1 has two routers on ts1 (same-zone learning), zones 1 and
    /// 2 also meet on ts2.
    fn world() -> World {
        let mut w = World::new(3);
        w.ts_add("ts1");
        w.ts_add("ts2");
        w.ic_sb.supports_lb_origin = true;
        for z in 1..=3 {
            w.enable(z);
            w.set_option(z, "ic-route-adv-lb", "true");
            w.set_option(z, "ic-route-learn-lb", "true");
            for lr in 0..2 {
                let name = format!("lr{z}{lr}");
                w.lr_add(z, &name);
                if lr == 1 && z != 1 {
                    continue;
                }
                let port = format!("tsp{z}{lr}");
                let nets = [
                    format!("169.254.100.{z}{lr}/24"),
                    format!("2001:db8:100::{z}{lr}/64"),
                ];
                let nets: Vec<&str> = nets.iter().map(String::as_str).collect();
                w.lrp_add(z, &name, &port, &format!("aa:00:00:00:0{lr}:0{z}"), &nets);
                w.connect(z, "ts1", &name, &port);
            }
            if z != 3 {
                let name = format!("lr{z}0");
                let port = format!("ts2p{z}");
                w.lrp_add(
                    z,
                    &name,
                    &port,
                    &format!("aa:00:00:00:02:0{z}"),
                    &[&format!("169.254.200.{z}/24")],
                );
                w.connect(z, "ts2", &name, &port);
            }
        }
        w
    }

    fn lrp_mut<'a>(
        w: &'a mut World,
        z: usize,
        name: &str,
    ) -> Option<&'a mut ovn_nb::LogicalRouterPort> {
        w.nb(z).router_ports.values_mut().find(|p| p.name == name)
    }

    fn run(w: &mut World, op: &Op) {
        match op {
            Op::AddRoute {
                z,
                lr,
                p,
                table,
                src,
            } => {
                let policy = src.then_some(LogicalRouterStaticRoutePolicy::SrcIp);
                let table = if *table { "rtb1" } else { "" };
                w.route_add_policy(
                    *z,
                    &format!("lr{z}{lr}"),
                    PREFIXES[*p],
                    "10.0.0.1",
                    table,
                    policy,
                );
            }
            Op::DelRoute { z, n } => {
                let nb = w.nb(*z);
                let ids: Vec<Uuid> = nb
                    .static_routes
                    .values()
                    .filter(|r| !r.external_ids.contains_key("ic-learned-route"))
                    .map(|r| r.uuid)
                    .collect();
                if ids.is_empty() {
                    return;
                }
                let id = ids[n % ids.len()];
                nb.static_routes.remove(&id);
                for r in nb.routers.values_mut() {
                    r.static_routes.retain(|s| s.uuid() != id);
                }
            }
            Op::Lan { z, lr, nets } => {
                let name = format!("lan{z}{lr}");
                let nets: Vec<String> = nets.iter().map(|n| PREFIXES[*n].to_owned()).collect();
                match lrp_mut(w, *z, &name) {
                    Some(p) => {
                        p.networks = nets;
                        p.networks.sort();
                    }
                    None => {
                        let nets: Vec<&str> = nets.iter().map(String::as_str).collect();
                        w.lrp_add(*z, &format!("lr{z}{lr}"), &name, "00:00:00:00:09:01", &nets);
                    }
                }
            }
            Op::Flag { z, key, on } => {
                let k = [
                    "ic-route-adv",
                    "ic-route-learn",
                    "ic-route-adv-default",
                    "ic-route-learn-default",
                ][*key];
                w.set_option(*z, k, if *on { "true" } else { "false" });
            }
            Op::Deny { z, list } => {
                let l = ["", "10.1.0.0/16", "x,2001:db8::/32"][*list];
                w.set_option(*z, "ic-route-denylist", l);
            }
            Op::PortTable { z, on } => {
                if let Some(p) = lrp_mut(w, *z, &format!("tsp{z}0")) {
                    if *on {
                        p.options.insert("route_table", "rtb1");
                    } else {
                        p.options.remove("route_table");
                    }
                }
            }
            Op::TagPort { z, tag, filter } => {
                if let Some(p) = lrp_mut(w, *z, &format!("tsp{z}0")) {
                    if *tag {
                        p.options.insert("ic-route-tag", "t");
                    } else {
                        p.options.remove("ic-route-tag");
                    }
                    if *filter {
                        p.options.insert("ic-route-filter-tag", "t");
                    } else {
                        p.options.remove("ic-route-filter-tag");
                    }
                }
            }
            Op::AllowLearn { z, on } => {
                let id = w.router(*z, &format!("lr{z}0"));
                let r = w.nb(*z).routers.get_mut(&id).unwrap();
                if *on {
                    r.options
                        .insert("ic-route-filter-learn", "10.0.0.0/8,2001:db8::/32");
                } else {
                    r.options.remove("ic-route-filter-learn");
                }
            }
            Op::Ts2 { present } => {
                if *present {
                    w.ts_add("ts2");
                } else {
                    w.ic_nb.transit_switches.retain(|_, t| t.name != "ts2");
                }
            }
            Op::Vip { z, on } => {
                let id = w.router(*z, &format!("lr{z}0"));
                let existing: Vec<Uuid> = w.nb(*z).load_balancers.keys().copied().collect();
                let lb = match existing.first() {
                    Some(lb) => *lb,
                    None => {
                        let mut lb = ovn_nb::LoadBalancer::default();
                        lb.uuid = w.uuid();
                        lb.vips = [("200.1.1.50:80".to_owned(), "1.1.1.1".to_owned())]
                            .into_iter()
                            .collect();
                        let u = lb.uuid;
                        w.nb(*z).load_balancers.insert(u, lb);
                        u
                    }
                };
                let r = w.nb(*z).routers.get_mut(&id).unwrap();
                r.load_balancer.retain(|l| l.uuid() != lb);
                if *on {
                    r.load_balancer.push(Ref::new(lb));
                }
            }
            Op::Enabled { z, on } => {
                let id = w.router(*z, &format!("lr{z}0"));
                w.nb(*z).routers.get_mut(&id).unwrap().enabled = (!on).then_some(false);
            }
            Op::RouterId { on } => {
                let lr = w.router(1, "lr10").to_string();
                for pb in w.ic_sb.port_bindings.values_mut() {
                    if pb.logical_port == "lsp-ts2-ts2p1" {
                        if *on {
                            pb.external_ids.insert("router-id", lr.clone());
                        } else {
                            pb.external_ids.remove("router-id");
                        }
                    }
                }
            }
            Op::Echo(_) => {}
        }
    }

    /// Applies `p` to zone `z` after checking that it asks for nothing twice: no delete of
    /// a row already gone, no insert equal to a row already there.
    fn apply_checked(w: &mut World, z: usize, p: &Plan) -> Result<(), TestCaseError> {
        for u in &p.advertisements_to_delete {
            prop_assert!(w.ic_sb.routes.contains_key(u), "double delete {u}");
        }
        for r in &p.advertisements_to_insert {
            prop_assert!(
                !w.ic_sb
                    .routes
                    .values()
                    .any(|x| !p.advertisements_to_delete.contains(&x.uuid)
                        && x.transit_switch == r.transit_switch
                        && x.availability_zone == r.availability_zone
                        && x.route_table == r.route_table
                        && x.ip_prefix == r.ip_prefix
                        && x.nexthop == r.nexthop),
                "double insert {r:?}"
            );
        }
        let nb = &w.zones[z - 1].nb;
        for d in &p.learned_to_delete {
            prop_assert!(
                nb.routers[&d.router]
                    .static_routes
                    .iter()
                    .any(|s| s.uuid() == d.route),
                "double learned delete"
            );
        }
        for i in &p.learned_to_insert {
            let lr = &nb.routers[&i.router];
            prop_assert!(
                !lr.static_routes
                    .iter()
                    .filter_map(|s| nb.static_routes.get(&s.uuid()))
                    .any(|s| {
                        !p.learned_to_delete.iter().any(|d| d.route == s.uuid)
                            && s.ip_prefix == i.route.ip_prefix
                            && s.nexthop == i.route.nexthop
                            && s.route_table == i.route.route_table
                            && s.external_ids == i.route.external_ids
                    }),
                "double learned insert {i:?}"
            );
        }
        w.apply(z, p);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Zone 1 runs the incremental engine, zones 2 and 3 the full recompute, over random
        /// change sequences. When the engine has every echo, its plan equals the full plan
        /// over its rows; it never asks for a write twice; at the end everything converges
        /// to the state the full recompute wants (its plan is empty), the engine has nothing
        /// pending, and the invariants hold (nothing learned from the learner's own router,
        /// nothing through a port of another route table).
        #[test]
        fn incremental_equals_full(ops in proptest::collection::vec(op(), 1..25)) {
            let mut w = world();
            let mut d = Driver::new(&w, 1);
            let mut echo = true;
            let mut unfed: Vec<Plan> = Vec::new();
            for op in &ops {
                if let Op::Echo(e) = op {
                    echo = *e;
                }
                run(&mut w, op);
                w.sync_port_bindings();
                for z in 2..=3 {
                    let p = w.plan(z);
                    w.apply(z, &p);
                }
                if echo || unfed.len() > 3 {
                    let complete = !d.engine.has_pending();
                    let p = d.feed(&w);
                    if complete {
                        prop_assert_eq!(without_diags(p.clone()), without_diags(d.engine.full_plan()));
                    }
                    apply_checked(&mut w, 1, &p)?;
                    unfed.clear();
                    unfed.push(p);
                } else {
                    // Without the echo, the engine only sees other changes later; nothing it
                    // asked for is asked again.
                    let p = d.engine.apply(&[]);
                    apply_checked(&mut w, 1, &p)?;
                    unfed.push(p);
                }
            }
            // Drain: everyone gets their echoes until nothing is written.
            let mut quiet = false;
            for _ in 0..8 {
                let p = d.feed(&w);
                let mut wrote = !p.is_empty();
                apply_checked(&mut w, 1, &p)?;
                for z in 2..=3 {
                    let p = w.plan(z);
                    wrote |= !p.is_empty();
                    w.apply(z, &p);
                }
                if !wrote {
                    quiet = true;
                    break;
                }
            }
            prop_assert!(quiet, "no convergence");
            prop_assert!(!d.engine.has_pending());
            prop_assert!(w.plan(1).is_empty());
            prop_assert!(d.engine.full_plan().is_empty());
            prop_assert_eq!(d.engine.snapshot(), &w.snapshot(1));
            // Invariants.
            for z in 1..=3 {
                let nb = &w.zones[z - 1].nb;
                for lr in nb.routers.values() {
                    for s in lr.static_routes.iter().filter_map(|s| nb.static_routes.get(&s.uuid())) {
                        let Some(isb) = s.external_ids.get("ic-learned-route") else { continue };
                        let isb = &w.ic_sb.routes[&isb.parse::<Uuid>().unwrap()];
                        let lr_id = lr.uuid.to_string();
                        prop_assert_ne!(isb.external_ids.get("lr-id"), Some(lr_id.as_str()));
                        if !isb.route_table.is_empty() {
                            // Only ports of that table carry it.
                            let ok = nb.router_ports.values().any(|p| {
                                lr.ports.iter().any(|x| x.uuid() == p.uuid)
                                    && p.options.get("route_table") == Some(&isb.route_table)
                            });
                            prop_assert!(ok);
                        }
                    }
                }
            }
        }

        /// Determinism and idempotence of the full recompute over the same random worlds,
        /// and equality of a fresh engine's first plan with it.
        #[test]
        fn full_is_deterministic_and_idempotent(ops in proptest::collection::vec(op(), 1..25)) {
            let mut w = world();
            for op in &ops {
                run(&mut w, op);
            }
            w.converge();
            for z in 1..=3 {
                let p = w.plan(z);
                prop_assert!(p.is_empty());
                let mut e = Engine::from_snapshot(w.snapshot(z), crate::AllowAll);
                prop_assert_eq!(e.apply(&[]), p);
            }
        }
    }
}

/// Learns nothing at all.
#[derive(Debug)]
struct NoLearning;

impl crate::RouteFilter for NoLearning {
    fn learn(&self, _: &crate::LearnCandidate<'_>) -> bool {
        false
    }
}

#[test]
fn engine_consults_its_filter() {
    let mut w = route_sync_world();
    w.converge();
    // Zone 1's engine with a filter that refuses every learned route: its learned route goes.
    let mut e = Engine::from_snapshot(w.snapshot(1), NoLearning);
    let p = e.apply(&[]);
    assert_eq!(p.learned_to_delete.len(), 1);
    assert!(p.learned_to_insert.is_empty() && p.advertisements_to_delete.is_empty());
    let z = &w.zones[0];
    assert_eq!(
        p,
        crate::plan_filtered(&z.name, &z.nb, &w.ic_nb, &w.ic_sb, &NoLearning)
    );
    w.apply(1, &p);
    // (Feed the echo: the router's new static_routes and the deleted row.)
    let echo = Change::diff(e.snapshot(), &w.snapshot(1));
    assert!(e.apply(&echo).is_empty());
    // Back to ovn-ic's behaviour: the route is learned again.
    e.set_filter(crate::AllowAll);
    let p = e.apply(&[]);
    assert_eq!(p.learned_to_insert.len(), 1);
    assert_eq!(p, w.plan(1));
}

/// Three zones: 1 and 2 on ts1, 2 and 3 on ts2. Zone 1's scoped engine keeps none of ts2's
/// routes yet plans as the full recompute; once zone 1 binds a port on ts2 it asks for a
/// fresh snapshot, and the new scoped engine learns ts2's routes.
#[test]
fn scoped_engine_plans_as_the_full_one_and_asks_for_a_snapshot_when_the_scope_grows() {
    let mut w = World::new(3);
    w.ts_add("ts1");
    w.ts_add("ts2");
    let joins: [(usize, &str, &str); 4] = [
        (1, "ts1", "169.254.100.1/24"),
        (2, "ts1", "169.254.100.2/24"),
        (2, "ts2", "169.254.200.2/24"),
        (3, "ts2", "169.254.200.3/24"),
    ];
    for i in 1..=3 {
        w.enable(i);
        w.lr_add(i, &format!("lr{i}"));
    }
    for (i, ts, net) in joins {
        let (lr, lrp) = (format!("lr{i}"), format!("lrp-lr{i}-{ts}"));
        w.lrp_add(
            i,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:{i:02}:0{}", &ts[2..]),
            &[net],
        );
        w.connect(i, ts, &lr, &lrp);
    }
    for i in 1..=3 {
        w.route_add(
            i,
            &format!("lr{i}"),
            &format!("10.11.{i}.0/24"),
            "169.254.0.1",
            "",
        );
    }
    w.converge();
    let full = w.snapshot(1);
    let on_ts2 = |s: &Snapshot| {
        s.ic_sb
            .routes
            .values()
            .filter(|r| r.transit_switch == "ts2")
            .count()
    };
    assert!(on_ts2(&full) >= 2, "zones 2 and 3 advertise on ts2");
    let scope = crate::RouteScope::of(&full);
    let mut scoped = full.clone();
    scoped.ic_sb.routes.retain(|_, r| scope.contains(r));
    assert_eq!(on_ts2(&scoped), 0);
    let mut engine = Engine::from_scoped_snapshot(full.clone(), crate::AllowAll);
    assert_eq!(engine.apply(&[]), full.plan());
    assert!(engine.apply(&[]).is_empty());

    // Routes of other zones on ts2 come and go: ignored, no plan, no snapshot needed.
    let before = full.clone();
    w.route_add(3, "lr3", "10.33.0.0/16", "169.254.0.1", "");
    w.converge();
    let now = w.snapshot(1);
    assert!(engine.apply_changes(Change::diff(&before, &now)).is_empty());
    assert!(!engine.needs_snapshot());
    assert_eq!(engine.snapshot().ic_sb.routes.len(), {
        let scope = crate::RouteScope::of(&now);
        now.ic_sb
            .routes
            .values()
            .filter(|r| scope.contains(r))
            .count()
    });

    // Zone 1 joins ts2: the engine asks for a fresh snapshot, and the new one learns.
    let before = now;
    w.lrp_add(
        1,
        "lr1",
        "lrp-lr1-ts2",
        "aa:aa:aa:aa:01:02",
        &["169.254.200.1/24"],
    );
    w.connect(1, "ts2", "lr1", "lrp-lr1-ts2");
    let now = w.snapshot(1);
    engine.apply_changes(Change::diff(&before, &now));
    assert!(engine.needs_snapshot());
    let mut engine = Engine::from_scoped_snapshot(now.clone(), crate::AllowAll);
    let p = engine.apply(&[]);
    assert_eq!(p, now.plan());
    assert!(p
        .learned_to_insert
        .iter()
        .any(|l| l.route.ip_prefix == "10.33.0.0/16"));
}
