//! `ovsdb-codegen SCHEMA.ovsschema OUT.rs` writes the typed rows of one schema;
//! `ovsdb-codegen --pinned RELEASES.txt OUT.rs` those of the schemas of several releases (see
//! `ovsdb_codegen::parse_releases` for the list's format); `ovsdb-codegen --all` regenerates
//! every OVN crate of this workspace from its committed schemas
//! (`crates/<crate>/schema/releases.txt` → `crates/<crate>/src/generated.rs`).

use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use ovsdb_codegen::{
    generate, generate_crate, generate_pinned, ovn_crate_paths, read_pinned, Generated, Options,
    PinnedFile,
};

const USAGE: &str = "usage: ovsdb-codegen SCHEMA.ovsschema OUT.rs\n       \
                     ovsdb-codegen --pinned RELEASES.txt OUT.rs\n       ovsdb-codegen --all";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag] if flag == "--all" => all(),
        [flag, releases, out] if flag == "--pinned" => pinned(Path::new(releases), Path::new(out)),
        [schema, out] => one(Path::new(schema), Path::new(out)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ovsdb-codegen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn all() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for paths in ovn_crate_paths(&root) {
        let out = generate_crate(&paths)?;
        write(&paths.generated, &out)?;
    }
    Ok(())
}

fn one(schema: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let json = std::fs::read(schema).map_err(|e| format!("{}: {e}", schema.display()))?;
    let include = relative(schema, out.parent().unwrap_or(Path::new(".")))?;
    let generated = generate(&json, &Options::new(include))?;
    write(out, &generated)
}

fn pinned(releases: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut files = read_pinned(releases, "")?;
    let from = out.parent().unwrap_or(Path::new("."));
    let dir = releases.parent().unwrap_or(Path::new("."));
    for f in &mut files {
        let name = f.include.rsplit('/').next().unwrap_or_default().to_owned();
        *f = PinnedFile::new(f.release, relative(&dir.join(name), from)?, f.json.clone());
    }
    write(out, &generate_pinned(&files)?)
}

fn write(path: &Path, out: &Generated) -> Result<(), Box<dyn std::error::Error>> {
    if !out.formatted {
        eprintln!(
            "ovsdb-codegen: warning: rustfmt not found, {} is not formatted",
            path.display()
        );
    }
    std::fs::write(path, &out.code).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The path of `target` relative to the directory `from`, with `/` separators, as
/// `include_str!` wants it.
fn relative(target: &Path, from: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let abs = |p: &Path| -> Result<PathBuf, Box<dyn std::error::Error>> {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        Ok(std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display()))?)
    };
    let target = abs(target)?;
    let from = abs(from)?;
    let t: Vec<Component> = target.components().collect();
    let f: Vec<Component> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Ok(parts.join("/"))
}
