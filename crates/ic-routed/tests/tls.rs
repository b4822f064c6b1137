//! `ic-routed` over TLS against the real OVN 23.03 `ovsdb-server`.
//!
//! Each test builds two independent PKIs with `ovs-pki` in a temp dir: the "good" one signs
//! the IC databases' server certificate and the zones' client certificates; the "other" one
//! stands for a wrong CA. The IC-NB and IC-SB `ovsdb-server`s listen on `pssl:0:127.0.0.1`
//! (loopback only, port chosen by the kernel) besides their unix socket; every `ic-routed`
//! reaches them through `ssl:127.0.0.1:PORT` only (each zone's NB and SB stay on unix
//! sockets). Without the OVN binaries or `ovs-pki` the tests are skipped, or fail when
//! `OVNLINK_REAL_TESTS=1`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ovnlink_testkit::ovn::{listening_port, real_ovn, wait_for, IcDaemon, IcLab};
use ovnlink_testkit::pki::{self, Pki};
use ovnlink_testkit::server::require_binaries;

const CONVERGE: Duration = Duration::from_secs(30);

/// How long a refused zone is watched for (it must stay out of IC-SB all along).
const REFUSED_FOR: Duration = Duration::from_secs(5);

fn enabled() -> bool {
    real_ovn() && require_binaries(&["ovs-pki", "openssl"])
}

fn ic_routed() -> IcDaemon {
    IcDaemon::IcRouted(PathBuf::from(env!("CARGO_BIN_EXE_ic-routed")))
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A key and certificate made by `ovs-pki req+sign`, with the CA its holder trusts.
struct Party {
    key: PathBuf,
    cert: PathBuf,
    ca: PathBuf,
}

impl Party {
    /// The `--private-key`, `--certificate` and `--ca-cert` arguments of a daemon.
    fn args(&self) -> Vec<String> {
        vec![
            format!("--private-key={}", path_str(&self.key)),
            format!("--certificate={}", path_str(&self.cert)),
            format!("--ca-cert={}", path_str(&self.ca)),
        ]
    }
}

/// The subject of a CA certificate, as `openssl x509 -subject` prints it.
fn subject(ca: &Path) -> String {
    let dir = ca.parent().expect("CA dir");
    pki::run_in(
        dir,
        "openssl",
        &["x509", "-noout", "-subject", "-in", path_str(ca)],
    )
    .expect("openssl x509")
}

/// Issues a `switch` certificate for `name` from `pki`, trusting that PKI's CA.
fn issue(pki: &Pki, name: &str) -> Party {
    let issued = pki.issue(name).expect("ovs-pki req+sign");
    Party {
        key: issued.key,
        cert: issued.cert,
        ca: pki.ca(),
    }
}

/// The good PKI and the other one (a wrong CA), in one temp dir.
struct Pkis {
    good: Pki,
    other: Pki,
    _tmp: tempfile::TempDir,
}

impl Pkis {
    fn new() -> Pkis {
        let tmp = ovnlink_testkit::release::tempdir("icr-tls-").expect("tempdir");
        let (good, other) = Pki::distinct_pair(tmp.path(), subject).expect("ovs-pki init");
        Pkis {
            good,
            other,
            _tmp: tmp,
        }
    }
}

/// A lab of `zones` zones (no daemon yet) whose IC-NB and IC-SB serve `pssl:0:127.0.0.1`
/// with `server`'s certificate, and the `ssl:` remotes of the two.
fn tls_lab(zones: usize, server: &Party) -> (IcLab, String, String) {
    let mut args = vec!["--remote=pssl:0:127.0.0.1".to_owned()];
    args.extend(server.args());
    let lab = IcLab::start_with_ic_server_args(zones, &args).expect("lab starts");
    let nb = listening_port(&lab.ic_nb, CONVERGE).expect("IC-NB pssl port");
    let sb = listening_port(&lab.ic_sb, CONVERGE).expect("IC-SB pssl port");
    (
        lab,
        format!("ssl:127.0.0.1:{nb}"),
        format!("ssl:127.0.0.1:{sb}"),
    )
}

/// Creates transit switch `ts1`, waits until both zones have it, and attaches router `lrN`
/// of zone `azN` to it with address `169.254.100.N/24`.
fn join_ts1(lab: &mut IcLab) {
    lab.join_routers("ts1", "169.254.100", CONVERGE);
}

/// The names in IC-SB's `Availability_Zone` table, sorted.
fn registered_zones(lab: &IcLab) -> Vec<String> {
    let out = lab
        .ic_sbctl(&["--bare", "--columns=name", "list", "Availability_Zone"])
        .unwrap_or_default();
    let mut names: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
    names.sort();
    names
}

/// Waits until `log_of()` has, for each of `remotes`, a line that names the remote and
/// contains `problem`; panics with the log otherwise.
fn expect_refusal(remotes: &[&str], problem: &str, mut log_of: impl FnMut() -> String) -> String {
    let mut log = String::new();
    let named = |log: &str| {
        remotes.iter().all(|remote| {
            log.lines()
                .any(|l| l.contains(&format!("remote={remote} ")) && l.contains(problem))
        })
    };
    let ok = wait_for(CONVERGE, || {
        log = log_of();
        named(&log)
    });
    assert!(
        ok,
        "no `{problem}` for each of {remotes:?} in the ic-routed log:\n{log}"
    );
    log
}

/// Checks for [`REFUSED_FOR`] that zone `zone` stays out of IC-SB (only `az1` and `az2` are
/// registered) and gets no transit switch, while its `ic-routed` keeps running.
fn expect_kept_out(lab: &mut IcLab, zone: usize) {
    let start = Instant::now();
    while start.elapsed() < REFUSED_FOR {
        assert_eq!(registered_zones(lab), ["az1", "az2"], "{}", lab.logs());
        assert!(!lab.zones[zone].has_switch("ts1"), "{}", lab.logs());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        lab.zones[zone].ics()[0].pid().is_some(),
        "{}'s ic-routed exited instead of retrying:\n{}",
        lab.zones[zone].name,
        lab.logs()
    );
}

/// Two zones exchange a route through IC databases reached over TLS only. Then two zones
/// whose certificate comes from the other PKI are refused, and each `ic-routed` log names
/// the problem: one trusts the other CA (so it rejects the server's certificate), one
/// trusts the good CA (so the server rejects its certificate). Neither ever registers in
/// IC-SB.
#[test]
fn routes_over_tls_and_wrong_ca_is_refused() {
    if !enabled() {
        return;
    }
    let pkis = Pkis::new();
    let server = issue(&pkis.good, "icdb");
    let (mut lab, ic_nb, ic_sb) = tls_lab(2, &server);
    let remotes = [ic_nb.as_str(), ic_sb.as_str()];

    for (i, zone) in lab.zones.iter_mut().enumerate() {
        let client = issue(&pkis.good, &format!("az{}", i + 1));
        zone.start_ic_with_args(&ic_routed(), &ic_nb, &ic_sb, &client.args())
            .expect("ic-routed starts");
    }
    join_ts1(&mut lab);
    // The lab enables route advertisement and learning in every zone's NB_Global.
    for zone in &lab.zones {
        for option in ["options:ic-route-adv", "options:ic-route-learn"] {
            let value = zone.nbctl(&["get", "NB_Global", ".", option]).unwrap();
            assert_eq!(value.trim(), "\"true\"", "{} {option}", zone.name);
        }
    }
    lab.zones[0]
        .nbctl(&["lr-route-add", "lr1", "10.11.1.0/24", "169.254.0.1"])
        .unwrap();
    let expected = "IPv4 Routes
Route Table <main>:
             10.11.1.0/24             169.254.100.1 dst-ip (learned)
";
    let mut last = String::new();
    let learned = wait_for(CONVERGE, || {
        last = lab.zones[1].routes("lr2").unwrap_or_default();
        last == expected
    });
    assert!(
        learned,
        "az2 lr-route-list lr2:\n{last}\nexpected:\n{expected}\n{}",
        lab.logs()
    );
    assert_eq!(registered_zones(&lab), ["az1", "az2"]);
    for zone in &mut lab.zones {
        let log = zone.ics()[0].log();
        for remote in remotes {
            assert!(
                log.contains(&format!("ovsdb session ready remote={remote} ")),
                "{}'s ic-routed never reached {remote}:\n{log}",
                zone.name
            );
        }
    }

    // A zone with a certificate of the other PKI that trusts the other CA: it rejects the
    // IC databases' certificate.
    let stranger = issue(&pkis.other, "az3");
    let az3 = lab.add_zone("az3").expect("zone az3 starts");
    az3.start_ic_with_args(&ic_routed(), &ic_nb, &ic_sb, &stranger.args())
        .expect("ic-routed starts (it connects in the background)");
    let log = expect_refusal(
        &remotes,
        "server certificate is not signed by the configured CA",
        || lab.zones[2].ics()[0].log(),
    );
    eprintln!("az3 ic-routed log:\n{log}");
    expect_kept_out(&mut lab, 2);

    // A zone with a certificate of the other PKI that trusts the good CA: the IC databases
    // reject its certificate and say so in a TLS alert.
    let foreign = Party {
        ca: pkis.good.ca(),
        ..issue(&pkis.other, "az4")
    };
    let az4 = lab.add_zone("az4").expect("zone az4 starts");
    az4.start_ic_with_args(&ic_routed(), &ic_nb, &ic_sb, &foreign.args())
        .expect("ic-routed starts (it connects in the background)");
    let log = expect_refusal(&remotes, "received fatal alert: UnknownCA", || {
        lab.zones[3].ics()[0].log()
    });
    eprintln!("az4 ic-routed log:\n{log}");
    expect_kept_out(&mut lab, 3);
    for server in [&lab.ic_nb, &lab.ic_sb] {
        let log = server.log();
        assert!(
            log.contains("SSL_accept: error:0A000086:SSL routines::certificate verify failed"),
            "the IC server did not log the rejected certificate:\n{log}"
        );
    }
}

/// A mixed deployment over TLS: `ic-routed` in one zone, Debian's `ovn-ic` in the other,
/// both reaching the IC databases through `ssl:` remotes with certificates of the same PKI.
/// Each zone learns the route the other advertises.
#[test]
fn ic_routed_and_ovn_ic_exchange_routes_over_tls() {
    if !enabled() {
        return;
    }
    let pkis = Pkis::new();
    let server = issue(&pkis.good, "icdb");
    let (mut lab, ic_nb, ic_sb) = tls_lab(2, &server);
    let daemons = [ic_routed(), IcDaemon::OvnIc];
    for (i, (zone, daemon)) in lab.zones.iter_mut().zip(&daemons).enumerate() {
        let client = issue(&pkis.good, &format!("az{}", i + 1));
        zone.start_ic_with_args(daemon, &ic_nb, &ic_sb, &client.args())
            .expect("IC daemon starts");
    }
    join_ts1(&mut lab);
    lab.zones[0]
        .nbctl(&["lr-route-add", "lr1", "10.11.1.0/24", "169.254.0.1"])
        .unwrap();
    lab.zones[1]
        .nbctl(&["lr-route-add", "lr2", "10.22.2.0/24", "169.254.0.2"])
        .unwrap();
    for (learner, router, prefix, nexthop) in [
        (1, "lr2", "10.11.1.0/24", "169.254.100.1"),
        (0, "lr1", "10.22.2.0/24", "169.254.100.2"),
    ] {
        // The line `ovn-nbctl lr-route-list` prints for a learned route.
        let expected = format!("{prefix:>25} {nexthop:>25} dst-ip (learned)\n");
        let mut last = String::new();
        let learned = wait_for(CONVERGE, || {
            last = lab.zones[learner].routes(router).unwrap_or_default();
            last.contains(&expected)
        });
        assert!(
            learned,
            "az{} lr-route-list {router}:\n{last}\nexpected:\n{expected}\n{}",
            learner + 1,
            lab.logs()
        );
    }
    assert_eq!(registered_zones(&lab), ["az1", "az2"]);
    let log = lab.zones[0].ics()[0].log();
    for remote in [&ic_nb, &ic_sb] {
        assert!(
            log.contains(&format!("ovsdb session ready remote={remote} ")),
            "az1's ic-routed never reached {remote}:\n{log}"
        );
    }
}
