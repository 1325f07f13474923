//! Safety: the deterministic crisis check, the crisis lines for the client's region, and the
//! client's safety plan. Interlude is not a crisis service: nothing here tells anyone anything.

pub mod detect;
pub mod output;
mod plan;

use std::path::Path;
use std::sync::Arc;

pub use detect::{Detector, Finding, Tier};
pub use plan::Plans;

use interlude_proto::crisis_lines::{self, Region};

use crate::model::{Limits, SafetyPlan};
use crate::store::Store;
use crate::vault::Vault;

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
