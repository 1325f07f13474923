//! Matrix products with GGUF block-quantised weights, as llama.cpp computes them: the weights stay
//! in their 4- or 8-bit blocks of 32 values, the activations are quantised once per product to
//! 8 bits per value (blocks of 32 with a scale and, for Q4_1, the scaled block sum: llama.cpp's
//! Q8_1), and each block pair is an integer dot product. AVX2 when the CPU has it (chosen at run
//! time), a scalar loop otherwise; the rows of a product are shared out over rayon's threads.
//!
//! Formats: Q4_1 (the default generator's layers) and Q8_0 (its token embedding, also its
//! output). Other formats stay with candle.

use rayon::prelude::*;

pub mod ops;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Values per block, in every format here.
pub const BLOCK: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Per block: f16 scale `d`, f16 minimum `m`, 32 unsigned nibbles `q`: value = d·q + m.
    Q4_1,
    /// Per block: f16 scale `d`, 32 signed bytes `q`: value = d·q.
    Q8_0,
}

impl Format {
    /// Bytes per block in a GGUF file.
    pub fn block_bytes(self) -> usize {
        match self {
            Format::Q4_1 => 20,
            Format::Q8_0 => 34,
        }
    }

    fn quant_bytes(self) -> usize {
        match self {
            Format::Q4_1 => BLOCK / 2,
            Format::Q8_0 => BLOCK,
        }
    }
}

/// A row-major matrix of quantised blocks, its scales unpacked to f32 at load (the hot loop
/// then needs no f16 conversion).
#[derive(Debug, Clone)]
pub struct QMatrix {
    format: Format,
    rows: usize,
    cols: usize,
    /// Per block.
    d: Vec<f32>,
    /// Per block (Q4_1 only).
    m: Vec<f32>,
    /// Per block: Q4_1 16 bytes, value `i` in the low nibble of byte `i` and value `16 + i` in its
    /// high nibble (GGML's order); Q8_0 32 signed bytes.
    q: Vec<u8>,
}

impl QMatrix {
    /// A `rows × cols` matrix from its bytes in a GGUF file.
    pub fn from_ggml(format: Format, rows: usize, cols: usize, raw: &[u8]) -> Result<Self, String> {
        if !cols.is_multiple_of(BLOCK) {
            return Err(format!(
                "rows of {cols} values are not whole blocks of {BLOCK}"
            ));
        }
        let blocks = rows * cols / BLOCK;
        if raw.len() != blocks * format.block_bytes() {
            return Err(format!(
                "{} bytes for {blocks} blocks of {format:?}",
                raw.len()
            ));
        }
        let f16 = |b: &[u8]| half::f16::from_le_bytes([b[0], b[1]]).to_f32();
        let mut d = Vec::with_capacity(blocks);
        let mut m = Vec::with_capacity(if format == Format::Q4_1 { blocks } else { 0 });
        let mut q = Vec::with_capacity(blocks * format.quant_bytes());
        for block in raw.chunks_exact(format.block_bytes()) {
            d.push(f16(&block[0..2]));
            match format {
                Format::Q4_1 => {
                    m.push(f16(&block[2..4]));
                    q.extend_from_slice(&block[4..]);
                }
                Format::Q8_0 => q.extend_from_slice(&block[2..]),
            }
        }
        Ok(QMatrix {
            format,
            rows,
            cols,
            d,
            m,
            q,
        })
    }

    /// The matrices' rows one after the other (so that products with the same input run as one).
    pub fn stack(parts: &[QMatrix]) -> Result<Self, String> {
        let first = parts.first().ok_or("nothing to stack")?;
        if parts
            .iter()
            .any(|p| p.format != first.format || p.cols != first.cols)
        {
            return Err("stacked matrices differ in format or width".into());
        }
        Ok(QMatrix {
            format: first.format,
            rows: parts.iter().map(|p| p.rows).sum(),
            cols: first.cols,
            d: parts.iter().flat_map(|p| p.d.iter().copied()).collect(),
            m: parts.iter().flat_map(|p| p.m.iter().copied()).collect(),
            q: parts.iter().flat_map(|p| p.q.iter().copied()).collect(),
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        (self.d.len() + self.m.len()) * 4 + self.q.len()
    }

    /// Row `row` as f32 (an embedding lookup).
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        let nb = self.cols / BLOCK;
        let qb = self.format.quant_bytes();
        for (i, out) in out[..self.cols].chunks_exact_mut(BLOCK).enumerate() {
            let b = row * nb + i;
            let q = &self.q[b * qb..(b + 1) * qb];
            match self.format {
                Format::Q4_1 => {
                    let (d, m) = (self.d[b], self.m[b]);
                    for j in 0..BLOCK / 2 {
                        out[j] = d * f32::from(q[j] & 0x0F) + m;
                        out[j + BLOCK / 2] = d * f32::from(q[j] >> 4) + m;
                    }
                }
                Format::Q8_0 => {
                    for (o, &q) in out.iter_mut().zip(q) {
                        *o = self.d[b] * f32::from(q as i8);
                    }
                }
            }
        }
    }
}

/// Rows of activations quantised to 8 bits per value in blocks of 32: per block a scale `d` and
/// `s = d · Σq` (llama.cpp's Q8_1). Buffers are reused from one product to the next.
#[derive(Debug, Clone, Default)]
pub struct Q8Rows {
    n: usize,
    cols: usize,
    d: Vec<f32>,
    s: Vec<f32>,
    q: Vec<i8>,
}

impl Q8Rows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Quantises `x`, `x.len() / cols` rows of `cols` values (a multiple of 32).
    pub fn quantize(&mut self, x: &[f32], cols: usize) {
        assert!(cols.is_multiple_of(BLOCK) && x.len().is_multiple_of(cols));
        let blocks = x.len() / BLOCK;
        self.n = x.len() / cols;
        self.cols = cols;
        self.d.resize(blocks, 0.0);
        self.s.resize(blocks, 0.0);
        self.q.resize(x.len(), 0);
        let mut quantize = || {
            for (((x, q), d), s) in x
                .chunks_exact(BLOCK)
                .zip(self.q.chunks_exact_mut(BLOCK))
                .zip(&mut self.d)
                .zip(&mut self.s)
            {
                scalar::quantize_block(x, q, d, s);
            }
        };
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            // The same code, compiled with AVX2 enabled.
            return simd.vectorize(quantize);
        }
        quantize()
    }

    pub fn rows(&self) -> usize {
        self.n
    }

    fn blocks(&self, token: usize) -> Acts<'_> {
        let nb = self.cols / BLOCK;
        Acts {
            d: &self.d[token * nb..(token + 1) * nb],
            s: &self.s[token * nb..(token + 1) * nb],
            q: &self.q[token * self.cols..(token + 1) * self.cols],
        }
    }
}

/// One row of quantised activations.
#[derive(Clone, Copy)]
struct Acts<'a> {
    d: &'a [f32],
    s: &'a [f32],
    q: &'a [i8],
}

/// One row of weights.
#[derive(Clone, Copy)]
struct Row<'a> {
    format: Format,
    d: &'a [f32],
    m: &'a [f32],
    q: &'a [u8],
}

impl QMatrix {
    fn row(&self, row: usize) -> Row<'_> {
        let nb = self.cols / BLOCK;
        let qb = self.format.quant_bytes();
        Row {
            format: self.format,
            d: &self.d[row * nb..(row + 1) * nb],
            m: if self.m.is_empty() {
                &[]
            } else {
                &self.m[row * nb..(row + 1) * nb]
            },
            q: &self.q[row * nb * qb..(row + 1) * nb * qb],
        }
    }
}

/// How the block dot products are computed.
#[derive(Clone, Copy)]
enum Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
}

impl Kernel {
    fn best() -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            return Kernel::Avx2(simd);
        }
        Kernel::Scalar
    }

    /// `out[r * n + t]` = row `first + r` of `w` · activation row `t`, for the rows `out` covers.
    fn rows(self, w: &QMatrix, first: usize, x: &Q8Rows, out: &mut [f32]) {
        let n = x.rows();
        match self {
            Kernel::Scalar => scalar_rows(w, first, x, out, n),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(simd) => simd.vectorize(|| x86::rows(simd, w, first, x, out, n)),
        }
    }
}

fn scalar_rows(w: &QMatrix, first: usize, x: &Q8Rows, out: &mut [f32], n: usize) {
    for (r, out) in out.chunks_exact_mut(n).enumerate() {
        let row = w.row(first + r);
        for (t, out) in out.iter_mut().enumerate() {
            *out = scalar::dot(row, x.blocks(t));
        }
    }
}

/// `out = x · wᵀ`: `out` becomes `x.rows() × w.rows()`, row-major.
pub fn matmul(w: &QMatrix, x: &Q8Rows, out: &mut Vec<f32>) {
    matmul_with(Kernel::best(), w, x, out);
}

/// [`matmul`] with the scalar loop whatever the CPU (the reference the fast path is tested
/// against).
pub fn matmul_scalar(w: &QMatrix, x: &Q8Rows, out: &mut Vec<f32>) {
    matmul_with(Kernel::Scalar, w, x, out);
}

fn matmul_with(kernel: Kernel, w: &QMatrix, x: &Q8Rows, out: &mut Vec<f32>) {
    assert_eq!(w.cols, x.cols, "matmul: widths differ");
    let (n, rows) = (x.rows(), w.rows);
    // Enough pieces for the threads to even out, few enough that each is worth handing out.
    let pieces = 4 * rayon::current_num_threads();
    let chunk = rows.div_ceil(pieces).next_multiple_of(4).max(4);
    out.clear();
    out.resize(n * rows, 0.0);
    if n == 1 {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(c, out)| kernel.rows(w, c * chunk, x, out));
        return;
    }
    // Row by row of the weights (each row stays in cache across the tokens), then transposed;
    // the buffer is kept from one product to the next. Taken out while in use: a thread waiting
    // for its share of the rows may run another product meanwhile.
    let mut by_row = BY_ROW.take();
    by_row.clear();
    by_row.resize(n * rows, 0.0);
    by_row
        .par_chunks_mut(chunk * n)
        .enumerate()
        .for_each(|(c, out)| kernel.rows(w, c * chunk, x, out));
    // By tiles of 16 weight rows: contiguous writes, the reads within 16 cache lines.
    for (tile, by_row) in by_row.chunks(16 * n).enumerate() {
        let width = by_row.len() / n;
        for (t, out) in out.chunks_exact_mut(rows).enumerate() {
            let out = &mut out[tile * 16..tile * 16 + width];
            for (r, o) in out.iter_mut().enumerate() {
                *o = by_row[r * n + t];
            }
        }
    }
    BY_ROW.set(by_row);
}

thread_local! {
    /// [`matmul_with`]'s products before the transpose.
    static BY_ROW: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
mod tests;
