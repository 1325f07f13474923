//! The review of a draft as structured Markdown for `$EDITOR`: a box per theme, section and
//! entry (an x keeps it), and the client's questions and notes as bullets. Parsing reads the
//! boxes and bullets back; anything else in the file is ignored.

use std::collections::BTreeMap;

use serde_json::Value;

pub struct Review {
    pub excluded: Vec<String>,
    pub questions: Vec<String>,
    pub notes: Vec<String>,
    pub include_flagged: bool,
}

const QUESTIONS: &str = "## Questions I want to ask";
const NOTES: &str = "## Notes";
const FLAGGED: &str = "### Entries from hard moments";

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

fn preview(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = one_line.chars().take(70).collect();
    if one_line.chars().count() > 70 {
        format!("{short}…")
    } else {
        short
    }
}

/// Every entry the draft shows, by id, with a preview where the draft has its words.
fn entries(p: &Value) -> BTreeMap<String, String> {
    let pat = &p["patterns"];
    let mut found = BTreeMap::new();
    fn quotes(found: &mut BTreeMap<String, String>, list: &Value) {
        for q in list.as_array().into_iter().flatten() {
            if let (Some(id), Some(text)) = (q["id"].as_str(), q["text"].as_str()) {
                found.insert(id.to_owned(), preview(text));
            }
        }
    }
    quotes(&mut found, &pat["brought"]);
    quotes(&mut found, &pat["helpful"]);
    for t in pat["themes"].as_array().into_iter().flatten() {
        quotes(&mut found, &t["quotes"]);
    }
    for s in pat["sections"].as_array().into_iter().flatten() {
        quotes(&mut found, &s["body"]["matches"]);
        for r in s["body"]["rows"].as_array().into_iter().flatten() {
            let cells = strs(&r["cells"]).join(" / ");
            found
                .entry(r["id"].as_str().unwrap_or_default().to_owned())
                .or_insert(preview(&cells));
        }
    }
    for i in pat["insights"].as_array().into_iter().flatten() {
        quotes(&mut found, &i["came_back"]);
    }
    for t in pat["themes"].as_array().into_iter().flatten() {
        for id in strs(&t["entry_ids"]) {
            found.entry(id).or_default();
        }
    }
    found
}

fn boxed(keep: bool, id: &str, what: &str) -> String {
    format!("- [{}] {id} · {what}\n", if keep { "x" } else { " " })
}

pub fn document(p: &Value) -> String {
    let excluded = strs(&p["review"]["excluded"]);
    let keep = |id: &str| !excluded.iter().any(|x| x == id);
    let mut doc = String::from(
        "# Review your session-prep draft\n\n\
         An x in a box keeps it in; empty the box to leave it out. Write questions and notes as\n\
         bullets under their headings. Save and close to keep your review.\n\n### Themes\n",
    );
    for t in p["patterns"]["themes"].as_array().into_iter().flatten() {
        let id = t["id"].as_str().unwrap_or_default();
        doc += &boxed(keep(id), id, &strs(&t["label"]).join(" · "));
    }
    doc += "\n### Sections\n";
    for s in p["patterns"]["sections"].as_array().into_iter().flatten() {
        let id = s["id"].as_str().unwrap_or_default();
        doc += &boxed(
            keep(id),
            id,
            &format!(
                "{}: {}",
                s["plugin"].as_str().unwrap_or_default(),
                s["title"].as_str().unwrap_or_default()
            ),
        );
    }
    doc += "\n### Entries\n";
    for (id, text) in entries(p) {
        doc += &boxed(keep(&id), &id, &text);
    }
    let flagged = p["patterns"]["flagged"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !flagged.is_empty() {
        doc += &format!("\n{FLAGGED} (left out unless you put an x in)\n");
        let included = p["review"]["include_flagged"].as_bool().unwrap_or(false);
        for q in flagged {
            let id = q["id"].as_str().unwrap_or_default();
            doc += &boxed(
                included && keep(id),
                id,
                &preview(q["text"].as_str().unwrap_or_default()),
            );
        }
    }
    doc += &format!("\n{QUESTIONS}\n");
    for q in strs(&p["review"]["questions"]) {
        doc += &format!("- {q}\n");
    }
    doc += &format!("\n{NOTES}\n");
    for n in strs(&p["review"]["notes"]) {
        doc += &format!("- {n}\n");
    }
    doc
}

pub fn parse(text: &str, p: &Value) -> Result<Review, String> {
    let mut review = Review {
        excluded: Vec::new(),
        questions: Vec::new(),
        notes: Vec::new(),
        include_flagged: false,
    };
    let flagged: Vec<String> = p["patterns"]["flagged"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["id"].as_str().map(str::to_owned))
        .collect();
    let mut under = "";
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            under = if trimmed.starts_with(QUESTIONS) {
                "questions"
            } else if trimmed.starts_with(NOTES) {
                "notes"
            } else {
                "boxes"
            };
            continue;
        }
        let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        else {
            continue;
        };
        match under {
            "questions" if !item.trim().is_empty() => review.questions.push(item.trim().to_owned()),
            "notes" if !item.trim().is_empty() => review.notes.push(item.trim().to_owned()),
            "boxes" => {
                let (kept, rest) = if let Some(rest) = item
                    .strip_prefix("[x]")
                    .or_else(|| item.strip_prefix("[X]"))
                {
                    (true, rest)
                } else if let Some(rest) =
                    item.strip_prefix("[ ]").or_else(|| item.strip_prefix("[]"))
                {
                    (false, rest)
                } else {
                    return Err(format!(
                        "\"{}\" has no box: keep \"- [x]\" or \"- [ ]\" at the start",
                        preview(item)
                    ));
                };
                let id = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if id.is_empty() {
                    return Err(
                        "a box has lost its id; open the review again and keep the ids as they are"
                            .into(),
                    );
                }
                let is_flagged = flagged.contains(&id);
                if is_flagged && kept {
                    review.include_flagged = true;
                } else if !kept {
                    review.excluded.push(id);
                }
            }
            _ => {}
        }
    }
    // Unticked flagged entries stay listed as left out only once one of them is in; with none
    // ticked they are out anyway.
    if !review.include_flagged {
        review.excluded.retain(|id| !flagged.contains(id));
    }
    Ok(review)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn packet() -> Value {
        json!({
            "patterns": {
                "themes": [{"id": "theme-1", "label": ["Sunday dread"], "quotes": [{"id": "A", "text": "dread again"}], "entry_ids": ["A", "B"]}],
                "sections": [{"id": "dbt/diary-card", "plugin": "DBT", "title": "Diary card", "body": {"kind": "runs", "rows": [{"id": "C", "cells": ["3"]}]}}],
                "brought": [], "insights": [],
                "flagged": [{"id": "F", "text": "a hard moment"}]
            },
            "review": {"excluded": [], "questions": [], "notes": [], "include_flagged": false}
        })
    }

    #[test]
    fn an_emptied_box_leaves_it_out_and_bullets_become_questions_and_notes() {
        let p = packet();
        let doc = document(&p)
            .replace("- [x] B ·", "- [ ] B ·")
            .replace("- [x] dbt/diary-card", "- [ ] dbt/diary-card")
            .replace(
                &format!("{QUESTIONS}\n"),
                &format!("{QUESTIONS}\n- Why Sundays?\n"),
            );
        let review = parse(&doc, &p).expect("parses");
        assert_eq!(review.excluded, ["dbt/diary-card", "B"]);
        assert_eq!(review.questions, ["Why Sundays?"]);
        assert!(
            !review.include_flagged,
            "flagged entries stay out unless ticked"
        );
    }

    #[test]
    fn ticking_a_flagged_entry_puts_it_in() {
        let p = packet();
        let doc = document(&p).replace("- [ ] F ·", "- [x] F ·");
        assert!(parse(&doc, &p).expect("parses").include_flagged);
    }
}
