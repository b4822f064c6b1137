//! [`StringMap`]: the string → string map of typed OVSDB rows, in one allocation.

use std::fmt;

/// A map from strings to strings kept sorted by key, with all its text in one buffer.
///
/// Most OVSDB map columns (`external_ids`, `options`, `other_config`) map strings to strings,
/// hold a handful of pairs, and exist in every row of a replica. A `Vec<(String, String)>`
/// costs one allocation per string plus the vector; this map is one buffer holding a small
/// index and then every key and value back to back: one allocation whatever the number of
/// pairs (none when empty), 16 bytes in the row. Reads borrow `&str`; writes rebuild the
/// buffer, which is cheap at the sizes such maps have. The API follows
/// `BTreeMap<String, String>`'s where it overlaps.
///
/// The buffer starts with the index, written in base-128 digits so that it is ASCII and the
/// whole buffer stays a `str`:
///
/// ```text
/// [w] [n: w digits] [end of string 0: w digits] … [end of string 2n-1: w digits] [strings]
/// ```
///
/// `w` is the fewest digits that hold both the pair count `n` and the length of the strings;
/// ends count from the start of the strings. For a map of four short strings the index is 6
/// bytes.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct StringMap {
    /// Index, then key 0, value 0, key 1, value 1, … (empty for an empty map). Equal maps
    /// have equal buffers: the index's width is the smallest that fits.
    buf: Box<str>,
}

/// The text of a map is longer than `u32::MAX` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong;

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("map text longer than 4 GiB")
    }
}

impl std::error::Error for TooLong {}

/// Builds a [`StringMap`] from strings appended in pairs (used by the decoders).
#[derive(Debug, Default)]
pub struct StringMapBuilder {
    text: String,
    ends: Vec<u32>,
    /// Some key so far was not greater than the key before it.
    unordered: bool,
}

impl StringMapBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        StringMapBuilder::default()
    }

    /// Appends the next string: a key, then its value, alternately.
    pub fn push(&mut self, s: &str) -> Result<(), TooLong> {
        let j = self.ends.len();
        if j >= 2 && j % 2 == 0 && !self.unordered {
            // Servers send maps sorted: checking each key against the one before while it
            // is at hand spares `build` a pass over the finished map.
            let start = if j == 2 { 0 } else { self.ends[j - 3] as usize };
            let previous = &self.text[start..self.ends[j - 2] as usize];
            self.unordered = previous >= s;
        }
        self.text.push_str(s);
        let end = u32::try_from(self.text.len()).map_err(|_| TooLong)?;
        self.ends.push(end);
        Ok(())
    }

    /// Number of strings appended so far.
    pub fn strings(&self) -> usize {
        self.ends.len()
    }

    /// Empties the builder, keeping its buffers for the next map.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.unordered = false;
    }

    /// The map, in a buffer of exactly its size (the builder keeps its own for reuse, so a
    /// decoder that builds many maps allocates once per map). Pairs may have come in any
    /// order; a repeated key is an error that names it. A trailing key without a value is
    /// dropped.
    pub fn build(&self) -> Result<StringMap, String> {
        let n = self.ends.len() / 2;
        let strings = if n == 0 {
            ""
        } else {
            &self.text[..self.ends[2 * n - 1] as usize]
        };
        let ends = self.ends[..2 * n].iter().map(|e| *e as usize);
        let map = StringMap::from_parts(n, strings, ends);
        if self.unordered {
            map.sorted()
        } else {
            Ok(map)
        }
    }
}

/// Number of base-128 digits that hold `x`.
fn digits_for(x: usize) -> usize {
    let mut w = 1;
    while w < usize::BITS as usize / 7 && x >> (7 * w) != 0 {
        w += 1;
    }
    w
}

/// Appends `x` as `w` base-128 digits, least significant first: ASCII bytes.
fn push_digits(out: &mut String, x: usize, w: usize) {
    for k in 0..w {
        out.push(char::from(((x >> (7 * k)) & 0x7f) as u8));
    }
}

impl StringMap {
    /// Starts the buffer of a map of `n` pairs whose strings are `len` bytes long: room for
    /// all of it, then the index's digit width and the pair count. The caller appends the
    /// `2n` ends (with [`push_digits`] at the returned width), then the strings.
    fn start_buffer(n: usize, len: usize) -> (String, usize) {
        let w = digits_for(n.max(len));
        let mut buf = String::with_capacity(1 + w * (1 + 2 * n) + len);
        buf.push(char::from(w as u8));
        push_digits(&mut buf, n, w);
        (buf, w)
    }

    /// The map of `n` pairs whose strings are `strings` back to back, ending at `ends`
    /// (`2n` offsets into `strings`, in order).
    fn from_parts(n: usize, strings: &str, ends: impl Iterator<Item = usize>) -> StringMap {
        if n == 0 {
            return StringMap::default();
        }
        let (mut buf, w) = StringMap::start_buffer(n, strings.len());
        for end in ends {
            push_digits(&mut buf, end, w);
        }
        buf.push_str(strings);
        StringMap {
            buf: buf.into_boxed_str(),
        }
    }

    /// Sorts the pairs by key, or names a repeated key (for a builder whose keys did not
    /// come in increasing order).
    fn sorted(self) -> Result<StringMap, String> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|a, b| self.key(*a).cmp(self.key(*b)));
        if let Some(w) = order.windows(2).find(|w| self.key(w[0]) == self.key(w[1])) {
            return Err(self.key(w[0]).to_owned());
        }
        Ok(StringMap::from_sorted(
            order.into_iter().map(|i| (self.key(i), self.value(i))),
        ))
    }
}

impl StringMap {
    /// An empty map.
    pub fn new() -> Self {
        StringMap::default()
    }

    /// Digit width of the index (0 for an empty map).
    fn width(&self) -> usize {
        self.buf.as_bytes().first().map_or(0, |w| usize::from(*w))
    }

    /// The `k`th number of the index: the pair count, then the ends.
    fn number(&self, k: usize) -> usize {
        let w = self.width();
        let digits = &self.buf.as_bytes()[1 + k * w..1 + (k + 1) * w];
        digits
            .iter()
            .rev()
            .fold(0, |x, d| (x << 7) | usize::from(*d))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        if self.buf.is_empty() {
            0
        } else {
            self.number(0)
        }
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// String `j`: key `j / 2` when `j` is even, its value when odd.
    fn string(&self, j: usize) -> &str {
        let w = self.width();
        let base = 1 + w * (1 + 2 * self.len());
        let start = if j == 0 { 0 } else { self.number(j) };
        &self.buf[base + start..base + self.number(j + 1)]
    }

    fn key(&self, i: usize) -> &str {
        self.string(2 * i)
    }

    fn value(&self, i: usize) -> &str {
        self.string(2 * i + 1)
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.key(mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Builds the map from pairs already sorted by key with unique keys, straight into its
    /// buffer.
    fn from_sorted<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> StringMap {
        let (mut len, mut n) = (0, 0);
        for (k, v) in pairs.clone() {
            len += k.len() + v.len();
            n += 1;
        }
        if n == 0 {
            return StringMap::default();
        }
        let (mut buf, w) = StringMap::start_buffer(n, len);
        let mut end = 0;
        for (k, v) in pairs.clone() {
            for s in [k, v] {
                end += s.len();
                push_digits(&mut buf, end, w);
            }
        }
        for (k, v) in pairs {
            buf.push_str(k);
            buf.push_str(v);
        }
        StringMap {
            buf: buf.into_boxed_str(),
        }
    }

    /// A map from pairs in any order; for a repeated key the last pair wins.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut pairs: Vec<(K, V)> = pairs.into_iter().collect();
        pairs.reverse();
        // Stable: of equal keys, the last given (now first) is kept by `dedup_by`.
        pairs.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        pairs.dedup_by(|a, b| a.0.as_ref() == b.0.as_ref());
        StringMap::from_sorted(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }

    /// The pairs in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            map: self,
            front: 0,
            back: self.len(),
        }
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator {
        self.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator {
        self.iter().map(|(_, v)| v)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).ok().map(|i| self.value(i))
    }

    /// Whether the map has `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, returning the old value.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Option<String> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let (old, at) = match self.find(key) {
            Ok(i) if self.value(i) == value => return Some(value.to_owned()),
            Ok(i) => (Some(self.value(i).to_owned()), i),
            Err(i) => (None, i),
        };
        let skip = old.is_some() as usize;
        let before = (0..at).map(|i| (self.key(i), self.value(i)));
        let after = (at + skip..self.len()).map(|i| (self.key(i), self.value(i)));
        *self = StringMap::from_sorted(before.chain([(key, value)]).chain(after));
        old
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let at = self.find(key).ok()?;
        let old = self.value(at).to_owned();
        let kept = (0..self.len())
            .filter(|i| *i != at)
            .map(|i| (self.key(i), self.value(i)));
        *self = StringMap::from_sorted(kept);
        Some(old)
    }

    /// Removes every pair.
    pub fn clear(&mut self) {
        *self = StringMap::new();
    }
}

/// The pairs of a [`StringMap`] in key order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    map: &'a StringMap,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        let i = self.front;
        self.front += 1;
        Some((self.map.key(i), self.map.value(i)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some((self.map.key(self.back), self.map.value(self.back)))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        StringMap::from_pairs(iter)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for StringMap {
    fn from(pairs: [(K, V); N]) -> Self {
        StringMap::from_pairs(pairs)
    }
}

impl fmt::Debug for StringMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PartialOrd for StringMap {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for StringMap {
    /// Pair by pair, as a sorted vector of pairs compares.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl std::ops::Index<&str> for StringMap {
    type Output = str;
    /// # Panics
    ///
    /// When the key is absent, as `BTreeMap` does.
    fn index(&self, key: &str) -> &str {
        self.get(key).expect("no entry found for key")
    }
}

#[cfg(test)]
mod tests {
    use super::{StringMap, StringMapBuilder};
    use std::collections::BTreeMap;

    #[test]
    fn behaves_like_a_btreemap() {
        let mut m: StringMap = [("b", "2"), ("a", "1")].into();
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m.get("a"), Some("1"));
        assert_eq!(m.insert("a", "9").as_deref(), Some("1"));
        assert_eq!(m.insert("c", String::from("3")), None);
        assert_eq!(m.insert("", ""), None);
        assert_eq!(m.remove("b").as_deref(), Some("2"));
        assert_eq!(m.remove("b"), None);
        assert!(!m.contains_key("b"));
        assert_eq!(format!("{m:?}"), r#"{"": "", "a": "9", "c": "3"}"#);
        assert_eq!(&m["c"], "3");
        assert_eq!(m.iter().next_back(), Some(("c", "3")));
        assert_eq!(m.iter().len(), 3);
        let last_wins = StringMap::from_pairs([("k", "x"), ("j", "y"), ("k", "z")]);
        assert_eq!(
            last_wins.iter().collect::<Vec<_>>(),
            [("j", "y"), ("k", "z")]
        );
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m, StringMap::new());
    }

    #[test]
    fn builder_sorts_and_rejects_repeated_keys() {
        let mut b = StringMapBuilder::new();
        for s in ["z", "1", "a", "2"] {
            b.push(s).unwrap();
        }
        let m = b.build().unwrap();
        assert_eq!(m.iter().collect::<Vec<_>>(), [("a", "2"), ("z", "1")]);
        let mut b = StringMapBuilder::new();
        for s in ["k", "1", "k", "2"] {
            b.push(s).unwrap();
        }
        assert_eq!(b.build().unwrap_err(), "k");
    }

    #[test]
    fn wide_indexes_and_equal_buffers() {
        // 300 pairs and 20 kB of text need three-digit offsets.
        let pairs: Vec<(String, String)> = (0..300)
            .map(|i| (format!("key-{i:04}"), "v".repeat(i % 97 + 40)))
            .collect();
        let m = StringMap::from_pairs(pairs.iter().rev().cloned());
        assert_eq!(m.len(), 300);
        assert!(m
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .eq(pairs.iter().cloned()));
        assert_eq!(m.get("key-0299"), Some("v".repeat(299 % 97 + 40).as_str()));
        // The same pairs from the builder and by inserts make the same buffer.
        let mut b = StringMapBuilder::new();
        let mut by_insert = StringMap::new();
        for (k, v) in &pairs {
            b.push(k).unwrap();
            b.push(v).unwrap();
            by_insert.insert(k, v);
        }
        assert_eq!(b.build().unwrap(), m);
        assert_eq!(by_insert, m);
        // Removing down to one short pair shrinks the index back to one digit.
        for (k, _) in &pairs[1..] {
            by_insert.remove(k);
        }
        assert_eq!(by_insert, StringMap::from([("key-0000", "v".repeat(40))]));
        assert_eq!(by_insert.buf.len(), 1 + 3 + 8 + 40);
    }

    proptest::proptest! {
        #[test]
        fn builder_same_as_btreemap(pairs in proptest::collection::vec(
            ("[a-d]{0,2}", "[x-z]{0,3}"), 0..12)
        ) {
            let mut b = StringMapBuilder::new();
            b.push("stale").unwrap();
            b.clear();
            let mut want = BTreeMap::new();
            let mut repeated = None;
            for (k, v) in &pairs {
                b.push(k).unwrap();
                b.push(v).unwrap();
                if want.insert(k.clone(), v.clone()).is_some() {
                    repeated = repeated.or(Some(k.clone()));
                }
            }
            match b.build() {
                Ok(m) => {
                    proptest::prop_assert!(repeated.is_none());
                    proptest::prop_assert_eq!(m, want.iter().collect::<StringMap>());
                }
                Err(k) => proptest::prop_assert!(want.contains_key(&k) && repeated.is_some()),
            }
        }

        #[test]
        fn same_as_btreemap(ops in proptest::collection::vec(
            (proptest::bool::ANY, "[a-c]{0,2}", "[x-z]{0,3}"), 0..40)
        ) {
            let mut want = BTreeMap::new();
            let mut got = StringMap::new();
            for (insert, k, v) in ops {
                if insert {
                    proptest::prop_assert_eq!(got.insert(&k, &v), want.insert(k, v));
                } else {
                    proptest::prop_assert_eq!(got.remove(&k), want.remove(&k));
                }
                let pairs: Vec<(&str, &str)> =
                    want.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                proptest::prop_assert_eq!(got.iter().collect::<Vec<_>>(), pairs);
            }
        }
    }
}
