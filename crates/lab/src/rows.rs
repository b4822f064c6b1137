//! Northbound rows as Neutron's OVN driver and Kube-OVN write them: the one set of row
//! builders of the workspace's tests, examples and benches.
//!
//! An [`NbBuilder`] adds typed rows to a [`TypedStore`] (one zone's `OVN_Northbound`), with
//! UUIDs from a [`Uuids`] counter so that worlds are reproducible. The store then becomes
//! whatever the caller needs: [`insert_ops`] for a live or embedded server, a dump, or
//! `isolation`'s `ZoneNb` (`ZoneNb::from_sources`).
//!
//! - [`neutron_router`] / [`neutron_router_with`]: router `neutron-<id>`
//!   (`neutron:router_name`, `neutron:revision_number`), per tenant network a switch
//!   `neutron-net-<id>[-k]` with the router-interface port `if-<id>[-k]`
//!   (`network:router_interface`, `neutron:project_id`) and a VM port, router ports
//!   `lrp-if-<id>[-k]`, and an external gateway port `lrp-gw-<id>`
//!   (`neutron:is_ext_gw=True`).
//! - [`kube_vpc`] / [`kube_vpc_with`]: a custom VPC router (`vendor=kube-ovn`), per subnet a
//!   switch, a router port `<vpc>-<subnet>`, its router-type switch port and a pod port
//!   (`pod=<vpc>/podN`, `ls=<subnet>`).
//! - [`attach`]: a router port on a transit switch (the zone's switch with
//!   `other_config:interconn-ts`), as an operator or a planner adds it.

use ovn_nb::{
    LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute, LogicalSwitch, LogicalSwitchPort,
};
use ovsdb_proto::typed::{Ref, StringMap, Table, TypedRows, TypedStore};
use ovsdb_proto::{Operation, Uuid};

/// Deterministic UUIDs: 1, 2, 3, … (start elsewhere to keep two worlds apart).
#[derive(Debug, Default, Clone)]
pub struct Uuids(pub u128);

impl Uuids {
    /// The next UUID.
    #[allow(
        clippy::should_implement_trait,
        reason = "a counter, not an iterator that ends"
    )]
    pub fn next(&mut self) -> Uuid {
        self.0 += 1;
        Uuid::from_u128(self.0)
    }
}

/// A string map from pairs.
pub fn ids(pairs: &[(&str, &str)]) -> StringMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A locally administered MAC address derived from `parts` (stable across runs).
pub fn mac(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    let b = h.to_be_bytes();
    format!(
        "0a:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4]
    )
}

/// Adds rows to one zone's northbound store.
#[derive(Debug)]
pub struct NbBuilder<'a> {
    /// The zone's rows.
    pub store: &'a mut TypedStore,
    /// Where new UUIDs come from.
    pub uuids: &'a mut Uuids,
}

impl<'a> NbBuilder<'a> {
    /// A builder adding to `store`.
    pub fn new(store: &'a mut TypedStore, uuids: &'a mut Uuids) -> Self {
        NbBuilder { store, uuids }
    }

    fn rows_mut<T: Table + Send + Sync + 'static>(
        &mut self,
    ) -> &mut std::collections::HashMap<Uuid, T> {
        self.store.table_mut::<T>()
    }

    /// A logical router.
    pub fn router(&mut self, name: &str, ext: &[(&str, &str)]) -> Uuid {
        let mut r = LogicalRouter::default();
        r.uuid = self.uuids.next();
        r.name = name.into();
        r.external_ids = ids(ext);
        let uuid = r.uuid;
        self.store.insert(r);
        uuid
    }

    /// A logical switch.
    pub fn switch(&mut self, name: &str, other: &[(&str, &str)]) -> Uuid {
        let mut s = LogicalSwitch::default();
        s.uuid = self.uuids.next();
        s.name = name.into();
        s.other_config = ids(other);
        let uuid = s.uuid;
        self.store.insert(s);
        uuid
    }

    /// A port of switch `ls`.
    ///
    /// # Panics
    ///
    /// When `ls` is not a switch of the store (a caller's mistake).
    pub fn lsp(
        &mut self,
        ls: Uuid,
        name: &str,
        type_: &str,
        opts: &[(&str, &str)],
        ext: &[(&str, &str)],
    ) -> Uuid {
        let mut p = LogicalSwitchPort::default();
        p.uuid = self.uuids.next();
        p.name = name.into();
        p.type_ = type_.into();
        p.options = ids(opts);
        p.external_ids = ids(ext);
        if type_ == "router" {
            p.addresses = vec!["router".into()];
        }
        let uuid = p.uuid;
        self.store.insert(p);
        let s = self
            .rows_mut::<LogicalSwitch>()
            .get_mut(&ls)
            .expect("lsp: no such switch");
        s.ports.push(uuid.into());
        s.ports.sort();
        uuid
    }

    /// A port of router `lr` with `networks`; with `ls`, also its router-type port
    /// `<name>-lsp` on that switch.
    ///
    /// # Panics
    ///
    /// When `lr` is not a router of the store.
    pub fn lrp(
        &mut self,
        lr: Uuid,
        name: &str,
        networks: &[&str],
        ext: &[(&str, &str)],
        ls: Option<Uuid>,
    ) -> Uuid {
        let mut p = LogicalRouterPort::default();
        p.uuid = self.uuids.next();
        p.name = name.into();
        p.mac = mac(&[name]);
        let mut nets: Vec<String> = networks.iter().map(|s| (*s).to_owned()).collect();
        nets.sort();
        p.networks = nets;
        p.external_ids = ids(ext);
        let uuid = p.uuid;
        self.store.insert(p);
        let r = self
            .rows_mut::<LogicalRouter>()
            .get_mut(&lr)
            .expect("lrp: no such router");
        r.ports.push(uuid.into());
        r.ports.sort();
        if let Some(ls) = ls {
            self.lsp(
                ls,
                &format!("{name}-lsp"),
                "router",
                &[("router-port", name)],
                &[],
            );
        }
        uuid
    }

    /// A static route of router `lr`.
    ///
    /// # Panics
    ///
    /// When `lr` is not a router of the store.
    pub fn route(&mut self, lr: Uuid, prefix: &str, nexthop: &str, ext: &[(&str, &str)]) -> Uuid {
        let mut r = LogicalRouterStaticRoute::default();
        r.uuid = self.uuids.next();
        r.ip_prefix = prefix.into();
        r.nexthop = nexthop.into();
        r.external_ids = ids(ext);
        let uuid = r.uuid;
        self.store.insert(r);
        let lr = self
            .rows_mut::<LogicalRouter>()
            .get_mut(&lr)
            .expect("route: no such router");
        lr.static_routes.push(uuid.into());
        lr.static_routes.sort();
        uuid
    }

    /// The router called `name`.
    pub fn router_named(&self, name: &str) -> Option<Uuid> {
        self.store
            .rows::<LogicalRouter>()?
            .values()
            .find(|r| r.name == name)
            .map(|r| r.uuid)
    }
}

/// A Neutron router with one tenant network, its router-interface port, a VM port and
/// (with `ext_gw`) a gateway port.
pub fn neutron_router(
    b: &mut NbBuilder<'_>,
    id: &str,
    human: &str,
    project: &str,
    cidr_gw: &str,
    ext_gw: Option<&str>,
) -> Uuid {
    let lr = neutron_router_base(b, id, human);
    neutron_network(
        b,
        lr,
        id,
        &format!("neutron-net-{id}"),
        "",
        project,
        cidr_gw,
    );
    neutron_gateway(b, lr, id, ext_gw);
    lr
}

/// A Neutron router with one tenant network per entry of `nets` (`-<k>` suffixes) and
/// (with `ext_gw`) a gateway port.
pub fn neutron_router_with(
    b: &mut NbBuilder<'_>,
    id: &str,
    human: &str,
    project: &str,
    nets: &[&str],
    ext_gw: Option<&str>,
) -> Uuid {
    let lr = neutron_router_base(b, id, human);
    for (k, cidr_gw) in nets.iter().enumerate() {
        let net = format!("neutron-net-{id}-{k}");
        neutron_network(b, lr, id, &net, &format!("-{k}"), project, cidr_gw);
    }
    neutron_gateway(b, lr, id, ext_gw);
    lr
}

fn neutron_router_base(b: &mut NbBuilder<'_>, id: &str, human: &str) -> Uuid {
    b.router(
        &format!("neutron-{id}"),
        &[
            ("neutron:router_name", human),
            ("neutron:revision_number", "3"),
        ],
    )
}

fn neutron_network(
    b: &mut NbBuilder<'_>,
    lr: Uuid,
    id: &str,
    switch: &str,
    suffix: &str,
    project: &str,
    cidr_gw: &str,
) {
    let net = b.switch(switch, &[]);
    let lrp = format!("lrp-if-{id}{suffix}");
    b.lrp(
        lr,
        &lrp,
        &[cidr_gw],
        &[
            ("neutron:router_name", &format!("neutron-{id}")),
            ("neutron:is_ext_gw", "False"),
        ],
        None,
    );
    b.lsp(
        net,
        &format!("if-{id}{suffix}"),
        "router",
        &[("router-port", &lrp)],
        &[
            ("neutron:device_id", id),
            ("neutron:device_owner", "network:router_interface"),
            ("neutron:project_id", project),
        ],
    );
    let vm = b.lsp(
        net,
        &format!("vm-{id}{suffix}"),
        "",
        &[],
        &[("neutron:project_id", project), ("neutron:port_name", "vm")],
    );
    set_addresses(b, vm, &format!("vm-{id}{suffix}"), cidr_gw, 5);
}

fn neutron_gateway(b: &mut NbBuilder<'_>, lr: Uuid, id: &str, ext_gw: Option<&str>) {
    if let Some(gw) = ext_gw {
        b.lrp(
            lr,
            &format!("lrp-gw-{id}"),
            &[gw],
            &[
                ("neutron:router_name", &format!("neutron-{id}")),
                ("neutron:is_ext_gw", "True"),
            ],
            None,
        );
    }
}

/// Gives port `lsp` the MAC derived from `name` and host `host` of `cidr_gw`'s network
/// (`10.0.0.1/24`, host 5: `10.0.0.5`), as a VM or pod port has.
fn set_addresses(b: &mut NbBuilder<'_>, lsp: Uuid, name: &str, cidr_gw: &str, host: u8) {
    let ip = cidr_gw.split_once('/').map_or(cidr_gw, |(ip, _)| ip);
    let Ok(std::net::IpAddr::V4(v4)) = ip.parse::<std::net::IpAddr>() else {
        return;
    };
    let o = v4.octets();
    let addr = format!("{} {}.{}.{}.{host}", mac(&[name]), o[0], o[1], o[2]);
    if let Some(p) = b.rows_mut::<LogicalSwitchPort>().get_mut(&lsp) {
        p.addresses = vec![addr];
    }
}

/// A Kube-OVN custom VPC router with one subnet per entry of `nets` (`<vpc>-s<k>`), each
/// with a pod.
pub fn kube_vpc_with(b: &mut NbBuilder<'_>, vpc: &str, nets: &[&str]) -> Uuid {
    let lr = b.router(vpc, &[("vendor", "kube-ovn")]);
    for (k, cidr_gw) in nets.iter().enumerate() {
        kube_subnet(
            b,
            lr,
            vpc,
            &format!("{vpc}-s{k}"),
            &format!("pod{k}"),
            cidr_gw,
        );
    }
    lr
}

/// A Kube-OVN custom VPC router with one subnet and one pod (`pod1.<vpc>`).
pub fn kube_vpc(b: &mut NbBuilder<'_>, vpc: &str, subnet: &str, cidr_gw: &str) -> Uuid {
    let lr = b.router(vpc, &[("vendor", "kube-ovn")]);
    kube_subnet(b, lr, vpc, subnet, "pod1", cidr_gw);
    lr
}

fn kube_subnet(b: &mut NbBuilder<'_>, lr: Uuid, vpc: &str, subnet: &str, pod: &str, cidr: &str) {
    let ls = b.switch(subnet, &[("vendor", "kube-ovn")]);
    b.lrp(
        lr,
        &format!("{vpc}-{subnet}"),
        &[cidr],
        &[("vendor", "kube-ovn")],
        Some(ls),
    );
    let name = format!("{pod}.{vpc}");
    let port = b.lsp(
        ls,
        &name,
        "",
        &[],
        &[
            ("pod", &format!("{vpc}/{pod}")),
            ("vendor", "kube-ovn"),
            ("ls", subnet),
        ],
    );
    set_addresses(b, port, &name, cidr, 2);
}

/// Attaches router `lr` to transit switch `ts` (the zone's switch with
/// `other_config:interconn-ts=<ts>` must exist) through port `<router>-<ts>` with `addr`.
///
/// # Panics
///
/// When the transit switch or the router is missing.
pub fn attach(b: &mut NbBuilder<'_>, lr: Uuid, ts: &str, addr: &str) -> Uuid {
    let switches = b
        .store
        .rows::<LogicalSwitch>()
        .expect("attach: no switches");
    let ls = switches
        .values()
        .find(|s| s.other_config.get("interconn-ts") == Some(ts))
        .map(|s| s.uuid)
        .expect("attach: the transit switch is not mirrored in this zone");
    let name = b
        .store
        .rows::<LogicalRouter>()
        .and_then(|r| r.get(&lr))
        .map(|r| r.name.clone())
        .expect("attach: no such router");
    b.lrp(lr, &format!("{name}-{ts}"), &[addr], &[], Some(ls))
}

/// Insert operations of every row of `store` of database `D` (with their UUIDs, as the
/// Open vSwitch `insert` extension allows), in table order, references kept: one
/// transaction loads them into a live or embedded server.
pub fn insert_ops<D: ovsdb_proto::typed::Database>(store: &TypedStore) -> Vec<Operation> {
    let dump = store.to_dump::<D>();
    dump.tables()
        .iter()
        .flat_map(|(table, rows)| {
            rows.iter().map(move |(uuid, row)| Operation::Insert {
                table: table.clone(),
                row: row.clone(),
                uuid_name: None,
                uuid: Some(*uuid),
            })
        })
        .collect()
}

/// `Ref`s of `uuids`.
pub fn refs<T>(uuids: &[Uuid]) -> Vec<Ref<T>> {
    uuids.iter().copied().map(Ref::new).collect()
}
