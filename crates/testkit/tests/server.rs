//! Integration tests of the real-server harness against Debian's `ovsdb-server`.
//!
//! Each test returns early (and prints `skipped: ...`) when the programs are missing, unless
//! `OVNLINK_REAL_TESTS=1` is set.

use std::time::{Duration, Instant};

use ovnlink_testkit::server::{
    process_alive, real_servers, require_binaries, OvsdbCluster, OvsdbServer, OVN_NB_SCHEMA,
    OVN_SB_SCHEMA,
};

/// Lines of `ovsdb-client list-dbs` (one database name per line), sorted.
fn list_dbs(server: &OvsdbServer, remote: &str) -> Vec<String> {
    let out = server
        .run("ovsdb-client", &["list-dbs", remote])
        .expect("ovsdb-client list-dbs");
    let mut dbs: Vec<String> = out.lines().map(str::to_owned).collect();
    dbs.sort();
    dbs
}

/// Names of the logical switches, from `ovn-nbctl ls-list` lines `<uuid> (<name>)`.
fn switches(server: &OvsdbServer) -> Vec<String> {
    let db = format!("--db={}", server.remote());
    let out = server
        .run("ovn-nbctl", &[&db, "ls-list"])
        .expect("ovn-nbctl ls-list");
    out.lines()
        .map(|line| {
            let (_, name) = line.split_once(" (").expect("`<uuid> (<name>)`");
            name.trim_end_matches(')').to_owned()
        })
        .collect()
}

fn ls_add(server: &OvsdbServer, name: &str) {
    let db = format!("--db={}", server.remote());
    server
        .run("ovn-nbctl", &[&db, "ls-add", name])
        .expect("ovn-nbctl ls-add");
}

#[test]
fn standalone_server_lists_its_databases() {
    if !real_servers() {
        return;
    }
    let started = Instant::now();
    let server = OvsdbServer::start(OVN_NB_SCHEMA).expect("start");
    eprintln!(
        "standalone OVN_Northbound server started in {:?}",
        started.elapsed()
    );

    assert_eq!(
        list_dbs(&server, &server.remote()),
        ["OVN_Northbound", "_Server"]
    );
    assert_eq!(server.databases(), ["OVN_Northbound"]);
    assert_eq!(
        server.remote(),
        format!("unix:{}", server.dir().join("db.sock").display())
    );
    assert_eq!(server.unix_path(), server.dir().join("db.sock"));
    assert_eq!(
        server.db_path("OVN_Northbound"),
        Some(server.dir().join("OVN_Northbound.db"))
    );
    assert_eq!(server.tcp_port(), None);
    let pid = server.pid().expect("pid of a running server");
    assert!(process_alive(pid));
    assert!(server.is_running());
    assert!(server.log().contains("ovsdb-server (Open vSwitch)"));
    let status = server
        .appctl(&["ovsdb-server/list-dbs"])
        .expect("ovs-appctl");
    assert_eq!(status, "OVN_Northbound\n_Server\n");
}

#[test]
fn nbctl_adds_a_switch() {
    if !real_servers() || !require_binaries(&["ovn-nbctl"]) {
        return;
    }
    let server = OvsdbServer::start(OVN_NB_SCHEMA).expect("start");
    assert_eq!(switches(&server), Vec::<String>::new());
    ls_add(&server, "sw0");
    assert_eq!(switches(&server), ["sw0"]);
}

#[test]
fn failing_command_reports_its_stderr() {
    if !real_servers() || !require_binaries(&["ovn-nbctl"]) {
        return;
    }
    let server = OvsdbServer::start(OVN_NB_SCHEMA).expect("start");
    let db = format!("--db={}", server.remote());
    let err = server
        .run("ovn-nbctl", &[&db, "ls-del", "nosuch"])
        .expect_err("deleting a missing switch fails");
    let message = err.to_string();
    assert!(
        message.contains("ovn-nbctl: nosuch: switch name not found"),
        "{message}"
    );
    assert!(message.contains("exit status: 1"), "{message}");
}

#[test]
fn restart_keeps_data_socket_and_port() {
    if !real_servers() || !require_binaries(&["ovn-nbctl"]) {
        return;
    }
    let mut server = OvsdbServer::builder()
        .database(OVN_NB_SCHEMA)
        .tcp(true)
        .start()
        .expect("start");
    ls_add(&server, "sw0");
    let path = server.unix_path();
    let port = server.tcp_port().expect("tcp port");
    let old_pid = server.pid().expect("pid");

    let started = Instant::now();
    server.restart().expect("restart");
    eprintln!("restart took {:?}", started.elapsed());

    assert!(!process_alive(old_pid));
    let new_pid = server.pid().expect("pid after restart");
    assert_ne!(new_pid, old_pid);
    assert!(process_alive(new_pid));
    assert_eq!(server.unix_path(), path);
    assert_eq!(server.tcp_port(), Some(port));
    assert_eq!(switches(&server), ["sw0"]);
    let tcp = server.tcp_remote().expect("tcp remote");
    assert_eq!(tcp, format!("tcp:127.0.0.1:{port}"));
    assert_eq!(list_dbs(&server, &tcp), ["OVN_Northbound", "_Server"]);
}

#[test]
fn stop_then_restart() {
    if !real_servers() || !require_binaries(&["ovn-nbctl"]) {
        return;
    }
    let mut server = OvsdbServer::start(OVN_NB_SCHEMA).expect("start");
    ls_add(&server, "sw0");
    let pid = server.pid().expect("pid");
    server.stop().expect("stop");
    assert!(!process_alive(pid));
    assert_eq!(server.pid(), None);
    assert!(!server.is_running());
    // SIGTERM lets ovsdb-server remove its own socket.
    assert!(!server.unix_path().exists());
    server.stop().expect("stopping twice is fine");
    server.restart().expect("restart");
    assert_eq!(switches(&server), ["sw0"]);
}

#[test]
fn kill_hard_then_restart_recovers_committed_data() {
    if !real_servers() || !require_binaries(&["ovn-nbctl"]) {
        return;
    }
    let mut server = OvsdbServer::start(OVN_NB_SCHEMA).expect("start");
    ls_add(&server, "sw0");
    ls_add(&server, "sw1");
    let pid = server.pid().expect("pid");
    server.kill_hard().expect("kill -9");
    assert!(!process_alive(pid));
    assert_eq!(server.pid(), None);
    // SIGKILL leaves the socket file behind; the restart replaces it.
    assert!(server.unix_path().exists());
    server.restart().expect("restart after a crash");
    assert_eq!(switches(&server), ["sw0", "sw1"]);
}

#[test]
fn tcp_listener_serves_the_databases() {
    if !real_servers() {
        return;
    }
    let server = OvsdbServer::builder()
        .database(OVN_NB_SCHEMA)
        .database(OVN_SB_SCHEMA)
        .tcp(true)
        .start()
        .expect("start");
    let port = server.tcp_port().expect("tcp port");
    assert_ne!(port, 0);
    let expected = ["OVN_Northbound", "OVN_Southbound", "_Server"];
    assert_eq!(list_dbs(&server, &server.remote()), expected);
    let tcp = format!("tcp:127.0.0.1:{port}");
    assert_eq!(list_dbs(&server, &tcp), expected);
    assert_eq!(server.databases(), ["OVN_Northbound", "OVN_Southbound"]);
}

#[test]
fn drop_kills_the_server_and_removes_its_directory() {
    if !real_servers() {
        return;
    }
    let server = OvsdbServer::start(OVN_NB_SCHEMA).expect("start");
    let pid = server.pid().expect("pid");
    let dir = server.dir().to_path_buf();
    assert!(dir.join("OVN_Northbound.db").exists());
    drop(server);
    assert!(!process_alive(pid), "ovsdb-server {pid} survived drop");
    assert!(!dir.exists(), "{} survived drop", dir.display());
}

#[test]
fn drop_cleans_up_when_a_test_panics() {
    if !real_servers() {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::panic::catch_unwind(move || {
        let server = OvsdbServer::start(OVN_NB_SCHEMA).expect("start");
        tx.send((server.pid().expect("pid"), server.dir().to_path_buf()))
            .expect("send");
        panic!("test failure while a server runs");
    });
    assert!(outcome.is_err());
    let (pid, dir) = rx.recv().expect("server started");
    assert!(!process_alive(pid), "ovsdb-server {pid} survived the panic");
    assert!(!dir.exists(), "{} survived the panic", dir.display());
}

#[test]
fn startup_failure_reports_the_servers_complaint() {
    if !real_servers() {
        return;
    }
    let err = OvsdbServer::builder()
        .database(OVN_NB_SCHEMA)
        .arg("--no-such-option")
        .start()
        .expect_err("ovsdb-server rejects the option");
    let message = err.to_string();
    assert!(
        message.starts_with("ovsdb-server exited with exit status: 1"),
        "{message}"
    );
    assert!(message.contains("no-such-option"), "{message}");

    let err = OvsdbServer::start("/no/such/schema.ovsschema").expect_err("missing schema");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/no/such/schema.ovsschema"));
}

#[test]
fn cluster_elects_a_leader_and_survives_losing_it() {
    if !real_servers() || !require_binaries(&["ovn-nbctl"]) {
        return;
    }
    let started = Instant::now();
    let mut cluster = OvsdbCluster::start(OVN_NB_SCHEMA, 3).expect("start cluster");
    eprintln!("3-member cluster formed in {:?}", started.elapsed());
    assert_eq!(cluster.len(), 3);
    assert_eq!(cluster.db_name(), "OVN_Northbound");
    let remotes = cluster.remotes();
    assert_eq!(remotes.split(',').count(), 3);
    assert_eq!(
        remotes,
        format!(
            "{},{},{}",
            cluster.remote(0),
            cluster.remote(1),
            cluster.remote(2)
        )
    );
    for i in 0..3 {
        let status = cluster.status(i).expect("cluster/status");
        assert!(status.contains("Status: cluster member"), "{status}");
        assert!(
            status.contains(&format!("Address: {}", cluster.raft_address(i))),
            "{status}"
        );
    }
    let leader = cluster.leader().expect("a leader after start");

    let db = format!("--db={remotes}");
    cluster
        .run("ovn-nbctl", &[&db, "ls-add", "sw0"])
        .expect("write through the cluster");

    let started = Instant::now();
    let new_leader = cluster.transfer_leadership().expect("transfer leadership");
    eprintln!("leadership moved in {:?}", started.elapsed());
    assert_ne!(new_leader, leader);

    let pid = cluster.pid(new_leader).expect("pid");
    cluster.kill(new_leader).expect("kill the leader");
    assert!(!process_alive(pid));
    let started = Instant::now();
    let third = cluster
        .wait_for_leader(Duration::from_secs(15))
        .expect("re-election");
    eprintln!("new leader elected {:?} after the kill", started.elapsed());
    assert_ne!(third, new_leader);

    cluster
        .run("ovn-nbctl", &[&db, "ls-add", "sw1"])
        .expect("write with two of three members");
    let out = cluster
        .run("ovn-nbctl", &[&db, "ls-list"])
        .expect("ls-list");
    let mut names: Vec<&str> = out
        .lines()
        .filter_map(|line| {
            line.split_once(" (")
                .map(|(_, name)| name.trim_end_matches(')'))
        })
        .collect();
    names.sort();
    assert_eq!(names, ["sw0", "sw1"]);

    cluster
        .restart(new_leader)
        .expect("restart the killed member");
    assert!(cluster.is_running(new_leader));
    let dir = cluster.dir().to_path_buf();
    let pids: Vec<u32> = (0..3).filter_map(|i| cluster.pid(i)).collect();
    assert_eq!(pids.len(), 3);
    drop(cluster);
    for pid in pids {
        assert!(!process_alive(pid), "member {pid} survived drop");
    }
    assert!(!dir.exists());
}

/// The server runs from the release `OVNLINK_OVN_ROOT` names (or the host's): its process's
/// root directory is the release's root, its version the release's Open vSwitch, and the
/// schema it serves the release's own.
#[test]
fn the_server_runs_from_the_chosen_release() {
    if !real_servers() {
        return;
    }
    let release = ovnlink_testkit::release::release();
    let server = OvsdbServer::start(OVN_NB_SCHEMA).expect("start ovsdb-server");
    let pid = server.pid().expect("pid");
    let root = std::fs::read_link(format!("/proc/{pid}/root")).expect("/proc/PID/root");
    let expected = release.root_dir().map_or_else(
        || std::path::PathBuf::from("/"),
        std::path::Path::to_path_buf,
    );
    assert_eq!(root, expected, "{}", release.describe());
    let version = server.appctl(&["version"]).expect("ovs-appctl version");
    assert!(
        version.contains(&format!(
            "ovsdb-server (Open vSwitch) {}",
            release.ovs_version()
        )),
        "{version} under {}",
        release.describe()
    );
    let schema_version = server
        .run(
            "ovsdb-client",
            &["get-schema-version", &server.remote(), "OVN_Northbound"],
        )
        .expect("get-schema-version");
    let installed = std::fs::read_to_string(release.host_path(OVN_NB_SCHEMA)).unwrap();
    assert!(
        installed.contains(&format!("\"version\": \"{}\"", schema_version.trim())),
        "server serves {schema_version}, the release installs another schema"
    );
}
