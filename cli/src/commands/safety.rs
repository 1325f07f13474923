//! `help-now` and `safety-plan show|edit|export|readable-while-locked`.
//!
//! `help-now` must show something at once, whatever state things are in: it asks the daemon with
//! a short budget, skips it when it speaks another protocol, and otherwise falls back to the
//! readable-while-locked copy of the plan (when the client turned it on) and the crisis lines
//! compiled into this program.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use interlude_proto::v1::{
    CrisisTier, GetPlanRequest, HelpNowRequest, InfoRequest, SafetyPayload, SafetyPlan,
    SetCountryRequest, SetLockedCopyRequest, daemon_client::DaemonClient,
    safety_client::SafetyClient,
};
use interlude_proto::{PROTOCOL_VERSION, crisis_lines};
use serde_json::{Value, json};

use super::{Ctx, confirm, tell};
use crate::args::{CountryArgs, ExportArgs, ExportFormat, HelpNowArgs, OnOff};
use crate::client::Daemon;
use crate::error::{CliError, ExitCode};
use crate::output::{Output, safety};
use crate::plan_text::{self, PlanTextError, Section};
use crate::{editor, input};
use interlude_proto::settings;

/// How long `help-now` gives the daemon, connecting included, before using its own copy.
const DAEMON_BUDGET: Duration = Duration::from_millis(300);

/// How long a command already connected waits for HelpNow before using the CLI's own copy.
const CONNECTED_BUDGET: Duration = Duration::from_secs(2);

/// The readable-while-locked copy the daemon keeps in its data directory, when turned on.
pub const LOCKED_COPY_FILE: &str = "safety-plan-readable-while-locked.json";

/// Chooses the crisis lines when the daemon does not answer, as `--country` would.
const LOCALE_ENV: &str = "INTERLUDE_LOCALE";

/// `help-now`: the payload from the daemon if it answers quickly in our protocol, else from the
/// copy on disk and the compiled-in lines. Never fails for want of the daemon.
pub async fn help_now(socket: &Path, args: &HelpNowArgs, out: Output) -> Result<(), CliError> {
    let fallback = Fallback::new(args.data_dir.clone(), args.country.clone());
    let (payload, source) = match ask_daemon(socket).await {
        Some(payload) => (fallback.complete(payload), "daemon"),
        None => (fallback.payload(), "local"),
    };
    out.emit(
        || safety::payload_text(&payload),
        || {
            let mut value = safety::payload_json(&payload);
            value["source"] = json!(source);
            value
        },
    )
}

/// `country`: shows whose crisis lines are shown, or records the client's country (through the
/// daemon when it answers, else in the data directory, where the daemon reads it).
pub async fn country(socket: &Path, args: &CountryArgs, out: Output) -> Result<(), CliError> {
    let fallback = Fallback::new(args.data_dir.clone(), None);
    let payload = match &args.country {
        None => match ask_daemon(socket).await {
            Some(payload) => fallback.complete(payload),
            None => fallback.payload(),
        },
        Some(code) => match set_through_daemon(socket, code).await {
            Some(payload) => payload?,
            None => {
                crisis_lines::write_chosen(&fallback.data_dir(), code).with_context(|| {
                    format!(
                        "could not record the country in {}",
                        fallback.data_dir().display()
                    )
                })?;
                fallback.payload()
            }
        },
    };
    out.emit(
        || {
            let said = match &args.country {
                Some(code) if payload.country == *code => format!("Recorded: {code}.\n\n"),
                Some(code) => {
                    format!("Recorded {code}, but another setting comes first (see below).\n\n")
                }
                None => String::new(),
            };
            format!(
                "{said}{}",
                safety::lines_text(&payload.region, &payload.region_note, &payload.lines)
            )
        },
        || {
            json!({
                "country": payload.country,
                "region": payload.region,
                "region_note": payload.region_note,
            })
        },
    )
}

/// `Safety.SetCountry` when the daemon answers in our protocol; `None` when it does not.
async fn set_through_daemon(socket: &Path, code: &str) -> Option<Result<SafetyPayload, CliError>> {
    let channel = tokio::time::timeout(DAEMON_BUDGET, interlude_proto::connect(socket))
        .await
        .ok()?
        .ok()?;
    let info = DaemonClient::new(channel.clone())
        .info(InfoRequest {})
        .await;
    if info.ok()?.into_inner().protocol_version != PROTOCOL_VERSION {
        return None;
    }
    let set = SafetyClient::new(channel)
        .set_country(SetCountryRequest {
            country: code.to_owned(),
        })
        .await;
    Some(set.map(tonic::Response::into_inner).map_err(CliError::from))
}

/// The daemon's HelpNow, or nothing: unreachable, too slow, another protocol, or an error.
async fn ask_daemon(socket: &Path) -> Option<SafetyPayload> {
    let ask = async {
        let channel = interlude_proto::connect(socket).await.ok()?;
        let mut daemon = DaemonClient::new(channel.clone());
        let mut safety = SafetyClient::new(channel);
        // Both at once: one round trip; the answer is used only if the protocol matches.
        let (info, payload) = tokio::join!(
            daemon.info(InfoRequest {}),
            safety.help_now(HelpNowRequest {})
        );
        if info.ok()?.into_inner().protocol_version != PROTOCOL_VERSION {
            return None;
        }
        payload.ok().map(tonic::Response::into_inner)
    };
    tokio::time::timeout(DAEMON_BUDGET, ask)
        .await
        .ok()
        .flatten()
}

/// The payload to show beside a reflection the check noticed, for commands whose response
/// carries none: the daemon's HelpNow, else the CLI's own copy.
pub async fn payload_from(daemon: &Daemon) -> SafetyPayload {
    let asked = tokio::time::timeout(
        CONNECTED_BUDGET,
        daemon.safety().help_now(HelpNowRequest {}),
    )
    .await;
    let fallback = Fallback::new(None, None);
    match asked {
        Ok(Ok(payload)) => fallback.complete(payload.into_inner()),
        _ => fallback.payload(),
    }
}

/// A payload the daemon sent, made sure to have lines.
pub fn complete(payload: SafetyPayload) -> SafetyPayload {
    Fallback::new(None, None).complete(payload)
}

/// Where the CLI's own copy comes from: the flag (or `$INTERLUDE_LOCALE`), the config file's
/// `country`, the client's choice in the data directory, the config's `locale`, then a guess
/// from the system locale: the order the daemon resolves them in.
struct Fallback {
    data_dir: Option<PathBuf>,
    country: Option<String>,
}

impl Fallback {
    fn new(data_dir: Option<PathBuf>, country: Option<String>) -> Self {
        Self { data_dir, country }
    }

    fn payload(&self) -> SafetyPayload {
        let plan = read_locked_copy(&self.data_dir().join(LOCKED_COPY_FILE));
        let message = if plan.is_some() {
            safety::HELP_NOW_MESSAGE
        } else {
            safety::LINES_ONLY_MESSAGE
        };
        let mut payload = SafetyPayload {
            tier: CrisisTier::Unspecified.into(),
            message: message.to_owned(),
            plan,
            ..Default::default()
        };
        self.set_lines(&mut payload);
        payload
    }

    /// Lines are never missing: an answer without any gets the compiled-in ones; `--country`
    /// replaces the daemon's.
    fn complete(&self, mut payload: SafetyPayload) -> SafetyPayload {
        if payload.lines.is_empty() || self.flag().is_some() {
            self.set_lines(&mut payload);
        }
        payload
    }

    fn set_lines(&self, payload: &mut SafetyPayload) {
        let shown = self.sources().resolve();
        payload.lines = shown.region.proto_lines();
        payload.region = shown.region.name;
        payload.country = shown.region.id;
        payload.region_note = shown.note;
    }

    fn sources(&self) -> crisis_lines::Sources {
        crisis_lines::Sources {
            flag: self.flag(),
            config_country: settings::config_value("country"),
            config_locale: settings::config_value("locale"),
            chosen: crisis_lines::read_chosen(&self.data_dir()),
            system_locale: Some(crisis_lines::system_locale()),
        }
    }

    fn data_dir(&self) -> PathBuf {
        settings::data_dir(self.data_dir.clone())
    }

    fn flag(&self) -> Option<String> {
        self.country
            .clone()
            .filter(|country| !country.trim().is_empty())
            .or_else(|| settings::env(LOCALE_ENV))
    }
}

/// The readable-while-locked copy, if it is there, parses, and has anything in it. Items that
/// are not strings are passed over rather than losing the rest.
fn read_locked_copy(path: &Path) -> Option<SafetyPlan> {
    let bytes = std::fs::read(path).ok()?;
    let Value::Object(fields) = serde_json::from_slice::<Value>(&bytes).ok()? else {
        return None;
    };
    let mut plan = SafetyPlan::default();
    for section in Section::ALL {
        if let Some(Value::Array(items)) = fields.get(section.key()) {
            section.items_mut(&mut plan).extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|item| !item.trim().is_empty())
                    .map(str::to_owned),
            );
        }
    }
    (!plan_text::is_empty(&plan)).then_some(plan)
}

/// `safety-plan show`.
pub async fn show(ctx: &Ctx) -> Result<(), CliError> {
    let plan = get_plan(ctx).await.map_err(|error| {
        if error.exit_code() == ExitCode::VaultLocked {
            error.with_hint(
                "run `interlude unlock` to see it; `interlude help-now` works while locked and \
                 shows the plan too if it is readable while locked",
            )
        } else {
            error
        }
    })?;
    ctx.out.emit(
        || safety::plan_text(&plan),
        || safety::plan_with_flag_json(&plan),
    )
}

async fn get_plan(ctx: &Ctx) -> Result<SafetyPlan, CliError> {
    Ok(ctx
        .daemon
        .safety()
        .get_plan(GetPlanRequest {})
        .await?
        .into_inner())
}

/// `safety-plan edit`: Markdown in the editor, or from standard input when it is not a terminal.
pub async fn edit(ctx: &Ctx) -> Result<(), CliError> {
    let current = get_plan(ctx).await?;
    let edited = if std::io::stdin().is_terminal() {
        edit_in_editor(ctx, &current).await?
    } else {
        plan_text::parse(&input::read_stdin("plan")?).map_err(CliError::invalid_input)?
    };
    if plan_text::same_items(&edited, &current) {
        return ctx.out.emit(
            || "Nothing changed.".to_owned(),
            || with_changed(safety::plan_with_flag_json(&current), false),
        );
    }
    let request = SafetyPlan {
        readable_while_locked: false,
        ..edited
    };
    let saved = ctx.daemon.safety().set_plan(request).await?.into_inner();
    ctx.out.emit(
        || format!("Saved your safety plan.\n\n{}", safety::plan_text(&saved)),
        || with_changed(safety::plan_with_flag_json(&saved), true),
    )
}

fn with_changed(mut value: Value, changed: bool) -> Value {
    value["changed"] = json!(changed);
    value
}

/// Opens the editor until the document reads as a plan, or the client gives up.
async fn edit_in_editor(ctx: &Ctx, current: &SafetyPlan) -> Result<SafetyPlan, CliError> {
    let mut draft = plan_text::render_for_editing(current);
    loop {
        let text = editor::edit(ctx.daemon.socket(), &draft).await?;
        match plan_text::parse(&text) {
            Ok(plan) => return Ok(plan),
            Err(PlanTextError::Empty) => {
                return Err(CliError::invalid_input(PlanTextError::Empty));
            }
            Err(error) => {
                tell(&format!("interlude: {error}"));
                if !confirm("Open the editor again to fix it? Your text is kept.")? {
                    return Err(CliError::invalid_input(
                        "nothing was saved; your safety plan is as it was",
                    ));
                }
                draft = text;
            }
        }
    }
}

/// `safety-plan export`: Markdown, or a page to print with the crisis lines at the end.
pub async fn export(ctx: &Ctx, args: &ExportArgs) -> Result<(), CliError> {
    let plan = get_plan(ctx).await?;
    let (document, format) = match args.format {
        ExportFormat::Markdown => (plan_text::render(&plan), "markdown"),
        ExportFormat::Html => {
            let payload = payload_from(&ctx.daemon).await;
            let today = jiff::Zoned::now().strftime("%-d %B %Y").to_string();
            let page = safety::html(&plan, &payload.region, &payload.lines, &today);
            (page, "html")
        }
    };
    match &args.output {
        None => ctx.out.emit(
            || document.clone(),
            || json!({ "format": format, "document": document }),
        ),
        Some(path) => {
            write_private(path, &document)?;
            ctx.out.emit(
                || format!("Wrote your safety plan to {}.", path.display()),
                || json!({ "format": format, "output": path.display().to_string() }),
            )
        }
    }
}

/// The plan is the client's own words: a new file is readable by them alone.
fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("could not write {}", path.display()))
        .map_err(|error| {
            CliError::from(error).with_hint(
                "nothing was exported; choose another --output, or leave it out to print",
            )
        })
}

/// `safety-plan readable-while-locked on|off`.
pub async fn readable_while_locked(ctx: &Ctx, state: OnOff) -> Result<(), CliError> {
    let request = SetLockedCopyRequest {
        enabled: state == OnOff::On,
    };
    let plan = ctx
        .daemon
        .safety()
        .set_locked_copy(request)
        .await?
        .into_inner();
    ctx.out.emit(
        || safety::locked_copy_notice(&plan),
        || safety::plan_with_flag_json(&plan),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "interlude-safety-test-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_locked_copy_is_read_from_the_data_dir() {
        let dir = temp_dir("copy");
        std::fs::write(
            dir.join(LOCKED_COPY_FILE),
            r#"{"warning_signs":["can't sleep"],"coping_strategies":[],"distractions":[],
                "people_to_ask":["Sam",7],"professionals":[],"safe_environment":[],
                "reasons_for_living":["my niece"]}"#,
        )
        .unwrap();
        let payload = Fallback::new(Some(dir.clone()), Some("GB".into())).payload();
        let plan = payload.plan.clone().unwrap();
        assert_eq!(plan.warning_signs, ["can't sleep"]);
        assert_eq!(plan.people_to_ask, ["Sam"]);
        assert_eq!(payload.region, "United Kingdom");
        assert!(payload.lines.iter().any(|l| l.contact.contains("116 123")));
        assert_eq!(payload.message, safety::HELP_NOW_MESSAGE);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_copy_there_are_still_lines() {
        let dir = temp_dir("none");
        std::fs::write(dir.join(LOCKED_COPY_FILE), "not json").unwrap();
        let payload = Fallback::new(Some(dir.clone()), Some("en_US.UTF-8".into())).payload();
        assert!(payload.plan.is_none());
        assert!(payload.lines.iter().any(|l| l.contact.contains("988")));
        assert_eq!(payload.message, safety::LINES_ONLY_MESSAGE);
        let text = safety::payload_text(&payload);
        assert!(text.contains("Crisis lines (United States)"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_answer_without_lines_gets_the_compiled_in_ones() {
        let payload = Fallback::new(None, Some("IE".into())).complete(SafetyPayload::default());
        assert_eq!(payload.region, "Ireland");
        assert!(!payload.lines.is_empty());
    }

    #[test]
    fn nothing_listening_is_no_answer_and_quick() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = std::time::Instant::now();
        let socket = Path::new("/nonexistent-interlude-test/interluded.sock");
        assert!(runtime.block_on(ask_daemon(socket)).is_none());
        assert!(started.elapsed() < Duration::from_millis(100));
    }
}
