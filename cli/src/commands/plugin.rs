//! `interlude plugin lint`: works without the daemon, for therapists writing a plugin.

use interlude_daemon::plugins;
use serde_json::json;

use crate::args::PluginCommand;
use crate::error::CliError;
use crate::output::Output;

pub fn run(command: PluginCommand, out: Output) -> Result<(), CliError> {
    match command {
        PluginCommand::Lint { dirs } => lint(&dirs, out),
    }
}

fn lint(dirs: &[std::path::PathBuf], out: Output) -> Result<(), CliError> {
    let results: Vec<_> = dirs.iter().map(|dir| (dir, plugins::load(dir))).collect();
    let problems: usize = results
        .iter()
        .map(|(_, r)| r.as_ref().err().map_or(0, Vec::len))
        .sum();
    out.emit(
        || {
            let mut text = String::new();
            for (dir, result) in &results {
                match result {
                    Ok(p) => text.push_str(&format!(
                        "{}: ok — {} {}: {} exercises, {} prompts, {} check-ins, {} patterns\n",
                        dir.display(),
                        p.meta.id.get_ref(),
                        p.meta.version.get_ref(),
                        p.exercises.len(),
                        p.prompts.len(),
                        p.checkins.len(),
                        p.patterns.len()
                    )),
                    Err(found) => found.iter().for_each(|problem| text.push_str(&format!("{problem}\n"))),
                }
            }
            text
        },
        || {
            json!({ "plugins": results.iter().map(|(dir, result)| json!({
                "dir": dir.display().to_string(),
                "ok": result.is_ok(),
                "problems": result.as_ref().err().map(|found| found.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap_or_default(),
            })).collect::<Vec<_>>() })
        },
    )?;
    if problems > 0 {
        return Err(CliError::invalid_input(format!(
            "{problems} problem(s) found; fix them and lint again"
        )));
    }
    Ok(())
}
