//! all-MiniLM-L6-v2 (or any BERT-family safetensors) through candle: tokenise, run BERT with the
//! attention mask, mean-pool over the real tokens, L2-normalise — what sentence-transformers does.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

/// sentence-transformers' `max_seq_length` for this model (the tokenizer file says 128).
const MAX_TOKENS: usize = 256;
/// Texts per forward pass: bounds the activations' memory when many texts come at once
/// (reindexing), and is the batch size sentence-transformers uses.
const BATCH: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum EmbedderError {
    #[error(
        "could not read {path}: {reason}; `interlude models fetch` installs the default models"
    )]
    Files { path: PathBuf, reason: String },
    #[error("the embedding model failed: {0}")]
    Model(String),
}

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

fn model_err(e: impl std::fmt::Display) -> EmbedderError {
    EmbedderError::Model(e.to_string())
}

fn unreadable(path: &Path, reason: impl std::fmt::Display) -> EmbedderError {
    EmbedderError::Files {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl Embedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Embedder, EmbedderError> {
        let (config_path, tokenizer_path, weights_path) = (
            dir.join("config.json"),
            dir.join("tokenizer.json"),
            dir.join("model.safetensors"),
        );
        let config: Config = std::fs::read_to_string(&config_path)
            .map_err(|e| unreadable(&config_path, e))
            .and_then(|text| {
                serde_json::from_str(&text).map_err(|e| unreadable(&config_path, e))
            })?;
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| unreadable(&tokenizer_path, e))?;
        // No padding from the tokenizer (the file asks for a fixed 128, ~5× wasted work on short
        // entries): `forward` pads each batch to its own longest entry.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(model_err)?;
        let device = Device::Cpu;
        let weights = std::fs::read(&weights_path).map_err(|e| unreadable(&weights_path, e))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(model_err)?;
        let model = BertModel::load(vb, &config).map_err(model_err)?;
        Ok(Embedder {
            model,
            tokenizer,
            device,
        })
    }

    /// How many tokens the model sees for `text` (special tokens included, after truncation).
    pub fn token_count(&self, text: &str) -> Result<usize, EmbedderError> {
        let encoding = self.tokenizer.encode(text, true).map_err(model_err)?;
        Ok(encoding.get_ids().len())
    }

    /// One unit-length vector per text, in the order given.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedderError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(model_err)?;
        // Shortest first, so that each forward pass holds texts of similar length and pads little
        // (what sentence-transformers does); results go back to the caller's order.
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut vectors = vec![Vec::new(); encodings.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            for (&i, vector) in chunk.iter().zip(self.forward(&batch)?) {
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }

    /// BERT over one batch padded to its longest entry, mean-pooled over the real tokens.
    fn forward(&self, batch: &[&Encoding]) -> Result<Vec<Vec<f32>>, EmbedderError> {
        let len = batch.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        // Padded positions are masked out of attention and pooling, so their ids do not matter.
        let padded = |f: fn(&Encoding) -> &[u32]| -> Result<Tensor, EmbedderError> {
            let mut flat = Vec::with_capacity(batch.len() * len);
            for e in batch {
                flat.extend_from_slice(f(e));
                flat.resize(flat.len() + len - f(e).len(), 0);
            }
            Tensor::from_vec(flat, (batch.len(), len), &self.device).map_err(model_err)
        };
        let ids = padded(Encoding::get_ids)?;
        let type_ids = padded(Encoding::get_type_ids)?;
        let mask = padded(Encoding::get_attention_mask)?;
        let hidden = self
            .model
            .forward(&ids, &type_ids, Some(&mask))
            .map_err(model_err)?;
        let mask = mask
            .to_dtype(DType::F32)
            .and_then(|m| m.unsqueeze(2))
            .map_err(model_err)?;
        let summed = hidden
            .broadcast_mul(&mask)
            .and_then(|t| t.sum(1))
            .map_err(model_err)?;
        let counts = mask.sum(1).map_err(model_err)?;
        let mean = summed.broadcast_div(&counts).map_err(model_err)?;
        let norms = mean
            .sqr()
            .and_then(|t| t.sum_keepdim(1))
            .and_then(|t| t.sqrt())
            .map_err(model_err)?;
        let unit = mean.broadcast_div(&norms).map_err(model_err)?;
        unit.to_vec2::<f32>().map_err(model_err)
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}
