//! `ic-routed --metrics-address` scraped by Debian's real Prometheus during a route exchange
//! on real OVN: the learned-routes and route-decision series have the values the exchange
//! gives, and `promtool check metrics` accepts the exposition.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ovnlink_testkit::ovn::{real_ovn, wait_for, IcDaemon, IcLab};
use serde_json::Value;

const CONVERGE: Duration = Duration::from_secs(30);

/// Whether the host (not the OVN release's root) has `programs`: Prometheus is the
/// operator's, whatever OVN runs. Missing under `OVNLINK_REAL_TESTS=1` is a failure
/// (`scripts/test.sh` installs Debian's `prometheus`).
fn host_programs(programs: &[&str]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| !std::env::split_paths(&path).any(|d| d.join(p).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("OVNLINK_REAL_TESTS").as_deref() != Ok("1"),
        "OVNLINK_REAL_TESTS=1 but {missing:?} not found: apt-get install --no-install-recommends prometheus (scripts/test.sh does)"
    );
    eprintln!("skipped: {missing:?} not found");
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on 127.0.0.1:port; the body.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// Prometheus, killed on drop.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value of the single series `query` returns, from Prometheus's HTTP API.
fn query(port: u16, query: &str) -> Option<f64> {
    let q: String = query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let body = http_get(port, &format!("/api/v1/query?query={q}"))?;
    let v: Value = serde_json::from_str(&body).ok()?;
    let result = v["data"]["result"].as_array()?;
    let [one] = result.as_slice() else {
        return None;
    };
    one["value"][1].as_str()?.parse().ok()
}

#[test]
fn prometheus_scrapes_route_metrics() {
    if !real_ovn() || !host_programs(&["prometheus", "promtool"]) {
        return;
    }
    let metrics_port = free_port();
    let ic_routed = IcDaemon::IcRouted(PathBuf::from(env!("CARGO_BIN_EXE_ic-routed")));
    let lab = IcLab::start_ts1(
        &[ic_routed.clone(), ic_routed],
        &[
            vec![],
            vec![format!("--metrics-address=127.0.0.1:{metrics_port}")],
        ],
        "169.254.100",
        CONVERGE,
    );
    let (az1, az2) = (&lab.zones[0], &lab.zones[1]);
    az2.set_nb_options(&["options:ic-route-blacklist=10.44.0.0/16"])
        .unwrap();
    for i in 1..=3 {
        az1.nbctl(&[
            "lr-route-add",
            "lr1",
            &format!("10.11.{i}.0/24"),
            "169.254.0.1",
        ])
        .unwrap();
    }
    az1.nbctl(&["lr-route-add", "lr1", "10.44.1.0/24", "169.254.0.1"])
        .unwrap();
    az2.nbctl(&[
        "--policy=src-ip",
        "lr-route-add",
        "lr2",
        "10.22.2.0/24",
        "169.254.0.2",
    ])
    .unwrap();
    assert!(
        wait_for(CONVERGE, || az2
            .routes("lr2")
            .is_ok_and(|r| r.matches("(learned)").count() == 3)),
        "{}",
        lab.logs()
    );

    // The exposition: promtool accepts it, and it has the series.
    let text = http_get(metrics_port, "/metrics").expect("metrics served");
    assert!(
        text.contains("# TYPE ic_routed_rounds_total counter"),
        "{text}"
    );
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A real Prometheus scrapes it every second.
    let dir = tempfile::tempdir().unwrap();
    let prom_port = free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ic-routed\n    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
        ),
    )
    .unwrap();
    let _prom = Prometheus(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    let want = [
        (
            r#"ic_routed_routes_learned{router="lr2",route_table=""}"#,
            3.0,
        ),
        (
            r#"ic_routed_routes_advertised{transit_switch="ts1",route_table=""}"#,
            0.0,
        ),
        (r#"ic_routed_state{state="active"}"#, 1.0),
        (r#"ic_routed_replica_connected{database="ic_sb"}"#, 1.0),
    ];
    for (q, v) in want {
        let mut got = None;
        assert!(
            wait_for(CONVERGE, || {
                got = query(prom_port, q);
                got == Some(v) || (v == 0.0 && got.is_none())
            }),
            "{q}: {got:?}, want {v}\n{text}"
        );
    }
    // Skipped routes by reason: az1's 10.44.1.0/24 hits az2's deny list, lr2's src-ip route
    // is not advertised.
    for q in [
        r#"ic_routed_route_decisions_total{direction="learn",reason="denylist"}"#,
        r#"ic_routed_route_decisions_total{direction="advertise",reason="src_ip"}"#,
        r#"ic_routed_route_decisions_total{direction="learn",reason="none"}"#,
    ] {
        let mut got = None;
        assert!(
            wait_for(CONVERGE, || {
                got = query(prom_port, q);
                got.is_some_and(|v| v >= 1.0)
            }),
            "{q}: {got:?}\n{text}"
        );
    }
    assert!(query(prom_port, "ic_routed_rounds_total").is_some_and(|v| v >= 1.0));
}
