//! What an answer to each kind of step may be, and its one stored form. Checked when the answer
//! is given, so a bad value is refused at once with the step still open, never at Finish.

use crate::domain::{MAX_INTENSITY, MAX_NAME_CHARS};
use interlude_plugins::format::StepKind;

use super::script::ScriptStep;

/// The longest word a vocabulary step takes, as for vocabulary terms.
const MAX_WORD_CHARS: usize = 80;

/// The stored form of `value` as an answer to `step`, or why it cannot be one.
pub fn normalise(step: &ScriptStep, value: &str, max_bytes: usize) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err("the answer is empty; skip the step instead".into());
    }
    if value.len() > max_bytes {
        return Err(format!(
            "the answer is {} KiB, over the limit of {} KiB; shorten it",
            value.len().div_ceil(1024),
            max_bytes / 1024
        ));
    }
    match step.kind {
        StepKind::Text | StepKind::Body | StepKind::Timer => Ok(value.trim().to_owned()),
        StepKind::List => Ok(lines(value).join("\n")),
        StepKind::Choice | StepKind::Questionnaire => option(step, value.trim()).map(str::to_owned),
        StepKind::MultiChoice => {
            let mut picked: Vec<&str> = Vec::new();
            for line in lines(value) {
                let chosen = option(step, line)?;
                if !picked.contains(&chosen) {
                    picked.push(chosen);
                }
            }
            Ok(picked.join("\n"))
        }
        StepKind::Emotion => lines(value)
            .into_iter()
            .map(emotion)
            .collect::<Result<Vec<_>, _>>()
            .map(|all| all.join("\n")),
        StepKind::Scale => scale(step, value.trim()),
        StepKind::Vocabulary => {
            let word = value.trim();
            if word.contains('\n') || word.chars().count() > MAX_WORD_CHARS {
                return Err(format!(
                    "pick one word or short phrase (at most {MAX_WORD_CHARS} characters)"
                ));
            }
            Ok(word.to_owned())
        }
    }
}

/// The non-blank lines, trimmed.
fn lines(value: &str) -> Vec<&str> {
    value
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

fn option<'a>(step: &'a ScriptStep, value: &str) -> Result<&'a str, String> {
    step.options
        .iter()
        .find(|o| o.as_str() == value)
        .map(String::as_str)
        .ok_or_else(|| {
            format!(
                "that is not one of the options; choose one of: {}",
                step.options.join(" | ")
            )
        })
}

/// `name:intensity`, e.g. `anxious:70`.
fn emotion(line: &str) -> Result<String, String> {
    let wrong =
        || format!("write each emotion as name:intensity (0 to {MAX_INTENSITY}), e.g. anxious:70");
    let (name, intensity) = line.rsplit_once(':').ok_or_else(wrong)?;
    let name = name.trim();
    let intensity: u32 = intensity.trim().parse().map_err(|_| wrong())?;
    if name.is_empty() || intensity > MAX_INTENSITY {
        return Err(wrong());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "an emotion name is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    Ok(format!("{name}:{intensity}"))
}

fn scale(step: &ScriptStep, value: &str) -> Result<String, String> {
    match value.parse::<i64>() {
        Ok(n) if (step.min..=step.max).contains(&n) => Ok(n.to_string()),
        _ => Err(format!(
            "answer with a whole number from {} to {}",
            step.min, step.max
        )),
    }
}

/// The emotions in an emotion step's stored answer.
pub fn emotions_in(value: &str) -> impl Iterator<Item = (&str, u32)> {
    value.lines().filter_map(|line| {
        let (name, intensity) = line.rsplit_once(':')?;
        Some((name, intensity.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn step(kind: StepKind) -> ScriptStep {
        ScriptStep {
            id: "s".into(),
            kind,
            prompt: "?".into(),
            required: false,
            shows: None,
            options: vec!["Yes".into(), "Not now".into()],
            branch: Vec::new(),
            min: 0,
            max: 10,
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
    fn each_kind_has_one_stored_form() {
        let n = |kind, v| normalise(&step(kind), v, 1024);
        assert_eq!(n(StepKind::Text, "  a thought \n").unwrap(), "a thought");
        assert_eq!(n(StepKind::List, "one\n\n  two \n").unwrap(), "one\ntwo");
        assert_eq!(n(StepKind::Choice, " Not now ").unwrap(), "Not now");
        assert_eq!(
            n(StepKind::MultiChoice, "Yes\nNot now\nYes").unwrap(),
            "Yes\nNot now"
        );
        assert_eq!(
            n(StepKind::Emotion, "anxious : 70\nlow:5").unwrap(),
            "anxious:70\nlow:5"
        );
        assert_eq!(n(StepKind::Scale, " 7 ").unwrap(), "7");
    }

    #[test]
    fn bad_values_say_what_would_do() {
        let n = |kind, v| normalise(&step(kind), v, 1024).unwrap_err();
        assert!(n(StepKind::Text, "  ").contains("skip"));
        assert!(n(StepKind::Choice, "Maybe").contains("Yes | Not now"));
        assert!(n(StepKind::Emotion, "anxious").contains("name:intensity"));
        assert!(n(StepKind::Emotion, "anxious:101").contains("name:intensity"));
        assert!(n(StepKind::Scale, "11").contains("from 0 to 10"));
        assert!(n(StepKind::Vocabulary, "a\nb").contains("one word"));
        assert!(
            normalise(&step(StepKind::Text), &"x".repeat(2048), 1024)
                .unwrap_err()
                .contains("over the limit")
        );
    }

    #[test]
    fn emotions_are_read_back_from_the_stored_form() {
        let found: Vec<_> = emotions_in("anxious:70\nlow:5").collect();
        assert_eq!(found, [("anxious", 70), ("low", 5)]);
    }
}
