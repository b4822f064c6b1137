//! Unit tests of the harness's helpers: skip decisions, finding programs, parsing logs and
//! cluster status, running commands.

use super::cluster::{parse_cluster_status, RaftStatus};
use super::*;

#[test]
fn decide_passes_when_nothing_is_missing() {
    assert!(decide("program", &[], false));
    assert!(decide("program", &[], true));
}

#[test]
fn decide_skips_when_not_required() {
    assert!(!decide("program", &["no-such-program"], false));
}

#[test]
#[should_panic(expected = "OVNLINK_REAL_TESTS=1 but program(s) not found: no-such-program")]
fn decide_panics_when_required() {
    decide("program", &["no-such-program"], true);
}

#[test]
fn find_binary_searches_path_and_sbin() {
    assert_eq!(find_binary("sh").map(|p| p.is_absolute()), Some(true));
    assert_eq!(find_binary("no-such-program-ovnlink"), None);
    assert_eq!(find_binary("/no/such/program"), None);
}

#[test]
fn listening_port_is_parsed_from_the_log() {
    let log = "2026-11-25T17:17:02.241Z|00001|vlog|INFO|opened log file /tmp/x/ovsdb-server.log\n\
                   2026-11-25T17:17:02.246Z|00002|socket_util|INFO|0:127.0.0.1: listening on port 43641\n\
                   2026-11-25T17:17:02.247Z|00003|ovsdb_server|INFO|ovsdb-server (Open vSwitch) 3.1.0\n";
    assert_eq!(parse_listening_port(log), Some(43641));
    assert_eq!(parse_listening_port("no such line\n"), None);
}

#[test]
fn cluster_status_is_parsed() {
    let text = "Name: OVN_Northbound\n\
                    Cluster ID: e9aa (e9aa1048-bdc8-4b82-98d3-818aa1b11a16)\n\
                    Server ID: 7704 (770447a9-aded-454a-8001-1cc464ed895a)\n\
                    Address: tcp:127.0.0.1:53257\n\
                    Status: cluster member\n\
                    Role: follower\n\
                    Term: 12\n\
                    Leader: 43b8\n";
    assert_eq!(
        parse_cluster_status(text),
        Some(RaftStatus {
            status: "cluster member".to_owned(),
            role: "follower".to_owned(),
            term: 12,
        })
    );
    assert_eq!(parse_cluster_status("Status: joining cluster\n"), None);
}

#[test]
fn process_alive_tells_live_from_gone() {
    assert!(process_alive(std::process::id()));
    // Above the kernel's maximum pid (4 194 304).
    assert!(!process_alive(4_194_305));
}

#[test]
fn tail_keeps_the_last_lines() {
    assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
    assert_eq!(tail("a\n", 5), "a");
}

#[test]
fn run_returns_stdout_and_reports_stderr() {
    assert_eq!(
        run("sh", &["-c", "echo out; echo err >&2"]).ok(),
        Some("out\n".to_owned())
    );
    let err = run("sh", &["-c", "echo bad input >&2; exit 3"])
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("`sh -c echo bad input >&2; exit 3` failed (exit status: 3): bad input")
    );
}

#[test]
fn run_times_out() {
    let err = run_with_timeout("sleep", &["5"], Duration::from_millis(100)).err();
    assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::TimedOut));
}
