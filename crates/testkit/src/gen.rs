//! Deterministic generators of realistic OVSDB traffic.
//!
//! Everything here is a pure function of its arguments (a row count and a seed), so benches and
//! tests see the same bytes on every run and every machine. Randomness comes from a small
//! xorshift generator defined in this module; no external crate is involved.

use std::fmt::Write as _;

/// Builds the exact bytes of an `ovsdb-server` reply to a `monitor_cond` request on
/// `OVN_Northbound`'s `Logical_Switch_Port` table holding `rows` ports.
///
/// The message has the shape the server sends (RFC 7047 §4.1.5 with the `update2` notation of
/// the `monitor_cond` extension): compact JSON with no whitespace,
///
/// ```text
/// {"id":1,"result":{"Logical_Switch_Port":{"<uuid>":{"initial":{<columns>}},...}},"error":null}
/// ```
///
/// and each row sets the columns a Kube-OVN pod port has:
///
/// - `name`: `"<pod>.<namespace>"`;
/// - `addresses`: a set of one string, `"<mac> <ipv4>"` (or `"<mac> <ipv4> <ipv6>"` for
///   dual-stack ports), encoded as the bare atom as RFC 7047 §5.1 prescribes for one-element
///   sets;
/// - `port_security`: the same entry as a one-element set (bare atom); dual-stack ports carry a
///   second entry for the IPv6 address, so their set is encoded as `["set",[...]]`;
/// - `external_ids`: `["map",[["ls","<switch>"],["pod","<namespace>/<pod>"]]]`;
/// - `options`: `["map",[["iface-id-ver","<pod uid>"],["requested-chassis","<node>"]]]`, with
///   node names shaped like EKS's `ip-10-0-12-34.ec2.internal`;
/// - `up` and `enabled`: booleans.
///
/// Map keys are sorted, as the server sorts them. Row and pod UUIDs are 36-character lowercase
/// hyphenated version-4 UUIDs drawn from a PRNG seeded with `seed`. A row is about 480 bytes,
/// so 100 000 rows make a message of about 48 MB, the size section 4.3 of the protocol
/// reference measured for 100k ports.
///
/// The output is deterministic: the same `rows` and `seed` always give the same bytes.
pub fn lsp_monitor_cond_reply(rows: usize, seed: u64) -> Vec<u8> {
    let mut rng = XorShift::new(seed);
    let mut out = String::with_capacity(rows.saturating_mul(500).saturating_add(64));
    out.push_str(r#"{"id":1,"result":{"Logical_Switch_Port":{"#);
    for index in 0..rows {
        if index > 0 {
            out.push(',');
        }
        write_lsp_row(&mut out, index, &mut rng);
    }
    out.push_str(r#"}},"error":null}"#);
    out.into_bytes()
}

/// Namespaces the generated pods live in.
pub(crate) const NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "monitoring",
    "payments-prod",
    "frontend-staging",
    "data-pipeline",
    "ingress-nginx",
    "cert-manager",
];

/// Deployment names the generated pods belong to.
pub(crate) const DEPLOYMENTS: &[&str] = &[
    "nginx-ingress-controller",
    "checkout-service",
    "prometheus-node-exporter",
    "postgres-replica",
    "recommendation-engine",
    "kafka-consumer-orders",
    "redis-cache",
    "api-gateway",
];

/// Logical switches (Kube-OVN subnets) the ports are attached to.
const SWITCHES: &[&str] = &["ovn-default", "join", "subnet-prod", "subnet-staging"];

/// Characters Kubernetes uses in generated pod-name suffixes.
const POD_SUFFIX_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Appends one `"<uuid>":{"initial":{...}}` row update for port number `index`.
fn write_lsp_row(out: &mut String, index: usize, rng: &mut XorShift) {
    let namespace = NAMESPACES[rng.below(NAMESPACES.len())];
    let deployment = DEPLOYMENTS[rng.below(DEPLOYMENTS.len())];
    let switch = SWITCHES[rng.below(SWITCHES.len())];
    // Node names as on EKS: ip-<private address>.ec2.internal.
    let node = format!(
        "ip-10-0-{}-{}.ec2.internal",
        rng.below(64),
        1 + rng.below(254)
    );
    let mut pod = String::with_capacity(64);
    pod.push_str(deployment);
    pod.push('-');
    push_random_chars(&mut pod, rng, 10);
    pod.push('-');
    push_random_chars(&mut pod, rng, 5);
    let dual_stack = rng.below(4) == 0;
    let up = rng.below(50) != 0;

    // IPv4 10.244.0.0/14 (skipping .0 and .1), MAC 0a:58 + the IPv4 bytes, like Kube-OVN.
    let host = index as u64 + 2;
    let ip = [
        10,
        244 + ((host >> 16) & 3) as u8,
        (host >> 8) as u8,
        host as u8,
    ];
    let mac = format!(
        "0a:58:{:02x}:{:02x}:{:02x}:{:02x}",
        ip[0], ip[1], ip[2], ip[3]
    );
    let ipv4 = format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
    let ipv6 = format!("fd00:10:244::{:x}", host);

    let row_uuid = rng.uuid();
    let pod_uid = rng.uuid();

    // Writing to a String cannot fail.
    let _ = write!(
        out,
        r#""{row_uuid}":{{"initial":{{"name":"{pod}.{namespace}","#
    );
    if dual_stack {
        let _ = write!(
            out,
            r#""addresses":"{mac} {ipv4} {ipv6}","port_security":["set",["{mac} {ipv4}","{mac} {ipv6}"]],"#
        );
    } else {
        let _ = write!(
            out,
            r#""addresses":"{mac} {ipv4}","port_security":"{mac} {ipv4}","#
        );
    }
    let _ = write!(
        out,
        concat!(
            r#""external_ids":["map",[["ls","{switch}"],["pod","{namespace}/{pod}"]]],"#,
            r#""options":["map",[["iface-id-ver","{pod_uid}"],["requested-chassis","{node}"]]],"#,
            r#""up":{up},"enabled":true}}}}"#
        ),
        switch = switch,
        namespace = namespace,
        pod = pod,
        pod_uid = pod_uid,
        node = node,
        up = up,
    );
}

/// Appends `count` characters drawn from [`POD_SUFFIX_CHARS`].
fn push_random_chars(out: &mut String, rng: &mut XorShift, count: usize) {
    for _ in 0..count {
        out.push(char::from(
            POD_SUFFIX_CHARS[rng.below(POD_SUFFIX_CHARS.len())],
        ));
    }
}

/// A xorshift64* pseudo-random generator: tiny, fast and reproducible, not cryptographic.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// Seeds the generator; any seed (including 0) gives a usable, distinct stream.
    pub(crate) fn new(seed: u64) -> Self {
        // One splitmix64 step spreads the seed's bits and never yields the all-zero state
        // xorshift cannot leave.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_f491_4f6c_dd1d } else { z })
    }

    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`); the tiny modulo bias does not matter for test data.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Appends `count` characters of Kubernetes' generated pod-name suffixes.
    pub(crate) fn push_chars(&mut self, out: &mut String, count: usize) {
        push_random_chars(out, self, count);
    }

    /// A random version-4 UUID in its 36-character lowercase hyphenated form.
    fn uuid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        // Version 4 in the high nibble of byte 6, variant 0b10 in the top bits of byte 8.
        let hi = (hi & !0xf000) | 0x4000;
        let lo = (lo & !(0xc000_u64 << 48)) | (0x8000_u64 << 48);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xffff,
            lo >> 48,
            lo & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_is_deterministic_and_valid_json() {
        let a = lsp_monitor_cond_reply(50, 7);
        let b = lsp_monitor_cond_reply(50, 7);
        assert_eq!(a, b);
        assert_ne!(a, lsp_monitor_cond_reply(50, 8));
        let value: serde_json::Value = serde_json::from_slice(&a).expect("valid JSON");
        assert_eq!(value["id"], 1);
        assert_eq!(value["error"], serde_json::Value::Null);
        let rows = value["result"]["Logical_Switch_Port"]
            .as_object()
            .expect("table object");
        assert_eq!(rows.len(), 50);
        let mut dual_stack = 0;
        for (uuid, update) in rows {
            assert_eq!(uuid.len(), 36);
            assert!(uuid
                .bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            assert_eq!(
                uuid.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'-')
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>(),
                vec![8, 13, 18, 23]
            );
            let row = update["initial"].as_object().expect("initial row");
            let mut columns: Vec<&str> = row.keys().map(String::as_str).collect();
            columns.sort_unstable();
            assert_eq!(
                columns,
                vec![
                    "addresses",
                    "enabled",
                    "external_ids",
                    "name",
                    "options",
                    "port_security",
                    "up"
                ]
            );
            assert!(row["addresses"].is_string());
            assert_eq!(row["external_ids"][0], "map");
            assert_eq!(row["external_ids"][1][0][0], "ls");
            assert_eq!(row["external_ids"][1][1][0], "pod");
            assert_eq!(row["options"][1][0][0], "iface-id-ver");
            assert_eq!(row["options"][1][0][1].as_str().map(str::len), Some(36));
            assert_eq!(row["enabled"], true);
            match &row["port_security"] {
                serde_json::Value::String(entry) => assert_eq!(entry, &row["addresses"]),
                serde_json::Value::Array(set) => {
                    dual_stack += 1;
                    let addresses = row["addresses"].as_str().expect("one address entry");
                    assert_eq!(addresses.split(' ').count(), 3);
                    assert_eq!(set[0], "set");
                    assert_eq!(set[1].as_array().map(Vec::len), Some(2));
                }
                other => panic!("unexpected port_security {other}"),
            }
        }
        assert_eq!(dual_stack, 5);
    }

    #[test]
    fn output_is_pinned() {
        let text = String::from_utf8(lsp_monitor_cond_reply(1, 42)).expect("UTF-8");
        assert_eq!(
            text,
            concat!(
                r#"{"id":1,"result":{"Logical_Switch_Port":{"d1301eb5-1074-45b2-824c-5fa3c6f135bc":"#,
                r#"{"initial":{"name":"postgres-replica-44hnqkpzhj-7n8tx.monitoring","#,
                r#""addresses":"0a:58:0a:f4:00:02 10.244.0.2","#,
                r#""port_security":"0a:58:0a:f4:00:02 10.244.0.2","#,
                r#""external_ids":["map",[["ls","subnet-staging"],"#,
                r#"["pod","monitoring/postgres-replica-44hnqkpzhj-7n8tx"]]],"#,
                r#""options":["map",[["iface-id-ver","c674df4f-67cf-4ed2-ad78-786c116d9ffe"],"#,
                r#"["requested-chassis","ip-10-0-15-101.ec2.internal"]]],"#,
                r#""up":true,"enabled":true}}}},"error":null}"#
            )
        );
        assert_eq!(
            lsp_monitor_cond_reply(0, 42),
            br#"{"id":1,"result":{"Logical_Switch_Port":{}},"error":null}"#
        );
    }

    #[test]
    fn hundred_thousand_rows_make_48_mb() {
        assert_eq!(lsp_monitor_cond_reply(100_000, 1).len(), 47_998_297);
    }
}
