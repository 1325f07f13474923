//! `interlude export` through the real CLI and daemon: everything comes out, private entries
//! only when asked (and the export says which), the JSON follows the schema in the repo, and an
//! existing file is never replaced without `--force`.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use interlude_e2e::{PASSPHRASE, RealDaemon, ok};

fn with_a_little_of_everything() -> RealDaemon {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let id = serde_json::from_str::<serde_json::Value>(&ok(daemon.cli(&[
        "--json",
        "reflect",
        "--tag",
        "work",
        "--emotion",
        "anxious:70",
        "first",
        "words",
    ])))
    .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(daemon.cli(&["edit", &id, "better", "words"]));
    ok(daemon.cli(&["reflect", "--private", "only", "mine"]));
    ok(daemon.cli(&[
        "reflect",
        "--at",
        "2026-10-11T21:10:00",
        "--kind",
        "dream",
        "a",
        "house",
    ]));
    ok(daemon.cli(&["session", "add", "--insight", "the critic protects me"]));
    ok(daemon.cli(&["vocab", "add", "part", "the", "critic"]));
    daemon
}

fn texts(export: &serde_json::Value) -> Vec<String> {
    export["reflections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect()
}

/// Validated by a real JSON Schema implementation (Python's `jsonschema`, from `.ci/setup`).
fn assert_follows_the_schema(file: &Path) {
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/schema/interlude-export-v1.schema.json");
    let script = "import json,sys,jsonschema\n\
        schema=json.load(open(sys.argv[1]))\n\
        jsonschema.Draft202012Validator.check_schema(schema)\n\
        jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))";
    match std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(file)
        .output()
    {
        Ok(out)
            if String::from_utf8_lossy(&out.stderr).contains("No module named 'jsonschema'") =>
        {
            eprintln!(
                "SKIPPED: the schema check (python3-jsonschema is not installed; .ci/setup installs it)"
            )
        }
        Ok(out) => assert!(
            out.status.success(),
            "the export does not follow its schema: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("SKIPPED: the schema check (no python3)"),
    }
}

#[test]
fn an_export_holds_everything_but_private_entries_unless_asked_and_follows_its_schema() {
    let daemon = with_a_little_of_everything();
    let plain: serde_json::Value = serde_json::from_str(&ok(daemon.cli(&["export"]))).unwrap();
    assert_eq!(plain["format"], "interlude-export");
    assert_eq!(plain["format_version"], 1);
    assert_eq!(plain["includes_private"], false);
    assert_eq!(
        texts(&plain),
        ["a house", "better words"],
        "oldest first, no private entry"
    );
    let edited = &plain["reflections"][1];
    assert_eq!(edited["history"][0]["text"], "first words");
    assert_eq!(edited["tags"], serde_json::json!(["work"]));
    assert_eq!(
        plain["sessions"][0]["insights"][0],
        "the critic protects me"
    );
    assert_eq!(plain["vocabulary"][0]["word"], "the critic");
    assert!(plain["check_ins"]["schedules"].as_array().unwrap().len() >= 2);
    assert!(plain["safety_plan"]["warning_signs"].is_array());
    assert!(!plain["plugins"].as_array().unwrap().is_empty());

    let file = daemon.tmp_dir().join("everything.json");
    let said = ok(daemon.cli(&["export", "--include-private", "-o", file.to_str().unwrap()]));
    assert!(said.contains("private ones included"), "{said}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let everything: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(everything["includes_private"], true);
    assert!(texts(&everything).contains(&"only mine".to_string()));
    assert_follows_the_schema(&file);

    // A window: only the dream.
    let window: serde_json::Value = serde_json::from_str(&ok(daemon.cli(&[
        "export",
        "--since",
        "2026-10-11T00:00",
        "--until",
        "2026-10-12",
    ])))
    .unwrap();
    assert_eq!(texts(&window), ["a house"]);
}

#[test]
fn an_existing_file_is_replaced_only_with_force_and_markdown_says_what_it_holds() {
    let daemon = with_a_little_of_everything();
    let file = daemon.tmp_dir().join("mine.md");
    std::fs::write(&file, "keep me").unwrap();
    let refused = daemon.cli(&[
        "export",
        "--format",
        "markdown",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    ok(daemon.cli(&[
        "export",
        "--format",
        "markdown",
        "-o",
        file.to_str().unwrap(),
        "--force",
    ]));
    let markdown = std::fs::read_to_string(&file).unwrap();
    assert!(markdown.starts_with("# Interlude export"), "{markdown}");
    assert!(markdown.contains("Private reflections are not included"));
    assert!(markdown.contains("> better words") && markdown.contains("> first words"));
    assert!(!markdown.contains("only mine"));
    let leftovers: Vec<_> = std::fs::read_dir(daemon.tmp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "no partial file is left behind");
}

/// Export everything from one vault, import it into a new one, export again: every field of
/// every record is the same. Importing the same file again adds nothing.
#[test]
fn an_export_imported_into_a_new_vault_exports_again_identically() {
    let first = with_a_little_of_everything();
    ok(first.cli_with_stdin(
        &["safety-plan", "edit"],
        "## Warning signs\n- not sleeping\n\n## People I can ask for help\n- Sam\n",
    ));
    // Check-in settings that are not the defaults, and a plugin turned off in the daemon's own
    // data directory (the CLI's default one is elsewhere: the list must be the daemon's).
    let in_ten_days = jiff::Zoned::now()
        .date()
        .checked_add(jiff::Span::new().days(10))
        .unwrap()
        .to_string();
    ok(first.cli(&["checkin", "quiet", "21:30-07:15"]));
    ok(first.cli(&["checkin", "cap", "2"]));
    ok(first.cli(&["checkin", "pause", &in_ten_days]));
    ok(first.cli(&[
        "checkin",
        "schedule",
        "add",
        "--daily",
        "19:30",
        "--prompt",
        "What did the critic say?",
    ]));
    ok(first.cli(&[
        "checkin", "schedule", "add", "--weekly", "mon,thu", "--at", "08:00",
    ]));
    ok(first.cli(&["checkin", "schedule", "off", "day-after-session"]));
    let first_data = first.data_dir();
    ok(first.cli(&[
        "plugin",
        "disable",
        "act",
        "--data-dir",
        first_data.to_str().unwrap(),
    ]));
    let file = first.tmp_dir().join("everything.json");
    ok(first.cli(&["export", "--include-private", "-o", file.to_str().unwrap()]));
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let plugin_ids: Vec<&str> = exported["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        plugin_ids.contains(&"cbt") && !plugin_ids.contains(&"act"),
        "the plugins in effect in the daemon's data directory: {plugin_ids:?}"
    );
    let controls = &exported["check_ins"]["controls"];
    assert_eq!(controls["daily_cap"], 2, "{controls}");
    assert_eq!(controls["paused_through"], in_ten_days.as_str());

    let second = RealDaemon::start();
    ok(second.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let second_data = second.data_dir();
    ok(second.cli(&[
        "plugin",
        "disable",
        "act",
        "--data-dir",
        second_data.to_str().unwrap(),
    ]));
    let said = ok(second.cli(&["import", "--dry-run", file.to_str().unwrap()]));
    assert!(
        said.contains("holds 3 reflections, 1 sessions and 1 words"),
        "{said}"
    );
    assert!(
        second.cli(&["--json", "timeline"]).stdout.len() < 40,
        "a dry run imports nothing"
    );
    let said = ok(second.cli(&["import", file.to_str().unwrap()]));
    assert!(
        said.contains("Imported 5 records") && said.contains("safety plan was imported"),
        "{said}"
    );
    let again = second.tmp_dir().join("again.json");
    ok(second.cli(&["export", "--include-private", "-o", again.to_str().unwrap()]));

    let read = |path: &Path| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("exported_at");
        v
    };
    let (before, after) = (read(&file), read(&again));
    for key in [
        "reflections",
        "sessions",
        "vocabulary",
        "safety_plan",
        "check_ins",
        "plugins",
    ] {
        assert_eq!(before[key], after[key], "{key} came back different");
    }
    assert_eq!(before, after);

    let twice = ok(second.cli(&["import", file.to_str().unwrap()]));
    assert!(
        twice.contains("Imported 0 records") && twice.contains("5 were already here"),
        "{twice}"
    );
}

#[test]
fn a_file_that_is_not_an_export_is_refused_and_nothing_is_imported() {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let cases = [
        (
            "not-json.json",
            "this is not json".to_string(),
            "it is not JSON",
        ),
        (
            "other.json",
            r#"{"format":"jrnl"}"#.to_string(),
            "interlude-export",
        ),
        (
            "newer.json",
            r#"{"format":"interlude-export","format_version":2}"#.to_string(),
            "format_version is 2",
        ),
    ];
    for (name, text, says) in cases {
        let path = daemon.tmp_dir().join(name);
        std::fs::write(&path, text).unwrap();
        let out = daemon.cli(&["import", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(6), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(says) && stderr.contains("nothing was imported"),
            "{name}: {stderr}"
        );
    }
    // One bad record among good ones: nothing at all is written.
    let first = with_a_little_of_everything();
    let file = first.tmp_dir().join("one-bad.json");
    ok(first.cli(&["export", "-o", file.to_str().unwrap()]));
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    doc["reflections"][1]["text"] = serde_json::json!("");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = daemon.cli(&["import", file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(daemon.cli(&["--json", "timeline"]))).unwrap();
    assert_eq!(
        listed["reflections"],
        serde_json::json!([]),
        "nothing was imported"
    );
}

/// A jrnl export (`jrnl --export json`) with a byte-order mark, CRLF line ends, emoji and
/// entries with fields missing: what can come in does, the rest is listed, and importing it
/// again adds nothing.
#[test]
fn a_jrnl_export_comes_in_once_with_its_tags_and_stars_and_bad_entries_listed() {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import/jrnl/nasty.json");
    let fixture = fixture.to_str().unwrap();
    let said = ok(daemon.cli(&["import", "--from", "jrnl", "--dry-run", fixture]));
    assert!(
        said.contains("holds 3 jrnl entries") && said.contains("Skipped 2"),
        "{said}"
    );
    let said = ok(daemon.cli(&["import", "--from", "jrnl", fixture]));
    assert!(said.contains("Imported 3 jrnl entries"), "{said}");
    assert!(
        said.contains("entry 4: it has no date")
            && said.contains("entry 5: it has neither title nor body"),
        "{said}"
    );
    let listed: serde_json::Value = serde_json::from_str(&ok(daemon.cli(&[
        "--json",
        "timeline",
        "--since",
        "2026-10-01",
    ])))
    .unwrap();
    let reflections = listed["reflections"].as_array().unwrap();
    assert_eq!(reflections.len(), 3);
    let froze = reflections
        .iter()
        .find(|r| r["text"].as_str().unwrap().starts_with("Froze"))
        .unwrap();
    assert_eq!(
        froze["text"],
        "Froze when asked about the deadline.\n\nThe critic said I'm behind again.\nTried the lake breath 🌊 after."
    );
    assert_eq!(froze["tags"], serde_json::json!(["work"]));
    assert_eq!(froze["helpful"], true);
    let call = reflections
        .iter()
        .find(|r| r["text"] == "Call with my father.")
        .unwrap();
    assert_eq!(call["tags"], serde_json::json!(["family", "work"]));
    let again = ok(daemon.cli(&["import", "--from", "jrnl", fixture]));
    assert!(
        again.contains("Imported 0 jrnl entries") && again.contains("3 were already here"),
        "{again}"
    );
}

/// Ten thousand entries: more than one import call, every one in, none twice.
#[test]
fn ten_thousand_jrnl_entries_come_in_and_a_second_import_adds_none() {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let entries: Vec<serde_json::Value> = (0..10_000)
        .map(|i| {
            serde_json::json!({
                "title": format!("entry {i}"),
                "body": "the critic, again",
                "date": format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                "time": format!("{:02}:{:02}", i % 24, i % 60),
                "tags": ["@bulk"],
                "starred": false,
            })
        })
        .collect();
    let file = daemon.tmp_dir().join("big.json");
    std::fs::write(
        &file,
        serde_json::json!({ "tags": {}, "entries": entries }).to_string(),
    )
    .unwrap();
    let said = ok(daemon.cli(&["import", "--from", "jrnl", file.to_str().unwrap()]));
    assert!(said.contains("Imported 10000 jrnl entries"), "{said}");
    let again = ok(daemon.cli(&["import", "--from", "jrnl", file.to_str().unwrap()]));
    assert!(
        again.contains("Imported 0 jrnl entries") && again.contains("10000 were already here"),
        "{again}"
    );
}

/// A Daylio CSV export with a byte-order mark, CRLF, 12-hour times, `<br>`, emoji and rows that
/// cannot be read: what can come in does, with mood and activities as tags, and only once.
#[test]
fn a_daylio_export_comes_in_once_with_moods_and_activities_as_tags() {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import/daylio/export.csv");
    let fixture = fixture.to_str().unwrap();
    let said = ok(daemon.cli(&["import", "--from", "daylio", fixture]));
    assert!(
        said.contains("Imported 3 Daylio entries") && said.contains("Skipped 2"),
        "{said}"
    );
    let listed: serde_json::Value = serde_json::from_str(&ok(daemon.cli(&[
        "--json",
        "timeline",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-20",
    ])))
    .unwrap();
    let reflections = listed["reflections"].as_array().unwrap();
    let texts: Vec<&str> = reflections
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Mood: rad. Activities: walk, friends.",
            "Call with my father went fine.",
            "Froze\n\nThe critic again, louder.\nThen the lake breath 🌊."
        ]
    );
    assert_eq!(
        reflections[2]["tags"],
        serde_json::json!(["mood:meh", "work", "family"])
    );
    let again = ok(daemon.cli(&["import", "--from", "daylio", fixture]));
    assert!(again.contains("Imported 0 Daylio entries"), "{again}");
}

/// A Day One export zip as Python's zipfile writes it (two journals, a photo, 10,000 entries
/// with photo references, escapes, emoji and a missing date): every readable entry in, none
/// twice.
#[test]
fn a_day_one_export_zip_comes_in_once() {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let dir = daemon.tmp_dir();
    let script = r#"
import json, sys, zipfile
entries = [{"uuid": f"U{i}", "creationDate": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            "timeZone": "Europe/London", "text": f"entry {i} \\- the critic 🌊\n![](dayone-moment://P{i})",
            "tags": ["Bulk"], "starred": i % 2 == 0} for i in range(9_999)]
entries.append({"uuid": "bad", "text": "no date"})
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("Journal.json", json.dumps({"metadata": {"version": "1.0"}, "entries": entries[:5000]}))
    z.writestr("Dreams.json", json.dumps({"metadata": {"version": "1.0"}, "entries": entries[5000:]}))
    z.writestr("photos/P1.jpeg", b"\xff\xd8 not really a photo")
"#;
    let zip = dir.join("Export-Journal.zip");
    let made = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&zip)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let zip = zip.to_str().unwrap();
    let said = ok(daemon.cli(&["import", "--from", "dayone", "--dry-run", zip]));
    assert!(
        said.contains("holds 9999 Day One entries") && said.contains("Skipped 1"),
        "{said}"
    );
    let said = ok(daemon.cli(&["import", "--from", "dayone", zip]));
    assert!(said.contains("Imported 9999 Day One entries"), "{said}");
    let one: serde_json::Value = serde_json::from_str(&ok(daemon.cli(&[
        "--json",
        "timeline",
        "--since",
        "2025-01-01T00:00:00Z",
        "--until",
        "2025-01-01T00:01:00Z",
    ])))
    .unwrap();
    let first = &one["reflections"][0];
    assert_eq!(first["text"], "entry 0 - the critic 🌊");
    assert_eq!(first["tags"], serde_json::json!(["bulk"]));
    assert_eq!(first["helpful"], true);
    let again = ok(daemon.cli(&["import", "--from", "dayone", zip]));
    assert!(
        again.contains("Imported 0 Day One entries") && again.contains("9999 were already here"),
        "{again}"
    );
}
