//! Sample worlds and an in-memory interconnection, for examples, benches and property
//! tests: no servers, nothing installed.
//!
//! - [`world`] builds zones as Neutron and Kube-OVN name their rows: per [`Tenant`] a
//!   Neutron router `neutron-t<i>` (`neutron:router_name` = `tenant-<i>`, project `p<i>`)
//!   with one tenant network per OpenStack CIDR and a gateway port, and a Kube-OVN custom
//!   VPC `vpc-<i>` with one subnet (and one pod) per Kubernetes CIDR. IC-NB holds transit
//!   switch `ts` (subnet 169.254.128.0/17, so the default topology-B/C pool 169.254.100.0/24
//!   stays free), already mirrored into every zone.
//! - [`exchange`] does what `ovn-ic`/`ic-routed` do between the zones, with the real logic
//!   run offline ([`crate::simulate`]).
//!
//! ```
//! use isolation::{sample, verify, Inventory, TopologyConfig, VpcFilter};
//!
//! let tenants = [sample::Tenant::new(0, &["10.0.0.1/24"], &["10.16.0.1/16"]),
//!                sample::Tenant::new(1, &["10.0.0.1/24"], &["10.17.0.1/16"])];
//! let mut uuids = sample::Uuids::default();
//! let mut world = sample::world(&tenants, false, &mut uuids);
//! let policy = sample::pairs(&tenants);
//! let plan = isolation::plan_a(&world, &Inventory::from_world(&world), &policy,
//!                              &TopologyConfig::default());
//! plan.apply(&mut world, &mut || uuids.next()).unwrap();
//! let filter = VpcFilter::new(Inventory::from_world(&world), policy.clone());
//! sample::exchange(&mut world, &filter);
//! let report = verify(&world, &Inventory::from_world(&world), &policy);
//! assert!(report.leaks.is_empty(), "{report}");
//! ```

use ic_routes::RouteFilter;
use ovn_ic_nb::TransitSwitch;
use ovsdb_proto::Uuid;

use crate::fixture::{attach, ids, kube_vpc_with, mirror_ts, neutron_router_with, B};
use crate::policy::{Pair, Policy, Selector};
use crate::rows::{World, ZoneNb};

/// Deterministic UUIDs: 1, 2, 3, …
#[derive(Debug, Default, Clone)]
pub struct Uuids(pub u128);

impl Uuids {
    /// The next UUID.
    #[allow(
        clippy::should_implement_trait,
        reason = "a counter, not an iterator that ends"
    )]
    pub fn next(&mut self) -> Uuid {
        self.0 += 1;
        Uuid::from_u128(self.0)
    }
}

/// One tenant: an OpenStack VPC and a Kubernetes VPC (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tenant {
    /// The tenant number: router `neutron-t<i>`, `tenant-<i>`, project `p<i>`, `vpc-<i>`.
    pub index: usize,
    /// Router-port networks of the Neutron router (`10.0.0.1/24` form), one network each.
    pub openstack: Vec<String>,
    /// Router-port networks of the Kube-OVN VPC, one subnet each.
    pub kubernetes: Vec<String>,
}

impl Tenant {
    /// Tenant `index` with these router-port networks.
    pub fn new(index: usize, openstack: &[&str], kubernetes: &[&str]) -> Self {
        Tenant {
            index,
            openstack: openstack.iter().map(|s| (*s).to_owned()).collect(),
            kubernetes: kubernetes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// The Neutron router's name.
    pub fn router(&self) -> String {
        format!("neutron-t{}", self.index)
    }

    /// The Kube-OVN VPC's name.
    pub fn vpc(&self) -> String {
        format!("vpc-{}", self.index)
    }
}

fn zone(name: &str) -> ZoneNb {
    let mut z = ZoneNb::new(name);
    z.nb_global.name = name.to_owned();
    z.nb_global.options = ids(&[("ic-route-adv", "true"), ("ic-route-learn", "true")]);
    z
}

/// Zones `os` and `k8s` (or one zone `shared` for topology C) holding `tenants`, and
/// transit switch `ts` (see the module docs). No router is on a transit switch yet: run a
/// planner.
pub fn world(tenants: &[Tenant], shared: bool, uuids: &mut Uuids) -> World {
    let mut w = World::default();
    let ts = uuids.next();
    w.ic.transit_switches.insert(
        ts,
        mk!(TransitSwitch {
            uuid: ts,
            name: "ts".into(),
            external_ids: ids(&[("subnet", "169.254.128.0/17")]),
        }),
    );
    let mut os = zone(if shared { "shared" } else { "os" });
    let mut k8s = zone("k8s");
    for t in tenants {
        let mut b = B {
            z: &mut os,
            u: &mut *uuids,
        };
        let nets: Vec<&str> = t.openstack.iter().map(String::as_str).collect();
        neutron_router_with(
            &mut b,
            &format!("t{}", t.index),
            &format!("tenant-{}", t.index),
            &format!("p{}", t.index),
            &nets,
            Some("172.24.4.2/24"),
        );
        let mut b = B {
            z: if shared { &mut os } else { &mut k8s },
            u: &mut *uuids,
        };
        let nets: Vec<&str> = t.kubernetes.iter().map(String::as_str).collect();
        kube_vpc_with(&mut b, &t.vpc(), &nets);
    }
    w.zones.push(os);
    if !shared {
        w.zones.push(k8s);
    }
    mirror_ts(&mut w, uuids);
    w
}

/// The policy pairing each tenant's OpenStack VPC with its Kubernetes VPC (by router and
/// VPC name).
pub fn pairs(tenants: &[Tenant]) -> Policy {
    let mut p = Policy::default();
    for t in tenants {
        p.pairs.push(Pair::new(
            Selector::router(t.router()),
            Selector::vpc(t.vpc()),
        ));
    }
    p
}

/// Attaches every router of every zone to transit switch `ts` (router port
/// `<router>-ts`, addresses 169.254.128.1, .2, … in zone and router order): topology A
/// for every VPC, without guard ACLs. For large benches, where planning is not the point.
pub fn attach_all(world: &mut World, uuids: &mut Uuids) {
    let mut n: u32 = 0;
    for z in &mut world.zones {
        let routers: Vec<Uuid> = z.routers.keys().copied().collect();
        for lr in routers {
            n += 1;
            let a =
                std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(169, 254, 128, 0)) + n);
            let mut b = B {
                z: &mut *z,
                u: &mut *uuids,
            };
            attach(&mut b, lr, "ts", &format!("{a}/17"));
        }
    }
}

/// Route exchange between the zones of `world` with `filter` in every zone
/// ([`ic_routes::AllowAll`] for stock ovn-ic), the real ovn-ic logic run offline
/// ([`crate::simulate::exchange`], newest rules): transit switches mirrored, zones
/// registered, ports bound, routes advertised and learned until nothing changes. Returns
/// the number of rounds that wrote.
///
/// # Panics
///
/// When the daemons do not settle within 16 rounds (the sample worlds always do).
pub fn exchange<F: RouteFilter + Clone + 'static>(world: &mut World, filter: &F) -> usize {
    let daemons = crate::simulate::Daemons::filtered(std::sync::Arc::new(filter.clone()));
    crate::simulate::exchange(world, &daemons, 16).expect("the sample daemons settle")
}
