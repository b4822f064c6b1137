//! `port_binding_run`: transit-switch ports between a zone's NB and SB and IC-SB (bindings
//! for local router ports, NB `remote` ports for other zones' ports, tunnel keys), and the
//! port-binding cleanup at the start of `route_run`.

use std::collections::{HashMap, HashSet};

use ovn_ic_sb as icsb;
use ovn_nb::LogicalSwitchPort;
use ovn_sb as sb;

use super::*;

impl ZoneState {
    /// `port_binding_run`: IC-SB port bindings for this zone's router ports on transit
    /// switches (address, gateway chassis, `router-id`), NB `remote` ports for other
    /// zones' ports, tunnel keys from IC-SB back to NB, and remote gateways into SB.
    /// Returns the IC-SB port bindings it deletes.
    pub fn port_binding_run(&mut self, az: Uuid, rows: &Rows<'_>, ops: &mut Ops) -> HashSet<Uuid> {
        let sb_pb_by_name: HashMap<&str, &sb::PortBinding> = rows
            .sb_port_bindings
            .values()
            .map(|pb| (pb.logical_port.as_str(), pb))
            .collect();
        let ctx = SbView {
            pbs: &sb_pb_by_name,
            rows,
        };
        let mut all_local: BTreeMap<Uuid, &icsb::PortBinding> = rows
            .ic_port_bindings
            .values()
            .filter(|pb| pb.availability_zone.uuid() == az)
            .map(|pb| (pb.uuid, pb))
            .collect();
        let mut by_ts: HashMap<&str, Vec<&icsb::PortBinding>> = HashMap::new();
        for pb in sorted(rows.ic_port_bindings) {
            by_ts
                .entry(pb.transit_switch.as_str())
                .or_default()
                .push(pb);
        }
        let mut deleted: HashSet<Uuid> = HashSet::new();

        for ts in sorted(rows.transit_switches) {
            let Some(ls) = find_ts_in_nb(rows, &ts.name) else {
                debug!(transit_switch = %ts.name, "Transit switch not found in NB.");
                continue;
            };
            let mut local: BTreeMap<&str, &icsb::PortBinding> = BTreeMap::new();
            let mut remote: BTreeMap<&str, &icsb::PortBinding> = BTreeMap::new();
            let mut used: HashSet<i64> = HashSet::new();
            for pb in by_ts.get(ts.name.as_str()).into_iter().flatten() {
                if pb.availability_zone.uuid() == az {
                    local.insert(pb.logical_port.as_str(), pb);
                    all_local.remove(&pb.uuid);
                } else {
                    remote.insert(pb.logical_port.as_str(), pb);
                }
                used.insert(pb.tunnel_key);
            }

            let mut ports: Vec<&LogicalSwitchPort> = ls
                .ports
                .iter()
                .filter_map(|r| rows.switch_ports.get(&r.uuid()))
                .collect();
            ports.sort_by_key(|p| p.uuid);
            let switch_ports = self.semantics.switch_ports();
            for lsp in ports {
                match lsp.type_.as_str() {
                    // ≥ 25.03 (spine-leaf): a `switch` port is local too.
                    "router" | "switch" if lsp.type_ == "router" || switch_ports => {
                        let Some(sb_pb) = sb_pb_by_name.get(lsp.name.as_str()) else {
                            continue;
                        };
                        match local.remove(lsp.name.as_str()) {
                            None => {
                                let Some(key) =
                                    allocate(&mut used, 1, MAX_PORT_KEY, &mut self.port_hint)
                                else {
                                    warn!("all transit port tunnel ids exhausted");
                                    continue;
                                };
                                create_isb_pb(&ctx, sb_pb, lsp, az, &ts.name, key, ops);
                            }
                            Some(isb_pb) => sync_local_port(&ctx, isb_pb, sb_pb, lsp, ops),
                        }
                    }
                    "remote" => match remote.remove(lsp.name.as_str()) {
                        None => {
                            info!(port = %lsp.name, transit_switch = %ts.name, "removing a remote port whose zone unbound it");
                            ops.nb.push(LogicalSwitch::mutate_op(
                                ls.uuid,
                                vec![ovn_nb::LogicalSwitchColumn::Ports
                                    .delete_values(vec![Ref::<LogicalSwitchPort>::new(lsp.uuid)])],
                            ));
                        }
                        Some(isb_pb) => {
                            let Some(sb_pb) = sb_pb_by_name.get(lsp.name.as_str()) else {
                                continue;
                            };
                            let honour = self.semantics.remote_ports_honour_requested_chassis();
                            sync_remote_port(&ctx, isb_pb, lsp, sb_pb, honour, ops);
                        }
                    },
                    other => {
                        debug!(port = %lsp.name, transit_switch = %ts.name, r#type = other, "Ignore lsp on ts.");
                    }
                }
            }
            for pb in local.values() {
                if deleted.insert(pb.uuid) {
                    ops.ic_sb.push(icsb::PortBinding::delete_op(pb.uuid));
                }
            }
            for pb in remote.values() {
                create_nb_lsp(pb, ls, ops, self.new_uuid);
            }
        }
        for pb in all_local.values() {
            if deleted.insert(pb.uuid) {
                ops.ic_sb.push(icsb::PortBinding::delete_op(pb.uuid));
            }
        }
        deleted
    }
}

/// `route_run`'s first step: a local IC-SB port binding whose NB switch port is gone or has
/// no `options:router-port` is deleted ("Route sync ignores port … Deleting it"), unless
/// `port_binding_run` already deletes it (`deleted`).
pub fn route_port_cleanup(az: Uuid, rows: &Rows<'_>, deleted: &HashSet<Uuid>, ops: &mut Ops) {
    let lsp_by_name: HashMap<&str, &LogicalSwitchPort> = rows
        .switch_ports
        .values()
        .map(|p| (p.name.as_str(), p))
        .collect();
    for pb in sorted(rows.ic_port_bindings) {
        if pb.availability_zone.uuid() != az {
            continue;
        }
        let lsp = lsp_by_name.get(pb.logical_port.as_str());
        if lsp.is_some_and(|lsp| lsp.type_ == "switch") {
            // A spine-leaf switch port (≥ 25.03) has no router port and no routes.
            continue;
        }
        let has_lrp = lsp.is_some_and(|lsp| lsp.options.get("router-port").is_some());
        if !has_lrp && !deleted.contains(&pb.uuid) {
            warn!(port = %pb.logical_port, transit_switch = %pb.transit_switch, "Route sync ignores port because logical router port is not found in NB. Deleting it");
            ops.ic_sb.push(icsb::PortBinding::delete_op(pb.uuid));
        }
    }
}

/// The SB rows `port_binding_run` looks up by name.
struct SbView<'a, 'r> {
    pbs: &'a HashMap<&'r str, &'r sb::PortBinding>,
    rows: &'a Rows<'r>,
}

impl<'r> SbView<'_, 'r> {
    /// The router-side port binding of a transit-switch port (`options:peer`).
    fn peer(&self, pb: &sb::PortBinding) -> Option<&'r sb::PortBinding> {
        let peer = pb.options.get("peer")?;
        self.pbs.get(peer).copied()
    }

    /// `get_lp_address_for_sb_pb`: `"<mac> <network>…"` of a router port's peer, as northd
    /// writes it into `mac`; `unknown` for a `switch` port (a switch has an implicit
    /// `unknown` address, and an IC-SB binding holds one address).
    fn address(&self, pb: &sb::PortBinding, lsp: &LogicalSwitchPort) -> Option<&'r str> {
        if lsp.type_ == "switch" {
            return Some("unknown");
        }
        self.peer(pb)?.mac.first().map(String::as_str)
    }

    /// The chassis of the router port's chassis-redirect port (`cr-<lrp>`), if bound.
    fn gateway(&self, pb: &sb::PortBinding) -> Option<&'r str> {
        let peer = self.peer(pb)?;
        let crp = self.pbs.get(format!("cr-{}", peer.logical_port).as_str())?;
        self.chassis_name(crp)
    }

    /// The name of the chassis `pb` is bound to.
    fn chassis_name(&self, pb: &sb::PortBinding) -> Option<&'r str> {
        let chassis = self.rows.chassis.get(&pb.chassis?.uuid())?;
        Some(chassis.name.as_str())
    }

    /// The NB logical router of the router port (`external_ids:logical-router` of its SB
    /// datapath).
    fn router_id(&self, pb: &sb::PortBinding) -> Option<Uuid> {
        let peer = self.peer(pb)?;
        let dp = self.rows.sb_datapaths.get(&peer.datapath.uuid())?;
        parse_uuid(dp.external_ids.get("logical-router")?)
    }
}

fn create_isb_pb(
    ctx: &SbView<'_, '_>,
    sb_pb: &sb::PortBinding,
    lsp: &LogicalSwitchPort,
    az: Uuid,
    ts: &str,
    key: u32,
    ops: &mut Ops,
) {
    let mut pb = icsb::PortBinding::default();
    pb.availability_zone = Ref::new(az);
    pb.transit_switch = ts.to_owned();
    pb.logical_port = sb_pb.logical_port.clone();
    pb.tunnel_key = i64::from(key);
    if let Some(address) = ctx.address(sb_pb, lsp) {
        pb.address = address.to_owned();
    }
    // A new binding takes only the chassis-redirect port's chassis, even for a `switch`
    // port; the next round's sync adds a switch port's own chassis (as ovn-ic does).
    if let Some(gw) = ctx.gateway(sb_pb) {
        pb.gateway = gw.to_owned();
    }
    match ctx.router_id(sb_pb) {
        Some(lr) => {
            pb.external_ids.insert("router-id", lr.to_string());
        }
        None => no_router_id(lsp),
    }
    info!(port = %pb.logical_port, transit_switch = ts, tunnel_key = key, "binding a local transit switch port");
    ops.ic_sb.push(pb.insert_op());
}

fn sync_local_port(
    ctx: &SbView<'_, '_>,
    isb_pb: &icsb::PortBinding,
    sb_pb: &sb::PortBinding,
    lsp: &LogicalSwitchPort,
    ops: &mut Ops,
) {
    use icsb::PortBindingColumn as P;
    let mut new = isb_pb.clone();
    let mut changed = Vec::new();
    let address = ctx.address(sb_pb, lsp).unwrap_or("");
    if address != isb_pb.address {
        address.clone_into(&mut new.address);
        changed.push(P::Address);
    }
    let gateway = ctx
        .gateway(sb_pb)
        .or_else(|| {
            // A `switch` port's gateway is the chassis its own binding is on.
            (lsp.type_ == "switch")
                .then(|| ctx.chassis_name(sb_pb))
                .flatten()
        })
        .unwrap_or("");
    if gateway != isb_pb.gateway {
        gateway.clone_into(&mut new.gateway);
        changed.push(P::Gateway);
    }
    if !changed.is_empty() {
        ops.ic_sb.push(new.update_op(&changed));
    }
    match ctx.router_id(sb_pb) {
        Some(lr) => {
            let current = isb_pb.external_ids.get("router-id").and_then(parse_uuid);
            if current != Some(lr) {
                ops.ic_sb.push(set_key_op(
                    isb_pb.uuid,
                    P::ExternalIds,
                    "router-id",
                    &lr.to_string(),
                ));
            }
        }
        None => no_router_id(lsp),
    }
    sync_lsp_tnl_key(lsp, isb_pb.tunnel_key, ops);
}

/// `update_isb_pb_external_ids` found no router behind the port. ovn-ic warns for `switch`
/// ports too, on every round; they never have a router, so here that is a debug message.
fn no_router_id(lsp: &LogicalSwitchPort) {
    if lsp.type_ == "switch" {
        debug!(port = %lsp.name, "switch port on a transit switch has no router");
    } else {
        warn!(port = %lsp.name, "Can't get router uuid for transit switch port.");
    }
}

fn sync_remote_port(
    ctx: &SbView<'_, '_>,
    isb_pb: &icsb::PortBinding,
    lsp: &LogicalSwitchPort,
    sb_pb: &sb::PortBinding,
    honour_requested_chassis: bool,
    ops: &mut Ops,
) {
    let want: Vec<String> = if isb_pb.address.is_empty() {
        Vec::new()
    } else {
        vec![isb_pb.address.clone()]
    };
    if lsp.addresses != want {
        let mut new = lsp.clone();
        new.addresses = want;
        ops.nb
            .push(new.update_op(&[ovn_nb::LogicalSwitchPortColumn::Addresses]));
    }
    sync_lsp_tnl_key(lsp, isb_pb.tunnel_key, ops);

    if honour_requested_chassis && lsp.options.get("requested-chassis").is_some() {
        // ≥ 23.09: the CMS asked for a chassis; ovn-northd binds the port.
        return;
    }
    let current = sb_pb
        .chassis
        .and_then(|c| ctx.rows.chassis.get(&c.uuid()))
        .map(|c| c.name.as_str());
    if !isb_pb.gateway.is_empty() {
        if current != Some(isb_pb.gateway.as_str()) {
            let Some(chassis) = ctx.rows.chassis.values().find(|c| c.name == isb_pb.gateway) else {
                debug!(chassis = %isb_pb.gateway, port = %lsp.name, "Chassis is not found in SB, syncing from ISB to SB skipped for logical port.");
                return;
            };
            let mut new = sb_pb.clone();
            new.chassis = Some(Ref::new(chassis.uuid));
            ops.sb
                .push(new.update_op(&[sb::PortBindingColumn::Chassis]));
        }
    } else if sb_pb.chassis.is_some() {
        let mut new = sb_pb.clone();
        new.chassis = None;
        ops.sb
            .push(new.update_op(&[sb::PortBindingColumn::Chassis]));
    }
}

fn create_nb_lsp(
    isb_pb: &icsb::PortBinding,
    ls: &LogicalSwitch,
    ops: &mut Ops,
    new_uuid: fn() -> Uuid,
) {
    let uuid = new_uuid();
    let mut lsp = LogicalSwitchPort::default();
    lsp.uuid = uuid;
    lsp.name = isb_pb.logical_port.clone();
    lsp.type_ = "remote".to_owned();
    lsp.up = Some(true);
    if !isb_pb.address.is_empty() {
        lsp.addresses = vec![isb_pb.address.clone()];
    }
    lsp.options
        .insert("requested-tnl-key", isb_pb.tunnel_key.to_string());
    info!(port = %lsp.name, transit_switch = %ls.name, "creating a remote port");
    ops.nb.push(lsp.insert_op());
    ops.nb.push(LogicalSwitch::mutate_op(
        ls.uuid,
        vec![ovn_nb::LogicalSwitchColumn::Ports
            .insert_values(vec![Ref::<LogicalSwitchPort>::new(uuid)])],
    ));
}

fn sync_lsp_tnl_key(lsp: &LogicalSwitchPort, key: i64, ops: &mut Ops) {
    if int_option(&lsp.options, "requested-tnl-key") != key {
        debug!(port = %lsp.name, key, "Set options:requested-tnl-key for lsp in NB.");
        ops.nb.push(set_key_op(
            lsp.uuid,
            ovn_nb::LogicalSwitchPortColumn::Options,
            "requested-tnl-key",
            &key.to_string(),
        ));
    }
}
