//! The client's data as plain types: no I/O, no encryption, no gRPC. Validation of what a client
//! may send lives here too, so every entry point refuses the same things the same way.

use serde::{Deserialize, Serialize};

pub use interlude_proto::crisis::{Finding, Tier};

/// What a client sent and may not send, in a sentence that says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

pub type Result<T, E = Invalid> = std::result::Result<T, E>;

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid(message.into())
}

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Note,
    CheckIn,
    Exercise,
    SessionInsight,
    Dream,
    RelationshipEpisode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emotion {
    pub name: String,
    pub intensity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub step_id: String,
    pub value: String,
}

/// A version of a reflection that an edit replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub replaced_at: Millis,
    pub text: String,
    pub emotions: Vec<Emotion>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reflection {
    /// A ULID whose time part is `moment`.
    pub id: String,
    pub moment: Millis,
    pub recorded_at: Millis,
    pub edited_at: Option<Millis>,
    pub kind: Kind,
    pub text: String,
    pub emotions: Vec<Emotion>,
    pub tags: Vec<String>,
    pub term_ids: Vec<String>,
    pub bring_to_session: bool,
    pub private: bool,
    pub plugin_id: String,
    pub exercise_id: String,
    pub answers: Vec<Answer>,
    pub crisis: bool,
    pub history: Vec<Revision>,
    /// For an answered check-in: the question it answered (absent in records from before).
    #[serde(default)]
    pub prompt_id: String,
    #[serde(default)]
    pub prompt: String,
    /// Marked helpful by the client: resurfaces like a kept insight. Not part of the history
    /// (absent in records from before: not helpful).
    #[serde(default)]
    pub helpful: bool,
}

/// What a client sends to add a reflection.
#[derive(Debug, Clone)]
pub struct NewReflection {
    pub text: String,
    pub kind: Kind,
    pub emotions: Vec<Emotion>,
    pub tags: Vec<String>,
    pub bring_to_session: bool,
    pub private: bool,
    /// `None` means now.
    pub moment: Option<Millis>,
    pub plugin_id: String,
    pub exercise_id: String,
    pub answers: Vec<Answer>,
    /// For an answered check-in: the question it answered.
    pub prompt_id: String,
    pub prompt: String,
    /// A crisis tier the exercise's own rules found in a structured answer (a rating the crisis
    /// check cannot read as words); the check's own finding is added to it.
    pub raised: Option<Tier>,
}

/// Fields of an edit; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ReflectionEdit {
    pub text: Option<String>,
    pub tags: Option<Vec<String>>,
    pub emotions: Option<Vec<Emotion>>,
    pub bring_to_session: Option<bool>,
    pub private: Option<bool>,
    pub kind: Option<Kind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

#[derive(Debug, Clone)]
pub struct ReflectionQuery {
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub kind: Option<Kind>,
    pub tag: Option<String>,
    pub bring_to_session: Option<bool>,
    pub private: Option<bool>,
    pub limit: usize,
    /// The id after which to continue, from the previous page.
    pub after: Option<String>,
    pub order: Order,
}

impl ReflectionQuery {
    pub fn matches(&self, r: &Reflection) -> bool {
        self.kind.is_none_or(|k| r.kind == k)
            && self
                .tag
                .as_ref()
                .is_none_or(|t| r.tags.iter().any(|have| have == t))
            && self
                .bring_to_session
                .is_none_or(|b| r.bring_to_session == b)
            && self.private.is_none_or(|p| r.private == p)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub held_at: Millis,
    pub insights: Vec<String>,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermKind {
    Part,
    Anchor,
    Trigger,
    Value,
    Person,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub id: String,
    pub kind: TermKind,
    pub word: String,
    pub note: String,
}

/// The Stanley–Brown safety plan, in the client's own words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyPlan {
    pub warning_signs: Vec<String>,
    pub coping_strategies: Vec<String>,
    pub distractions: Vec<String>,
    pub people_to_ask: Vec<String>,
    pub professionals: Vec<String>,
    pub safe_environment: Vec<String>,
    pub reasons_for_living: Vec<String>,
    /// Plans stored before the field existed read as having none.
    #[serde(default)]
    pub urgent_care: Vec<String>,
}

impl SafetyPlan {
    pub fn is_empty(&self) -> bool {
        self.sections().iter().all(|s| s.is_empty())
    }

    pub fn sections(&self) -> [&Vec<String>; 8] {
        [
            &self.warning_signs,
            &self.coping_strategies,
            &self.distractions,
            &self.people_to_ask,
            &self.professionals,
            &self.safe_environment,
            &self.reasons_for_living,
            &self.urgent_care,
        ]
    }
}

/// Limits on what a client may send. The text limit is configurable.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_text_bytes: usize,
}

pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_CHARS: usize = 64;
pub const MAX_EMOTIONS: usize = 32;
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_INTENSITY: u32 = 100;
pub const MAX_ANSWERS: usize = 256;
/// A moment may be a little ahead of the daemon's clock (another device's clock), not more.
const FUTURE_SLACK_MS: Millis = 5 * 60 * 1000;

impl Limits {
    pub fn check_text(&self, what: &str, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(invalid(format!(
                "the {what} is empty; write at least a word"
            )));
        }
        if text.len() > self.max_text_bytes {
            return Err(invalid(format!(
                "the {what} is {} KiB, over the limit of {} KiB; split it into several entries",
                text.len().div_ceil(1024),
                self.max_text_bytes / 1024
            )));
        }
        Ok(())
    }

    pub fn check_new(&self, new: &NewReflection) -> Result<()> {
        self.check_text("text", &new.text)?;
        check_tags(&new.tags)?;
        check_emotions(&new.emotions)?;
        check_moment(new.moment)?;
        if new.answers.len() > MAX_ANSWERS {
            return Err(invalid(format!(
                "{} answers is more than the {MAX_ANSWERS} allowed",
                new.answers.len()
            )));
        }
        let answers_len: usize = new
            .answers
            .iter()
            .map(|a| a.value.len() + a.step_id.len())
            .sum();
        if answers_len > self.max_text_bytes {
            return Err(invalid(
                "the answers together are over the text limit; shorten them",
            ));
        }
        Ok(())
    }

    pub fn check_edit(&self, edit: &ReflectionEdit) -> Result<()> {
        if let Some(text) = &edit.text {
            self.check_text("text", text)?;
        }
        if let Some(tags) = &edit.tags {
            check_tags(tags)?;
        }
        if let Some(emotions) = &edit.emotions {
            check_emotions(emotions)?;
        }
        Ok(())
    }
}

fn check_tags(tags: &[String]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(invalid(format!(
            "{} tags is more than the {MAX_TAGS} allowed; keep the ones that matter",
            tags.len()
        )));
    }
    for tag in tags {
        if tag.trim().is_empty() {
            return Err(invalid("a tag is empty; leave it out or give it a name"));
        }
        if tag.chars().count() > MAX_TAG_CHARS {
            return Err(invalid(format!(
                "a tag is longer than {MAX_TAG_CHARS} characters; shorten it"
            )));
        }
    }
    Ok(())
}

fn check_emotions(emotions: &[Emotion]) -> Result<()> {
    if emotions.len() > MAX_EMOTIONS {
        return Err(invalid(format!(
            "{} emotions is more than the {MAX_EMOTIONS} allowed",
            emotions.len()
        )));
    }
    for emotion in emotions {
        if emotion.name.trim().is_empty() {
            return Err(invalid(
                "an emotion has no name; write it as name:intensity, e.g. anxious:70",
            ));
        }
        if emotion.name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(format!(
                "an emotion name is longer than {MAX_NAME_CHARS} characters"
            )));
        }
        if emotion.intensity > MAX_INTENSITY {
            return Err(invalid(format!(
                "intensity {} is out of range: use 0 (barely there) to {MAX_INTENSITY} (the most ever)",
                emotion.intensity
            )));
        }
    }
    Ok(())
}

fn check_moment(moment: Option<Millis>) -> Result<()> {
    match moment {
        Some(m) if m < 0 => Err(invalid("the moment is before 1970; check the date")),
        Some(m) if m > now_millis() + FUTURE_SLACK_MS => Err(invalid(
            "the moment is in the future; a reflection is about something that happened",
        )),
        _ => Ok(()),
    }
}

pub fn check_range(since: Option<Millis>, until: Option<Millis>) -> Result<()> {
    match (since, until) {
        (Some(s), Some(u)) if s > u => Err(invalid(
            "the time range is inverted: `since` is after `until`",
        )),
        _ => Ok(()),
    }
}

/// Ids of the vocabulary terms whose word occurs in `text` as whole words, ignoring case.
pub fn mentioned_terms(text: &str, terms: &[Term]) -> Vec<String> {
    let haystack = text.to_lowercase();
    terms
        .iter()
        .filter(|term| contains_phrase(&haystack, &term.word.to_lowercase()))
        .map(|term| term.id.clone())
        .collect()
}

/// Whether `needle` occurs in `haystack` as whole words (both lowercase already).
pub fn contains_phrase(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// A check-in that came due and waits for an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// A ULID.
    pub id: String,
    pub schedule_id: String,
    pub plugin_id: String,
    pub prompt_id: String,
    pub prompt: String,
    pub due_at: Millis,
}

/// What adding a reflection reports back.
#[derive(Debug, Clone)]
pub struct Added {
    pub id: String,
    pub moment: Millis,
    /// True when the vault was locked and the reflection waits, sealed, for the next unlock.
    pub sealed: bool,
    /// Set when the crisis check fired: the reflection is saved as written, and flagged.
    pub crisis: Option<Finding>,
}

/// Whether the client's data can be read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultState {
    Uninitialised,
    Locked,
    Unlocked,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(id: &str, word: &str) -> Term {
        Term {
            id: id.into(),
            kind: TermKind::Part,
            word: word.into(),
            note: String::new(),
        }
    }

    #[test]
    fn terms_are_found_as_whole_words_in_any_case() {
        let terms = [term("1", "the critic"), term("2", "lake"), term("3", "art")];
        let found = mentioned_terms(
            "The Critic was loud; I tried the lake breath. Partly.",
            &terms,
        );
        assert_eq!(found, vec!["1".to_string(), "2".to_string()]);
    }

    #[test]
    fn intensity_above_one_hundred_is_refused_with_the_range() {
        let err = check_emotions(&[Emotion {
            name: "anxious".into(),
            intensity: 101,
        }])
        .err();
        assert!(err.is_some_and(|e| e.to_string().contains("0 (barely there) to 100")));
    }

    #[test]
    fn whitespace_only_text_is_refused() {
        let limits = Limits { max_text_bytes: 10 };
        assert!(limits.check_text("text", " \n\t").is_err());
        assert!(limits.check_text("text", "0123456789a").is_err());
        assert!(limits.check_text("text", "fine").is_ok());
    }
}
