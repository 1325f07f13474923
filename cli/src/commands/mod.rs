//! One module per command group; each command parses nothing, asks the daemon, prints.

mod audit;
mod backup;
mod checkin;
mod docs;
mod export;
mod import;
mod import_checkins;
pub mod models;
pub mod plugin;
mod plugin_reload;
mod practice;
mod prep;
mod prep_review;
mod reflect;
mod runner;
pub mod safety;
mod search;
mod service;
pub use import::check as parse_export;
pub use service::interluded;
mod sessions;
mod timeline;
mod token;
mod vault;
mod vocab;
mod web;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use crate::args::{
    Command, ModelsCommand, SafetyPlanCommand, SessionCommand, TokenCommand, VocabCommand,
};
use crate::client::Daemon;
use crate::error::CliError;
use crate::output::Output;

/// What a command that asks the daemon needs: the connected daemon and where to print.
pub struct Ctx {
    pub daemon: Daemon,
    pub out: Output,
}

impl Ctx {
    /// Connects to the daemon at `socket` and checks that it speaks our protocol; starts it
    /// first when `may_start` and it is not running (the default socket only).
    async fn connect(socket: &Path, out: Output, may_start: bool) -> Result<Ctx, CliError> {
        Ok(Ctx {
            daemon: crate::autostart::connect(socket, may_start).await?,
            out,
        })
    }
}

/// Runs `command`. Each arm says whether it needs the daemon: most connect first; `plugin` works
/// on a data directory (and asks the daemon of that one to reload), `help-now` must answer
/// whatever the daemon's state, and `models` other than `reindex` works without it.
pub async fn dispatch(
    command: Command,
    socket: Option<PathBuf>,
    out: Output,
) -> Result<(), CliError> {
    // `plugin` places the daemon it asks by its data directory unless given a socket.
    let given = socket;
    let socket = given.clone().unwrap_or_else(interlude_proto::paths::socket);
    let ctx = || Ctx::connect(&socket, out, given.is_none());
    match command {
        Command::Init(args) => vault::init(&ctx().await?, &args).await,
        Command::Unlock(args) => vault::unlock(&ctx().await?, &args).await,
        Command::Lock => vault::lock(&ctx().await?).await,
        Command::Status => vault::status(&ctx().await?).await,
        Command::Passphrase(args) => vault::change_passphrase(&ctx().await?, &args).await,
        Command::Reflect(args) => reflect::reflect(&ctx().await?, args).await,
        Command::Timeline(args) => timeline::list(&ctx().await?, &args).await,
        Command::Search(args) => search::search(&ctx().await?, &args).await,
        Command::Show(args) => timeline::show(&ctx().await?, &args.id).await,
        Command::Edit(args) => timeline::edit(&ctx().await?, args).await,
        Command::Delete(args) => timeline::delete(&ctx().await?, &args).await,
        Command::Helpful(args) => timeline::helpful(&ctx().await?, &args).await,
        Command::Session(command) => {
            let ctx = &ctx().await?;
            match command {
                SessionCommand::Add(args) => sessions::add(ctx, args).await,
                SessionCommand::List(args) => sessions::list(ctx, &args).await,
                SessionCommand::Show(args) => sessions::show(ctx, &args.id).await,
                SessionCommand::Edit(args) => sessions::edit(ctx, args).await,
                SessionCommand::Delete(args) => sessions::delete(ctx, &args).await,
            }
        }
        Command::Checkin(args) => checkin::run(&ctx().await?, args).await,
        Command::Patterns(args) => prep::patterns(&ctx().await?, &args).await,
        Command::Prep(args) => prep::run(&ctx().await?, args).await,
        Command::Practice(args) => practice::practice(&ctx().await?, args).await,
        Command::Now => practice::now(&ctx().await?).await,
        Command::Vocab(command) => {
            let ctx = &ctx().await?;
            match command {
                VocabCommand::Add(args) => vocab::add(ctx, args).await,
                VocabCommand::List(args) => vocab::list(ctx, &args).await,
                VocabCommand::Remove(args) => vocab::remove(ctx, &args.id).await,
            }
        }
        Command::HelpNow(args) => safety::help_now(&socket, &args, out).await,
        Command::Country(args) => safety::country(&socket, &args, out).await,
        Command::Models(ModelsCommand::Reindex) => search::reindex(&ctx().await?).await,
        Command::Models(command) => models::run(command, out, &socket).await,
        Command::Plugin(command) => plugin::run(command, out, given).await,
        Command::Export(args) => export::export(&ctx().await?, &args).await,
        Command::Import {
            file,
            from,
            dry_run,
        } => import::import(&ctx().await?, &file, from, dry_run).await,
        Command::Backup(args) => backup::backup(&ctx().await?, &args).await,
        Command::Restore(args) => backup::restore(&args, out),
        Command::Daemon(command) => service::run(command, out),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { dir } => docs::man(dir.as_deref(), out),
        Command::Web(args) => web::open(&ctx().await?, &args).await,
        Command::Audit(args) => audit::run(&ctx().await?, &args).await,
        Command::Token(command) => {
            let ctx = ctx().await?;
            match command {
                TokenCommand::Create(args) => token::create(&ctx, args).await,
                TokenCommand::List => token::list(&ctx).await,
                TokenCommand::Revoke { name } => token::revoke(&ctx, &name).await,
            }
        }
        Command::SafetyPlan(command) => {
            let ctx = &ctx().await?;
            match command {
                SafetyPlanCommand::Show => safety::show(ctx).await,
                SafetyPlanCommand::Edit => safety::edit(ctx).await,
                SafetyPlanCommand::Export(args) => safety::export(ctx, &args).await,
                SafetyPlanCommand::ReadableWhileLocked(args) => {
                    safety::readable_while_locked(ctx, args.state).await
                }
            }
        }
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
