//! [`SortedMap`]: the map type of typed OVSDB rows.

use std::borrow::Borrow;
use std::fmt;

/// A map kept as a vector of pairs sorted by key.
///
/// OVSDB map columns (`external_ids`, `options`, `other_config`) hold a handful of pairs, and
/// a replica holds them for every row. A sorted vector stores two pairs in one allocation of
/// two pairs, where a `BTreeMap` allocates a node for eleven; lookups are binary searches.
/// The API follows `BTreeMap`'s where it overlaps.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SortedMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SortedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K, V> SortedMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        SortedMap(Vec::new())
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, &V)> + DoubleEndedIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + DoubleEndedIterator {
        self.0.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &V> + DoubleEndedIterator {
        self.0.iter().map(|(_, v)| v)
    }

    /// The pairs as a sorted slice.
    pub fn as_slice(&self) -> &[(K, V)] {
        &self.0
    }

    /// Removes every pair.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// A map from pairs in any order; for a repeated key the last pair wins.
    pub fn from_pairs(mut pairs: Vec<(K, V)>) -> Self {
        if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
            pairs.reverse();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs.dedup_by(|a, b| a.0 == b.0);
        }
        SortedMap(pairs)
    }

    /// A map from pairs that must have unique keys; returns the first repeated key otherwise.
    pub fn try_from_pairs(mut pairs: Vec<(K, V)>) -> Result<Self, K> {
        if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            if let Some(i) = pairs.windows(2).position(|w| w[0].0 == w[1].0) {
                return Err(pairs.swap_remove(i).0);
            }
        }
        Ok(SortedMap(pairs))
    }

    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// The value of `key`, mutably.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.0[i].1)
    }

    /// Whether the map has `key`.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, returning the old value.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        SortedMap::from_pairs(iter.into_iter().collect())
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for SortedMap<K, V> {
    fn from(pairs: [(K, V); N]) -> Self {
        SortedMap::from_pairs(Vec::from(pairs))
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SortedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for SortedMap<K, V> {
    type Output = V;
    /// # Panics
    ///
    /// When the key is absent, as `BTreeMap` does.
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

#[cfg(test)]
mod tests {
    use super::SortedMap;

    #[test]
    fn behaves_like_a_btreemap() {
        let mut m: SortedMap<String, String> =
            [("b".to_string(), "2".to_string()), ("a".into(), "1".into())].into();
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m.get("a").map(String::as_str), Some("1"));
        assert_eq!(m.insert("a".into(), "9".into()).as_deref(), Some("1"));
        assert_eq!(m.insert("c".into(), "3".into()), None);
        assert_eq!(m.remove("b").as_deref(), Some("2"));
        assert!(!m.contains_key("b"));
        assert_eq!(format!("{m:?}"), r#"{"a": "9", "c": "3"}"#);
        let last_wins = SortedMap::from_pairs(vec![(1, 'x'), (0, 'y'), (1, 'z')]);
        assert_eq!(last_wins.as_slice(), [(0, 'y'), (1, 'z')]);
        assert_eq!(SortedMap::try_from_pairs(vec![(1, 'x'), (1, 'z')]), Err(1));
        assert_eq!(m["c"], "3");
    }
}
