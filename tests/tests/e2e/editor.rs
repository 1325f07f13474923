//! `interlude reflect` with no text, in a real terminal (tmux), opens `$EDITOR` on a draft that
//! lives in the daemon's private directory and is gone afterwards.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use interlude_e2e::{PASSPHRASE, RealDaemon, bin};

#[test]
fn reflect_without_text_opens_the_editor_and_leaves_no_draft_behind() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed; the editor path is untested here");
        return;
    }
    let daemon = RealDaemon::start();
    let init = daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"));
    assert!(init.status.success());
    // The "editor" writes the client's words and notes which file it was given.
    let seen = daemon.root.path().join("editor-saw");
    let editor = daemon.root.path().join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\necho \"$1\" > {}\necho 'written in the editor' >> \"$1\"\n",
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let done = daemon.root.path().join("done");
    let session = format!("interlude-editor-{}", std::process::id());
    let command = format!(
        "INTERLUDE_SOCKET={} EDITOR={} TMPDIR={} {} reflect --tag evening; echo $? > {}",
        daemon.socket().display(),
        editor.display(),
        daemon.tmp_dir().display(),
        bin("interlude").display(),
        done.display()
    );
    let started = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "100",
            "-y",
            "20",
            &command,
        ])
        .status();
    assert!(started.unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();
    assert_eq!(
        std::fs::read_to_string(&done).unwrap().trim(),
        "0",
        "interlude reflect exited 0"
    );

    let draft = std::path::PathBuf::from(std::fs::read_to_string(&seen).unwrap().trim());
    assert_eq!(
        draft.parent().unwrap(),
        daemon.socket().parent().unwrap(),
        "the draft lives beside the socket"
    );
    assert!(!draft.exists(), "the draft is removed");
    let listed = daemon.cli(&["--json", "timeline", "--tag", "evening"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        listed["reflections"][0]["text"].as_str().unwrap().trim(),
        "written in the editor"
    );
}
