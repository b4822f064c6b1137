//! Prometheus metrics (`--metrics-address ADDR:PORT`): OpenMetrics text over HTTP at
//! `/metrics`, encoded by `prometheus-client`, for scrapers that ask for it (Prometheus
//! does), else the same metrics in Prometheus's text format 0.0.4.
//!
//! Off unless asked: without `--metrics-address` nothing here exists, and the route engine
//! does not count its decisions. What is exported (prefix `ic_routed_`):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `rounds_total` | counter | |
//! | `round_duration_seconds` | histogram | |
//! | `routes_advertised` | gauge | `transit_switch`, `route_table`: this zone's IC-SB routes |
//! | `routes_learned` | gauge | `router`, `route_table`: learned NB routes |
//! | `route_decisions_total` | counter | `direction` (`advertise`, `learn`), `reason` (`none` when taken, else why not: `adv_off`, `default_route`, `denylist`, `filter`, `tag`, …) |
//! | `transactions_total` | counter | `database`, `outcome` (`committed`, `failed`) |
//! | `replica_connected` | gauge | `database` |
//! | `replica_resyncs_total` | counter | `database` |
//! | `state` | gauge | `state` (`active`, `standby`, `paused`): 1 for the current one |
//! | `seconds_since_last_change` | gauge | time since a replica last changed |
//! | `seconds_since_last_write` | gauge | time since a round last wrote |
//!
//! A route decision is counted each time the engine evaluates the route (a full recompute
//! counts every route, an incremental step those of the groups a change touched).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use ic_routes::{DecisionCounts, Direction};
use ovn_ic_sb as icsb;
use ovn_nb as nb;
use ovsdb_client::Cache;
use ovsdb_proto::Uuid;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::controls::{Controls, Status};
use ic_routes::Database;

/// Largest HTTP request head read from a scraper (8 KiB).
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;

type Labels = Vec<(&'static str, String)>;

/// The daemon's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    rounds: Counter,
    round_seconds: Histogram,
    decisions: Family<Labels, Counter>,
    transactions: Family<Labels, Counter>,
    resyncs: Family<Labels, Counter>,
    state: Arc<Shared>,
    /// The engine's counts last added (a rebuilt engine starts again from zero).
    last_counts: Mutex<[[u64; ic_routes::explain::SKIP_NAMES.len() + 1]; 2]>,
}

/// What the scrape-time collector reads.
#[derive(Debug, Default)]
struct Shared {
    controls: Mutex<Option<Controls>>,
    nb: Mutex<Option<Arc<Cache>>>,
    ic_sb: Mutex<Option<Arc<Cache>>>,
    az: Mutex<Option<Uuid>>,
    last_change: Mutex<Option<Instant>>,
    last_write: Mutex<Option<Instant>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn db_name(db: Database) -> &'static str {
    match db {
        Database::Nb => "nb",
        Database::Sb => "sb",
        Database::IcNb => "ic_nb",
        _ => "ic_sb",
    }
}

impl Metrics {
    /// Every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ic_routed");
        let rounds = Counter::default();
        registry.register("rounds", "Rounds run while active", rounds.clone());
        let round_seconds = Histogram::new(exponential_buckets(0.000_1, 4.0, 12));
        registry.register(
            "round_duration_seconds",
            "Duration of a round: compute and commit",
            round_seconds.clone(),
        );
        let decisions = Family::<Labels, Counter>::default();
        registry.register(
            "route_decisions",
            "Route decisions of the engine, by direction and reason (none: advertised or learned)",
            decisions.clone(),
        );
        let transactions = Family::<Labels, Counter>::default();
        registry.register(
            "transactions",
            "Transactions per database and outcome",
            transactions.clone(),
        );
        let resyncs = Family::<Labels, Counter>::default();
        registry.register(
            "replica_resyncs",
            "Full copies of a replica (first sync, or a resume the server could not serve)",
            resyncs.clone(),
        );
        let state = Arc::new(Shared::default());
        registry.register_collector(Box::new(Scrape(state.clone())));
        Metrics {
            registry: Mutex::new(registry),
            rounds,
            round_seconds,
            decisions,
            transactions,
            resyncs,
            state,
            last_counts: Mutex::new(Default::default()),
        }
    }

    /// The metrics as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(r) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        }
        out
    }

    pub(crate) fn attach(&self, controls: &Controls, nb: Arc<Cache>, ic_sb: Arc<Cache>) {
        set(&self.state.controls, Some(controls.clone()));
        set(&self.state.nb, Some(nb));
        set(&self.state.ic_sb, Some(ic_sb));
    }

    pub(crate) fn zone(&self, az: Option<Uuid>) {
        set(&self.state.az, az);
    }

    pub(crate) fn round(&self, seconds: f64, wrote: bool) {
        self.rounds.inc();
        self.round_seconds.observe(seconds);
        if wrote {
            set(&self.state.last_write, Some(Instant::now()));
        }
    }

    pub(crate) fn transaction(&self, db: Database, committed: bool) {
        let outcome = if committed { "committed" } else { "failed" };
        self.transactions
            .get_or_create(&vec![
                ("database", db_name(db).to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    pub(crate) fn changed(&self) {
        set(&self.state.last_change, Some(Instant::now()));
    }

    pub(crate) fn resynced(&self, db: Database) {
        self.resyncs
            .get_or_create(&vec![("database", db_name(db).to_owned())])
            .inc();
        self.changed();
    }

    /// Adds what the engine counted since the last call (`counts` of a new engine start
    /// again from zero, `new_engine`).
    pub fn observe_decisions(&self, counts: &DecisionCounts, new_engine: bool) {
        let Ok(mut last) = self.last_counts.lock() else {
            return;
        };
        if new_engine {
            *last = Default::default();
        }
        for (d, direction) in [Direction::Advertise, Direction::Learn]
            .into_iter()
            .enumerate()
        {
            let dir = match direction {
                Direction::Advertise => "advertise",
                Direction::Learn => "learn",
            };
            // Slot 0 is "taken", then the skip reasons in their fixed order.
            let now =
                std::iter::once(("none", counts.taken(direction))).chain(counts.skipped(direction));
            for ((reason, now), was) in now.zip(last[d].iter_mut()) {
                if now > *was {
                    self.decisions
                        .get_or_create(&vec![
                            ("direction", dir.to_owned()),
                            ("reason", reason.to_owned()),
                        ])
                        .inc_by(now - *was);
                }
                *was = now;
            }
        }
    }
}

fn set<T>(m: &Mutex<T>, v: T) {
    if let Ok(mut g) = m.lock() {
        *g = v;
    }
}

fn get<T: Clone>(m: &Mutex<T>) -> Option<T> {
    m.lock().ok().map(|g| g.clone())
}

/// The gauges computed at scrape time.
#[derive(Debug)]
struct Scrape(Arc<Shared>);

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &[(Labels, f64)],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(
        name,
        help,
        None,
        prometheus_client::metrics::MetricType::Gauge,
    )?;
    for (labels, v) in rows {
        ConstGauge::new(*v).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = &self.0;
        if let Some(controls) = get(&s.controls).flatten() {
            let rows: Vec<(Labels, f64)> = Database::ALL
                .iter()
                .map(|db| {
                    (
                        vec![("database", db_name(*db).to_owned())],
                        f64::from(u8::from(controls.is_connected(*db))),
                    )
                })
                .collect();
            gauge(
                &mut encoder,
                "replica_connected",
                "Whether the connection is up and its replica in sync",
                &rows,
            )?;
            let now = controls.status_now();
            let rows: Vec<(Labels, f64)> = [Status::Active, Status::Standby, Status::Paused]
                .iter()
                .map(|st| {
                    (
                        vec![("state", st.as_str().to_owned())],
                        f64::from(u8::from(*st == now)),
                    )
                })
                .collect();
            gauge(
                &mut encoder,
                "state",
                "The daemon's state (1 for the current one)",
                &rows,
            )?;
        }
        let since =
            |m: &Mutex<Option<Instant>>| get(m).flatten().map(|t| t.elapsed().as_secs_f64());
        if let Some(v) = since(&s.last_change) {
            gauge(
                &mut encoder,
                "seconds_since_last_change",
                "Seconds since a replica last changed",
                &[(Vec::new(), v)],
            )?;
        }
        if let Some(v) = since(&s.last_write) {
            gauge(
                &mut encoder,
                "seconds_since_last_write",
                "Seconds since a round last wrote",
                &[(Vec::new(), v)],
            )?;
        }
        let az = get(&s.az).flatten();
        if let (Some(cache), Some(az)) = (get(&s.ic_sb).flatten(), az) {
            let t = cache.read();
            let mut counts: std::collections::BTreeMap<(String, String), f64> = Default::default();
            for r in t
                .typed::<icsb::Route>()
                .into_iter()
                .flat_map(|m| m.values())
            {
                if r.availability_zone.uuid() == az {
                    *counts
                        .entry((r.transit_switch.clone(), r.route_table.clone()))
                        .or_default() += 1.0;
                }
            }
            let rows: Vec<(Labels, f64)> = counts
                .into_iter()
                .map(|((ts, rt), v)| (vec![("transit_switch", ts), ("route_table", rt)], v))
                .collect();
            gauge(
                &mut encoder,
                "routes_advertised",
                "This zone's routes in IC-SB",
                &rows,
            )?;
        }
        if let Some(cache) = get(&s.nb).flatten() {
            let t = cache.read();
            let (Some(routers), Some(routes)) = (
                t.typed::<nb::LogicalRouter>(),
                t.typed::<nb::LogicalRouterStaticRoute>(),
            ) else {
                return Ok(());
            };
            let mut counts: std::collections::BTreeMap<(String, String), f64> = Default::default();
            for lr in routers.values() {
                for r in lr
                    .static_routes
                    .iter()
                    .filter_map(|r| routes.get(&r.uuid()))
                {
                    if r.external_ids.contains_key(ic_routes::IC_LEARNED_ROUTE) {
                        *counts
                            .entry((lr.name.clone(), r.route_table.clone()))
                            .or_default() += 1.0;
                    }
                }
            }
            let rows: Vec<(Labels, f64)> = counts
                .into_iter()
                .map(|((lr, rt), v)| (vec![("router", lr), ("route_table", rt)], v))
                .collect();
            gauge(
                &mut encoder,
                "routes_learned",
                "Routes learned into the zone's routers",
                &rows,
            )?;
        }
        Ok(())
    }
}

/// OpenMetrics text as Prometheus's older text format (0.0.4) reads it: a counter family's
/// `HELP`/`TYPE` lines name the `_total` sample, and there is no `# EOF`. Served to clients
/// that do not ask for OpenMetrics (`curl`, `promtool check metrics`).
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|tag| {
            let rest = line.strip_prefix(tag)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{tag}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Serves `/metrics` on `listener` until the task is dropped: one request per connection,
/// answered and closed.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut head = Vec::with_capacity(1024);
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
                if head.len() > MAX_REQUEST_HEAD {
                    return;
                }
            }
            let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
            let mut parts = line.split(|b| *b == b' ');
            let (method, path) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            let path = path.split(|b| *b == b'?').next().unwrap_or_default();
            let wants_openmetrics = String::from_utf8_lossy(&head)
                .to_ascii_lowercase()
                .lines()
                .any(|l| l.starts_with("accept:") && l.contains("application/openmetrics-text"));
            let get = method == b"GET" && (path == b"/metrics" || path == b"/");
            let (status, kind, body) = if get && wants_openmetrics {
                (
                    "200 OK",
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    metrics.encode(),
                )
            } else if get {
                (
                    "200 OK",
                    "text/plain; version=0.0.4; charset=utf-8",
                    prometheus_text(&metrics.encode()),
                )
            } else {
                (
                    "404 Not Found",
                    "text/plain; charset=utf-8",
                    "not found: try /metrics\n".to_owned(),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_text_formats_carry_every_series() {
        let m = Metrics::new();
        m.round(0.002, true);
        m.transaction(Database::IcSb, true);
        let om = m.encode();
        assert!(
            om.contains("# TYPE ic_routed_rounds counter\nic_routed_rounds_total 1\n"),
            "{om}"
        );
        assert!(om.ends_with("# EOF\n"), "{om}");
        let text = prometheus_text(&om);
        assert!(
            text.contains("# TYPE ic_routed_rounds_total counter\nic_routed_rounds_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP ic_routed_rounds_total Rounds run while active."),
            "{text}"
        );
        assert!(
            text.contains(
                "ic_routed_transactions_total{database=\"ic_sb\",outcome=\"committed\"} 1"
            ),
            "{text}"
        );
        assert!(!text.contains("# EOF"));
        // Histograms and gauges are the same in both.
        assert!(
            text.contains("# TYPE ic_routed_round_duration_seconds histogram"),
            "{text}"
        );
    }
}
