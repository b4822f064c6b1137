//! The drift test: the committed code of the OVN crates must be what the generator makes of
//! every schema they pin (`schema/releases.txt` and the files it names), and every schema
//! file in a crate's `schema/` must be pinned.

use std::path::Path;

use ovsdb_codegen::{generate_crate, ovn_crate_paths, parse_releases};

#[test]
fn committed_ovn_crates_match_their_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut stale = Vec::new();
    for paths in ovn_crate_paths(&root) {
        let out = generate_crate(&paths).unwrap();
        assert!(
            out.formatted,
            "rustfmt is needed to compare generated code (rustup component add rustfmt)"
        );
        let committed = std::fs::read_to_string(&paths.generated).unwrap_or_default();
        if committed != out.code {
            stale.push(paths.generated.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "generated code is stale: {stale:?}; regenerate with \
         `cargo run -p ovsdb-codegen -- --all` (or, for one crate, `cargo run -p ovsdb-codegen \
         -- --pinned crates/ovn-nb/schema/releases.txt crates/ovn-nb/src/generated.rs`) and \
         commit the result"
    );
}

#[test]
fn every_schema_file_is_pinned() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for paths in ovn_crate_paths(&root) {
        let text = std::fs::read_to_string(&paths.releases).unwrap();
        let lines = parse_releases(&text).unwrap();
        assert!(!lines.is_empty(), "{}", paths.releases.display());
        let dir = paths.releases.parent().unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".ovsschema") {
                assert!(
                    lines.iter().any(|l| l.file == name),
                    "{} is not in {}",
                    name,
                    paths.releases.display()
                );
            }
        }
    }
}

/// With `OVN_GIT_DIR` pointing at an OVN git repository (`.git` directory or bare mirror),
/// every pinned file must equal the upstream file at its release's tag. Skipped otherwise.
#[test]
fn pinned_schemas_match_upstream_tags() {
    let Some(git_dir) = std::env::var_os("OVN_GIT_DIR") else {
        eprintln!("skipped: set OVN_GIT_DIR to an OVN git repository to compare with upstream");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for paths in ovn_crate_paths(&root) {
        let dir = paths.releases.parent().unwrap();
        let text = std::fs::read_to_string(&paths.releases).unwrap();
        for line in parse_releases(&text).unwrap() {
            // `ovn-nb-7.0.0.ovsschema` is upstream's `ovn-nb.ovsschema`.
            let stem = line.file.rsplit_once('-').unwrap().0;
            let object = format!("v{}:{stem}.ovsschema", line.release);
            let out = std::process::Command::new("git")
                .arg("--git-dir")
                .arg(&git_dir)
                .args(["show", &object])
                .output()
                .unwrap();
            assert!(out.status.success(), "git show {object} failed");
            let pinned = std::fs::read(dir.join(&line.file)).unwrap();
            assert!(pinned == out.stdout, "{} differs from {object}", line.file);
        }
    }
}
