//! The BERT encoder's forward pass, for sentence embeddings.
//!
//! The same computation as candle-transformers' `models/bert.rs` (huggingface/candle, MIT or
//! Apache-2.0), itself a port of Hugging Face transformers' `modeling_bert.py`, arranged for
//! throughput on a CPU with few cores:
//! - the sentences of a batch are packed one after another, without padding, so the matrix
//!   products (gemm, `product.rs`) only see real tokens and attention never needs a mask;
//! - queries, keys and values come out of one product with the three weights concatenated at load,
//!   all weights stored transposed (`[in, out]`) once so gemm reads them row by row;
//! - attention, GELU, and layer normalisation fused with its bias and residual run as kernels from
//!   `interlude-kernels` (chosen at run time for the CPU), spread over rayon's threads.
//!
//! Dropout is absent (inference only). Only absolute position embeddings exist in BERT's config.

use candle_core::{DType, Storage, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use interlude_kernels::nn::{self, Heads};
use rayon::prelude::*;

use crate::product;

type Result<T> = candle_core::Result<T>;

/// Rows handed to one rayon task by the row-wise kernels.
const ROWS_PER_TASK: usize = 32;
/// Query rows per attention task: a long sequence alone (one entry being checked) is split
/// over the threads instead of running on one.
const QUERIES_PER_TASK: usize = 16;

/// A weight matrix stored transposed for `x · w` (`[in, out]`, row by row), and its bias.
struct Linear {
    weight_t: Vec<f32>,
    inputs: usize,
    bias: Vec<f32>,
}

impl Linear {
    fn load(vb: &VarBuilder, input: usize, output: usize) -> Result<Linear> {
        Self::concat(std::slice::from_ref(vb), input, output)
    }

    /// The linears under `parts` (all on the same input) as one: their outputs side by side.
    fn concat(parts: &[VarBuilder], input: usize, output: usize) -> Result<Linear> {
        let (mut weights, mut bias) = (Vec::new(), Vec::new());
        for vb in parts {
            weights.push(vb.get((output, input), "weight")?.t()?);
            bias.extend(vb.get(output, "bias")?.to_vec1::<f32>()?);
        }
        Ok(Linear {
            weight_t: Tensor::cat(&weights, 1)?.flatten_all()?.to_vec1()?,
            inputs: input,
            bias,
        })
    }

    /// `x · w` without the bias (the kernel that follows adds it).
    fn product(&self, x: &[f32]) -> Vec<f32> {
        product::product(x, &self.weight_t, self.inputs, self.bias.len())
    }
}

struct LayerNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    fn load(vb: &VarBuilder, size: usize, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm {
            gamma: vb.get(size, "weight")?.to_vec1()?,
            beta: vb.get(size, "bias")?.to_vec1()?,
            eps: eps as f32,
        })
    }

    /// `layer_norm(x + bias + residual)` row by row, in parallel.
    fn add(&self, x: &[f32], bias: Option<&[f32]>, residual: Option<&[f32]>) -> Vec<f32> {
        let width = self.gamma.len();
        let chunk = width * ROWS_PER_TASK;
        let mut out = vec![0.0; x.len()];
        out.par_chunks_mut(chunk)
            .zip(x.par_chunks(chunk))
            .enumerate()
            .for_each(|(i, (out, x))| {
                let residual = residual.map(|r| &r[i * chunk..][..x.len()]);
                nn::add_layer_norm(x, bias, residual, &self.gamma, &self.beta, self.eps, out);
            });
        out
    }
}

struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl Layer {
    fn load(vb: VarBuilder, config: &Config) -> Result<Layer> {
        let (hidden, eps) = (config.hidden_size, config.layer_norm_eps);
        let attention = vb.pp("attention");
        let own = attention.pp("self");
        let out = attention.pp("output");
        Ok(Layer {
            qkv: Linear::concat(
                &[own.pp("query"), own.pp("key"), own.pp("value")],
                hidden,
                hidden,
            )?,
            attention_out: Linear::load(&out.pp("dense"), hidden, hidden)?,
            attention_norm: LayerNorm::load(&out.pp("LayerNorm"), hidden, eps)?,
            intermediate: Linear::load(
                &vb.pp("intermediate").pp("dense"),
                hidden,
                config.intermediate_size,
            )?,
            output: Linear::load(
                &vb.pp("output").pp("dense"),
                config.intermediate_size,
                hidden,
            )?,
            output_norm: LayerNorm::load(&vb.pp("output").pp("LayerNorm"), hidden, eps)?,
        })
    }
}

pub struct Bert {
    /// Word, position and token-type embeddings, one row of `hidden` per entry. The word table
    /// (47 MB for all-MiniLM-L6-v2) stays the tensor it was loaded as: no second copy at load.
    words: Tensor,
    positions: Vec<f32>,
    token_types: Vec<f32>,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: Heads,
    activation: HiddenAct,
    max_positions: usize,
}

/// Fine-tuned replacements for a model's top layers, from their own weights file (the same
/// tensor names as the model's, `encoder.layer.N.…`).
pub struct TopLayers {
    first: usize,
    layers: Vec<Layer>,
}

impl TopLayers {
    /// Layers `first..config.num_hidden_layers` from `vb`.
    pub fn load(vb: VarBuilder, config: &Config, first: usize) -> Result<TopLayers> {
        if first >= config.num_hidden_layers {
            candle_core::bail!(
                "the fine-tuned layers start at {first}, but the model has {} layers",
                config.num_hidden_layers
            );
        }
        let encoder = vb.pp("encoder");
        let layers = (first..config.num_hidden_layers)
            .map(|i| Layer::load(encoder.pp(format!("layer.{i}")), config))
            .collect::<Result<_>>()?;
        Ok(TopLayers { first, layers })
    }
}

/// One sentence of a packed batch: its token ids and token type ids.
pub struct Sequence<'a> {
    pub ids: &'a [u32],
    pub type_ids: &'a [u32],
}

impl Bert {
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Bert> {
        // Checkpoints name their tensors with or without the model's prefix.
        let vb = ["bert", config.model_type.as_deref().unwrap_or("bert")]
            .into_iter()
            .find(|prefix| {
                vb.contains_tensor(&format!("{prefix}.embeddings.word_embeddings.weight"))
            })
            .map_or(vb.clone(), |prefix| vb.pp(prefix));
        let hidden = config.hidden_size;
        if config.num_attention_heads == 0 || !hidden.is_multiple_of(config.num_attention_heads) {
            candle_core::bail!("hidden_size is not a multiple of num_attention_heads");
        }
        let embeddings = vb.pp("embeddings");
        let table = |name: &str, rows: usize| -> Result<Vec<f32>> {
            embeddings
                .get((rows, hidden), &format!("{name}.weight"))?
                .flatten_all()?
                .to_vec1()
        };
        let encoder = vb.pp("encoder");
        Ok(Bert {
            words: embeddings.get((config.vocab_size, hidden), "word_embeddings.weight")?,
            positions: table("position_embeddings", config.max_position_embeddings)?,
            token_types: table("token_type_embeddings", config.type_vocab_size)?,
            embedding_norm: LayerNorm::load(
                &embeddings.pp("LayerNorm"),
                hidden,
                config.layer_norm_eps,
            )?,
            layers: (0..config.num_hidden_layers)
                .map(|i| Layer::load(encoder.pp(format!("layer.{i}")), config))
                .collect::<Result<_>>()?,
            heads: Heads {
                count: config.num_attention_heads,
                size: hidden / config.num_attention_heads,
            },
            activation: config.hidden_act,
            max_positions: config.max_position_embeddings,
        })
    }

    pub fn hidden_size(&self) -> usize {
        self.heads.hidden()
    }

    /// The last hidden states of every token of every sequence, packed: `[Σ lengths, hidden]`;
    /// with `top`, the model's top layers are replaced by it (a fine-tuned copy of them).
    pub fn forward(&self, sequences: &[Sequence], top: Option<&TopLayers>) -> Result<Vec<f32>> {
        let lengths: Vec<usize> = sequences.iter().map(|s| s.ids.len()).collect();
        let own = top.map_or(self.layers.len(), |t| t.first);
        let layers = self.layers[..own]
            .iter()
            .chain(top.into_iter().flat_map(|t| &t.layers));
        let mut hidden = self.embed(sequences)?;
        for layer in layers {
            hidden = self.layer(layer, hidden, &lengths);
        }
        Ok(hidden)
    }

    /// Word + position + token-type embeddings, layer-normalised.
    fn embed(&self, sequences: &[Sequence]) -> Result<Vec<f32>> {
        let summed = with_data(&self.words, |words| self.sum_embeddings(words, sequences))??;
        Ok(self.embedding_norm.add(&summed, None, None))
    }

    fn sum_embeddings(&self, words: &[f32], sequences: &[Sequence]) -> Result<Vec<f32>> {
        let width = self.hidden_size();
        let tokens: usize = sequences.iter().map(|s| s.ids.len()).sum();
        let mut summed = Vec::with_capacity(tokens * width);
        for sequence in sequences {
            if sequence.ids.len() > self.max_positions {
                candle_core::bail!("a text has more tokens than the model has positions");
            }
            let pairs = sequence.ids.iter().zip(sequence.type_ids);
            for (position, (&id, &type_id)) in pairs.enumerate() {
                let position = &self.positions[position * width..][..width];
                let token_type = table_row(&self.token_types, width, type_id, "token type")?;
                let word = table_row(words, width, id, "token id")?;
                summed.extend(
                    word.iter()
                        .zip(position)
                        .zip(token_type)
                        .map(|((w, p), t)| w + p + t),
                );
            }
        }
        Ok(summed)
    }

    fn layer(&self, layer: &Layer, x: Vec<f32>, lengths: &[usize]) -> Vec<f32> {
        let width = self.hidden_size();
        let tokens = x.len() / width;

        // Self-attention, one task per run of a sequence's query rows.
        let qkv = add_bias(layer.qkv.product(&x), &layer.qkv.bias);
        let mut context = vec![0.0; tokens * width];
        let mut tasks = Vec::with_capacity(lengths.len());
        let (mut qkv_rest, mut context_rest) = (&qkv[..], &mut context[..]);
        for &len in lengths {
            let (q, qr) = qkv_rest.split_at(len * 3 * width);
            let (c, cr) = context_rest.split_at_mut(len * width);
            for (run, out) in c.chunks_mut(QUERIES_PER_TASK * width).enumerate() {
                tasks.push((q, run * QUERIES_PER_TASK, out));
            }
            (qkv_rest, context_rest) = (qr, cr);
        }
        tasks
            .into_par_iter()
            .for_each(|(qkv, first, out)| nn::attention(qkv, self.heads, first, out));
        drop(qkv);
        let projected = layer.attention_out.product(&context);
        drop(context);
        let bias = Some(&layer.attention_out.bias[..]);
        let attended = layer.attention_norm.add(&projected, bias, Some(&x));
        drop((x, projected));

        // Feed-forward.
        let intermediate = self.activate(
            &layer.intermediate.product(&attended),
            &layer.intermediate.bias,
        );
        let output = layer.output.product(&intermediate);
        drop(intermediate);
        layer
            .output_norm
            .add(&output, Some(&layer.output.bias), Some(&attended))
    }

    /// `activation(x + bias)` row by row, in parallel.
    fn activate(&self, x: &[f32], bias: &[f32]) -> Vec<f32> {
        let chunk = bias.len() * ROWS_PER_TASK;
        let mut out = vec![0.0; x.len()];
        out.par_chunks_mut(chunk)
            .zip(x.par_chunks(chunk))
            .for_each(|(out, x)| match self.activation {
                HiddenAct::Gelu => nn::bias_gelu(x, bias, out),
                HiddenAct::GeluApproximate => {
                    for (i, (o, &x)) in out.iter_mut().zip(x).enumerate() {
                        let x = x + bias[i % bias.len()];
                        let inner =
                            (2.0 / std::f32::consts::PI).sqrt() * (x + 0.044_715 * x * x * x);
                        *o = 0.5 * x * (1.0 + inner.tanh());
                    }
                }
                HiddenAct::Relu => {
                    for (i, (o, &x)) in out.iter_mut().zip(x).enumerate() {
                        *o = (x + bias[i % bias.len()]).max(0.0);
                    }
                }
            });
        out
    }
}

/// Row `i` of an embedding table of rows of `width` values.
fn table_row<'a>(table: &'a [f32], width: usize, i: u32, what: &str) -> Result<&'a [f32]> {
    let at = i as usize * width;
    match table.get(at..at + width) {
        Some(row) => Ok(row),
        None => candle_core::bail!("{what} {i} is outside the embedding table"),
    }
}

/// Runs `f` on a contiguous f32 CPU tensor's values, without copying them.
fn with_data<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        candle_core::bail!("the embedder runs on the CPU");
    };
    if !layout.is_contiguous() || t.dtype() != DType::F32 {
        candle_core::bail!("expected a contiguous f32 tensor");
    }
    let data = &cpu.as_slice::<f32>()?[layout.start_offset()..][..t.elem_count()];
    Ok(f(data))
}

/// `x + bias`, the bias one row added to every row.
fn add_bias(mut out: Vec<f32>, bias: &[f32]) -> Vec<f32> {
    out.par_chunks_mut(bias.len() * ROWS_PER_TASK)
        .for_each(|rows| {
            for row in rows.chunks_exact_mut(bias.len()) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
        });
    out
}
