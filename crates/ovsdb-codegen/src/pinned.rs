//! The pinned releases of a database: the schema files the generator reads, the list of
//! pinned releases (`releases.txt`) kept next to them, and the generated crates of this
//! workspace.

use std::path::{Path, PathBuf};

use ovsdb_proto::skew::Release;
use ovsdb_proto::DatabaseSchema;

use crate::{generate_pinned, Error, Generated};

/// One pinned release's schema as the generator reads it (see [`generate_pinned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PinnedFile {
    /// The release.
    pub release: Release,
    /// The schema file's path as the generated file's `include_str!` must name it.
    pub include: String,
    /// The schema's text.
    pub json: String,
}

impl PinnedFile {
    /// The schema `json` of `release`, reached from the generated file at `include`.
    pub fn new(release: Release, include: impl Into<String>, json: impl Into<String>) -> Self {
        PinnedFile {
            release,
            include: include.into(),
            json: json.into(),
        }
    }
}

/// The generated crates of this workspace, as directories relative to the workspace root.
/// Each keeps its pinned schemas in `<crate>/schema/` with the list of pinned releases in
/// `<crate>/schema/releases.txt`, and its code in `<crate>/src/generated.rs`.
pub const OVN_CRATES: &[&str] = &[
    "crates/ovn-nb",
    "crates/ovn-sb",
    "crates/ovn-ic-nb",
    "crates/ovn-ic-sb",
];

/// The name of a crate's list of pinned releases, in its `schema/` directory.
pub const RELEASES_FILE: &str = "releases.txt";

/// Where a generated crate's schemas and code live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CratePaths {
    /// The list of pinned releases (`schema/releases.txt`).
    pub releases: PathBuf,
    /// The generated file.
    pub generated: PathBuf,
}

/// The paths of every crate of [`OVN_CRATES`] under the workspace root `root`.
pub fn ovn_crate_paths(root: &Path) -> Vec<CratePaths> {
    OVN_CRATES
        .iter()
        .map(|dir| CratePaths {
            releases: root.join(dir).join("schema").join(RELEASES_FILE),
            generated: root.join(dir).join("src").join("generated.rs"),
        })
        .collect()
}

/// One line of a list of pinned releases.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReleaseLine {
    /// The release.
    pub release: Release,
    /// Its schema file, in the list's directory.
    pub file: String,
}

/// Parses a list of pinned releases: one `RELEASE FILE` pair per line, oldest release first,
/// `#` starting a comment. Releases sharing a schema name the same file.
pub fn parse_releases(text: &str) -> Result<Vec<ReleaseLine>, Error> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: &str| Error::Unsupported(format!("{RELEASES_FILE} line {}: {why}", n + 1));
        let mut words = line.split_whitespace();
        let (Some(release), Some(file), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad("expected RELEASE FILE"));
        };
        let release = Release::parse(release).ok_or_else(|| bad("not a release"))?;
        if file.contains('/') || !file.ends_with(".ovsschema") {
            return Err(bad("the file must be an .ovsschema next to the list"));
        }
        out.push(ReleaseLine {
            release,
            file: file.to_owned(),
        });
    }
    Ok(out)
}

/// The pinned schemas of a list of releases (`releases.txt`) and its directory, as
/// [`generate_pinned`] takes them; each is included as `<include_dir><file>` (a generated
/// crate's `src/generated.rs` reaches its schemas with `../schema/`). A file's name must end
/// with its schema's version (`ovn-nb-7.0.0.ovsschema`).
pub fn read_pinned(releases: &Path, include_dir: &str) -> Result<Vec<PinnedFile>, Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let text = std::fs::read_to_string(releases).map_err(io(releases))?;
    let dir = releases.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for line in parse_releases(&text)? {
        let path = dir.join(&line.file);
        let json = std::fs::read_to_string(&path).map_err(io(&path))?;
        let schema = DatabaseSchema::from_slice(json.as_bytes())?;
        let version = schema.version.unwrap_or_default();
        if !line.file.ends_with(&format!("-{version}.ovsschema")) {
            return Err(Error::Unsupported(format!(
                "{}: the name does not end with the schema's version {version}",
                line.file
            )));
        }
        out.push(PinnedFile::new(
            line.release,
            format!("{include_dir}{}", line.file),
            json,
        ));
    }
    Ok(out)
}

/// Generates the code of one crate of [`OVN_CRATES`] from its committed schemas.
pub fn generate_crate(paths: &CratePaths) -> Result<Generated, Error> {
    generate_pinned(&read_pinned(&paths.releases, "../schema/")?)
}
