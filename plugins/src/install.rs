//! Installing and removing plugin bundles in the user's plugin directory.
//!
//! The order is the defence: the signature is checked against the trust store before a byte of
//! the bundle is unpacked or parsed; the trusted comment names the id and version, so a rollback
//! is refused before unpacking too; the bundle is unpacked into a hidden staging directory inside
//! the plugin directory, loaded and checked there, and only then renamed into place in one step.
//! Any failure removes the staging directory, so nothing is left behind.

use std::path::{Path, PathBuf};

use super::builtin;
use super::bundle::{self, BundleError, TrustedComment};
use super::files::{TempDir, create_private_dir, sync_dir, unique_suffix};
use super::format::{PluginFile, Version, is_valid_id};
use super::load::{Problem, load};
use super::paths::PluginPaths;
use super::signature::{self, SignatureError};
use super::trust::{TrustError, TrustStore};

/// The file beside an installed plugin's own files that says who signed it.
const PROVENANCE: &str = ".installed.toml";

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("refused: {0}; nothing was installed")]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(
        "refused: {id} {installed} is installed and the bundle is the older {offered}; an older version may undo a fix, so it is not installed (remove {id} first if you really mean to go back)"
    )]
    Rollback {
        id: String,
        installed: Version,
        offered: Version,
    },
    #[error(
        "refused: {id} {version} is already installed with different content; a changed plugin needs a higher version; nothing was installed"
    )]
    ChangedWithoutNewVersion { id: String, version: Version },
    #[error(
        "refused: {id} was installed from a bundle signed by key {pinned}, and this one is signed by key {offered}; a plugin keeps the key it was first installed with, so another key cannot replace it, even one you trust. If you mean to switch, remove it first (`interlude plugin remove {id}`); nothing was installed"
    )]
    SignerChanged {
        id: String,
        pinned: String,
        offered: String,
    },
    #[error(
        "refused: {id} is a built-in plugin and this bundle ({id} {version}) would replace it; run again with --replace-built-in if you mean it (`interlude plugin remove {id}` brings the built-in back); nothing was installed"
    )]
    ReplacesBuiltIn { id: String, version: Version },
    #[error(
        "refused: the signature says {signed} but the bundle holds {inside}; nothing was installed"
    )]
    Mismatch { signed: String, inside: String },
    #[error(
        "refused: the plugin in the bundle is not valid; nothing was installed:\n{}",
        list(problems)
    )]
    Invalid { problems: Vec<Problem> },
    #[error("no plugin `{0}` is installed in the plugin directory")]
    NotInstalled(String),
    #[error("`{0}` is not a plugin id: use lowercase words joined by hyphens")]
    Id(String),
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> InstallError + 'a {
    move |source| InstallError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// There was no plugin with this id in the plugin directory.
    New,
    /// It replaced an older version.
    Upgraded { from: Version },
    /// The same version with the same files was there already; nothing changed.
    AlreadyInstalled,
    /// It replaced a plugin of the same id whose version could not be read (a broken one).
    Replaced,
}

#[derive(Debug, Clone)]
pub struct Installed {
    pub id: String,
    pub version: Version,
    pub key_id: String,
    pub outcome: Outcome,
    pub dir: PathBuf,
}

/// What the person installing agreed to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Consent {
    /// A bundle may take the place of the built-in plugin with the same id.
    pub replace_built_in: bool,
}

/// Verifies and installs `bundle` (the bytes of the file) signed by `signature` (the text of
/// its `.minisig`). An installed plugin is pinned to the key that signed it: a bundle for the
/// same id signed by another key is refused until the plugin is removed. A bundle that would
/// take a built-in's place needs `consent.replace_built_in`.
pub fn install(
    paths: &PluginPaths,
    bundle: &[u8],
    signature_text: &str,
    consent: Consent,
) -> Result<Installed, InstallError> {
    if bundle.len() as u64 > bundle::MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge.into());
    }
    let trusted = TrustStore::new(paths.trusted_keys()).public_keys()?;
    let comment = signature::verify(bundle, signature_text, &trusted)?;
    let key_id = signature::signer_key_id(signature_text)?;
    let signed = TrustedComment::parse(&comment)?;

    let plugin_dir = paths.plugin_dir();
    let target = plugin_dir.join(&signed.id);
    if let Some(pinned) = signer(&target)
        && pinned != key_id
    {
        return Err(InstallError::SignerChanged {
            id: signed.id,
            pinned,
            offered: key_id,
        });
    }
    if !target.exists() && builtin::find(&signed.id).is_some() && !consent.replace_built_in {
        return Err(InstallError::ReplacesBuiltIn {
            id: signed.id,
            version: signed.version,
        });
    }
    let installed = installed_version(&target);
    if let Some(installed) = installed
        && signed.version < installed
    {
        return Err(InstallError::Rollback {
            id: signed.id,
            installed,
            offered: signed.version,
        });
    }

    let created_plugin_dir = !plugin_dir.exists();
    let result = stage_and_swap(&plugin_dir, &target, bundle, &signed, &key_id, installed);
    if result.is_err() && created_plugin_dir {
        // Leave no trace: the directory made for this install goes too (only if still empty).
        let _ = std::fs::remove_dir(&plugin_dir);
    }
    let outcome = result?;
    Ok(Installed {
        id: signed.id,
        version: signed.version,
        key_id,
        outcome,
        dir: target,
    })
}

fn stage_and_swap(
    plugin_dir: &Path,
    target: &Path,
    bundle: &[u8],
    signed: &TrustedComment,
    key_id: &str,
    installed: Option<Version>,
) -> Result<Outcome, InstallError> {
    create_private_dir(plugin_dir).map_err(io("create", plugin_dir))?;
    sweep_leftovers(plugin_dir);
    let staging = TempDir::create(plugin_dir.join(format!(".staging-{}", unique_suffix())))
        .map_err(io("create a staging directory in", plugin_dir))?;
    bundle::unpack(bundle, staging.path())?;
    let plugin = load(staging.path()).map_err(|problems| InstallError::Invalid {
        problems: problems
            .into_iter()
            .map(|p| inside_bundle(p, staging.path()))
            .collect(),
    })?;
    let inside = TrustedComment {
        id: plugin.meta.id.get_ref().clone(),
        version: plugin.meta.parsed_version(),
    };
    if &inside != signed {
        return Err(InstallError::Mismatch {
            signed: format!("{} {}", signed.id, signed.version),
            inside: format!("{} {}", inside.id, inside.version),
        });
    }
    if installed == Some(signed.version) {
        return if same_files(staging.path(), target).map_err(io("compare with", target))? {
            Ok(Outcome::AlreadyInstalled)
        } else {
            Err(InstallError::ChangedWithoutNewVersion {
                id: signed.id.clone(),
                version: signed.version,
            })
        };
    }
    let provenance = staging.path().join(PROVENANCE);
    let text = format!("key_id = \"{key_id}\"\ntrusted_comment = \"{signed}\"\n");
    super::files::write_atomic(&provenance, text.as_bytes(), 0o600)
        .map_err(io("write", &provenance))?;
    let outcome = match installed {
        Some(from) => Outcome::Upgraded { from },
        None if target.exists() => Outcome::Replaced,
        None => Outcome::New,
    };
    swap_into_place(plugin_dir, staging, target)?;
    Ok(outcome)
}

/// Puts the staged plugin at `target` in one step: a rename when there is nothing there, an
/// atomic exchange when there is (the old copy then sits in the staging name and is removed).
fn swap_into_place(plugin_dir: &Path, staging: TempDir, target: &Path) -> Result<(), InstallError> {
    if target.exists() {
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            staging.path(),
            rustix::fs::CWD,
            target,
            rustix::fs::RenameFlags::EXCHANGE,
        )
        .map_err(|e| io("replace", target)(e.into()))?;
        drop(staging); // now holds the old version
    } else {
        std::fs::rename(staging.path(), target).map_err(io("install into", target))?;
        staging.keep();
    }
    sync_dir(plugin_dir).map_err(io("sync", plugin_dir))
}

/// Removes the installed plugin `id` in one step (a rename out of sight, then the deletion), so
/// the daemon never reads half a plugin. A built-in of the same id comes back into effect.
pub fn remove(paths: &PluginPaths, id: &str) -> Result<PathBuf, InstallError> {
    if !is_valid_id(id) {
        return Err(InstallError::Id(id.to_string()));
    }
    let plugin_dir = paths.plugin_dir();
    let target = plugin_dir.join(id);
    if !target.is_dir() {
        return Err(InstallError::NotInstalled(id.to_string()));
    }
    sweep_leftovers(&plugin_dir);
    let doomed = plugin_dir.join(format!(".removing-{}", unique_suffix()));
    std::fs::rename(&target, &doomed).map_err(io("remove", &target))?;
    sync_dir(&plugin_dir).map_err(io("sync", &plugin_dir))?;
    std::fs::remove_dir_all(&doomed).map_err(io("remove", &doomed))?;
    Ok(target)
}

/// How old a staging or removal directory must be before it is taken for a leftover.
const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Staging and removal directories left by an install or remove that was killed midway: hidden,
/// so never read as plugins, and swept once they are an hour old (a live one is seconds old).
fn sweep_leftovers(plugin_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(plugin_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with(".staging-") || name.starts_with(".removing-");
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > LEFTOVER_AGE));
        if ours && stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Who signed an installed plugin, if it came from a bundle.
pub fn signer(plugin: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Provenance {
        key_id: String,
    }
    let text = std::fs::read_to_string(plugin.join(PROVENANCE)).ok()?;
    toml::from_str::<Provenance>(&text).ok().map(|p| p.key_id)
}

/// The version in an installed plugin's `plugin.toml`; `None` when there is none or it does not
/// parse (then there is no version to protect and the bundle may replace it).
fn installed_version(dir: &Path) -> Option<Version> {
    let text = std::fs::read_to_string(dir.join("plugin.toml")).ok()?;
    let file: PluginFile = toml::from_str(&text).ok()?;
    Version::parse(file.plugin.version.get_ref())
}

/// Problems found in the staging directory, named as paths inside the bundle.
fn inside_bundle(mut problem: Problem, staging: &Path) -> Problem {
    if let Ok(relative) = problem.file.strip_prefix(staging) {
        problem.file = Path::new("<bundle>").join(relative);
    }
    problem
}

/// Whether two plugin directories hold the same files with the same bytes (hidden files aside).
fn same_files(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (mut left, mut right) = (Vec::new(), Vec::new());
    files_under(a, Path::new(""), &mut left)?;
    files_under(b, Path::new(""), &mut right)?;
    left.sort();
    right.sort();
    Ok(left == right)
}

fn files_under(
    root: &Path,
    under: &Path,
    out: &mut Vec<(PathBuf, Vec<u8>)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(under))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let relative = under.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            files_under(root, &relative, out)?;
        } else {
            out.push((relative, std::fs::read(entry.path())?));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn leftovers_of_a_killed_install_are_swept_once_old_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(".staging-1-aa");
        let fresh = dir.path().join(".removing-2-bb");
        let plugin = dir.path().join("tiny");
        for d in [&old, &fresh, &plugin] {
            std::fs::create_dir(d).unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - 2 * LEFTOVER_AGE;
        std::fs::File::open(&old)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        sweep_leftovers(dir.path());
        assert!(!old.exists());
        assert!(fresh.exists() && plugin.exists());
    }
}
