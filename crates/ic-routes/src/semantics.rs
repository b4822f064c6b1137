//! Which release of `ovn-ic` the engine behaves as.
//!
//! ovn-ic's route exchange changed from release to release (reference `ovn-ic-routes.md` §4):
//! a zone running OVN 23.03 never learns the routes of its own routers, ignores
//! `ic-route-denylist`, route tags and allow lists, while a 25.03 zone honours tags and learns
//! between its own routers. [`Semantics`] names the release whose rules apply; the daemon
//! takes it from the zone's `OVN_Northbound` schema version (or a pinned release), and the
//! isolation verifier uses it to predict what a stock `ovn-ic` of that release does.
//!
//! Only rules whose absence is a feature of a release are switched off for older releases.
//! Upstream bugs that break interoperability are never reproduced, whatever the release (see
//! the crate documentation's "Upstream bugs fixed here"): rows always carry `lr-id`, routers of
//! one zone never undo each other's advertisements, IPv6 deny entries match by their own
//! mask, learned nexthops must lie in the learning port's networks. Fixes upstream backported
//! within a release series apply in every release, because point releases are invisible in
//! the schemas the release is read from: a renamed zone keeps its `Availability_Zone` row
//! (23.03.3, 23.06.3, 23.09.2, 24.03.0) and a disabled router learns nothing (24.03.7,
//! 25.03.2).

use std::fmt;

pub use ovsdb_proto::skew::Release;

/// The release of `ovn-ic` whose route-exchange rules the engine follows.
///
/// The default is [`Semantics::NEWEST`]: every rule the engine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Semantics {
    release: Release,
}

impl Default for Semantics {
    fn default() -> Self {
        Semantics::NEWEST
    }
}

impl fmt::Display for Semantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ovn-ic {}", self.release)
    }
}

/// The first release of each rule that older releases lack.
mod since {
    use super::Release;
    /// Routers of one zone learn each other's routes (b1f8d7263).
    pub const SAME_ZONE_LEARNING: Release = Release::new("23.09.0");
    /// A remote port with `options:requested-chassis` is bound by ovn-northd, not ovn-ic
    /// (170d3e5f1).
    pub const REQUESTED_CHASSIS: Release = Release::new("23.09.0");
    /// `ic-route-denylist` beside `ic-route-blacklist` (6d32d2524).
    pub const DENYLIST_NAME: Release = Release::new("24.09.0");
    /// `ic-route-tag` / `ic-route-filter-tag` (b2b2b5a51).
    pub const ROUTE_TAGS: Release = Release::new("25.03.0");
    /// Spine-leaf: `switch` ports on transit switches (67100f0ca).
    pub const SWITCH_PORTS: Release = Release::new("25.03.0");
    /// VXLAN mode for transit switches; datapath keys from the lowest free one (059763e86).
    pub const VXLAN_MODE: Release = Release::new("25.03.0");
    /// `ic-route-filter-adv` / `ic-route-filter-learn` (f22b77b51).
    pub const ALLOW_LISTS: Release = Release::new("25.09.0");
    /// `ic-route-adv-lb` / `ic-route-learn-lb`, origin `loadbalancer` (137ed00a6).
    pub const LB_ROUTES: Release = Release::new("25.09.0");
    /// `ic-route-deny-adv` / `ic-route-deny-learn` on routers and ports (1059c46ff).
    pub const ROUTER_DENY_LISTS: Release = Release::new("26.03.0");
    /// Static routes with nexthop `discard` are advertised (93b5c9143).
    pub const DISCARD_ROUTES: Release = Release::new("26.03.0");
}

impl Semantics {
    /// The oldest release the engine can follow (Debian 12's).
    pub const OLDEST: Semantics = Semantics {
        release: Release::new("23.03.0"),
    };

    /// The newest release whose rules the engine implements.
    pub const NEWEST: Semantics = Semantics {
        release: Release::new("26.03.0"),
    };

    /// The rules of `release`, clamped to [`Semantics::OLDEST`]..=[`Semantics::NEWEST`]
    /// (a newer release behaves as the newest known one).
    pub fn of(release: Release) -> Semantics {
        let release = if release < Self::OLDEST.release {
            Self::OLDEST.release
        } else if release > Self::NEWEST.release {
            Self::NEWEST.release
        } else {
            release
        };
        Semantics { release }
    }

    /// The release followed.
    pub fn release(&self) -> Release {
        self.release
    }

    fn since(&self, first: Release) -> bool {
        self.release >= first
    }

    /// Whether a router learns the routes of other routers of its own zone (≥ 23.09; older
    /// releases skip every route of their own zone).
    pub fn learns_within_zone(&self) -> bool {
        self.since(since::SAME_ZONE_LEARNING)
    }

    /// Whether a `remote` transit-switch port whose NB row has `options:requested-chassis`
    /// (any value) is left for ovn-northd to bind (≥ 23.09); older releases always copy the
    /// IC-SB gateway into the SB `Port_Binding.chassis`.
    pub fn remote_ports_honour_requested_chassis(&self) -> bool {
        self.since(since::REQUESTED_CHASSIS)
    }

    /// Whether `ic-route-denylist` is read (≥ 24.09; `ic-route-blacklist` always is).
    pub fn reads_denylist(&self) -> bool {
        self.since(since::DENYLIST_NAME)
    }

    /// Whether route tags apply: a port's `ic-route-tag` goes on its advertisements, and its
    /// `ic-route-filter-tag` stops learning of routes with that tag (≥ 25.03).
    pub fn route_tags(&self) -> bool {
        self.since(since::ROUTE_TAGS)
    }

    /// Whether `switch` ports on a transit switch (spine-leaf) are bound in IC-SB like router
    /// ports, with address `unknown` (≥ 25.03).
    pub fn switch_ports(&self) -> bool {
        self.since(since::SWITCH_PORTS)
    }

    /// Whether `IC_NB_Global.options:vxlan_mode` applies: new NB transit switches carry
    /// `other_config:ic-vxlan_mode`, keys come from the VXLAN range while a `vxlan` gateway
    /// exists, and every datapath key allocation starts at the range's lowest key (≥ 25.03;
    /// older releases continue after the last key the process allocated).
    pub fn vxlan_mode(&self) -> bool {
        self.since(since::VXLAN_MODE)
    }

    /// Whether `ic-route-filter-adv` / `ic-route-filter-learn` allow lists apply (≥ 25.09).
    pub fn allow_lists(&self) -> bool {
        self.since(since::ALLOW_LISTS)
    }

    /// Whether load-balancer VIP routes are advertised and learned (≥ 25.09).
    pub fn lb_routes(&self) -> bool {
        self.since(since::LB_ROUTES)
    }

    /// Whether routers' and ports' `ic-route-deny-adv` / `ic-route-deny-learn` apply
    /// (≥ 26.03).
    pub fn router_deny_lists(&self) -> bool {
        self.since(since::ROUTER_DENY_LISTS)
    }

    /// Whether static routes with nexthop `discard` are advertised (≥ 26.03).
    pub fn discard_routes(&self) -> bool {
        self.since(since::DISCARD_ROUTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_follow_the_release() {
        let s = |r: &str| Semantics::of(Release::new(r));
        let v2303 = s("23.03.1");
        assert!(!v2303.learns_within_zone());
        assert!(!v2303.reads_denylist());
        assert!(!v2303.route_tags());
        assert!(!v2303.remote_ports_honour_requested_chassis());
        let v2309 = s("23.09.0");
        assert!(v2309.learns_within_zone() && !v2309.reads_denylist());
        assert!(v2309.remote_ports_honour_requested_chassis());
        let v2409 = s("24.09.0");
        assert!(v2409.reads_denylist() && !v2409.route_tags());
        assert!(!v2409.switch_ports() && !v2409.vxlan_mode());
        let v2503 = s("25.03.0");
        assert!(v2503.route_tags() && !v2503.allow_lists() && !v2503.lb_routes());
        assert!(v2503.switch_ports() && v2503.vxlan_mode());
        let v2509 = s("25.09.2");
        assert!(v2509.allow_lists() && v2509.lb_routes() && !v2509.router_deny_lists());
        let v2603 = s("26.03.2");
        assert!(v2603.router_deny_lists() && v2603.discard_routes());
        assert_eq!(Semantics::default(), Semantics::NEWEST);
    }

    #[test]
    fn releases_outside_the_range_are_clamped() {
        assert_eq!(Semantics::of(Release::new("22.03.0")), Semantics::OLDEST);
        assert_eq!(Semantics::of(Release::new("27.03.0")), Semantics::NEWEST);
        assert_eq!(
            Semantics::of(Release::new("25.03.1")).to_string(),
            "ovn-ic 25.03.1"
        );
    }
}
