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
            *out += w.m.iter().zip(x.s).map(|(m, s)| m * s).sum::<f32>();
        }
    }
    out
}

/// The AVX-512 kernel: two blocks per 512-bit register (one per half), each pair of weight
/// blocks unpacked once and multiplied with up to eight activation rows.
pub(super) mod v4 {
    use core::arch::x86_64::{__m512, __m512i};

    use pulp::x86::V4;

    use super::super::{Acts, BLOCK, Format, Q8Rows, QMatrix, Row};

    /// `out[r * n + t]` = row `first + r` of `w` · activation row `t`, as an operation for
    /// [`V4::vectorize`] (a closure there is not always inlined, and then runs without AVX-512:
    /// every intrinsic a function call).
    pub(in super::super) struct Rows<'a> {
        pub simd: V4,
        pub w: &'a QMatrix,
        pub first: usize,
        pub x: &'a Q8Rows,
        pub out: &'a mut [f32],
        pub n: usize,
    }

    impl pulp::WithSimd for Rows<'_> {
        type Output = ();

        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            let Rows {
                simd,
                w,
                first,
                x,
                out,
                n,
            } = self;
            rows(simd, w, first, x, out, n);
        }
    }

    #[inline(always)]
    fn rows(simd: V4, w: &QMatrix, first: usize, x: &Q8Rows, out: &mut [f32], n: usize) {
        for (r, out) in out.chunks_exact_mut(n).enumerate() {
            let row = w.row(first + r);
            let mut t = 0;
            while t + 4 <= n {
                let acts = core::array::from_fn(|i| x.blocks(t + i));
                out[t..t + 4].copy_from_slice(&dot::<4>(simd, row, acts));
                t += 4;
            }
            if t + 2 <= n {
                let acts = core::array::from_fn(|i| x.blocks(t + i));
                out[t..t + 2].copy_from_slice(&dot::<2>(simd, row, acts));
                t += 2;
            }
            if t < n {
                out[t] = dot::<1>(simd, row, [x.blocks(t)])[0];
            }
        }
    }

    /// 64 bytes from `b` (zeros past its end).
    #[inline(always)]
    fn load64<T: Copy + Default>(b: &[T]) -> __m512i
    where
        [T; 64]: pulp::bytemuck::Pod,
    {
        let mut a = [T::default(); 64];
        if b.len() >= 64 {
            a.copy_from_slice(&b[..64]);
        } else {
            a[..b.len()].copy_from_slice(b);
        }
        pulp::cast(a)
    }

    /// `[a[i]·b[i] ×8, a[i + 1]·b[i + 1] ×8]` (zero for a missing `i + 1`).
    #[inline(always)]
    fn pair(simd: V4, a: &[f32], b: &[f32], i: usize) -> __m512 {
        let f = simd.avx512f;
        let second = if i + 1 < a.len() {
            a[i + 1] * b[i + 1]
        } else {
            0.0
        };
        f._mm512_mask_blend_ps(
            0xFF00,
            f._mm512_set1_ps(a[i] * b[i]),
            f._mm512_set1_ps(second),
        )
    }

    /// Σ a·b, sixteen lanes at a time.
    #[inline(always)]
    fn dot_f32(simd: V4, a: &[f32], b: &[f32]) -> f32 {
        let mut acc = simd.avx512f._mm512_setzero_ps();
        let mut ca = a.chunks_exact(16);
        let mut cb = b.chunks_exact(16);
        for (a, b) in (&mut ca).zip(&mut cb) {
            let a: [f32; 16] = a.try_into().unwrap_or([0.0; 16]);
            let b: [f32; 16] = b.try_into().unwrap_or([0.0; 16]);
            acc = simd
                .avx512f
                ._mm512_fmadd_ps(pulp::cast(a), pulp::cast(b), acc);
        }
        let tail: f32 = ca
            .remainder()
            .iter()
            .zip(cb.remainder())
            .map(|(a, b)| a * b)
            .sum();
        simd.avx512f._mm512_reduce_add_ps(acc) + tail
    }

    #[inline(always)]
    fn dot<const N: usize>(simd: V4, w: Row<'_>, x: [Acts<'_>; N]) -> [f32; N] {
        let f = simd.avx512f;
        let bw = simd.avx512bw;
        let mut acc = [f._mm512_setzero_ps(); N];
        let ones = f._mm512_set1_epi16(1);
        let nibble = f._mm512_set1_epi8(0x0F);
        let zero = f._mm512_setzero_si512();
        let nb = w.d.len();
        let mut b = 0;
        while b < nb {
            // The two weight blocks as 64 bytes, block `b` then block `b + 1` (zeros for a
            // missing one), and what to do with the activations.
            let (q, sign) = match w.format {
                Format::Q4_1 => {
                    let q = &w.q[b * BLOCK / 2..];
                    let mut two = [0u8; 32];
                    if q.len() >= 32 {
                        two.copy_from_slice(&q[..32]);
                    } else {
                        two[..16].copy_from_slice(&q[..16]);
                    }
                    let q = f._mm512_castsi256_si512(pulp::cast(two));
                    // 128-bit lanes [q0, q0, q1, q1]: low nibbles in lanes 0 and 2, high in 1 and 3.
                    let q = f._mm512_shuffle_i64x2::<0x50>(q, q);
                    let lo = f._mm512_and_si512(q, nibble);
                    let hi = f._mm512_and_si512(bw._mm512_srli_epi16::<4>(q), nibble);
                    (f._mm512_mask_blend_epi64(0xCC, lo, hi), None)
                }
                Format::Q8_0 => {
                    let q = load64(&w.q[b * BLOCK..]);
                    (bw._mm512_abs_epi8(q), Some(bw._mm512_movepi8_mask(q)))
                }
            };
            for (acc, x) in acc.iter_mut().zip(&x) {
                let mut a = load64(&x.q[b * BLOCK..]);
                if let Some(negative) = sign {
                    a = bw._mm512_mask_sub_epi8(a, negative, zero, a);
                }
                let p = bw._mm512_madd_epi16(bw._mm512_maddubs_epi16(q, a), ones);
                let scale = pair(simd, w.d, x.d, b);
                *acc = f._mm512_fmadd_ps(f._mm512_cvtepi32_ps(p), scale, *acc);
            }
            b += 2;
        }
        let mut out = [0.0; N];
        for ((out, acc), x) in out.iter_mut().zip(acc).zip(&x) {
            *out = f._mm512_reduce_add_ps(acc);
            if w.format == Format::Q4_1 {
                // The minimum's share: Σ_b m_b · d_b^x · Σq^x.
                *out += dot_f32(simd, w.m, x.s);
            }
        }
        out
    }
}
