//! `interlude plugin lint|keygen|sign|verify`: work without the daemon, for therapists writing
//! and signing a plugin. Keys and signatures are minisign's, so `minisign -V` checks ours and
//! ours checks minisign's.

use std::path::{Path, PathBuf};

use anyhow::Context;
use interlude_daemon::plugins::{self, signature};
use serde_json::json;

use crate::args::{PluginCommand, SecretArgs};
use crate::error::{CliError, ExitCode};
use crate::output::Output;
use crate::secret::{Secret, SecretReader};

pub fn run(command: PluginCommand, out: Output) -> Result<(), CliError> {
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
    let secret_key = String::from_utf8(read(key)?)
        .map_err(|_| CliError::invalid_input(format!("{} is not a key file", key.display())))?;
    let password = if no_password {
        None
    } else {
        Some(SecretReader::open(secret)?.existing(Secret::Passphrase)?)
    };
    let comment = trusted_comment.unwrap_or_else(|| {
        format!(
            "file:{}",
            file.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        )
    });
    let signed = signature::sign(&data, &secret_key, password.as_deref(), &comment)
        .map_err(CliError::invalid_input)?;
    let sig_path = with_suffix(file, ".minisig");
    std::fs::write(&sig_path, signed)
        .with_context(|| format!("could not write {}", sig_path.display()))?;
    out.emit(
        || format!("Wrote {}.", sig_path.display()),
        || json!({ "signature": sig_path.display().to_string() }),
    )
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
