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

/// A machine set to American English, as many Linux installs are by default.
const US_LOCALE: [(&str, &str); 1] = [("LANG", "en_US.UTF-8")];

fn us_locale_daemon() -> RealDaemon {
    let mut daemon = RealDaemon::prepare();
    daemon.env = vec![("LANG".into(), "en_US.UTF-8".into())];
    daemon.launch();
    daemon
}

#[test]
fn a_client_on_an_american_english_system_who_chose_gb_sees_the_uk_lines() {
    let mut daemon = us_locale_daemon();
    let init = daemon.cli_with_env(
        &["init", "--passphrase-stdin", "--country", "GB"],
        &US_LOCALE,
        &format!("{PASSPHRASE}\n"),
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    let help = daemon.cli_with_env(&["help-now"], &US_LOCALE, "");
    let shown = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.status.success(), "{shown}");
    assert!(
        shown.contains("116 123") && shown.contains("999"),
        "the UK lines: {shown}"
    );
    assert!(
        !shown.contains("988") && !shown.contains("911"),
        "not the US lines: {shown}"
    );
    assert!(
        shown.contains("United Kingdom") && shown.contains("interlude country"),
        "says whose lines these are and how to change it: {shown}"
    );
    let with_no_plan = (shown.find("116 123"), shown.find("safety-plan edit"));
    assert!(
        with_no_plan.0 < with_no_plan.1 && with_no_plan.1.is_some(),
        "with no plan yet, the lines come before the hint to write one: {shown}"
    );

    // The choice is the data directory's, so it holds with the daemon down too.
    daemon.kill9();
    let data_dir = daemon.data_dir().display().to_string();
    let down = daemon.cli_with_env(&["help-now", "--data-dir", &data_dir], &US_LOCALE, "");
    let shown = String::from_utf8_lossy(&down.stdout);
    assert!(
        down.status.success() && shown.contains("116 123") && !shown.contains("988"),
        "{shown}"
    );
}

#[test]
fn the_country_can_be_changed_later_and_a_guess_from_the_locale_says_it_is_one() {
    let daemon = us_locale_daemon();
    let init = daemon.cli_with_env(
        &["init", "--passphrase-stdin"],
        &US_LOCALE,
        &format!("{PASSPHRASE}\n"),
    );
    assert!(init.status.success());
    let guessed = daemon.cli_with_env(&["help-now"], &US_LOCALE, "");
    let shown = String::from_utf8_lossy(&guessed.stdout).into_owned();
    assert!(
        shown.contains("988") && shown.contains("guessed") && shown.contains("112"),
        "a guess is said to be one, with lines that work anywhere: {shown}"
    );

    let status = String::from_utf8_lossy(&daemon.cli(&["status"]).stdout).into_owned();
    assert!(
        status.contains("No country is chosen") && status.contains("interlude country"),
        "status says so while nobody chose: {status}"
    );

    let changed = daemon.cli_with_env(&["country", "ie"], &US_LOCALE, "");
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let shown = String::from_utf8_lossy(&daemon.cli_with_env(&["help-now"], &US_LOCALE, "").stdout)
        .into_owned();
    assert!(
        shown.contains("Pieta") && !shown.contains("988"),
        "the running daemon shows the new country's lines: {shown}"
    );

    let status = String::from_utf8_lossy(&daemon.cli(&["status"]).stdout).into_owned();
    assert!(!status.contains("No country is chosen"), "{status}");

    let refused = daemon.cli_with_env(&["country", "Britain"], &US_LOCALE, "");
    assert_eq!(refused.status.code(), Some(2), "a country is two letters");
}
