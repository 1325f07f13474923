//! What the client did and named: vocabulary terms and when they came up, exercises done (when,
//! never how well), and each plugin's `[prep] sections` — an exercise's runs side by side, or a
//! pattern's matches as the client's own sentences to look at together. Nothing here says the
//! client "has" a pattern: that reading belongs to the room.

use std::collections::{BTreeMap, HashMap};

use interlude_plugins::format::{Exercise, Pattern};
use interlude_plugins::{Catalog, cues};

use crate::domain::{Kind, Reflection, Term, TermKind};
use crate::search::dot;

use super::packet::{
    FollowThrough, Measure, MeasurePoint, Quote, Run, Section, SectionBody, TermUse,
};
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
        for pair in &plugin.prep.pairs {
            let find = |id: &str| plugin.exercises.iter().find(|e| e.id.get_ref() == id);
            let (Some(first), Some(then)) = (find(pair.first.get_ref()), find(pair.then.get_ref()))
            else {
                continue;
            };
            if let Some(body) = paired(plugin_id, first, then, pair.on.get_ref(), entries) {
                out.push(Section {
                    id: format!("{plugin_id}/{}+{}", first.id.get_ref(), then.id.get_ref()),
                    plugin: plugin.meta.name.clone(),
                    title: format!("{}, beside {}", then.title, first.title),
                    body,
                });
            }
        }
    }
    out
}

/// Each run of `then` beside the latest run of `first` before it whose answer to step `on` is
/// the same (ignoring case and spacing); `first`'s columns come first, marked with its title.
fn paired(
    plugin_id: &str,
    first: &Exercise,
    then: &Exercise,
    on: &str,
    entries: &[&Reflection],
) -> Option<SectionBody> {
    let (
        Some(SectionBody::Runs {
            columns: before,
            rows: plans,
        }),
        Some(SectionBody::Runs {
            columns: after,
            rows: reviews,
        }),
    ) = (
        runs(plugin_id, first, entries),
        runs(plugin_id, then, entries),
    )
    else {
        return None;
    };
    let key = |id: &str| -> String {
        entries
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.answers.iter().find(|a| a.step_id == on))
            .map(|a| {
                a.value
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            })
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    for review in reviews {
        let wanted = key(&review.id);
        let plan = plans
            .iter()
            .filter(|p| p.moment <= review.moment && !wanted.is_empty() && key(&p.id) == wanted)
            .max_by_key(|p| p.moment);
        let Some(plan) = plan else { continue };
        rows.push(Run {
            id: review.id.clone(),
            linked: Some(plan.id.clone()),
            moment: review.moment,
            cells: plan.cells.iter().chain(&review.cells).cloned().collect(),
        });
    }
    if rows.is_empty() {
        return None;
    }
    let columns = before
        .iter()
        .map(|c| format!("{}: {c}", first.title))
        .chain(after.iter().map(|c| format!("{}: {c}", then.title)))
        .collect();
    Some(SectionBody::Runs { columns, rows })
}

/// The answer ids a step's answers are stored under, with their column headings: the step's
/// own id, or for a questionnaire each item (`ID.ITEM`, numbered as the form numbers them) and
/// the total (`ID.total`).
fn columns_of(step: &interlude_plugins::format::Step) -> Vec<(String, String)> {
    let id = step.id.get_ref();
    if step.items.is_empty() {
        return vec![(id.clone(), step.prompt.clone())];
    }
    step.items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            (
                format!("{id}.{}", item.id.get_ref()),
                format!("{}. {}", n + 1, item.text),
            )
        })
        .chain([(format!("{id}.total"), "Total".to_string())])
        .collect()
}

/// An exercise's runs in the window, oldest first, one column per answer anyone gave.
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
    let answer = |r: &Reflection, id: &str| {
        r.answers
            .iter()
            .find(|a| a.step_id == id)
            .map(|a| a.value.clone())
            .unwrap_or_default()
    };
    let answered: Vec<(String, String)> = exercise
        .steps
        .iter()
        .flat_map(columns_of)
        .filter(|(id, _)| done.iter().any(|r| !answer(r, id).trim().is_empty()))
        .collect();
    let rows = done
        .iter()
        .map(|r| Run {
            id: r.id.clone(),
            linked: None,
            moment: r.moment,
            cells: answered.iter().map(|(id, _)| answer(r, id)).collect(),
        })
        .collect();
    Some(SectionBody::Runs {
        columns: answered.into_iter().map(|(_, heading)| heading).collect(),
        rows,
    })
}

/// Every questionnaire's totals over the window, oldest first: the client's own answers as a
/// trend, never a band or a label.
pub fn measures(catalog: &Catalog, entries: &[&Reflection]) -> Vec<Measure> {
    let mut out = Vec::new();
    for entry in &catalog.plugins {
        for exercise in &entry.plugin.exercises {
            for step in exercise.steps.iter().filter(|s| !s.items.is_empty()) {
                let total = format!("{}.total", step.id.get_ref());
                let mut points: Vec<(i64, u32, String)> = entries
                    .iter()
                    .filter(|r| {
                        r.plugin_id == entry.id() && r.exercise_id == *exercise.id.get_ref()
                    })
                    .filter_map(|r| {
                        let value = r.answers.iter().find(|a| a.step_id == total)?;
                        Some((r.moment, value.value.trim().parse().ok()?, r.id.clone()))
                    })
                    .collect();
                if points.is_empty() {
                    continue;
                }
                points.sort_unstable();
                out.push(Measure {
                    id: format!("{}/{}", entry.id(), exercise.id.get_ref()),
                    title: exercise.title.clone(),
                    highest: (step.items.len() * step.options.len().saturating_sub(1)) as u32,
                    points: points
                        .into_iter()
                        .map(|(moment, total, id)| MeasurePoint { id, moment, total })
                        .collect(),
                });
            }
        }
    }
    out
}

/// The sentences of the window that carry one of the pattern's cues, and the
/// entries whose meaning is close to one of its exemplars.
fn phrases(
    pattern: &Pattern,
    entries: &[&Reflection],
    vectors: &HashMap<String, Vec<f32>>,
    exemplar_vectors: &HashMap<String, Vec<f32>>,
) -> Option<SectionBody> {
    let exemplars: Vec<&Vec<f32>> = pattern
        .exemplars
        .get_ref()
        .iter()
        .filter_map(|e| exemplar_vectors.get(e))
        .collect();
    let mut matches: Vec<Quote> = Vec::new();
    for r in entries {
        // The plugins' own matcher, the one measured in plugins/README.md.
        let by_cue: Vec<&str> = sentences(&r.text)
            .into_iter()
            .filter(|s| !cues::matched_cues(pattern, s).is_empty())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Answer;

    fn run(
        plugin: &str,
        exercise: &str,
        id: &str,
        moment: i64,
        answers: &[(&str, &str)],
    ) -> Reflection {
        Reflection {
            plugin_id: plugin.into(),
            exercise_id: exercise.into(),
            answers: answers
                .iter()
                .map(|(step, value)| Answer {
                    step_id: (*step).into(),
                    value: (*value).into(),
                })
                .collect(),
            ..phq9_run(id, moment, "0")
        }
    }

    #[test]
    fn a_review_sits_beside_the_plan_for_the_same_activity() {
        let empty = tempfile::tempdir().expect("a directory");
        let catalog = interlude_plugins::catalog(empty.path(), &Default::default());
        let plan = run(
            "cbt",
            "activity-planning",
            "P",
            1_000,
            &[
                ("activity", "Walk to the corner shop"),
                ("expected-mastery", "6"),
            ],
        );
        let other_plan = run(
            "cbt",
            "activity-planning",
            "Q",
            1_500,
            &[("activity", "Call Mum"), ("expected-mastery", "3")],
        );
        let review = run(
            "cbt",
            "activity-review",
            "R",
            2_000,
            &[("activity", "walk to the  corner shop"), ("mastery", "8")],
        );
        let unplanned = run(
            "cbt",
            "activity-review",
            "S",
            3_000,
            &[("activity", "Swim"), ("mastery", "5")],
        );
        let entries = [&plan, &other_plan, &review, &unplanned];
        let found = sections(&catalog, &entries, &HashMap::new(), &HashMap::new());
        let pair = found
            .iter()
            .find(|s| s.id == "cbt/activity-planning+activity-review")
            .expect("the pair section");
        let SectionBody::Runs { columns, rows } = &pair.body else {
            panic!("runs")
        };
        assert_eq!(
            rows.len(),
            1,
            "a review without a plan for it is not paired"
        );
        assert_eq!(rows[0].linked.as_deref(), Some("P"));
        let cell = |heading: &str| {
            let at = columns
                .iter()
                .position(|c| c.contains(heading))
                .expect(heading);
            rows[0].cells[at].clone()
        };
        assert_eq!(cell("do you expect it"), "6", "{columns:?}");
        assert_eq!(cell("Mastery"), "8");
    }

    fn phq9_run(id: &str, moment: i64, total: &str) -> Reflection {
        Reflection {
            id: id.into(),
            moment,
            recorded_at: moment,
            edited_at: None,
            kind: Kind::Exercise,
            text: "PHQ-9 (items 1–9)".into(),
            emotions: vec![],
            tags: vec![],
            term_ids: vec![],
            bring_to_session: false,
            private: false,
            plugin_id: "measures".into(),
            exercise_id: "phq-9".into(),
            answers: vec![
                Answer {
                    step_id: "phq-9.interest".into(),
                    value: "Several days".into(),
                },
                Answer {
                    step_id: "phq-9.total".into(),
                    value: total.into(),
                },
            ],
            crisis: false,
            history: vec![],
            prompt_id: String::new(),
            prompt: String::new(),
            helpful: false,
        }
    }

    #[test]
    fn questionnaire_totals_become_a_trend_and_items_their_own_columns() {
        let mut settings = interlude_plugins::settings::Settings::default();
        settings.set_enabled("measures", true).expect("a plugin id");
        let empty = tempfile::tempdir().expect("a directory");
        let catalog = interlude_plugins::catalog(empty.path(), &settings);
        let (a, b) = (phq9_run("A", 1_000, "9"), phq9_run("B", 2_000, "6"));
        let entries = [&b, &a];
        let measures = measures(&catalog, &entries);
        assert_eq!(measures.len(), 1);
        assert_eq!(measures[0].highest, 27);
        let totals: Vec<u32> = measures[0].points.iter().map(|p| p.total).collect();
        assert_eq!(totals, [9, 6], "oldest first, the client's own totals");
        let phq9 = exercise(&catalog, "measures", "phq-9").expect("the PHQ-9");
        let Some(SectionBody::Runs { columns, rows }) = runs("measures", phq9, &entries) else {
            panic!("runs");
        };
        assert_eq!(
            columns,
            ["1. Little interest or pleasure in doing things", "Total"]
        );
        assert_eq!(rows[0].cells, ["Several days", "9"]);
    }
}
