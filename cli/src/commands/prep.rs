//! `interlude patterns` and `interlude prep`: the daemon finds and renders; this prints, writes
//! files (never over an existing one without `--force`) and runs the review in `$EDITOR`.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use interlude_proto::v1::{self, build_event::Event};
use serde_json::{Value, json};

use super::Ctx;
use crate::args::{PacketFormat, PrepArgs, PrepCommand, PrepExportArgs, RenderArgs, WindowArgs};
use crate::error::CliError;

fn ts(t: Option<jiff::Timestamp>) -> Option<prost_types::Timestamp> {
    t.map(|t| prost_types::Timestamp {
        seconds: t.as_second(),
        nanos: t.subsec_nanosecond(),
    })
}

fn format_of(format: PacketFormat) -> v1::PacketFormat {
    match format {
        PacketFormat::Markdown => v1::PacketFormat::Markdown,
        PacketFormat::Json => v1::PacketFormat::Json,
        PacketFormat::Html => v1::PacketFormat::Html,
    }
}

fn parse(json: &str) -> Result<Value, CliError> {
    serde_json::from_str(json)
        .context("the daemon sent a packet this CLI cannot read")
        .map_err(CliError::from)
}

pub async fn patterns(ctx: &Ctx, args: &WindowArgs) -> Result<(), CliError> {
    let request = v1::PatternsRequest {
        since: ts(args.since),
        until: ts(args.until),
    };
    let response = ctx.daemon.prep().patterns(request).await?.into_inner();
    let patterns = parse(&response.json)?;
    ctx.out
        .emit(|| patterns_text(&patterns), || patterns.clone())
}

/// The patterns for people: themes first, in the client's words.
fn patterns_text(p: &Value) -> String {
    let mut out = String::new();
    let entries = p["entries"].as_u64().unwrap_or(0);
    out.push_str(&format!("{entries} entries in this window.\n"));
    for notice in p["notices"].as_array().into_iter().flatten() {
        out.push_str(&format!("Note: {}\n", notice.as_str().unwrap_or_default()));
    }
    let themes = p["themes"].as_array().cloned().unwrap_or_default();
    if !themes.is_empty() {
        out.push_str("\nWhat kept coming up:\n");
    }
    for t in &themes {
        let label: Vec<&str> = t["label"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let count = t["entry_ids"].as_array().map_or(0, Vec::len);
        let when = if t["recurrence"] == "returning" {
            "there before too"
        } else {
            "new this time"
        };
        out.push_str(&format!(
            "\n  {}  ({count} entries, {when})\n",
            label.join(" · ")
        ));
        if let Some(q) = t["quotes"][0]["text"].as_str() {
            let short: String = q.chars().take(160).collect();
            let more = if q.chars().count() > 160 { "…" } else { "" };
            out.push_str(&format!("    \"{}{more}\"\n", short.replace('\n', " ")));
        }
        if let Some(line) = t["looping"].as_str() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    if !themes.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            p["ranking"].as_str().unwrap_or_default()
        ));
    }
    let fading: Vec<String> = p["fading"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            f["label"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .collect();
    if !fading.is_empty() {
        out.push_str(&format!(
            "Less this time than before: {}\n",
            fading.join("; ")
        ));
    }
    let vocabulary = p["vocabulary"].as_array().cloned().unwrap_or_default();
    if !vocabulary.is_empty() {
        out.push_str("\nYour words:\n");
        for v in vocabulary {
            out.push_str(&format!(
                "  {} ({}): {} entries\n",
                v["word"].as_str().unwrap_or_default(),
                v["kind"].as_str().unwrap_or_default(),
                v["entries"]
            ));
        }
    }
    let done = p["follow_through"].as_array().cloned().unwrap_or_default();
    if !done.is_empty() {
        out.push_str("\nWhat you did:\n");
        for f in done {
            out.push_str(&format!(
                "  {}: {} time(s)\n",
                f["title"].as_str().unwrap_or_default(),
                f["moments"].as_array().map_or(0, Vec::len)
            ));
        }
    }
    let flagged = p["flagged"].as_array().map_or(0, Vec::len);
    if flagged > 0 {
        out.push_str(&format!(
            "\n{flagged} entries from hard moments are kept out of themes and quotes.\n"
        ));
    }
    out
}

pub async fn run(ctx: &Ctx, args: PrepArgs) -> Result<(), CliError> {
    match args.command {
        None => build(ctx, &args).await,
        Some(PrepCommand::Show(render)) => show(ctx, &render).await,
        Some(PrepCommand::Edit) => edit(ctx).await,
        Some(PrepCommand::Export(export_args)) => export(ctx, &export_args).await,
        Some(PrepCommand::History) => history(ctx).await,
    }
}

/// Builds a new draft; the digest's sentences appear on the terminal as they are written.
async fn build(ctx: &Ctx, args: &PrepArgs) -> Result<(), CliError> {
    check_output(&args.render)?;
    let request = v1::BuildRequest {
        since: ts(args.window.since),
        until: ts(args.window.until),
        no_digest: args.no_digest,
    };
    let spinner = crate::progress::spinner("Reading the window's entries…", ctx.out.is_json());
    let mut stream = ctx.daemon.prep().build(request).await?.into_inner();
    let live = std::io::stderr().is_terminal() && !ctx.out.is_json();
    let mut draft = None;
    while let Some(event) = stream.message().await? {
        match event.event {
            Some(Event::Sentence(s)) if live => match &spinner {
                Some(spinner) => {
                    spinner.set_message("Writing the digest…");
                    spinner.println(format!("  {}", s.text));
                }
                None => eprintln!("  {}", s.text),
            },
            Some(Event::Draft(d)) => draft = Some(d),
            _ => {}
        }
    }
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let draft =
        draft.ok_or_else(|| CliError::from(anyhow::anyhow!("the daemon ended without a draft")))?;
    if live {
        eprintln!(
            "Draft {} saved. Review it with `interlude prep edit`.",
            draft.id
        );
    }
    render_to(ctx, &draft.id, &args.render).await
}

async fn show(ctx: &Ctx, render: &RenderArgs) -> Result<(), CliError> {
    check_output(render)?;
    render_to(ctx, "", render).await
}

async fn render_to(ctx: &Ctx, draft_id: &str, args: &RenderArgs) -> Result<(), CliError> {
    let request = v1::RenderRequest {
        draft_id: draft_id.into(),
        format: format_of(args.format).into(),
    };
    let rendered = ctx.daemon.prep().render(request).await?.into_inner();
    deliver(ctx, &rendered, args)
}

/// Prints the rendered bytes, or writes them to the file asked for.
fn deliver(ctx: &Ctx, rendered: &v1::Rendered, args: &RenderArgs) -> Result<(), CliError> {
    match &args.output {
        Some(path) => {
            // The export's writer: 0600, unnamed until complete, never over a file without --force.
            super::export::write_file(path, &rendered.content, args.force)?;
            ctx.out.emit(
                || format!("Wrote draft {} to {}.", rendered.draft_id, path.display()),
                || json!({ "draft_id": rendered.draft_id, "output": path.display().to_string(), "export_id": rendered.export_id }),
            )
        }
        None if rendered.media_type == "application/age" => Err(CliError::invalid_input(
            "an encrypted packet is binary: give a file with -o FILE",
        )),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&rendered.content)
                .and_then(|()| stdout.flush())
                .context("could not write to standard output")?;
            Ok(())
        }
    }
}

/// Refuses early (before any work) when the output file exists and `--force` was not given.
fn check_output(args: &RenderArgs) -> Result<(), CliError> {
    match &args.output {
        Some(path) if !args.force && path.exists() => Err(CliError::invalid_input(format!(
            "{} already exists; nothing was written. Choose another -o FILE, or add --force to replace it",
            path.display()
        ))),
        _ => Ok(()),
    }
}

async fn export(ctx: &Ctx, args: &PrepExportArgs) -> Result<(), CliError> {
    check_output(&args.render)?;
    if args.render.output.is_none() {
        return Err(CliError::invalid_input(
            "an encrypted packet is binary: give a file with -o FILE",
        ));
    }
    let mut recipients = args.to_therapist.clone();
    if let Some(file) = &args.recipients_file {
        recipients.push(
            std::fs::read_to_string(file).with_context(|| {
                format!("could not read the recipients file {}", file.display())
            })?,
        );
    }
    let request = v1::ExportRequest {
        draft_id: String::new(),
        format: format_of(args.render.format).into(),
        recipients,
    };
    let rendered = ctx.daemon.prep().export(request).await?.into_inner();
    deliver(ctx, &rendered, &args.render)
}

async fn history(ctx: &Ctx) -> Result<(), CliError> {
    let response = ctx
        .daemon
        .prep()
        .history(v1::HistoryRequest {})
        .await?
        .into_inner();
    let when = |e: &v1::ExportEntry| {
        e.at.as_ref()
            .and_then(|t| jiff::Timestamp::new(t.seconds, t.nanos).ok())
            .map(|t| {
                t.to_zoned(jiff::tz::TimeZone::system())
                    .strftime("%a %-d %b %Y %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    };
    ctx.out.emit(
        || {
            if response.exports.is_empty() {
                return "Nothing exported yet.".to_owned();
            }
            response
                .exports
                .iter()
                .map(|e| {
                    format!(
                        "{}  draft {}  {}  to {}",
                        when(e),
                        e.draft_id,
                        e.format,
                        e.recipients.join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        || {
            json!({ "exports": response.exports.iter().map(|e| json!({
                "id": e.id, "at": when(e), "draft_id": e.draft_id, "format": e.format,
                "recipients": e.recipients, "sha256": e.sha256,
            })).collect::<Vec<_>>(), "damaged": response.damaged })
        },
    )
}

async fn edit(ctx: &Ctx) -> Result<(), CliError> {
    let draft = ctx
        .daemon
        .prep()
        .get_draft(v1::GetDraftRequest { id: String::new() })
        .await?
        .into_inner();
    let packet = parse(&draft.json)?;
    let document = super::prep_review::document(&packet);
    let text = if std::io::stdin().is_terminal() {
        crate::editor::edit(ctx.daemon.socket(), &document).await?
    } else {
        crate::input::read_stdin("review")?
    };
    let review = super::prep_review::parse(&text, &packet).map_err(CliError::invalid_input)?;
    let request = v1::ReviewRequest {
        draft_id: draft.id.clone(),
        excluded: review.excluded,
        questions: review.questions,
        notes: review.notes,
        include_flagged: review.include_flagged,
    };
    let saved = ctx.daemon.prep().review(request).await?.into_inner();
    let left_out = parse(&saved.json)?["review"]["excluded"]
        .as_array()
        .map_or(0, Vec::len);
    ctx.out.emit(
        || format!("Saved your review of draft {}: {left_out} left out. `interlude prep show` shows it as your therapist will see it.", saved.id),
        || json!({ "draft_id": saved.id, "excluded": left_out }),
    )
}
