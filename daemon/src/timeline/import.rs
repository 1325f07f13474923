//! Taking back what `interlude export` wrote: reflections (with their history), sessions and
//! vocabulary terms keep their own ids, times and fields, so an export imported into an empty
//! vault exports again identically. A record whose id is already here is left as it is, so
//! importing the same file twice adds nothing. Each reflection passes the crisis check like any
//! other (the flag stays set if either says so).

use super::{Changed, Timeline, encrypt_record, key_of};
use crate::domain::{NewReflection, Reflection, Session, Term};
use crate::error::{Result, invalid};
use crate::store::{Op, Tree};

/// Records to import, as the export holds them.
#[derive(Debug, Default)]
pub struct ImportBatch {
    pub reflections: Vec<Reflection>,
    pub sessions: Vec<Session>,
    pub terms: Vec<Term>,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub added: usize,
    /// Already here under the same id; left as they are.
    pub already_present: usize,
}

impl Timeline {
    /// Checks everything first, then writes it in one commit: a bad record imports nothing.
    pub async fn import(&self, batch: ImportBatch) -> Result<Imported> {
        let keys = self.keys()?;
        let mut ops = Vec::new();
        let mut done = Imported::default();
        let mut added_reflections = Vec::new();
        for mut reflection in batch.reflections {
            let key = key_of("reflection", &reflection.id)?;
            self.limits.check_new(&as_new(&reflection))?;
            if self.store.get(Tree::Reflections, &key)?.is_some() {
                done.already_present += 1;
                continue;
            }
            let found = self
                .crisis_in(reflection.kind, &reflection.text, &reflection.answers)
                .await;
            reflection.crisis |= found.is_some();
            ops.push(Op::Put {
                tree: Tree::Reflections,
                key: key.to_vec(),
                value: encrypt_record(&keys, Tree::Reflections, &key, &reflection)?,
            });
            added_reflections.push(key);
        }
        for session in batch.sessions {
            let key = key_of("session", &session.id)?;
            self.check_session(&session.insights, &session.note)?;
            if self.store.get(Tree::Sessions, &key)?.is_some() {
                done.already_present += 1;
                continue;
            }
            ops.push(Op::Put {
                tree: Tree::Sessions,
                key: key.to_vec(),
                value: encrypt_record(&keys, Tree::Sessions, &key, &session)?,
            });
        }
        for term in batch.terms {
            let key = key_of("term", &term.id)?;
            self.check_term(&term.word, &term.note)?;
            if self.store.get(Tree::Vocabulary, &key)?.is_some() {
                done.already_present += 1;
                continue;
            }
            ops.push(Op::Put {
                tree: Tree::Vocabulary,
                key: key.to_vec(),
                value: encrypt_record(&keys, Tree::Vocabulary, &key, &term)?,
            });
        }
        done.added = ops.len();
        if ops.len() > MAX_RECORDS {
            return Err(invalid(format!(
                "one import takes at most {MAX_RECORDS} records; this one has {}",
                ops.len()
            )));
        }
        if !ops.is_empty() {
            self.store.commit(ops).await?;
        }
        for key in added_reflections {
            self.changed(Changed::Reflection(key));
        }
        Ok(done)
    }
}

/// The most records one import call writes (the CLI sends larger exports in several calls).
pub const MAX_RECORDS: usize = 2000;

/// The fields the limits look at.
fn as_new(reflection: &Reflection) -> NewReflection {
    NewReflection {
        text: reflection.text.clone(),
        kind: reflection.kind,
        emotions: reflection.emotions.clone(),
        tags: reflection.tags.clone(),
        bring_to_session: reflection.bring_to_session,
        private: reflection.private,
        moment: Some(reflection.moment),
        plugin_id: reflection.plugin_id.clone(),
        exercise_id: reflection.exercise_id.clone(),
        answers: reflection.answers.clone(),
        prompt_id: reflection.prompt_id.clone(),
        prompt: reflection.prompt.clone(),
        raised: None,
    }
}
