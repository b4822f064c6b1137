//! Demo and test support for the workspace (never published), kept out of the libraries:
//!
//! - [`rows`]: the one set of northbound row builders, as Neutron's OVN driver and
//!   Kube-OVN write their rows;
//! - [`sample`]: sample worlds (tenants in an OpenStack and a Kubernetes zone) and their
//!   offline route exchange, for examples, benches and property tests;
//! - [`embedded`]: the four OVN databases on embedded servers, and the client-side glue of
//!   the northd stand-in ([`ic_routes::northd`]);
//! - [`interconnect`]: the README's main job, two zones interconnected three ways with an
//!   in-process `ic-routed` per zone.
//!
//! The pure parts these use live with the logic they model: the northd stand-in and the
//! offline simulation in `ic-routes` (the libraries' own predictions run on them), the
//! `lr-route-list` printer in `ic_routes::show`.
#![forbid(unsafe_code)]

pub mod embedded;
pub mod interconnect;
pub mod rows;
pub mod sample;
