//! Where schedules come from: the two built-in check-ins after a session (24 and 72 hours: the
//! window where insight is kept or lost), enabled plugins, and the client's own.

use super::schedule::When;
use super::state::OwnSchedule;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    Plugin,
    Own,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub when: When,
    pub origin: Origin,
    pub plugin_id: String,
    pub prompt_id: String,
    pub prompt: String,
    /// Whether it runs unless the client turns it off.
    pub on_by_default: bool,
}

/// The question an own schedule asks when the client gave none.
pub const NEUTRAL_PROMPT: &str = "What is here for you right now?";

pub fn built_in() -> Vec<Source> {
    let after = |id: &str, hours, prompt: &str| Source {
        id: id.into(),
        when: When::AfterSession { hours },
        origin: Origin::BuiltIn,
        plugin_id: String::new(),
        prompt_id: id.into(),
        prompt: prompt.into(),
        on_by_default: true,
    };
    vec![
        after(
            "day-after-session",
            24,
            "What from your last session is still with you today?",
        ),
        after(
            "days-after-session",
            72,
            "Has anything from your last session come up again since?",
        ),
    ]
}

pub fn own(schedule: &OwnSchedule) -> Result<Source> {
    Ok(Source {
        id: schedule.id.clone(),
        when: schedule.when.to_when()?,
        origin: Origin::Own,
        plugin_id: String::new(),
        prompt_id: schedule.id.clone(),
        prompt: if schedule.prompt.trim().is_empty() {
            NEUTRAL_PROMPT.into()
        } else {
            schedule.prompt.clone()
        },
        on_by_default: true,
    })
}
