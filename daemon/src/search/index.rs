//! The decrypted vectors in memory while the vault is unlocked: one flat array, so that scoring
//! 100,000 entries is one pass of dot products (the vectors are unit length: dot = cosine).

use std::collections::HashMap;

use crate::timeline::vectors::{Source, StoredVector};

#[derive(Default)]
pub struct VectorIndex {
    keys: Vec<Vec<u8>>,
    sources: Vec<Source>,
    /// `keys.len() × dims` values, row by row.
    values: Vec<f32>,
    dims: usize,
    position: HashMap<Vec<u8>, usize>,
}

impl VectorIndex {
    pub fn from_stored(stored: Vec<StoredVector>) -> VectorIndex {
        let mut index = VectorIndex::default();
        for v in stored {
            index.upsert(v);
        }
        index
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds or replaces one vector. A vector of another length than the others (a different
    /// model) is ignored until a reindex replaces them all.
    pub fn upsert(&mut self, v: StoredVector) {
        if self.keys.is_empty() {
            self.dims = v.vector.len();
        }
        if v.vector.len() != self.dims || self.dims == 0 {
            return;
        }
        match self.position.get(&v.key) {
            Some(&i) => {
                self.values[i * self.dims..(i + 1) * self.dims].copy_from_slice(&v.vector);
                self.sources[i] = v.source;
            }
            None => {
                self.position.insert(v.key.clone(), self.keys.len());
                self.keys.push(v.key);
                self.sources.push(v.source);
                self.values.extend_from_slice(&v.vector);
            }
        }
    }

    /// Changes what a stored vector counts as (a reflection marked helpful or no longer).
    pub fn set_source(&mut self, key: &[u8], source: Source) {
        if let Some(&i) = self.position.get(key) {
            self.sources[i] = source;
        }
    }

    /// Removes every vector whose key starts with `prefix` (a reflection, or a session's insights).
    pub fn remove_prefix(&mut self, prefix: &[u8]) {
        let doomed: Vec<usize> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.starts_with(prefix))
            .map(|(i, _)| i)
            .collect();
        for i in doomed.into_iter().rev() {
            self.swap_remove(i);
        }
    }

    fn swap_remove(&mut self, i: usize) {
        let last = self.keys.len() - 1;
        self.position.remove(&self.keys[i]);
        if i != last {
            let (head, tail) = self.values.split_at_mut(last * self.dims);
            head[i * self.dims..(i + 1) * self.dims].copy_from_slice(&tail[..self.dims]);
            self.position.insert(self.keys[last].clone(), i);
        }
        self.keys.swap_remove(i);
        self.sources.swap_remove(i);
        self.values.truncate(last * self.dims);
    }

    /// Cosine between `query` and the stored vector for `key`, if there is one.
    /// The stored vector for `key`, if any.
    pub fn vector(&self, key: &[u8]) -> Option<&[f32]> {
        let &i = self.position.get(key)?;
        Some(self.row(i))
    }

    pub fn similarity(&self, key: &[u8], query: &[f32]) -> Option<f32> {
        let &i = self.position.get(key)?;
        (query.len() == self.dims).then(|| dot(self.row(i), query))
    }

    /// The `n` entries from resurfacing sources most similar to `query` at or above `threshold`,
    /// best first.
    pub fn nearest_resurfacing(
        &self,
        query: &[f32],
        threshold: f32,
        n: usize,
    ) -> Vec<(Vec<u8>, f32)> {
        self.nearest(query, n, |i| self.sources[i].resurfaces(), threshold)
    }

    /// The `n` nearest entries of any source, best first (the benchmark's measure).
    pub fn nearest_any(&self, query: &[f32], n: usize) -> Vec<(Vec<u8>, f32)> {
        self.nearest(query, n, |_| true, f32::MIN)
    }

    fn nearest(
        &self,
        query: &[f32],
        n: usize,
        wanted: impl Fn(usize) -> bool,
        threshold: f32,
    ) -> Vec<(Vec<u8>, f32)> {
        if query.len() != self.dims {
            return Vec::new();
        }
        let mut best: Vec<(usize, f32)> = Vec::with_capacity(n + 1);
        for i in 0..self.keys.len() {
            if !wanted(i) {
                continue;
            }
            let score = dot(self.row(i), query);
            if score < threshold || (best.len() == n && best.last().is_some_and(|b| b.1 >= score)) {
                continue;
            }
            let at = best.partition_point(|b| b.1 >= score);
            best.insert(at, (i, score));
            best.truncate(n);
        }
        best.into_iter()
            .map(|(i, s)| (self.keys[i].clone(), s))
            .collect()
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dims..(i + 1) * self.dims]
    }
}

/// Eight independent sums so the compiler can vectorise without reassociating floats.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(key: &[u8], source: Source, vector: &[f32]) -> StoredVector {
        StoredVector {
            key: key.to_vec(),
            source,
            vector: vector.to_vec(),
        }
    }

    #[test]
    fn nearest_ranks_by_cosine_and_removal_keeps_the_rest_addressable() {
        let mut index = VectorIndex::from_stored(vec![
            v(b"a", Source::SessionInsight, &[1.0, 0.0]),
            v(b"b", Source::Reflection, &[0.0, 1.0]),
            v(b"c", Source::InsightReflection, &[0.6, 0.8]),
        ]);
        let found = index.nearest_any(&[1.0, 0.0], 2);
        assert_eq!(found[0].0, b"a");
        assert_eq!(found[1].0, b"c");
        let resurfacing = index.nearest_resurfacing(&[0.0, 1.0], 0.5, 2);
        assert_eq!(resurfacing.len(), 1, "b is an ordinary reflection");
        assert_eq!(resurfacing[0].0, b"c");
        index.remove_prefix(b"a");
        assert_eq!(index.len(), 2);
        assert_eq!(
            index
                .similarity(b"c", &[0.6, 0.8])
                .map(|s| (s * 100.0).round()),
            Some(100.0)
        );
        assert_eq!(index.similarity(b"a", &[1.0, 0.0]), None);
    }
}
