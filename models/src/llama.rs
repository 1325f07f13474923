//! The llama forward pass on our own kernels (`interlude_kernels::quant`): the weights stay as the
//! GGUF ships them (Q4_1 and Q8_0 through our AVX2 kernels, any other type through candle's
//! `QMatMul`), the activations are plain `Vec<f32>` and the key/value cache grows in place.
//! The maths follows candle-transformers 0.11.1 `models::quantized_llama` (MIT/Apache-2.0):
//! RMS norm, interleaved rotary embedding, grouped-query attention, SiLU-gated MLP, the token
//! embedding doubling as the output when the file has no `output.weight`. The query, key and
//! value projections are one product, as are the gate and up projections.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QMatMul, ggml_file::qtensor_from_ggml};
use candle_core::{Device, Module, Tensor};
use interlude_kernels::quant::ops::{self, Heads};
use interlude_kernels::quant::{Format, Q8Rows, QMatrix, matmul};

type Result<T> = std::result::Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One weight matrix (`rows × cols`).
enum Linear {
    Ours(Arc<QMatrix>),
    Candle { matmul: QMatMul, rows: usize },
}

impl Linear {
    fn new(dtype: GgmlDType, rows: usize, cols: usize, raw: &[u8]) -> Result<Linear> {
        let format = match dtype {
            GgmlDType::Q4_1 => Some(Format::Q4_1),
            GgmlDType::Q8_0 => Some(Format::Q8_0),
            _ => None,
        };
        if let Some(format) = format {
            return Ok(Linear::Ours(Arc::new(QMatrix::from_ggml(
                format, rows, cols, raw,
            )?)));
        }
        let tensor = qtensor_from_ggml(dtype, raw, vec![rows, cols], &Device::Cpu).map_err(err)?;
        Ok(Linear::Candle {
            matmul: QMatMul::from_qtensor(tensor).map_err(err)?,
            rows,
        })
    }

    fn rows(&self) -> usize {
        match self {
            Linear::Ours(m) => m.rows(),
            Linear::Candle { rows, .. } => *rows,
        }
    }
}

/// Matrices applied to the same input, their outputs side by side in each row (one matrix when
/// the file stores them in the same type).
struct Projection(Vec<Linear>);

impl Projection {
    fn rows(&self) -> usize {
        self.0.iter().map(Linear::rows).sum()
    }

    /// `x` (rows of `cols`) times the matrices' transposes, into `out`.
    fn forward(&self, x: &[f32], cols: usize, q8: &mut Q8Rows, out: &mut Vec<f32>) -> Result<()> {
        if let [Linear::Ours(m)] = self.0.as_slice() {
            q8.quantize(x, cols);
            matmul(m, q8, out);
            return Ok(());
        }
        let n = x.len() / cols;
        let total = self.rows();
        out.clear();
        out.resize(n * total, 0.0);
        let mut offset = 0;
        let mut part = Vec::new();
        for linear in &self.0 {
            match linear {
                Linear::Ours(m) => {
                    q8.quantize(x, cols);
                    matmul(m, q8, &mut part);
                }
                Linear::Candle { matmul, .. } => {
                    let input = Tensor::from_slice(x, (n, cols), &Device::Cpu).map_err(err)?;
                    part = matmul
                        .forward(&input)
                        .and_then(|y| y.flatten_all())
                        .and_then(|y| y.to_vec1::<f32>())
                        .map_err(err)?;
                }
            }
            let rows = linear.rows();
            for t in 0..n {
                out[t * total + offset..][..rows].copy_from_slice(&part[t * rows..][..rows]);
            }
            offset += rows;
        }
        Ok(())
    }
}

enum Embedding {
    Quantised(Arc<QMatrix>),
    Dense(Vec<f32>),
}

struct Layer {
    attention_norm: Vec<f32>,
    qkv: Projection,
    output: Projection,
    ffn_norm: Vec<f32>,
    gate_up: Projection,
    down: Projection,
    keys: Vec<f32>,
    values: Vec<f32>,
}

pub struct Llama {
    embedding: Embedding,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    output: Projection,
    dim: usize,
    feed_forward: usize,
    heads: Heads,
    eps: f32,
    rope_base: f32,
    q8: Q8Rows,
    /// The forward's threads, as many as rayon's global pool has (one per core unless
    /// `RAYON_NUM_THREADS` says otherwise); they end when the model is dropped.
    threads: Arc<rayon::ThreadPool>,
}

/// Why a file cannot run here (candle's own forward may still run it).
#[derive(Debug)]
pub enum LoadError {
    /// A shape this forward does not implement (mixture of experts, partial rotary embedding).
    Unsupported(String),
    Failed(String),
}

struct Reader<'a, R> {
    content: &'a Content,
    file: &'a mut R,
}

impl<R: Read + Seek> Reader<'_, R> {
    /// The tensor's type, rows, columns and bytes as stored.
    fn raw(&mut self, name: &str) -> Result<(GgmlDType, usize, usize, Vec<u8>)> {
        let info = self
            .content
            .tensor_infos
            .get(name)
            .ok_or_else(|| format!("no tensor {name}"))?;
        let (rows, cols) = info.shape.dims2().map_err(err)?;
        let bytes = rows * cols / info.ggml_dtype.block_size() * info.ggml_dtype.type_size();
        let mut raw = vec![0; bytes];
        self.file
            .seek(SeekFrom::Start(
                self.content.tensor_data_offset + info.offset,
            ))
            .and_then(|_| self.file.read_exact(&mut raw))
            .map_err(err)?;
        Ok((info.ggml_dtype, rows, cols, raw))
    }

    fn vector(&mut self, name: &str) -> Result<Vec<f32>> {
        self.content
            .tensor(self.file, name, &Device::Cpu)
            .and_then(|t| t.dequantize(&Device::Cpu))
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(err)
    }

    /// The named matrices as one projection (stacked when they share a type).
    fn projection(&mut self, names: &[String]) -> Result<Projection> {
        let parts = names
            .iter()
            .map(|n| self.raw(n))
            .collect::<Result<Vec<_>>>()?;
        let (dtype, _, cols, _) = parts[0];
        if parts.iter().all(|p| p.0 == dtype && p.2 == cols) {
            let rows = parts.iter().map(|p| p.1).sum();
            let raw: Vec<u8> = parts.into_iter().flat_map(|p| p.3).collect();
            return Ok(Projection(vec![Linear::new(dtype, rows, cols, &raw)?]));
        }
        parts
            .into_iter()
            .map(|(dtype, rows, cols, raw)| Linear::new(dtype, rows, cols, &raw))
            .collect::<Result<Vec<_>>>()
            .map(Projection)
    }
}

impl Llama {
    pub fn load<R: Read + Seek>(
        content: &Content,
        file: &mut R,
    ) -> std::result::Result<Llama, LoadError> {
        let number = |key: &str| {
            content
                .metadata
                .get(key)
                .ok_or_else(|| LoadError::Failed(format!("no {key} in the metadata")))
        };
        let count = |key: &str| {
            number(key).and_then(|v| {
                v.to_u32()
                    .map(|n| n as usize)
                    .map_err(|e| LoadError::Failed(e.to_string()))
            })
        };
        if content
            .metadata
            .get("llama.expert_count")
            .and_then(|v| v.to_u32().ok())
            .unwrap_or(0)
            > 1
        {
            return Err(LoadError::Unsupported("mixture of experts".into()));
        }
        let dim = count("llama.embedding_length")?;
        let query = count("llama.attention.head_count")?;
        let heads = Heads {
            query,
            kv: count("llama.attention.head_count_kv")?,
            size: dim / query,
        };
        if count("llama.rope.dimension_count")? != heads.size || query % heads.kv != 0 {
            return Err(LoadError::Unsupported("partial rotary embedding".into()));
        }
        let eps = number("llama.attention.layer_norm_rms_epsilon")?
            .to_f32()
            .map_err(|e| LoadError::Failed(e.to_string()))?;
        let rope_base = content
            .metadata
            .get("llama.rope.freq_base")
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(10000.0);
        let blocks = count("llama.block_count")?;
        let mut reader = Reader { content, file };
        let failed = LoadError::Failed;

        let (dtype, rows, cols, raw) = reader.raw("token_embd.weight").map_err(failed)?;
        let tied = Linear::new(dtype, rows, cols, &raw).map_err(failed)?;
        let embedding = match &tied {
            Linear::Ours(m) => Embedding::Quantised(m.clone()),
            Linear::Candle { .. } => Embedding::Dense(
                qtensor_from_ggml(dtype, &raw, vec![rows, cols], &Device::Cpu)
                    .and_then(|t| t.dequantize(&Device::Cpu))
                    .and_then(|t| t.flatten_all())
                    .and_then(|t| t.to_vec1::<f32>())
                    .map_err(|e| failed(e.to_string()))?,
            ),
        };
        drop(raw);
        let output = if content.tensor_infos.contains_key("output.weight") {
            reader
                .projection(&["output.weight".to_string()])
                .map_err(failed)?
        } else {
            Projection(vec![tied])
        };
        let norm = reader.vector("output_norm.weight").map_err(failed)?;
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let names = |names: &[&str]| -> Vec<String> {
                names
                    .iter()
                    .map(|n| format!("blk.{i}.{n}.weight"))
                    .collect()
            };
            layers.push(Layer {
                attention_norm: reader
                    .vector(&format!("blk.{i}.attn_norm.weight"))
                    .map_err(failed)?,
                qkv: reader
                    .projection(&names(&["attn_q", "attn_k", "attn_v"]))
                    .map_err(failed)?,
                output: reader
                    .projection(&names(&["attn_output"]))
                    .map_err(failed)?,
                ffn_norm: reader
                    .vector(&format!("blk.{i}.ffn_norm.weight"))
                    .map_err(failed)?,
                gate_up: reader
                    .projection(&names(&["ffn_gate", "ffn_up"]))
                    .map_err(failed)?,
                down: reader.projection(&names(&["ffn_down"])).map_err(failed)?,
                keys: Vec::new(),
                values: Vec::new(),
            });
        }
        let feed_forward = layers.first().map_or(0, |l| l.gate_up.rows() / 2);
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(|i| format!("generator-{i}"))
            .build()
            .map_err(|e| failed(format!("could not start the model's threads: {e}")))?;
        Ok(Llama {
            embedding,
            layers,
            norm,
            output,
            dim,
            feed_forward,
            heads,
            eps,
            rope_base,
            q8: Q8Rows::new(),
            threads: Arc::new(threads),
        })
    }

    pub fn clear_kv_cache(&mut self) {
        for layer in &mut self.layers {
            layer.keys.clear();
            layer.values.clear();
        }
    }

    /// Logits for the position after `ids`, which start at `position` (the cache keeps what came
    /// before it).
    pub fn forward(&mut self, ids: &[u32], position: usize) -> Result<Vec<f32>> {
        // On one of the model's own threads: each product then splits with the other thread
        // directly, instead of this thread handing every product to a pool and sleeping until
        // it is done (two thread wake-ups per product, ~150 per token).
        let threads = self.threads.clone();
        threads.install(|| self.forward_in_pool(ids, position))
    }

    fn forward_in_pool(&mut self, ids: &[u32], position: usize) -> Result<Vec<f32>> {
        let (dim, n) = (self.dim, ids.len());
        if n == 0 {
            return Err("no tokens to run".into());
        }
        let kv = self.heads.kv * self.heads.size;
        let mut x = vec![0.0; n * dim];
        for (&id, row) in ids.iter().zip(x.chunks_exact_mut(dim)) {
            let id = id as usize;
            match &self.embedding {
                Embedding::Quantised(m) if id < m.rows() => m.dequantize_row(id, row),
                Embedding::Dense(table) if (id + 1) * dim <= table.len() => {
                    row.copy_from_slice(&table[id * dim..(id + 1) * dim])
                }
                _ => return Err(format!("token id {id} is outside the vocabulary")),
            }
        }
        let (mut h, mut qkv, mut attended, mut y, mut act) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for layer in &mut self.layers {
            ops::rms_norm(&x, &layer.attention_norm, self.eps, &mut h);
            layer.qkv.forward(&h, dim, &mut self.q8, &mut qkv)?;
            let row = dim + 2 * kv;
            ops::rope(
                &mut qkv,
                row,
                dim + kv,
                self.heads.size,
                position,
                self.rope_base,
            );
            layer.keys.truncate(position * kv);
            layer.values.truncate(position * kv);
            for t in qkv.chunks_exact(row) {
                layer.keys.extend_from_slice(&t[dim..dim + kv]);
                layer.values.extend_from_slice(&t[dim + kv..]);
            }
            ops::attention(
                &qkv,
                row,
                &layer.keys,
                &layer.values,
                self.heads,
                &mut attended,
            );
            layer.output.forward(&attended, dim, &mut self.q8, &mut y)?;
            ops::add(&mut x, &y);

            ops::rms_norm(&x, &layer.ffn_norm, self.eps, &mut h);
            layer.gate_up.forward(&h, dim, &mut self.q8, &mut y)?;
            ops::silu_gate(&y, self.feed_forward, &mut act);
            layer
                .down
                .forward(&act, self.feed_forward, &mut self.q8, &mut y)?;
            ops::add(&mut x, &y);
        }
        ops::rms_norm(&x[(n - 1) * dim..], &self.norm, self.eps, &mut h);
        let mut logits = Vec::new();
        self.output.forward(&h, dim, &mut self.q8, &mut logits)?;
        Ok(logits)
    }
}
