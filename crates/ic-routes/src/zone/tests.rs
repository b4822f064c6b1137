//! The zone steps, run by the offline simulator (northd stand-in, steps, engine over
//! in-memory databases with the server's rules): upstream's tests/ovn-ic.at scenarios for
//! registration, transit switches, port bindings, gateways and the status counters.

use ovn_ic_nb::{IcNbGlobal, TransitSwitch};
use ovn_ic_sb as icsb;
use ovn_nb::{LogicalRouter, LogicalRouterPort, LogicalSwitch, LogicalSwitchPort, NbGlobal};
use ovn_sb as sb;
use ovsdb_proto::typed::{Ref, StringMap, Table};
use ovsdb_proto::{Atom, Condition, Datum, Mutation, Mutator, Operation, Uuid};
use ovsdb_server::MemoryDb;

use crate::sim::{Interconnection, SimZone};
use crate::{Release, Semantics};

/// A UUID no other row of the test has.
fn fresh() -> Uuid {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Uuid::from_u64_pair(0x7e57, NEXT.fetch_add(1, Ordering::Relaxed))
}

fn ok(db: &mut MemoryDb, ops: Vec<Operation>) {
    let reply = db.transact(&ops).unwrap();
    if let Err((i, e)) = reply.into_result() {
        panic!("operation {i}: {e}\n{ops:#?}");
    }
}

fn ids(pairs: &[(&str, &str)]) -> StringMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `ovn-ic-nbctl ts-add name`.
fn ts_add(ic: &mut Interconnection, name: &str) {
    let mut ts = TransitSwitch::default();
    ts.name = name.to_owned();
    ok(ic.ic_nb_mut(), vec![ts.insert_op()]);
}

fn typed<T: Table>(db: &MemoryDb) -> Vec<T> {
    db.typed::<T>().unwrap().into_values().collect()
}

fn one<T: Table>(db: &MemoryDb, pred: impl Fn(&T) -> bool) -> T {
    let mut v: Vec<T> = typed::<T>(db).into_iter().filter(|r| pred(r)).collect();
    assert_eq!(v.len(), 1, "{} rows: {v:#?}", T::NAME);
    v.remove(0)
}

/// Upstream's router on a transit switch: `lr<N>` with port `lrp-lr<N>-<ts>` (`mac`,
/// `networks`) and switch port `lsp-<ts>-lr<N>` of type router on the zone's NB switch of
/// the transit switch (which the daemon created).
fn attach(z: &mut SimZone, router: &str, ts: &str, mac: &str, networks: &[&str]) {
    let ls = one::<LogicalSwitch>(z.nb(), |s| s.name == ts);
    let mut lrp = LogicalRouterPort::default();
    lrp.uuid = fresh();
    lrp.name = format!("lrp-{router}-{ts}");
    lrp.mac = mac.to_owned();
    lrp.networks = networks.iter().map(|n| (*n).to_owned()).collect();
    let existing = typed::<LogicalRouter>(z.nb())
        .into_iter()
        .find(|r| r.name == router);
    let mut lsp = LogicalSwitchPort::default();
    lsp.uuid = fresh();
    lsp.name = format!("lsp-{ts}-{router}");
    lsp.type_ = "router".into();
    lsp.addresses = vec!["router".into()];
    lsp.options = ids(&[("router-port", &lrp.name)]);
    let mut ops = vec![lrp.insert_op(), lsp.insert_op()];
    match existing {
        Some(lr) => ops.push(mutate_insert(
            LogicalRouter::NAME,
            lr.uuid,
            "ports",
            lrp.uuid,
        )),
        None => {
            let mut lr = LogicalRouter::default();
            lr.name = router.to_owned();
            lr.ports = vec![Ref::new(lrp.uuid)];
            ops.push(lr.insert_op());
        }
    }
    ops.push(mutate_insert(
        LogicalSwitch::NAME,
        ls.uuid,
        "ports",
        lsp.uuid,
    ));
    ok(z.nb_mut(), ops);
}

fn mutate_insert(table: &str, row: Uuid, column: &str, value: Uuid) -> Operation {
    Operation::Mutate {
        table: table.to_owned(),
        conditions: vec![Condition::uuid(row)],
        mutations: vec![Mutation::new(
            column,
            Mutator::Insert,
            Datum::from(Atom::Uuid(value)),
        )],
    }
}

fn two_zones_on_ts1() -> Interconnection {
    two_zones_on_ts1_as(Semantics::NEWEST)
}

/// Two zones whose daemons behave as `semantics`' ovn-ic, joined by transit switch `ts1`.
fn two_zones_on_ts1_as(semantics: Semantics) -> Interconnection {
    let mut ic = Interconnection::new();
    ic.add_zone("az1").unwrap().set_semantics(semantics);
    ic.add_zone("az2").unwrap().set_semantics(semantics);
    ts_add(&mut ic, "ts1");
    ic.settle(10).unwrap();
    ic
}

fn release(r: &str) -> Semantics {
    Semantics::of(Release::new(r))
}

/// `ovn-sbctl chassis-add name type 192.168.0.1` with `other_config:is-interconn=true`.
fn gateway_chassis(z: &mut SimZone, name: &str, encap_type: sb::EncapType) -> Uuid {
    let mut encap = sb::Encap::default();
    encap.uuid = fresh();
    encap.type_ = encap_type;
    encap.ip = "192.168.0.1".into();
    encap.chassis_name = name.into();
    let mut ch = sb::Chassis::default();
    ch.uuid = fresh();
    ch.name = name.into();
    ch.hostname = name.into();
    ch.encaps = vec![Ref::new(encap.uuid)];
    ch.other_config = ids(&[("is-interconn", "true")]);
    ok(z.sb_mut(), vec![encap.insert_op(), ch.insert_op()]);
    ch.uuid
}

/// Upstream "interconnection - AZ register": every zone registers its `NB_Global.name`;
/// an unnamed zone does not.
#[test]
fn zones_register_under_their_name() {
    let mut ic = Interconnection::new();
    ic.add_zone("az1").unwrap();
    ic.add_zone("az2").unwrap();
    ic.settle(10).unwrap();
    let mut names: Vec<String> = typed::<icsb::AvailabilityZone>(ic.ic_sb())
        .into_iter()
        .map(|a| a.name)
        .collect();
    names.sort();
    assert_eq!(names, ["az1", "az2"]);
}

/// Upstream "AZ update in GW": a zone renamed while its daemon runs keeps its row (its UUID,
/// so its gateways stay attached), in every release mode: the fix is in 23.03.3, 23.06.3,
/// 23.09.2 and 24.03.0, and the releases before it delete a referenced row and loop.
#[test]
fn a_renamed_zone_keeps_its_row_and_gateways_in_every_release() {
    for release in ["23.03.1", "23.09.0", "24.03.0", "25.03.0"] {
        let mut ic = Interconnection::new();
        ic.add_zone("az1")
            .unwrap()
            .set_semantics(Semantics::of(Release::new(release)));
        let z = ic.zone_mut("az1").unwrap();
        gateway_chassis(z, "gw-az1", sb::EncapType::Geneve);
        ic.settle(10).unwrap();
        let before = one::<icsb::AvailabilityZone>(ic.ic_sb(), |_| true).uuid;
        let z = ic.zone_mut("az1").unwrap();
        let mut g = one::<NbGlobal>(z.nb(), |_| true);
        g.name = "az2".into();
        ok(
            z.nb_mut(),
            vec![g.update_op(&[ovn_nb::NbGlobalColumn::Name])],
        );
        ic.settle(10).unwrap();
        let after = one::<icsb::AvailabilityZone>(ic.ic_sb(), |_| true);
        assert_eq!(
            (after.name.as_str(), after.uuid),
            ("az2", before),
            "{release}"
        );
        let gw = one::<icsb::Gateway>(ic.ic_sb(), |g| g.name == "gw-az1");
        assert_eq!(gw.availability_zone.uuid(), before, "{release}");
    }
}

/// Upstream "transit switch handling": a transit switch gets one NB logical switch per
/// zone (`other_config:interconn-ts`, `requested-tnl-key` = the IC-SB datapath binding's
/// key, in the global range) and one IC-SB datapath binding; deleting it removes both.
#[test]
fn transit_switches_are_mirrored_in_every_zone() {
    let mut ic = two_zones_on_ts1();
    let dp = one::<icsb::DatapathBinding>(ic.ic_sb(), |d| d.transit_switch == "ts1");
    assert!(
        (i64::from(super::MIN_DP_KEY_GLOBAL)..=i64::from(super::MAX_DP_KEY_GLOBAL))
            .contains(&dp.tunnel_key)
    );
    for z in ic.zones() {
        let ls = one::<LogicalSwitch>(z.nb(), |s| s.name == "ts1");
        assert_eq!(ls.other_config.get("interconn-ts"), Some("ts1"));
        assert_eq!(
            ls.other_config.get("requested-tnl-key"),
            Some(dp.tunnel_key.to_string().as_str())
        );
    }
    let ts = one::<TransitSwitch>(ic.ic_nb(), |_| true);
    ok(ic.ic_nb_mut(), vec![TransitSwitch::delete_op(ts.uuid)]);
    ic.settle(10).unwrap();
    for z in ic.zones() {
        assert!(typed::<LogicalSwitch>(z.nb()).is_empty(), "{}", z.name());
    }
    assert!(typed::<icsb::DatapathBinding>(ic.ic_sb()).is_empty());
}

/// Upstream "port sync": a router attached in az1 gets an IC-SB port binding (address from
/// its router port, `router-id`); az2 gets a remote switch port with that address and the
/// binding's tunnel key; a new address follows; deleting the ports removes it all.
#[test]
fn router_ports_are_bound_and_mirrored_as_remote_ports() {
    let mut ic = two_zones_on_ts1();
    attach(
        ic.zone_mut("az1").unwrap(),
        "lr1",
        "ts1",
        "aa:aa:aa:aa:aa:01",
        &["169.254.100.1/24"],
    );
    ic.settle(10).unwrap();
    let lr1 = one::<LogicalRouter>(ic.zones()[0].nb(), |r| r.name == "lr1");
    let pb = one::<icsb::PortBinding>(ic.ic_sb(), |p| p.logical_port == "lsp-ts1-lr1");
    assert_eq!(pb.address, "aa:aa:aa:aa:aa:01 169.254.100.1/24");
    assert_eq!(pb.transit_switch, "ts1");
    assert_eq!(
        pb.external_ids.get("router-id"),
        Some(lr1.uuid.to_string().as_str())
    );
    let remote = one::<LogicalSwitchPort>(ic.zones()[1].nb(), |p| p.name == "lsp-ts1-lr1");
    assert_eq!(remote.type_, "remote");
    assert_eq!(remote.addresses, ["aa:aa:aa:aa:aa:01 169.254.100.1/24"]);
    assert_eq!(
        remote.options.get("requested-tnl-key"),
        Some(pb.tunnel_key.to_string().as_str())
    );

    let z1 = ic.zone_mut("az1").unwrap();
    let mut lrp = one::<LogicalRouterPort>(z1.nb(), |p| p.name == "lrp-lr1-ts1");
    lrp.networks = vec!["169.254.100.2/24".into(), "169.254.200.3/24".into()];
    ok(
        z1.nb_mut(),
        vec![lrp.update_op(&[ovn_nb::LogicalRouterPortColumn::Networks])],
    );
    ic.settle(10).unwrap();
    let remote = one::<LogicalSwitchPort>(ic.zones()[1].nb(), |p| p.name == "lsp-ts1-lr1");
    assert_eq!(
        remote.addresses,
        ["aa:aa:aa:aa:aa:01 169.254.100.2/24 169.254.200.3/24"]
    );

    let z1 = ic.zone_mut("az1").unwrap();
    let lsp = one::<LogicalSwitchPort>(z1.nb(), |p| p.name == "lsp-ts1-lr1");
    let ls = one::<LogicalSwitch>(z1.nb(), |s| s.name == "ts1");
    ok(
        z1.nb_mut(),
        vec![Operation::Mutate {
            table: LogicalSwitch::NAME.into(),
            conditions: vec![Condition::uuid(ls.uuid)],
            mutations: vec![Mutation::new(
                "ports",
                Mutator::Delete,
                Datum::from(Atom::Uuid(lsp.uuid)),
            )],
        }],
    );
    ic.settle(10).unwrap();
    assert!(typed::<icsb::PortBinding>(ic.ic_sb()).is_empty());
    assert!(typed::<LogicalSwitchPort>(ic.zones()[1].nb()).is_empty());
}

/// Upstream "gateway sync": a chassis with `other_config:is-interconn=true` becomes the
/// zone's IC-SB gateway (with its encaps); the other zone gets it as a remote chassis.
#[test]
fn interconnection_gateways_are_synced_both_ways() {
    let mut ic = two_zones_on_ts1();
    let z1 = ic.zone_mut("az1").unwrap();
    let mut encap = sb::Encap::default();
    encap.uuid = fresh();
    encap.type_ = sb::EncapType::Geneve;
    encap.ip = "192.168.0.1".into();
    encap.chassis_name = "gw1".into();
    let mut ch = sb::Chassis::default();
    ch.name = "gw1".into();
    ch.hostname = "gw1".into();
    ch.encaps = vec![Ref::new(encap.uuid)];
    ch.other_config = ids(&[("is-interconn", "true")]);
    ok(z1.sb_mut(), vec![encap.insert_op(), ch.insert_op()]);
    ic.settle(10).unwrap();
    let gw = one::<icsb::Gateway>(ic.ic_sb(), |g| g.name == "gw1");
    assert_eq!(gw.hostname, "gw1");
    let remote = one::<sb::Chassis>(ic.zones()[1].sb(), |c| c.name == "gw1");
    assert_eq!(remote.other_config.get("is-remote"), Some("true"));
    // Not an interconnection gateway any more: gone from IC-SB and the other zone.
    let z1 = ic.zone_mut("az1").unwrap();
    let mut ch = one::<sb::Chassis>(z1.sb(), |c| c.name == "gw1");
    ch.other_config = StringMap::default();
    ok(
        z1.sb_mut(),
        vec![ch.update_op(&[sb::ChassisColumn::OtherConfig])],
    );
    ic.settle(10).unwrap();
    assert!(typed::<icsb::Gateway>(ic.ic_sb()).is_empty());
    assert!(typed::<sb::Chassis>(ic.zones()[1].sb()).is_empty());
}

/// `ovn-ic-nbctl --wait=sb sync` as the steps see it: the CMS increments
/// `IC_NB_Global.nb_ic_cfg`; both zones catch up and the globals follow.
#[test]
fn a_sync_is_confirmed_by_every_zone() {
    let mut ic = two_zones_on_ts1();
    let g = one::<IcNbGlobal>(ic.ic_nb(), |_| true);
    ok(
        ic.ic_nb_mut(),
        vec![Operation::Mutate {
            table: IcNbGlobal::NAME.into(),
            conditions: vec![Condition::uuid(g.uuid)],
            mutations: vec![Mutation::new(
                "nb_ic_cfg",
                Mutator::Add,
                Datum::from(Atom::Integer(1)),
            )],
        }],
    );
    ic.settle(10).unwrap();
    let g = one::<IcNbGlobal>(ic.ic_nb(), |_| true);
    assert_eq!((g.nb_ic_cfg, g.sb_ic_cfg), (1, 1));
    assert_eq!(one::<icsb::IcSbGlobal>(ic.ic_sb(), |_| true).nb_ic_cfg, 1);
    for az in typed::<icsb::AvailabilityZone>(ic.ic_sb()) {
        assert_eq!(az.nb_ic_cfg, 1, "{}", az.name);
    }
}

/// Routes end to end: lr2's network in az2 is advertised through ts1 and learned by lr1
/// in az1, through the real steps and the stand-in's southbound rows.
#[test]
fn a_network_crosses_the_transit_switch() {
    let mut ic = two_zones_on_ts1();
    attach(
        ic.zone_mut("az1").unwrap(),
        "lr1",
        "ts1",
        "aa:aa:aa:aa:aa:01",
        &["169.254.100.1/24"],
    );
    let z2 = ic.zone_mut("az2").unwrap();
    attach(z2, "lr2", "ts1", "aa:aa:aa:aa:aa:02", &["169.254.100.2/24"]);
    let lr2 = one::<LogicalRouter>(z2.nb(), |r| r.name == "lr2");
    let mut lan = LogicalRouterPort::default();
    lan.uuid = fresh();
    lan.name = "lrp-lr2-lan".into();
    lan.mac = "aa:aa:aa:aa:bb:02".into();
    lan.networks = vec!["10.11.2.1/24".into()];
    ok(
        z2.nb_mut(),
        vec![
            lan.insert_op(),
            mutate_insert(LogicalRouter::NAME, lr2.uuid, "ports", lan.uuid),
        ],
    );
    ic.settle(10).unwrap();
    let learned: Vec<(String, String)> =
        typed::<ovn_nb::LogicalRouterStaticRoute>(ic.zones()[0].nb())
            .into_iter()
            .filter(|r| r.external_ids.contains_key(crate::IC_LEARNED_ROUTE))
            .map(|r| (r.ip_prefix, r.nexthop))
            .collect();
    assert_eq!(
        learned,
        [("10.11.2.1/24".to_owned(), "169.254.100.2".to_owned())]
    );
}

/// The NB switch's `other_config` of transit switch `ts` in every zone, and its IC-SB key.
fn ts_keys(ic: &Interconnection, ts: &str) -> (Vec<StringMap>, i64) {
    let configs = ic
        .zones()
        .iter()
        .map(|z| one::<LogicalSwitch>(z.nb(), |s| s.name == ts).other_config)
        .collect();
    let key = one::<icsb::DatapathBinding>(ic.ic_sb(), |d| d.transit_switch == ts).tunnel_key;
    (configs, key)
}

fn set_ic_nb_option(ic: &mut Interconnection, key: &str, value: &str) {
    let mut g = one::<IcNbGlobal>(ic.ic_nb(), |_| true);
    g.options.insert(key, value);
    ok(
        ic.ic_nb_mut(),
        vec![g.update_op(&[ovn_ic_nb::IcNbGlobalColumn::Options])],
    );
}

/// Upstream "VXLAN tunnel key" (25.03): new NB transit switches carry
/// `ic-vxlan_mode=false`; with `IC_NB_Global options:vxlan_mode=true` and a gateway with a
/// VXLAN encap the switch is re-keyed into the 12-bit range (first key 1025), and back when
/// the option goes. Before 25.03 neither the key nor the range exist.
#[test]
fn vxlan_mode_rekeys_transit_switches_from_25_03() {
    let mut ic = two_zones_on_ts1_as(release("25.03.0"));
    let (configs, key) = ts_keys(&ic, "ts1");
    assert_eq!(key, 16_711_682);
    for c in &configs {
        assert_eq!(c.get("ic-vxlan_mode"), Some("false"));
        assert_eq!(c.get("requested-tnl-key"), Some("16711682"));
    }
    gateway_chassis(ic.zone_mut("az1").unwrap(), "gw1", sb::EncapType::Vxlan);
    set_ic_nb_option(&mut ic, "vxlan_mode", "true");
    ic.settle(10).unwrap();
    let (configs, key) = ts_keys(&ic, "ts1");
    assert_eq!(key, 1025);
    for c in &configs {
        assert_eq!(c.get("ic-vxlan_mode"), Some("true"));
        assert_eq!(c.get("requested-tnl-key"), Some("1025"));
    }
    set_ic_nb_option(&mut ic, "vxlan_mode", "false");
    ic.settle(10).unwrap();
    let (configs, key) = ts_keys(&ic, "ts1");
    assert_eq!(key, 16_711_682);
    assert!(configs
        .iter()
        .all(|c| c.get("ic-vxlan_mode") == Some("false")));

    // 24.09 knows no VXLAN mode: no key on the switch, the 24-bit range whatever IC-NB says.
    let mut ic = two_zones_on_ts1_as(release("24.09.0"));
    gateway_chassis(ic.zone_mut("az1").unwrap(), "gw1", sb::EncapType::Vxlan);
    set_ic_nb_option(&mut ic, "vxlan_mode", "true");
    ic.settle(10).unwrap();
    let (configs, key) = ts_keys(&ic, "ts1");
    assert_eq!(key, 16_711_682);
    assert!(configs.iter().all(|c| c.get("ic-vxlan_mode").is_none()));
}

/// VXLAN mode needs a gateway with a VXLAN encap: the option alone changes nothing.
#[test]
fn vxlan_mode_needs_a_vxlan_gateway() {
    let mut ic = two_zones_on_ts1_as(release("25.03.0"));
    gateway_chassis(ic.zone_mut("az1").unwrap(), "gw1", sb::EncapType::Geneve);
    set_ic_nb_option(&mut ic, "vxlan_mode", "true");
    ic.settle(10).unwrap();
    assert_eq!(ts_keys(&ic, "ts1").1, 16_711_682);
}

/// From 25.03 a transit switch gets the lowest free key; older releases continue after the
/// last key the daemon allocated, even when a lower one was freed.
#[test]
fn datapath_keys_are_the_lowest_free_from_25_03() {
    for (r, third) in [("24.03.0", 16_711_684), ("25.03.0", 16_711_682)] {
        let mut ic = Interconnection::new();
        ic.add_zone("az1").unwrap().set_semantics(release(r));
        ts_add(&mut ic, "ts1");
        ic.settle(10).unwrap();
        ts_add(&mut ic, "ts2");
        ic.settle(10).unwrap();
        assert_eq!(ts_keys(&ic, "ts2").1, 16_711_683, "{r}");
        let ts1 = one::<TransitSwitch>(ic.ic_nb(), |t| t.name == "ts1");
        ok(ic.ic_nb_mut(), vec![TransitSwitch::delete_op(ts1.uuid)]);
        ic.settle(10).unwrap();
        ts_add(&mut ic, "ts3");
        ic.settle(10).unwrap();
        assert_eq!(ts_keys(&ic, "ts3").1, third, "{r}");
    }
}

/// A chassis-redirect binding `cr-<lrp>` on `chassis`: the router port's gateway.
fn gateway_port(z: &mut SimZone, lrp: &str, chassis: Uuid) {
    let peer = one::<sb::PortBinding>(z.sb(), |p| p.logical_port == lrp);
    let mut cr = sb::PortBinding::default();
    cr.logical_port = format!("cr-{lrp}");
    cr.type_ = "chassisredirect".into();
    cr.datapath = peer.datapath;
    cr.tunnel_key = 100;
    cr.chassis = Some(Ref::new(chassis));
    ok(z.sb_mut(), vec![cr.insert_op()]);
}

/// Upstream "port sync" (23.09 steps): a remote port whose NB row has
/// `options:requested-chassis` is bound by ovn-northd, so ovn-ic leaves its SB chassis alone;
/// 23.03 and 23.06 copy the other zone's gateway into it regardless.
#[test]
fn remote_ports_with_requested_chassis_are_left_to_northd_from_23_09() {
    for (r, ours) in [("23.06.0", true), ("23.09.0", false), ("25.03.0", false)] {
        let mut ic = two_zones_on_ts1_as(release(r));
        let z1 = ic.zone_mut("az1").unwrap();
        attach(z1, "lr1", "ts1", "aa:aa:aa:aa:aa:01", &["169.254.100.1/24"]);
        ic.settle(10).unwrap();
        let z2 = ic.zone_mut("az2").unwrap();
        let mut remote = one::<LogicalSwitchPort>(z2.nb(), |p| p.name == "lsp-ts1-lr1");
        remote.options.insert("requested-chassis", "gw1");
        ok(
            z2.nb_mut(),
            vec![remote.update_op(&[ovn_nb::LogicalSwitchPortColumn::Options])],
        );
        let z1 = ic.zone_mut("az1").unwrap();
        let gw1 = gateway_chassis(z1, "gw1", sb::EncapType::Geneve);
        gateway_port(z1, "lrp-lr1-ts1", gw1);
        ic.settle(10).unwrap();
        let pb = one::<icsb::PortBinding>(ic.ic_sb(), |p| p.logical_port == "lsp-ts1-lr1");
        assert_eq!(pb.gateway, "gw1", "{r}");
        let z2 = &ic.zones()[1];
        let remote_gw = one::<sb::Chassis>(z2.sb(), |c| c.name == "gw1").uuid;
        let bound = one::<sb::PortBinding>(z2.sb(), |p| p.logical_port == "lsp-ts1-lr1").chassis;
        assert_eq!(bound == Some(Ref::new(remote_gw)), ours, "{r}");
        assert_eq!(bound.is_none(), !ours, "{r}");
    }
}

/// Upstream "spine-leaf" (its IC database part, 25.03): a `switch` port on a transit switch
/// is bound in IC-SB with address `unknown` and, once its SB binding is on a chassis, that
/// chassis as gateway; other zones get it as a remote port; no routes come from it. Before
/// 25.03 the port is ignored.
#[test]
fn switch_ports_are_bound_from_25_03() {
    for (r, bound) in [("24.09.0", false), ("25.03.0", true)] {
        let mut ic = two_zones_on_ts1_as(release(r));
        let z1 = ic.zone_mut("az1").unwrap();
        let hv1 = gateway_chassis(z1, "hv1", sb::EncapType::Geneve);
        let ls = one::<LogicalSwitch>(z1.nb(), |s| s.name == "ts1");
        let ls_dp = one::<sb::DatapathBinding>(z1.sb(), |d| {
            d.external_ids.get("logical-switch") == Some(ls.uuid.to_string().as_str())
        });
        let mut lsp = LogicalSwitchPort::default();
        lsp.uuid = fresh();
        lsp.name = "spine-to-ls1".into();
        lsp.type_ = "switch".into();
        lsp.options = ids(&[("peer", "ls1-to-spine"), ("requested-chassis", "hv1")]);
        let mut pb = sb::PortBinding::default();
        pb.logical_port = "spine-to-ls1".into();
        pb.type_ = "switch".into();
        pb.datapath = Ref::new(ls_dp.uuid);
        pb.tunnel_key = 200;
        pb.chassis = Some(Ref::new(hv1));
        ok(
            z1.nb_mut(),
            vec![
                lsp.insert_op(),
                mutate_insert(LogicalSwitch::NAME, ls.uuid, "ports", lsp.uuid),
            ],
        );
        ok(z1.sb_mut(), vec![pb.insert_op()]);
        ic.settle(10).unwrap();
        let pbs: Vec<icsb::PortBinding> = typed(ic.ic_sb());
        if !bound {
            assert!(pbs.is_empty(), "{r}: {pbs:#?}");
            continue;
        }
        let pb = one::<icsb::PortBinding>(ic.ic_sb(), |p| p.logical_port == "spine-to-ls1");
        assert_eq!(
            (pb.address.as_str(), pb.gateway.as_str()),
            ("unknown", "hv1")
        );
        let remote = one::<LogicalSwitchPort>(ic.zones()[1].nb(), |p| p.name == "spine-to-ls1");
        assert_eq!(remote.type_, "remote");
        assert_eq!(remote.addresses, ["unknown"]);
        assert!(typed::<icsb::Route>(ic.ic_sb()).is_empty());
    }
}

#[test]
fn probe_interval_follows_ic_probe_interval_as_ovn_ic_does() {
    use std::time::Duration;
    let opts = |v: &str| StringMap::from([("ic_probe_interval", v)]);
    // Absent or unparsable: Open vSwitch's default for the remote's kind.
    assert_eq!(
        super::probe_interval(None, true),
        Some(Duration::from_secs(5))
    );
    assert_eq!(super::probe_interval(None, false), None);
    assert_eq!(
        super::probe_interval(Some(&StringMap::new()), true),
        Some(Duration::from_secs(5))
    );
    assert_eq!(super::probe_interval(Some(&opts("soon")), false), None);
    assert_eq!(
        super::probe_interval(Some(&opts("-1")), true),
        Some(Duration::from_secs(5))
    );
    // Set: applies to unix remotes too; 0 disables; under a second is a second.
    assert_eq!(super::probe_interval(Some(&opts("0")), true), None);
    assert_eq!(
        super::probe_interval(Some(&opts("250")), true),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        super::probe_interval(Some(&opts("60000")), false),
        Some(Duration::from_secs(60))
    );
}

/// `RouteScope::conditions`, run by the server's own condition rules (one `select` per
/// clause, as a conditional monitor keeps a row if any clause holds), keep exactly the routes
/// the scope holds: a zone's own routes on every switch and every zone's routes on the
/// switches it is bound to, nothing of a switch it has no port on.
#[test]
fn route_scope_conditions_select_the_routes_of_the_scope() {
    let mut ic = Interconnection::new();
    for az in ["az1", "az2", "az3"] {
        ic.add_zone(az).unwrap();
    }
    ts_add(&mut ic, "ts1");
    ts_add(&mut ic, "ts2");
    ic.settle(10).unwrap();
    let joins = [
        ("az1", "lr1", "ts1", "169.254.100.1/24", "10.1.0.1/24"),
        ("az2", "lr2", "ts1", "169.254.100.2/24", "10.2.0.1/24"),
        ("az2", "lr2", "ts2", "169.254.200.2/24", ""),
        ("az3", "lr3", "ts2", "169.254.200.3/24", "10.3.0.1/24"),
    ];
    for (i, (az, lr, ts, net, lan)) in joins.into_iter().enumerate() {
        let z = ic.zone_mut(az).unwrap();
        attach(z, lr, ts, &format!("aa:aa:aa:aa:aa:{i:02}"), &[net]);
        if !lan.is_empty() {
            let router = one::<LogicalRouter>(z.nb(), |r| r.name == lr);
            let mut port = LogicalRouterPort::default();
            port.uuid = fresh();
            port.name = format!("lrp-{lr}-lan");
            port.mac = format!("aa:aa:aa:aa:bb:{i:02}");
            port.networks = vec![lan.to_owned()];
            ok(
                z.nb_mut(),
                vec![
                    port.insert_op(),
                    mutate_insert(LogicalRouter::NAME, router.uuid, "ports", port.uuid),
                ],
            );
        }
    }
    ic.settle(10).unwrap();
    let routes = typed::<icsb::Route>(ic.ic_sb());
    let mut store = ovsdb_proto::typed::TypedStore::new();
    for az in typed::<icsb::AvailabilityZone>(ic.ic_sb()) {
        store.insert(az);
    }
    for pb in typed::<icsb::PortBinding>(ic.ic_sb()) {
        store.insert(pb);
    }
    let selected = |db: &mut MemoryDb, clauses: &[Condition]| {
        let mut rows = std::collections::BTreeSet::new();
        for clause in clauses {
            let select = Operation::Select {
                table: icsb::Route::NAME.to_owned(),
                conditions: vec![clause.clone()],
                columns: Some(vec!["_uuid".to_owned()]),
            };
            let reply = db.transact(&[select]).unwrap();
            let Ok(results) = reply.into_result() else {
                panic!("select with {clause:?} failed");
            };
            for r in results {
                if let ovsdb_proto::OperationResult::Select { rows: found } = r {
                    rows.extend(
                        found
                            .iter()
                            .filter_map(|row| row.get("_uuid")?.as_atom()?.as_uuid()),
                    );
                }
            }
        }
        rows
    };
    let on = |ts: &str| routes.iter().filter(|r| r.transit_switch == ts).count();
    assert!(on("ts1") >= 2 && on("ts2") >= 2, "{routes:#?}");
    for (az, sees_ts1, sees_ts2) in [
        ("az1", true, false),
        ("az2", true, true),
        ("az3", false, true),
    ] {
        let scope = crate::RouteScope::read(az, &store).unwrap();
        let wanted: std::collections::BTreeSet<Uuid> = routes
            .iter()
            .filter(|r| scope.contains(r))
            .map(|r| r.uuid)
            .collect();
        let own = one::<icsb::AvailabilityZone>(ic.ic_sb(), |z| z.name == az).uuid;
        for r in &routes {
            let expected = r.availability_zone.uuid() == own
                || (r.transit_switch == "ts1" && sees_ts1)
                || (r.transit_switch == "ts2" && sees_ts2);
            assert_eq!(wanted.contains(&r.uuid), expected, "{az}: {r:?}");
        }
        assert_eq!(
            selected(ic.ic_sb_mut(), &scope.conditions()),
            wanted,
            "{az}"
        );
    }
    let unknown = crate::RouteScope::read("az9", &store).unwrap();
    assert_eq!(unknown.conditions(), [Condition::Bool(false)]);
    assert!(selected(ic.ic_sb_mut(), &unknown.conditions()).is_empty());
}
