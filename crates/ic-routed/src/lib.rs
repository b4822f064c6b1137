//! ovn-ic as a library and a daemon: one availability zone's interconnection duties.
//!
//! [`ic_routes`] holds ovn-ic's pure logic (its [`zone`](ic_routes::zone) steps:
//! registration, transit switches, gateways, port bindings, status counters; and the route
//! engine), and [`daemon`] is the tokio shell that keeps replicas of the zone's four databases with
//! `ovsdb-client`, holds the `ovn_ic` lock on the zone's southbound database (active/standby
//! like ovn-ic) and commits each round's operations.
#![forbid(unsafe_code)]

pub mod daemon;
pub mod unixctl;

pub use daemon::{Config, Control, Daemon, DaemonError, RoundStats, Status, TlsFiles};
pub use ic_routes::zone::{Ops, Registration, Rows, ZoneState};
