//! [`StringMap`]: the string → string map of typed OVSDB rows, in two allocations.

use std::fmt;
use std::hash::{Hash, Hasher};

/// A map from strings to strings kept sorted by key, with all its text in one buffer.
///
/// Most OVSDB map columns (`external_ids`, `options`, `other_config`) map strings to strings,
/// hold a handful of pairs, and exist in every row of a replica. A `Vec<(String, String)>`
/// costs one allocation per string plus the vector; this map keeps every key and value in one
/// text buffer and their end offsets in one array: two allocations whatever the number of
/// pairs (none when empty). Reads borrow `&str`; writes rebuild the buffers, which is cheap at
/// the sizes such maps have. The API follows `BTreeMap<String, String>`'s where it overlaps.
#[derive(Clone, Default)]
pub struct StringMap {
    /// Key 0, value 0, key 1, value 1, … back to back.
    text: Box<str>,
    /// The end offset in `text` of each string: `2 × len` entries.
    ends: Box<[u32]>,
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
}

impl StringMapBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        StringMapBuilder::default()
    }

    /// Appends the next string: a key, then its value, alternately.
    pub fn push(&mut self, s: &str) -> Result<(), TooLong> {
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
    }

    /// The map, in buffers of exactly its size (the builder keeps its own for reuse, so a
    /// decoder that builds many maps allocates twice per map). Pairs may have come in any
    /// order; a repeated key is an error that names it. A trailing key without a value is
    /// dropped.
    pub fn build(&self) -> Result<StringMap, String> {
        let n = self.ends.len() & !1;
        let end = if n == 0 { 0 } else { self.ends[n - 1] as usize };
        StringMap {
            text: Box::from(&self.text[..end]),
            ends: Box::from(&self.ends[..n]),
        }
        .sorted()
    }

    /// The map, like [`StringMapBuilder::build`], consuming the builder.
    pub fn finish(mut self) -> Result<StringMap, String> {
        if self.ends.len() % 2 == 1 {
            self.ends.pop();
            let end = self.ends.last().map_or(0, |e| *e as usize);
            self.text.truncate(end);
        }
        StringMap {
            text: self.text.into_boxed_str(),
            ends: self.ends.into_boxed_slice(),
        }
        .sorted()
    }
}

impl StringMap {
    /// Sorts the pairs by key, or names a repeated key.
    fn sorted(self) -> Result<StringMap, String> {
        let map = self;
        let sorted = (1..map.len()).all(|i| map.key(i - 1) < map.key(i));
        if sorted {
            return Ok(map);
        }
        let mut order: Vec<usize> = (0..map.len()).collect();
        order.sort_by(|a, b| map.key(*a).cmp(map.key(*b)));
        if let Some(w) = order.windows(2).find(|w| map.key(w[0]) == map.key(w[1])) {
            return Err(map.key(w[0]).to_owned());
        }
        Ok(StringMap::from_sorted(
            order.into_iter().map(|i| (map.key(i), map.value(i))),
        ))
    }
}

impl StringMap {
    /// An empty map.
    pub fn new() -> Self {
        StringMap::default()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn string(&self, j: usize) -> &str {
        let start = if j == 0 { 0 } else { self.ends[j - 1] as usize };
        &self.text[start..self.ends[j] as usize]
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

    /// Builds the map from pairs already sorted by key with unique keys.
    fn from_sorted<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> StringMap {
        let (mut len, mut n) = (0, 0);
        for (k, v) in pairs.clone() {
            len += k.len() + v.len();
            n += 2;
        }
        let mut text = String::with_capacity(len);
        let mut ends = Vec::with_capacity(n);
        for (k, v) in pairs {
            for s in [k, v] {
                text.push_str(s);
                // Offsets fit: the text is a copy of an existing map's or of checked pairs.
                ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
            }
        }
        StringMap {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
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

impl PartialEq for StringMap {
    fn eq(&self, other: &Self) -> bool {
        // Same pairs, same order: same text and same boundaries.
        self.ends == other.ends && self.text == other.text
    }
}

impl Eq for StringMap {}

impl Hash for StringMap {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
        self.ends.hash(state);
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
        let m = b.finish().unwrap();
        assert_eq!(m.iter().collect::<Vec<_>>(), [("a", "2"), ("z", "1")]);
        let mut b = StringMapBuilder::new();
        for s in ["k", "1", "k", "2"] {
            b.push(s).unwrap();
        }
        assert_eq!(b.finish().unwrap_err(), "k");
    }

    proptest::proptest! {
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
