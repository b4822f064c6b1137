//! What the daemon obeys and reports, shared with its control socket.
//!
//! [`Controls`] exists before the daemon connects to anything, as ovn-ic's control socket
//! answers from the moment `--detach` returns: while the databases are out of reach,
//! `status` says `standby`, the `*-connection-status` commands say `not connected`, and
//! `pause`, `resume` and `exit` take effect (the daemon starts paused, or never starts).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ic_routes::{Database, Prefix};
use tokio::sync::{mpsc, oneshot, watch};

/// A question about routes that the daemon answers from its replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Query {
    /// `routes/explain PREFIX [ROUTER]`: every decision about the prefix.
    Explain {
        /// The prefix.
        prefix: Prefix,
        /// Only this router (by name).
        router: Option<String>,
    },
    /// `routes/list [ROUTER]`: learned and advertised routes with their origin.
    List {
        /// Only this router (by name).
        router: Option<String>,
    },
}

/// A [`Query`] and where its answer goes.
#[derive(Debug)]
pub struct Asked {
    /// The question.
    pub query: Query,
    /// The answer: text, or why there is none.
    pub reply: oneshot::Sender<Result<String, String>>,
}

/// How long the control socket waits for the daemon's answer to a [`Query`].
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the control socket asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Run (the initial state; `resume`).
    Run,
    /// Release the lock and write nothing, while keeping the replicas current (`pause`).
    Pause,
    /// Stop (`exit`).
    Exit,
}

/// The daemon's state, as `ovn-appctl -t ovn-ic status` prints it (`Status: active`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Holds the `ovn_ic` lock and does the zone's work.
    Active,
    /// Another daemon holds the lock (or none yet).
    Standby,
    /// Paused through the control socket: lock released, nothing written.
    Paused,
}

impl Status {
    /// `active`, `standby` or `paused`, as ovn-ic prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Standby => "standby",
            Status::Paused => "paused",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The index of `db` among the daemon's four connections.
fn index(db: Database) -> usize {
    Database::ALL.iter().position(|d| *d == db).unwrap_or(0)
}

/// The daemon's commands and reports: cheap to clone, every clone the same state.
#[derive(Debug, Clone)]
pub struct Controls {
    control: Arc<watch::Sender<Control>>,
    status: Arc<watch::Sender<Status>>,
    connected: Arc<[watch::Sender<bool>; 4]>,
    semantics: Arc<watch::Sender<ic_routes::Semantics>>,
    queries: mpsc::UnboundedSender<Asked>,
    answerer: Arc<Mutex<Option<mpsc::UnboundedReceiver<Asked>>>>,
}

impl Default for Controls {
    fn default() -> Self {
        Controls::new()
    }
}

impl Controls {
    /// Running, on standby, nothing connected, behaving as the newest release.
    pub fn new() -> Controls {
        let (queries, answerer) = mpsc::unbounded_channel();
        Controls {
            queries,
            answerer: Arc::new(Mutex::new(Some(answerer))),
            control: Arc::new(watch::channel(Control::Run).0),
            status: Arc::new(watch::channel(Status::Standby).0),
            connected: Arc::new(std::array::from_fn(|_| watch::channel(false).0)),
            semantics: Arc::new(watch::channel(ic_routes::Semantics::NEWEST).0),
        }
    }

    /// The sender that pauses, resumes or stops the daemon.
    pub fn controller(&self) -> Arc<watch::Sender<Control>> {
        self.control.clone()
    }

    /// What was last asked of the daemon.
    pub fn control(&self) -> Control {
        *self.control.borrow()
    }

    /// Asks the daemon to run, pause or stop.
    pub fn send(&self, control: Control) {
        self.control.send_replace(control);
    }

    /// Waits until the daemon is asked to stop.
    pub async fn exit_requested(&self) {
        let mut rx = self.control.subscribe();
        let _ = rx.wait_for(|c| *c == Control::Exit).await;
    }

    /// The daemon's state as `ovn-appctl status` reports it: `active`, `standby` or
    /// `paused`.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// Whether the daemon's connection to `db` is up (and its replica in sync).
    pub fn is_connected(&self, db: Database) -> bool {
        *self.connected[index(db)].borrow()
    }

    /// The ovn-ic release whose rules the daemon follows (the newest until the zone's
    /// northbound schema is known, unless pinned).
    pub fn semantics(&self) -> ic_routes::Semantics {
        *self.semantics.borrow()
    }

    /// Asks the daemon `query` and waits (up to [`QUERY_TIMEOUT`]) for its answer.
    ///
    /// # Errors
    ///
    /// The daemon's refusal, or that it did not answer (not started, or busy connecting).
    pub async fn ask(&self, query: Query) -> Result<String, String> {
        let (reply, answer) = oneshot::channel();
        self.queries
            .send(Asked { query, reply })
            .map_err(|_| "the daemon is not running".to_owned())?;
        match tokio::time::timeout(QUERY_TIMEOUT, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err("the daemon stopped before answering".to_owned()),
            Err(_) => Err(format!(
                "no answer within {} s (the daemon may still be connecting to its databases)",
                QUERY_TIMEOUT.as_secs()
            )),
        }
    }

    /// The receiving end of [`Controls::ask`], for the daemon (once).
    pub(crate) fn take_queries(&self) -> Option<mpsc::UnboundedReceiver<Asked>> {
        self.answerer.lock().ok()?.take()
    }

    pub(crate) fn set_status(&self, status: Status) -> Status {
        self.status.send_replace(status)
    }

    pub(crate) fn status_now(&self) -> Status {
        *self.status.borrow()
    }

    pub(crate) fn connection(&self, db: Database) -> &watch::Sender<bool> {
        &self.connected[index(db)]
    }

    pub(crate) fn set_semantics(&self, semantics: ic_routes::Semantics) {
        self.semantics.send_if_modified(|s| {
            let changed = *s != semantics;
            *s = semantics;
            changed
        });
    }
}
