//! Why one VPC can or cannot reach another: the path hop by hop and what decided each step
//! (the route taken; for a learned route, the IC-SB row, its advertising zone and the VPC the
//! route filter attributes it to; the policy rule; the guard ACLs), and for a destination
//! without a path, where it ends and why.
//!
//! ```
//! use isolation::{explain, Inventory, Policy, World};
//! let world = World::default();
//! let inventory = Inventory::from_world(&world);
//! // No VPC in an empty world: the endpoint is refused with a message naming it.
//! assert!(explain(&world, &inventory, &Policy::default(), "vpc-a", "10.0.0.5").is_err());
//! ```

use std::fmt;
use std::net::IpAddr;

use ic_routes::{LearnCandidate, Prefix, RouteFilter as _};

use crate::error::Error;
use crate::filter::{Source, VpcFilter};
use crate::policy::Policy;
use crate::rows::World;
use crate::verify::{guarded, verify, Cell, Hop, Net};
use crate::vpc::{Inventory, Vpc, VpcId, VpcKind};

/// The explanation of one ordered pair of VPCs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Explanation {
    /// The source VPC.
    pub from: VpcId,
    /// The destination VPC.
    pub to: VpcId,
    /// The verifier's verdict for the pair.
    pub cell: Cell,
    /// The policy rule that allows the pair, or why none does.
    pub policy: String,
    /// Whether this crate's guard ACLs in the destination's zone drop every CIDR of the
    /// source.
    pub guarded: bool,
    /// One entry per destination prefix (the destination's tenant CIDRs, or the address
    /// asked for).
    pub destinations: Vec<Destination>,
}

/// One destination prefix of an [`Explanation`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Destination {
    /// The prefix.
    pub prefix: Prefix,
    /// The path from the source router into the destination's network, if any.
    pub path: Option<Vec<Hop>>,
    /// What decided each hop, or why there is no path: one line each.
    pub notes: Vec<String>,
}

/// `a, b, c` of the VPCs' ids.
fn id_list<'a>(vpcs: impl Iterator<Item = &'a Vpc>) -> String {
    vpcs.map(|v| v.id.as_str()).collect::<Vec<_>>().join(", ")
}

/// Resolves an endpoint: a VPC id (`zone/router`), a router name, a Neutron router name, a
/// Kube-OVN VPC name, or an address inside exactly one VPC's tenant CIDRs.
fn resolve<'a>(inventory: &'a Inventory, what: &str) -> Result<(&'a Vpc, Option<IpAddr>), Error> {
    let vpcs = inventory.vpcs();
    if let Ok(ip) = what.parse::<IpAddr>() {
        let host = Prefix::parse(&ip.to_string()).ok_or_else(|| Error::Input(what.into()))?;
        let owners: Vec<&Vpc> = vpcs.iter().filter(|v| v.covers(&host)).collect();
        return match owners.as_slice() {
            [one] => Ok((one, Some(ip))),
            [] => Err(Error::Input(format!("{what}: in no VPC's tenant CIDRs"))),
            many => Err(Error::Input(format!(
                "{what}: in the tenant CIDRs of {} VPCs ({}); name the VPC instead",
                many.len(),
                id_list(many.iter().copied())
            ))),
        };
    }
    if let Some(v) = vpcs.iter().find(|v| v.id.as_str() == what) {
        return Ok((v, None));
    }
    let named: Vec<&Vpc> = vpcs
        .iter()
        .filter(|v| {
            v.router == what
                || match &v.kind {
                    VpcKind::OpenStack { router_name, .. } => router_name.as_deref() == Some(what),
                    VpcKind::Kubernetes { vpc, .. } => vpc == what,
                }
        })
        .collect();
    match named.as_slice() {
        [one] => Ok((one, None)),
        [] => Err(Error::Input(format!(
            "{what}: no such VPC (known: {})",
            id_list(vpcs.iter())
        ))),
        many => Err(Error::Input(format!(
            "{what}: names {} VPCs ({}); use the zone/router id",
            many.len(),
            id_list(many.iter().copied())
        ))),
    }
}

/// Which policy rule lets `a` and `b` talk, if any.
fn policy_rule(policy: &Policy, a: &Vpc, b: &Vpc) -> String {
    if a.id == b.id {
        return "the same VPC".to_owned();
    }
    for (i, p) in policy.pairs.iter().enumerate() {
        for (x, y) in [(a, b), (b, a)] {
            if x.is_openstack()
                && !y.is_openstack()
                && p.openstack.matches(x)
                && p.kubernetes.matches(y)
            {
                return format!(
                    "allowed by pairs[{i}] ({} ↔ {})",
                    serde_json::to_string(&p.openstack).unwrap_or_default(),
                    serde_json::to_string(&p.kubernetes).unwrap_or_default()
                );
            }
        }
    }
    for (i, p) in policy.peerings.iter().enumerate() {
        if (p.a.matches(a) && p.b.matches(b)) || (p.a.matches(b) && p.b.matches(a)) {
            return format!("allowed by peerings[{i}]");
        }
    }
    "not allowed: no pair or peering of the policy selects both".to_owned()
}

/// Explains how `from` reaches `to` (see the module docs). Each endpoint is a VPC id,
/// router, Neutron router name, Kube-OVN VPC name, or an address in one VPC.
pub fn explain(
    world: &World,
    inventory: &Inventory,
    policy: &Policy,
    from: &str,
    to: &str,
) -> Result<Explanation, Error> {
    let (x, _) = resolve(inventory, from)?;
    let (y, address) = resolve(inventory, to)?;
    let report = verify(world, inventory, policy);
    let cell = report
        .cell(x.id.as_str(), y.id.as_str())
        .unwrap_or(Cell::NoRoute);
    let net = Net::new(world);
    let zone_of = |v: &Vpc| world.zones.iter().position(|z| z.zone == v.zone);
    let filter = VpcFilter::new(inventory.clone(), policy.clone());
    let prefixes: Vec<Prefix> = match address {
        Some(ip) => Prefix::parse(&ip.to_string()).into_iter().collect(),
        None => y.cidrs.clone(),
    };
    let mut destinations = Vec::new();
    for d in prefixes {
        let mut notes = Vec::new();
        let path = match (zone_of(x), zone_of(y)) {
            (Some(xz), Some(yz)) => {
                let path = net.find((xz, x.router_uuid), (yz, y.router_uuid), d);
                match &path {
                    Some(hops) => {
                        for h in hops {
                            if let Some(line) = learned_note(world, &filter, h) {
                                notes.push(line);
                            }
                        }
                    }
                    None => {
                        no_path_notes(world, &filter, &net, (xz, x), y, d, &mut notes);
                    }
                }
                path
            }
            _ => {
                notes.push(format!(
                    "the NB rows of zone {} are not known",
                    if zone_of(x).is_none() {
                        &x.zone
                    } else {
                        &y.zone
                    }
                ));
                None
            }
        };
        destinations.push(Destination {
            prefix: d,
            path,
            notes,
        });
    }
    Ok(Explanation {
        from: x.id.clone(),
        to: y.id.clone(),
        cell,
        policy: policy_rule(policy, x, y),
        guarded: guarded(world, x, y),
        destinations,
    })
}

/// For a hop over a learned route: where the route came from and how the filter sees it.
fn learned_note(world: &World, filter: &VpcFilter, h: &Hop) -> Option<String> {
    let id = h.learned_from?;
    let Some(route) = world.ic.routes.get(&id) else {
        return Some(format!(
            "{}/{}: learned from IC-SB route {id}, which is gone",
            h.zone, h.router
        ));
    };
    let adv_zone = world
        .ic
        .availability_zones
        .get(&route.availability_zone.uuid())
        .map_or("", |a| a.name.as_str());
    let mut line = format!(
        "{}/{}: {} learned from zone {} over transit switch {} (IC-SB route {id}, origin {})",
        h.zone,
        h.router,
        route.ip_prefix,
        if adv_zone.is_empty() { "?" } else { adv_zone },
        route.transit_switch,
        route.origin
    );
    if let (Some(z), Some(prefix)) = (world.zone(&h.zone), Prefix::parse(&route.ip_prefix)) {
        if let Some(router) = z.routers.values().find(|r| r.name == h.router) {
            let c = LearnCandidate {
                zone: &z.zone,
                router,
                transit_switch: &route.transit_switch,
                advertiser_zone: adv_zone,
                route,
                prefix: &prefix,
            };
            line.push_str(&format!("; {}", filter_verdict(filter, &c)));
        }
    }
    Some(line)
}

/// What the VPC filter says about a learn candidate, in words.
fn filter_verdict(filter: &VpcFilter, c: &LearnCandidate<'_>) -> String {
    let source = match filter.source(c) {
        Source::Vpc(id, rule) => format!("source VPC {id} (identified by {rule:?})"),
        Source::Ambiguous(ids, rule) => format!(
            "source ambiguous among {} (by {rule:?})",
            ids.iter().map(VpcId::as_str).collect::<Vec<_>>().join(", ")
        ),
        Source::Unknown => "source VPC unknown".to_owned(),
    };
    let verdict = if filter.learn(c) {
        "the VPC filter learns it"
    } else {
        "the VPC filter refuses it"
    };
    format!("{source}: {verdict}")
}

/// Why `x` has no path to `d` in `y`: the first router's routes, and what IC-SB offers.
fn no_path_notes(
    world: &World,
    filter: &VpcFilter,
    net: &Net<'_>,
    (xz, x): (usize, &Vpc),
    y: &Vpc,
    d: Prefix,
    notes: &mut Vec<String>,
) {
    match net.covering_route(xz, x.router_uuid, &d) {
        Some(route) => notes.push(format!(
            "{}: its best route for {d} is {route}, which does not lead into {} (another network, a discard route, or a nexthop nobody owns)",
            x.id, y.id
        )),
        None => notes.push(format!("{}: no route covers {d}", x.id)),
    }
    let z = &world.zones[xz];
    let Some(router) = z.routers.get(&x.router_uuid) else {
        return;
    };
    let offered: Vec<_> = world
        .ic
        .routes
        .values()
        .filter(|r| Prefix::parse(&r.ip_prefix).is_some_and(|p| d.is_within(&p) || p.is_within(&d)))
        .collect();
    if offered.is_empty() {
        notes.push(not_advertised(world, y, d));
        return;
    }
    let ix = crate::vpc::ZoneIndex::new(z);
    let ports = ix.ports(z, router);
    for route in offered {
        let adv_zone = world
            .ic
            .availability_zones
            .get(&route.availability_zone.uuid())
            .map_or("", |a| a.name.as_str());
        let Some(prefix) = Prefix::parse(&route.ip_prefix) else {
            continue;
        };
        let on_ts = ports.iter().any(|p| {
            ix.lrp_ts
                .get(p.name.as_str())
                .is_some_and(|ts| *ts == route.transit_switch)
        });
        let mut line = format!(
            "IC-SB offers {} from zone {} on transit switch {}",
            route.ip_prefix,
            if adv_zone.is_empty() { "?" } else { adv_zone },
            route.transit_switch
        );
        if !on_ts {
            line.push_str(&format!(", which {} is not attached to", x.router));
        } else if adv_zone == z.zone {
            line.push_str(
                "; it is the zone's own route (ovn-ic before 23.09 never learns routes of its own zone)",
            );
        } else {
            let c = LearnCandidate {
                zone: &z.zone,
                router,
                transit_switch: &route.transit_switch,
                advertiser_zone: adv_zone,
                route,
                prefix: &prefix,
            };
            line.push_str(&format!(
                "; {} has not learned it: {}",
                x.router,
                filter_verdict(filter, &c)
            ));
        }
        notes.push(line);
    }
}

/// Why IC-SB holds no route for `d` of `y`.
fn not_advertised(world: &World, y: &Vpc, d: Prefix) -> String {
    let head = format!(
        "IC-SB holds no route for {d}: {} does not advertise it",
        y.id
    );
    let Some(z) = world.zone(&y.zone) else {
        return format!("{head} (its zone's NB rows are not known)");
    };
    let ix = crate::vpc::ZoneIndex::new(z);
    let Some(router) = z.routers.get(&y.router_uuid) else {
        return head;
    };
    let switches: Vec<&str> = ix
        .ports(z, router)
        .iter()
        .filter_map(|p| ix.lrp_ts.get(p.name.as_str()).copied())
        .collect();
    if switches.is_empty() {
        return format!("{head}: {} is on no transit switch", y.router);
    }
    let zone_uuid = world
        .ic
        .availability_zones
        .values()
        .find(|a| a.name == y.zone)
        .map(|a| a.uuid);
    let others_advertised = switches.iter().any(|ts| {
        world
            .ic
            .routes
            .values()
            .any(|r| r.transit_switch == *ts && Some(r.availability_zone.uuid()) == zone_uuid)
    });
    if others_advertised {
        format!(
            "{head}, although zone {} advertises other routers' routes on {}: ovn-ic before 23.09 advertises the routes of only one router per transit switch and zone (ic-routed in that zone, or topology B with one transit switch per pair, delivers it)",
            y.zone,
            switches.join(", ")
        )
    } else {
        format!(
            "{head} on {} (ic-route-adv off in zone {}, or its daemon has not run)",
            switches.join(", "),
            y.zone
        )
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} → {}: {:?}", self.from, self.to, self.cell)?;
        writeln!(f, "policy: {}", self.policy)?;
        if self.guarded {
            writeln!(
                f,
                "guard ACLs in {}'s zone drop every CIDR of {}",
                self.to, self.from
            )?;
        }
        for d in &self.destinations {
            match &d.path {
                Some(hops) => {
                    writeln!(f, "{}: reachable", d.prefix)?;
                    for (i, h) in hops.iter().enumerate() {
                        writeln!(f, "  {}. {h}", i + 1)?;
                    }
                }
                None => writeln!(f, "{}: no path", d.prefix)?,
            }
            for n in &d.notes {
                writeln!(f, "  - {n}")?;
            }
        }
        Ok(())
    }
}
