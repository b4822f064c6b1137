//! Tenants shaped as Neutron's OVN driver and Kube-OVN write them, on a real zone of the lab
//! (through `ovn-nbctl`), and `ovn-trace` verdicts between their endpoints: the shared
//! ground of the isolation tests of `ic-routed` and of the operator CLI.

use crate::ovn::Zone;
use crate::server::{run, OvsdbServer};

/// A northbound database `ovn-nbctl` can write to: a lab zone's, or a bare server.
pub trait Northbound {
    /// `ovn-nbctl ARGS` against it.
    fn nbctl(&self, args: &[&str]) -> std::io::Result<String>;
}

impl Northbound for Zone {
    fn nbctl(&self, args: &[&str]) -> std::io::Result<String> {
        Zone::nbctl(self, args)
    }
}

impl Northbound for OvsdbServer {
    fn nbctl(&self, args: &[&str]) -> std::io::Result<String> {
        let db = format!("--db={}", self.remote());
        let mut all = vec![db.as_str()];
        all.extend_from_slice(args);
        self.run("ovn-nbctl", &all)
    }
}

fn nbctl(z: &impl Northbound, args: &[&str]) {
    z.nbctl(args)
        .unwrap_or_else(|e| panic!("ovn-nbctl {args:?}: {e}"));
}

/// A tenant endpoint: a VM port or a pod port and the router it sits behind.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Zone index in the lab (always 0 in topology C).
    pub zone: usize,
    /// The logical switch (the trace datapath).
    pub switch: String,
    /// The switch port.
    pub port: String,
    /// The port's MAC address.
    pub mac: String,
    /// The port's IPv4 address.
    pub ip: String,
    /// The MAC of the router port on that switch.
    pub gw_mac: String,
    /// The verifier's VPC id.
    pub vpc: String,
}

/// A Neutron router `neutron-<id>` (`neutron:router_name`), its tenant network
/// `neutron-<net>` with a router-interface port carrying the project, one VM, and an
/// external gateway port, all with Neutron's `external_ids`.
pub fn neutron_tenant(
    z: &impl Northbound,
    zi: usize,
    id: &str,
    human: &str,
    project: &str,
    gw_cidr: &str,
    n: u8,
) -> Endpoint {
    let lr = format!("neutron-{id}");
    let ls = format!("neutron-net-{id}");
    let lrp = format!("lrp-{id}-if");
    let gw_mac = format!("fa:16:3e:00:0{n}:01");
    let vm_mac = format!("fa:16:3e:00:0{n}:05");
    let vm_ip = gw_cidr.replace(".1/24", ".5");
    let vm = format!("vm-{id}");
    let ifp = format!("if-{id}");
    let gwp = format!("lrp-{id}-gw");
    let gw_net = format!("172.24.4.1{n}/24");
    nbctl(
        z,
        &[
            "lr-add",
            &lr,
            "--",
            "set",
            "Logical_Router",
            &lr,
            &format!("external_ids:\"neutron:router_name\"={human}"),
            "external_ids:\"neutron:revision_number\"=1",
        ],
    );
    nbctl(
        z,
        &[
            "ls-add",
            &ls,
            "--",
            "set",
            "Logical_Switch",
            &ls,
            &format!("external_ids:\"neutron:network_name\"=net-{id}"),
        ],
    );
    nbctl(
        z,
        &[
            "lrp-add",
            &lr,
            &lrp,
            &gw_mac,
            gw_cidr,
            "--",
            "set",
            "Logical_Router_Port",
            &lrp,
            &format!("external_ids:\"neutron:router_name\"={id}"),
            "external_ids:\"neutron:is_ext_gw\"=False",
        ],
    );
    nbctl(
        z,
        &[
            "lsp-add",
            &ls,
            &ifp,
            "--",
            "lsp-set-type",
            &ifp,
            "router",
            "--",
            "lsp-set-addresses",
            &ifp,
            "router",
            "--",
            "lsp-set-options",
            &ifp,
            &format!("router-port={lrp}"),
            "--",
            "set",
            "Logical_Switch_Port",
            &ifp,
            &format!("external_ids:\"neutron:device_id\"={id}"),
            "external_ids:\"neutron:device_owner\"=\"network:router_interface\"",
            &format!("external_ids:\"neutron:project_id\"={project}"),
        ],
    );
    nbctl(
        z,
        &[
            "lsp-add",
            &ls,
            &vm,
            "--",
            "lsp-set-addresses",
            &vm,
            &format!("{vm_mac} {vm_ip}"),
            "--",
            "set",
            "Logical_Switch_Port",
            &vm,
            &format!("external_ids:\"neutron:project_id\"={project}"),
            "external_ids:\"neutron:device_owner\"=\"compute:nova\"",
        ],
    );
    nbctl(
        z,
        &[
            "lrp-add",
            &lr,
            &gwp,
            &format!("fa:16:3e:00:0{n}:02"),
            &gw_net,
            "--",
            "set",
            "Logical_Router_Port",
            &gwp,
            &format!("external_ids:\"neutron:router_name\"={id}"),
            "external_ids:\"neutron:is_ext_gw\"=True",
        ],
    );
    Endpoint {
        zone: zi,
        switch: ls,
        port: vm,
        mac: vm_mac,
        ip: vm_ip,
        gw_mac,
        vpc: String::new(),
    }
}

/// A Kube-OVN custom VPC `vpc` (`vendor=kube-ovn`) with subnet switch `subnet`, the
/// router port `<vpc>-<subnet>` / switch port `<subnet>-<vpc>` pair Kube-OVN creates, and
/// one pod port `<pod>.<namespace>` with `external_ids:pod`.
pub fn kube_tenant(
    z: &impl Northbound,
    zi: usize,
    vpc: &str,
    subnet: &str,
    gw_cidr: &str,
    n: u8,
) -> Endpoint {
    let gw_mac = format!("00:00:00:0{n}:00:01");
    let pod_mac = format!("00:00:00:0{n}:00:05");
    let pod_ip = gw_cidr.replace(".1/16", ".5").replace(".1/24", ".5");
    nbctl(
        z,
        &[
            "lr-add",
            vpc,
            "--",
            "set",
            "Logical_Router",
            vpc,
            "external_ids:vendor=kube-ovn",
        ],
    );
    nbctl(
        z,
        &[
            "ls-add",
            subnet,
            "--",
            "set",
            "Logical_Switch",
            subnet,
            "external_ids:vendor=kube-ovn",
            &format!("other_config:subnet={}", gw_cidr.replace(".1/", ".0/")),
        ],
    );
    let lrp = format!("{vpc}-{subnet}");
    nbctl(z, &["lrp-add", vpc, &lrp, &gw_mac, gw_cidr]);
    let lsp = format!("{subnet}-{vpc}");
    let args = crate::ovn::router_lsp_args(subnet, &lsp, &lrp);
    nbctl(z, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let pod = format!("pod1.{vpc}");
    nbctl(
        z,
        &[
            "lsp-add",
            subnet,
            &pod,
            "--",
            "lsp-set-addresses",
            &pod,
            &format!("{pod_mac} {pod_ip}"),
            "--",
            "set",
            "Logical_Switch_Port",
            &pod,
            &format!("external_ids:pod={vpc}/pod1"),
            "external_ids:vendor=kube-ovn",
            &format!("external_ids:ls={subnet}"),
        ],
    );
    Endpoint {
        zone: zi,
        switch: subnet.to_owned(),
        port: pod,
        mac: pod_mac,
        ip: pod_ip,
        gw_mac,
        vpc: String::new(),
    }
}

/// The two tenants: (VM of tenant A, VM of tenant B, pod of tenant A, pod of tenant B).
/// With `overlap`, tenant B's OpenStack network is tenant A's (10.0.0.0/24) and tenant B's
/// Kubernetes subnet lies inside tenant A's (10.16.1.0/24 in 10.16.0.0/16).
pub fn tenants(zones: [&Zone; 2], zi: [usize; 2], overlap: bool) -> [Endpoint; 4] {
    let (os, k8s) = (zones[0], zones[1]);
    let zname = |i: usize| [os, k8s][i].name.clone();
    let mut vm_a = neutron_tenant(os, zi[0], "r1", "tenant-a", "p1", "10.0.0.1/24", 1);
    let mut vm_b = neutron_tenant(
        os,
        zi[0],
        "r2",
        "tenant-b",
        "p2",
        if overlap {
            "10.0.0.1/24"
        } else {
            "10.1.0.1/24"
        },
        2,
    );
    let mut pod_a = kube_tenant(k8s, zi[1], "vpc-a", "subnet-a", "10.16.0.1/16", 3);
    let mut pod_b = kube_tenant(
        k8s,
        zi[1],
        "vpc-b",
        "subnet-b",
        if overlap {
            "10.16.1.1/24"
        } else {
            "10.17.0.1/16"
        },
        4,
    );
    vm_a.vpc = format!("{}/neutron-r1", zname(0));
    vm_b.vpc = format!("{}/neutron-r2", zname(0));
    pod_a.vpc = format!("{}/vpc-a", zname(1));
    pod_b.vpc = format!("{}/vpc-b", zname(1));
    [vm_a, vm_b, pod_a, pod_b]
}

/// What `ovn-trace` says happens to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Reaches the destination port, or leaves the zone on a transit switch through the
    /// `remote` port of the destination VPC's router.
    Forwarded,
    /// Leaves through another router's remote port or another switch port (overlapping
    /// CIDRs: the packet goes to the VPC the route points at, not to the destination).
    Elsewhere,
    /// Dropped (no route, ACL, ARP for an address nobody has).
    Dropped,
}

/// The verdict of an `ovn-trace` output for a packet towards `to`.
pub fn verdict(out: &str, to: &Endpoint) -> Verdict {
    let router = to.vpc.split('/').nth(1).unwrap_or_default();
    let outputs: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("/* output to \""))
        .collect();
    let mine = outputs.iter().any(|l| {
        l.contains(&format!("output to \"{}\"", to.port))
            || (l.contains("type \"remote\"") && l.contains(&format!("-{router}-lsp\"")))
    });
    let elsewhere = outputs
        .iter()
        .any(|l| l.contains("type \"remote\"") || !l.contains("type \"patch\""));
    if mine {
        Verdict::Forwarded
    } else if elsewhere {
        Verdict::Elsewhere
    } else {
        Verdict::Dropped
    }
}

/// `ovn-trace` of an IPv4 packet from `from` to `to`, in `from`'s zone; with ECMP, every
/// member is tried until one forwards.
pub fn trace(lab_zone: &Zone, from: &Endpoint, to: &Endpoint) -> (Verdict, String) {
    let flow = format!(
        "inport == \"{}\" && eth.src == {} && eth.dst == {} && ip4.src == {} && ip4.dst == {} && ip.ttl == 64",
        from.port, from.mac, from.gw_mac, from.ip, to.ip
    );
    let out = lab_zone
        .trace(&from.switch, &flow)
        .unwrap_or_else(|e| panic!("ovn-trace {flow}: {e}"));
    let v = verdict(&out, to);
    if v == Verdict::Forwarded || !out.contains("Randomly selected") {
        return (v, out);
    }
    // ECMP: ovn-trace follows one member at random; the verifier follows all. Try each.
    let db = format!("--db={}", lab_zone.sb.remote());
    for id in 1..=4 {
        let sel = format!("--select-id={id}");
        let out = run("ovn-trace", &[&db, &sel, &from.switch, &flow])
            .unwrap_or_else(|e| panic!("ovn-trace {sel} {flow}: {e}"));
        if verdict(&out, to) == Verdict::Forwarded {
            return (Verdict::Forwarded, out);
        }
    }
    (v, out)
}

/// The packet from a remote zone as it enters `to`'s zone on the transit switch, through
/// the remote port of `from`'s router (`ts_port`, MAC `ts_mac`) towards `to`'s router port
/// on the transit switch (`to_ts_mac`).
pub fn trace_from_ts(
    zone: &Zone,
    ts: &str,
    ts_port: &str,
    ts_mac: &str,
    to_ts_mac: &str,
    from: &Endpoint,
    to: &Endpoint,
) -> (Verdict, String) {
    let flow = format!(
        "inport == \"{ts_port}\" && eth.src == {ts_mac} && eth.dst == {to_ts_mac} && ip4.src == {} && ip4.dst == {} && ip.ttl == 64",
        from.ip, to.ip
    );
    let out = zone
        .trace(ts, &flow)
        .unwrap_or_else(|e| panic!("ovn-trace {flow}: {e}"));
    (verdict(&out, to), out)
}
