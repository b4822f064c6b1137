//! Syncs a database into `ovsdb-client`'s replica cache, then prints what it holds, how long
//! the sync took and how much memory the process used.
//!
//! ```text
//! cargo run --release --example monitor-sync -- REMOTE DB [--tables T1,T2] [--untyped]
//!     [--private-key FILE --certificate FILE --ca-cert FILE] [--timeout SECS]
//! ```
//!
//! The four OVN databases (`OVN_Northbound`, `OVN_Southbound`, `OVN_IC_Northbound`,
//! `OVN_IC_Southbound`) are kept typed only, decoded straight into the generated rows of
//! `ovn-nb`, `ovn-sb`, `ovn-ic-nb` and `ovn-ic-sb` (the way an OVN tool uses the client);
//! any other database, or any database with `--untyped`, is kept as untyped rows.
//!
//! `REMOTE` is in Open vSwitch syntax (`unix:/var/run/ovn/ovnnb_db.sock`,
//! `tcp:127.0.0.1:6641`, `ssl:127.0.0.1:6641`, or a comma-separated cluster list). `ssl:`
//! remotes need `--ca-cert`, and usually `--private-key` and `--certificate` too (files as
//! `ovs-pki` makes them). `--timeout` bounds connecting (default 30 s); the initial sync
//! itself has no deadline.
//!
//! It prints the rows of every non-empty monitored table, the time from the start of the
//! connection to a ready cache (and the monitor request alone), and the process's peak and
//! current resident set size (`VmHWM`, `VmRSS`), then exits 0; any error exits 1.
//! `benches/client-sync.sh` uses it to compare this client with the python and C IDLs.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ovsdb_client::tls::TlsConfig;
use ovsdb_client::{Client, ClientConfig, MonitorSpec};

const USAGE: &str = "usage: monitor-sync REMOTE DB [--tables T1,T2] [--untyped] \
[--private-key FILE --certificate FILE --ca-cert FILE] [--timeout SECS]";

/// The command line, parsed.
#[derive(Debug)]
struct Args {
    remote: String,
    db: String,
    tables: Option<Vec<String>>,
    untyped: bool,
    private_key: Option<PathBuf>,
    certificate: Option<PathBuf>,
    ca_cert: Option<PathBuf>,
    timeout: Duration,
}

/// What `main` reports on failure: a message for the user.
type Failure = String;

/// Parses the arguments after the program name. `Ok(None)` means help was asked for.
fn parse_args(argv: impl IntoIterator<Item = String>) -> Result<Option<Args>, Failure> {
    let mut positional = Vec::new();
    let mut tables = None;
    let mut untyped = false;
    let mut private_key = None;
    let mut certificate = None;
    let mut ca_cert = None;
    let mut timeout = Duration::from_secs(30);
    let mut argv = argv.into_iter();
    while let Some(arg) = argv.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        if arg == "--untyped" {
            untyped = true;
            continue;
        }
        if !arg.starts_with("--") {
            positional.push(arg);
            continue;
        }
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--tables" => {
                let list: Vec<String> = value()?
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect();
                if list.is_empty() {
                    return Err("--tables needs at least one table name".into());
                }
                tables = Some(list);
            }
            "--private-key" => private_key = Some(PathBuf::from(value()?)),
            "--certificate" => certificate = Some(PathBuf::from(value()?)),
            "--ca-cert" => ca_cert = Some(PathBuf::from(value()?)),
            "--timeout" => {
                let v = value()?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--timeout {v:?}: expected a positive number"))?;
                timeout = Duration::from_secs_f64(secs);
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let mut positional = positional.into_iter();
    let (Some(remote), Some(db), None) = (positional.next(), positional.next(), positional.next())
    else {
        return Err("expected exactly two arguments, REMOTE and DB".into());
    };
    Ok(Some(Args {
        remote,
        db,
        tables,
        untyped,
        private_key,
        certificate,
        ca_cert,
        timeout,
    }))
}

/// Builds the client configuration, with TLS when the remotes or the flags ask for it.
fn client_config(args: &Args) -> Result<ClientConfig, Failure> {
    let config = ClientConfig::new(&args.remote).map_err(|e| e.to_string())?;
    let needs_tls = config.remotes.remotes.iter().any(|r| r.is_ssl());
    let tls = match (&args.private_key, &args.certificate, &args.ca_cert) {
        (None, None, None) if needs_tls => {
            return Err(format!(
                "{}: ssl remotes need --ca-cert (and usually --private-key and --certificate)",
                args.remote
            ))
        }
        (None, None, None) => None,
        (Some(key), Some(cert), Some(ca)) => {
            Some(TlsConfig::from_files(key, cert, ca).map_err(|e| e.to_string())?)
        }
        (None, None, Some(ca)) => {
            Some(TlsConfig::without_client_cert(ca).map_err(|e| e.to_string())?)
        }
        _ => return Err("--private-key and --certificate go together, with --ca-cert".to_owned()),
    };
    Ok(match tls {
        Some(tls) => config.tls(tls),
        None => config,
    })
}

/// `VmHWM` (peak) and `VmRSS` (current) of this process, in KiB, from `/proc/self/status`.
fn memory_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn run(args: Args) -> Result<(), Failure> {
    let config = client_config(&args)?;
    let start = Instant::now();
    let client = Client::connect(config, args.timeout)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", args.remote))?;
    let connected = start.elapsed();

    let spec = match &args.tables {
        Some(tables) => MonitorSpec::tables(tables.iter().cloned()),
        None => MonitorSpec::all(),
    };
    let spec = match args.db.as_str() {
        _ if args.untyped => spec,
        ovn_nb::NAME => spec.typed_database::<ovn_nb::Database>(),
        ovn_sb::NAME => spec.typed_database::<ovn_sb::Database>(),
        ovn_ic_nb::NAME => spec.typed_database::<ovn_ic_nb::Database>(),
        ovn_ic_sb::NAME => spec.typed_database::<ovn_ic_sb::Database>(),
        _ => spec,
    };
    let monitor_start = Instant::now();
    let cache = match client.monitor(&args.db, spec).await {
        Ok(cache) => cache,
        Err(e) => {
            // Name the server's databases when the one asked for is not there.
            let dbs = client.list_dbs().await.unwrap_or_default();
            let hint = if !dbs.is_empty() && !dbs.contains(&args.db) {
                format!(" (the server has: {})", dbs.join(", "))
            } else {
                String::new()
            };
            return Err(format!("cannot monitor {}: {e}{hint}", args.db));
        }
    };
    let monitor = monitor_start.elapsed();
    let total = start.elapsed();
    let memory = memory_kib();

    // The client leaves out tables the schema lacks; a typo should not pass for an empty
    // table.
    if let (Some(tables), Some(schema)) = (&args.tables, cache.schema()) {
        let unknown: Vec<&str> = tables
            .iter()
            .filter(|t| schema.table(t).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(format!("{} has no table {}", args.db, unknown.join(", ")));
        }
    }

    let mut out = String::new();
    {
        let tables = cache.read();
        let mut names: Vec<&str> = tables.iter().map(|(name, _)| name).collect();
        names.extend(tables.typed_only_tables());
        let mut rows: Vec<(&str, usize)> = names
            .into_iter()
            .map(|name| (name, tables.len(name)))
            .filter(|(_, n)| *n > 0)
            .collect();
        rows.sort_unstable();
        let name_width = rows
            .iter()
            .map(|(name, _)| name.len())
            .chain(["total".len()])
            .max()
            .unwrap_or(0);
        let total_rows: usize = rows.iter().map(|(_, n)| n).sum();
        let count_width = total_rows.to_string().len();
        let monitored = match &args.tables {
            Some(list) => list.join(","),
            None => "all tables".to_owned(),
        };
        let kept = match tables.typed_only_tables().next() {
            Some(_) => "typed",
            None => "untyped",
        };
        out += &format!("{} at {} ({monitored}, {kept})\n", args.db, args.remote);
        for (name, n) in &rows {
            out += &format!("  {name:<name_width$}  {n:>count_width$}\n");
        }
        out += &format!("  {:<name_width$}  {total_rows:>count_width$}\n", "total");
    }
    out += &format!(
        "sync: {:.3} s from connect to ready cache (connect {:.3} s, monitor {:.3} s)\n",
        total.as_secs_f64(),
        connected.as_secs_f64(),
        monitor.as_secs_f64()
    );
    match memory {
        Some((hwm, rss)) => {
            out += &format!(
                "memory: peak RSS {:.1} MiB, current RSS {:.1} MiB\n",
                mib(hwm),
                mib(rss)
            )
        }
        None => out += "memory: unknown (no /proc/self/status)\n",
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the report: {e}"))?;
    client.shutdown();
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("monitor-sync: {e}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("monitor-sync: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    match result {
        Ok(()) => {
            // The cache is about to be thrown away with the process: skip freeing it row
            // by row (as the C tools do).
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("monitor-sync: {e}");
            ExitCode::FAILURE
        }
    }
}
