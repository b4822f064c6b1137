//! Replies captured from a real `ovsdb-server`, for the decode benches and examples.
//!
//! [`capture_nb`] starts an `OVN_Northbound` server ([`OvsdbServer`]), fills it with
//! logical switches and ports written as Kube-OVN and `ovn-nbctl` write them ([`NbFill`]),
//! then asks for every table with `monitor_cond` and with `monitor_cond_since` (the
//! `update3`-shaped reply `[found, last-txn-id, updates]`) and keeps both replies byte for
//! byte as the server sent them. [`cached_nb`] does the same once per fill and server
//! version and keeps the bytes under the build's target directory (`target/captures/`), so
//! later runs skip the fill; captured data is never committed.
//!
//! [`decode_input`] is what the decode bench and example call: the real server's replies by
//! default, or, when `OVNLINK_DECODE_INPUT=generated` is set or no `ovsdb-server` is
//! installed, the generated reply of [`crate::gen::lsp_monitor_cond_reply`].
//!
//! ```no_run
//! use ovnlink_testkit::capture::{decode_input, NbFill};
//!
//! let input = decode_input(&NbFill::SCALE_100K).expect("a reply to decode");
//! println!("{}: {} bytes", input.description, input.monitor_cond.len());
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::gen::{XorShift, DEPLOYMENTS, NAMESPACES};
use crate::raw::RawClient;
use crate::server::{find_binary, run, OvsdbServer, OVN_NB_SCHEMA};

/// Environment variable choosing the decode input: `real` (the default) or `generated`.
pub const INPUT_ENV: &str = "OVNLINK_DECODE_INPUT";

/// Bump when the fill or the requests change, so that cached replies are captured again.
const FORMAT: u32 = 1;

/// What [`capture_nb`] writes into the northbound database.
///
/// Every switch is a Kube-OVN subnet (`external_ids:vendor=kube-ovn`,
/// `other_config:subnet`/`exclude_ips`) of `ports_per_switch` ports, one of them its
/// router-type port to the cluster router `ovn-cluster`; so the database holds
/// `switches × ports_per_switch` logical switch ports and each switch's `ports` set holds
/// `ports_per_switch` UUIDs. The other ports are:
///
/// - pods as Kube-OVN writes them: `name` `<pod>.<namespace>`, `addresses` and
///   `port_security` `"<mac> <ip>"` (a quarter dual-stack, `"<mac> <ipv4> <ipv6>"`),
///   `external_ids` `ls`, `pod` (`<namespace>/<pod>`), `vendor`, `ip`, and on one pod in
///   eight a security group (`security_groups`, `associated_sgs`);
/// - on every fourth switch (an underlay subnet) a `localnet` port with
///   `options:network_name` and a VLAN in `tag_request`;
/// - on every switch, 2 % nested container ports as `ovn-nbctl lsp-add LS PORT PARENT TAG`
///   writes them (`parent_name`, `tag_request`, and the `tag` northd assigns), with
///   `addresses` from `lsp-set-addresses` and `options:requested-chassis`.
///
/// The cluster router has one router port per switch (`mac`, `networks`). The server
/// assigns every row's UUID. The content is deterministic apart from those UUIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NbFill {
    /// Logical switches.
    pub switches: usize,
    /// Ports on each switch, its router port included.
    pub ports_per_switch: usize,
}

impl NbFill {
    /// 100 switches × 1,000 ports: 100,000 logical switch ports.
    pub const SCALE_100K: NbFill = NbFill {
        switches: 100,
        ports_per_switch: 1000,
    };

    /// Logical switch ports in all.
    pub fn ports(&self) -> usize {
        self.switches * self.ports_per_switch
    }

    fn key(&self) -> String {
        format!("{}x{}", self.switches, self.ports_per_switch)
    }
}

/// The replies of a real server holding an [`NbFill`].
#[derive(Debug, Clone)]
pub struct NbReplies {
    /// The reply to `monitor_cond` on every table of `OVN_Northbound`, all columns.
    pub monitor_cond: Vec<u8>,
    /// The reply to `monitor_cond_since` with the same requests and a zero last-txn-id:
    /// `[false, "<last-txn-id>", <the same updates>]`.
    pub monitor_cond_since: Vec<u8>,
    /// The server's `--version` line (`ovsdb-server (Open vSwitch) 3.1.0`).
    pub server: String,
    /// Where the replies are cached, when they are.
    pub cached_at: Option<PathBuf>,
    /// How long filling the database took, when this run filled it.
    pub fill_time: Option<Duration>,
}

/// What the decode bench and example decode: see [`decode_input`].
#[derive(Debug, Clone)]
pub struct DecodeInput {
    /// A `monitor_cond` reply.
    pub monitor_cond: Vec<u8>,
    /// A `monitor_cond_since` reply of the same rows, when the input is a real server's.
    pub monitor_cond_since: Option<Vec<u8>>,
    /// One line saying what the input is.
    pub description: String,
}

/// The input of the decode bench and example: by default [`cached_nb`]'s replies for
/// `fill`; the generated reply of [`crate::gen::lsp_monitor_cond_reply`] with
/// `fill.ports()` ports (seed 1) when `OVNLINK_DECODE_INPUT=generated`, or when no
/// `ovsdb-server` is installed (then with a line on standard error saying so).
///
/// # Errors
///
/// When `OVNLINK_DECODE_INPUT` holds another value, or capturing failed.
pub fn decode_input(fill: &NbFill) -> io::Result<DecodeInput> {
    let choice = std::env::var(INPUT_ENV).unwrap_or_default();
    let generated = || DecodeInput {
        monitor_cond: crate::gen::lsp_monitor_cond_reply(fill.ports(), 1),
        monitor_cond_since: None,
        description: format!(
            "generated monitor_cond reply (testkit::gen), {} ports, one table",
            fill.ports()
        ),
    };
    match choice.as_str() {
        "generated" => Ok(generated()),
        "" | "real" => {
            if ["ovsdb-server", "ovsdb-tool"]
                .iter()
                .any(|p| find_binary(p).is_none())
                || !Path::new(OVN_NB_SCHEMA).exists()
            {
                eprintln!(
                    "ovsdb-server or {OVN_NB_SCHEMA} not found: decoding the generated reply \
                     instead (install openvswitch-common and ovn-central for a real one; \
                     {INPUT_ENV}=generated silences this)"
                );
                return Ok(generated());
            }
            let replies = cached_nb(fill)?;
            Ok(DecodeInput {
                description: format!(
                    "monitor_cond reply of {}: {} switches x {} ports as Kube-OVN and \
                     ovn-nbctl write them, every table and column{}",
                    replies.server,
                    fill.switches,
                    fill.ports_per_switch,
                    replies
                        .cached_at
                        .as_ref()
                        .map(|p| format!(" (cached in {})", p.display()))
                        .unwrap_or_default()
                ),
                monitor_cond: replies.monitor_cond,
                monitor_cond_since: Some(replies.monitor_cond_since),
            })
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{INPUT_ENV}={other}: expected `real` or `generated`"),
        )),
    }
}

/// The build's target directory: the nearest ancestor of the running executable that
/// holds cargo's `CACHEDIR.TAG`, else `CARGO_TARGET_DIR`, else `./target`.
pub fn target_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()) {
            return dir.to_path_buf();
        }
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// [`capture_nb`]'s replies, from `target/captures/` when a run with the same fill and
/// server version left them there, else captured now and stored there.
///
/// # Errors
///
/// When the server cannot run or the fill fails; a cache that cannot be written is not an
/// error (the replies are returned uncached).
pub fn cached_nb(fill: &NbFill) -> io::Result<NbReplies> {
    let server = server_version()?;
    let version = server.rsplit(' ').next().unwrap_or("unknown").to_owned();
    let dir = target_dir().join("captures");
    let stem = format!("nb-{}-ovs{version}-v{FORMAT}", fill.key());
    let cond = dir.join(format!("{stem}.monitor_cond.json"));
    let since = dir.join(format!("{stem}.monitor_cond_since.json"));
    if let (Ok(monitor_cond), Ok(monitor_cond_since)) =
        (std::fs::read(&cond), std::fs::read(&since))
    {
        return Ok(NbReplies {
            monitor_cond,
            monitor_cond_since,
            server,
            cached_at: Some(dir),
            fill_time: None,
        });
    }
    let mut replies = capture_nb(fill)?;
    let stored = std::fs::create_dir_all(&dir)
        .and_then(|()| write_whole(&cond, &replies.monitor_cond))
        .and_then(|()| write_whole(&since, &replies.monitor_cond_since));
    match stored {
        Ok(()) => replies.cached_at = Some(dir),
        Err(e) => eprintln!("could not cache the replies in {}: {e}", dir.display()),
    }
    Ok(replies)
}

/// Writes through a temporary name, so that an interrupted run leaves no partial file.
fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn server_version() -> io::Result<String> {
    let out = run("ovsdb-server", &["--version"])?;
    Ok(out.lines().next().unwrap_or_default().trim().to_owned())
}

/// Starts a real `ovsdb-server` with `OVN_Northbound`, fills it as [`NbFill`] says (one
/// transaction per switch and its ports), and captures the replies to `monitor_cond` and
/// `monitor_cond_since` on every table. Prints one progress line to standard error.
///
/// # Errors
///
/// When the server cannot start.
///
/// # Panics
///
/// When a transaction fails or the server breaks the protocol.
pub fn capture_nb(fill: &NbFill) -> io::Result<NbReplies> {
    let server_line = server_version()?;
    let server = OvsdbServer::builder()
        .database(OVN_NB_SCHEMA)
        .startup_timeout(Duration::from_secs(30))
        .start()?;
    let mut client = RawClient::connect(&server.unix_path())?;
    eprintln!(
        "filling a real {server_line} with {} switches x {} ports ...",
        fill.switches, fill.ports_per_switch
    );
    let started = Instant::now();
    let mut rng = XorShift::new(17);
    client.transact_json("OVN_Northbound", &cluster_ops(fill));
    for switch in 0..fill.switches {
        client.transact_json("OVN_Northbound", &switch_ops(fill, switch, &mut rng));
    }
    let fill_time = started.elapsed();
    eprintln!("filled in {:.1} s", fill_time.as_secs_f64());

    let schema = client.call("get_schema", json!(["OVN_Northbound"]));
    let schema: Value = schema.to_value().expect("a schema");
    let requests: serde_json::Map<String, Value> = schema["tables"]
        .as_object()
        .expect("the schema has tables")
        .keys()
        .map(|t| (t.clone(), json!({})))
        .collect();
    let (monitor_cond, _) = client.call_frame(
        "monitor_cond",
        json!(["OVN_Northbound", "decode-1", requests]),
    );
    let (monitor_cond_since, _) = client.call_frame(
        "monitor_cond_since",
        json!([
            "OVN_Northbound",
            "decode-2",
            requests,
            "00000000-0000-0000-0000-000000000000"
        ]),
    );
    Ok(NbReplies {
        monitor_cond: monitor_cond.to_vec(),
        monitor_cond_since: monitor_cond_since.to_vec(),
        server: server_line,
        cached_at: None,
        fill_time: Some(fill_time),
    })
}

fn switch_name(switch: usize) -> String {
    format!("subnet-{switch:03}")
}

/// The IPv4 /16 of switch `switch`: `10.<16 + switch / 256>.<switch % 256>.0/24` would be
/// too small for 1,000 ports, so each subnet is a /22 from 10.16.0.0.
fn switch_base(switch: usize) -> u32 {
    (10 << 24) | (16 << 16) | ((switch as u32) << 10)
}

fn ipv4(addr: u32) -> String {
    let b = addr.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// The cluster router with one port per switch, and `NB_Global`, as `ovn-nbctl init` and
/// Kube-OVN's start-up write them.
fn cluster_ops(fill: &NbFill) -> Vec<Value> {
    let mut ops = vec![json!({"op": "insert", "table": "NB_Global", "row": {}})];
    let mut ports = Vec::with_capacity(fill.switches);
    for switch in 0..fill.switches {
        let name = format!("ovn-cluster-{}", switch_name(switch));
        let gw = switch_base(switch) + 1;
        let named = format!("lrp{switch}");
        ops.push(json!({
            "op": "insert", "table": "Logical_Router_Port", "uuid-name": named,
            "row": {
                "name": name,
                "mac": mac(gw),
                "networks": format!("{}/22", ipv4(gw)),
            },
        }));
        ports.push(json!(["named-uuid", named]));
    }
    ops.push(json!({
        "op": "insert", "table": "Logical_Router",
        "row": {
            "name": "ovn-cluster",
            "ports": ["set", ports],
            "external_ids": ["map", [["vendor", "kube-ovn"]]],
        },
    }));
    ops
}

fn mac(addr: u32) -> String {
    let b = addr.to_be_bytes();
    format!("0a:58:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
}

/// One switch and its ports, in one transaction.
fn switch_ops(fill: &NbFill, switch: usize, rng: &mut XorShift) -> Vec<Value> {
    let ls = switch_name(switch);
    let base = switch_base(switch);
    // The ports first (`p0`, `p1`, …), then the switch that refers to them.
    let mut ops = Vec::with_capacity(fill.ports_per_switch + 1);
    let push = |ops: &mut Vec<Value>, row: Value| {
        let named = format!("p{}", ops.len());
        ops.push(json!({
            "op": "insert", "table": "Logical_Switch_Port", "uuid-name": named, "row": row,
        }));
    };
    // The router-type port Kube-OVN creates with the subnet.
    push(
        &mut ops,
        json!({
            "name": format!("{ls}-ovn-cluster"),
            "type": "router",
            "addresses": "router",
            "options": ["map", [["router-port", format!("ovn-cluster-{ls}")]]],
            "external_ids": ["map", [["vendor", "kube-ovn"]]],
        }),
    );
    let underlay = switch % 4 == 3;
    if underlay && fill.ports_per_switch > 1 {
        push(
            &mut ops,
            json!({
                "name": format!("localnet.{ls}"),
                "type": "localnet",
                "addresses": "unknown",
                "options": ["map", [["network_name", "provider"]]],
                "tag_request": 100 + switch as i64,
                "external_ids": ["map", [["vendor", "kube-ovn"]]],
            }),
        );
    }
    let mut parents: Vec<String> = Vec::new();
    while ops.len() < fill.ports_per_switch {
        let host = ops.len() as u32 + 1;
        let addr = base + host;
        let node = format!("node-{:02}", rng.below(40));
        if host % 50 == 0 && !parents.is_empty() {
            // A nested container port, as `ovn-nbctl lsp-add LS PORT PARENT TAG` then
            // `lsp-set-addresses` and `lsp-set-options` write it; northd fills `tag`.
            let parent = parents[rng.below(parents.len())].clone();
            let tag = 1 + (host as i64 % 4094);
            push(
                &mut ops,
                json!({
                    "name": format!("{parent}-c{host}"),
                    "parent_name": parent,
                    "tag_request": tag,
                    "tag": tag,
                    "addresses": format!("{} {}", mac(addr), ipv4(addr)),
                    "options": ["map", [["requested-chassis", node]]],
                }),
            );
            continue;
        }
        let namespace = NAMESPACES[rng.below(NAMESPACES.len())];
        let mut pod = String::with_capacity(48);
        pod.push_str(DEPLOYMENTS[rng.below(DEPLOYMENTS.len())]);
        pod.push('-');
        rng.push_chars(&mut pod, 10);
        pod.push('-');
        rng.push_chars(&mut pod, 5);
        let v4 = ipv4(addr);
        let (address, ip) = if rng.below(4) == 0 {
            let v6 = format!("fd00:10:16::{:x}", addr & 0xff_ffff);
            (format!("{} {v4} {v6}", mac(addr)), format!("{v4},{v6}"))
        } else {
            (format!("{} {v4}", mac(addr)), v4)
        };
        let name = format!("{pod}.{namespace}");
        let mut ids = vec![
            json!(["ip", ip]),
            json!(["ls", ls]),
            json!(["pod", format!("{namespace}/{pod}")]),
            json!(["vendor", "kube-ovn"]),
        ];
        if rng.below(8) == 0 {
            let sg = format!("sg-{}", rng.below(16));
            ids.push(json!(["associated_sgs", sg]));
            ids.push(json!(["security_groups", sg]));
        }
        ids.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
        if parents.len() < 8 {
            parents.push(name.clone());
        }
        push(
            &mut ops,
            json!({
                "name": name,
                "addresses": address,
                "port_security": address,
                "external_ids": ["map", ids],
            }),
        );
    }
    let refs: Vec<Value> = (0..ops.len())
        .map(|i| json!(["named-uuid", format!("p{i}")]))
        .collect();
    ops.push(json!({
        "op": "insert", "table": "Logical_Switch",
        "row": {
            "name": ls,
            "ports": ["set", refs],
            "external_ids": ["map", [["vendor", "kube-ovn"]]],
            "other_config": ["map", [
                ["exclude_ips", ipv4(base + 1)],
                ["subnet", format!("{}/22", ipv4(base))],
            ]],
        },
    }));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_has_its_ports_and_one_set_of_them() {
        let fill = NbFill {
            switches: 4,
            ports_per_switch: 120,
        };
        let mut rng = XorShift::new(1);
        let ops = switch_ops(&fill, 3, &mut rng);
        assert_eq!(ops.len(), 121);
        let ls = &ops[120]["row"];
        assert_eq!(ls["name"], "subnet-003");
        assert_eq!(ls["ports"][1].as_array().map(Vec::len), Some(120));
        let types: Vec<&str> = ops[..120]
            .iter()
            .filter_map(|op| op["row"]["type"].as_str())
            .collect();
        assert_eq!(types, ["router", "localnet"]);
        let nested = ops[..120]
            .iter()
            .filter(|op| op["row"]["parent_name"].is_string())
            .count();
        assert_eq!(nested, 2);
        let pod = &ops[2]["row"];
        let keys: Vec<&str> = pod["external_ids"][1]
            .as_array()
            .expect("pairs")
            .iter()
            .filter_map(|p| p[0].as_str())
            .collect();
        for key in ["ip", "ls", "pod", "vendor"] {
            assert!(keys.contains(&key), "{keys:?}");
        }
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        assert_eq!(pod["addresses"], pod["port_security"]);
        assert_eq!(cluster_ops(&fill).len(), 6);
    }
}
