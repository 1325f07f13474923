//! `checkin`: answer what waits, see when the next check-in comes, and the client's controls.
//! No counts of missed check-ins anywhere: a missed one simply lapses.

use interlude_proto::v1::{
    AddScheduleRequest, Controls, DismissRequest, Emotion, GetControlsRequest, ListPendingRequest,
    ListSchedulesRequest, PauseRequest, PendingCheckIn, RemoveScheduleRequest, RespondRequest,
    ResumeRequest, Schedule, ScheduleOrigin, SetControlsRequest, SetScheduleEnabledRequest,
    SnoozeRequest, Weekly, When, when,
};
use serde_json::{Value, json};

use super::reflect::{resurfaced_json, resurfaced_text, with_payload_first, with_payload_json};
use super::{Ctx, safety, tell};
use crate::args::{CheckinArgs, CheckinCommand, ScheduleAddArgs, ScheduleCommand};
use crate::error::{CliError, ExitCode};
use crate::{input, time};

pub async fn run(ctx: &Ctx, args: CheckinArgs) -> Result<(), CliError> {
    let emotions = args.emotions.into_iter().map(Emotion::from).collect();
    match (args.command, args.id) {
        (Some(command), _) => command_run(ctx, command).await,
        (None, Some(id)) => respond(ctx, &id, &args.text, emotions).await,
        (None, None) => waiting(ctx).await,
    }
}

async fn command_run(ctx: &Ctx, command: CheckinCommand) -> Result<(), CliError> {
    let mut client = ctx.daemon.checkins();
    let controls = match command {
        CheckinCommand::Schedule(command) => return schedule(ctx, command).await,
        CheckinCommand::NotNow { id } => {
            client
                .dismiss(DismissRequest {
                    checkin_id: id.clone(),
                })
                .await?;
            return ctx.out.emit(
                || "Let go. Nothing else is recorded.".to_owned(),
                || json!({ "id": id, "dismissed": true }),
            );
        }
        CheckinCommand::Snooze { minutes } => client.snooze(SnoozeRequest { minutes }).await?,
        CheckinCommand::Pause { through } => client.pause(PauseRequest { through }).await?,
        CheckinCommand::Resume => client.resume(ResumeRequest {}).await?,
        CheckinCommand::Quiet { hours } => {
            let (start, end) = parse_quiet(&hours)?;
            client
                .set_controls(SetControlsRequest {
                    quiet_start: Some(start),
                    quiet_end: Some(end),
                    daily_cap: None,
                })
                .await?
        }
        CheckinCommand::Cap { per_day } => {
            client
                .set_controls(SetControlsRequest {
                    daily_cap: Some(per_day),
                    ..Default::default()
                })
                .await?
        }
        CheckinCommand::Controls => client.get_controls(GetControlsRequest {}).await?,
    }
    .into_inner();
    ctx.out
        .emit(|| controls_text(&controls), || controls_json(&controls))
}

/// "22:00-08:00" or "off" (equal start and end: no quiet hours).
fn parse_quiet(text: &str) -> Result<(String, String), CliError> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(("00:00".into(), "00:00".into()));
    }
    text.split_once('-')
        .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
        .ok_or_else(|| {
            CliError::invalid_input("write quiet hours as FROM-TO, e.g. 22:00-08:00, or `off`")
        })
}

async fn waiting(ctx: &Ctx) -> Result<(), CliError> {
    let view = ctx
        .daemon
        .checkins()
        .list_pending(ListPendingRequest {})
        .await?
        .into_inner();
    ctx.out.emit(
        || {
            let mut lines: Vec<String> = view.pending.iter().map(pending_text).collect();
            if view.pending.is_empty() {
                lines.push("Nothing waiting.".into());
            }
            match (&view.next_at, view.scheduling) {
                (_, false) => lines.push(
                    "Check-ins start after the first `interlude unlock` since the daemon started."
                        .into(),
                ),
                (Some(next), true) => {
                    lines.push(format!("Next check-in: {}", time::local(Some(next))))
                }
                (None, true) => lines.push("No check-in is scheduled.".into()),
            }
            lines.join("\n")
        },
        || {
            json!({
                "pending": view.pending.iter().map(pending_json).collect::<Vec<_>>(),
                "next_at": time::rfc3339(view.next_at.as_ref()),
                "scheduling": view.scheduling,
            })
        },
    )
}

fn pending_text(p: &PendingCheckIn) -> String {
    format!(
        "{}\n  {}\n  Answer with `interlude checkin {}`, or let it go with `interlude checkin not-now {}`.",
        time::local(p.due_at.as_ref()),
        p.prompt,
        p.id,
        p.id
    )
}

fn pending_json(p: &PendingCheckIn) -> Value {
    json!({
        "id": p.id,
        "schedule_id": p.schedule_id,
        "prompt": p.prompt,
        "due_at": time::rfc3339(p.due_at.as_ref()),
    })
}

async fn respond(
    ctx: &Ctx,
    id: &str,
    words: &[String],
    emotions: Vec<Emotion>,
) -> Result<(), CliError> {
    let mut client = ctx.daemon.checkins();
    let pending = client
        .list_pending(ListPendingRequest {})
        .await?
        .into_inner()
        .pending;
    let Some(checkin) = pending.iter().find(|p| p.id == id.trim()) else {
        return Err(CliError::new(
            ExitCode::NotFound,
            "that check-in is not waiting (it was answered, let go, or it lapsed); \
             `interlude checkin` shows what waits",
        ));
    };
    if words.is_empty() {
        tell(&checkin.prompt);
    }
    let text = input::text(words, ctx.daemon.socket(), "").await?;
    let saved = client
        .respond(RespondRequest {
            checkin_id: checkin.id.clone(),
            text,
            emotions,
        })
        .await?
        .into_inner();
    let payload = saved.safety.clone().map(safety::complete);
    ctx.out.emit(
        || {
            let notice = format!("Saved.  {}", saved.id) + &resurfaced_text(&saved.resurfaced);
            with_payload_first(payload.as_ref(), notice)
        },
        || {
            let value = json!({
                "id": saved.id,
                "moment": time::rfc3339(saved.moment.as_ref()),
                "sealed": saved.sealed,
                "resurfaced": resurfaced_json(&saved.resurfaced),
            });
            with_payload_json(value, payload.as_ref())
        },
    )
}

async fn schedule(ctx: &Ctx, command: ScheduleCommand) -> Result<(), CliError> {
    let mut client = ctx.daemon.checkins();
    let changed =
        match command {
            ScheduleCommand::List => {
                let schedules = client
                    .list_schedules(ListSchedulesRequest {})
                    .await?
                    .into_inner()
                    .schedules;
                return ctx.out.emit(
                || schedules.iter().map(schedule_text).collect::<Vec<_>>().join("\n"),
                || json!({ "schedules": schedules.iter().map(schedule_json).collect::<Vec<_>>() }),
            );
            }
            ScheduleCommand::Add(args) => client.add_schedule(add_request(args)).await?,
            ScheduleCommand::Remove { id } => {
                client
                    .remove_schedule(RemoveScheduleRequest { id: id.clone() })
                    .await?;
                return ctx.out.emit(
                    || format!("Removed {id}."),
                    || json!({ "id": id, "removed": true }),
                );
            }
            ScheduleCommand::On { id } => {
                let request = SetScheduleEnabledRequest { id, enabled: true };
                client.set_schedule_enabled(request).await?
            }
            ScheduleCommand::Off { id } => {
                let request = SetScheduleEnabledRequest { id, enabled: false };
                client.set_schedule_enabled(request).await?
            }
        }
        .into_inner();
    ctx.out
        .emit(|| schedule_text(&changed), || schedule_json(&changed))
}

fn add_request(args: ScheduleAddArgs) -> AddScheduleRequest {
    let kind = match (args.daily, args.weekly, args.after_session) {
        (Some(at), _, _) => when::Kind::Daily(at),
        (_, Some(days), _) => when::Kind::Weekly(Weekly {
            days,
            at: args.at.unwrap_or_default(),
        }),
        (_, _, hours) => when::Kind::AfterSessionHours(hours.unwrap_or_default()),
    };
    AddScheduleRequest {
        when: Some(When { kind: Some(kind) }),
        prompt: args.prompt.unwrap_or_default(),
        id: String::new(),
    }
}

fn when_text(when: Option<&When>) -> String {
    match when.and_then(|w| w.kind.as_ref()) {
        Some(when::Kind::AfterSessionHours(h)) => format!("{h} h after each session"),
        Some(when::Kind::Daily(at)) => format!("daily at {at}"),
        Some(when::Kind::Weekly(w)) => format!("{} at {}", w.days.join(","), w.at),
        None => "never".into(),
    }
}

fn origin(schedule: &Schedule) -> String {
    match schedule.origin() {
        ScheduleOrigin::BuiltIn => "built in".into(),
        ScheduleOrigin::Plugin => format!("plugin {}", schedule.plugin_id),
        ScheduleOrigin::Own | ScheduleOrigin::Unspecified => "yours".into(),
    }
}

/// `day-after-session  on   24 h after each session  (built in)\n  What …`
pub(super) fn schedule_text(s: &Schedule) -> String {
    format!(
        "{}  {}  {}  ({})\n  {}",
        s.id,
        if s.enabled { "on " } else { "off" },
        when_text(s.when.as_ref()),
        origin(s),
        s.prompt
    )
}

pub(super) fn schedule_json(s: &Schedule) -> Value {
    json!({
        "id": s.id,
        "enabled": s.enabled,
        "when": when_text(s.when.as_ref()),
        "origin": origin(s),
        "prompt": s.prompt,
    })
}

pub(super) fn controls_text(c: &Controls) -> String {
    let quiet = if c.quiet_start == c.quiet_end {
        "Quiet hours: none".to_owned()
    } else {
        format!("Quiet hours: {}–{}", c.quiet_start, c.quiet_end)
    };
    let mut lines = vec![quiet, format!("At most {} a day", c.daily_cap)];
    if let Some(until) = &c.snoozed_until {
        lines.push(format!("Snoozed until {}", time::local(Some(until))));
    }
    if !c.paused_through.is_empty() {
        lines.push(format!("Paused through {}", c.paused_through));
    }
    lines.join("\n")
}

pub(super) fn controls_json(c: &Controls) -> Value {
    json!({
        "quiet_start": c.quiet_start,
        "quiet_end": c.quiet_end,
        "daily_cap": c.daily_cap,
        "snoozed_until": time::rfc3339(c.snoozed_until.as_ref()),
        "paused_through": Some(&c.paused_through).filter(|p| !p.is_empty()),
    })
}
