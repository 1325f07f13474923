//! What the client did and named: vocabulary terms and when they came up, exercises done (when,
//! never how well), and each plugin's `[prep] sections` — an exercise's runs side by side, or a
//! pattern's matches as the client's own sentences to look at together. Nothing here says the
//! client "has" a pattern: that reading belongs to the room.

use std::collections::{BTreeMap, HashMap};

use interlude_plugins::Catalog;
use interlude_plugins::format::{Exercise, Pattern};

use crate::domain::{Kind, Reflection, Term, TermKind, contains_phrase};
use crate::search::dot;

use super::packet::{FollowThrough, Quote, Run, Section, SectionBody, TermUse};
use super::themes::{emotions_of, quote};

/// An entry whose vector is at least this close to one of a pattern's exemplars matches it by
/// meaning (all-MiniLM-L6-v2; paraphrases of an exemplar score about 0.5–0.8).
pub const EXEMPLAR_SIMILARITY: f32 = 0.55;
const MAX_MATCHES: usize = 12;

fn kind_name(kind: TermKind) -> &'static str {
    match kind {
        TermKind::Part => "part",
        TermKind::Anchor => "anchor",
        TermKind::Trigger => "trigger",
        TermKind::Value => "value",
        TermKind::Person => "person",
    }
}

/// How often each vocabulary term came up, with which emotions and when.
pub fn vocabulary(terms: &[Term], entries: &[&Reflection]) -> Vec<TermUse> {
    let mut uses: Vec<TermUse> = terms
        .iter()
        .filter_map(|term| {
            let with: Vec<&Reflection> = entries
                .iter()
                .copied()
                .filter(|r| r.term_ids.contains(&term.id))
                .collect();
            if with.is_empty() {
                return None;
            }
            let mut moments: Vec<i64> = with.iter().map(|r| r.moment).collect();
            moments.sort_unstable();
            Some(TermUse {
                kind: kind_name(term.kind).into(),
                word: term.word.clone(),
                entries: with.len() as u32,
                emotions: emotions_of(&with).0,
                moments,
            })
        })
        .collect();
    uses.sort_by(|a, b| b.entries.cmp(&a.entries).then_with(|| a.word.cmp(&b.word)));
    uses
}

/// Exercises done in the window, by exercise.
pub fn follow_through(catalog: &Catalog, entries: &[&Reflection]) -> Vec<FollowThrough> {
    let mut done: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for r in entries.iter().filter(|r| r.kind == Kind::Exercise) {
        done.entry((r.plugin_id.clone(), r.exercise_id.clone()))
            .or_default()
            .push(r.moment);
    }
    done.into_iter()
        .map(|((plugin_id, exercise_id), mut moments)| {
            moments.sort_unstable();
            let title = exercise(catalog, &plugin_id, &exercise_id)
                .map_or_else(|| exercise_id.clone(), |e| e.title.clone());
            FollowThrough {
                plugin_id,
                exercise_id,
                title,
                moments,
            }
        })
        .collect()
}

fn exercise<'a>(catalog: &'a Catalog, plugin: &str, id: &str) -> Option<&'a Exercise> {
    catalog
        .get(plugin)?
        .plugin
        .exercises
        .iter()
        .find(|e| e.id.get_ref() == id)
}

/// The vectors a section needs besides the entries': one per pattern exemplar, by its text.
pub fn exemplars(catalog: &Catalog) -> Vec<String> {
    catalog
        .plugins
        .iter()
        .flat_map(|e| e.plugin.patterns.iter())
        .flat_map(|p| p.exemplars.get_ref().iter().cloned())
        .collect()
}

/// Every plugin's sections, in its own order; sections with nothing in the window are left out.
pub fn sections(
    catalog: &Catalog,
    entries: &[&Reflection],
    vectors: &HashMap<String, Vec<f32>>,
    exemplar_vectors: &HashMap<String, Vec<f32>>,
) -> Vec<Section> {
    let mut out = Vec::new();
    for entry in &catalog.plugins {
        let plugin = &entry.plugin;
        let plugin_id = entry.id();
        for name in &plugin.prep.sections {
            let name = name.get_ref();
            let body = if let Some(ex) = plugin.exercises.iter().find(|e| e.id.get_ref() == name) {
                runs(plugin_id, ex, entries).map(|body| (ex.title.clone(), body))
            } else if let Some(p) = plugin.patterns.iter().find(|p| p.id.get_ref() == name) {
                phrases(p, entries, vectors, exemplar_vectors).map(|body| (p.name.clone(), body))
            } else {
                None
            };
            if let Some((title, body)) = body {
                out.push(Section {
                    id: format!("{plugin_id}/{name}"),
                    plugin: plugin.meta.name.clone(),
                    title,
                    body,
                });
            }
        }
    }
    out
}

/// An exercise's runs in the window, oldest first, one column per step anyone answered.
fn runs(plugin_id: &str, exercise: &Exercise, entries: &[&Reflection]) -> Option<SectionBody> {
    let mut done: Vec<&Reflection> = entries
        .iter()
        .copied()
        .filter(|r| r.plugin_id == plugin_id && r.exercise_id == exercise.id.get_ref().as_str())
        .collect();
    if done.is_empty() {
        return None;
    }
    done.sort_by_key(|r| r.moment);
    let answered: Vec<&interlude_plugins::format::Step> = exercise
        .steps
        .iter()
        .filter(|s| {
            done.iter().any(|r| {
                r.answers
                    .iter()
                    .any(|a| a.step_id == *s.id.get_ref() && !a.value.trim().is_empty())
            })
        })
        .collect();
    let rows = done
        .iter()
        .map(|r| Run {
            id: r.id.clone(),
            moment: r.moment,
            cells: answered
                .iter()
                .map(|s| {
                    r.answers
                        .iter()
                        .find(|a| a.step_id == *s.id.get_ref())
                        .map(|a| a.value.clone())
                        .unwrap_or_default()
                })
                .collect(),
        })
        .collect();
    Some(SectionBody::Runs {
        columns: answered.iter().map(|s| s.prompt.clone()).collect(),
        rows,
    })
}

/// The sentences of the window that carry one of the pattern's cues (whole words), and the
/// entries whose meaning is close to one of its exemplars.
fn phrases(
    pattern: &Pattern,
    entries: &[&Reflection],
    vectors: &HashMap<String, Vec<f32>>,
    exemplar_vectors: &HashMap<String, Vec<f32>>,
) -> Option<SectionBody> {
    let cues: Vec<String> = pattern
        .cues
        .get_ref()
        .iter()
        .map(|c| c.to_lowercase())
        .collect();
    let exemplars: Vec<&Vec<f32>> = pattern
        .exemplars
        .get_ref()
        .iter()
        .filter_map(|e| exemplar_vectors.get(e))
        .collect();
    let mut matches: Vec<Quote> = Vec::new();
    for r in entries {
        let by_cue: Vec<&str> = sentences(&r.text)
            .into_iter()
            .filter(|s| {
                let lower = s.to_lowercase();
                cues.iter().any(|c| contains_phrase(&lower, c))
            })
            .collect();
        if !by_cue.is_empty() {
            matches.push(Quote {
                id: r.id.clone(),
                moment: r.moment,
                text: by_cue.join(" "),
            });
        } else if let Some(v) = vectors.get(&r.id)
            && exemplars.iter().any(|e| dot(e, v) >= EXEMPLAR_SIMILARITY)
        {
            matches.push(quote(r));
        }
    }
    if matches.is_empty() {
        return None;
    }
    matches.sort_by_key(|q| q.moment);
    matches.truncate(MAX_MATCHES);
    Some(SectionBody::Phrases {
        about: pattern.about.clone(),
        matches,
    })
}

/// A text's sentences, trimmed.
fn sentences(text: &str) -> Vec<&str> {
    text.split_inclusive(['.', '!', '?', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}
