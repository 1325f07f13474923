//! `interlude backup` and `interlude restore`.
//!
//! A backup is made by the running daemon (it pins the vault at one instant and keeps
//! writing) and streamed here, into a file that gets its name only once complete. A restore is
//! offline and needs the daemon's code (the vault, the store): it runs `interluded restore`,
//! handing it the secret on a pipe and drawing its progress.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context;
use interlude_proto::v1::BackupRequest;
use serde_json::json;

use super::Ctx;
use super::export::{Staged, write_error};
use crate::args::{BackupArgs, RestoreArgs};
use crate::error::{CliError, ExitCode};
use crate::output::Output;
use crate::progress;
use crate::secret::{Secret, SecretReader};

pub async fn backup(ctx: &Ctx, args: &BackupArgs) -> Result<(), CliError> {
    let replace = may_replace(&args.file, args.force)?;
    let mut stream = ctx
        .daemon
        .daemon()
        .backup(BackupRequest {})
        .await?
        .into_inner();
    let mut staged = Staged::create(&args.file).map_err(|e| write_error(&args.file, e))?;
    let mut bar = None;
    let mut bytes = 0u64;
    while let Some(chunk) = stream.message().await? {
        staged
            .file()
            .write_all(&chunk.data)
            .map_err(|e| write_error(&args.file, e))?;
        bytes += chunk.data.len() as u64;
        if bar.is_none() && chunk.total > 0 {
            bar = Some(progress::bar(chunk.total, "Backing up", ctx.out.is_json()));
        }
        if let Some(Some(bar)) = &bar {
            bar.set_position(chunk.done);
        }
    }
    if let Some(Some(bar)) = bar {
        bar.finish_and_clear();
    }
    staged
        .commit(replace)
        .map_err(|e| write_error(&args.file, e))?;
    ctx.out.emit(
        || {
            format!(
                "Backed up your vault to {} ({}). It opens with your passphrase or your recovery key.",
                args.file.display(),
                size(bytes)
            )
        },
        || json!({ "file": args.file.display().to_string(), "bytes": bytes }),
    )
}

/// Whether an existing file may be replaced: with --force, or a yes on the terminal.
fn may_replace(path: &Path, force: bool) -> Result<bool, CliError> {
    if force {
        return Ok(true);
    }
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(false);
    }
    let question = format!("{} exists. Replace it?", path.display());
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) && super::confirm(&question)? {
        return Ok(true);
    }
    Err(CliError::invalid_input(format!(
        "{} exists and was left as it is; pass --force to replace it, or choose another file",
        path.display()
    )))
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// The parts of a data directory that make a vault (as `interluded restore` counts them).
const VAULT_PARTS: &[&str] = &["db", "journal", "snapshot", "vault-header.json"];

pub fn restore(args: &RestoreArgs, out: Output) -> Result<(), CliError> {
    let data_dir = interlude_proto::settings::data_dir(args.place.data_dir.clone());
    // Said before the secret is asked for; `interluded restore` checks again.
    if !args.replace && VAULT_PARTS.iter().any(|p| data_dir.join(p).exists()) {
        return Err(CliError::invalid_input(format!(
            "{} already holds a vault; pass --replace to replace it with the backup (it is kept until the restored vault is in place), or restore into another --data-dir",
            data_dir.display()
        )));
    }
    if !args.file.is_file() {
        return Err(CliError::new(
            ExitCode::NotFound,
            format!("{} is not a file", args.file.display()),
        ));
    }
    let kind = Secret::from_flag(args.recovery_key);
    let secret = SecretReader::open(&args.secret)?.existing(kind)?;
    let mut command = Command::new(super::interluded()?);
    command
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("restore")
        .arg(&args.file)
        .args(["--progress", "--json"]);
    if args.replace {
        command.arg("--replace");
    }
    if args.recovery_key {
        command.arg("--recovery-key");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("could not run interluded restore")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{}\n", secret.as_str()).as_bytes())
            .context("could not hand the secret to interluded restore")?;
    }
    let mut result = None;
    let mut bar = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context("could not read from interluded restore")?;
            if let Some((done, total)) = progress_line(&line) {
                let bar =
                    bar.get_or_insert_with(|| progress::bar(total, "Restoring", out.is_json()));
                if let Some(bar) = bar {
                    bar.set_position(done);
                }
            } else {
                result = serde_json::from_str::<serde_json::Value>(&line).ok();
            }
        }
    }
    if let Some(Some(bar)) = bar {
        bar.finish_and_clear();
    }
    let output = child
        .wait_with_output()
        .context("could not wait for interluded restore")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr.trim().trim_start_matches("interluded: ");
        let code = output
            .status
            .code()
            .and_then(|c| ExitCode::ALL.into_iter().find(|e| i32::from(e.code()) == c))
            .unwrap_or(ExitCode::Failure);
        return Err(CliError::new(code, message));
    }
    let result = result.unwrap_or_default();
    out.emit(
        || {
            format!(
                "Restored {} reflections and {} sessions into {}{}. Start the daemon and unlock as usual.",
                result["reflections"],
                result["sessions"],
                data_dir.display(),
                if result["replaced"] == json!(true) {
                    ", replacing the vault that was there"
                } else {
                    ""
                }
            )
        },
        || result.clone(),
    )
}

fn progress_line(line: &str) -> Option<(u64, u64)> {
    let mut words = line.strip_prefix("progress ")?.split(' ');
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}
