//! The check-in settings of an export brought back: quiet hours, the daily cap, a pause or a
//! snooze still running, the client's own schedules (with their ids) and which schedules are
//! on or off. Built-in and plugin schedules are not created (they come with the daemon and its
//! plugins); only their on/off state is carried over when the same schedule is here.

use interlude_proto::v1::{
    AddScheduleRequest, Controls, ListSchedulesRequest, PauseRequest, SetControlsRequest,
    SetScheduleEnabledRequest, SnoozeRequest, Weekly, When, when,
};
use serde_json::Value;

use super::Ctx;
use crate::error::CliError;

/// One schedule as the export writes it.
pub(super) struct Schedule {
    id: String,
    enabled: bool,
    /// `None` for "never".
    when: Option<When>,
    own: bool,
    prompt: String,
}

pub(super) struct CheckIns {
    schedules: Vec<Schedule>,
    controls: Controls,
}

impl CheckIns {
    pub(super) fn len(&self) -> usize {
        self.schedules.len()
    }
}

/// The `check_ins` object of an export.
pub(super) fn parse(doc: &Value) -> Result<CheckIns, String> {
    let check_ins = &doc["check_ins"];
    let schedules = check_ins["schedules"]
        .as_array()
        .ok_or("`check_ins.schedules` is not a list")?
        .iter()
        .enumerate()
        .map(|(i, s)| schedule(s).map_err(|why| format!("check_ins.schedules[{i}]: {why}")))
        .collect::<Result<_, _>>()?;
    Ok(CheckIns {
        schedules,
        controls: controls(&check_ins["controls"])
            .map_err(|why| format!("check_ins.controls: {why}"))?,
    })
}

fn text(v: &Value, key: &str) -> Result<String, String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("`{key}` is not text"))
}

fn schedule(v: &Value) -> Result<Schedule, String> {
    Ok(Schedule {
        id: text(v, "id")?,
        enabled: v["enabled"]
            .as_bool()
            .ok_or("`enabled` is not true or false")?,
        when: parse_when(&text(v, "when")?)?,
        own: text(v, "origin")? == "yours",
        prompt: text(v, "prompt")?,
    })
}

/// Reads back what `interlude export` writes: "24 h after each session", "daily at 21:00",
/// "mon,thu at 19:30", "never".
pub(super) fn parse_when(text: &str) -> Result<Option<When>, String> {
    let kind = if text == "never" {
        return Ok(None);
    } else if let Some(hours) = text.strip_suffix(" h after each session") {
        when::Kind::AfterSessionHours(
            hours
                .parse()
                .map_err(|_| format!("`{text}` is not a number of hours after a session"))?,
        )
    } else if let Some(at) = text.strip_prefix("daily at ") {
        when::Kind::Daily(at.to_owned())
    } else if let Some((days, at)) = text.split_once(" at ") {
        when::Kind::Weekly(Weekly {
            days: days.split(',').map(str::to_owned).collect(),
            at: at.to_owned(),
        })
    } else {
        return Err(format!("`{text}` is not a time a check-in comes"));
    };
    Ok(Some(When { kind: Some(kind) }))
}

fn controls(v: &Value) -> Result<Controls, String> {
    let snoozed_until = match &v["snoozed_until"] {
        Value::Null => None,
        Value::String(at) => Some(crate::time::to_proto(
            at.parse::<jiff::Timestamp>()
                .map_err(|_| format!("`{at}` is not a time"))?,
        )),
        _ => return Err("`snoozed_until` is not a time".into()),
    };
    Ok(Controls {
        quiet_start: text(v, "quiet_start")?,
        quiet_end: text(v, "quiet_end")?,
        daily_cap: v["daily_cap"]
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .ok_or("`daily_cap` is not a number")?,
        snoozed_until,
        paused_through: v["paused_through"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Applies the settings; returns a sentence saying what came in.
pub(super) async fn apply(ctx: &Ctx, check_ins: CheckIns) -> Result<String, CliError> {
    let mut client = ctx.daemon.checkins();
    let c = &check_ins.controls;
    client
        .set_controls(SetControlsRequest {
            quiet_start: Some(c.quiet_start.clone()),
            quiet_end: Some(c.quiet_end.clone()),
            daily_cap: Some(c.daily_cap),
        })
        .await?;
    let today = jiff::Zoned::now().date().to_string();
    if !c.paused_through.is_empty() && c.paused_through >= today {
        client
            .pause(PauseRequest {
                through: c.paused_through.clone(),
            })
            .await?;
    }
    if let Some(until) = &c.snoozed_until {
        let left = until.seconds - jiff::Timestamp::now().as_second();
        if left > 0 {
            let minutes = u32::try_from((left + 59) / 60).unwrap_or(u32::MAX);
            client.snooze(SnoozeRequest { minutes }).await?;
        }
    }
    let here = client
        .list_schedules(ListSchedulesRequest {})
        .await?
        .into_inner()
        .schedules;
    let mut added = 0;
    for schedule in check_ins.schedules {
        let existing = here.iter().find(|s| s.id == schedule.id);
        let enabled_here = match (existing, schedule.own, schedule.when) {
            (Some(existing), _, _) => existing.enabled,
            (None, true, Some(when)) => {
                client
                    .add_schedule(AddScheduleRequest {
                        when: Some(when),
                        prompt: schedule.prompt.clone(),
                        id: schedule.id.clone(),
                    })
                    .await?;
                added += 1;
                true
            }
            // A plugin's or built-in schedule that is not here, or one that never fires.
            (None, _, _) => continue,
        };
        if enabled_here != schedule.enabled {
            client
                .set_schedule_enabled(SetScheduleEnabledRequest {
                    id: schedule.id,
                    enabled: schedule.enabled,
                })
                .await?;
        }
    }
    Ok(format!(
        "Check-in settings came in (quiet hours, the daily cap, which schedules are on; {added} schedules of your own added)."
    ))
}
