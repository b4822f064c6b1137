//! What the harness measures with: the server's raw send time, a process's memory and
//! CPU, and the printing of figures.

use super::*;

/// The server's own send time: a raw `monitor_cond` of `tables` (all columns) over the
/// unix socket, timed from the request to the reply's last byte; nothing is decoded
/// beyond finding where the reply ends. Returns the time and the reply's size.
pub(crate) fn raw_monitor(
    path: &std::path::Path,
    db: &str,
    tables: &[&str],
    route_where: Option<serde_json::Value>,
) -> (Duration, usize) {
    let mut s = std::os::unix::net::UnixStream::connect(path).expect("connect raw");
    let req: serde_json::Map<String, serde_json::Value> = tables
        .iter()
        .map(|t| {
            let request = match (&route_where, *t) {
                (Some(w), "Route") => serde_json::json!([{ "where": w }]),
                _ => serde_json::json!([{}]),
            };
            ((*t).to_owned(), request)
        })
        .collect();
    let msg = serde_json::json!({"id": 1, "method": "monitor_cond",
        "params": [db, "scale-baseline", req]});
    let started = Instant::now();
    s.write_all(msg.to_string().as_bytes()).expect("send");
    let mut framer = Framer::new();
    let mut buf = Vec::with_capacity(64 << 20);
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = s.read(&mut chunk).expect("read");
        assert!(n > 0, "server closed the raw monitor");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(range) = framer.scan(&buf).expect("frame") {
            return (started.elapsed(), range.len());
        }
    }
}

/// Resident set (VmRSS) and its peak (VmHWM) of `pid`, in bytes.
pub(crate) fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User plus system CPU time of `pid`.
pub(crate) fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields 14 and 15 of stat; `after` starts at field 3.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The load average, for the record (the machine is shared).
pub(crate) fn load() -> String {
    let l = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

pub(crate) fn mib(b: u64) -> f64 {
    b as f64 / (1u64 << 20) as f64
}

pub(crate) fn pct(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
