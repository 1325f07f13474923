//! The f32 steps of a llama block between the quantised products: RMS norm, rotary embedding
//! (GGML's interleaved pairs), causal attention over a key/value cache with grouped heads, SiLU
//! gating, residual sums. Plain loops compiled with AVX2 enabled when the CPU has it; here rather
//! than in the daemon so that they are optimised in debug builds too.

use rayon::prelude::*;

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
    let scale = 1.0 / (heads.size as f32).sqrt();
    out.clear();
    out.resize(n * heads.query * heads.size, 0.0);
    out.par_chunks_mut(heads.size)
        .enumerate()
        .for_each(|(i, out)| {
            let (t, h) = (i / heads.query, i % heads.query);
            let q = &q[t * q_row + h * heads.size..][..heads.size];
            let offset = (h / group) * heads.size;
            let seen = first + t + 1;
            vectorized(|| {
                let mut scores: Vec<f32> = (0..seen)
                    .map(|p| dot(q, &keys[p * kv_row + offset..][..heads.size]) * scale)
                    .collect();
                let max = scores.iter().fold(f32::NEG_INFINITY, |a, &s| a.max(s));
                let mut sum = 0.0;
                for s in &mut scores {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                for (p, s) in scores.iter().enumerate() {
                    let weight = s / sum;
                    let v = &values[p * kv_row + offset..][..heads.size];
                    for (o, v) in out.iter_mut().zip(v) {
                        *o += weight * v;
                    }
                }
            });
        });
}

/// `out[t][i] = silu(x[t][i]) · x[t][width + i]` for rows of `2 · width` values (gate, then up).
pub fn silu_gate(x: &[f32], width: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(x.len() / 2, 0.0);
    vectorized(|| {
        for (x, out) in x.chunks_exact(2 * width).zip(out.chunks_exact_mut(width)) {
            let (gate, up) = x.split_at(width);
            for ((o, g), u) in out.iter_mut().zip(gate).zip(up) {
                *o = g / (1.0 + (-g).exp()) * u;
            }
        }
    });
}

/// `x += y`.
pub fn add(x: &mut [f32], y: &[f32]) {
    vectorized(|| {
        for (x, y) in x.iter_mut().zip(y) {
            *x += y;
        }
    });
}
