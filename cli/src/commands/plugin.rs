//! `interlude plugin …`: every command works without the daemon, on plugin directories, bundles
//! and the data directory; after a change to the plugins in effect, a running daemon is asked to
//! reload them (`plugin_reload`). Keys and signatures are minisign's, so `minisign -V` checks ours
//! and ours checks minisign's.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use interlude_plugins::bundle::{self, BundleError, TrustedComment};
use interlude_plugins::format::Modality;
use interlude_plugins::install::{self, InstallError, Outcome};
use interlude_plugins::settings::{Settings, SettingsError};
use interlude_plugins::trust::{TrustError, TrustStore};
use interlude_plugins::{self as plugins, Origin, PluginPaths, scaffold, signature};
use serde_json::json;

use super::plugin_reload::{self, Reload, no_longer_offered, now_offered};
use crate::args::{ModalityArg, PluginCommand, PluginPlace, SecretArgs};
use crate::error::{CliError, ExitCode};
use crate::output::Output;
use crate::secret::{Secret, SecretReader};

/// `socket`: the daemon to ask to reload after a change [default: the data directory's].
pub async fn run(
    command: PluginCommand,
    out: Output,
    socket: Option<PathBuf>,
) -> Result<(), CliError> {
    let socket = socket.as_deref();
    match command {
        PluginCommand::Lint { dirs } => lint(&dirs, out),
        PluginCommand::Keygen {
            out: name,
            no_password,
            secret,
        } => keygen(&name, no_password, &secret, out),
        PluginCommand::Sign {
            file,
            key,
            no_password,
            trusted_comment,
            secret,
        } => sign_file(&file, &key, no_password, trusted_comment, &secret, out),
        PluginCommand::Verify { file, pubkeys, sig } => verify_file(&file, &pubkeys, sig, out),
        PluginCommand::New { id, modality, dir } => new(&dir, &id, modality, out),
        PluginCommand::Pack {
            dir,
            key,
            no_password,
            out: bundle_path,
            secret,
        } => pack(&dir, &key, no_password, bundle_path, &secret, out),
        PluginCommand::Trust {
            pubkey,
            name,
            place,
        } => trust(&pubkey, name, &place, out),
        PluginCommand::Untrust { key_id, place } => untrust(&key_id, &place, out),
        PluginCommand::Install {
            bundle,
            sig,
            replace_built_in,
            place,
        } => install_bundle(&bundle, sig, replace_built_in, &place, out, socket).await,
        PluginCommand::Remove { id, place } => remove(&id, &place, out, socket).await,
        PluginCommand::List { place } => list(&place, out),
        PluginCommand::Enable { id, place } => set_enabled(&id, true, &place, out, socket).await,
        PluginCommand::Disable { id, place } => set_enabled(&id, false, &place, out, socket).await,
    }
}

fn keygen(
    name: &Path,
    no_password: bool,
    secret: &SecretArgs,
    out: Output,
) -> Result<(), CliError> {
    let (public_path, secret_path) = (with_suffix(name, ".pub"), with_suffix(name, ".key"));
    for path in [&public_path, &secret_path] {
        if path.exists() {
            return Err(CliError::invalid_input(format!(
                "{} exists; nothing was overwritten",
                path.display()
            )));
        }
    }
    let password = if no_password {
        None
    } else {
        Some(SecretReader::open(secret)?.new_passphrase()?)
    };
    let (public, secret_key) = signature::generate(password.as_deref())
        .map_err(|e| CliError::new(ExitCode::Failure, e))?;
    write_new(&secret_path, &secret_key, 0o600)?;
    write_new(&public_path, &public, 0o644)?;
    out.emit(
        || format!("Wrote {} (hand this out) and {} (keep this secret).", public_path.display(), secret_path.display()),
        || json!({ "public_key": public_path.display().to_string(), "secret_key": secret_path.display().to_string() }),
    )
}

fn sign_file(
    file: &Path,
    key: &Path,
    no_password: bool,
    trusted_comment: Option<String>,
    secret: &SecretArgs,
    out: Output,
) -> Result<(), CliError> {
    let data = read(file)?;
    let comment = trusted_comment.unwrap_or_else(|| {
        format!(
            "file:{}",
            file.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        )
    });
    let sig_path = sign_to_file(file, &data, key, no_password, &comment, secret)?;
    out.emit(
        || format!("Wrote {}.", sig_path.display()),
        || json!({ "signature": sig_path.display().to_string() }),
    )
}

/// Signs `data` with the key file and writes `file.minisig`.
fn sign_to_file(
    file: &Path,
    data: &[u8],
    key: &Path,
    no_password: bool,
    comment: &str,
    secret: &SecretArgs,
) -> Result<PathBuf, CliError> {
    let secret_key = String::from_utf8(read(key)?)
        .map_err(|_| CliError::invalid_input(format!("{} is not a key file", key.display())))?;
    let password = if no_password {
        None
    } else {
        Some(SecretReader::open(secret)?.existing(Secret::Passphrase)?)
    };
    let signed = signature::sign(data, &secret_key, password.as_deref(), comment)
        .map_err(CliError::invalid_input)?;
    let sig_path = with_suffix(file, ".minisig");
    std::fs::write(&sig_path, signed)
        .with_context(|| format!("could not write {}", sig_path.display()))?;
    Ok(sig_path)
}

fn verify_file(
    file: &Path,
    pubkeys: &[PathBuf],
    sig: Option<PathBuf>,
    out: Output,
) -> Result<(), CliError> {
    let data = read(file)?;
    let sig_path = sig.unwrap_or_else(|| with_suffix(file, ".minisig"));
    let signature_text = String::from_utf8_lossy(&read(&sig_path)?).into_owned();
    let trusted = pubkeys
        .iter()
        .map(|p| read(p).map(|b| String::from_utf8_lossy(&b).into_owned()))
        .collect::<Result<Vec<_>, _>>()?;
    let comment = signature::verify(&data, &signature_text, &trusted)
        .map_err(|e| CliError::new(ExitCode::PermissionDenied, e))?;
    out.emit(
        || format!("Signature verified. Trusted comment: {comment}"),
        || json!({ "verified": true, "trusted_comment": comment }),
    )
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    Ok(std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?)
}

fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), CliError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("could not create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
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

pub(super) fn paths(place: &PluginPlace) -> PluginPaths {
    PluginPaths::new(interlude_proto::settings::data_dir(place.data_dir.clone()))
}

fn new(parent: &Path, id: &str, modality: ModalityArg, out: Output) -> Result<(), CliError> {
    let modality = match modality {
        ModalityArg::Cbt => Modality::Cbt,
        ModalityArg::Dbt => Modality::Dbt,
        ModalityArg::Act => Modality::Act,
        ModalityArg::Psychodynamic => Modality::Psychodynamic,
        ModalityArg::Other => Modality::Other,
    };
    let dir = scaffold::new_plugin(parent, id, modality).map_err(|e| match e {
        scaffold::ScaffoldError::Io { .. } => CliError::new(ExitCode::Failure, e),
        _ => CliError::invalid_input(e),
    })?;
    out.emit(
        || {
            format!(
                "Wrote {}. Edit it, then `interlude plugin lint {}`.",
                dir.display(),
                dir.display()
            )
        },
        || json!({ "dir": dir.display().to_string() }),
    )
}

fn pack(
    dir: &Path,
    key: &Path,
    no_password: bool,
    bundle_path: Option<PathBuf>,
    secret: &SecretArgs,
    out: Output,
) -> Result<(), CliError> {
    let plugin = plugins::load(dir).map_err(|problems| {
        let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        CliError::invalid_input(format!(
            "{} is not a valid plugin, so it was not packed:\n{}",
            dir.display(),
            listed.join("\n")
        ))
    })?;
    let signed = TrustedComment {
        id: plugin.meta.id.get_ref().clone(),
        version: plugin.meta.parsed_version(),
    };
    let data = bundle::pack(dir).map_err(bundle_error)?;
    if data.len() as u64 > bundle::MAX_BUNDLE_BYTES {
        return Err(bundle_error(BundleError::TooLarge));
    }
    let bundle_path = bundle_path
        .unwrap_or_else(|| PathBuf::from(format!("{}-{}.tar.gz", signed.id, signed.version)));
    std::fs::write(&bundle_path, &data)
        .with_context(|| format!("could not write {}", bundle_path.display()))?;
    let sig_path = sign_to_file(
        &bundle_path,
        &data,
        key,
        no_password,
        &signed.to_string(),
        secret,
    )?;
    out.emit(
        || format!("Wrote {} and {} ({signed}).", bundle_path.display(), sig_path.display()),
        || json!({ "bundle": bundle_path.display().to_string(), "signature": sig_path.display().to_string(), "id": signed.id, "version": signed.version.to_string() }),
    )
}

fn trust(
    pubkey: &Path,
    name: Option<String>,
    place: &PluginPlace,
    out: Output,
) -> Result<(), CliError> {
    let text = String::from_utf8_lossy(&read(pubkey)?).into_owned();
    let store = TrustStore::new(paths(place).trusted_keys());
    let key = store.add(&text, name.as_deref()).map_err(trust_error)?;
    out.emit(
        || {
            format!(
                "Trusted key {} ({}): bundles it signs can be installed.",
                key.key_id, key.name
            )
        },
        || json!({ "key_id": key.key_id, "name": key.name }),
    )
}

fn untrust(key_id: &str, place: &PluginPlace, out: Output) -> Result<(), CliError> {
    let store = TrustStore::new(paths(place).trusted_keys());
    let key = store.remove(key_id).map_err(trust_error)?;
    out.emit(
        || format!("No longer trusting key {} ({}). Plugins it signed stay installed and in effect, and no update to them installs; `interlude plugin remove ID` removes one.", key.key_id, key.name),
        || json!({ "key_id": key.key_id, "name": key.name }),
    )
}

async fn install_bundle(
    bundle_path: &Path,
    sig: Option<PathBuf>,
    replace_built_in: bool,
    place: &PluginPlace,
    out: Output,
    socket: Option<&Path>,
) -> Result<(), CliError> {
    let data = bundle::read(bundle_path).map_err(bundle_error)?;
    let sig_path = sig.unwrap_or_else(|| with_suffix(bundle_path, ".minisig"));
    let signature_text = String::from_utf8_lossy(&read(&sig_path)?).into_owned();
    let paths = paths(place);
    let consent = install::Consent { replace_built_in };
    let installed = match install::install(&paths, &data, &signature_text, consent) {
        // Asked on a terminal; without one the refusal names the flag.
        Err(InstallError::ReplacesBuiltIn { id, version }) if std::io::stdin().is_terminal() => {
            let question = format!(
                "{id} is a built-in plugin; replace it with this bundle's {id} {version}? \
                 (`interlude plugin remove {id}` brings the built-in back)"
            );
            if !super::confirm(&question)? {
                return Err(CliError::new(
                    ExitCode::PermissionDenied,
                    format!("not installed: the built-in {id} stays in effect"),
                ));
            }
            let consent = install::Consent {
                replace_built_in: true,
            };
            install::install(&paths, &data, &signature_text, consent)
        }
        other => other,
    }
    .map_err(install_error)?;
    let reload = plugin_reload::ask(socket, paths.data_dir()).await;
    let what = match &installed.outcome {
        Outcome::New => "Installed".to_string(),
        Outcome::Upgraded { from } => format!("Upgraded from {from} to"),
        Outcome::AlreadyInstalled => "Already installed, unchanged:".to_string(),
        Outcome::Replaced => "Replaced an unreadable copy with".to_string(),
    };
    out.emit(
        || format!("{what} {} {} (signed by key {}). {}", installed.id, installed.version, installed.key_id, reload.sentence(|r| now_offered(r, &installed.id))),
        || json!({
            "id": installed.id,
            "version": installed.version.to_string(),
            "key_id": installed.key_id,
            "outcome": match installed.outcome { Outcome::New => "new", Outcome::Upgraded { .. } => "upgraded", Outcome::AlreadyInstalled => "unchanged", Outcome::Replaced => "replaced" },
            "dir": installed.dir.display().to_string(),
            "daemon": reload.json(),
        }),
    )
}

async fn remove(
    id: &str,
    place: &PluginPlace,
    out: Output,
    socket: Option<&Path>,
) -> Result<(), CliError> {
    let paths = paths(place);
    let removed = install::remove(&paths, id).map_err(|e| {
        let built_in = plugins::builtin::find(id).is_some();
        match install_error(e) {
            error if built_in && error.exit_code() == ExitCode::NotFound => error.with_hint(
                format!("`{id}` is built in; `interlude plugin disable {id}` turns it off"),
            ),
            error => error,
        }
    })?;
    let back = plugins::builtin::find(id).is_some();
    let reload = plugin_reload::ask(socket, paths.data_dir()).await;
    out.emit(
        || {
            let mut text = format!("Removed {} from {}.", id, removed.display());
            // A daemon that reloaded says it below.
            if back && !matches!(reload, Reload::Done(_)) {
                text.push_str(&format!(" The built-in {id} is in effect again."));
            }
            text.push(' ');
            text.push_str(&reload.sentence(|r| no_longer_offered(r, id)));
            text
        },
        || json!({ "removed": id, "built_in_back": back, "daemon": reload.json() }),
    )
}

async fn set_enabled(
    id: &str,
    on: bool,
    place: &PluginPlace,
    out: Output,
    socket: Option<&Path>,
) -> Result<(), CliError> {
    let paths = paths(place);
    let catalog = plugins::catalog_in(&paths);
    if !plugins::catalog::knows(&catalog, id) {
        return Err(CliError::new(
            ExitCode::NotFound,
            format!("there is no plugin `{id}`; `interlude plugin list` shows them"),
        ));
    }
    let mut settings = Settings::load(&paths.settings()).map_err(settings_error)?;
    let changed = settings.set_enabled(id, on).map_err(settings_error)?;
    if changed {
        settings.save(&paths.settings()).map_err(settings_error)?;
    }
    let state = if on { "on" } else { "off" };
    // Asked even when nothing changed: a daemon that missed the change earlier catches up.
    let reload = plugin_reload::ask(socket, paths.data_dir()).await;
    let taken = |r: &_| match on {
        true => now_offered(r, id),
        false => no_longer_offered(r, id),
    };
    out.emit(
        || match (changed, &reload) {
            (true, _) => format!("Turned {id} {state}. {}", reload.sentence(taken)),
            (false, Reload::Done(response)) => {
                format!("{id} was already {state}. {}", taken(response))
            }
            (false, _) => format!("{id} was already {state}."),
        },
        || json!({ "id": id, "enabled": on, "changed": changed, "daemon": reload.json() }),
    )
}

fn list(place: &PluginPlace, out: Output) -> Result<(), CliError> {
    let paths = paths(place);
    let catalog = plugins::catalog_in(&paths);
    let keys = TrustStore::new(paths.trusted_keys())
        .list()
        .map_err(trust_error)?;
    let signer_name = |key_id: &str| {
        keys.iter()
            .find(|k| k.key_id == key_id)
            .map_or(format!("{key_id} (no longer trusted)"), |k| {
                format!("{} ({key_id})", k.name)
            })
    };
    let signer_trusted =
        |dir: &Path| install::signer(dir).map(|key_id| keys.iter().any(|k| k.key_id == key_id));
    let origin = |id: &str, origin: &Origin| match origin {
        Origin::BuiltIn => "built-in".to_string(),
        Origin::Installed { dir, overrides } => {
            let mut signer = install::signer(dir)
                .map(|k| format!(", signed by {}", signer_name(&k)))
                .unwrap_or_default();
            if signer_trusted(dir) == Some(false) {
                signer.push_str(&format!(
                    ": it stays in effect, and no update to it installs until you trust the key again or remove it with `interlude plugin remove {id}`"
                ));
            }
            let over = if *overrides {
                ", overrides the built-in"
            } else {
                ""
            };
            format!("installed{signer}{over}")
        }
    };
    out.emit(
        || {
            let mut text = String::from("Plugins in effect:\n");
            for entry in &catalog.plugins {
                let meta = &entry.plugin.meta;
                text.push_str(&format!("  {:<16} {:<8} {} ({})\n", entry.id(), meta.version.get_ref(), meta.name, origin(entry.id(), &entry.origin)));
            }
            if !catalog.disabled.is_empty() {
                text.push_str(&format!("Turned off: {}\n", catalog.disabled.join(", ")));
            }
            if !catalog.problems.is_empty() {
                text.push_str("Skipped, with problems:\n");
                catalog.problems.iter().for_each(|p| text.push_str(&format!("  {p}\n")));
            }
            match keys.is_empty() {
                true => text.push_str("Trusted keys: none (`interlude plugin trust KEY.pub` adds one)\n"),
                false => {
                    text.push_str("Trusted keys:\n");
                    keys.iter().for_each(|k| text.push_str(&format!("  {}  {}\n", k.key_id, k.name)));
                }
            }
            text
        },
        || json!({
            "plugins": catalog.plugins.iter().map(|e| json!({
                "id": e.id(),
                "version": e.plugin.meta.version.get_ref(),
                "name": e.plugin.meta.name,
                "origin": match &e.origin { Origin::BuiltIn => "built-in", Origin::Installed { .. } => "installed" },
                "overrides_built_in": matches!(e.origin, Origin::Installed { overrides: true, .. }),
                "signed_by": match &e.origin { Origin::Installed { dir, .. } => install::signer(dir), Origin::BuiltIn => None },
                "signer_trusted": match &e.origin { Origin::Installed { dir, .. } => signer_trusted(dir), Origin::BuiltIn => None },
            })).collect::<Vec<_>>(),
            "disabled": catalog.disabled,
            "problems": catalog.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "trusted_keys": keys.iter().map(|k| json!({ "key_id": k.key_id, "name": k.name })).collect::<Vec<_>>(),
        }),
    )
}

fn bundle_error(error: BundleError) -> CliError {
    match error {
        BundleError::Io { .. } => CliError::new(ExitCode::Failure, error),
        _ => CliError::invalid_input(error),
    }
}

fn trust_error(error: TrustError) -> CliError {
    match error {
        TrustError::Io { .. } => CliError::new(ExitCode::Failure, error),
        TrustError::NotTrusted(_) => CliError::new(ExitCode::NotFound, error),
        _ => CliError::invalid_input(error),
    }
}

fn settings_error(error: SettingsError) -> CliError {
    match error {
        SettingsError::Io { .. } => CliError::new(ExitCode::Failure, error),
        _ => CliError::invalid_input(error),
    }
}

fn install_error(error: InstallError) -> CliError {
    match error {
        // The untrusted-key message already says what to do.
        InstallError::Signature(signature::SignatureError::UntrustedKey { .. }) => {
            CliError::new(ExitCode::PermissionDenied, error)
        }
        InstallError::SignerChanged { .. } | InstallError::ReplacesBuiltIn { .. } => {
            CliError::new(ExitCode::PermissionDenied, error)
        }
        InstallError::Signature(_) => CliError::new(ExitCode::PermissionDenied, error)
            .with_hint("ask for the bundle and its .minisig again; do not install a bundle that fails its check"),
        InstallError::Trust(e) => trust_error(e),
        InstallError::Bundle(e) => bundle_error(e),
        InstallError::NotInstalled(_) => CliError::new(ExitCode::NotFound, error),
        InstallError::Io { .. } => CliError::new(ExitCode::Failure, error),
        _ => CliError::invalid_input(error),
    }
}
