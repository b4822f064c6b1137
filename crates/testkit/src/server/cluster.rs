//! [`OvsdbCluster`]: an `n`-member Raft cluster of one database on the real `ovsdb-server`,
//! each member in its own directory, and what its members say in `cluster/status`.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// What a member says in `cluster/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RaftStatus {
    /// `Status:` line, e.g. `cluster member` or `joining cluster`.
    pub(super) status: String,
    /// `Role:` line: `leader`, `follower` or `candidate`.
    pub(super) role: String,
    /// `Term:` line.
    pub(super) term: u64,
}

pub(super) fn parse_cluster_status(text: &str) -> Option<RaftStatus> {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|value| value.trim().to_owned())
    };
    Some(RaftStatus {
        status: field("Status:")?,
        role: field("Role:")?,
        term: field("Term:")?.parse().ok()?,
    })
}

/// A Raft cluster of `ovsdb-server` processes serving one database, all on this machine.
///
/// Member `i` has its own directory `<dir>/s<i>` with its database file, unix socket, pid file
/// and log; Raft traffic goes over `tcp:127.0.0.1:<port>`. Everything is stopped and removed
/// on drop.
#[derive(Debug)]
pub struct OvsdbCluster {
    // Field order matters: the members are stopped before the directory is removed.
    members: Vec<Daemon>,
    raft_addresses: Vec<String>,
    db_name: String,
    dir: tempfile::TempDir,
}

impl OvsdbCluster {
    /// Creates a cluster of `n` members from `schema` and waits until every member has
    /// joined and a leader is elected, at most [`DEFAULT_CLUSTER_TIMEOUT`].
    ///
    /// Member 0 creates the cluster (`ovsdb-tool create-cluster`); the others join it
    /// (`ovsdb-tool join-cluster`, naming every member before them).
    ///
    /// # Panics
    ///
    /// When `n` is 0.
    pub fn start(schema: impl AsRef<Path>, n: usize) -> io::Result<Self> {
        Self::start_with_timeout(schema, n, DEFAULT_CLUSTER_TIMEOUT)
    }

    /// Like [`start`](Self::start), waiting at most `timeout` for the cluster to form.
    ///
    /// # Panics
    ///
    /// When `n` is 0.
    pub fn start_with_timeout(
        schema: impl AsRef<Path>,
        n: usize,
        timeout: Duration,
    ) -> io::Result<Self> {
        assert!(n > 0, "a cluster needs at least one member");
        let schema = schema.as_ref();
        let db_name = schema_name(schema)?;
        let dir = temp_dir("ovsdb-cluster-")?;
        // Reserve distinct ports now; each is released just before its member binds it.
        let mut reservations = (0..n)
            .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .collect::<io::Result<Vec<_>>>()?;
        let raft_addresses = reservations
            .iter()
            .map(|listener| Ok(format!("tcp:127.0.0.1:{}", listener.local_addr()?.port())))
            .collect::<io::Result<Vec<_>>>()?;

        let mut cluster = OvsdbCluster {
            members: Vec::with_capacity(n),
            raft_addresses,
            db_name,
            dir,
        };
        for i in 0..n {
            let member_dir = cluster.dir.path().join(format!("s{i}"));
            fs::create_dir(&member_dir)?;
            let db_file = member_dir.join(format!("{}.db", cluster.db_name));
            let db = path_str(&db_file)?;
            let local = cluster.raft_addresses[i].as_str();
            if i == 0 {
                let schema = reachable_schema(schema, cluster.dir.path())?;
                run(
                    "ovsdb-tool",
                    &["create-cluster", db, path_str(&schema)?, local],
                )?;
            } else {
                let mut args = vec!["join-cluster", db, cluster.db_name.as_str(), local];
                args.extend(cluster.raft_addresses[..i].iter().map(String::as_str));
                run("ovsdb-tool", &args)?;
            }
            let mut daemon = Daemon {
                dir: member_dir,
                db_files: vec![db_file.clone()],
                tcp: false,
                tcp_port: None,
                extra_args: Vec::new(),
                startup_timeout: DEFAULT_STARTUP_TIMEOUT,
                pid: None,
            };
            drop(reservations.remove(0));
            daemon.start()?;
            cluster.members.push(daemon);
        }
        cluster.wait_formed(timeout)?;
        Ok(cluster)
    }

    /// Waits until every member reports `Status: cluster member` and one is leader.
    fn wait_formed(&self, timeout: Duration) -> io::Result<()> {
        let formed = wait_until(timeout, || {
            let statuses: Vec<Option<RaftStatus>> =
                (0..self.len()).map(|i| self.raft_status(i)).collect();
            statuses
                .iter()
                .all(|s| s.as_ref().is_some_and(|s| s.status == "cluster member"))
                && statuses
                    .iter()
                    .any(|s| s.as_ref().is_some_and(|s| s.role == "leader"))
        });
        if formed {
            return Ok(());
        }
        let mut report = format!("cluster did not form within {timeout:?}");
        for i in 0..self.len() {
            let status = self
                .status(i)
                .unwrap_or_else(|err| format!("cluster/status failed: {err}"));
            report.push_str(&format!(
                "\n=== member {i} ===\n{}{}",
                status.trim_end(),
                self.members[i].diagnostics()
            ));
        }
        Err(io::Error::other(report))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always `false`: a cluster has at least one member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Name of the clustered database, from the schema.
    pub fn db_name(&self) -> &str {
        &self.db_name
    }

    /// The cluster's temporary directory; member `i` lives in `s<i>` below it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Directory of member `i`.
    ///
    /// # Panics
    ///
    /// When `i >= len()`, here and in every method that takes a member index.
    pub fn member_dir(&self, i: usize) -> &Path {
        &self.members[i].dir
    }

    /// Path of member `i`'s unix socket.
    pub fn unix_path(&self, i: usize) -> PathBuf {
        self.members[i].sock()
    }

    /// The connection method of member `i`: `unix:<path>`.
    pub fn remote(&self, i: usize) -> String {
        format!("unix:{}", self.members[i].sock().display())
    }

    /// The connection methods of all members, comma-separated: `unix:a,unix:b,unix:c`, the
    /// form clients take for a clustered database.
    pub fn remotes(&self) -> String {
        (0..self.len())
            .map(|i| self.remote(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Raft address of member `i`, `tcp:127.0.0.1:<port>`.
    pub fn raft_address(&self, i: usize) -> &str {
        &self.raft_addresses[i]
    }

    /// Pid of member `i`, `None` when it is stopped or killed.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members[i].pid
    }

    /// Whether member `i`'s process is alive.
    pub fn is_running(&self, i: usize) -> bool {
        self.members[i].is_running()
    }

    /// Contents of member `i`'s log file.
    pub fn log(&self, i: usize) -> String {
        self.members[i].log()
    }

    /// Output of `ovs-appctl cluster/status <db>` on member `i`.
    pub fn status(&self, i: usize) -> io::Result<String> {
        self.appctl(i, &["cluster/status", &self.db_name])
    }

    fn raft_status(&self, i: usize) -> Option<RaftStatus> {
        if !self.members[i].is_running() {
            return None;
        }
        self.status(i)
            .ok()
            .and_then(|text| parse_cluster_status(&text))
    }

    /// Index of the member that says it is leader, asking every running member. If more than
    /// one does (a deposed leader that has not noticed yet), the one with the highest term.
    /// `None` while an election is under way.
    pub fn leader(&self) -> Option<usize> {
        (0..self.len())
            .filter_map(|i| self.raft_status(i).map(|status| (i, status)))
            .filter(|(_, status)| status.role == "leader")
            .max_by_key(|(_, status)| status.term)
            .map(|(i, _)| i)
    }

    /// Waits until some member is leader and returns its index.
    pub fn wait_for_leader(&self, timeout: Duration) -> io::Result<usize> {
        let mut leader = None;
        if wait_until(timeout, || {
            leader = self.leader();
            leader.is_some()
        }) {
            if let Some(leader) = leader {
                return Ok(leader);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no leader elected within {timeout:?}"),
        ))
    }

    /// Makes the current leader hand leadership to another member, and returns the new
    /// leader's index once it has taken over.
    ///
    /// Uses `ovs-appctl cluster/failure-test transfer-leadership`, which makes the leader
    /// transfer leadership as it does before writing a snapshot. `cluster/leave` is not a
    /// transfer: it removes the member from the cluster for good.
    pub fn transfer_leadership(&self) -> io::Result<usize> {
        let timeout = Duration::from_secs(10);
        let old = self.wait_for_leader(timeout)?;
        self.appctl(old, &["cluster/failure-test", "transfer-leadership"])?;
        let mut new = None;
        if wait_until(timeout, || {
            new = self.leader().filter(|&leader| leader != old);
            new.is_some()
        }) {
            if let Some(new) = new {
                return Ok(new);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("member {old} did not hand leadership over within {timeout:?}"),
        ))
    }

    /// Kills member `i` with SIGKILL, as a crash would; its files stay.
    pub fn kill(&mut self, i: usize) -> io::Result<()> {
        self.members[i].kill_hard()
    }

    /// Stops member `i` (SIGTERM, SIGKILL after a short grace); its files stay.
    pub fn stop(&mut self, i: usize) -> io::Result<()> {
        self.members[i].stop()
    }

    /// Stops member `i` if it runs and starts it again from its database file, on the same
    /// socket and Raft address. Waits only until its socket accepts connections, not until it
    /// has caught up with the cluster.
    pub fn restart(&mut self, i: usize) -> io::Result<()> {
        let member = &mut self.members[i];
        member.stop()?;
        member.start()
    }

    /// Runs `ovs-appctl` against member `i`'s control socket, for example
    /// `cluster.appctl(0, &["cluster/change-election-timer", "OVN_Northbound", "2000"])`.
    pub fn appctl(&self, i: usize, args: &[&str]) -> io::Result<String> {
        self.members[i].appctl(args)
    }

    /// Runs a command-line tool and returns its standard output; see the free function [`run`].
    pub fn run(&self, program: &str, args: &[&str]) -> io::Result<String> {
        run(program, args)
    }
}
