//! A real OVN interconnection lab on one machine: global IC-NB and IC-SB `ovsdb-server`s and,
//! per availability zone, NB and SB `ovsdb-server`s, an `ovn-northd`, and an interconnection
//! daemon (the real `ovn-ic` or our `ic-routed`). Everything lives in one temp dir, talks
//! over unix sockets, and is stopped on drop, even when a test fails. The real programs are
//! those of the current [`release`](crate::release::release): the host's, or a Debian root's
//! under `chroot`; `ic-routed` always runs on the host, with host paths.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::server::{
    process_alive, require_binaries, require_files, run, send_signal, OvsdbServer,
    OVN_IC_NB_SCHEMA, OVN_IC_SB_SCHEMA, OVN_NB_SCHEMA, OVN_SB_SCHEMA,
};

/// The binaries a lab needs besides `ovsdb-server`.
pub const OVN_BINARIES: &[&str] = &[
    "ovsdb-server",
    "ovn-northd",
    "ovn-ic",
    "ovn-nbctl",
    "ovn-sbctl",
    "ovn-ic-nbctl",
    "ovn-ic-sbctl",
];

/// Whether the real OVN binaries and schemas are here (see [`crate::server::real_servers`]
/// for the skip policy: with `OVNLINK_REAL_TESTS=1` a missing binary is a failure).
pub fn real_ovn() -> bool {
    require_binaries(OVN_BINARIES)
        && require_files(&[
            OVN_NB_SCHEMA,
            OVN_SB_SCHEMA,
            OVN_IC_NB_SCHEMA,
            OVN_IC_SB_SCHEMA,
        ])
}

/// Which interconnection daemon a zone runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IcDaemon {
    /// Debian's `ovn-ic`.
    OvnIc,
    /// `ic-routed` at this path (an integration test passes
    /// `env!("CARGO_BIN_EXE_ic-routed")`).
    IcRouted(PathBuf),
}

/// A daemon started with `--detach --pidfile`, stopped by its pid file.
#[derive(Debug)]
pub struct Detached {
    name: String,
    pidfile: PathBuf,
    logfile: PathBuf,
    ctl: PathBuf,
}

impl Detached {
    fn start(program: &Path, name: &str, dir: &Path, args: &[String]) -> io::Result<Detached> {
        let pidfile = dir.join(format!("{name}.pid"));
        let logfile = dir.join(format!("{name}.log"));
        let ctl = dir.join(format!("{name}.ctl"));
        let _ = fs::remove_file(&pidfile);
        let mut all = vec![
            "--detach".to_owned(),
            "--no-chdir".to_owned(),
            format!("--pidfile={}", pidfile.display()),
            format!("--log-file={}", logfile.display()),
            format!("--unixctl={}", ctl.display()),
        ];
        all.extend(args.iter().cloned());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let program = program
            .to_str()
            .ok_or_else(|| io::Error::other("non-UTF-8 path"))?;
        run(program, &refs)?;
        let d = Detached {
            name: name.to_owned(),
            pidfile,
            logfile,
            ctl,
        };
        if !wait_for(Duration::from_secs(10), || d.pid().is_some()) {
            return Err(io::Error::other(format!(
                "{name} wrote no pid file; log:\n{}",
                d.log()
            )));
        }
        Ok(d)
    }

    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        let pid = fs::read_to_string(&self.pidfile)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        process_alive(pid).then_some(pid)
    }

    /// The control socket (for `ovn-appctl -t`).
    pub fn ctl(&self) -> &Path {
        &self.ctl
    }

    /// The log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.logfile).unwrap_or_default()
    }

    /// SIGTERM, then SIGKILL after 3 s; waits until the process is gone.
    pub fn stop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = send_signal(pid, "TERM");
            if !wait_for(Duration::from_secs(3), || !process_alive(pid)) {
                self.kill_hard();
            }
        }
        let _ = fs::remove_file(&self.pidfile);
    }

    /// SIGKILL, as a crash.
    pub fn kill_hard(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = send_signal(pid, "KILL");
            wait_for(Duration::from_secs(5), || !process_alive(pid));
        }
    }

    /// The daemon's name in the lab.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One availability zone: NB, SB, northd and (once started) its interconnection daemons.
#[derive(Debug)]
pub struct Zone {
    /// The zone's name (`NB_Global.name`).
    pub name: String,
    // Field order matters for drop: daemons first, then the servers.
    ics: Vec<Detached>,
    northd: Detached,
    /// The zone's NB server.
    pub nb: OvsdbServer,
    /// The zone's SB server.
    pub sb: OvsdbServer,
    dir: PathBuf,
}

impl Zone {
    /// `ovn-nbctl` against this zone's NB.
    pub fn nbctl(&self, args: &[&str]) -> io::Result<String> {
        ctl("ovn-nbctl", &self.nb, args)
    }

    /// `ovn-sbctl` against this zone's SB.
    pub fn sbctl(&self, args: &[&str]) -> io::Result<String> {
        ctl("ovn-sbctl", &self.sb, args)
    }

    /// Sets `options` (each `options:KEY=VALUE`) of this zone's `NB_Global`.
    pub fn set_nb_options(&self, options: &[&str]) -> io::Result<String> {
        let mut args = vec!["set", "NB_Global", "."];
        args.extend_from_slice(options);
        self.nbctl(&args)
    }

    /// Starts an interconnection daemon for this zone (a second one is a standby).
    pub fn start_ic(&mut self, which: &IcDaemon, ic_nb: &str, ic_sb: &str) -> io::Result<()> {
        self.start_ic_with_args(which, ic_nb, ic_sb, &[])
    }

    /// Whether this zone's NB has a logical switch named `name`.
    pub fn has_switch(&self, name: &str) -> bool {
        self.nbctl(&[
            "--bare",
            "--columns=name",
            "find",
            "Logical_Switch",
            &format!("name={name}"),
        ])
        .is_ok_and(|s| s.trim() == name)
    }

    /// The interconnection daemons started so far, oldest first.
    pub fn ics(&mut self) -> &mut Vec<Detached> {
        &mut self.ics
    }

    /// `ovn-northd` of this zone.
    pub fn northd(&self) -> &Detached {
        &self.northd
    }

    /// The routes of `router` as `ovn-nbctl lr-route-list` prints them.
    pub fn routes(&self, router: &str) -> io::Result<String> {
        self.nbctl(&["lr-route-list", router])
    }

    /// The logs of this zone's daemons, for failure messages.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for d in self.ics.iter().chain(std::iter::once(&self.northd)) {
            let log = d.log();
            let lines: Vec<&str> = log.lines().collect();
            s.push_str(&format!(
                "--- {} {} (last 40 lines)\n{}\n",
                self.name,
                d.name(),
                lines[lines.len().saturating_sub(40)..].join("\n")
            ));
        }
        s
    }
}

/// A lab: global IC databases plus zones.
#[derive(Debug)]
pub struct IcLab {
    /// The zones, in creation order.
    pub zones: Vec<Zone>,
    /// `OVN_IC_Northbound`.
    pub ic_nb: OvsdbServer,
    /// `OVN_IC_Southbound`.
    pub ic_sb: OvsdbServer,
    dir: tempfile::TempDir,
}

impl IcLab {
    /// Starts the IC databases and `n` zones named `az1`…`azN` (NB, SB, northd; no
    /// interconnection daemon yet), with `NB_Global.name` set and route advertisement and
    /// learning enabled, as upstream's tests do.
    pub fn start(n: usize) -> io::Result<IcLab> {
        IcLab::start_with_ic_server_args(n, &[])
    }

    /// Adds a zone named `name`.
    pub fn add_zone(&mut self, name: &str) -> io::Result<&mut Zone> {
        let zdir = self.dir.path().join(name);
        fs::create_dir_all(&zdir)?;
        let nb = OvsdbServer::start(OVN_NB_SCHEMA)?;
        let sb = OvsdbServer::start(OVN_SB_SCHEMA)?;
        let northd_bin = crate::server::find_binary("ovn-northd")
            .ok_or_else(|| io::Error::other("ovn-northd not found"))?;
        let northd = Detached::start(
            &northd_bin,
            "ovn-northd",
            &zdir,
            &[
                format!("--ovnnb-db={}", nb.remote()),
                format!("--ovnsb-db={}", sb.remote()),
            ],
        )?;
        let zone = Zone {
            name: name.to_owned(),
            ics: Vec::new(),
            northd,
            nb,
            sb,
            dir: zdir,
        };
        zone.nbctl(&["init"])?;
        zone.nbctl(&[
            "set",
            "NB_Global",
            ".",
            &format!("name={name}"),
            "options:ic-route-adv=true",
            "options:ic-route-learn=true",
        ])?;
        self.zones.push(zone);
        Ok(self.zones.last_mut().expect("just pushed"))
    }

    /// Starts `which` in zone `i` (0-based).
    pub fn start_ic(&mut self, i: usize, which: &IcDaemon) -> io::Result<()> {
        let (nb, sb) = (self.ic_nb.remote(), self.ic_sb.remote());
        self.zones[i].start_ic(which, &nb, &sb)
    }

    /// `ovn-ic-nbctl` against IC-NB.
    pub fn ic_nbctl(&self, args: &[&str]) -> io::Result<String> {
        ctl("ovn-ic-nbctl", &self.ic_nb, args)
    }

    /// `ovn-ic-sbctl` against IC-SB.
    pub fn ic_sbctl(&self, args: &[&str]) -> io::Result<String> {
        ctl("ovn-ic-sbctl", &self.ic_sb, args)
    }

    /// Waits up to `timeout` until zone `zone`'s daemon has created the NB logical switch of
    /// transit switch `ts`; true if it did.
    pub fn wait_switch(&self, zone: usize, ts: &str, timeout: Duration) -> bool {
        wait_for(timeout, || self.zones[zone].has_switch(ts))
    }

    /// Waits until the static routes of `zones` stay the same for a second (daemons still
    /// learning), then until each zone's northd has caught up (`ovn-nbctl --wait=sb sync`).
    ///
    /// # Panics
    ///
    /// When the routes do not settle within 30 s, or a sync fails.
    pub fn settle(&self, zones: &[usize]) {
        let routes = || {
            zones
                .iter()
                .map(|&i| {
                    self.zones[i]
                        .nbctl(&[
                            "--bare",
                            "--columns=ip_prefix,nexthop",
                            "list",
                            "Logical_Router_Static_Route",
                        ])
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
        };
        let mut last = routes();
        let mut stable = 0;
        let ok = wait_for(Duration::from_secs(30), || {
            std::thread::sleep(Duration::from_millis(200));
            let now = routes();
            stable = if now == last { stable + 1 } else { 0 };
            last = now;
            stable >= 5
        });
        assert!(ok, "routes never settled\n{}", self.logs());
        for &i in zones {
            self.zones[i].nbctl(&["--wait=sb", "sync"]).expect("sync");
        }
    }

    /// Every daemon's log tail, for failure messages, after the release the lab runs.
    pub fn logs(&self) -> String {
        let mut s = format!("--- release: {}\n", crate::release::release().describe());
        s.extend(self.zones.iter().map(Zone::logs));
        s
    }

    /// The lab's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Upstream's usual start: transit switch `ts` and, in zone `i` (1-based) of every
    /// zone, router `lr<i>` attached to it through MAC `aa:aa:aa:aa:aa:0<i>` and
    /// `<net>.<i>/24`, once the zone's daemon has made its copy of the switch.
    ///
    /// # Panics
    ///
    /// When a zone never gets the switch (within `timeout`) or a command fails.
    pub fn join_routers(&self, ts: &str, net: &str, timeout: Duration) {
        self.ic_nbctl(&["ts-add", ts]).expect("ts-add");
        for i in 1..=self.zones.len() {
            assert!(
                self.wait_switch(i - 1, ts, timeout),
                "transit switch {ts} never reached {}\n{}",
                self.zones[i - 1].name,
                self.logs()
            );
            self.attach_router(
                i - 1,
                &format!("lr{i}"),
                ts,
                &format!("aa:aa:aa:aa:aa:0{i}"),
                &[&format!("{net}.{i}/24")],
            )
            .expect("attach router");
        }
    }

    /// A lab with one zone per entry of `daemons`, zone `i` (0-based) running `daemons[i]`
    /// with the extra arguments `extra[i]` (none where `extra` is shorter).
    pub fn start_daemons(daemons: &[IcDaemon], extra: &[Vec<String>]) -> io::Result<IcLab> {
        let mut lab = IcLab::start(daemons.len())?;
        for (i, which) in daemons.iter().enumerate() {
            let args = extra.get(i).map_or(&[][..], Vec::as_slice);
            lab.start_ic_with_args(i, which, args)?;
        }
        Ok(lab)
    }

    /// The start of most upstream scenarios: [`IcLab::start_daemons`], then transit switch
    /// `ts1` with router `lr<i>` of zone `i` (1-based) on `<net>.<i>/24`
    /// ([`IcLab::join_routers`]).
    ///
    /// # Panics
    ///
    /// When the lab or a daemon does not start, or as [`IcLab::join_routers`] does.
    pub fn start_ts1(
        daemons: &[IcDaemon],
        extra: &[Vec<String>],
        net: &str,
        timeout: Duration,
    ) -> IcLab {
        let lab = IcLab::start_daemons(daemons, extra).expect("lab and daemons start");
        lab.join_routers("ts1", net, timeout);
        lab
    }

    /// Builds upstream's usual per-zone router: `lr<N>` attached to transit switch `ts`
    /// through `lrp-lr<N>-<ts>` (`mac`, `networks`) and switch port `lsp-<ts>-lr<N>`, with
    /// the port's gateway chassis set so northd binds it like upstream's tests.
    pub fn attach_router(
        &self,
        zone: usize,
        router: &str,
        ts: &str,
        mac: &str,
        networks: &[&str],
    ) -> io::Result<()> {
        let z = &self.zones[zone];
        let lrp = format!("lrp-{router}-{ts}");
        let lsp = format!("lsp-{ts}-{router}");
        z.nbctl(&["--may-exist", "lr-add", router])?;
        let mut args = vec!["lrp-add", router, &lrp, mac];
        args.extend_from_slice(networks);
        z.nbctl(&args)?;
        let args = router_lsp_args(ts, &lsp, &lrp);
        z.nbctl(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
        Ok(())
    }
}

/// The `ovn-nbctl` arguments that add switch port `lsp` to `switch` as the router-type peer
/// of router port `lrp` (`lsp-add`, `lsp-set-type router`, `lsp-set-addresses router`,
/// `lsp-set-options router-port=…`, in one transaction).
pub fn router_lsp_args(switch: &str, lsp: &str, lrp: &str) -> Vec<String> {
    [
        "lsp-add",
        switch,
        lsp,
        "--",
        "lsp-set-type",
        lsp,
        "router",
        "--",
        "lsp-set-addresses",
        lsp,
        "router",
        "--",
        "lsp-set-options",
        lsp,
        &format!("router-port={lrp}"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Runs an OVN `*ctl` tool with `--db=` the server's unix remote.
fn ctl(program: &str, server: &OvsdbServer, args: &[&str]) -> io::Result<String> {
    let db = format!("--db={}", server.remote());
    let mut all = vec![db.as_str()];
    all.extend_from_slice(args);
    run(program, &all)
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; true if it held.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Zone {
    /// Like [`Zone::start_ic`], with `extra` arguments after the database flags (for
    /// example `ic-routed`'s `--isolation-policy=FILE --isolation-inventory=FILE`).
    pub fn start_ic_with_args(
        &mut self,
        which: &IcDaemon,
        ic_nb: &str,
        ic_sb: &str,
        extra: &[String],
    ) -> io::Result<()> {
        let (program, base) = match which {
            IcDaemon::OvnIc => (
                crate::server::find_binary("ovn-ic")
                    .ok_or_else(|| io::Error::other("ovn-ic not found"))?,
                "ovn-ic",
            ),
            IcDaemon::IcRouted(p) => (p.clone(), "ic-routed"),
        };
        let name = format!("{base}-{}", self.ics.len());
        let mut args = vec![
            format!("--ovnnb-db={}", self.nb.remote()),
            format!("--ovnsb-db={}", self.sb.remote()),
            format!("--ic-nb-db={ic_nb}"),
            format!("--ic-sb-db={ic_sb}"),
        ];
        args.extend(extra.iter().cloned());
        let d = Detached::start(&program, &name, &self.dir, &args)?;
        self.ics.push(d);
        Ok(())
    }

    /// `ovn-trace --db=<this zone's SB> DATAPATH MICROFLOW`: the detailed trace text.
    pub fn trace(&self, datapath: &str, microflow: &str) -> io::Result<String> {
        let db = format!("--db={}", self.sb.remote());
        run("ovn-trace", &[&db, datapath, microflow])
    }

    /// `ovsdb-client -f json dump` of this zone's `OVN_Northbound`.
    pub fn nb_dump(&self) -> io::Result<String> {
        self.nb.run(
            "ovsdb-client",
            &["-f", "json", "dump", &self.nb.remote(), "OVN_Northbound"],
        )
    }
}

impl IcLab {
    /// Like [`IcLab::start_ic`], with `extra` daemon arguments.
    pub fn start_ic_with_args(
        &mut self,
        i: usize,
        which: &IcDaemon,
        extra: &[String],
    ) -> io::Result<()> {
        let (nb, sb) = (self.ic_nb.remote(), self.ic_sb.remote());
        self.zones[i].start_ic_with_args(which, &nb, &sb, extra)
    }

    /// `ovsdb-client -f json dump` of `OVN_IC_Northbound` and `OVN_IC_Southbound`.
    pub fn ic_dumps(&self) -> io::Result<(String, String)> {
        let nb = self.ic_nb.run(
            "ovsdb-client",
            &[
                "-f",
                "json",
                "dump",
                &self.ic_nb.remote(),
                "OVN_IC_Northbound",
            ],
        )?;
        let sb = self.ic_sb.run(
            "ovsdb-client",
            &[
                "-f",
                "json",
                "dump",
                &self.ic_sb.remote(),
                "OVN_IC_Southbound",
            ],
        )?;
        Ok((nb, sb))
    }
}

impl IcLab {
    /// Like [`IcLab::start`], with `server_args` passed to both IC databases'
    /// `ovsdb-server`s besides their unix socket: for example `--remote=pssl:0:127.0.0.1`
    /// with `--private-key=FILE`, `--certificate=FILE` and `--ca-cert=FILE` to serve them
    /// over TLS on loopback too ([`listening_port`] tells the port the kernel chose). The
    /// lab's own `ovn-ic-nbctl`/`ovn-ic-sbctl` calls keep using the unix sockets.
    pub fn start_with_ic_server_args(n: usize, server_args: &[String]) -> io::Result<IcLab> {
        let dir = crate::release::release().tempdir("iclab")?;
        let server = |schema: &str| {
            server_args
                .iter()
                .fold(OvsdbServer::builder().database(schema), |b, arg| {
                    b.arg(arg.clone())
                })
                .start()
        };
        let ic_nb = server(OVN_IC_NB_SCHEMA)?;
        let ic_sb = server(OVN_IC_SB_SCHEMA)?;
        let mut lab = IcLab {
            zones: Vec::new(),
            ic_nb,
            ic_sb,
            dir,
        };
        lab.ic_nbctl(&["init"])?;
        lab.ic_sbctl(&["init"])?;
        for i in 1..=n {
            lab.add_zone(&format!("az{i}"))?;
        }
        Ok(lab)
    }
}

/// The port `server` listens on for an extra `--remote=ptcp:0:127.0.0.1` or
/// `--remote=pssl:0:127.0.0.1` argument: the first `127.0.0.1: listening on port N` line
/// of its log, waited for up to `timeout`.
pub fn listening_port(server: &OvsdbServer, timeout: Duration) -> io::Result<u16> {
    let mut port = None;
    wait_for(timeout, || {
        port = server.log().lines().find_map(|line| {
            let (_, rest) = line.split_once("127.0.0.1: listening on port ")?;
            rest.trim().parse::<u16>().ok()
        });
        port.is_some()
    });
    port.ok_or_else(|| {
        io::Error::other(format!(
            "ovsdb-server logged no listening port within {timeout:?}:\n{}",
            server.log()
        ))
    })
}
