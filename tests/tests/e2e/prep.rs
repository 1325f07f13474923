//! `interlude patterns` and `interlude prep` with the real binaries: the packet without models
//! (extractive, and it says what is missing), the review in `$EDITOR`'s place (standard input),
//! every format, the export the therapist opens with the real `age`, the history, and each bad
//! input a clear error with nothing lost.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use interlude_e2e::{PASSPHRASE, RealDaemon, install_models, ok, tools_present};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn refused(output: Output, says: &str) -> String {
    let err = text(&output.stderr);
    assert!(
        !output.status.success(),
        "expected a refusal, got: {}",
        text(&output.stdout)
    );
    assert!(err.contains(says), "stderr does not say \"{says}\": {err}");
    err
}

fn initialised() -> RealDaemon {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    daemon
}

const BROUGHT: &str = "I want to talk about why Sunday evenings feel so heavy.";
const LEFT_OUT: &str =
    "The argument with my brother about the car, which I'd rather keep to myself.";
const PRIVATE: &str = "A private line about the solicitor's letter.";
const FLAGGED: &str = "I want to kill myself tonight, the pills are counted out.";

fn write_week(daemon: &RealDaemon) {
    ok(daemon.cli(&["reflect", BROUGHT, "--bring", "--emotion", "dread:70"]));
    ok(daemon.cli(&["reflect", LEFT_OUT, "--bring", "--emotion", "angry:60"]));
    ok(daemon.cli(&["reflect", PRIVATE, "--private"]));
    ok(daemon.cli(&["reflect", FLAGGED]));
    ok(daemon.cli(&["reflect", "Made soup and watched the football."]));
}

#[test]
fn without_models_the_packet_is_extractive_says_what_is_missing_and_keeps_the_clients_choices() {
    let daemon = initialised();
    write_week(&daemon);

    let patterns: serde_json::Value =
        serde_json::from_str(&ok(daemon.cli(&["--json", "patterns"]))).unwrap();
    assert_eq!(
        patterns["entries"], 3,
        "the private entry is never read, the flagged one is apart: {patterns}"
    );
    assert!(
        patterns["notices"][0]
            .as_str()
            .unwrap()
            .contains("models fetch"),
        "{patterns}"
    );
    assert_eq!(patterns["flagged"].as_array().unwrap().len(), 1);

    let packet = ok(daemon.cli(&["prep", "--no-digest"]));
    assert!(
        packet.contains(BROUGHT) && packet.contains(LEFT_OUT),
        "{packet}"
    );
    assert!(
        !packet.contains("solicitor"),
        "private entries are never in a packet"
    );
    assert!(
        !packet.contains("pills"),
        "flagged entries are out unless the client puts them in"
    );
    assert!(
        packet.contains("Entries from hard moments not included here (my choice): 1."),
        "{packet}"
    );

    // The review, as `$EDITOR` would return it: the left-out entry's box emptied, a question.
    let json: serde_json::Value =
        serde_json::from_str(&ok(daemon.cli(&["--json", "timeline"]))).unwrap();
    let left_out_id = json["reflections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["text"] == LEFT_OUT)
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .unwrap();
    let review = format!(
        "### Entries\n- [ ] {left_out_id} · whatever the preview said\n\n## Questions I want to ask\n- Why Sundays?\n"
    );
    ok(daemon.cli_with_stdin(&["prep", "edit"], &review));
    // The reviewed draft is stored encrypted and survives a restart.
    let mut daemon = daemon;
    daemon.stop();
    daemon.launch();
    ok(daemon.cli_with_stdin(
        &["unlock", "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    ));
    let shown = ok(daemon.cli(&["prep", "show"]));
    assert!(
        shown.contains(BROUGHT) && shown.contains("Why Sundays?"),
        "{shown}"
    );
    assert!(
        !shown.contains("brother") && !shown.contains(&left_out_id),
        "{shown}"
    );

    // Every format comes from the reviewed draft; a file is never silently replaced.
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("week.html");
    let html_arg = html.to_str().unwrap();
    ok(daemon.cli(&["prep", "show", "--format", "html", "-o", html_arg]));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && !page.contains("brother") && !page.contains("solicitor"));
    refused(
        daemon.cli(&["prep", "show", "--format", "html", "-o", html_arg]),
        "already exists",
    );
    assert_eq!(
        std::fs::read_to_string(&html).unwrap(),
        page,
        "the existing file is untouched"
    );

    // A key that is not an age key, then the real export.
    let out = dir.path().join("week.md.age");
    let out_arg = out.to_str().unwrap();
    refused(
        daemon.cli(&[
            "prep",
            "export",
            "--to-therapist",
            "ssh-ed25519 AAAA",
            "-o",
            out_arg,
        ]),
        "not an age X25519 public key",
    );
    assert!(!out.exists(), "nothing written for a refused export");
    if !tools_present(&["age", "age-keygen"]) {
        eprintln!("SKIPPED: age is not installed; the therapist's side of the export did not run");
        return;
    }
    let identity = dir.path().join("therapist.key");
    let keygen = Command::new("age-keygen")
        .arg("-o")
        .arg(&identity)
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let public = text(
        &Command::new("age-keygen")
            .arg("-y")
            .arg(&identity)
            .output()
            .unwrap()
            .stdout,
    );
    ok(daemon.cli(&[
        "prep",
        "export",
        "--to-therapist",
        public.trim(),
        "-o",
        out_arg,
    ]));
    let opened = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&identity)
        .arg(&out)
        .output()
        .unwrap();
    assert!(opened.status.success(), "{}", text(&opened.stderr));
    assert_eq!(
        text(&opened.stdout),
        shown,
        "the therapist reads exactly what the client saw"
    );
    let history = ok(daemon.cli(&["prep", "history"]));
    assert!(
        history.contains(public.trim()) && history.contains("markdown"),
        "{history}"
    );
}

#[test]
fn bad_windows_and_a_locked_vault_get_clear_answers() {
    let daemon = initialised();
    refused(daemon.cli(&["prep", "show"]), "no draft yet");
    let empty = ok(daemon.cli(&["prep", "--no-digest"]));
    assert!(empty.contains("from 0 entries"), "{empty}");
    refused(
        daemon.cli(&["patterns", "--since", "2026-11-01", "--until", "2026-10-01"]),
        "inverted",
    );
    ok(daemon.cli(&["lock"]));
    refused(daemon.cli(&["prep"]), "locked");
}

#[test]
fn with_models_one_entry_makes_a_packet_and_the_html_has_every_chart() {
    let daemon = initialised();
    if install_models(&daemon.data_dir()).is_none() {
        return;
    }
    ok(daemon.cli(&["reflect", BROUGHT, "--bring", "--emotion", "dread:70"]));
    let packet = ok(daemon.cli(&["prep", "--format", "html"]));
    assert_eq!(packet.matches("<svg").count(), 3, "days, hours and themes");
    assert!(packet.contains(BROUGHT));
    // The SVG namespace is a name, not an address anything fetches.
    let without_namespace = packet.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for outside in ["http://", "https://", "src=", "href=", "@import", "url("] {
        assert!(
            !without_namespace.contains(outside),
            "the page reaches outside itself: {outside}"
        );
    }
    in_chromium(&packet);
}

/// Opens the page in headless Chromium with every host unresolvable: no console message, no
/// request, and a screenshot kept under `target/test-artefacts/`.
fn in_chromium(page: &str) {
    if !tools_present(&["chromium"]) {
        eprintln!(
            "SKIPPED: chromium is not installed; the HTML packet was not opened in a browser"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("packet.html");
    std::fs::write(&file, page).unwrap();
    let artefacts = interlude_e2e::bin_dir()
        .parent()
        .unwrap()
        .join("test-artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("prep-packet.png");
    let _ = std::fs::remove_file(&shot);
    let browser = |extra: &[&str]| {
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
            ])
            .args([
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .args(extra)
            .arg(format!("file://{}", file.display()))
            .output()
            .unwrap()
    };
    let shown = browser(&[
        "--window-size=1000,2400",
        &format!("--screenshot={}", shot.display()),
    ]);
    let log = text(&shown.stderr);
    assert!(shown.status.success(), "{log}");
    for sign in ["CONSOLE", "Refused to", "net::ERR", "Uncaught"] {
        let bad: Vec<&str> = log.lines().filter(|l| l.contains(sign)).collect();
        assert!(bad.is_empty(), "the browser reported {sign}: {bad:#?}");
    }
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real screenshot"
    );
    let dom = text(&browser(&["--dump-dom"]).stdout);
    assert_eq!(
        dom.matches("<svg").count(),
        3,
        "every chart is in the rendered page"
    );
    eprintln!("screenshot of the HTML packet: {}", shot.display());
}
