//! Monitors on a connection: registering one, asking for its rows with the newest method
//! the server has, and handing its copy over.

use tracing::debug;

use super::{
    server_row, CallError, CloseReason, Command, Condition, Detached, InitialCopy, InitialUpdates,
    Job, Monitor, MonitorId, Phase, Session, SessionEvent, SyncKind, Wait,
};
use crate::{Call, ErrorKind, Method, MonitorRequest, MonitorRequests, Reply, Uuid};

use super::initial::v1_as_initial;

impl Session {
    /// Sets the `where` clauses of `table` in `monitor` (a row is kept if any of them holds;
    /// `None`: every row), for this connection and the next ones. On a connection where the
    /// monitor is live, the server is asked with `monitor_cond_change` and its update brings
    /// the rows that now match and removes those that no longer do. A server without
    /// conditional monitors (`monitor` only) keeps sending every row: conditions narrow a
    /// copy, they never promise that a row outside them is absent. The next connection
    /// starts the monitor with a full copy (a resumed one could miss rows that match only
    /// the new clauses).
    pub fn set_condition(
        &mut self,
        monitor: MonitorId,
        table: &str,
        conditions: Option<Vec<Condition>>,
    ) {
        let m = match self.monitors.iter_mut().find(|m| m.id == monitor) {
            Some(m) => m,
            None => match self.queued.iter_mut().find_map(|c| match c {
                Command::Monitor(m) if m.id == monitor => Some(m),
                _ => None,
            }) {
                Some(m) => m,
                None => return,
            },
        };
        let old = match conditions {
            Some(c) => m.conditions.insert(table.to_owned(), c),
            None => m.conditions.remove(table),
        };
        if old.as_ref() == m.conditions.get(table) {
            return;
        }
        m.last_txn_id = None;
        if !m.conditional || !m.tables.iter().any(|t| t == table) {
            // Not asked yet on this connection: the request will carry the clauses.
            return;
        }
        let Some(link) = self.link.as_mut() else {
            return;
        };
        m.changing += 1;
        let request = MonitorRequest {
            conditions: Some(m.conditions.get(table).cloned().unwrap_or_default()),
            ..Default::default()
        };
        let call = Call::MonitorCondChange {
            monitor_id: m.wire_id.clone(),
            new_monitor_id: m.wire_id.clone(),
            requests: MonitorRequests::default().with(table.to_owned(), request),
        };
        let id = link.conn.call(call);
        link.detached.insert(id, Detached::ConditionChange(monitor));
    }

    /// The reply to a monitor request: fall back to an older method, or hand the rows over.
    pub(super) fn synced(
        &mut self,
        monitor: MonitorId,
        method: Method,
        last: Option<Uuid>,
        result: Result<Reply, CallError>,
    ) {
        let (updates, found, txn) = match result {
            Ok(Reply::Raw(payload)) => match InitialCopy::decode(method, payload) {
                Ok(c) => (c.updates, c.found, c.last_txn_id),
                Err(e) => return self.close(CloseReason::Protocol(e), false),
            },
            Ok(Reply::MonitorCondSince(r)) => (
                InitialUpdates::Decoded(r.updates),
                r.found,
                Some(r.last_txn_id),
            ),
            Ok(Reply::MonitorCond(u)) => (InitialUpdates::Decoded(u), false, None),
            Ok(Reply::Monitor(u)) => (InitialUpdates::Decoded(v1_as_initial(u)), false, None),
            Err(CallError::Server(e))
                if e.kind == ErrorKind::UnknownMethod || e.error.contains("unknown method") =>
            {
                let caps = &mut self.link_mut().caps;
                match method {
                    Method::MonitorCondSince => caps.no_cond_since = true,
                    Method::MonitorCond => caps.no_cond = true,
                    _ => return self.failed(method, Err(CallError::Server(e))),
                }
                return self.request_monitor(monitor);
            }
            other => return self.failed(method, other),
        };
        let Some(m) = self.monitors.iter_mut().find(|m| m.id == monitor) else {
            return;
        };
        // A standalone server answers with the zero id: it keeps no history.
        m.last_txn_id = txn.filter(|t| !t.is_nil());
        let kind = if found && last.is_some() {
            SyncKind::Resumed
        } else {
            SyncKind::Full
        };
        debug!(db = %m.db, ?kind, "monitor synced");
        self.events.push_back(SessionEvent::Sync {
            monitor,
            db: m.db.clone(),
            tables: m.tables.clone(),
            kind,
            updates,
        });
        self.syncing = Some(monitor);
        if let Phase::Ready { job } = &mut self.phase {
            *job = None;
            self.events.push_back(SessionEvent::MonitorReady(monitor));
        }
    }

    /// Registers a monitor on a ready connection: its database must be served (and
    /// admitted), its schema loaded and its tables known before it is synced.
    pub(super) fn add_monitor(&mut self, m: Monitor) {
        let (id, db) = (m.id, m.db.clone());
        self.monitors.push(m);
        self.phase = Phase::Ready {
            job: Some(Job::Monitor(id)),
        };
        if !self.schemas.contains_key(&db) {
            let link = self.link_mut();
            if link.server_schema.is_some() && server_row(&link.server_rows, &db).is_none() {
                return self.refuse_monitor(id, format!("the server has no database {db}"));
            }
            if !self.admit(std::slice::from_ref(&db)) {
                return;
            }
            self.ask(Call::GetSchema { db: db.clone() }, Wait::Schema(db));
            return;
        }
        self.check_tables_and_sync(id);
    }

    fn refuse_monitor(&mut self, id: MonitorId, error: String) {
        self.monitors.retain(|m| m.id != id);
        self.phase = Phase::Ready { job: None };
        self.events
            .push_back(SessionEvent::MonitorFailed { monitor: id, error });
    }

    /// The tables a monitor names that its database's schema lacks, comma-separated.
    pub(super) fn check_tables_and_sync(&mut self, id: MonitorId) {
        let Some(m) = self.monitors.iter().find(|m| m.id == id) else {
            return;
        };
        if let Some(schema) = self.schemas.get(&m.db) {
            let unknown: Vec<&str> = m
                .asked
                .iter()
                .flatten()
                .filter(|t| schema.table(t).is_none())
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                let error = format!("{} has no table {}", m.db, unknown.join(", "));
                return self.refuse_monitor(id, error);
            }
        }
        self.start_monitor(id);
    }

    /// Resolves a monitor's tables against its schema and asks for its rows; a monitor
    /// whose database has no schema (the server lacks it) is skipped.
    pub(super) fn start_monitor(&mut self, id: MonitorId) {
        let Some(m) = self.monitors.iter_mut().find(|m| m.id == id) else {
            return;
        };
        let Some(schema) = self.schemas.get(&m.db) else {
            return;
        };
        m.tables = match &m.asked {
            None => schema.tables.keys().cloned().collect(),
            Some(t) => t
                .iter()
                .filter(|t| schema.table(t).is_some())
                .cloned()
                .collect(),
        };
        self.request_monitor(id);
    }

    /// Sends monitor `id`'s request with the newest method the server is known to have,
    /// resuming from its last transaction id.
    pub(super) fn request_monitor(&mut self, id: MonitorId) {
        let caps = self.link_mut().caps;
        let Some(m) = self.monitors.iter_mut().find(|m| m.id == id) else {
            return;
        };
        // `monitor` (version 1) takes no conditions: it sends every row.
        let conditional = !caps.no_cond_since || !caps.no_cond;
        m.conditional = conditional;
        let mut requests = MonitorRequests::default();
        for t in &m.tables {
            let conditions = m.conditions.get(t).filter(|_| conditional).cloned();
            requests = requests.with(
                t.clone(),
                MonitorRequest {
                    conditions,
                    ..Default::default()
                },
            );
        }
        let (db, monitor_id, last) = (m.db.clone(), m.wire_id.clone(), m.last_txn_id);
        let call = if !caps.no_cond_since {
            Call::MonitorCondSince {
                db,
                monitor_id,
                requests,
                last_txn_id: last.unwrap_or(Uuid::nil()),
            }
        } else if !caps.no_cond {
            Call::MonitorCond {
                db,
                monitor_id,
                requests,
            }
        } else {
            Call::Monitor {
                db,
                monitor_id,
                requests,
            }
        };
        let method = call.method();
        self.ask(
            call,
            Wait::Sync {
                monitor: id,
                method,
                last,
            },
        );
    }
}
