//! Why a prefix is or is not advertised and learned: every decision the engine takes for
//! one prefix, in the order it takes them, with the rule that decided.
//!
//! The decisions come from the engine's own group computations run with a trace (see
//! [`Snapshot::explain`](crate::Snapshot::explain)), so an explanation cannot drift from
//! what the engine does.
//!
//! ```
//! use ic_routes::{Prefix, Snapshot};
//! let snapshot = Snapshot::default(); // a zone's rows, from replicas or dumps
//! let e = snapshot.explain(&Prefix::parse("10.0.0.0/24").unwrap(), None, &ic_routes::AllowAll);
//! assert!(e.decisions.is_empty()); // nothing in an empty zone
//! println!("{e}");
//! ```

use std::fmt;

use ovsdb_proto::Uuid;

use crate::addr::Prefix;

/// Which way a decision goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Advertising a local route into IC-SB.
    Advertise,
    /// Learning an IC-SB route into the router.
    Learn,
}

/// Why a route was not advertised or learned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Skip {
    /// `NB_Global options:ic-route-adv` is not `true`.
    AdvertiseOff,
    /// `NB_Global options:ic-route-learn` is not `true`.
    LearnOff,
    /// A default route, without `ic-route-adv-default` / `ic-route-learn-default`.
    DefaultRoute,
    /// A static route with `policy=src-ip`.
    SourceIpPolicy,
    /// A link-local prefix.
    LinkLocal,
    /// Inside an entry of a deny list (`ic-route-denylist`/`-blacklist`, or a router's or
    /// port's `ic-route-deny-adv` / `ic-route-deny-learn`).
    DenyList(Prefix),
    /// Outside the router's or port's allow list (`ic-route-filter-adv` /
    /// `ic-route-filter-learn`).
    NotInAllowList,
    /// A load-balancer VIP route without `ic-route-learn-lb` (or `-adv-lb`).
    LoadBalancerOff,
    /// The route's table is not the transit port's `route_table`.
    RouteTable {
        /// The route's table.
        route: String,
        /// The port's table.
        port: String,
    },
    /// The route's `ic-route-tag` equals the learning port's `ic-route-filter-tag`.
    Tag(String),
    /// The row does not parse as a route (prefix or nexthop).
    BadFormat,
    /// A learned route (never advertised again).
    LearnedRoute,
    /// The router advertised it itself (`external_ids:lr-id`).
    OwnRoute,
    /// A row of this zone without `lr-id` (written by a release before 23.09).
    OwnZone,
    /// A route of this zone, and the release followed learns nothing from its own zone
    /// (before 23.09).
    SameZoneBeforeRelease,
    /// The router has a local static route with the same table and prefix.
    LocalRouteWins,
    /// The nexthop lies outside every network of the learning transit port.
    NexthopOutsidePort,
    /// The router is disabled.
    RouterDisabled,
    /// A load-balancer VIP of the router lies inside the prefix.
    LocalVip,
    /// The transit port's binding has no address (yet).
    PortWithoutAddress,
    /// The port has no address of the prefix's family to use as nexthop.
    NoNexthop,
    /// Another route of the group already gives the same advertisement.
    Duplicate,
    /// The route filter (for example a VPC policy) refused it, and why.
    Filter(String),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::AdvertiseOff => f.write_str("NB_Global options:ic-route-adv is off"),
            Skip::LearnOff => f.write_str("NB_Global options:ic-route-learn is off"),
            Skip::DefaultRoute => f.write_str(
                "a default route, and ic-route-adv-default/ic-route-learn-default is off",
            ),
            Skip::SourceIpPolicy => f.write_str("a src-ip policy route"),
            Skip::LinkLocal => f.write_str("a link-local prefix"),
            Skip::DenyList(p) => write!(f, "inside deny-list entry {p}"),
            Skip::NotInAllowList => {
                f.write_str("outside the allow list (ic-route-filter-adv/-learn)")
            }
            Skip::LoadBalancerOff => {
                f.write_str("a load-balancer route, and ic-route-adv-lb/ic-route-learn-lb is off")
            }
            Skip::RouteTable { route, port } => {
                write!(
                    f,
                    "route table {route:?} is not the transit port's {port:?}"
                )
            }
            Skip::Tag(t) => write!(
                f,
                "its ic-route-tag {t:?} is the port's ic-route-filter-tag"
            ),
            Skip::BadFormat => f.write_str("the row does not parse as a route"),
            Skip::LearnedRoute => f.write_str("a learned route is never advertised again"),
            Skip::OwnRoute => f.write_str("the router advertised it itself (lr-id)"),
            Skip::OwnZone => f.write_str("a row of this zone without lr-id"),
            Skip::SameZoneBeforeRelease => {
                f.write_str("a route of this zone, and ovn-ic before 23.09 never learns those")
            }
            Skip::LocalRouteWins => {
                f.write_str("the router has a local static route for the prefix in that table")
            }
            Skip::NexthopOutsidePort => {
                f.write_str("the nexthop is outside the networks of the transit port")
            }
            Skip::RouterDisabled => f.write_str("the router is disabled"),
            Skip::LocalVip => f.write_str("a load-balancer VIP of the router is inside the prefix"),
            Skip::PortWithoutAddress => f.write_str("the transit port's binding has no address"),
            Skip::NoNexthop => {
                f.write_str("the transit port has no address of the prefix's family")
            }
            Skip::Duplicate => f.write_str("a duplicate of another advertisement"),
            Skip::Filter(why) => write!(f, "refused by the route filter: {why}"),
        }
    }
}

/// Every [`Skip::name`], in [`Skip::index`] order.
pub const SKIP_NAMES: [&str; 23] = [
    "adv_off",
    "learn_off",
    "default_route",
    "src_ip",
    "link_local",
    "denylist",
    "allow_list",
    "lb_off",
    "route_table",
    "tag",
    "bad_format",
    "learned_route",
    "own_route",
    "own_zone",
    "same_zone_release",
    "local_route",
    "nexthop_outside_port",
    "router_disabled",
    "local_vip",
    "port_without_address",
    "no_nexthop",
    "duplicate",
    "filter",
];

impl Skip {
    /// The position of [`Skip::name`] in [`SKIP_NAMES`].
    pub fn index(&self) -> usize {
        let name = self.name();
        SKIP_NAMES.iter().position(|n| *n == name).unwrap_or(0)
    }

    /// A short stable name (metrics labels, JSON).
    pub fn name(&self) -> &'static str {
        match self {
            Skip::AdvertiseOff => "adv_off",
            Skip::LearnOff => "learn_off",
            Skip::DefaultRoute => "default_route",
            Skip::SourceIpPolicy => "src_ip",
            Skip::LinkLocal => "link_local",
            Skip::DenyList(_) => "denylist",
            Skip::NotInAllowList => "allow_list",
            Skip::LoadBalancerOff => "lb_off",
            Skip::RouteTable { .. } => "route_table",
            Skip::Tag(_) => "tag",
            Skip::BadFormat => "bad_format",
            Skip::LearnedRoute => "learned_route",
            Skip::OwnRoute => "own_route",
            Skip::OwnZone => "own_zone",
            Skip::SameZoneBeforeRelease => "same_zone_release",
            Skip::LocalRouteWins => "local_route",
            Skip::NexthopOutsidePort => "nexthop_outside_port",
            Skip::RouterDisabled => "router_disabled",
            Skip::LocalVip => "local_vip",
            Skip::PortWithoutAddress => "port_without_address",
            Skip::NoNexthop => "no_nexthop",
            Skip::Duplicate => "duplicate",
            Skip::Filter(_) => "filter",
        }
    }
}

/// One decision about one route.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Advertising or learning.
    pub direction: Direction,
    /// The router of this zone (its name).
    pub router: String,
    /// The transit switch.
    pub transit_switch: String,
    /// What the route is: `static route <uuid> via <nexthop>`, `connected network of
    /// <port>`, `IC-SB route <uuid> from zone <z> via <nexthop>`, ….
    pub route: String,
    /// The row the route comes from (NB static route, router port or load balancer when
    /// advertising; IC-SB `Route` when learning).
    pub row: Uuid,
    /// `None` when advertised or learned, else why not.
    pub skipped: Option<Skip>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match (self.direction, &self.skipped) {
            (Direction::Advertise, None) => "advertised".to_owned(),
            (Direction::Learn, None) => "learned".to_owned(),
            (Direction::Advertise, Some(s)) => format!("not advertised: {s}"),
            (Direction::Learn, Some(s)) => format!("not learned: {s}"),
        };
        write!(
            f,
            "{} on {}: {}: {what}",
            self.router, self.transit_switch, self.route
        )
    }
}

/// Every decision about one prefix, advertisement first, then learning, each in the
/// engine's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Explanation {
    /// The prefix explained.
    pub prefix: Option<Prefix>,
    /// The decisions.
    pub decisions: Vec<Decision>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.prefix {
            writeln!(f, "{p}:")?;
        }
        if self.decisions.is_empty() {
            writeln!(
                f,
                "  no route of this prefix on the zone's transit switches"
            )?;
        }
        for d in &self.decisions {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

/// Where the group computations put their decisions when explaining.
pub(crate) type Trace = std::cell::RefCell<Vec<Decision>>;

/// How many times the engine took each decision, by direction and outcome, since counting
/// started ([`crate::Engine::count_decisions`]). A route is counted each time the engine
/// evaluates it: a full recompute counts every route once, an incremental step the routes of
/// the groups a change touched.
#[derive(Debug, Default)]
pub struct DecisionCounts {
    /// `[advertise, learn]` × (`SKIP_NAMES` order, then one slot for "taken").
    counts: [[std::cell::Cell<u64>; SKIP_NAMES.len() + 1]; 2],
}

impl DecisionCounts {
    pub(crate) fn add(&self, direction: Direction, skipped: Option<&Skip>) {
        let d = direction as usize;
        let i = skipped.map_or(SKIP_NAMES.len(), Skip::index);
        let c = &self.counts[d][i];
        c.set(c.get() + 1);
    }

    /// Routes advertised (or learned) so far.
    pub fn taken(&self, direction: Direction) -> u64 {
        self.counts[direction as usize][SKIP_NAMES.len()].get()
    }

    /// `(reason, count)` of the routes not advertised (or not learned), every reason listed.
    pub fn skipped(&self, direction: Direction) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        SKIP_NAMES
            .iter()
            .zip(&self.counts[direction as usize])
            .map(|(n, c)| (*n, c.get()))
    }
}
