//! A finished run as a reflection: the structured answers as given, a readable text of questions
//! and answers (what the timeline shows, what search and the crisis check read), and the
//! emotions named in emotion steps.

use super::run::Given;
use super::script::Script;
use super::value::emotions_in;
use crate::domain::{Answer, Emotion, MAX_EMOTIONS};
use interlude_plugins::format::StepKind;

/// The tag on a reflection saved from an abandoned run.
pub const DRAFT_TAG: &str = "draft";

/// "Thought record" then each question with its answer, indented.
pub fn text(script: &Script, given: &[Given<'_>], draft: bool) -> String {
    let mut text = if draft {
        format!("{} (draft, not finished)", script.title)
    } else {
        script.title.clone()
    };
    let mut questionnaire: Option<&str> = None;
    for g in given {
        // A questionnaire's items are written by number, not wording: an item about self-harm
        // must not read as the client's own words to the crisis check (its `safety` rule reads
        // the answer instead), and the instrument's wording is in the plugin.
        if let Some(scored) = &g.step.scored {
            if questionnaire != Some(scored.questionnaire.as_str()) {
                questionnaire = Some(&scored.questionnaire);
                text.push_str(&format!(
                    "\n\n{} (items 1–{})",
                    scored.instrument, scored.of
                ));
            }
            text.push_str(&format!("\n  {}. {}", scored.number, g.value));
            continue;
        }
        questionnaire = None;
        text.push_str("\n\n");
        text.push_str(&g.step.prompt);
        for line in shown_value(g).lines() {
            text.push_str("\n  ");
            text.push_str(line);
        }
    }
    text
}

/// Each questionnaire answered in full: `ID.total`, the sum of its items' scores (the index of
/// the option chosen). A questionnaire with an item skipped gets no total: its authors score
/// complete forms.
pub fn totals(script: &Script, given: &[Given<'_>]) -> Vec<Answer> {
    let mut totals: Vec<(String, usize, i64)> = Vec::new();
    for g in given {
        let Some(scored) = &g.step.scored else {
            continue;
        };
        let score = g.step.options.iter().position(|o| o == g.value);
        let Some(score) = score.and_then(|s| i64::try_from(s).ok()) else {
            continue;
        };
        match totals
            .iter_mut()
            .find(|(id, ..)| *id == scored.questionnaire)
        {
            Some((_, answered, total)) => {
                *answered += 1;
                *total += score;
            }
            None => totals.push((scored.questionnaire.clone(), 1, score)),
        }
    }
    totals
        .into_iter()
        .filter(|(id, answered, _)| {
            script
                .steps
                .iter()
                .find_map(|s| s.scored.as_ref().filter(|q| q.questionnaire == *id))
                .is_some_and(|q| q.of == *answered)
        })
        .map(|(id, _, total)| Answer {
            step_id: format!("{id}.total"),
            value: total.to_string(),
        })
        .collect()
}

/// How an answer reads: emotions as "anxious 70", lists as bullet points.
fn shown_value(g: &Given<'_>) -> String {
    match g.step.kind {
        StepKind::Emotion => emotions_in(g.value)
            .map(|(name, intensity)| format!("{name} {intensity}"))
            .collect::<Vec<_>>()
            .join(", "),
        StepKind::List | StepKind::MultiChoice => g
            .value
            .lines()
            .map(|l| format!("- {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        StepKind::Scale => format!("{} (of {}–{})", g.value, g.step.min, g.step.max),
        _ => g.value.to_owned(),
    }
}

/// The most severe tier the exercise's own safety rules find in the answers (a rating of 5 on a
/// diary card's urge to self-harm), or `None`.
pub fn raised(given: &[Given<'_>]) -> Option<crate::domain::Tier> {
    given
        .iter()
        .filter_map(|g| g.step.safety.as_ref().filter(|s| s.raised_by(g.value)))
        .map(|s| s.tier)
        .max()
}

pub fn answers(given: &[Given<'_>]) -> Vec<Answer> {
    given
        .iter()
        .map(|g| Answer {
            step_id: g.step.id.clone(),
            value: g.value.to_owned(),
        })
        .collect()
}

/// Each emotion once, as first named: a later re-rating stays in the answers, while the
/// reflection's emotions say how the moment itself felt.
pub fn emotions(given: &[Given<'_>]) -> Vec<Emotion> {
    let mut found: Vec<Emotion> = Vec::new();
    let named = given
        .iter()
        .filter(|g| g.step.kind == StepKind::Emotion)
        .flat_map(|g| emotions_in(g.value));
    for (name, intensity) in named {
        if found.len() < MAX_EMOTIONS && !found.iter().any(|e| e.name.eq_ignore_ascii_case(name)) {
            found.push(Emotion {
                name: name.to_owned(),
                intensity,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::practice::script::ScriptStep;

    fn step(id: &str, kind: StepKind, prompt: &str) -> ScriptStep {
        ScriptStep {
            id: id.into(),
            kind,
            prompt: prompt.into(),
            required: false,
            shows: None,
            options: Vec::new(),
            branch: Vec::new(),
            min: 0,
            max: 100,
            labels: Vec::new(),
            vocabulary: None,
            suggest_from: None,
            seconds: 0,
            safety: None,
            scored: None,
            instruction: false,
        }
    }

    #[test]
    fn a_run_reads_as_questions_and_answers() {
        let feel = step("feel", StepKind::Emotion, "What do you feel?");
        let again = step("again", StepKind::Emotion, "And now?");
        let facts = step("facts", StepKind::List, "What fits?");
        let rate = step("rate", StepKind::Scale, "How much?");
        let given = [
            Given {
                step: &feel,
                value: "anxious:70\nlow:20",
            },
            Given {
                step: &facts,
                value: "one\ntwo",
            },
            Given {
                step: &rate,
                value: "40",
            },
            Given {
                step: &again,
                value: "Anxious:30\nrelief:10",
            },
        ];
        let script = Script {
            plugin_id: "cbt".into(),
            exercise_id: "x".into(),
            title: "Thought record".into(),
            steps: Vec::new(),
        };
        assert_eq!(
            text(&script, &given, false),
            "Thought record\n\nWhat do you feel?\n  anxious 70, low 20\n\nWhat fits?\n  - one\n  - two\n\nHow much?\n  40 (of 0–100)\n\nAnd now?\n  Anxious 30, relief 10"
        );
        assert!(
            text(&script, &given[..1], true)
                .starts_with("Thought record (draft, not finished)\n\n")
        );
        let names: Vec<_> = emotions(&given)
            .into_iter()
            .map(|e| (e.name, e.intensity))
            .collect();
        assert_eq!(
            names,
            [
                ("anxious".into(), 70),
                ("low".into(), 20),
                ("relief".into(), 10)
            ]
        );
        assert_eq!(answers(&given)[1].value, "one\ntwo");
    }
}
