//! Determinism and idempotence properties of the engine.

use super::*;
use proptest::prelude::*;

const PREFIXES: &[&str] = &[
    "10.1.0.0/16",
    "10.1.0.0/24",
    "10.1.2.3/24",
    "0.0.0.0/0",
    "169.254.5.0/24",
    "2001:db8:5::/64",
    "::/0",
    "fe80::/64",
    "10.2.0.0/16",
    "bad",
];
const DENY: &[&str] = &[
    "",
    "10.1.0.0/16",
    "2001:db8::/32",
    "10.0.0.0/8,::/0",
    "x,10.2.0.0/16",
];

#[derive(Debug, Clone)]
struct ZoneCfg {
    flags: [bool; 4],
    deny: usize,
    table: bool,
    v6: bool,
    routes: Vec<(usize, bool, bool)>,
    networks: Vec<usize>,
}

fn zone_cfg() -> impl Strategy<Value = ZoneCfg> {
    (
        any::<[bool; 4]>(),
        0..DENY.len(),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec((0..PREFIXES.len(), any::<bool>(), any::<bool>()), 0..5),
        proptest::collection::vec(0..PREFIXES.len(), 0..3),
    )
        .prop_map(|(flags, deny, table, v6, routes, networks)| ZoneCfg {
            flags,
            deny,
            table,
            v6,
            routes,
            networks,
        })
}

fn build(cfgs: &[ZoneCfg]) -> World {
    let mut w = World::new(cfgs.len());
    w.ts_add("ts1");
    for (i, c) in cfgs.iter().enumerate() {
        let z = i + 1;
        for (k, on) in [
            "ic-route-adv",
            "ic-route-learn",
            "ic-route-adv-default",
            "ic-route-learn-default",
        ]
        .iter()
        .zip(c.flags)
        {
            w.set_option(z, k, if on { "true" } else { "false" });
        }
        w.set_option(z, "ic-route-blacklist", DENY[c.deny]);
        let lr = format!("lr{z}");
        w.lr_add(z, &lr);
        let mut nets = vec![format!("169.254.100.{z}/24")];
        if c.v6 {
            nets.push(format!("2001:db8:100::{z}/64"));
        }
        let nets: Vec<&str> = nets.iter().map(String::as_str).collect();
        w.lrp_add(z, &lr, "tsp", &format!("aa:00:00:00:00:0{z}"), &nets);
        if c.table {
            w.lrp_set_option(z, "tsp", "route_table", "rtb1");
        }
        w.connect(z, "ts1", &lr, "tsp");
        for (p, in_table, src) in &c.routes {
            let policy = src.then_some(LogicalRouterStaticRoutePolicy::SrcIp);
            let table = if *in_table { "rtb1" } else { "" };
            w.route_add_policy(z, &lr, PREFIXES[*p], "10.0.0.1", table, policy);
        }
        if !c.networks.is_empty() {
            let nets: Vec<&str> = c.networks.iter().map(|n| PREFIXES[*n]).collect();
            w.lrp_add(z, &lr, "lan", &format!("00:00:00:00:01:0{z}"), &nets);
        }
    }
    w
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Convergence (no churn), then idempotence: applying every plan and recomputing
    /// gives empty plans; plans are deterministic; nothing is learned from the
    /// learner's own zone or through a port of another route table.
    #[test]
    fn idempotent_and_deterministic(cfgs in proptest::collection::vec(zone_cfg(), 2..4)) {
        let mut w = build(&cfgs);
        let rounds = w.converge();
        prop_assert!(rounds <= 2);
        for z in 1..=cfgs.len() {
            let p = w.plan(z);
            prop_assert!(p.is_empty(), "zone {z}: {p:?}");
            prop_assert_eq!(w.plan(z), p);
            let nb = &w.zones[z - 1].nb;
            for r in nb.static_routes.values() {
                if let Some(isb) = r.external_ids.get("ic-learned-route") {
                    let isb = &w.ic_sb.routes[&isb.parse::<Uuid>().unwrap()];
                    prop_assert_ne!(isb.availability_zone.uuid(), w.zones[z - 1].az);
                    let port_table = if cfgs[z - 1].table { "rtb1" } else { "" };
                    prop_assert!(isb.route_table.is_empty() || isb.route_table == port_table);
                }
            }
        }
        // Tear-down: with advertising off everywhere, everything is withdrawn.
        for z in 1..=cfgs.len() {
            w.set_option(z, "ic-route-adv", "false");
        }
        w.converge();
        prop_assert!(w.ic_sb.routes.is_empty());
        for z in 1..=cfgs.len() {
            prop_assert!(w.zones[z - 1].nb.static_routes.values().all(|r| !r.external_ids.contains_key("ic-learned-route")));
        }
    }
}
