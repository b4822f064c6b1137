//! How a client connects and behaves, and what it monitors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ovsdb_proto::skew::SchemaHistory;
use ovsdb_proto::typed::{Database, Table, TableVisitor};
use ovsdb_proto::Condition;

use crate::cache::Cache;
use crate::error::Result;
use crate::remote::RemoteList;
#[cfg(feature = "tls")]
use crate::tls::TlsConfig;

/// How the client connects and behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Where the database is: one remote or a cluster's list.
    pub remotes: RemoteList,
    /// TLS settings for `ssl:` remotes (feature `tls`).
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<TlsConfig>>,
    /// Only accept a server that is the leader of its cluster (default true, as ovsdb-cs).
    /// A standalone server always counts as a leader; a relay never does.
    pub leader_only: bool,
    /// Try remotes in random order (default true).
    pub shuffle_remotes: bool,
    /// Inactivity probe (default 5 s, as Open vSwitch; `None` disables).
    pub probe_interval: Option<Duration>,
    /// Deadline of one connection attempt, TLS handshake included (default 10 s).
    pub connect_timeout: Duration,
    /// Largest message accepted (default [`ovsdb_proto::DEFAULT_MAX_MESSAGE_LEN`], 1 GiB).
    pub max_message_len: usize,
    /// First reconnect delay (default 1 s, doubling up to `backoff_max`).
    pub backoff_min: Duration,
    /// Longest reconnect delay (default 8 s, as Open vSwitch).
    pub backoff_max: Duration,
    /// Capacity of the change-event channel (default 4096 events).
    pub event_capacity: usize,
    /// Deadline of one `transact` (default none: a transaction with a `wait` may block on
    /// purpose). When it passes the call fails with [`ClientError::Timeout`](crate::ClientError::Timeout) and its outcome is
    /// unknown. Connecting has its own deadline (`connect_timeout`); a monitor's initial sync
    /// has none at all: it is judged by progress, since any byte received keeps the
    /// inactivity probe quiet, so a 350 MB reply on a slow link is not cut off.
    pub transact_timeout: Option<Duration>,
    /// Check every `transact` against the server's schema before sending it (default true;
    /// see the module docs): what the server lacks is dropped when it is a default value and
    /// refused with [`ClientError::Skew`](crate::ClientError::Skew) otherwise. When false, operations go out as given.
    pub check_writes: bool,
    /// Histories of generated databases, by database name.
    pub(crate) histories: Histories,
}

/// The schema histories a client knows, shown by name.
#[derive(Clone, Default)]
pub(crate) struct Histories(pub(crate) Vec<&'static SchemaHistory>);

impl Histories {
    pub(crate) fn add(&mut self, h: &'static SchemaHistory) {
        if !self.0.iter().any(|k| k.name() == h.name()) {
            self.0.push(h);
        }
    }
}

impl std::fmt::Debug for Histories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|h| h.name()))
            .finish()
    }
}

impl ClientConfig {
    /// A configuration for `remotes` (`tcp:…`, `ssl:…`, `unix:…`, comma-separated).
    pub fn new(remotes: &str) -> Result<Self> {
        Ok(ClientConfig {
            remotes: remotes.parse()?,
            #[cfg(feature = "tls")]
            tls: None,
            leader_only: true,
            shuffle_remotes: true,
            probe_interval: Some(ovsdb_proto::DEFAULT_PROBE_INTERVAL),
            connect_timeout: Duration::from_secs(10),
            max_message_len: ovsdb_proto::DEFAULT_MAX_MESSAGE_LEN,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(8),
            event_capacity: 4096,
            transact_timeout: None,
            check_writes: true,
            histories: Histories::default(),
        })
    }

    /// Sets [`ClientConfig::check_writes`].
    pub fn check_writes(mut self, yes: bool) -> Self {
        self.check_writes = yes;
        self
    }

    /// Registers the history of a generated database (`ovn_ic_sb::history()`), so that
    /// `transact`s on it are checked with its model's column types and name the release that
    /// introduced what the server lacks. Monitors of the database's typed tables register it
    /// too.
    pub fn history(mut self, history: &'static SchemaHistory) -> Self {
        self.histories.add(history);
        self
    }

    /// Sets the TLS configuration used for `ssl:` remotes (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(Arc::new(tls));
        self
    }

    /// Accept followers too (reads may then lag the leader).
    pub fn leader_only(mut self, yes: bool) -> Self {
        self.leader_only = yes;
        self
    }

    /// Sets the inactivity probe interval.
    pub fn probe_interval(mut self, interval: Option<Duration>) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Sets the reconnect backoff range.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// Sets the connection attempt deadline.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the largest message accepted.
    pub fn max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// Sets the deadline of one `transact` (see [`ClientConfig::transact_timeout`]).
    pub fn transact_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.transact_timeout = timeout;
        self
    }

    /// Keeps the remotes in the given order (tests, or a preferred server first).
    pub fn shuffle_remotes(mut self, yes: bool) -> Self {
        self.shuffle_remotes = yes;
        self
    }
}

/// Which tables of a database to monitor, and which of them to keep typed only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonitorSpec {
    /// Tables (all columns of each); `None` means every table of the schema.
    pub tables: Option<Vec<String>>,
    /// Tables the cache keeps typed only (see [`Cache::register_typed_only`]), registered
    /// before the first sync so that the initial copy is decoded straight into them.
    pub typed: Vec<TypedTable>,
    /// `where` clauses by table (`monitor_cond`): the cache keeps the rows for which any
    /// clause holds. A server without conditional monitors sends every row, so readers must
    /// not take a row's presence as a match. Change them later with
    /// [`Client::set_condition`](crate::Client::set_condition).
    pub conditions: BTreeMap<String, Vec<Condition>>,
}

/// A generated table type that a monitor keeps typed only (see [`MonitorSpec::typed`]).
#[derive(Clone, Copy)]
pub struct TypedTable {
    name: &'static str,
    pub(crate) register: fn(&Cache),
    pub(crate) history: fn() -> &'static SchemaHistory,
}

impl TypedTable {
    /// `T`'s table.
    pub fn of<T: Table + Send + Sync + 'static>() -> Self {
        TypedTable {
            name: T::NAME,
            register: Cache::register_typed_only::<T>,
            history: T::history,
        }
    }

    /// The table's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The schema history of the table's database (see [`Table::history`]).
    pub fn history(&self) -> &'static SchemaHistory {
        (self.history)()
    }
}

impl std::fmt::Debug for TypedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TypedTable({})", self.name)
    }
}

impl PartialEq for TypedTable {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TypedTable {}

impl MonitorSpec {
    /// Every table of the database.
    pub fn all() -> Self {
        MonitorSpec::default()
    }

    /// The listed tables.
    pub fn tables<S: Into<String>>(tables: impl IntoIterator<Item = S>) -> Self {
        MonitorSpec {
            tables: Some(tables.into_iter().map(Into::into).collect()),
            typed: Vec::new(),
            conditions: BTreeMap::new(),
        }
    }

    /// Keeps `T`'s table typed only (it must be one of the monitored tables to be filled).
    pub fn typed<T: Table + Send + Sync + 'static>(mut self) -> Self {
        self.typed.push(TypedTable::of::<T>());
        self
    }

    /// Keeps only the rows of `table` for which one of `clauses` holds (see
    /// [`MonitorSpec::conditions`]); `vec![Condition::Bool(false)]` keeps none.
    pub fn condition(mut self, table: &str, clauses: Vec<Condition>) -> Self {
        self.conditions.insert(table.to_owned(), clauses);
        self
    }

    /// Keeps every table of the generated database `D` typed only (for instance
    /// `MonitorSpec::all().typed_database::<ovn_nb::Database>()`): the fastest and smallest
    /// replica of a known database.
    pub fn typed_database<D: Database>(mut self) -> Self {
        struct Collect<'a>(&'a mut Vec<TypedTable>);
        impl TableVisitor for Collect<'_> {
            fn visit<T: Table + Send + Sync + 'static>(&mut self) {
                self.0.push(TypedTable::of::<T>());
            }
        }
        D::visit_tables(&mut Collect(&mut self.typed));
        self
    }
}
