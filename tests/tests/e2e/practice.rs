//! Running exercises: the Practice service through gRPC, and `interlude practice` and
//! `interlude now` in a real terminal (tmux send-keys and capture-pane).

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::process::Command;
use std::time::{Duration, Instant};

use interlude_e2e::{PASSPHRASE, RealDaemon, TestDaemon, bin};
use interlude_proto::v1::practice_client::PracticeClient;
use interlude_proto::v1::{
    AbandonRequest, AnswerRequest, BackRequest, ExerciseState, FinishRequest, ListExercisesRequest,
    ListReflectionsRequest, Modality, ReflectionKind, RunView, SkipRequest, StartRequest, StepKind,
};
use tonic::Code;
use tonic::transport::Channel;

async fn practice(daemon: &TestDaemon) -> PracticeClient<Channel> {
    PracticeClient::new(interlude_proto::connect(&daemon.socket()).await.unwrap())
}

async fn start(client: &mut PracticeClient<Channel>, plugin: &str, exercise: &str) -> RunView {
    client
        .start(StartRequest {
            plugin_id: plugin.into(),
            exercise_id: exercise.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn answer(client: &mut PracticeClient<Channel>, view: &RunView, value: &str) -> RunView {
    client
        .answer(AnswerRequest {
            run_id: view.run_id.clone(),
            step_id: step_id(view).into(),
            value: value.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn skip(client: &mut PracticeClient<Channel>, view: &RunView) -> RunView {
    client
        .skip(SkipRequest {
            run_id: view.run_id.clone(),
            step_id: step_id(view).into(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn step_id(view: &RunView) -> &str {
    &view.step.as_ref().unwrap().id
}

async fn exercises_saved(daemon: &TestDaemon) -> usize {
    daemon
        .timeline()
        .list_reflections(ListReflectionsRequest {
            kind: ReflectionKind::Exercise.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .reflections
        .len()
}

#[tokio::test]
async fn exercises_are_listed_and_filtered_by_modality_and_state() {
    let daemon = TestDaemon::start().await;
    let mut client = practice(&daemon).await;
    let list = |modality: Modality, state: ExerciseState| ListExercisesRequest {
        modality: modality.into(),
        state: state.into(),
    };
    let all = client
        .list_exercises(list(Modality::Unspecified, ExerciseState::Unspecified))
        .await
        .unwrap()
        .into_inner()
        .exercises;
    let record = all
        .iter()
        .find(|e| e.plugin_id == "cbt" && e.exercise_id == "thought-record")
        .unwrap();
    assert_eq!(record.title, "Thought record");
    assert_eq!(record.state(), ExerciseState::Reflective);
    assert!(record.step_count >= 8 && record.minutes > 0);
    assert!(
        ["act", "cbt", "dbt", "psychodynamic"]
            .iter()
            .all(|p| all.iter().any(|e| e.plugin_id == *p))
    );

    let dbt = client
        .list_exercises(list(Modality::Dbt, ExerciseState::Activated))
        .await
        .unwrap()
        .into_inner()
        .exercises;
    assert!(dbt.iter().any(|e| e.exercise_id == "stop"));
    assert!(dbt.iter().all(|e| e.plugin_id == "dbt"
        && matches!(e.state(), ExerciseState::Activated | ExerciseState::Any)));

    let bad = client
        .list_exercises(ListExercisesRequest {
            modality: 99,
            state: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_run_answered_with_back_and_skip_is_saved_with_its_structured_answers() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let mut client = practice(&daemon).await;
    let view = start(&mut client, "cbt", "quick-thought-record").await;
    assert_eq!((view.position, view.step_count), (1, 4));
    assert!(!view.can_go_back);
    let view = answer(&mut client, &view, "missed the bus, late for work").await;
    assert_eq!(view.step.as_ref().unwrap().kind(), StepKind::Emotion);
    let view = answer(&mut client, &view, "anxious:70\nashamed:40").await;

    // Back to the feelings: the earlier answer comes with the step, and can be changed.
    let view = client
        .back(BackRequest {
            run_id: view.run_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(step_id(&view), "feeling");
    assert_eq!(
        view.step.as_ref().unwrap().current_answer,
        "anxious:70\nashamed:40"
    );
    let view = answer(&mut client, &view, "anxious:80").await;

    // The loudest thought is required.
    assert_eq!(step_id(&view), "thought");
    let refused = client
        .skip(SkipRequest {
            run_id: view.run_id.clone(),
            step_id: "thought".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("cannot be skipped"),
        "{refused:?}"
    );
    let view = answer(&mut client, &view, "I always mess everything up").await;

    // The thought stays visible on the step about it.
    let shows = view.step.as_ref().unwrap().shows.clone().unwrap();
    assert_eq!(
        (shows.step_id.as_str(), shows.value.as_str()),
        ("thought", "I always mess everything up")
    );
    let early = client
        .finish(FinishRequest {
            run_id: view.run_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    let view = skip(&mut client, &view).await;
    assert!(view.at_end && view.step.is_none());
    assert_eq!(view.position, 5);

    let saved = client
        .finish(FinishRequest {
            run_id: view.run_id.clone(),
            bring_to_session: true,
            private: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!saved.sealed && saved.safety.is_none());
    let reflection = daemon.get(&saved.id).await;
    assert_eq!(reflection.kind(), ReflectionKind::Exercise);
    assert_eq!(
        (
            reflection.plugin_id.as_str(),
            reflection.exercise_id.as_str()
        ),
        ("cbt", "quick-thought-record")
    );
    let answers: Vec<(&str, &str)> = reflection
        .answers
        .iter()
        .map(|a| (a.step_id.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(
        answers,
        [
            ("happening", "missed the bus, late for work"),
            ("feeling", "anxious:80"),
            ("thought", "I always mess everything up"),
        ]
    );
    assert_eq!(reflection.emotions.len(), 1);
    assert_eq!(reflection.emotions[0].intensity, 80);
    assert!(reflection.bring_to_session);
    assert!(reflection.text.starts_with("Quick thought record\n\n"));
    assert!(reflection.text.contains("\n  I always mess everything up"));

    // The run is closed once saved.
    let gone = client
        .back(BackRequest {
            run_id: view.run_id,
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn a_branch_on_a_choice_leads_past_the_steps_it_skips() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let mut client = practice(&daemon).await;
    let mut view = start(&mut client, "act", "committed-action").await;
    assert_eq!(step_id(&view), "value");
    view = skip(&mut client, &view).await;
    view = skip(&mut client, &view).await;
    view = answer(&mut client, &view, "call my sister on Sunday").await;
    view = skip(&mut client, &view).await;
    view = answer(&mut client, &view, "feeling I'm a bother\nshe's busy").await;
    assert_eq!(step_id(&view), "willing");
    assert_eq!(
        view.step.as_ref().unwrap().shows.as_ref().unwrap().value,
        "feeling I'm a bother\nshe's busy"
    );
    let not_an_option = client
        .answer(AnswerRequest {
            run_id: view.run_id.clone(),
            step_id: "willing".into(),
            value: "Perhaps".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(not_an_option.code(), Code::InvalidArgument);
    assert!(not_an_option.message().contains("Yes"), "{not_an_option:?}");

    let branched = answer(&mut client, &view, "Yes").await;
    assert_eq!(
        step_id(&branched),
        "reminder",
        "`Yes` skips the smaller step"
    );
    let back = client
        .back(BackRequest {
            run_id: view.run_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(step_id(&back), "willing");
    let other = answer(
        &mut client,
        &back,
        "I'd like to make the step smaller first",
    )
    .await;
    assert_eq!(step_id(&other), "smaller-step");
    let view = answer(&mut client, &other, "text her instead").await;
    let view = skip(&mut client, &view).await;
    let saved = client
        .finish(FinishRequest {
            run_id: view.run_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let steps: Vec<String> = daemon
        .get(&saved.id)
        .await
        .answers
        .into_iter()
        .map(|a| a.step_id)
        .collect();
    assert_eq!(steps, ["action", "barriers", "willing", "smaller-step"]);
}

/// Runs the DBT diary card answering `urge-harm` with `rating` and skipping everything else.
async fn diary_card_with_urge(
    daemon: &TestDaemon,
    rating: &str,
) -> interlude_proto::v1::AddReflectionResponse {
    diary_card_answering(daemon, "urge-harm", rating).await
}

/// Runs the DBT diary card answering only `step_id`, with `value`.
async fn diary_card_answering(
    daemon: &TestDaemon,
    step_id: &str,
    value: &str,
) -> interlude_proto::v1::AddReflectionResponse {
    let mut client = practice(daemon).await;
    let mut view = start(&mut client, "dbt", "diary-card").await;
    while let Some(step) = view.step.clone() {
        view = if step.id == step_id {
            answer(&mut client, &view, value).await
        } else {
            skip(&mut client, &view).await
        };
    }
    client
        .finish(FinishRequest {
            run_id: view.run_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// Runs an exercise answering the steps named in `answers`, skipping the others, and saves it.
async fn run_answering(
    daemon: &TestDaemon,
    plugin: &str,
    exercise: &str,
    answers: &[(&str, &str)],
) {
    let mut client = practice(daemon).await;
    let mut view = start(&mut client, plugin, exercise).await;
    while let Some(step) = view.step.clone() {
        view = match answers.iter().find(|(id, _)| *id == step.id) {
            Some((_, value)) => answer(&mut client, &view, value).await,
            None => skip(&mut client, &view).await,
        };
    }
    client
        .finish(FinishRequest {
            run_id: view.run_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_review_offers_the_planned_activities_it_has_not_looked_back_on_yet() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    for activity in ["Walk to the corner shop", "Call Mum back"] {
        run_answering(
            &daemon,
            "cbt",
            "activity-planning",
            &[("activity", activity)],
        )
        .await;
    }
    run_answering(
        &daemon,
        "cbt",
        "activity-review",
        &[("activity", "call mum back")],
    )
    .await;
    let mut client = practice(&daemon).await;
    let view = start(&mut client, "cbt", "activity-review").await;
    let step = view.step.unwrap();
    assert_eq!(step.id, "activity");
    assert_eq!(
        step.suggestions,
        ["Walk to the corner shop"],
        "the reviewed one is not offered again"
    );
    daemon.lock().await;
    let view = start(&mut client, "cbt", "activity-review").await;
    assert!(
        view.step.unwrap().suggestions.is_empty(),
        "nothing readable while locked"
    );
}

#[tokio::test]
async fn a_rating_past_the_exercise_s_safety_line_raises_the_safety_plan() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let low = diary_card_with_urge(&daemon, "1").await;
    assert!(low.safety.is_none(), "a low rating is an ordinary day");
    let strong = diary_card_with_urge(&daemon, "5").await;
    let safety = strong
        .safety
        .expect("an urge of 5 brings the plan and the lines");
    assert_eq!(safety.tier(), interlude_proto::v1::CrisisTier::Ideation);
    assert!(daemon.get(&strong.id).await.crisis, "saved, flagged");
}

#[tokio::test]
async fn every_place_the_diary_card_asks_about_self_harm_raises_the_safety_plan() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    for (step, value) in [
        ("urge-harm-acted", "Yes"),
        (
            "target-behaviours",
            "Lashing out at someone\nActing on urges to harm yourself",
        ),
    ] {
        let saved = diary_card_answering(&daemon, step, value).await;
        assert!(saved.safety.is_some(), "{step}: {value:?} brings the plan");
        assert!(daemon.get(&saved.id).await.crisis, "{step}: saved, flagged");
    }
    let ordinary = diary_card_answering(&daemon, "target-behaviours", "None of these today").await;
    assert!(ordinary.safety.is_none(), "an ordinary day is not an alarm");
}

/// Answers the PHQ-9 with `answer(item number)` for each item and skips the rest.
async fn phq9(
    daemon: &TestDaemon,
    answer_for: impl Fn(usize) -> &'static str,
) -> interlude_proto::v1::AddReflectionResponse {
    let mut client = practice(daemon).await;
    let mut view = start(&mut client, "measures", "phq-9").await;
    let mut item = 0;
    while let Some(step) = view.step.clone() {
        view = if step.id.starts_with("phq-9.") {
            item += 1;
            answer(&mut client, &view, answer_for(item)).await
        } else {
            skip(&mut client, &view).await
        };
    }
    assert_eq!(item, 9, "nine items, asked one at a time");
    client
        .finish(FinishRequest {
            run_id: view.run_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_skill_instruction_is_marked_as_one_and_a_question_is_not() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let mut client = practice(&daemon).await;
    let view = start(&mut client, "dbt", "tipp").await;
    let first = view.step.clone().unwrap();
    assert_eq!(first.id, "intensity-before");
    assert!(!first.instruction, "a rating is a question");
    let view = skip(&mut client, &view).await;
    let temperature = view.step.unwrap();
    assert_eq!(temperature.id, "temperature");
    assert!(
        temperature.instruction,
        "the cold-water step is the skill itself"
    );
    assert!(
        temperature.prompt.contains("beta blockers") && temperature.prompt.contains("cold"),
        "with its cautions: {}",
        temperature.prompt
    );
}

/// Turns on the built-in measures (off until a client turns them on) and has the daemon reload.
async fn with_measures_on(daemon: &TestDaemon) {
    std::fs::write(
        daemon.data_dir().join("plugin-settings.toml"),
        "enabled = [\"measures\"]\n",
    )
    .unwrap();
    daemon
        .plugins()
        .reload(interlude_proto::v1::ReloadPluginsRequest {})
        .await
        .unwrap();
}

#[tokio::test]
async fn a_phq9_is_stored_as_the_clients_answers_and_total_and_item_9_raises_the_plan() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    with_measures_on(&daemon).await;
    let quiet = phq9(&daemon, |item| match item {
        1 | 2 => "More than half the days",
        3 => "Nearly every day",
        _ => "Not at all",
    })
    .await;
    assert!(
        quiet.safety.is_none(),
        "item 9 at 'Not at all' is not an alarm"
    );
    let saved = daemon.get(&quiet.id).await;
    assert!(!saved.crisis);
    let value = |id: &str| {
        saved
            .answers
            .iter()
            .find(|a| a.step_id == id)
            .map(|a| a.value.clone())
    };
    assert_eq!(
        value("phq-9.interest").as_deref(),
        Some("More than half the days")
    );
    assert_eq!(value("phq-9.self-harm").as_deref(), Some("Not at all"));
    assert_eq!(value("phq-9.total").as_deref(), Some("7"), "2 + 2 + 3");
    for label in ["mild", "moderate", "severe", "minimal"] {
        assert!(
            !saved.text.to_lowercase().contains(label),
            "no label: {}",
            saved.text
        );
    }

    let item_9 = phq9(&daemon, |item| {
        if item == 9 {
            "Several days"
        } else {
            "Not at all"
        }
    })
    .await;
    let safety = item_9
        .safety
        .expect("any answer above 0 on item 9 brings the plan");
    assert_eq!(safety.tier(), interlude_proto::v1::CrisisTier::Ideation);
    assert!(daemon.get(&item_9.id).await.crisis, "saved, flagged");
}

#[tokio::test]
async fn abandoning_saves_nothing_unless_a_draft_is_kept() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let mut client = practice(&daemon).await;

    let view = start(&mut client, "cbt", "quick-thought-record").await;
    let view = answer(&mut client, &view, "an argument").await;
    let abandoned = client
        .abandon(AbandonRequest {
            run_id: view.run_id.clone(),
            keep_draft: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(abandoned.draft.is_none());
    assert_eq!(exercises_saved(&daemon).await, 0);

    let view = start(&mut client, "cbt", "quick-thought-record").await;
    let view = answer(&mut client, &view, "an argument with Sam").await;
    let kept = client
        .abandon(AbandonRequest {
            run_id: view.run_id.clone(),
            keep_draft: true,
        })
        .await
        .unwrap()
        .into_inner()
        .draft
        .unwrap();
    let draft = daemon.get(&kept.id).await;
    assert_eq!(draft.tags, ["draft"]);
    assert_eq!(draft.kind(), ReflectionKind::Exercise);
    assert_eq!(draft.answers.len(), 1);
    assert_eq!(draft.answers[0].value, "an argument with Sam");
    assert!(draft.text.contains("draft, not finished"));

    // A draft of nothing is nothing.
    let view = start(&mut client, "cbt", "quick-thought-record").await;
    let empty = client
        .abandon(AbandonRequest {
            run_id: view.run_id,
            keep_draft: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(empty.draft.is_none());
    assert_eq!(exercises_saved(&daemon).await, 1);
}

#[tokio::test]
async fn practice_works_while_locked_and_the_run_is_saved_sealed() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    daemon.lock().await;
    let mut client = practice(&daemon).await;
    let view = start(&mut client, "cbt", "quick-thought-record").await;
    let view = answer(&mut client, &view, "3 am, can't sleep").await;
    let view = skip(&mut client, &view).await;
    let view = answer(&mut client, &view, "tomorrow will be a disaster").await;
    let view = skip(&mut client, &view).await;
    let saved = client
        .finish(FinishRequest {
            run_id: view.run_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(saved.sealed);
    daemon.unlock().await;
    let reflection = daemon.get(&saved.id).await;
    assert_eq!(reflection.answers.len(), 2);
}

#[tokio::test]
async fn bad_requests_are_clear_errors_and_leave_the_run_as_it_was() {
    let daemon = TestDaemon::start().await;
    let mut client = practice(&daemon).await;
    let unknown = client
        .start(StartRequest {
            plugin_id: "cbt".into(),
            exercise_id: "thought-recrod".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(
        unknown.message().contains("interlude practice"),
        "{unknown:?}"
    );

    let view = start(&mut client, "cbt", "thought-record").await;
    let wrong_step = client
        .answer(AnswerRequest {
            run_id: view.run_id.clone(),
            step_id: "emotions".into(),
            value: "sad:50".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong_step.code(), Code::FailedPrecondition);
    assert!(
        wrong_step.message().contains("`situation`"),
        "{wrong_step:?}"
    );
    let view = answer(&mut client, &view, "at the party").await;
    for bad in ["sad", "sad:150", "  "] {
        let refused = client
            .answer(AnswerRequest {
                run_id: view.run_id.clone(),
                step_id: "emotions".into(),
                value: bad.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{bad:?}");
    }
    let still = answer(&mut client, &view, "sad:50").await;
    assert_eq!(step_id(&still), "automatic-thought");
    let first = client
        .back(BackRequest {
            run_id: "not-a-run".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(first.code(), Code::NotFound);
    assert!(first.message().contains("start the exercise again"));
}

/// A real terminal the test types into, counting keystrokes.
struct Terminal {
    session: String,
    keys: Cell<usize>,
}

const DONE: &str = "PRACTICE-DONE";

impl Terminal {
    /// `None` when tmux is not installed.
    fn run(command: &str) -> Option<Terminal> {
        Command::new("tmux").arg("-V").output().ok()?;
        let session = format!("practice-{}-{}", std::process::id(), rand_suffix());
        let wrapped = format!("{command}; echo {DONE}; sleep 60");
        let started = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "120",
                "-y",
                "60",
                &wrapped,
            ])
            .status()
            .unwrap();
        assert!(started.success());
        Some(Terminal {
            session,
            keys: Cell::new(0),
        })
    }

    fn screen(&self) -> String {
        let capture = Command::new("tmux")
            .args(["capture-pane", "-p", "-S", "-200", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&capture.stdout).into_owned()
    }

    /// Waits until the screen shows `text` `times` times in all; returns the screen.
    fn wait_for_nth(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text:?} ({times}×):\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_for_nth(text, 1)
    }

    /// Types `text` and presses Enter: each character and the Enter count as keystrokes.
    fn line(&self, text: &str) {
        if !text.is_empty() {
            self.tmux(&["send-keys", "-t", &self.session, "-l", text]);
        }
        self.tmux(&["send-keys", "-t", &self.session, "Enter"]);
        self.keys.set(self.keys.get() + text.chars().count() + 1);
    }

    fn ctrl_c(&self) {
        self.tmux(&["send-keys", "-t", &self.session, "C-c"]);
    }

    fn tmux(&self, args: &[&str]) {
        assert!(Command::new("tmux").args(args).status().unwrap().success());
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn initialised() -> RealDaemon {
    let daemon = RealDaemon::start();
    let init = daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"));
    assert!(init.status.success());
    daemon
}

fn interlude(daemon: &RealDaemon, args: &str) -> String {
    format!(
        "INTERLUDE_SOCKET={} {} {args}",
        daemon.socket().display(),
        bin("interlude").display()
    )
}

/// The id after `marker` on the screen, e.g. "Saved: 01J…".
fn id_after(screen: &str, marker: &str) -> String {
    let at = screen.find(marker).unwrap() + marker.len();
    screen[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('.')
        .to_owned()
}

fn shown_json(daemon: &RealDaemon, id: &str) -> serde_json::Value {
    let output = daemon.cli(&["show", id, "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_runner_asks_one_question_at_a_time_keeps_the_thought_visible_and_saves_answers() {
    let daemon = initialised();
    let Some(term) = Terminal::run(&interlude(&daemon, "practice cbt/quick-thought-record")) else {
        eprintln!("SKIPPED: tmux is not installed; the terminal runner is untested here");
        return;
    };
    let screen = term.wait_for("[1/4]");
    assert!(
        !screen.contains("[2/4]"),
        "one question at a time:\n{screen}"
    );
    term.line("missed the bus");
    term.wait_for("[2/4]");
    term.line("anxious 70, ashamed 30");
    term.wait_for("[3/4]");
    term.line("");
    term.wait_for("needs an answer");
    term.line("I always mess things up");
    let screen = term.wait_for("[4/4]");
    assert!(
        screen.contains("│ I always mess things up"),
        "the thought stays visible:\n{screen}"
    );
    // Back to the thought: it is shown, and Enter keeps it.
    term.line("<");
    term.wait_for_nth("[3/4]", 2);
    term.wait_for("Before: I always mess things up");
    term.line("");
    term.wait_for_nth("[4/4]", 2);
    term.line("");
    let screen = term.wait_for(DONE);
    let id = id_after(&screen, "Saved: ");
    let saved = shown_json(&daemon, &id);
    assert_eq!(saved["kind"], "exercise");
    assert_eq!(saved["exercise_id"], "quick-thought-record");
    let answers: Vec<(String, String)> = saved["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["step_id"].as_str().unwrap().into(),
                a["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        answers,
        [
            ("happening".into(), "missed the bus".into()),
            ("feeling".into(), "anxious:70\nashamed:30".into()),
            ("thought".into(), "I always mess things up".into()),
        ]
    );
}

#[test]
fn ctrl_c_in_the_runner_asks_whether_to_keep_a_draft() {
    let daemon = initialised();
    let Some(term) = Terminal::run(&interlude(&daemon, "practice thought-record")) else {
        eprintln!("SKIPPED: tmux is not installed; the terminal runner is untested here");
        return;
    };
    term.wait_for("[1/");
    term.line("the meeting ran late");
    term.wait_for("[2/");
    term.ctrl_c();
    term.wait_for("Keep what you've written as a draft?");
    term.line("y");
    let screen = term.wait_for(DONE);
    let id = id_after(&screen, "Kept as a draft (tagged `draft`): ");
    let draft = shown_json(&daemon, &id);
    assert_eq!(draft["tags"], serde_json::json!(["draft"]));
    assert_eq!(draft["answers"][0]["value"], "the meeting ran late");

    let Some(term) = Terminal::run(&interlude(&daemon, "practice thought-record")) else {
        return;
    };
    term.wait_for("[1/");
    term.line("something private");
    term.wait_for("[2/");
    term.ctrl_c();
    term.wait_for("as a draft?");
    term.line("");
    let screen = term.wait_for(DONE);
    assert!(screen.contains("Nothing was saved."), "{screen}");
    let listed = daemon.cli(&["timeline", "--json", "--kind", "exercise"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(!listed.contains("something private"), "{listed}");
}

#[test]
fn now_shows_the_anchor_then_reaches_the_first_question_within_three_keystrokes() {
    let daemon = initialised();
    let added = daemon.cli(&["vocab", "add", "anchor", "the", "lake", "breath"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let Some(term) = Terminal::run(&interlude(&daemon, "now")) else {
        eprintln!("SKIPPED: tmux is not installed; `interlude now` is untested here");
        return;
    };
    let screen = term.wait_for("Which one?");
    let first = screen.lines().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        first.contains("the lake breath"),
        "the anchor comes first:\n{screen}"
    );
    let options: Vec<&str> = screen.lines().filter(|l| l.contains(" min")).collect();
    assert!(
        (2..=3).contains(&options.len()),
        "two or three choices:\n{screen}"
    );
    let quick = options
        .iter()
        .find(|l| l.contains("Quick thought record"))
        .expect("the quick thought record is offered");
    let number = quick.trim().split(')').next().unwrap();
    term.line(number);
    term.wait_for("[1/4]");
    assert!(
        term.keys.get() <= 3,
        "{} keystrokes to the first question",
        term.keys.get()
    );
    term.line("a text from Sam");
    term.wait_for("[2/4]");
    term.line("");
    term.line("he's angry with me");
    term.wait_for("[4/4]");
    term.line("");
    let screen = term.wait_for(DONE);
    let saved = shown_json(&daemon, &id_after(&screen, "Saved: "));
    assert_eq!(saved["answers"][0]["value"], "a text from Sam");
    assert_eq!(saved["answers"][1]["value"], "he's angry with me");
}

#[test]
fn every_exercise_for_a_hard_moment_is_one_more_keystroke_away_from_now() {
    let daemon = initialised();
    let Some(term) = Terminal::run(&interlude(&daemon, "now")) else {
        eprintln!("SKIPPED: tmux is not installed; `interlude now` is untested here");
        return;
    };
    let screen = term.wait_for("m for more");
    assert!(screen.contains("m) more for a hard moment"), "{screen}");
    term.line("m");
    // The longer list's own line: the first prompt, already on screen, also says "Which one?".
    let screen = term.wait_for("ACCEPTS");
    let accepts = screen
        .lines()
        .find(|l| l.contains("ACCEPTS"))
        .unwrap_or_else(|| panic!("the DBT crisis-survival skills are listed:\n{screen}"));
    term.line(accepts.trim().split(')').next().unwrap());
    term.wait_for("[1/");
}

#[test]
fn now_works_while_locked_with_a_calm_line_and_saves_sealed() {
    let daemon = initialised();
    assert!(
        daemon
            .cli(&["vocab", "add", "anchor", "the lake breath"])
            .status
            .success()
    );
    assert!(daemon.cli(&["lock"]).status.success());
    let Some(term) = Terminal::run(&interlude(&daemon, "now")) else {
        eprintln!("SKIPPED: tmux is not installed; `interlude now` is untested here");
        return;
    };
    let screen = term.wait_for("Which one?");
    assert!(
        !screen.contains("lake breath"),
        "nothing readable while locked:\n{screen}"
    );
    assert!(
        screen.contains(interlude_proto::lines::NOW_FALLBACK),
        "{screen}"
    );
    let quick = screen
        .lines()
        .find(|l| l.contains("Quick thought record"))
        .unwrap();
    term.line(quick.trim().split(')').next().unwrap());
    term.wait_for("[1/4]");
    term.line("can't sleep");
    term.wait_for("[2/4]");
    term.line("");
    term.line("it will go wrong");
    term.wait_for("[4/4]");
    term.line("");
    let screen = term.wait_for(DONE);
    assert!(
        screen.contains("sealed while the vault is locked"),
        "{screen}"
    );
}
