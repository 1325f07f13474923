//! `interlude completions SHELL` and `interlude man`: generated from the command line's own
//! definition (clap), so they never drift from what the commands accept.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;
use serde_json::json;

use crate::args::Cli;
use crate::error::CliError;
use crate::output::Output;

/// Prints the completion script for `shell` on standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "interlude", &mut script);
    write_stdout(&script)
}

/// Prints `interlude.1`, or writes it and one page per command (`interlude-reflect.1`, …) into
/// `dir`.
pub fn man(dir: Option<&Path>, out: Output) -> Result<(), CliError> {
    let command = Cli::command();
    let Some(dir) = dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .context("could not render the manual page")?;
        return write_stdout(&page);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    clap_mangen::generate_to(command, dir)
        .with_context(|| format!("could not write the manual pages into {}", dir.display()))?;
    let mut pages: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("could not list {}", dir.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("interlude") && name.ends_with(".1"))
        .collect();
    pages.sort();
    out.emit(
        || {
            format!(
                "Wrote {} manual pages into {} (interlude.1 and one per command); `man -l {}/interlude.1` reads one.",
                pages.len(),
                dir.display(),
                dir.display()
            )
        },
        || json!({ "dir": dir.display().to_string(), "pages": pages }),
    )
}

/// A reader that stops early (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => Ok(written.context("could not write to standard output")?),
    }
}
