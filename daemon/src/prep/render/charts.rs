//! The packet's charts as inline SVG (the `svg` crate builds and escapes the markup): entries
//! and intensity over the days, the hour-of-week grid and the theme timeline. Readable without
//! colour: counts are written in the cells, intensity is a line with markers, every chart has a
//! title and a text summary for screen readers.

use svg::Document;
use svg::node::element::{Circle, Group, Line, Polyline, Rectangle, Text, Title};

use crate::domain::Millis;
use crate::prep::packet::{Day, Measure, Theme};

const INK: &str = "#222";
const SOFT: &str = "#bbb";
const FONT: &str = "font-family:sans-serif;font-size:11px";

fn document(width: u32, height: u32, title: &str) -> Document {
    Document::new()
        .set("viewBox", (0, 0, width, height))
        .set("width", width)
        .set("height", height)
        .set("role", "img")
        .set("aria-label", title)
        .set("class", "chart")
        .add(Title::new(title))
}

fn label(x: f32, y: f32, text: impl Into<String>, anchor: &str) -> Text {
    Text::new(text)
        .set("x", x)
        .set("y", y)
        .set("text-anchor", anchor)
        .set("style", FONT)
        .set("fill", INK)
}

/// Bars for entries a day, a line for the day's mean intensity (0–100).
pub fn days(days: &[Day]) -> String {
    let (left, top, plot_h) = (36.0, 16.0, 120.0);
    let step = 22.0;
    let width = (left + step * days.len().max(1) as f32 + 16.0) as u32;
    let height = (top + plot_h + 40.0) as u32;
    let most = days.iter().map(|d| d.entries).max().unwrap_or(1).max(1) as f32;
    let width = width.max(440);
    let mut doc = document(width, height, "Entries and intensity by day");
    let base = top + plot_h;
    doc = doc
        .add(
            Line::new()
                .set("x1", left)
                .set("y1", base)
                .set("x2", width as f32 - 8.0)
                .set("y2", base)
                .set("stroke", INK),
        )
        .add(label(left - 4.0, top + 4.0, "100", "end"))
        .add(label(left - 4.0, base, "0", "end"));
    let mut points = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let x = left + step * i as f32 + 4.0;
        let h = plot_h * day.entries as f32 / most;
        let mut bar = Group::new().add(Title::new(format!(
            "{}: {} entries{}",
            day.date,
            day.entries,
            day.intensity
                .map(|v| format!(", intensity {v}"))
                .unwrap_or_default()
        )));
        bar = bar.add(
            Rectangle::new()
                .set("x", x)
                .set("y", base - h)
                .set("width", step - 8.0)
                .set("height", h)
                .set("fill", SOFT)
                .set("stroke", INK)
                .set("stroke-width", 0.5),
        );
        if day.entries > 0 {
            bar = bar.add(label(
                x + (step - 8.0) / 2.0,
                base - h - 2.0,
                day.entries.to_string(),
                "middle",
            ));
        }
        doc = doc.add(bar);
        if let Some(v) = day.intensity {
            let y = base - plot_h * v as f32 / 100.0;
            points.push(format!("{},{}", x + (step - 8.0) / 2.0, y));
            doc = doc.add(
                Circle::new()
                    .set("cx", x + (step - 8.0) / 2.0)
                    .set("cy", y)
                    .set("r", 3)
                    .set("fill", "white")
                    .set("stroke", INK),
            );
        }
        if i % 7 == 0 || i + 1 == days.len() {
            doc = doc.add(label(
                x,
                base + 14.0,
                day.date.get(5..).unwrap_or(&day.date),
                "start",
            ));
        }
    }
    if points.len() > 1 {
        doc = doc.add(
            Polyline::new()
                .set("points", points.join(" "))
                .set("fill", "none")
                .set("stroke", INK)
                .set("stroke-dasharray", "4 2"),
        );
    }
    doc = doc.add(label(
        left,
        base + 30.0,
        "bars: entries · dashed line and circles: mean intensity (0–100)",
        "start",
    ));
    doc.to_string()
}

/// Seven rows (Monday first) of 24 hours; each cell shows its count.
pub fn hour_of_week(grid: &[Vec<u32>]) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let (left, top, cell) = (34.0, 18.0, 18.0);
    let most = grid.iter().flatten().copied().max().unwrap_or(0).max(1) as f32;
    let mut doc = document(
        (left + cell * 24.0 + 8.0) as u32,
        (top + cell * 7.0 + 8.0) as u32,
        "Entries by hour of the week",
    );
    for hour in (0..24).step_by(3) {
        doc = doc.add(label(
            left + cell * hour as f32 + cell / 2.0,
            top - 5.0,
            format!("{hour:02}"),
            "middle",
        ));
    }
    for (d, row) in grid.iter().enumerate().take(7) {
        let y = top + cell * d as f32;
        doc = doc.add(label(left - 4.0, y + cell * 0.7, DAYS[d], "end"));
        for (h, &count) in row.iter().enumerate().take(24) {
            let x = left + cell * h as f32;
            let mut g = Group::new()
                .add(Title::new(format!(
                    "{} {h:02}:00: {count} entries",
                    DAYS[d]
                )))
                .add(
                    Rectangle::new()
                        .set("x", x)
                        .set("y", y)
                        .set("width", cell - 1.0)
                        .set("height", cell - 1.0)
                        .set("fill", INK)
                        .set("fill-opacity", 0.05 + 0.6 * count as f32 / most)
                        .set("stroke", SOFT)
                        .set("stroke-width", 0.5),
                );
            if count > 0 {
                g = g.add(label(
                    x + cell / 2.0 - 0.5,
                    y + cell * 0.7,
                    count.to_string(),
                    "middle",
                ));
            }
            doc = doc.add(g);
        }
    }
    doc.to_string()
}

/// One row per theme, a mark at each of its entries' moments across the window.
pub fn theme_timeline(themes: &[Theme], since: Millis, until: Millis) -> String {
    let (left, top, row, plot_w) = (170.0, 10.0, 22.0, 420.0);
    let height = (top + row * themes.len().max(1) as f32 + 10.0) as u32;
    let mut doc = document(
        (left + plot_w + 16.0) as u32,
        height,
        "Themes across the window",
    );
    let span = (until - since).max(1) as f32;
    for (i, theme) in themes.iter().enumerate() {
        let y = top + row * i as f32 + row / 2.0;
        let name: String = theme.label.join(", ").chars().take(28).collect();
        doc = doc.add(label(left - 6.0, y + 4.0, name, "end")).add(
            Line::new()
                .set("x1", left)
                .set("y1", y)
                .set("x2", left + plot_w)
                .set("y2", y)
                .set("stroke", SOFT),
        );
        for id in &theme.entry_ids {
            let Ok(ulid) = ulid::Ulid::from_string(id) else {
                continue;
            };
            let at = ulid.timestamp_ms() as i64;
            let x = left + plot_w * ((at - since) as f32 / span).clamp(0.0, 1.0);
            doc = doc.add(
                Rectangle::new()
                    .set("x", x - 2.0)
                    .set("y", y - 6.0)
                    .set("width", 4)
                    .set("height", 12)
                    .set("fill", INK),
            );
        }
    }
    doc.to_string()
}

/// A questionnaire's totals over time, each written beside its point, against the form's range.
pub fn measure(m: &Measure) -> String {
    let (left, top, plot_w, plot_h) = (36.0, 14.0, 400.0, 100.0);
    let mut doc = document(
        (left + plot_w + 30.0) as u32,
        (top + plot_h + 30.0) as u32,
        &format!("{}: totals over time", m.title),
    )
    .add(
        Line::new()
            .set("x1", left)
            .set("y1", top + plot_h)
            .set("x2", left + plot_w)
            .set("y2", top + plot_h)
            .set("stroke", INK),
    )
    .add(label(left - 4.0, top + 4.0, m.highest.to_string(), "end"))
    .add(label(left - 4.0, top + plot_h, "0", "end"));
    let (first, last) = match (m.points.first(), m.points.last()) {
        (Some(a), Some(b)) => (a.moment, b.moment),
        _ => return doc.to_string(),
    };
    let span = (last - first).max(1) as f32;
    let mut points = Vec::new();
    for p in &m.points {
        let x = if m.points.len() == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * (p.moment - first) as f32 / span
        };
        let y = top + plot_h - plot_h * p.total as f32 / m.highest.max(1) as f32;
        points.push(format!("{x},{y}"));
        doc = doc
            .add(
                Circle::new()
                    .set("cx", x)
                    .set("cy", y)
                    .set("r", 3)
                    .set("fill", "white")
                    .set("stroke", INK),
            )
            .add(label(x, y - 6.0, p.total.to_string(), "middle"));
    }
    if points.len() > 1 {
        doc = doc.add(
            Polyline::new()
                .set("points", points.join(" "))
                .set("fill", "none")
                .set("stroke", INK),
        );
    }
    doc.to_string()
}
