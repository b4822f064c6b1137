//! Prefixes, nexthops and transit-switch port addresses, parsed and printed as ovn-ic does
//! (reference §2.3).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP prefix as ovn-ic parses it: an address **with its host bits kept** and a prefix
/// length (`192.168.1.1/24` stays `192.168.1.1/24`).
///
/// Ordered by family (IPv4 first), address, then length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: IpAddr,
    plen: u8,
}

fn parse_len(s: &str, max: u8) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u8 = s.parse().ok()?;
    (n <= max).then_some(n)
}

impl Prefix {
    /// A prefix, or `None` if `plen` is longer than the address.
    pub fn new(addr: IpAddr, plen: u8) -> Option<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (plen <= max).then_some(Prefix { addr, plen })
    }

    /// Parses `ADDR`, `ADDR/LEN` or (IPv4 only) `ADDR/MASK` with a CIDR mask, like OVS's
    /// `ip46_parse_cidr`: leading whitespace is accepted, no length means a host prefix
    /// (/32, /128), host bits are kept.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim_start();
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        if let Ok(v4) = a.parse::<Ipv4Addr>() {
            let plen = match len {
                None => 32,
                Some(l) => match parse_len(l, 32) {
                    Some(n) => n,
                    None => {
                        let mask = u32::from(l.parse::<Ipv4Addr>().ok()?);
                        let ones = mask.leading_ones();
                        if mask.checked_shl(ones).unwrap_or(0) != 0 {
                            return None;
                        }
                        ones as u8
                    }
                },
            };
            return Prefix::new(IpAddr::V4(v4), plen);
        }
        let v6 = a.parse::<Ipv6Addr>().ok()?;
        let plen = match len {
            None => 128,
            Some(l) => parse_len(l, 128)?,
        };
        Prefix::new(IpAddr::V6(v6), plen)
    }

    /// The address, host bits included.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn plen(&self) -> u8 {
        self.plen
    }

    /// Whether this is an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// ovn-ic's `prefix_is_link_local`: inside 169.254.0.0/16 with length ≥ 16, or inside
    /// fe80::/10 with length ≥ 10.
    pub fn is_link_local(&self) -> bool {
        match self.addr {
            IpAddr::V4(a) => self.plen >= 16 && u32::from(a) & 0xffff_0000 == 0xa9fe_0000,
            IpAddr::V6(a) => self.plen >= 10 && a.segments()[0] & 0xffc0 == 0xfe80,
        }
    }

    /// Whether this prefix lies inside `outer` (a deny-list entry): same family, at least as
    /// long, and equal under `outer`'s mask. This is the corrected matching of upstream fix
    /// c4f248a31 for both families (23.03.1 matched every IPv6 prefix).
    pub fn is_within(&self, outer: &Prefix) -> bool {
        if self.plen < outer.plen {
            return false;
        }
        match (self.addr, outer.addr) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(outer.plen))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(outer.plen))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Prefix {
    /// `ADDR/LEN` with the host bits, as ovn-ic writes IC-SB `ip_prefix`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", IpText(self.addr), self.plen)
    }
}

/// A route nexthop: an address (a `/LEN` suffix is accepted and dropped, as ovn-ic does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nexthop(pub IpAddr);

impl Nexthop {
    /// Parses a nexthop with [`Prefix::parse`]'s rules.
    pub fn parse(s: &str) -> Option<Self> {
        Prefix::parse(s).map(|p| Nexthop(p.addr))
    }

    /// OVS's `in6_is_lla`: inside fe80::/64 (IPv4 nexthops never are).
    pub fn is_link_local(&self) -> bool {
        match self.0 {
            IpAddr::V4(_) => false,
            IpAddr::V6(a) => a.segments()[..4] == [0xfe80, 0, 0, 0],
        }
    }
}

impl fmt::Display for Nexthop {
    /// The bare address, as ovn-ic writes IC-SB `nexthop`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        IpText(self.0).fmt(f)
    }
}

/// ovn-ic's `parse_route`: the prefix and the nexthop must parse and the nexthop must not be
/// link-local (fe80::/64).
pub fn parse_route(ip_prefix: &str, nexthop: &str) -> Option<(Prefix, Nexthop)> {
    let prefix = Prefix::parse(ip_prefix)?;
    let nexthop = Nexthop::parse(nexthop)?;
    (!nexthop.is_link_local()).then_some((prefix, nexthop))
}

/// An address printed as glibc's `inet_ntop` prints it (dotted quad; IPv6 lower-case,
/// longest zero run of ≥ 2 words compressed, `::a.b.c.d` and `::ffff:a.b.c.d` forms).
struct IpText(IpAddr);

impl fmt::Display for IpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = match self.0 {
            IpAddr::V4(a) => return write!(f, "{a}"),
            IpAddr::V6(a) => a,
        };
        let w = a.segments();
        let (mut best, mut best_len) = (None::<usize>, 0);
        let mut i = 0;
        while i < 8 {
            if w[i] == 0 {
                let start = i;
                while i < 8 && w[i] == 0 {
                    i += 1;
                }
                if i - start > best_len {
                    best = Some(start);
                    best_len = i - start;
                }
            } else {
                i += 1;
            }
        }
        if best_len < 2 {
            best = None;
        }
        for i in 0..8 {
            if let Some(b) = best {
                if (b..b + best_len).contains(&i) {
                    if i == b {
                        f.write_str(":")?;
                    }
                    continue;
                }
            }
            if i != 0 {
                f.write_str(":")?;
            }
            if i == 6 && best == Some(0) && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
                let o = a.octets();
                return write!(f, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
            }
            write!(f, "{:x}", w[i])?;
        }
        if best.is_some_and(|b| b + best_len == 8) {
            f.write_str(":")?;
        }
        Ok(())
    }
}

/// The addresses of a transit-switch port as IC-SB `Port_Binding.address` carries them
/// (`"MAC IP/LEN IP/LEN …"`), parsed like OVN's `extract_lsp_addresses`: the MAC must parse;
/// addresses are read in order until the first one that does not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortAddresses {
    /// IPv4 addresses, in the order of the string.
    pub ipv4: Vec<IpAddr>,
    /// IPv6 addresses, in the order of the string.
    pub ipv6: Vec<IpAddr>,
}

impl PortAddresses {
    /// Parses an address string; `None` if it does not start with a MAC address.
    pub fn parse(s: &str) -> Option<Self> {
        let mut tokens = s.split_whitespace();
        let mac = tokens.next()?;
        let parts: Vec<&str> = mac.split(':').collect();
        if parts.len() != 6
            || !parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return None;
        }
        let mut out = PortAddresses::default();
        for t in tokens {
            match Prefix::parse(t) {
                Some(p) if p.is_ipv4() => out.ipv4.push(p.addr),
                Some(p) => out.ipv6.push(p.addr),
                None => break,
            }
        }
        Some(out)
    }

    /// ovn-ic's `get_nexthop_from_lport_addresses`: the first address of the prefix's family.
    ///
    /// Where upstream falls back to the MAC's EUI-64 link-local address for an IPv6 prefix
    /// on a port without IPv6 (a nexthop every learner refuses and that the advertiser
    /// itself deletes and re-inserts on every pass, reference §2.8 quirk 2), this returns
    /// `None`: the route is not advertised.
    pub fn nexthop_for(&self, prefix: &Prefix) -> Option<Nexthop> {
        let list = if prefix.is_ipv4() {
            &self.ipv4
        } else {
            &self.ipv6
        };
        list.first().copied().map(Nexthop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let cases = [
            ("10.0.0.1/24", Some("10.0.0.1/24")),
            ("  10.0.0.1", Some("10.0.0.1/32")),
            ("10.0.0.0/255.255.0.0", Some("10.0.0.0/16")),
            ("10.0.0.0/255.0.255.0", None),
            ("10.0.0.0/33", None),
            ("10.0.0.0/", None),
            ("2001:DB8::1/64", Some("2001:db8::1/64")),
            ("2001:db8:0:1:0:0:0:1", Some("2001:db8:0:1::1/128")),
            ("2001:db8:0:1:1:1:1:0", Some("2001:db8:0:1:1:1:1:0/128")),
            ("::1.2.3.4/128", Some("::1.2.3.4/128")),
            ("::ffff:1.2.3.4/128", Some("::ffff:1.2.3.4/128")),
            ("::/0", Some("::/0")),
            ("fe80::/129", None),
            ("discard", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(
                Prefix::parse(s).map(|p| p.to_string()).as_deref(),
                want,
                "{s:?}"
            );
        }
    }

    #[test]
    fn link_local() {
        let ll = |s: &str| Prefix::parse(s).unwrap().is_link_local();
        assert!(ll("169.254.1.0/24"));
        assert!(ll("169.254.0.0/16"));
        assert!(!ll("169.254.0.0/15"));
        assert!(ll("fe80::/10"));
        assert!(ll("febf::/64"));
        assert!(!ll("fe80::/9"));
        assert!(Nexthop::parse("fe80::1").unwrap().is_link_local());
        assert!(!Nexthop::parse("fe80:10::2").unwrap().is_link_local());
        assert!(parse_route("10.0.0.0/24", "fe80::1").is_none());
        assert!(parse_route("10.0.0.0/24", "10.0.0.1/24").is_some());
    }

    #[test]
    fn within_both_families() {
        let p = |s: &str| Prefix::parse(s).unwrap();
        assert!(p("10.11.2.0/24").is_within(&p("10.11.0.0/16")));
        assert!(!p("10.0.0.0/8").is_within(&p("10.11.0.0/16")));
        assert!(!p("10.12.0.0/24").is_within(&p("10.11.0.0/16")));
        assert!(p("2003:db8:1::1/64").is_within(&p("2003:db8:1::/64")));
        assert!(p("2004:aaaa:bbb::1/48").is_within(&p("2004:aaaa::/32")));
        assert!(p("2005:1734:5678::1/50").is_within(&p("2005:1234::/21")));
        assert!(!p("2005:1834:5678::1/50").is_within(&p("2005:1234::/21")));
        assert!(!p("2002:db8:1::1/64").is_within(&p("2003:db8:1::/64")));
        assert!(!p("10.0.0.0/24").is_within(&p("::/0")));
        assert!(p("10.0.0.0/24").is_within(&p("0.0.0.0/0")));
    }

    #[test]
    fn port_addresses() {
        let a = PortAddresses::parse("aa:aa:aa:aa:aa:01 169.254.100.1/24 2001:db8::1/64").unwrap();
        assert_eq!(a.ipv4, vec!["169.254.100.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(a.ipv6, vec!["2001:db8::1".parse::<IpAddr>().unwrap()]);
        assert_eq!(PortAddresses::parse(""), None);
        assert_eq!(PortAddresses::parse("router"), None);
        let b = PortAddresses::parse("0:0:0:0:0:1 10.0.0.1 junk 10.0.0.2").unwrap();
        assert_eq!(b.ipv4.len(), 1);
        assert_eq!(b.nexthop_for(&Prefix::parse("::/0").unwrap()), None);
    }
}
