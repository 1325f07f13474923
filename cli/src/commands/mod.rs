//! One module per command group; each command parses nothing, asks the daemon, prints.

mod checkin;
pub mod models;
pub mod plugin;
mod plugin_reload;
mod practice;
mod reflect;
mod runner;
pub mod safety;
mod search;
mod sessions;
mod timeline;
mod vault;
mod vocab;

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use serde_json::json;

use crate::args::{Command, SafetyPlanCommand, SessionCommand, VocabCommand};
use crate::client::Daemon;
use crate::error::CliError;
use crate::output::Output;

/// What every command needs: the connected daemon and where to print.
pub struct Ctx {
    pub daemon: Daemon,
    pub out: Output,
}

pub async fn dispatch(command: Command, ctx: &Ctx) -> Result<(), CliError> {
    match command {
        Command::Init(args) => vault::init(ctx, &args).await,
        Command::Unlock(args) => vault::unlock(ctx, &args).await,
        Command::Lock => vault::lock(ctx).await,
        Command::Status => vault::status(ctx).await,
        Command::Passphrase(args) => vault::change_passphrase(ctx, &args).await,
        Command::Reflect(args) => reflect::reflect(ctx, args).await,
        Command::Timeline(args) => timeline::list(ctx, &args).await,
        Command::Search(args) => search::search(ctx, &args).await,
        Command::Show(args) => timeline::show(ctx, &args.id).await,
        Command::Edit(args) => timeline::edit(ctx, args).await,
        Command::Delete(args) => timeline::delete(ctx, &args).await,
        Command::Helpful(args) => timeline::helpful(ctx, &args).await,
        Command::Session(command) => match command {
            SessionCommand::Add(args) => sessions::add(ctx, args).await,
            SessionCommand::List(args) => sessions::list(ctx, &args).await,
            SessionCommand::Show(args) => sessions::show(ctx, &args.id).await,
            SessionCommand::Edit(args) => sessions::edit(ctx, args).await,
            SessionCommand::Delete(args) => sessions::delete(ctx, &args).await,
        },
        Command::Checkin(args) => checkin::run(ctx, args).await,
        Command::Practice(args) => practice::practice(ctx, args).await,
        Command::Now => practice::now(ctx).await,
        Command::Vocab(command) => match command {
            VocabCommand::Add(args) => vocab::add(ctx, args).await,
            VocabCommand::List(args) => vocab::list(ctx, &args).await,
            VocabCommand::Remove(args) => vocab::remove(ctx, &args.id).await,
        },
        Command::HelpNow(args) => safety::help_now(ctx.daemon.socket(), &args, ctx.out).await,
        Command::Models(crate::args::ModelsCommand::Reindex) => search::reindex(ctx).await,
        Command::Models(command) => models::run(command, ctx.out, ctx.daemon.socket()).await,
        Command::Plugin(command) => {
            plugin::run(command, ctx.out, Some(ctx.daemon.socket().to_owned())).await
        }
        Command::SafetyPlan(command) => match command {
            SafetyPlanCommand::Show => safety::show(ctx).await,
            SafetyPlanCommand::Edit => safety::edit(ctx).await,
            SafetyPlanCommand::Export(args) => safety::export(ctx, &args).await,
            SafetyPlanCommand::ReadableWhileLocked(args) => {
                safety::readable_while_locked(ctx, args.state).await
            }
        },
    }
}

/// Deleting asks first, and without a terminal there is no one to ask: `--yes` is needed.
fn require_terminal_to_confirm() -> Result<(), CliError> {
    if std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(CliError::invalid_input(
        "refusing to delete without confirmation: standard input is not a terminal; \
         pass --yes to delete for good",
    ))
}

/// Asks a yes/no question on the terminal; anything but "y" or "yes" is a no.
fn confirm(question: &str) -> Result<bool, CliError> {
    require_terminal_to_confirm()?;
    let mut stderr = std::io::stderr();
    write!(stderr, "{question} [y/N] ")
        .and_then(|()| stderr.flush())
        .context("could not ask for confirmation")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("could not read the answer")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The answer to a deletion the user declined.
fn nothing_deleted(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    ctx.out.emit(
        || "Nothing deleted.".to_owned(),
        || json!({ "id": id, "deleted": false }),
    )
}

/// Prints a line for people on stderr, leaving stdout to results.
fn tell(text: &str) {
    eprintln!("{text}");
}
