//! Guard ACLs: on the Kubernetes side, drop traffic from the CIDRs of VPCs a VPC may not
//! talk to before it reaches the VPC's pods.
//!
//! Per VPC Y of a zone that has pod ports (switch ports of type `""` with
//! `external_ids:pod`, Kube-OVN's convention, on a switch attached to Y's router):
//!
//! - `Port_Group` `ovnlink_<Y>`: the pod ports;
//! - `Address_Set` `ovnlink_<Y>_deny_ip4` / `_ip6`: the CIDRs of every VPC (of any zone) the
//!   policy keeps away from Y, aggregated — minus CIDRs overlapping Y's own or an allowed
//!   VPC's (an ACL on addresses cannot tell those apart; they are reported in
//!   [`GuardPlan::notes`]);
//! - `ACL` per family on the port group: `to-lport`, priority [`GuardConfig::priority`]
//!   (default 31000), `drop`, `outport == @ovnlink_<Y> && ip4 && ip4.src == $ovnlink_<Y>_deny_ip4`.
//!
//! Priority: OVN 23.03 has no ACL tiers, so all ACLs of a port compete on priority alone.
//! 31000 is above every band in use — Neutron 1000–1002, Kube-OVN subnet ACLs 1000–3000,
//! NetworkPolicy 2000–3000, SecurityGroups up to 18484 — so no allow ACL can re-open what the
//! guard drops. It only matches sources in other VPCs' CIDRs, so nothing else is affected.
//! (With OVN ≥ 23.06, put the guard in tier 0.)
//!
//! All rows carry [`OWNER_KEY`], [`VPC_KEY`] and
//! [`ROLE_KEY`] (`guard-pg`, `guard-deny-ip4/6`, `guard-acl-ip4/6`), never
//! `neutron:*` or `vendor=kube-ovn`; the planner updates its own rows in place and deletes
//! those no longer wanted, so re-planning over the result yields no operations.

use std::collections::BTreeMap;

use ic_routes::Prefix;
use ovn_nb::{Acl, AclAction, AclDirection, AddressSet, PortGroup, PortGroupColumn};
use ovsdb_proto::typed::{Column, Ref, StringMap, Table};
use ovsdb_proto::{Atom, Datum, Mutation, Mutator, Operation, Uuid};

use crate::net::{aggregate, overlaps};
use crate::policy::Policy;
use crate::rows::ZoneNb;
use crate::vpc::{is_own, Inventory, Vpc};
use crate::{OWNER, OWNER_KEY, ROLE_KEY, VPC_KEY};

/// Guard ACL settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuardConfig {
    /// ACL priority (default 31000, see the module docs).
    pub priority: i64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig { priority: 31000 }
    }
}

/// The guard planner's output for one zone's NB.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct GuardPlan {
    /// Operations for the zone's `OVN_Northbound`, in one transaction.
    pub ops: Vec<Operation>,
    /// What could not be guarded, and why.
    pub notes: Vec<String>,
}

/// A name usable in ACL matches (`[a-zA-Z_.][a-zA-Z_.0-9]*`).
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(crate) fn own_ids(role: &str, vpc: Option<&str>, extra: &[(&str, &str)]) -> StringMap {
    let mut m: StringMap = [
        (OWNER_KEY.to_owned(), OWNER.to_owned()),
        (ROLE_KEY.to_owned(), role.to_owned()),
    ]
    .into();
    if let Some(v) = vpc {
        m.insert(VPC_KEY, v);
    }
    for (k, v) in extra {
        m.insert(*k, *v);
    }
    m
}

pub(crate) fn role_of(e: &StringMap) -> Option<&str> {
    if is_own(e) {
        e.get(ROLE_KEY)
    } else {
        None
    }
}

/// An insert of `row` with `uuid-name` `name`, and extra reference columns (named UUIDs).
pub(crate) fn insert_named<T: Table>(
    row: &T,
    name: &str,
    refs: &[(T::Column, Vec<String>)],
) -> Operation {
    let mut op = row.insert_op();
    if let Operation::Insert {
        uuid_name,
        row,
        uuid,
        ..
    } = &mut op
    {
        *uuid_name = Some(name.to_owned());
        *uuid = None;
        for (col, names) in refs {
            if !names.is_empty() {
                row.insert(
                    col.name(),
                    Datum::set(names.iter().map(|n| Atom::NamedUuid(n.clone()))),
                );
            }
        }
    }
    op
}

/// A `mutate` that inserts `atoms` into set column `column`.
pub(crate) fn refs_insert<C: Column>(column: C, atoms: impl IntoIterator<Item = Atom>) -> Mutation {
    column.mutate(Mutator::Insert, Datum::set(atoms))
}

/// A `mutate` that deletes `atoms` from set column `column`.
pub(crate) fn refs_delete<C: Column>(column: C, atoms: impl IntoIterator<Item = Atom>) -> Mutation {
    column.mutate(Mutator::Delete, Datum::set(atoms))
}

pub(crate) fn update_if_changed<T: Table>(
    old: &T,
    new: &T,
    skip: &[T::Column],
) -> Option<Operation> {
    let cols: Vec<T::Column> = T::changed_columns(old, new)
        .into_iter()
        .filter(|c| !skip.contains(c))
        .collect();
    (!cols.is_empty()).then(|| new.update_op(&cols))
}

/// The pod ports of `vpc` in `zone`.
pub fn pod_ports(zone: &ZoneNb, vpc: &Vpc) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = vpc
        .switches
        .iter()
        .filter_map(|ls| zone.switches.get(ls))
        .flat_map(|ls| ls.ports.iter())
        .filter_map(|p| zone.switch_ports.get(&p.uuid()))
        .filter(|p| p.type_.is_empty() && p.external_ids.contains_key("pod"))
        .map(|p| p.uuid)
        .collect();
    out.sort();
    out.dedup();
    out
}

struct Want {
    vpc: String,
    pg: PortGroup,
    sets: BTreeMap<&'static str, AddressSet>,
    acls: BTreeMap<&'static str, Acl>,
}

/// Plans the guard rows of every VPC of `zone` (see the module docs).
pub fn plan_guards(
    zone: &ZoneNb,
    inventory: &Inventory,
    policy: &Policy,
    cfg: &GuardConfig,
) -> GuardPlan {
    let mut plan = GuardPlan::default();
    let mut wants: BTreeMap<String, Want> = BTreeMap::new();
    for y in inventory.vpcs().iter().filter(|v| v.zone == zone.zone) {
        let ports = pod_ports(zone, y);
        if ports.is_empty() {
            continue;
        }
        let keep: Vec<Prefix> = inventory
            .vpcs()
            .iter()
            .filter(|x| policy.allows(x, y))
            .flat_map(|x| x.cidrs.iter().copied())
            .collect();
        let mut deny = Vec::new();
        for x in inventory.vpcs().iter().filter(|x| !policy.allows(x, y)) {
            for c in &x.cidrs {
                if keep.iter().any(|k| overlaps(k, c)) {
                    plan.notes.push(format!(
                        "{}: cannot guard against {} of {}: it overlaps an allowed CIDR",
                        y.id, c, x.id
                    ));
                } else {
                    deny.push(*c);
                }
            }
        }
        let deny = aggregate(deny);
        let pg_name = format!("ovnlink_{}", sanitize(y.id.as_str()));
        let vpc = y.id.as_str();
        let pg = mk!(PortGroup {
            name: pg_name.clone(),
            ports: ports.iter().map(|u| Ref::new(*u)).collect(),
            external_ids: own_ids("guard-pg", Some(vpc), &[]),
        });
        let mut sets = BTreeMap::new();
        let mut acls = BTreeMap::new();
        for fam in ["ip4", "ip6"] {
            let addrs: Vec<String> = deny
                .iter()
                .filter(|p| p.is_ipv4() == (fam == "ip4"))
                .map(ToString::to_string)
                .collect();
            if addrs.is_empty() {
                continue;
            }
            let as_name = format!("{pg_name}_deny_{fam}");
            sets.insert(
                fam,
                mk!(AddressSet {
                    name: as_name.clone(),
                    addresses: addrs,
                    external_ids: own_ids(&format!("guard-deny-{fam}"), Some(vpc), &[]),
                }),
            );
            acls.insert(
                fam,
                mk!(Acl {
                    direction: AclDirection::ToLport,
                    priority: cfg.priority,
                    action: AclAction::Drop,
                    match_: format!("outport == @{pg_name} && {fam} && {fam}.src == ${as_name}"),
                    name: Some("ovnlink-guard".to_owned()),
                    external_ids: own_ids(&format!("guard-acl-{fam}"), Some(vpc), &[]),
                }),
            );
        }
        wants.insert(
            vpc.to_owned(),
            Want {
                vpc: vpc.to_owned(),
                pg,
                sets,
                acls,
            },
        );
    }

    // This crate's existing guard rows.
    let key = |e: &StringMap| e.get(VPC_KEY).map(str::to_owned).unwrap_or_default();
    let fam_of = |role: &str| if role.ends_with("ip6") { "ip6" } else { "ip4" };
    let mut have_pg: BTreeMap<String, &PortGroup> = BTreeMap::new();
    for pg in zone.port_groups.values() {
        if role_of(&pg.external_ids) == Some("guard-pg") {
            have_pg.insert(key(&pg.external_ids), pg);
        }
    }
    let mut have_as: BTreeMap<(String, &str), &AddressSet> = BTreeMap::new();
    for s in zone.address_sets.values() {
        if let Some(r) = role_of(&s.external_ids).filter(|r| r.starts_with("guard-deny-")) {
            have_as.insert((key(&s.external_ids), fam_of(r)), s);
        }
    }
    let mut have_acl: BTreeMap<(String, &str), &Acl> = BTreeMap::new();
    for a in zone.acls.values() {
        if let Some(r) = role_of(&a.external_ids).filter(|r| r.starts_with("guard-acl-")) {
            have_acl.insert((key(&a.external_ids), fam_of(r)), a);
        }
    }

    let ops = &mut plan.ops;
    let mut n = 0;
    for w in wants.values() {
        let pg_have = have_pg.remove(&w.vpc);
        let mut new_acls: Vec<String> = Vec::new();
        for (fam, acl) in &w.acls {
            match have_acl.remove(&(w.vpc.clone(), fam)) {
                Some(old) => {
                    let mut new = acl.clone();
                    new.uuid = old.uuid;
                    ops.extend(update_if_changed(old, &new, &[]));
                    if let Some(pg) = pg_have {
                        if !pg.acls.iter().any(|r| r.uuid() == old.uuid) {
                            ops.push(PortGroup::mutate_op(
                                pg.uuid,
                                vec![refs_insert(PortGroupColumn::Acls, [Atom::Uuid(old.uuid)])],
                            ));
                        }
                    }
                }
                None => {
                    n += 1;
                    let name = format!("guard_acl_{n}");
                    ops.push(insert_named(acl, &name, &[]));
                    new_acls.push(name);
                }
            }
        }
        match pg_have {
            Some(old) => {
                let mut new = w.pg.clone();
                new.uuid = old.uuid;
                new.acls = old.acls.clone();
                ops.extend(update_if_changed(old, &new, &[PortGroupColumn::Acls]));
                if !new_acls.is_empty() {
                    ops.push(PortGroup::mutate_op(
                        old.uuid,
                        vec![refs_insert(
                            PortGroupColumn::Acls,
                            new_acls.iter().map(|n| Atom::NamedUuid(n.clone())),
                        )],
                    ));
                }
            }
            None => {
                n += 1;
                ops.push(insert_named(
                    &w.pg,
                    &format!("guard_pg_{n}"),
                    &[(PortGroupColumn::Acls, new_acls)],
                ));
            }
        }
        for (fam, set) in &w.sets {
            match have_as.remove(&(w.vpc.clone(), fam)) {
                Some(old) => {
                    let mut new = set.clone();
                    new.uuid = old.uuid;
                    ops.extend(update_if_changed(old, &new, &[]));
                }
                None => ops.push(set.insert_op()),
            }
        }
    }
    // Leftovers: no longer wanted.
    for (vpc_fam, acl) in have_acl {
        if let Some(pg) = zone.port_groups.values().find(|pg| {
            pg.acls.iter().any(|r| r.uuid() == acl.uuid) && wants.contains_key(&vpc_fam.0)
        }) {
            ops.push(PortGroup::mutate_op(
                pg.uuid,
                vec![refs_delete(PortGroupColumn::Acls, [Atom::Uuid(acl.uuid)])],
            ));
        }
        ops.push(Acl::delete_op(acl.uuid));
    }
    for pg in have_pg.values() {
        ops.push(PortGroup::delete_op(pg.uuid));
    }
    for s in have_as.values() {
        ops.push(AddressSet::delete_op(s.uuid));
    }
    plan
}
