//! The client's own words, for theme labels: candidate words and two-word phrases from what
//! they wrote, scored by class-based TF-IDF (BERTopic's c-TF-IDF) of one group of entries
//! against the rest of their timeline. Everything returned is a phrase the client wrote.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// English stop words (the `stop-words` crate's ISO list) plus journal filler that says
/// nothing about a theme.
static STOP: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    let mut stop: HashSet<&'static str> = stop_words::get("en").iter().copied().collect();
    stop.extend([
        "today",
        "yesterday",
        "tonight",
        "really",
        "just",
        "felt",
        "feel",
        "feeling",
        "bit",
        "thing",
        "things",
        "got",
        "get",
        "went",
        "going",
        "kind",
        "lot",
        "day",
        "week",
        "time",
        "again",
        "still",
        "also",
        "maybe",
        "pretty",
        "quite",
        "little",
        "didn",
        "don",
        "doesn",
        "couldn",
        "wasn",
        "isn",
        "wouldn",
        "won",
        "ve",
        "ll",
        "im",
        "ive",
        "dont",
        "cant",
    ]);
    stop
});

/// One word as written and its lowercase form.
struct Word<'a> {
    surface: &'a str,
    lower: String,
}

/// The words of `text`, split at anything that is not a letter, a digit or an apostrophe;
/// sentence punctuation ends a run, so phrases never span two sentences.
fn runs(text: &str) -> Vec<Vec<Word<'_>>> {
    let mut runs = vec![Vec::new()];
    let mut start = None;
    fn push<'t>(text: &'t str, runs: &mut [Vec<Word<'t>>], from: usize, to: usize) {
        let surface = text[from..to].trim_matches(|c| c == '\'' || c == '’');
        if !surface.is_empty() {
            let lower = surface.to_lowercase().replace('’', "'");
            if let Some(run) = runs.last_mut() {
                run.push(Word { surface, lower });
            }
        }
    }
    for (at, c) in text.char_indices() {
        let in_word = c.is_alphanumeric() || c == '\'' || c == '’';
        match (in_word, start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                push(text, &mut runs, from, at);
                start = None;
            }
            _ => {}
        }
        if matches!(
            c,
            '.' | '!' | '?' | ';' | ':' | ',' | '\n' | '(' | ')' | '"' | '—'
        ) {
            runs.push(Vec::new());
        }
    }
    if let Some(from) = start {
        push(text, &mut runs, from, text.len());
    }
    runs
}

fn is_content(lower: &str) -> bool {
    let bare = lower.split('\'').next().unwrap_or(lower);
    lower.chars().count() >= 3
        && !lower.chars().all(|c| c.is_ascii_digit())
        && !STOP.contains(lower)
        && !STOP.contains(bare)
}

/// Candidate terms of one text: content words and two-word phrases of content words, keyed by
/// their lowercase form, with the first surface form seen.
pub fn terms(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for run in runs(text) {
        for (i, word) in run.iter().enumerate() {
            if !is_content(&word.lower) {
                continue;
            }
            found.push((word.lower.clone(), word.surface.to_string()));
            if let Some(next) = run.get(i + 1)
                && is_content(&next.lower)
            {
                let from = word.surface.as_ptr() as usize - text.as_ptr() as usize;
                let to =
                    next.surface.as_ptr() as usize - text.as_ptr() as usize + next.surface.len();
                found.push((
                    format!("{} {}", word.lower, next.lower),
                    text[from..to].to_string(),
                ));
            }
        }
    }
    found
}

/// Term counts of a group of texts, and the surface form each term was first written in.
#[derive(Default)]
pub struct Bag {
    pub counts: HashMap<String, f32>,
    pub surfaces: HashMap<String, String>,
    pub total: f32,
}

impl Bag {
    pub fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Bag {
        let mut bag = Bag::default();
        for text in texts {
            // A term counts once per entry: one long entry repeating a word is not a theme.
            let mut seen = HashSet::new();
            for (lower, surface) in terms(text) {
                if seen.insert(lower.clone()) {
                    *bag.counts.entry(lower.clone()).or_default() += 1.0;
                    bag.total += 1.0;
                    bag.surfaces.entry(lower).or_insert(surface);
                }
            }
        }
        bag
    }
}

/// c-TF-IDF: each class's terms scored by their frequency in the class (normalised by the
/// class's size) times log(1 + A / f), where A is the mean class size and f the term's
/// frequency over all classes. Returns, per class, its terms best first (lowercase form,
/// surface form, score), at most `top` of them. The last class is the background (the rest of
/// the timeline) and is not scored.
pub fn class_tf_idf(classes: &[Bag], top: usize) -> Vec<Vec<(String, String, f32)>> {
    let mut across: HashMap<&str, f32> = HashMap::new();
    for class in classes {
        for (term, count) in &class.counts {
            *across.entry(term.as_str()).or_default() += count;
        }
    }
    let mean_size = classes.iter().map(|c| c.total).sum::<f32>() / classes.len().max(1) as f32;
    let scored = classes.len().saturating_sub(1);
    classes[..scored]
        .iter()
        .map(|class| {
            // A word seen once in a group is not yet that group's word, unless the group is
            // too small to repeat itself.
            let least = if class.counts.values().any(|c| *c >= 2.0) {
                2.0
            } else {
                1.0
            };
            let mut scores: Vec<(String, String, f32)> = class
                .counts
                .iter()
                .filter(|(_, count)| **count >= least)
                .map(|(term, count)| {
                    let tf = count / class.total.max(1.0);
                    let idf = (1.0 + mean_size / across[term.as_str()]).ln();
                    let surface = class.surfaces[term].clone();
                    (term.clone(), surface, tf * idf)
                })
                .collect();
            scores.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
            scores.truncate(top);
            scores
        })
        .collect()
}

/// Picks up to `n` labels from ranked candidates, skipping a word already inside a chosen
/// phrase and a phrase made of chosen words.
pub fn pick_labels(ranked: &[(String, String)], n: usize) -> Vec<String> {
    let mut chosen: Vec<&(String, String)> = Vec::new();
    for candidate in ranked {
        let overlaps = chosen.iter().any(|(lower, _)| {
            lower.split(' ').any(|w| w == candidate.0) || candidate.0.split(' ').any(|w| w == lower)
        });
        if !overlaps {
            chosen.push(candidate);
        }
        if chosen.len() == n {
            break;
        }
    }
    chosen
        .into_iter()
        .map(|(_, surface)| surface.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_content_words_and_phrases_within_a_sentence() {
        let found: Vec<String> = terms("Sunday dread again. The Monday meeting, with Priya!")
            .into_iter()
            .map(|(_, surface)| surface)
            .collect();
        assert!(found.contains(&"Sunday dread".to_string()), "{found:?}");
        assert!(found.contains(&"Monday meeting".to_string()), "{found:?}");
        assert!(found.contains(&"Priya".to_string()), "{found:?}");
        assert!(
            !found.iter().any(|t| t == "dread Monday"),
            "phrases never span sentences"
        );
        assert!(!found.iter().any(|t| t == "The" || t == "again"));
    }

    #[test]
    fn a_groups_own_words_outrank_words_everyone_uses() {
        let group = Bag::of([
            "Sunday dread before the Monday meeting",
            "that Sunday dread again, meeting tomorrow",
            "dread about the meeting, work work work",
        ]);
        let rest = Bag::of([
            "Made pasta, work was fine",
            "Walked the dog after work",
            "work call then groceries",
        ]);
        let scored = class_tf_idf(&[group, rest], 5);
        let top: Vec<&str> = scored[0].iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(top[0], "dread", "{top:?}");
        let rank = |word: &str| top.iter().position(|t| *t == word).unwrap_or(usize::MAX);
        assert!(rank("meeting") < rank("work"), "{top:?}");
    }

    #[test]
    fn labels_do_not_repeat_a_word_inside_a_phrase() {
        let ranked = [
            ("sunday dread".to_string(), "Sunday dread".to_string()),
            ("dread".to_string(), "dread".to_string()),
            ("meeting".to_string(), "meeting".to_string()),
        ];
        assert_eq!(pick_labels(&ranked, 2), ["Sunday dread", "meeting"]);
    }
}
