//! The crisis check's second signal: a classifier fine-tuned end to end on labelled journal
//! sentences across the C-SSRS categories (`daemon/safety/classifier/`: the data, the training
//! script, the data card). It reads whole entries and every two neighbouring sentences, so
//! context across sentences counts ("I've made my decision. Friday.") and one risk sentence in a
//! long entry about the day is not averaged away; it learned negation, tense and speaker from
//! matched pairs. It runs
//! on the embedder's thread (the embedder's bottom layers, its own top layers and head), offline
//! and deterministic. Its weights are a file `interlude models fetch` installs beside the models
//! (float16, the labels in its metadata), read only while the model loads. Without the embedding
//! model or that file, or when the model cannot answer in time, it is skipped and the phrase
//! rules stand alone.

use std::sync::OnceLock;
use std::time::Duration;

use super::detect::{Category, Finding};
use crate::models::Models;

/// How long a write may wait for the classifier (which may have to load first; the daemon warms
/// it at every unlock). Past it, the rules' answer stands and the write goes on.
const WAIT: Duration = Duration::from_secs(3);
/// An entry counts as at risk when the probability of every category but `none` together
/// reaches this. Chosen on the training data's frozen split and the first evaluation batch
/// (daemon/safety/README.md, "Classifier").
pub const RISK_THRESHOLD: f32 = 0.5;
/// The threshold when the rules set a risk phrase aside (negated, an idiom, the client's past)
/// and found nothing live: the hard negatives sit next to the positives in the model's reading.
pub const SET_ASIDE_THRESHOLD: f32 = 0.85;
/// Words per window: longer entries are read as overlapping windows of whole sentences (the
/// model reads at most 256 tokens).
const WINDOW_WORDS: usize = 120;
/// Neighbouring sentences read together, besides the whole: one risk sentence among many
/// ordinary ones barely moves the mean the model reads a whole entry by.
const CLOSE_SENTENCES: usize = 2;
/// Windows read at most per write (the whole windows first); the rules read everything.
const MAX_WINDOWS: usize = 32;

pub struct Classifier {
    models: Models,
    /// The category of each of the model's outputs (`None` for `none`), read from the installed
    /// file the first time it is there.
    labels: OnceLock<Vec<Option<Category>>>,
}

/// What the classifier made of an entry: the probability that it is at risk, and the most
/// likely category.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    risk: f32,
    category: Category,
}

impl Classifier {
    /// The classifier `models` is configured with (only the default embedder has one, which the
    /// config decides), or `None`.
    pub fn new(models: Models) -> Option<Classifier> {
        models.classifier_path()?;
        Some(Classifier {
            models,
            labels: OnceLock::new(),
        })
    }

    /// Whether the model and the classifier's file are installed (else the rules stand alone).
    pub fn available(&self) -> bool {
        self.models.installed() && self.models.classifier_installed()
    }

    /// Its file was refused at its last load (damaged or replaced).
    pub fn refused(&self) -> bool {
        self.models.classifier_refused()
    }

    /// The category of each output, or `None` when the file cannot be read or names a label
    /// that is not a category (a file this build was not made for).
    fn labels(&self) -> Option<&[Option<Category>]> {
        if let Some(labels) = self.labels.get() {
            return Some(labels);
        }
        let labels = self
            .models
            .classifier_labels()?
            .iter()
            .map(|name| match name.as_str() {
                "none" => Some(None),
                other => Category::from_name(other).map(Some),
            })
            .collect::<Option<Vec<_>>>();
        let Some(labels) = labels else {
            tracing::warn!("the crisis classifier's labels are not the check's categories");
            return None;
        };
        Some(self.labels.get_or_init(|| labels))
    }

    /// The finding for the most worrying of `texts`, or `None` when none reaches `threshold`,
    /// or the model is absent or too slow.
    pub async fn finding(&self, texts: &[&str], threshold: f32) -> Option<Finding> {
        let readings = self.readings(texts).await?;
        readings
            .into_iter()
            .filter(|r| r.risk >= threshold)
            .map(|r| Finding::of(r.category))
            .fold(None, |worst, f| Finding::worst(worst, Some(f)))
    }

    /// One reading per window of `texts`, or `None` without an answer from the model.
    async fn readings(&self, texts: &[&str]) -> Option<Vec<Reading>> {
        let windows: Vec<String> = texts
            .iter()
            .flat_map(|t| windows(t))
            .take(MAX_WINDOWS)
            .collect();
        if windows.is_empty() || !self.available() {
            return None;
        }
        let labels = self.labels()?;
        match tokio::time::timeout(WAIT, self.models.classify(windows)).await {
            Ok(Ok(probabilities)) => Some(probabilities.iter().map(|p| read(labels, p)).collect()),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "the crisis check's classifier was skipped");
                None
            }
            Err(_) => {
                tracing::info!(
                    "the crisis check's classifier was skipped: the model was not ready in time"
                );
                None
            }
        }
    }

    /// Loads the model ahead of the first write that needs it.
    pub async fn warm_up(&self) {
        if !self.available() {
            return;
        }
        if let Err(err) = self.models.classify(vec!["warming up".into()]).await {
            tracing::warn!(error = %err, "could not prepare the crisis check's classifier");
        }
    }
}

/// The risk (every category but `none` together) and the most likely category of one window.
fn read(labels: &[Option<Category>], probabilities: &[f32]) -> Reading {
    let mut risk = 0.0;
    let mut best = (f32::MIN, Category::WarningSign);
    for (label, &p) in labels.iter().zip(probabilities) {
        if let Some(category) = label {
            risk += p;
            if p > best.0 {
                best = (p, *category);
            }
        }
    }
    Reading {
        risk,
        category: best.1,
    }
}

/// The whole text when it is short, otherwise windows of whole sentences of about
/// [`WINDOW_WORDS`] words, each starting half way through the one before; then every run of
/// [`CLOSE_SENTENCES`] neighbouring sentences when there are more.
fn windows(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    let sentences: Vec<&str> = text
        .split_inclusive(['.', '!', '?', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut windows = whole_windows(text, &sentences);
    if sentences.len() > CLOSE_SENTENCES {
        windows.extend(sentences.windows(CLOSE_SENTENCES).map(|run| run.join(" ")));
    }
    windows
}

fn whole_windows(text: &str, sentences: &[&str]) -> Vec<String> {
    if text.split_whitespace().count() <= WINDOW_WORDS {
        return vec![text.to_string()];
    }
    let mut windows = Vec::new();
    let mut start = 0;
    while start < sentences.len() {
        let mut words = 0;
        let mut end = start;
        while end < sentences.len() && (end == start || words < WINDOW_WORDS) {
            words += sentences[end].split_whitespace().count();
            end += 1;
        }
        windows.push(sentences[start..end].join(" "));
        if end >= sentences.len() {
            break;
        }
        // The next window starts half way through this one (at least one sentence on).
        start = (start + (end - start).div_ceil(2)).max(start + 1);
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_entry_is_read_whole() {
        assert_eq!(
            windows("  I've decided. Friday.  "),
            vec!["I've decided. Friday."],
            "two sentences are their own pair"
        );
        assert!(windows("   ").is_empty());
    }

    #[test]
    fn an_entry_of_several_sentences_is_also_read_two_sentences_at_a_time() {
        assert_eq!(
            windows("Fed the dog. It's decided. Friday. Rain later."),
            vec![
                "Fed the dog. It's decided. Friday. Rain later.",
                "Fed the dog. It's decided.",
                "It's decided. Friday.",
                "Friday. Rain later.",
            ]
        );
    }

    #[test]
    fn a_long_entry_is_read_in_overlapping_windows_of_whole_sentences() {
        let sentence = "This is one sentence of ten words in the entry. ";
        let text = sentence.repeat(40);
        let sentences: Vec<&str> = text.split_inclusive('.').map(str::trim).collect();
        let read = whole_windows(text.trim(), &sentences[..40]);
        assert!(read.len() > 1);
        for window in &read {
            assert!(window.ends_with('.'), "whole sentences only");
            assert!(window.split_whitespace().count() <= WINDOW_WORDS + 10);
        }
        // Every pair of neighbouring sentences shares a window.
        let total: usize = read.iter().map(|w| w.split_whitespace().count()).sum();
        assert!(total > text.split_whitespace().count());
    }
}
