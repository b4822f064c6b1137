//! Planners for the three interconnection topologies (reference `kubeovn-openstack.md` §4).
//!
//! - [`plan_a`] — **A**, one transit switch: every VPC that the policy pairs with a VPC of
//!   another zone gets a router port on the one transit switch (default `ts`, Kube-OVN's);
//!   isolation comes from [`VpcFilter`](crate::VpcFilter) in the route engine of every zone
//!   plus guard ACLs. Routers that already have a port on it (Kube-OVN's `ovn-cluster`) are
//!   left alone.
//! - [`plan_b`] — **B**, one transit switch per VPC pair: `ovnlink-<hash>` with a subnet
//!   carved from a link-local pool ([`TopologyConfig::pool`], default 169.254.100.0/24 in
//!   /30 blocks, skipping every existing transit switch's `subnet`); `.1` on the OpenStack
//!   side, `.2` on the Kubernetes side. Only the pair's two routers are attached.
//! - [`plan_c`] — **C**, shared NB: per pair in the zone a router-to-router link (two router
//!   ports with `peer`, addresses from the pool) and static routes for the other side's
//!   CIDRs, written beside Neutron's rows, plus guard ACLs.
//!
//! Each attachment is a router port `ovnlink-<ts>-<router>` (`mac` derived from zone, switch
//! and router) and, on the zone's copy of the transit switch (the logical switch ovn-ic
//! creates with `other_config:interconn-ts`), a router-type switch port `<port>-lsp`; with
//! [`TopologyConfig::gateway_chassis`] set for the zone, `Gateway_Chassis` rows
//! `<port>-<chassis>`. The planners only `insert`, `update` and `delete` rows they own and
//! `mutate` the reference sets of other rows (`Logical_Router.ports`/`static_routes`,
//! `Logical_Switch.ports`, `Logical_Router_Port.gateway_chassis`); rows with `neutron:` keys
//! are never updated. Plans are idempotent: planning over the rows a plan produced yields
//! an empty plan. A transit switch that ovn-ic has not yet mirrored into a zone's NB is
//! reported in [`TopologyPlan::pending`]; plan again once it exists.
//!
//! In topology A, the transit ports of a zone whose attached VPCs may not talk to each other
//! carry `options:ic-route-tag` and `options:ic-route-filter-tag` set to `ovnlink-<zone>`:
//! ovn-ic ≥ 23.09 lets routers of one zone learn each other's routes, and from 25.03 it skips
//! a route whose tag is the learning port's filter tag. Older releases ignore both options
//! (the verifier then reports what leaks; topology B avoids it).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ic_routes::{PortAddresses, Prefix};
use ovn_ic_nb::TransitSwitch;
use ovn_nb::{GatewayChassis, LogicalRouterPort, LogicalRouterStaticRoute, LogicalSwitchPort};
use ovsdb_proto::typed::{Column, Table};
use ovsdb_proto::{Atom, Condition, Datum, Operation, Uuid};

use crate::error::Error;
use crate::guard::{
    insert_named, own_ids, plan_guards, refs_delete, refs_insert, role_of, update_if_changed,
    GuardConfig,
};
use crate::net::{fnv, mac, network, nth, overlaps};
use crate::policy::Policy;
use crate::rows::{World, ZoneNb};
use crate::vpc::{Inventory, Vpc, ZoneIndex};

/// Planner settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopologyConfig {
    /// Topology A: the transit switch (default `ts`).
    pub transit_switch: String,
    /// Topology A: its subnet when the transit switch has no `external_ids:subnet`
    /// (default 169.254.100.0/24).
    pub transit_subnet: Prefix,
    /// Topologies B and C: the pool transit / link subnets are carved from (default
    /// 169.254.100.0/24).
    pub pool: Prefix,
    /// Topologies B and C: the length of each carved subnet (default 30; 29 also works).
    pub block_len: u8,
    /// Per zone, the chassis to pin transit router ports to (`Gateway_Chassis`, highest
    /// priority first). Zones without an entry get no gateway chassis rows.
    pub gateway_chassis: BTreeMap<String, Vec<String>>,
    /// Guard ACLs to plan with the topology (`None`: none).
    pub guards: Option<GuardConfig>,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        let p = Prefix::parse("169.254.100.0/24").unwrap_or_else(|| unreachable!());
        TopologyConfig {
            transit_switch: "ts".to_owned(),
            transit_subnet: p,
            pool: p,
            block_len: 30,
            gateway_chassis: BTreeMap::new(),
            guards: Some(GuardConfig::default()),
        }
    }
}

/// Operations per database.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TopologyPlan {
    /// Per zone, operations for its `OVN_Northbound` (one transaction each). Zones without
    /// operations are absent.
    pub nb: BTreeMap<String, Vec<Operation>>,
    /// Operations for `OVN_IC_Northbound`.
    pub ic_nb: Vec<Operation>,
    /// What was skipped, and why (planning again changes nothing until the inputs change).
    pub notes: Vec<String>,
    /// What waits for something else to happen first, and what: typically the NB logical
    /// switch that ovn-ic creates for a new transit switch. Plan again once it happened;
    /// [`TopologyPlan::is_empty`] does not look at this.
    pub pending: Vec<String>,
}

impl TopologyPlan {
    /// Whether the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.ic_nb.is_empty() && self.nb.values().all(Vec::is_empty)
    }

    /// Applies the plan to `world` as the servers would (tests, dry runs).
    pub fn apply(
        &self,
        world: &mut World,
        new_uuid: &mut impl FnMut() -> Uuid,
    ) -> Result<(), Error> {
        world.ic.apply_ic_nb(&self.ic_nb, new_uuid)?;
        for (zone, ops) in &self.nb {
            let z = world
                .zone_mut(zone)
                .ok_or_else(|| Error::Apply(format!("no zone {zone}")))?;
            z.apply(ops, new_uuid)?;
        }
        Ok(())
    }

    fn push(&mut self, zone: &str, ops: Vec<Operation>) {
        if !ops.is_empty() {
            self.nb.entry(zone.to_owned()).or_default().extend(ops);
        }
    }
}

/// One router port on a transit switch, wanted.
#[derive(Debug, Clone)]
struct Attach {
    ts: String,
    router: Uuid,
    router_name: String,
    vpc: String,
    network: String,
    /// `options:ic-route-tag` and `options:ic-route-filter-tag` of the router port.
    tag: Option<String>,
}

fn lrp_name(ts: &str, router: &str) -> String {
    format!("ovnlink-{ts}-{router}")
}

fn mutate_parent<P: Column>(parent: Uuid, mutation: ovsdb_proto::Mutation) -> Operation {
    Operation::Mutate {
        table: P::TABLE.to_owned(),
        conditions: vec![Condition::uuid(parent)],
        mutations: vec![mutation],
    }
}

struct Counter(usize);

impl Counter {
    fn name(&mut self, what: &str) -> String {
        self.0 += 1;
        format!("{what}_{}", self.0)
    }
}

/// Reconciles this crate's child rows of one role: `want` (parent, row) against the
/// existing own rows `have` (parent, row), matched by `key`. New rows are inserted (with a
/// `uuid-name`) and added to the parent's `column`, changed rows updated (except `skip`
/// columns) and moved if their parent changed, leftovers removed from their parent and
/// deleted. Returns, per key, the row's UUID or named UUID.
#[allow(
    clippy::too_many_arguments,
    reason = "one generic reconcile for every child table"
)]
fn reconcile<T: Table, P: Column>(
    have: Vec<(Uuid, &T)>,
    want: Vec<(Uuid, T)>,
    key: impl Fn(&T) -> String,
    column: P,
    skip: &[T::Column],
    ops: &mut Vec<Operation>,
    n: &mut Counter,
) -> BTreeMap<String, Atom> {
    let mut have: BTreeMap<String, (Uuid, &T)> =
        have.into_iter().map(|(p, r)| (key(r), (p, r))).collect();
    let mut refs = BTreeMap::new();
    for (parent, row) in want {
        let k = key(&row);
        match have.remove(&k) {
            Some((old_parent, old)) => {
                let mut new = row.clone();
                new.set_uuid(old.uuid());
                ops.extend(update_if_changed(old, &new, skip));
                if old_parent != parent {
                    ops.push(mutate_parent::<P>(
                        old_parent,
                        refs_delete(column, [Atom::Uuid(old.uuid())]),
                    ));
                    ops.push(mutate_parent::<P>(
                        parent,
                        refs_insert(column, [Atom::Uuid(old.uuid())]),
                    ));
                }
                refs.insert(k, Atom::Uuid(old.uuid()));
            }
            None => {
                let name = n.name("row");
                ops.push(insert_named(&row, &name, &[]));
                ops.push(mutate_parent::<P>(
                    parent,
                    refs_insert(column, [Atom::NamedUuid(name.clone())]),
                ));
                refs.insert(k, Atom::NamedUuid(name));
            }
        }
    }
    for (parent, old) in have.into_values() {
        if !parent.is_nil() {
            ops.push(mutate_parent::<P>(
                parent,
                refs_delete(column, [Atom::Uuid(old.uuid())]),
            ));
        }
        ops.push(T::delete_op(old.uuid()));
    }
    refs
}

/// Plans the router ports, switch ports and gateway chassis of `want` in zone `z`.
fn plan_attachments(
    z: &ZoneNb,
    want: &[Attach],
    cfg: &TopologyConfig,
    pending: &mut Vec<String>,
    n: &mut Counter,
) -> Vec<Operation> {
    let ix = ZoneIndex::new(z);
    let mut ops = Vec::new();
    // Existing own rows.
    let mut have_lrp = Vec::new();
    for lrp in z.router_ports.values() {
        if role_of(&lrp.external_ids) == Some("transit-port") {
            have_lrp.push((
                ix.lrp_owner.get(&lrp.uuid).copied().unwrap_or_default(),
                lrp,
            ));
        }
    }
    let mut have_lsp = Vec::new();
    for ls in z.switches.values() {
        for p in &ls.ports {
            if let Some(lsp) = z.switch_ports.get(&p.uuid()) {
                if role_of(&lsp.external_ids) == Some("transit-lsp") {
                    have_lsp.push((ls.uuid, lsp));
                }
            }
        }
    }
    let mut have_gc = Vec::new();
    for lrp in z.router_ports.values() {
        for g in &lrp.gateway_chassis {
            if let Some(gc) = z.gateway_chassis.get(&g.uuid()) {
                if role_of(&gc.external_ids) == Some("transit-gateway") {
                    have_gc.push((lrp.uuid, gc));
                }
            }
        }
    }
    let chassis = cfg
        .gateway_chassis
        .get(&z.zone)
        .cloned()
        .unwrap_or_default();
    let mut want_lrp = Vec::new();
    let mut want_lsp = Vec::new();
    let mut gc_rows: Vec<(String, Vec<GatewayChassis>)> = Vec::new();
    for a in want {
        let Some(&ls) = ix.ts_ls.get(a.ts.as_str()) else {
            pending.push(format!(
                "zone {}: transit switch {} has no logical switch yet (ovn-ic creates it); plan again later to attach {}",
                z.zone, a.ts, a.router_name
            ));
            // Keep what exists for this attachment.
            let name = lrp_name(&a.ts, &a.router_name);
            if let Some((p, old)) = have_lrp.iter().find(|(_, l)| l.name == name) {
                want_lrp.push((*p, (*old).clone()));
            }
            continue;
        };
        let name = lrp_name(&a.ts, &a.router_name);
        let gcs: Vec<GatewayChassis> = chassis
            .iter()
            .enumerate()
            .map(|(i, c)| {
                mk!(GatewayChassis {
                    name: format!("{name}-{c}"),
                    chassis_name: c.clone(),
                    priority: i64::try_from(chassis.len() - i).unwrap_or(1),
                    external_ids: own_ids("transit-gateway", Some(&a.vpc), &[]),
                })
            })
            .collect();
        let lrp = mk!(LogicalRouterPort {
            name: name.clone(),
            mac: mac(&[&z.zone, &a.ts, &a.router_name]),
            networks: vec![a.network.clone()],
            options: a
                .tag
                .iter()
                .flat_map(|t| [
                    (TAG.to_owned(), t.clone()),
                    (FILTER_TAG.to_owned(), t.clone())
                ])
                .collect(),
            external_ids: own_ids("transit-port", Some(&a.vpc), &[("ovnlink:ts", &a.ts)]),
        });
        want_lrp.push((a.router, lrp));
        gc_rows.push((name.clone(), gcs));
        want_lsp.push((
            ls,
            mk!(LogicalSwitchPort {
                name: format!("{name}-lsp"),
                type_: "router".to_owned(),
                addresses: vec!["router".to_owned()],
                options: [("router-port".to_owned(), name.clone())].into(),
                external_ids: own_ids("transit-lsp", Some(&a.vpc), &[("ovnlink:ts", &a.ts)]),
            }),
        ));
    }
    let lrp_refs = reconcile(
        have_lrp,
        want_lrp,
        |r: &LogicalRouterPort| r.name.clone(),
        ovn_nb::LogicalRouterColumn::Ports,
        &[ovn_nb::LogicalRouterPortColumn::GatewayChassis],
        &mut ops,
        n,
    );
    reconcile(
        have_lsp,
        want_lsp,
        |r: &LogicalSwitchPort| r.name.clone(),
        ovn_nb::LogicalSwitchColumn::Ports,
        // `up` is northd's; the interconnection daemon may add `options` keys (the name
        // fixes `router-port`, so it never needs an update).
        &[
            ovn_nb::LogicalSwitchPortColumn::Up,
            ovn_nb::LogicalSwitchPortColumn::Options,
        ],
        &mut ops,
        n,
    );
    // Gateway chassis: children of the router ports (which may be new: named references).
    let mut want_gc = Vec::new();
    let mut new_parent_gc: Vec<(Atom, GatewayChassis)> = Vec::new();
    for (lrp, gcs) in gc_rows {
        match lrp_refs.get(&lrp) {
            Some(Atom::Uuid(u)) => want_gc.extend(gcs.into_iter().map(|g| (*u, g))),
            Some(named) => new_parent_gc.extend(gcs.into_iter().map(|g| (named.clone(), g))),
            None => {}
        }
    }
    // Gateway chassis of router ports deleted above go with them (no mutate of a deleted row).
    let kept: BTreeSet<Uuid> = lrp_refs
        .values()
        .filter_map(|a| match a {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        })
        .collect();
    let (have_gc, orphans): (Vec<_>, Vec<_>) =
        have_gc.into_iter().partition(|(p, _)| kept.contains(p));
    ops.extend(
        orphans
            .iter()
            .map(|(_, g)| GatewayChassis::delete_op(g.uuid)),
    );
    reconcile(
        have_gc,
        want_gc,
        |g: &GatewayChassis| g.name.clone(),
        ovn_nb::LogicalRouterPortColumn::GatewayChassis,
        &[],
        &mut ops,
        n,
    );
    // New router ports: their gateway chassis are inserted just before them and named in
    // the port's own insert (no condition on a named UUID).
    let mut by_parent: BTreeMap<String, Vec<GatewayChassis>> = BTreeMap::new();
    for (parent, g) in new_parent_gc {
        if let Atom::NamedUuid(p) = parent {
            by_parent.entry(p).or_default().push(g);
        }
    }
    for (parent, gcs) in by_parent {
        let Some(at) = ops.iter().position(
            |o| matches!(o, Operation::Insert { uuid_name: Some(u), .. } if *u == parent),
        ) else {
            continue;
        };
        let mut names = Vec::new();
        let mut inserts = Vec::new();
        for g in gcs {
            let name = n.name("row");
            inserts.push(insert_named(&g, &name, &[]));
            names.push(Atom::NamedUuid(name));
        }
        if let Operation::Insert { row, .. } = &mut ops[at] {
            row.insert(
                ovn_nb::LogicalRouterPortColumn::GatewayChassis.name(),
                Datum::set(names),
            );
        }
        ops.splice(at..at, inserts);
    }
    ops
}

/// Every address in use on transit switch `ts` (router ports of every zone, IC-SB port
/// bindings).
fn used_on_ts(world: &World, ts: &str) -> BTreeSet<IpAddr> {
    let mut used = BTreeSet::new();
    for z in &world.zones {
        let ix = ZoneIndex::new(z);
        for lrp in z.router_ports.values() {
            if ix.lrp_ts.get(lrp.name.as_str()) == Some(&ts) {
                used.extend(
                    lrp.networks
                        .iter()
                        .filter_map(|n| Prefix::parse(n))
                        .map(|p| p.addr()),
                );
            }
        }
    }
    for pb in world
        .ic
        .port_bindings
        .values()
        .filter(|pb| pb.transit_switch == ts)
    {
        if let Some(a) = PortAddresses::parse(&pb.address) {
            used.extend(a.ipv4.iter().chain(&a.ipv6));
        }
    }
    used
}

fn ts_subnet(ts: &TransitSwitch) -> Option<Prefix> {
    ts.external_ids.get("subnet").and_then(|s| {
        s.split(',')
            .find_map(|p| Prefix::parse(p.trim()).filter(Prefix::is_ipv4))
    })
}

/// The existing own router port of `router` on `ts` in zone `z`, if its address is inside
/// `subnet`.
fn kept_address(z: &ZoneNb, ts: &str, router: &str, subnet: &Prefix) -> Option<String> {
    let name = lrp_name(ts, router);
    z.router_ports
        .values()
        .find(|l| l.name == name && role_of(&l.external_ids) == Some("transit-port"))
        .and_then(|l| l.networks.first())
        .filter(|n| {
            Prefix::parse(n).is_some_and(|p| p.plen() == subnet.plen() && p.is_within(subnet))
        })
        .cloned()
}

fn finish_zones(
    world: &World,
    inventory: &Inventory,
    policy: &Policy,
    cfg: &TopologyConfig,
    attach: &BTreeMap<String, Vec<Attach>>,
    plan: &mut TopologyPlan,
) {
    let mut n = Counter(0);
    for z in &world.zones {
        let want = attach.get(&z.zone).map(Vec::as_slice).unwrap_or_default();
        let ops = plan_attachments(z, want, cfg, &mut plan.pending, &mut n);
        plan.push(&z.zone, ops);
        if let Some(g) = &cfg.guards {
            let gp = plan_guards(z, inventory, policy, g);
            plan.notes.extend(gp.notes);
            plan.push(&z.zone, gp.ops);
        }
    }
}

/// Cross-zone VPC pairs the policy allows, each once, OpenStack side first, sorted.
fn cross_zone_pairs<'a>(inventory: &'a Inventory, policy: &Policy) -> Vec<(&'a Vpc, &'a Vpc)> {
    let v = inventory.vpcs();
    let mut out = Vec::new();
    for (i, x) in v.iter().enumerate() {
        for y in &v[i + 1..] {
            if x.zone != y.zone && policy.allows(x, y) {
                out.push(if !x.is_openstack() && y.is_openstack() {
                    (y, x)
                } else {
                    (x, y)
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.0.id, &a.1.id).cmp(&(&b.0.id, &b.1.id)));
    out
}

/// Topology A (see the module docs).
pub fn plan_a(
    world: &World,
    inventory: &Inventory,
    policy: &Policy,
    cfg: &TopologyConfig,
) -> TopologyPlan {
    let mut plan = TopologyPlan::default();
    let ts = cfg.transit_switch.as_str();
    let subnet = match world.ic.transit_switches.values().find(|t| t.name == ts) {
        Some(t) => ts_subnet(t).unwrap_or(cfg.transit_subnet),
        None => {
            let row = mk!(TransitSwitch {
                name: ts.to_owned(),
                external_ids: own_ids(
                    "transit-switch",
                    None,
                    &[("subnet", &network(&cfg.transit_subnet).to_string())]
                ),
            });
            plan.ic_nb.push(row.insert_op());
            cfg.transit_subnet
        }
    };
    let subnet = network(&subnet);
    let mut members: Vec<&Vpc> = Vec::new();
    for (x, y) in cross_zone_pairs(inventory, policy) {
        for v in [x, y] {
            if !members.iter().any(|m| m.id == v.id) {
                members.push(v);
            }
        }
    }
    members.sort_by(|a, b| a.id.cmp(&b.id));
    let mut used = used_on_ts(world, ts);
    let mut attach: BTreeMap<String, Vec<Attach>> = BTreeMap::new();
    let mut pending = Vec::new();
    for v in members {
        let Some(z) = world.zone(&v.zone) else {
            continue;
        };
        let ix = ZoneIndex::new(z);
        let foreign = z.routers.get(&v.router_uuid).is_some_and(|lr| {
            ix.ports(z, lr).iter().any(|p| {
                ix.lrp_ts.get(p.name.as_str()) == Some(&ts)
                    && role_of(&p.external_ids) != Some("transit-port")
            })
        });
        if foreign {
            continue;
        }
        match kept_address(z, ts, &v.router, &subnet) {
            Some(network) => attach.entry(v.zone.clone()).or_default().push(Attach {
                ts: ts.to_owned(),
                router: v.router_uuid,
                router_name: v.router.clone(),
                vpc: v.id.0.clone(),
                network,
                tag: None,
            }),
            None => pending.push(v),
        }
    }
    let hosts: u128 = 1u128 << (32 - u32::from(subnet.plen()).min(32));
    let mut next = 1u128;
    for v in pending {
        let addr = loop {
            if next + 1 >= hosts {
                break None;
            }
            let a = nth(&subnet, next);
            next += 1;
            if let Some(a) = a.filter(|a| !used.contains(a)) {
                break Some(a);
            }
        };
        let Some(addr) = addr else {
            plan.notes.push(format!(
                "transit switch {ts}: subnet {subnet} is full; {} not attached",
                v.id
            ));
            continue;
        };
        used.insert(addr);
        attach.entry(v.zone.clone()).or_default().push(Attach {
            ts: ts.to_owned(),
            router: v.router_uuid,
            router_name: v.router.clone(),
            vpc: v.id.0.clone(),
            network: format!("{addr}/{}", subnet.plen()),
            tag: None,
        });
    }
    tag_same_zone_vpcs(inventory, policy, &mut attach, &mut plan.notes);
    finish_zones(world, inventory, policy, cfg, &attach, &mut plan);
    plan
}

/// `ic-route-tag` (OVN ≥ 25.03): the tag a transit router port puts on its advertisements.
const TAG: &str = "ic-route-tag";
/// `ic-route-filter-tag` (OVN ≥ 25.03): routes with this tag are not learned by the port.
const FILTER_TAG: &str = "ic-route-filter-tag";

/// Topology A puts every paired VPC of a zone on one transit switch, and ovn-ic ≥ 23.09
/// learns routes between routers of the same zone: two tenants' OpenStack VPCs would learn
/// each other's networks. Where no pair or peering lets a zone's attached VPCs talk, their
/// ports advertise with the zone's tag and filter it (OVN ≥ 25.03 honours both; earlier
/// releases ignore them, and the audit then reports what leaks). Where some of them may talk
/// and others may not, one tag cannot say it: a note says so.
fn tag_same_zone_vpcs(
    inventory: &Inventory,
    policy: &Policy,
    attach: &mut BTreeMap<String, Vec<Attach>>,
    notes: &mut Vec<String>,
) {
    for (zone, list) in attach.iter_mut() {
        if list.len() < 2 {
            continue;
        }
        let vpcs: Vec<&Vpc> = list
            .iter()
            .filter_map(|a| inventory.get(&crate::vpc::VpcId(a.vpc.clone())))
            .collect();
        let any_allowed = vpcs
            .iter()
            .enumerate()
            .any(|(i, x)| vpcs[i + 1..].iter().any(|y| policy.allows(x, y)));
        if any_allowed {
            notes.push(format!(
                "zone {zone}: some VPCs on the transit switch may talk and others may not; ovn-ic 23.09 and later makes all of them learn each other's routes unless the zone runs ic-routed with the policy (or use topology B)"
            ));
            continue;
        }
        let tag = format!("ovnlink-{}", crate::guard::sanitize(zone));
        for a in list.iter_mut() {
            a.tag = Some(tag.clone());
        }
    }
}

fn blocks(cfg: &TopologyConfig) -> Result<Vec<Prefix>, Error> {
    let pool = network(&cfg.pool);
    if !pool.is_ipv4() || cfg.block_len < pool.plen() || cfg.block_len > 30 {
        return Err(Error::Config(format!(
            "cannot carve /{} blocks from {pool}",
            cfg.block_len
        )));
    }
    let count = 1u128 << (cfg.block_len - pool.plen());
    let size = 1u128 << (32 - cfg.block_len);
    Ok((0..count)
        .filter_map(|i| nth(&pool, i * size).and_then(|a| Prefix::new(a, cfg.block_len)))
        .collect())
}

/// The pool must not overlap any VPC's tenant or external networks: link addresses carved
/// from it would shadow (or be shadowed by) tenant routes.
fn check_pool(cfg: &TopologyConfig, inventory: &Inventory) -> Result<(), Error> {
    let pool = network(&cfg.pool);
    for v in inventory.vpcs() {
        if let Some(c) = v
            .cidrs
            .iter()
            .chain(&v.external)
            .find(|c| overlaps(c, &pool))
        {
            return Err(Error::Config(format!(
                "pool {pool} overlaps {c} of VPC {} (router {})",
                v.id, v.router
            )));
        }
    }
    Ok(())
}

fn pair_name(x: &Vpc, y: &Vpc) -> String {
    format!(
        "ovnlink-{:08x}",
        fnv(&[x.id.as_str(), y.id.as_str()]) as u32
    )
}

/// Topology B (see the module docs).
pub fn plan_b(
    world: &World,
    inventory: &Inventory,
    policy: &Policy,
    cfg: &TopologyConfig,
) -> Result<TopologyPlan, Error> {
    let mut plan = TopologyPlan::default();
    let blocks = blocks(cfg)?;
    check_pool(cfg, inventory)?;
    let pairs = cross_zone_pairs(inventory, policy);
    let own_ts: BTreeMap<&str, &TransitSwitch> = world
        .ic
        .transit_switches
        .values()
        .filter(|t| role_of(&t.external_ids) == Some("transit-switch"))
        .map(|t| (t.name.as_str(), t))
        .collect();
    let mut taken: Vec<Prefix> = world
        .ic
        .transit_switches
        .values()
        .filter_map(ts_subnet)
        .collect();
    let mut attach: BTreeMap<String, Vec<Attach>> = BTreeMap::new();
    let mut wanted = BTreeSet::new();
    for (x, y) in pairs {
        let name = pair_name(x, y);
        wanted.insert(name.clone());
        let pair = format!("{}|{}", x.id, y.id);
        let block = match own_ts.get(name.as_str()).and_then(|t| ts_subnet(t)) {
            Some(b) => network(&b),
            None => {
                let Some(b) = blocks
                    .iter()
                    .find(|b| !taken.iter().any(|t| overlaps(t, b)))
                    .copied()
                else {
                    plan.notes.push(format!(
                        "pool {} is exhausted; {pair} not connected",
                        cfg.pool
                    ));
                    continue;
                };
                taken.push(b);
                b
            }
        };
        let want_ts = mk!(TransitSwitch {
            name: name.clone(),
            external_ids: own_ids(
                "transit-switch",
                None,
                &[("ovnlink:pair", &pair), ("subnet", &block.to_string())]
            ),
        });
        match own_ts.get(name.as_str()) {
            Some(old) => {
                let mut new = want_ts.clone();
                new.uuid = old.uuid;
                new.other_config = old.other_config.clone();
                plan.ic_nb.extend(update_if_changed(*old, &new, &[]));
            }
            None => plan.ic_nb.push(want_ts.insert_op()),
        }
        for (i, v) in [(1u128, x), (2, y)] {
            let Some(addr) = nth(&block, i) else { continue };
            attach.entry(v.zone.clone()).or_default().push(Attach {
                ts: name.clone(),
                router: v.router_uuid,
                router_name: v.router.clone(),
                vpc: v.id.0.clone(),
                network: format!("{addr}/{}", block.plen()),
                tag: None,
            });
        }
    }
    for (name, t) in &own_ts {
        if !wanted.contains(*name) {
            plan.ic_nb.push(TransitSwitch::delete_op(t.uuid));
        }
    }
    for x in inventory.vpcs() {
        for y in inventory.vpcs() {
            if x.id < y.id && x.zone == y.zone && policy.allows(x, y) {
                plan.notes.push(format!(
                    "{} and {} share zone {}: not connected over a transit switch (see topology C)",
                    x.id, y.id, x.zone
                ));
            }
        }
    }
    finish_zones(world, inventory, policy, cfg, &attach, &mut plan);
    Ok(plan)
}

/// Topology C (see the module docs): `zone` is the shared NB.
pub fn plan_c(
    zone: &ZoneNb,
    inventory: &Inventory,
    policy: &Policy,
    cfg: &TopologyConfig,
) -> Result<TopologyPlan, Error> {
    let mut plan = TopologyPlan::default();
    let blocks = blocks(cfg)?;
    check_pool(cfg, inventory)?;
    let ix = ZoneIndex::new(zone);
    let mut n = Counter(0);
    let mut ops = Vec::new();
    let vpcs: Vec<&Vpc> = inventory
        .vpcs()
        .iter()
        .filter(|v| v.zone == zone.zone)
        .collect();
    // Existing own link ports, by name.
    let have_lrp: Vec<(Uuid, &LogicalRouterPort)> = zone
        .router_ports
        .values()
        .filter(|l| role_of(&l.external_ids) == Some("link-port"))
        .map(|l| (ix.lrp_owner.get(&l.uuid).copied().unwrap_or_default(), l))
        .collect();
    let have_route: Vec<(Uuid, &LogicalRouterStaticRoute)> = zone
        .static_routes
        .values()
        .filter(|r| role_of(&r.external_ids) == Some("link-route"))
        .map(|r| (ix.route_owner.get(&r.uuid).copied().unwrap_or_default(), r))
        .collect();
    let mut taken: Vec<Prefix> = zone
        .router_ports
        .values()
        .flat_map(|l| l.networks.iter())
        .filter_map(|n| Prefix::parse(n))
        .map(|p| network(&p))
        .collect();
    let mut want_lrp = Vec::new();
    let mut want_route = Vec::new();
    for x in vpcs.iter().filter(|v| v.is_openstack()) {
        for y in vpcs.iter().filter(|v| !v.is_openstack()) {
            if !policy.allows(x, y) {
                continue;
            }
            if let Some((a, b)) = x
                .cidrs
                .iter()
                .flat_map(|a| y.cidrs.iter().map(move |b| (a, b)))
                .find(|(a, b)| overlaps(a, b))
            {
                plan.notes.push(format!(
                    "{} and {} overlap ({a}, {b}): not linked",
                    x.id, y.id
                ));
                continue;
            }
            let link = pair_name(x, y);
            let (pa, pb) = (format!("{link}-a"), format!("{link}-b"));
            let kept = have_lrp
                .iter()
                .find(|(_, l)| l.name == pa)
                .and_then(|(_, l)| l.networks.first())
                .and_then(|n| Prefix::parse(n))
                .filter(|p| p.plen() == cfg.block_len && p.is_within(&network(&cfg.pool)));
            let block = match kept {
                Some(p) => network(&p),
                None => {
                    let Some(b) = blocks
                        .iter()
                        .find(|b| !taken.iter().any(|t| overlaps(t, b)))
                        .copied()
                    else {
                        plan.notes.push(format!(
                            "pool {} is exhausted; {} ↔ {} not linked",
                            cfg.pool, x.id, y.id
                        ));
                        continue;
                    };
                    taken.push(b);
                    b
                }
            };
            let (Some(ia), Some(ib)) = (nth(&block, 1), nth(&block, 2)) else {
                continue;
            };
            for (router, vpc, name, peer, addr) in [(x, x, &pa, &pb, ia), (y, y, &pb, &pa, ib)] {
                want_lrp.push((
                    router.router_uuid,
                    mk!(LogicalRouterPort {
                        name: name.clone(),
                        mac: mac(&[&zone.zone, name]),
                        networks: vec![format!("{addr}/{}", block.plen())],
                        peer: Some(peer.clone()),
                        external_ids: own_ids(
                            "link-port",
                            Some(vpc.id.as_str()),
                            &[("ovnlink:link", &link)]
                        ),
                    }),
                ));
            }
            for (from, to, nh) in [(x, y, ib), (y, x, ia)] {
                for c in &to.cidrs {
                    want_route.push((
                        from.router_uuid,
                        mk!(LogicalRouterStaticRoute {
                            ip_prefix: c.to_string(),
                            nexthop: nh.to_string(),
                            external_ids: own_ids(
                                "link-route",
                                Some(from.id.as_str()),
                                &[("ovnlink:link", &link)]
                            ),
                        }),
                    ));
                }
            }
        }
    }
    let route_key = |r: &LogicalRouterStaticRoute| {
        format!(
            "{}|{}|{}",
            r.external_ids.get(crate::VPC_KEY).unwrap_or(""),
            r.ip_prefix,
            r.nexthop
        )
    };
    reconcile(
        have_lrp,
        want_lrp,
        |l: &LogicalRouterPort| l.name.clone(),
        ovn_nb::LogicalRouterColumn::Ports,
        &[],
        &mut ops,
        &mut n,
    );
    reconcile(
        have_route,
        want_route,
        route_key,
        ovn_nb::LogicalRouterColumn::StaticRoutes,
        &[],
        &mut ops,
        &mut n,
    );
    plan.push(&zone.zone, ops);
    if let Some(g) = &cfg.guards {
        let gp = plan_guards(zone, inventory, policy, g);
        plan.notes.extend(gp.notes);
        plan.push(&zone.zone, gp.ops);
    }
    Ok(plan)
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub fn cross_zone_pairs_len(inventory: &Inventory, policy: &Policy) -> usize {
        cross_zone_pairs(inventory, policy).len()
    }
}
