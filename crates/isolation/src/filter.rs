//! [`VpcFilter`]: the [`ic_routes::RouteFilter`] that keeps VPCs apart.
//!
//! A router learns an IC-SB route only when the learning VPC and the advertising VPC may
//! talk ([`Policy::allows`]). The advertising VPC is identified by the first rule that
//! gives an answer ([`SourceRule`], in this order):
//!
//! 1. `external_ids:lr-id` (ovn-ic ≥ 23.09): the advertising `Logical_Router` UUID, looked
//!    up among the advertiser zone's routers.
//! 2. `external_ids:nb-id` (every version, including stock 23.03.1): the NB row the route
//!    came from (router port for `connected`, static route for `static`), looked up among the
//!    advertiser zone's rows (any zone's when the advertiser zone is unknown and the UUID is
//!    unambiguous).
//! 3. The nexthop: the address of the advertiser's port on the transit switch, looked up
//!    among the transit-switch ports of every zone (NB rows and IC-SB port bindings).
//! 4. `external_ids:ovnlink:vpc`, a tag an advertiser of this project may write (a claim,
//!    hence after the facts above).
//! 5. Prefix containment in a known VPC's tenant CIDRs (of the advertiser zone). With
//!    overlapping CIDRs several VPCs contain the prefix: the route is learned only if every
//!    one of them may talk to the learner.
//!
//! A route whose source none of these identifies is decided by
//! [`Policy::unknown_source`] (default deny); a learning router that is not a VPC by
//! [`Policy::unknown_learner`] (default deny). Advertisement is narrowed too: a Neutron
//! router never advertises its external gateway networks.
//!
//! Every advertisement of a VPC router carries the VPC's [`Claim`] (`external_ids` under
//! [`CLAIM_PREFIX`], which the filter owns on its zone's IC-SB routes): what another zone's
//! daemon needs to rebuild the VPC for its own filter ([`crate::live`]). A tag (rule 4) is
//! believed only from the zone it names.

use std::collections::{HashMap, HashSet};

use ic_routes::{AdvertiseCandidate, LearnCandidate, Nexthop, Prefix, RouteFilter};
use ovsdb_proto::typed::StringMap;
use ovsdb_proto::Uuid;

use crate::live::{Claim, CLAIM_PREFIX};

use crate::policy::Policy;
use crate::vpc::{Inventory, Vpc, VpcId};
use crate::VPC_KEY;

/// Which rule identified a route's source VPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceRule {
    /// `external_ids:lr-id`.
    LrId,
    /// `external_ids:nb-id`.
    NbId,
    /// The nexthop is a known VPC router's transit-switch port.
    TransitPort,
    /// `external_ids:ovnlink:vpc`.
    Tag,
    /// Prefix containment in tenant CIDRs.
    Prefix,
}

/// The advertising VPC of a route, as far as it can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// One VPC.
    Vpc(VpcId, SourceRule),
    /// Several VPCs could have advertised it (overlapping CIDRs, shared nexthop).
    Ambiguous(Vec<VpcId>, SourceRule),
    /// Not identified.
    Unknown,
}

/// The VPC route filter (see the module docs).
#[derive(Debug, Clone)]
pub struct VpcFilter {
    inventory: Inventory,
    policy: Policy,
    /// [`Policy::allowed_pairs`] over the inventory.
    allowed: HashSet<(usize, usize)>,
    /// The claims of the VPCs read from NB rows, by VPC id.
    claims: HashMap<VpcId, StringMap>,
}

impl PartialEq for VpcFilter {
    /// Same inventory and policy (the rest is derived from them).
    fn eq(&self, other: &Self) -> bool {
        self.inventory == other.inventory && self.policy == other.policy
    }
}

impl VpcFilter {
    /// A filter over the VPCs of every zone and a policy.
    pub fn new(inventory: Inventory, policy: Policy) -> Self {
        let allowed = policy.allowed_pairs(inventory.vpcs());
        let claims = inventory
            .vpcs()
            .iter()
            .filter(|v| !inventory.is_claimed(v))
            .map(|v| (v.id.clone(), Claim::of(v).to_external_ids()))
            .collect();
        VpcFilter {
            inventory,
            policy,
            allowed,
            claims,
        }
    }

    /// The inventory.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Identifies the advertising VPC of a learn candidate.
    pub fn source(&self, c: &LearnCandidate<'_>) -> Source {
        let inv = &self.inventory;
        let zone = c.advertiser_zone;
        let ids = &c.route.external_ids;
        let one = |v: Option<&Vpc>, rule| v.map(|v| Source::Vpc(v.id.clone(), rule));
        if let Some(s) = ids
            .get("lr-id")
            .and_then(|s| Uuid::parse_str(s).ok())
            .and_then(|u| {
                let v = if zone.is_empty() {
                    inv.by_nb_row("", u)
                } else {
                    inv.by_router(zone, u)
                };
                one(v, SourceRule::LrId)
            })
        {
            return s;
        }
        if let Some(s) = ids
            .get("nb-id")
            .and_then(|s| Uuid::parse_str(s).ok())
            .and_then(|u| one(inv.by_nb_row(zone, u), SourceRule::NbId))
        {
            return s;
        }
        if let Some(nh) = Nexthop::parse(&c.route.nexthop) {
            let v: Vec<&Vpc> = inv
                .by_transit_port(c.transit_switch, nh.0)
                .into_iter()
                .filter(|v| zone.is_empty() || v.zone == zone)
                .collect();
            match v.as_slice() {
                [] => {}
                [one] => return Source::Vpc(one.id.clone(), SourceRule::TransitPort),
                many => {
                    return Source::Ambiguous(
                        many.iter().map(|v| v.id.clone()).collect(),
                        SourceRule::TransitPort,
                    )
                }
            }
        }
        if let Some(v) = ids
            .get(VPC_KEY)
            .and_then(|t| inv.get(&VpcId(t.to_owned())))
            .filter(|v| zone.is_empty() || v.zone == zone)
        {
            return Source::Vpc(v.id.clone(), SourceRule::Tag);
        }
        match inv.by_prefix(zone, c.prefix).as_slice() {
            [] => Source::Unknown,
            [one] => Source::Vpc(one.id.clone(), SourceRule::Prefix),
            many => Source::Ambiguous(
                many.iter().map(|v| v.id.clone()).collect(),
                SourceRule::Prefix,
            ),
        }
    }
}

impl RouteFilter for VpcFilter {
    fn learn(&self, c: &LearnCandidate<'_>) -> bool {
        // By UUID, else by name: an inventory read from a dump still knows a router that
        // was deleted and re-created under the same name since.
        let Some(learner) = self
            .inventory
            .by_router(c.zone, c.router.uuid)
            .or_else(|| self.inventory.by_router_name(c.zone, &c.router.name))
        else {
            return self.policy.unknown_learner.allows();
        };
        // Never into the learner's own address space: a route for (part of) its own tenant
        // CIDRs, from any other VPC, would make the router's own network ambiguous (OVN
        // 25.03 ranks an IC-learned `connected` route with the router's own) and open a
        // path from its peers to whoever advertised it. Overlapping tenants can only be
        // told apart on separate transit switches (topology B).
        let own = |p: &Prefix| {
            learner
                .cidrs
                .iter()
                .any(|c| p.is_within(c) || c.is_within(p))
        };
        if own(c.prefix) && !matches!(self.source(c), Source::Vpc(ref id, _) if *id == learner.id) {
            return false;
        }
        let me = self.inventory.index(&learner.id);
        let allowed = |id: &VpcId| {
            id == &learner.id
                || me
                    .zip(self.inventory.index(id))
                    .is_some_and(|pair| self.allowed.contains(&pair))
        };
        match self.source(c) {
            Source::Vpc(id, _) => allowed(&id),
            Source::Ambiguous(ids, _) => ids.iter().all(allowed),
            Source::Unknown => self.policy.unknown_source.allows(),
        }
    }

    fn explain_learn(&self, c: &LearnCandidate<'_>) -> String {
        let Some(learner) = self
            .inventory
            .by_router(c.zone, c.router.uuid)
            .or_else(|| self.inventory.by_router_name(c.zone, &c.router.name))
        else {
            return format!(
                "router {} is no VPC, and the policy's unknown_learner is deny",
                c.router.name
            );
        };
        let source = self.source(c);
        let describe = |s: &Source| match s {
            Source::Vpc(id, rule) => format!("source VPC {id} (by {rule:?})"),
            Source::Ambiguous(ids, rule) => format!(
                "source ambiguous among {} (by {rule:?})",
                ids.iter().map(VpcId::as_str).collect::<Vec<_>>().join(", ")
            ),
            Source::Unknown => "source VPC unknown".to_owned(),
        };
        let own = learner
            .cidrs
            .iter()
            .any(|cidr| c.prefix.is_within(cidr) || cidr.is_within(c.prefix));
        if own && !matches!(source, Source::Vpc(ref id, _) if *id == learner.id) {
            return format!(
                "{} overlaps the tenant CIDRs of {} itself ({})",
                c.prefix,
                learner.id,
                describe(&source)
            );
        }
        match source {
            Source::Unknown => {
                "source VPC unknown, and the policy's unknown_source is deny".to_owned()
            }
            s => format!(
                "{}: no pair or peering of the policy lets it talk to {}",
                describe(&s),
                learner.id
            ),
        }
    }

    fn explain_advertise(&self, c: &AdvertiseCandidate<'_>) -> String {
        format!(
            "{} is an external (gateway) network of Neutron router {}",
            c.prefix, c.router.name
        )
    }

    fn advertise(&self, c: &AdvertiseCandidate<'_>) -> bool {
        match self
            .inventory
            .by_router(c.zone, c.router.uuid)
            .or_else(|| self.inventory.by_router_name(c.zone, &c.router.name))
        {
            Some(v) => !v.external.iter().any(|e| c.prefix.is_within(e)),
            None => true,
        }
    }

    fn annotate(&self, c: &AdvertiseCandidate<'_>) -> Option<&StringMap> {
        let v = self
            .inventory
            .by_router(c.zone, c.router.uuid)
            .or_else(|| self.inventory.by_router_name(c.zone, &c.router.name))?;
        self.claims.get(&v.id)
    }

    fn annotation_prefix(&self) -> Option<&str> {
        Some(CLAIM_PREFIX)
    }
}
