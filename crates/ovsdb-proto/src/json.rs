//! JSON text from bytes, checked to be UTF-8 once.

use serde::de::{Deserialize, DeserializeSeed, Error as _};
use std::cell::Cell;
use std::ops::Range;
use std::str::Utf8Error;

thread_local! {
    /// The addresses of the text [`from_bytes`] is parsing on this thread (empty otherwise).
    static INPUT: Cell<Range<usize>> = const { Cell::new(0..0) };
}

/// Sets [`INPUT`] for the life of the guard, and puts back what was there (parses nest when
/// a visitor parses a raw payload of its own).
struct InputGuard(Range<usize>);

impl InputGuard {
    fn new(text: &str) -> InputGuard {
        let start = text.as_ptr() as usize;
        InputGuard(INPUT.with(|i| i.replace(start..start + text.len())))
    }
}

impl Drop for InputGuard {
    fn drop(&mut self) {
        INPUT.with(|i| i.set(self.0.clone()));
    }
}

/// How many bytes of the text being parsed start at `s`, when `s` borrows from it (a string
/// without escapes that a visitor got through `visit_borrowed_str`) and the parse started at
/// [`from_bytes`] or [`from_bytes_seed`]. Decoders use it to size what they collect: a
/// table of 100,000 rows reserved once instead of doubled seventeen times (each doubling
/// copies the rows, a few hundred bytes each, into freshly faulted memory).
pub(crate) fn bytes_after(s: &str) -> Option<usize> {
    let at = s.as_ptr() as usize;
    let input = INPUT.with(|i| {
        let r = i.take();
        i.set(r.clone());
        r
    });
    // A string's text is followed by at least its closing quote, so `at < end`.
    (input.start <= at && at < input.end).then(|| input.end - at)
}

/// Parses JSON from bytes as `serde_json::from_slice` does, only faster on string-heavy
/// input: the bytes are checked to be UTF-8 once, up front, then parsed as `&str`, so
/// serde_json skips the check it would otherwise make on every string. OVSDB messages are
/// mostly short strings; on a 48 MB `monitor_cond` reply decoded into typed rows the
/// per-string checks were a fifth of the time, the single up-front check is 2 ms.
///
/// Bytes that are not UTF-8 are always an error, wherever the bad byte is (serde_json alone
/// would not notice one inside a value it skips, such as an unknown table's rows). When
/// serde_json's own parse fails on them, its error is returned, with its position.
pub fn from_bytes<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let _input = InputGuard::new(text);
            serde_json::from_str(text)
        }
        Err(bad) => Err(serde_json::from_slice::<T>(bytes)
            .err()
            .unwrap_or_else(|| not_utf8(bad))),
    }
}

/// The error for bytes that serde_json parsed although they are not UTF-8.
fn not_utf8(bad: Utf8Error) -> serde_json::Error {
    serde_json::Error::custom(format!("invalid UTF-8 at byte {}", bad.valid_up_to()))
}

/// [`from_bytes`] with a seed: decodes one JSON value from all of `bytes`.
pub fn from_bytes_seed<'a, S: DeserializeSeed<'a>>(
    bytes: &'a [u8],
    seed: S,
) -> serde_json::Result<S::Value> {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let _input = InputGuard::new(text);
            let mut de = serde_json::Deserializer::from_str(text);
            let value = seed.deserialize(&mut de)?;
            de.end().map(|()| value)
        }
        Err(bad) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            seed.deserialize(&mut de)?;
            de.end()?;
            Err(not_utf8(bad))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_from_slice() {
        let v: (String, Vec<i64>) = from_bytes(br#"["caf\u00e9 \u2603", [1, 2]]"#).unwrap();
        assert_eq!(v, ("caf\u{e9} \u{2603}".to_string(), vec![1, 2]));
        let borrowed: Vec<&str> = from_bytes(br#"["a", "b"]"#).unwrap();
        assert_eq!(borrowed, ["a", "b"]);
    }

    #[test]
    fn bytes_after_a_borrowed_string() {
        struct Seen;
        impl<'de> Deserialize<'de> for Seen {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Seen, D::Error> {
                let s: &'de str = Deserialize::deserialize(d)?;
                assert_eq!(bytes_after(s), Some(s.len() + 4));
                assert_eq!(bytes_after("elsewhere"), None);
                // A nested parse sees its own text, and the outer one gets its own back.
                let inner: Vec<&str> = from_bytes(br#"["x"]"#).unwrap();
                assert_eq!(bytes_after(inner[0]), None);
                assert_eq!(bytes_after(s), Some(s.len() + 4));
                Ok(Seen)
            }
        }
        let _: Vec<Seen> = from_bytes(br#"[ "abc" ] "#).unwrap();
        assert_eq!(INPUT.with(|i| i.take()), 0..0);
    }

    #[test]
    fn bad_utf8_is_serde_json_s_error() {
        let bytes = b"[\"ok\", \"\xff\"]";
        let ours = from_bytes::<Vec<String>>(bytes).unwrap_err().to_string();
        let theirs = serde_json::from_slice::<Vec<String>>(bytes)
            .unwrap_err()
            .to_string();
        assert_eq!(ours, theirs);
        assert!(ours.contains("line 1 column"), "{ours}");
    }

    #[test]
    fn bad_utf8_in_a_skipped_value_is_an_error() {
        #[derive(serde::Deserialize, Debug)]
        struct Known {
            #[allow(dead_code)]
            known: u8,
        }
        let bytes = b"{\"known\": 1, \"skipped\": [\"\xff\"]}";
        assert!(serde_json::from_slice::<Known>(bytes).is_ok());
        let err = from_bytes::<Known>(bytes).unwrap_err().to_string();
        assert_eq!(err, "invalid UTF-8 at byte 26");
        struct Seed;
        impl<'de> DeserializeSeed<'de> for Seed {
            type Value = Known;
            fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Known, D::Error> {
                Known::deserialize(d)
            }
        }
        let err = from_bytes_seed(bytes, Seed).unwrap_err().to_string();
        assert_eq!(err, "invalid UTF-8 at byte 26");
    }
}
