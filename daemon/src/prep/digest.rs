//! The digest: the generator writes a sentence or two into each fixed field (what kept coming
//! up, what seemed to help, what the client might bring) from facts and quotes the pipeline
//! hands it, through checked generation (`summary`: flagged text never reaches the model, every
//! sentence passes the output rules). Each kept sentence is then checked for grounding: close
//! in meaning to an entry it was written from, and no name, number or vocabulary word that the
//! facts and entries do not have. Ungrounded sentences are dropped and counted.

use tokio::sync::mpsc;

use crate::domain::contains_phrase;
use crate::models::generator::{Params, Sampling};
use crate::search::dot;
use crate::summary::{Ask, Summariser, Written};

use super::Prep;
use super::packet::{Digest, Patterns, Quote};

/// A sentence at least this close in meaning to one of the entries it was written from is
/// grounded in them (all-MiniLM-L6-v2; a fair one-line summary of an entry scores ~0.4–0.7).
pub const GROUNDED_SIMILARITY: f32 = 0.3;
const MAX_TOKENS: usize = 80;

struct Field {
    name: &'static str,
    instruction: &'static str,
    facts: Vec<String>,
    quotes: Vec<Quote>,
}

pub async fn write(
    prep: &Prep,
    patterns: &Patterns,
    written: Option<mpsc::Sender<(String, String)>>,
) -> Digest {
    let mut digest = Digest::default();
    if !prep.generation.installed() {
        digest.notice = "The generator is not installed (`interlude models fetch`): the packet \
                         has no digest; everything else is complete."
            .into();
        return digest;
    }
    // The client's vocabulary words, read once: no digest sentence may bring one in unsourced.
    let vocabulary: Vec<String> = prep
        .timeline
        .list_terms(None)
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.word)
        .collect();
    for field in fields(patterns) {
        if field.quotes.is_empty() && field.facts.is_empty() {
            continue;
        }
        let (sentences, dropped) = write_field(prep, &field, &vocabulary).await;
        digest.dropped += dropped;
        for sentence in &sentences {
            if let Some(tx) = &written {
                let _ = tx.send((field.name.to_string(), sentence.clone())).await;
            }
        }
        if !sentences.is_empty() {
            let from = field.quotes.iter().map(|q| q.id.clone()).collect();
            digest.written_from.insert(field.name.to_string(), from);
        }
        match field.name {
            "kept_coming_up" => digest.kept_coming_up = sentences,
            "seemed_to_help" => digest.seemed_to_help = sentences,
            _ => digest.might_bring = sentences,
        }
    }
    digest
}

fn fields(patterns: &Patterns) -> Vec<Field> {
    let top: Vec<_> = patterns.themes.iter().take(3).collect();
    let helped: Vec<String> = patterns
        .follow_through
        .iter()
        .map(|f| format!("The client did the exercise \"{}\".", f.title))
        .collect();
    let looping: Vec<String> = patterns
        .themes
        .iter()
        .filter(|t| t.looping.is_some())
        .map(|t| {
            format!(
                "Something kept coming back without changing: {}.",
                t.label.join(", ")
            )
        })
        .collect();
    vec![
        Field {
            name: "kept_coming_up",
            instruction: "In one or two short sentences, say what kept coming up in these entries, \
                addressing the client as \"you\". Use only the facts and entries given. Give no advice.",
            facts: top
                .iter()
                .map(|t| {
                    format!(
                        "Something that kept coming up, in the client's words: {}.",
                        t.label.join(", ")
                    )
                })
                .collect(),
            quotes: top
                .iter()
                .filter_map(|t| t.quotes.first().cloned())
                .collect(),
        },
        Field {
            name: "seemed_to_help",
            instruction: "In one short sentence, say what the client did or wrote that they marked \
                as helpful, addressing them as \"you\". Use only the facts and entries given. Give no advice.",
            facts: helped,
            quotes: patterns.helpful.iter().rev().take(4).cloned().collect(),
        },
        Field {
            name: "might_bring",
            instruction: "In one short sentence, say what the client marked to bring to their next \
                session, addressing them as \"you\". Use only the facts and entries given. Give no advice.",
            facts: looping,
            quotes: patterns.brought.iter().take(4).cloned().collect(),
        },
    ]
}

/// One field's kept sentences and how many were dropped (by the output rules or ungrounded).
async fn write_field(prep: &Prep, field: &Field, vocabulary: &[String]) -> (Vec<String>, u32) {
    let summariser = Summariser {
        generation: &prep.generation,
        timeline: &prep.timeline,
        detector: &prep.detector,
        rules: &prep.rules,
    };
    let ask = Ask {
        facts: field
            .facts
            .iter()
            .take(crate::summary::MAX_FACTS)
            .cloned()
            .collect(),
        reflection_ids: field
            .quotes
            .iter()
            .take(crate::summary::MAX_REFLECTIONS)
            .map(|q| q.id.clone())
            .collect(),
        instruction: field.instruction.into(),
        params: Params {
            max_tokens: MAX_TOKENS,
            sampling: Sampling::Greedy,
            stop: Vec::new(),
        },
    };
    let Ok(mut events) = summariser.write(ask) else {
        return (Vec::new(), 0);
    };
    let mut sentences = Vec::new();
    let mut dropped = 0;
    while let Some(event) = events.recv().await {
        match event {
            Written::Sentence(s) => sentences.push(s),
            Written::Done { dropped: d, .. } => {
                dropped += d.len() as u32;
                break;
            }
            Written::Failed(_) => break,
            Written::Started { .. } => {}
        }
    }
    let sources: Vec<String> = field
        .facts
        .iter()
        .cloned()
        .chain(field.quotes.iter().map(|q| q.text.clone()))
        .collect();
    let source_vectors = prep
        .embed_map(field.quotes.iter().map(|q| q.text.clone()).collect())
        .await;
    let sentence_vectors = prep.embed_map(sentences.clone()).await;
    let mut kept = Vec::new();
    for sentence in sentences {
        let close = field.quotes.is_empty()
            || sentence_vectors.get(&sentence).is_some_and(|v| {
                source_vectors
                    .values()
                    .any(|s| dot(v, s) >= GROUNDED_SIMILARITY)
            });
        let words = grounded_words(&sentence, &sources, vocabulary.iter().map(String::as_str));
        if close && words && !copies(&sentence, &field.quotes) {
            kept.push(sentence);
        } else {
            dropped += 1;
        }
    }
    (kept, dropped)
}

/// A sentence that repeats eight or more words of an entry in a row is a copy, not a summary:
/// the quotes are in the packet already, where the client sees them as theirs.
pub fn copies(sentence: &str, quotes: &[Quote]) -> bool {
    const RUN: usize = 8;
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let said = words(sentence);
    if said.len() < RUN {
        return false;
    }
    quotes.iter().any(|q| {
        let source = words(&q.text);
        said.windows(RUN)
            .any(|run| source.windows(RUN).any(|s| s == run))
    })
}

/// Whether every name (a capitalised word past a sentence's first), number and vocabulary word
/// in `sentence` is in one of `sources`.
pub fn grounded_words<'a>(
    sentence: &str,
    sources: &[String],
    vocabulary: impl Iterator<Item = &'a str>,
) -> bool {
    let haystack = sources.join("\n").to_lowercase();
    let words: Vec<&str> = sentence
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let names_and_numbers = words.iter().enumerate().filter(|(i, w)| {
        let capitalised = w.chars().next().is_some_and(char::is_uppercase) && *i > 0 && **w != "I";
        capitalised || w.chars().any(|c| c.is_ascii_digit())
    });
    for (_, word) in names_and_numbers {
        if !contains_phrase(&haystack, &word.to_lowercase()) {
            return false;
        }
    }
    let lower = sentence.to_lowercase();
    vocabulary
        .map(str::to_lowercase)
        .filter(|v| contains_phrase(&lower, v))
        .all(|v| contains_phrase(&haystack, &v))
}

#[cfg(test)]
mod tests {
    use super::{copies, grounded_words};
    use crate::prep::packet::Quote;

    #[test]
    fn a_sentence_repeating_an_entry_is_a_copy() {
        let quote = Quote {
            id: "A".into(),
            moment: 0,
            text: "Fell out with Dana about the holiday plans and I avoided her until she went to bed.".into(),
        };
        let quotes = [quote];
        assert!(copies(
            "- \"Fell out with Dana about the holiday plans and I avoided her",
            &quotes
        ));
        assert!(!copies(
            "You wrote about falling out with Dana over holiday plans.",
            &quotes
        ));
    }

    #[test]
    fn a_name_or_number_the_entries_do_not_have_is_ungrounded() {
        let sources = vec!["Sunday dread before the meeting with Priya.".to_string()];
        let none = std::iter::empty();
        assert!(grounded_words(
            "You wrote about dread before meeting Priya.",
            &sources,
            none
        ));
        assert!(!grounded_words(
            "You wrote about Sam.",
            &sources,
            std::iter::empty()
        ));
        assert!(!grounded_words(
            "It came up 5 times.",
            &sources,
            std::iter::empty()
        ));
        assert!(!grounded_words(
            "You wrote about the critic.",
            &sources,
            ["critic"].into_iter()
        ));
    }
}
