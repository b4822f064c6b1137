//! The shared test topologies, built with the workspace's one set of row builders
//! (`ovnlink_lab::rows`), and the daemons run offline ([`crate::simulate`]).

use ovn_ic_nb::TransitSwitch;
use ovnlink_lab::rows::NbBuilder;
use ovsdb_proto::Uuid;

use crate::rows::{World, ZoneNb};

pub use ovnlink_lab::rows::{ids, Uuids};

/// Adds rows to a [`ZoneNb`] through `ovnlink_lab::rows`: each call turns the zone into a
/// typed store, runs the builder and reads the zone back (its `NB_Global` kept).
pub struct B<'a> {
    pub z: &'a mut ZoneNb,
    pub u: &'a mut Uuids,
}

impl B<'_> {
    /// Runs `f` on a builder over this zone's rows.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut NbBuilder<'_>) -> R) -> R {
        let mut store = self.z.to_store();
        let r = f(&mut NbBuilder::new(&mut store, self.u));
        let global = self.z.nb_global.clone();
        *self.z = ZoneNb::from_sources(&self.z.zone, &store).expect("built rows decode");
        self.z.nb_global = global;
        r
    }

    pub fn router(&mut self, name: &str, ext: &[(&str, &str)]) -> Uuid {
        self.with(|b| b.router(name, ext))
    }

    pub fn switch(&mut self, name: &str, other: &[(&str, &str)]) -> Uuid {
        self.with(|b| b.switch(name, other))
    }

    pub fn lrp(
        &mut self,
        lr: Uuid,
        name: &str,
        networks: &[&str],
        ext: &[(&str, &str)],
        ls: Option<Uuid>,
    ) -> Uuid {
        self.with(|b| b.lrp(lr, name, networks, ext, ls))
    }

    pub fn lsp(
        &mut self,
        ls: Uuid,
        name: &str,
        type_: &str,
        opts: &[(&str, &str)],
        ext: &[(&str, &str)],
    ) -> Uuid {
        self.with(|b| b.lsp(ls, name, type_, opts, ext))
    }

    pub fn route(&mut self, lr: Uuid, prefix: &str, nexthop: &str, ext: &[(&str, &str)]) -> Uuid {
        self.with(|b| b.route(lr, prefix, nexthop, ext))
    }
}

/// `ovnlink_lab::rows::neutron_router` on a zone.
pub fn neutron_router(
    b: &mut B<'_>,
    id: &str,
    human: &str,
    project: &str,
    cidr_gw: &str,
    ext_gw: Option<&str>,
) -> Uuid {
    b.with(|nb| ovnlink_lab::rows::neutron_router(nb, id, human, project, cidr_gw, ext_gw))
}

/// `ovnlink_lab::rows::kube_vpc` on a zone.
pub fn kube_vpc(b: &mut B<'_>, vpc: &str, subnet: &str, cidr_gw: &str) -> Uuid {
    b.with(|nb| ovnlink_lab::rows::kube_vpc(nb, vpc, subnet, cidr_gw))
}

/// `ovnlink_lab::rows::attach` on a zone.
pub fn attach(b: &mut B<'_>, lr: Uuid, ts: &str, addr: &str) -> Uuid {
    b.with(|nb| ovnlink_lab::rows::attach(nb, lr, ts, addr))
}

/// Runs the zones' daemons on `world` with the real ovn-ic logic ([`crate::simulate`]):
/// stock ovn-ic 23.03.1 in every zone (`filter` `None`: learn every other zone's routes on
/// the router's transit switches), or the newest rules with `filter` in every zone.
///
/// With `None` the IC-SB routes are left as a real 23.03.1 advertiser writes them:
/// `nb-id` only. The simulated daemon follows 23.03's rules but, like `ic-routed`, always
/// writes `lr-id` too (a deliberate difference); the filter's fallbacks for rows of real
/// 23.03 zones are what these worlds test.
pub fn exchange(world: &mut World, _u: &mut Uuids, filter: Option<&crate::VpcFilter>) {
    let daemons = match filter {
        None => crate::simulate::Daemons::stock(ic_routes::Semantics::of(ic_routes::Release::new(
            "23.03.1",
        ))),
        Some(f) => crate::simulate::Daemons::filtered(std::sync::Arc::new(f.clone())),
    };
    crate::simulate::exchange(world, &daemons, 16).expect("the daemons settle");
    if filter.is_none() {
        for r in world.ic.routes.values_mut() {
            r.external_ids.remove(ic_routes::LR_ID);
        }
    }
}

/// Topology A: zone `os` with Neutron routers r1 (tenant-a, project p1) and r2 (tenant-b,
/// project p2), both 10.0.0.0/24 (overlap), zone `k8s` with custom VPCs vpc-a 10.16.0.0/16
/// and vpc-b 10.17.0.0/16; all four on the one transit switch `ts` (169.254.100.0/24).
/// No IC-SB rows yet (see [`exchange`]).
pub fn topology_a(u: &mut Uuids) -> World {
    topology_a_with(u, "10.0.0.1/24")
}

/// [`topology_a`] with r2's tenant network `r2_net`.
pub fn topology_a_with(u: &mut Uuids, r2_net: &str) -> World {
    let mut world = World::default();
    let ts_uuid = u.next();
    world.ic.transit_switches.insert(
        ts_uuid,
        mk!(TransitSwitch {
            uuid: ts_uuid,
            name: "ts".into(),
            external_ids: ids(&[("subnet", "169.254.100.0/24")]),
        }),
    );
    let mut os = ZoneNb::new("os");
    {
        let mut b = B { z: &mut os, u };
        b.switch("ts", &[("interconn-ts", "ts")]);
        let r1 = neutron_router(
            &mut b,
            "r1",
            "tenant-a",
            "p1",
            "10.0.0.1/24",
            Some("172.24.4.10/24"),
        );
        let r2 = neutron_router(
            &mut b,
            "r2",
            "tenant-b",
            "p2",
            r2_net,
            Some("172.24.4.11/24"),
        );
        attach(&mut b, r1, "ts", "169.254.100.11/24");
        attach(&mut b, r2, "ts", "169.254.100.12/24");
    }
    let mut k8s = ZoneNb::new("k8s");
    {
        let mut b = B { z: &mut k8s, u };
        b.switch("ts", &[("interconn-ts", "ts")]);
        let a = kube_vpc(&mut b, "vpc-a", "subnet-a", "10.16.0.1/16");
        let bb = kube_vpc(&mut b, "vpc-b", "subnet-b", "10.17.0.1/16");
        attach(&mut b, a, "ts", "169.254.100.21/24");
        attach(&mut b, bb, "ts", "169.254.100.22/24");
    }
    world.zones = vec![os, k8s];
    world
}

/// Zones `os` (r1 10.0.0.0/24, r2 `r2_net`) and `k8s` (vpc-a 10.16.0.0/16, vpc-b
/// 10.17.0.0/16) with no transit-switch ports; IC-NB holds the transit switches `ts_names`
/// (the first with subnet 169.254.100.0/24), mirrored into both zones.
pub fn bare(u: &mut Uuids, r2_net: &str, ts_names: &[&str]) -> World {
    let mut world = World::default();
    for (i, ts) in ts_names.iter().enumerate() {
        let uuid = u.next();
        let mut t = mk!(TransitSwitch {
            uuid: uuid,
            name: (*ts).to_owned()
        });
        if i == 0 {
            t.external_ids = ids(&[("subnet", "169.254.100.0/24")]);
        }
        world.ic.transit_switches.insert(uuid, t);
    }
    let mut os = ZoneNb::new("os");
    {
        let mut b = B { z: &mut os, u };
        neutron_router(
            &mut b,
            "r1",
            "tenant-a",
            "p1",
            "10.0.0.1/24",
            Some("172.24.4.10/24"),
        );
        neutron_router(
            &mut b,
            "r2",
            "tenant-b",
            "p2",
            r2_net,
            Some("172.24.4.11/24"),
        );
    }
    let mut k8s = ZoneNb::new("k8s");
    {
        let mut b = B { z: &mut k8s, u };
        kube_vpc(&mut b, "vpc-a", "subnet-a", "10.16.0.1/16");
        kube_vpc(&mut b, "vpc-b", "subnet-b", "10.17.0.1/16");
    }
    world.zones = vec![os, k8s];
    mirror_ts(&mut world, u);
    world
}

/// What the daemons do with IC-NB transit switches in every zone (a logical switch with
/// `other_config:interconn-ts` per transit switch, created or deleted): one offline pass of
/// the real logic ([`crate::simulate`]), before any router is attached.
pub fn mirror_ts(world: &mut World, _u: &mut Uuids) {
    let daemons = crate::simulate::Daemons::stock(ic_routes::Semantics::NEWEST);
    crate::simulate::exchange(world, &daemons, 16).expect("the daemons settle");
}

/// Shared NB (topology C): zone `shared` with Neutron r1 10.0.0.0/24, r2 10.1.0.0/24 and
/// Kube-OVN vpc-a 10.16.0.0/16, vpc-b 10.17.0.0/16.
pub fn shared(u: &mut Uuids) -> World {
    let mut z = ZoneNb::new("shared");
    {
        let mut b = B { z: &mut z, u };
        neutron_router(
            &mut b,
            "r1",
            "tenant-a",
            "p1",
            "10.0.0.1/24",
            Some("172.24.4.10/24"),
        );
        neutron_router(
            &mut b,
            "r2",
            "tenant-b",
            "p2",
            "10.1.0.1/24",
            Some("172.24.4.11/24"),
        );
        kube_vpc(&mut b, "vpc-a", "subnet-a", "10.16.0.1/16");
        kube_vpc(&mut b, "vpc-b", "subnet-b", "10.17.0.1/16");
    }
    let mut world = World::default();
    world.zones.push(z);
    world
}

/// The policy of [`topology_a`]: tenant-a ↔ vpc-a, project p2 ↔ vpc-b.
pub fn policy_a() -> crate::Policy {
    crate::Policy::from_json(
        r#"{"pairs": [
            {"openstack": {"router_name": "tenant-a"}, "kubernetes": {"vpc": "vpc-a"}},
            {"openstack": {"project": "p2"}, "kubernetes": {"zone": "k8s", "vpc": "vpc-b"}}
        ]}"#,
    )
    .unwrap()
}
