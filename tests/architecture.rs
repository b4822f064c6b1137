//! ARCHITECTURE.md's first rule, checked on the resolved dependency graph: the codec, the
//! typed rows, the route engine (with ovn-ic's zone steps) and the isolation policy never
//! depend on the IO shell. Their normal dependencies, as `cargo tree` resolves them for
//! each crate alone, hold no client, daemon, socket or TLS crate, no tokio beyond its
//! `sync` types, and the embedded server only without its default (tokio) features.

use std::process::Command;

/// The sans-IO crates.
const PURE: &[&str] = &[
    "ovsdb-proto",
    "ovn-nb",
    "ovn-sb",
    "ovn-ic-nb",
    "ovn-ic-sb",
    "ic-routes",
    "isolation",
];

/// Crates that open sockets, spawn tasks or run the daemon.
const SHELL: &[&str] = &[
    "ovsdb-client",
    "ic-routed",
    "ovnlink-cli",
    "ovnlink-lab",
    "ovnlink-testkit",
    "tokio-rustls",
    "rustls",
    "mio",
    "socket2",
];

/// `(package, features)` of every normal dependency of `krate`, itself included.
fn tree(krate: &str) -> Vec<(String, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "tree", "-q", "-p", krate, "-e", "normal", "--prefix", "none",
        ])
        .args(["-f", "{p}|{f}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {krate}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .filter_map(|line| {
            let (p, f) = line.split_once('|')?;
            let name = p.split_whitespace().next()?.to_owned();
            let features = f
                .trim_end_matches(" (*)")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            Some((name, features))
        })
        .collect()
}

#[test]
fn pure_crates_never_depend_on_the_io_shell() {
    for krate in PURE {
        let deps = tree(krate);
        assert!(
            deps.iter().any(|(p, _)| p == krate),
            "{krate} not in its own tree"
        );
        for (p, features) in &deps {
            assert!(
                !SHELL.contains(&p.as_str()),
                "{krate} depends on {p}: {deps:?}"
            );
            match p.as_str() {
                "tokio" => assert!(
                    features.iter().all(|f| f == "default" || f == "sync"),
                    "{krate} pulls tokio with {features:?}"
                ),
                "ovsdb-server" => assert!(
                    features.is_empty(),
                    "{krate} pulls the embedded server with {features:?}"
                ),
                _ => {}
            }
        }
    }
}

/// The check itself can fail: the daemon crate does depend on the shell.
#[test]
fn the_daemon_is_seen_to_depend_on_the_shell() {
    let deps = tree("ic-routed");
    assert!(deps.iter().any(|(p, _)| p == "ovsdb-client"));
    assert!(deps
        .iter()
        .any(|(p, f)| p == "tokio" && f.iter().any(|f| f == "rt" || f == "net")));
}
