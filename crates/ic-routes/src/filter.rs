//! A policy hook the engine consults before it advertises or learns a route.
//!
//! ovn-ic's own switches (`ic-route-adv`, `ic-route-learn`, deny lists) are per zone; a
//! [`RouteFilter`] decides per router and per route, which is what VPC isolation needs
//! (crate `isolation` implements one). The engine calls the filter after its own checks, so
//! a filter can only narrow what ovn-ic's semantics allow, never widen it.
//!
//! A filter must be a pure function of its arguments and its own configuration: the
//! incremental engine assumes that a decision, once taken, stays the same until the rows it
//! was taken on change. After changing a filter's configuration, run a full recompute.
//!
//! A filter may also *annotate* advertisements ([`RouteFilter::annotate`]): extra IC-SB
//! `Route.external_ids` keys under a prefix it owns ([`RouteFilter::annotation_prefix`]),
//! for example the advertising VPC's identity so that other zones' filters can tell which
//! tenant a route belongs to. The engine writes them with the row and keeps them current
//! (stale owned keys are removed); a filter that owns no prefix (the default, and
//! [`AllowAll`]) leaves the rows exactly as ovn-ic writes them.

use ovn_ic_sb::{Route, RouteOrigin};
use ovn_nb::LogicalRouter;
use ovsdb_proto::typed::StringMap;

use crate::addr::Prefix;

/// A route another zone advertised that a local router could learn.
#[derive(Debug, Clone, Copy)]
pub struct LearnCandidate<'a> {
    /// The learning zone (this zone).
    pub zone: &'a str,
    /// The learning router (this zone's NB row).
    pub router: &'a LogicalRouter,
    /// The transit switch the route arrives on.
    pub transit_switch: &'a str,
    /// The advertising zone's name (`""` when its `Availability_Zone` row is unknown).
    pub advertiser_zone: &'a str,
    /// The IC-SB `Route` row.
    pub route: &'a Route,
    /// Its parsed prefix.
    pub prefix: &'a Prefix,
}

/// A local route a router could advertise on a transit switch.
#[derive(Debug, Clone, Copy)]
pub struct AdvertiseCandidate<'a> {
    /// The advertising zone (this zone).
    pub zone: &'a str,
    /// The advertising router (this zone's NB row).
    pub router: &'a LogicalRouter,
    /// The transit switch it would be advertised on.
    pub transit_switch: &'a str,
    /// The prefix (host bits kept for connected networks).
    pub prefix: &'a Prefix,
    /// The route table it would carry.
    pub route_table: &'a str,
    /// Where it comes from.
    pub origin: &'a RouteOrigin,
}

/// Decides, per router and per route, whether the engine may advertise or learn it.
///
/// Both methods default to allowing everything, so an implementation overrides only the
/// direction it cares about.
pub trait RouteFilter: Send + Sync + std::fmt::Debug {
    /// Whether `candidate.router` may learn `candidate.route`.
    fn learn(&self, candidate: &LearnCandidate<'_>) -> bool {
        let _ = candidate;
        true
    }

    /// Whether `candidate.router` may advertise `candidate.prefix` on
    /// `candidate.transit_switch`.
    fn advertise(&self, candidate: &AdvertiseCandidate<'_>) -> bool {
        let _ = candidate;
        true
    }

    /// Why [`RouteFilter::learn`] refuses `candidate` (for explanations; called only after
    /// a refusal). The default names no rule.
    fn explain_learn(&self, candidate: &LearnCandidate<'_>) -> String {
        let _ = candidate;
        "the filter refuses it".to_owned()
    }

    /// Why [`RouteFilter::advertise`] refuses `candidate` (for explanations; called only
    /// after a refusal).
    fn explain_advertise(&self, candidate: &AdvertiseCandidate<'_>) -> String {
        let _ = candidate;
        "the filter refuses it".to_owned()
    }

    /// The `external_ids` this filter adds to the advertisement of `candidate` (one that
    /// [`RouteFilter::advertise`] let through); every key must start with
    /// [`RouteFilter::annotation_prefix`]. Keys the engine writes itself (`nb-id`, `lr-id`,
    /// `ic-route-tag`) win over the annotation's. Default: none.
    fn annotate(&self, candidate: &AdvertiseCandidate<'_>) -> Option<&StringMap> {
        let _ = candidate;
        None
    }

    /// The prefix of the `external_ids` keys this filter owns on the zone's advertisements:
    /// keys with it that [`RouteFilter::annotate`] does not give (any more) are removed.
    /// `None` (the default): the filter owns no key, and the engine leaves every key it does
    /// not write itself alone.
    fn annotation_prefix(&self) -> Option<&str> {
        None
    }
}

/// The filter that allows everything: ovn-ic's behaviour.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl RouteFilter for AllowAll {}
