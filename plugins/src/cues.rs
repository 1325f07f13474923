//! Matching a pattern's `cues` against what the client wrote: a cue matches when its words
//! appear one after another in the text, as whole words, ignoring case and apostrophes ("I'm"
//! is `im`). What a match means is only "this sentence has a phrase to look at together" under
//! the plugin's heading: never that the client "has" a trap or a defence.

use crate::format::Pattern;

/// Lowercase words with apostrophes dropped; every other mark separates words.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['\'', '\u{2019}'], "")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `cue` appears in `text_words` as consecutive whole words.
pub fn cue_matches(cue: &str, text_words: &[String]) -> bool {
    let cue = words(cue);
    !cue.is_empty()
        && text_words
            .windows(cue.len())
            .any(|window| window == cue.as_slice())
}

/// The cues of `pattern` found in `text`.
pub fn matched_cues<'a>(pattern: &'a Pattern, text: &str) -> Vec<&'a str> {
    let text_words = words(text);
    pattern
        .cues
        .get_ref()
        .iter()
        .filter(|cue| cue_matches(cue, &text_words))
        .map(String::as_str)
        .collect()
}

/// Words that match far too much of ordinary life to be a cue on their own.
pub const EVERYDAY_ALONE: &[&str] = &[
    "always",
    "never",
    "whatever",
    "what if",
    "every time",
    "everyone",
    "nobody",
    "should",
    "must",
    "numb",
    "avoided",
    "a drink",
    "ruined",
    "disaster",
    "the worst",
    "exhausted",
    "dismissed",
    "left me",
    "back then",
    "if only",
    "stayed home",
    "except for",
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::builtin::BUILT_INS;

    #[derive(Deserialize)]
    struct Labelled {
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        text: String,
        patterns: Vec<String>,
    }

    #[test]
    fn a_cue_matches_whole_words_in_order_ignoring_case_and_apostrophes() {
        let text = words("I’m such an idiot. What's wrong with me?");
        assert!(cue_matches("I'm such a", &words("I'm such a mess")));
        assert!(cue_matches("what's wrong with me", &text));
        assert!(!cue_matches("idiot what", &words("an idiotwhat")));
        assert!(!cue_matches("never", &words("nevertheless")));
    }

    #[test]
    fn no_built_in_cue_is_an_everyday_word_on_its_own() {
        for built_in in BUILT_INS {
            for pattern in built_in.load().unwrap().patterns {
                for cue in pattern.cues.get_ref() {
                    assert!(
                        !EVERYDAY_ALONE.contains(&words(cue).join(" ").as_str()),
                        "{}/{}: {cue:?} matches ordinary entries on its own",
                        built_in.id,
                        pattern.id.get_ref()
                    );
                }
            }
        }
    }

    /// Precision and recall of every built-in pattern on `plugins/eval/patterns.toml`, printed
    /// (`cargo test -p interlude-plugins cue -- --nocapture`); fails below the floors.
    #[test]
    fn cue_matching_is_measured_per_pattern_on_the_labelled_set() {
        let text = include_str!("../eval/patterns.toml");
        let labelled: Labelled = toml::from_str(text).unwrap();
        let mut counts: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
        for built_in in BUILT_INS {
            for pattern in built_in.load().unwrap().patterns {
                let id = format!("{}/{}", built_in.id, pattern.id.get_ref());
                let entry = counts.entry(id.clone()).or_default();
                for case in &labelled.cases {
                    let cues = matched_cues(&pattern, &case.text);
                    let found = !cues.is_empty();
                    let meant = case.patterns.contains(&id);
                    if found != meant && std::env::var_os("INTERLUDE_CUE_MISSES").is_some() {
                        let what = if found { "false match" } else { "missed" };
                        println!("  {id} {what} {cues:?}: {}", case.text);
                    }
                    match (found, meant) {
                        (true, true) => entry.0 += 1,
                        (true, false) => entry.1 += 1,
                        (false, true) => entry.2 += 1,
                        (false, false) => {}
                    }
                }
            }
        }
        let ratio = |a: u32, b: u32| {
            if a + b == 0 {
                1.0
            } else {
                f64::from(a) / f64::from(a + b)
            }
        };
        println!("| pattern | precision | recall | (tp, fp, fn) |\n|---|---|---|---|");
        let (mut tp, mut fp, mut missed) = (0, 0, 0);
        for (id, (t, f, m)) in &counts {
            println!(
                "| {id} | {:.2} | {:.2} | ({t}, {f}, {m}) |",
                ratio(*t, *f),
                ratio(*t, *m)
            );
            (tp, fp, missed) = (tp + t, fp + f, missed + m);
        }
        let (precision, recall) = (ratio(tp, fp), ratio(tp, missed));
        println!("| all | {precision:.2} | {recall:.2} | ({tp}, {fp}, {missed}) |");
        assert!(precision >= 0.85, "overall precision {precision:.2}");
        assert!(recall >= 0.60, "overall recall {recall:.2}");
    }
}
