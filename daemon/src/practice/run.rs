//! One run of an exercise as pure logic: where the client is, what they answered, where a branch
//! leads. No I/O and no clock, so every path through an exercise is a unit test.
//!
//! The run keeps the path it took (a stack of step indices). Back pops it; answers to steps the
//! path no longer passes through (after going back and choosing another branch) are kept in
//! memory, in case the client comes back that way, but never saved.

use std::collections::HashMap;
use std::sync::Arc;

use super::script::{Script, ScriptStep};
use super::value;
use interlude_plugins::format::StepKind;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RunError {
    #[error("that is not the current step: the run is at `{current}`; answer or skip that one")]
    NotCurrent { current: String },
    #[error("every step has been answered or skipped; finish the run, or go back")]
    AtEnd,
    #[error("this is the first step; there is nothing to go back to")]
    AtStart,
    #[error("`{step}` needs an answer; it cannot be skipped")]
    Required { step: String },
    #[error("{0}")]
    BadValue(String),
    #[error("there are steps left; answer or skip them before finishing, or abandon the run")]
    NotAtEnd,
}

#[derive(Debug, Clone)]
pub struct Run {
    script: Arc<Script>,
    /// The steps visited, in order; the last is the current one. `steps.len()` means the end.
    path: Vec<usize>,
    /// Answers by step index, including those off the current path.
    answers: HashMap<usize, String>,
}

/// An answer on the run's path, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given<'a> {
    pub step: &'a ScriptStep,
    pub value: &'a str,
}

impl Run {
    pub fn new(script: Arc<Script>) -> Run {
        // An exercise with no steps starts at its end.
        Run {
            script,
            path: vec![0],
            answers: HashMap::new(),
        }
    }

    pub fn script(&self) -> &Script {
        &self.script
    }

    /// The index of the current step; `None` at the end.
    pub fn current(&self) -> Option<usize> {
        self.path
            .last()
            .copied()
            .filter(|i| *i < self.script.steps.len())
    }

    #[cfg(test)]
    pub fn current_step(&self) -> Option<&ScriptStep> {
        self.current().map(|i| &self.script.steps[i])
    }

    pub fn at_end(&self) -> bool {
        self.current().is_none()
    }

    pub fn can_go_back(&self) -> bool {
        self.path.len() > 1
    }

    /// The answer the step at `index` holds, if any (also off the path, for Back).
    pub fn answer_at(&self, index: usize) -> Option<&str> {
        self.answers.get(&index).map(String::as_str)
    }

    /// The earlier answer the current step keeps in view: only one on the path taken.
    pub fn shown(&self) -> Option<Given<'_>> {
        let current = self.current()?;
        let shows = self.script.steps[current].shows?;
        let on_path = self.path[..self.path.len() - 1].contains(&shows);
        let value = self.answers.get(&shows).filter(|_| on_path)?;
        Some(Given {
            step: &self.script.steps[shows],
            value,
        })
    }

    pub fn answer(&mut self, step_id: &str, value: &str, max_bytes: usize) -> Result<(), RunError> {
        let index = self.check_current(step_id)?;
        let step = &self.script.steps[index];
        let stored = value::normalise(step, value, max_bytes).map_err(RunError::BadValue)?;
        let next = next_after(step, index, &stored);
        self.answers.insert(index, stored);
        self.path.push(next);
        Ok(())
    }

    pub fn skip(&mut self, step_id: &str) -> Result<(), RunError> {
        let index = self.check_current(step_id)?;
        let step = &self.script.steps[index];
        if step.required {
            return Err(RunError::Required {
                step: step.id.clone(),
            });
        }
        self.answers.remove(&index);
        self.path.push(index + 1);
        Ok(())
    }

    pub fn back(&mut self) -> Result<(), RunError> {
        if !self.can_go_back() {
            return Err(RunError::AtStart);
        }
        self.path.pop();
        Ok(())
    }

    /// The answers on the path taken, in order: what Finish saves. Anything may be saved as a
    /// draft; a finished run must have reached its end.
    pub fn given(&self) -> Vec<Given<'_>> {
        // The last on the path is the current step (or the end): its answer, kept from before
        // a Back, is not given until it is answered again.
        self.path[..self.path.len() - 1]
            .iter()
            .filter_map(|i| {
                Some(Given {
                    step: self.script.steps.get(*i)?,
                    value: self.answers.get(i)?,
                })
            })
            .collect()
    }

    pub fn finished(&self) -> Result<Vec<Given<'_>>, RunError> {
        if !self.at_end() {
            return Err(RunError::NotAtEnd);
        }
        Ok(self.given())
    }

    fn check_current(&self, step_id: &str) -> Result<usize, RunError> {
        let index = self.current().ok_or(RunError::AtEnd)?;
        if self.script.steps[index].id != step_id {
            return Err(RunError::NotCurrent {
                current: self.script.steps[index].id.clone(),
            });
        }
        Ok(index)
    }
}

/// A branch taken on a choice, or else the next step in order.
fn next_after(step: &ScriptStep, index: usize, answer: &str) -> usize {
    if step.kind != StepKind::Choice {
        return index + 1;
    }
    step.branch
        .iter()
        .find(|(when, _)| when == answer)
        .map_or(index + 1, |(_, goto)| *goto)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn step(id: &str, kind: StepKind) -> ScriptStep {
        ScriptStep {
            id: id.into(),
            kind,
            prompt: format!("{id}?"),
            required: false,
            shows: None,
            options: Vec::new(),
            branch: Vec::new(),
            min: 0,
            max: 0,
            labels: Vec::new(),
            vocabulary: None,
            suggest_from: None,
            seconds: 0,
            safety: None,
            scored: None,
            instruction: false,
        }
    }

    /// thought (required) → evidence (shows thought) → plan? ("Not now" jumps to rerate)
    /// → what → rerate.
    fn script() -> Arc<Script> {
        let mut thought = step("thought", StepKind::Text);
        thought.required = true;
        let mut evidence = step("evidence", StepKind::List);
        evidence.shows = Some(0);
        let mut plan = step("plan", StepKind::Choice);
        plan.options = vec!["Yes".into(), "Not now".into()];
        plan.branch = vec![("Not now".into(), 4)];
        let mut rerate = step("rerate", StepKind::Scale);
        rerate.max = 100;
        Arc::new(Script {
            plugin_id: "p".into(),
            exercise_id: "e".into(),
            title: "T".into(),
            steps: vec![
                thought,
                evidence,
                plan,
                step("what", StepKind::Text),
                rerate,
            ],
        })
    }

    fn ids(run: &Run) -> Vec<(&str, &str)> {
        run.given()
            .into_iter()
            .map(|g| (g.step.id.as_str(), g.value))
            .collect()
    }

    const MAX: usize = 1024;

    #[test]
    fn answers_move_forward_and_the_thought_stays_in_view() {
        let mut run = Run::new(script());
        run.answer("thought", "I ruin everything", MAX).unwrap();
        assert_eq!(run.current_step().unwrap().id, "evidence");
        let shown = run.shown().unwrap();
        assert_eq!(
            (shown.step.id.as_str(), shown.value),
            ("thought", "I ruin everything")
        );
        run.answer("evidence", "late twice\n", MAX).unwrap();
        run.answer("plan", "Yes", MAX).unwrap();
        run.skip("what").unwrap();
        run.answer("rerate", "40", MAX).unwrap();
        assert!(run.at_end());
        assert_eq!(
            ids(&run),
            [
                ("thought", "I ruin everything"),
                ("evidence", "late twice"),
                ("plan", "Yes"),
                ("rerate", "40")
            ]
        );
        assert_eq!(run.finished().unwrap().len(), 4);
    }

    #[test]
    fn a_branch_skips_ahead_and_back_returns_along_the_path() {
        let mut run = Run::new(script());
        run.answer("thought", "t", MAX).unwrap();
        run.skip("evidence").unwrap();
        run.answer("plan", "Not now", MAX).unwrap();
        assert_eq!(run.current_step().unwrap().id, "rerate");
        run.back().unwrap();
        assert_eq!(run.current_step().unwrap().id, "plan");
        assert_eq!(
            run.answer_at(2),
            Some("Not now"),
            "the answer is kept for Back"
        );
        run.answer("plan", "Yes", MAX).unwrap();
        assert_eq!(run.current_step().unwrap().id, "what");
    }

    #[test]
    fn answers_off_the_path_are_not_given() {
        let mut run = Run::new(script());
        run.answer("thought", "t", MAX).unwrap();
        run.skip("evidence").unwrap();
        run.answer("plan", "Yes", MAX).unwrap();
        run.answer("what", "a walk", MAX).unwrap();
        run.back().unwrap();
        run.back().unwrap();
        run.answer("plan", "Not now", MAX).unwrap();
        run.answer("rerate", "10", MAX).unwrap();
        assert_eq!(
            ids(&run),
            [("thought", "t"), ("plan", "Not now"), ("rerate", "10")]
        );
    }

    #[test]
    fn a_step_gone_back_to_is_not_given_until_answered_again() {
        let mut run = Run::new(script());
        run.answer("thought", "t", MAX).unwrap();
        run.back().unwrap();
        assert!(ids(&run).is_empty());
        assert_eq!(run.answer_at(0), Some("t"));
    }

    #[test]
    fn required_steps_wrong_steps_and_bad_values_are_refused_and_change_nothing() {
        let mut run = Run::new(script());
        assert_eq!(
            run.skip("thought"),
            Err(RunError::Required {
                step: "thought".into()
            })
        );
        assert_eq!(
            run.answer("evidence", "x", MAX),
            Err(RunError::NotCurrent {
                current: "thought".into()
            })
        );
        assert_eq!(run.back(), Err(RunError::AtStart));
        assert_eq!(run.finished(), Err(RunError::NotAtEnd));
        run.answer("thought", "t", MAX).unwrap();
        run.skip("evidence").unwrap();
        assert!(matches!(
            run.answer("plan", "Maybe", MAX),
            Err(RunError::BadValue(_))
        ));
        assert_eq!(run.current_step().unwrap().id, "plan");
        run.answer("plan", "Not now", MAX).unwrap();
        assert!(matches!(
            run.answer("rerate", "101", MAX),
            Err(RunError::BadValue(_))
        ));
        run.skip("rerate").unwrap();
        assert_eq!(run.skip("rerate"), Err(RunError::AtEnd));
        run.back().unwrap();
        assert_eq!(run.current_step().unwrap().id, "rerate");
    }
}
