//! Small prefix helpers on top of [`ic_routes::Prefix`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ic_routes::Prefix;

/// `p` with its host bits cleared (`10.0.0.1/24` → `10.0.0.0/24`).
pub fn network(p: &Prefix) -> Prefix {
    let addr = match p.addr() {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(p.plen())).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(p.plen()))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    };
    Prefix::new(addr, p.plen()).unwrap_or(*p)
}

/// Whether two prefixes share at least one address.
pub fn overlaps(a: &Prefix, b: &Prefix) -> bool {
    a.is_within(b) || b.is_within(a)
}

/// Whether `ip` lies inside `p`.
pub fn contains(p: &Prefix, ip: IpAddr) -> bool {
    let host = Prefix::new(ip, if ip.is_ipv4() { 32 } else { 128 });
    host.is_some_and(|h| h.is_within(p))
}

/// The `n`-th address of `p`'s network (`n` = 0 is the network address), if inside `p`.
pub fn nth(p: &Prefix, n: u128) -> Option<IpAddr> {
    let net = network(p);
    let bits = if p.is_ipv4() { 32 } else { 128 } - u32::from(p.plen());
    if bits < 128 && n >> bits != 0 {
        return None;
    }
    Some(match net.addr() {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(
            u32::from(a).checked_add(u32::try_from(n).ok()?)?,
        )),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).checked_add(n)?)),
    })
}

/// Masks every prefix, sorts them and drops the ones inside another.
pub fn aggregate(prefixes: impl IntoIterator<Item = Prefix>) -> Vec<Prefix> {
    let mut v: Vec<Prefix> = prefixes.into_iter().map(|p| network(&p)).collect();
    v.sort_by_key(|p| (!p.is_ipv4(), p.plen(), p.addr()));
    let mut out: Vec<Prefix> = Vec::new();
    for p in v {
        if !out.iter().any(|o| p.is_within(o)) {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A stable 64-bit FNV-1a hash, for deterministic names and MAC addresses.
pub fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// A locally administered unicast MAC derived from `parts`.
pub fn mac(parts: &[&str]) -> String {
    let h = fnv(parts).to_be_bytes();
    format!(
        "0a:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        h[0], h[1], h[2], h[3], h[4]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        Prefix::parse(s).unwrap()
    }

    #[test]
    fn helpers() {
        assert_eq!(network(&p("10.0.0.1/24")).to_string(), "10.0.0.0/24");
        assert_eq!(network(&p("2001:db8::1/64")).to_string(), "2001:db8::/64");
        assert!(overlaps(&p("10.0.0.0/16"), &p("10.0.3.0/24")));
        assert!(!overlaps(&p("10.0.0.0/24"), &p("10.0.1.0/24")));
        assert_eq!(
            nth(&p("169.254.100.4/30"), 2).unwrap().to_string(),
            "169.254.100.6"
        );
        assert_eq!(nth(&p("169.254.100.4/30"), 4), None);
        let agg = aggregate([p("10.0.0.1/24"), p("10.0.0.0/16"), p("192.168.0.0/24")]);
        assert_eq!(
            agg.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            ["10.0.0.0/16", "192.168.0.0/24"]
        );
        assert_eq!(mac(&["a"]), mac(&["a"]));
        assert!(mac(&["a"]).starts_with("0a:"));
    }
}
