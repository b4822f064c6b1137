//! Sample worlds for examples, benches and property tests: no servers, nothing installed.
//!
//! - [`world`] builds zones with [`crate::rows`]: per [`Tenant`] a Neutron router
//!   `neutron-t<i>` (`neutron:router_name` = `tenant-<i>`, project `p<i>`) with one tenant
//!   network per OpenStack CIDR and a gateway port, and a Kube-OVN custom VPC `vpc-<i>` with
//!   one subnet (and one pod) per Kubernetes CIDR. IC-NB holds transit switch `ts` (subnet
//!   169.254.128.0/17, so the default topology-B/C pool 169.254.100.0/24 stays free),
//!   already mirrored into every zone by the daemons.
//! - [`exchange`] runs the daemons: the real ovn-ic logic offline
//!   (`isolation::simulate`), until nothing changes.
//!
//! ```
//! use isolation::{verify, Inventory, VpcFilter};
//! use ovnlink_lab::sample;
//!
//! let tenants = [sample::Tenant::new(0, &["10.0.0.1/24"], &["10.16.0.1/16"]),
//!                sample::Tenant::new(1, &["10.0.0.1/24"], &["10.17.0.1/16"])];
//! let mut uuids = ovnlink_lab::rows::Uuids::default();
//! let mut world = sample::world(&tenants, false, &mut uuids);
//! let policy = sample::pairs(&tenants);
//! let plan = isolation::plan_a(&world, &Inventory::from_world(&world), &policy,
//!                              &isolation::TopologyConfig::default());
//! plan.apply(&mut world, &mut || uuids.next()).unwrap();
//! let filter = VpcFilter::new(Inventory::from_world(&world), policy.clone());
//! sample::exchange(&mut world, &filter);
//! let report = verify(&world, &Inventory::from_world(&world), &policy);
//! assert!(report.leaks.is_empty(), "{report}");
//! ```

use std::sync::Arc;

use ic_routes::RouteFilter;
use isolation::{Pair, Policy, Selector, World, ZoneNb};
use ovn_ic_nb::TransitSwitch;
use ovn_nb::NbGlobal;
use ovsdb_proto::typed::TypedStore;

use crate::rows::{attach, ids, kube_vpc_with, neutron_router_with, NbBuilder, Uuids};

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

/// An empty zone store whose `NB_Global` names it and turns route exchange on.
fn zone_store(name: &str, uuids: &mut Uuids) -> TypedStore {
    let mut s = TypedStore::new();
    let mut g = NbGlobal::default();
    g.uuid = uuids.next();
    g.name = name.to_owned();
    g.options = ids(&[("ic-route-adv", "true"), ("ic-route-learn", "true")]);
    s.insert(g);
    s
}

/// Zones `os` and `k8s` (or one zone `shared` for topology C) holding `tenants`, and
/// transit switch `ts` (see the module docs). No router is on a transit switch yet: run a
/// planner.
///
/// # Panics
///
/// When the built rows do not form a valid world (they do).
pub fn world(tenants: &[Tenant], shared: bool, uuids: &mut Uuids) -> World {
    let mut w = World::default();
    let mut ts = TransitSwitch::default();
    ts.uuid = uuids.next();
    ts.name = "ts".into();
    ts.external_ids = ids(&[("subnet", "169.254.128.0/17")]);
    w.ic.transit_switches.insert(ts.uuid, ts);
    let os_name = if shared { "shared" } else { "os" };
    let mut os = zone_store(os_name, uuids);
    let mut k8s = zone_store("k8s", uuids);
    for t in tenants {
        let nets: Vec<&str> = t.openstack.iter().map(String::as_str).collect();
        neutron_router_with(
            &mut NbBuilder::new(&mut os, uuids),
            &format!("t{}", t.index),
            &format!("tenant-{}", t.index),
            &format!("p{}", t.index),
            &nets,
            Some("172.24.4.2/24"),
        );
        let nets: Vec<&str> = t.kubernetes.iter().map(String::as_str).collect();
        let store = if shared { &mut os } else { &mut k8s };
        kube_vpc_with(&mut NbBuilder::new(store, uuids), &t.vpc(), &nets);
    }
    w.zones
        .push(ZoneNb::from_sources(os_name, &os).expect("sample rows decode"));
    if !shared {
        w.zones
            .push(ZoneNb::from_sources("k8s", &k8s).expect("sample rows decode"));
    }
    // The daemons mirror the transit switch into every zone.
    exchange(&mut w, &ic_routes::AllowAll);
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
///
/// # Panics
///
/// When a zone's rows do not round-trip (they do).
pub fn attach_all(world: &mut World, uuids: &mut Uuids) {
    let mut n: u32 = 0;
    for z in &mut world.zones {
        let mut store = z.to_store();
        let routers: Vec<ovsdb_proto::Uuid> = z.routers.keys().copied().collect();
        for lr in routers {
            n += 1;
            let a =
                std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(169, 254, 128, 0)) + n);
            attach(
                &mut NbBuilder::new(&mut store, uuids),
                lr,
                "ts",
                &format!("{a}/17"),
            );
        }
        let nb_global = z.nb_global.clone();
        *z = ZoneNb::from_sources(&z.zone, &store).expect("rows round-trip");
        z.nb_global = nb_global;
    }
}

/// Route exchange between the zones of `world` with `filter` in every zone
/// ([`ic_routes::AllowAll`] for stock ovn-ic): the real ovn-ic logic run offline
/// (`isolation::simulate::exchange`, newest rules) until nothing changes. Returns the
/// number of rounds that wrote.
///
/// # Panics
///
/// When the daemons do not settle within 16 rounds (the sample worlds always do).
pub fn exchange<F: RouteFilter + Clone + 'static>(world: &mut World, filter: &F) -> usize {
    let daemons = isolation::simulate::Daemons::filtered(Arc::new(filter.clone()));
    isolation::simulate::exchange(world, &daemons, 16).expect("the sample daemons settle")
}
