//! Framing is independent of how the transport splits the stream.
//!
//! Input layout: `[split_lo, split_hi, max_lo, max_hi, chunk, stream…]`.
//!
//! - `split` (u16, little endian, taken modulo `stream.len() + 1`): where the stream is cut in
//!   two for the two-piece run.
//! - `max` (u16, little endian): the framer's maximum message length; small values exercise
//!   [`ovsdb_proto::Error::FrameTooLarge`].
//! - `chunk` (`1 + chunk % 32`): the piece size the codec is fed with.
//!
//! The stream is framed four ways, and all four must agree on every frame (its bytes and its
//! offset in the stream) and on how the stream ends (pending, or which error at which offset):
//!
//! 1. a byte-at-a-time reference scanner written here from the framing rules,
//! 2. [`Framer::scan`] over the whole stream at once,
//! 3. [`Framer::scan`] over the stream cut in two at `split`,
//! 4. [`FrameCodec`] (tokio-util `Decoder`) fed `chunk` bytes at a time, then `decode_eof`.
//!
//! Every frame must start with `{` or `[`, end with `}` or `]`, be at most `max` bytes long,
//! and be separated from the previous one by JSON whitespace only.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ovsdb_proto::{Error, FrameCodec, Framer};
use tokio_util::codec::Decoder;

/// How a framing run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Out of bytes, between messages or inside one.
    Pending,
    /// [`Error::Framing`] at a stream offset.
    Framing { offset: u64, reason: &'static str },
    /// [`Error::FrameTooLarge`] with this limit.
    TooLarge { limit: usize },
}

/// A framing run: frames as ranges of the stream, and how it ended.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    frames: Vec<(usize, usize)>,
    end: End,
}

/// Maps a framer error, checking what can be checked about it on the spot.
fn end_of(err: Error, max_len: usize, unconsumed: usize) -> End {
    match err {
        Error::Framing { offset, reason } => End::Framing { offset, reason },
        Error::FrameTooLarge { size, limit } => {
            assert_eq!(
                limit, max_len,
                "FrameTooLarge reports a limit other than the framer's"
            );
            assert!(
                size > limit,
                "FrameTooLarge with size {size} within the limit {limit}"
            );
            assert!(
                size <= unconsumed,
                "FrameTooLarge claims {size} bytes, but only {unconsumed} are unconsumed"
            );
            End::TooLarge { limit }
        }
        other => panic!("framer returned an unexpected error: {other:?}"),
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The framing rules, one byte at a time: skip whitespace between messages; a message starts
/// with `{` or `[` and ends at the bracket that brings the depth back to zero, counting only
/// brackets outside strings; a closing bracket must match its opening one (a mismatch within
/// the first `max_len` bytes of a message is a framing error at its offset); a backslash in a
/// string escapes the next byte; a message longer than `max_len` is an error as soon as more
/// than `max_len` of its bytes are in the stream.
///
/// Framing errors are compared by offset only here (their wording is the framer's business).
fn reference(stream: &[u8], max_len: usize) -> (Vec<(usize, usize)>, End) {
    let mut frames = Vec::new();
    let mut i = 0;
    loop {
        while i < stream.len() && is_ws(stream[i]) {
            i += 1;
        }
        let Some(&first) = stream.get(i) else {
            return (frames, End::Pending);
        };
        if first != b'{' && first != b'[' {
            return (
                frames,
                End::Framing {
                    offset: i as u64,
                    reason: "",
                },
            );
        }
        let start = i;
        let mut open: Vec<u8> = Vec::new();
        let mut in_string = false;
        let mut escape = false;
        let mut end = None;
        while i < stream.len() {
            let b = stream[i];
            i += 1;
            if in_string {
                if escape {
                    escape = false;
                } else if b == b'\\' {
                    escape = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => open.push(b),
                    b'}' | b']' => {
                        // `}` is `{` + 2 and `]` is `[` + 2 in ASCII.
                        if open.pop().map(|o| o + 2) != Some(b) {
                            if i - 1 < start + max_len {
                                let offset = (i - 1) as u64;
                                return (frames, End::Framing { offset, reason: "" });
                            }
                            break;
                        }
                        if open.is_empty() {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        match end {
            Some(end) if end - start <= max_len => {
                frames.push((start, end));
                i = end;
            }
            _ if stream.len() - start > max_len => {
                return (frames, End::TooLarge { limit: max_len });
            }
            _ => return (frames, End::Pending),
        }
    }
}

/// [`Framer::scan`] over the whole stream at once.
fn framer_whole(stream: &[u8], max_len: usize) -> Run {
    let mut framer = Framer::with_max_len(max_len);
    let mut frames = Vec::new();
    let mut pos = 0;
    loop {
        match framer.scan(&stream[pos..]) {
            Ok(Some(r)) => {
                assert!(
                    r.start < r.end && r.end <= stream.len() - pos,
                    "bad range {r:?}"
                );
                frames.push((pos + r.start, pos + r.end));
                pos += r.end;
            }
            Ok(None) => {
                return Run {
                    frames,
                    end: End::Pending,
                }
            }
            Err(e) => {
                let end = end_of(e, max_len, stream.len() - pos);
                // A failed framer stays failed, with the same error.
                let again = framer
                    .scan(&stream[pos..])
                    .map(|_| ())
                    .map_err(|e| end_of(e, max_len, stream.len() - pos));
                assert_eq!(
                    again,
                    Err(end),
                    "a failed framer must keep returning its error"
                );
                return Run { frames, end };
            }
        }
    }
}

/// [`Framer::scan`] over the stream cut in two at `split`, the way a caller keeps its buffer:
/// consumed frames are drained from the front, new bytes appended at the back.
fn framer_split(stream: &[u8], max_len: usize, split: usize) -> Run {
    let mut framer = Framer::with_max_len(max_len);
    let mut frames = Vec::new();
    let mut buf = stream[..split].to_vec();
    let mut consumed = 0; // stream offset of buf[0]
    let mut rest = Some(&stream[split..]);
    loop {
        match framer.scan(&buf) {
            Ok(Some(r)) => {
                frames.push((consumed + r.start, consumed + r.end));
                buf.drain(..r.end);
                consumed += r.end;
            }
            Ok(None) => match rest.take() {
                Some(more) => buf.extend_from_slice(more),
                None => {
                    return Run {
                        frames,
                        end: End::Pending,
                    }
                }
            },
            Err(e) => {
                return Run {
                    frames,
                    end: end_of(e, max_len, buf.len()),
                }
            }
        }
    }
}

/// [`FrameCodec`] fed `chunk` bytes at a time, then `decode_eof` as tokio's `FramedRead`
/// calls it. Returns the run and whether `decode_eof` ended it with an error.
fn codec_chunks(stream: &[u8], max_len: usize, chunk: usize) -> (Run, Option<End>) {
    let mut codec = FrameCodec::with_max_len(max_len);
    assert_eq!(codec.max_len(), max_len);
    let mut src = BytesMut::new();
    let mut fed = 0;
    let mut frames = Vec::new();
    let mut take = |src: &BytesMut, frame: &[u8], fed: usize| {
        // The frame was split off the front of the buffer: it ends where the buffer now starts.
        let end = fed - src.len();
        let start = end - frame.len();
        assert_eq!(
            frame,
            &stream[start..end],
            "codec frame differs from the stream bytes"
        );
        frames.push((start, end));
    };
    for piece in stream.chunks(chunk) {
        src.extend_from_slice(piece);
        fed += piece.len();
        loop {
            match codec.decode(&mut src) {
                Ok(Some(frame)) => take(&src, &frame, fed),
                Ok(None) => break,
                Err(e) => {
                    let end = end_of(e, max_len, src.len());
                    return (Run { frames, end }, None);
                }
            }
        }
    }
    loop {
        match codec.decode_eof(&mut src) {
            Ok(Some(frame)) => take(&src, &frame, fed),
            Ok(None) => {
                assert!(
                    src.is_empty(),
                    "decode_eof left {} bytes without an error",
                    src.len()
                );
                return (
                    Run {
                        frames,
                        end: End::Pending,
                    },
                    None,
                );
            }
            Err(e) => {
                let end = end_of(e, max_len, src.len());
                return (
                    Run {
                        frames,
                        end: End::Pending,
                    },
                    Some(end),
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((header, stream)) = data.split_first_chunk::<5>() else {
        return;
    };
    let split = usize::from(u16::from_le_bytes([header[0], header[1]])) % (stream.len() + 1);
    let max_len = usize::from(u16::from_le_bytes([header[2], header[3]]));
    let chunk = 1 + usize::from(header[4] % 32);

    let (ref_frames, ref_end) = reference(stream, max_len);
    let whole = framer_whole(stream, max_len);

    // 1 vs 2: the framer follows the rules.
    assert_eq!(
        whole.frames, ref_frames,
        "Framer and the reference scanner find different frames"
    );
    match (whole.end, ref_end) {
        (End::Framing { offset: a, .. }, End::Framing { offset: b, .. }) => {
            assert_eq!(
                a, b,
                "framing error at a different offset than the reference"
            )
        }
        (a, b) => assert_eq!(a, b, "Framer and the reference scanner end differently"),
    }

    // Properties of every frame.
    let mut prev_end = 0;
    for &(start, end) in &whole.frames {
        let frame = &stream[start..end];
        assert!(
            matches!(frame[0], b'{' | b'['),
            "frame does not start with '{{' or '['"
        );
        assert!(
            matches!(frame[frame.len() - 1], b'}' | b']'),
            "frame does not end with '}}' or ']'"
        );
        assert!(
            frame.len() <= max_len,
            "frame of {} bytes exceeds the limit {max_len}",
            frame.len()
        );
        assert!(
            stream[prev_end..start].iter().all(|&b| is_ws(b)),
            "bytes other than whitespace between frames"
        );
        prev_end = end;
    }

    // 2 vs 3: cutting the stream in two changes nothing.
    let split_run = framer_split(stream, max_len, split);
    assert_eq!(
        split_run, whole,
        "feeding in two pieces (cut at {split}) differs from feeding all at once"
    );

    // 2 vs 4: the codec, fed in small pieces, agrees too.
    let (codec_run, eof_error) = codec_chunks(stream, max_len, chunk);
    assert_eq!(
        codec_run, whole,
        "FrameCodec fed {chunk} bytes at a time differs from Framer"
    );
    // At end of stream, a message still open is an error at its first byte; whitespace is not.
    let open_message = match whole.end {
        End::Pending => stream[prev_end..]
            .iter()
            .position(|&b| !is_ws(b))
            .map(|p| prev_end + p),
        _ => None,
    };
    match (open_message, eof_error) {
        (None, None) => {}
        (Some(at), Some(End::Framing { offset, .. })) => {
            assert_eq!(offset, at as u64, "decode_eof error at the wrong offset")
        }
        (open, err) => panic!("decode_eof: open message at {open:?}, but error {err:?}"),
    }
});
