//! The generated zones: their transit switches, routes shaped like ovn-ic's, and the fill
//! of IC-SB with them.

use super::*;

/// One generated IC-SB route.
#[derive(Clone)]
pub(crate) struct GenRoute {
    pub(crate) zone: usize,
    pub(crate) ts: usize,
    pub(crate) route_table: &'static str,
    pub(crate) prefix: String,
    pub(crate) nexthop: String,
    pub(crate) origin: &'static str,
    /// Its row, once inserted (`None` while withdrawn).
    pub(crate) uuid: Option<Uuid>,
}

impl GenRoute {
    /// Whether zone `az1`'s router on `ts0` learns it (global route table, nexthop on ts0).
    pub(crate) fn learnable(&self) -> bool {
        self.ts == 0 && self.route_table.is_empty()
    }
    pub(crate) fn key(&self) -> (String, String) {
        (self.prefix.clone(), self.nexthop.clone())
    }
}

pub(crate) const ROUTE_TABLES: [&str; 3] = ["rtb-a", "rtb-b", "rtb-c"];

/// The generated world: which transit switches each zone joins, and its routes.
pub(crate) struct World {
    pub(crate) switches: usize,
    pub(crate) zone_ts: Vec<Vec<usize>>,
    pub(crate) routes: Vec<GenRoute>,
}

pub(crate) fn nexthop(zone: usize, ts: usize, v6: bool, variant: usize) -> String {
    let host = 2 + (zone * 2 + variant) % 250;
    if v6 {
        Ipv6Addr::new(0xfd00, ts as u16, 0, 0, 0, 0, 0, host as u16).to_string()
    } else {
        format!("100.{}.{}.{host}", 64 + ts / 256, ts % 256)
    }
}

/// Prefix number `g` (unique across the run): a /24 or /32 in 11.0.0.0 and up, or a /64 in
/// fdaa::/16.
pub(crate) fn prefix(g: usize, v6: bool, host: bool) -> String {
    if v6 {
        let a = Ipv6Addr::new(0xfdaa, (g >> 16) as u16, (g & 0xffff) as u16, 0, 0, 0, 0, 0);
        format!("{a}/64")
    } else if host {
        format!("{}.{}.{}.1/32", 11 + (g >> 16), (g >> 8) & 255, g & 255)
    } else {
        format!("{}.{}.{}.0/24", 11 + (g >> 16), (g >> 8) & 255, g & 255)
    }
}

impl World {
    pub(crate) fn generate(
        zones: usize,
        per_zone: usize,
        switches: usize,
        ts_per_zone: usize,
    ) -> World {
        let stride = (switches / ts_per_zone).max(1);
        let zone_ts: Vec<Vec<usize>> = (0..zones)
            .map(|j| {
                let mut v: Vec<usize> = (0..ts_per_zone)
                    .map(|m| (j + m * stride) % switches)
                    .collect();
                v.dedup();
                v
            })
            .collect();
        let mut routes = Vec::with_capacity(zones * per_zone);
        for (j, tss) in zone_ts.iter().enumerate() {
            for k in 0..per_zone {
                let g = j * per_zone + k;
                if k % 20 == 1 {
                    // ECMP: the previous route's prefix through the zone's second nexthop.
                    let prev: &GenRoute = routes.last().expect("k >= 1");
                    let mut r = prev.clone();
                    r.nexthop = nexthop(j, r.ts, false, 1);
                    routes.push(r);
                    continue;
                }
                let ts = tss[k % tss.len()];
                let v6 = k % 4 == 3;
                routes.push(GenRoute {
                    zone: j,
                    ts,
                    route_table: if k % 10 >= 7 { ROUTE_TABLES[k % 3] } else { "" },
                    prefix: prefix(g, v6, k % 10 == 5),
                    nexthop: nexthop(j, ts, v6, 0),
                    origin: if k % 3 == 0 { "connected" } else { "static" },
                    uuid: None,
                });
            }
        }
        World {
            switches,
            zone_ts,
            routes,
        }
    }

    pub(crate) fn zones_on_ts0(&self) -> Vec<usize> {
        (0..self.zone_ts.len())
            .filter(|&j| self.zone_ts[j].contains(&0))
            .collect()
    }
}

pub(crate) fn fake_uuid(a: usize, b: usize) -> String {
    format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        a as u32,
        (b >> 32) as u16,
        b & 0xffff_ffff_ffff
    )
}

pub(crate) fn route_row(r: &GenRoute, az: Uuid) -> Row {
    Row::new()
        .with("transit_switch", Atom::from(format!("ts{}", r.ts)))
        .with("availability_zone", Atom::Uuid(az))
        .with("route_table", Atom::from(r.route_table))
        .with("ip_prefix", Atom::from(r.prefix.as_str()))
        .with("nexthop", Atom::from(r.nexthop.as_str()))
        .with("origin", Atom::from(r.origin))
        .with(
            "external_ids",
            Datum::map([
                ("lr-id", fake_uuid(r.zone, 0)),
                ("nb-id", fake_uuid(r.zone, r.prefix.len() * 65_536 + r.ts)),
            ]),
        )
}

pub(crate) fn insert(table: &str, row: Row) -> Operation {
    Operation::Insert {
        table: table.into(),
        row,
        uuid_name: None,
        uuid: None,
    }
}

pub(crate) fn delete_by_uuid(table: &str, uuid: Uuid) -> Operation {
    Operation::Delete {
        table: table.into(),
        conditions: vec![Condition::new(
            "_uuid",
            Function::Eq,
            Datum::from(Atom::Uuid(uuid)),
        )],
    }
}

pub(crate) fn inserted_uuids(results: &[OperationResult]) -> Vec<Uuid> {
    results
        .iter()
        .filter_map(|r| match r {
            OperationResult::Insert { uuid } => Some(*uuid),
            _ => None,
        })
        .collect()
}

pub(crate) async fn connect(remote: &str) -> Client {
    Client::connect(
        ClientConfig::new(remote)
            .expect("remote")
            // The servers are busy for seconds at a time at this size; a probe timeout
            // would reconnect and resync the monitor.
            .probe_interval(None)
            .transact_timeout(Some(Duration::from_secs(900))),
        Duration::from_secs(30),
    )
    .await
    .expect("connect")
}

/// Writes the generated zones' rows to IC-SB: zones, gateways, port bindings, then routes in
/// transactions of 20,000 rows. Returns each zone's `Availability_Zone` row.
pub(crate) async fn fill(ic_sb: &Client, world: &mut World) -> Vec<Uuid> {
    let db = "OVN_IC_Southbound";
    let zones = world.zone_ts.len();
    let ops: Vec<Operation> = (0..zones)
        .map(|j| {
            insert(
                "Availability_Zone",
                Row::new().with("name", Atom::from(format!("gz{j}"))),
            )
        })
        .collect();
    let azs = inserted_uuids(&ic_sb.transact_checked(db, ops).await.expect("zones"));
    let mut ops = Vec::new();
    for (j, tss) in world.zone_ts.iter().enumerate() {
        let gw = format!("gw-gz{j}");
        ops.push(Operation::Insert {
            table: "Encap".into(),
            row: Row::new()
                .with("type", Atom::from("geneve"))
                .with("ip", Atom::from(format!("192.168.{}.{}", j >> 8, j & 255)))
                .with("gateway_name", Atom::from(gw.as_str())),
            uuid_name: Some(format!("encap{j}")),
            uuid: None,
        });
        ops.push(insert(
            "Gateway",
            Row::new()
                .with("name", Atom::from(gw.as_str()))
                .with("availability_zone", Atom::Uuid(azs[j]))
                .with("hostname", Atom::from(format!("gz{j}-gw")))
                .with("encaps", Datum::set([Atom::NamedUuid(format!("encap{j}"))])),
        ));
        for &t in tss {
            ops.push(insert(
                "Port_Binding",
                Row::new()
                    .with("logical_port", Atom::from(format!("lsp-ts{t}-gz{j}")))
                    .with("transit_switch", Atom::from(format!("ts{t}")))
                    .with("availability_zone", Atom::Uuid(azs[j]))
                    .with("tunnel_key", Atom::Integer(1000 + j as i64))
                    .with("gateway", Atom::from(gw.as_str()))
                    .with(
                        "address",
                        Atom::from(format!(
                            "aa:bb:00:00:{:02x}:{:02x} {}/24 {}/64",
                            j >> 8,
                            j & 255,
                            nexthop(j, t, false, 0),
                            nexthop(j, t, true, 0),
                        )),
                    ),
            ));
        }
    }
    ic_sb
        .transact_checked(db, ops)
        .await
        .expect("gateways and port bindings");
    for chunk in world.routes.chunks_mut(20_000) {
        let ops = chunk
            .iter()
            .map(|r| insert("Route", route_row(r, azs[r.zone])))
            .collect();
        let uuids = inserted_uuids(&ic_sb.transact_checked(db, ops).await.expect("routes"));
        for (r, u) in chunk.iter_mut().zip(uuids) {
            r.uuid = Some(u);
        }
    }
    azs
}
