//! Audits VPC isolation across OVN interconnection from JSON dumps: prints the VPCs found,
//! the VPC reachability matrix and every leak with its path.
//!
//! ```text
//! cargo run --example isolation-audit -- --policy POLICY.json INVENTORY.json
//! cargo run --example isolation-audit -- --policy POLICY.json \
//!     --zone az-os=os-nb.json --zone az-k8s=k8s-nb.json --ic-nb ic-nb.json --ic-sb ic-sb.json
//! ```
//!
//! - `INVENTORY.json`: `{"zones": {"<az>": DB, …}, "ic_nb": DB, "ic_sb": DB}` where `DB` is
//!   `{"<Table>": {"<uuid>": {"<column>": <OVSDB datum>}}}` or a string holding an
//!   `ovsdb-client` dump (see `isolation::World::from_inventory_json`). Example:
//!   `crates/isolation/testdata/topology-a.json` with `crates/isolation/testdata/policy-a.json`.
//! - `--zone AZ=FILE`, `--ic-nb FILE`, `--ic-sb FILE`: one database per file, as printed by
//!   `ovsdb-client -f json dump <remote> OVN_Northbound` (or the object form above).
//! - `--policy FILE`: the isolation policy (`isolation::Policy`, JSON); without it every
//!   VPC may reach only itself.
//!
//! Exit status: 0 without leaks, 1 with leaks, 2 on bad input.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use isolation::{verify, IcRows, Inventory, Policy, VpcKind, World, ZoneNb};
use ovsdb_proto::dump::Dump;

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn dump(path: &str) -> Result<Dump, String> {
    Dump::parse(&read(path)?).map_err(|e| format!("{path}: {e}"))
}

fn run() -> Result<bool, String> {
    let mut args = std::env::args().skip(1);
    let mut policy = Policy::default();
    let mut inventory = None;
    let mut zones = Vec::new();
    let (mut ic_nb, mut ic_sb) = (Dump::new(), Dump::new());
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match a.as_str() {
            "--policy" => {
                let p = value("--policy")?;
                policy = Policy::from_json(&read(&p)?).map_err(|e| format!("{p}: {e}"))?;
            }
            "--zone" => {
                let v = value("--zone")?;
                let (zone, path) = v.split_once('=').ok_or("--zone wants AZ=FILE")?;
                let z = ZoneNb::from_dump(Some(zone), &dump(path)?)
                    .map_err(|e| format!("{path}: {e}"))?;
                zones.push(z);
            }
            "--ic-nb" => ic_nb = dump(&value("--ic-nb")?)?,
            "--ic-sb" => ic_sb = dump(&value("--ic-sb")?)?,
            "-h" | "--help" => {
                println!("usage: isolation-audit [--policy FILE] (INVENTORY.json | --zone AZ=FILE… [--ic-nb FILE] [--ic-sb FILE])");
                return Ok(false);
            }
            path if inventory.is_none() && !path.starts_with('-') => {
                inventory = Some(path.to_owned())
            }
            other => return Err(format!("unexpected argument {other:?} (see --help)")),
        }
    }
    let mut world = match inventory {
        Some(path) => {
            World::from_inventory_json(&read(&path)?).map_err(|e| format!("{path}: {e}"))?
        }
        None => World::default(),
    };
    world.zones.extend(zones);
    if !ic_nb.tables().is_empty() || !ic_sb.tables().is_empty() {
        world.ic = IcRows::from_dumps(&ic_nb, &ic_sb).map_err(|e| e.to_string())?;
    }
    if world.zones.is_empty() {
        return Err("no zones given (see --help)".into());
    }

    let inventory = Inventory::from_world(&world);
    let mut out = String::from("VPCs:\n");
    for v in inventory.vpcs() {
        let kind = match &v.kind {
            VpcKind::OpenStack {
                project,
                router_name,
                ..
            } => format!(
                "openstack project={} name={}",
                project.as_deref().unwrap_or("?"),
                router_name.as_deref().unwrap_or("?")
            ),
            VpcKind::Kubernetes { vpc, .. } => format!("kubernetes vpc={vpc}"),
            _ => "other".to_owned(),
        };
        let cidrs: Vec<String> = v.cidrs.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "  {:<40} {kind:<45} {}", v.id, cidrs.join(" "));
    }
    let report = verify(&world, &inventory, &policy);
    let _ = write!(out, "\n{report}");
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(!report.leaks.is_empty())
}

fn main() -> ExitCode {
    match run() {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(e) => {
            eprintln!("isolation-audit: {e}");
            ExitCode::from(2)
        }
    }
}
