//! What a [`Session`](super::Session) hands its owner: ids, events and why things end.

use std::sync::Arc;

use crate::skew::SkewError;
use crate::{
    CallError, DatabaseSchema, Error, Method, OvsdbError, Reply, TableUpdates, TableUpdates2,
};

use super::InitialUpdates;
#[cfg(doc)]
use super::Session;

/// A call made with [`Session::call`]; its outcome comes back as [`SessionEvent::Reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(super) u64);

/// A monitor registered with [`Session::monitor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonitorId(pub(super) u64);

/// How a monitor's copy was brought up to date on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncKind {
    /// `monitor_cond_since` with `found=true`: keep the rows and apply the delta.
    Resumed,
    /// A full copy: replace the monitor's tables.
    Full,
}

/// Why a call has no reply.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallFailure {
    /// The server answered with an error, or with a result that does not decode.
    Call(CallError),
    /// The connection ended before the reply arrived. For a `transact` the outcome is
    /// unknown: the server may have committed it.
    Disconnected,
    /// The transaction needs a table or column the server's schema lacks; it was not sent.
    Skew(Box<SkewError>),
    /// The transaction cannot be checked against the server's schema (not sent).
    Invalid(Error),
}

/// Why a connection must end.
#[derive(Debug)]
#[non_exhaustive]
pub enum CloseReason {
    /// `_Server` says this server may not be used for `db`.
    Refused {
        /// The database concerned.
        db: String,
        /// Why, in words ("is not the cluster leader", …).
        why: &'static str,
    },
    /// The server sent what this library cannot accept (bad framing, a reply that does not
    /// decode, updates that do not fit the copy).
    Protocol(Error),
    /// The server answered one of the session's own calls with an error.
    Server {
        /// The method called.
        method: Method,
        /// The server's error.
        error: OvsdbError,
    },
    /// Nothing arrived within two probe intervals.
    ProbeTimeout,
    /// A monitored database is not on the server, or the server cancelled a monitor.
    Monitor(String),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Refused { db, why } => write!(f, "{db} {why}"),
            CloseReason::Protocol(e) => write!(f, "{e}"),
            CloseReason::Server { method, error } => write!(f, "{method}: {error}"),
            CloseReason::ProbeTimeout => f.write_str("no answer to the inactivity probe"),
            CloseReason::Monitor(why) => f.write_str(why),
        }
    }
}

/// An update notification's rows.
#[derive(Debug)]
#[non_exhaustive]
pub enum MonitorUpdate {
    /// `update2` or `update3`.
    V2(TableUpdates2),
    /// `update` (monitor version 1).
    V1(TableUpdates),
}

/// What the owner of a [`Session`] must act on, in the order it happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The schema of a monitored database, as the connected server has it.
    Schema {
        /// The database.
        db: String,
        /// Its schema.
        schema: Arc<DatabaseSchema>,
    },
    /// A monitor's rows on this connection: a full copy or the delta since its last
    /// transaction. If they cannot be applied, say so with [`Session::handle_cache_error`].
    Sync {
        /// The monitor.
        monitor: MonitorId,
        /// Its database.
        db: String,
        /// The tables monitored (those of the request that the schema has).
        tables: Vec<String>,
        /// Replace the tables, or apply a delta.
        kind: SyncKind,
        /// The rows.
        updates: InitialUpdates,
    },
    /// Changes to a monitor's rows. If they cannot be applied, say so with
    /// [`Session::handle_cache_error`].
    Update {
        /// The monitor.
        monitor: MonitorId,
        /// Its database.
        db: String,
        /// The rows.
        updates: MonitorUpdate,
    },
    /// The server passed admission, every monitor is synced: calls go out now.
    Ready {
        /// How many connections became ready so far (1 for the first).
        session: u64,
    },
    /// A monitor is synced and will be kept up to date.
    MonitorReady(MonitorId),
    /// A monitor was refused (the server lacks the database or a table) and dropped.
    MonitorFailed {
        /// The monitor.
        monitor: MonitorId,
        /// Why, in words.
        error: String,
    },
    /// The outcome of a call.
    Reply {
        /// The call.
        call: CallId,
        /// Its method.
        method: Method,
        /// The reply, or why there is none.
        result: Result<Reply, CallFailure>,
    },
    /// Whether this client holds the lock `name` now.
    Lock {
        /// The lock.
        name: String,
        /// Held or not.
        held: bool,
    },
    /// The connection must be closed (the session has let it go already). With
    /// `next_remote_now` the next remote should be tried without backoff (the server was
    /// refused, or its copy is no longer trusted).
    Closed {
        /// Why.
        reason: CloseReason,
        /// Try the next remote at once.
        next_remote_now: bool,
    },
}
