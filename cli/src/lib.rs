//! `interlude`, the command line for the Interlude daemon.
//!
//! `main.rs` parses [`Cli`] and calls [`run`]; everything else lives here, one concern per
//! module: the clap types ([`args`]), the connection and protocol check (`client`), errors and
//! exit codes ([`error`]), times people type ([`time`]), printing (`output`), passphrases
//! (`secret`), where reflection text comes from (`input`, `editor`) and one module per command
//! group (`commands`).

pub mod args;
mod client;
mod commands;
mod editor;
pub mod error;
mod input;
mod output;
mod secret;
pub mod time;

pub use args::Cli;
pub use error::{CliError, ExitCode};

/// Connects to the daemon, checks that it speaks our protocol, and runs the command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let socket = cli.socket.unwrap_or_else(interlude_proto::paths::socket);
    let ctx = commands::Ctx {
        daemon: client::Daemon::connect(&socket).await?,
        out: output::Output::new(cli.json),
    };
    commands::dispatch(cli.command, &ctx).await
}
