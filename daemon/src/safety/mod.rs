//! Safety: the deterministic crisis check, the crisis lines for the client's region, and the
//! client's safety plan. Interlude is not a crisis service: nothing here tells anyone anything.

pub mod classify;
pub mod detect;
pub mod output;
mod patterns;
mod plan;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use classify::Classifier;
pub use detect::{Category, Detector, Finding, Tier};
pub use plan::Plans;

use interlude_proto::crisis_lines::{self, Shown, Sources};

use crate::domain::{Limits, SafetyPlan};
use crate::store::Store;
use crate::vault::Vault;

/// The crisis check run on everything the client writes, before it is saved: the phrase rules,
/// then (unless they found an acute risk) the fine-tuned classifier on the whole entry. The more
/// severe of the two answers counts.
pub struct CrisisCheck {
    pub lexicon: Arc<Detector>,
    /// `None` where no embedding model can ever be used (tests of the rules alone).
    pub classifier: Option<Classifier>,
}

impl CrisisCheck {
    /// The most severe finding in any of `texts` (an entry's text and its answers), or `None`.
    pub async fn check(&self, texts: &[&str]) -> Option<Finding> {
        self.check_with(texts, texts).await
    }

    /// As [`CrisisCheck::check`], with the classifier reading `own_words` (what the client wrote
    /// of an entry whose text also holds someone else's words) where the rules read `texts`.
    pub async fn check_with(&self, texts: &[&str], own_words: &[&str]) -> Option<Finding> {
        let readings: Vec<detect::Reading> = texts.iter().map(|t| self.lexicon.read(t)).collect();
        let ruled = readings
            .iter()
            .fold(None, |worst, r| Finding::worst(worst, r.finding));
        let Some(classifier) = self
            .classifier
            .as_ref()
            .filter(|_| ruled.is_none_or(|f| f.tier != Tier::Acute))
        else {
            return ruled;
        };
        // A denial, an idiom or the client's past, with no risk the rules read as live anywhere
        // in the entry: the classifier has to be surer (it reads the topic better than the
        // negation).
        let set_aside = ruled.is_none() && readings.iter().any(|r| r.defused);
        let threshold = if set_aside {
            classify::SET_ASIDE_THRESHOLD
        } else {
            classify::RISK_THRESHOLD
        };
        // The classifier reads the client's words without the screening questions they
        // answered no ("asked about thoughts of ending my life. I said no").
        let felt: Vec<String> = own_words
            .iter()
            .map(|t| self.lexicon.read(t).as_felt(t))
            .collect();
        let felt: Vec<&str> = felt.iter().map(String::as_str).collect();
        Finding::worst(ruled, classifier.finding(&felt, threshold).await)
    }

    /// Said in `status` when the check runs on its rules alone.
    pub fn notice(&self) -> Option<String> {
        match &self.classifier {
            Some(c) if c.refused() => Some(
                "The crisis check is running on its phrase rules alone, without its second signal \
                 (the classifier's file was refused: damaged or replaced; `interlude models \
                 fetch` reinstalls it)."
                    .into(),
            ),
            Some(c) if c.available() => None,
            Some(_) => Some(
                "The crisis check is running on its phrase rules alone, without its second signal \
                 (the classifier needs the embedding model and its own file: `interlude models \
                 fetch`)."
                    .into(),
            ),
            None => Some(
                "The crisis check is running on its phrase rules alone, without its second signal \
                 (the classifier is trained for the default embedding model, and the config names \
                 another one in `embedder_dir`)."
                    .into(),
            ),
        }
    }

    /// Readies the classifier at every unlock, so that a write rarely waits for the model to
    /// load (an idle daemon stays small: nothing loads before the client is here). Runs until
    /// the daemon stops.
    pub async fn keep_warm(self: Arc<Self>, vault: Arc<Vault>) {
        let Some(classifier) = &self.classifier else {
            return;
        };
        let mut changes = vault.subscribe();
        while changes.changed().await.is_ok() {
            if *changes.borrow_and_update() == crate::vault::VaultState::Unlocked {
                classifier.warm_up().await;
            }
        }
    }
}

/// What to show the client: their plan (when readable) and the lines, in calm words.
pub struct Payload {
    /// What the crisis check found; `None` for help-now.
    pub finding: Option<Finding>,
    pub message: String,
    pub plan: Option<SafetyPlan>,
    /// The lines, whose they are and how to change that.
    pub lines: Shown,
}

pub struct Safety {
    pub detector: Arc<Detector>,
    pub plans: Plans,
    /// Config and system settings; the client's own choice is read from `data_dir` each time.
    countries: Sources,
    data_dir: PathBuf,
}

impl Safety {
    pub fn new(
        detector: Arc<Detector>,
        store: Store,
        vault: Arc<Vault>,
        limits: Limits,
        data_dir: &Path,
        countries: Sources,
    ) -> Safety {
        Safety {
            detector,
            plans: Plans::new(store, vault, limits, data_dir),
            countries,
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// The lines to show now: the config's country, else the client's choice, else a guess.
    pub fn lines(&self) -> Shown {
        Sources {
            chosen: crisis_lines::read_chosen(&self.data_dir),
            ..self.countries.clone()
        }
        .resolve()
    }

    /// Records the client's country (two letters or `INTL`).
    pub fn set_country(&self, country: &str) -> crate::error::Result<()> {
        let code = crisis_lines::parse_country(country).map_err(crate::error::invalid)?;
        crisis_lines::write_chosen(&self.data_dir, &code).map_err(|e| {
            crate::error::Error::Internal(format!(
                "could not record the country in {}: {e}",
                self.data_dir.display()
            ))
        })
    }

    /// The payload for a reflection the check flagged, or for help-now (`finding` is `None`).
    pub fn payload(&self, finding: Option<Finding>) -> Payload {
        let plan = self.plans.for_help_now();
        let mut message = String::new();
        if finding.is_some() {
            message.push_str("What you wrote is saved, exactly as you wrote it. It sounds like a lot right now. ");
        }
        message.push_str(match &plan {
            Some(_) => "Here is the plan you made for moments like this, and people you can reach at any hour.",
            None => "Here are people you can reach at any hour.",
        });
        if finding.is_some() {
            message.push_str(" Interlude has not told anyone.");
        }
        Payload {
            finding,
            message,
            plan,
            lines: self.lines(),
        }
    }
}
