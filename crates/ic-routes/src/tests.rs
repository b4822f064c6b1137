//! Route-exchange scenarios of upstream tests/ovn-ic.at (23.03), rewritten against the engine,
//! plus determinism and idempotence properties.

use ovn_ic_nb::TransitSwitch;
use ovn_ic_sb::{AvailabilityZone, PortBinding, Route};
use ovn_nb::{
    LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute, LogicalRouterStaticRoutePolicy,
    LogicalSwitchPort,
};
use ovsdb_proto::typed::{Ref, StringMap};
use ovsdb_proto::Uuid;

use crate::{plan, IcNorthbound, IcSouthbound, Northbound, Plan, Snapshot};

struct Zone {
    name: String,
    az: Uuid,
    nb: Northbound,
    semantics: crate::Semantics,
}

/// Several zones sharing IC-NB and IC-SB; what `ovn-nbctl`/`ovn-ic-nbctl` and ovn-ic's
/// port-binding sync would do, done by hand.
struct World {
    ic_nb: IcNorthbound,
    ic_sb: IcSouthbound,
    zones: Vec<Zone>,
    next: u128,
}

impl World {
    fn new(n: usize) -> Self {
        let mut w = World {
            ic_nb: IcNorthbound::default(),
            ic_sb: IcSouthbound::default(),
            zones: Vec::new(),
            next: 0x1000,
        };
        for i in 1..=n {
            let mut az = AvailabilityZone::default();
            az.uuid = w.uuid();
            az.name = format!("az{i}");
            let mut nb = Northbound::default();
            nb.nb_global.name = az.name.clone();
            w.zones.push(Zone {
                name: az.name.clone(),
                az: az.uuid,
                nb,
                semantics: crate::Semantics::NEWEST,
            });
            w.ic_sb.availability_zones.insert(az.uuid, az);
        }
        w
    }

    fn uuid(&mut self) -> Uuid {
        self.next += 1;
        Uuid::from_u128(self.next)
    }

    fn nb(&mut self, z: usize) -> &mut Northbound {
        &mut self.zones[z - 1].nb
    }

    fn set_option(&mut self, z: usize, key: &str, value: &str) {
        self.nb(z).nb_global.options.insert(key, value);
    }

    fn remove_option(&mut self, z: usize, key: &str) {
        self.nb(z).nb_global.options.remove(key);
    }

    fn enable(&mut self, z: usize) {
        self.set_option(z, "ic-route-adv", "true");
        self.set_option(z, "ic-route-learn", "true");
    }

    fn ts_add(&mut self, name: &str) {
        if self.ic_nb.transit_switches.values().any(|t| t.name == name) {
            return;
        }
        let mut ts = TransitSwitch::default();
        ts.uuid = self.uuid();
        ts.name = name.to_owned();
        self.ic_nb.transit_switches.insert(ts.uuid, ts);
    }

    fn ts_del(&mut self, name: &str) {
        self.ic_nb.transit_switches.retain(|_, t| t.name != name);
        self.ic_sb
            .port_bindings
            .retain(|_, p| p.transit_switch != name);
    }

    fn router(&self, z: usize, name: &str) -> Uuid {
        let nb = &self.zones[z - 1].nb;
        nb.routers
            .values()
            .find(|r| r.name == name)
            .map(|r| r.uuid)
            .unwrap_or_else(|| panic!("no router {name}"))
    }

    fn lr_add(&mut self, z: usize, name: &str) -> Uuid {
        let mut lr = LogicalRouter::default();
        lr.uuid = self.uuid();
        lr.name = name.to_owned();
        let id = lr.uuid;
        self.nb(z).routers.insert(id, lr);
        id
    }

    fn lrp_add(&mut self, z: usize, lr: &str, name: &str, mac: &str, networks: &[&str]) {
        let lr = self.router(z, lr);
        let mut lrp = LogicalRouterPort::default();
        lrp.uuid = self.uuid();
        lrp.name = name.to_owned();
        lrp.mac = mac.to_owned();
        lrp.networks = networks.iter().map(|n| n.to_string()).collect();
        lrp.networks.sort();
        let id = lrp.uuid;
        let nb = self.nb(z);
        nb.router_ports.insert(id, lrp);
        let r = nb.routers.get_mut(&lr).unwrap();
        r.ports.push(id.into());
        r.ports.sort();
    }

    fn lrp_del(&mut self, z: usize, name: &str) {
        let nb = self.nb(z);
        let id = nb
            .router_ports
            .values()
            .find(|p| p.name == name)
            .unwrap()
            .uuid;
        nb.router_ports.remove(&id);
        for r in nb.routers.values_mut() {
            r.ports.retain(|p| p.uuid() != id);
        }
    }

    fn lrp_set_option(&mut self, z: usize, name: &str, key: &str, value: &str) {
        let nb = self.nb(z);
        let p = nb
            .router_ports
            .values_mut()
            .find(|p| p.name == name)
            .unwrap();
        p.options.insert(key, value);
    }

    /// `ovn-nbctl lsp-add TS LSP -- lsp-set-type router -- lsp-set-options router-port=LRP`
    /// and the IC-SB port binding ovn-ic creates for it.
    fn connect(&mut self, z: usize, ts: &str, lr: &str, lrp: &str) {
        let lr = self.router(z, lr);
        let mut lsp = LogicalSwitchPort::default();
        lsp.uuid = self.uuid();
        lsp.name = format!("lsp-{ts}-{lrp}");
        lsp.type_ = "router".to_owned();
        lsp.options = StringMap::from([("router-port".to_owned(), lrp.to_owned())]);
        let mut pb = PortBinding::default();
        pb.uuid = self.uuid();
        pb.logical_port = lsp.name.clone();
        pb.transit_switch = ts.to_owned();
        pb.availability_zone = Ref::new(self.zones[z - 1].az);
        pb.external_ids = StringMap::from([("router-id".to_owned(), lr.to_string())]);
        self.nb(z).switch_ports.insert(lsp.uuid, lsp);
        self.ic_sb.port_bindings.insert(pb.uuid, pb);
        self.sync_port_bindings();
    }

    /// ovn-ic's port-binding sync of `address`: `"MAC NET…"` of the peer router port.
    fn sync_port_bindings(&mut self) {
        for pb in self.ic_sb.port_bindings.values_mut() {
            let zone = self
                .zones
                .iter()
                .find(|z| z.az == pb.availability_zone.uuid())
                .unwrap();
            let nb = &zone.nb;
            let lrp = nb
                .switch_ports
                .values()
                .find(|l| l.name == pb.logical_port)
                .and_then(|l| l.options.get("router-port"))
                .and_then(|n| nb.router_ports.values().find(|p| p.name == n));
            pb.address = match lrp {
                Some(p) => std::iter::once(p.mac.clone())
                    .chain(p.networks.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" "),
                None => String::new(),
            };
        }
    }

    fn route_add(&mut self, z: usize, lr: &str, prefix: &str, nexthop: &str, table: &str) -> Uuid {
        self.route_add_policy(z, lr, prefix, nexthop, table, None)
    }

    fn route_add_policy(
        &mut self,
        z: usize,
        lr: &str,
        prefix: &str,
        nexthop: &str,
        table: &str,
        policy: Option<LogicalRouterStaticRoutePolicy>,
    ) -> Uuid {
        let lr = self.router(z, lr);
        let mut r = LogicalRouterStaticRoute::default();
        r.uuid = self.uuid();
        r.ip_prefix = prefix.to_owned();
        r.nexthop = nexthop.to_owned();
        r.route_table = table.to_owned();
        r.policy = policy;
        let id = r.uuid;
        let nb = self.nb(z);
        nb.static_routes.insert(id, r);
        let lr = nb.routers.get_mut(&lr).unwrap();
        lr.static_routes.push(id.into());
        lr.static_routes.sort();
        id
    }

    fn route_del(&mut self, z: usize, lr: &str, prefix: &str, table: &str) {
        let lr = self.router(z, lr);
        let nb = self.nb(z);
        let ids: Vec<Uuid> = nb
            .static_routes
            .values()
            .filter(|r| r.ip_prefix == prefix && r.route_table == table)
            .map(|r| r.uuid)
            .collect();
        let lr = nb.routers.get_mut(&lr).unwrap();
        lr.static_routes.retain(|r| !ids.contains(&r.uuid()));
        for id in ids {
            nb.static_routes.remove(&id);
        }
    }

    fn snapshot(&self, z: usize) -> Snapshot {
        let mut s = Snapshot::new(self.zones[z - 1].name.clone());
        s.nb = self.zones[z - 1].nb.clone();
        s.ic_nb = self.ic_nb.clone();
        s.ic_sb = self.ic_sb.clone();
        s.semantics = self.zones[z - 1].semantics;
        s
    }

    fn plan(&self, z: usize) -> Plan {
        let zone = &self.zones[z - 1];
        if zone.semantics == crate::Semantics::NEWEST {
            plan(&zone.name, &zone.nb, &self.ic_nb, &self.ic_sb)
        } else {
            self.snapshot(z).plan()
        }
    }

    fn apply(&mut self, z: usize, p: &Plan) {
        let mut next = self.next;
        let mut new_uuid = || {
            next += 1;
            Uuid::from_u128(next)
        };
        self.zones[z - 1].nb.apply(p, &mut new_uuid);
        self.ic_sb.apply(p, &mut new_uuid);
        self.next = next;
    }

    /// Runs every zone's engine, in zone order, until a whole round writes nothing; returns
    /// the number of rounds that wrote something. Panics after 6 rounds (no convergence).
    fn converge(&mut self) -> usize {
        self.sync_port_bindings();
        for round in 0..6 {
            let mut wrote = false;
            for z in 1..=self.zones.len() {
                let p = self.plan(z);
                wrote |= !p.is_empty();
                self.apply(z, &p);
            }
            if !wrote {
                return round;
            }
        }
        panic!("no convergence after 6 rounds");
    }

    /// `route_table prefix nexthop origin` of every learned route of router `lr`, sorted.
    fn learned(&self, z: usize, lr: &str) -> Vec<String> {
        let nb = &self.zones[z - 1].nb;
        let lr = &nb.routers[&self.router(z, lr)];
        let mut out: Vec<String> = lr
            .static_routes
            .iter()
            .map(|r| &nb.static_routes[&r.uuid()])
            .filter(|r| r.external_ids.contains_key("ic-learned-route"))
            .map(|r| {
                let isb = r.external_ids["ic-learned-route"].parse::<Uuid>().unwrap();
                assert!(
                    self.ic_sb.routes.contains_key(&isb),
                    "learned from a vanished row"
                );
                format!(
                    "{}|{} {} {}",
                    r.route_table, r.ip_prefix, r.nexthop, &r.options["origin"]
                )
            })
            .collect();
        out.sort();
        out
    }

    /// `ts az route_table prefix nexthop origin` of every IC-SB route, sorted.
    fn ic_routes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .ic_sb
            .routes
            .values()
            .map(|r| {
                let az = &self.ic_sb.availability_zones[&r.availability_zone.uuid()].name;
                format!(
                    "{} {az} {}|{} {} {}",
                    r.transit_switch,
                    r.route_table,
                    r.ip_prefix,
                    r.nexthop,
                    r.origin.as_str()
                )
            })
            .collect();
        out.sort();
        out
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Upstream "route sync" topology: lrI on ts1 with 169.254.100.I/24, static 10.11.I.0/24
/// and a src-ip route 10.22.I.0/24.
fn route_sync_world() -> World {
    let mut w = World::new(2);
    w.ts_add("ts1");
    for i in 1..=2 {
        w.enable(i);
        let lr = format!("lr{i}");
        let lrp = format!("lrp-lr{i}-ts1");
        w.lr_add(i, &lr);
        w.lrp_add(
            i,
            &lr,
            &lrp,
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &[&format!("169.254.100.{i}/24")],
        );
        w.connect(i, "ts1", &lr, &lrp);
        w.route_add(i, &lr, &format!("10.11.{i}.0/24"), "169.254.0.1", "");
        w.route_add_policy(
            i,
            &lr,
            &format!("10.22.{i}.0/24"),
            "169.254.0.2",
            "",
            Some(LogicalRouterStaticRoutePolicy::SrcIp),
        );
    }
    w
}

mod explain;
mod features;
mod incremental;
mod props;
mod releases;
mod scenarios;
