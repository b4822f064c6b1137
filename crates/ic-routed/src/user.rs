//! `--user USER[:GROUP]`, as Open vSwitch daemons take it (`ovn-ctl` passes
//! `--user "$OVN_USER"` when `OVN_USER` is set): a daemon started by root gives up root for
//! that user before it creates its pid file and control socket.
//!
//! - `USER` is looked up in `/etc/passwd`; without `:GROUP` its primary group is used.
//! - `:GROUP` (`/etc/group`) must be the user's primary group or list the user as a member;
//!   `:GROUP` alone keeps root's user id and changes the group only.
//! - The supplementary groups are dropped (as Open vSwitch built with libcap-ng, Debian's,
//!   does: `ps -o supgrp` shows none), then the real, effective and saved group ids are set,
//!   then the user ids; root cannot be regained afterwards (checked).
//! - Only root may use it.
//!
//! Names are read from the files, not through NSS: users of LDAP or other NSS sources are not
//! found (give the daemon a local user, as Debian's `openvswitch` user is). The switch must
//! happen while the process has a single thread (`rustix` changes the calling thread's
//! credentials; with one thread they are the process's), so the binary does it first thing.

use std::path::Path;

use rustix::process::{Gid, Uid};

/// Who the daemon becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user's name (`None` for `:GROUP` alone).
    pub user: Option<String>,
    /// The user id.
    pub uid: u32,
    /// The group id.
    pub gid: u32,
}

/// One `name:x:id:…` line's name and numeric fields.
fn entries(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(':').collect::<Vec<_>>())
}

impl Credentials {
    /// Resolves `spec` (`USER`, `USER:GROUP` or `:GROUP`) against the text of `/etc/passwd`
    /// and `/etc/group`; `current` is the (uid, gid) kept for `:GROUP` alone.
    ///
    /// # Errors
    ///
    /// An unknown user or group, or a user who is not in the group.
    pub fn resolve(
        spec: &str,
        passwd: &str,
        group: &str,
        current: (u32, u32),
    ) -> Result<Credentials, String> {
        let (user, group_name) = match spec.split_once(':') {
            Some((u, g)) => (u, Some(g.trim())),
            None => (spec, None),
        };
        let (mut uid, mut gid) = current;
        let user = if user.is_empty() {
            None
        } else {
            let entry = entries(passwd)
                .find(|f| f.first() == Some(&user))
                .ok_or_else(|| format!("--user {spec}: no user {user} in /etc/passwd"))?;
            let num = |i: usize| entry.get(i).and_then(|s| s.parse::<u32>().ok());
            uid = num(2).ok_or_else(|| format!("--user {spec}: bad /etc/passwd entry"))?;
            gid = num(3).ok_or_else(|| format!("--user {spec}: bad /etc/passwd entry"))?;
            Some(user.to_owned())
        };
        if let Some(name) = group_name.filter(|g| !g.is_empty()) {
            let entry = entries(group)
                .find(|f| f.first() == Some(&name))
                .ok_or_else(|| format!("--user {spec}: no group {name} in /etc/group"))?;
            let group_gid = entry
                .get(2)
                .and_then(|s| s.parse::<u32>().ok())
                .ok_or_else(|| format!("--user {spec}: bad /etc/group entry"))?;
            if let Some(u) = &user {
                let member = entry
                    .get(3)
                    .is_some_and(|m| m.split(',').any(|m| m.trim() == u));
                if group_gid != gid && !member {
                    return Err(format!("--user {spec}: user {u} is not in group {name}"));
                }
            }
            gid = group_gid;
        }
        Ok(Credentials { user, uid, gid })
    }

    /// [`Credentials::resolve`] against this system's `/etc/passwd` and `/etc/group`.
    ///
    /// # Errors
    ///
    /// As `resolve`, or when the files cannot be read.
    pub fn lookup(spec: &str) -> Result<Credentials, String> {
        let read = |p: &str| {
            std::fs::read_to_string(Path::new(p)).map_err(|e| format!("--user {spec}: {p}: {e}"))
        };
        let current = (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        );
        Credentials::resolve(spec, &read("/etc/passwd")?, &read("/etc/group")?, current)
    }

    /// Becomes these credentials: no supplementary groups, then the group ids, then the user
    /// ids.
    /// Call it while the process has one thread.
    ///
    /// # Errors
    ///
    /// When the process is not root, a step fails, or root can be regained afterwards.
    pub fn assume(&self) -> Result<(), String> {
        if !rustix::process::geteuid().is_root() || !rustix::process::getuid().is_root() {
            return Err("only root can use --user option".to_owned());
        }
        let fail = |what: &str, e: rustix::io::Errno| format!("--user: {what} failed ({e})");
        rustix::thread::set_thread_groups(&[]).map_err(|e| fail("setgroups", e))?;
        let gid = Gid::from_raw(self.gid);
        rustix::thread::set_thread_res_gid(gid, gid, gid).map_err(|e| fail("setresgid", e))?;
        let uid = Uid::from_raw(self.uid);
        rustix::thread::set_thread_res_uid(uid, uid, uid).map_err(|e| fail("setresuid", e))?;
        if self.uid != 0
            && rustix::thread::set_thread_res_uid(Uid::ROOT, Uid::ROOT, Uid::ROOT).is_ok()
        {
            return Err("--user: root could be regained after the switch".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        # a comment\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        openvswitch:x:101:103::/var/lib/openvswitch:/usr/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\n\
        nogroup:x:65534:\n\
        openvswitch:x:103:\n\
        hugetlbfs:x:104:openvswitch\n\
        adm:x:4:syslog,openvswitch\n";

    fn resolve(spec: &str) -> Result<Credentials, String> {
        Credentials::resolve(spec, PASSWD, GROUP, (0, 0))
    }

    #[test]
    fn a_user_takes_its_primary_group_or_one_it_is_a_member_of() {
        assert_eq!(
            resolve("openvswitch").unwrap(),
            Credentials {
                user: Some("openvswitch".to_owned()),
                uid: 101,
                gid: 103,
            }
        );
        // Red Hat's `openvswitch:hugetlbfs`: a group the user is a member of.
        let c = resolve("openvswitch:hugetlbfs").unwrap();
        assert_eq!((c.uid, c.gid), (101, 104));
        let c = resolve("nobody:nogroup").unwrap();
        assert_eq!((c.uid, c.gid), (65534, 65534));
    }

    #[test]
    fn a_group_alone_keeps_the_user() {
        let c = resolve(":openvswitch").unwrap();
        assert_eq!((c.user, c.uid, c.gid), (None, 0, 103));
    }

    #[test]
    fn unknown_names_and_foreign_groups_are_errors() {
        assert!(resolve("nosuch").unwrap_err().contains("no user nosuch"));
        assert!(resolve("nobody:nosuch")
            .unwrap_err()
            .contains("no group nosuch"));
        assert!(resolve("nobody:openvswitch")
            .unwrap_err()
            .contains("user nobody is not in group openvswitch"));
        assert!(Credentials::resolve("x", "x:y:z\n", "", (0, 0)).is_err());
    }
}
