//! The deterministic crisis detector: the lexicon in `daemon/safety/lexicon.toml`, matched
//! against the client's text (`patterns`), and what a match means in its context: negation,
//! the client's past, someone else's words, a screening question answered no, and parts that
//! meet. No model, no network: the same text always gives the same answer, in microseconds.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde::Deserialize;

pub use interlude_proto::crisis::{Category, Finding, Tier};

pub use super::patterns::{LexiconError, Patterns, words};
use super::patterns::{Token, sentences};

/// The lexicon as written in the TOML file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    schema_version: u32,
    version: String,
    negators: Vec<String>,
    reporting: Vec<String>,
    others: Vec<String>,
    /// Idioms and harmless phrases that cancel any match they overlap ("die of embarrassment").
    #[serde(default)]
    exclusions: Vec<String>,
    /// Markers of a told past ("years ago", "used to"): a match after one in its sentence is the
    /// client's history, not their present, unless a word from `present` stands between them.
    #[serde(default)]
    past: Vec<String>,
    #[serde(default)]
    present: Vec<String>,
    /// Words that mark a question someone asked ("asked", "whether"), and the client's answers
    /// that deny it ("said no"), unless the answer takes itself back or says more than no ("I
    /// lied", "no one would notice"): a screening question answered no is what was asked, not
    /// what is felt.
    #[serde(default)]
    questions: Vec<String>,
    #[serde(default)]
    denials: Vec<String>,
    #[serde(default)]
    retractions: Vec<String>,
    /// What such a question asks about, in any person: a question about it answered no sets the
    /// entry aside even when no risk phrase matched.
    #[serde(default)]
    asked_about: Vec<String>,
    categories: Vec<CategoryFile>,
    /// Named lists of parts (a decision, a time, a means, a place, an ending ...).
    #[serde(default)]
    parts: HashMap<String, Vec<String>>,
    /// Rules that fire when parts meet: unseen combinations of known parts.
    #[serde(default)]
    compositions: Vec<CompositionFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompositionFile {
    category: Category,
    /// Why the rule exists, for reviewers.
    summary: String,
    /// Each entry is one requirement: any of the named parts, separated by `/`.
    needs: Vec<String>,
}

/// Parts from each of `needs` (each a set of part names) in one sentence or two neighbouring
/// ones, each in the client's own voice and not negated.
struct Composition {
    category: Category,
    needs: Vec<Vec<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile {
    id: Category,
    summary: String,
    patterns: Vec<String>,
}

/// Words that make what follows the client's own, after all.
const FIRST_PERSON: &[&str] = &["i", "im", "ive", "id", "ill", "me", "myself"];
/// What the rules made of an entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// The most severe finding, or `None`.
    pub finding: Option<Finding>,
    /// A risk phrase matched but was set aside: negated, part of an idiom, told as the past, or
    /// asked in a screening question the client answered no.
    pub defused: bool,
    /// Where the entry's text holds screening questions about risk that the client answered no
    /// (byte ranges): what was asked, not what is felt.
    pub answered_no: Vec<Range<usize>>,
}

impl Reading {
    /// `text` (the text this reading is of) without the screening questions the client answered
    /// no, for the classifier: it reads a question's topic, not the answer.
    pub fn as_felt(&self, text: &str) -> String {
        let mut felt = String::with_capacity(text.len());
        let mut from = 0;
        for asked in &self.answered_no {
            felt.push_str(&text[from..asked.start]);
            from = asked.end;
        }
        felt.push_str(&text[from..]);
        felt
    }
}

/// Negators this many tokens before a match cancel it.
const NEGATION_WINDOW: usize = 3;
/// A plain no that answers what came before it in its sentence, as the sentence's last word on
/// its own after a comma, colon or dash: "Wanting to die, no." "Self-harm: none."
const ANSWERED_AFTER: &[&str] = &["no", "nope", "none", "nah", "never"];

pub struct Detector {
    version: String,
    negators: HashSet<String>,
    reporting: HashSet<String>,
    others: HashSet<String>,
    exclusions: Patterns,
    past: Patterns,
    present: HashSet<String>,
    questions: HashSet<String>,
    denials: Patterns,
    retractions: Patterns,
    /// What a screening question is about, in any person ("harming yourself").
    asked_about: Patterns,
    /// Most severe tier first (the lexicon's order within a tier): on a tie the first wins.
    categories: Vec<Category>,
    /// Every category's phrases in one index (one lookup per word), and the index in
    /// `categories` of each phrase's category.
    phrases: Patterns,
    category_of: Vec<usize>,
    /// Every part's patterns in one index (one lookup per word for all parts), and the part each
    /// pattern belongs to.
    parts: Patterns,
    part_of: Vec<usize>,
    part_count: usize,
    /// Most severe tier first.
    compositions: Vec<Composition>,
}

impl Detector {
    /// The lexicon shipped with this build.
    pub fn builtin() -> Result<Detector, LexiconError> {
        Detector::from_toml(include_str!("../../safety/lexicon.toml"))
    }

    pub fn from_toml(text: &str) -> Result<Detector, LexiconError> {
        let file: LexiconFile = toml::from_str(text).map_err(|e| LexiconError(e.to_string()))?;
        if file.schema_version != 2 {
            return Err(LexiconError(format!(
                "unknown schema_version {}",
                file.schema_version
            )));
        }
        let mut categories = Vec::new();
        let mut file_categories = file.categories;
        // Most severe first; a stable sort keeps the lexicon's order within a tier.
        file_categories.sort_by_key(|c| std::cmp::Reverse(c.id.tier()));
        for category in &file_categories {
            if category.summary.trim().is_empty() {
                return Err(LexiconError(format!(
                    "category {} has no summary",
                    category.id.name()
                )));
            }
            categories.push(category.id);
        }
        let (category_of, phrases): (Vec<usize>, Vec<&String>) = file_categories
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.patterns.iter().map(move |p| (i, p)))
            .unzip();
        let phrases = Patterns::parse(&phrases)?;
        let mut names: Vec<&String> = file.parts.keys().collect();
        names.sort();
        let (part_of, part_patterns): (Vec<usize>, Vec<&String>) = names
            .iter()
            .enumerate()
            .flat_map(|(part, name)| file.parts[*name].iter().map(move |p| (part, p)))
            .unzip();
        let parts = Patterns::parse(&part_patterns)?;
        let part_count = names.len();
        let mut compositions = Vec::new();
        for composition in &file.compositions {
            if composition.summary.trim().is_empty() || composition.needs.is_empty() {
                return Err(LexiconError(format!(
                    "a composition for {} needs a summary and its parts",
                    composition.category.name()
                )));
            }
            let needs = composition
                .needs
                .iter()
                .map(|need| {
                    need.split('/')
                        .map(|name| {
                            names
                                .iter()
                                .position(|n| n.as_str() == name)
                                .ok_or_else(|| {
                                    LexiconError(format!(
                                        "a composition names no such part: {name:?}"
                                    ))
                                })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<Vec<_>, _>>()?;
            compositions.push(Composition {
                category: composition.category,
                needs,
            });
        }
        compositions.sort_by_key(|c| std::cmp::Reverse(c.category.tier()));
        let set = |words: Vec<String>| words.into_iter().collect::<HashSet<_>>();
        Ok(Detector {
            version: file.version,
            negators: set(file.negators),
            reporting: set(file.reporting),
            others: set(file.others),
            exclusions: Patterns::parse(&file.exclusions)?,
            past: Patterns::parse(&file.past)?,
            present: set(file.present),
            questions: set(file.questions),
            denials: Patterns::parse(&file.denials)?,
            retractions: Patterns::parse(&file.retractions)?,
            asked_about: Patterns::parse(&file.asked_about)?,
            categories,
            phrases,
            category_of,
            parts,
            part_of,
            part_count,
            compositions,
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The most severe finding anywhere in `text`, or `None`: a phrase, or parts that meet.
    pub fn check(&self, text: &str) -> Option<Finding> {
        self.read(text).finding
    }

    /// The finding, and whether a risk phrase was set aside (negated, an idiom, or told as the
    /// client's past): the crisis check then asks more of its classifier.
    pub fn read(&self, text: &str) -> Reading {
        let sentences = sentences(text);
        let asked: Vec<Range<usize>> = (0..sentences.len())
            .map(|i| self.denied_question(&sentences[i], sentences.get(i + 1)))
            .collect();
        let mut reading = Reading::default();
        // A screening question about risk answered no is set aside, even when it asks in words
        // the phrases do not read as the client's own ("any thoughts of harming yourself").
        for (sentence, asked) in sentences.iter().zip(&asked) {
            let about_risk = asked.clone().any(|i| {
                self.asked_about.matches_at(sentence, i).next().is_some()
                    || self.phrases.matches_at(sentence, i).next().is_some()
            });
            if about_risk {
                reading.defused = true;
                let last = &sentence[asked.end - 1];
                reading
                    .answered_no
                    .push(sentence[asked.start].bytes.start..last.bytes.end);
            }
        }
        for (sentence, asked) in sentences.iter().zip(&asked) {
            let found = self.check_sentence(sentence, asked, &mut reading.defused);
            reading.finding = Finding::worst(reading.finding, found);
        }
        reading.finding = Finding::worst(reading.finding, self.composed(&sentences, &asked));
        reading
    }

    /// The words of `sentence` that a question the client answered no asked ("The GP asked
    /// whether I'd thought of ending my life. I said no."): from the question's marker to the
    /// answer when it is later in the sentence, or to the end when it is the next sentence;
    /// empty when there is no such question or the answer is not a plain no ("I said no, but I
    /// lied"). What the client says after answering is their own again.
    fn denied_question(&self, sentence: &[Token], next: Option<&Vec<Token>>) -> Range<usize> {
        let Some(marker) = sentence
            .iter()
            .position(|t| self.questions.contains(&t.text))
        else {
            return 0..0;
        };
        let first = |patterns: &Patterns, words: &[Token]| {
            (0..words.len()).find(|&i| patterns.matches_at(words, i).next().is_some())
        };
        let next = next.map_or(&[][..], |n| &n[..]);
        let taken_back = first(&self.retractions, &sentence[marker..]).is_some()
            || first(&self.retractions, next).is_some();
        let asked_until = match first(&self.denials, &sentence[marker..]) {
            Some(answer) => marker + answer,
            None if first(&self.denials, next).is_some() => sentence.len(),
            None => return 0..0,
        };
        if taken_back {
            0..0
        } else {
            marker + 1..asked_until
        }
    }

    /// The most severe composition whose parts all appear, in the client's own voice and not
    /// negated, within one sentence or two neighbouring ones.
    fn composed(&self, sentences: &[Vec<Token>], asked: &[Range<usize>]) -> Option<Finding> {
        if self.compositions.is_empty() {
            return None;
        }
        let present: Vec<Vec<bool>> = sentences
            .iter()
            .zip(asked)
            .map(|(s, asked)| self.own_parts(s, asked))
            .collect();
        let found_in = |composition: &Composition, window: &[Vec<bool>]| {
            composition
                .needs
                .iter()
                .all(|any| any.iter().any(|&part| window.iter().any(|s| s[part])))
        };
        self.compositions
            .iter()
            .find(|composition| {
                (0..present.len())
                    .any(|i| found_in(composition, &present[i..(i + 2).min(present.len())]))
            })
            .map(|composition| Finding::of(composition.category))
    }

    /// Which parts appear in `sentence` in the client's own voice, not negated and not in a
    /// question answered no (`asked`).
    fn own_parts(&self, sentence: &[Token], asked: &Range<usize>) -> Vec<bool> {
        let mut present = vec![false; self.part_count];
        for start in 0..sentence.len() {
            for (pattern, end) in self.parts.matches_at(sentence, start) {
                let part = self.part_of[pattern];
                if !present[part]
                    && !self.set_aside(sentence, start..end, asked)
                    && !self.reported(sentence, start)
                {
                    present[part] = true;
                }
            }
        }
        present
    }

    /// The most severe phrase in `sentence` that is not negated (someone else's crisis when it
    /// is someone else's words); on a tie, the category that comes first, the client's own words
    /// before someone else's. Sets `defused` when a match is set aside (negated, an idiom, the
    /// past, or in a question answered no: `asked`).
    fn check_sentence(
        &self,
        sentence: &[Token],
        asked: &Range<usize>,
        defused: &mut bool,
    ) -> Option<Finding> {
        // (the category's place, whether it is the client's own, the finding)
        let mut best: Option<(usize, bool, Finding)> = None;
        let mut longest: Vec<Option<usize>> = vec![None; self.categories.len()];
        for start in 0..sentence.len() {
            longest.iter_mut().for_each(|end| *end = None);
            for (phrase, end) in self.phrases.matches_at(sentence, start) {
                let at = &mut longest[self.category_of[phrase]];
                *at = Some(at.map_or(end, |e| e.max(end)));
            }
            for (place, end) in longest.iter().enumerate() {
                let Some(end) = *end else { continue };
                if self.set_aside(sentence, start..end, asked) {
                    *defused = true;
                    continue;
                }
                let own = !self.reported(sentence, start);
                let finding = Finding::of(if own {
                    self.categories[place]
                } else {
                    Category::OtherPerson
                });
                let better = best.is_none_or(|(p, o, f)| {
                    (finding.tier, std::cmp::Reverse(place), own)
                        > (f.tier, std::cmp::Reverse(p), o)
                });
                if better {
                    best = Some((place, own, finding));
                }
            }
        }
        best.map(|(_, _, finding)| finding)
    }

    /// Whether the match at `words` is set aside: negated, part of an idiom, told as the
    /// client's past, inside a question they answered no (`asked`), or answered no after it.
    fn set_aside(&self, sentence: &[Token], words: Range<usize>, asked: &Range<usize>) -> bool {
        self.negated(sentence, words.start)
            || self.exclusions.overlaps(sentence, words.clone())
            || self.in_past(sentence, words.start)
            || asked.contains(&words.start)
            || answered_after(sentence, words.end)
    }

    /// A negator in the few words before the match, in the same clause and with no new "I" in
    /// between: "I'm not suicidal" is negated, "I'm not okay, I want to die" is not.
    fn negated(&self, sentence: &[Token], start: usize) -> bool {
        for j in (start.saturating_sub(NEGATION_WINDOW)..start).rev() {
            if sentence[j + 1].clause_start || FIRST_PERSON.contains(&sentence[j].text.as_str()) {
                return false;
            }
            if self.negators.contains(&sentence[j].text) {
                return true;
            }
        }
        false
    }

    /// Told as the client's past: a marker from `past` earlier in the sentence, with no word from
    /// `present` between it and the match ("Years ago I took an overdose", but "Years ago I
    /// stopped cutting and now I want to cut again" is the present).
    fn in_past(&self, sentence: &[Token], start: usize) -> bool {
        for j in (0..start).rev() {
            if self.present.contains(&sentence[j].text) {
                return false;
            }
            if self
                .past
                .matches_at(sentence, j)
                .any(|(_, end)| end <= start)
            {
                return true;
            }
        }
        false
    }

    /// Someone else's words: quoted; about someone named in `others` with no "I" between them and
    /// the match ("my son has been self-harming", not "I told her I want to die"); or after a
    /// reporting verb whose subject is someone else ("my friend said …"). A reporting verb that
    /// opens the sentence is the client's own shorthand ("Told my therapist I want to die").
    fn reported(&self, sentence: &[Token], start: usize) -> bool {
        if sentence[start].quoted {
            return true;
        }
        for token in sentence[..start].iter().rev() {
            if FIRST_PERSON.contains(&token.text.as_str()) {
                break;
            }
            if self.others.contains(&token.text) {
                return true;
            }
        }
        (1..start)
            .any(|i| self.reporting.contains(&sentence[i].text) && sentence[i - 1].text != "i")
    }
}

/// The sentence ends in a plain no on its own, after the match that ends at `end`: "Wanting to
/// die, no." (but not "I want to die, no one would notice").
fn answered_after(sentence: &[Token], end: usize) -> bool {
    sentence.last().is_some_and(|last| {
        sentence.len() > end && last.clause_start && ANSWERED_AFTER.contains(&last.text.as_str())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SMALL: &str = r#"
schema_version = 2
version = "test"
negators = ["not", "never", "dont"]
reporting = ["said", "told"]
others = ["she", "he"]
exclusions = ["die of embarrassment"]
past = ["years ago", "used to"]
present = ["now", "again"]

[[categories]]
id = "plan"
summary = "plan"
patterns = ["kill myself tonight", "saved * pills/tablets"]

[[categories]]
id = "wish_to_be_dead"
summary = "wish"
patterns = ["want~ to die", "suicid~", "dont want to live"]

[[categories]]
id = "warning_sign"
summary = "goodbye"
patterns = ["giving away my things"]
"#;

    fn shipped_tier(text: &str) -> Option<Tier> {
        Detector::builtin().unwrap().check(text).map(|f| f.tier)
    }

    fn tier(text: &str) -> Option<Tier> {
        Detector::from_toml(SMALL)
            .unwrap()
            .check(text)
            .map(|f| f.tier)
    }

    #[test]
    fn a_match_told_as_the_past_is_set_aside_unless_the_present_returns() {
        assert_eq!(tier("Two years ago I wanted to die."), None);
        assert_eq!(tier("I used to want to die most days."), None);
        assert_eq!(
            tier("Years ago I stopped, and now I want to die again."),
            Some(Tier::Ideation)
        );
        assert_eq!(
            tier("Years ago I felt this. I want to die."),
            Some(Tier::Ideation),
            "the past ends with its sentence"
        );
    }

    #[test]
    fn a_screening_question_answered_no_is_set_aside_unless_the_answer_is_taken_back() {
        let detector = Detector::builtin().unwrap();
        for answered_no in [
            "The GP asked whether I'd thought of ending my life. I said no, and I meant it.",
            "My therapist asked if I'd had any thoughts of suicide and I said no.",
            "Nurse asked the question about being better off dead. Honestly no, not now.",
            // Asked in words the phrases do not read as the client's own.
            "She went through the questions, sleep, appetite, harming yourself, and I said no.",
            "The form asks about thoughts of death. I say no, and it is true.",
        ] {
            let reading = detector.read(answered_no);
            assert_eq!(reading.finding, None, "{answered_no}");
            assert!(
                reading.defused,
                "set aside, so the classifier must be surer: {answered_no}"
            );
            let felt = reading.as_felt(answered_no);
            assert!(
                felt.len() < answered_no.len() && felt.contains(" no"),
                "the classifier reads the answer without the question: {felt}"
            );
        }
        for still_risk in [
            "The GP asked whether I'd thought of ending my life. I said no, but I lied.",
            "She asked if I wanted to die and I said yes.",
            "The GP asked about my sleep. I said no. I want to die.",
            "She asked if I was coping and I said no, I want to die.",
            "She asked if I'd thought of killing myself. I said no one would notice.",
        ] {
            let reading = detector.read(still_risk);
            assert!(reading.finding.is_some(), "{still_risk}");
            assert_eq!(reading.as_felt(still_risk), still_risk);
        }
        assert_eq!(
            detector
                .read("Dr Ma asked if I'd thought of ending my life and I said no.")
                .as_felt("Dr Ma asked if I'd thought of ending my life and I said no."),
            "Dr Ma asked  said no.",
        );
        for not_about_risk in [
            "The nurse asked if I felt safe at home and I said no.",
            "She asked whether I'd eaten today. I said no.",
        ] {
            assert!(!detector.read(not_about_risk).defused, "{not_about_risk}");
        }
    }

    #[test]
    fn the_shipped_lexicon_reads_a_decision_or_an_attempt_told_in_plain_words() {
        for (text, tier) in [
            ("I will take my life, this is my decision.", Tier::Acute),
            ("I've made the decision to end my life.", Tier::Acute),
            ("Not waiting any more. By my own hand.", Tier::Ideation),
            (
                "Last night I tried to hang myself in the garage.",
                Tier::Acute,
            ),
            (
                "I'm going to finish myself once the harvest is in.",
                Tier::Acute,
            ),
        ] {
            assert_eq!(shipped_tier(text), Some(tier), "{text}");
        }
        for ordinary in [
            "Therapy is helping me take my life back.",
            "In 2019 I tried to kill myself. Today I spoke at church about getting well.",
        ] {
            assert_eq!(shipped_tier(ordinary), None, "{ordinary}");
        }
    }

    #[test]
    fn the_shipped_lexicon_reads_dialect_forms_and_spellings_of_killing_oneself_but_not_by_myself()
    {
        for risk in [
            "Thinking about doing away with myself again",
            "been offing meself in my head all week",
            "some nights I could top meself",
            "cant stop thinking about offing meself",
            "I can't stop thinking of doing away with myself",
        ] {
            assert_eq!(shipped_tier(risk), Some(Tier::Ideation), "{risk}");
        }
        assert_eq!(
            shipped_tier("Dropped the van off myself and got the bus back."),
            None
        );
        // Dialect spellings are read as the words the patterns are written with.
        for (dialect, standard) in [
            (
                "Am gannin tae do mesel in, I've had me fill.",
                "Am going to do myself in, I've had me fill.",
            ),
            (
                "I'm gonnae kill masel after the weekend",
                "I'm gonna kill myself after the weekend",
            ),
            ("gaun tae top missen", "going to top myself"),
        ] {
            assert!(shipped_tier(standard).is_some(), "{standard}");
            assert_eq!(shipped_tier(dialect), shipped_tier(standard), "{dialect}");
        }
        assert_eq!(
            shipped_tier("Am gannin tae do mesel in, I've had me fill."),
            Some(Tier::Acute)
        );
        for ordinary in [
            "Built the shed masel, gannin tae the tip with the offcuts.",
            "Made the tea meself and went intae town wi the bairns.",
        ] {
            assert_eq!(shipped_tier(ordinary), None, "{ordinary}");
        }
    }

    #[test]
    fn a_reading_says_when_a_risk_phrase_was_set_aside() {
        let detector = Detector::from_toml(SMALL).unwrap();
        let read = |text: &str| detector.read(text);
        for set_aside in [
            "I'm not suicidal, just worn out.",
            "I wanted to die of embarrassment.",
            "Years ago I wanted to die.",
        ] {
            let reading = read(set_aside);
            assert_eq!(
                (reading.finding, reading.defused),
                (None, true),
                "{set_aside}"
            );
        }
        assert!(!read("Made soup, watched the rain.").defused);
        assert!(read("I want to die.").finding.is_some());
    }

    #[test]
    fn a_plain_no_after_the_words_answers_them() {
        let detector = Detector::builtin().unwrap();
        for answered in [
            "Sad, yes. Wanting to die, no. Slept well.",
            "Urges to self-harm: none.",
            "Thoughts of killing myself this week \u{2014} nope.",
        ] {
            let reading = detector.read(answered);
            assert_eq!(
                (reading.finding, reading.defused),
                (None, true),
                "{answered}"
            );
            // The classifier still reads it (at the set-aside threshold): hidden, "Wanting to
            // die, no. Planning it, yes." would leave it "Planning it, yes." alone.
            assert_eq!(reading.as_felt(answered), answered);
        }
        for still in [
            "I want to die, no one would notice.",
            "I want to kill myself, no joke.",
            "Wanting to die, yes.",
            "No. I want to die.",
        ] {
            assert!(shipped_tier(still).is_some(), "{still}");
        }
    }

    #[test]
    fn the_most_severe_match_wins() {
        assert_eq!(
            tier("I want to die. I have saved up the pills."),
            Some(Tier::Acute)
        );
        assert_eq!(
            tier("Giving away my things. I want to die."),
            Some(Tier::Ideation)
        );
    }

    #[test]
    fn negation_before_a_match_cancels_it_but_not_a_negation_inside_the_pattern() {
        assert_eq!(tier("I'm not suicidal, just exhausted."), None);
        assert_eq!(tier("I would never want to die over this."), None);
        assert_eq!(
            tier("I don't want to live like this."),
            Some(Tier::Ideation)
        );
    }

    #[test]
    fn the_shipped_lexicon_reads_strong_burdensomeness_and_hopelessness_as_indirect_risk_not_their_everyday_uses()
     {
        for risk in [
            "I'm nothing but a burden to them.",
            "Their lives would be easier without me in them.",
            "I've given up on getting better.",
            "Nothing is going to help me.",
            "I can't see any future.",
        ] {
            assert_eq!(shipped_tier(risk), Some(Tier::Indirect), "{risk}");
        }
        for everyday in [
            "No point ironing this shirt, it'll crease in the car.",
            "I'm hopeless at parallel parking.",
            "The burden of proof is on the landlord.",
            "They'd be better off without me on the team for this one.",
            "It'd be easier for everyone if I wasn't here on Saturday.",
            "There's nothing to look forward to this weekend, just chores.",
            "No future in that job, so I'm applying elsewhere.",
            "I don't see a future in this job.",
        ] {
            assert_eq!(shipped_tier(everyday), None, "{everyday}");
        }
    }

    #[test]
    fn someone_elses_words_count_as_indirect() {
        assert_eq!(
            tier("My friend said she wanted to die."),
            Some(Tier::Indirect)
        );
        assert_eq!(tier("She wants to die, she told me."), Some(Tier::Indirect));
        assert_eq!(
            tier("The song goes \"I want to die\" and it stuck."),
            Some(Tier::Indirect)
        );
        assert_eq!(tier("I told her I want to die."), Some(Tier::Ideation));
    }

    #[test]
    fn a_negation_in_an_earlier_clause_or_before_a_new_i_does_not_cancel() {
        assert_eq!(tier("I'm not okay, I want to die."), Some(Tier::Ideation));
        assert_eq!(tier("Not sleeping I want to die"), Some(Tier::Ideation));
        assert_eq!(tier("I do not want to die."), None);
    }

    #[test]
    fn shorthand_and_distant_subjects_are_read_the_way_a_person_would() {
        assert_eq!(
            tier("Told my therapist I want to die."),
            Some(Tier::Ideation)
        );
        assert_eq!(
            tier("My sister has been saying how she wants to die."),
            Some(Tier::Indirect)
        );
        assert_eq!(tier("She makes me want to die."), Some(Tier::Ideation));
    }

    #[test]
    fn an_exclusion_cancels_only_the_match_it_overlaps() {
        assert_eq!(tier("I wanted to die of embarrassment."), None);
        assert_eq!(
            tier("I wanted to die of embarrassment. I still want to die."),
            Some(Tier::Ideation)
        );
    }

    #[test]
    fn gaps_stems_and_apostrophes_follow_the_pattern_syntax() {
        assert_eq!(tier("I've saved a lot of tablets"), Some(Tier::Acute));
        assert_eq!(
            tier("I've saved far far too many of the tablets"),
            None,
            "a gap is at most 3 tokens"
        );
        assert_eq!(tier("I'm wanting to die"), Some(Tier::Ideation));
        assert_eq!(
            tier("Dying to see the film; this traffic is killing me."),
            None
        );
    }

    #[test]
    fn a_number_word_matches_numbers_from_its_floor() {
        let lexicon = SMALL.replace(
            r#"patterns = ["kill myself tonight", "saved * pills/tablets"]"#,
            r#"patterns = ["kill myself tonight", "took #10 pills/tablets"]"#,
        );
        let detector = Detector::from_toml(&lexicon).unwrap();
        let tier = |text: &str| detector.check(text).map(|f| f.tier);
        assert_eq!(tier("I took 40 tablets an hour ago"), Some(Tier::Acute));
        assert_eq!(tier("I took 10 pills"), Some(Tier::Acute));
        assert_eq!(tier("I took 2 tablets for my headache"), None);
        assert_eq!(tier("I took some tablets"), None);
    }

    #[test]
    fn parts_that_meet_fire_their_composition_and_parts_alone_do_not() {
        let lexicon = format!(
            "{SMALL}\n{}",
            r#"
[parts]
decision = ["ive decided", "made up my mind"]
ending = ["not come back", "end it"]
time = ["tonight", "saturday"]

[[compositions]]
category = "intent"
summary = "a decision with an ending"
needs = ["decision", "ending"]

[[compositions]]
category = "plan"
summary = "a time with an ending"
needs = ["time", "ending"]
"#
        );
        let detector = Detector::from_toml(&lexicon).unwrap();
        let found = |text: &str| detector.check(text).map(|f| f.category);
        assert_eq!(
            found("I've decided. I'll go and not come back."),
            Some(Category::Intent)
        );
        assert_eq!(
            found("Saturday. End it."),
            Some(Category::Plan),
            "neighbouring sentences"
        );
        assert_eq!(
            found("I've decided to repaint the kitchen."),
            None,
            "a part alone"
        );
        assert_eq!(
            found("I haven't decided. End it? No."),
            None,
            "a negated part does not count"
        );
        assert_eq!(
            found("Saturday was long. Lunch was nice. We talked about how to end it."),
            None,
            "parts two sentences apart do not meet"
        );
        assert_eq!(
            found("She said she would end it tonight."),
            None,
            "someone else's words are not the client's parts"
        );
    }

    #[test]
    fn a_match_never_crosses_a_sentence() {
        assert_eq!(tier("I want to. Die Hard is on tonight"), None);
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_pattern() {
        let bad = SMALL.replace("\"kill myself tonight\"", "\"I'm done\"");
        let err = Detector::from_toml(&bad).err().unwrap().to_string();
        assert!(err.contains("I'm done"), "{err}");
    }
}
