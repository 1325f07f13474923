//! `interlude plugin new`: a small plugin that lints clean, with comments pointing at the
//! format reference, for a therapist to start from.

use std::path::{Path, PathBuf};

use super::format::{Modality, is_valid_id};

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("`{0}` is not a plugin id: use lowercase words joined by hyphens, like `sleep-diary`")]
    Id(String),
    #[error("{} exists; nothing was written", .0.display())]
    Exists(PathBuf),
    #[error("could not write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes the plugin `id` into a new directory `parent/id` and returns its path.
pub fn new_plugin(parent: &Path, id: &str, modality: Modality) -> Result<PathBuf, ScaffoldError> {
    if !is_valid_id(id) {
        return Err(ScaffoldError::Id(id.to_string()));
    }
    let dir = parent.join(id);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Io { path, source }
    };
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ScaffoldError::Exists(dir));
        }
        Err(e) => return Err(io(&dir)(e)),
    }
    let exercises = dir.join("exercises");
    std::fs::create_dir(&exercises).map_err(io(&exercises))?;
    let modality = modality_name(modality);
    for (name, text) in [
        ("plugin.toml", plugin_toml(id, modality)),
        ("exercises/notice.toml", EXERCISE.to_string()),
        ("prompts.toml", PROMPTS.to_string()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    Ok(dir)
}

fn modality_name(modality: Modality) -> &'static str {
    match modality {
        Modality::Cbt => "cbt",
        Modality::Dbt => "dbt",
        Modality::Act => "act",
        Modality::Psychodynamic => "psychodynamic",
        Modality::Other => "other",
    }
}

fn plugin_toml(id: &str, modality: &str) -> String {
    format!(
        r#"# A modality plugin; every field is described in plugins/README.md.
# Check it with `interlude plugin lint {id}`, then `interlude plugin pack {id} --key KEY`.
schema_version = 2

[plugin]
id = "{id}"
name = "{id}"
version = "0.1.0"
modality = "{modality}"
authors = ["Your name"]
description = "What this plugin offers, in a sentence or two the client will read."
licence = "CC-BY-4.0"

[prep]
# Which exercises (and patterns) contribute sections to the session-prep packet.
sections = ["notice"]
"#
    )
}

const EXERCISE: &str = r#"# One exercise per file: ordered steps, each skippable unless `required = true`.
schema_version = 2

[exercise]
id = "notice"
title = "Notice what is here"
summary = "A minute to put words to what you feel, and how strongly."
state = "any"
minutes = 2

[[exercise.steps]]
id = "what"
kind = "text"
prompt = "What is here right now?"

[[exercise.steps]]
id = "how-strong"
kind = "scale"
prompt = "How strong is it?"
min = 0
max = 10
labels = ["barely there", "as strong as it gets"]
shows = "what"
"#;

const PROMPTS: &str = r#"# Open questions for check-ins; {part}, {anchor}, {trigger}, {value} and {person} stand for
# the client's own words.
schema_version = 2

[[prompt]]
id = "this-week"
text = "What would you like to remember from this week?"
state = "reflective"
"#;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_new_plugin_lints_clean_and_is_never_written_over() {
        let parent = tempfile::tempdir().unwrap();
        let dir = new_plugin(parent.path(), "sleep-diary", Modality::Other).unwrap();
        let plugin = super::super::load(&dir).unwrap();
        assert_eq!(plugin.meta.id.get_ref(), "sleep-diary");
        assert!(matches!(
            new_plugin(parent.path(), "sleep-diary", Modality::Cbt),
            Err(ScaffoldError::Exists(_))
        ));
        assert!(matches!(
            new_plugin(parent.path(), "../x", Modality::Cbt),
            Err(ScaffoldError::Id(_))
        ));
    }
}
