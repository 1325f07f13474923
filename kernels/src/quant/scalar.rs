//! The reference loops: plain Rust, any CPU.

use super::{Acts, BLOCK, Format, Row};

/// One block of activations to 8 bits: `d = max|x| / 127`, `q = round(x / d)` (ties to even, as
/// the AVX2 rounding llama.cpp uses), `s = d · Σq`.
#[inline(always)]
pub(super) fn quantize_block(x: &[f32], q: &mut [i8], d: &mut f32, s: &mut f32) {
    let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let scale = amax / 127.0;
    let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    let mut sum = 0i32;
    // Adding and taking away 1.5·2²³ rounds to the nearest integer, ties to even, for |v| < 2²²
    // (here |v| ≤ 127): the same result as `round_ties_even`, which is a slow libm call here.
    const ROUND: f32 = 12_582_912.0;
    for (q, x) in q.iter_mut().zip(x) {
        let v = ((x * inverse + ROUND) - ROUND) as i32;
        sum += v;
        *q = v as i8;
    }
    *d = scale;
    *s = scale * sum as f32;
}

/// One weight row · one activation row.
pub(super) fn dot(w: Row<'_>, x: Acts<'_>) -> f32 {
    let mut total = 0.0f32;
    for b in 0..w.d.len() {
        let a = &x.q[b * BLOCK..(b + 1) * BLOCK];
        match w.format {
            Format::Q4_1 => {
                let q = &w.q[b * BLOCK / 2..(b + 1) * BLOCK / 2];
                let mut sum = 0i32;
                for j in 0..BLOCK / 2 {
                    sum += i32::from(q[j] & 0x0F) * i32::from(a[j]);
                    sum += i32::from(q[j] >> 4) * i32::from(a[j + BLOCK / 2]);
                }
                total += w.d[b] * x.d[b] * sum as f32 + w.m[b] * x.s[b];
            }
            Format::Q8_0 => {
                let q = &w.q[b * BLOCK..(b + 1) * BLOCK];
                let sum: i32 = q
                    .iter()
                    .zip(a)
                    .map(|(&q, &a)| i32::from(q as i8) * i32::from(a))
                    .sum();
                total += w.d[b] * x.d[b] * sum as f32;
            }
        }
    }
    total
}
