//! `ovnlink isolation` on files (no server): the audit's exit status, explain, and bad input.

use std::process::{Command, Output};

fn ovnlink(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ovnlink"))
        .args(args)
        .current_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../isolation/testdata"
        ))
        .output()
        .expect("ovnlink runs")
}

#[test]
fn audit_of_stock_topology_a_exits_1_with_the_leaks() {
    let out = ovnlink(&[
        "isolation",
        "audit",
        "--inventory",
        "topology-a.json",
        "--policy",
        "policy-a.json",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("4 leak(s):"), "{text}");
    assert!(
        text.contains(
            "os/neutron-r1                            openstack project=p1 name=tenant-a"
        ),
        "{text}"
    );
}

#[test]
fn explain_names_the_rule_that_let_a_leak_in() {
    let out = ovnlink(&[
        "isolation",
        "explain",
        "--inventory",
        "topology-a.json",
        "--policy",
        "policy-a.json",
        "--from",
        "vpc-a",
        "--to",
        "tenant-b",
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["cell"], "leak");
    let notes = json["destinations"][0]["notes"].to_string();
    assert!(notes.contains("identified by NbId"), "{notes}");
    assert!(notes.contains("the VPC filter refuses it"), "{notes}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    for (args, want) in [
        (
            vec!["isolation", "audit", "--inventory", "missing.json"],
            "missing.json",
        ),
        (
            vec![
                "isolation",
                "explain",
                "--inventory",
                "topology-a.json",
                "--from",
                "nope",
                "--to",
                "vpc-a",
            ],
            "nope: no such VPC",
        ),
        (
            vec![
                "isolation",
                "plan",
                "--topology",
                "c",
                "--inventory",
                "topology-a.json",
                "--policy",
                "policy-a.json",
            ],
            "exactly one --zone",
        ),
        (
            vec!["isolation", "audit", "--zone", "os"],
            "expected NAME=NB",
        ),
    ] {
        let out = ovnlink(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn routes_explain_follows_the_engine_and_the_policy() {
    let out = ovnlink(&[
        "routes",
        "explain",
        "10.0.0.0/24",
        "--inventory",
        "topology-a.json",
        "--in",
        "k8s",
        "--router",
        "vpc-a",
        "--policy",
        "policy-a.json",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("zone k8s (ovn-ic 26.03.0):\n10.0.0.0/24:\n"),
        "{text}"
    );
    // The dump's NB_Global has no ic-route-learn: the engine says so, route by route.
    assert!(
        text.contains(
            "from zone os via 169.254.100.12: not learned: NB_Global options:ic-route-learn is off"
        ),
        "{text}"
    );
    assert!(
        text.contains("not advertised: a learned route is never advertised again"),
        "{text}"
    );
    // Without a policy, as stock ovn-ic: both learned.
    let out = ovnlink(&[
        "routes",
        "explain",
        "10.0.0.0/24",
        "--inventory",
        "topology-a.json",
        "--in",
        "k8s",
        "--router",
        "vpc-a",
        "--ovn-release",
        "23.03",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("zone k8s (ovn-ic 23.03.0):"), "{text}");
}
