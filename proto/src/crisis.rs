//! What the crisis check finds and how serious it is: one scale shared by the crisis check, the
//! plugin format (a step's answer can count as a finding of a tier), the daemon's reflections and
//! the protocol's `CrisisTier` and `CrisisCategory`. Data only.

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

/// What was found, in the Columbia Suicide Severity Rating Scale's terms (C-SSRS: ideation by
/// severity, then behaviour), plus self-harm and someone else's crisis. Each belongs to one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// C-SSRS 1: wish to be dead.
    WishToBeDead,
    /// C-SSRS 2: non-specific active suicidal thoughts.
    SuicidalThoughts,
    /// C-SSRS 3: active ideation with a method, without intent.
    Method,
    /// Non-suicidal self-harm, urges or acts, by any method.
    SelfHarm,
    /// C-SSRS 4: active ideation with some intent to act.
    Intent,
    /// C-SSRS 5: with a specific plan (a method with a time or place).
    Plan,
    /// C-SSRS behaviour: preparatory acts (means gathered, a note written).
    Preparatory,
    /// C-SSRS behaviour: an actual, interrupted or aborted attempt.
    Attempt,
    /// Warning signs: goodbyes, giving things away, researching means, burdensomeness,
    /// hopelessness with finality.
    WarningSign,
    /// Someone else's crisis that the client writes about.
    OtherPerson,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::WishToBeDead,
        Category::SuicidalThoughts,
        Category::Method,
        Category::SelfHarm,
        Category::Intent,
        Category::Plan,
        Category::Preparatory,
        Category::Attempt,
        Category::WarningSign,
        Category::OtherPerson,
    ];

    pub fn tier(self) -> Tier {
        match self {
            Category::WishToBeDead
            | Category::SuicidalThoughts
            | Category::Method
            | Category::SelfHarm => Tier::Ideation,
            Category::Intent | Category::Plan | Category::Preparatory | Category::Attempt => {
                Tier::Acute
            }
            Category::WarningSign | Category::OtherPerson => Tier::Indirect,
        }
    }

    /// The name in the lexicon, the classifier's labels and the API.
    pub fn name(self) -> &'static str {
        match self {
            Category::WishToBeDead => "wish_to_be_dead",
            Category::SuicidalThoughts => "suicidal_thoughts",
            Category::Method => "method",
            Category::SelfHarm => "self_harm",
            Category::Intent => "intent",
            Category::Plan => "plan",
            Category::Preparatory => "preparatory",
            Category::Attempt => "attempt",
            Category::WarningSign => "warning_sign",
            Category::OtherPerson => "other_person",
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// What the crisis check found: the category, and so the tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub tier: Tier,
    pub category: Category,
}

impl Finding {
    pub fn of(category: Category) -> Finding {
        Finding {
            tier: category.tier(),
            category,
        }
    }

    /// A structured answer that met an exercise's own safety rule (which names a tier only).
    pub fn for_step(tier: Tier) -> Finding {
        Finding::of(match tier {
            Tier::Acute => Category::Intent,
            Tier::Ideation => Category::SuicidalThoughts,
            Tier::Indirect => Category::WarningSign,
        })
    }

    /// The more severe of two findings (the first on a tie).
    pub fn worst(a: Option<Finding>, b: Option<Finding>) -> Option<Finding> {
        match (a, b) {
            (Some(a), Some(b)) if b.tier > a.tier => Some(b),
            (Some(a), _) => Some(a),
            (None, b) => b,
        }
    }
}
