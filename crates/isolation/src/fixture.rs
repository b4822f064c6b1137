//! Row builders and the shared test topologies.

use ovn_ic_nb::TransitSwitch;
use ovn_nb::{
    LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute, LogicalSwitch, LogicalSwitchPort,
};
use ovsdb_proto::typed::StringMap;
use ovsdb_proto::Uuid;

use crate::rows::{World, ZoneNb};

pub fn ids(pairs: &[(&str, &str)]) -> StringMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub use crate::sample::Uuids;

pub struct B<'a> {
    pub z: &'a mut ZoneNb,
    pub u: &'a mut Uuids,
}

impl B<'_> {
    pub fn router(&mut self, name: &str, ext: &[(&str, &str)]) -> Uuid {
        let uuid = self.u.next();
        self.z.routers.insert(
            uuid,
            mk!(LogicalRouter {
                uuid: uuid,
                name: name.into(),
                external_ids: ids(ext),
            }),
        );
        uuid
    }

    pub fn switch(&mut self, name: &str, other: &[(&str, &str)]) -> Uuid {
        let uuid = self.u.next();
        self.z.switches.insert(
            uuid,
            mk!(LogicalSwitch {
                uuid: uuid,
                name: name.into(),
                other_config: ids(other),
            }),
        );
        uuid
    }

    pub fn lsp(
        &mut self,
        ls: Uuid,
        name: &str,
        type_: &str,
        opts: &[(&str, &str)],
        ext: &[(&str, &str)],
    ) -> Uuid {
        let uuid = self.u.next();
        self.z.switch_ports.insert(
            uuid,
            mk!(LogicalSwitchPort {
                uuid: uuid,
                name: name.into(),
                type_: type_.into(),
                options: ids(opts),
                external_ids: ids(ext),
            }),
        );
        let s = self.z.switches.get_mut(&ls).unwrap();
        s.ports.push(uuid.into());
        s.ports.sort();
        uuid
    }

    /// A router port attached to switch `ls` through a router-type switch port.
    pub fn lrp(
        &mut self,
        lr: Uuid,
        name: &str,
        networks: &[&str],
        ext: &[(&str, &str)],
        ls: Option<Uuid>,
    ) -> Uuid {
        let uuid = self.u.next();
        let mut nets: Vec<String> = networks.iter().map(|s| (*s).to_owned()).collect();
        nets.sort();
        self.z.router_ports.insert(
            uuid,
            mk!(LogicalRouterPort {
                uuid: uuid,
                name: name.into(),
                mac: crate::net::mac(&[name]),
                networks: nets,
                external_ids: ids(ext),
            }),
        );
        let r = self.z.routers.get_mut(&lr).unwrap();
        r.ports.push(uuid.into());
        r.ports.sort();
        if let Some(ls) = ls {
            self.lsp(
                ls,
                &format!("{name}-lsp"),
                "router",
                &[("router-port", name)],
                &[],
            );
        }
        uuid
    }

    pub fn route(&mut self, lr: Uuid, prefix: &str, nexthop: &str, ext: &[(&str, &str)]) -> Uuid {
        let uuid = self.u.next();
        self.z.static_routes.insert(
            uuid,
            mk!(LogicalRouterStaticRoute {
                uuid: uuid,
                ip_prefix: prefix.into(),
                nexthop: nexthop.into(),
                external_ids: ids(ext),
            }),
        );
        let r = self.z.routers.get_mut(&lr).unwrap();
        r.static_routes.push(uuid.into());
        r.static_routes.sort();
        uuid
    }
}

/// A Neutron router with one tenant network, its router-interface port and a gateway port.
pub fn neutron_router(
    b: &mut B<'_>,
    id: &str,
    human: &str,
    project: &str,
    cidr_gw: &str,
    ext_gw: Option<&str>,
) -> Uuid {
    let name = format!("neutron-{id}");
    let lr = b.router(
        &name,
        &[
            ("neutron:router_name", human),
            ("neutron:revision_number", "3"),
        ],
    );
    let net = b.switch(&format!("neutron-net-{id}"), &[]);
    b.lrp(
        lr,
        &format!("lrp-if-{id}"),
        &[cidr_gw],
        &[
            ("neutron:router_name", &name),
            ("neutron:is_ext_gw", "False"),
        ],
        None,
    );
    b.lsp(
        net,
        &format!("if-{id}"),
        "router",
        &[("router-port", &format!("lrp-if-{id}"))],
        &[
            ("neutron:device_id", id),
            ("neutron:device_owner", "network:router_interface"),
            ("neutron:project_id", project),
        ],
    );
    b.lsp(
        net,
        &format!("vm-{id}"),
        "",
        &[],
        &[("neutron:project_id", project), ("neutron:port_name", "vm")],
    );
    if let Some(gw) = ext_gw {
        b.lrp(
            lr,
            &format!("lrp-gw-{id}"),
            &[gw],
            &[
                ("neutron:router_name", &name),
                ("neutron:is_ext_gw", "True"),
            ],
            None,
        );
    }
    lr
}

/// A Neutron router with one tenant network per entry of `nets` (each with its
/// router-interface port and a VM) and a gateway port.
pub fn neutron_router_with(
    b: &mut B<'_>,
    id: &str,
    human: &str,
    project: &str,
    nets: &[&str],
    ext_gw: Option<&str>,
) -> Uuid {
    let name = format!("neutron-{id}");
    let lr = b.router(
        &name,
        &[
            ("neutron:router_name", human),
            ("neutron:revision_number", "3"),
        ],
    );
    for (k, cidr_gw) in nets.iter().enumerate() {
        let net = b.switch(&format!("neutron-net-{id}-{k}"), &[]);
        let lrp = format!("lrp-if-{id}-{k}");
        b.lrp(
            lr,
            &lrp,
            &[cidr_gw],
            &[
                ("neutron:router_name", &name),
                ("neutron:is_ext_gw", "False"),
            ],
            None,
        );
        b.lsp(
            net,
            &format!("if-{id}-{k}"),
            "router",
            &[("router-port", &lrp)],
            &[
                ("neutron:device_id", id),
                ("neutron:device_owner", "network:router_interface"),
                ("neutron:project_id", project),
            ],
        );
        b.lsp(
            net,
            &format!("vm-{id}-{k}"),
            "",
            &[],
            &[("neutron:project_id", project), ("neutron:port_name", "vm")],
        );
    }
    if let Some(gw) = ext_gw {
        b.lrp(
            lr,
            &format!("lrp-gw-{id}"),
            &[gw],
            &[
                ("neutron:router_name", &name),
                ("neutron:is_ext_gw", "True"),
            ],
            None,
        );
    }
    lr
}

/// A Kube-OVN custom VPC router with one subnet (and one pod) per entry of `nets`.
pub fn kube_vpc_with(b: &mut B<'_>, vpc: &str, nets: &[&str]) -> Uuid {
    let lr = b.router(vpc, &[("vendor", "kube-ovn")]);
    for (k, cidr_gw) in nets.iter().enumerate() {
        let subnet = format!("{vpc}-s{k}");
        let ls = b.switch(&subnet, &[("vendor", "kube-ovn")]);
        b.lrp(
            lr,
            &format!("{vpc}-{subnet}"),
            &[cidr_gw],
            &[("vendor", "kube-ovn")],
            Some(ls),
        );
        b.lsp(
            ls,
            &format!("pod{k}.{vpc}"),
            "",
            &[],
            &[
                ("pod", &format!("{vpc}/pod{k}")),
                ("vendor", "kube-ovn"),
                ("ls", &subnet),
            ],
        );
    }
    lr
}

/// A Kube-OVN custom VPC router with one subnet and one pod.
pub fn kube_vpc(b: &mut B<'_>, vpc: &str, subnet: &str, cidr_gw: &str) -> Uuid {
    let lr = b.router(vpc, &[("vendor", "kube-ovn")]);
    let ls = b.switch(subnet, &[("vendor", "kube-ovn")]);
    b.lrp(
        lr,
        &format!("{vpc}-{subnet}"),
        &[cidr_gw],
        &[("vendor", "kube-ovn")],
        Some(ls),
    );
    b.lsp(
        ls,
        &format!("pod1.{vpc}"),
        "",
        &[],
        &[
            ("pod", &format!("{vpc}/pod1")),
            ("vendor", "kube-ovn"),
            ("ls", subnet),
        ],
    );
    lr
}

/// Attaches `lr` to transit switch `ts` (its local LS must exist) with `addr`.
pub fn attach(b: &mut B<'_>, lr: Uuid, ts: &str, addr: &str) -> Uuid {
    let ls =
        *b.z.switches
            .iter()
            .find(|(_, s)| s.other_config.get("interconn-ts") == Some(ts))
            .unwrap()
            .0;
    let rname = b.z.routers[&lr].name.clone();
    b.lrp(lr, &format!("{rname}-{ts}"), &[addr], &[], Some(ls))
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
