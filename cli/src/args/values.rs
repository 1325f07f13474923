//! The values people type into flags: kinds, emotions, tags and times, with their parsers.

use clap::ValueEnum;
use interlude_proto::v1::{Emotion, ReflectionKind, TermKind};
use jiff::{Timestamp, Zoned};

use crate::time::{self, TimeError};

/// Kinds of reflection, as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Note,
    CheckIn,
    Exercise,
    /// An insight from a session
    Insight,
    Dream,
    /// A relationship episode
    Episode,
}

impl From<Kind> for ReflectionKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Note => Self::Note,
            Kind::CheckIn => Self::CheckIn,
            Kind::Exercise => Self::Exercise,
            Kind::Insight => Self::SessionInsight,
            Kind::Dream => Self::Dream,
            Kind::Episode => Self::RelationshipEpisode,
        }
    }
}

/// Kinds of vocabulary term, as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TermKindArg {
    Part,
    Anchor,
    Trigger,
    Value,
    Person,
}

impl From<TermKindArg> for TermKind {
    fn from(kind: TermKindArg) -> Self {
        match kind {
            TermKindArg::Part => Self::Part,
            TermKindArg::Anchor => Self::Anchor,
            TermKindArg::Trigger => Self::Trigger,
            TermKindArg::Value => Self::Value,
            TermKindArg::Person => Self::Person,
        }
    }
}

/// `--emotion anxious:70`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmotionArg {
    pub name: String,
    pub intensity: u32,
}

impl From<EmotionArg> for Emotion {
    fn from(emotion: EmotionArg) -> Self {
        Emotion {
            name: emotion.name,
            intensity: emotion.intensity,
        }
    }
}

/// Reads `NAME:INTENSITY`, the intensity a whole number from 0 to 100.
pub fn parse_emotion(text: &str) -> Result<EmotionArg, String> {
    let Some((name, intensity)) = text.rsplit_once(':') else {
        // The shape, not the words: what the client typed stays out of error output.
        return Err(
            "write each emotion as NAME:INTENSITY with an intensity from 0 to 100, like anxious:60"
                .to_owned(),
        );
    };
    let name = name.trim();
    if name.is_empty() {
        return Err("an emotion has no name; write NAME:INTENSITY, like anxious:70".to_owned());
    }
    match intensity.trim().parse::<u32>() {
        Ok(intensity) if intensity <= 100 => Ok(EmotionArg {
            name: name.to_owned(),
            intensity,
        }),
        _ => Err(
            "an emotion's intensity must be a whole number from 0 to 100, like anxious:70"
                .to_owned(),
        ),
    }
}

/// Tags are kept without a leading `#`, so `--tag '#work'` and `--tag work` are the same tag.
pub fn parse_tag(text: &str) -> Result<String, String> {
    let tag = text.trim().trim_start_matches('#').trim();
    if tag.is_empty() {
        return Err("a tag needs at least one character besides '#'".to_owned());
    }
    Ok(tag.to_owned())
}

pub(super) fn parse_moment(text: &str) -> Result<Timestamp, TimeError> {
    time::parse_moment(text, &Zoned::now())
}

/// A moment to come: "in 30 days", "2027-01-31", "tomorrow 09:00".
pub(super) fn parse_future(text: &str) -> Result<Timestamp, String> {
    let now = Zoned::now();
    let trimmed = text.trim();
    // "in 30 days" reads as "30 days" ahead.
    if let Some(span) = trimmed.strip_prefix("in ") {
        let ago = time::parse_moment(&format!("{span} ago"), &now).map_err(|e| e.to_string())?;
        let ahead = now.timestamp().as_millisecond() * 2 - ago.as_millisecond();
        return Timestamp::from_millisecond(ahead).map_err(|e| e.to_string());
    }
    let at = time::parse_moment(trimmed, &now).map_err(|e| e.to_string())?;
    if at <= now.timestamp() {
        return Err(format!(
            "`{text}` is not in the future; give a later time, such as \"in 30 days\""
        ));
    }
    Ok(at)
}

pub(super) fn parse_bound(text: &str) -> Result<Timestamp, TimeError> {
    time::parse_bound(text, &Zoned::now())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_emotion_is_a_name_and_an_intensity() {
        assert_eq!(
            parse_emotion("anxious:70").unwrap(),
            EmotionArg {
                name: "anxious".into(),
                intensity: 70
            }
        );
        assert_eq!(parse_emotion(" raw : 0 ").unwrap().name, "raw");
        assert_eq!(parse_emotion("flat:100").unwrap().intensity, 100);
    }

    #[test]
    fn an_intensity_that_is_not_a_number_says_what_to_type() {
        let error = parse_emotion("furious:abc").unwrap_err();
        assert!(
            !error.contains("furious"),
            "what was typed stays out: {error}"
        );
        assert!(error.contains("whole number from 0 to 100"), "{error}");
        assert!(error.contains("anxious:70"), "{error}");
    }

    #[test]
    fn an_intensity_above_100_or_negative_is_refused() {
        assert!(parse_emotion("anxious:101").is_err());
        assert!(parse_emotion("anxious:-5").is_err());
        assert!(parse_emotion("anxious:7.5").is_err());
    }

    #[test]
    fn an_emotion_without_intensity_or_name_is_refused() {
        assert!(
            parse_emotion("anxious")
                .unwrap_err()
                .contains("NAME:INTENSITY")
        );
        assert!(parse_emotion(":40").unwrap_err().contains("no name"));
    }

    #[test]
    fn a_tag_loses_its_hash() {
        assert_eq!(parse_tag("#work").unwrap(), "work");
        assert_eq!(parse_tag("work").unwrap(), "work");
        assert!(parse_tag("#").is_err());
    }
}
