//! Throughput of OVSDB stream framing on a realistic large message: the `monitor_cond` reply
//! for 100k OVN logical switch ports (48 MB).
//!
//! - `framing/scan`: one `Framer::scan` call over the whole message.
//! - `framing/codec_64k`: the message arriving in 64 KiB reads appended to a `BytesMut`, with
//!   `FrameCodec::decode` called after each read, as `FramedRead` does over a socket.
//! - `framing/baseline_count_quotes` and `framing/baseline_append_64k`: the same data through a
//!   trivial vectorised pass, and the 64 KiB appends without decoding, so the figures above
//!   read as ratios to what touching the bytes costs anyway.

use bytes::BytesMut;
use criterion::{
    black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput,
};
use ovsdb_proto::{FrameCodec, Framer};
use tokio_util::codec::Decoder;

/// Size of one simulated socket read.
const CHUNK: usize = 64 * 1024;

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
            let mut codec = FrameCodec::new();
            let mut buf = BytesMut::with_capacity(CHUNK);
            let mut frames = 0;
            for chunk in black_box(&message).chunks(CHUNK) {
                buf.extend_from_slice(chunk);
                while let Some(frame) = codec.decode(&mut buf).expect("valid stream") {
                    assert_eq!(frame.len(), len);
                    frames += 1;
                }
            }
            assert_eq!(frames, 1);
        })
    });

    group.bench_function("baseline_count_quotes", |b| {
        b.iter(|| {
            black_box(&message)
                .iter()
                .filter(|&&byte| byte == b'"')
                .count()
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

    group.finish();
}

criterion_group!(benches, framing);
criterion_main!(benches);
