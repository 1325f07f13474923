//! Vectors derived from reflections and session insights: one encrypted value per source in the
//! `vectors` tree, rebuildable at any time, deleted in the same commit as their source. The value
//! is a one-byte [`Source`] then the little-endian f32s, sealed with the data key (the associated
//! data binds tree, key and schema like every other record).

use std::ops::Bound;

use zeroize::Zeroizing;

use super::{Timeline, id_of};
use crate::crypto;
use crate::domain::{Kind, Millis, Reflection, ReflectionQuery, Session};
use crate::error::{Error, Result};
use crate::store::{Op, Tree};
use crate::vault::Keys;

/// What a vector was computed from; resurfacing looks at every source but plain reflections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Reflection = 0,
    /// A reflection of kind "insight from session".
    InsightReflection = 1,
    /// One insight kept on a session (key: session ULID + 2-byte index).
    SessionInsight = 2,
    /// A reflection the client marked helpful (of any other kind).
    HelpfulReflection = 3,
}

impl Source {
    fn from_byte(b: u8) -> Option<Source> {
        [
            Source::Reflection,
            Source::InsightReflection,
            Source::SessionInsight,
            Source::HelpfulReflection,
        ]
        .get(usize::from(b))
        .copied()
    }

    pub fn resurfaces(self) -> bool {
        self != Source::Reflection
    }
}

/// Reflection keys, then session keys.
pub type Sources = (Vec<[u8; 16]>, Vec<[u8; 16]>);

/// One text to embed, with where its vector goes.
#[derive(Debug, Clone)]
pub struct ToEmbed {
    pub key: Vec<u8>,
    pub source: Source,
    pub text: String,
}

pub struct StoredVector {
    pub key: Vec<u8>,
    pub source: Source,
    pub vector: Vec<f32>,
}

/// The key of a session insight's vector.
pub fn insight_key(session: &[u8; 16], index: u16) -> Vec<u8> {
    let mut key = session.to_vec();
    key.extend_from_slice(&index.to_be_bytes());
    key
}

impl Timeline {
    /// What to embed for a reflection: its text and any exercise answers. `None` when it is gone.
    pub fn reflection_to_embed(&self, key: &[u8; 16]) -> Result<Option<ToEmbed>> {
        let keys = self.background_keys()?;
        let Some(value) = self.store.get(Tree::Reflections, key)? else {
            return Ok(None);
        };
        let r: Reflection =
            super::decrypt_record(&keys, Tree::Reflections, key, &value, "reflection")?;
        Ok(Some(ToEmbed {
            key: key.to_vec(),
            source: source_of(&r),
            text: text_of(&r),
        }))
    }

    /// One text per insight kept on a session; empty when the session is gone.
    pub fn session_to_embed(&self, key: &[u8; 16]) -> Result<Vec<ToEmbed>> {
        let Some(session) = self.session_by_key(key)? else {
            return Ok(Vec::new());
        };
        Ok(session
            .insights
            .into_iter()
            .take(usize::from(u16::MAX))
            .enumerate()
            .map(|(i, text)| ToEmbed {
                key: insight_key(key, i as u16),
                source: Source::SessionInsight,
                text,
            })
            .collect())
    }

    /// Stores computed vectors, skipping any whose source was deleted or changed meanwhile (the
    /// change queued it again). Returns the ones stored.
    pub async fn put_vectors(
        &self,
        computed: Vec<(ToEmbed, Vec<f32>)>,
    ) -> Result<Vec<StoredVector>> {
        let keys = self.background_keys()?;
        let _guard = self.vector_writes.lock().await;
        let mut ops = Vec::new();
        let mut stored = Vec::new();
        for (item, vector) in computed {
            // The source as the record says now (a helpful mark may have changed meanwhile).
            let Some(source) = self.still_says(&keys, &item)? else {
                continue;
            };
            ops.push(Op::Put {
                tree: Tree::Vectors,
                key: item.key.clone(),
                value: encrypt_vector(&keys, &item.key, source, &vector)?,
            });
            stored.push(StoredVector {
                key: item.key,
                source,
                vector,
            });
        }
        if !ops.is_empty() {
            self.store.commit(ops).await?;
        }
        Ok(stored)
    }

    /// Every stored vector, and how many failed their integrity check (left out).
    pub fn stored_vectors(&self) -> Result<(Vec<StoredVector>, usize)> {
        let keys = self.keys()?;
        let mut vectors = Vec::new();
        let mut damaged = 0;
        for item in self.store.range(Tree::Vectors, .., false) {
            let (key, value) = item?;
            match decrypt_vector(&keys, &key, &value) {
                Some((source, vector)) => vectors.push(StoredVector {
                    key,
                    source,
                    vector,
                }),
                None => damaged += 1,
            }
        }
        if damaged > 0 {
            tracing::warn!(
                count = damaged,
                "damaged vectors skipped; `interlude models reindex` rebuilds them"
            );
        }
        Ok((vectors, damaged))
    }

    /// Reflections and sessions that have no vector yet (a session counts when its first insight
    /// has none).
    pub fn missing_vectors(&self) -> Result<Sources> {
        let missing = |tree: Tree, vector_key: fn(&[u8; 16]) -> Vec<u8>| -> Result<Vec<[u8; 16]>> {
            let mut out = Vec::new();
            for item in self.store.range(tree, .., false) {
                let (key, _) = item?;
                let Ok(key) = <[u8; 16]>::try_from(key.as_slice()) else {
                    continue;
                };
                if self.store.get(Tree::Vectors, &vector_key(&key))?.is_none() {
                    out.push(key);
                }
            }
            Ok(out)
        };
        Ok((
            missing(Tree::Reflections, |k| k.to_vec())?,
            missing(Tree::Sessions, |k| insight_key(k, 0))?,
        ))
    }

    /// Every reflection and session key, for a full rebuild.
    pub fn all_sources(&self) -> Result<Sources> {
        let keys_of = |tree: Tree| -> Result<Vec<[u8; 16]>> {
            let mut out = Vec::new();
            for item in self.store.range(tree, .., false) {
                let (key, _) = item?;
                out.extend(<[u8; 16]>::try_from(key.as_slice()).ok());
            }
            Ok(out)
        };
        Ok((keys_of(Tree::Reflections)?, keys_of(Tree::Sessions)?))
    }

    /// Whether a reflection has a stored vector.
    pub fn has_vector(&self, key: &[u8]) -> Result<bool> {
        Ok(self.store.get(Tree::Vectors, key)?.is_some())
    }

    /// A session insight's own words and the session's day, by its vector key.
    pub fn insight_by_vector_key(&self, key: &[u8]) -> Result<Option<(String, Millis, String)>> {
        let Some((session_key, index)) = split_insight_key(key) else {
            return Ok(None);
        };
        Ok(self.session_by_key(&session_key)?.and_then(|s| {
            let text = s.insights.get(usize::from(index))?.clone();
            Some((s.id, s.held_at, text))
        }))
    }

    /// Every reflection in the query's window that passes its filters, without paging (search
    /// ranks the whole window). Damaged ones are reported by id.
    pub fn reflections_matching(
        &self,
        query: &ReflectionQuery,
    ) -> Result<(Vec<Reflection>, Vec<String>)> {
        crate::domain::check_range(query.since, query.until)?;
        let keys = self.keys()?;
        let bound = |m: Option<Millis>| {
            m.map(|m| {
                ulid::Ulid::from_parts(m.max(0) as u64, 0)
                    .to_bytes()
                    .to_vec()
            })
        };
        let lower = bound(query.since).map_or(Bound::Unbounded, Bound::Included);
        let upper = bound(query.until).map_or(Bound::Unbounded, Bound::Excluded);
        if let (Bound::Included(l), Bound::Excluded(u)) = (&lower, &upper)
            && l >= u
        {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut found = Vec::new();
        let mut damaged = Vec::new();
        for item in self.store.range(Tree::Reflections, (lower, upper), true) {
            let (key, value) = item?;
            match super::decrypt_record::<Reflection>(
                &keys,
                Tree::Reflections,
                &key,
                &value,
                "reflection",
            ) {
                Ok(r) if query.matches(&r) => found.push(r),
                Ok(_) => {}
                Err(_) => damaged.push(id_of(&key)),
            }
        }
        Ok((found, damaged))
    }

    /// Deletions for every insight vector of a session (for the commit that edits or deletes it).
    pub(super) fn insight_vector_deletes(&self, session: &[u8; 16]) -> Result<Vec<Op>> {
        let range = insight_key(session, 0)..=insight_key(session, u16::MAX);
        self.store
            .range(Tree::Vectors, range, false)
            .map(|item| {
                item.map(|(key, _)| Op::Delete {
                    tree: Tree::Vectors,
                    key,
                })
                .map_err(Error::from)
            })
            .collect()
    }

    fn session_by_key(&self, key: &[u8; 16]) -> Result<Option<Session>> {
        let keys = self.background_keys()?;
        match self.store.get(Tree::Sessions, key)? {
            Some(value) => Ok(Some(super::decrypt_record(
                &keys,
                Tree::Sessions,
                key,
                &value,
                "session",
            )?)),
            None => Ok(None),
        }
    }

    /// The vector's source when its source still holds the text the vector was computed from
    /// (reflections: still there; an edit queues it again and the newer vector replaces this
    /// one), `None` otherwise.
    fn still_says(&self, keys: &Keys, item: &ToEmbed) -> Result<Option<Source>> {
        match split_insight_key(&item.key) {
            Some((session, index)) => Ok(self
                .session_by_key(&session)?
                .is_some_and(|s| s.insights.get(usize::from(index)) == Some(&item.text))
                .then_some(Source::SessionInsight)),
            None => {
                let Some(value) = self.store.get(Tree::Reflections, &item.key)? else {
                    return Ok(None);
                };
                let r = super::decrypt_record::<Reflection>(
                    keys,
                    Tree::Reflections,
                    &item.key,
                    &value,
                    "reflection",
                );
                // A record damaged meanwhile: no vector (the listing reports it).
                Ok(r.ok().as_ref().map(source_of))
            }
        }
    }

    /// The reflection's stored vector re-sealed with another source (its helpful mark changed),
    /// or nothing when it has no vector yet (the indexer reads the mark when it computes one).
    /// A damaged vector is left for a reindex.
    pub(super) fn vector_with_source(
        &self,
        keys: &Keys,
        key: &[u8; 16],
        source: Source,
    ) -> Result<Option<Op>> {
        let Some(value) = self.store.get(Tree::Vectors, key)? else {
            return Ok(None);
        };
        let Some((old, vector)) = decrypt_vector(keys, key, &value) else {
            return Ok(None);
        };
        if old == source {
            return Ok(None);
        }
        Ok(Some(Op::Put {
            tree: Tree::Vectors,
            key: key.to_vec(),
            value: encrypt_vector(keys, key, source, &vector)?,
        }))
    }
}

fn split_insight_key(key: &[u8]) -> Option<([u8; 16], u16)> {
    if key.len() != 18 {
        return None;
    }
    let session = <[u8; 16]>::try_from(&key[..16]).ok()?;
    Some((session, u16::from_be_bytes([key[16], key[17]])))
}

/// Where a reflection's vector comes from: a session insight, a reflection marked helpful (both
/// resurface), or any other reflection. Words the crisis check flagged count as any other
/// reflection: they are never brought back unasked, marked or not.
pub fn source_of(r: &Reflection) -> Source {
    if r.crisis {
        Source::Reflection
    } else if r.kind == Kind::SessionInsight {
        Source::InsightReflection
    } else if r.helpful {
        Source::HelpfulReflection
    } else {
        Source::Reflection
    }
}

/// The words a reflection's meaning is taken from: its text, then any exercise answers.
pub fn text_of(r: &Reflection) -> String {
    std::iter::once(r.text.as_str())
        .chain(r.answers.iter().map(|a| a.value.as_str()))
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn encrypt_vector(keys: &Keys, key: &[u8], source: Source, vector: &[f32]) -> Result<Vec<u8>> {
    let mut plain = Zeroizing::new(Vec::with_capacity(1 + vector.len() * 4));
    plain.push(source as u8);
    for x in vector {
        plain.extend_from_slice(&x.to_le_bytes());
    }
    Ok(crypto::encrypt(
        &keys.data,
        &plain,
        &crypto::record_ad(Tree::Vectors.name(), key),
    )?)
}

fn decrypt_vector(keys: &Keys, key: &[u8], value: &[u8]) -> Option<(Source, Vec<f32>)> {
    let ad = crypto::record_ad(Tree::Vectors.name(), key);
    let plain = crypto::decrypt(&keys.data, value, &ad).ok()?;
    let (&source, floats) = plain.split_first()?;
    if floats.len() % 4 != 0 {
        return None;
    }
    let vector = floats
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some((Source::from_byte(source)?, vector))
}
