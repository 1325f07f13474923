//! The one renderer: every format the client previews and every export the therapist receives
//! comes from [`shown`] — the draft with the client's review applied — so what leaves is exactly
//! what the client saw. Markdown and HTML are `minijinja` templates (auto-escaped HTML); JSON
//! is the packet's own documented form.

mod charts;

use std::collections::HashSet;

use jiff::tz::TimeZone;
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Serialize;

use super::packet::{Packet, SectionBody};
use crate::domain::Millis;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Html,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Json => "application/json",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

/// The draft as the client left it: excluded entries, themes and sections gone from every
/// place, flagged entries only if the client put them in, one quote per theme.
pub fn shown(packet: &Packet) -> Packet {
    let mut p = packet.clone();
    let out: HashSet<&str> = packet.review.excluded.iter().map(String::as_str).collect();
    let keep = |id: &str| !out.contains(id);
    let pat = &mut p.patterns;
    pat.themes.retain(|t| keep(&t.id));
    for theme in &mut pat.themes {
        theme.quotes.retain(|q| keep(&q.id));
        theme.quotes.truncate(1);
        theme.entry_ids.retain(|id| keep(id));
    }
    pat.sections.retain(|s| keep(&s.id));
    for section in &mut pat.sections {
        match &mut section.body {
            SectionBody::Runs { rows, .. } => {
                rows.retain(|r| keep(&r.id) && r.linked.as_deref().is_none_or(keep));
            }
            SectionBody::Phrases { matches, .. } => matches.retain(|q| keep(&q.id)),
        }
    }
    pat.sections.retain(|s| match &s.body {
        SectionBody::Runs { rows, .. } => !rows.is_empty(),
        SectionBody::Phrases { matches, .. } => !matches.is_empty(),
    });
    pat.brought.retain(|q| keep(&q.id));
    pat.measures.retain(|m| keep(&m.id));
    for m in &mut pat.measures {
        m.points.retain(|point| keep(&point.id));
    }
    pat.measures.retain(|m| !m.points.is_empty());
    pat.helpful.retain(|q| keep(&q.id));
    let digest = &mut p.digest;
    for (field, from) in &packet.digest.written_from {
        if from.iter().any(|id| !keep(id)) {
            match field.as_str() {
                "kept_coming_up" => digest.kept_coming_up.clear(),
                "seemed_to_help" => digest.seemed_to_help.clear(),
                _ => digest.might_bring.clear(),
            }
        }
    }
    for insight in &mut pat.insights {
        insight.came_back.retain(|q| keep(&q.id));
    }
    // What was left out, and which entries the digest came from, stay with the client.
    p.review.excluded.clear();
    p.digest.written_from.clear();
    if p.review.include_flagged {
        pat.flagged.retain(|q| keep(&q.id));
    } else {
        pat.flagged.clear();
    }
    p
}

/// The reviewed draft in `format`.
pub fn render(packet: &Packet, format: Format, zone: &TimeZone) -> Result<Vec<u8>> {
    let view = shown(packet);
    if format == Format::Json {
        return serde_json::to_vec_pretty(&view).map_err(|e| Error::Internal(e.to_string()));
    }
    let flagged_left_out = if packet.review.include_flagged {
        0
    } else {
        packet.patterns.flagged.len()
    };
    let mut env = Environment::new();
    let zone_day = zone.clone();
    let zone_time = zone.clone();
    env.add_filter("day", move |at: i64| local(&zone_day, at, "%a %-d %b %Y"));
    env.add_filter("time", move |at: i64| {
        local(&zone_time, at, "%a %-d %b, %H:%M")
    });
    env.add_filter("quote_md", |text: String| {
        text.lines()
            .map(|l| format!("> {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let (name, source) = match format {
        Format::Markdown => ("packet.md", include_str!("packet.md.j2")),
        _ => ("packet.html", include_str!("packet.html.j2")),
    };
    env.add_template(name, source).map_err(internal)?;
    let charts = (format == Format::Html).then(|| Charts {
        measures: view.patterns.measures.iter().map(charts::measure).collect(),
        days: charts::days(&view.patterns.days),
        hours: charts::hour_of_week(&view.patterns.hour_of_week),
        themes: charts::theme_timeline(
            &view.patterns.themes,
            view.patterns.window.since,
            view.patterns.window.until,
        ),
    });
    let text = env
        .get_template(name)
        .and_then(|t| {
            t.render(context! {
                p => Value::from(Serde(&view)),
                flagged_left_out,
                charts => charts.as_ref().map(|c| Value::from(Serde(c))),
            })
        })
        .map_err(internal)?;
    Ok(text.into_bytes())
}

#[derive(Serialize)]
struct Charts {
    /// One per measure, in the order of `patterns.measures`.
    measures: Vec<String>,
    days: String,
    hours: String,
    themes: String,
}

fn local(zone: &TimeZone, at: Millis, pattern: &str) -> String {
    jiff::Timestamp::from_millisecond(at)
        .map(|t| t.to_zoned(zone.clone()).strftime(pattern).to_string())
        .unwrap_or_default()
}

fn internal(err: minijinja::Error) -> Error {
    Error::Internal(format!("the packet could not be rendered: {err}"))
}
