//! Therapy sessions as text and as JSON.

use interlude_proto::v1::Session;
use serde_json::{Value, json};

use super::{bullet, count, indent};
use crate::time;

/// `01JD…  Tue 19 Nov 17:00  2 insights`
pub fn header(session: &Session) -> String {
    let mut header = format!("{}  {}", session.id, time::local(session.held_at.as_ref()));
    if !session.insights.is_empty() {
        let insights = u64::try_from(session.insights.len()).unwrap_or(u64::MAX);
        header.push_str(&format!("  {}", count(insights, "insight", "insights")));
    }
    header
}

/// The header, the insights as a list, then the note.
pub fn full(session: &Session) -> String {
    let mut lines = vec![header(session)];
    lines.extend(session.insights.iter().map(|insight| bullet(insight)));
    if !session.note.trim().is_empty() {
        lines.push(indent(&session.note, "  "));
    }
    lines.join("\n")
}

/// Sessions for `interlude session list`, a blank line between them.
pub fn list(sessions: &[Session]) -> String {
    if sessions.is_empty() {
        return "No sessions logged yet. Log one with `interlude session add`.".to_owned();
    }
    sessions.iter().map(full).collect::<Vec<_>>().join("\n\n")
}

pub fn to_json(session: &Session) -> Value {
    json!({
        "id": session.id,
        "held_at": time::rfc3339(session.held_at.as_ref()),
        "insights": session.insights,
        "note": session.note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_shows_its_insights_as_a_list_and_its_note_below() {
        let session = Session {
            id: "01JD".into(),
            held_at: None,
            insights: vec![
                "the critic is loud on Mondays".into(),
                "ask for help".into(),
            ],
            note: "good one".into(),
        };
        let text = full(&session);
        assert!(text.starts_with("01JD  (no time)  2 insights\n"), "{text}");
        assert!(text.contains("\n  - the critic is loud on Mondays\n  - ask for help\n  good one"));
    }
}
