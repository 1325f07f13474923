//! The f32 steps of a llama block between the quantised products: RMS norm, rotary embedding
//! (GGML's interleaved pairs), causal attention over a key/value cache with grouped heads, SiLU
//! gating, residual sums. Attention and SiLU are written for pulp's run-time levels (AVX-512,
//! AVX2+FMA, portable) with `nn`'s vector helpers; the rest are plain loops compiled with AVX2
//! enabled when the CPU has it. Here rather than in the daemon so that they are optimised in
//! debug builds too.

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use crate::nn;

/// Runs `f` compiled for AVX2/FMA when the CPU has them.
#[inline(always)]
fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        return simd.vectorize(f);
    }
    f()
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (a, b) in a8.zip(b8) {
        for j in 0..8 {
            acc[j] += a[j] * b[j];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Each row of `x` (rows of `weight.len()` values) divided by its root mean square, times
/// `weight`.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut Vec<f32>) {
    out.clear();
    out.resize(x.len(), 0.0);
    vectorized(|| {
        for (x, out) in x
            .chunks_exact(weight.len())
            .zip(out.chunks_exact_mut(weight.len()))
        {
            let mean = dot(x, x) / weight.len() as f32;
            let scale = 1.0 / (mean + eps).sqrt();
            for ((o, x), w) in out.iter_mut().zip(x).zip(weight) {
                *o = x * scale * w;
            }
        }
    });
}

/// Rotary position embedding, GGML's "normal" layout (pairs `2i`, `2i + 1` of each head, angle
/// `position · base^(-2i/head)`): the first `rotated` values of each row of `x` (rows of `row`
/// values, row `t` at position `first + t`), in heads of `head` values.
pub fn rope(x: &mut [f32], row: usize, rotated: usize, head: usize, first: usize, base: f32) {
    let inverse: Vec<f32> = (0..head / 2)
        .map(|i| 1.0 / base.powf((2 * i) as f32 / head as f32))
        .collect();
    for (t, x) in x.chunks_exact_mut(row).enumerate() {
        let position = (first + t) as f32;
        let (sin, cos): (Vec<f32>, Vec<f32>) =
            inverse.iter().map(|f| (position * f).sin_cos()).unzip();
        vectorized(|| {
            for h in x[..rotated].chunks_exact_mut(head) {
                for ((pair, c), s) in h.chunks_exact_mut(2).zip(&cos).zip(&sin) {
                    let (a, b) = (pair[0], pair[1]);
                    pair[0] = a * c - b * s;
                    pair[1] = a * s + b * c;
                }
            }
        });
    }
}

/// Shapes for [`attention`].
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    /// Query heads.
    pub query: usize,
    /// Key/value heads (each serves `query / kv` query heads).
    pub kv: usize,
    /// Values per head.
    pub size: usize,
}

/// Causal attention for `n` new positions, the last `n` of the cache: `q` holds the queries
/// (rows of `q_row` values, the heads first), `keys` and `values` one row of `kv · size` values per
/// position so far, `out` gets `n` rows of `query · size`.
pub fn attention(
    q: &[f32],
    q_row: usize,
    keys: &[f32],
    values: &[f32],
    heads: Heads,
    out: &mut Vec<f32>,
) {
    let kv_row = heads.kv * heads.size;
    let positions = keys.len() / kv_row;
    let n = q.len() / q_row;
    let first = positions - n;
    let group = heads.query / heads.kv;
    out.clear();
    out.resize(n * heads.query * heads.size, 0.0);
    out.par_chunks_mut(heads.size)
        .enumerate()
        .for_each(|(i, out)| {
            let (t, h) = (i / heads.query, i % heads.query);
            let offset = (h / group) * heads.size;
            Arch::new().dispatch(HeadAttention {
                q: &q[t * q_row + h * heads.size..][..heads.size],
                keys: &keys[offset..],
                values: &values[offset..],
                kv_row,
                seen: first + t + 1,
                out,
            });
        });
}

/// One query head over the first `seen` positions of its key/value head (row `p` of `keys` at
/// `p · kv_row`).
struct HeadAttention<'a> {
    q: &'a [f32],
    keys: &'a [f32],
    values: &'a [f32],
    kv_row: usize,
    seen: usize,
    out: &'a mut [f32],
}

impl<'a> WithSimd for HeadAttention<'a> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        // No SIMD operations inside closures: a closure is compiled apart from this function,
        // without the CPU features it is dispatched with, and they would not inline there.
        // Four positions at a time: four independent chains instead of one long one.
        let size = self.q.len();
        let scale = 1.0 / (size as f32).sqrt();
        let kv_row = self.kv_row;
        let row = move |p: usize, rows: &'a [f32]| &rows[p * kv_row..][..size];
        let mut weights = vec![0.0; self.seen];
        let mut max = f32::NEG_INFINITY;
        for (p, w) in weights.chunks_mut(4).enumerate() {
            let p = 4 * p;
            let mut keys = [row(p, self.keys); 4];
            for (j, key) in keys.iter_mut().enumerate().take(w.len()).skip(1) {
                *key = row(p + j, self.keys);
            }
            let dots = dot4(s, self.q, keys);
            for (w, d) in w.iter_mut().zip(dots) {
                *w = d * scale;
                max = max.max(*w);
            }
        }
        let neg_max = s.splat_f32s(-max);
        let (head, tail) = S::as_mut_simd_f32s(&mut weights);
        for w in head {
            *w = nn::exp(s, s.add_f32s(*w, neg_max));
        }
        let rest = nn::exp(s, s.add_f32s(s.partial_load_f32s(tail), neg_max));
        s.partial_store_f32s(tail, rest);
        let inverse = 1.0 / nn::sum(s, &weights);
        for (p, w) in weights.chunks(4).enumerate() {
            let p = 4 * p;
            let mut values = [row(p, self.values); 4];
            let mut scaled = [0.0; 4];
            for j in 0..w.len() {
                values[j] = row(p + j, self.values);
                scaled[j] = w[j] * inverse;
            }
            axpy4(s, self.out, scaled, values);
        }
    }
}

/// The dot products of `q` with four rows (each as long as `q`).
#[inline(always)]
fn dot4<S: Simd>(s: S, q: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    let (q_head, q_tail) = S::as_simd_f32s(q);
    let (r0, t0) = S::as_simd_f32s(rows[0]);
    let (r1, t1) = S::as_simd_f32s(rows[1]);
    let (r2, t2) = S::as_simd_f32s(rows[2]);
    let (r3, t3) = S::as_simd_f32s(rows[3]);
    let q_tail = s.partial_load_f32s(q_tail);
    let mut acc = [
        s.mul_f32s(q_tail, s.partial_load_f32s(t0)),
        s.mul_f32s(q_tail, s.partial_load_f32s(t1)),
        s.mul_f32s(q_tail, s.partial_load_f32s(t2)),
        s.mul_f32s(q_tail, s.partial_load_f32s(t3)),
    ];
    for (i, &q) in q_head.iter().enumerate() {
        acc[0] = s.mul_add_f32s(q, r0[i], acc[0]);
        acc[1] = s.mul_add_f32s(q, r1[i], acc[1]);
        acc[2] = s.mul_add_f32s(q, r2[i], acc[2]);
        acc[3] = s.mul_add_f32s(q, r3[i], acc[3]);
    }
    [
        s.reduce_sum_f32s(acc[0]),
        s.reduce_sum_f32s(acc[1]),
        s.reduce_sum_f32s(acc[2]),
        s.reduce_sum_f32s(acc[3]),
    ]
}

/// `y += Σ a[j] · rows[j]` (each row as long as `y`): one load and store of `y` per four rows.
#[inline(always)]
fn axpy4<S: Simd>(s: S, y: &mut [f32], a: [f32; 4], rows: [&[f32]; 4]) {
    let a = [
        s.splat_f32s(a[0]),
        s.splat_f32s(a[1]),
        s.splat_f32s(a[2]),
        s.splat_f32s(a[3]),
    ];
    let (y_head, y_tail) = S::as_mut_simd_f32s(y);
    let (r0, t0) = S::as_simd_f32s(rows[0]);
    let (r1, t1) = S::as_simd_f32s(rows[1]);
    let (r2, t2) = S::as_simd_f32s(rows[2]);
    let (r3, t3) = S::as_simd_f32s(rows[3]);
    for (i, y) in y_head.iter_mut().enumerate() {
        let sum = s.mul_add_f32s(a[1], r1[i], s.mul_f32s(a[0], r0[i]));
        let sum = s.mul_add_f32s(a[3], r3[i], s.mul_add_f32s(a[2], r2[i], sum));
        *y = s.add_f32s(*y, sum);
    }
    let sum = s.mul_add_f32s(
        a[1],
        s.partial_load_f32s(t1),
        s.mul_f32s(a[0], s.partial_load_f32s(t0)),
    );
    let sum = s.mul_add_f32s(
        a[3],
        s.partial_load_f32s(t3),
        s.mul_add_f32s(a[2], s.partial_load_f32s(t2), sum),
    );
    s.partial_store_f32s(y_tail, s.add_f32s(s.partial_load_f32s(y_tail), sum));
}

/// `out[t][i] = silu(x[t][i]) · x[t][width + i]` for rows of `2 · width` values (gate, then up).
pub fn silu_gate(x: &[f32], width: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(x.len() / 2, 0.0);
    Arch::new().dispatch(SiluGate { x, width, out });
}

/// silu(g) = g / (1 + e^-g) (the exponent clamped by `nn::exp`: ≈ 0 far below zero).
#[inline(always)]
fn silu<S: Simd>(s: S, g: S::f32s) -> S::f32s {
    s.div_f32s(g, s.add_f32s(s.splat_f32s(1.0), nn::exp(s, s.neg_f32s(g))))
}

struct SiluGate<'a> {
    x: &'a [f32],
    width: usize,
    out: &'a mut [f32],
}

impl WithSimd for SiluGate<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        for (x, out) in self
            .x
            .chunks_exact(2 * self.width)
            .zip(self.out.chunks_exact_mut(self.width))
        {
            let (gate, up) = x.split_at(self.width);
            out.copy_from_slice(up);
            let (g_head, g_tail) = S::as_simd_f32s(gate);
            let (o_head, o_tail) = S::as_mut_simd_f32s(out);
            for (o, &g) in o_head.iter_mut().zip(g_head) {
                *o = s.mul_f32s(silu(s, g), *o);
            }
            let rest = s.mul_f32s(
                silu(s, s.partial_load_f32s(g_tail)),
                s.partial_load_f32s(o_tail),
            );
            s.partial_store_f32s(o_tail, rest);
        }
    }
}

/// `x += y`.
pub fn add(x: &mut [f32], y: &[f32]) {
    vectorized(|| {
        for (x, y) in x.iter_mut().zip(y) {
            *x += y;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::tests::{LEVELS, run, values};

    /// Causal attention of query `h` of token `t` in f64, straight from the definition.
    fn attention64(q: &[f32], keys: &[f32], values: &[f32], heads: Heads, seen: usize) -> Vec<f64> {
        let kv_row = heads.kv * heads.size;
        let dot = |a: &[f32], b: &[f32]| -> f64 {
            a.iter()
                .zip(b)
                .map(|(&x, &y)| f64::from(x) * f64::from(y))
                .sum()
        };
        let scale = 1.0 / (heads.size as f64).sqrt();
        let scores: Vec<f64> = (0..seen)
            .map(|p| dot(q, &keys[p * kv_row..][..heads.size]) * scale)
            .collect();
        let max = scores.iter().fold(f64::NEG_INFINITY, |a, &s| a.max(s));
        let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        (0..heads.size)
            .map(|i| {
                (0..seen)
                    .map(|p| weights[p] / total * f64::from(values[p * kv_row + i]))
                    .sum()
            })
            .collect()
    }

    #[test]
    fn attention_matches_f64_at_every_level_with_grouped_heads_and_a_cache() {
        // Heads of 20 values (a partial vector at the end at every level), 7 positions (not a
        // multiple of 4), the last 3 new; three query heads share each key/value head.
        let heads = Heads {
            query: 6,
            kv: 2,
            size: 20,
        };
        let (positions, n) = (7, 3);
        let kv_row = heads.kv * heads.size;
        let q_row = heads.query * heads.size + 2 * kv_row;
        let q = values(n * q_row, 1, 2.0);
        let keys = values(positions * kv_row, 2, 2.0);
        let vals = values(positions * kv_row, 3, 1.0);
        let mut out = Vec::new();
        attention(&q, q_row, &keys, &vals, heads, &mut out);
        for t in 0..n {
            for h in 0..heads.query {
                let query = &q[t * q_row + h * heads.size..][..heads.size];
                let offset = (h / 3) * heads.size;
                let seen = positions - n + t + 1;
                let expected = attention64(query, &keys[offset..], &vals[offset..], heads, seen);
                let dispatched = &out[(t * heads.query + h) * heads.size..][..heads.size];
                for level in LEVELS {
                    let mut got = vec![0.0; heads.size];
                    let op = HeadAttention {
                        q: query,
                        keys: &keys[offset..],
                        values: &vals[offset..],
                        kv_row,
                        seen,
                        out: &mut got,
                    };
                    if run(level, op).is_none() {
                        continue;
                    }
                    for (i, e) in expected.iter().enumerate() {
                        assert!(
                            (f64::from(got[i]) - e).abs() < 1e-5,
                            "{level:?} t{t} h{h} {i}"
                        );
                        assert!((f64::from(dispatched[i]) - e).abs() < 1e-5);
                    }
                }
            }
        }
    }

    #[test]
    fn silu_gate_matches_f64_at_every_level() {
        let width = 13;
        let mut x = values(2 * 2 * width, 4, 6.0);
        x[..3].copy_from_slice(&[-100.0, 100.0, 0.0]);
        let expected: Vec<f64> = x
            .chunks_exact(2 * width)
            .flat_map(|row| {
                let (gate, up) = row.split_at(width);
                gate.iter().zip(up).map(|(&g, &u)| {
                    let g = f64::from(g);
                    g / (1.0 + (-g).exp()) * f64::from(u)
                })
            })
            .collect();
        for level in LEVELS {
            let mut out = vec![0.0; x.len() / 2];
            if run(
                level,
                SiluGate {
                    x: &x,
                    width,
                    out: &mut out,
                },
            )
            .is_none()
            {
                continue;
            }
            for (o, e) in out.iter().zip(&expected) {
                assert!(
                    (f64::from(*o) - e).abs() <= 1e-5 * e.abs().max(1.0),
                    "{level:?}"
                );
            }
        }
        let mut out = Vec::new();
        silu_gate(&x, width, &mut out);
        assert_eq!(out.len(), expected.len());
    }
}
