//! The drift test: the committed code of the OVN crates must be what the generator makes of
//! their committed schemas.

use std::path::Path;

use ovsdb_codegen::{generate_crate, ovn_crate_paths};

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
         -- crates/ovn-nb/schema/ovn-nb.ovsschema crates/ovn-nb/src/generated.rs`) and commit \
         the result"
    );
}
