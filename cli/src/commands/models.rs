//! `interlude models fetch|status`: works without the daemon, which never downloads anything.

use serde_json::json;

use crate::args::ModelsCommand;
use crate::error::CliError;
use crate::local;
use crate::models;
use crate::output::Output;

pub fn run(command: ModelsCommand, out: Output) -> Result<(), CliError> {
    match command {
        ModelsCommand::Fetch { from, data_dir } => {
            let data_dir = local::data_dir(data_dir);
            // Progress goes to stderr so that `--json` output stays one object.
            models::fetch(&data_dir, from.as_deref(), &mut |line| eprintln!("{line}"))?;
            status(&data_dir, out)
        }
        ModelsCommand::Status { data_dir } => status(&local::data_dir(data_dir), out),
        ModelsCommand::Reindex => Err(CliError::invalid_input(
            "`interlude models reindex` asks the daemon; it is not a local command",
        )),
    }
}

fn status(data_dir: &std::path::Path, out: Output) -> Result<(), CliError> {
    let installed = models::status(data_dir)?;
    let dir = models::models_dir(data_dir);
    out.emit(
        || {
            let mut text = format!("Models in {}\n", dir.display());
            for model in &installed {
                let state = if model.complete() {
                    "installed, checksums match"
                } else {
                    "not installed: run `interlude models fetch`"
                };
                text.push_str(&format!(
                    "\n{}  {}\n  {}\n",
                    model.model.id, state, model.model.what
                ));
                for (file, size, ok) in &model.files {
                    let size = size.map_or("missing".to_string(), |s| {
                        format!("{:.1} MB", s as f64 / 1e6)
                    });
                    let check = if *ok {
                        "sha256 ok"
                    } else {
                        "sha256 MISMATCH or missing"
                    };
                    text.push_str(&format!("  {:<34} {:>9}  {check}\n", file.name, size));
                }
            }
            text.push_str("\nThe daemon loads the embedder on first use and drops it after 5 idle minutes (config: models_idle_unload_minutes).\n");
            text
        },
        || {
            json!({
                "dir": dir.display().to_string(),
                "models": installed.iter().map(|m| json!({
                    "id": m.model.id,
                    "installed": m.complete(),
                    "files": m.files.iter().map(|(f, size, ok)| json!({
                        "name": f.name, "bytes": size, "sha256": f.sha256, "verified": ok,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        },
    )
}
