//! Decodes a `monitor_cond` reply for OVN_Northbound into typed rows and compares the time
//! with `serde_json::from_slice::<serde_json::Value>` on the same bytes.
//!
//! ```text
//! cargo run --release --example decode                # a real server's reply (see below)
//! cargo run --release --example decode -- FILE        # a reply saved in FILE
//! cargo run --release --example decode -- --generate 100000 FILE   # write a generated one first
//! ```
//!
//! Without arguments the input is a real `ovsdb-server`'s reply: the first run starts one,
//! fills it with 100,000 logical switch ports on 100 switches as Kube-OVN and `ovn-nbctl`
//! write them, and captures its replies to `monitor_cond` and `monitor_cond_since` on every
//! table (about a minute); later runs read them from `target/captures/`
//! (`ovnlink_testkit::capture`). With `OVNLINK_DECODE_INPUT=generated`, or when no
//! `ovsdb-server` is installed, the input is the generated one-table reply of
//! `ovnlink_testkit::gen` instead. The `monitor_cond_since` reply (`[found, last-txn-id,
//! updates]`, the shape resumable clients get) is timed too when there is one.
//!
//! FILE is one raw JSON-RPC response as ovsdb-server sent it. Memory figures come from the kernel
//! (`VmRSS`, `VmHWM` of /proc/self/status), relative to the process after reading the file:
//! "retained" is what the decoded rows hold, "peak" the most the decode used at once.
//!
//! Both decodes parse the same complete bytes as one JSON value. A client reading a stream
//! first has to find where each message ends; that scan ([`Framer`]) runs as the bytes
//! arrive, and the example reports its time on its own line.

use std::time::{Duration, Instant};

use ovn_nb::TableUpdates2;
use ovnlink_testkit::capture::{decode_input, DecodeInput, NbFill};
use ovsdb_proto::{Framer, Message, Response};

// The decodes run under mimalloc, as `cargo bench --bench typed` and `ic-routed` do. Under
// glibc's malloc the runs after the first depend on what the previous ones freed: once a
// 48 MB `Value` tree has been freed, the next decode spends its time consolidating free
// lists (`malloc_consolidate`), so best-of-three figures wander by a quarter. Both decodes
// use the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs of each decode; the best is reported.
const RUNS: usize = 5;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Decodes the response in one pass straight into typed rows.
fn decode_typed(bytes: &[u8]) -> Result<TableUpdates2, Box<dyn std::error::Error>> {
    match Message::decode_response::<TableUpdates2>(bytes, "monitor_cond reply")? {
        Response::Ok { result, .. } => Ok(result),
        Response::Err { error, .. } => {
            Err(format!("the server answered with an error: {error}").into())
        }
    }
}

/// Decodes a `monitor_cond_since` reply, `[found, last-txn-id, updates]`, in one pass.
fn decode_typed_since(bytes: &[u8]) -> Result<TableUpdates2, Box<dyn std::error::Error>> {
    type Since = (bool, String, TableUpdates2);
    match Message::decode_response::<Since>(bytes, "monitor_cond_since reply")? {
        Response::Ok { result, .. } => Ok(result.2),
        Response::Err { error, .. } => {
            Err(format!("the server answered with an error: {error}").into())
        }
    }
}

/// CPU time this thread has run, from the scheduler (`/proc/thread-self/schedstat`): on a
/// machine shared with other work it wanders much less than wall time.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        stat.split_whitespace().next()?.parse().ok()?,
    ))
}

/// The best wall time and the best CPU time (when the kernel says) of `runs` runs of `f`,
/// its result dropped outside the timing.
#[derive(Debug, Clone, Copy)]
struct Best {
    wall: Duration,
    cpu: Option<Duration>,
}

impl Best {
    fn ms(&self) -> String {
        match self.cpu {
            Some(cpu) => format!(
                "{:.1} ms (CPU {:.1} ms)",
                self.wall.as_secs_f64() * 1e3,
                cpu.as_secs_f64() * 1e3
            ),
            None => format!("{:.1} ms", self.wall.as_secs_f64() * 1e3),
        }
    }

    /// How many times faster `self` is than `baseline`, by wall time (and CPU time).
    fn ratio(&self, baseline: &Best) -> String {
        let wall = baseline.wall.as_secs_f64() / self.wall.as_secs_f64();
        match (self.cpu, baseline.cpu) {
            (Some(a), Some(b)) => format!(
                "{wall:.2}x (CPU time {:.2}x)",
                b.as_secs_f64() / a.as_secs_f64()
            ),
            _ => format!("{wall:.2}x"),
        }
    }
}

fn best_of<T>(
    runs: usize,
    mut f: impl FnMut() -> Result<T, Box<dyn std::error::Error>>,
) -> Result<Best, Box<dyn std::error::Error>> {
    let mut best = Best {
        wall: Duration::MAX,
        cpu: None,
    };
    for _ in 0..runs {
        let (t, c) = (Instant::now(), thread_cpu());
        let out = f()?;
        best.wall = best.wall.min(t.elapsed());
        if let (Some(c0), Some(c1)) = (c, thread_cpu()) {
            best.cpu = Some(best.cpu.map_or(c1 - c0, |b| b.min(c1 - c0)));
        }
        drop(out);
    }
    Ok(best)
}

fn from_file(path: &str) -> Result<DecodeInput, Box<dyn std::error::Error>> {
    Ok(DecodeInput {
        monitor_cond: std::fs::read(path).map_err(|e| format!("{path}: {e}"))?,
        monitor_cond_since: None,
        description: format!("the reply in {path}"),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let input = match args.as_slice() {
        [] => decode_input(&NbFill::SCALE_100K)?,
        [flag, n, path] if flag == "--generate" => {
            let rows: usize = n.parse()?;
            std::fs::write(path, ovnlink_testkit::gen::lsp_monitor_cond_reply(rows, 1))?;
            from_file(path)?
        }
        [path] => from_file(path)?,
        _ => return Err("usage: decode [[--generate ROWS] FILE]".into()),
    };
    println!("input: {}", input.description);
    let bytes = input.monitor_cond;
    // Whitespace after the message is fine; a second message is not.
    let framed = Framer::new()
        .scan(&bytes)?
        .ok_or("the file holds no complete JSON-RPC message")?;
    if bytes[framed.end..].iter().any(|b| !b.is_ascii_whitespace()) {
        return Err("the file holds more than one JSON-RPC message".into());
    }
    let base = status_kib("VmRSS:").unwrap_or(0);

    let started = Instant::now();
    let updates = decode_typed(&bytes)?;
    let typed_time = started.elapsed();
    let after = status_kib("VmRSS:").unwrap_or(0);
    let peak = status_kib("VmHWM:").unwrap_or(0);

    let counts = [
        ("ACL", updates.acl.0.len()),
        ("Address_Set", updates.address_set.0.len()),
        ("Logical_Router", updates.logical_router.0.len()),
        ("Logical_Router_Port", updates.logical_router_port.0.len()),
        (
            "Logical_Router_Static_Route",
            updates.logical_router_static_route.0.len(),
        ),
        ("Logical_Switch", updates.logical_switch.0.len()),
        ("Logical_Switch_Port", updates.logical_switch_port.0.len()),
        ("NB_Global", updates.nb_global.0.len()),
        ("Port_Group", updates.port_group.0.len()),
    ];
    let rows: usize = counts.iter().map(|(_, n)| n).sum();
    for (table, n) in counts.iter().filter(|(_, n)| *n > 0) {
        println!("{table:<30} {n:>9} rows");
    }
    let mb = bytes.len() as f64 / 1e6;
    println!("input           {mb:.1} MB");
    println!(
        "typed decode    {:.1} ms ({:.0} MB/s)",
        typed_time.as_secs_f64() * 1e3,
        mb / typed_time.as_secs_f64()
    );
    let retained = after.saturating_sub(base);
    let peak_used = peak.saturating_sub(base);
    println!(
        "memory          retained {:.1} MiB ({:.0} B/row), peak {:.1} MiB ({:.2}x retained)",
        mib(retained),
        retained as f64 * 1024.0 / rows.max(1) as f64,
        mib(peak_used),
        peak_used as f64 / retained.max(1) as f64
    );
    drop(updates);

    // The baseline, on the same bytes, best of five like the typed figure below.
    let value_best = best_of(RUNS, || {
        Ok(serde_json::from_slice::<serde_json::Value>(&bytes)?)
    })?;
    let typed_best = best_of(RUNS, || decode_typed(&bytes))?;
    let mut scan_best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let range = Framer::new().scan(&bytes)?;
        scan_best = scan_best.min(t.elapsed());
        assert_eq!(range, Some(framed.clone()));
    }
    println!(
        "framing scan     {:.1} ms (best of 3; a client's stream reader, outside both decodes)",
        scan_best.as_secs_f64() * 1e3
    );
    println!("serde_json Value {} (best of {RUNS})", value_best.ms());
    println!("typed decode     {} (best of {RUNS})", typed_best.ms());
    println!(
        "ratio: typed decode is {} faster than serde_json::Value",
        typed_best.ratio(&value_best)
    );
    if let Some(since) = &input.monitor_cond_since {
        let value = best_of(RUNS, || {
            Ok(serde_json::from_slice::<serde_json::Value>(since)?)
        })?;
        let typed = best_of(RUNS, || decode_typed_since(since))?;
        println!(
            "monitor_cond_since reply ({:.1} MB): typed {}, serde_json Value {} (best of \
             {RUNS}): {}",
            since.len() as f64 / 1e6,
            typed.ms(),
            value.ms(),
            typed.ratio(&value)
        );
    }
    Ok(())
}
