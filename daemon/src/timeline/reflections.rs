//! Adding, reading, listing, editing and deleting reflections, and sealing them while locked.

use std::ops::Bound;

use x25519_dalek::PublicKey;
use zeroize::Zeroizing;

use super::{Changed, Timeline, decrypt_record, encrypt_record, id_of, key_of, vectors};
use crate::crypto;
use crate::domain::{
    self, Kind, NewReflection, Order, Reflection, ReflectionEdit, ReflectionQuery, Revision,
    check_range, now_millis,
};
use crate::error::{Error, Result};
use crate::safety::Finding;
use crate::store::{Op, Tree};
use crate::vault::VaultState;

const WHAT: &str = "reflection";
pub const MAX_PAGE: usize = 1000;
pub const DEFAULT_PAGE: usize = 50;
/// A page stops once its records reach this many bytes (at least one record per page), so a
/// response stays far inside any client's 4 MiB default however long the entries are.
pub const PAGE_BYTES: usize = 2 * 1024 * 1024;
/// An edit keeps the first version (what was written in the moment) and the most recent ones,
/// at most this many versions and this many bytes of them: a reflection edited a hundred times
/// at the longest length still fits in one response, and its history still reads in order.
pub const HISTORY_VERSIONS: usize = 32;
pub const HISTORY_BYTES: usize = 1024 * 1024;

pub use crate::domain::Added;

pub struct Page {
    pub reflections: Vec<Reflection>,
    /// The id to continue after, when there may be more.
    pub next: Option<String>,
    pub damaged: Vec<String>,
}

impl Timeline {
    /// Saves a reflection and returns once it is durable. Never waits for a passphrase: while
    /// the vault is locked the reflection is sealed to the vault's public key.
    pub async fn add_reflection(&self, new: NewReflection) -> Result<Added> {
        self.limits.check_new(&new)?;
        let crisis = Finding::worst(
            self.crisis_in(new.kind, &new.text, &new.answers).await,
            new.raised.map(Finding::for_step),
        );
        let now = now_millis();
        let moment = new.moment.unwrap_or(now);
        let id = ulid::Ulid::from_parts(moment as u64, random_u128()?);
        let key = id.to_bytes();
        let mut reflection = Reflection {
            id: id.to_string(),
            moment,
            recorded_at: now,
            edited_at: None,
            kind: new.kind,
            text: new.text,
            emotions: new.emotions,
            tags: new.tags,
            term_ids: Vec::new(),
            bring_to_session: new.bring_to_session,
            private: new.private,
            plugin_id: new.plugin_id,
            exercise_id: new.exercise_id,
            prompt_id: new.prompt_id,
            prompt: new.prompt,
            answers: new.answers,
            crisis: crisis.is_some(),
            history: Vec::new(),
            helpful: false,
        };
        let op = match self.vault.keys() {
            Ok(keys) => {
                reflection.term_ids =
                    domain::mentioned_terms(&reflection.text, &self.all_terms(&keys)?);
                let value = encrypt_record(&keys, Tree::Reflections, &key, &reflection)?;
                Op::Put {
                    tree: Tree::Reflections,
                    key: key.to_vec(),
                    value,
                }
            }
            Err(Error::Locked) => {
                let value = seal(&self.vault.public_key()?, &key, &reflection)?;
                Op::Put {
                    tree: Tree::Sealed,
                    key: key.to_vec(),
                    value,
                }
            }
            Err(other) => return Err(other),
        };
        let sealed = matches!(
            op,
            Op::Put {
                tree: Tree::Sealed,
                ..
            }
        );
        self.store.commit(vec![op]).await?;
        if !sealed {
            self.changed(Changed::Reflection(key));
        }
        Ok(Added {
            id: reflection.id,
            moment,
            sealed,
            crisis,
        })
    }

    pub fn get_reflection(&self, id: &str) -> Result<Reflection> {
        let keys = self.keys()?;
        let key = key_of(WHAT, id)?;
        match self.store.get(Tree::Reflections, &key)? {
            Some(value) => decrypt_record(&keys, Tree::Reflections, &key, &value, WHAT),
            None if self.store.get(Tree::Sealed, &key)?.is_some() => Err(Error::Invalid(
                "this reflection is still sealed; unlock again to open it".into(),
            )),
            None => Err(Error::NotFound {
                what: WHAT,
                id: id.to_string(),
            }),
        }
    }

    /// One page of reflections in the window, filtered, in the asked order. Damaged records are
    /// reported by id rather than failing the whole page.
    pub fn list_reflections(&self, query: &ReflectionQuery) -> Result<Page> {
        check_range(query.since, query.until)?;
        let keys = self.keys()?;
        let limit = match query.limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let lower = query
            .since
            .map_or(Bound::Unbounded, |s| Bound::Included(time_key(s, 0)));
        let upper = query
            .until
            .map_or(Bound::Unbounded, |u| Bound::Excluded(time_key(u, 0)));
        let (lower, upper) = match (&query.after, query.order) {
            (None, _) => (lower, upper),
            (Some(after), Order::NewestFirst) => (lower, Bound::Excluded(page_key(after)?)),
            (Some(after), Order::OldestFirst) => (Bound::Excluded(page_key(after)?), upper),
        };
        if bounds_empty(&lower, &upper) {
            return Ok(Page {
                reflections: Vec::new(),
                next: None,
                damaged: Vec::new(),
            });
        }
        let descending = query.order == Order::NewestFirst;
        let mut page = Page {
            reflections: Vec::new(),
            next: None,
            damaged: Vec::new(),
        };
        let mut bytes = 0;
        for item in self
            .store
            .range(Tree::Reflections, (lower, upper), descending)
        {
            let (key, value) = item?;
            let full = page.reflections.len() == limit
                || (!page.reflections.is_empty() && bytes + value.len() > PAGE_BYTES);
            if full {
                page.next = page.reflections.last().map(|r| r.id.clone());
                break;
            }
            match decrypt_record::<Reflection>(&keys, Tree::Reflections, &key, &value, WHAT) {
                Ok(r) if query.matches(&r) => {
                    bytes += value.len();
                    page.reflections.push(r);
                }
                Ok(_) => {}
                Err(_) => page.damaged.push(id_of(&key)),
            }
        }
        if !page.damaged.is_empty() {
            tracing::warn!(
                count = page.damaged.len(),
                "damaged reflections skipped in a listing"
            );
        }
        Ok(page)
    }

    /// Applies an edit; the replaced text, tags and emotions go into the history.
    pub async fn edit_reflection(&self, id: &str, edit: ReflectionEdit) -> Result<Reflection> {
        self.limits.check_edit(&edit)?;
        let keys = self.keys()?;
        let mut reflection = self.get_reflection(id)?;
        let now = now_millis();
        reflection.history.push(Revision {
            replaced_at: now,
            text: reflection.text.clone(),
            emotions: reflection.emotions.clone(),
            tags: reflection.tags.clone(),
        });
        compact_history(&mut reflection.history);
        if let Some(text) = edit.text {
            reflection.term_ids = domain::mentioned_terms(&text, &self.all_terms(&keys)?);
            reflection.crisis = self
                .crisis_in(reflection.kind, &text, &reflection.answers)
                .await
                .is_some();
            reflection.text = text;
        }
        if let Some(tags) = edit.tags {
            reflection.tags = tags;
        }
        if let Some(emotions) = edit.emotions {
            reflection.emotions = emotions;
        }
        if let Some(b) = edit.bring_to_session {
            reflection.bring_to_session = b;
        }
        if let Some(p) = edit.private {
            reflection.private = p;
        }
        if let Some(kind) = edit.kind {
            reflection.kind = kind;
        }
        reflection.edited_at = Some(now);
        let key = key_of(WHAT, id)?;
        let value = encrypt_record(&keys, Tree::Reflections, &key, &reflection)?;
        self.store
            .commit(vec![Op::Put {
                tree: Tree::Reflections,
                key: key.to_vec(),
                value,
            }])
            .await?;
        self.changed(Changed::Reflection(key));
        Ok(reflection)
    }

    /// Marks a reflection helpful or clears the mark. Not an edit: no revision, no `edited_at`,
    /// nothing to embed again. Its stored vector, if it has one, changes source in the same
    /// commit, so that resurfacing sees the mark from the moment this returns (the caller updates
    /// the in-memory index). Needs the vault unlocked, like every edit.
    pub async fn set_helpful(&self, id: &str, helpful: bool) -> Result<Reflection> {
        let keys = self.keys()?;
        let key = key_of(WHAT, id)?;
        // Held like a vector write: a vector being computed now cannot land with the old source.
        let _guard = self.vector_writes.lock().await;
        let mut reflection = self.get_reflection(id)?;
        if reflection.helpful == helpful {
            return Ok(reflection);
        }
        reflection.helpful = helpful;
        let mut ops = vec![Op::Put {
            tree: Tree::Reflections,
            key: key.to_vec(),
            value: encrypt_record(&keys, Tree::Reflections, &key, &reflection)?,
        }];
        ops.extend(self.vector_with_source(&keys, &key, vectors::source_of(&reflection))?);
        self.store.commit(ops).await?;
        Ok(reflection)
    }

    /// Removes the reflection and its history, from disk too (see [`Timeline::erase`]). Needs the
    /// vault unlocked, like every read.
    pub async fn delete_reflection(&self, id: &str) -> Result<()> {
        self.keys()?;
        let key = key_of(WHAT, id)?;
        let present = self.store.get(Tree::Reflections, &key)?.is_some()
            || self.store.get(Tree::Sealed, &key)?.is_some();
        if !present {
            return Err(Error::NotFound {
                what: WHAT,
                id: id.to_string(),
            });
        }
        // Its vector goes in the same commit; the guard keeps a vector being computed right now
        // from landing after it.
        let _guard = self.vector_writes.lock().await;
        self.erase(vec![
            Op::Delete {
                tree: Tree::Reflections,
                key: key.to_vec(),
            },
            Op::Delete {
                tree: Tree::Sealed,
                key: key.to_vec(),
            },
            Op::Delete {
                tree: Tree::Vectors,
                key: key.to_vec(),
            },
        ])
        .await?;
        self.changed(Changed::ReflectionDeleted(key));
        Ok(())
    }

    /// Reflections captured while locked and not yet opened.
    pub fn sealed_pending(&self) -> usize {
        self.store.len(Tree::Sealed)
    }

    /// Opens every reflection sealed while locked and moves it into the timeline, in commits of
    /// at most [`UNSEAL_COMMIT_BYTES`] (each reflection's put and delete in the same one, so a
    /// commit always fits the journal's entry limit). Returns how many joined. A sealed value that does not open is left where it is.
    pub async fn unseal_pending(&self) -> Result<usize> {
        if self.vault.state() != VaultState::Unlocked || self.sealed_pending() == 0 {
            return Ok(0);
        }
        let keys = self.keys()?;
        let terms = self.all_terms(&keys)?;
        let mut ops = Vec::new();
        for item in self.store.range(Tree::Sealed, .., false) {
            let (key, value) = item?;
            let ad = crypto::record_ad(Tree::Sealed.name(), &key);
            let Ok(plain) = crypto::unseal(&keys.secret, &value, &ad) else {
                tracing::error!("a sealed reflection does not open; left in place");
                continue;
            };
            let Ok(mut reflection) = serde_json::from_slice::<Reflection>(&plain) else {
                tracing::error!("a sealed reflection is not readable; left in place");
                continue;
            };
            reflection.term_ids = domain::mentioned_terms(&reflection.text, &terms);
            let value = encrypt_record(&keys, Tree::Reflections, &key, &reflection)?;
            ops.push(Op::Put {
                tree: Tree::Reflections,
                key: key.clone(),
                value,
            });
            ops.push(Op::Delete {
                tree: Tree::Sealed,
                key,
            });
        }
        let joined = ops.len() / 2;
        for commit in bounded_commits(ops) {
            let keys: Vec<Vec<u8>> = commit
                .iter()
                .filter_map(|op| match op {
                    Op::Put { key, .. } => Some(key.clone()),
                    Op::Delete { .. } => None,
                })
                .collect();
            self.store.commit(commit).await?;
            for key in keys {
                if let Ok(key) = <[u8; 16]>::try_from(key.as_slice()) {
                    self.changed(Changed::Reflection(key));
                }
            }
        }
        if joined > 0 {
            tracing::info!(count = joined, "sealed reflections joined the timeline");
        }
        Ok(joined)
    }
}

impl Timeline {
    /// Runs the crisis check over the text and every structured answer, before anything is saved.
    pub(super) async fn crisis_in(
        &self,
        kind: Kind,
        text: &str,
        answers: &[domain::Answer],
    ) -> Option<Finding> {
        let answer_values = answers.iter().map(|a| a.value.as_str());
        let texts: Vec<&str> = std::iter::once(text).chain(answer_values.clone()).collect();
        if kind != Kind::Exercise {
            return self.crisis_check.check(&texts).await;
        }
        // An exercise's text is the plugin's title and questions with the client's answers
        // indented under them (`practice::render`). The rules read it all; the classifier, trained
        // on clients' words, reads the answers as one text and each alone: a question such as
        // "what's the loudest thought right now" moved it towards a false alarm.
        let answered = answers_in(text);
        let own_words: Vec<&str> = std::iter::once(answered.as_str())
            .chain(answer_values)
            .collect();
        self.crisis_check.check_with(&texts, &own_words).await
    }
}

/// The indented lines of an exercise's text, the client's answers, one per line.
fn answers_in(text: &str) -> String {
    text.lines()
        .filter(|line| line.starts_with("  "))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

fn seal(public: &PublicKey, key: &[u8], reflection: &Reflection) -> Result<Vec<u8>> {
    let plain =
        Zeroizing::new(serde_json::to_vec(reflection).map_err(|e| Error::Internal(e.to_string()))?);
    let ad = crypto::record_ad(Tree::Sealed.name(), key);
    Ok(crypto::seal(public, &plain, &ad)?)
}

fn random_u128() -> Result<u128> {
    Ok(u128::from_le_bytes(crypto::random_bytes()?))
}

/// The key a page token stands for; tokens are the ids of the last reflection of a page.
fn page_key(token: &str) -> Result<Vec<u8>> {
    key_of(WHAT, token).map(|k| k.to_vec()).map_err(|_| {
        Error::Invalid(
            "the page token is not one this daemon gave out; start from the first page".into(),
        )
    })
}

/// The smallest (`fill` 0) key at a moment; ULIDs sort by time first.
fn time_key(millis: domain::Millis, fill: u128) -> Vec<u8> {
    ulid::Ulid::from_parts(millis.max(0) as u64, fill)
        .to_bytes()
        .to_vec()
}

fn bounds_empty(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
            l >= u
        }
        _ => false,
    }
}
/// The most bytes of values one unsealing commit carries.
pub const UNSEAL_COMMIT_BYTES: usize = 8 * 1024 * 1024;

/// `ops` (pairs of a put and a delete) in commits of at most [`UNSEAL_COMMIT_BYTES`] of values.
fn bounded_commits(ops: Vec<Op>) -> Vec<Vec<Op>> {
    let mut commits: Vec<Vec<Op>> = Vec::new();
    let mut bytes = 0;
    let mut ops = ops.into_iter();
    while let (Some(put), Some(delete)) = (ops.next(), ops.next()) {
        let size = match &put {
            Op::Put { key, value, .. } => key.len() + value.len(),
            Op::Delete { key, .. } => key.len(),
        };
        match commits.last_mut() {
            Some(commit) if bytes + size <= UNSEAL_COMMIT_BYTES => {
                bytes += size;
                commit.extend([put, delete]);
            }
            _ => {
                bytes = size;
                commits.push(vec![put, delete]);
            }
        }
    }
    commits
}

/// Drops the oldest versions after the first until the history is within [`HISTORY_VERSIONS`]
/// and [`HISTORY_BYTES`]; the first and the latest always stay.
fn compact_history(history: &mut Vec<Revision>) {
    let bytes = |h: &[Revision]| h.iter().map(revision_bytes).sum::<usize>();
    while history.len() > 2 && (history.len() > HISTORY_VERSIONS || bytes(history) > HISTORY_BYTES)
    {
        history.remove(1);
    }
}

fn revision_bytes(revision: &Revision) -> usize {
    32 + revision.text.len()
        + revision.tags.iter().map(|t| t.len() + 4).sum::<usize>()
        + revision.emotions.len() * 32
}
