//! Decode and encode throughput of `ovsdb-proto` on realistic sizes, each beside its baseline
//! measured in the same run.
//!
//! - `decode/frame+rows`: the 48 MB `monitor_cond` reply for 100k logical switch ports
//!   (a real server's, or the generated one: see `cargo bench --bench typed` and
//!   `ovnlink_testkit::capture::decode_input`) arriving in 64 KiB reads, framed by `FrameCodec`, its envelope decoded by
//!   `Message::decode` and its result by `Reply::decode` into this crate's generic rows.
//! - `decode/serde_json_value` (baseline): `serde_json::from_slice::<Value>` on the same bytes.
//! - `encode/transact_10k`: a `transact` request of 10,000 `insert` operations of logical
//!   switch port rows, encoded with `Call::encode`.
//! - `encode/serde_json_value` (baseline): the same request as a `serde_json::Value`, written
//!   with `serde_json::to_writer`.
//!
//! Run: `cargo bench --bench proto`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

// Decoding is allocation-bound, and glibc's malloc slows down several-fold once a few
// 48 MB replicas have been freed (malloc_consolidate); mimalloc keeps repeated iterations
// comparable. The baselines run under the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use ovsdb_proto::{Atom, Call, Datum, FrameCodec, Message, Method, Operation, Reply, Row};
use tokio_util::codec::Decoder;

const CHUNK: usize = 64 * 1024;

fn decode(c: &mut Criterion) {
    let fill = ovnlink_testkit::capture::NbFill::SCALE_100K;
    let input = ovnlink_testkit::capture::decode_input(&fill).expect("a reply to decode");
    eprintln!("input: {}", input.description);
    let bytes = input.monitor_cond;
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);

    group.bench_function("frame+rows", |b| {
        b.iter(|| {
            let mut codec = FrameCodec::new();
            let mut buf = BytesMut::with_capacity(CHUNK);
            let mut ports = 0;
            for chunk in black_box(&bytes).chunks(CHUNK) {
                buf.extend_from_slice(chunk);
                while let Some(frame) = codec.decode(&mut buf).expect("valid stream") {
                    let Message::Response { result, .. } =
                        Message::decode(frame).expect("valid message")
                    else {
                        panic!("not a response")
                    };
                    let Reply::MonitorCond(u) =
                        Reply::decode(Method::MonitorCond, result.as_bytes()).expect("valid reply")
                    else {
                        panic!("not a monitor_cond reply")
                    };
                    ports += u.0.get("Logical_Switch_Port").map_or(0, Vec::len);
                }
            }
            assert_eq!(ports, fill.ports());
            ports
        })
    });

    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).expect("valid JSON")
        })
    });
    group.finish();
}

fn lsp_insert(i: usize) -> Operation {
    let name = format!("{:08x}-1b2c-4d3e-8f40-{:012x}", i, i * 7919);
    Operation::Insert {
        table: "Logical_Switch_Port".into(),
        row: Row::new()
            .with("name", Atom::from(name.as_str()))
            .with(
                "addresses",
                Datum::scalar(format!(
                    "0a:58:0a:f4:{:02x}:{:02x} 10.244.{}.{}",
                    i >> 8 & 255,
                    i & 255,
                    i >> 8 & 255,
                    i & 255
                )),
            )
            .with(
                "port_security",
                Datum::scalar(format!("0a:58:0a:f4:{:02x}:{:02x}", i >> 8 & 255, i & 255)),
            )
            .with(
                "external_ids",
                Datum::map([
                    ("ls", "ovn-default".to_string()),
                    ("pod", format!("default/pod-{i}")),
                ]),
            )
            .with(
                "options",
                Datum::map([("requested-chassis", "node-1"), ("iface-id-ver", "2")]),
            )
            .with("enabled", Datum::scalar(true)),
        uuid_name: Some(format!("lsp{i}")),
        uuid: None,
    }
}

fn encode(c: &mut Criterion) {
    let call = Call::Transact {
        db: "OVN_Northbound".into(),
        ops: (0..10_000).map(lsp_insert).collect(),
    };
    let mut probe = Vec::new();
    call.encode(Some(&serde_json::json!(1)), &mut probe);
    let as_value: serde_json::Value = serde_json::from_slice(&probe).expect("valid JSON");

    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Bytes(probe.len() as u64));
    group.bench_function("transact_10k", |b| {
        let mut out = Vec::with_capacity(probe.len());
        b.iter(|| {
            out.clear();
            black_box(&call).encode(Some(&serde_json::json!(1)), &mut out);
            out.len()
        })
    });
    group.bench_function("serde_json_value", |b| {
        let mut out = Vec::with_capacity(probe.len());
        b.iter(|| {
            out.clear();
            serde_json::to_writer(&mut out, black_box(&as_value)).expect("writes to a Vec");
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
