//! The word half of search: BM25 (k1 = 1.2, b = 0.75) over the decrypted reflections in the
//! window, with a small English stop list and a crude suffix fold ("sleeping" ~ "sleep"), then
//! scaled so the best match in the window scores 1. Simple on purpose: the meaning half catches
//! what words miss.

use std::collections::{HashMap, HashSet};

const K1: f32 = 1.2;
const B: f32 = 0.75;

const STOP: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "do", "for", "from", "had", "has",
    "have", "he", "her", "his", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on",
    "or", "our", "she", "so", "that", "the", "their", "them", "then", "there", "they", "this",
    "to", "was", "we", "were", "what", "when", "with", "you", "your",
];

/// Lower-cased word stems, stop words dropped.
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty() && !STOP.contains(&w.as_str()))
        .map(|w| fold(&w))
        .collect()
}

/// Folds common English suffixes so inflections meet; never below three letters.
fn fold(word: &str) -> String {
    for suffix in ["ing", "ed", "es", "s", "ly"] {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.chars().count() >= 3
        {
            return stem.to_string();
        }
    }
    word.to_string()
}

/// BM25 of `query` against every document, each scaled by the best (all 0 when nothing matches).
pub fn scores(query: &str, documents: &[&str]) -> Vec<f32> {
    let query: HashSet<String> = terms(query).into_iter().collect();
    if query.is_empty() || documents.is_empty() {
        return vec![0.0; documents.len()];
    }
    let docs: Vec<Vec<String>> = documents.iter().map(|d| terms(d)).collect();
    let average = docs.iter().map(Vec::len).sum::<usize>() as f32 / docs.len() as f32;
    let n = docs.len() as f32;
    let idf: HashMap<&String, f32> = query
        .iter()
        .map(|q| {
            let df = docs.iter().filter(|d| d.contains(q)).count() as f32;
            (q, ((n - df + 0.5) / (df + 0.5) + 1.0).ln())
        })
        .collect();
    let raw: Vec<f32> = docs
        .iter()
        .map(|d| {
            let len_norm = 1.0 - B + B * d.len() as f32 / average.max(1.0);
            idf.iter()
                .map(|(q, idf)| {
                    let tf = d.iter().filter(|t| t == q).count() as f32;
                    idf * tf * (K1 + 1.0) / (tf + K1 * len_norm)
                })
                .sum()
        })
        .collect();
    let best = raw.iter().copied().fold(0.0f32, f32::max);
    raw.iter()
        .map(|s| if best > 0.0 { s / best } else { 0.0 })
        .collect()
}

/// About `width` characters of `text` around the first word that matches the query (or from the
/// start), on word boundaries, with "…" where it was cut.
pub fn snippet(text: &str, query: &str, width: usize) -> String {
    let wanted: HashSet<String> = terms(query).into_iter().collect();
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let words: Vec<&str> = flat.split(' ').collect();
    let hit = words
        .iter()
        .position(|w| terms(w).iter().any(|t| wanted.contains(t)))
        .unwrap_or(0);
    let mut start = hit.saturating_sub(6);
    let mut out = String::new();
    // Step back to the start when the hit is close to it anyway.
    if words[..start].iter().map(|w| w.len() + 1).sum::<usize>() < width / 4 {
        start = 0;
    }
    let mut end = start;
    while end < words.len() && out.chars().count() + words[end].chars().count() < width {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(words[end]);
        end += 1;
    }
    if end == start && end < words.len() {
        out = words[end].chars().take(width).collect();
        end += 1;
    }
    format!(
        "{}{out}{}",
        if start > 0 { "…" } else { "" },
        if end < words.len() { "…" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_with_the_rarer_matching_word_scores_highest() {
        let s = scores(
            "sleeping badly",
            &[
                "I slept fine",
                "Sleeping badly again, third night",
                "work was busy",
            ],
        );
        assert_eq!(s[1], 1.0);
        assert_eq!(s[2], 0.0);
    }

    #[test]
    fn a_snippet_centres_on_the_match_and_marks_cuts() {
        let text = "one two three four five six seven eight nine ten eleven twelve thirteen \
                    fourteen fifteen sixteen seventeen eighteen nineteen twenty dentist appointment \
                    twentyone twentytwo";
        let s = snippet(text, "dentist", 60);
        assert!(s.starts_with('…') && s.contains("dentist"), "{s}");
        assert_eq!(snippet("short entry", "nothing", 60), "short entry");
    }
}
