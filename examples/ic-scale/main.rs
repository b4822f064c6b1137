//! One zone's interconnection daemon among many zones, on real OVN: issue 17's scale
//! harness. Driven by `benches/scale.sh`, which builds `ic-routed` first and cleans up.
//!
//! ```text
//! cargo run --release --example ic-scale -- --ic-routed target/release/ic-routed \
//!     [--daemon ic-routed|ovn-ic] [--zones 100] [--routes-per-zone 10000]
//!     [--transit-switches 50] [--ts-per-zone 2] [--churn-zones 10] [--rate 100]
//!     [--churn-secs 30] [--bulk 50000] [--timeout 600]
//! ```
//!
//! The IC-SB rows of the other zones are generated, shaped like the rows `ovn-ic` writes
//! (`advertise_routes` in upstream's `ic/ovn-ic.c`): one `Availability_Zone`, one `Gateway`
//! with its `Encap`, and one `Port_Binding` per transit switch the zone joins; and its
//! `Route` rows: IPv4 and IPv6 (one in four), `connected` and `static` origins, 30 % in
//! named route tables, one prefix in twenty with a second nexthop (ECMP), each with the
//! `nb-id`/`lr-id` external ids ovn-ic sets. Zone `j` joins transit switches `j mod T`,
//! `j + T/n mod T`, … (`--ts-per-zone n`) and spreads its routes over them.
//!
//! The real zone (`az1`: NB, SB, `ovn-northd` and the daemon) attaches router `lr1` to
//! transit switch `ts0` (100.64.0.1/24 and fd00::1/64), so it learns the routes on `ts0`
//! in the global route table. Phases, each printed beside its baseline from the same run:
//!
//! 1. start-up: the daemon is stopped while the generator fills IC-SB, then started; the
//!    time until its IC-SB replica is in sync (`ic-routed` logs it) and until every
//!    learnable route is in the zone's NB, beside the server's own send time (a raw
//!    `monitor_cond` of the same tables, read to the reply's last byte, nothing decoded);
//!    peak and steady RSS, and bytes per replicated IC-SB row (ic-routed holds only the
//!    rows of the zone's scope: it logs how many).
//! 2. churn: `--churn-zones K` zones (those on `ts0` first) each withdraw and re-advertise
//!    routes at `--rate` changes per second, one IC-SB transaction per zone every 100 ms
//!    (a route withdrawn is re-advertised one second later). Each learnable change is timed
//!    from its IC-SB request to the moment a monitor of the zone's NB holds its effect
//!    (p50/p99), beside the floor: the churn transactions' own IC-SB commit time plus a
//!    one-route NB commit (request to monitor) made every 500 ms during the churn. The
//!    daemon's CPU time per 1,000 committed changes and as a share of one core.
//! 3. bulk: one zone on `ts0` advertises `--bulk N` new routes in one IC-SB transaction;
//!    the time until all are learned, beside the floor: that transaction's commit plus the
//!    same number of rows committed straight to the zone's NB in one transaction.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ovnlink_testkit::ovn::{wait_for, IcDaemon, IcLab};
use ovsdb_client::{CacheEvent, Client, ClientConfig, MonitorSpec};
use ovsdb_proto::{
    Applied, Atom, Condition, Datum, Framer, Function, Mutation, Mutator, Operation,
    OperationResult, Row, Uuid,
};

mod measure;
mod world;

use measure::*;
use world::*;

struct Args {
    ic_routed: PathBuf,
    daemon: String,
    zones: usize,
    routes_per_zone: usize,
    transit_switches: Option<usize>,
    ts_per_zone: usize,
    churn_zones: usize,
    rate: usize,
    churn_secs: u64,
    bulk: usize,
    timeout: Duration,
}

fn args() -> Args {
    let mut a = Args {
        ic_routed: PathBuf::from("target/release/ic-routed"),
        daemon: "ic-routed".into(),
        zones: 100,
        routes_per_zone: 10_000,
        transit_switches: None,
        ts_per_zone: 2,
        churn_zones: 10,
        rate: 100,
        churn_secs: 30,
        bulk: 50_000,
        timeout: Duration::from_secs(600),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        let num = || -> usize {
            value.replace('_', "").parse().unwrap_or_else(|_| {
                eprintln!("{flag}: not a number: {value}");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "--ic-routed" => a.ic_routed = PathBuf::from(&value),
            "--daemon" => a.daemon = value.clone(),
            "--zones" => a.zones = num(),
            "--routes-per-zone" => a.routes_per_zone = num(),
            "--transit-switches" => a.transit_switches = Some(num()),
            "--ts-per-zone" => a.ts_per_zone = num().max(1),
            "--churn-zones" => a.churn_zones = num(),
            "--rate" => a.rate = num(),
            "--churn-secs" => a.churn_secs = num() as u64,
            "--bulk" => a.bulk = num(),
            "--timeout" => a.timeout = Duration::from_secs(num() as u64),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// What the NB watcher resolves: learned routes appearing or disappearing, and floor rows.
#[derive(Default)]
struct Watch {
    /// Prefix/nexthop of every static route in the zone's NB, by row.
    rows: HashMap<Uuid, (String, String)>,
    /// Changes waiting for their NB effect: key → (sent at, insert?).
    pending: HashMap<(String, String), (Instant, bool)>,
    /// Resolved latencies.
    learned: Vec<Duration>,
    /// Floor rows waiting: prefix → sent at; resolved floor latencies.
    floor_pending: HashMap<String, Instant>,
    floor: Vec<Duration>,
}

/// Follows the zone's NB static routes; resolves `Watch` entries as events arrive.
fn spawn_watcher(
    nb: &Client,
    cache: Arc<ovsdb_client::Cache>,
) -> (Arc<Mutex<Watch>>, Arc<AtomicU64>) {
    let watch = Arc::new(Mutex::new(Watch::default()));
    let inserted = Arc::new(AtomicU64::new(0));
    {
        let t = cache.read();
        let mut w = watch.lock().unwrap();
        if let Some(rows) = t.table("Logical_Router_Static_Route") {
            for (u, r) in rows.iter() {
                w.rows.insert(*u, key_of(r));
            }
        }
    }
    let mut events = nb.subscribe();
    let (w2, ins2) = (watch.clone(), inserted.clone());
    tokio::spawn(async move {
        loop {
            let ev = match events.recv().await {
                Ok(ev) => ev,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("warning: NB watcher lagged {n} events");
                    continue;
                }
                Err(_) => return,
            };
            let now = Instant::now();
            let changes = match ev {
                CacheEvent::Changed { changes, .. } => changes,
                _ => {
                    // A resync (after a reconnect): take the rows as they are now.
                    eprintln!("warning: the NB monitor resynced");
                    let t = cache.read();
                    let mut w = w2.lock().unwrap();
                    let old = std::mem::take(&mut w.rows);
                    for (u, r) in t.table("Logical_Router_Static_Route").into_iter().flatten() {
                        if !old.contains_key(u) {
                            ins2.fetch_add(1, Ordering::Relaxed);
                        }
                        w.rows.insert(*u, key_of(r));
                    }
                    continue;
                }
            };
            let t = cache.read();
            let mut w = w2.lock().unwrap();
            for c in changes.iter() {
                if c.table != "Logical_Router_Static_Route" {
                    continue;
                }
                match c.kind {
                    Applied::Inserted => {
                        ins2.fetch_add(1, Ordering::Relaxed);
                        let Some(k) = t.row(&c.table, &c.uuid).map(key_of) else {
                            continue;
                        };
                        if let Some(sent) = w.floor_pending.remove(&k.0) {
                            w.floor.push(now - sent);
                        }
                        if let Some((sent, true)) = w.pending.get(&k).copied() {
                            w.pending.remove(&k);
                            w.learned.push(now - sent);
                        }
                        w.rows.insert(c.uuid, k);
                    }
                    Applied::Deleted => {
                        if let Some(k) = w.rows.remove(&c.uuid) {
                            if let Some((sent, false)) = w.pending.get(&k).copied() {
                                w.pending.remove(&k);
                                w.learned.push(now - sent);
                            }
                        }
                    }
                    Applied::Modified => {}
                }
            }
        }
    });
    (watch, inserted)
}

fn key_of(r: &Row) -> (String, String) {
    let s = |c: &str| {
        r.get(c)
            .and_then(|d| d.as_atom())
            .and_then(|a| a.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    (s("ip_prefix"), s("nexthop"))
}

/// Inserts `routes` into `router` of the zone's NB in one transaction, with the columns a
/// learned route carries (but not its `ic-learned-route` key, so no daemon claims them).
async fn nb_add_routes(nb: &Client, router: &str, routes: &[(String, String)]) {
    let mut ops = Vec::with_capacity(routes.len() + 1);
    let mut names = Vec::with_capacity(routes.len());
    for (i, (p, n)) in routes.iter().enumerate() {
        let name = format!("r{i}");
        ops.push(Operation::Insert {
            table: "Logical_Router_Static_Route".into(),
            row: Row::new()
                .with("ip_prefix", Atom::from(p.as_str()))
                .with("nexthop", Atom::from(n.as_str()))
                .with("route_table", Atom::from(""))
                .with(
                    "external_ids",
                    Datum::map([("scale-floor", fake_uuid(i, 7))]),
                )
                .with("options", Datum::map([("origin", "static")])),
            uuid_name: Some(name.clone()),
            uuid: None,
        });
        names.push(Atom::NamedUuid(name));
    }
    ops.push(Operation::Mutate {
        table: "Logical_Router".into(),
        conditions: vec![Condition::new(
            "name",
            Function::Eq,
            Datum::from(Atom::from(router)),
        )],
        mutations: vec![Mutation::new(
            "static_routes",
            Mutator::Insert,
            Datum::set(names),
        )],
    });
    nb.transact_checked("OVN_Northbound", ops)
        .await
        .expect("NB routes committed");
}

fn quiesce(lab: &IcLab) {
    if let Err(e) = lab.zones[0].nbctl(&["--timeout=600", "--wait=sb", "sync"]) {
        eprintln!("warning: ovn-nbctl --wait=sb sync: {e}");
    }
}

async fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if f() {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn secs(d: Option<Duration>, timeout: Duration) -> String {
    match d {
        Some(d) => format!("{:.2} s", d.as_secs_f64()),
        None => format!("> {} s (timed out)", timeout.as_secs()),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let daemon = match a.daemon.as_str() {
        "ovn-ic" => IcDaemon::OvnIc,
        "ic-routed" => IcDaemon::IcRouted(a.ic_routed.clone()),
        other => {
            eprintln!("--daemon: ic-routed or ovn-ic, not {other}");
            std::process::exit(2);
        }
    };
    let is_ovn_ic = daemon == IcDaemon::OvnIc;
    let switches = a.transit_switches.unwrap_or((a.zones / 2).max(1));
    let mut world = World::generate(a.zones, a.routes_per_zone, switches, a.ts_per_zone);
    let total = world.routes.len();
    let learnable = world.routes.iter().filter(|r| r.learnable()).count();
    println!(
        "size: {} zones x {} routes = {total} IC-SB routes on {} transit switches; daemon {}; \
         zone az1 learns {learnable} of them (ts0, global table); load {}",
        a.zones,
        a.routes_per_zone,
        world.switches,
        a.daemon,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    // Phase 0: the real zone joins ts0 while IC-SB is small.
    let mut lab = IcLab::start(1).expect("lab");
    let mut args: Vec<String> = Vec::new();
    for t in 0..world.switches {
        if t > 0 {
            args.push("--".into());
        }
        args.extend(["ts-add".to_owned(), format!("ts{t}")]);
    }
    lab.ic_nbctl(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .expect("ts-add");
    lab.start_ic(0, &daemon).expect("daemon");
    assert!(
        lab.wait_switch(0, "ts0", Duration::from_secs(60)),
        "ts0 never reached az1\n{}",
        lab.logs()
    );
    lab.attach_router(
        0,
        "lr1",
        "ts0",
        "aa:aa:aa:aa:aa:01",
        &["100.64.0.1/24", "fd00::1/64"],
    )
    .expect("attach");
    lab.zones[0].nbctl(&["lr-add", "lr-floor"]).expect("lr-add");
    assert!(
        wait_for(Duration::from_secs(60), || lab
            .ic_sbctl(&[
                "--bare",
                "--columns=logical_port",
                "find",
                "Port_Binding",
                "transit_switch=ts0"
            ])
            .is_ok_and(|s| !s.trim().is_empty())),
        "az1 never bound its port on ts0\n{}",
        lab.logs()
    );
    quiesce(&lab);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid0 = lab.zones[0].ics()[0].pid().expect("daemon pid");
    let (base_rss, _) = rss(pid0);
    lab.zones[0].ics()[0].stop();

    // Fill IC-SB.
    let ic_sb = connect(&lab.ic_sb.remote()).await;
    let started = Instant::now();
    let azs = fill(&ic_sb, &mut world).await;
    let fill_time = started.elapsed();
    println!(
        "fill: {total} routes, {} port bindings, {} gateways committed in {:.1} s ({:.0} routes/s)",
        world.zone_ts.iter().map(Vec::len).sum::<usize>(),
        a.zones,
        fill_time.as_secs_f64(),
        total as f64 / fill_time.as_secs_f64()
    );

    let nb = connect(&lab.zones[0].nb.remote()).await;
    let nb_cache = nb
        .monitor(
            "OVN_Northbound",
            MonitorSpec::tables(["Logical_Router_Static_Route"]),
        )
        .await
        .expect("NB monitor");
    let (watch, inserted) = spawn_watcher(&nb, nb_cache.clone());

    // Phase 1: start-up.
    let tables = [
        "IC_SB_Global",
        "Availability_Zone",
        "Gateway",
        "Encap",
        "Datapath_Binding",
        "Port_Binding",
        "Route",
    ];
    // The server's send time, twice (the first monitor after a big fill can meet the
    // server still busy with it); the shorter counts.
    let (send1, bytes) = raw_monitor(&lab.ic_sb.unix_path(), "OVN_IC_Southbound", &tables, None);
    let (send2, _) = raw_monitor(&lab.ic_sb.unix_path(), "OVN_IC_Southbound", &tables, None);
    let send = send1.min(send2);
    // The same with the zone's route scope as ic-routed asks for it: its own routes and
    // those of ts0, the switch its router is on.
    let az1 = lab
        .ic_sbctl(&[
            "--bare",
            "--columns=_uuid",
            "find",
            "Availability_Zone",
            "name=az1",
        ])
        .unwrap_or_default();
    let scoped = (!az1.trim().is_empty()).then(|| {
        let w = serde_json::json!([
            ["availability_zone", "==", ["uuid", az1.trim()]],
            ["transit_switch", "==", "ts0"]
        ]);
        raw_monitor(
            &lab.ic_sb.unix_path(),
            "OVN_IC_Southbound",
            &tables,
            Some(w),
        )
    });
    println!("start-up: load {}", load());
    let started = Instant::now();
    lab.start_ic(0, &daemon).expect("daemon restart");
    let pid = lab.zones[0].ics()[1].pid().expect("daemon pid");
    let log_path = lab.dir().join("az1").join(format!("{}-1.log", a.daemon));
    // ic-routed monitors IC-SB routes with a condition on the zone's scope: its replica is
    // in sync once the scope's routes are in (it logs how many rows it holds then).
    let scope_line = |l: &str| l.contains("IC-SB routes in the zone's scope in sync");
    let log_in_sync = || {
        std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .lines()
            .any(scope_line)
    };
    let mut in_sync = None;
    let mut peak_seen = 0u64;
    let converged = wait_until(a.timeout, || {
        peak_seen = peak_seen.max(rss(pid).0);
        if in_sync.is_none() && !is_ovn_ic && log_in_sync() {
            in_sync = Some(started.elapsed());
        }
        nb_cache.read().len("Logical_Router_Static_Route") >= learnable
    })
    .await
    .map(|_| started.elapsed());
    let in_sync = in_sync.or_else(|| log_in_sync().then(|| started.elapsed()));
    println!(
        "start-up: server send time {:.2} s (raw monitor_cond of the same tables, {:.0} MiB reply; the shorter of {:.2} s and {:.2} s)",
        send.as_secs_f64(),
        mib(bytes as u64),
        send1.as_secs_f64(),
        send2.as_secs_f64()
    );
    if let Some((t, b)) = scoped {
        println!(
            "start-up: server send time of the zone's scope {:.2} s ({:.1} MiB reply: Route rows of az1 and ts0 only)",
            t.as_secs_f64(),
            mib(b as u64)
        );
    }
    if let Some(s) = in_sync {
        println!(
            "start-up: {} IC-SB replica in sync after {:.2} s = send time {:+.2} s ({:.2}x)",
            a.daemon,
            s.as_secs_f64(),
            s.as_secs_f64() - send.as_secs_f64(),
            s.as_secs_f64() / send.as_secs_f64()
        );
    }
    println!(
        "start-up: {} all {learnable} routes learned after {} (= send time + {})",
        a.daemon,
        secs(converged, a.timeout),
        converged.map_or("?".into(), |c| format!(
            "{:.2} s",
            c.saturating_sub(send).as_secs_f64()
        ))
    );
    if converged.is_none() {
        println!(
            "start-up: {} of {learnable} learned when the time ran out",
            nb_cache.read().len("Logical_Router_Static_Route")
        );
        println!("{}", lab.logs());
        return;
    }
    quiesce(&lab);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (steady, peak) = rss(pid);
    let peak = peak.max(peak_seen);
    // The IC-SB rows the daemon's replica holds: every row for ovn-ic, the scope's for
    // ic-routed (the last count it logged).
    let held = std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .lines()
        .rev()
        .filter(|l| scope_line(l))
        .find_map(|l| {
            let digits: String = l
                .split("rows=")
                .nth(1)?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<usize>().ok()
        });
    if let Some(rows) = held {
        println!(
            "memory: {} replica holds {rows} IC-SB rows of the zone's scope (the table has {total} routes)",
            a.daemon
        );
    }
    // Bytes per row the replica holds: every route for ovn-ic, the scope's rows for
    // ic-routed (which also hold the zone's learned routes in its NB replica).
    let replicated = held.unwrap_or(total);
    println!(
        "memory: {} peak RSS {:.0} MiB, steady {:.0} MiB (with an empty IC-SB {:.0} MiB): {:.0} bytes per replicated IC-SB row ((steady - empty) / {replicated}), {:.0} per IC-SB route in the table",
        a.daemon,
        mib(peak),
        mib(steady),
        mib(base_rss),
        steady.saturating_sub(base_rss) as f64 / replicated as f64,
        steady.saturating_sub(base_rss) as f64 / total as f64
    );

    // Phase 2: churn.
    if a.churn_zones > 0 && a.rate > 0 && a.churn_secs > 0 {
        churn(&a, &lab, &nb, &mut world, &azs, &watch, pid).await;
    }

    // Phase 3: bulk.
    if a.bulk > 0 {
        quiesce(&lab);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let zone = world.zones_on_ts0()[0];
        let base = world.routes.len() + 1_000_000;
        let bulk: Vec<GenRoute> = (0..a.bulk)
            .map(|i| GenRoute {
                zone,
                ts: 0,
                route_table: "",
                prefix: prefix(base + i, false, false),
                nexthop: nexthop(zone, 0, false, 0),
                origin: "static",
                uuid: None,
            })
            .collect();
        let ops = bulk
            .iter()
            .map(|r| insert("Route", route_row(r, azs[zone])))
            .collect();
        println!("bulk: load {}", load());
        let before = inserted.load(Ordering::Relaxed);
        let cpu0 = cpu(pid);
        let started = Instant::now();
        ic_sb
            .transact_checked("OVN_IC_Southbound", ops)
            .await
            .expect("bulk routes");
        let commit = started.elapsed();
        let n = a.bulk as u64;
        let learned = wait_until(a.timeout, || inserted.load(Ordering::Relaxed) >= before + n)
            .await
            .map(|_| started.elapsed());
        let cpu_used = cpu(pid).saturating_sub(cpu0);
        quiesce(&lab);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rows: Vec<(String, String)> = (0..a.bulk)
            .map(|i| {
                (
                    prefix(base + a.bulk + i, false, false),
                    "100.64.0.250".to_owned(),
                )
            })
            .collect();
        let before = inserted.load(Ordering::Relaxed);
        let started = Instant::now();
        nb_add_routes(&nb, "lr-floor", &rows).await;
        let nb_commit = wait_until(a.timeout, || inserted.load(Ordering::Relaxed) >= before + n)
            .await
            .map(|_| started.elapsed());
        let floor = nb_commit.map(|c| c + commit);
        println!(
            "bulk: {} learned {} new routes in {} (CPU {:.2} s); floor {} = IC-SB commit {:.2} s + NB commit {}; ratio {}",
            a.daemon,
            a.bulk,
            secs(learned, a.timeout),
            cpu_used.as_secs_f64(),
            secs(floor, a.timeout),
            commit.as_secs_f64(),
            secs(nb_commit, a.timeout),
            match (learned, floor) {
                (Some(l), Some(f)) => format!("{:.2}x the floor", l.as_secs_f64() / f.as_secs_f64()),
                _ => "?".into(),
            }
        );
    }
    let (_, peak) = rss(pid);
    println!(
        "memory: {} peak RSS over the whole run {:.0} MiB",
        a.daemon,
        mib(peak)
    );
}

#[allow(clippy::too_many_arguments)]
async fn churn(
    a: &Args,
    lab: &IcLab,
    nb: &Client,
    world: &mut World,
    azs: &[Uuid],
    watch: &Arc<Mutex<Watch>>,
    pid: u32,
) {
    quiesce(lab);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut zones = world.zones_on_ts0();
    zones.extend((0..world.zone_ts.len()).filter(|j| !world.zone_ts[*j].contains(&0)));
    zones.truncate(a.churn_zones);
    // Each zone's routes, in an order that mixes transit switches.
    let mut by_zone: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, r) in world.routes.iter().enumerate() {
        if zones.contains(&r.zone) {
            by_zone.entry(r.zone).or_default().push(i);
        }
    }
    let per_tick = (a.rate / 10).max(2) / 2;
    let ticks = a.churn_secs * 10;
    let routes = Arc::new(Mutex::new(std::mem::take(&mut world.routes)));
    let commits = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let changes = Arc::new(AtomicU64::new(0));
    println!("churn: load {}", load());
    let cpu0 = cpu(pid);
    let wall = Instant::now();
    let mut tasks = Vec::new();
    for &z in &zones {
        let client = connect(&lab.ic_sb.remote()).await;
        let mine = by_zone.remove(&z).unwrap_or_default();
        let (routes, commits, changes, watch) = (
            routes.clone(),
            commits.clone(),
            changes.clone(),
            watch.clone(),
        );
        let az = azs[z];
        tasks.push(tokio::spawn(async move {
            let mut next = 0usize;
            let mut withdrawn: VecDeque<Vec<usize>> = VecDeque::new();
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for _ in 0..ticks {
                tick.tick().await;
                let out: Vec<usize> = (0..per_tick)
                    .map(|_| {
                        let i = mine[next % mine.len()];
                        next += 1;
                        i
                    })
                    .collect();
                let back = if withdrawn.len() >= 10 {
                    withdrawn.pop_front().unwrap_or_default()
                } else {
                    Vec::new()
                };
                let mut ops = Vec::new();
                let mut learnable = Vec::new();
                {
                    let rs = routes.lock().unwrap();
                    for &i in &out {
                        if let Some(u) = rs[i].uuid {
                            ops.push(delete_by_uuid("Route", u));
                            if rs[i].learnable() {
                                learnable.push((rs[i].key(), false));
                            }
                        }
                    }
                    for &i in &back {
                        ops.push(insert("Route", route_row(&rs[i], az)));
                        if rs[i].learnable() {
                            learnable.push((rs[i].key(), true));
                        }
                    }
                }
                let sent = Instant::now();
                {
                    let mut w = watch.lock().unwrap();
                    for (k, ins) in learnable {
                        w.pending.insert(k, (sent, ins));
                    }
                }
                let n = ops.len() as u64;
                let results = client
                    .transact_checked("OVN_IC_Southbound", ops)
                    .await
                    .expect("churn transaction");
                commits.lock().unwrap().push(sent.elapsed());
                changes.fetch_add(n, Ordering::Relaxed);
                let uuids = inserted_uuids(&results);
                let mut rs = routes.lock().unwrap();
                for &i in &out {
                    rs[i].uuid = None;
                }
                for (&i, u) in back.iter().zip(uuids) {
                    rs[i].uuid = Some(u);
                }
                withdrawn.push_back(out);
            }
        }));
    }
    // The NB floor: one route committed straight to the zone's NB every 500 ms.
    let floor_task = {
        let nb = nb.clone();
        let watch = watch.clone();
        let secs = a.churn_secs;
        tokio::spawn(async move {
            for i in 0..secs * 2 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let p = format!("198.18.{}.{}/32", i >> 8, i & 255);
                watch
                    .lock()
                    .unwrap()
                    .floor_pending
                    .insert(p.clone(), Instant::now());
                nb_add_routes(&nb, "lr-floor", &[(p, "100.64.0.250".into())]).await;
            }
        })
    };
    for t in tasks {
        t.await.expect("churn task");
    }
    floor_task.await.expect("floor task");
    let wall = wall.elapsed();
    let cpu_used = cpu(pid).saturating_sub(cpu0);
    let n = changes.load(Ordering::Relaxed);
    // Let the last changes land.
    wait_until(Duration::from_secs(10), || {
        watch.lock().unwrap().pending.is_empty()
    })
    .await;
    let mut w = watch.lock().unwrap();
    let mut commits = commits.lock().unwrap().clone();
    let (c50, c99) = (pct(&mut commits, 0.5), pct(&mut commits, 0.99));
    let (f50, f99) = (pct(&mut w.floor, 0.5), pct(&mut w.floor, 0.99));
    let lost = w.pending.len();
    let learned = w.learned.len();
    let (l50, l99) = (pct(&mut w.learned, 0.5), pct(&mut w.learned, 0.99));
    let lmax = w.learned.last().copied().unwrap_or_default();
    println!(
        "churn: {} zones x {} changes/s for {:.1} s: {n} IC-SB route changes committed, {learned} of them learnable and seen in NB ({lost} never seen)",
        zones.len(),
        a.rate,
        wall.as_secs_f64()
    );
    println!(
        "churn: {} learn latency p50 {} p99 {} max {}; floor p50 {} p99 {} (IC-SB commit p50 {} p99 {} + NB commit p50 {} p99 {}); p99 ratio {:.2}x",
        a.daemon,
        ms(l50),
        ms(l99),
        ms(lmax),
        ms(c50 + f50),
        ms(c99 + f99),
        ms(c50),
        ms(c99),
        ms(f50),
        ms(f99),
        l99.as_secs_f64() / (c99 + f99).as_secs_f64()
    );
    println!(
        "churn: {} CPU {:.2} s in {:.1} s = {:.1} % of one core; {:.3} CPU s per 1,000 changes",
        a.daemon,
        cpu_used.as_secs_f64(),
        wall.as_secs_f64(),
        100.0 * cpu_used.as_secs_f64() / wall.as_secs_f64(),
        cpu_used.as_secs_f64() * 1000.0 / n.max(1) as f64
    );
    w.pending.clear();
    drop(w);
    world.routes = std::mem::take(&mut *routes.lock().unwrap());
}
