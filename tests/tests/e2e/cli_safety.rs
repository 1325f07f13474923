//! The safety payload and help-now in the real CLI, in a real terminal where it matters.

#![allow(clippy::unwrap_used)]

use interlude_e2e::{PASSPHRASE, RealDaemon, bin, cli_command, in_terminal};

const PLAN: &str = "# My safety plan\n\n## Warning signs\n- not sleeping, skipping meals\n\n## Things I can do on my own\n- the lake breath\n\n## People I can ask for help\n- Sam, 07700 900123\n\n## My reasons for living\n- my niece\n";

fn uk_daemon_with_a_plan() -> RealDaemon {
    let daemon = RealDaemon::start_with("locale = \"en_GB.UTF-8\"");
    assert!(
        daemon
            .cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"))
            .status
            .success()
    );
    let edited = daemon.cli_with_stdin(&["safety-plan", "edit"], PLAN);
    assert!(
        edited.status.success(),
        "{}",
        String::from_utf8_lossy(&edited.stderr)
    );
    daemon
}

#[test]
fn a_frightening_entry_shows_the_plan_and_lines_first_in_the_terminal() {
    let daemon = uk_daemon_with_a_plan();
    let command = format!(
        "INTERLUDE_SOCKET={} {} reflect \"It's 3 am and I just want to die\"",
        daemon.socket().display(),
        bin("interlude").display()
    );
    let Some(screen) = in_terminal(&command, "REFLECT-DONE") else {
        eprintln!("SKIPPED: tmux is not installed; the terminal view is untested here");
        return;
    };
    let first = screen
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    assert!(
        first.contains("What you wrote is saved"),
        "the payload comes first:\n{screen}"
    );
    let (lake, samaritans, saved) = (
        screen.find("the lake breath"),
        screen.find("116 123"),
        screen.find("Saved"),
    );
    assert!(
        lake.is_some() && samaritans.is_some() && saved.is_some(),
        "{screen}"
    );
    assert!(
        lake < saved && samaritans < saved,
        "the plan and the lines come before \"Saved.\":\n{screen}"
    );
    assert!(!screen.to_lowercase().contains("notified"), "{screen}");
}

#[test]
fn help_now_shows_the_plan_while_locked_only_with_consent() {
    let daemon = uk_daemon_with_a_plan();
    assert!(daemon.cli(&["lock"]).status.success());
    let locked = String::from_utf8_lossy(&daemon.cli(&["help-now"]).stdout).into_owned();
    assert!(
        locked.contains("116 123") && !locked.contains("my niece"),
        "{locked}"
    );

    let unlock = daemon.cli_with_stdin(
        &["unlock", "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    );
    assert!(unlock.status.success());
    let on = daemon.cli(&["safety-plan", "readable-while-locked", "on"]);
    let said = String::from_utf8_lossy(&on.stdout).to_lowercase();
    assert!(
        on.status.success() && said.contains("unencrypted"),
        "the client is told plainly: {said}"
    );
    assert!(daemon.cli(&["lock"]).status.success());
    let consented = String::from_utf8_lossy(&daemon.cli(&["help-now"]).stdout).into_owned();
    assert!(
        consented.contains("my niece") && consented.contains("116 123"),
        "{consented}"
    );
}

#[test]
fn help_now_works_with_the_daemon_down_from_the_clis_own_copy() {
    let mut daemon = uk_daemon_with_a_plan();
    assert!(
        daemon
            .cli(&["safety-plan", "readable-while-locked", "on"])
            .status
            .success()
    );
    daemon.kill9();
    let data_dir = daemon.data_dir().display().to_string();
    let output = cli_command(
        &daemon.socket(),
        &daemon.tmp_dir(),
        &[
            "help-now",
            "--locale",
            "en_US.UTF-8",
            "--data-dir",
            &data_dir,
        ],
        "",
    );
    assert!(output.status.success());
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("988") && shown.contains("my niece"),
        "{shown}"
    );

    let nothing_known = cli_command(&daemon.socket(), &daemon.tmp_dir(), &["help-now"], "");
    assert!(nothing_known.status.success());
    let shown = String::from_utf8_lossy(&nothing_known.stdout);
    assert!(
        shown.to_lowercase().contains("emergency"),
        "the international fallback still says where to turn: {shown}"
    );
}
