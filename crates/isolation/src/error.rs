//! The crate's error type.

/// What went wrong, split by who is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input: a row dump, an inventory or a row that does not decode.
    #[error("malformed input: {0}")]
    Input(String),
    /// A policy file that does not parse or does not validate.
    #[error("invalid policy: {0}")]
    Policy(String),
    /// A policy selector that matches no VPC of the inventory (a typo, or a router that does
    /// not exist): `at` is its place in the policy (`pairs[0].openstack`), `selector` its
    /// JSON.
    #[error("{at}: {selector} matches no VPC")]
    NoSuchVpc {
        /// Where in the policy.
        at: String,
        /// The selector, as JSON.
        selector: String,
    },
    /// A configuration value out of range (for example a transit pool too small).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Planned operations that the database refuses (see [`crate::ZoneNb::apply`]).
    #[error("cannot apply operations: {0}")]
    Apply(String),
}
