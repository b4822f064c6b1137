//! The isolation policy: which OpenStack VPC pairs with which Kubernetes VPC, extra allowed
//! peerings, and what to do with routes of unknown origin.
//!
//! Default: a VPC reaches only itself and the counterparts the policy declares. Pairings
//! are symmetric.
//!
//! ```json
//! {
//!   "pairs": [
//!     { "openstack": { "project": "8c1f…", "router_name": "tenant-a" },
//!       "kubernetes": { "zone": "k8s", "vpc": "vpc-a" } },
//!     { "openstack": { "router": "neutron-2b0e…" },
//!       "kubernetes": { "vpc": "vpc-b" } }
//!   ],
//!   "peerings": [
//!     { "a": { "vpc": "monitoring" }, "b": { "vpc": "vpc-a" } }
//!   ],
//!   "unknown_source": "deny",
//!   "unknown_learner": "allow"
//! }
//! ```
//!
//! A selector matches a VPC when every field it sets matches (at least one must be set):
//! `zone` (availability zone), `router` (`Logical_Router` name, e.g. `neutron-<uuid>` or a
//! Kube-OVN VPC router), `router_name` (Neutron's human router name), `project` (Neutron
//! project id), `vpc` (Kube-OVN `Vpc` name). In `pairs`, `openstack` selectors only match
//! OpenStack VPCs and `kubernetes` selectors only Kubernetes VPCs; `peerings` match any.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::vpc::{Inventory, Vpc, VpcKind};

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Allow.
    Allow,
    /// Deny.
    #[default]
    Deny,
}

impl Decision {
    /// `true` for [`Decision::Allow`].
    pub fn allows(self) -> bool {
        self == Decision::Allow
    }
}

/// Picks VPCs by zone, router, Neutron project / router name or Kube-OVN VPC name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Selector {
    /// Availability zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// `Logical_Router` name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
    /// Neutron's human router name (`neutron:router_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_name: Option<String>,
    /// Neutron project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Kube-OVN `Vpc` name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
}

impl Selector {
    /// A selector of the router called `router`.
    pub fn router(router: impl Into<String>) -> Self {
        Selector {
            router: Some(router.into()),
            ..Selector::default()
        }
    }

    /// A selector of the Kube-OVN VPC called `vpc`.
    pub fn vpc(vpc: impl Into<String>) -> Self {
        Selector {
            vpc: Some(vpc.into()),
            ..Selector::default()
        }
    }

    /// A selector of the Neutron project `project`.
    pub fn project(project: impl Into<String>) -> Self {
        Selector {
            project: Some(project.into()),
            ..Selector::default()
        }
    }

    fn is_empty(&self) -> bool {
        self.zone.is_none()
            && self.router.is_none()
            && self.router_name.is_none()
            && self.project.is_none()
            && self.vpc.is_none()
    }

    /// Whether `vpc` matches every field this selector sets.
    pub fn matches(&self, vpc: &Vpc) -> bool {
        if self.is_empty() {
            return false;
        }
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        let (project, router_name, kvpc) = match &vpc.kind {
            VpcKind::OpenStack {
                project,
                router_name,
                ..
            } => (project.as_deref(), router_name.as_deref(), None),
            VpcKind::Kubernetes { vpc, .. } => (None, None, Some(vpc.as_str())),
        };
        eq(&self.zone, Some(&vpc.zone))
            && eq(&self.router, Some(&vpc.router))
            && eq(&self.router_name, router_name)
            && eq(&self.project, project)
            && eq(&self.vpc, kvpc)
    }
}

/// An OpenStack VPC and its Kubernetes counterpart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Pair {
    /// The OpenStack side.
    pub openstack: Selector,
    /// The Kubernetes side.
    pub kubernetes: Selector,
}

impl Pair {
    /// A pair.
    pub fn new(openstack: Selector, kubernetes: Selector) -> Self {
        Pair {
            openstack,
            kubernetes,
        }
    }
}

/// An extra allowed peering between any two VPCs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Peering {
    /// One side.
    pub a: Selector,
    /// The other side.
    pub b: Selector,
}

/// The isolation policy (serde JSON, see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// OpenStack VPC ↔ Kubernetes VPC counterparts.
    #[serde(default)]
    pub pairs: Vec<Pair>,
    /// Extra allowed peerings.
    #[serde(default)]
    pub peerings: Vec<Peering>,
    /// What the route filter does with a route whose source VPC it cannot identify
    /// (default deny).
    #[serde(default)]
    pub unknown_source: Decision,
    /// What the route filter does when the learning router is not a VPC (default deny).
    #[serde(default)]
    pub unknown_learner: Decision,
}

impl Policy {
    /// Parses and validates a policy file.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let p: Policy = serde_json::from_str(text).map_err(|e| Error::Policy(e.to_string()))?;
        p.validate()?;
        Ok(p)
    }

    /// Checks that no selector is empty.
    pub fn validate(&self) -> Result<(), Error> {
        for (i, p) in self.pairs.iter().enumerate() {
            if p.openstack.is_empty() || p.kubernetes.is_empty() {
                return Err(Error::Policy(format!("pairs[{i}]: empty selector")));
            }
        }
        for (i, p) in self.peerings.iter().enumerate() {
            if p.a.is_empty() || p.b.is_empty() {
                return Err(Error::Policy(format!("peerings[{i}]: empty selector")));
            }
        }
        Ok(())
    }

    /// Checks that every selector matches at least one VPC of `inventory` (in `pairs`, an
    /// OpenStack VPC for `openstack` and a Kubernetes VPC for `kubernetes`): the first that
    /// does not is an [`Error::NoSuchVpc`] naming it.
    pub fn check(&self, inventory: &Inventory) -> Result<(), Error> {
        self.validate()?;
        let vpcs = inventory.vpcs();
        let missing = |at: String, s: &Selector| Error::NoSuchVpc {
            at,
            selector: serde_json::to_string(s).unwrap_or_default(),
        };
        for (i, p) in self.pairs.iter().enumerate() {
            if !vpcs
                .iter()
                .any(|v| v.is_openstack() && p.openstack.matches(v))
            {
                return Err(missing(format!("pairs[{i}].openstack"), &p.openstack));
            }
            if !vpcs
                .iter()
                .any(|v| !v.is_openstack() && p.kubernetes.matches(v))
            {
                return Err(missing(format!("pairs[{i}].kubernetes"), &p.kubernetes));
            }
        }
        for (i, p) in self.peerings.iter().enumerate() {
            for (side, s) in [("a", &p.a), ("b", &p.b)] {
                if !vpcs.iter().any(|v| s.matches(v)) {
                    return Err(missing(format!("peerings[{i}].{side}"), s));
                }
            }
        }
        Ok(())
    }

    /// Whether `a` and `b` may talk: the same VPC, a declared pair (either order) or an
    /// extra peering (either order).
    pub fn allows(&self, a: &Vpc, b: &Vpc) -> bool {
        if a.id == b.id {
            return true;
        }
        let pair = |x: &Vpc, y: &Vpc| {
            self.pairs.iter().any(|p| {
                x.is_openstack()
                    && !y.is_openstack()
                    && p.openstack.matches(x)
                    && p.kubernetes.matches(y)
            })
        };
        let peer = |x: &Vpc, y: &Vpc| {
            self.peerings
                .iter()
                .any(|p| p.a.matches(x) && p.b.matches(y))
        };
        pair(a, b) || pair(b, a) || peer(a, b) || peer(b, a)
    }

    /// Every ordered pair of indexes into `vpcs` that [`Policy::allows`] (distinct VPCs
    /// only), computed rule by rule: O(rules × VPCs + allowed pairs) instead of
    /// O(VPCs² × rules).
    pub fn allowed_pairs(&self, vpcs: &[Vpc]) -> HashSet<(usize, usize)> {
        let mut out = HashSet::new();
        let mut add = |xs: &[usize], ys: &[usize]| {
            for &x in xs {
                for &y in ys {
                    if vpcs[x].id != vpcs[y].id {
                        out.insert((x, y));
                        out.insert((y, x));
                    }
                }
            }
        };
        let select = |s: &Selector, kind: Option<bool>| -> Vec<usize> {
            vpcs.iter()
                .enumerate()
                .filter(|(_, v)| kind.is_none_or(|os| v.is_openstack() == os) && s.matches(v))
                .map(|(i, _)| i)
                .collect()
        };
        for p in &self.pairs {
            add(
                &select(&p.openstack, Some(true)),
                &select(&p.kubernetes, Some(false)),
            );
        }
        for p in &self.peerings {
            add(&select(&p.a, None), &select(&p.b, None));
        }
        out
    }

    /// The declared pairs (OpenStack VPC, Kubernetes VPC) among `vpcs`, in order, without
    /// duplicates.
    pub fn pairs_among<'a>(&self, vpcs: &'a [Vpc]) -> Vec<(&'a Vpc, &'a Vpc)> {
        let mut out: Vec<(&Vpc, &Vpc)> = Vec::new();
        for os in vpcs.iter().filter(|v| v.is_openstack()) {
            for k in vpcs.iter().filter(|v| !v.is_openstack()) {
                if self
                    .pairs
                    .iter()
                    .any(|p| p.openstack.matches(os) && p.kubernetes.matches(k))
                    && !out.iter().any(|(a, b)| a.id == os.id && b.id == k.id)
                {
                    out.push((os, k));
                }
            }
        }
        out
    }
}
