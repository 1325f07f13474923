//! `x · w` for the encoder's linears: the result's columns split over the threads, each part one
//! single-threaded gemm. gemm's own threading splits a product of few rows poorly, and one
//! entry being checked before its write is acknowledged is a product of ~30–60 rows. Measured
//! on two cores for the encoder's four shapes: 60–120 GFLOP/s through gemm's threads against
//! 110–150 split by columns at 30–50 rows, and about the same (150–180) at 800.
//!
//! The gemm call is the workspace's only `unsafe` code (`unsafe_code` is denied everywhere else):
//! gemm has no safe interface, and the parts write interleaved columns of one matrix.

use rayon::prelude::*;

/// `x · w`, with `x` `[m, k]` and `w` `[k, n]` row by row; the result is `[m, n]` row by row.
#[allow(unsafe_code)]
pub fn product(x: &[f32], w: &[f32], k: usize, n: usize) -> Vec<f32> {
    assert!(
        k > 0 && w.len() == k * n && x.len().is_multiple_of(k),
        "x · w with mismatched shapes"
    );
    let m = x.len() / k;
    let mut out = vec![0.0; m * n];
    if m == 0 || n == 0 {
        return out;
    }
    let columns = n.div_ceil(rayon::current_num_threads().clamp(1, n));
    let firsts: Vec<usize> = (0..n).step_by(columns).collect();
    // The parts write disjoint columns of `out`, which no slice can express: they share its
    // address instead.
    let out_address = out.as_mut_ptr() as usize;
    firsts.into_par_iter().for_each(|first| {
        let width = columns.min(n - first);
        // SAFETY: `out` holds `m * n` values and outlives every part; each part is handed its
        // own run of columns.
        unsafe { columns_into(x, w, (m, k, n), first, width, out_address) };
    });
    out
}

/// Columns `first..first + width` of `x · w` into the `[m, n]` matrix at `out_address`.
///
/// # Safety
/// `out_address` points to `m * n` writable values that live until this returns, and no one
/// else reads or writes columns `first..first + width` of them meanwhile.
#[allow(unsafe_code)]
unsafe fn columns_into(
    x: &[f32],
    w: &[f32],
    (m, k, n): (usize, usize, usize),
    first: usize,
    width: usize,
    out_address: usize,
) {
    assert!(x.len() == m * k && w.len() == k * n && first + width <= n);
    let (n, k) = (n as isize, k as isize);
    // SAFETY: gemm reads `x` (`m` rows of `k`, row stride `k`) and columns `first..first+width`
    // of `w` (`k` rows, row stride `n`), all inside the slices by the assertion; it writes
    // columns `first..first+width` of the `m` rows at `out_address` (row stride `n`), which the
    // caller guarantees are this call's alone and alive.
    unsafe {
        gemm::gemm(
            m,
            width,
            k as usize,
            (out_address as *mut f32).add(first),
            1,
            n,
            false,
            x.as_ptr(),
            1,
            k,
            w.as_ptr().add(first),
            1,
            n,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f32], w: &[f32], k: usize, n: usize) -> Vec<f32> {
        let m = x.len() / k;
        let mut out = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for l in 0..k {
                    out[i * n + j] += f64::from(x[i * k + l]) * f64::from(w[l * n + j]);
                }
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }

    /// Values in [-1, 1) from a fixed sequence, so a failure reproduces.
    fn values(count: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..count)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn every_shape_and_thread_count_gives_the_plain_product() {
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            for (m, k, n) in [
                (1, 1, 1),
                (7, 5, 3),
                (30, 384, 1152),
                (33, 64, 2),
                (4, 17, 130),
            ] {
                let x = values(m * k, 1);
                let w = values(k * n, 2);
                let fast = pool.install(|| product(&x, &w, k, n));
                let plain = naive(&x, &w, k, n);
                for (f, p) in fast.iter().zip(&plain) {
                    assert!(
                        (f - p).abs() <= 1e-4 * (1.0 + p.abs()),
                        "{m}x{k}x{n}: {f} vs {p}"
                    );
                }
                assert_eq!(fast.len(), plain.len());
            }
        }
    }

    #[test]
    fn no_rows_or_no_columns_give_an_empty_result() {
        assert!(product(&[], &[1.0, 2.0], 1, 2).is_empty());
        assert!(product(&[1.0, 2.0], &[], 2, 0).is_empty());
    }

    #[test]
    fn the_same_product_twice_gives_the_same_bits() {
        let (x, w) = (values(45 * 384, 3), values(384 * 384, 4));
        assert_eq!(product(&x, &w, 384, 384), product(&x, &w, 384, 384));
    }

    #[test]
    #[should_panic(expected = "mismatched shapes")]
    fn mismatched_shapes_are_refused() {
        product(&[1.0, 2.0, 3.0], &[1.0, 2.0], 2, 1);
    }
}
