//! The safety payload, the client's plan and the crisis lines: as text, as JSON, and as a page
//! to print. Interlude is not a crisis service; nothing here says anyone was told anything.

use interlude_proto::v1::{CrisisLine, CrisisTier, SafetyPayload, SafetyPlan};
use serde_json::{Map, Value, json};

use super::{bullet, snake_name};
use crate::plan_text::{self, Section};

/// What help-now says first when the daemon's own words are not at hand.
pub const HELP_NOW_MESSAGE: &str =
    "Here is the plan you made for moments like this, and people you can reach.";

/// What help-now says first when there is no plan to show, only the lines.
pub const LINES_ONLY_MESSAGE: &str = "Here are people you can reach.";

/// Said after the lines when there is no plan to show: the lines come first.
pub const NO_PLAN: &str = "There is no safety plan to show here. A safety plan is a short list of \
     steps for moments like this, best written with your therapist; you can start one with \
     `interlude safety-plan edit` and take it to your next session.";

/// Said under a plan that is shown.
pub const NEXT_STEP: &str = "If this doesn't help, go to the next step.";

/// What `safety-plan show` says under the plan: it is a document to keep working on together.
pub const REVIEW_WITH_THERAPIST: &str = "Go through this plan with your therapist, and again after \
     a hard time; `interlude safety-plan export --format html` prints it to take along.";

/// The payload for people: the message, then the plan as numbered steps and the lines; with no
/// plan, the lines before the hint to write one.
pub fn payload_text(payload: &SafetyPayload) -> String {
    let plan = shown_plan(payload);
    let message = match payload.message.trim() {
        "" if plan.is_some() => HELP_NOW_MESSAGE,
        "" => LINES_ONLY_MESSAGE,
        message => message,
    };
    let lines = lines_text(&payload.region, &payload.region_note, &payload.lines);
    let parts = match plan {
        Some(plan) => vec![message.to_owned(), steps(plan), lines],
        None => vec![message.to_owned(), lines, NO_PLAN.to_owned()],
    };
    parts.join("\n\n")
}

/// The payload's plan, unless it is missing or has nothing in it.
fn shown_plan(payload: &SafetyPayload) -> Option<&SafetyPlan> {
    payload
        .plan
        .as_ref()
        .filter(|plan| !plan_text::is_empty(plan))
}

/// The plan as a sequence: reasons for living first, then the numbered steps that have items,
/// each step after the first action saying to go on when it does not help, then the
/// surroundings.
pub fn steps(plan: &SafetyPlan) -> String {
    let filled: Vec<Section> = Section::ALL
        .into_iter()
        .filter(|section| !section.items(plan).is_empty())
        .collect();
    let numbered: Vec<Section> = filled
        .iter()
        .copied()
        .filter(|s| s.step().is_some())
        .collect();
    let mut blocks = Vec::new();
    if filled.contains(&Section::ReasonsForLiving) {
        blocks.push(section_block(Section::ReasonsForLiving, plan, None));
    }
    for (index, section) in numbered.iter().enumerate() {
        let mut block = section_block(*section, plan, Some(index + 1));
        let is_action = *section != Section::WarningSigns;
        if is_action && index + 1 < numbered.len() {
            block.push_str(&format!("\n   {NEXT_STEP}"));
        }
        blocks.push(block);
    }
    if filled.contains(&Section::SafeEnvironment) {
        blocks.push(section_block(Section::SafeEnvironment, plan, None));
    }
    blocks.join("\n\n")
}

fn section_block(section: Section, plan: &SafetyPlan, number: Option<usize>) -> String {
    let heading = match number {
        Some(n) => format!("{n}. {}", section.heading()),
        None => section.heading().to_owned(),
    };
    std::iter::once(heading)
        .chain(section.items(plan).iter().map(|item| bullet(item)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `Crisis lines (United Kingdom)`, one line each (`Samaritans — 116 123 (24/7)`), then whose
/// lines they are and how to change that.
pub fn lines_text(region: &str, note: &str, lines: &[CrisisLine]) -> String {
    let mut text = std::iter::once(lines_heading(region))
        .chain(lines.iter().map(|line| format!("  {}", crisis_line(line))))
        .collect::<Vec<_>>()
        .join("\n");
    if !note.trim().is_empty() {
        text.push_str(&format!("\n{}", note.trim()));
    }
    text
}

fn lines_heading(region: &str) -> String {
    match region.trim() {
        "" => "Crisis lines".to_owned(),
        region => format!("Crisis lines ({region})"),
    }
}

/// `name — contact (hours)`, leaving out what is empty.
pub fn crisis_line(line: &CrisisLine) -> String {
    let mut text = match (line.name.trim(), line.contact.trim()) {
        ("", contact) => contact.to_owned(),
        (name, "") => name.to_owned(),
        (name, contact) => format!("{name} — {contact}"),
    };
    if !line.hours.trim().is_empty() {
        text.push_str(&format!(" ({})", line.hours.trim()));
    }
    text
}

/// The payload as JSON: `tier` is null when it was asked for rather than raised by a reflection.
pub fn payload_json(payload: &SafetyPayload) -> Value {
    let tier = match payload.tier() {
        CrisisTier::Unspecified => Value::Null,
        tier => Value::String(snake_name(tier.as_str_name(), "CRISIS_TIER_")),
    };
    json!({
        "tier": tier,
        "message": payload.message,
        "plan": shown_plan(payload).map(plan_json),
        "region": payload.region,
        "country": payload.country,
        "region_note": payload.region_note,
        "lines": payload.lines.iter().map(line_json).collect::<Vec<_>>(),
    })
}

/// Each section under its field name, as a list of strings.
pub fn plan_json(plan: &SafetyPlan) -> Value {
    let sections: Map<String, Value> = Section::ALL
        .iter()
        .map(|section| (section.key().to_owned(), json!(section.items(plan))))
        .collect();
    Value::Object(sections)
}

/// The plan for `safety-plan show`, with `readable_while_locked`.
pub fn plan_with_flag_json(plan: &SafetyPlan) -> Value {
    let mut value = plan_json(plan);
    if let Value::Object(map) = &mut value {
        map.insert(
            "readable_while_locked".to_owned(),
            Value::Bool(plan.readable_while_locked),
        );
    }
    value
}

fn line_json(line: &CrisisLine) -> Value {
    json!({ "name": line.name, "contact": line.contact, "hours": line.hours })
}

/// `safety-plan show`: the title, the sections (or how to write them), and whether the
/// readable-while-locked copy is on.
pub fn plan_text(plan: &SafetyPlan) -> String {
    let body = if plan_text::is_empty(plan) {
        "You have not written anything in your safety plan yet. \
         Write it with `interlude safety-plan edit`."
            .to_owned()
    } else {
        steps(plan)
    };
    format!(
        "{}\n\n{body}\n\n{REVIEW_WITH_THERAPIST}\n\n{}",
        plan_text::TITLE,
        locked_copy_status(plan.readable_while_locked)
    )
}

fn locked_copy_status(on: bool) -> &'static str {
    if on {
        "Readable while locked: on. An unencrypted copy of only this plan is kept on this \
         computer so that `interlude help-now` can show it while the vault is locked; anyone \
         with access to this user account can read it. Turn it off with \
         `interlude safety-plan readable-while-locked off`."
    } else {
        "Readable while locked: off. The plan is kept only in the encrypted vault, so while the \
         vault is locked `interlude help-now` shows the crisis lines without it. To change \
         that: `interlude safety-plan readable-while-locked on`."
    }
}

/// What `safety-plan readable-while-locked on|off` did, in plain words.
pub fn locked_copy_notice(plan: &SafetyPlan) -> String {
    if plan.readable_while_locked {
        let mut text = "Readable while locked: on.\n\
             \n\
             This keeps an UNENCRYPTED copy of only your safety plan on this computer, so that\n\
             `interlude help-now` can show it while the vault is locked. Anyone with access to\n\
             this user account can read that copy. The copy follows every change to your plan;\n\
             the rest of your journal stays encrypted.\n\
             \n\
             To remove the unencrypted copy: `interlude safety-plan readable-while-locked off`."
            .to_owned();
        if plan_text::is_empty(plan) {
            text.push_str(
                "\n\nYour plan is empty for now; write it with `interlude safety-plan edit`.",
            );
        }
        text
    } else {
        "Readable while locked: off.\n\
         \n\
         No unencrypted copy of your safety plan is kept on this computer now. The plan stays in\n\
         the encrypted vault; while the vault is locked, `interlude help-now` shows the crisis\n\
         lines without it."
            .to_owned()
    }
}

/// One self-contained page to print: the plan, every section with room to write when empty,
/// then the crisis lines. Everything the client wrote is escaped.
pub fn html(plan: &SafetyPlan, region: &str, lines: &[CrisisLine], date: &str) -> String {
    let mut body = String::new();
    for section in Section::ALL {
        let heading = match section.step() {
            Some(n) => format!("{n}. {}", section.heading()),
            None => section.heading().to_owned(),
        };
        body.push_str(&format!("<section>\n<h2>{}</h2>\n", escape(&heading)));
        let items = section.items(plan);
        if items.is_empty() {
            body.push_str("<div class=\"blank\"></div>\n<div class=\"blank\"></div>\n");
        } else {
            body.push_str("<ul>\n");
            for item in items {
                body.push_str(&format!("<li>{}</li>\n", multiline(item)));
            }
            body.push_str("</ul>\n");
        }
        // From coping on, each step is for when the one before did not help.
        if matches!(section.step(), Some(2..=5)) {
            body.push_str(&format!("<p class=\"next\">{}</p>\n", escape(NEXT_STEP)));
        }
        body.push_str("</section>\n");
    }
    body.push_str(&format!(
        "<section class=\"lines\">\n<h2>{}</h2>\n<ul>\n",
        escape(&lines_heading(region))
    ));
    for line in lines {
        body.push_str(&format!("<li>{}</li>\n", escape(&crisis_line(line))));
    }
    body.push_str("</ul>\n</section>\n");
    let date = escape(date);
    format!(
        "<!DOCTYPE html>\n\
         <html lang=\"en\">\n\
         <head>\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n\
         <style>\n{STYLE}</style>\n\
         </head>\n\
         <body>\n\
         <header>\n<h1>{title}</h1>\n<p class=\"date\">As of {date}</p>\n</header>\n\
         {body}\
         </body>\n\
         </html>\n",
        title = escape(plan_text::TITLE),
    )
}

const STYLE: &str = "\
body { font-family: system-ui, -apple-system, \"Segoe UI\", Roboto, sans-serif; color: #1a1a1a;
  background: #fff; line-height: 1.5; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin: 0; }
.date { color: #555; margin: 0.2rem 0 1.5rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 0.4rem; padding-bottom: 0.2rem;
  border-bottom: 1px solid #bbb; }
ul { margin: 0; padding-left: 1.4rem; }
li { margin: 0.2rem 0; }
.blank { border-bottom: 1px solid #ccc; height: 1.8rem; }
.lines { margin-top: 2rem; padding: 0.6rem 1rem 1rem; border: 2px solid #444; border-radius: 6px; }
.lines h2 { border-bottom: none; margin-top: 0.4rem; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 12pt; color: #000; }
  section { break-inside: avoid; page-break-inside: avoid; }
  .date { color: #000; }
  .blank { border-bottom-color: #888; }
}
";

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Escaped, with the item's own line breaks kept.
fn multiline(text: &str) -> String {
    text.lines().map(escape).collect::<Vec<_>>().join("<br>")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn lines() -> Vec<CrisisLine> {
        vec![
            CrisisLine {
                name: "Samaritans".into(),
                contact: "116 123".into(),
                hours: "24/7".into(),
            },
            CrisisLine {
                name: "Find a local line".into(),
                contact: "findahelpline.com".into(),
                hours: String::new(),
            },
        ]
    }

    fn payload(plan: Option<SafetyPlan>) -> SafetyPayload {
        SafetyPayload {
            tier: CrisisTier::Ideation.into(),
            message: "What you wrote is saved.".into(),
            plan,
            lines: lines(),
            region: "United Kingdom".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_payload_is_the_message_then_the_plan_as_numbered_steps_then_the_lines() {
        let plan = SafetyPlan {
            warning_signs: vec!["can't sleep".into()],
            coping_strategies: vec!["the lake breath".into()],
            people_to_ask: vec!["Sam".into()],
            urgent_care: vec!["St Thomas' A&E".into()],
            reasons_for_living: vec!["my niece".into()],
            ..Default::default()
        };
        let text = payload_text(&payload(Some(plan)));
        assert_eq!(
            text,
            "What you wrote is saved.\n\
             \n\
             My reasons for living\n  - my niece\n\
             \n\
             1. Warning signs\n  - can't sleep\n\
             \n\
             2. Things I can do on my own\n  - the lake breath\n\
             \x20  If this doesn't help, go to the next step.\n\
             \n\
             3. People I can ask for help\n  - Sam\n\
             \x20  If this doesn't help, go to the next step.\n\
             \n\
             4. Nearest urgent care\n  - St Thomas' A&E\n\
             \n\
             Crisis lines (United Kingdom)\n\
             \x20 Samaritans — 116 123 (24/7)\n\
             \x20 Find a local line — findahelpline.com"
        );
    }

    #[test]
    fn without_a_plan_the_lines_come_before_the_hint_to_write_one() {
        for plan in [None, Some(SafetyPlan::default())] {
            let text = payload_text(&payload(plan));
            assert!(text.ends_with(&format!("\n\n{NO_PLAN}")), "{text}");
            assert!(text.find("116 123") < text.find(NO_PLAN), "{text}");
            assert!(text.contains("interlude safety-plan edit"), "{text}");
            assert!(text.contains("therapist"), "{text}");
        }
    }

    #[test]
    fn the_payload_never_claims_anyone_was_told() {
        let text = payload_text(&SafetyPayload::default()).to_lowercase();
        for claim in ["notified", "alerted", "has been told", "contacted"] {
            assert!(!text.contains(claim), "{text}");
        }
        let notice = locked_copy_notice(&SafetyPlan::default()).to_lowercase();
        assert!(!notice.contains("notified"), "{notice}");
    }

    #[test]
    fn payload_json_has_the_tier_plan_and_lines() {
        let plan = SafetyPlan {
            people_to_ask: vec!["Sam".into()],
            ..Default::default()
        };
        let value = payload_json(&payload(Some(plan)));
        assert_eq!(value["tier"], "ideation");
        assert_eq!(value["plan"]["people_to_ask"][0], "Sam");
        assert_eq!(value["plan"]["warning_signs"], json!([]));
        assert_eq!(value["lines"][0]["contact"], "116 123");
        assert_eq!(value["region"], "United Kingdom");
        let asked = SafetyPayload::default();
        assert_eq!(payload_json(&asked)["tier"], Value::Null);
        assert_eq!(payload_json(&asked)["plan"], Value::Null);
    }

    #[test]
    fn show_says_whether_the_locked_copy_is_on() {
        let mut plan = SafetyPlan {
            warning_signs: vec!["x".into()],
            ..Default::default()
        };
        assert!(plan_text(&plan).contains("Readable while locked: off."));
        plan.readable_while_locked = true;
        let text = plan_text(&plan);
        assert!(text.starts_with("My safety plan\n\n1. Warning signs\n  - x\n\n"));
        assert!(text.contains(REVIEW_WITH_THERAPIST), "{text}");
        assert!(text.contains("Readable while locked: on."), "{text}");
        assert!(text.contains("unencrypted"), "{text}");
    }

    #[test]
    fn turning_the_copy_on_says_plainly_what_it_means() {
        let plan = SafetyPlan {
            readable_while_locked: true,
            ..Default::default()
        };
        let text = locked_copy_notice(&plan);
        assert!(
            text.contains("UNENCRYPTED copy of only your safety plan"),
            "{text}"
        );
        assert!(
            text.contains("Anyone with access to\nthis user account"),
            "{text}"
        );
        assert!(text.contains("readable-while-locked off"), "{text}");
    }

    #[test]
    fn html_escapes_everything_the_client_wrote() {
        let plan = SafetyPlan {
            warning_signs: vec!["<script>alert('x')</script>".into()],
            people_to_ask: vec!["Sam & \"Jo\"\n<b>07700</b>".into()],
            ..Default::default()
        };
        let page = html(&plan, "<United Kingdom>", &lines(), "2026-11-19");
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<b>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(page.contains("Sam &amp; &quot;Jo&quot;<br>&lt;b&gt;07700&lt;/b&gt;"));
        assert!(page.contains("Crisis lines (&lt;United Kingdom&gt;)"));
    }

    #[test]
    fn html_is_one_printable_page_with_the_lines_last() {
        let page = html(
            &SafetyPlan::default(),
            "United Kingdom",
            &lines(),
            "2026-11-19",
        );
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("@media print"));
        assert!(
            !page.contains("<link") && !page.contains("src="),
            "self-contained"
        );
        let lines_at = page.find("Crisis lines (United Kingdom)").unwrap();
        for section in Section::ALL {
            assert!(page.find(section.heading()).unwrap() < lines_at);
        }
        assert!(page.contains("<li>Samaritans — 116 123 (24/7)</li>"));
        assert!(page.contains("<h2>1. Warning signs</h2>"), "numbered steps");
        assert!(page.contains("<h2>6. Nearest urgent care</h2>"));
        assert_eq!(
            page.matches(&escape(NEXT_STEP)).count(),
            4,
            "after steps 2 to 5"
        );
        assert!(page.trim_end().ends_with("</html>"));
    }
}
