//! The crisis check's second signal: meaning. Each sentence the phrase list found nothing in is
//! embedded and compared with exemplar sentences per tier (`daemon/safety/exemplars.toml`); at
//! or above a tier's calibrated threshold it counts for that tier. Without the embedding model,
//! or when it cannot answer in time, this signal is skipped cleanly and the phrase list stands
//! alone.

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::OnceCell;

use super::detect::Tier;
use crate::models::Models;

/// How long a write may wait for the model (which may have to load first; the daemon warms it
/// at start and at every unlock). Past it, the phrase list's answer stands and the write goes on.
const WAIT: Duration = Duration::from_secs(3);
/// Sentences of one entry compared at most; the rest are left to the phrase list.
const MAX_SENTENCES: usize = 32;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemplarFile {
    schema_version: u32,
    version: String,
    tiers: Vec<ExemplarTier>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemplarTier {
    id: Tier,
    threshold: f32,
    exemplars: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("the crisis exemplars are invalid: {0}")]
pub struct ExemplarError(String);

pub struct Meaning {
    models: Models,
    version: String,
    tiers: Vec<ExemplarTier>,
    /// The exemplars' vectors, per tier in `tiers` order; embedded on first use.
    vectors: OnceCell<Vec<Vec<Vec<f32>>>>,
}

/// How close a text came to each tier: the highest cosine of any of its sentences.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Closeness {
    pub acute: f32,
    pub ideation: f32,
    pub indirect: f32,
}

impl Meaning {
    /// The exemplars shipped with this build.
    pub fn builtin(models: Models) -> Result<Meaning, ExemplarError> {
        Meaning::from_toml(include_str!("../../safety/exemplars.toml"), models)
    }

    pub fn from_toml(text: &str, models: Models) -> Result<Meaning, ExemplarError> {
        let file: ExemplarFile = toml::from_str(text).map_err(|e| ExemplarError(e.to_string()))?;
        if file.schema_version != 1 {
            return Err(ExemplarError(format!(
                "unknown schema_version {}",
                file.schema_version
            )));
        }
        if let Some(empty) = file.tiers.iter().find(|t| t.exemplars.is_empty()) {
            return Err(ExemplarError(format!(
                "tier {} has no exemplars",
                empty.id.name()
            )));
        }
        Ok(Meaning {
            models,
            version: file.version,
            tiers: file.tiers,
            vectors: OnceCell::new(),
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The most severe tier whose threshold any of `sentences` reaches; `None` when none does,
    /// when there is nothing to compare, or when the model is absent or too slow.
    pub async fn tier(&self, sentences: Vec<String>) -> Option<Tier> {
        let closeness = self.closeness(sentences).await?;
        self.tiers
            .iter()
            .filter(|t| closeness.of(t.id) >= t.threshold)
            .map(|t| t.id)
            .max()
    }

    /// How close `sentences` come to each tier, or `None` without an answer from the model.
    pub async fn closeness(&self, mut sentences: Vec<String>) -> Option<Closeness> {
        sentences.retain(|s| s.split_whitespace().count() >= 2);
        sentences.truncate(MAX_SENTENCES);
        if sentences.is_empty() || !self.models.installed() {
            return None;
        }
        match tokio::time::timeout(WAIT, self.compare(sentences)).await {
            Ok(Ok(closeness)) => Some(closeness),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "the crisis check's meaning signal was skipped");
                None
            }
            Err(_) => {
                tracing::info!(
                    "the crisis check's meaning signal was skipped: the model was not ready in time"
                );
                None
            }
        }
    }

    /// Loads the model and embeds the exemplars ahead of the first write that needs them.
    pub async fn warm_up(&self) {
        if !self.models.installed() {
            return;
        }
        if let Err(err) = self.exemplar_vectors().await {
            tracing::warn!(error = %err, "could not prepare the crisis check's meaning signal");
        }
    }

    async fn exemplar_vectors(&self) -> Result<&Vec<Vec<Vec<f32>>>, crate::models::ModelError> {
        self.vectors
            .get_or_try_init(|| async {
                let mut per_tier = Vec::new();
                for tier in &self.tiers {
                    per_tier.push(self.models.embed(tier.exemplars.clone()).await?);
                }
                Ok(per_tier)
            })
            .await
    }

    async fn compare(
        &self,
        sentences: Vec<String>,
    ) -> Result<Closeness, crate::models::ModelError> {
        let exemplars = self.exemplar_vectors().await?;
        let embedded = self.models.embed(sentences).await?;
        let mut closeness = Closeness::default();
        for (tier, vectors) in self.tiers.iter().zip(exemplars) {
            let best = embedded
                .iter()
                .flat_map(|s| vectors.iter().map(move |e| dot(s, e)))
                .fold(f32::MIN, f32::max);
            closeness.set(tier.id, best);
        }
        Ok(closeness)
    }
}

impl Closeness {
    pub fn of(&self, tier: Tier) -> f32 {
        match tier {
            Tier::Acute => self.acute,
            Tier::Ideation => self.ideation,
            Tier::Indirect => self.indirect,
        }
    }

    fn set(&mut self, tier: Tier, value: f32) {
        let slot = match tier {
            Tier::Acute => &mut self.acute,
            Tier::Ideation => &mut self.ideation,
            Tier::Indirect => &mut self.indirect,
        };
        *slot = slot.max(value);
    }
}

/// Both vectors are unit length: the dot product is the cosine.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
