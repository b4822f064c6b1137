//! VPC isolation across OVN interconnection, for OpenStack (Neutron on OVN) and Kubernetes
//! (Kube-OVN) sharing one routed fabric.
//!
//! This is a pure engine: it takes typed rows of every zone's `OVN_Northbound`
//! and the global `OVN_IC_Northbound`/`OVN_IC_Southbound` ([`World`]) and returns a model,
//! a route filter, plans (OVSDB [`Operation`](ovsdb_proto::Operation)s per database) and
//! reports. It never opens a socket, spawns a task or reads a clock.
//!
//! The task most users come for: filter routes by VPC. Zone `openstack` has the Neutron
//! router of tenant `tenant-a`; zone `k8s` has Kube-OVN's default VPC `ovn-cluster` and a
//! custom VPC `vpc-a`. The policy pairs `tenant-a` with `vpc-a` only, so the Neutron router
//! may learn `vpc-a`'s subnet and not the default VPC's:
//!
//! ```
//! use ic_routes::ovn_ic_sb::Route;
//! use ic_routes::ovn_nb::{LogicalRouter, LogicalRouterPort};
//! use ic_routes::{LearnCandidate, Prefix, RouteFilter};
//! use isolation::{Inventory, Policy, VpcFilter, World, ZoneNb};
//! use ovsdb_proto::typed::{Ref, StringMap};
//! use ovsdb_proto::Uuid;
//!
//! /// A router with one port holding `network`, as the CMS writes them.
//! fn router(zone: &mut ZoneNb, n: u128, name: &str, ids: &[(&str, &str)], port: &str, network: &str) {
//!     let mut lrp = LogicalRouterPort::default();
//!     (lrp.uuid, lrp.name, lrp.networks) = (Uuid::from_u128(n + 1), port.into(), vec![network.into()]);
//!     let mut lr = LogicalRouter::default();
//!     (lr.uuid, lr.name, lr.ports) = (Uuid::from_u128(n), name.into(), vec![Ref::new(lrp.uuid)]);
//!     lr.external_ids = StringMap::from_iter(ids.iter().copied());
//!     zone.router_ports.insert(lrp.uuid, lrp);
//!     zone.routers.insert(lr.uuid, lr);
//! }
//!
//! let mut openstack = ZoneNb::new("openstack");
//! router(&mut openstack, 10, "neutron-6a4c3c8e-42f0-4d1c-9d0e-1b1a2b3c4d5e",
//!     &[("neutron:router_name", "tenant-a")], "lrp-tenant-a", "192.168.1.1/24");
//! let mut k8s = ZoneNb::new("k8s");
//! router(&mut k8s, 20, "ovn-cluster", &[], "ovn-cluster-ovn-default", "10.16.0.1/16");
//! router(&mut k8s, 30, "vpc-a", &[("vendor", "kube-ovn")], "vpc-a-subnet1", "10.20.0.1/24");
//! let mut world = World::default();
//! world.zones = vec![openstack, k8s];
//!
//! let policy = Policy::from_json(
//!     r#"{"pairs": [{"openstack": {"router_name": "tenant-a"}, "kubernetes": {"vpc": "vpc-a"}}]}"#,
//! )?;
//! let inventory = Inventory::from_world(&world); // the VPC model: three VPCs
//! assert_eq!(inventory.vpcs().len(), 3);
//! let filter = VpcFilter::new(inventory, policy); // an ic_routes::RouteFilter
//!
//! // What the route engine asks the filter for each route another zone advertised:
//! let learner = &world.zones[0].routers[&Uuid::from_u128(10)];
//! let may_learn = |prefix: &str| {
//!     let mut route = Route::default();
//!     (route.ip_prefix, route.nexthop, route.transit_switch) = (prefix.into(), "169.254.100.2".into(), "ts1".into());
//!     let prefix = Prefix::parse(prefix).unwrap();
//!     filter.learn(&LearnCandidate {
//!         zone: "openstack", router: learner, transit_switch: "ts1",
//!         advertiser_zone: "k8s", route: &route, prefix: &prefix,
//!     })
//! };
//! assert!(may_learn("10.20.0.0/24")); // vpc-a: paired
//! assert!(!may_learn("10.16.0.0/16")); // ovn-cluster: kept apart
//! # Ok::<(), isolation::Error>(())
//! ```
//!
//! The same filter narrows a whole zone's plan (`world.route_snapshot(zone)` then
//! `plan_filtered(&filter)`), runs in `ic-routed` (`--isolation-policy`), and the rest of the
//! crate plans the topologies and verifies the result:
//!
//! ```
//! use isolation::{verify, Inventory, Policy, VpcFilter, World};
//!
//! let world = World::default(); // every zone's NB rows and the IC rows, from replicas or dumps
//! let policy = Policy::from_json(r#"{"pairs": []}"#).unwrap();
//! let inventory = Inventory::from_world(&world); // 1. the VPC model
//! let filter = VpcFilter::new(inventory.clone(), policy.clone()); // 2. an ic_routes::RouteFilter
//! let report = verify(&world, &inventory, &policy); // 3. reachability matrix and leaks
//! assert!(report.leaks.is_empty());
//! println!("{report}"); // the matrix table, the leaks with their paths
//!
//! // The route engine of one zone, narrowed by the filter:
//! if let Some(snapshot) = world.route_snapshot("az1") {
//!     let plan = snapshot.plan_filtered(&filter);
//!     let _ops = plan.operations();
//! }
//!
//! // Planners: operations per database (each zone's NB, IC-NB), idempotent.
//! let plan = isolation::plan_b(&world, &inventory, &policy, &isolation::TopologyConfig::default())
//!     .unwrap();
//! assert!(plan.is_empty());
//! ```
//!
//! - [`vpc`]: VPCs read from NB rows — Neutron routers `neutron-<uuid>` (project from the
//!   router-interface ports), Kube-OVN `ovn-cluster` and custom VPC routers
//!   (`vendor=kube-ovn`), with their tenant CIDRs.
//! - [`policy`]: the JSON policy file (pairs, extra peerings, unknown-source default).
//! - [`live`]: the inventory a daemon keeps live without an inventory file — its own NB
//!   rows, other zones' NB replicas, and the VPC claims ([`live::Claim`]) that
//!   [`VpcFilter`] writes on every advertisement of a VPC router.
//! - [`filter`]: [`VpcFilter`], the [`ic_routes::RouteFilter`] that lets a router learn only
//!   routes of VPCs it may talk to, also against zones running stock ovn-ic 23.03.1.
//! - [`verify`](mod@verify): longest-prefix-match reachability through routers and transit
//!   switches, guard ACLs, leaks with their path.
//! - [`explain`](mod@explain): one pair of VPCs hop by hop, with what decided each hop
//!   (route, learned-route origin, filter rule, policy rule, guards) or why there is no path.
//! - [`guard`]: guard ACLs (port group, address sets, `to-lport` drop ACLs) for pods.
//! - [`simulate`]: what the interconnection daemons would do with a world, offline, with
//!   the real ovn-ic logic (`ic_routes::sim`), stock or filtered, per release.
//! - [`topology`]: planners for topologies A (one transit switch), B (one transit switch
//!   per VPC pair, link-local pool) and C (shared NB, router-to-router links).
//!
//! # Ownership
//!
//! Every row this crate writes carries `external_ids` [`OWNER_KEY`]=[`OWNER`] plus
//! [`ROLE_KEY`] and, where it belongs to one VPC, [`VPC_KEY`]. It never writes `neutron:*`
//! keys or `vendor=kube-ovn`, so Neutron's DB sync and Kube-OVN's GC leave the rows alone,
//! and it never updates a row it does not own: on Neutron or Kube-OVN routers and switches
//! it only `mutate`s the reference sets (`ports`, `static_routes`) to add or remove its own
//! rows. Planners find their own rows by these keys, so planning again over the rows a plan
//! produced yields no operations.
//!
//! # Limits
//!
//! - The VPC model is a heuristic over NB rows (reference §3.4): shared Neutron networks and
//!   RBAC are not seen; IPv6 prefixes are handled like IPv4 ones.
//! - The verifier models routing (longest prefix, ECMP, route tables), not NAT, policies
//!   (`Logical_Router_Policy`), load balancers or ACLs other than this crate's guards, and it
//!   checks one direction only (a destination reachable from X, whatever the return path).
//! - ACL tiers (OVN ≥ 23.06) are not used: the schema is 23.03.1's.
//!
//! # Inventory format
//!
//! [`World::from_inventory_json`] reads `{"zones": {"<az>": DB, …}, "ic_nb": DB, "ic_sb": DB}`
//! where `DB` is `{"<Table>": {"<uuid>": {"<column>": <OVSDB datum JSON>}}}` or a string
//! holding what `ovsdb-client -f json dump <remote> <db>` prints.
#![forbid(unsafe_code)]

/// Builds a generated (non-exhaustive) row: `mk!(LogicalRouter { name: n, .. })` sets the
/// given fields on `Default::default()`.
macro_rules! mk {
    ($t:ty { $($f:ident : $v:expr),* $(,)? }) => {{
        let mut r = <$t>::default();
        $( r.$f = $v; )*
        r
    }};
}

pub mod error;
pub mod explain;
pub mod filter;
pub mod guard;
pub mod live;
pub mod net;
pub mod policy;
pub mod rows;
pub mod simulate;
pub mod topology;
pub mod verify;
pub mod vpc;

// The unit tests' topologies.
#[cfg(test)]
mod fixture;

pub use error::Error;
pub use explain::{explain, Destination, Explanation};
pub use filter::{Source, SourceRule, VpcFilter};
pub use guard::{plan_guards, GuardConfig, GuardPlan};
pub use policy::{Decision, Pair, Peering, Policy, Selector};
pub use rows::{IcRows, World, ZoneNb};
pub use topology::{plan_a, plan_b, plan_c, TopologyConfig, TopologyPlan};
pub use verify::{verify, Cell, Hop, Leak, Report};
pub use vpc::{Inventory, Vpc, VpcId, VpcKind};

/// `external_ids` key marking rows this crate owns.
pub const OWNER_KEY: &str = "ovnlink:owner";
/// The value of [`OWNER_KEY`].
pub const OWNER: &str = "isolation";
/// `external_ids` key naming the VPC a row belongs to (a [`VpcId`]); on IC-SB routes, an
/// advertiser's claim of the route's source VPC.
pub const VPC_KEY: &str = "ovnlink:vpc";
/// `external_ids` key saying what an owned row is for.
pub const ROLE_KEY: &str = "ovnlink:role";

#[cfg(test)]
mod tests;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
