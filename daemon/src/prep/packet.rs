//! The session-prep packet as data: what the pipeline found in a window, and what the client
//! decided about it (`Review`). One value feeds every renderer, and its JSON form is the
//! documented, versioned format (`docs/prep-packet.schema.json`, generated from these types).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::Millis;

/// Raised whenever a field changes meaning or is removed; adding a field keeps it.
pub const SCHEMA_VERSION: u32 = 1;

/// Patterns in a window: everything except what only the packet has (digest, review).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Patterns {
    pub window: Window,
    /// Reflections the window holds that the patterns read (private ones are never read).
    pub entries: usize,
    pub themes: Vec<Theme>,
    /// How themes are ranked, in words (shown beside them).
    pub ranking: String,
    /// Themes of the window before this one that did not come back.
    pub fading: Vec<Fading>,
    pub days: Vec<Day>,
    /// Entries by hour of the week, local time: `[weekday][hour]`, Monday first.
    pub hour_of_week: Vec<Vec<u32>>,
    pub vocabulary: Vec<TermUse>,
    pub follow_through: Vec<FollowThrough>,
    pub sections: Vec<Section>,
    /// Questionnaires' totals over the window (PHQ-9, GAD-7, a plugin's own).
    pub measures: Vec<Measure>,
    /// Entries the crisis check flagged: never in a theme, a quote or the digest.
    pub flagged: Vec<Quote>,
    /// Entries the client marked "bring to session".
    pub brought: Vec<Quote>,
    /// Entries the client marked helpful.
    pub helpful: Vec<Quote>,
    /// Insights kept from the last session, and the window's entries that come back to them.
    pub insights: Vec<Insight>,
    /// What is missing and what that means (no models, a damaged entry).
    pub notices: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Window {
    /// Milliseconds since the Unix epoch, inclusive.
    pub since: Millis,
    /// Exclusive.
    pub until: Millis,
    /// The logged session the window starts at, when it does.
    pub since_session: Option<String>,
    /// The local time zone days and hours are counted in.
    pub time_zone: String,
}

/// Some of the client's own words, exactly as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quote {
    /// The reflection's id.
    pub id: String,
    pub moment: Millis,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Theme {
    /// Stable within one packet: `theme-1`, `theme-2`, … by rank.
    pub id: String,
    /// The client's most characteristic words and phrases for this group, best first.
    pub label: Vec<String>,
    /// Entries nearest the theme's centre first; renderers show the first one not excluded.
    pub quotes: Vec<Quote>,
    /// Every entry in the theme.
    pub entry_ids: Vec<String>,
    pub first: Millis,
    pub last: Millis,
    /// The emotions named most often, with how often.
    pub emotions: Vec<Count>,
    /// The mean intensity of the emotions named, 0–100, when any were.
    pub intensity: Option<u32>,
    /// Vocabulary words (parts, triggers, people, anchors, values) that occur in it.
    pub terms: Vec<String>,
    pub recurrence: Recurrence,
    /// Entries in the windows before this one that resemble the theme.
    pub earlier_entries: usize,
    /// Set when the theme came back again and again with nothing new: the gentle line to show.
    pub looping: Option<String>,
    /// The ranking score (see `Patterns::ranking`).
    pub score: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    /// Nothing like it in the windows before.
    New,
    /// It was there before too.
    Returning,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Fading {
    pub label: Vec<String>,
    /// Entries it had in the window before.
    pub entries: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Count {
    pub name: String,
    pub count: u32,
}

/// One local day of the window.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Day {
    /// `YYYY-MM-DD`, local.
    pub date: String,
    pub entries: u32,
    /// Mean intensity of the emotions named that day, 0–100.
    pub intensity: Option<u32>,
    pub emotions: Vec<Count>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TermUse {
    pub kind: String,
    pub word: String,
    /// Entries that mention it.
    pub entries: u32,
    pub emotions: Vec<Count>,
    /// When it came up (moments of the entries), oldest first.
    pub moments: Vec<Millis>,
}

/// An exercise the client did in the window: when, never how well.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FollowThrough {
    pub plugin_id: String,
    pub exercise_id: String,
    pub title: String,
    pub moments: Vec<Millis>,
}

/// What one plugin's `[prep] sections` entry contributes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Section {
    /// `plugin/section`, e.g. `dbt/diary-card`.
    pub id: String,
    pub plugin: String,
    pub title: String,
    pub body: SectionBody,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SectionBody {
    /// An exercise's runs side by side: one column per step, one row per run.
    Runs {
        columns: Vec<String>,
        rows: Vec<Run>,
    },
    /// A pattern's phrases to look at together: the client's sentences it matched.
    Phrases { about: String, matches: Vec<Quote> },
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Run {
    /// The reflection holding the run.
    pub id: String,
    /// For a pair: the earlier run shown beside it (its cells come first).
    pub linked: Option<String>,
    pub moment: Millis,
    /// One cell per column; empty when that step was skipped.
    pub cells: Vec<String>,
}

/// A questionnaire's totals: the client's own answers summed as its authors score them. Never
/// a band or a label.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Measure {
    /// `plugin/exercise`, e.g. `measures/phq-9`.
    pub id: String,
    pub title: String,
    /// The highest total the form allows.
    pub highest: u32,
    pub points: Vec<MeasurePoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MeasurePoint {
    /// The reflection holding the run.
    pub id: String,
    pub moment: Millis,
    pub total: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Insight {
    pub text: String,
    /// The session it was kept from.
    pub session_id: String,
    /// Entries of the window that resemble it.
    pub came_back: Vec<Quote>,
}

/// The digest: two to four short sentences in fixed fields, each grounded in the entries it
/// cites. Empty when no generator is installed (the packet never depends on it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Digest {
    pub kept_coming_up: Vec<String>,
    pub seemed_to_help: Vec<String>,
    pub might_bring: Vec<String>,
    /// The entries each field was written from, by field name: leaving one of them out of the
    /// packet leaves that field out too.
    pub written_from: std::collections::BTreeMap<String, Vec<String>>,
    /// Sentences the output rules or the grounding check dropped.
    pub dropped: u32,
    /// Why there is no digest, when there is none.
    pub notice: String,
}

/// What the client decided while reviewing the draft.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Review {
    /// Reflection ids, theme ids and section ids left out.
    pub excluded: Vec<String>,
    pub questions: Vec<String>,
    pub notes: Vec<String>,
    /// Whether the entries the crisis check flagged go in (off unless the client says so).
    pub include_flagged: bool,
}

/// A draft packet: what was found, and the client's review of it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Packet {
    pub schema_version: u32,
    pub id: String,
    pub created_at: Millis,
    pub patterns: Patterns,
    pub digest: Digest,
    pub review: Review,
}

impl Packet {
    /// Every id the review may name: entries, themes and sections of this draft.
    pub fn known_ids(&self) -> std::collections::HashSet<&str> {
        let p = &self.patterns;
        let mut ids: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for theme in &p.themes {
            ids.insert(&theme.id);
            ids.extend(theme.entry_ids.iter().map(String::as_str));
        }
        for section in &p.sections {
            ids.insert(&section.id);
            match &section.body {
                SectionBody::Runs { rows, .. } => {
                    ids.extend(rows.iter().map(|r| r.id.as_str()));
                    ids.extend(rows.iter().filter_map(|r| r.linked.as_deref()));
                }
                SectionBody::Phrases { matches, .. } => {
                    ids.extend(matches.iter().map(|q| q.id.as_str()))
                }
            }
        }
        let quotes = p
            .brought
            .iter()
            .chain(&p.flagged)
            .chain(p.insights.iter().flat_map(|i| &i.came_back));
        ids.extend(quotes.map(|q| q.id.as_str()));
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::Packet;

    /// The documented schema is generated from these types; a change to the format that is not
    /// in the committed file fails here (regenerate with `INTERLUDE_WRITE_SCHEMA=1`).
    #[test]
    fn the_committed_json_schema_describes_this_packet_format() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/prep-packet.schema.json"
        );
        let mut schema = serde_json::to_value(schemars::schema_for!(Packet)).expect("a schema");
        schema["$id"] = format!(
            "https://interlude.local/schema/prep-packet-{}.json",
            super::SCHEMA_VERSION
        )
        .into();
        let generated = serde_json::to_string_pretty(&schema).expect("json") + "\n";
        if std::env::var_os("INTERLUDE_WRITE_SCHEMA").is_some() {
            std::fs::write(path, &generated).expect("written");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/prep-packet.schema.json is out of date: run `INTERLUDE_WRITE_SCHEMA=1 cargo test -p interlude-daemon the_committed_json_schema` and raise SCHEMA_VERSION if a field changed meaning"
        );
    }
}
