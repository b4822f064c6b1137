//! A router's static routes printed exactly as `ovn-nbctl lr-route-list ROUTER` prints them
//! (OVN 23.03.1), so output of this crate and of the real tools can be compared line by line.
//!
//! The layout, checked against `ovn-nbctl` 23.03.1 on a real `ovsdb-server`:
//!
//! - `IPv4 Routes`, then (after a blank line) `IPv6 Routes`; a family without routes is left
//!   out, and a router without routes prints nothing.
//! - Inside a family, `Route Table <main>:` (route table `""`) or `Route Table NAME:` before
//!   each table, tables separated by a blank line, in byte order (`<main>` first).
//! - Within a table: priority descending (`2*plen+1` for `dst-ip`, `2*plen` for `src-ip`, so
//!   longer prefixes first and `dst-ip` before `src-ip`), then the prefix address ascending
//!   **with its host bits** (`10.0.0.1/24` sorts after `10.0.0.0/24` although both print as
//!   `10.0.0.0/24`), then `nexthop` and `output_port` as strings.
//! - A row: prefix and nexthop right-aligned in 25 columns, normalised (host bits cleared,
//!   `/32` and `/128` dropped; nexthop `discard` literally, an unparsable nexthop as an empty
//!   field), then the policy (`dst-ip` when unset), the output port, ` (learned)` with
//!   `external_ids:ic-learned-route`, ` ecmp` when a neighbouring row has the same table,
//!   priority and prefix address, ` ecmp-symmetric-reply` with
//!   `options:ecmp_symmetric_reply=true`, and ` bfd` when a BFD row is set.
//! - Rows whose `ip_prefix` does not parse are skipped (`ovn-nbctl` logs a warning).

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

use crate::Prefix;
use ovn_nb::{LogicalRouterStaticRoute, LogicalRouterStaticRoutePolicy};

/// One row ready to sort and print.
struct Entry<'a> {
    route: &'a LogicalRouterStaticRoute,
    priority: u32,
    addr: IpAddr,
}

impl Entry<'_> {
    /// Table, priority, address: what `ovn-nbctl` compares to call two rows ECMP.
    fn group_cmp(&self, other: &Self) -> Ordering {
        self.route
            .route_table
            .as_bytes()
            .cmp(other.route.route_table.as_bytes())
            .then(other.priority.cmp(&self.priority))
            .then(self.addr.cmp(&other.addr))
    }

    /// The full sort order: the group, then nexthop and output port.
    fn cmp(&self, other: &Self) -> Ordering {
        self.group_cmp(other)
            .then_with(|| {
                self.route
                    .nexthop
                    .as_bytes()
                    .cmp(other.route.nexthop.as_bytes())
            })
            .then_with(|| self.route.output_port.cmp(&other.route.output_port))
    }
}

/// `lr-route-list` of the routes `routes` (a router's `static_routes`, in any order).
pub fn lr_route_list<'a>(routes: impl IntoIterator<Item = &'a LogicalRouterStaticRoute>) -> String {
    list(routes, None)
}

/// `lr-route-list --route-table=TABLE`: only the routes of `route_table` (`""` is
/// `<main>`).
pub fn lr_route_list_table<'a>(
    routes: impl IntoIterator<Item = &'a LogicalRouterStaticRoute>,
    route_table: &str,
) -> String {
    list(routes, Some(route_table))
}

fn list<'a>(
    routes: impl IntoIterator<Item = &'a LogicalRouterStaticRoute>,
    route_table: Option<&str>,
) -> String {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for route in routes {
        if route_table.is_some_and(|t| t != route.route_table) {
            continue;
        }
        let Some(prefix) = Prefix::parse(&route.ip_prefix) else {
            continue;
        };
        let src_ip = route.policy == Some(LogicalRouterStaticRoutePolicy::SrcIp);
        let entry = Entry {
            route,
            priority: 2 * u32::from(prefix.plen()) + u32::from(!src_ip),
            addr: prefix.addr(),
        };
        if prefix.is_ipv4() {
            v4.push(entry);
        } else {
            v6.push(entry);
        }
    }
    let mut out = String::new();
    if !v4.is_empty() {
        out.push_str("IPv4 Routes\n");
        family(&mut out, v4);
    }
    if !v6.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("IPv6 Routes\n");
        family(&mut out, v6);
    }
    out
}

fn family(out: &mut String, mut entries: Vec<Entry<'_>>) {
    entries.sort_by(Entry::cmp);
    for (i, e) in entries.iter().enumerate() {
        let same = |j: usize| entries.get(j).is_some_and(|o| o.group_cmp(e).is_eq());
        let ecmp = same(i + 1) || (i > 0 && same(i - 1));
        let r = e.route;
        if i == 0 || entries[i - 1].route.route_table != r.route_table {
            let table = if r.route_table.is_empty() {
                "<main>"
            } else {
                r.route_table.as_str()
            };
            let sep = if i == 0 { "" } else { "\n" };
            let _ = writeln!(out, "{sep}Route Table {table}:");
        }
        let nexthop = if r.nexthop == "discard" {
            "discard".to_owned()
        } else {
            normalize(&r.nexthop).unwrap_or_default()
        };
        let prefix = normalize(&r.ip_prefix).unwrap_or_default();
        let policy = r.policy.as_ref().map_or("dst-ip", |p| p.as_str());
        let _ = write!(out, "{prefix:>25} {nexthop:>25} {policy}");
        if let Some(port) = &r.output_port {
            let _ = write!(out, " {port}");
        }
        if r.external_ids.contains_key("ic-learned-route") {
            out.push_str(" (learned)");
        }
        if ecmp {
            out.push_str(" ecmp");
        }
        if r.options.get("ecmp_symmetric_reply") == Some("true") {
            out.push_str(" ecmp-symmetric-reply");
        }
        if r.bfd.is_some() {
            out.push_str(" bfd");
        }
        out.push('\n');
    }
}

/// An address or prefix as `ovn-nbctl` normalises it: host bits cleared, no `/32` or
/// `/128`. `None` if it does not parse.
pub fn normalize(s: &str) -> Option<String> {
    let p = Prefix::parse(s)?;
    let plen = p.plen();
    Some(match p.addr() {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(plen)).unwrap_or(0);
            let net = std::net::Ipv4Addr::from(u32::from(a) & mask);
            if plen == 32 {
                net.to_string()
            } else {
                format!("{net}/{plen}")
            }
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(plen)).unwrap_or(0);
            let net = ipv6_string(Ipv6Addr::from(u128::from(a) & mask));
            if plen == 128 {
                net
            } else {
                format!("{net}/{plen}")
            }
        }
    })
}

/// An IPv6 address as glibc's `inet_ntop` prints it: like Rust's `Display` except that an
/// IPv4-compatible address (`::a.b.c.d`, first 96 bits zero, not `::` or `::1`-like) keeps
/// its dotted tail.
fn ipv6_string(a: Ipv6Addr) -> String {
    let s = a.segments();
    if s[..6].iter().all(|w| *w == 0) && s[6] != 0 {
        let [.., a, b, c, d] = a.octets();
        return format!("::{a}.{b}.{c}.{d}");
    }
    a.to_string()
}

/// `routes/list [ROUTER]`: for each router of the zone (or `router` only) that has learned
/// or advertised something, its learned routes and its advertisements in IC-SB, each in
/// `lr-route-list` layout, then where every learned route came from and what every
/// advertisement is (zone, transit switch, origin).
///
/// # Errors
///
/// When `router` is not a router of the zone.
pub fn routes_list(snapshot: &crate::Snapshot, router: Option<&str>) -> Result<String, String> {
    use crate::IC_LEARNED_ROUTE;
    use crate::LR_ID;
    let nb = &snapshot.nb;
    let sb = &snapshot.ic_sb;
    if let Some(r) = router {
        if !nb.routers.values().any(|lr| lr.name == r) {
            return Err(format!("{r}: no such router in zone {}", snapshot.zone));
        }
    }
    let az = sb
        .availability_zones
        .values()
        .find(|a| a.name == snapshot.zone)
        .map(|a| a.uuid);
    let zone_name = |u: ovsdb_proto::Uuid| {
        sb.availability_zones
            .get(&u)
            .map_or("?".to_owned(), |a| a.name.clone())
    };
    let mut routers: Vec<_> = nb
        .routers
        .values()
        .filter(|lr| router.is_none_or(|r| lr.name == r))
        .collect();
    routers.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::new();
    for lr in routers {
        let learned: Vec<&LogicalRouterStaticRoute> = lr
            .static_routes
            .iter()
            .filter_map(|r| nb.static_routes.get(&r.uuid()))
            .filter(|r| r.external_ids.contains_key(IC_LEARNED_ROUTE))
            .collect();
        let advertised: Vec<&ovn_ic_sb::Route> = sb
            .routes
            .values()
            .filter(|r| Some(r.availability_zone.uuid()) == az)
            .filter(|r| {
                r.external_ids.get(LR_ID).and_then(ovsdb_proto::parse_uuid) == Some(lr.uuid)
            })
            .collect();
        if learned.is_empty() && advertised.is_empty() && router.is_none() {
            continue;
        }
        let _ = writeln!(out, "Router {} (zone {})", lr.name, snapshot.zone);
        let _ = writeln!(out, "Learned:");
        out.push_str(&lr_route_list(learned.iter().copied()));
        for r in &learned {
            let src = r
                .external_ids
                .get(IC_LEARNED_ROUTE)
                .and_then(ovsdb_proto::parse_uuid)
                .and_then(|u| sb.routes.get(&u));
            let _ = match src {
                Some(s) => writeln!(
                    out,
                    "  {} via {}: from zone {} on {} (origin {})",
                    r.ip_prefix,
                    r.nexthop,
                    zone_name(s.availability_zone.uuid()),
                    s.transit_switch,
                    s.origin
                ),
                None => writeln!(
                    out,
                    "  {} via {}: its IC-SB route is gone",
                    r.ip_prefix, r.nexthop
                ),
            };
        }
        let _ = writeln!(out, "Advertised:");
        let as_routes: Vec<LogicalRouterStaticRoute> = advertised
            .iter()
            .map(|a| {
                let mut r = LogicalRouterStaticRoute::default();
                r.ip_prefix = a.ip_prefix.clone();
                r.nexthop = a.nexthop.clone();
                r.route_table = a.route_table.clone();
                r
            })
            .collect();
        out.push_str(&lr_route_list(&as_routes));
        let mut lines: Vec<String> = advertised
            .iter()
            .map(|a| {
                format!(
                    "  {} via {}: on {} (origin {})",
                    a.ip_prefix, a.nexthop, a.transit_switch, a.origin
                )
            })
            .collect();
        lines.sort();
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb_proto::typed::StringMap;

    fn route(prefix: &str, nexthop: &str) -> LogicalRouterStaticRoute {
        let mut r = LogicalRouterStaticRoute::default();
        r.ip_prefix = prefix.to_owned();
        r.nexthop = nexthop.to_owned();
        r
    }

    fn learned(mut r: LogicalRouterStaticRoute) -> LogicalRouterStaticRoute {
        r.external_ids = StringMap::from_iter([("ic-learned-route".to_owned(), "x".to_owned())]);
        r
    }

    fn table(mut r: LogicalRouterStaticRoute, t: &str) -> LogicalRouterStaticRoute {
        r.route_table = t.to_owned();
        r
    }

    fn src_ip(mut r: LogicalRouterStaticRoute) -> LogicalRouterStaticRoute {
        r.policy = Some(LogicalRouterStaticRoutePolicy::SrcIp);
        r
    }

    /// The routes of the first verification run against `ovn-nbctl` 23.03.1 (`lr-route-add`
    /// with the flags shown), in insertion order, and what it printed.
    #[test]
    fn matches_ovn_nbctl_23_03() {
        let mut sym = route("20.0.0.0/24", "192.168.0.7");
        sym.options = StringMap::from_iter([("ecmp_symmetric_reply", "true")]);
        let mut out_port = route("30.0.0.0/24", "192.168.0.8");
        out_port.output_port = Some("lrp1".into());
        let mut dst = route("10.0.0.0/24", "192.168.0.2");
        dst.policy = Some(LogicalRouterStaticRoutePolicy::DstIp);
        let routes = vec![
            route("10.0.0.0/24", "192.168.0.1"),
            dst,
            learned(route("10.0.0.0/16", "192.168.0.3")),
            src_ip(route("10.0.0.0/24", "192.168.0.4")),
            route("0.0.0.0/0", "192.168.0.9"),
            route("1.2.3.4", "192.168.0.9"),
            route("9.0.0.0/8", "discard"),
            table(route("10.1.0.0/24", "192.168.0.5"), "rtb1"),
            table(route("10.2.0.0/24", "192.168.0.5"), "aaa"),
            route("fd00::/64", "fd01::1"),
            route("fd00::1", "fd01::1"),
            route("::/0", "fd01::2"),
            table(route("fd02::/64", "fd01::1"), "rtb1"),
            sym,
            route("20.0.0.0/25", "192.168.0.7"),
            route("20.0.0.128/25", "192.168.0.7"),
            out_port,
        ];
        assert_eq!(
            lr_route_list(&routes),
            "IPv4 Routes
Route Table <main>:
                  1.2.3.4               192.168.0.9 dst-ip
              20.0.0.0/25               192.168.0.7 dst-ip
            20.0.0.128/25               192.168.0.7 dst-ip
              10.0.0.0/24               192.168.0.1 dst-ip ecmp
              10.0.0.0/24               192.168.0.2 dst-ip ecmp
              20.0.0.0/24               192.168.0.7 dst-ip ecmp-symmetric-reply
              30.0.0.0/24               192.168.0.8 dst-ip lrp1
              10.0.0.0/24               192.168.0.4 src-ip
              10.0.0.0/16               192.168.0.3 dst-ip (learned)
                9.0.0.0/8                   discard dst-ip
                0.0.0.0/0               192.168.0.9 dst-ip

Route Table aaa:
              10.2.0.0/24               192.168.0.5 dst-ip

Route Table rtb1:
              10.1.0.0/24               192.168.0.5 dst-ip

IPv6 Routes
Route Table <main>:
                  fd00::1                   fd01::1 dst-ip
                fd00::/64                   fd01::1 dst-ip
                     ::/0                   fd01::2 dst-ip

Route Table rtb1:
                fd02::/64                   fd01::1 dst-ip
"
        );
        assert_eq!(
            lr_route_list_table(&routes, "rtb1"),
            "IPv4 Routes
Route Table rtb1:
              10.1.0.0/24               192.168.0.5 dst-ip

IPv6 Routes
Route Table rtb1:
                fd02::/64                   fd01::1 dst-ip
"
        );
        assert_eq!(lr_route_list(&[]), "");
    }

    /// Rows written directly (as ovn-ic writes learned routes): host bits kept in the sort
    /// key but not printed, so equal-looking rows are not ECMP; nexthop order breaks ties.
    #[test]
    fn host_bits_and_tie_breaks_match_ovn_nbctl() {
        let routes = vec![
            learned(route("10.0.0.5/24", "169.254.0.1")),
            learned(route("10.0.0.1/24", "169.254.0.1")),
            learned(route("10.0.0.0/24", "169.254.0.1")),
            learned(route("fd00::5/64", "fd01::1")),
            learned(route("fd00::1/64", "fd01::1")),
            route("10.9.0.0/24", "169.254.0.9"),
            src_ip(route("10.9.0.0/24", "169.254.0.8")),
            route("10.9.0.0/24", "169.254.0.7"),
        ];
        assert_eq!(
            lr_route_list(&routes),
            "IPv4 Routes
Route Table <main>:
              10.0.0.0/24               169.254.0.1 dst-ip (learned)
              10.0.0.0/24               169.254.0.1 dst-ip (learned)
              10.0.0.0/24               169.254.0.1 dst-ip (learned)
              10.9.0.0/24               169.254.0.7 dst-ip ecmp
              10.9.0.0/24               169.254.0.9 dst-ip ecmp
              10.9.0.0/24               169.254.0.8 src-ip

IPv6 Routes
Route Table <main>:
                fd00::/64                   fd01::1 dst-ip (learned)
                fd00::/64                   fd01::1 dst-ip (learned)
"
        );
    }

    /// Odd nexthops, an output port, BFD and every flag at once, an invalid prefix.
    #[test]
    fn flags_and_odd_nexthops_match_ovn_nbctl() {
        let mut all = learned(route("10.0.0.0/8", "10.0.0.1"));
        all.output_port = Some("lrp1".into());
        all.options = StringMap::from_iter([("ecmp_symmetric_reply", "true")]);
        all.bfd = Some(ovsdb_proto::typed::Ref::new(ovsdb_proto::Uuid::from_u128(
            7,
        )));
        let routes = vec![
            route("bad", "fd01::1"),
            all,
            route("10.0.0.0/8", "10.0.0.2"),
            route("10.0.0.0/8", "xyz"),
            route("10.0.0.0/8", "fd00::1/64"),
            route("10.1.0.0/16", "10.0.0.1/32"),
        ];
        assert_eq!(
            lr_route_list(&routes),
            "IPv4 Routes
Route Table <main>:
              10.1.0.0/16                  10.0.0.1 dst-ip
               10.0.0.0/8                  10.0.0.1 dst-ip lrp1 (learned) ecmp ecmp-symmetric-reply bfd
               10.0.0.0/8                  10.0.0.2 dst-ip ecmp
               10.0.0.0/8                 fd00::/64 dst-ip ecmp
               10.0.0.0/8                           dst-ip ecmp
"
        );
    }

    /// Expected strings of ic-routed's real-OVN interop suite (`tests/interop/routes.rs`).
    #[test]
    fn matches_interop_expectations() {
        let routes = vec![
            table(src_ip(route("10.22.2.0/24", "169.254.0.2")), "rtb1"),
            table(learned(route("0.0.0.0/0", "169.254.100.1")), "rtb1"),
            table(learned(route("10.11.1.0/24", "169.254.100.1")), "rtb1"),
            learned(route("192.168.0.1/24", "169.254.100.1")),
            table(route("10.11.2.0/24", "169.254.0.1"), "rtb1"),
        ];
        assert_eq!(
            lr_route_list(&routes),
            "IPv4 Routes
Route Table <main>:
           192.168.0.0/24             169.254.100.1 dst-ip (learned)

Route Table rtb1:
             10.11.1.0/24             169.254.100.1 dst-ip (learned)
             10.11.2.0/24               169.254.0.1 dst-ip
             10.22.2.0/24               169.254.0.2 src-ip
                0.0.0.0/0             169.254.100.1 dst-ip (learned)
"
        );
    }

    #[test]
    fn normalizes_like_ovn_nbctl() {
        assert_eq!(
            normalize("192.168.1.7/24").as_deref(),
            Some("192.168.1.0/24")
        );
        assert_eq!(normalize("10.0.0.1/32").as_deref(), Some("10.0.0.1"));
        assert_eq!(normalize("fd00::1/64").as_deref(), Some("fd00::/64"));
        assert_eq!(normalize("fd00::1/128").as_deref(), Some("fd00::1"));
        assert_eq!(normalize("::1.2.3.4").as_deref(), Some("::1.2.3.4"));
        assert_eq!(
            normalize("::ffff:1.2.3.4").as_deref(),
            Some("::ffff:1.2.3.4")
        );
        assert_eq!(normalize("0.0.0.0/0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(normalize("nope"), None);
    }
}
