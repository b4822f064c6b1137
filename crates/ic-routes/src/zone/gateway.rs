//! `gateway_run`: interconnection gateways between a zone's SB chassis and IC-SB.

use std::collections::BTreeMap;

use ovn_ic_sb as icsb;
use ovn_sb as sb;

use super::*;

/// `gateway_run`: this zone's interconnection gateways (SB chassis with
/// `other_config:is-interconn=true`) into IC-SB, other zones' gateways into SB as chassis
/// with `other_config:is-remote=true`.
pub fn gateway_run(az: Uuid, rows: &Rows<'_>, ops: &mut Ops, new_uuid: fn() -> Uuid) {
    let mut local: BTreeMap<&str, &icsb::Gateway> = BTreeMap::new();
    let mut remote: BTreeMap<&str, &icsb::Gateway> = BTreeMap::new();
    for gw in sorted(rows.gateways) {
        if gw.availability_zone.uuid() == az {
            local.insert(gw.name.as_str(), gw);
        } else {
            remote.insert(gw.name.as_str(), gw);
        }
    }
    for chassis in sorted(rows.chassis) {
        if bool_option(&chassis.other_config, "is-interconn") {
            match local.remove(chassis.name.as_str()) {
                None => {
                    let uuid = new_uuid();
                    let mut gw = icsb::Gateway::default();
                    gw.uuid = uuid;
                    gw.availability_zone = Ref::new(az);
                    gw.name = chassis.name.clone();
                    info!(gateway = %chassis.name, "registering an interconnection gateway");
                    ops.ic_sb.push(gw.insert_op());
                    sync_sb_gw_to_isb(rows, chassis, uuid, ops, new_uuid);
                }
                Some(gw) => {
                    if gateway_changed(rows, gw, chassis) {
                        sync_sb_gw_to_isb(rows, chassis, gw.uuid, ops, new_uuid);
                    }
                }
            }
        } else if bool_option(&chassis.other_config, "is-remote") {
            match remote.remove(chassis.name.as_str()) {
                None => ops.sb.push(sb::Chassis::delete_op(chassis.uuid)),
                Some(gw) => {
                    if gateway_changed(rows, gw, chassis) {
                        sync_isb_gw_to_sb(rows, gw, chassis.uuid, ops, new_uuid);
                    }
                }
            }
        }
    }
    for gw in local.values() {
        ops.ic_sb.push(icsb::Gateway::delete_op(gw.uuid));
    }
    for gw in remote.values() {
        let uuid = new_uuid();
        let mut chassis = sb::Chassis::default();
        chassis.uuid = uuid;
        chassis.name = gw.name.clone();
        ops.sb.push(chassis.insert_op());
        sync_isb_gw_to_sb(rows, gw, uuid, ops, new_uuid);
    }
}

/// `is_gateway_data_changed`: hostname, number of encaps, or an encap of the gateway without
/// an equal (type, ip, options) encap on the chassis.
fn gateway_changed(rows: &Rows<'_>, gw: &icsb::Gateway, chassis: &sb::Chassis) -> bool {
    if gw.hostname != chassis.hostname || gw.encaps.len() != chassis.encaps.len() {
        return true;
    }
    let chassis_encaps: Vec<&sb::Encap> = chassis
        .encaps
        .iter()
        .filter_map(|r| rows.sb_encaps.get(&r.uuid()))
        .collect();
    for r in &gw.encaps {
        let Some(e) = rows.ic_encaps.get(&r.uuid()) else {
            return true;
        };
        match chassis_encaps
            .iter()
            .find(|c| c.type_.as_str() == e.type_.as_str() && c.ip == e.ip)
        {
            Some(c) if c.options == e.options => {}
            _ => return true,
        }
    }
    false
}

fn sync_sb_gw_to_isb(
    rows: &Rows<'_>,
    chassis: &sb::Chassis,
    gw: Uuid,
    ops: &mut Ops,
    new_uuid: fn() -> Uuid,
) {
    let mut encaps = Vec::new();
    for e in chassis
        .encaps
        .iter()
        .filter_map(|r| rows.sb_encaps.get(&r.uuid()))
    {
        let uuid = new_uuid();
        let mut row = icsb::Encap::default();
        row.uuid = uuid;
        row.gateway_name = chassis.name.clone();
        row.ip = e.ip.clone();
        row.type_ = icsb::EncapType::from_name(e.type_.as_str());
        row.options = e.options.clone();
        ops.ic_sb.push(row.insert_op());
        encaps.push(uuid);
    }
    let mut row = icsb::Gateway::default();
    row.uuid = gw;
    row.hostname = chassis.hostname.clone();
    row.encaps = encaps.into_iter().map(Ref::new).collect();
    use icsb::GatewayColumn as G;
    ops.ic_sb.push(row.update_op(&[G::Hostname, G::Encaps]));
}

fn sync_isb_gw_to_sb(
    rows: &Rows<'_>,
    gw: &icsb::Gateway,
    chassis: Uuid,
    ops: &mut Ops,
    new_uuid: fn() -> Uuid,
) {
    let mut encaps = Vec::new();
    for e in gw
        .encaps
        .iter()
        .filter_map(|r| rows.ic_encaps.get(&r.uuid()))
    {
        let uuid = new_uuid();
        let mut row = sb::Encap::default();
        row.uuid = uuid;
        row.chassis_name = gw.name.clone();
        row.ip = e.ip.clone();
        row.type_ = sb::EncapType::from_name(e.type_.as_str());
        row.options = e.options.clone();
        ops.sb.push(row.insert_op());
        encaps.push(uuid);
    }
    let mut row = sb::Chassis::default();
    row.uuid = chassis;
    row.hostname = gw.hostname.clone();
    row.encaps = encaps.into_iter().map(Ref::new).collect();
    use sb::ChassisColumn as C;
    ops.sb.push(row.update_op(&[C::Hostname, C::Encaps]));
    ops.sb
        .push(set_key_op(chassis, C::OtherConfig, "is-remote", "true"));
}
