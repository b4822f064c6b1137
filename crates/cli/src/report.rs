//! `audit` and `explain` output: the VPCs, the matrix, leaks with their paths, and for every
//! allowed pair without a route, why (the explanation's notes).

use std::fmt::Write as _;

use isolation::{explain, Cell, Explanation, Hop, Inventory, Policy, Report, VpcKind, World};
use serde_json::{json, Value};

/// An audit: the verifier's report plus, per allowed pair without a route, why.
#[derive(Debug)]
pub struct Audit {
    /// The VPCs found: (id, kind, CIDRs).
    pub vpcs: Vec<(String, String, Vec<String>)>,
    /// The verifier's report.
    pub report: Report,
    /// Allowed pairs the deployment does not deliver: (from, to, why).
    pub undelivered: Vec<(String, String, Vec<String>)>,
}

/// Audits `world` against `policy`.
pub fn audit(world: &World, inventory: &Inventory, policy: &Policy) -> Audit {
    let vpcs = inventory
        .vpcs()
        .iter()
        .map(|v| {
            let kind = match &v.kind {
                VpcKind::OpenStack {
                    project,
                    router_name,
                    ..
                } => format!(
                    "openstack project={} name={}",
                    project.as_deref().unwrap_or("?"),
                    router_name.as_deref().unwrap_or("?")
                ),
                VpcKind::Kubernetes { vpc, .. } => format!("kubernetes vpc={vpc}"),
                _ => "other".to_owned(),
            };
            (
                v.id.to_string(),
                kind,
                v.cidrs.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    let report = isolation::verify(world, inventory, policy);
    let mut undelivered = Vec::new();
    for (i, from) in report.vpcs.iter().enumerate() {
        for (j, to) in report.vpcs.iter().enumerate() {
            if report.matrix[i][j] != Cell::NoRoute {
                continue;
            }
            let why = explain(world, inventory, policy, from.as_str(), to.as_str())
                .map(|e| {
                    e.destinations
                        .iter()
                        .flat_map(|d| d.notes.iter().cloned())
                        .collect()
                })
                .unwrap_or_else(|e| vec![e.to_string()]);
            undelivered.push((from.to_string(), to.to_string(), why));
        }
    }
    Audit {
        vpcs,
        report,
        undelivered,
    }
}

fn hop_json(h: &Hop) -> Value {
    json!({
        "zone": h.zone,
        "router": h.router,
        "route": h.route,
        "via": h.via,
        "learned_from": h.learned_from.map(|u| u.to_string()),
    })
}

fn cell_name(c: Cell) -> &'static str {
    match c {
        Cell::Same => "self",
        Cell::Reachable => "ok",
        Cell::NoRoute => "no-route",
        Cell::Isolated => "isolated",
        Cell::Guarded => "guarded",
        Cell::Leak => "leak",
        _ => "other",
    }
}

impl Audit {
    /// Readable: the VPCs, the matrix with leaks and warnings, then the undelivered pairs.
    pub fn text(&self) -> String {
        let mut out = String::from("VPCs:\n");
        for (id, kind, cidrs) in &self.vpcs {
            let _ = writeln!(out, "  {id:<40} {kind:<45} {}", cidrs.join(" "));
        }
        let _ = write!(out, "\n{}", self.report);
        if !self.undelivered.is_empty() {
            let _ = writeln!(
                out,
                "\n{} allowed pair(s) without a route:",
                self.undelivered.len()
            );
            for (from, to, why) in &self.undelivered {
                let _ = writeln!(out, "  {from} → {to}");
                for w in why {
                    let _ = writeln!(out, "    - {w}");
                }
            }
        }
        out
    }

    /// JSON: `vpcs`, `matrix` (from → to → cell), `leaks`, `guarded`, `warnings`,
    /// `undelivered`.
    pub fn json(&self) -> Value {
        let r = &self.report;
        let leak = |l: &isolation::Leak| {
            json!({
                "from": l.from.as_str(),
                "to": l.to.as_str(),
                "destination": l.destination.to_string(),
                "path": l.path.iter().map(hop_json).collect::<Vec<_>>(),
            })
        };
        let mut matrix = serde_json::Map::new();
        for (i, from) in r.vpcs.iter().enumerate() {
            let row: serde_json::Map<String, Value> = r
                .vpcs
                .iter()
                .enumerate()
                .map(|(j, to)| (to.to_string(), json!(cell_name(r.matrix[i][j]))))
                .collect();
            matrix.insert(from.to_string(), Value::Object(row));
        }
        json!({
            "isolated": r.leaks.is_empty(),
            "vpcs": self.vpcs.iter().map(|(id, kind, cidrs)| json!({"id": id, "kind": kind, "cidrs": cidrs})).collect::<Vec<_>>(),
            "matrix": matrix,
            "leaks": r.leaks.iter().map(leak).collect::<Vec<_>>(),
            "guarded": r.guarded.iter().map(leak).collect::<Vec<_>>(),
            "warnings": r.warnings,
            "undelivered": self.undelivered.iter().map(|(f, t, why)| json!({"from": f, "to": t, "why": why})).collect::<Vec<_>>(),
        })
    }
}

/// An explanation as JSON.
pub fn explanation_json(e: &Explanation) -> Value {
    json!({
        "from": e.from.as_str(),
        "to": e.to.as_str(),
        "cell": cell_name(e.cell),
        "policy": e.policy,
        "guarded": e.guarded,
        "destinations": e.destinations.iter().map(|d| json!({
            "prefix": d.prefix.to_string(),
            "path": d.path.as_ref().map(|p| p.iter().map(hop_json).collect::<Vec<_>>()),
            "notes": d.notes,
        })).collect::<Vec<_>>(),
    })
}
