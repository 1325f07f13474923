//! A text classifier on the embedder: fine-tuned copies of the model's top layers and a linear
//! head over the sentence vector, from one safetensors file whose metadata names the labels (in
//! the head's order) and the first replaced layer. The bottom layers are the embedder's own, so
//! a classifier costs only its fine-tuned layers in memory. Written for the crisis check's second signal
//! (`daemon/safety/classifier/`), trained by `train.py` there.

use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use super::bert::TopLayers;
use super::embedder::{Embedder, EmbedderError};

/// The labels, in the order of [`Classifier::classify`]'s probabilities, are in the file's
/// metadata ([`header`]).
pub struct Classifier {
    top: TopLayers,
    /// `[labels, hidden]`, row by row.
    weight: Vec<f32>,
    bias: Vec<f32>,
}

fn invalid(reason: impl std::fmt::Display) -> EmbedderError {
    EmbedderError::Model(format!("the classifier's weights are invalid: {reason}"))
}

/// What a weights file's metadata says: the labels in the head's order, and the first layer it
/// replaces.
pub struct Header {
    pub labels: Vec<String>,
    pub first_layer: usize,
}

/// Reads only the metadata of a weights file.
pub fn header(bytes: &[u8]) -> Result<Header, EmbedderError> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(invalid)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let labels = metadata
        .get("labels")
        .ok_or_else(|| invalid("no labels in the metadata"))?
        .split(',')
        .map(str::to_string)
        .collect();
    let first_layer = metadata
        .get("first_layer")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| invalid("no first_layer in the metadata"))?;
    Ok(Header {
        labels,
        first_layer,
    })
}

impl Classifier {
    /// Reads the weights file for `embedder`'s model.
    pub fn load(bytes: Vec<u8>, embedder: &Embedder) -> Result<Classifier, EmbedderError> {
        let Header {
            labels,
            first_layer: first,
        } = header(&bytes)?;
        let config = embedder.config();
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)
            .map_err(invalid)?;
        let top = TopLayers::load(vb.clone(), config, first).map_err(invalid)?;
        let head = vb.pp("classifier");
        let weight = head
            .get((labels.len(), config.hidden_size), "weight")
            .and_then(|w| w.flatten_all()?.to_vec1())
            .map_err(invalid)?;
        let bias = head
            .get(labels.len(), "bias")
            .and_then(|b| b.to_vec1())
            .map_err(invalid)?;
        Ok(Classifier { top, weight, bias })
    }

    /// One probability per label for each text (they sum to 1), in the order given.
    pub fn classify(
        &self,
        embedder: &Embedder,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, EmbedderError> {
        let vectors = embedder.embed_with(texts, Some(&self.top))?;
        Ok(vectors.iter().map(|v| self.probabilities(v)).collect())
    }

    /// Softmax of the head's logits for one unit-length sentence vector.
    fn probabilities(&self, vector: &[f32]) -> Vec<f32> {
        let logits: Vec<f32> = self
            .weight
            .chunks_exact(vector.len())
            .zip(&self.bias)
            .map(|(row, b)| row.iter().zip(vector).map(|(w, v)| w * v).sum::<f32>() + b)
            .collect();
        let max = logits.iter().copied().fold(f32::MIN, f32::max);
        let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let total: f32 = exps.iter().sum();
        exps.iter().map(|e| e / total).collect()
    }
}
