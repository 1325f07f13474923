//! `interlude`, the command line for the Interlude daemon.
//!
//! `main.rs` parses [`Cli`] and calls [`run`]; everything else lives here, one concern per
//! module: the clap types ([`args`]), the connection and protocol check (`client`), errors and
//! exit codes ([`error`]), times people type ([`time`]), printing (`output`), passphrases
//! (`secret`), where reflection text comes from (`input`, `editor`), the safety plan as Markdown
//! (`plan_text`), settings read without the daemon (`local`), installing the models (`models`) and
//! one module per command group (`commands`).

pub mod args;
mod client;
mod commands;
mod editor;
pub mod error;
mod input;
mod local;
mod models;
mod output;
mod plan_text;
mod secret;
pub mod time;

pub use args::Cli;
pub use error::{CliError, ExitCode};

/// Connects to the daemon, checks that it speaks our protocol, and runs the command.
///
/// `help-now` is the exception: it must answer at once whatever the daemon's state, so it makes
/// its own short attempt and falls back to the CLI's own copy.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let out = output::Output::new(cli.json);
    // Plugin commands work on a data directory; the daemon they ask to reload is that one's.
    if let args::Command::Plugin(command) = cli.command {
        return commands::plugin::run(command, out, cli.socket).await;
    }
    let socket = cli.socket.unwrap_or_else(interlude_proto::paths::socket);
    if let args::Command::HelpNow(args) = &cli.command {
        return commands::safety::help_now(&socket, args, out).await;
    }
    // `models reindex` asks the daemon; the other models commands work without it.
    if let args::Command::Models(command) = cli.command {
        if !matches!(command, args::ModelsCommand::Reindex) {
            return commands::models::run(command, out, &socket).await;
        }
        let ctx = commands::Ctx {
            daemon: client::Daemon::connect(&socket).await?,
            out,
        };
        return commands::dispatch(args::Command::Models(command), &ctx).await;
    }
    let ctx = commands::Ctx {
        daemon: client::Daemon::connect(&socket).await?,
        out,
    };
    commands::dispatch(cli.command, &ctx).await
}
