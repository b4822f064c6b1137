//! Typed decoding of OVN_Northbound rows (issue #3's targets), each beside its baseline
//! measured in the same run.
//!
//! The input is a real `ovsdb-server`'s reply (`ovnlink_testkit::capture`): the first run
//! starts one, fills it with 100,000 logical switch ports on 100 switches as Kube-OVN and
//! `ovn-nbctl` write them, and captures its replies to `monitor_cond` and
//! `monitor_cond_since` on every table (48 MB each); later runs read them from
//! `target/captures/`. With `OVNLINK_DECODE_INPUT=generated`, or without an installed
//! `ovsdb-server`, the input is the generated one-table reply of `ovnlink_testkit::gen`
//! (48 MB, 100k ports) and the `_since` benches are left out.
//!
//! - `typed/monitor_cond_100k`: the `monitor_cond` reply decoded in one pass straight into
//!   `ovn_nb` rows (`Message::decode_response::<ovn_nb::TableUpdates2>`).
//! - `typed/monitor_cond_100k_framed`: the same after `Framer::scan` has found where the
//!   message ends, as a client reading a stream does (see also `cargo bench --bench framing`).
//! - `typed/serde_json_value` (baseline): `serde_json::from_slice::<Value>` on the same bytes.
//!   Both time the decode alone; dropping the result is not measured.
//! - `typed/monitor_cond_since_100k` and `typed/serde_json_value_since` (baseline): the same
//!   for the `monitor_cond_since` reply, `[found, last-txn-id, updates]`.
//! - `typed/modify_one_row`: applying a one-row `update2` `modify` (two columns) to a typed
//!   replica row, as a client does for every change notification.
//!
//! Run: `cargo bench --bench typed` (`OVNLINK_DECODE_INPUT=generated cargo bench --bench
//! typed` for the generated input).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

// Decoding is allocation-bound, and glibc's malloc slows down several-fold once a few
// 48 MB replicas have been freed (malloc_consolidate); mimalloc keeps repeated iterations
// comparable. The baselines run under the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;

use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use ovn_nb::{LogicalSwitchPort, TableUpdates2};
use ovnlink_testkit::capture::{decode_input, NbFill};
use ovsdb_proto::typed::{Table, TypedRowUpdate2};
use ovsdb_proto::{Framer, Message, Response, RowUpdate2, Uuid};

/// Decodes one complete reply straight into typed rows.
fn decode(bytes: &[u8]) -> TableUpdates2 {
    match Message::decode_response::<TableUpdates2>(bytes, "monitor_cond reply")
        .expect("valid reply")
    {
        Response::Ok { result, .. } => result,
        Response::Err { error, .. } => panic!("error reply {error}"),
    }
}

/// Decodes one complete `monitor_cond_since` reply straight into typed rows.
fn decode_since(bytes: &[u8]) -> TableUpdates2 {
    match Message::decode_response::<(bool, String, TableUpdates2)>(bytes, "since reply")
        .expect("valid reply")
    {
        Response::Ok { result, .. } => result.2,
        Response::Err { error, .. } => panic!("error reply {error}"),
    }
}

fn typed(c: &mut Criterion) {
    let fill = NbFill::SCALE_100K;
    let input = decode_input(&fill).expect("a reply to decode");
    eprintln!("input: {}", input.description);
    let bytes = input.monitor_cond;
    let ports = fill.ports();
    let mut group = c.benchmark_group("typed");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    // Both time the decode only: the decoded values are dropped outside the measurement.
    group.bench_function("monitor_cond_100k", |b| {
        b.iter_with_large_drop(|| {
            let u = decode(black_box(&bytes));
            assert_eq!(u.logical_switch_port.0.len(), ports);
            u
        })
    });
    // What a client does with a message it has just received: find where it ends, then
    // decode it.
    group.bench_function("monitor_cond_100k_framed", |b| {
        b.iter_with_large_drop(|| {
            let bytes = black_box(&bytes);
            let range = Framer::new()
                .scan(bytes)
                .expect("valid stream")
                .expect("one message");
            decode(&bytes[range])
        })
    });
    group.bench_function("serde_json_value", |b| {
        b.iter_with_large_drop(|| {
            serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).expect("valid JSON")
        })
    });
    if let Some(since) = &input.monitor_cond_since {
        group.throughput(Throughput::Bytes(since.len() as u64));
        group.bench_function("monitor_cond_since_100k", |b| {
            b.iter_with_large_drop(|| {
                let u = decode_since(black_box(since));
                assert_eq!(u.logical_switch_port.0.len(), ports);
                u
            })
        });
        group.bench_function("serde_json_value_since", |b| {
            b.iter_with_large_drop(|| {
                serde_json::from_slice::<serde_json::Value>(black_box(since)).expect("valid JSON")
            })
        });
    }
    group.finish();

    // One replica row and a realistic change: the port goes up and gets a new option.
    let small = ovnlink_testkit::gen::lsp_monitor_cond_reply(1, 1);
    let (uuid, row) = match decode(&small).logical_switch_port.0.pop() {
        Some((u, TypedRowUpdate2::Initial(r))) => (u, r),
        other => panic!("unexpected {other:?}"),
    };
    let diff: RowUpdate2 = serde_json::from_str(
        r#"{"modify":{"up":true,"options":["map",[["mcast_flood","true"]]]}}"#,
    )
    .expect("valid diff");
    let mut group = c.benchmark_group("typed");
    group.bench_function("modify_one_row", |b| {
        let mut replica: HashMap<Uuid, LogicalSwitchPort> = HashMap::from([(uuid, row.clone())]);
        b.iter(|| {
            LogicalSwitchPort::apply_update2(&mut replica, uuid, black_box(&diff))
                .expect("applies");
        })
    });
    group.finish();
}

criterion_group!(benches, typed);
criterion_main!(benches);
