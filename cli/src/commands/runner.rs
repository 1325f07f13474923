//! The exercise runner in the terminal: one question at a time, the earlier answer a question is
//! about kept in view, Enter on an empty line to skip, `<` to go back, and Ctrl-C to stop (with
//! the choice of keeping a draft). Line-based on purpose: it works in any terminal, over ssh, in
//! a screen reader, and when answers are piped in.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use interlude_proto::v1::{
    AbandonRequest, AddReflectionResponse, AnswerRequest, BackRequest, FinishRequest, RunView,
    SkipRequest, Step, StepKind,
};
use tokio::sync::mpsc;
use tonic::Code;

use super::reflect::{resurfaced_text, with_payload_first};
use super::{Ctx, safety};
use crate::error::CliError;

/// What the person typed, or that they pressed Ctrl-C, or that input ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    Line(String),
    Interrupted,
    Closed,
}

/// Lines from standard input, read on a thread so that waiting for one can be interrupted by
/// Ctrl-C (and by a timer running out).
pub struct Lines {
    receiver: mpsc::Receiver<String>,
}

impl Lines {
    pub fn from_stdin() -> Lines {
        let (sender, receiver) = mpsc::channel(16);
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if sender.blocking_send(line).is_err() {
                    break;
                }
            }
        });
        Lines { receiver }
    }

    pub async fn next(&mut self) -> Input {
        tokio::select! {
            line = self.receiver.recv() => line.map_or(Input::Closed, Input::Line),
            _ = tokio::signal::ctrl_c() => Input::Interrupted,
        }
    }

    /// Asks `question` (without a newline) and waits for the answer.
    pub async fn ask(&mut self, question: &str) -> Input {
        print!("{question}");
        let _ = std::io::stdout().flush();
        let input = self.next().await;
        if input == Input::Interrupted {
            // The terminal shows ^C without a newline.
            println!();
        }
        input
    }
}

/// What to do with the current step.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Answer(String),
    Skip,
    Back,
    /// `-` after Back: skip without keeping the earlier answer.
    LeaveOut,
    Stop,
    Closed,
}

/// Runs the exercise `view` is at until it is finished or stopped.
pub async fn run(ctx: &Ctx, mut view: RunView, lines: &mut Lines) -> Result<(), CliError> {
    println!("{}", view.title);
    println!("Enter on an empty line skips a question · < goes back · Ctrl-C stops\n");
    let mut client = ctx.daemon.practice();
    loop {
        let Some(step) = view.step.clone().filter(|_| !view.at_end) else {
            let saved = client
                .finish(FinishRequest {
                    run_id: view.run_id.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            println!("\n{}", saved_text(&saved, "Saved"));
            return Ok(());
        };
        show_step(&view, &step);
        let reply = reply_to(&step, lines).await;
        let run_id = view.run_id.clone();
        let result = match reply {
            Reply::Answer(value) => {
                let step_id = step.id.clone();
                client
                    .answer(AnswerRequest {
                        run_id,
                        step_id,
                        value,
                    })
                    .await
            }
            Reply::Skip | Reply::LeaveOut => {
                client
                    .skip(SkipRequest {
                        run_id,
                        step_id: step.id.clone(),
                    })
                    .await
            }
            Reply::Back => client.back(BackRequest { run_id }).await,
            Reply::Stop => return stop(ctx, &view.run_id, lines).await,
            Reply::Closed => return closed(ctx, &view.run_id).await,
        };
        match result {
            Ok(next) => view = next.into_inner(),
            // A value the daemon refused, a required step, the first step: say why, ask again.
            Err(status)
                if matches!(
                    status.code(),
                    Code::InvalidArgument | Code::FailedPrecondition
                ) =>
            {
                println!("  {}\n", status.message());
            }
            Err(status) => return Err(status.into()),
        }
    }
}

fn show_step(view: &RunView, step: &Step) {
    println!("[{}/{}] {}", view.position, view.step_count, step.prompt);
    if let Some(earlier) = step.shows.as_ref() {
        println!("  You wrote:");
        for line in earlier.value.lines() {
            println!("  │ {line}");
        }
    }
    match step.kind() {
        StepKind::Choice | StepKind::MultiChoice | StepKind::Vocabulary => {
            for (n, option) in step.options.iter().enumerate() {
                println!("  {}) {option}", n + 1);
            }
        }
        StepKind::Scale => println!("  {}", scale_hint(step)),
        StepKind::Text if !step.suggestions.is_empty() => {
            println!("  From before (a number picks one, or write something else):");
            for (n, earlier) in step.suggestions.iter().enumerate() {
                println!("  {}) {earlier}", n + 1);
            }
        }
        _ => {}
    }
    if !step.current_answer.is_empty() {
        println!("  Before: {}", step.current_answer.replace('\n', " · "));
        println!("  (Enter keeps it; - leaves it out)");
    } else if step.required {
        println!("  (this one needs an answer)");
    }
}

fn scale_hint(step: &Step) -> String {
    match step.labels.as_slice() {
        [low, high] => format!("{} = {low} … {} = {high}", step.min, step.max),
        _ => format!("a number from {} to {}", step.min, step.max),
    }
}

/// Reads the reply to `step`, asking again (with the reason) until it is one.
async fn reply_to(step: &Step, lines: &mut Lines) -> Reply {
    loop {
        let reply = match step.kind() {
            StepKind::List => list(lines).await,
            StepKind::Body => body(lines).await,
            StepKind::Timer => timer(step, lines).await,
            _ => single(step, lines).await,
        };
        match reply {
            Ok(Reply::Skip) if !step.current_answer.is_empty() => {
                return Reply::Answer(step.current_answer.clone());
            }
            Ok(Reply::Skip | Reply::LeaveOut) if step.required => {
                println!("  This one needs an answer (Ctrl-C stops).\n");
            }
            Ok(Reply::LeaveOut) => return Reply::Skip,
            Ok(reply) => return reply,
            Err(why) => println!("  {why}\n"),
        }
    }
}

/// The reply a line stands for before it is read as an answer.
fn control(input: Input) -> Result<String, Reply> {
    match input {
        Input::Interrupted => Err(Reply::Stop),
        Input::Closed => Err(Reply::Closed),
        Input::Line(line) if line.trim().is_empty() => Err(Reply::Skip),
        Input::Line(line) if line.trim() == "<" => Err(Reply::Back),
        Input::Line(line) if line.trim() == "-" => Err(Reply::LeaveOut),
        Input::Line(line) => Ok(line),
    }
}

/// A one-line answer: text, choice, multi-choice, emotion, scale, vocabulary.
async fn single(step: &Step, lines: &mut Lines) -> Result<Reply, String> {
    let line = match control(lines.ask("> ").await) {
        Ok(line) => line,
        Err(reply) => return Ok(reply),
    };
    let value = match step.kind() {
        StepKind::Choice => pick(&line, &step.options)?,
        StepKind::MultiChoice => pick_many(&line, &step.options)?.join("\n"),
        StepKind::Emotion => emotions(&line)?,
        StepKind::Vocabulary if !step.options.is_empty() => {
            pick(&line, &step.options).unwrap_or_else(|_| line.trim().to_owned())
        }
        // A follow-up: a number picks an earlier answer; anything else is the answer itself.
        StepKind::Text if !step.suggestions.is_empty() => {
            by_number(&line, &step.suggestions).unwrap_or_else(|| line.trim().to_owned())
        }
        _ => line.trim().to_owned(),
    };
    Ok(Reply::Answer(value))
}

/// Several lines, ended by an empty one.
async fn list(lines: &mut Lines) -> Result<Reply, String> {
    println!("  (one per line; an empty line ends the list)");
    let mut items = match control(lines.ask("- ").await) {
        Ok(first) => vec![first.trim().to_owned()],
        Err(reply) => return Ok(reply),
    };
    loop {
        match lines.ask("- ").await {
            Input::Line(line) if line.trim().is_empty() => break,
            Input::Line(line) => items.push(line.trim().to_owned()),
            // Input ended without the empty line: the items so far are the answer.
            Input::Closed => break,
            Input::Interrupted => return Ok(Reply::Stop),
        }
    }
    Ok(Reply::Answer(items.join("\n")))
}

/// Where, what it feels like, how strong: each skippable.
async fn body(lines: &mut Lines) -> Result<Reply, String> {
    let parts = [
        ("where", "  Where in your body? "),
        ("feels like", "  What does it feel like? "),
        ("how strong", "  How strong, 0 to 100? "),
    ];
    let mut said: Vec<String> = Vec::new();
    for (name, question) in parts {
        match control(lines.ask(question).await) {
            Ok(line) => said.push(format!("{name}: {}", line.trim())),
            Err(Reply::Skip | Reply::LeaveOut) => {}
            Err(Reply::Back) if said.is_empty() => return Ok(Reply::Back),
            Err(Reply::Back) => {}
            Err(reply) => return Ok(reply),
        }
    }
    if said.is_empty() {
        return Ok(Reply::Skip);
    }
    Ok(Reply::Answer(said.join("\n")))
}

/// Waits the step's seconds, or until Enter; the answer says how long it was.
async fn timer(step: &Step, lines: &mut Lines) -> Result<Reply, String> {
    println!(
        "  Stay with this for {} seconds. (Enter moves on sooner; < goes back.)",
        step.seconds
    );
    let started = Instant::now();
    let wanted = Duration::from_secs(u64::from(step.seconds));
    let early = tokio::time::timeout(wanted, lines.next()).await;
    let stayed = started.elapsed().min(wanted).as_secs();
    match early {
        Ok(Input::Interrupted) => return Ok(Reply::Stop),
        Ok(Input::Closed) => return Ok(Reply::Closed),
        Ok(Input::Line(line)) if line.trim() == "<" => return Ok(Reply::Back),
        Ok(Input::Line(_)) if stayed == 0 => return Ok(Reply::Skip),
        Ok(Input::Line(_)) => {}
        Err(_) => println!("  Time."),
    }
    Ok(Reply::Answer(format!(
        "stayed {stayed} of {} seconds",
        step.seconds
    )))
}

/// An option by its number or its text (any case).
/// The option a line's number names (1-based), if it is one.
fn by_number(line: &str, options: &[String]) -> Option<String> {
    line.trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| options.get(i))
        .cloned()
}

fn pick(line: &str, options: &[String]) -> Result<String, String> {
    let wanted = line.trim();
    by_number(wanted, options)
        .or_else(|| {
            options
                .iter()
                .find(|o| o.eq_ignore_ascii_case(wanted))
                .cloned()
        })
        .ok_or_else(|| format!("Type the number of an option, 1 to {}.", options.len()))
}

/// Numbers (or texts) separated by spaces or commas: "1 3" or "1,3".
fn pick_many(line: &str, options: &[String]) -> Result<Vec<String>, String> {
    let picked = if options.iter().any(|o| o.eq_ignore_ascii_case(line.trim())) {
        vec![pick(line, options)?]
    } else {
        line.split([',', ' '])
            .filter(|p| !p.trim().is_empty())
            .map(|p| pick(p, options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                format!(
                    "Type the numbers of the options that fit, e.g. 1 3 (1 to {}).",
                    options.len()
                )
            })?
    };
    Ok(picked)
}

/// "anxious 70, sad 40" (or "anxious:70") as the daemon's `name:intensity` lines.
fn emotions(line: &str) -> Result<String, String> {
    let wrong =
        || "Write each feeling with how strong it is, 0 to 100: anxious 70, sad 40".to_owned();
    line.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|part| {
            let part = part.trim();
            let (name, number) = part.rsplit_once([':', ' ']).ok_or_else(wrong)?;
            let number: u32 = number.trim().parse().map_err(|_| wrong())?;
            if name.trim().is_empty() || number > 100 {
                return Err(wrong());
            }
            Ok(format!("{}:{number}", name.trim().trim_end_matches(':')))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|all| all.join("\n"))
}

/// Ctrl-C: ask whether to keep a draft, then close the run.
async fn stop(ctx: &Ctx, run_id: &str, lines: &mut Lines) -> Result<(), CliError> {
    let keep = match lines
        .ask("\nStopping. Keep what you've written as a draft? [y/N] ")
        .await
    {
        Input::Line(answer) => matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"),
        // Nobody left to ask: keep rather than lose what was written.
        Input::Closed => true,
        Input::Interrupted => false,
    };
    abandon(ctx, run_id, keep).await
}

/// Input ended mid-exercise (a closed pipe, a hung-up terminal): keep what there is.
async fn closed(ctx: &Ctx, run_id: &str) -> Result<(), CliError> {
    println!();
    abandon(ctx, run_id, true).await
}

async fn abandon(ctx: &Ctx, run_id: &str, keep_draft: bool) -> Result<(), CliError> {
    let request = AbandonRequest {
        run_id: run_id.to_owned(),
        keep_draft,
    };
    let draft = ctx
        .daemon
        .practice()
        .abandon(request)
        .await?
        .into_inner()
        .draft;
    match draft {
        Some(saved) => println!("{}", saved_text(&saved, "Kept as a draft (tagged `draft`)")),
        None => println!("Stopped. Nothing was saved."),
    }
    Ok(())
}

/// The safety payload first when the check fired, then what was saved and any earlier entries
/// it resembles.
pub fn saved_text(saved: &AddReflectionResponse, what: &str) -> String {
    let payload = saved.safety.clone().map(safety::complete);
    let notice = if saved.sealed {
        format!(
            "{what}, sealed while the vault is locked: {}. Reading it needs `interlude unlock`.",
            saved.id
        )
    } else {
        format!("{what}: {}  (`interlude show {}`)", saved.id, saved.id)
    };
    with_payload_first(
        payload.as_ref(),
        notice + &resurfaced_text(&saved.resurfaced),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn options() -> Vec<String> {
        vec!["Yes".into(), "Not now".into(), "Maybe later".into()]
    }

    #[test]
    fn options_are_picked_by_number_or_text() {
        assert_eq!(pick("2", &options()).unwrap(), "Not now");
        assert_eq!(pick(" not now ", &options()).unwrap(), "Not now");
        assert!(pick("4", &options()).unwrap_err().contains("1 to 3"));
        assert_eq!(
            pick_many("1, 3", &options()).unwrap(),
            ["Yes", "Maybe later"]
        );
        assert_eq!(
            pick_many("maybe later", &options()).unwrap(),
            ["Maybe later"]
        );
        assert!(pick_many("1 9", &options()).is_err());
    }

    #[test]
    fn emotions_are_read_the_way_people_type_them() {
        assert_eq!(
            emotions("anxious 70, hurt and angry 40").unwrap(),
            "anxious:70\nhurt and angry:40"
        );
        assert_eq!(emotions("anxious:70").unwrap(), "anxious:70");
        assert!(emotions("anxious").is_err());
        assert!(emotions("anxious 170").is_err());
    }

    #[test]
    fn control_lines_stand_for_skip_back_and_stop() {
        assert_eq!(control(Input::Line("  ".into())), Err(Reply::Skip));
        assert_eq!(control(Input::Line("<".into())), Err(Reply::Back));
        assert_eq!(control(Input::Interrupted), Err(Reply::Stop));
        assert_eq!(
            control(Input::Line("a thought".into())),
            Ok("a thought".into())
        );
    }

    #[test]
    fn a_saved_result_shows_what_it_resembles_under_the_confirmation() {
        let saved = AddReflectionResponse {
            id: "01JD".into(),
            resurfaced: vec![interlude_proto::v1::Resurfaced {
                id: "01JC".into(),
                text: "I assume I am about to be fired.".into(),
                from_session: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            saved_text(&saved, "Saved"),
            "Saved: 01JD  (`interlude show 01JD`)\n\n\
             You wrote on an earlier day (kept from a session):\n  I assume I am about to be fired."
        );
    }
}
