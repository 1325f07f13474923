//! `interlude import FILE`: takes back an export (`interlude export --format json`), so that
//! what comes out of one vault goes into another exactly. Reflections (with their history),
//! sessions and vocabulary terms keep their ids, times and fields; one already here is left as
//! it is, so the same file imported twice adds nothing. The safety plan comes in when the vault
//! has none yet. Check-in settings come in too (see [`super::import_checkins`]); the plugin
//! list is in the export for reading only (plugins are installed from their signed bundles).
//! The whole file is read and checked before anything is sent.

use std::path::Path;

use anyhow::Context;
use interlude_proto::v1::{
    Answer, Emotion, GetPlanRequest, ImportRequest, Reflection, ReflectionKind, Revision,
    SafetyPlan, Session, Term, TermKind,
};
use serde_json::{Value, json};

use super::Ctx;
use crate::args::ImportSource;
use crate::error::CliError;
use crate::plan_text::{self, Section};
use crate::time;

/// The daemon takes at most this many records a call.
const PER_CALL: usize = 2000;

/// What the file holds, ready to send.
struct Parsed {
    reflections: Vec<Reflection>,
    sessions: Vec<Session>,
    terms: Vec<Term>,
    plan: SafetyPlan,
    check_ins: super::import_checkins::CheckIns,
}

pub async fn import(
    ctx: &Ctx,
    file: &Path,
    from: ImportSource,
    dry_run: bool,
) -> Result<(), CliError> {
    if from == ImportSource::Dayone {
        let bytes =
            std::fs::read(file).with_context(|| format!("could not read {}", file.display()))?;
        let read = crate::importers::dayone::read(&bytes);
        return import_other(ctx, file, "Day One", read, dry_run).await;
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("could not read {}", file.display()))?;
    let zone = jiff::tz::TimeZone::system();
    match from {
        ImportSource::Interlude => {}
        ImportSource::Jrnl => {
            let read = crate::importers::jrnl::read(&text, &zone);
            return import_other(ctx, file, "jrnl", read, dry_run).await;
        }
        ImportSource::Daylio => {
            let read = crate::importers::daylio::read(&text, &zone);
            return import_other(ctx, file, "Daylio", read, dry_run).await;
        }
        ImportSource::Dayone => unreachable!("read as bytes above"),
    }
    let parsed = parse(&text).map_err(|why| {
        CliError::invalid_input(format!(
            "{} is not an Interlude export this version can read: {why}; nothing was imported",
            file.display()
        ))
    })?;
    let counts = (
        parsed.reflections.len(),
        parsed.sessions.len(),
        parsed.terms.len(),
    );
    if dry_run {
        let schedules = parsed.check_ins.len();
        return ctx.out.emit(
            || format!("{} holds {} reflections, {} sessions and {} words, and check-in settings with {schedules} schedules; nothing was imported (--dry-run).", file.display(), counts.0, counts.1, counts.2),
            || json!({ "reflections": counts.0, "sessions": counts.1, "terms": counts.2, "schedules": schedules, "dry_run": true }),
        );
    }
    let total = (counts.0 + counts.1 + counts.2) as u64;
    let (added, already) = send(
        ctx,
        batches(parsed.reflections, parsed.sessions, parsed.terms),
        total,
    )
    .await?;
    let plan = import_plan(ctx, parsed.plan).await?;
    let check_ins = super::import_checkins::apply(ctx, parsed.check_ins).await?;
    ctx.out.emit(
        || {
            format!(
                "Imported {added} records from {} ({already} were already here and were left as they are). {plan} {check_ins}",
                file.display()
            )
        },
        || json!({ "added": added, "already_present": already, "safety_plan": plan, "check_ins": check_ins }),
    )
}

/// Another journal's export: notes only; entries that cannot be read are skipped and listed.
async fn import_other(
    ctx: &Ctx,
    file: &Path,
    program: &str,
    read: Result<crate::importers::Read, String>,
    dry_run: bool,
) -> Result<(), CliError> {
    let read = read.map_err(|why| {
        CliError::invalid_input(format!(
            "{} is not a {program} export this version can read: {why}; nothing was imported",
            file.display()
        ))
    })?;
    let skipped: Vec<String> = read
        .skipped
        .iter()
        .map(|(n, why)| format!("entry {n}: {why}"))
        .collect();
    let found = read.reflections.len();
    let (added, already) = if dry_run {
        (0, 0)
    } else {
        let requests = batches(read.reflections, Vec::new(), Vec::new());
        send(ctx, requests, found as u64).await?
    };
    ctx.out.emit(
        || {
            let mut said = if dry_run {
                format!("{} holds {found} {program} entries that can come in; nothing was imported (--dry-run).", file.display())
            } else {
                format!("Imported {added} {program} entries from {} ({already} were already here).", file.display())
            };
            if !skipped.is_empty() {
                said.push_str(&format!(" Skipped {}: {}.", skipped.len(), skipped.join("; ")));
            }
            said
        },
        || json!({ "found": found, "added": added, "already_present": already, "skipped": skipped, "dry_run": dry_run }),
    )
}

/// Sends the batches one after another, with a bar for people at a terminal; returns how many
/// records were added and how many were already here.
async fn send(ctx: &Ctx, requests: Vec<ImportRequest>, total: u64) -> Result<(u32, u32), CliError> {
    let mut timeline = ctx.daemon.timeline();
    let progress = crate::progress::bar(total, "Importing", ctx.out.is_json());
    let (mut added, mut already) = (0, 0);
    for request in requests {
        let sent =
            (request.reflections.len() + request.sessions.len() + request.terms.len()) as u64;
        let done = timeline.import(request).await?.into_inner();
        added += done.added;
        already += done.already_present;
        if let Some(bar) = &progress {
            bar.inc(sent);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok((added, already))
}

/// The plan comes in only when the vault has none, so nothing the client wrote is replaced.
async fn import_plan(ctx: &Ctx, plan: SafetyPlan) -> Result<&'static str, CliError> {
    if plan_text::is_empty(&plan) {
        return Ok("The export has no safety plan.");
    }
    let mut safety = ctx.daemon.safety();
    let current = safety.get_plan(GetPlanRequest {}).await?.into_inner();
    if plan_text::same_items(&current, &plan) {
        return Ok("The safety plan was already the same.");
    }
    if !plan_text::is_empty(&current) {
        return Ok(
            "The safety plan was left as it is (this vault has its own); the export's is in the file.",
        );
    }
    safety.set_plan(plan).await?;
    Ok("The safety plan was imported.")
}

/// Records in calls of at most [`PER_CALL`], reflections first.
fn batches(
    reflections: Vec<Reflection>,
    sessions: Vec<Session>,
    terms: Vec<Term>,
) -> Vec<ImportRequest> {
    let mut requests = Vec::new();
    let mut current = ImportRequest::default();
    let size = |r: &ImportRequest| r.reflections.len() + r.sessions.len() + r.terms.len();
    let push = |current: &mut ImportRequest, requests: &mut Vec<ImportRequest>| {
        if size(current) == PER_CALL {
            requests.push(std::mem::take(current));
        }
    };
    for r in reflections {
        current.reflections.push(r);
        push(&mut current, &mut requests);
    }
    for s in sessions {
        current.sessions.push(s);
        push(&mut current, &mut requests);
    }
    for t in terms {
        current.terms.push(t);
        push(&mut current, &mut requests);
    }
    if size(&current) > 0 {
        requests.push(current);
    }
    requests
}

/// Whether `text` reads as an export, as `import` reads it (for the fuzz targets).
pub fn check(text: &str) -> Result<(), String> {
    parse(text).map(|_| ())
}

fn parse(text: &str) -> Result<Parsed, String> {
    let TopLevel { rest, reflections } =
        serde_json::from_str(text).map_err(|e| format!("it is not JSON ({e})"))?;
    let doc = Value::Object(rest);
    if doc["format"] != "interlude-export" {
        return Err("it has no `\"format\": \"interlude-export\"`".into());
    }
    let version = doc["format_version"].as_u64();
    if version != Some(u64::from(super::export::FORMAT_VERSION)) {
        return Err(format!(
            "its format_version is {}, and this interlude reads {}",
            version.map_or("missing".to_owned(), |v| v.to_string()),
            super::export::FORMAT_VERSION
        ));
    }
    Ok(Parsed {
        reflections: reflections.unwrap_or_else(|| Err("`reflections` is not a list".into()))?,
        sessions: list(&doc, "sessions", session)?,
        terms: list(&doc, "vocabulary", term)?,
        plan: plan(&doc["safety_plan"])?,
        check_ins: super::import_checkins::parse(&doc)?,
    })
}

/// The top level of an export: the reflections become messages as they are read, one JSON
/// value at a time (100,000 of them as JSON values at once took ~450 MiB), and the rest stays
/// JSON. The first bad reflection is kept as the reason, said after the format checks.
struct TopLevel {
    rest: serde_json::Map<String, Value>,
    reflections: Option<Result<Vec<Reflection>, String>>,
}

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Top;
        impl<'de> serde::de::Visitor<'de> for Top {
            type Value = TopLevel;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TopLevel, A::Error> {
                let mut top = TopLevel {
                    rest: serde_json::Map::new(),
                    reflections: None,
                };
                while let Some(key) = map.next_key::<String>()? {
                    if key == "reflections" {
                        top.reflections = Some(map.next_value::<Reflections>()?.0);
                    } else {
                        let value = map.next_value::<Value>()?;
                        top.rest.insert(key, value);
                    }
                }
                Ok(top)
            }
        }
        deserializer.deserialize_map(Top)
    }
}

/// `reflections`, each turned into a message as soon as it is read.
struct Reflections(Result<Vec<Reflection>, String>);

impl<'de> serde::Deserialize<'de> for Reflections {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> serde::de::Visitor<'de> for List {
            type Value = Reflections;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`reflections` as a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Reflections, A::Error> {
                let (mut read, mut problem, mut i) = (Vec::new(), None, 0);
                while let Some(value) = seq.next_element::<Value>()? {
                    if problem.is_none() {
                        match reflection(&value) {
                            Ok(r) => read.push(r),
                            Err(why) => problem = Some(format!("reflections[{i}]: {why}")),
                        }
                    }
                    i += 1;
                }
                Ok(Reflections(problem.map_or(Ok(read), Err)))
            }
        }
        deserializer.deserialize_seq(List)
    }
}

fn list<T>(doc: &Value, key: &str, one: fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    doc[key]
        .as_array()
        .ok_or_else(|| format!("`{key}` is not a list"))?
        .iter()
        .enumerate()
        .map(|(i, v)| one(v).map_err(|why| format!("{key}[{i}]: {why}")))
        .collect()
}

fn string(v: &Value, key: &str) -> Result<String, String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("`{key}` is not text"))
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    v[key]
        .as_array()
        .ok_or_else(|| format!("`{key}` is not a list"))?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("`{key}` holds something that is not text"))
        })
        .collect()
}

fn boolean(v: &Value, key: &str) -> Result<bool, String> {
    v[key]
        .as_bool()
        .ok_or_else(|| format!("`{key}` is not true or false"))
}

/// `null` or an RFC 3339 time.
fn moment(v: &Value, key: &str) -> Result<Option<prost_types::Timestamp>, String> {
    match &v[key] {
        Value::Null => Ok(None),
        Value::String(s) => s
            .parse::<jiff::Timestamp>()
            .map(|t| Some(time::to_proto(t)))
            .map_err(|e| format!("`{key}` is not a time ({e})")),
        _ => Err(format!("`{key}` is not a time")),
    }
}

fn emotions(v: &Value, key: &str) -> Result<Vec<Emotion>, String> {
    v[key]
        .as_array()
        .ok_or_else(|| format!("`{key}` is not a list"))?
        .iter()
        .map(|e| {
            let intensity = e["intensity"]
                .as_u64()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or("an emotion's intensity is not a number from 0 to 100")?;
            Ok(Emotion {
                name: string(e, "name")?,
                intensity,
            })
        })
        .collect()
}

fn reflection(v: &Value) -> Result<Reflection, String> {
    let kind_name = format!(
        "REFLECTION_KIND_{}",
        string(v, "kind")?.to_ascii_uppercase()
    );
    let kind =
        ReflectionKind::from_str_name(&kind_name).ok_or("`kind` is not a kind of reflection")?;
    let answers = v["answers"]
        .as_array()
        .ok_or("`answers` is not a list")?
        .iter()
        .map(|a| {
            Ok(Answer {
                step_id: string(a, "step_id")?,
                value: string(a, "value")?,
            })
        })
        .collect::<Result<_, String>>()?;
    let history = v["history"]
        .as_array()
        .ok_or("`history` is not a list")?
        .iter()
        .map(|h| {
            Ok(Revision {
                replaced_at: moment(h, "replaced_at")?,
                text: string(h, "text")?,
                emotions: emotions(h, "emotions")?,
                tags: strings(h, "tags")?,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Reflection {
        id: string(v, "id")?,
        moment: moment(v, "moment")?,
        recorded_at: moment(v, "recorded_at")?,
        edited_at: moment(v, "edited_at")?,
        kind: kind.into(),
        text: string(v, "text")?,
        emotions: emotions(v, "emotions")?,
        tags: strings(v, "tags")?,
        term_ids: strings(v, "term_ids")?,
        bring_to_session: boolean(v, "bring_to_session")?,
        private: boolean(v, "private")?,
        plugin_id: string(v, "plugin_id")?,
        exercise_id: string(v, "exercise_id")?,
        answers,
        crisis: boolean(v, "crisis")?,
        history,
        prompt_id: string(v, "prompt_id")?,
        prompt: string(v, "prompt")?,
        helpful: boolean(v, "helpful")?,
    })
}

fn session(v: &Value) -> Result<Session, String> {
    Ok(Session {
        id: string(v, "id")?,
        held_at: moment(v, "held_at")?,
        insights: strings(v, "insights")?,
        note: string(v, "note")?,
    })
}

fn term(v: &Value) -> Result<Term, String> {
    let kind_name = format!("TERM_KIND_{}", string(v, "kind")?.to_ascii_uppercase());
    let kind = TermKind::from_str_name(&kind_name).ok_or("`kind` is not a kind of word")?;
    Ok(Term {
        id: string(v, "id")?,
        kind: kind.into(),
        word: string(v, "word")?,
        note: string(v, "note")?,
    })
}

fn plan(v: &Value) -> Result<SafetyPlan, String> {
    let mut plan = SafetyPlan::default();
    for section in Section::ALL {
        // The nearest urgent care came later: an export without it has none.
        if section == Section::UrgentCare && v.get(section.key()).is_none() {
            continue;
        }
        *section.items_mut(&mut plan) = strings(v, section.key())?;
    }
    Ok(plan)
}
