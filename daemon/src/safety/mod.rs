//! Safety: the deterministic crisis check, the crisis lines for the client's region, and the
//! client's safety plan. Interlude is not a crisis service: nothing here tells anyone anything.

pub mod detect;
pub mod meaning;
pub mod output;
mod plan;

use std::path::Path;
use std::sync::Arc;

pub use detect::{Detector, Finding, Tier};
pub use meaning::Meaning;
pub use plan::Plans;

use interlude_proto::crisis_lines::{self, Region};

use crate::domain::{Limits, SafetyPlan};
use crate::store::Store;
use crate::vault::Vault;

/// The crisis check run on everything the client writes, before it is saved: the phrase list,
/// then the meaning signal on the sentences the list found nothing in.
pub struct CrisisCheck {
    pub lexicon: Arc<Detector>,
    /// `None` where no embedding model can ever be used (tests of the list alone).
    pub meaning: Option<Meaning>,
}

impl CrisisCheck {
    /// The most severe tier in any of `texts`, or `None`.
    pub async fn check(&self, texts: &[&str]) -> Option<Tier> {
        let listed = texts
            .iter()
            .filter_map(|t| self.lexicon.check(t))
            .map(|f| f.tier)
            .max();
        let Some(meaning) = self
            .meaning
            .as_ref()
            .filter(|_| listed != Some(Tier::Acute))
        else {
            return listed;
        };
        let unmatched = texts
            .iter()
            .flat_map(|t| self.lexicon.unmatched_sentences(t))
            .collect();
        listed.max(meaning.tier(unmatched).await)
    }

    /// Readies the meaning signal at every unlock, so that a write rarely waits for the model to
    /// load (an idle daemon stays small: nothing loads before the client is here). Runs until
    /// the daemon stops.
    pub async fn keep_warm(self: Arc<Self>, vault: Arc<Vault>) {
        let Some(meaning) = &self.meaning else { return };
        let mut changes = vault.subscribe();
        while changes.changed().await.is_ok() {
            if *changes.borrow_and_update() == crate::vault::VaultState::Unlocked {
                meaning.warm_up().await;
            }
        }
    }
}

/// What to show the client: their plan (when readable) and the lines, in calm words.
pub struct Payload {
    pub tier: Option<Tier>,
    pub message: String,
    pub plan: Option<SafetyPlan>,
    pub region: Region,
}

pub struct Safety {
    pub detector: Arc<Detector>,
    pub plans: Plans,
    region: Region,
}

impl Safety {
    pub fn new(
        detector: Arc<Detector>,
        store: Store,
        vault: Arc<Vault>,
        limits: Limits,
        data_dir: &Path,
        locale: &str,
    ) -> Safety {
        Safety {
            detector,
            plans: Plans::new(store, vault, limits, data_dir),
            region: crisis_lines::for_locale(locale),
        }
    }

    /// The payload for a reflection the check flagged, or for help-now (`tier` is `None`).
    pub fn payload(&self, tier: Option<Tier>) -> Payload {
        let plan = self.plans.for_help_now();
        let mut message = String::new();
        if tier.is_some() {
            message.push_str("What you wrote is saved, exactly as you wrote it. It sounds like a lot right now. ");
        }
        message.push_str(match &plan {
            Some(_) => "Here is the plan you made for moments like this, and people you can reach at any hour.",
            None => "Here are people you can reach at any hour.",
        });
        if tier.is_some() {
            message.push_str(" Interlude has not told anyone.");
        }
        Payload {
            tier,
            message,
            plan,
            region: self.region.clone(),
        }
    }
}
