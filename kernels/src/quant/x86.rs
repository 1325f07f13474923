//! AVX2 block dot products (llama.cpp's `ggml_vec_dot_q4_1_q8_1` and `…q8_0_q8_0` for AVX2),
//! each weight block unpacked once and multiplied with up to four activation rows.

use core::arch::x86_64::{__m128i, __m256, __m256i};

use pulp::x86::V3;

use super::{Acts, BLOCK, Format, Q8Rows, QMatrix, Row};

#[inline(always)]
fn load16(b: &[u8]) -> __m128i {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    pulp::cast(a)
}

#[inline(always)]
fn load32(b: &[u8]) -> __m256i {
    let mut a = [0u8; 32];
    a.copy_from_slice(&b[..32]);
    pulp::cast(a)
}

#[inline(always)]
fn load32_i8(b: &[i8]) -> __m256i {
    let mut a = [0i8; 32];
    a.copy_from_slice(&b[..32]);
    pulp::cast(a)
}

#[inline(always)]
fn hsum(v: __m256) -> f32 {
    let v: [f32; 8] = pulp::cast(v);
    (v[0] + v[4]) + (v[1] + v[5]) + ((v[2] + v[6]) + (v[3] + v[7]))
}

/// Σ a·b, eight lanes at a time (not one long chain of dependent additions).
#[inline(always)]
fn dot_f32(simd: V3, a: &[f32], b: &[f32]) -> f32 {
    let mut acc = simd.avx._mm256_setzero_ps();
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (a, b) in (&mut ca).zip(&mut cb) {
        let a: [f32; 8] = a.try_into().unwrap_or([0.0; 8]);
        let b: [f32; 8] = b.try_into().unwrap_or([0.0; 8]);
        acc = simd.fma._mm256_fmadd_ps(pulp::cast(a), pulp::cast(b), acc);
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(a, b)| a * b)
        .sum();
    hsum(acc) + tail
}

/// `out[r * n + t]` = row `first + r` of `w` · activation row `t`.
#[inline(always)]
pub(super) fn rows(simd: V3, w: &QMatrix, first: usize, x: &Q8Rows, out: &mut [f32], n: usize) {
    for (r, out) in out.chunks_exact_mut(n).enumerate() {
        let row = w.row(first + r);
        let mut t = 0;
        while t + 4 <= n {
            let acts = [
                x.blocks(t),
                x.blocks(t + 1),
                x.blocks(t + 2),
                x.blocks(t + 3),
            ];
            out[t..t + 4].copy_from_slice(&dot(simd, row, acts));
            t += 4;
        }
        while t < n {
            out[t] = dot(simd, row, [x.blocks(t)])[0];
            t += 1;
        }
    }
}

#[inline(always)]
fn dot<const N: usize>(simd: V3, w: Row<'_>, x: [Acts<'_>; N]) -> [f32; N] {
    let mut acc = [simd.avx._mm256_setzero_ps(); N];
    let ones = simd.avx._mm256_set1_epi16(1);
    let nibble = simd.sse2._mm_set1_epi8(0x0F);
    let nb = w.d.len();
    for b in 0..nb {
        match w.format {
            Format::Q4_1 => {
                let q = load16(&w.q[b * BLOCK / 2..]);
                let lo = simd.sse2._mm_and_si128(q, nibble);
                let hi = simd
                    .sse2
                    ._mm_and_si128(simd.sse2._mm_srli_epi16::<4>(q), nibble);
                let q: __m256i = pulp::cast([lo, hi]);
                for (acc, x) in acc.iter_mut().zip(&x) {
                    let a = load32_i8(&x.q[b * BLOCK..]);
                    let p = simd
                        .avx2
                        ._mm256_madd_epi16(simd.avx2._mm256_maddubs_epi16(q, a), ones);
                    let scale = simd.avx._mm256_set1_ps(w.d[b] * x.d[b]);
                    *acc = simd
                        .fma
                        ._mm256_fmadd_ps(simd.avx._mm256_cvtepi32_ps(p), scale, *acc);
                }
            }
            Format::Q8_0 => {
                let q = load32(&w.q[b * BLOCK..]);
                let magnitude = simd.avx2._mm256_sign_epi8(q, q);
                for (acc, x) in acc.iter_mut().zip(&x) {
                    let a = simd.avx2._mm256_sign_epi8(load32_i8(&x.q[b * BLOCK..]), q);
                    let p = simd
                        .avx2
                        ._mm256_madd_epi16(simd.avx2._mm256_maddubs_epi16(magnitude, a), ones);
                    let scale = simd.avx._mm256_set1_ps(w.d[b] * x.d[b]);
                    *acc = simd
                        .fma
                        ._mm256_fmadd_ps(simd.avx._mm256_cvtepi32_ps(p), scale, *acc);
                }
            }
        }
    }
    let mut out = [0.0; N];
    for ((out, acc), x) in out.iter_mut().zip(acc).zip(&x) {
        *out = hsum(acc);
        if w.format == Format::Q4_1 {
            // The minimum's share: Σ_b m_b · d_b^x · Σq^x.
            *out += dot_f32(simd, w.m, x.s);
        }
    }
    out
}
