//! ovn-ic as a library and a daemon: one availability zone's interconnection duties.
//!
//! [`zone`] holds the pure steps (zone registration, transit switches, gateways, port
//! bindings), the [`ic_routes`] engine computes route advertisement and learning, and
//! [`daemon`] is the tokio shell that keeps replicas of the zone's four databases with
//! `ovsdb-client`, holds the `ovn_ic` lock on the zone's southbound database (active/standby
//! like ovn-ic) and commits each round's operations. [`controls`] and [`unixctl`] are its
//! control socket; [`pidfile`], [`daemonize`], [`user`] and [`vlog`] make the binary an Open
//! vSwitch daemon as `ovn-ctl` and `ovn-appctl` expect one.
#![forbid(unsafe_code)]

pub mod controls;
pub mod daemon;
pub mod daemonize;
pub mod embedded;
pub mod pidfile;
pub mod show;
pub mod status;
pub mod unixctl;
pub mod user;
pub mod vlog;
pub mod zone;

pub use controls::{Controls, Database};
pub use daemon::{Config, Control, Daemon, DaemonError, RoundStats, TlsFiles};
pub use zone::{Ops, Registration, Rows, ZoneState};
