//! `ic-routed` against real OVN 23.03: per zone an NB and SB `ovsdb-server` and
//! `ovn-northd`, global IC-NB and IC-SB `ovsdb-server`s, topology made with `ovn-nbctl` and
//! `ovn-ic-nbctl`. Scenarios are ported from upstream's tests/ovn-ic.at; each runs with
//! `ic-routed` in every zone and in mixed deployments beside the real `ovn-ic`.

mod common;
mod mixed;
mod origins;
mod resilience;
mod routes;
mod scope;
mod zones;
