//! Therapy sessions the client logs and what they want to keep from each.

use super::{Changed, Timeline, decrypt_record, encrypt_record, key_of};
use crate::domain::{Millis, Session, check_range, now_millis};
use crate::error::{Error, Result, invalid};
use crate::store::{Op, Tree};

const WHAT: &str = "session";
const MAX_INSIGHTS: usize = 64;
/// The most sessions one listing returns.
pub const MAX_SESSIONS_PAGE: usize = 1000;

/// Sessions in a window, newest first, and the ids of those that fail their integrity check
/// (skipped, so one damaged session never hides the others).
#[derive(Debug, Default)]
pub struct SessionList {
    pub sessions: Vec<Session>,
    pub damaged: Vec<String>,
}

/// Fields of an edit; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct SessionEdit {
    pub held_at: Option<Millis>,
    pub insights: Option<Vec<String>>,
    pub note: Option<String>,
}

impl Timeline {
    pub async fn add_session(
        &self,
        held_at: Option<Millis>,
        insights: Vec<String>,
        note: String,
    ) -> Result<Session> {
        let keys = self.keys()?;
        self.check_session(&insights, &note)?;
        let id = ulid::Ulid::from_parts(
            now_millis() as u64,
            u128::from_le_bytes(crate::crypto::random_bytes()?),
        );
        let session = Session {
            id: id.to_string(),
            held_at: held_at.unwrap_or_else(now_millis),
            insights,
            note,
        };
        let value = encrypt_record(&keys, Tree::Sessions, &id.to_bytes(), &session)?;
        self.store
            .commit(vec![Op::Put {
                tree: Tree::Sessions,
                key: id.to_bytes().to_vec(),
                value,
            }])
            .await?;
        self.changed(Changed::Session(id.to_bytes()));
        Ok(session)
    }

    pub fn get_session(&self, id: &str) -> Result<Session> {
        let keys = self.keys()?;
        let key = key_of(WHAT, id)?;
        let value = self
            .store
            .get(Tree::Sessions, &key)?
            .ok_or_else(|| Error::NotFound {
                what: WHAT,
                id: id.into(),
            })?;
        decrypt_record(&keys, Tree::Sessions, &key, &value, WHAT)
    }

    /// Sessions held in the window, newest first.
    pub fn list_sessions(
        &self,
        since: Option<Millis>,
        until: Option<Millis>,
        limit: usize,
    ) -> Result<SessionList> {
        check_range(since, until)?;
        let keys = self.keys()?;
        let mut list = SessionList::default();
        for item in self.store.range(Tree::Sessions, .., false) {
            let (key, value) = item?;
            match decrypt_record::<Session>(&keys, Tree::Sessions, &key, &value, WHAT) {
                Ok(session) => {
                    if since.is_none_or(|s| session.held_at >= s)
                        && until.is_none_or(|u| session.held_at < u)
                    {
                        list.sessions.push(session);
                    }
                }
                Err(_) => list.damaged.push(super::id_of(&key)),
            }
        }
        if !list.damaged.is_empty() {
            tracing::warn!(
                count = list.damaged.len(),
                "damaged sessions skipped in a listing"
            );
        }
        list.sessions.sort_by_key(|s| std::cmp::Reverse(s.held_at));
        list.sessions.truncate(if limit == 0 { 50 } else { limit });
        // However many were asked for, a listing stays well inside one response.
        let mut bytes = 0;
        let within = list
            .sessions
            .iter()
            .take_while(|s| {
                bytes += session_bytes(s);
                bytes <= super::reflections::PAGE_BYTES
            })
            .count();
        list.sessions.truncate(within.max(1));
        Ok(list)
    }

    pub async fn edit_session(&self, id: &str, edit: SessionEdit) -> Result<Session> {
        let keys = self.keys()?;
        let mut session = self.get_session(id)?;
        if let Some(held_at) = edit.held_at {
            session.held_at = held_at;
        }
        if let Some(insights) = edit.insights {
            session.insights = insights;
        }
        if let Some(note) = edit.note {
            session.note = note;
        }
        self.check_session(&session.insights, &session.note)?;
        let key = key_of(WHAT, id)?;
        let value = encrypt_record(&keys, Tree::Sessions, &key, &session)?;
        // The insights' old vectors go with the old insights; the indexer computes new ones.
        let _guard = self.vector_writes.lock().await;
        let mut ops = self.insight_vector_deletes(&key)?;
        ops.push(Op::Put {
            tree: Tree::Sessions,
            key: key.to_vec(),
            value,
        });
        self.store.commit(ops).await?;
        self.changed(Changed::Session(key));
        Ok(session)
    }

    pub async fn delete_session(&self, id: &str) -> Result<()> {
        self.get_session(id)?;
        let key = key_of(WHAT, id)?;
        let _guard = self.vector_writes.lock().await;
        let mut ops = self.insight_vector_deletes(&key)?;
        ops.push(Op::Delete {
            tree: Tree::Sessions,
            key: key.to_vec(),
        });
        self.erase(ops).await?;
        self.changed(Changed::SessionDeleted(key));
        Ok(())
    }

    pub(super) fn check_session(&self, insights: &[String], note: &str) -> Result<()> {
        if insights.len() > MAX_INSIGHTS {
            return Err(invalid(format!(
                "{} insights is more than the {MAX_INSIGHTS} allowed",
                insights.len()
            )));
        }
        for insight in insights {
            self.limits.check_text("insight", insight)?;
        }
        if note.len() > self.limits.max_text_bytes {
            return Err(invalid("the note is over the text limit; shorten it"));
        }
        Ok(())
    }
}

/// About what a session takes in a response.
fn session_bytes(session: &Session) -> usize {
    64 + session.note.len() + session.insights.iter().map(|i| i.len() + 8).sum::<usize>()
}
