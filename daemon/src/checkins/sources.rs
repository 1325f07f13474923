//! Where schedules come from: the two built-in check-ins after a session (24 and 72 hours: the
//! window where insight is kept or lost), enabled plugins, and the client's own.

use super::schedule::When;
use super::state::{self, OwnSchedule};
use crate::error::Result;
use interlude_plugins::{Catalog, catalog, format};

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

/// What stands for the client's own question while the vault is locked: their words are
/// readable only unlocked.
pub const LOCKED_PROMPT: &str = "Your own check-in question (unlock to read it).";

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

/// The check-ins of the plugins in effect. A built-in plugin's schedules start off (the client
/// turns on the ones of their modality); a plugin the client installed, usually from their
/// therapist, starts with its schedules on.
pub fn from_catalog(catalog: &Catalog) -> Vec<Source> {
    catalog
        .plugins
        .iter()
        .flat_map(|entry| {
            let plugin = &entry.plugin;
            let installed = entry.origin != catalog::Origin::BuiltIn;
            plugin.checkins.iter().filter_map(move |checkin| {
                let when = plugin_when(checkin)?;
                let (prompt_id, prompt) = plugin_prompt(plugin, checkin);
                Some(Source {
                    id: format!("{}/{}", entry.id(), checkin.id.get_ref()),
                    when,
                    origin: Origin::Plugin,
                    plugin_id: entry.id().to_string(),
                    prompt_id,
                    prompt,
                    on_by_default: installed,
                })
            })
        })
        .collect()
}

fn plugin_when(checkin: &format::CheckIn) -> Option<When> {
    let time = |t: &str| state::parse_time(t).ok();
    if let Some(hours) = checkin.after_session_hours {
        return Some(When::AfterSession {
            hours: i64::from(hours),
        });
    }
    if let Some(at) = &checkin.daily {
        return Some(When::Daily {
            at: time(at.get_ref())?,
        });
    }
    let days = checkin.weekdays.as_ref()?;
    Some(When::Weekdays {
        days: days
            .iter()
            .filter_map(|d| state::parse_weekday(d.get_ref()).ok())
            .collect(),
        at: time(checkin.at.as_ref()?.get_ref())?,
    })
}

/// The check-in's question. Vocabulary references stay generic: the client's words are
/// encrypted, and a question may be shown while the vault is locked.
fn plugin_prompt(plugin: &format::Plugin, checkin: &format::CheckIn) -> (String, String) {
    let prompt = checkin.prompt.as_ref().and_then(|id| {
        plugin
            .prompts
            .iter()
            .find(|p| p.id.get_ref() == id.get_ref())
    });
    let exercise = checkin.exercise.as_ref().and_then(|id| {
        plugin
            .exercises
            .iter()
            .find(|e| e.id.get_ref() == id.get_ref())
    });
    match (prompt, exercise) {
        (Some(p), _) => (
            p.id.get_ref().clone(),
            p.text
                .get_ref()
                .replace("{anchor}", "your anchor")
                .replace("{part}", "a part of you"),
        ),
        (None, Some(e)) => (e.id.get_ref().clone(), format!("A moment for: {}", e.title)),
        (None, None) => (String::new(), NEUTRAL_PROMPT.into()),
    }
}
