//! The open runs, in memory only: at most [`MAX_RUNS`], each ending after [`IDLE`] without a
//! call. A run is the client's half-written material, so it is never written to disk and never
//! pushed out to make room: when the table is full, starting another is refused instead.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::run::Run;

pub const MAX_RUNS: usize = 32;
pub const IDLE: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Default)]
pub struct Runs {
    open: HashMap<String, (Run, Instant)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RunsError {
    #[error(
        "no exercise run with that id: it was finished or abandoned, ended after an hour without activity, or the daemon restarted; start the exercise again"
    )]
    Unknown,
    #[error(
        "{MAX_RUNS} exercises are already in progress; finish or abandon one, or wait an hour for idle ones to end"
    )]
    Full,
}

impl Runs {
    /// Opens `run` under `id`.
    pub fn open(&mut self, id: String, run: Run, now: Instant) -> Result<(), RunsError> {
        self.expire(now);
        if self.open.len() >= MAX_RUNS {
            return Err(RunsError::Full);
        }
        self.open.insert(id, (run, now));
        Ok(())
    }

    /// The run `id`, marked as active at `now`.
    pub fn get_mut(&mut self, id: &str, now: Instant) -> Result<&mut Run, RunsError> {
        self.expire(now);
        let (run, seen) = self.open.get_mut(id).ok_or(RunsError::Unknown)?;
        *seen = now;
        Ok(run)
    }

    /// Takes the run out (to save it); [`Runs::put_back`] returns it when saving failed.
    pub fn take(&mut self, id: &str, now: Instant) -> Result<Run, RunsError> {
        self.expire(now);
        self.open
            .remove(id)
            .map(|(run, _)| run)
            .ok_or(RunsError::Unknown)
    }

    /// Reopens a run whose save failed, even past the cap: it was open a moment ago.
    pub fn put_back(&mut self, id: String, run: Run, now: Instant) {
        self.open.insert(id, (run, now));
    }

    fn expire(&mut self, now: Instant) {
        let before = self.open.len();
        self.open
            .retain(|_, (_, seen)| now.saturating_duration_since(*seen) < IDLE);
        let ended = before - self.open.len();
        if ended > 0 {
            tracing::info!(ended, "idle exercise runs ended");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::practice::script::Script;

    fn run() -> Run {
        Run::new(Arc::new(Script {
            plugin_id: "p".into(),
            exercise_id: "e".into(),
            title: "T".into(),
            steps: Vec::new(),
        }))
    }

    #[test]
    fn a_full_table_refuses_a_new_run_until_idle_ones_end() {
        let start = Instant::now();
        let mut runs = Runs::default();
        for i in 0..MAX_RUNS {
            runs.open(i.to_string(), run(), start).unwrap();
        }
        assert_eq!(runs.open("x".into(), run(), start), Err(RunsError::Full));
        // Touching one keeps it alive; the rest end after an idle hour.
        runs.get_mut("0", start + IDLE / 2).unwrap();
        runs.open("x".into(), run(), start + IDLE).unwrap();
        assert_eq!(runs.open.len(), 2);
        assert!(runs.get_mut("1", start + IDLE).is_err());
    }

    #[test]
    fn a_taken_run_is_gone_until_put_back() {
        let now = Instant::now();
        let mut runs = Runs::default();
        runs.open("a".into(), run(), now).unwrap();
        let taken = runs.take("a", now).unwrap();
        assert_eq!(runs.get_mut("a", now).err(), Some(RunsError::Unknown));
        runs.put_back("a".into(), taken, now);
        assert!(runs.get_mut("a", now).is_ok());
    }
}
