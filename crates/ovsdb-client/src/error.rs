//! The client's error type, split by fault.

use ovsdb_proto::{Method, OvsdbError};

/// Everything that can go wrong in `ovsdb-client`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A remote string that is not Open vSwitch syntax.
    #[error("invalid remote {0}")]
    InvalidRemote(String),
    /// Connecting, reading or writing failed.
    #[error("{remote}: {source}")]
    Io {
        /// The remote concerned.
        remote: String,
        /// The IO failure.
        #[source]
        source: std::io::Error,
    },
    /// The TLS configuration or handshake failed.
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The peer sent bytes or messages this library cannot accept.
    #[error("{remote}: {source}")]
    Protocol {
        /// The remote concerned.
        remote: String,
        /// What was wrong.
        #[source]
        source: ovsdb_proto::Error,
    },
    /// The server answered a call with an error (RBAC refusals come as
    /// [`ovsdb_proto::ErrorKind::PermissionError`]).
    #[error("{method}: {error}")]
    Server {
        /// The method called.
        method: Method,
        /// The server's error.
        error: OvsdbError,
    },
    /// An operation of a transaction failed (`index` == number of operations means the commit
    /// failed).
    #[error("transaction failed at operation {index}: {error}")]
    Transaction {
        /// Index of the failed operation.
        index: usize,
        /// The server's error.
        error: OvsdbError,
    },
    /// The connection was lost before the reply arrived. For a `transact`, the outcome is
    /// unknown: the server may have committed it (OVSDB is at-least-once across reconnects).
    #[error("connection lost before the reply to {0}")]
    Disconnected(Method),
    /// A deadline passed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// No remote could be used (all refused, unreachable, not the leader, or stale).
    #[error("no usable server: {0}")]
    NoServer(String),
    /// A transaction needs a table or column the server's schema lacks; it was not sent (see
    /// [`ovsdb_proto::skew::check_operations`]).
    #[error(transparent)]
    Skew(Box<ovsdb_proto::skew::SkewError>),
    /// The caller asked for something the client cannot do (unknown database or table,
    /// monitor on a database the server lacks, …).
    #[error("invalid use: {0}")]
    Usage(String),
    /// The client was shut down.
    #[error("client is shut down")]
    Closed,
}

/// `Result` with [`ClientError`].
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
