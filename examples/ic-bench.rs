//! Route-exchange timing on real OVN: the real `ovn-ic` against `ic-routed`, same machine,
//! same run. Driven by `benches/ic-routed.sh`, which builds `ic-routed` first.
//!
//! ```text
//! cargo run --release --example ic-bench -- --ic-routed target/release/ic-routed \
//!     [--learn 20000,50000] [--add 20000,100000] [--timeout 300] [--only ic-routed]
//! ```
//!
//! (a) `--learn N`: two zones, one router each on one transit switch; N static routes are
//!     committed to zone 1's router in one transaction; time until zone 2 has learned all.
//! (b) `--add N`: with N routes established (advertised and learned), one more route is
//!     added; time until zone 2 has learned it.
//!
//! Time is measured from the NB commit's reply to the moment a monitor of zone 2's NB
//! holds the learned rows. Before (b)'s change, both zones' `ovn-northd` are waited for
//! (`ovn-nbctl --wait=sb sync`): after the bulk setup they recompute every flow for a while,
//! and on two cores that would time northd, not the route exchange. A measurement that
//! takes longer than `--timeout` seconds is reported as such. In `ic-routed`'s labs each measurement is followed by its server
//! floor: the same rows committed straight to zone 2's NB in one transaction, timed from
//! the request to the moment the monitor holds them (what the learning side's commit costs
//! whoever makes it).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ovnlink_testkit::ovn::{wait_for, IcDaemon, IcLab};
use ovsdb_client::{Client, ClientConfig, MonitorSpec};
use ovsdb_proto::{Atom, Datum, Mutation, Mutator, Operation, Row};

struct Args {
    ic_routed: PathBuf,
    learn: Vec<usize>,
    add: Vec<usize>,
    timeout: Duration,
    only: Option<String>,
    logs: bool,
}

fn parse_list(s: &str) -> Vec<usize> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

fn args() -> Args {
    let mut a = Args {
        ic_routed: PathBuf::from("target/release/ic-routed"),
        learn: vec![20_000, 50_000],
        add: vec![20_000, 100_000],
        timeout: Duration::from_secs(300),
        only: None,
        logs: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--logs" {
            a.logs = true;
            continue;
        }
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--ic-routed" => a.ic_routed = PathBuf::from(value),
            "--learn" => a.learn = parse_list(&value),
            "--add" => a.add = parse_list(&value),
            "--timeout" => a.timeout = Duration::from_secs(value.parse().unwrap_or(300)),
            "--only" => a.only = Some(value),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// Inserts `routes` (prefix, nexthop) into `router` in one transaction.
async fn add_routes(nb: &Client, router: &str, routes: &[(String, String)]) {
    let mut ops = Vec::with_capacity(routes.len() + 1);
    let mut names = Vec::with_capacity(routes.len());
    for (i, (prefix, nexthop)) in routes.iter().enumerate() {
        let name = format!("r{i}");
        ops.push(Operation::Insert {
            table: "Logical_Router_Static_Route".into(),
            row: Row::new()
                .with("ip_prefix", Atom::from(prefix.as_str()))
                .with("nexthop", Atom::from(nexthop.as_str())),
            uuid_name: Some(name.clone()),
            uuid: None,
        });
        names.push(Atom::NamedUuid(name));
    }
    ops.push(Operation::Mutate {
        table: "Logical_Router".into(),
        conditions: vec![ovsdb_proto::Condition::new(
            "name",
            ovsdb_proto::Function::Eq,
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
        .expect("routes committed");
}

fn prefixes(n: usize, offset: usize) -> Vec<(String, String)> {
    (offset..offset + n)
        .map(|i| {
            (
                format!("10.{}.{}.{}/32", i >> 16 & 255, i >> 8 & 255, i & 255),
                "169.254.0.1".to_owned(),
            )
        })
        .collect()
}

/// Rows of zone 2's static-route table: its router has only learned routes, so this is
/// the learned count (O(1), so polling does not hold the replica's lock for long).
fn learned(cache: &ovsdb_client::Cache) -> usize {
    cache.read().len("Logical_Router_Static_Route")
}

fn has_prefix(cache: &ovsdb_client::Cache, prefix: &str) -> bool {
    let t = cache.read();
    t.table("Logical_Router_Static_Route").is_some_and(|rows| {
        rows.values().any(|r| {
            r.get("ip_prefix")
                .and_then(|d| d.as_atom())
                .and_then(|a| a.as_str())
                == Some(prefix)
        })
    })
}

/// Waits for a row with `prefix` to be inserted, watching the replica's change events
/// (no table scan per poll).
async fn wait_inserted(
    events: &mut tokio::sync::broadcast::Receiver<ovsdb_client::CacheEvent>,
    cache: &ovsdb_client::Cache,
    prefix: &str,
    timeout: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .ok()?;
        if let Ok(ovsdb_client::CacheEvent::Changed { changes, .. }) = ev {
            let t = cache.read();
            for c in changes.iter() {
                let hit = t
                    .row(&c.table, &c.uuid)
                    .and_then(|r| r.get("ip_prefix"))
                    .and_then(|d| d.as_atom())
                    .and_then(|a| a.as_str())
                    == Some(prefix);
                if hit {
                    return Some(start.elapsed());
                }
            }
        }
    }
}

struct Setup {
    lab: IcLab,
    nb1: Client,
    nb2: Client,
    cache2: std::sync::Arc<ovsdb_client::Cache>,
}

async fn setup(daemon: &IcDaemon) -> Setup {
    let mut lab = IcLab::start(2).expect("lab");
    for z in 0..2 {
        lab.start_ic(z, daemon).expect("daemon");
    }
    lab.ic_nbctl(&["ts-add", "ts1"]).unwrap();
    for i in 1..=2 {
        let z = i - 1;
        assert!(lab.wait_switch(z, "ts1", Duration::from_secs(30)));
        lab.attach_router(
            z,
            &format!("lr{i}"),
            "ts1",
            &format!("aa:aa:aa:aa:aa:0{i}"),
            &[&format!("169.254.100.{i}/24")],
        )
        .unwrap();
    }
    let connect = |remote: String| async move {
        Client::connect(
            ClientConfig::new(&remote).expect("remote"),
            Duration::from_secs(10),
        )
        .await
        .expect("connect")
    };
    let nb1 = connect(lab.zones[0].nb.remote()).await;
    let nb2 = connect(lab.zones[1].nb.remote()).await;
    let cache2 = nb2
        .monitor(
            "OVN_Northbound",
            MonitorSpec::tables(["Logical_Router_Static_Route"]),
        )
        .await
        .expect("monitor");
    // A first route proves the two zones exchange routes before timing starts.
    add_routes(
        &nb1,
        "lr1",
        &[("192.0.2.0/24".into(), "169.254.0.1".into())],
    )
    .await;
    assert!(wait_for(Duration::from_secs(30), || has_prefix(
        &cache2,
        "192.0.2.0/24"
    )));
    Setup {
        lab,
        nb1,
        nb2,
        cache2,
    }
}

/// Waits until each zone's `ovn-northd` has processed its NB as it is now
/// (`ovn-nbctl --wait=sb sync`).
fn quiesce(lab: &IcLab) {
    for z in &lab.zones {
        if let Err(e) = z.nbctl(&["--timeout=300", "--wait=sb", "sync"]) {
            eprintln!("warning: ovn-nbctl --wait=sb sync: {e}");
        }
    }
}

async fn wait_async(timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if f() {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn show(d: Option<Duration>, timeout: Duration) -> String {
    match d {
        Some(d) => format!("{:.3} s", d.as_secs_f64()),
        None => format!("> {} s (timed out)", timeout.as_secs()),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let mut daemons = vec![
        ("ovn-ic", IcDaemon::OvnIc),
        ("ic-routed", IcDaemon::IcRouted(a.ic_routed.clone())),
    ];
    if let Some(only) = &a.only {
        daemons.retain(|(n, _)| n == only);
    }
    for (name, daemon) in &daemons {
        for &n in &a.learn {
            let s = setup(daemon).await;
            let committing = Instant::now();
            add_routes(&s.nb1, "lr1", &prefixes(n, 0)).await;
            if a.logs {
                println!("zone 1 NB commit of {n} routes: {:?}", committing.elapsed());
            }
            let t = wait_async(a.timeout, || learned(&s.cache2) > n).await;
            println!("(a) {name:<9} learn {n:>6} routes: {}", show(t, a.timeout));
            if t.is_some() && *name == "ic-routed" {
                // The server floor of the learning side: zone 2's NB committing N routes on
                // its router in one transaction, until a monitor holds them.
                quiesce(&s.lab);
                let before = learned(&s.cache2);
                let started = Instant::now();
                add_routes(&s.nb2, "lr2", &prefixes(n, 1 << 20)).await;
                let t = wait_async(a.timeout, || learned(&s.cache2) >= before + n).await;
                let t = t.map(|_| started.elapsed());
                println!(
                    "(a) floor     learn {n:>6} routes: {} (one direct zone-2 NB commit)",
                    show(t, a.timeout)
                );
            }
            if a.logs {
                std::thread::sleep(Duration::from_secs(2));
                println!("{}", s.lab.logs());
            }
            drop(s.lab);
        }
        for &n in &a.add {
            let s = setup(daemon).await;
            add_routes(&s.nb1, "lr1", &prefixes(n, 0)).await;
            let settled = wait_async(a.timeout, || learned(&s.cache2) > n).await;
            if settled.is_none() {
                println!(
                    "(b) {name:<9} add 1 at {n:>6}: setup did not converge in {} s",
                    a.timeout.as_secs()
                );
                continue;
            }
            // Let everything go idle before the measured change: both northds caught up
            // with their NB (they recompute every flow after a bulk change, and would share
            // the two cores with the measured path), then the daemons' last rounds.
            quiesce(&s.lab);
            tokio::time::sleep(Duration::from_secs(2)).await;
            let mut events = s.nb2.subscribe();
            add_routes(
                &s.nb1,
                "lr1",
                &[("198.51.100.0/24".into(), "169.254.0.1".into())],
            )
            .await;
            let t = wait_inserted(&mut events, &s.cache2, "198.51.100.0/24", a.timeout).await;
            println!("(b) {name:<9} add 1 at {n:>6}: {}", show(t, a.timeout));
            if t.is_some() && *name == "ic-routed" {
                // The server floor: the same one-route insert and router mutation committed
                // straight to zone 2's NB, until a monitor holds it.
                quiesce(&s.lab);
                tokio::time::sleep(Duration::from_secs(2)).await;
                let mut events = s.nb2.subscribe();
                let started = Instant::now();
                add_routes(
                    &s.nb2,
                    "lr2",
                    &[("203.0.113.0/24".into(), "169.254.0.1".into())],
                )
                .await;
                let t = wait_inserted(&mut events, &s.cache2, "203.0.113.0/24", a.timeout)
                    .await
                    .map(|_| started.elapsed());
                println!(
                    "(b) floor     add 1 at {n:>6}: {} (one direct zone-2 NB commit)",
                    show(t, a.timeout)
                );
            }
            if a.logs {
                println!("{}", s.lab.logs());
            }
            drop(s.lab);
        }
    }
}
