//! What the scheduler remembers between runs. It is sealed to the vault's public key rather than
//! encrypted with the data key, so that it can be written while the vault is locked (a check-in
//! delivered at 19:30 while the client is away) and read only after an unlock.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time, Weekday};
use serde::{Deserialize, Serialize};

use super::schedule::{Controls, When};
use crate::crypto;
use crate::domain::Millis;
use crate::error::{Error, Result, invalid};
use crate::store::{Op, Store, Tree};
use crate::vault::{Keys, Vault};

const KEY: &[u8] = b"state";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// The client's own schedules.
    pub own: Vec<OwnSchedule>,
    /// Schedules the client turned on or off, by id; the rest keep their default.
    pub switched: BTreeMap<String, bool>,
    pub controls: StoredControls,
    /// When check-ins were delivered in the last days, for the daily cap.
    pub delivered: Vec<Millis>,
    /// The last moment the scheduler looked: what fell due before it has been dealt with.
    pub looked_at: Option<Millis>,
    /// The check-in waiting for an answer.
    pub pending: Option<Pending>,
    /// A check-in put off by a snooze; it comes back when the snooze ends.
    pub snoozed: Option<Pending>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnSchedule {
    pub id: String,
    pub when: StoredWhen,
    pub prompt: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredWhen {
    AfterSession { hours: u32 },
    Daily { at: String },
    Weekly { days: Vec<String>, at: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredControls {
    pub quiet_start: String,
    pub quiet_end: String,
    pub daily_cap: u32,
    pub snoozed_until: Option<Millis>,
    pub paused_through: Option<String>,
}

impl Default for StoredControls {
    fn default() -> Self {
        let defaults = Controls::default();
        StoredControls {
            quiet_start: hh_mm(defaults.quiet_start),
            quiet_end: hh_mm(defaults.quiet_end),
            daily_cap: defaults.daily_cap as u32,
            snoozed_until: None,
            paused_through: None,
        }
    }
}

pub use crate::domain::Pending;

impl StoredWhen {
    /// Checks what a client sent and puts it in canonical form ("9:05" → "09:05").
    pub fn parse(self) -> Result<StoredWhen> {
        Ok(match self {
            StoredWhen::AfterSession { hours } if hours == 0 || hours > 24 * 28 => {
                return Err(invalid(format!(
                    "a check-in after a session must come 1 to {} hours after it; got {hours}",
                    24 * 28
                )));
            }
            StoredWhen::AfterSession { hours } => StoredWhen::AfterSession { hours },
            StoredWhen::Daily { at } => StoredWhen::Daily {
                at: hh_mm(parse_time(&at)?),
            },
            StoredWhen::Weekly { days, at } => {
                if days.is_empty() {
                    return Err(invalid("name at least one weekday, e.g. mon,thu"));
                }
                let mut parsed = days
                    .iter()
                    .map(|d| parse_weekday(d))
                    .collect::<Result<Vec<_>>>()?;
                parsed.sort_by_key(|d| d.to_monday_zero_offset());
                parsed.dedup();
                StoredWhen::Weekly {
                    days: parsed
                        .into_iter()
                        .map(weekday_name)
                        .map(String::from)
                        .collect(),
                    at: hh_mm(parse_time(&at)?),
                }
            }
        })
    }

    pub fn from_when(when: &When) -> StoredWhen {
        match when {
            When::AfterSession { hours } => StoredWhen::AfterSession {
                hours: u32::try_from(*hours).unwrap_or(u32::MAX),
            },
            When::Daily { at } => StoredWhen::Daily { at: hh_mm(*at) },
            When::Weekdays { days, at } => StoredWhen::Weekly {
                days: days.iter().map(|d| weekday_name(*d).into()).collect(),
                at: hh_mm(*at),
            },
        }
    }

    pub fn to_when(&self) -> Result<When> {
        Ok(match self {
            StoredWhen::AfterSession { hours } => When::AfterSession {
                hours: i64::from(*hours),
            },
            StoredWhen::Daily { at } => When::Daily {
                at: parse_time(at)?,
            },
            StoredWhen::Weekly { days, at } => When::Weekdays {
                days: days
                    .iter()
                    .map(|d| parse_weekday(d))
                    .collect::<Result<_>>()?,
                at: parse_time(at)?,
            },
        })
    }
}

impl StoredControls {
    pub fn to_controls(&self) -> Result<Controls> {
        Ok(Controls {
            quiet_start: parse_time(&self.quiet_start)?,
            quiet_end: parse_time(&self.quiet_end)?,
            daily_cap: self.daily_cap as usize,
            snoozed_until: self
                .snoozed_until
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()),
            paused_through: self.paused_through.as_deref().map(parse_date).transpose()?,
        })
    }
}

/// "HH:MM" in 24-hour time.
pub fn parse_time(text: &str) -> Result<Time> {
    let bad = || invalid(format!("expected a time like 08:30 or 19:45, got {text:?}"));
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

pub fn hh_mm(time: Time) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// "YYYY-MM-DD".
pub fn parse_date(text: &str) -> Result<Date> {
    text.trim()
        .parse()
        .map_err(|_| invalid(format!("expected a date like 2026-12-24, got {text:?}")))
}

pub fn parse_weekday(text: &str) -> Result<Weekday> {
    let lower = text.trim().to_ascii_lowercase();
    let day = match lower.get(..3).unwrap_or("") {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => {
            return Err(invalid(format!(
                "expected a weekday like mon, tue, … sun; got {text:?}"
            )));
        }
    };
    Ok(day)
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "mon",
        Weekday::Tuesday => "tue",
        Weekday::Wednesday => "wed",
        Weekday::Thursday => "thu",
        Weekday::Friday => "fri",
        Weekday::Saturday => "sat",
        Weekday::Sunday => "sun",
    }
}

fn ad() -> Vec<u8> {
    crypto::record_ad(Tree::CheckIns.name(), KEY)
}

/// The write that stores `state`; works while the vault is locked.
pub fn save(vault: &Vault, state: &State) -> Result<Op> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(state).map_err(|e| Error::Internal(e.to_string()))?,
    );
    Ok(Op::Put {
        tree: Tree::CheckIns,
        key: KEY.to_vec(),
        value: crypto::seal(&vault.public_key()?, &plain, &ad())?,
    })
}

/// The stored state, or the defaults when there is none yet.
pub fn load(store: &Store, keys: &Keys) -> Result<State> {
    let Some(value) = store.get(Tree::CheckIns, KEY)? else {
        return Ok(State::default());
    };
    let damaged = || Error::Damaged {
        what: "check-in state",
        id: String::from_utf8_lossy(KEY).into_owned(),
    };
    let plain = crypto::unseal(&keys.secret, &value, &ad()).map_err(|_| damaged())?;
    serde_json::from_slice(&plain).map_err(|_| damaged())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_weekdays_and_dates_are_read_leniently_and_refused_clearly() {
        assert_eq!(hh_mm(parse_time("9:05").unwrap()), "09:05");
        assert!(
            parse_time("25:00")
                .unwrap_err()
                .to_string()
                .contains("08:30")
        );
        assert!(parse_time("noon").is_err());
        assert_eq!(parse_weekday("Thursday").unwrap(), Weekday::Thursday);
        assert!(
            parse_weekday("someday")
                .unwrap_err()
                .to_string()
                .contains("mon")
        );
        assert!(parse_date("2026-02-30").is_err());
    }

    #[test]
    fn a_weekly_schedule_is_stored_in_canonical_form() {
        let when = StoredWhen::Weekly {
            days: vec!["Thu".into(), "mon".into(), "thursday".into()],
            at: "7:30".into(),
        };
        assert_eq!(
            when.parse().unwrap(),
            StoredWhen::Weekly {
                days: vec!["mon".into(), "thu".into()],
                at: "07:30".into()
            }
        );
        let none = StoredWhen::Weekly {
            days: vec![],
            at: "07:30".into(),
        };
        assert!(none.parse().is_err());
        assert!(StoredWhen::AfterSession { hours: 0 }.parse().is_err());
    }
}
