//! Test support for the workspace (never published).
//!
//! - [`capture`]: replies captured from a real `ovsdb-server` filled at scale (cached under
//!   `target/`), the input of the decode bench and example.
//! - [`gen`]: deterministic generators of realistic OVSDB traffic (for benches and tests).
//! - [`raw`]: a blocking raw JSON-RPC client for interop tests that decode bytes themselves.
//! - [`release`]: which OVN release runs the real programs (the host's, or a Debian root
//!   under `chroot` named by `OVNLINK_OVN_ROOT`).
//! - [`ovn`]: an OVN interconnection lab (IC databases, zones with northd and `ovn-ic` or
//!   `ic-routed`).
//! - [`ovn_ctl`]: Debian's `ovn-ctl` starting, controlling and stopping `ovn-ic` (or
//!   `ic-routed` installed as `ovn-ic`) in a deployment's own directories.
//! - [`pki`]: certificates made by `ovs-pki`.
//! - [`server`]: a harness that runs the real `ovsdb-server` from Debian's packages in a
//!   temporary directory and cleans up on drop.

pub mod capture;
pub mod gen;
pub mod ovn;
pub mod ovn_ctl;
pub mod pki;
pub mod raw;
pub mod release;
pub mod server;
pub mod tenants;
