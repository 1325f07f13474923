//! `interlude`: parses the command line and hands it to [`interlude_cli::run`].

use clap::Parser;
use interlude_cli::{Cli, ExitCode};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("interlude: could not start: {error}");
            return ExitCode::Failure.into();
        }
    };
    match runtime.block_on(interlude_cli::run(cli)) {
        Ok(()) => ExitCode::Success.into(),
        Err(error) => {
            eprintln!("interlude: {error}");
            if let Some(hint) = error.hint() {
                eprintln!("{hint}");
            }
            error.exit_code().into()
        }
    }
}
