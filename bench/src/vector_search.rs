//! Meaning search over 100,000 stored vectors: the part of `Timeline.Search` that grows with the
//! number of vectors (one pass of dot products over the decrypted in-memory index, top 20). The
//! index is built once per unlock; this measures the per-query cost. Vectors are random unit
//! vectors of all-MiniLM-L6-v2's 384 dimensions (the cost does not depend on their values).

use std::time::{Duration, Instant};

use interlude_daemon::search::VectorIndex;
use interlude_daemon::timeline::vectors::{Source, StoredVector};

const DIMS: usize = 384;
pub const ROW_KEY: &str = "vector_search";

pub struct Figures {
    pub vectors: usize,
    pub p50: Duration,
    pub p99: Duration,
}

pub fn measure(vectors: usize, queries: usize) -> Figures {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut unit = move || {
        let v: Vec<f32> = (0..DIMS)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / norm).collect::<Vec<f32>>()
    };
    let index = VectorIndex::from_stored(
        (0..vectors)
            .map(|i| StoredVector {
                key: (i as u128).to_be_bytes().to_vec(),
                source: Source::Reflection,
                vector: unit(),
            })
            .collect(),
    );
    let mut times: Vec<Duration> = (0..queries)
        .map(|_| {
            let query = unit();
            let started = Instant::now();
            let found = index.nearest_any(&query, 20);
            let took = started.elapsed();
            assert_eq!(found.len(), 20.min(vectors));
            took
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Figures {
        vectors,
        p50: at(0.50),
        p99: at(0.99),
    }
}

impl Figures {
    /// Table rows: what, figure, reference, ratio, aim.
    pub fn rows(&self) -> Vec<[String; 5]> {
        vec![[
            format!(
                "Meaning search over {} stored vectors (in-memory index, top 20)",
                self.vectors
            ),
            format!(
                "p50 {:.2} ms · p99 {:.2} ms",
                self.p50.as_secs_f64() * 1e3,
                self.p99.as_secs_f64() * 1e3
            ),
            "—".into(),
            "—".into(),
            "p99 ≤ 20 ms".into(),
        ]]
    }
}
