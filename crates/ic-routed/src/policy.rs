//! VPC isolation in the daemon: the policy file, reloadable while the daemon runs, and
//! where the VPC inventory comes from.
//!
//! The policy is read at start and again on `ovn-appctl -t CTL isolation/reload` or
//! SIGHUP ([`PolicySource::reload`]). A reload is all or nothing: a file that cannot be
//! read, does not parse or does not validate (with an inventory file: a selector that
//! matches none of its VPCs, the rule the daemon starts with) is refused with one line
//! naming the file and the entry, and the running policy stays in force. A policy taken
//! takes effect in the daemon's next round, which recomputes every route with it.
//!
//! The inventory is built live by the daemon ([`isolation::live`]): its own zone from its
//! NB replica, other zones from `--isolation-zone-nb` replicas ([`ZoneRemote`]), the
//! inventory file, or the claims other zones' `ic-routed` write on their advertisements.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use isolation::{Inventory, Policy, World};
use tokio::sync::watch;

/// The isolation policy file and the policy in force.
#[derive(Debug)]
pub struct PolicySource {
    path: PathBuf,
    /// With an inventory file: its VPCs, which every selector must match.
    check: Option<Inventory>,
    current: Mutex<Arc<Policy>>,
    generation: watch::Sender<u64>,
}

impl PolicySource {
    /// Reads the policy at `path`. With `inventory` (the VPCs of an inventory file), every
    /// selector must match one of them.
    ///
    /// # Errors
    ///
    /// One line naming the file and what is wrong (the position of a JSON error, or the
    /// entry, as `pairs[0].openstack`).
    pub fn load(path: &Path, inventory: Option<Inventory>) -> Result<PolicySource, String> {
        let policy = read_policy(path, inventory.as_ref())?;
        Ok(PolicySource {
            path: path.to_owned(),
            check: inventory,
            current: Mutex::new(Arc::new(policy)),
            generation: watch::channel(0).0,
        })
    }

    /// The policy file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        match self.current.lock() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the file again and, if it is a good policy, puts it in force (the daemon's
    /// next round uses it). Returns what the reply to `isolation/reload` says.
    ///
    /// # Errors
    ///
    /// The one-line reason the file was refused; the running policy stays.
    pub fn reload(&self) -> Result<String, String> {
        let policy = read_policy(&self.path, self.check.as_ref())
            .map_err(|e| format!("{e}; the running policy stays"))?;
        let summary = format!(
            "isolation policy {} loaded: {} pairs, {} peerings",
            self.path.display(),
            policy.pairs.len(),
            policy.peerings.len()
        );
        let mut current = match self.current.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if **current == policy {
            return Ok(format!("{summary} (unchanged)"));
        }
        *current = Arc::new(policy);
        drop(current);
        self.generation.send_modify(|g| *g += 1);
        Ok(summary)
    }

    /// A receiver that sees a change each time a new policy is put in force.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

/// Reads, parses and checks a policy file; the error is one line naming the file.
fn read_policy(path: &Path, inventory: Option<&Inventory>) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let policy = Policy::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(inv) = inventory {
        policy
            .check(inv)
            .map_err(|e| format!("{} against the inventory file: {e}", path.display()))?;
    }
    Ok(policy)
}

/// A zone whose VPCs are read from a replica of its `OVN_Northbound`
/// (`--isolation-zone-nb ZONE=REMOTE`): a zone running stock ovn-ic, which writes no claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRemote {
    /// The availability zone's name.
    pub zone: String,
    /// Its `OVN_Northbound`, in Open vSwitch's remote syntax (the daemon's TLS files apply).
    pub remote: String,
}

impl ZoneRemote {
    /// Parses `ZONE=REMOTE`.
    ///
    /// # Errors
    ///
    /// When either side is empty or `=` is missing.
    pub fn parse(text: &str) -> Result<ZoneRemote, String> {
        match text.split_once('=') {
            Some((zone, remote)) if !zone.trim().is_empty() && !remote.trim().is_empty() => {
                Ok(ZoneRemote {
                    zone: zone.trim().to_owned(),
                    remote: remote.trim().to_owned(),
                })
            }
            _ => Err(format!("`{text}` is not ZONE=REMOTE")),
        }
    }
}

/// The daemon's VPC isolation: the policy, and where the inventory comes from besides the
/// zone's own NB replica and the IC-SB claims.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Isolation {
    /// The policy file and the policy in force.
    pub policy: Arc<PolicySource>,
    /// The inventory file's rows, if one was given (zones without replica or claims).
    pub file: Option<Arc<World>>,
    /// Other zones' NB replicas.
    pub zone_nbs: Vec<ZoneRemote>,
}

impl Isolation {
    /// Isolation with `policy`, no inventory file and no other zones' replicas.
    pub fn new(policy: Arc<PolicySource>) -> Isolation {
        Isolation {
            policy,
            file: None,
            zone_nbs: Vec::new(),
        }
    }

    /// Sets the inventory file's rows.
    pub fn file(mut self, file: Option<Arc<World>>) -> Isolation {
        self.file = file;
        self
    }

    /// Sets the other zones' NB replicas.
    pub fn zone_nbs(mut self, zone_nbs: Vec<ZoneRemote>) -> Isolation {
        self.zone_nbs = zone_nbs;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"pairs": [
        {"openstack": {"router_name": "tenant-a"}, "kubernetes": {"vpc": "vpc-a"}}
    ]}"#;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("policy.json");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_bad_policy_is_refused_and_the_running_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), GOOD);
        let src = PolicySource::load(&path, None).unwrap();
        let mut rx = src.subscribe();
        let before = src.policy();
        assert_eq!(before.pairs.len(), 1);
        for (bad, want) in [
            (
                "{\"pairs\": [",
                "EOF while parsing a list at line 1 column 11",
            ),
            (
                r#"{"pairs": [], "peerings": [{"a": {"vpc": "x"}, "b": {}}]}"#,
                "peerings[0]: empty selector",
            ),
            (
                r#"{"pairs": [{"openstack": {"projekt": "p1"}, "kubernetes": {"vpc": "v"}}]}"#,
                "unknown field `projekt`",
            ),
        ] {
            write(dir.path(), bad);
            let err = src.reload().unwrap_err();
            assert!(
                err.contains(want) && err.contains("policy.json") && !err.contains('\n'),
                "{err}"
            );
            assert!(err.ends_with("; the running policy stays"), "{err}");
            assert!(Arc::ptr_eq(&src.policy(), &before));
            assert!(!rx.has_changed().unwrap());
        }
        std::fs::remove_file(&path).unwrap();
        let err = src.reload().unwrap_err();
        assert!(err.starts_with("cannot read "), "{err}");
        assert!(Arc::ptr_eq(&src.policy(), &before));
        // A good one is taken, once.
        write(dir.path(), r#"{"pairs": [], "unknown_source": "allow"}"#);
        assert_eq!(
            src.reload().unwrap(),
            format!(
                "isolation policy {} loaded: 0 pairs, 0 peerings",
                path.display()
            )
        );
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        assert!(src.policy().unknown_source.allows());
        assert!(src.reload().unwrap().ends_with("(unchanged)"));
        assert!(!rx.has_changed().unwrap());
    }

    #[test]
    fn with_an_inventory_file_selectors_must_name_its_vpcs() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), r#"{"pairs": []}"#);
        let src = PolicySource::load(&path, Some(Inventory::default())).unwrap();
        write(dir.path(), GOOD);
        let err = src.reload().unwrap_err();
        assert!(
            err.contains("pairs[0].openstack") && err.contains("matches no VPC"),
            "{err}"
        );
        assert!(src.policy().pairs.is_empty());
        // Without an inventory file, VPCs may come later: the same policy is taken.
        assert!(PolicySource::load(&path, None).is_ok());
    }

    #[test]
    fn zone_remotes_parse() {
        assert_eq!(
            ZoneRemote::parse("az2=ssl:10.0.0.2:6641").unwrap(),
            ZoneRemote {
                zone: "az2".into(),
                remote: "ssl:10.0.0.2:6641".into()
            }
        );
        assert!(ZoneRemote::parse("az2").is_err());
        assert!(ZoneRemote::parse("=tcp:1.2.3.4:6641").is_err());
        assert!(ZoneRemote::parse("az2=").is_err());
    }
}
