//! How the crisis lexicon's patterns read a text: the tokenizer (lowercased words, apostrophes
//! dropped, sentences and clauses) and the matcher ("a/b", "*" gaps, "stem~", "#N" numbers),
//! with every pattern indexed by its first word. What a match means is `detect`'s concern.

use std::collections::HashMap;
use std::ops::Range;

#[derive(Debug, thiserror::Error)]
#[error("the crisis lexicon is invalid: {0}")]
pub struct LexiconError(pub(crate) String);

/// Patterns in the lexicon's syntax, indexed by their first word so that each token of a text is
/// tried only against the patterns that can start there.
pub struct Patterns {
    patterns: Vec<Vec<Slot>>,
    by_word: HashMap<String, Vec<usize>>,
    by_stem: Vec<(String, usize)>,
}

impl Patterns {
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<Patterns, LexiconError> {
        let patterns: Vec<Vec<Slot>> = patterns
            .iter()
            .map(|p| parse_pattern(p.as_ref()))
            .collect::<Result<_, _>>()?;
        let mut by_word: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_stem = Vec::new();
        for (i, pattern) in patterns.iter().enumerate() {
            // `parse_pattern` guarantees a word first.
            let Some(Slot::Words(words)) = pattern.first() else {
                continue;
            };
            for word in words {
                if word.at_least.is_some() {
                    // A number: tried at every token (an empty stem), checked by `matches`.
                    by_stem.push((String::new(), i));
                } else if word.stem {
                    by_stem.push((word.text.clone(), i));
                } else {
                    by_word.entry(word.text.clone()).or_default().push(i);
                }
            }
        }
        Ok(Patterns {
            patterns,
            by_word,
            by_stem,
        })
    }

    /// Where the patterns that match starting at `start` end, in no particular order.
    pub(super) fn matching_at<'a>(
        &'a self,
        tokens: &'a [Token],
        start: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        self.matches_at(tokens, start).map(|(_, end)| end)
    }

    /// Which patterns match starting at `start`, and where each match ends.
    pub(super) fn matches_at<'a>(
        &'a self,
        tokens: &'a [Token],
        start: usize,
    ) -> impl Iterator<Item = (usize, usize)> + 'a {
        let first = tokens[start].text.as_str();
        let exact = self.by_word.get(first).into_iter().flatten().copied();
        let stems = self
            .by_stem
            .iter()
            .filter(move |(stem, _)| first.starts_with(stem.as_str()))
            .map(|(_, i)| *i);
        exact
            .chain(stems)
            .filter_map(move |i| match_at(&self.patterns[i], tokens, start).map(|end| (i, end)))
    }

    /// Whether a match covers any token in `span`.
    pub(super) fn overlaps(&self, tokens: &[Token], span: Range<usize>) -> bool {
        (0..tokens.len()).any(|start| {
            self.matching_at(tokens, start)
                .any(|end| start < span.end && span.start < end)
        })
    }

    /// Whether any pattern matches anywhere in `words` (one sentence's tokens).
    pub fn any_in(&self, words: &[String]) -> bool {
        let tokens: Vec<Token> = words
            .iter()
            .map(|w| Token {
                text: w.clone(),
                quoted: false,
                clause_start: false,
                bytes: 0..0,
            })
            .collect();
        (0..tokens.len()).any(|start| self.matching_at(&tokens, start).next().is_some())
    }
}

/// The normalised tokens of `text` taken as one sentence (as the matcher reads it).
pub fn words(text: &str) -> Vec<String> {
    sentences(&text.replace(['.', '!', '?', ';', '\n'], " "))
        .into_iter()
        .flatten()
        .map(|t| t.text)
        .collect()
}

/// One position of a pattern.
#[derive(Debug)]
enum Slot {
    /// Any of these words; a trailing `~` makes a word a stem.
    Words(Vec<Word>),
    /// Zero to three arbitrary tokens.
    Gap,
}

#[derive(Debug)]
struct Word {
    text: String,
    stem: bool,
    /// `#N`: any number of at least N ("40" for `#10`), however it is written in digits.
    at_least: Option<u64>,
}

impl Word {
    fn matches(&self, token: &str) -> bool {
        if let Some(floor) = self.at_least {
            token.parse::<u64>().is_ok_and(|n| n >= floor)
        } else if self.stem {
            token.starts_with(&self.text)
        } else {
            token == self.text
        }
    }
}

/// The most words a `*` in a pattern stands for.
const MAX_GAP: usize = 3;

/// The end of a match of `pattern` starting at `start`, trying every gap length.
fn match_at(pattern: &[Slot], tokens: &[Token], start: usize) -> Option<usize> {
    let Some((first, rest)) = pattern.split_first() else {
        return Some(start);
    };
    match first {
        Slot::Gap => (0..=MAX_GAP)
            .filter(|n| start + n <= tokens.len())
            .find_map(|n| match_at(rest, tokens, start + n)),
        Slot::Words(words) => {
            let token = tokens.get(start)?;
            if words.iter().any(|w| w.matches(&token.text)) {
                match_at(rest, tokens, start + 1)
            } else {
                None
            }
        }
    }
}

fn parse_pattern(pattern: &str) -> Result<Vec<Slot>, LexiconError> {
    let mut slots = Vec::new();
    for part in pattern.split_whitespace() {
        if part == "*" {
            slots.push(Slot::Gap);
            continue;
        }
        let words = part
            .split('/')
            .map(|alt| {
                if let Some(floor) = alt.strip_prefix('#') {
                    let at_least = floor.parse().map_err(|_| {
                        LexiconError(format!("pattern {pattern:?}: {alt:?} must be # and a number"))
                    })?;
                    return Ok(Word { text: alt.into(), stem: false, at_least: Some(at_least) });
                }
                let (text, stem) = match alt.strip_suffix('~') {
                    Some(stem) => (stem, true),
                    None => (alt, false),
                };
                if text.is_empty() || !text.chars().all(|c| c.is_lowercase() || c.is_ascii_digit()) {
                    return Err(LexiconError(format!(
                        "pattern {pattern:?}: {alt:?} must be lowercase letters or digits (write `im`, not `i'm`)"
                    )));
                }
                Ok(Word { text: text.to_string(), stem, at_least: None })
            })
            .collect::<Result<Vec<_>, _>>()?;
        slots.push(Slot::Words(words));
    }
    match (slots.first(), slots.last()) {
        (Some(Slot::Words(_)), Some(Slot::Words(_))) => Ok(slots),
        _ => Err(LexiconError(format!(
            "pattern {pattern:?} must start and end with a word"
        ))),
    }
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub text: String,
    /// Inside quotation marks.
    pub quoted: bool,
    /// The first word after a comma, colon or dash: a new clause.
    pub clause_start: bool,
    /// Where it stands in the text.
    pub bytes: Range<usize>,
}

/// Dialect spellings of the words the patterns are written with (Scots, Geordie, Yorkshire,
/// Irish), read as those words so that every pattern holds for them: "gannin tae do mesel in" is
/// "going to do myself in". Only spellings with no other meaning a pattern could take.
const DIALECT_SPELLINGS: [(&str, &str); 11] = [
    ("meself", "myself"),
    ("mesel", "myself"),
    ("masel", "myself"),
    ("maself", "myself"),
    ("mysel", "myself"),
    ("missen", "myself"),
    ("gannin", "going"),
    ("gaun", "going"),
    ("gonnae", "gonna"),
    ("tae", "to"),
    ("intae", "into"),
];

fn standard_spelling(word: String) -> String {
    match DIALECT_SPELLINGS
        .iter()
        .find(|(dialect, _)| *dialect == word)
    {
        Some((_, standard)) => (*standard).to_string(),
        None => word,
    }
}

/// Lowercased tokens per sentence: apostrophes dropped (`i'm` → `im`), dialect spellings read as
/// the standard word ([`DIALECT_SPELLINGS`]), other punctuation splits words, `. ! ? ;` and line
/// breaks end a sentence, quotation marks toggle `quoted`.
pub(super) fn sentences(text: &str) -> Vec<Vec<Token>> {
    let mut sentences = Vec::new();
    let mut current = Vec::new();
    let mut word = String::new();
    // Where the word being read stands in the text.
    let mut span = 0..0;
    let mut quoted = false;
    let mut clause_start = false;
    let flush_word = |word: &mut String,
                      span: &Range<usize>,
                      current: &mut Vec<Token>,
                      quoted: bool,
                      clause_start: &mut bool| {
        if !word.is_empty() {
            current.push(Token {
                text: standard_spelling(std::mem::take(word)),
                quoted,
                clause_start: *clause_start,
                bytes: span.clone(),
            });
            *clause_start = false;
        }
    };
    for (at, c) in text.char_indices() {
        match c {
            '\'' | '\u{2019}' | '\u{2018}' => {}
            '"' | '\u{201C}' | '\u{201D}' => {
                flush_word(&mut word, &span, &mut current, quoted, &mut clause_start);
                quoted = !quoted;
            }
            ',' | ':' | '\u{2014}' | '\u{2013}' => {
                flush_word(&mut word, &span, &mut current, quoted, &mut clause_start);
                clause_start = true;
            }
            '.' | '!' | '?' | ';' | '\n' => {
                flush_word(&mut word, &span, &mut current, quoted, &mut clause_start);
                clause_start = false;
                if !current.is_empty() {
                    sentences.push(std::mem::take(&mut current));
                }
                if c == '\n' {
                    quoted = false;
                }
            }
            c if c.is_alphanumeric() => {
                if word.is_empty() {
                    span.start = at;
                }
                span.end = at + c.len_utf8();
                word.extend(c.to_lowercase());
            }
            _ => flush_word(&mut word, &span, &mut current, quoted, &mut clause_start),
        }
    }
    flush_word(&mut word, &span, &mut current, quoted, &mut clause_start);
    if !current.is_empty() {
        sentences.push(current);
    }
    sentences
}
