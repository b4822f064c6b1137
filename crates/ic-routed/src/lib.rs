//! ovn-ic as a library and a daemon: one availability zone's interconnection duties.
//!
//! [`ic_routes`] holds ovn-ic's pure logic (its [`zone`](ic_routes::zone) steps:
//! registration, transit switches, gateways, port bindings, status counters; and the route
//! engine), and [`daemon`] is the tokio shell that keeps replicas of the zone's four databases with
//! `ovsdb-client`, holds the `ovn_ic` lock on the zone's southbound database (active/standby
//! like ovn-ic) and commits each round's operations. [`controls`] and [`unixctl`] are its
//! control socket (with `routes/explain` and `routes/list`), [`vlog`] its log levels,
//! [`metrics`] its Prometheus metrics, [`policy`] VPC isolation's reloadable policy and the
//! sources of its live inventory. The binary's process plumbing (`pidfile`, `daemonize`,
//! `user`: what makes it an Open vSwitch daemon as `ovn-ctl` and `ovn-appctl` expect one)
//! is public only for the binary and hidden from these docs.
#![forbid(unsafe_code)]

pub mod controls;
pub mod daemon;
#[doc(hidden)] // for the binary (src/main.rs) only
pub mod daemonize;
pub mod metrics;
#[doc(hidden)] // for the binary (src/main.rs) only
pub mod pidfile;
pub mod policy;
pub mod unixctl;
#[doc(hidden)] // for the binary (src/main.rs) only
pub mod user;
pub mod vlog;

pub use controls::{Control, Controls, Query, Status};
pub use daemon::{Config, Daemon, DaemonError, RoundStats, TlsFiles};
pub use ic_routes::zone::{Ops, Registration, Rows, ZoneState};
pub use metrics::Metrics;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
