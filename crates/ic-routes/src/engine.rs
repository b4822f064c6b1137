//! The full recompute: ovn-ic's `route_run` (reference §2.4, §2.5) with the fixes listed in
//! the crate docs.

use crate::core::{full_plan, Pending, Rows, Topo};
use crate::filter::{AllowAll, RouteFilter};
use crate::plan::Plan;
use crate::semantics::Semantics;
use crate::snapshot::{IcNorthbound, IcSouthbound, Northbound};

/// `external_ids` key marking a learned NB route; its value is the IC-SB route's UUID.
pub const IC_LEARNED_ROUTE: &str = "ic-learned-route";
/// `external_ids` key of an IC-SB route naming the NB row it was made from.
pub const NB_ID: &str = "nb-id";
/// `external_ids` key of an IC-SB route naming the advertising NB `Logical_Router`
/// (written since OVN 23.09; a learner skips only its own router's rows).
pub const LR_ID: &str = "lr-id";
/// `external_ids` key of an IC-SB route carrying the advertising port's
/// `options:ic-route-tag` (OVN ≥ 25.03).
pub const IC_ROUTE_TAG: &str = "ic-route-tag";

/// Computes the plan of zone `zone` from its NB rows and the global IC rows: a full
/// recompute with the filter that allows everything ([`AllowAll`]), under the newest rules
/// ([`Semantics::NEWEST`]; [`Snapshot::plan`](crate::Snapshot::plan) follows the
/// snapshot's). Same as [`plan_filtered`]`(zone, nb, ic_nb, ic_sb, &AllowAll)`.
pub fn plan(zone: &str, nb: &Northbound, ic_nb: &IcNorthbound, ic_sb: &IcSouthbound) -> Plan {
    plan_filtered(zone, nb, ic_nb, ic_sb, &AllowAll)
}

/// Computes the plan of zone `zone` (a full recompute), asking `filter` about every route
/// that passed ovn-ic's own checks before it is advertised or learned.
pub fn plan_filtered(
    zone: &str,
    nb: &Northbound,
    ic_nb: &IcNorthbound,
    ic_sb: &IcSouthbound,
    filter: &dyn RouteFilter,
) -> Plan {
    plan_with(
        Rows {
            zone,
            nb,
            ic_nb,
            ic_sb,
            semantics: Semantics::NEWEST,
        },
        filter,
    )
}

/// The full recompute over `rows`.
pub(crate) fn plan_with(rows: Rows<'_>, filter: &dyn RouteFilter) -> Plan {
    let topo = Topo::build(rows);
    full_plan(rows, &topo, &Pending::default(), filter, None)
}
