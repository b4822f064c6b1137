//! Decodes a captured `monitor_cond` reply for OVN_Northbound into typed rows and compares
//! the time with `serde_json::from_slice::<serde_json::Value>` on the same bytes.
//!
//! ```text
//! cargo run --release --example decode -- FILE
//! cargo run --release --example decode -- --generate 100000 FILE   # write a 48 MB reply first
//! ```
//!
//! FILE is one raw JSON-RPC response as ovsdb-server sent it (for example captured with
//! `ovsdb-client` traffic logs, or the generated one). Memory figures come from the kernel
//! (`VmRSS`, `VmHWM` of /proc/self/status), relative to the process after reading the file:
//! "retained" is what the decoded rows hold, "peak" the most the decode used at once.
//!
//! Both decodes parse the same complete bytes as one JSON value. A client reading a stream
//! first has to find where each message ends; that scan ([`Framer`]) runs as the bytes
//! arrive, and the example reports its time on its own line.

use std::time::{Duration, Instant};

use ovn_nb::TableUpdates2;
use ovsdb_proto::{Framer, Message, Response};

// The decodes run under mimalloc, as `cargo bench --bench typed` and `ic-routed` do. Under
// glibc's malloc the runs after the first depend on what the previous ones freed: once a
// 48 MB `Value` tree has been freed, the next decode spends its time consolidating free
// lists (`malloc_consolidate`), so best-of-three figures wander by a quarter. Both decodes
// use the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = match args.as_slice() {
        [flag, n, path] if flag == "--generate" => {
            let rows: usize = n.parse()?;
            std::fs::write(path, ovnlink_testkit::gen::lsp_monitor_cond_reply(rows, 1))?;
            path.clone()
        }
        [path] => path.clone(),
        _ => return Err("usage: decode [--generate ROWS] FILE".into()),
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
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

    // The baseline, on the same bytes, best of three like the typed figure below.
    let mut value_best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        value_best = value_best.min(t.elapsed());
        drop(v);
    }
    let mut typed_best = typed_time;
    for _ in 0..2 {
        let t = Instant::now();
        let u = decode_typed(&bytes)?;
        typed_best = typed_best.min(t.elapsed());
        drop(u);
    }
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
    println!(
        "serde_json Value {:.1} ms (best of 3)",
        value_best.as_secs_f64() * 1e3
    );
    println!(
        "typed decode     {:.1} ms (best of 3)",
        typed_best.as_secs_f64() * 1e3
    );
    println!(
        "ratio: typed decode is {:.2}x faster than serde_json::Value",
        value_best.as_secs_f64() / typed_best.as_secs_f64()
    );
    Ok(())
}
