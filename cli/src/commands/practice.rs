//! `practice`: list the exercises, or run one. `now`: the path for a hard moment — the client's
//! own anchor, at most one choice between a few short exercises, then the first question; no
//! more than three keystrokes from the command to typing the first answer.

use interlude_proto::v1::{
    AddReflectionRequest, ExerciseState, ExerciseSummary, ListExercisesRequest, ListTermsRequest,
    Modality, ReflectionKind, StartRequest, TermKind,
};
use serde_json::json;

use super::Ctx;
use super::runner::{self, Input, Lines};
use crate::args::{ModalityArg, PracticeArgs, StateArg};
use crate::error::{CliError, ExitCode};

/// How many exercises `now` offers at most: a choice, not a menu.
const NOW_CHOICES: usize = 3;

/// Shown first by `now` when the client has not named an anchor (or the vault is locked).
const NEUTRAL_LINE: &str = interlude_proto::lines::NOW_FALLBACK;

pub async fn practice(ctx: &Ctx, args: PracticeArgs) -> Result<(), CliError> {
    let Some(wanted) = args.exercise else {
        return list(ctx, args.modality, args.state).await;
    };
    if ctx.out.is_json() {
        return Err(CliError::invalid_input(
            "the exercise runner is interactive; --json only lists exercises",
        ));
    }
    let all = exercises(ctx, None).await?;
    let chosen = resolve(&all, &wanted)?;
    let mut lines = Lines::from_stdin();
    start(ctx, chosen, &mut lines).await
}

pub async fn now(ctx: &Ctx) -> Result<(), CliError> {
    if ctx.out.is_json() {
        return Err(CliError::invalid_input(
            "`interlude now` is interactive; --json is not for it",
        ));
    }
    println!("{}\n", anchor_line(ctx).await);
    let all = activated(exercises(ctx, Some(ExerciseState::Activated)).await?);
    let offered: Vec<ExerciseSummary> = all.iter().take(NOW_CHOICES).cloned().collect();
    let more = all.len() > offered.len();
    let mut lines = Lines::from_stdin();
    let chosen = match offered.as_slice() {
        [] => return capture(ctx, &mut lines).await,
        [only] if !more => only.clone(),
        several => {
            print_choices(several);
            if more {
                // Every exercise written for a hard moment stays reachable (the crisis-survival
                // skills among them), one keystroke further.
                println!(
                    "  m) more for a hard moment ({} others)",
                    all.len() - several.len()
                );
            }
            let picked = match choose(several.len(), more, &mut lines).await {
                Some(Choice::More) => {
                    println!();
                    print_choices(&all);
                    choose(all.len(), false, &mut lines)
                        .await
                        .map(|c| (c, all.as_slice()))
                }
                other => other.map(|c| (c, several)),
            };
            match picked {
                Some((Choice::Number(n), from)) => from[n].clone(),
                _ => {
                    println!("Nothing was saved.");
                    return Ok(());
                }
            }
        }
    };
    println!();
    start(ctx, &chosen, &mut lines).await
}

async fn start(ctx: &Ctx, chosen: &ExerciseSummary, lines: &mut Lines) -> Result<(), CliError> {
    let view = ctx
        .daemon
        .practice()
        .start(StartRequest {
            plugin_id: chosen.plugin_id.clone(),
            exercise_id: chosen.exercise_id.clone(),
        })
        .await?
        .into_inner();
    runner::run(ctx, view, lines).await
}

/// The client's first anchor, in their words; the neutral line without one, or while locked.
async fn anchor_line(ctx: &Ctx) -> String {
    let request = ListTermsRequest {
        kind: TermKind::Anchor.into(),
    };
    let first = ctx
        .daemon
        .vocabulary()
        .list_terms(request)
        .await
        .ok()
        .and_then(|r| r.into_inner().terms.into_iter().next());
    match first {
        Some(term) if term.note.trim().is_empty() => term.word,
        Some(term) => format!("{}\n{}", term.word, term.note.trim()),
        None => NEUTRAL_LINE.to_owned(),
    }
}

/// The exercises declared for an activated moment (not those for any state: `now` offers only
/// what was written for it), shortest first; `now` offers the first [`NOW_CHOICES`].
fn activated(mut all: Vec<ExerciseSummary>) -> Vec<ExerciseSummary> {
    all.retain(|e| e.state() == ExerciseState::Activated);
    all.sort_by(|a, b| (a.minutes, &a.title).cmp(&(b.minutes, &b.title)));
    all
}

fn print_choices(exercises: &[ExerciseSummary]) {
    for (n, e) in exercises.iter().enumerate() {
        println!("  {}) {} · {} min", n + 1, e.title, e.minutes);
    }
}

enum Choice {
    Number(usize),
    More,
}

/// One keystroke and Enter (Enter alone takes the first; `m` the longer list when there is
/// one); `None` on Ctrl-C or end of input.
async fn choose(count: usize, more: bool, lines: &mut Lines) -> Option<Choice> {
    let hint = if more { ", m for more" } else { "" };
    loop {
        match lines
            .ask(&format!("Which one? [1-{count}{hint}, Enter for 1] "))
            .await
        {
            Input::Line(line) if line.trim().is_empty() => return Some(Choice::Number(0)),
            Input::Line(line) if more && line.trim().eq_ignore_ascii_case("m") => {
                return Some(Choice::More);
            }
            Input::Line(line) => match line.trim().parse::<usize>() {
                Ok(n) if (1..=count).contains(&n) => return Some(Choice::Number(n - 1)),
                _ => println!("  Type a number from 1 to {count}{hint}."),
            },
            Input::Interrupted | Input::Closed => return None,
        }
    }
}

/// No exercise for an activated moment is in effect: a plain note, still one keystroke away.
async fn capture(ctx: &Ctx, lines: &mut Lines) -> Result<(), CliError> {
    let text = match lines.ask("What's happening? ").await {
        Input::Line(line) if !line.trim().is_empty() => line,
        _ => {
            println!("Nothing was saved.");
            return Ok(());
        }
    };
    let request = AddReflectionRequest {
        text,
        kind: ReflectionKind::Note.into(),
        ..Default::default()
    };
    let saved = ctx
        .daemon
        .timeline()
        .add_reflection(request)
        .await?
        .into_inner();
    println!("{}", runner::saved_text(&saved, "Saved"));
    Ok(())
}

async fn exercises(
    ctx: &Ctx,
    state: Option<ExerciseState>,
) -> Result<Vec<ExerciseSummary>, CliError> {
    exercises_filtered(ctx, None, state).await
}

async fn exercises_filtered(
    ctx: &Ctx,
    modality: Option<Modality>,
    state: Option<ExerciseState>,
) -> Result<Vec<ExerciseSummary>, CliError> {
    let request = ListExercisesRequest {
        modality: modality.unwrap_or(Modality::Unspecified).into(),
        state: state.unwrap_or(ExerciseState::Unspecified).into(),
    };
    Ok(ctx
        .daemon
        .practice()
        .list_exercises(request)
        .await?
        .into_inner()
        .exercises)
}

/// `plugin/exercise`, or `exercise` when exactly one plugin has it.
fn resolve<'a>(all: &'a [ExerciseSummary], wanted: &str) -> Result<&'a ExerciseSummary, CliError> {
    let wanted = wanted.trim();
    let matching: Vec<&ExerciseSummary> = match wanted.split_once('/') {
        Some((plugin, exercise)) => all
            .iter()
            .filter(|e| e.plugin_id == plugin && e.exercise_id == exercise)
            .collect(),
        None => all.iter().filter(|e| e.exercise_id == wanted).collect(),
    };
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::new(
            ExitCode::NotFound,
            format!("there is no exercise `{wanted}`; `interlude practice` lists them"),
        )),
        several => Err(CliError::invalid_input(format!(
            "more than one plugin has `{wanted}`; say which: {}",
            several
                .iter()
                .map(|e| full_id(e))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn full_id(e: &ExerciseSummary) -> String {
    format!("{}/{}", e.plugin_id, e.exercise_id)
}

async fn list(
    ctx: &Ctx,
    modality: Option<ModalityArg>,
    state: Option<StateArg>,
) -> Result<(), CliError> {
    let found = exercises_filtered(ctx, modality.map(modality_of), state.map(state_of)).await?;
    ctx.out.emit(
        || {
            if found.is_empty() {
                return "No exercises match. `interlude plugin list` shows which plugins are on."
                    .to_owned();
            }
            let mut text: Vec<String> = found
                .iter()
                .map(|e| {
                    format!(
                        "{}  {} · {} min · {}\n  {}",
                        full_id(e),
                        e.title,
                        e.minutes,
                        state_word(e.state()),
                        e.summary
                    )
                })
                .collect();
            text.push("\nStart one with `interlude practice PLUGIN/EXERCISE`.".into());
            text.join("\n")
        },
        || {
            json!({
                "exercises": found.iter().map(|e| json!({
                    "id": full_id(e),
                    "plugin_id": e.plugin_id,
                    "exercise_id": e.exercise_id,
                    "title": e.title,
                    "summary": e.summary,
                    "state": state_word(e.state()),
                    "minutes": e.minutes,
                    "steps": e.step_count,
                })).collect::<Vec<_>>()
            })
        },
    )
}

fn state_word(state: ExerciseState) -> &'static str {
    match state {
        ExerciseState::Activated => "for a hard moment",
        ExerciseState::Reflective => "for a calmer time",
        ExerciseState::Any | ExerciseState::Unspecified => "any time",
    }
}

fn modality_of(arg: ModalityArg) -> Modality {
    match arg {
        ModalityArg::Cbt => Modality::Cbt,
        ModalityArg::Dbt => Modality::Dbt,
        ModalityArg::Act => Modality::Act,
        ModalityArg::Psychodynamic => Modality::Psychodynamic,
        ModalityArg::Other => Modality::Other,
    }
}

fn state_of(arg: StateArg) -> ExerciseState {
    match arg {
        StateArg::Activated => ExerciseState::Activated,
        StateArg::Reflective => ExerciseState::Reflective,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn exercise(plugin: &str, id: &str, state: ExerciseState, minutes: u32) -> ExerciseSummary {
        ExerciseSummary {
            plugin_id: plugin.into(),
            exercise_id: id.into(),
            title: id.into(),
            state: state.into(),
            minutes,
            ..Default::default()
        }
    }

    #[test]
    fn an_exercise_is_found_by_full_or_unique_short_id() {
        let all = [
            exercise("cbt", "thought-record", ExerciseState::Reflective, 15),
            exercise("cbt", "values", ExerciseState::Reflective, 5),
            exercise("act", "values", ExerciseState::Reflective, 5),
        ];
        assert_eq!(resolve(&all, "thought-record").unwrap().plugin_id, "cbt");
        assert_eq!(resolve(&all, "act/values").unwrap().plugin_id, "act");
        let both = resolve(&all, "values").unwrap_err().to_string();
        assert!(both.contains("cbt/values, act/values"), "{both}");
        assert_eq!(
            resolve(&all, "nope").unwrap_err().exit_code(),
            ExitCode::NotFound
        );
    }

    #[test]
    fn now_offers_the_three_shortest_exercises_written_for_a_hard_moment() {
        let all = vec![
            exercise("dbt", "tipp", ExerciseState::Activated, 5),
            exercise("dbt", "wise-mind", ExerciseState::Any, 1),
            exercise("dbt", "stop", ExerciseState::Activated, 2),
            exercise("act", "noticing", ExerciseState::Activated, 3),
            exercise("cbt", "quick", ExerciseState::Activated, 3),
        ];
        let ids: Vec<String> = activated(all).into_iter().map(|e| e.exercise_id).collect();
        assert_eq!(ids[..NOW_CHOICES], ["stop", "noticing", "quick"]);
        assert_eq!(
            ids[NOW_CHOICES..],
            ["tipp"],
            "the rest stay one `m` away, never dropped"
        );
    }
}
