//! The Debian package of `ic-routed` (issue 15): `scripts/package-deb.sh` builds it, it
//! installs with `dpkg -i` on a clean Debian root that has Debian's `ovn-ic`, diverts
//! `/usr/bin/ovn-ic` so that Debian's own `ovn-ctl start_ic` runs the packaged daemon (and so
//! does the packaged systemd unit's command line), and `dpkg -r` gives Debian's `ovn-ic` back,
//! byte for byte.
//!
//! The clean root is a copy (`cp -a`, about 360 MB, its `/tmp` left empty) of the Debian root that the test kit runs
//! (`OVNLINK_OVN_ROOT`, the Debian 13 root of `scripts/ovn-release.sh`, OVN 25.03.0, with
//! `ovn-ic` and `ovn-central` installed), removed at the end even when the test fails. With
//! the host's release (no root: `scripts/test.sh`'s first pass) the test has nowhere clean to
//! install to and says so; `scripts/test.sh`'s second pass runs it.
//!
//! The package is built with `--debug` (cargo's dev profile, which the test build has mostly
//! compiled already): the packaging is the same for both profiles, and a cold release build
//! takes minutes.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ovnlink_testkit::ovn_ctl::{self, comm, parent, run_for, Ran, Site, OVN_CTL};
use ovnlink_testkit::release::{release, OvnRelease};
use ovnlink_testkit::server::require;

/// A build of the two binaries from a warm target directory, then `dpkg-deb`.
const BUILD_PATIENCE: Duration = Duration::from_secs(1200);
/// `dpkg -i` / `dpkg -r` in the root, or a copy of it.
const DPKG_PATIENCE: Duration = Duration::from_secs(120);

const DIVERSION: &str = "diversion of /usr/bin/ovn-ic to /usr/bin/ovn-ic.distrib by ic-routed";

/// The workspace's root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The target directory this test was built in (`<target>/debug/deps/deb-HASH`), so that the
/// script's cargo reuses the test build's artifacts.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace().join("target"))
}

/// A copy of a Debian root, removed on drop.
struct RootCopy {
    dir: tempfile::TempDir,
}

impl RootCopy {
    /// Copies everything but `tmp`, where other tests' directories come and go while the
    /// copy runs; the copy gets an empty `tmp` of its own.
    fn new(source: &Path) -> RootCopy {
        let dir = tempfile::Builder::new()
            .prefix("ovnlink-deb-")
            .tempdir()
            .expect("temporary directory");
        let root = dir.path().join("root");
        fs::create_dir(&root).unwrap();
        let mut cp = Command::new("cp");
        cp.arg("-a").arg("--reflink=auto");
        for entry in fs::read_dir(source).expect("the root's entries").flatten() {
            if entry.file_name() != "tmp" {
                cp.arg(entry.path());
            }
        }
        cp.arg(&root);
        let r = run_for(cp, DPKG_PATIENCE);
        assert!(r.ok, "copying {}: {r:?}", source.display());
        fs::create_dir(root.join("tmp")).unwrap();
        fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
        RootCopy { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("root")
    }
}

/// `chroot ROOT ARGS…` with a plain environment.
fn chroot(root: &Path, args: &[&str]) -> Ran {
    let mut c = Command::new("chroot");
    c.arg(root)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C");
    run_for(c, DPKG_PATIENCE)
}

/// The host programs the test needs besides the release's.
fn host_tools() -> bool {
    let missing: Vec<&str> = ["dpkg-deb", "dpkg", "chroot", "cp", "bash", "md5sum", "gzip"]
        .into_iter()
        .filter(|tool| {
            !std::env::var_os("PATH").is_some_and(|paths| {
                std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file())
            })
        })
        .collect();
    require("program", &missing)
}

/// `scripts/package-deb.sh --debug`: the package's host path.
fn build_package() -> PathBuf {
    let started = Instant::now();
    let mut script = Command::new("bash");
    script
        .arg(workspace().join("scripts/package-deb.sh"))
        .arg("--debug")
        .env("CARGO_TARGET_DIR", target_dir());
    if let Some(cargo) = option_env!("CARGO") {
        script.env("CARGO", cargo);
    }
    let r = run_for(script, BUILD_PATIENCE);
    assert!(r.ok, "scripts/package-deb.sh --debug: {r:?}");
    let deb = PathBuf::from(r.stdout.lines().last().unwrap_or_default());
    assert!(deb.is_file(), "no package at {deb:?}: {r:?}");
    eprintln!(
        "package-deb.sh --debug: {} in {:.1?} ({})",
        deb.display(),
        started.elapsed(),
        r.stderr.lines().last().unwrap_or_default()
    );
    deb
}

fn dpkg_deb(deb: &Path, args: &[&str]) -> String {
    let mut c = Command::new("dpkg-deb");
    c.args(args).arg(deb);
    let r = run_for(c, DPKG_PATIENCE);
    assert!(r.ok, "dpkg-deb {args:?}: {r:?}");
    r.stdout
}

/// What the package holds: the paths (as `dpkg-deb -c` lists them, `./` dropped), with the
/// target of each symbolic link.
fn contents(deb: &Path) -> Vec<String> {
    dpkg_deb(deb, &["-c"])
        .lines()
        .filter_map(|line| {
            let path = line
                .split_whitespace()
                .skip(5)
                .collect::<Vec<_>>()
                .join(" ");
            let path = path.strip_prefix('.')?.to_owned();
            (!path.ends_with('/')).then_some(path)
        })
        .collect()
}

/// Checks the package itself: files, control fields, maintainer scripts.
fn check_package(deb: &Path) {
    let mut files = contents(deb);
    files.sort();
    assert_eq!(
        files,
        [
            "/etc/default/ic-routed",
            "/usr/bin/ic-routed",
            "/usr/bin/ovn-ic -> ic-routed",
            "/usr/bin/ovnlink",
            "/usr/lib/ic-routed/bin/ovn-ic -> ../../../bin/ic-routed",
            "/usr/lib/systemd/system/ic-routed.service",
            "/usr/share/doc/ic-routed/ARCHITECTURE.md",
            "/usr/share/doc/ic-routed/README.md",
            "/usr/share/doc/ic-routed/changelog.gz",
            "/usr/share/doc/ic-routed/copyright",
        ],
        "{}",
        deb.display()
    );
    let fields = dpkg_deb(deb, &["-f"]);
    let value = |name: &str| {
        fields
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(value("Package"), "ic-routed", "{fields}");
    assert_eq!(value("Architecture"), dpkg_architecture());
    let depends = value("Depends");
    assert!(
        depends.starts_with("ovn-common, libc6"),
        "Depends: {depends}"
    );
    assert!(!fields.contains("\nProvides:") && !fields.contains("\nConflicts:"));
    let info = dpkg_deb(deb, &["-I"]);
    for script in [
        "preinst",
        "postinst",
        "prerm",
        "postrm",
        "conffiles",
        "md5sums",
    ] {
        assert!(info.contains(&format!(" {script}")), "{script}: {info}");
    }
}

fn dpkg_architecture() -> String {
    let mut c = Command::new("dpkg");
    c.arg("--print-architecture");
    run_for(c, DPKG_PATIENCE).stdout.trim().to_owned()
}

/// `dpkg-divert --list` in the root.
fn diversions(root: &Path) -> String {
    let r = chroot(root, &["dpkg-divert", "--list"]);
    assert!(r.ok, "{r:?}");
    r.stdout
}

/// The program's version reply's second line (`ic-routed VERSION` for ic-routed, Open
/// vSwitch's library for Debian's `ovn-ic`).
fn version_second_line(site: &Site) -> String {
    let v = site.appctl(&["version"]).expect("version");
    v.lines().nth(1).unwrap_or_default().to_owned()
}

/// The acceptance test of the package: install, divert, run with `ovn-ctl start_ic` (and the
/// unit's command line), stop, remove, restored.
#[test]
fn the_package_stands_in_for_ovn_ic_and_its_removal_restores_it() {
    let Some(source) = release().root_dir() else {
        eprintln!(
            "skipped: the Debian package test installs into a copy of a Debian root: set \
             OVNLINK_OVN_ROOT (scripts/test.sh's second pass does)"
        );
        return;
    };
    if !ovn_ctl::available() || !host_tools() {
        return;
    }
    let started = Instant::now();
    let deb = build_package();
    let built = started.elapsed();
    check_package(&deb);

    let copied_at = Instant::now();
    let copy = RootCopy::new(source);
    let copied = copied_at.elapsed();
    let clean = OvnRelease::root(&copy.path()).expect("the copy is a root");
    // Canonical, as the kernel names the programs in /proc/PID/exe.
    let root = clean.root_dir().expect("a root").to_path_buf();
    let original = fs::read(root.join("usr/bin/ovn-ic")).expect("Debian's ovn-ic in the root");
    assert!(
        !diversions(&root).contains("/usr/bin/ovn-ic"),
        "the root is not clean"
    );

    // Install.
    let inside = root.join("tmp/ic-routed.deb");
    fs::copy(&deb, &inside).unwrap();
    let r = chroot(&root, &["dpkg", "-i", "/tmp/ic-routed.deb"]);
    assert!(r.ok, "dpkg -i: {r:?}");
    assert!(
        diversions(&root).contains(DIVERSION),
        "{}",
        diversions(&root)
    );
    assert_eq!(
        fs::read_link(root.join("usr/bin/ovn-ic")).unwrap(),
        Path::new("ic-routed")
    );
    assert_eq!(
        fs::read(root.join("usr/bin/ovn-ic.distrib")).unwrap(),
        original,
        "the diverted ovn-ic is Debian's"
    );
    let status = chroot(&root, &["dpkg-query", "-W", "-f=${Status}", "ic-routed"]);
    assert_eq!(status.stdout, "install ok installed", "{status:?}");

    {
        // Debian's ovn-ctl, the root's own PATH: the packaged daemon runs as ovn-ic.
        let site = Site::new(&clean, None);
        let pid = site.start_ic();
        assert_eq!(comm(pid), "ovn-ic");
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
            root.join("usr/bin/ic-routed"),
            "not the packaged program"
        );
        assert!(parent(pid).is_some(), "ovn-ctl's --monitor");
        assert!(
            version_second_line(&site).starts_with("ic-routed "),
            "{:?}",
            site.appctl(&["version"])
        );
        site.stop_ic(pid);
    }
    {
        // The packaged unit's command line, with the unit's PATH and its environment file.
        let unit = fs::read_to_string(root.join("usr/lib/systemd/system/ic-routed.service"))
            .expect("the unit is installed");
        let path = unit
            .lines()
            .find_map(|l| l.strip_prefix("Environment=PATH="))
            .expect("the unit sets PATH");
        let exec: Vec<&str> = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart")
            .split_whitespace()
            .collect();
        assert_eq!(exec[0], OVN_CTL);
        // /etc/default/ic-routed as installed sets no OVN_CTL_OPTS: it expands to nothing.
        let sourced = chroot(
            &root,
            &[
                "sh",
                "-c",
                ". /etc/default/ic-routed; echo \"[$OVN_CTL_OPTS]\"",
            ],
        );
        assert_eq!(sourced.stdout, "[]\n", "{sourced:?}");
        let options: Vec<&str> = exec[1..]
            .iter()
            .copied()
            .filter(|a| *a != "$OVN_CTL_OPTS" && *a != "start_ic")
            .collect();
        let mut site = Site::new(&clean, None);
        site.set_path(path);
        let pid = site.start_ic_with(&options);
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
            root.join("usr/bin/ic-routed")
        );
        assert_eq!(parent(pid), None, "--no-monitor: a monitor runs");
        site.stop_ic(pid);
    }

    // Remove: Debian's ovn-ic is back, byte for byte, and runs under ovn-ctl again.
    let r = chroot(&root, &["dpkg", "-r", "ic-routed"]);
    assert!(r.ok, "dpkg -r: {r:?}");
    assert!(
        !diversions(&root).contains("/usr/bin/ovn-ic"),
        "{}",
        diversions(&root)
    );
    let restored = root.join("usr/bin/ovn-ic");
    assert!(!fs::symlink_metadata(&restored).unwrap().is_symlink());
    assert!(
        fs::read(&restored).unwrap() == original,
        "/usr/bin/ovn-ic differs from Debian's"
    );
    for gone in [
        "usr/bin/ic-routed",
        "usr/bin/ovnlink",
        "usr/bin/ovn-ic.distrib",
    ] {
        assert!(!root.join(gone).exists(), "{gone} left after dpkg -r");
    }
    assert!(
        root.join("etc/default/ic-routed").exists(),
        "a conffile stays until purge"
    );
    {
        let site = Site::new(&clean, None);
        let pid = site.start_ic();
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
            root.join("usr/bin/ovn-ic")
        );
        assert!(
            !version_second_line(&site).starts_with("ic-routed"),
            "{:?}",
            site.appctl(&["version"])
        );
        site.stop_ic(pid);
    }
    let r = chroot(&root, &["dpkg", "-P", "ic-routed"]);
    assert!(r.ok, "dpkg -P: {r:?}");
    assert!(!root.join("etc/default/ic-routed").exists());
    eprintln!(
        "deb: package built in {built:.1?}, root copied in {copied:.1?}, whole test {:.1?}",
        started.elapsed()
    );
}
