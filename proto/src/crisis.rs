//! How serious a crisis finding is: one scale shared by the crisis check's lexicon, the plugin
//! format (a step's answer can count as a finding of a tier), the daemon's reflections and the
//! protocol's `CrisisTier`. Data only.

use serde::Deserialize;

/// How serious a match is, least serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Saying goodbye, giving things away, means-seeking questions, hopelessness with finality.
    Indirect,
    /// Passive or active wishes to die, self-harm urges.
    Ideation,
    /// Intent, plan, means or timing.
    Acute,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Indirect => "indirect",
            Tier::Ideation => "ideation",
            Tier::Acute => "acute",
        }
    }
}
