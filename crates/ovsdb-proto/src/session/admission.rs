//! Admission: whether `_Server` lets this server be used for the monitored databases.

use std::collections::HashMap;

use tracing::info;

use super::{CloseReason, Session};
use crate::{apply_update2, Row, TableUpdates2, Uuid};

impl Session {
    pub(super) fn server_update(&mut self, updates: TableUpdates2) -> crate::Result<()> {
        let link = self.link_mut();
        let Some(schema) = &link.server_schema else {
            return Ok(());
        };
        for (table, rows) in updates.0 {
            let Some(ts) = schema.table(&table) else {
                continue;
            };
            for (uuid, u) in rows {
                apply_update2(&mut link.server_rows, &table, ts, uuid, u)?;
            }
        }
        Ok(())
    }

    /// Checks that the server may be used for `dbs` (see the module docs); false if it was
    /// refused and the connection closed.
    pub(super) fn admit(&mut self, dbs: &[String]) -> bool {
        let Some(link) = &self.link else { return false };
        if link.server_schema.is_none() {
            return true;
        }
        let mut refusal = None;
        for db in dbs {
            if let Some(why) = self.refusal(db) {
                refusal = Some((db.clone(), why));
                break;
            }
        }
        match refusal {
            None => true,
            Some((db, why)) => {
                let remote = self.remote().unwrap_or_default().to_owned();
                info!(%remote, %db, why, "server refused");
                self.close(CloseReason::Refused { db, why }, true);
                false
            }
        }
    }

    /// Why the server may not be used for `db`, if it may not.
    fn refusal(&mut self, db: &str) -> Option<&'static str> {
        let link = self.link.as_ref()?;
        let Some(row) = server_row(&link.server_rows, db) else {
            return Some("does not serve the database");
        };
        let flag = |c: &str| {
            row.get(c)
                .and_then(|d| d.as_atom())
                .and_then(|a| a.as_bool())
        };
        let index = row
            .get("index")
            .and_then(|d| d.as_atom())
            .and_then(|a| a.as_integer());
        match text(row, "model").unwrap_or_default().as_str() {
            "clustered" => {
                if text(row, "schema").is_none_or(|s| s.is_empty()) {
                    return Some("has not joined its cluster yet");
                }
                if flag("connected") == Some(false) {
                    return Some("is disconnected from its cluster");
                }
                if self.config.leader_only && flag("leader") != Some(true) {
                    return Some("is not the cluster leader");
                }
                if let Some(cid) = self.config.cid {
                    let got = row
                        .get("cid")
                        .and_then(|d| d.as_atom())
                        .and_then(|a| a.as_uuid());
                    if got != Some(cid) {
                        return Some("belongs to another cluster");
                    }
                }
                if let Some(index) = index {
                    let min = self.min_index.entry(db.to_owned()).or_insert(index);
                    if index < *min {
                        return Some("has older data than already seen");
                    }
                    *min = index;
                }
                None
            }
            "relay" if self.config.leader_only => {
                Some("is a relay (not accepted with leader_only)")
            }
            _ => None,
        }
    }
}

/// The `_Server.Database` row of `db`.
pub(super) fn server_row<'a>(rows: &'a HashMap<Uuid, Row>, db: &str) -> Option<&'a Row> {
    rows.values()
        .find(|r| text(r, "name").as_deref() == Some(db))
}

pub(super) fn text(row: &Row, column: &str) -> Option<String> {
    row.get(column)
        .and_then(|d| d.as_atom())
        .and_then(|a| a.as_str())
        .map(str::to_owned)
}
