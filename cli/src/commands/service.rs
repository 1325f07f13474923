//! `interlude daemon install|uninstall|status`: `interluded` as the user's own service, a
//! systemd user unit on Linux, a launchd agent on macOS (the files: [`crate::service_files`]).
//! The file is written whether or not the service manager can be reached (a container, an SSH
//! session without a user bus); the message then says what to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde_json::json;

use crate::args::DaemonCommand;
use crate::error::{CliError, ExitCode};
use crate::output::Output;
use crate::service_files::{self, LAUNCHD_LABEL, SYSTEMD_UNIT};

pub fn run(command: DaemonCommand, out: Output) -> Result<(), CliError> {
    let place = Place::here()?;
    match command {
        DaemonCommand::Install { print: true } => {
            let text = place.file_text(&interluded()?);
            print!("{text}");
            Ok(())
        }
        DaemonCommand::Install { print: false } => install(&place, out),
        DaemonCommand::Uninstall => uninstall(&place, out),
        DaemonCommand::Status => status(&place, out),
    }
}

/// Where the service file goes on this system.
struct Place {
    file: PathBuf,
    launchd: bool,
}

impl Place {
    fn here() -> Result<Place, CliError> {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .context("HOME is not set, so there is no place for a user service")?;
        Ok(if cfg!(target_os = "macos") {
            Place {
                file: home.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist")),
                launchd: true,
            }
        } else {
            let config = std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| home.join(".config"));
            Place {
                file: config.join("systemd/user").join(SYSTEMD_UNIT),
                launchd: false,
            }
        })
    }

    fn file_text(&self, interluded: &Path) -> String {
        let data_dir = interlude_proto::settings::data_dir(None);
        if self.launchd {
            service_files::launchd_plist(interluded, &data_dir.join("interluded.log"))
        } else {
            service_files::systemd_unit(interluded, &data_dir)
        }
    }
}

/// `interluded` beside this `interlude`, else on the PATH.
pub fn interluded() -> Result<PathBuf, CliError> {
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("interluded"))
        .filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("interluded"))
                .find(|p| p.is_file())
        })
    };
    beside.or_else(on_path).ok_or_else(|| {
        CliError::new(
            ExitCode::NotFound,
            "interluded was found neither beside interlude nor on the PATH; install both binaries first",
        )
    })
}

fn install(place: &Place, out: Output) -> Result<(), CliError> {
    let text = place.file_text(&interluded()?);
    let dir = place.file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let partial = place.file.with_extension("partial");
    std::fs::write(&partial, &text)
        .and_then(|()| std::fs::rename(&partial, &place.file))
        .with_context(|| format!("could not write {}", place.file.display()))?;
    let started = if place.launchd {
        let uid = rustix::process::getuid().as_raw();
        manager(
            "launchctl",
            &["bootstrap", &format!("gui/{uid}")],
            Some(&place.file),
        )
    } else {
        manager("systemctl", &["--user", "daemon-reload"], None).and_then(|()| {
            manager(
                "systemctl",
                &["--user", "enable", "--now", SYSTEMD_UNIT],
                None,
            )
        })
    };
    let next = match &started {
        Ok(()) => "It runs now and starts again at each login.".to_owned(),
        Err(why) => format!(
            "The service manager could not be asked ({why}); in your desktop session run: {}",
            if place.launchd {
                format!("launchctl bootstrap gui/$(id -u) {}", place.file.display())
            } else {
                format!(
                    "systemctl --user daemon-reload && systemctl --user enable --now {SYSTEMD_UNIT}"
                )
            }
        ),
    };
    out.emit(
        || format!("Wrote {}. {next}", place.file.display()),
        || json!({ "file": place.file.display().to_string(), "started": started.is_ok(), "next": next }),
    )
}

fn uninstall(place: &Place, out: Output) -> Result<(), CliError> {
    if !place.file.exists() {
        return Err(CliError::new(
            ExitCode::NotFound,
            format!(
                "no service file at {}; nothing to remove",
                place.file.display()
            ),
        ));
    }
    // Best effort: a manager that cannot be reached has nothing running from this file.
    let _ = if place.launchd {
        let uid = rustix::process::getuid().as_raw();
        manager(
            "launchctl",
            &["bootout", &format!("gui/{uid}/{LAUNCHD_LABEL}")],
            None,
        )
    } else {
        manager(
            "systemctl",
            &["--user", "disable", "--now", SYSTEMD_UNIT],
            None,
        )
    };
    std::fs::remove_file(&place.file)
        .with_context(|| format!("could not remove {}", place.file.display()))?;
    if !place.launchd {
        let _ = manager("systemctl", &["--user", "daemon-reload"], None);
    }
    out.emit(
        || {
            format!(
                "Removed {}; the daemon no longer starts at login. Your data is untouched.",
                place.file.display()
            )
        },
        || json!({ "removed": place.file.display().to_string() }),
    )
}

fn status(place: &Place, out: Output) -> Result<(), CliError> {
    let installed = place.file.exists();
    let active = (!place.launchd && installed)
        .then(|| query("systemctl", &["--user", "is-active", SYSTEMD_UNIT]))
        .flatten();
    out.emit(
        || match (installed, &active) {
            (false, _) => format!("Not installed as a service ({} does not exist); `interlude daemon install` installs it.", place.file.display()),
            (true, Some(state)) => format!("Installed: {}. The service is {state}.", place.file.display()),
            (true, None) => format!("Installed: {}. The service manager could not be asked whether it runs.", place.file.display()),
        },
        || json!({ "installed": installed, "file": place.file.display().to_string(), "active": active }),
    )
}

/// Runs a service-manager command; the error says why it could not.
fn manager(program: &str, args: &[&str], file: Option<&Path>) -> Result<(), String> {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(file) = file {
        command.arg(file);
    }
    match command.output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "`{program} {}` said: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(e) => Err(format!("{program} could not be run: {e}")),
    }
}

/// A one-word answer (`active`, `inactive`, `failed`), or `None` when there is none.
fn query(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let answer = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (!answer.is_empty() && !answer.contains(' ')).then_some(answer)
}
