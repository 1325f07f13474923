//! The client's own words: parts, anchors, triggers, values, people.

use super::{Timeline, decrypt_record, encrypt_record, key_of};
use crate::domain::{Term, TermKind, now_millis};
use crate::error::{Error, Result, invalid};
use crate::store::{Op, Tree};
use crate::vault::Keys;

const WHAT: &str = "vocabulary term";
const MAX_WORD_CHARS: usize = 80;

impl Timeline {
    pub async fn add_term(&self, kind: TermKind, word: String, note: String) -> Result<Term> {
        let keys = self.keys()?;
        let word = word.trim().to_string();
        self.check_term(&word, &note)?;
        let existing = self.all_terms(&keys)?;
        if existing
            .iter()
            .any(|t| t.kind == kind && t.word.to_lowercase() == word.to_lowercase())
        {
            return Err(invalid(
                "that word is already in your vocabulary; `interlude vocab list` shows it",
            ));
        }
        let id = ulid::Ulid::from_parts(
            now_millis() as u64,
            u128::from_le_bytes(crate::crypto::random_bytes()?),
        );
        let term = Term {
            id: id.to_string(),
            kind,
            word,
            note,
        };
        let value = encrypt_record(&keys, Tree::Vocabulary, &id.to_bytes(), &term)?;
        self.store
            .commit(vec![Op::Put {
                tree: Tree::Vocabulary,
                key: id.to_bytes().to_vec(),
                value,
            }])
            .await?;
        Ok(term)
    }

    pub fn get_term(&self, id: &str) -> Result<Term> {
        let keys = self.keys()?;
        let key = key_of(WHAT, id)?;
        let value = self
            .store
            .get(Tree::Vocabulary, &key)?
            .ok_or_else(|| Error::NotFound {
                what: WHAT,
                id: id.into(),
            })?;
        decrypt_record(&keys, Tree::Vocabulary, &key, &value, WHAT)
    }

    pub fn list_terms(&self, kind: Option<TermKind>) -> Result<Vec<Term>> {
        let keys = self.keys()?;
        let mut terms = self.all_terms(&keys)?;
        terms.retain(|t| kind.is_none_or(|k| t.kind == k));
        Ok(terms)
    }

    pub async fn edit_term(
        &self,
        id: &str,
        kind: Option<TermKind>,
        word: Option<String>,
        note: Option<String>,
    ) -> Result<Term> {
        let keys = self.keys()?;
        let mut term = self.get_term(id)?;
        if let Some(kind) = kind {
            term.kind = kind;
        }
        if let Some(word) = word {
            term.word = word.trim().to_string();
        }
        if let Some(note) = note {
            term.note = note;
        }
        self.check_term(&term.word, &term.note)?;
        let key = key_of(WHAT, id)?;
        let value = encrypt_record(&keys, Tree::Vocabulary, &key, &term)?;
        self.store
            .commit(vec![Op::Put {
                tree: Tree::Vocabulary,
                key: key.to_vec(),
                value,
            }])
            .await?;
        Ok(term)
    }

    pub async fn remove_term(&self, id: &str) -> Result<()> {
        self.get_term(id)?;
        let key = key_of(WHAT, id)?;
        self.erase(vec![Op::Delete {
            tree: Tree::Vocabulary,
            key: key.to_vec(),
        }])
        .await
    }

    /// Every term, oldest first. Damaged terms are skipped: a vocabulary lookup must not stop capture.
    pub(super) fn all_terms(&self, keys: &Keys) -> Result<Vec<Term>> {
        let mut terms = Vec::new();
        for item in self.store.range(Tree::Vocabulary, .., false) {
            let (key, value) = item?;
            match decrypt_record(keys, Tree::Vocabulary, &key, &value, WHAT) {
                Ok(term) => terms.push(term),
                Err(_) => tracing::warn!("a damaged vocabulary term was skipped"),
            }
        }
        Ok(terms)
    }

    pub(super) fn check_term(&self, word: &str, note: &str) -> Result<()> {
        if word.is_empty() {
            return Err(invalid(
                "the word is empty; give the part, anchor, trigger, value or person a name",
            ));
        }
        if word.chars().count() > MAX_WORD_CHARS {
            return Err(invalid(format!(
                "the word is longer than {MAX_WORD_CHARS} characters; a short name works best"
            )));
        }
        if note.len() > self.limits.max_text_bytes {
            return Err(invalid("the note is over the text limit; shorten it"));
        }
        Ok(())
    }
}
