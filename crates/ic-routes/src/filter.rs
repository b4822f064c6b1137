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

use ovn_ic_sb::{Route, RouteOrigin};
use ovn_nb::LogicalRouter;

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
}

/// The filter that allows everything: ovn-ic's behaviour.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl RouteFilter for AllowAll {}
