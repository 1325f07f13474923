//! The element-wise and row-wise loops of a transformer encoder (BERT): GELU with erf, layer
//! normalisation fused with the bias and the residual, and one sequence's self-attention
//! (dot products, softmax, weighted sum of values). The matrix products are candle's (gemm).
//!
//! Each kernel is written once, generic over [`pulp::Simd`], and dispatched at run time to the
//! best level the CPU has (AVX-512, AVX2+FMA, or pulp's one-lane scalar fallback). The tests run
//! every level this CPU has against a plain f64 implementation.

use pulp::{Arch, Simd, WithSimd};

/// erf(x) ≈ x·P(x²)/Q(x²) on [-4, 4] (erf is ±1 in f32 outside): the rational approximation that
/// Eigen and XLA use for f32, within a few ulp. Numerator coefficients, highest power first.
const ERF_P: [f32; 7] = [
    -2.726_142_3e-10,
    2.770_681_4e-8,
    -2.101_024e-6,
    -5.692_506_4e-5,
    -7.349_906_3e-4,
    -2.954_6e-3,
    -1.609_603_3e-2,
];
/// Denominator coefficients, highest power first.
const ERF_Q: [f32; 5] = [
    -1.456_607_2e-5,
    -2.133_740_6e-4,
    -1.682_827e-3,
    -7.373_329e-3,
    -1.426_474e-2,
];

#[inline(always)]
fn erf<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    let x = s.min_f32s(s.max_f32s(x, s.splat_f32s(-4.0)), s.splat_f32s(4.0));
    let x2 = s.mul_f32s(x, x);
    let mut p = s.splat_f32s(ERF_P[0]);
    for c in &ERF_P[1..] {
        p = s.mul_add_f32s(x2, p, s.splat_f32s(*c));
    }
    let mut q = s.splat_f32s(ERF_Q[0]);
    for c in &ERF_Q[1..] {
        q = s.mul_add_f32s(x2, q, s.splat_f32s(*c));
    }
    s.div_f32s(s.mul_f32s(x, p), q)
}

/// GELU as BERT defines it: x·(1 + erf(x/√2))/2.
#[inline(always)]
fn gelu<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    let e = erf(
        s,
        s.mul_f32s(x, s.splat_f32s(std::f32::consts::FRAC_1_SQRT_2)),
    );
    let half_x = s.mul_f32s(x, s.splat_f32s(0.5));
    s.mul_add_f32s(half_x, e, half_x)
}

/// e^x for x ≤ 88 (underflows to 0 below about -87): 2^n · e^r with |r| ≤ ln2/2, Cephes'
/// polynomial for e^r.
#[inline(always)]
pub(crate) fn exp<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    // Adding 1.5·2^23 rounds x·log2(e) to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = s.min_f32s(s.max_f32s(x, s.splat_f32s(-87.0)), s.splat_f32s(88.0));
    let t = s.mul_add_f32s(
        x,
        s.splat_f32s(std::f32::consts::LOG2_E),
        s.splat_f32s(ROUND),
    );
    let n = s.sub_f32s(t, s.splat_f32s(ROUND));
    // r = x - n·ln2, with ln2 split in two so that n·ln2_hi is exact.
    let r = s.mul_add_f32s(n, s.splat_f32s(-0.693_359_4), x);
    let r = s.mul_add_f32s(n, s.splat_f32s(2.121_944_4e-4), r);
    let mut p = s.splat_f32s(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        5e-1,
    ] {
        p = s.mul_add_f32s(p, r, s.splat_f32s(c));
    }
    let r2 = s.mul_f32s(r, r);
    let e_r = s.add_f32s(s.mul_add_f32s(p, r2, r), s.splat_f32s(1.0));
    // 2^n: (n + 127) in the exponent field. n is the low bits of t, two's complement.
    let n_bits = s.sub_u32s(s.transmute_u32s_f32s(t), s.splat_u32s(ROUND.to_bits()));
    let biased = s.add_u32s(n_bits, s.splat_u32s(127));
    let two_n = s.transmute_f32s_u32s(s.mul_u32s(biased, s.splat_u32s(1 << 23)));
    s.mul_f32s(e_r, two_n)
}

/// `out = e^(x + shift)` chunk by chunk (same length), the tail through a partial load. A plain
/// loop rather than a closure: a closure is compiled without the dispatched CPU features, so its
/// SIMD calls would not be inlined.
#[inline(always)]
pub(crate) fn exp_shifted_into<S: Simd>(s: S, x: &[f32], shift: f32, out: &mut [f32]) {
    let shift = s.splat_f32s(shift);
    let (x_head, x_tail) = S::as_simd_f32s(x);
    let (out_head, out_tail) = S::as_mut_simd_f32s(out);
    for (o, &v) in out_head.iter_mut().zip(x_head) {
        *o = exp(s, s.add_f32s(v, shift));
    }
    let rest = exp(s, s.add_f32s(s.partial_load_f32s(x_tail), shift));
    s.partial_store_f32s(out_tail, rest);
}

#[inline(always)]
pub(crate) fn sum<S: Simd>(s: S, x: &[f32]) -> f32 {
    let (head, tail) = S::as_simd_f32s(x);
    let mut acc = s.partial_load_f32s(tail);
    for &v in head {
        acc = s.add_f32s(acc, v);
    }
    s.reduce_sum_f32s(acc)
}

#[inline(always)]
pub(crate) fn dot<S: Simd>(s: S, a: &[f32], b: &[f32]) -> f32 {
    let (a_head, a_tail) = S::as_simd_f32s(a);
    let (b_head, b_tail) = S::as_simd_f32s(b);
    let mut acc = s.mul_f32s(s.partial_load_f32s(a_tail), s.partial_load_f32s(b_tail));
    for (&x, &y) in a_head.iter().zip(b_head) {
        acc = s.mul_add_f32s(x, y, acc);
    }
    s.reduce_sum_f32s(acc)
}

/// y += a·x
#[inline(always)]
pub(crate) fn axpy<S: Simd>(s: S, y: &mut [f32], a: f32, x: &[f32]) {
    let a = s.splat_f32s(a);
    let (y_head, y_tail) = S::as_mut_simd_f32s(y);
    let (x_head, x_tail) = S::as_simd_f32s(x);
    for (y, &x) in y_head.iter_mut().zip(x_head) {
        *y = s.mul_add_f32s(a, x, *y);
    }
    let y_rest = s.mul_add_f32s(a, s.partial_load_f32s(x_tail), s.partial_load_f32s(y_tail));
    s.partial_store_f32s(y_tail, y_rest);
}

struct BiasGelu<'a> {
    x: &'a [f32],
    bias: &'a [f32],
    out: &'a mut [f32],
}

impl WithSimd for BiasGelu<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let width = self.bias.len();
        let (b_head, b_tail) = S::as_simd_f32s(self.bias);
        let b_tail = s.partial_load_f32s(b_tail);
        for (x, out) in self
            .x
            .chunks_exact(width)
            .zip(self.out.chunks_exact_mut(width))
        {
            let (x_head, x_tail) = S::as_simd_f32s(x);
            let (o_head, o_tail) = S::as_mut_simd_f32s(out);
            for ((o, &x), &b) in o_head.iter_mut().zip(x_head).zip(b_head) {
                *o = gelu(s, s.add_f32s(x, b));
            }
            let rest = gelu(s, s.add_f32s(s.partial_load_f32s(x_tail), b_tail));
            s.partial_store_f32s(o_tail, rest);
        }
    }
}

/// `out = gelu(x + bias)` row by row; `x` and `out` are rows of `bias.len()` values.
pub fn bias_gelu(x: &[f32], bias: &[f32], out: &mut [f32]) {
    check_rows(x, out, bias.len());
    Arch::new().dispatch(BiasGelu { x, bias, out });
}

struct AddLayerNorm<'a> {
    x: &'a [f32],
    bias: Option<&'a [f32]>,
    residual: Option<&'a [f32]>,
    gamma: &'a [f32],
    beta: &'a [f32],
    eps: f32,
    out: &'a mut [f32],
}

impl WithSimd for AddLayerNorm<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let width = self.gamma.len();
        for (row, out) in self.out.chunks_exact_mut(width).enumerate() {
            let range = row * width..(row + 1) * width;
            out.copy_from_slice(&self.x[range.clone()]);
            if let Some(bias) = self.bias {
                axpy(s, out, 1.0, bias);
            }
            if let Some(residual) = self.residual {
                axpy(s, out, 1.0, &residual[range]);
            }
            let mean = sum(s, out) / width as f32;
            let neg_mean = s.splat_f32s(-mean);
            // Two passes (centre, then square) as PyTorch does: no cancellation.
            let (head, tail) = S::as_mut_simd_f32s(out);
            let mut squares = s.splat_f32s(0.0);
            for v in head.iter_mut() {
                *v = s.add_f32s(*v, neg_mean);
                squares = s.mul_add_f32s(*v, *v, squares);
            }
            let centred_tail = s.add_f32s(s.partial_load_f32s(tail), neg_mean);
            // Lanes past the tail load as 0 and become -mean: keep them out of the sum.
            s.partial_store_f32s(tail, centred_tail);
            let tail_squares: f32 = tail.iter().map(|v| v * v).sum();
            let variance = (s.reduce_sum_f32s(squares) + tail_squares) / width as f32;
            let scale = 1.0 / (variance + self.eps).sqrt();
            let (head, tail) = S::as_mut_simd_f32s(out);
            let (gamma_head, gamma_tail) = S::as_simd_f32s(self.gamma);
            let (beta_head, beta_tail) = S::as_simd_f32s(self.beta);
            let scale_v = s.splat_f32s(scale);
            for ((v, &g), &b) in head.iter_mut().zip(gamma_head).zip(beta_head) {
                *v = s.mul_add_f32s(s.mul_f32s(*v, scale_v), g, b);
            }
            for ((v, &g), &b) in tail.iter_mut().zip(gamma_tail).zip(beta_tail) {
                *v = *v * scale * g + b;
            }
        }
    }
}

/// Layer normalisation over rows of `gamma.len()` values of `x + bias + residual` (each optional:
/// `bias` is one row added to every row, `residual` has the shape of `x`), into `out`.
pub fn add_layer_norm(
    x: &[f32],
    bias: Option<&[f32]>,
    residual: Option<&[f32]>,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
) {
    let width = gamma.len();
    check_rows(x, out, width);
    assert_eq!(beta.len(), width, "beta has the width of gamma");
    assert!(bias.is_none_or(|b| b.len() == width), "one bias per column");
    assert!(
        residual.is_none_or(|r| r.len() == x.len()),
        "the residual has the shape of x"
    );
    Arch::new().dispatch(AddLayerNorm {
        x,
        bias,
        residual,
        gamma,
        beta,
        eps,
        out,
    });
}

/// The shape of one sequence's self-attention.
#[derive(Clone, Copy, Debug)]
pub struct Heads {
    pub count: usize,
    pub size: usize,
}

impl Heads {
    pub fn hidden(self) -> usize {
        self.count * self.size
    }
}

struct Attention<'a> {
    qkv: &'a [f32],
    heads: Heads,
    /// The first query row `out` holds.
    first: usize,
    out: &'a mut [f32],
}

impl WithSimd for Attention<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Heads { count, size } = self.heads;
        let hidden = count * size;
        let stride = 3 * hidden;
        let len = self.qkv.len() / stride;
        let rows = self.out.len() / hidden;
        let scale = 1.0 / (size as f32).sqrt();
        let mut scores = vec![0.0f32; len];
        let mut probs = vec![0.0f32; len];
        self.out.fill(0.0);
        for h in 0..count {
            let (q_at, k_at, v_at) = (h * size, hidden + h * size, 2 * hidden + h * size);
            for i in 0..rows {
                let q = &self.qkv[(self.first + i) * stride + q_at..][..size];
                for (j, score) in scores.iter_mut().enumerate() {
                    *score = dot(s, q, &self.qkv[j * stride + k_at..][..size]) * scale;
                }
                let max = scores.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                exp_shifted_into(s, &scores, -max, &mut probs);
                let inverse = 1.0 / sum(s, &probs);
                let out = &mut self.out[i * hidden + h * size..][..size];
                for (j, &p) in probs.iter().enumerate() {
                    axpy(s, out, p * inverse, &self.qkv[j * stride + v_at..][..size]);
                }
            }
        }
    }
}

/// Self-attention of one sequence, every token attending to every other: `qkv` holds, per token,
/// the queries, keys and values of all heads (`3 × heads.hidden()` values, biases added); `out`
/// gets, per token from `first` on, each head's softmax(q·kᵀ/√size)-weighted sum of values
/// (`heads.hidden()` each). Each row depends only on its own query, so a long sequence can be
/// split into runs of rows, one per thread, with the same result.
pub fn attention(qkv: &[f32], heads: Heads, first: usize, out: &mut [f32]) {
    let hidden = heads.hidden();
    assert_eq!(qkv.len() % (3 * hidden), 0, "qkv holds whole tokens");
    assert_eq!(out.len() % hidden, 0, "out holds whole rows");
    assert!(
        (first + out.len() / hidden) * 3 * hidden <= qkv.len(),
        "the rows are the sequence's"
    );
    Arch::new().dispatch(Attention {
        qkv,
        heads,
        first,
        out,
    });
}

fn check_rows(x: &[f32], out: &[f32], width: usize) {
    assert!(
        width > 0 && x.len().is_multiple_of(width),
        "x holds whole rows"
    );
    assert_eq!(x.len(), out.len(), "out has the shape of x");
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug)]
    pub(crate) enum Level {
        Scalar,
        V3,
        V4,
    }

    /// `op` at `level`, or `None` when this CPU lacks it.
    pub(crate) fn run<Op: WithSimd>(level: Level, op: Op) -> Option<Op::Output> {
        match level {
            Level::Scalar => Some(op.with_simd(pulp::Scalar::new())),
            #[cfg(target_arch = "x86_64")]
            Level::V3 => pulp::x86::V3::try_new().map(|s| Simd::vectorize(s, op)),
            #[cfg(target_arch = "x86_64")]
            Level::V4 => pulp::x86::V4::try_new().map(|s| Simd::vectorize(s, op)),
            #[cfg(not(target_arch = "x86_64"))]
            _ => None,
        }
    }

    pub(crate) const LEVELS: [Level; 3] = [Level::Scalar, Level::V3, Level::V4];

    /// Deterministic values spread over [-scale, scale].
    pub(crate) fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    /// erf to double precision (Abramowitz & Stegun 7.1.5's series, then 7.1.14's continued
    /// fraction for the tail), independent of the approximation under test.
    fn erf64(x: f64) -> f64 {
        if x.abs() < 3.0 {
            let (mut term, mut total, mut n) = (x, x, 0.0);
            while term.abs() > 1e-17 {
                n += 1.0;
                term *= -x * x / n;
                total += term / (2.0 * n + 1.0);
            }
            total * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            let z = x.abs();
            let mut fraction = 0.0;
            for k in (1..60).rev() {
                fraction = (k as f64 / 2.0) / (z + fraction);
            }
            let erfc = (-z * z).exp() / std::f64::consts::PI.sqrt() / (z + fraction);
            (1.0 - erfc).copysign(x)
        }
    }

    fn gelu64(x: f64) -> f64 {
        0.5 * x * (1.0 + erf64(x / std::f64::consts::SQRT_2))
    }

    #[test]
    fn the_reference_erf_is_right() {
        assert!((erf64(0.5) - 0.520_499_877_813_046_5).abs() < 1e-15);
        assert!((erf64(1.0) - 0.842_700_792_949_714_9).abs() < 1e-15);
        assert!((erf64(-2.0) + 0.995_322_265_018_952_7).abs() < 1e-15);
        assert!((erf64(3.5) - 0.999_999_256_901_627_7).abs() < 1e-15);
    }

    #[test]
    fn gelu_with_bias_matches_f64_at_every_level() {
        let width = 37; // not a multiple of any vector width: tails are exercised
        let x = values(width * 9, 1, 6.0);
        let bias = values(width, 2, 1.0);
        let mut ran = 0;
        for level in LEVELS {
            let mut out = vec![f32::NAN; x.len()];
            let op = BiasGelu {
                x: &x,
                bias: &bias,
                out: &mut out,
            };
            if run(level, op).is_none() {
                continue;
            }
            ran += 1;
            for (i, (&got, &x)) in out.iter().zip(&x).enumerate() {
                let want = gelu64(f64::from(x) + f64::from(bias[i % width]));
                let err = (f64::from(got) - want).abs();
                // erf's error is ~1e-7 absolute, scaled by x/2 in GELU.
                let tolerance = 1e-6 * f64::from(x).abs().max(1.0);
                assert!(err <= tolerance, "{level:?}: gelu {x} {got} {want}");
            }
        }
        assert!(ran >= 1);
    }

    #[test]
    fn gelu_covers_the_extremes() {
        let x = [-100.0, -10.0, -4.0, -1e-8, 0.0, 1e-8, 4.0, 10.0, 100.0];
        let mut out = [0.0; 9];
        bias_gelu(&x, &[0.0], &mut out);
        for (&got, &x) in out.iter().zip(&x) {
            let want = gelu64(f64::from(x));
            let tolerance = 1e-6 * f64::from(x).abs().max(1.0);
            assert!(
                (f64::from(got) - want).abs() <= tolerance,
                "gelu({x}) = {got}"
            );
        }
    }

    struct Exp<'a>(&'a [f32], &'a mut [f32]);

    impl WithSimd for Exp<'_> {
        type Output = ();

        fn with_simd<S: Simd>(self, s: S) {
            exp_shifted_into(s, self.0, 0.0, self.1);
        }
    }

    #[test]
    fn exp_matches_f64_at_every_level() {
        let x = values(1001, 3, 87.0);
        let mut ran = 0;
        for level in LEVELS {
            let mut out = vec![f32::NAN; x.len()];
            if run(level, Exp(&x, &mut out)).is_none() {
                continue;
            }
            ran += 1;
            for (&got, &x) in out.iter().zip(&x) {
                let want = f64::from(x).exp();
                let err = (f64::from(got) - want).abs() / want;
                // Below 2^-126 the result is subnormal or flushed: only its smallness matters.
                if want > 1.2e-38 {
                    assert!(err <= 4e-7, "{level:?}: exp({x}) = {got}, want {want}");
                } else {
                    assert!(got < 1.2e-38);
                }
            }
        }
        assert!(ran >= 1);
    }

    fn layer_norm64(x: &[f32], gamma: &[f32], beta: &[f32], eps: f64) -> Vec<f64> {
        let width = gamma.len();
        let mut out = Vec::new();
        for row in x.chunks(width) {
            let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
            let var = row
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / width as f64;
            for ((&v, &g), &b) in row.iter().zip(gamma).zip(beta) {
                out.push((f64::from(v) - mean) / (var + eps).sqrt() * f64::from(g) + f64::from(b));
            }
        }
        out
    }

    #[test]
    fn layer_norm_with_bias_and_residual_matches_f64_at_every_level() {
        for width in [384, 45] {
            let rows = 5;
            // An offset far from zero: a one-pass variance would lose digits here.
            let x: Vec<f32> = values(width * rows, 4, 3.0)
                .iter()
                .map(|v| v + 100.0)
                .collect();
            let bias = values(width, 5, 0.5);
            let residual = values(width * rows, 6, 2.0);
            let gamma = values(width, 7, 1.5);
            let beta = values(width, 8, 0.3);
            let summed: Vec<f32> = (0..x.len())
                .map(|i| x[i] + bias[i % width] + residual[i])
                .collect();
            let want = layer_norm64(&summed, &gamma, &beta, 1e-12);
            let mut ran = 0;
            for level in LEVELS {
                let mut out = vec![f32::NAN; x.len()];
                let op = AddLayerNorm {
                    x: &x,
                    bias: Some(&bias),
                    residual: Some(&residual),
                    gamma: &gamma,
                    beta: &beta,
                    eps: 1e-12,
                    out: &mut out,
                };
                if run(level, op).is_none() {
                    continue;
                }
                ran += 1;
                for (&got, &want) in out.iter().zip(&want) {
                    assert!(
                        (f64::from(got) - want).abs() < 2e-5,
                        "{level:?} width {width}: {got} vs {want}"
                    );
                }
            }
            assert!(ran >= 1);
        }
    }

    fn attention64(qkv: &[f32], heads: Heads) -> Vec<f64> {
        let hidden = heads.hidden();
        let len = qkv.len() / (3 * hidden);
        let at = |token: usize, part: usize, h: usize, d: usize| {
            f64::from(qkv[token * 3 * hidden + part * hidden + h * heads.size + d])
        };
        let mut out = vec![0.0; len * hidden];
        for h in 0..heads.count {
            for i in 0..len {
                let scores: Vec<f64> = (0..len)
                    .map(|j| {
                        (0..heads.size)
                            .map(|d| at(i, 0, h, d) * at(j, 1, h, d))
                            .sum::<f64>()
                            / (heads.size as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f64 = weights.iter().sum();
                for d in 0..heads.size {
                    out[i * hidden + h * heads.size + d] =
                        (0..len).map(|j| weights[j] * at(j, 2, h, d)).sum::<f64>() / total;
                }
            }
        }
        out
    }

    #[test]
    fn attention_matches_f64_at_every_level() {
        for (heads, len) in [
            (
                Heads {
                    count: 12,
                    size: 32,
                },
                23,
            ),
            (Heads { count: 3, size: 7 }, 1),
        ] {
            let qkv = values(len * 3 * heads.hidden(), 9, 3.0);
            let want = attention64(&qkv, heads);
            let mut ran = 0;
            for level in LEVELS {
                let mut out = vec![f32::NAN; len * heads.hidden()];
                let op = Attention {
                    qkv: &qkv,
                    heads,
                    first: 0,
                    out: &mut out,
                };
                if run(level, op).is_none() {
                    continue;
                }
                ran += 1;
                for (&got, &want) in out.iter().zip(&want) {
                    assert!(
                        (f64::from(got) - want).abs() < 1e-5,
                        "{level:?}: {got} vs {want}"
                    );
                }
            }
            assert!(ran >= 1);
        }
    }

    #[test]
    fn attention_in_runs_of_rows_gives_the_rows_of_the_whole() {
        let heads = Heads {
            count: 12,
            size: 32,
        };
        let hidden = heads.hidden();
        let qkv = values(23 * 3 * hidden, 11, 2.0);
        let mut whole = vec![0.0; 23 * hidden];
        attention(&qkv, heads, 0, &mut whole);
        let mut runs = vec![f32::NAN; whole.len()];
        for (run, out) in runs.chunks_mut(5 * hidden).enumerate() {
            attention(&qkv, heads, run * 5, out);
        }
        assert_eq!(whole, runs, "bit for bit, the last run shorter");
    }

    #[test]
    fn the_dispatched_kernels_agree_with_the_scalar_fallback() {
        let heads = Heads {
            count: 12,
            size: 32,
        };
        let qkv = values(17 * 3 * heads.hidden(), 10, 2.0);
        let mut dispatched = vec![0.0; 17 * heads.hidden()];
        attention(&qkv, heads, 0, &mut dispatched);
        let mut scalar = vec![0.0; dispatched.len()];
        run(
            Level::Scalar,
            Attention {
                qkv: &qkv,
                heads,
                first: 0,
                out: &mut scalar,
            },
        );
        for (a, b) in dispatched.iter().zip(&scalar) {
            assert!((a - b).abs() < 1e-5);
        }
    }
}
