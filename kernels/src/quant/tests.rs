#![allow(clippy::unwrap_used)]

use candle_core::quantized::{GgmlDType, QMatMul, ggml_file::qtensor_from_ggml};
use candle_core::{Device, Module, Tensor};

use super::*;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn float(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    fn floats(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.float()).collect()
    }
}

/// GGUF bytes of a random `rows × cols` matrix in `format`, made by candle's own quantiser.
fn random_ggml(random: &mut Random, format: Format, rows: usize, cols: usize) -> Vec<u8> {
    let values = Tensor::from_vec(random.floats(rows * cols), (rows, cols), &Device::Cpu).unwrap();
    let dtype = match format {
        Format::Q4_1 => GgmlDType::Q4_1,
        Format::Q8_0 => GgmlDType::Q8_0,
    };
    candle_core::quantized::QTensor::quantize(&values, dtype)
        .unwrap()
        .data()
        .unwrap()
        .into_owned()
}

fn candle_tensor(
    format: Format,
    rows: usize,
    cols: usize,
    raw: &[u8],
) -> candle_core::quantized::QTensor {
    let dtype = match format {
        Format::Q4_1 => GgmlDType::Q4_1,
        Format::Q8_0 => GgmlDType::Q8_0,
    };
    qtensor_from_ggml(dtype, raw, vec![rows, cols], &Device::Cpu).unwrap()
}

const SIZES: [(usize, usize, usize); 9] = [
    (1, 32, 1),
    (3, 64, 2),
    (7, 96, 5),
    (37, 576, 1),
    (50, 160, 9),
    (129, 576, 13),
    (11, 544, 8),
    (5, 1568, 17),
    (64, 576, 23),
];

#[test]
fn rows_dequantise_as_candle_dequantises_them() {
    let mut random = Random(7);
    for format in [Format::Q4_1, Format::Q8_0] {
        let (rows, cols) = (5, 96);
        let raw = random_ggml(&mut random, format, rows, cols);
        let ours = QMatrix::from_ggml(format, rows, cols, &raw).unwrap();
        let theirs = candle_tensor(format, rows, cols, &raw)
            .dequantize(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (r, theirs) in theirs.iter().enumerate() {
            let mut row = vec![0.0; cols];
            ours.dequantize_row(r, &mut row);
            assert_eq!(&row, theirs, "{format:?} row {r}");
        }
    }
}

#[test]
fn the_fast_kernel_agrees_with_the_scalar_loop() {
    let mut random = Random(11);
    for format in [Format::Q4_1, Format::Q8_0] {
        for (rows, cols, n) in SIZES {
            let raw = random_ggml(&mut random, format, rows, cols);
            let w = QMatrix::from_ggml(format, rows, cols, &raw).unwrap();
            let mut x = Q8Rows::new();
            x.quantize(&random.floats(n * cols), cols);
            let (mut fast, mut reference) = (Vec::new(), Vec::new());
            matmul(&w, &x, &mut fast);
            matmul_scalar(&w, &x, &mut reference);
            assert_eq!(fast.len(), n * rows);
            for (i, (a, b)) in fast.iter().zip(&reference).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                    "{format:?} {rows}×{cols}, {n} rows: [{i}] {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn products_agree_with_candles_quantised_matmul_and_with_f32() {
    let mut random = Random(13);
    for format in [Format::Q4_1, Format::Q8_0] {
        for (rows, cols, n) in SIZES {
            let raw = random_ggml(&mut random, format, rows, cols);
            let w = QMatrix::from_ggml(format, rows, cols, &raw).unwrap();
            let input = random.floats(n * cols);
            let mut x = Q8Rows::new();
            x.quantize(&input, cols);
            let mut ours = Vec::new();
            matmul(&w, &x, &mut ours);

            let qtensor = candle_tensor(format, rows, cols, &raw);
            let dense = qtensor.dequantize(&Device::Cpu).unwrap();
            let input = Tensor::from_vec(input, (n, cols), &Device::Cpu).unwrap();
            let candle = if format == Format::Q8_0 || (cols / BLOCK).is_multiple_of(2) {
                QMatMul::from_qtensor(qtensor)
                    .unwrap()
                    .forward(&input)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            } else {
                Vec::new()
            };
            let exact = input
                .matmul(&dense.t().unwrap())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            // Quantising the activations costs about 1/254 of each value; sums of `cols` terms.
            let tolerance = 0.02 * (cols as f32).sqrt();
            for i in 0..n * rows {
                assert!(
                    (ours[i] - exact[i]).abs() < tolerance,
                    "{format:?} {rows}×{cols}, {n} rows: [{i}] {} vs exact {}",
                    ours[i],
                    exact[i]
                );
                // (candle's Q4_1 loop takes only an even number of blocks per row)
                assert!(
                    candle.is_empty() || (ours[i] - candle[i]).abs() < tolerance,
                    "{format:?} {rows}×{cols}, {n} rows: [{i}] {} vs candle {}",
                    ours[i],
                    candle[i]
                );
            }
        }
    }
}

#[test]
fn stacked_matrices_give_the_products_of_their_parts() {
    let mut random = Random(17);
    let cols = 64;
    let parts: Vec<QMatrix> = [3, 5, 2]
        .iter()
        .map(|&rows| {
            let raw = random_ggml(&mut random, Format::Q4_1, rows, cols);
            QMatrix::from_ggml(Format::Q4_1, rows, cols, &raw).unwrap()
        })
        .collect();
    let stacked = QMatrix::stack(&parts).unwrap();
    let mut x = Q8Rows::new();
    x.quantize(&random.floats(3 * cols), cols);
    let mut all = Vec::new();
    matmul(&stacked, &x, &mut all);
    let mut offset = 0;
    for part in &parts {
        let mut one = Vec::new();
        matmul(part, &x, &mut one);
        for t in 0..3 {
            assert_eq!(
                &one[t * part.rows()..(t + 1) * part.rows()],
                &all[t * 10 + offset..t * 10 + offset + part.rows()]
            );
        }
        offset += part.rows();
    }
}

#[test]
fn activations_quantise_within_half_a_step() {
    let mut random = Random(19);
    let input: Vec<f32> = random.floats(96).iter().map(|v| v * 3.0).collect();
    let mut x = Q8Rows::new();
    x.quantize(&input, 96);
    for (b, block) in input.chunks_exact(BLOCK).enumerate() {
        let d = x.d[b];
        let amax = block.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        assert!((d * 127.0 - amax).abs() < 1e-5);
        let mut sum = 0;
        for (j, v) in block.iter().enumerate() {
            let q = x.q[b * BLOCK + j];
            assert!((f32::from(q) * d - v).abs() <= d / 2.0 + 1e-6);
            sum += i32::from(q);
        }
        assert!((x.s[b] - d * sum as f32).abs() < 1e-5);
    }
    // Halves round to even, as llama.cpp's AVX2 rounding does (scale 1: the largest value is 127).
    let mut halves = [0.0f32; 32];
    halves[..8].copy_from_slice(&[127.0, 0.5, 1.5, 2.5, -0.5, -2.5, 126.5, -3.7]);
    x.quantize(&halves, 32);
    assert_eq!(x.d[0], 1.0);
    assert_eq!(&x.q[..8], &[127, 0, 2, 2, 0, -2, 126, -4]);
    // A block of zeros is all zeros, not NaN.
    x.quantize(&[0.0; 32], 32);
    assert_eq!((x.d[0], x.s[0]), (0.0, 0.0));
    assert!(x.q.iter().all(|&q| q == 0));
}
