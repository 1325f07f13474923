//! Writing text in `$VISUAL`/`$EDITOR` without leaving it in a temporary file.
//!
//! A client's words must not land in `/tmp`: the draft lives in the socket's directory, which the
//! daemon keeps at mode 0700, is created 0600, and is removed whatever happens, including when
//! the terminal sends a signal while the editor is open.

use std::fs::OpenOptions;
use std::future::poll_fn;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::task::Poll;

use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::{CliError, ExitCode};

/// Opens the editor on `initial` and returns what the user saved.
pub async fn edit(socket: &Path, initial: &str) -> Result<String, CliError> {
    let dir = private_dir(socket)?;
    let mut signals = HeldSignals::install()?;
    let draft = Draft::create(&dir, &with_final_newline(initial))?;
    let editor = editor_command();
    let path = draft.path.clone();
    let command = editor.clone();
    let status = tokio::task::spawn_blocking(move || run_editor(&command, &path))
        .await
        .context("the editor could not be waited for")
        .map_err(nothing_saved)?
        .with_context(|| format!("could not start the editor `{editor}`"))
        .map_err(nothing_saved)?;
    if signals.told_to_stop().await {
        return Err(CliError::new(
            ExitCode::Failure,
            "interrupted; nothing was saved",
        ));
    }
    check_status(&editor, status)?;
    draft.read()
}

/// A failure around the editor: the text is not lost if it comes another way.
fn nothing_saved(error: anyhow::Error) -> CliError {
    CliError::from(error)
        .with_hint("nothing was saved; you can pipe the text in on standard input instead")
}

/// The directory next to the socket, if only its owner can enter it.
fn private_dir(socket: &Path) -> Result<PathBuf, CliError> {
    let dir = match socket.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let mode = std::fs::metadata(&dir)
        .with_context(|| format!("could not look at {}", dir.display()))
        .map_err(nothing_saved)?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(CliError::invalid_input(format!(
            "will not put your text in a draft file in {}: other users can enter that \
             directory; pass the text as arguments or on standard input",
            dir.display()
        )));
    }
    Ok(dir)
}

/// Editors expect a text file to end with a newline.
fn with_final_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned())
}

/// Through `sh` so that `EDITOR="code --wait"` works, as git does it.
fn run_editor(editor: &str, path: &Path) -> std::io::Result<ExitStatus> {
    Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(path)
        .status()
}

fn check_status(editor: &str, status: ExitStatus) -> Result<(), CliError> {
    match status.code() {
        Some(0) => Ok(()),
        Some(127) => Err(CliError::invalid_input(format!(
            "could not find the editor `{editor}`; set $VISUAL or $EDITOR, \
             or pass the text as arguments"
        ))),
        _ => Err(CliError::new(
            ExitCode::Failure,
            format!("the editor `{editor}` did not finish cleanly ({status}); nothing was saved"),
        )),
    }
}

/// The draft file; dropping it removes it.
struct Draft {
    path: PathBuf,
}

impl Draft {
    fn create(dir: &Path, initial: &str) -> Result<Self, CliError> {
        let path = dir.join(draft_name());
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("could not create a draft file in {}", dir.display()))
            .map_err(nothing_saved)?;
        let draft = Self { path };
        file.write_all(initial.as_bytes())
            .with_context(|| format!("could not write the draft {}", draft.path.display()))
            .map_err(nothing_saved)?;
        Ok(draft)
    }

    fn read(&self) -> Result<String, CliError> {
        std::fs::read_to_string(&self.path)
            .with_context(|| format!("could not read the draft {}", self.path.display()))
            .map_err(nothing_saved)
    }
}

impl Drop for Draft {
    fn drop(&mut self) {
        // Nothing useful to do when it is already gone.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn draft_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(".interlude-draft-{}-{nanos}.txt", std::process::id())
}

/// While held, the signals a terminal sends no longer end this process, so the draft is always
/// removed. Ctrl-C belongs to the editor (vim uses it); a hang-up or termination ends the command
/// once the editor has closed.
struct HeldSignals {
    _interrupt: Signal,
    _quit: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl HeldSignals {
    fn install() -> Result<Self, CliError> {
        let hold = |kind| {
            signal(kind)
                .context("could not set up signal handling for the editor")
                .map_err(nothing_saved)
        };
        Ok(Self {
            _interrupt: hold(SignalKind::interrupt())?,
            _quit: hold(SignalKind::quit())?,
            terminate: hold(SignalKind::terminate())?,
            hangup: hold(SignalKind::hangup())?,
        })
    }

    async fn told_to_stop(&mut self) -> bool {
        poll_fn(|cx| {
            let terminated = self.terminate.poll_recv(cx).is_ready();
            let hung_up = self.hangup.poll_recv(cx).is_ready();
            Poll::Ready(terminated || hung_up)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_draft_is_private_and_gone_once_dropped() {
        let dir =
            std::env::temp_dir().join(format!("interlude-editor-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = {
            let draft = Draft::create(&dir, "felt small").unwrap();
            let mode = std::fs::metadata(&draft.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(draft.read().unwrap(), "felt small");
            draft.path.clone()
        };
        assert!(!path.exists());
        std::fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn a_directory_others_can_enter_is_refused() {
        let error = private_dir(Path::new("/tmp/interluded.sock")).unwrap_err();
        assert!(
            error.to_string().contains("will not put your text"),
            "{error}"
        );
    }
}
