//! Unit tests of the framer and the codec: the corpus, every split of a stream, the
//! length limit and the errors that make a stream unusable.

use super::*;
use proptest::prelude::*;
use serde_json::Value;

/// The offset and reason of an [`Error::Framing`]; panics on any other error.
fn framing_error(err: Error) -> (u64, &'static str) {
    match err {
        Error::Framing { offset, reason } => (offset, reason),
        other => panic!("expected a framing error, got {other:?}"),
    }
}

/// The size and limit of an [`Error::FrameTooLarge`]; panics on any other error.
fn too_large(err: Error) -> (usize, usize) {
    match err {
        Error::FrameTooLarge { size, limit } => (size, limit),
        other => panic!("expected a frame-too-large error, got {other:?}"),
    }
}

/// Frames `stream` with a [`Framer`] the way a caller with its own buffer does, appending
/// the stream in chunks of the given sizes (cycled). Returns the frames and what is left
/// unconsumed at the end.
fn framer_frames(
    stream: &[u8],
    chunk_sizes: &[usize],
    max_len: usize,
) -> Result<(Vec<Vec<u8>>, Vec<u8>)> {
    let mut framer = Framer::with_max_len(max_len);
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    let mut rest = stream;
    let mut sizes = chunk_sizes.iter().copied().cycle();
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        buf.extend_from_slice(chunk);
        while let Some(range) = framer.scan(&buf)? {
            frames.push(buf[range.clone()].to_vec());
            buf.drain(..range.end);
        }
        // Everything handed over has been scanned; nothing will be scanned twice.
        assert_eq!(framer.pos, buf.len());
    }
    Ok((frames, buf))
}

/// Frames `stream` with a [`FrameCodec`], appending the stream in chunks of the given sizes
/// (cycled), then signalling end of stream.
fn codec_frames(stream: &[u8], chunk_sizes: &[usize], max_len: usize) -> Result<Vec<Vec<u8>>> {
    let mut codec = FrameCodec::with_max_len(max_len);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = stream;
    let mut sizes = chunk_sizes.iter().copied().cycle();
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        codec.encode(chunk, &mut buf)?;
        while let Some(frame) = codec.decode(&mut buf)? {
            frames.push(frame.to_vec());
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buf)? {
        frames.push(frame.to_vec());
    }
    assert!(buf.is_empty());
    Ok(frames)
}

/// Frames a complete stream in one call and checks the framer and the codec agree.
fn frames(stream: &[u8]) -> Vec<Vec<u8>> {
    let (frames, rest) =
        framer_frames(stream, &[stream.len()], DEFAULT_MAX_MESSAGE_LEN).expect("valid stream");
    assert!(
        rest.iter().all(|&b| is_json_whitespace(b)),
        "left over: {rest:?}"
    );
    let from_codec =
        codec_frames(stream, &[stream.len()], DEFAULT_MAX_MESSAGE_LEN).expect("valid stream");
    assert_eq!(frames, from_codec);
    frames
}

fn texts(frames: Vec<Vec<u8>>) -> Vec<String> {
    frames
        .into_iter()
        .map(|frame| String::from_utf8(frame).expect("UTF-8"))
        .collect()
}

/// Streams covering the tricky cases, each with the frames it must give.
fn corpus() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("{}", vec!["{}"]),
        ("[]", vec!["[]"]),
        (
            r#"{"id":1,"result":{},"error":null}"#,
            vec![r#"{"id":1,"result":{},"error":null}"#],
        ),
        ("[1,2,[3,[4]],{\"a\":[]}]", vec!["[1,2,[3,[4]],{\"a\":[]}]"]),
        (r#"{"a":"{"}"#, vec![r#"{"a":"{"}"#]),
        (
            r#"{"a":"}"}{"b":"]"}"#,
            vec![r#"{"a":"}"}"#, r#"{"b":"]"}"#],
        ),
        (r#"["[","]","[[","}}"]"#, vec![r#"["[","]","[[","}}"]"#]),
        (r#"{"a":"\""}"#, vec![r#"{"a":"\""}"#]),
        (r#"{"a":"\\"}"#, vec![r#"{"a":"\\"}"#]),
        (r#"{"a":"\\\""}"#, vec![r#"{"a":"\\\""}"#]),
        (r#"["a\\"]["b"]"#, vec![r#"["a\\"]"#, r#"["b"]"#]),
        (r#"["a\"b"]["c"]"#, vec![r#"["a\"b"]"#, r#"["c"]"#]),
        (r#"["\\\\\"}\\"]"#, vec![r#"["\\\\\"}\\"]"#]),
        (
            r#"["\u0022]", "\/\b\f\n\r\t"]"#,
            vec![r#"["\u0022]", "\/\b\f\n\r\t"]"#],
        ),
        (
            "{\"clé\":\"値 ✓ 😀 ]}\",\"\u{7f}\u{80}\u{ffff}\":[\"\u{10ffff}\"]}",
            vec!["{\"clé\":\"値 ✓ 😀 ]}\",\"\u{7f}\u{80}\u{ffff}\":[\"\u{10ffff}\"]}"],
        ),
        (
            " \t\r\n{ \"a\" : [ 1 , 2 ] }\n\n[ ]\r\n ",
            vec!["{ \"a\" : [ 1 , 2 ] }", "[ ]"],
        ),
        ("[[[[[[[[[[]]]]]]]]]]{}", vec!["[[[[[[[[[[]]]]]]]]]]", "{}"]),
        (
            "{\"a\":{\"b\":{\"c\":[{}]}}}",
            vec!["{\"a\":{\"b\":{\"c\":[{}]}}}"],
        ),
        (
            r#"{"method":"update2","params":["m",{"T":{"u":{"modify":{"s":"x\"}"}}}}],"id":null}"#,
            vec![
                r#"{"method":"update2","params":["m",{"T":{"u":{"modify":{"s":"x\"}"}}}}],"id":null}"#,
            ],
        ),
    ]
}

#[test]
fn mismatched_brackets_fail_where_they_are() {
    for (stream, at) in [
        ("{]", 1),
        ("[1,}", 3),
        ("{\"a\":[{\"b\":1]}}", 12),
        ("{} [[]}", 6),
    ] {
        let mut framer = Framer::new();
        let mut found = 0;
        let err = loop {
            match framer.scan(&stream.as_bytes()[found..]) {
                Ok(Some(r)) => found += r.end,
                Ok(None) => panic!("{stream}: no error"),
                Err(e) => break e,
            }
        };
        match err {
            Error::Framing { offset, reason } => {
                assert_eq!(
                    (offset, reason),
                    (at, "closing bracket does not match the opening one"),
                    "{stream}"
                )
            }
            other => panic!("{stream}: {other}"),
        }
    }
}

#[test]
fn corpus_frames_in_one_call() {
    for (stream, expected) in corpus() {
        assert_eq!(
            texts(frames(stream.as_bytes())),
            expected,
            "stream {stream:?}"
        );
    }
}

#[test]
fn scan_returns_ranges_in_the_callers_buffer() {
    let mut framer = Framer::new();
    let buf = b" \n{\"a\":[1]}  [2]\t";
    assert_eq!(framer.scan(buf).unwrap(), Some(2..11));
    assert_eq!(framer.scan(&buf[11..]).unwrap(), Some(2..5));
    assert_eq!(framer.scan(&buf[16..]).unwrap(), None);
    assert_eq!(framer.pos, 1);
    assert_eq!(framer.base, 16);
}

#[test]
fn doc_example_ranges() {
    let mut framer = Framer::new();
    let stream = br#" {"id":1,"method":"echo","params":["}"]}[1"#;
    assert_eq!(framer.scan(stream).unwrap(), Some(1..40));
    assert_eq!(framer.scan(&stream[40..]).unwrap(), None);
    assert_eq!(framer.scan(b"[1,2]").unwrap(), Some(0..5));
}

#[test]
fn escaped_quote_and_escaped_backslash() {
    // `"a\\"` ends the string, so the array ends at the next `]`.
    assert_eq!(texts(frames(br#"["a\\"]"#)), vec![r#"["a\\"]"#]);
    // `"a\"b"` does not end at the escaped quote: the `]` after it is string content.
    let mut framer = Framer::new();
    assert_eq!(framer.scan(br#"["a\"]"#).unwrap(), None);
    assert!(framer.in_string);
    assert_eq!(framer.scan(br#"["a\"]"]"#).unwrap(), Some(0..8));
}

#[test]
fn deep_nesting() {
    let depth = 10_000;
    let mut stream = "[".repeat(depth);
    stream.push_str(&"]".repeat(depth));
    stream.push_str(&"{\"a\":".repeat(depth));
    stream.push('1');
    stream.push_str(&"}".repeat(depth));
    let frames = frames(stream.as_bytes());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].len(), 2 * depth);
    assert_eq!(frames[1].len(), 6 * depth + 1);

    let mut framer = Framer::new();
    assert_eq!(framer.scan(&stream.as_bytes()[..depth + 7]).unwrap(), None);
    assert_eq!(framer.depth, depth - 7);
}

#[test]
fn thousand_concatenated_messages() {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        let message = if i % 2 == 0 {
            format!(r#"{{"id":{i},"method":"echo","params":["{{[\"{i}\\"]}}"#)
        } else {
            format!(r#"[{i},"]",{{"k":[{i}]}}]"#)
        };
        stream.extend_from_slice(message.as_bytes());
        if i % 3 == 0 {
            stream.extend_from_slice(b"\n");
        }
        expected.push(message);
    }
    assert_eq!(texts(frames(&stream)), expected);
    let (split, rest) =
        framer_frames(&stream, &[7, 1, 64, 3], DEFAULT_MAX_MESSAGE_LEN).expect("valid stream");
    assert_eq!(texts(split), expected);
    // Message 999 is followed by a newline, which the framer scanned but cannot consume.
    assert_eq!(rest, b"\n");
}

#[test]
fn split_at_every_byte_boundary() {
    for (stream, expected) in corpus() {
        let stream = stream.as_bytes();
        for split in 0..=stream.len() {
            let sizes = [split, stream.len()];
            let (got, _) =
                framer_frames(stream, &sizes, DEFAULT_MAX_MESSAGE_LEN).expect("valid stream");
            assert_eq!(texts(got), expected, "split at {split} of {stream:?}");
            let got = codec_frames(stream, &sizes, DEFAULT_MAX_MESSAGE_LEN).expect("valid stream");
            assert_eq!(texts(got), expected, "split at {split} of {stream:?}");
        }
    }
}

#[test]
fn one_byte_at_a_time() {
    let mut all = String::new();
    let mut all_expected = Vec::new();
    for (stream, expected) in corpus() {
        let (got, _) =
            framer_frames(stream.as_bytes(), &[1], DEFAULT_MAX_MESSAGE_LEN).expect("valid stream");
        assert_eq!(texts(got), expected, "stream {stream:?}");
        let got =
            codec_frames(stream.as_bytes(), &[1], DEFAULT_MAX_MESSAGE_LEN).expect("valid stream");
        assert_eq!(texts(got), expected, "stream {stream:?}");
        all.push_str(stream);
        all_expected.extend(expected);
    }
    let got = codec_frames(all.as_bytes(), &[1], DEFAULT_MAX_MESSAGE_LEN).expect("valid");
    assert_eq!(texts(got), all_expected);
}

#[test]
fn escape_pending_across_calls() {
    let mut framer = Framer::new();
    let mut buf = br#"{"a":"\"#.to_vec();
    assert_eq!(framer.scan(&buf).unwrap(), None);
    assert!(framer.escape);
    buf.extend_from_slice(br#""}"#);
    assert_eq!(framer.scan(&buf).unwrap(), None);
    assert!(framer.in_string);
    buf.extend_from_slice(br#""}"#);
    assert_eq!(framer.scan(&buf).unwrap(), Some(0..11));
}

#[test]
fn message_of_exactly_max_len_is_accepted() {
    let message = br#"{"a":"bcd"}"#;
    assert_eq!(message.len(), 11);
    let (got, _) = framer_frames(message, &[11], 11).expect("within the limit");
    assert_eq!(got, vec![message.to_vec()]);
    // Each message counts on its own, and whitespace before a message does not count.
    let stream = br#"{"a":"bcd"}  {"a":"bcd"}"#;
    let got = codec_frames(stream, &[1], 11).expect("within the limit");
    assert_eq!(got, vec![message.to_vec(), message.to_vec()]);
}

#[test]
fn max_len_exceeded_before_the_message_ends() {
    let mut framer = Framer::with_max_len(10);
    assert_eq!(framer.max_len(), 10);
    let stream = br#"  {"a":"bcdefghij"}"#;
    // Two bytes of whitespace, then ten bytes of message: still fine.
    assert_eq!(framer.scan(&stream[..12]).unwrap(), None);
    // The eleventh byte of the message, with the end nowhere in sight: too large.
    assert_eq!(too_large(framer.scan(&stream[..13]).unwrap_err()), (11, 10));
    // The framer stays failed.
    assert_eq!(too_large(framer.scan(&stream[..13]).unwrap_err()), (11, 10));
    assert_eq!(too_large(framer.scan(b"{}").unwrap_err()), (11, 10));

    // All at once, complete: the same error.
    let mut framer = Framer::with_max_len(10);
    assert_eq!(too_large(framer.scan(stream).unwrap_err()), (11, 10));

    // Through the codec, one byte at a time.
    let err = codec_frames(stream, &[1], 10).unwrap_err();
    assert_eq!(too_large(err), (11, 10));

    // A limit of zero rejects every message.
    let mut framer = Framer::with_max_len(0);
    assert_eq!(framer.scan(b"   ").unwrap(), None);
    assert_eq!(too_large(framer.scan(b"   [").unwrap_err()), (1, 0));
}

#[test]
fn garbage_at_top_level() {
    for (stream, offset) in [
        (&b"x"[..], 0),
        (b"  1", 2),
        (b"\"a\"", 0),
        (b"null", 0),
        (b"\x00", 0),
        (b"\xef\xbb\xbf{}", 0),
        (b"{\"a\":1} x", 8),
        (b"[1]\n[2]\n,[3]", 8),
    ] {
        let err = framer_frames(stream, &[stream.len()], 100).unwrap_err();
        assert_eq!(
            framing_error(err),
            (offset, "message does not start with '{' or '['"),
            "stream {stream:?}"
        );
        let err = codec_frames(stream, &[1], 100).unwrap_err();
        assert_eq!(
            framing_error(err),
            (offset, "message does not start with '{' or '['"),
            "stream {stream:?}"
        );
    }
}

#[test]
fn unbalanced_closers() {
    for (stream, offset) in [
        (&b"}"[..], 0),
        (b" ]", 1),
        (b"{\"a\":1}}", 7),
        (b"[[]]]", 4),
        (b"{}\n\n]", 4),
    ] {
        let err = framer_frames(stream, &[stream.len()], 100).unwrap_err();
        assert_eq!(
            framing_error(err),
            (offset, "closing bracket outside any message"),
            "stream {stream:?}"
        );
        let err = codec_frames(stream, &[1], 100).unwrap_err();
        assert_eq!(
            framing_error(err),
            (offset, "closing bracket outside any message"),
            "stream {stream:?}"
        );
    }
}

#[test]
fn failed_framer_repeats_its_error_until_reset() {
    let mut framer = Framer::with_max_len(64);
    assert_eq!(framer.scan(b"[1]").unwrap(), Some(0..3));
    let err = framer.scan(b" x").unwrap_err();
    assert_eq!(
        framing_error(err),
        (4, "message does not start with '{' or '['")
    );
    let err = framer.scan(b"{}").unwrap_err();
    assert_eq!(
        framing_error(err),
        (4, "message does not start with '{' or '['")
    );
    framer.reset();
    assert_eq!(framer.max_len(), 64);
    assert_eq!(framer.scan(b"{}").unwrap(), Some(0..2));
    let err = framer.scan(b"]").unwrap_err();
    assert_eq!(
        framing_error(err),
        (2, "closing bracket outside any message")
    );
}

#[test]
fn decode_eof() {
    let reason = "stream ended inside the message that starts here";
    // A partial message left at the end of the stream.
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&b"{\"a\":"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(
        framing_error(codec.decode_eof(&mut buf).unwrap_err()),
        (0, reason)
    );
    // The codec stays failed.
    assert_eq!(
        framing_error(codec.decode(&mut buf).unwrap_err()),
        (0, reason)
    );

    // Complete messages are still delivered first; the offset counts them.
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&b"[1] \n {\"a\":[2]} [\"]"[..]);
    assert_eq!(
        codec.decode_eof(&mut buf).unwrap(),
        Some(Bytes::from_static(b"[1]"))
    );
    assert_eq!(
        codec.decode_eof(&mut buf).unwrap(),
        Some(Bytes::from_static(b"{\"a\":[2]}"))
    );
    assert_eq!(
        framing_error(codec.decode_eof(&mut buf).unwrap_err()),
        (16, reason)
    );

    // Whitespace only at the end is a clean end of stream.
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&b"{} \r\n\t "[..]);
    assert_eq!(
        codec.decode_eof(&mut buf).unwrap(),
        Some(Bytes::from_static(b"{}"))
    );
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    assert!(buf.is_empty());
}

#[test]
fn codec_drops_whitespace_between_messages() {
    let mut codec = FrameCodec::with_max_len(16);
    assert_eq!(codec.max_len(), 16);
    let mut buf = BytesMut::new();
    for _ in 0..1000 {
        buf.extend_from_slice(&[b' '; 1024]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert_eq!(buf.len(), 0);
    }
    buf.extend_from_slice(b"\n\n[\"");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(&buf[..], b"[\"");
    buf.extend_from_slice(b"]\"]  ");
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Bytes::from_static(b"[\"]\"]"))
    );
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(&buf[..], b"");
    // Offsets still count the dropped whitespace.
    buf.extend_from_slice(b"x");
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(
        framing_error(err),
        (
            1024 * 1000 + 7 + 2,
            "message does not start with '{' or '['"
        )
    );
}

#[test]
fn encoder_appends_bytes_unchanged() {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&b"x"[..]);
    codec
        .encode(Bytes::from_static(b"{\"id\":1}"), &mut buf)
        .unwrap();
    codec.encode(&b" [2]"[..], &mut buf).unwrap();
    codec.encode(&b""[..], &mut buf).unwrap();
    assert_eq!(&buf[..], b"x{\"id\":1} [2]");
}

/// Any JSON value; strings favour the characters that matter to the framer.
fn json_value() -> impl Strategy<Value = Value> {
    let string = prop_oneof!["[\\[\\]{}\"\\\\ a-z]{0,12}", any::<String>(),];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        string.clone().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(string.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A JSON value that may start a message: an object or an array.
fn json_message() -> impl Strategy<Value = Value> {
    json_value().prop_map(|value| match value {
        Value::Array(_) | Value::Object(_) => value,
        scalar => Value::Array(vec![scalar]),
    })
}

proptest! {
    #[test]
    fn random_streams_split_anywhere(
        messages in prop::collection::vec(
            (json_message(), any::<bool>(), "[ \t\r\n]{0,3}"),
            1..12,
        ),
        chunk_sizes in prop::collection::vec(1usize..80, 1..8),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (message, pretty, gap) in &messages {
            let bytes = if *pretty {
                serde_json::to_vec_pretty(message)
            } else {
                serde_json::to_vec(message)
            }
            .expect("serializable");
            stream.extend_from_slice(gap.as_bytes());
            stream.extend_from_slice(&bytes);
            expected.push(bytes);
        }
        let (got, rest) = framer_frames(&stream, &chunk_sizes, DEFAULT_MAX_MESSAGE_LEN)
            .expect("valid stream");
        prop_assert_eq!(&got, &expected);
        prop_assert!(rest.is_empty());
        let got = codec_frames(&stream, &chunk_sizes, DEFAULT_MAX_MESSAGE_LEN)
            .expect("valid stream");
        prop_assert_eq!(&got, &expected);
        for (frame, (message, _, _)) in got.iter().zip(&messages) {
            let decoded: Value = serde_json::from_slice(frame).expect("a frame is one value");
            prop_assert_eq!(&decoded, message);
        }
    }
}
