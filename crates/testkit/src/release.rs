//! Which OVN release runs the real programs: the host's own packages (Debian 12: OVN 23.03.1,
//! Open vSwitch 3.1) or a Debian root made by `scripts/ovn-release.sh` (Debian 13: OVN 25.03.0,
//! Open vSwitch 3.5), whose programs run under `chroot`.
//!
//! The release is chosen once per test process by the environment variable
//! [`OVN_ROOT_ENV`] (`OVNLINK_OVN_ROOT=/var/cache/ovnlink/debian13`); unset, the host's
//! programs run. Every harness in this crate goes through [`release`], so the same test runs
//! against either release.
//!
//! A root needs no mounts: the harnesses keep their directories inside the root's `/tmp`
//! ([`OvnRelease::tempdir`]), and paths cross the boundary by text. The host sees
//! `<root>/tmp/x/db.sock`; a program of the root sees `/tmp/x/db.sock`. The rule is one
//! line: **a program whose path lies inside the root runs as `chroot <root> <program>`, with
//! the root's prefix taken out of every argument.** Programs outside the root (the host-built
//! `ic-routed`, `kill`) run on the host with host paths, so `ic-routed` built on the host
//! talks to a root's servers through the same unix sockets. Process ids are shared (no pid
//! namespace), so pid files written inside the root name host processes.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The environment variable that names the root of the OVN release to run (a directory made
/// by `scripts/ovn-release.sh`); unset or empty means the host's own programs.
pub const OVN_ROOT_ENV: &str = "OVNLINK_OVN_ROOT";

/// Directories searched for programs: `PATH` first on the host, then these (Debian puts
/// `ovsdb-server` in `/usr/sbin`). Inside a root only these are searched.
const BIN_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"];

/// The OVN release whose programs and schemas the real-server tests use.
#[derive(Debug)]
pub struct OvnRelease {
    /// The root directory, `None` for the host.
    root: Option<PathBuf>,
    /// `root` as text without a trailing `/` (what is stripped from arguments).
    prefix: String,
    /// Versions, read on first use.
    versions: OnceLock<Versions>,
}

#[derive(Debug, Clone, Default)]
struct Versions {
    ovn: String,
    ovs: String,
    os: String,
}

/// The release chosen by [`OVN_ROOT_ENV`] for this process.
///
/// # Panics
///
/// When the variable names a directory that is not a usable root (no `usr/bin/ovn-nbctl`
/// inside): a misconfigured run must not silently test the host's release instead.
pub fn release() -> &'static OvnRelease {
    static RELEASE: OnceLock<OvnRelease> = OnceLock::new();
    RELEASE.get_or_init(|| match std::env::var_os(OVN_ROOT_ENV) {
        Some(root) if !root.is_empty() => match OvnRelease::root(Path::new(&root)) {
            Ok(r) => r,
            Err(e) => panic!("{OVN_ROOT_ENV}={}: {e}", Path::new(&root).display()),
        },
        _ => OvnRelease::host(),
    })
}

impl OvnRelease {
    /// The host's own programs.
    pub fn host() -> OvnRelease {
        OvnRelease {
            root: None,
            prefix: String::new(),
            versions: OnceLock::new(),
        }
    }

    /// The programs of the Debian root at `root`.
    ///
    /// # Errors
    ///
    /// When `root` is not a directory with OVN's programs in `usr/bin`, or its path is not
    /// UTF-8 (it is put into command lines as text).
    pub fn root(root: &Path) -> io::Result<OvnRelease> {
        let root = fs::canonicalize(root)?;
        if !root.join("usr/bin/ovn-nbctl").is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} has no usr/bin/ovn-nbctl (make one with scripts/ovn-release.sh)",
                    root.display()
                ),
            ));
        }
        let prefix = root
            .to_str()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "root path is not UTF-8"))?
            .trim_end_matches('/')
            .to_owned();
        if prefix.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the root cannot be / (unset the variable to use the host's programs)",
            ));
        }
        Ok(OvnRelease {
            root: Some(root),
            prefix,
            versions: OnceLock::new(),
        })
    }

    /// The root directory, `None` when the host's programs run.
    pub fn root_dir(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Whether the host's own programs run.
    pub fn is_host(&self) -> bool {
        self.root.is_none()
    }

    /// OVN's version, as `ovn-nbctl --version` prints it (`23.03.1`, `25.03.0`).
    pub fn ovn_version(&self) -> &str {
        &self.versions().ovn
    }

    /// Open vSwitch's library version (`3.1.0`, `3.5.0`).
    pub fn ovs_version(&self) -> &str {
        &self.versions().ovs
    }

    /// OVN's `major.minor` (`23.03`, `25.03`), for expectations that differ per release.
    pub fn ovn_series(&self) -> (u32, u32) {
        let mut parts = self
            .ovn_version()
            .split('.')
            .map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// Whether OVN is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        self.ovn_series() >= (major, minor)
    }

    /// One line for logs and failure messages, such as
    /// `OVN 25.03.0 / Open vSwitch 3.5.0 (Debian GNU/Linux 13 (trixie) root /var/cache/ovnlink/debian13)`.
    pub fn describe(&self) -> String {
        let v = self.versions();
        let place = match &self.root {
            None => format!("{} host", v.os),
            Some(root) => format!("{} root {}", v.os, root.display()),
        };
        format!("OVN {} / Open vSwitch {} ({place})", v.ovn, v.ovs)
    }

    fn versions(&self) -> &Versions {
        self.versions.get_or_init(|| {
            let mut v = Versions::default();
            if let Some(path) = self.find_binary("ovn-nbctl") {
                if let Ok(out) = self.command(&path).arg("--version").output() {
                    for line in String::from_utf8_lossy(&out.stdout).lines() {
                        let last = line.rsplit(' ').next().unwrap_or("").to_owned();
                        if line.starts_with("ovn-nbctl ") {
                            v.ovn = last;
                        } else if line.starts_with("Open vSwitch Library ") {
                            v.ovs = last;
                        }
                    }
                }
            }
            let os_release = self.host_path("/etc/os-release");
            v.os = fs::read_to_string(os_release)
                .ok()
                .and_then(|text| {
                    text.lines()
                        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                        .map(|s| s.trim_matches('"').to_owned())
                })
                .unwrap_or_else(|| "unknown system".to_owned());
            for field in [&mut v.ovn, &mut v.ovs] {
                if field.is_empty() {
                    "unknown".clone_into(field);
                }
            }
            v
        })
    }

    /// Where the host finds `path`, a path as this release's programs see it: `path` itself on
    /// the host, `<root>/path` for a root (a path already inside the root is kept).
    pub fn host_path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        match &self.root {
            Some(root) if path.is_absolute() && !path.starts_with(root) => {
                root.join(path.strip_prefix("/").unwrap_or(path))
            }
            _ => path.to_path_buf(),
        }
    }

    /// `text` as this release's programs see it: the root's prefix taken out of every host
    /// path inside it (`unix:<root>/tmp/x.sock` becomes `unix:/tmp/x.sock`).
    pub fn inner_text(&self, text: &str) -> String {
        if self.prefix.is_empty() {
            return text.to_owned();
        }
        text.replace(&format!("{}/", self.prefix), "/")
    }

    /// Whether `program` is a program of the root (and so runs under `chroot`).
    pub fn owns_program(&self, program: &Path) -> bool {
        self.root
            .as_ref()
            .is_some_and(|root| program.starts_with(root))
    }

    /// The full host path of the program `name`: on the host, `PATH` then `/usr/sbin`,
    /// `/usr/bin`, `/sbin`, `/bin`, `/usr/local/sbin`; in a root, those directories of the
    /// root. A `name` containing `/` is returned as is when that file is executable.
    pub fn find_binary(&self, name: &str) -> Option<PathBuf> {
        if name.contains('/') {
            let path = PathBuf::from(name);
            return is_executable(&path).then_some(path);
        }
        let dirs: Vec<PathBuf> = match &self.root {
            None => std::env::var_os("PATH")
                .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .chain(BIN_DIRS.iter().map(PathBuf::from))
                .collect(),
            Some(_) => BIN_DIRS.iter().map(|d| self.host_path(d)).collect(),
        };
        dirs.into_iter()
            .map(|dir| dir.join(name))
            .find(|path| is_executable(path))
    }

    /// A command that runs `program` (a host path, as [`OvnRelease::find_binary`] returns):
    /// under `chroot` when it lies inside the root, directly otherwise. Pass its arguments
    /// through [`OvnRelease::args`].
    pub fn command(&self, program: &Path) -> Command {
        match &self.root {
            Some(root) if self.owns_program(program) => {
                let mut c = Command::new("chroot");
                c.arg(root).arg(self.inner_text(&program.to_string_lossy()));
                c
            }
            _ => Command::new(program),
        }
    }

    /// `args` as `program` must get them: translated with [`OvnRelease::inner_text`] when it
    /// runs inside the root, unchanged otherwise.
    pub fn args<S: AsRef<OsStr>>(&self, program: &Path, args: &[S]) -> Vec<String> {
        args.iter()
            .map(|a| {
                let a = a.as_ref().to_string_lossy();
                if self.owns_program(program) {
                    self.inner_text(&a)
                } else {
                    a.into_owned()
                }
            })
            .collect()
    }

    /// A command for `program` with `args`, run in the directory `dir` (a host path): for a
    /// program of the root through the root's `env --chdir`, since `chroot` cannot change
    /// directory itself.
    pub fn command_in(&self, dir: &Path, program: &Path, args: &[&str]) -> Command {
        match &self.root {
            Some(root) if self.owns_program(program) => {
                let mut c = Command::new("chroot");
                c.arg(root)
                    .arg("env")
                    .arg(format!(
                        "--chdir={}",
                        self.inner_text(&dir.to_string_lossy())
                    ))
                    .arg(self.inner_text(&program.to_string_lossy()))
                    .args(self.args(program, args));
                c
            }
            _ => {
                let mut c = Command::new(program);
                c.args(args).current_dir(dir);
                c
            }
        }
    }

    /// A new temporary directory that this release's programs can reach: under the system's
    /// temporary directory on the host, under `<root>/tmp` for a root. Its path is a host
    /// path; it is removed on drop.
    ///
    /// # Errors
    ///
    /// When the directory cannot be made.
    pub fn tempdir(&self, prefix: &str) -> io::Result<tempfile::TempDir> {
        let builder = tempfile::Builder::new().prefix(prefix).clone();
        match &self.root {
            None => builder.tempdir(),
            Some(root) => builder.tempdir_in(root.join("tmp")),
        }
    }

    /// Checks that `program` runs at all here (a root whose `chroot` fails is reported once,
    /// with the reason, instead of as a puzzling test failure).
    ///
    /// # Errors
    ///
    /// When the program cannot be started or exits with failure for `--version`.
    pub fn check(&self, program: &str) -> io::Result<()> {
        let path = self.find_binary(program).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{program} not found"))
        })?;
        let out = self
            .command(&path)
            .arg("--version")
            .stdin(Stdio::null())
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "{program} --version failed under {}: {}",
                self.describe(),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// A new temporary directory the current [`release`]'s programs can reach (see
/// [`OvnRelease::tempdir`]).
///
/// # Errors
///
/// When the directory cannot be made.
pub fn tempdir(prefix: &str) -> io::Result<tempfile::TempDir> {
    release().tempdir(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_root() -> (tempfile::TempDir, OvnRelease) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("usr/bin")).unwrap();
        fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let nbctl = dir.path().join("usr/bin/ovn-nbctl");
        fs::write(&nbctl, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&nbctl, fs::Permissions::from_mode(0o755)).unwrap();
        let r = OvnRelease::root(dir.path()).unwrap();
        (dir, r)
    }

    #[test]
    fn paths_cross_the_root_by_text() {
        let (dir, r) = fake_root();
        let root = fs::canonicalize(dir.path()).unwrap();
        let root_s = root.to_str().unwrap();
        assert_eq!(
            r.host_path("/usr/share/ovn/ovn-nb.ovsschema"),
            root.join("usr/share/ovn/ovn-nb.ovsschema")
        );
        // A path already inside the root stays.
        let inside = root.join("tmp/x/db.sock");
        assert_eq!(r.host_path(&inside), inside);
        assert_eq!(
            r.inner_text(&format!(
                "--db=unix:{root_s}/tmp/x/db.sock,unix:{root_s}/tmp/y"
            )),
            "--db=unix:/tmp/x/db.sock,unix:/tmp/y"
        );
        // A sibling directory whose name starts like the root is not touched.
        assert_eq!(
            r.inner_text(&format!("{root_s}-other/file")),
            format!("{root_s}-other/file")
        );
        assert_eq!(
            r.find_binary("ovn-nbctl"),
            Some(root.join("usr/bin/ovn-nbctl"))
        );
        assert!(r.owns_program(&root.join("usr/bin/ovn-nbctl")));
        assert!(!r.owns_program(Path::new("/usr/bin/ovn-nbctl")));
        assert_eq!(
            r.args(
                &root.join("usr/bin/ovn-nbctl"),
                &[format!("{root_s}/tmp/a")]
            ),
            vec!["/tmp/a".to_owned()]
        );
        assert_eq!(
            r.args(Path::new("/bin/true"), &[format!("{root_s}/tmp/a")]),
            vec![format!("{root_s}/tmp/a")]
        );
        let t = r.tempdir("t").unwrap();
        assert!(t.path().starts_with(root.join("tmp")));
    }

    #[test]
    fn a_root_without_ovn_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = OvnRelease::root(dir.path()).unwrap_err();
        assert!(err.to_string().contains("ovn-release.sh"), "{err}");
    }

    #[test]
    fn the_host_translates_nothing() {
        let h = OvnRelease::host();
        assert!(h.is_host());
        assert_eq!(h.inner_text("unix:/tmp/x"), "unix:/tmp/x");
        assert_eq!(
            h.host_path("/usr/share/ovn"),
            PathBuf::from("/usr/share/ovn")
        );
        assert_eq!(h.find_binary("sh").map(|p| p.is_absolute()), Some(true));
    }
}
