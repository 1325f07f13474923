//! Search by meaning and by words, the background indexer that keeps a vector for every
//! reflection and kept session insight, and resurfacing the client's own earlier insights and
//! the entries they marked helpful.
//!
//! Vectors can only be computed and read while the vault is unlocked: on lock the queue and the
//! in-memory index are dropped; on unlock everything without a vector is queued again.

mod index;
mod indexer;
pub mod lexical;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub use index::{VectorIndex, dot};
pub use indexer::run;

use crate::domain::{Kind, Millis, ReflectionQuery};
use crate::error::{Error, Result, invalid};
use crate::models::{ModelError, Models};
use crate::timeline::Timeline;
use crate::timeline::vectors::{source_of, text_of};
use crate::vault::{Vault, VaultState};

/// Ranking: meaning counts most; exact words still lift an entry that says what was asked.
const MEANING_WEIGHT: f32 = 0.65;
const WORDS_WEIGHT: f32 = 0.35;
/// Below this cosine, and with no word in common, an entry is not a result at all.
/// all-MiniLM-L6-v2 puts unrelated everyday sentences at about 0.0–0.15.
const MEANING_FLOOR: f32 = 0.25;
/// Resurfacing fires at or above this cosine. Calibrated with the real model in
/// daemon/tests/components/search.rs: three paraphrases of a kept insight scored 0.36, 0.47 and 0.49;
/// four unrelated entries −0.003 to 0.073. 0.30 sits below every paraphrase and far above every
/// unrelated entry (a false resurfacing is worse than a missed one, but paraphrases this loose
/// are exactly what the client would not spot themselves).
pub const RESURFACE_THRESHOLD: f32 = 0.30;
/// How long adding a reflection may wait for the model to embed it for resurfacing. Past this
/// the reflection is saved and acknowledged without resurfaced entries (never an error).
const RESURFACE_WAIT: Duration = Duration::from_millis(1500);
const MAX_RESURFACED: usize = 2;
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 200;
const MAX_QUERY_BYTES: usize = 4096;

pub struct SearchQuery {
    pub text: String,
    /// since, until, kind, tag (paging fields are ignored).
    pub window: ReflectionQuery,
    pub limit: usize,
}

pub struct Hit {
    pub id: String,
    pub moment: Millis,
    pub kind: Kind,
    pub snippet: String,
    pub score: f32,
    pub meaning: f32,
    pub words: f32,
}

pub struct Found {
    pub hits: Vec<Hit>,
    pub words_only: bool,
    pub notice: String,
    pub not_indexed: usize,
    pub indexing: usize,
    pub damaged: Vec<String>,
}

/// An earlier entry in the client's own words.
#[derive(Debug, Clone)]
pub struct Resurfaced {
    pub id: String,
    pub moment: Millis,
    pub text: String,
    pub similarity: f32,
    pub from_session: bool,
    /// A reflection the client marked helpful.
    pub helpful: bool,
}

#[derive(Clone)]
pub struct Search {
    inner: Arc<Inner>,
}

struct Inner {
    timeline: Timeline,
    models: Models,
    vault: Arc<Vault>,
    /// `None` until first needed after an unlock, and again after a lock.
    index: RwLock<Option<VectorIndex>>,
    queue: Mutex<Queue>,
    wake: tokio::sync::Notify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Job {
    Reflection([u8; 16]),
    Session([u8; 16]),
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    queued: HashSet<Job>,
    in_flight: usize,
}

impl Search {
    pub fn new(timeline: Timeline, models: Models, vault: Arc<Vault>) -> Search {
        Search {
            inner: Arc::new(Inner {
                timeline,
                models,
                vault,
                index: RwLock::new(None),
                queue: Mutex::new(Queue::default()),
                wake: tokio::sync::Notify::new(),
            }),
        }
    }

    pub fn models(&self) -> &Models {
        &self.inner.models
    }

    /// Ranks the reflections in the window by meaning and words together (see the weights above).
    /// Without a usable embedding model: words only, and `notice` says why and what to do.
    pub async fn search(&self, query: SearchQuery) -> Result<Found> {
        let text = query.text.trim();
        if text.is_empty() {
            return Err(invalid(
                "give some words to search for, e.g. `interlude search \"trouble sleeping\"`",
            ));
        }
        if text.len() > MAX_QUERY_BYTES {
            return Err(invalid(format!(
                "the search is longer than {MAX_QUERY_BYTES} bytes; use a few words or a sentence"
            )));
        }
        let limit = match query.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let (reflections, damaged) = self.inner.timeline.reflections_matching(&query.window)?;
        let (query_vector, notice) = match self.inner.models.embed(vec![text.to_string()]).await {
            Ok(mut v) => (v.pop(), String::new()),
            Err(err) => (None, format!("{err}. These results match words only.")),
        };
        let documents: Vec<String> = reflections.iter().map(text_of).collect();
        let refs: Vec<&str> = documents.iter().map(String::as_str).collect();
        let words = lexical::scores(text, &refs);
        let meanings: Vec<Option<f32>> = match &query_vector {
            Some(q) => self.with_index(|index| {
                reflections
                    .iter()
                    .map(|r| index.similarity(&reflection_key(&r.id), q))
                    .collect()
            })?,
            None => vec![None; reflections.len()],
        };
        let not_indexed = meanings.iter().filter(|m| m.is_none()).count();
        let words_only = query_vector.is_none();
        let mut hits: Vec<Hit> = reflections
            .iter()
            .zip(words)
            .zip(&meanings)
            .zip(&documents)
            .filter_map(|(((r, words), meaning), document)| {
                let meaning = meaning.unwrap_or(0.0).max(0.0);
                if words <= 0.0 && meaning < MEANING_FLOOR {
                    return None;
                }
                let score = if words_only {
                    words
                } else {
                    MEANING_WEIGHT * meaning + WORDS_WEIGHT * words
                };
                Some(Hit {
                    id: r.id.clone(),
                    moment: r.moment,
                    kind: r.kind,
                    snippet: lexical::snippet(document, text, 160),
                    score,
                    meaning,
                    words,
                })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.moment.cmp(&a.moment)));
        hits.truncate(limit);
        // First use indexes what is missing; the response says how much is still to do.
        if not_indexed > 0 && !words_only {
            self.catch_up();
        }
        Ok(Found {
            hits,
            words_only,
            notice,
            not_indexed,
            indexing: self.indexing(),
            damaged,
        })
    }

    /// Unit vectors for `reflections`, by id: the stored ones, and the missing ones embedded now
    /// (and not stored: the indexer does that). An error when the embedding model cannot run.
    pub async fn vectors_for(
        &self,
        reflections: &[&crate::domain::Reflection],
    ) -> std::result::Result<std::collections::HashMap<String, Vec<f32>>, ModelError> {
        let mut found = std::collections::HashMap::new();
        let stored = self
            .with_index(|index| {
                reflections
                    .iter()
                    .filter_map(|r| {
                        index
                            .vector(&reflection_key(&r.id))
                            .map(|v| (r.id.clone(), v.to_vec()))
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        found.extend(stored);
        let missing: Vec<&&crate::domain::Reflection> = reflections
            .iter()
            .filter(|r| !found.contains_key(&r.id))
            .collect();
        for batch in missing.chunks(64) {
            let texts = batch.iter().map(|r| text_of(r)).collect();
            let vectors = self.inner.models.embed(texts).await?;
            for (r, v) in batch.iter().zip(vectors) {
                found.insert(r.id.clone(), v);
            }
        }
        Ok(found)
    }

    /// Up to two earlier insights (kept on a session, or reflections of that kind) and
    /// reflections marked helpful that the reflection `new_id` resembles, above
    /// [`RESURFACE_THRESHOLD`]. Embeds the words its own vector is taken from right away but
    /// waits at most [`RESURFACE_WAIT`]; any problem means "nothing resurfaced", never a failed
    /// write.
    pub async fn resurface(&self, new_id: &str) -> Vec<Resurfaced> {
        if self.inner.vault.state() != VaultState::Unlocked || !self.inner.models.installed() {
            return Vec::new();
        }
        let Some(text) = self.text_to_embed(new_id) else {
            return Vec::new();
        };
        let embedded =
            tokio::time::timeout(RESURFACE_WAIT, self.inner.models.embed(vec![text])).await;
        let query = match embedded {
            Ok(Ok(mut v)) => match v.pop() {
                Some(q) => q,
                None => return Vec::new(),
            },
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "resurfacing skipped");
                return Vec::new();
            }
            Err(_) => {
                tracing::info!("resurfacing skipped: the embedding model was not ready in time");
                return Vec::new();
            }
        };
        let near = self
            .with_index(|index| index.nearest_resurfacing(&query, RESURFACE_THRESHOLD, 8))
            .unwrap_or_default();
        let own = reflection_key(new_id);
        let mut found: Vec<Resurfaced> = Vec::new();
        for (key, similarity) in near {
            if key == own || found.len() == MAX_RESURFACED {
                continue;
            }
            let entry = match self.earlier_entry(&key, similarity) {
                Ok(Some(entry)) => entry,
                Ok(None) => continue,
                Err(err) => {
                    tracing::warn!(error = %err, "an entry to resurface could not be read");
                    continue;
                }
            };
            if !found.iter().any(|f| f.text == entry.text) {
                found.push(entry);
            }
        }
        found
    }

    /// What the background indexer embeds for the reflection `id`: its text and any exercise
    /// answers. `None` when it cannot be read (sealed, gone, or the vault locked meanwhile).
    fn text_to_embed(&self, id: &str) -> Option<String> {
        let key = ulid::Ulid::from_string(id).ok()?.to_bytes();
        match self.inner.timeline.reflection_to_embed(&key) {
            Ok(item) => item.map(|i| i.text),
            Err(err) => {
                tracing::warn!(error = %err, "resurfacing skipped");
                None
            }
        }
    }

    fn earlier_entry(&self, key: &[u8], similarity: f32) -> Result<Option<Resurfaced>> {
        let timeline = &self.inner.timeline;
        if let Some((id, moment, text)) = timeline.insight_by_vector_key(key)? {
            return Ok(Some(Resurfaced {
                id,
                moment,
                text,
                similarity,
                from_session: true,
                helpful: false,
            }));
        }
        let Ok(key) = <[u8; 16]>::try_from(key) else {
            return Ok(None);
        };
        match timeline.get_reflection(&ulid::Ulid::from_bytes(key).to_string()) {
            // The record decides, not the index: a mark cleared a moment ago is cleared.
            Ok(r) if source_of(&r).resurfaces() => Ok(Some(Resurfaced {
                id: r.id,
                moment: r.moment,
                text: r.text,
                similarity,
                from_session: false,
                helpful: r.helpful,
            })),
            Ok(_) => Ok(None),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Marks a reflection helpful or clears the mark, and lets resurfacing see it at once.
    pub async fn set_helpful(&self, id: &str, helpful: bool) -> Result<crate::domain::Reflection> {
        let reflection = self.inner.timeline.set_helpful(id, helpful).await?;
        let source = source_of(&reflection);
        self.update_index(|index| index.set_source(&reflection_key(id), source));
        Ok(reflection)
    }

    /// Queues every reflection and session to be embedded again. Needs the vault unlocked and
    /// the model installed; returns how many were queued.
    pub fn reindex(&self) -> Result<usize> {
        if !self.inner.models.installed() {
            return Err(Error::Models(ModelError::Absent {
                dir: self.inner.models.embedder_dir().to_path_buf(),
            }));
        }
        let (reflections, sessions) = self.inner.timeline.all_sources()?;
        Ok(self.enqueue(jobs(reflections, sessions)))
    }

    /// Queues whatever has no vector yet. Quietly does nothing while locked or without a model.
    pub fn catch_up(&self) -> usize {
        if !self.inner.models.installed() || self.inner.vault.state() != VaultState::Unlocked {
            return 0;
        }
        match self.inner.timeline.missing_vectors() {
            Ok((reflections, sessions)) => self.enqueue(jobs(reflections, sessions)),
            Err(err) => {
                tracing::warn!(error = %err, "could not look for entries to index");
                0
            }
        }
    }

    /// Entries waiting to be embedded, including the batch being embedded now.
    pub fn indexing(&self) -> usize {
        let queue = self.queue();
        queue.jobs.len() + queue.in_flight
    }

    fn enqueue(&self, new: impl IntoIterator<Item = Job>) -> usize {
        let mut queue = self.queue();
        let mut added = 0;
        for job in new {
            if queue.queued.insert(job) {
                queue.jobs.push_back(job);
                added += 1;
            }
        }
        drop(queue);
        if added > 0 {
            self.inner.wake.notify_one();
        }
        added
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.inner.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the index, building it from the store first if needed (unlocked only).
    fn with_index<R>(&self, f: impl FnOnce(&VectorIndex) -> R) -> Result<R> {
        {
            let index = self.inner.index.read().unwrap_or_else(|p| p.into_inner());
            if let Some(index) = index.as_ref() {
                return Ok(f(index));
            }
        }
        let mut index = self.inner.index.write().unwrap_or_else(|p| p.into_inner());
        if index.is_none() {
            let (stored, _damaged) = self.inner.timeline.stored_vectors()?;
            *index = Some(VectorIndex::from_stored(stored));
        }
        match index.as_ref() {
            Some(index) => Ok(f(index)),
            None => Ok(f(&VectorIndex::default())),
        }
    }

    fn update_index(&self, f: impl FnOnce(&mut VectorIndex)) {
        let mut index = self.inner.index.write().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = index.as_mut() {
            f(index);
        }
    }

    /// Forgets everything decrypted: the queue and the index (on lock).
    fn forget(&self) {
        let mut queue = self.queue();
        queue.jobs.clear();
        queue.queued.clear();
        drop(queue);
        *self.inner.index.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn jobs(reflections: Vec<[u8; 16]>, sessions: Vec<[u8; 16]>) -> impl Iterator<Item = Job> {
    reflections
        .into_iter()
        .map(Job::Reflection)
        .chain(sessions.into_iter().map(Job::Session))
}

fn reflection_key(id: &str) -> Vec<u8> {
    ulid::Ulid::from_string(id)
        .map(|u| u.to_bytes().to_vec())
        .unwrap_or_default()
}
