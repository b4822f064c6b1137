//! A monitor's initial copy as it arrives: split per table without decoding the rows.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::value::RawValue;

use crate::{
    decode_table_update2, Error, Method, Payload, Result, RowUpdate2, TableUpdates, TableUpdates2,
    Uuid,
};

/// The rows of a monitor's initial copy (or of the delta a resumed monitor receives).
#[derive(Debug)]
#[non_exhaustive]
pub enum InitialUpdates {
    /// Already decoded (`monitor` replies, converted to `update2` form).
    Decoded(TableUpdates2),
    /// The reply's text with each table's member located in it, left for the owner to decode
    /// (typed-only tables decode their member straight into generated rows).
    Raw {
        /// The reply's `result`.
        payload: Payload,
        /// Each table's member: its name and its byte range in `payload`.
        tables: Vec<(String, Range<usize>)>,
    },
}

impl InitialUpdates {
    /// Each table's member as its name and text.
    pub fn members(&self) -> Vec<(&str, &[u8])> {
        match self {
            InitialUpdates::Decoded(_) => Vec::new(),
            InitialUpdates::Raw { payload, tables } => {
                let json = payload.as_bytes();
                tables
                    .iter()
                    .map(|(t, r)| (t.as_str(), &json[r.clone()]))
                    .collect()
            }
        }
    }

    /// Decodes every table's rows into generic `update2` form.
    pub fn into_decoded(self) -> Result<TableUpdates2> {
        match self {
            InitialUpdates::Decoded(u) => Ok(u),
            InitialUpdates::Raw { payload, tables } => {
                let json = payload.as_bytes();
                let mut out = TableUpdates2::default();
                for (t, r) in tables {
                    out.0.insert(t, decode_table_update2(&json[r])?);
                }
                Ok(out)
            }
        }
    }
}

/// The reply to `monitor_cond` or `monitor_cond_since`, split without decoding the rows.
pub(crate) struct InitialCopy {
    pub(crate) found: bool,
    pub(crate) last_txn_id: Option<Uuid>,
    pub(crate) updates: InitialUpdates,
}

impl InitialCopy {
    pub(crate) fn decode(method: Method, payload: Payload) -> Result<InitialCopy> {
        // The reply is read once: straight into its table members, left raw.
        type Members<'a> = BTreeMap<String, &'a RawValue>;
        let json = payload.as_bytes();
        let bad = |e: serde_json::Error| Error::from_json("monitor reply", &e);
        let (found, last_txn_id, members) = if method == Method::MonitorCondSince {
            let (found, txn, members): (bool, String, Members<'_>) =
                crate::json::from_bytes(json).map_err(bad)?;
            let txn = crate::parse_uuid(&txn).ok_or_else(|| {
                Error::Protocol(format!("bad last-txn-id {txn:?} in monitor reply"))
            })?;
            (found, Some(txn), members)
        } else {
            let members: Members<'_> = crate::json::from_bytes(json).map_err(bad)?;
            (false, None, members)
        };
        // Each member's text is a slice of `json`: keep its range.
        let base = json.as_ptr() as usize;
        let tables = members
            .into_iter()
            .map(|(t, raw)| {
                let start = raw.get().as_ptr() as usize - base;
                (t, start..start + raw.get().len())
            })
            .collect();
        Ok(InitialCopy {
            found,
            last_txn_id,
            updates: InitialUpdates::Raw { payload, tables },
        })
    }
}

/// A `monitor` (v1) reply as `initial` rows.
pub(crate) fn v1_as_initial(u: TableUpdates) -> TableUpdates2 {
    TableUpdates2(
        u.0.into_iter()
            .map(|(t, rows)| {
                (
                    t,
                    rows.into_iter()
                        .filter_map(|(uuid, r)| r.new.map(|n| (uuid, RowUpdate2::Initial(n))))
                        .collect(),
                )
            })
            .collect(),
    )
}
