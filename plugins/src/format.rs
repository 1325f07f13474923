//! The plugin format as types: exactly what `plugins/README.md` documents. Every table denies
//! unknown fields, so a typo is an error with a location rather than a silently lost setting.

use serde::Deserialize;
use toml::Spanned;

/// The schema this Interlude writes and reads; older ones are converted on load.
pub const SCHEMA_VERSION: u32 = 2;
/// The oldest schema still read. Version 1 had no skill instructions and no questionnaires: a
/// version 1 file reads as version 2 without them.
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

/// The words a prompt may stand in for with `{kind}`.
pub const VOCABULARY_KINDS: [&str; 5] = ["part", "anchor", "trigger", "value", "person"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginFile {
    pub schema_version: Spanned<u32>,
    pub plugin: Meta,
    #[serde(default)]
    pub prep: Prep,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub id: Spanned<String>,
    pub name: String,
    pub version: Spanned<String>,
    pub modality: Modality,
    pub authors: Vec<String>,
    pub description: String,
    pub licence: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    Cbt,
    Dbt,
    Act,
    Psychodynamic,
    Other,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prep {
    #[serde(default)]
    pub sections: Vec<Spanned<String>>,
    /// Two exercises' runs side by side in the packet: each run of `then` beside the latest run
    /// of `first` before it whose answer to step `on` is the same (a behavioural-activation
    /// review beside its plan: predicted and actual mastery and pleasure).
    #[serde(default)]
    pub pairs: Vec<Pair>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    pub first: Spanned<String>,
    pub then: Spanned<String>,
    /// A step id both exercises have.
    pub on: Spanned<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Activated,
    Reflective,
    Any,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseFile {
    pub schema_version: Spanned<u32>,
    pub exercise: Exercise,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub id: Spanned<String>,
    pub title: String,
    pub summary: String,
    pub state: State,
    pub minutes: u32,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Text,
    List,
    Choice,
    MultiChoice,
    Emotion,
    Body,
    Scale,
    Vocabulary,
    Timer,
    /// A scored questionnaire (schema 2): `items` each answered with one of `options`, scored
    /// 0, 1, 2, … in the options' order.
    Questionnaire,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: Spanned<String>,
    pub kind: Spanned<StepKind>,
    pub prompt: String,
    #[serde(default)]
    pub required: bool,
    pub shows: Option<Spanned<String>>,
    /// A text step that follows up an earlier exercise ("plan now, rate later"):
    /// `EXERCISE.STEP` of this plugin, whose recent answers the client can pick instead of
    /// typing (the planned activity, when reviewing it).
    pub suggest_from: Option<Spanned<String>>,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub branch: Vec<Branch>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    #[serde(default)]
    pub labels: Vec<String>,
    pub vocabulary: Option<Spanned<String>>,
    pub seconds: Option<u32>,
    /// A structured answer that should raise the client's safety plan, as a crisis phrase would.
    pub safety: Option<Spanned<StepSafety>>,
    /// The prompt is a skill instruction the therapist teaches and assigns (TIPP, grounding),
    /// not a question: it may tell the client what to do, and is exempt from the mirror rules
    /// that every other shipped prompt passes. Schema 2.
    pub instruction: Option<Spanned<bool>>,
    /// Questionnaire steps: the items, in order (schema 2).
    #[serde(default)]
    pub items: Vec<Item>,
    /// Questionnaire steps: the instrument's name and its authors' scoring bands (schema 2).
    pub scoring: Option<Scoring>,
}

/// One item of a questionnaire, worded exactly as its authors wrote it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: Spanned<String>,
    pub text: String,
    /// The answers to this item that raise the safety plan (`options` only).
    pub safety: Option<Spanned<StepSafety>>,
}

/// How a questionnaire is scored: the sum of its items' scores, read against the authors'
/// bands. The bands are for the therapist reading the plugin; Interlude never shows the client
/// a band or its label.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// The instrument's name as its authors give it, e.g. "PHQ-9".
    pub instrument: String,
    /// Contiguous ranges of the total from 0 to the highest possible score.
    pub bands: Spanned<Vec<Band>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub from: i64,
    pub to: i64,
    pub label: String,
}

impl Step {
    /// Whether the prompt is a skill instruction (see `instruction`).
    pub fn is_instruction(&self) -> bool {
        self.instruction.as_ref().is_some_and(|i| *i.get_ref())
    }
}

/// When an answer to a scale or choice step counts as a crisis finding of `tier` (a diary card's
/// urge to self-harm rated 5, "Yes" to acting on it): the crisis check reads words, not numbers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSafety {
    pub tier: interlude_proto::crisis::Tier,
    /// Scale steps: this rating or higher.
    pub at_least: Option<i64>,
    /// Choice steps: any of these options.
    #[serde(default)]
    pub options: Vec<String>,
}

impl StepSafety {
    /// Whether `value` (as stored: a number, or options one per line) meets the rule.
    pub fn raised_by(&self, value: &str) -> bool {
        let rated = self
            .at_least
            .is_some_and(|at| value.trim().parse::<i64>().is_ok_and(|v| v >= at));
        rated
            || value
                .lines()
                .any(|line| self.options.iter().any(|o| o == line.trim()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    pub when: Spanned<String>,
    pub goto: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptsFile {
    pub schema_version: Spanned<u32>,
    #[serde(default)]
    pub prompt: Vec<Prompt>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    pub id: Spanned<String>,
    pub text: Spanned<String>,
    pub state: State,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInsFile {
    pub schema_version: Spanned<u32>,
    #[serde(default)]
    pub checkin: Vec<CheckIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    pub id: Spanned<String>,
    pub after_session_hours: Option<u32>,
    pub daily: Option<Spanned<String>>,
    pub weekdays: Option<Vec<Spanned<String>>>,
    pub at: Option<Spanned<String>>,
    pub prompt: Option<Spanned<String>>,
    pub exercise: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternsFile {
    pub schema_version: Spanned<u32>,
    #[serde(default)]
    pub pattern: Vec<Pattern>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    pub id: Spanned<String>,
    pub name: String,
    pub about: String,
    pub cues: Spanned<Vec<String>>,
    pub exemplars: Spanned<Vec<String>>,
}

/// A loaded plugin whose every reference resolves.
#[derive(Debug)]
pub struct Plugin {
    pub meta: Meta,
    pub prep: Prep,
    pub exercises: Vec<Exercise>,
    pub prompts: Vec<Prompt>,
    pub checkins: Vec<CheckIn>,
    pub patterns: Vec<Pattern>,
}

/// An id as plugins use them: lowercase words joined by hyphens. Plugin ids also name
/// directories, so nothing else (no `/`, no `.`) ever gets through.
pub fn is_valid_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// A plugin version, `major.minor.patch`, compared number by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.').map(|p| {
            (!p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
                .then(|| p.parse::<u64>().ok())
                .flatten()
        });
        let version = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Meta {
    /// The version; a loaded plugin's always parses (`load` checks it).
    pub fn parsed_version(&self) -> Version {
        Version::parse(self.version.get_ref()).unwrap_or(Version(0, 0, 0))
    }
}
