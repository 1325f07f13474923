//! all-MiniLM-L6-v2 (or any BERT-family safetensors) on candle tensors: tokenise, run BERT
//! ([`super::bert`]) over the batch packed without padding, mean-pool each text's tokens,
//! L2-normalise — what sentence-transformers does.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use super::bert::{Bert, Sequence, TopLayers};

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
    model: Bert,
    config: Config,
    tokenizer: Tokenizer,
    /// The forward's threads, as many as rayon's global pool has; they end with the model.
    threads: rayon::ThreadPool,
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
        // entries): the model takes each batch packed, every text at its own length.
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
        let model = Bert::load(vb, &config).map_err(model_err)?;
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(|i| format!("embedder-{i}"))
            .build()
            .map_err(model_err)?;
        Ok(Embedder {
            model,
            config,
            tokenizer,
            threads,
        })
    }

    /// How many tokens the model sees for `text` (special tokens included, after truncation).
    pub fn token_count(&self, text: &str) -> Result<usize, EmbedderError> {
        let encoding = self.tokenizer.encode(text, true).map_err(model_err)?;
        Ok(encoding.get_ids().len())
    }

    /// The model's configuration (layer count, hidden size).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One unit-length vector per text, in the order given.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedderError> {
        self.embed_with(texts, None)
    }

    /// As [`Embedder::embed`], with the model's top layers replaced by `top`.
    pub fn embed_with(
        &self,
        texts: &[&str],
        top: Option<&TopLayers>,
    ) -> Result<Vec<Vec<f32>>, EmbedderError> {
        // On one of the model's own threads: the products and attention tasks then split with
        // the other thread directly instead of each being handed over from this one.
        self.threads.install(|| self.embed_in_pool(texts, top))
    }

    fn embed_in_pool(
        &self,
        texts: &[&str],
        top: Option<&TopLayers>,
    ) -> Result<Vec<Vec<f32>>, EmbedderError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(model_err)?;
        // Shortest first, as sentence-transformers does (texts of similar lengths share a forward
        // pass); results go back to the caller's order.
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut vectors = vec![Vec::new(); encodings.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            for (&i, vector) in chunk.iter().zip(self.forward(&batch, top)?) {
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }

    /// BERT over one batch, mean-pooled over each text's tokens, L2-normalised.
    fn forward(
        &self,
        batch: &[&Encoding],
        top: Option<&TopLayers>,
    ) -> Result<Vec<Vec<f32>>, EmbedderError> {
        let sequences: Vec<Sequence> = batch
            .iter()
            .map(|e| Sequence {
                ids: e.get_ids(),
                type_ids: e.get_type_ids(),
            })
            .collect();
        let hidden = self.model.forward(&sequences, top).map_err(model_err)?;
        let width = self.model.hidden_size();
        let mut rows = hidden.chunks_exact(width);
        let vectors = sequences
            .iter()
            .map(|s| {
                let mut mean = vec![0.0f32; width];
                for row in rows.by_ref().take(s.ids.len()) {
                    for (m, v) in mean.iter_mut().zip(row) {
                        *m += v;
                    }
                }
                // Dividing by the count is lost in the normalisation; kept so that the
                // tiny-norm guard below sees the mean, as sentence-transformers does.
                let count = s.ids.len().max(1) as f32;
                mean.iter_mut().for_each(|m| *m /= count);
                let norm = mean.iter().map(|m| m * m).sum::<f32>().sqrt().max(1e-12);
                mean.iter_mut().for_each(|m| *m /= norm);
                mean
            })
            .collect();
        Ok(vectors)
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}
