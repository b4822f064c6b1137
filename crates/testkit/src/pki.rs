//! Certificates for TLS tests, made by Open vSwitch's `ovs-pki` in a directory the test owns
//! (the files `ovs-pki` makes for a real deployment, with its naming and CA layout).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::release::release;
use crate::server::find_binary;

/// Runs `ovs-pki` in `dir` (so that the names it puts in CNs are relative); an error carries
/// its output.
pub fn ovs_pki(dir: &Path, args: &[&str]) -> io::Result<()> {
    run_in(dir, "ovs-pki", args).map(drop)
}

/// Runs `program` in `dir` and returns its standard output; an error carries its output.
pub fn run_in(dir: &Path, program: &str, args: &[&str]) -> io::Result<String> {
    let path = find_binary(program)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{program} not found")))?;
    let output = release().command_in(dir, &path, args).output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{program} {args:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A key and a certificate signed by a [`Pki`]'s `switch` CA.
#[derive(Debug, Clone)]
pub struct Issued {
    /// `<dir>/<name>-privkey.pem`.
    pub key: PathBuf,
    /// `<dir>/<name>-cert.pem`.
    pub cert: PathBuf,
}

/// A PKI made by `ovs-pki init` in `<dir>/pki`.
#[derive(Debug)]
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// Makes a PKI under `dir` (created if missing).
    pub fn init(dir: &Path) -> io::Result<Pki> {
        fs::create_dir_all(dir)?;
        ovs_pki(dir, &["--dir=pki", "--force", "init"])?;
        Ok(Pki {
            dir: dir.to_path_buf(),
        })
    }

    /// Two PKIs in `<parent>/good` and `<parent>/other` whose CAs have different subjects,
    /// as `subject` reads them from a CA certificate file. `ovs-pki` names a CA after the
    /// second it was made in: two CAs of the same second share a subject, and a foreign
    /// certificate then fails with a bad signature instead of an unknown issuer. The other
    /// CA is made again until its second differs.
    pub fn distinct_pair(
        parent: &Path,
        subject: impl Fn(&Path) -> String,
    ) -> io::Result<(Pki, Pki)> {
        let good = Pki::init(&parent.join("good"))?;
        let mut other = Pki::init(&parent.join("other"))?;
        while subject(&other.ca()) == subject(&good.ca()) {
            std::thread::sleep(Duration::from_millis(300));
            // `init --force` would keep the CA's configuration, and so its name.
            fs::remove_dir_all(parent.join("other"))?;
            other = Pki::init(&parent.join("other"))?;
        }
        Ok((good, other))
    }

    /// The directory that holds `pki/` and the issued files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA that signs `switch` certificates.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("pki/switchca/cacert.pem")
    }

    /// Issues a `switch` certificate for `name`.
    pub fn issue(&self, name: &str) -> io::Result<Issued> {
        ovs_pki(&self.dir, &["-d", "pki", "-b", "req+sign", name, "switch"])?;
        Ok(Issued {
            key: self.dir.join(format!("{name}-privkey.pem")),
            cert: self.dir.join(format!("{name}-cert.pem")),
        })
    }
}
