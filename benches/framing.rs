//! Throughput of OVSDB stream framing on a realistic large message: the `monitor_cond` reply
//! for 100k OVN logical switch ports (48 MB).
//!
//! - `framing/scan`: one `Framer::scan` call over the whole message.
//! - `framing/codec_64k`: the message arriving in 64 KiB reads appended to a fresh `BytesMut`,
//!   with `FrameCodec::decode` called after each read, as `FramedRead` does over a socket.
//! - `framing/codec_64k_reused`: the same with a read buffer that outlives the message (the
//!   steady state of a connection, where the buffer's memory is already mapped).
//!
//! Baselines, measured in the same run so the figures above read as ratios:
//!
//! - `framing/baseline_append_64k`: the 64 KiB appends to a fresh `BytesMut` alone, without
//!   decoding (the floor for `codec_64k`).
//! - `framing/baseline_json_validate`: `serde_json` checking the message is valid JSON without
//!   building anything (`&RawValue`), the least work the message decoder does afterwards.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use ovsdb_proto::{FrameCodec, Framer};
use serde_json::value::RawValue;
use tokio_util::codec::Decoder;

/// Size of one simulated socket read.
const CHUNK: usize = 64 * 1024;

/// Feeds `message` to a fresh codec in [`CHUNK`]-sized reads appended to `buf`; returns the
/// length of the one frame it yields.
fn decode_in_chunks(message: &[u8], buf: &mut BytesMut) -> usize {
    let mut codec = FrameCodec::new();
    let mut frame_len = None;
    for chunk in message.chunks(CHUNK) {
        buf.extend_from_slice(chunk);
        while let Some(frame) = codec.decode(buf).expect("valid stream") {
            assert_eq!(frame_len, None, "one message, one frame");
            frame_len = Some(frame.len());
        }
    }
    frame_len.expect("a complete frame")
}

fn framing(c: &mut Criterion) {
    let message = ovnlink_testkit::gen::lsp_monitor_cond_reply(100_000, 1);
    let len = message.len();

    let mut group = c.benchmark_group("framing");
    group.throughput(Throughput::Bytes(len as u64));
    // One iteration takes tens of milliseconds: flat sampling keeps the run within the
    // measurement time.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);

    group.bench_function("scan", |b| {
        b.iter(|| {
            let mut framer = Framer::new();
            let range = framer.scan(black_box(&message)).expect("valid stream");
            assert_eq!(range, Some(0..len));
        })
    });

    group.bench_function("codec_64k", |b| {
        b.iter(|| {
            let mut buf = BytesMut::with_capacity(CHUNK);
            assert_eq!(decode_in_chunks(black_box(&message), &mut buf), len);
        })
    });

    let mut reused = BytesMut::with_capacity(len + CHUNK);
    group.bench_function("codec_64k_reused", |b| {
        b.iter(|| {
            // The frame is dropped before the next iteration, so `reserve` in the appends
            // takes the whole allocation back instead of allocating anew.
            assert_eq!(decode_in_chunks(black_box(&message), &mut reused), len);
        })
    });

    group.bench_function("baseline_append_64k", |b| {
        b.iter(|| {
            let mut buf = BytesMut::with_capacity(CHUNK);
            for chunk in black_box(&message).chunks(CHUNK) {
                buf.extend_from_slice(chunk);
            }
            assert_eq!(buf.len(), len);
            buf
        })
    });

    group.bench_function("baseline_json_validate", |b| {
        b.iter(|| {
            let raw: &RawValue = serde_json::from_slice(black_box(&message)).expect("valid JSON");
            assert_eq!(raw.get().len(), len);
        })
    });

    group.finish();
}

criterion_group!(benches, framing);
criterion_main!(benches);
