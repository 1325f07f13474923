//! Reflections as text and as JSON.

use interlude_proto::v1::{Emotion, Reflection, ReflectionKind, Revision};
use serde_json::{Value, json};

use super::{indent, snake_name};
use crate::time;

/// The word the command line uses for a kind.
pub fn kind_label(kind: ReflectionKind) -> &'static str {
    match kind {
        ReflectionKind::Note => "note",
        ReflectionKind::CheckIn => "check-in",
        ReflectionKind::Exercise => "exercise",
        ReflectionKind::SessionInsight => "insight",
        ReflectionKind::Dream => "dream",
        ReflectionKind::RelationshipEpisode => "episode",
        ReflectionKind::Unspecified => "other",
    }
}

/// `01JD3Y…  Tue 19 Nov 21:04  note  anxious 70  #work  [bring]  [helpful]`
pub fn header(reflection: &Reflection) -> String {
    let mut parts = vec![
        reflection.id.clone(),
        time::local(reflection.moment.as_ref()),
        kind_label(reflection.kind()).to_owned(),
    ];
    parts.extend(non_empty(emotions(&reflection.emotions)));
    parts.extend(non_empty(tags(&reflection.tags)));
    if reflection.bring_to_session {
        parts.push("[bring]".to_owned());
    }
    if reflection.private {
        parts.push("[private]".to_owned());
    }
    if reflection.helpful {
        parts.push("[helpful]".to_owned());
    }
    if reflection.edited_at.is_some() {
        parts.push("[edited]".to_owned());
    }
    parts.join("  ")
}

/// The header, then the whole text indented.
pub fn summary(reflection: &Reflection) -> String {
    format!("{}\n{}", header(reflection), body(&reflection.text))
}

/// A list for `interlude timeline`, a blank line between reflections.
pub fn list(reflections: &[Reflection]) -> String {
    if reflections.is_empty() {
        return "Nothing in this window.".to_owned();
    }
    reflections
        .iter()
        .map(summary)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Everything about one reflection, for `interlude show`.
pub fn full(reflection: &Reflection) -> String {
    let mut lines = vec![field("id", &reflection.id)];
    lines.push(field("moment", &time::local(reflection.moment.as_ref())));
    lines.push(field(
        "recorded",
        &time::local(reflection.recorded_at.as_ref()),
    ));
    if let Some(edited) = &reflection.edited_at {
        lines.push(field("edited", &time::local(Some(edited))));
    }
    lines.push(field("kind", kind_label(reflection.kind())));
    lines.extend(optional_field("emotions", &emotions(&reflection.emotions)));
    lines.extend(optional_field("tags", &tags(&reflection.tags)));
    lines.extend(optional_field("flags", &flags(reflection)));
    lines.extend(optional_field("terms", &reflection.term_ids.join(", ")));
    lines.extend(optional_field("exercise", &exercise(reflection)));
    for answer in &reflection.answers {
        lines.push(field(
            "answer",
            &format!("{}: {}", answer.step_id, answer.value),
        ));
    }
    let mut text = format!("{}\n\n{}", lines.join("\n"), body(&reflection.text));
    if !reflection.history.is_empty() {
        text.push_str(&format!("\n\n{}", history(&reflection.history)));
    }
    text
}

fn history(revisions: &[Revision]) -> String {
    let title = format!("Earlier versions ({}):", revisions.len());
    let entries = revisions.iter().map(|revision| {
        let mut parts = vec![format!(
            "replaced {}",
            time::local(revision.replaced_at.as_ref())
        )];
        parts.extend(non_empty(emotions(&revision.emotions)));
        parts.extend(non_empty(tags(&revision.tags)));
        format!(
            "{}\n{}",
            indent(&parts.join("  "), "  "),
            indent(&revision.text, "    ")
        )
    });
    std::iter::once(title)
        .chain(entries)
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn body(text: &str) -> String {
    if text.trim().is_empty() {
        "  (no text)".to_owned()
    } else {
        indent(text, "  ")
    }
}

fn field(label: &str, value: &str) -> String {
    format!("{label:<10}{value}")
}

fn optional_field(label: &str, value: &str) -> Option<String> {
    (!value.is_empty()).then(|| field(label, value))
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// `anxious 70, flat 20`
fn emotions(emotions: &[Emotion]) -> String {
    emotions
        .iter()
        .map(|e| format!("{} {}", e.name, e.intensity))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `#work #family`
fn tags(tags: &[String]) -> String {
    tags.iter()
        .map(|t| format!("#{t}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn flags(reflection: &Reflection) -> String {
    let flags = [
        (reflection.bring_to_session, "bring to session"),
        (reflection.private, "private"),
        (reflection.helpful, "helpful"),
        (reflection.crisis, "noticed by the safety check"),
    ];
    flags
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn exercise(reflection: &Reflection) -> String {
    match (
        reflection.plugin_id.as_str(),
        reflection.exercise_id.as_str(),
    ) {
        ("", "") => String::new(),
        (plugin, "") => plugin.to_owned(),
        ("", exercise) => exercise.to_owned(),
        (plugin, exercise) => format!("{plugin}/{exercise}"),
    }
}

/// The JSON object for one reflection.
pub fn to_json(reflection: &Reflection) -> Value {
    json!({
        "id": reflection.id,
        "moment": time::rfc3339(reflection.moment.as_ref()),
        "recorded_at": time::rfc3339(reflection.recorded_at.as_ref()),
        "edited_at": time::rfc3339(reflection.edited_at.as_ref()),
        "kind": kind_json(reflection.kind()),
        "text": reflection.text,
        "emotions": emotions_json(&reflection.emotions),
        "tags": reflection.tags,
        "bring_to_session": reflection.bring_to_session,
        "private": reflection.private,
        "term_ids": reflection.term_ids,
        "plugin_id": reflection.plugin_id,
        "exercise_id": reflection.exercise_id,
        "answers": reflection.answers.iter()
            .map(|a| json!({"step_id": a.step_id, "value": a.value}))
            .collect::<Vec<_>>(),
        "crisis": reflection.crisis,
        "helpful": reflection.helpful,
        "prompt_id": reflection.prompt_id,
        "prompt": reflection.prompt,
        "history": reflection.history.iter().map(revision_json).collect::<Vec<_>>(),
    })
}

/// `note`, `check_in`, `session_insight`, …
pub fn kind_json(kind: ReflectionKind) -> String {
    snake_name(kind.as_str_name(), "REFLECTION_KIND_")
}

fn revision_json(revision: &Revision) -> Value {
    json!({
        "replaced_at": time::rfc3339(revision.replaced_at.as_ref()),
        "text": revision.text,
        "emotions": emotions_json(&revision.emotions),
        "tags": revision.tags,
    })
}

fn emotions_json(emotions: &[Emotion]) -> Vec<Value> {
    emotions
        .iter()
        .map(|e| json!({"name": e.name, "intensity": e.intensity}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reflection() -> Reflection {
        let mut reflection = Reflection {
            id: "01JD3Y8ZK3Q9W7E2X5V4N6M1AB".into(),
            moment: Some(prost_types::Timestamp {
                seconds: 1_790_000_000,
                nanos: 0,
            }),
            text: "felt small in the meeting\nagain".into(),
            emotions: vec![Emotion {
                name: "anxious".into(),
                intensity: 70,
            }],
            tags: vec!["work".into()],
            bring_to_session: true,
            ..Default::default()
        };
        reflection.set_kind(ReflectionKind::CheckIn);
        reflection
    }

    #[test]
    fn the_header_shows_id_kind_emotions_tags_and_flags() {
        let header = header(&reflection());
        assert!(
            header.starts_with("01JD3Y8ZK3Q9W7E2X5V4N6M1AB  "),
            "{header}"
        );
        assert!(
            header.ends_with("  check-in  anxious 70  #work  [bring]"),
            "{header}"
        );
    }

    #[test]
    fn the_text_follows_the_header_indented() {
        let summary = summary(&reflection());
        assert!(
            summary.ends_with("\n  felt small in the meeting\n  again"),
            "{summary}"
        );
    }

    #[test]
    fn an_empty_timeline_says_so() {
        assert_eq!(list(&[]), "Nothing in this window.");
    }

    #[test]
    fn json_has_snake_case_kinds_and_rfc3339_times() {
        let value = to_json(&reflection());
        assert_eq!(value["kind"], "check_in");
        assert_eq!(value["moment"], "2026-09-21T14:13:20Z");
        assert_eq!(value["edited_at"], Value::Null);
        assert_eq!(value["emotions"][0]["name"], "anxious");
        assert_eq!(value["emotions"][0]["intensity"], 70);
        assert_eq!(value["bring_to_session"], true);
    }

    #[test]
    fn show_lists_earlier_versions() {
        let mut reflection = reflection();
        reflection.history.push(Revision {
            replaced_at: reflection.moment,
            text: "felt small".into(),
            ..Default::default()
        });
        let text = full(&reflection);
        assert!(text.contains("Earlier versions (1):"), "{text}");
        assert!(text.contains("\n    felt small"), "{text}");
    }
}
