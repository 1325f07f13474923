//! `interlude`, the command line for the Interlude daemon.
//!
//! `main.rs` parses [`Cli`] and calls [`run`]; everything else lives here, one concern per
//! module: the clap types ([`args`]), the connection and protocol check (`client`), errors and
//! exit codes ([`error`]), times people type ([`time`]), printing (`output`), passphrases
//! (`secret`), where reflection text comes from (`input`, `editor`), the safety plan as Markdown
//! (`plan_text`), progress bars (`progress`), installing the models (`models`) and one module per command group (`commands`):
//! `commands::dispatch` is the one dispatch, and each command says whether it needs the daemon.

pub mod args;
mod autostart;
mod client;
mod commands;
mod editor;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
mod importers;
mod input;
mod models;
mod output;
mod plan_text;
mod progress;
mod secret;
mod service_files;
pub mod time;

pub use args::Cli;
pub use error::{CliError, ExitCode};

/// Runs the command: connected to the daemon, checked that it speaks our protocol, when the
/// command needs it.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    commands::dispatch(cli.command, cli.socket, output::Output::new(cli.json)).await
}
