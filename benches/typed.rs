//! Typed decoding of OVN_Northbound rows (issue #3's targets), each beside its baseline
//! measured in the same run.
//!
//! - `typed/monitor_cond_100k`: the 48 MB `monitor_cond` reply for 100k logical switch ports,
//!   decoded in one pass straight into `ovn_nb::LogicalSwitchPort` rows.
//! - `typed/monitor_cond_100k_framed`: the same after `Framer::scan` has found where the
//!   message ends, as a client reading a stream does (see also `cargo bench --bench framing`).
//! - `typed/serde_json_value` (baseline): `serde_json::from_slice::<Value>` on the same bytes.
//!   Both time the decode alone; dropping the result is not measured.
//! - `typed/modify_one_row`: applying a one-row `update2` `modify` (two columns) to a typed
//!   replica row, as a client does for every change notification.
//!
//! Run: `cargo bench --bench typed`.

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

fn typed(c: &mut Criterion) {
    let bytes = ovnlink_testkit::gen::lsp_monitor_cond_reply(100_000, 1);
    let mut group = c.benchmark_group("typed");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    // Both time the decode only: the decoded values are dropped outside the measurement.
    group.bench_function("monitor_cond_100k", |b| {
        b.iter_with_large_drop(|| {
            let u = decode(black_box(&bytes));
            assert_eq!(u.logical_switch_port.0.len(), 100_000);
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
