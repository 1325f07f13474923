//! The safety plan as a Markdown document, for `safety-plan edit` and `safety-plan export`.
//!
//! ```markdown
//! # My safety plan
//!
//! <!-- a short note on the format -->
//!
//! ## Warning signs
//!
//! - can't sleep
//! - cancelling plans
//! ```
//!
//! One `##` heading per section, in [`Section::ALL`] order, and one item per line starting with
//! `- ` or `* `. An indented line right under an item continues it. Headings are matched without
//! regard to case; a heading that names no section is an error that lists the ones there are, and
//! so is any other text, so that nothing the client wrote is dropped without a word.

use std::fmt;

use interlude_proto::v1::SafetyPlan;

/// The document's title; a heading with this text starts no section.
pub const TITLE: &str = "My safety plan";

/// The line under the title that says how to write the document.
const GUIDE: &str = "<!-- One item per line, starting with \"- \". Keep the ## headings as they \
                     are; a section can stay empty. Lines like this one are ignored. The plan is \
                     used in order: when one step does not help, go to the next. It works best \
                     written, and looked at again now and then, with your therapist. -->";

/// The parts of the Stanley–Brown safety plan, with the nearest urgent care as its own part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    WarningSigns,
    CopingStrategies,
    Distractions,
    PeopleToAsk,
    Professionals,
    UrgentCare,
    SafeEnvironment,
    ReasonsForLiving,
}

impl Section {
    /// Every section, in the order the plan is written and shown.
    pub const ALL: [Section; 8] = [
        Self::WarningSigns,
        Self::CopingStrategies,
        Self::Distractions,
        Self::PeopleToAsk,
        Self::Professionals,
        Self::UrgentCare,
        Self::SafeEnvironment,
        Self::ReasonsForLiving,
    ];

    /// The plain heading people read and write.
    pub fn heading(self) -> &'static str {
        match self {
            Self::WarningSigns => "Warning signs",
            Self::CopingStrategies => "Things I can do on my own",
            Self::Distractions => "People and places that take my mind off things",
            Self::PeopleToAsk => "People I can ask for help",
            Self::Professionals => "Professionals and services",
            Self::UrgentCare => "Nearest urgent care",
            Self::SafeEnvironment => "Making my surroundings safer",
            Self::ReasonsForLiving => "My reasons for living",
        }
    }

    /// The field's name in the protocol, in JSON and in the readable-while-locked copy.
    pub fn key(self) -> &'static str {
        match self {
            Self::WarningSigns => "warning_signs",
            Self::CopingStrategies => "coping_strategies",
            Self::Distractions => "distractions",
            Self::PeopleToAsk => "people_to_ask",
            Self::Professionals => "professionals",
            Self::UrgentCare => "urgent_care",
            Self::SafeEnvironment => "safe_environment",
            Self::ReasonsForLiving => "reasons_for_living",
        }
    }

    /// What the section is for, shown as a comment when editing.
    fn prompt(self) -> &'static str {
        match self {
            Self::WarningSigns => {
                "Thoughts, feelings, situations or behaviour that tell you a hard moment may be coming."
            }
            Self::CopingStrategies => "What helps when you are on your own.",
            Self::Distractions => "People and places that help take your mind off things.",
            Self::PeopleToAsk => "People you can ask for help, and how to reach them.",
            Self::Professionals => "Your therapist and other services, with how to reach them.",
            Self::UrgentCare => {
                "The nearest emergency department or urgent care: its name, address and how you would get there."
            }
            Self::SafeEnvironment => "What you can do to make your surroundings safer.",
            Self::ReasonsForLiving => "What matters to you and keeps you going.",
        }
    }

    pub fn items(self, plan: &SafetyPlan) -> &[String] {
        match self {
            Self::WarningSigns => &plan.warning_signs,
            Self::CopingStrategies => &plan.coping_strategies,
            Self::Distractions => &plan.distractions,
            Self::PeopleToAsk => &plan.people_to_ask,
            Self::Professionals => &plan.professionals,
            Self::UrgentCare => &plan.urgent_care,
            Self::SafeEnvironment => &plan.safe_environment,
            Self::ReasonsForLiving => &plan.reasons_for_living,
        }
    }

    pub fn items_mut(self, plan: &mut SafetyPlan) -> &mut Vec<String> {
        match self {
            Self::WarningSigns => &mut plan.warning_signs,
            Self::CopingStrategies => &mut plan.coping_strategies,
            Self::Distractions => &mut plan.distractions,
            Self::PeopleToAsk => &mut plan.people_to_ask,
            Self::Professionals => &mut plan.professionals,
            Self::UrgentCare => &mut plan.urgent_care,
            Self::SafeEnvironment => &mut plan.safe_environment,
            Self::ReasonsForLiving => &mut plan.reasons_for_living,
        }
    }

    /// The step's number when the plan is used as a sequence (Stanley–Brown's order: each step
    /// is for when the one before did not help); `None` for the parts that go with every step.
    pub fn step(self) -> Option<usize> {
        match self {
            Self::WarningSigns => Some(1),
            Self::CopingStrategies => Some(2),
            Self::Distractions => Some(3),
            Self::PeopleToAsk => Some(4),
            Self::Professionals => Some(5),
            Self::UrgentCare => Some(6),
            Self::SafeEnvironment | Self::ReasonsForLiving => None,
        }
    }

    fn from_heading(text: &str) -> Option<Section> {
        Self::ALL
            .into_iter()
            .find(|section| section.heading().eq_ignore_ascii_case(text))
    }
}

/// True when no section has an item.
pub fn is_empty(plan: &SafetyPlan) -> bool {
    Section::ALL
        .iter()
        .all(|section| section.items(plan).is_empty())
}

/// True when both plans hold the same items (the readable-while-locked flag aside).
pub fn same_items(a: &SafetyPlan, b: &SafetyPlan) -> bool {
    Section::ALL
        .iter()
        .all(|section| section.items(a) == section.items(b))
}

/// The plan as Markdown, every section present even when empty.
pub fn render(plan: &SafetyPlan) -> String {
    render_with(plan, false)
}

/// As [`render`], with a comment under each heading saying what the section is for.
pub fn render_for_editing(plan: &SafetyPlan) -> String {
    render_with(plan, true)
}

fn render_with(plan: &SafetyPlan, prompts: bool) -> String {
    let mut blocks = vec![format!("# {TITLE}"), GUIDE.to_owned()];
    for section in Section::ALL {
        let mut block = format!("## {}\n", section.heading());
        if prompts {
            block.push_str(&format!("<!-- {} -->\n", section.prompt()));
        }
        let items = section.items(plan);
        if !items.is_empty() {
            block.push('\n');
            block.extend(items.iter().map(|item| item_lines(item)));
        }
        blocks.push(block.trim_end().to_owned());
    }
    blocks.join("\n\n") + "\n"
}

/// `- first line`, later lines indented under it.
fn item_lines(item: &str) -> String {
    let mut lines = item.lines().map(str::trim).filter(|line| !line.is_empty());
    let mut text = format!("- {}\n", lines.next().unwrap_or_default());
    for line in lines {
        text.push_str(&format!("  {line}\n"));
    }
    text
}

/// Why a document could not be read as a plan; every variant names the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanTextError {
    /// Nothing but white space.
    Empty,
    /// A heading that names no section.
    UnknownHeading { line: usize, heading: String },
    /// An item above the first section heading.
    ItemOutsideSection { line: usize, text: String },
    /// Text that is neither a heading, an item, a continuation nor a comment.
    NotAnItem { line: usize, text: String },
}

impl fmt::Display for PlanTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "the plan is empty; nothing was saved"),
            // The place, never the words: error messages can end up in logs and terminals'
            // scrollback, and a safety plan is among the most private things a client writes.
            Self::UnknownHeading { line, .. } => write!(
                f,
                "line {line} is not a heading of the safety plan; the headings are {}",
                known_headings()
            ),
            Self::ItemOutsideSection { line, .. } => write!(
                f,
                "line {line} comes before any heading; put it under one of {}",
                known_headings()
            ),
            Self::NotAnItem { line, .. } => {
                write!(f, "line {line} is not an item; start each item with \"- \"")
            }
        }
    }
}

impl std::error::Error for PlanTextError {}

/// `"Warning signs", "Things I can do on my own", …`
fn known_headings() -> String {
    Section::ALL
        .iter()
        .map(|section| format!("\"{}\"", section.heading()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a plan back from Markdown.
pub fn parse(text: &str) -> Result<SafetyPlan, PlanTextError> {
    if text.trim().is_empty() {
        return Err(PlanTextError::Empty);
    }
    let mut plan = SafetyPlan::default();
    let mut section: Option<Section> = None;
    let mut in_comment = false;
    // Set while the line before was an item, so that an indented line continues it.
    let mut continues: Option<Section> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if in_comment {
            in_comment = !trimmed.contains("-->");
            continue;
        }
        if trimmed.is_empty() {
            continues = None;
            continue;
        }
        if let Some(item) = item_text(trimmed) {
            let Some(current) = section else {
                return Err(PlanTextError::ItemOutsideSection {
                    line,
                    text: trimmed.to_owned(),
                });
            };
            if item.is_empty() {
                continues = None;
            } else {
                current.items_mut(&mut plan).push(item.to_owned());
                continues = Some(current);
            }
            continue;
        }
        if let Some(current) = continues.filter(|_| is_indented(raw))
            && let Some(last) = current.items_mut(&mut plan).last_mut()
        {
            last.push('\n');
            last.push_str(trimmed);
            continue;
        }
        continues = None;
        if let Some(rest) = trimmed.strip_prefix("<!--") {
            in_comment = !rest.contains("-->");
            continue;
        }
        if let Some(heading) = heading_text(trimmed) {
            if heading.eq_ignore_ascii_case(TITLE) {
                section = None;
                continue;
            }
            section = Some(Section::from_heading(heading).ok_or_else(|| {
                PlanTextError::UnknownHeading {
                    line,
                    heading: heading.to_owned(),
                }
            })?);
            continue;
        }
        if is_rule(trimmed) {
            continue;
        }
        return Err(PlanTextError::NotAnItem {
            line,
            text: trimmed.to_owned(),
        });
    }
    Ok(plan)
}

/// The text of `- item` or `* item`; empty for a bare marker.
fn item_text(line: &str) -> Option<&str> {
    if line == "-" || line == "*" {
        return Some("");
    }
    let rest = line.strip_prefix('-').or_else(|| line.strip_prefix('*'))?;
    rest.starts_with([' ', '\t']).then(|| rest.trim())
}

/// The text of `## Heading`, without trailing `#`s or a colon.
fn heading_text(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches('#');
    if rest.len() == line.len() || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some(
        rest.trim()
            .trim_end_matches('#')
            .trim_end()
            .trim_end_matches(':')
            .trim_end(),
    )
}

fn is_indented(line: &str) -> bool {
    line.starts_with("  ") || line.starts_with('\t')
}

/// `---`, `***` or `___`: a thematic break, which carries nothing.
fn is_rule(line: &str) -> bool {
    let marks: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    marks.len() >= 3
        && ['-', '*', '_']
            .iter()
            .any(|mark| marks.chars().all(|c| c == *mark))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn plan() -> SafetyPlan {
        SafetyPlan {
            warning_signs: vec!["can't sleep".into(), "cancelling plans".into()],
            coping_strategies: vec!["walk to the lake".into()],
            distractions: vec![],
            people_to_ask: vec!["Sam: 07700 900123".into()],
            professionals: vec!["Dr. Ahmed, Tuesdays — 020 7946 0000".into()],
            safe_environment: vec![],
            reasons_for_living: vec!["my niece".into(), "the garden".into()],
            urgent_care: vec!["St Thomas' A&E, Westminster Bridge Rd: the 12 bus".into()],
            readable_while_locked: false,
        }
    }

    #[test]
    fn a_plan_survives_a_round_trip() {
        let plan = plan();
        assert_eq!(parse(&render(&plan)).unwrap(), plan);
        assert_eq!(parse(&render_for_editing(&plan)).unwrap(), plan);
    }

    #[test]
    fn the_document_has_a_title_a_guide_and_every_heading_in_order() {
        let text = render(&plan());
        assert!(text.starts_with("# My safety plan\n\n<!-- "), "{text}");
        let positions: Vec<usize> = Section::ALL
            .iter()
            .map(|s| text.find(&format!("\n## {}\n", s.heading())).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains("\n## Warning signs\n\n- can't sleep\n- cancelling plans\n"));
    }

    #[test]
    fn empty_sections_stay_empty_and_an_empty_plan_round_trips() {
        let text = render(&plan());
        assert!(
            text.contains("\n## People and places that take my mind off things\n\n## "),
            "{text}"
        );
        let empty = SafetyPlan::default();
        assert_eq!(parse(&render(&empty)).unwrap(), empty);
        assert!(is_empty(
            &parse("# My safety plan\n\n## Warning signs\n").unwrap()
        ));
    }

    #[test]
    fn an_unknown_heading_is_named_with_the_known_ones() {
        let error = parse("# My safety plan\n\n## Warning signs\n- x\n\n## Hobbies\n- knitting\n")
            .unwrap_err();
        assert_eq!(
            error,
            PlanTextError::UnknownHeading {
                line: 6,
                heading: "Hobbies".into()
            }
        );
        let message = error.to_string();
        assert!(message.starts_with("line 6 "), "{message}");
        assert!(
            !message.contains("Hobbies"),
            "the client's words stay out: {message}"
        );
        for section in Section::ALL {
            assert!(message.contains(section.heading()), "{message}");
        }
    }

    #[test]
    fn items_with_special_characters_are_kept_as_written() {
        let items = vec![
            "<script>alert(1)</script> & \"quotes\" 'too'".to_owned(),
            "# not a heading".to_owned(),
            "- a dash first".to_owned(),
            "* a star first, *emphasis* and `code`".to_owned(),
            "<!-- not a comment -->".to_owned(),
            "ünïcödé — 🌊 100% \\ back/slash".to_owned(),
            "---".to_owned(),
        ];
        let plan = SafetyPlan {
            reasons_for_living: items.clone(),
            ..Default::default()
        };
        assert_eq!(parse(&render(&plan)).unwrap().reasons_for_living, items);
    }

    #[test]
    fn stars_case_colons_and_continuations_are_understood() {
        let text = "\
# my safety PLAN
## warning signs:
* can't sleep
-   cancelling plans  
  and not answering
-
## People I can ask for help ##
- Sam
";
        let plan = parse(text).unwrap();
        assert_eq!(
            plan.warning_signs,
            ["can't sleep", "cancelling plans\nand not answering"]
        );
        assert_eq!(plan.people_to_ask, ["Sam"]);
    }

    #[test]
    fn multi_line_comments_are_ignored() {
        let text = "<!--\n## Nonsense\n- not this\n-->\n## Warning signs\n- this\n";
        assert_eq!(parse(text).unwrap().warning_signs, ["this"]);
    }

    #[test]
    fn stray_text_is_an_error_rather_than_lost() {
        let error = parse("## Warning signs\nI get quiet\n").unwrap_err();
        assert_eq!(
            error,
            PlanTextError::NotAnItem {
                line: 2,
                text: "I get quiet".into()
            }
        );
        assert!(error.to_string().contains("start each item with \"- \""));
        let error = parse("# My safety plan\n- loose item\n").unwrap_err();
        assert!(matches!(
            error,
            PlanTextError::ItemOutsideSection { line: 2, .. }
        ));
    }

    #[test]
    fn a_blank_document_is_refused() {
        assert_eq!(parse(" \n\n").unwrap_err(), PlanTextError::Empty);
    }

    #[test]
    fn same_items_ignores_the_locked_copy_flag() {
        let mut other = plan();
        other.readable_while_locked = true;
        assert!(same_items(&plan(), &other));
        other.reasons_for_living.pop();
        assert!(!same_items(&plan(), &other));
    }
}
