//! The references' Python environments: a venv under `target/` per reference, made and filled
//! with pip from a requirements file in tests/reference/ the first time (or when the file
//! changed), so that the bench needs nothing installed by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<venv>/bin/python`, with `requirements` (a file in tests/reference/) installed.
/// `env` is passed to pip (build settings for a package built from source).
pub fn python(venv: &str, requirements: &str, env: &[(&str, &str)]) -> Result<PathBuf, String> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/reference")
        .join(requirements);
    let wanted = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let venv = interlude_e2e::bin_dir()
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join(venv);
    let python = venv.join("bin/python");
    let stamp = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) && python.is_file() {
        return Ok(python);
    }
    super::progress(&format!(
        "   making a reference environment in {} from {requirements} (pip; once)",
        venv.display()
    ));
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{cmd:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(&python)
        .args(["-m", "pip", "install", "-q", "-r"])
        .arg(&file)
        .envs(env.iter().copied()))?;
    std::fs::write(&stamp, wanted).map_err(|e| e.to_string())?;
    Ok(python)
}
