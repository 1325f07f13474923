//! Vocabulary terms as text and as JSON.

use interlude_proto::v1::{Term, TermKind};
use serde_json::{Value, json};

use super::snake_name;

pub fn kind_label(kind: TermKind) -> String {
    match kind {
        TermKind::Unspecified => "other".to_owned(),
        kind => snake_name(kind.as_str_name(), "TERM_KIND_"),
    }
}

/// `01JD…  part     the critic  (shows up before reviews)`
pub fn line(term: &Term) -> String {
    let mut line = format!("{}  {:<8} {}", term.id, kind_label(term.kind()), term.word);
    if !term.note.trim().is_empty() {
        line.push_str(&format!("  ({})", term.note.trim()));
    }
    line
}

pub fn list(terms: &[Term]) -> String {
    if terms.is_empty() {
        return "No words yet. Add one with `interlude vocab add KIND WORD`.".to_owned();
    }
    terms.iter().map(line).collect::<Vec<_>>().join("\n")
}

pub fn to_json(term: &Term) -> Value {
    json!({
        "id": term.id,
        "kind": snake_name(term.kind().as_str_name(), "TERM_KIND_"),
        "word": term.word,
        "note": term.note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_line_shows_kind_word_and_note() {
        let mut term = Term {
            id: "01JD".into(),
            word: "the critic".into(),
            note: "shows up before reviews".into(),
            ..Default::default()
        };
        term.set_kind(TermKind::Part);
        assert_eq!(
            line(&term),
            "01JD  part     the critic  (shows up before reviews)"
        );
        assert_eq!(to_json(&term)["kind"], "part");
    }
}
