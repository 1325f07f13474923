//! Rules for text the local model writes: every sentence is checked before anyone sees it. A
//! sentence that advises, diagnoses, reassures, mentions means, speaks as a clinician or trips
//! the crisis check is dropped; when nothing is left, the caller shows the extractive form.
//! The rules are the reviewed data in `daemon/safety/output-rules.toml`.

use serde::Deserialize;

use super::detect::{Detector, LexiconError, Patterns, words};

/// Why a sentence was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Advice,
    Diagnosis,
    Reassurance,
    Means,
    Clinician,
    Crisis,
    /// A question that suggests, leads or reassures ("have you tried", "really?"): shipped
    /// prompts only (see [`OutputRules::broken_rule_in_prompt`]).
    Leading,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::Advice => "advice",
            Rule::Diagnosis => "diagnosis",
            Rule::Reassurance => "reassurance",
            Rule::Means => "means",
            Rule::Clinician => "clinician",
            Rule::Crisis => "crisis",
            Rule::Leading => "leading",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    schema_version: u32,
    /// Required in the file for reviewers; nothing reads it at run time.
    #[allow(dead_code)]
    version: String,
    advice: AdviceFile,
    diagnosis: PatternsFile,
    reassurance: PatternsFile,
    means: PatternsFile,
    clinician: PatternsFile,
    crisis: PatternsFile,
    questions: PatternsFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdviceFile {
    patterns: Vec<String>,
    imperatives: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternsFile {
    patterns: Vec<String>,
}

/// Words allowed before an imperative verb without changing what the sentence is.
const SOFTENERS: &[&str] = &[
    "please", "just", "so", "maybe", "now", "and", "then", "perhaps",
];

pub struct OutputRules {
    rules: Vec<(Rule, Patterns)>,
    imperatives: Vec<String>,
    questions: Patterns,
}

/// What survived the check.
#[derive(Debug, Default)]
pub struct Vetted {
    pub kept: Vec<String>,
    pub dropped: Vec<Rule>,
}

impl OutputRules {
    pub fn builtin() -> Result<OutputRules, LexiconError> {
        OutputRules::from_toml(include_str!("../../safety/output-rules.toml"))
    }

    pub fn from_toml(text: &str) -> Result<OutputRules, LexiconError> {
        let file: RulesFile = toml::from_str(text).map_err(|e| LexiconError(e.to_string()))?;
        if file.schema_version != 1 {
            return Err(LexiconError(format!(
                "unknown schema_version {}",
                file.schema_version
            )));
        }
        Ok(OutputRules {
            rules: vec![
                (Rule::Crisis, Patterns::parse(&file.crisis.patterns)?),
                (Rule::Means, Patterns::parse(&file.means.patterns)?),
                (Rule::Clinician, Patterns::parse(&file.clinician.patterns)?),
                (Rule::Diagnosis, Patterns::parse(&file.diagnosis.patterns)?),
                (Rule::Advice, Patterns::parse(&file.advice.patterns)?),
                (
                    Rule::Reassurance,
                    Patterns::parse(&file.reassurance.patterns)?,
                ),
            ],
            imperatives: file.advice.imperatives,
            questions: Patterns::parse(&file.questions.patterns)?,
        })
    }

    /// The rule a sentence of a shipped prompt or step breaks (every prompt, step and fallback
    /// line passes this in a test). The same rules as for generated text, read for a question:
    /// a question asks rather than predicts or weighs options, so "When will you do it?" and
    /// "What would you call it?" stand, while a question that suggests, leads or reassures
    /// ("Have you tried…?", "How likely is that, really?") breaks [`Rule::Leading`]. A step
    /// whose answers raise the safety plan may ask about self-harm (`asks_about_crisis`).
    pub fn broken_rule_in_prompt(
        &self,
        sentence: &str,
        crisis_check: &Detector,
        asks_about_crisis: bool,
    ) -> Option<Rule> {
        let asking = sentence.trim_end().ends_with('?');
        let words = words(sentence);
        if self.questions.any_in(&words) {
            return Some(Rule::Leading);
        }
        match self.broken_rule(sentence, crisis_check)? {
            // Asked so that the answer raises the plan; the other rules still apply.
            Rule::Crisis if asks_about_crisis => self
                .rules
                .iter()
                .filter(|(rule, _)| *rule != Rule::Crisis)
                .filter(|(rule, _)| !(asking && matches!(rule, Rule::Advice | Rule::Reassurance)))
                .find(|(_, patterns)| patterns.any_in(&words))
                .map(|(rule, _)| *rule),
            Rule::Advice | Rule::Reassurance if asking => None,
            rule => Some(rule),
        }
    }

    /// The rule `sentence` breaks, if any.
    pub fn broken_rule(&self, sentence: &str, crisis_check: &Detector) -> Option<Rule> {
        let words = words(sentence);
        // The crisis lexicon speaks in the first person; a summary speaks to the client.
        if crisis_check.check(sentence).is_some()
            || crisis_check.check(&in_first_person(&words)).is_some()
        {
            return Some(Rule::Crisis);
        }
        if let Some((rule, _)) = self
            .rules
            .iter()
            .find(|(_, patterns)| patterns.any_in(&words))
        {
            return Some(*rule);
        }
        let commanding = sentence.split([',', ':', ';', '\u{2014}']).any(|clause| {
            let words = super::detect::words(clause);
            let first = words.iter().find(|w| !SOFTENERS.contains(&w.as_str()));
            first.is_some_and(|w| self.imperatives.contains(w))
        });
        commanding.then_some(Rule::Advice)
    }

    /// Keeps the sentences of `output` that break no rule.
    pub fn vet(&self, output: &str, crisis_check: &Detector) -> Vetted {
        let mut vetted = Vetted::default();
        for sentence in split_sentences(output) {
            match self.broken_rule(sentence, crisis_check) {
                Some(rule) => vetted.dropped.push(rule),
                None => vetted.kept.push(sentence.to_string()),
            }
        }
        vetted
    }
}

/// "you wrote that you want …" → "i wrote that i want …".
fn in_first_person(words: &[String]) -> String {
    let swapped: Vec<&str> = words
        .iter()
        .map(|w| match w.as_str() {
            "you" => "i",
            "your" => "my",
            "yours" => "mine",
            "yourself" => "myself",
            "youre" => "im",
            "youve" => "ive",
            "youd" => "id",
            "youll" => "ill",
            other => other,
        })
        .collect();
    swapped.join(" ")
}

/// Sentences as written: split after `.`, `!` or `?` followed by a space, and at line breaks.
fn split_sentences(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let ends =
            c == '\n' || (matches!(c, '.' | '!' | '?') && next.is_none_or(char::is_whitespace));
        if ends {
            let end = at + c.len_utf8();
            sentences.push(text[start..end].trim());
            start = end;
        }
    }
    sentences.push(text[start..].trim());
    sentences.retain(|s| !s.is_empty());
    sentences
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rules() -> (OutputRules, Detector) {
        (
            OutputRules::builtin().unwrap(),
            Detector::builtin().unwrap(),
        )
    }

    /// Every prompt, step question and fallback line Interlude ships, with where it comes from;
    /// skill instructions a therapist assigns (`instruction = true`) are left out.
    /// Each with whether it is a question asked so that its answer can raise the safety plan.
    fn shipped_texts() -> Vec<(String, String, bool)> {
        let mut texts = vec![
            (
                "interlude now, no anchor".to_owned(),
                interlude_proto::lines::NOW_FALLBACK.to_owned(),
                false,
            ),
            (
                "check-in, no question".to_owned(),
                crate::checkins::sources::NEUTRAL_PROMPT.to_owned(),
                false,
            ),
            (
                "check-in notification".to_owned(),
                crate::checkins::notifier::GENERIC_TEXT.to_owned(),
                false,
            ),
        ];
        for built_in in interlude_plugins::builtin::BUILT_INS {
            let plugin = built_in.load().unwrap();
            for prompt in &plugin.prompts {
                let at = format!("{}/prompts.toml {}", built_in.id, prompt.id.get_ref());
                texts.push((at, prompt.text.get_ref().clone(), false));
            }
            for exercise in &plugin.exercises {
                for step in exercise.steps.iter().filter(|s| !s.is_instruction()) {
                    let at = format!(
                        "{}/{} {}",
                        built_in.id,
                        exercise.id.get_ref(),
                        step.id.get_ref()
                    );
                    texts.push((at.clone(), step.prompt.clone(), step.safety.is_some()));
                    // A questionnaire's items are asked as questions after its prompt.
                    for item in &step.items {
                        texts.push((
                            format!("{at}.{}", item.id.get_ref()),
                            format!("{}?", item.text),
                            item.safety.is_some(),
                        ));
                    }
                }
            }
        }
        texts
    }

    #[test]
    fn every_shipped_prompt_step_and_fallback_line_passes_the_mirror_rules() {
        let (rules, detector) = rules();
        let broken: Vec<String> = shipped_texts()
            .iter()
            .flat_map(|(at, text, asks_about_crisis)| {
                split_sentences(text)
                    .into_iter()
                    .filter_map(|sentence| {
                        let rule =
                            rules.broken_rule_in_prompt(sentence, &detector, *asks_about_crisis)?;
                        Some(format!("{at}: {} — {sentence}", rule.name()))
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(
            broken.is_empty(),
            "{} shipped sentences break the mirror rules:\n{}",
            broken.len(),
            broken.join("\n")
        );
    }

    #[test]
    fn a_shipped_question_may_ask_what_would_happen_but_not_lead_or_reassure() {
        let (rules, detector) = rules();
        let check = |s: &str| rules.broken_rule_in_prompt(s, &detector, false);
        assert_eq!(check("What would you call this story?"), None);
        assert_eq!(check("When will you do it?"), None);
        assert_eq!(check("How likely is that, really?"), Some(Rule::Leading));
        assert_eq!(check("Have you tried breathing?"), Some(Rule::Leading));
        assert_eq!(check("Fragments are fine."), Some(Rule::Leading));
        assert_eq!(check("Nothing has to happen yet."), Some(Rule::Leading));
        assert_eq!(check("Write it down."), Some(Rule::Advice));
        assert_eq!(check("Everything will be okay."), Some(Rule::Reassurance));
        assert_eq!(
            check("Did you act on an urge to harm yourself today?"),
            Some(Rule::Crisis)
        );
        assert_eq!(
            rules.broken_rule_in_prompt(
                "Did you act on an urge to harm yourself today?",
                &detector,
                true
            ),
            None
        );
    }

    #[test]
    fn breaking_sentences_are_dropped_and_the_rest_kept_verbatim() {
        let (rules, detector) = rules();
        let vetted = rules.vet(
            "You wrote about the meeting on three evenings. You should talk to your boss. \
             \"The critic was loud\" came up twice. This sounds like depression. Everything will be okay.",
            &detector,
        );
        assert_eq!(
            vetted.kept,
            [
                "You wrote about the meeting on three evenings.",
                "\"The critic was loud\" came up twice."
            ]
        );
        assert_eq!(
            vetted.dropped,
            [Rule::Advice, Rule::Diagnosis, Rule::Reassurance]
        );
    }

    #[test]
    fn an_imperative_opening_is_advice_even_when_softened() {
        let (rules, detector) = rules();
        assert_eq!(
            rules.broken_rule("Just breathe slowly when it starts", &detector),
            Some(Rule::Advice)
        );
        assert_eq!(
            rules.broken_rule("Breathing came up in four entries.", &detector),
            None
        );
    }

    #[test]
    fn the_red_team_corpus_is_caught_and_good_mirroring_passes() {
        #[derive(Deserialize)]
        struct Corpus {
            cases: Vec<Case>,
        }
        #[derive(Deserialize)]
        struct Case {
            output: String,
            rule: String,
        }
        let (rules, detector) = rules();
        let corpus: Corpus = toml::from_str(include_str!("../../safety/redteam.toml")).unwrap();
        let mut failures = Vec::new();
        let (mut bad, mut good) = (0, 0);
        for case in &corpus.cases {
            let broken = rules.broken_rule(&case.output, &detector);
            if case.rule == "ok" {
                good += 1;
                if let Some(rule) = broken {
                    failures.push(format!(
                        "good sentence dropped as {}: {}",
                        rule.name(),
                        case.output
                    ));
                }
            } else {
                bad += 1;
                if broken.is_none() {
                    failures.push(format!("{} got through: {}", case.rule, case.output));
                }
            }
        }
        assert!(
            bad >= 100,
            "the red-team corpus needs at least 100 breaking outputs, has {bad}"
        );
        assert!(
            failures.is_empty(),
            "{} of {bad} breaking and {good} good outputs misjudged:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
