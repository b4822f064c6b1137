//! Golden tests: the generator's output for the small schemas in `tests/golden/` must equal
//! the committed `tests/golden/<name>.rs` byte for byte: `shapes` from one schema,
//! `routes` from the schemas of three releases (`routes.releases.txt`). After an intended
//! change of the output, rewrite them with `UPDATE_GOLDEN=1 cargo test -p ovsdb-codegen --test
//! golden` and review the diff.

use std::path::{Path, PathBuf};

use ovsdb_codegen::{generate, generate_pinned, read_pinned, Options};

const SCHEMAS: &[&str] = &["shapes", "routes"];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn generate_golden(name: &str) -> String {
    let releases = golden_dir().join(format!("{name}.releases.txt"));
    let out = if releases.exists() {
        generate_pinned(&read_pinned(&releases, "").unwrap()).unwrap()
    } else {
        let schema = std::fs::read(golden_dir().join(format!("{name}.ovsschema"))).unwrap();
        generate(&schema, &Options::new(format!("{name}.ovsschema"))).unwrap()
    };
    assert!(
        out.formatted,
        "rustfmt is needed to compare generated code (rustup component add rustfmt)"
    );
    out.code
}

#[test]
fn golden_outputs() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for name in SCHEMAS {
        let code = generate_golden(name);
        let path = golden_dir().join(format!("{name}.rs"));
        if update {
            std::fs::write(&path, &code).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != code {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "generated code differs from {stale:?}; if the change is intended, run \
         `UPDATE_GOLDEN=1 cargo test -p ovsdb-codegen --test golden` and review the diff"
    );
}

#[test]
fn output_is_deterministic() {
    for name in SCHEMAS {
        assert_eq!(generate_golden(name), generate_golden(name), "{name}");
    }
    // The OVN Northbound schema is the largest; generate it twice as well.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let paths = &ovsdb_codegen::ovn_crate_paths(&root)[0];
    let a = ovsdb_codegen::generate_crate(paths).unwrap();
    let b = ovsdb_codegen::generate_crate(paths).unwrap();
    assert_eq!(a, b);
}

#[test]
fn unsupported_and_invalid_schemas_are_errors() {
    let bad = br#"{"name":"X","tables":{"T":{"columns":{"m":{"type":{"key":"real","value":"string","min":0,"max":"unlimited"}}}}}}"#;
    let err = generate(bad, &Options::new("x.ovsschema")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported schema: T.m: a map with real keys has no SortedMap form"
    );
    let err = generate(b"{", &Options::new("x.ovsschema")).unwrap_err();
    assert!(err.to_string().starts_with("invalid schema:"), "{err}");
    let clash = br#"{"name":"X","tables":{"A_B":{"columns":{}},"a_b":{"columns":{}}}}"#;
    let err = generate(clash, &Options::new("x.ovsschema")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported schema: two tables give the Rust name AB"
    );
}
