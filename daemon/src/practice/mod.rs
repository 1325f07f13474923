//! Running exercises: a client starts one of the catalog's exercises, answers it one step at a
//! time (back, skip, branches), and finishing saves it as a reflection of kind exercise with its
//! structured answers. One concern per module: the exercise as a run needs it (`script`), what
//! an answer may be (`value`), the run itself as pure logic (`run`), the open runs (`runs`),
//! and the reflection a run becomes (`render`). This file ties them to the catalog and timeline.
//!
//! Runs live in memory only. Abandoning saves nothing unless the client asks to keep a draft:
//! then the answers so far become a reflection of kind exercise tagged `draft`, in the same
//! timeline, so nothing written is in a second place with its own rules.

mod render;
mod run;
mod runs;
mod script;
mod value;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

pub use render::DRAFT_TAG;
pub use run::RunError;
pub use runs::{IDLE, MAX_RUNS, RunsError};
pub use script::{Listed, ScriptStep};

use crate::domain::{Kind, Limits, NewReflection, Order, ReflectionQuery, TermKind, now_millis};
use crate::error::Error;
use crate::plugins::InEffect;
use crate::timeline::{Added, Timeline};
use interlude_plugins::format::{Modality, State};
use run::Run;
use runs::Runs;

#[derive(Debug, thiserror::Error)]
pub enum PracticeError {
    #[error(
        "there is no exercise `{plugin}/{exercise}` among the plugins in effect; `interlude practice` lists them"
    )]
    UnknownExercise { plugin: String, exercise: String },
    #[error(transparent)]
    Runs(#[from] RunsError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("nothing has been answered yet, so there is nothing to save; abandon the run instead")]
    NothingAnswered,
    #[error(transparent)]
    Timeline(#[from] Error),
}

/// What a client sees of a run after each call.
#[derive(Debug, Clone)]
pub struct View {
    pub run_id: String,
    pub plugin_id: String,
    pub exercise_id: String,
    pub title: String,
    pub step: Option<StepView>,
    /// From 1; `step_count + 1` at the end.
    pub position: usize,
    pub step_count: usize,
    pub at_end: bool,
    pub can_go_back: bool,
}

#[derive(Debug, Clone)]
pub struct StepView {
    pub step: ScriptStep,
    /// The client's own words for a vocabulary step.
    pub words: Vec<String>,
    /// A follow-up's recent answers from the exercise it follows up, newest first.
    pub suggestions: Vec<String>,
    /// The earlier answer in view: its step id, question and value.
    pub shows: Option<(String, String, String)>,
    /// The step's own answer from before a Back.
    pub current_answer: Option<String>,
}

/// The Practice service's state: the plugins in effect, and the open runs.
#[derive(Clone)]
pub struct Practice {
    plugins: InEffect,
    timeline: Timeline,
    limits: Limits,
    runs: Arc<Mutex<Runs>>,
}

impl Practice {
    pub fn new(plugins: InEffect, timeline: Timeline, limits: Limits) -> Practice {
        Practice {
            plugins,
            timeline,
            limits,
            runs: Arc::default(),
        }
    }

    pub fn list(&self, modality: Option<Modality>, state: Option<State>) -> Vec<Listed> {
        script::list(&self.plugins.catalog(), modality, state)
    }

    pub fn start(&self, plugin_id: &str, exercise_id: &str) -> Result<View, PracticeError> {
        let script =
            script::find(&self.plugins.catalog(), plugin_id, exercise_id).ok_or_else(|| {
                PracticeError::UnknownExercise {
                    plugin: plugin_id.to_owned(),
                    exercise: exercise_id.to_owned(),
                }
            })?;
        let id = run_id()?;
        let run = Run::new(script);
        let view = self.view(&id, &run);
        self.runs().open(id, run, Instant::now())?;
        tracing::info!(plugin_id, exercise_id, "exercise run started");
        Ok(view)
    }

    pub fn answer(&self, run_id: &str, step_id: &str, value: &str) -> Result<View, PracticeError> {
        self.change(run_id, |run| {
            run.answer(step_id, value, self.limits.max_text_bytes)
        })
    }

    pub fn skip(&self, run_id: &str, step_id: &str) -> Result<View, PracticeError> {
        self.change(run_id, |run| run.skip(step_id))
    }

    pub fn back(&self, run_id: &str) -> Result<View, PracticeError> {
        self.change(run_id, Run::back)
    }

    /// Saves a run that has reached its end; on any failure the run stays open as it was.
    pub async fn finish(
        &self,
        run_id: &str,
        bring_to_session: bool,
        private: bool,
    ) -> Result<Added, PracticeError> {
        let run = self.runs().take(run_id, Instant::now())?;
        let saved = match run.finished() {
            Ok(given) => {
                self.save(&run, &given, false, bring_to_session, private)
                    .await
            }
            Err(e) => Err(e.into()),
        };
        self.put_back_on_error(run_id, run, saved, "finished")
    }

    /// Closes a run, saving a draft of the answers so far when asked and there are any.
    pub async fn abandon(
        &self,
        run_id: &str,
        keep_draft: bool,
    ) -> Result<Option<Added>, PracticeError> {
        let run = self.runs().take(run_id, Instant::now())?;
        let given = run.given();
        if !keep_draft || given.is_empty() {
            tracing::info!(keep_draft, "exercise run abandoned, nothing saved");
            return Ok(None);
        }
        let saved = self.save(&run, &given, true, false, false).await;
        self.put_back_on_error(run_id, run, saved, "kept as a draft")
            .map(Some)
    }

    async fn save(
        &self,
        run: &Run,
        given: &[run::Given<'_>],
        draft: bool,
        bring_to_session: bool,
        private: bool,
    ) -> Result<Added, PracticeError> {
        if given.is_empty() {
            return Err(PracticeError::NothingAnswered);
        }
        let script = run.script();
        let new = NewReflection {
            text: render::text(script, given, draft),
            kind: Kind::Exercise,
            emotions: render::emotions(given),
            tags: if draft {
                vec![DRAFT_TAG.to_owned()]
            } else {
                Vec::new()
            },
            bring_to_session,
            private,
            moment: None,
            plugin_id: script.plugin_id.clone(),
            exercise_id: script.exercise_id.clone(),
            answers: render::answers(given)
                .into_iter()
                .chain(if draft {
                    Vec::new()
                } else {
                    render::totals(script, given)
                })
                .collect(),
            prompt_id: String::new(),
            prompt: String::new(),
            raised: render::raised(given),
        };
        Ok(self.timeline.add_reflection(new).await?)
    }

    fn put_back_on_error(
        &self,
        run_id: &str,
        run: Run,
        saved: Result<Added, PracticeError>,
        what: &'static str,
    ) -> Result<Added, PracticeError> {
        match saved {
            Ok(added) => {
                let script = run.script();
                tracing::info!(
                    plugin_id = %script.plugin_id,
                    exercise_id = %script.exercise_id,
                    "exercise run {what}"
                );
                Ok(added)
            }
            Err(e) => {
                self.runs().put_back(run_id.to_owned(), run, Instant::now());
                Err(e)
            }
        }
    }

    fn change(
        &self,
        run_id: &str,
        apply: impl FnOnce(&mut Run) -> Result<(), RunError>,
    ) -> Result<View, PracticeError> {
        let mut runs = self.runs();
        let run = runs.get_mut(run_id, Instant::now())?;
        apply(run)?;
        let run = run.clone();
        drop(runs);
        Ok(self.view(run_id, &run))
    }

    fn view(&self, run_id: &str, run: &Run) -> View {
        let script = run.script();
        let step = run.current().map(|index| {
            let step = script.steps[index].clone();
            StepView {
                words: step
                    .vocabulary
                    .as_deref()
                    .map(|kind| self.words(kind))
                    .unwrap_or_default(),
                suggestions: step
                    .suggest_from
                    .as_ref()
                    .map(|(exercise, from)| {
                        self.suggestions(
                            &script.plugin_id,
                            exercise,
                            from,
                            &script.exercise_id,
                            &step.id,
                        )
                    })
                    .unwrap_or_default(),
                shows: run
                    .shown()
                    .map(|g| (g.step.id.clone(), g.step.prompt.clone(), g.value.to_owned())),
                current_answer: run.answer_at(index).map(str::to_owned),
                step,
            }
        });
        View {
            run_id: run_id.to_owned(),
            plugin_id: script.plugin_id.clone(),
            exercise_id: script.exercise_id.clone(),
            title: script.title.clone(),
            position: run.current().unwrap_or(script.steps.len()) + 1,
            step_count: script.steps.len(),
            at_end: run.at_end(),
            can_go_back: run.can_go_back(),
            step,
        }
    }

    /// Recent answers to `plugin`'s `exercise.from` (the last two weeks, newest first, at most
    /// five, each once) that no later run of `this.step` has answered the same way yet: the
    /// plans still waiting for their review. None while the vault is locked.
    fn suggestions(
        &self,
        plugin: &str,
        exercise: &str,
        from: &str,
        this: &str,
        step: &str,
    ) -> Vec<String> {
        const DAYS: i64 = 14;
        const MOST: usize = 5;
        let query = ReflectionQuery {
            since: Some(now_millis() - DAYS * 24 * 60 * 60 * 1000),
            until: None,
            kind: Some(Kind::Exercise),
            tag: None,
            bring_to_session: None,
            private: None,
            limit: 1000,
            after: None,
            order: Order::NewestFirst,
        };
        let runs = match self.timeline.reflections_matching(&query) {
            Ok((runs, _damaged)) => runs,
            Err(Error::Locked | Error::NotInitialised) => return Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read earlier runs for a follow-up");
                return Vec::new();
            }
        };
        let same = |a: &str| {
            a.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        let answer = |r: &crate::domain::Reflection, step: &str| {
            r.answers
                .iter()
                .find(|a| a.step_id == step)
                .map(|a| a.value.trim().to_string())
        };
        let mut found: Vec<String> = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            if r.plugin_id != plugin || r.exercise_id != exercise {
                continue;
            }
            let Some(planned) = answer(r, from).filter(|a| !a.is_empty()) else {
                continue;
            };
            // Newest first: a follow-up before index i came later than this plan.
            let followed_up = runs[..i].iter().any(|later| {
                later.plugin_id == plugin
                    && later.exercise_id == this
                    && answer(later, step).is_some_and(|a| same(&a) == same(&planned))
            });
            if !followed_up && !found.iter().any(|f| same(f) == same(&planned)) {
                found.push(planned);
            }
            if found.len() == MOST {
                break;
            }
        }
        found
    }

    /// The client's words of `kind`, oldest first; none while the vault is locked.
    fn words(&self, kind: &str) -> Vec<String> {
        let Some(kind) = term_kind(kind) else {
            return Vec::new();
        };
        match self.timeline.list_terms(Some(kind)) {
            Ok(terms) => terms.into_iter().map(|t| t.word).collect(),
            Err(Error::Locked | Error::NotInitialised) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the vocabulary for a step");
                Vec::new()
            }
        }
    }

    fn runs(&self) -> MutexGuard<'_, Runs> {
        // A panic while holding the lock cannot leave a run half-changed (every change is a
        // single assignment or push), so a poisoned table is still sound.
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn term_kind(kind: &str) -> Option<TermKind> {
    Some(match kind {
        "part" => TermKind::Part,
        "anchor" => TermKind::Anchor,
        "trigger" => TermKind::Trigger,
        "value" => TermKind::Value,
        "person" => TermKind::Person,
        _ => return None,
    })
}

/// 128 random bits as hex: not guessable by another client of the same user, which is the point.
fn run_id() -> Result<String, Error> {
    let bytes: [u8; 16] = crate::crypto::random_bytes()?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
