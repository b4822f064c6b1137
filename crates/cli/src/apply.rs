//! `apply`: plan, write, read back, until the plan is empty and nothing is pending.
//!
//! Every round reads every database again, so what Neutron, Kube-OVN or an operator wrote
//! meanwhile is planned around, never overwritten: the planners only insert rows they own,
//! update and delete rows they own, and `mutate` the reference sets of other rows (see
//! crate `isolation`'s ownership rules). Each database's operations are one transaction: a
//! failed one writes nothing and the next round plans again from what is there.

use std::time::{Duration, Instant};

use isolation::{TopologyPlan, World};
use serde_json::{json, Value};

use crate::error::CliError;
use crate::source::{Deployment, Live};

/// Rounds that write before the plan must have converged.
const MAX_WRITING_ROUNDS: usize = 10;
/// Failed transactions tolerated (a concurrent writer won a race) before giving up.
const MAX_FAILED: usize = 3;
/// How often to look again while something is pending.
const POLL: Duration = Duration::from_millis(500);

/// What `apply` did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Per writing round, (database, operations written).
    pub rounds: Vec<Vec<(String, usize)>>,
    /// What the last plan skipped, and why.
    pub notes: Vec<String>,
    /// What was still pending when the time ran out (empty when done).
    pub pending: Vec<String>,
    /// Transactions that failed and were planned again.
    pub retried: Vec<String>,
}

impl Outcome {
    /// Readable summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.rounds.is_empty() {
            out.push_str("nothing to change\n");
        }
        for (i, r) in self.rounds.iter().enumerate() {
            let parts: Vec<String> = r
                .iter()
                .map(|(db, n)| format!("{db}: {n} operations"))
                .collect();
            out.push_str(&format!("round {}: {}\n", i + 1, parts.join(", ")));
        }
        for r in &self.retried {
            out.push_str(&format!("retried: {r}\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        for p in &self.pending {
            out.push_str(&format!("still pending: {p}\n"));
        }
        if !self.rounds.is_empty() && self.pending.is_empty() {
            out.push_str("applied; planning again changes nothing\n");
        }
        out
    }

    /// JSON summary.
    pub fn json(&self) -> Value {
        json!({
            "rounds": self.rounds.iter().map(|r| r.iter().map(|(db, n)| json!({"database": db, "operations": n})).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "notes": self.notes,
            "pending": self.pending,
            "retried": self.retried,
        })
    }
}

/// Applies the plans `plan` makes of the deployment until it is empty and nothing is
/// pending, or `timeout` passed while something was.
pub async fn apply(
    deployment: &Deployment,
    live: &Live,
    plan: &dyn Fn(&World) -> Result<TopologyPlan, CliError>,
    timeout: Duration,
) -> Result<Outcome, CliError> {
    let deadline = Instant::now() + timeout;
    let mut outcome = Outcome::default();
    loop {
        let world = deployment.read(live).await?;
        let p = plan(&world)?;
        outcome.notes = p.notes.clone();
        if p.is_empty() {
            if p.pending.is_empty() || Instant::now() >= deadline {
                outcome.pending = p.pending;
                return Ok(outcome);
            }
            tokio::time::sleep(POLL).await;
            continue;
        }
        if outcome.rounds.len() >= MAX_WRITING_ROUNDS {
            return Err(CliError::Write(format!(
                "the plan still writes after {MAX_WRITING_ROUNDS} rounds; another writer may be undoing it"
            )));
        }
        let mut round = Vec::new();
        let mut writes: Vec<(
            String,
            &ovsdb_client::Client,
            &'static str,
            &[ovsdb_proto::Operation],
        )> = Vec::new();
        if !p.ic_nb.is_empty() {
            let c = live
                .ic_nb
                .as_ref()
                .ok_or_else(|| CliError::Input("the plan writes IC-NB: give --ic-nb-db".into()))?;
            writes.push(("IC-NB".into(), c, ovn_ic_nb::NAME, &p.ic_nb));
        }
        for (zone, ops) in &p.nb {
            let c = live
                .zones
                .iter()
                .find(|(n, _)| n == zone)
                .and_then(|(_, c)| c.as_ref())
                .ok_or_else(|| {
                    CliError::Input(format!(
                        "the plan writes zone {zone}: give --zone {zone}=REMOTE"
                    ))
                })?;
            writes.push((format!("zone {zone} NB"), c, ovn_nb::NAME, ops));
        }
        for (label, client, db, ops) in writes {
            match client.transact_checked(db, ops.to_vec()).await {
                Ok(_) => round.push((label, ops.len())),
                Err(e) => {
                    outcome.retried.push(format!("{label}: {e}"));
                    if outcome.retried.len() > MAX_FAILED {
                        return Err(CliError::Write(format!(
                            "{label}: {e} (nothing of that transaction was written)"
                        )));
                    }
                }
            }
        }
        if !round.is_empty() {
            outcome.rounds.push(round);
        }
    }
}
