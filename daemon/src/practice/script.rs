//! An exercise as a run needs it: owned, with every reference already resolved to a step index.
//! The plugin format keeps source spans for error messages; a run needs none of that, and owning
//! its script means a run never borrows the catalog.

use std::sync::Arc;

use interlude_plugins::Catalog;
use interlude_plugins::format::{Exercise, Modality, State, StepKind, StepSafety};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub plugin_id: String,
    pub exercise_id: String,
    pub title: String,
    pub steps: Vec<ScriptStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStep {
    pub id: String,
    pub kind: StepKind,
    pub prompt: String,
    pub required: bool,
    /// The index of the earlier step whose answer stays in view.
    pub shows: Option<usize>,
    pub options: Vec<String>,
    /// On a choice: the answer and the index of the later step it leads to.
    pub branch: Vec<(String, usize)>,
    pub min: i64,
    pub max: i64,
    pub labels: Vec<String>,
    pub vocabulary: Option<String>,
    /// A follow-up: the exercise and step of this plugin whose recent answers are offered.
    pub suggest_from: Option<(String, String)>,
    pub seconds: u32,
    /// The answers that raise the safety plan (checked by the loader).
    pub safety: Option<StepSafety>,
    /// An item of a scored questionnaire (asked as a choice; its score is its option's index).
    pub scored: Option<Scored>,
    /// A skill instruction the therapist assigned, not a question.
    pub instruction: bool,
}

/// Where a questionnaire item belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    /// The questionnaire step's id: the items are stored as `ID.ITEM`, the total as `ID.total`.
    pub questionnaire: String,
    /// The instrument's name (`PHQ-9`), or the step's id.
    pub instrument: String,
    /// 1-based, as the instrument numbers its items.
    pub number: usize,
    pub of: usize,
}

/// One line of the exercise list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub plugin_id: String,
    pub plugin_name: String,
    pub modality: Modality,
    pub exercise_id: String,
    pub title: String,
    pub summary: String,
    pub state: State,
    pub minutes: u32,
    pub step_count: usize,
}

/// The exercises of the plugins in effect that match the filters, by plugin then exercise id.
/// A `state` filter includes the exercises declared `any`: they suit every state.
pub fn list(catalog: &Catalog, modality: Option<Modality>, state: Option<State>) -> Vec<Listed> {
    let mut found: Vec<Listed> = catalog
        .plugins
        .iter()
        .filter(|entry| modality.is_none_or(|m| entry.plugin.meta.modality == m))
        .flat_map(|entry| {
            entry.plugin.exercises.iter().map(|exercise| Listed {
                plugin_id: entry.id().to_owned(),
                plugin_name: entry.plugin.meta.name.clone(),
                modality: entry.plugin.meta.modality,
                exercise_id: exercise.id.get_ref().clone(),
                title: exercise.title.clone(),
                summary: exercise.summary.clone(),
                state: exercise.state,
                minutes: exercise.minutes,
                step_count: exercise.steps.len(),
            })
        })
        .filter(|listed| state.is_none_or(|s| listed.state == s || listed.state == State::Any))
        .collect();
    found.sort_by(|a, b| (&a.plugin_id, &a.exercise_id).cmp(&(&b.plugin_id, &b.exercise_id)));
    found
}

/// The script of one exercise, when the catalog has it.
pub fn find(catalog: &Catalog, plugin_id: &str, exercise_id: &str) -> Option<Arc<Script>> {
    let entry = catalog.get(plugin_id)?;
    let exercise = entry
        .plugin
        .exercises
        .iter()
        .find(|e| e.id.get_ref() == exercise_id)?;
    Some(Arc::new(script_of(plugin_id, exercise)))
}

fn script_of(plugin_id: &str, exercise: &Exercise) -> Script {
    // A questionnaire becomes one step per item, so references resolve to where each step
    // starts once questionnaires are laid out.
    let mut starts = Vec::with_capacity(exercise.steps.len());
    let mut at = 0;
    for step in &exercise.steps {
        starts.push(at);
        at += match *step.kind.get_ref() {
            StepKind::Questionnaire => step.items.len(),
            _ => 1,
        };
    }
    let index_of = |id: &str| {
        exercise
            .steps
            .iter()
            .position(|s| s.id.get_ref() == id)
            .map(|i| starts[i])
    };
    let steps = exercise
        .steps
        .iter()
        .flat_map(|step| {
            let one = ScriptStep {
                id: step.id.get_ref().clone(),
                kind: *step.kind.get_ref(),
                prompt: step.prompt.clone(),
                required: step.required,
                // The loader has checked that these name earlier (`shows`) and later (`goto`)
                // steps; a reference that somehow does not resolve is simply left out.
                shows: step.shows.as_ref().and_then(|s| index_of(s.get_ref())),
                options: step.options.clone(),
                branch: step
                    .branch
                    .iter()
                    .filter_map(|b| Some((b.when.get_ref().clone(), index_of(b.goto.get_ref())?)))
                    .collect(),
                safety: step.safety.as_ref().map(|s| s.get_ref().clone()),
                min: step.min.unwrap_or(0),
                max: step.max.unwrap_or(0),
                labels: step.labels.clone(),
                vocabulary: step.vocabulary.as_ref().map(|v| v.get_ref().clone()),
                suggest_from: step.suggest_from.as_ref().and_then(|f| {
                    let (exercise, step) = f.get_ref().split_once('.')?;
                    Some((exercise.to_string(), step.to_string()))
                }),
                seconds: step.seconds.unwrap_or(0),
                scored: None,
                instruction: step.is_instruction(),
            };
            if *step.kind.get_ref() != StepKind::Questionnaire {
                return vec![one];
            }
            let instrument = step
                .scoring
                .as_ref()
                .map_or_else(|| one.id.clone(), |s| s.instrument.clone());
            step.items
                .iter()
                .enumerate()
                .map(|(index, item)| ScriptStep {
                    id: format!("{}.{}", one.id, item.id.get_ref()),
                    kind: StepKind::Choice,
                    prompt: format!("{}\n{}. {}", one.prompt, index + 1, item.text),
                    safety: item.safety.as_ref().map(|s| s.get_ref().clone()),
                    shows: None,
                    branch: Vec::new(),
                    required: false,
                    scored: Some(Scored {
                        questionnaire: one.id.clone(),
                        instrument: instrument.clone(),
                        number: index + 1,
                        of: step.items.len(),
                    }),
                    ..one.clone()
                })
                .collect()
        })
        .collect();
    Script {
        plugin_id: plugin_id.to_owned(),
        exercise_id: exercise.id.get_ref().clone(),
        title: exercise.title.clone(),
        steps,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn built_ins() -> Catalog {
        let dir = tempfile::tempdir().unwrap();
        interlude_plugins::catalog(&dir.path().join("none"), &Default::default())
    }

    #[test]
    fn a_state_filter_includes_exercises_for_any_state() {
        let catalog = built_ins();
        let activated = list(&catalog, None, Some(State::Activated));
        assert!(
            activated
                .iter()
                .any(|l| l.exercise_id == "quick-thought-record")
        );
        assert!(activated.iter().any(|l| l.state == State::Any));
        assert!(activated.iter().all(|l| l.state != State::Reflective));
        let cbt = list(&catalog, Some(Modality::Cbt), None);
        assert!(!cbt.is_empty() && cbt.iter().all(|l| l.plugin_id == "cbt"));
    }

    /// The built-ins with those that are off by default turned on.
    fn every_built_in() -> Catalog {
        let dir = tempfile::tempdir().unwrap();
        let settings = interlude_plugins::settings::Settings {
            enabled: interlude_plugins::builtin::OFF_BY_DEFAULT
                .iter()
                .map(|id| (*id).to_owned())
                .collect(),
            ..Default::default()
        };
        interlude_plugins::catalog(&dir.path().join("none"), &settings)
    }

    #[test]
    fn a_questionnaire_is_asked_item_by_item_as_choices_and_references_still_resolve() {
        let script = find(&every_built_in(), "measures", "phq-9").unwrap();
        assert_eq!(
            script.steps.len(),
            10,
            "nine items and the difficulty question"
        );
        let ninth = &script.steps[8];
        assert_eq!(ninth.id, "phq-9.self-harm");
        assert_eq!(ninth.kind, StepKind::Choice);
        assert!(
            ninth.prompt.starts_with("Over the last 2 weeks"),
            "{}",
            ninth.prompt
        );
        assert!(ninth.prompt.ends_with("hurting yourself in some way"));
        let rule = ninth.safety.as_ref().unwrap();
        assert!(!rule.raised_by("Not at all"));
        assert!(rule.raised_by("Several days"));
        assert_eq!(ninth.scored.as_ref().unwrap().number, 9);
        assert_eq!(script.steps[9].id, "difficulty");

        let ifs = find(&every_built_in(), "ifs", "parts-check-in").unwrap();
        let feel = ifs.steps.iter().find(|s| s.id == "feel-toward").unwrap();
        let befriend = ifs.steps.iter().position(|s| s.id == "befriend").unwrap();
        assert!(feel.branch.iter().all(|(_, goto)| *goto == befriend));
    }

    #[test]
    fn references_become_indices() {
        let script = find(&built_ins(), "act", "committed-action").unwrap();
        let willing = script.steps.iter().find(|s| s.id == "willing").unwrap();
        let reminder = script
            .steps
            .iter()
            .position(|s| s.id == "reminder")
            .unwrap();
        assert_eq!(willing.branch, [("Yes".to_owned(), reminder)]);
        let barriers = script
            .steps
            .iter()
            .position(|s| s.id == "barriers")
            .unwrap();
        assert_eq!(willing.shows, Some(barriers));
        assert!(find(&built_ins(), "act", "no-such").is_none());
    }
}
