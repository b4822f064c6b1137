//! The pid file, kept as Open vSwitch daemons keep theirs, so that `ovs-appctl`/`ovn-appctl
//! -t NAME`, `ovn-ctl` and systemd trust it.
//!
//! The contract, as the real tools observe it (checked against `ovs-appctl` of Open vSwitch
//! 3.1 and 3.5 and `ovn-ctl` of OVN 23.03 and 25.03):
//!
//! - The file holds the daemon's process id and a newline.
//! - The daemon holds a POSIX record lock (`fcntl(F_SETLK)`, a write lock over the whole file)
//!   on it for as long as it runs. A reader asks `F_GETLK` who holds the lock and trusts the
//!   file only when the holder is the process whose id is written in it: a file that nobody
//!   locks is stale (`ovs-appctl` then says `cannot read pidfile "…" (No such process)`).
//!   `flock(2)` and open-file-description locks do not do: `F_GETLK` does not see the first
//!   and reports no process for the second.
//! - The file appears whole: it is written as `NAME.tmp` (`NAME.tmpPID` with
//!   `--overwrite-pidfile`), locked, written, then renamed to `NAME`. Only the process that
//!   holds the lock on `NAME.tmp` may go on, so two daemons starting at once cannot both win.
//! - Without `--overwrite-pidfile`, a live daemon's pid file (locked by the pid it names) makes
//!   the start fail; a stale one is removed (after locking it, so that two starting daemons do
//!   not remove each other's fresh file).
//! - It is removed when the daemon exits, unless another daemon's file has replaced it. A
//!   daemon killed by SIGKILL leaves a stale file behind; the next start removes it.
//!
//! A POSIX lock belongs to a process and is released when the process closes *any*
//! descriptor of the file. [`Pidfile`] keeps its descriptor open until it is dropped, and
//! [`read_pid`] never opens a file that this process holds (it answers with its own id).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::fs::{fcntl_lock, FlockOperation};
use rustix::process::{fcntl_getlk, Flock, FlockOffsetType, FlockType};

/// Why a pid file could not be created or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PidfileError {
    /// A file operation failed.
    #[error("{path}: {op} failed ({source})")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was attempted: `create`, `open`, `lock`, `write`, `rename`, ….
        op: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Another process holds the lock on the temporary file: a daemon is starting right now.
    #[error("{path}: failed to lock file (another daemon is starting)")]
    Busy {
        /// The temporary file.
        path: PathBuf,
    },
    /// A live daemon holds the pid file.
    #[error("{path}: already running as pid {pid}, aborting")]
    AlreadyRunning {
        /// The pid file.
        path: PathBuf,
        /// The running daemon.
        pid: u32,
    },
    /// Nobody holds the lock on the pid file: its daemon is gone.
    #[error("{path}: pid file is stale")]
    Stale {
        /// The pid file.
        path: PathBuf,
    },
    /// The lock holder is not the process the file names (a daemon is replacing the file).
    #[error("{path}: stale pidfile for pid {written} being deleted by pid {holder}")]
    Mismatch {
        /// The pid file.
        path: PathBuf,
        /// The id written in the file.
        written: String,
        /// The process that holds the lock.
        holder: i64,
    },
}

/// The (device, inode) of every pid file this process holds, so that [`read_pid`] never
/// opens (and, by closing it, unlocks) one of them.
static HELD: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<(u64, u64)>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// A created and locked pid file; removed on drop.
#[derive(Debug)]
pub struct Pidfile {
    path: PathBuf,
    /// Holds the lock: it must stay open for the life of the process.
    _file: File,
    id: (u64, u64),
}

impl Pidfile {
    /// Creates `path` holding this process's id, locked for as long as the value lives.
    ///
    /// Without `overwrite`, fails with [`PidfileError::AlreadyRunning`] when a live daemon
    /// holds `path`, and removes a stale file. With `overwrite` (`--overwrite-pidfile`) the
    /// file is replaced whoever holds it.
    ///
    /// # Errors
    ///
    /// [`PidfileError::Busy`] when another daemon is creating the same file, else the failed
    /// file operation.
    pub fn create(path: &Path, overwrite: bool) -> Result<Pidfile, PidfileError> {
        let pid = std::process::id();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(if overwrite {
            format!(".tmp{pid}")
        } else {
            ".tmp".to_owned()
        });
        let tmp = PathBuf::from(tmp);
        let io_err = |path: &Path, op, source| PidfileError::Io {
            path: path.to_owned(),
            op,
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&tmp)
            .map_err(|e| io_err(&tmp, "create", e))?;
        match fcntl_lock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::ACCESS => {
                return Err(PidfileError::Busy { path: tmp });
            }
            Err(e) => return Err(io_err(&tmp, "lock", e.into())),
        }
        // From here on the temporary file is ours to remove on failure.
        let result = (|| {
            if !overwrite {
                remove_if_stale(path)?;
            }
            file.set_len(0).map_err(|e| io_err(&tmp, "truncate", e))?;
            file.write_all(format!("{pid}\n").as_bytes())
                .map_err(|e| io_err(&tmp, "write", e))?;
            let meta = file.metadata().map_err(|e| io_err(&tmp, "fstat", e))?;
            std::fs::rename(&tmp, path).map_err(|e| io_err(path, "rename", e))?;
            Ok((meta.dev(), meta.ino()))
        })();
        match result {
            Ok(id) => {
                held().push(id);
                Ok(Pidfile {
                    path: path.to_owned(),
                    _file: file,
                    id,
                })
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        // Another daemon (`--overwrite-pidfile`) may have replaced the file: leave its file.
        if identity(&self.path) == Some(self.id) {
            let _ = std::fs::remove_file(&self.path);
        }
        held().retain(|id| *id != self.id);
    }
}

/// The pid of the daemon that holds the pid file at `path`, as `ovs-appctl` decides it: the
/// file is locked, and by the process whose id it holds.
///
/// # Errors
///
/// [`PidfileError::Stale`] when nobody holds the lock, [`PidfileError::Mismatch`] when
/// another process does, [`PidfileError::Io`] when the file cannot be opened or read
/// (`NotFound` when there is none).
pub fn read_pid(path: &Path) -> Result<u32, PidfileError> {
    match inspect(path)? {
        Holder::Own => Ok(std::process::id()),
        Holder::Process(pid) => Ok(pid),
        Holder::Nobody(_) => Err(PidfileError::Stale {
            path: path.to_owned(),
        }),
    }
}

enum Holder {
    /// This process holds it.
    Own,
    /// A live process holds it and is the one it names.
    Process(u32),
    /// Nobody holds it; the open file, for removal.
    Nobody(File),
}

fn inspect(path: &Path) -> Result<Holder, PidfileError> {
    if identity(path).is_some_and(|id| held().contains(&id)) {
        return Ok(Holder::Own);
    }
    let io_err = |op, source| PidfileError::Io {
        path: path.to_owned(),
        op,
        source,
    };
    // Read-write: a stale file is then locked through this descriptor before removal.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_err("open", e))?;
    let want = Flock {
        start: 0,
        length: 0,
        pid: None,
        typ: FlockType::WriteLock,
        offset_type: FlockOffsetType::Set,
    };
    let Some(lock) = fcntl_getlk(&file, &want).map_err(|e| io_err("fcntl", e.into()))? else {
        return Ok(Holder::Nobody(file));
    };
    let mut line = String::new();
    BufReader::new(&file)
        .read_line(&mut line)
        .map_err(|e| io_err("read", e))?;
    let written = line.trim().to_owned();
    let holder = lock.pid.map_or(0, |p| i64::from(p.as_raw_nonzero().get()));
    match written.parse::<u32>() {
        Ok(pid) if i64::from(pid) == holder => Ok(Holder::Process(pid)),
        _ => Err(PidfileError::Mismatch {
            path: path.to_owned(),
            written,
            holder,
        }),
    }
}

/// Fails when a live daemon holds `path`; removes the file when nobody does.
fn remove_if_stale(path: &Path) -> Result<(), PidfileError> {
    let file = match inspect(path) {
        Ok(Holder::Own) => {
            return Err(PidfileError::AlreadyRunning {
                path: path.to_owned(),
                pid: std::process::id(),
            })
        }
        Ok(Holder::Process(pid)) => {
            return Err(PidfileError::AlreadyRunning {
                path: path.to_owned(),
                pid,
            })
        }
        Ok(Holder::Nobody(file)) => file,
        Err(PidfileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(())
        }
        Err(e) => return Err(e),
    };
    // Lock the stale file first: only the process holding that lock may remove it, and only
    // while it still has the name (someone else may have removed it and put a fresh file in
    // its place).
    match fcntl_lock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(_) => {
            return Err(PidfileError::Busy {
                path: path.to_owned(),
            })
        }
    }
    let ours = file.metadata().ok().map(|m| (m.dev(), m.ino()));
    if ours.is_none() || identity(path) != ours {
        return Err(PidfileError::Busy {
            path: path.to_owned(),
        });
    }
    std::fs::remove_file(path).map_err(|source| PidfileError::Io {
        path: path.to_owned(),
        op: "remove stale",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        let p = Pidfile::create(&path, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        assert!(!dir.path().join("d.pid.tmp").exists());
        // Our own file: answered without opening it (which would drop the lock).
        assert_eq!(read_pid(&path).unwrap(), std::process::id());
        // A second start in the same process sees a running daemon.
        let again = Pidfile::create(&path, false).unwrap_err();
        assert!(
            matches!(again, PidfileError::AlreadyRunning { pid, .. } if pid == std::process::id()),
            "{again}"
        );
        assert!(!dir.path().join("d.pid.tmp").exists());
        drop(p);
        assert!(!path.exists());
    }

    #[test]
    fn a_stale_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        // A daemon killed by SIGKILL: its id, no lock.
        std::fs::write(&path, "999999\n").unwrap();
        assert!(matches!(
            read_pid(&path).unwrap_err(),
            PidfileError::Stale { .. }
        ));
        let p = Pidfile::create(&path, false).unwrap();
        assert_eq!(read_pid(&path).unwrap(), std::process::id());
        drop(p);
        assert!(!path.exists());
    }

    #[test]
    fn garbage_in_a_leftover_temporary_file_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        std::fs::write(
            dir.path().join("d.pid.tmp"),
            "garbage from a failed start\n",
        )
        .unwrap();
        let _p = Pidfile::create(&path, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
    }

    #[test]
    fn overwrite_replaces_and_the_old_owner_leaves_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        let first = Pidfile::create(&path, false).unwrap();
        let second = Pidfile::create(&path, true).unwrap();
        assert!(!dir
            .path()
            .join(format!("d.pid.tmp{}", std::process::id()))
            .exists());
        drop(first);
        assert!(
            path.exists(),
            "the replaced owner must not remove the new file"
        );
        drop(second);
        assert!(!path.exists());
    }

    #[test]
    fn missing_and_unreadable_files_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_pid(&dir.path().join("none.pid")).unwrap_err();
        assert!(
            matches!(&missing, PidfileError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound),
            "{missing}"
        );
        let bad = Pidfile::create(&dir.path().join("no/such/dir/d.pid"), false).unwrap_err();
        assert!(bad.to_string().contains("create failed"), "{bad}");
    }
}
