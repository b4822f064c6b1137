//! The whole interconnection scenario in one command, with nothing installed:
//!
//! ```text
//! cargo run --release --example interconnect
//! ```
//!
//! It starts embedded OVSDB servers in-process (IC-NB, IC-SB, and the NB and SB of two
//! availability zones, on unix sockets in a temp dir), seeds an OpenStack zone with two
//! Neutron tenants (`tenant-a`, project `p1`, 10.0.0.0/24; `tenant-b`, project `p2`,
//! 10.1.0.0/24, each with an external gateway port) and a Kubernetes zone with two Kube-OVN
//! VPCs (`vpc-a` 10.16.0.0/16, `vpc-b` 10.17.0.0/16), and a policy pairing tenant-a with
//! vpc-a and project p2 with vpc-b. Then, each time on fresh servers, it runs:
//!
//! 1. **Topology B**: one transit switch per VPC pair (`isolation::plan_b`), stock
//!    route exchange;
//! 2. **Topology A with the VPC filter**: one shared transit switch (`isolation::plan_a`),
//!    `isolation::VpcFilter` given to both zones' daemons;
//! 3. **Topology A without the filter** and without guard ACLs (stock ovn-ic behaviour),
//!    to show what the filter prevents.
//!
//! The scenario is `ovnlink_lab::interconnect`; this is its command line. Each zone runs
//! `ic_routed::Daemon` in-process (the code the `ic-routed` binary runs). A
//! **northd stand-in** (`ic_routes::northd`) writes the few southbound rows `ovn-northd`
//! would. Once the databases stop changing it prints every VPC router's routes in
//! `ovn-nbctl lr-route-list` layout and the VPC reachability matrix of `isolation::verify`.
//!
//! Real databases instead of embedded ones (no server is started; the northd stand-in runs
//! only with `--northd-stand-in`, for zones without `ovn-northd`):
//!
//! ```text
//! cargo run --release --example interconnect -- \
//!     --ic-nb-db=tcp:127.0.0.1:6645 --ic-sb-db=tcp:127.0.0.1:6646 \
//!     --zone openstack=unix:/run/os/nb.sock,unix:/run/os/sb.sock \
//!     --zone kubernetes=unix:/run/k8s/nb.sock,unix:/run/k8s/sb.sock \
//!     [--topology a|b|a-unfiltered] [--northd-stand-in] [--timeout SECS]
//! ```
//!
//! The first `--zone` gets the OpenStack tenants, the second the Kubernetes VPCs; the zone
//! name is written into `NB_Global.name`. With real databases one topology runs (default
//! `a`); with embedded ones `--topology` picks one (default: all three).
//!
//! Exit status: 0 when every run converged as expected (no leak where a policy holds), 1
//! when not, 2 on bad arguments or an unreachable database.

#![forbid(unsafe_code)]

use std::time::Duration;

use ovnlink_lab::interconnect::{
    as_expected, run, run_embedded, Remotes, RunOptions, Topology, ZoneRemotes,
};

struct Args {
    remotes: Option<Remotes>,
    topologies: Vec<Topology>,
    northd_stand_in: bool,
    timeout: Duration,
}

const USAGE: &str = "usage: interconnect [--topology a|b|a-unfiltered|all] [--timeout SECS]
       interconnect --ic-nb-db=REMOTE --ic-sb-db=REMOTE --zone NAME=NB,SB --zone NAME=NB,SB
                    [--topology a|b|a-unfiltered] [--northd-stand-in] [--timeout SECS]";

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = std::env::args().skip(1);
    let (mut ic_nb, mut ic_sb, mut zones) = (None, None, Vec::new());
    let mut topology = None;
    let mut northd_stand_in = false;
    let mut timeout = Duration::from_secs(30);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--ic-nb-db" => ic_nb = Some(value()?),
            "--ic-sb-db" => ic_sb = Some(value()?),
            "--zone" => {
                let v = value()?;
                let (name, dbs) = v.split_once('=').ok_or("--zone wants NAME=NB,SB")?;
                let (nb, sb) = dbs.split_once(',').ok_or("--zone wants NAME=NB,SB")?;
                zones.push(ZoneRemotes {
                    name: name.to_owned(),
                    nb: nb.to_owned(),
                    sb: sb.to_owned(),
                });
            }
            "--topology" => {
                topology = Some(match value()?.as_str() {
                    "a" => vec![Topology::AFiltered],
                    "b" => vec![Topology::B],
                    "a-unfiltered" => vec![Topology::AUnfiltered],
                    "all" => vec![Topology::B, Topology::AFiltered, Topology::AUnfiltered],
                    other => return Err(format!("unknown topology {other:?}")),
                })
            }
            "--northd-stand-in" => northd_stand_in = true,
            "--timeout" => {
                let v = value()?;
                let s: u64 = v.parse().map_err(|_| format!("bad --timeout {v:?}"))?;
                timeout = Duration::from_secs(s);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let remotes = match (ic_nb, ic_sb, zones.len()) {
        (None, None, 0) => None,
        (Some(ic_nb), Some(ic_sb), 2) => Some(Remotes {
            ic_nb,
            ic_sb,
            zones,
        }),
        _ => {
            return Err(format!(
                "real databases need --ic-nb-db, --ic-sb-db and two --zone\n{USAGE}"
            ))
        }
    };
    let topologies = match (topology, &remotes) {
        (Some(t), Some(_)) if t.len() > 1 => {
            return Err("with real databases, pick one --topology".into())
        }
        (Some(t), _) => t,
        (None, Some(_)) => vec![Topology::AFiltered],
        (None, None) => vec![Topology::B, Topology::AFiltered, Topology::AUnfiltered],
    };
    Ok(Some(Args {
        remotes,
        topologies,
        northd_stand_in,
        timeout,
    }))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    use std::io::Write as _;
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interconnect: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut ok = true;
    for topology in &args.topologies {
        let outcome = match &args.remotes {
            None => run_embedded(*topology, args.timeout).await,
            Some(remotes) => {
                let opts = RunOptions {
                    northd_stand_in: args.northd_stand_in,
                    timeout: args.timeout,
                };
                run(remotes, *topology, &opts).await
            }
        };
        match outcome {
            Ok(o) => {
                ok &= as_expected(&o);
                // A closed pipe (`| head`) is not worth a panic.
                let _ = std::io::stdout().write_all(o.render().as_bytes());
            }
            Err(e) => {
                eprintln!("interconnect: {}: {e}", topology.title());
                return std::process::ExitCode::from(2);
            }
        }
    }
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}
