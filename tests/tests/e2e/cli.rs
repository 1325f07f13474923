//! The real `interlude` binary driving the real `interluded` over its socket.

#![allow(clippy::unwrap_used)]

use std::process::Output;

use interlude_e2e::{PASSPHRASE, RealDaemon, cli_command, ok};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: Output) -> serde_json::Value {
    serde_json::from_str(&ok(output)).unwrap()
}

fn initialised() -> RealDaemon {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    daemon
}

#[test]
fn init_prints_a_recovery_key_that_unlocks() {
    let daemon = RealDaemon::start();
    let out = json(daemon.cli_with_stdin(
        &["--json", "init", "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    ));
    let recovery_key = out["recovery_key"].as_str().unwrap().to_string();
    assert_eq!(recovery_key.len(), 39);
    ok(daemon.cli(&["lock"]));
    let unlocked = ok(daemon.cli_with_stdin(
        &["unlock", "--recovery-key", "--passphrase-stdin"],
        &format!("{recovery_key}\n"),
    ));
    assert!(unlocked.contains("Unlocked"), "{unlocked}");
    let again = daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"));
    assert_eq!(again.status.code(), Some(6), "a second init is refused");
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn reflect_then_timeline_shows_it_in_the_clients_words() {
    let daemon = initialised();
    let saved = ok(daemon.cli(&[
        "reflect",
        "--tag",
        "work",
        "--emotion",
        "anxious:70",
        "--bring",
        "Froze",
        "when",
        "asked",
    ]));
    assert!(saved.starts_with("Saved."), "{saved}");
    ok(daemon.cli_with_stdin(
        &["reflect", "--at", "yesterday 21:00", "--kind", "dream"],
        "a house with too many doors\n",
    ));
    let listed = json(daemon.cli(&["--json", "timeline", "--since", "3d"]));
    let reflections = listed["reflections"].as_array().unwrap();
    assert_eq!(reflections.len(), 2);
    assert_eq!(reflections[0]["text"], "Froze when asked");
    assert_eq!(reflections[0]["tags"], serde_json::json!(["work"]));
    assert_eq!(
        reflections[0]["emotions"],
        serde_json::json!([{"name": "anxious", "intensity": 70}])
    );
    assert_eq!(reflections[0]["bring_to_session"], true);
    assert_eq!(reflections[1]["text"], "a house with too many doors");
    assert_eq!(reflections[1]["kind"], "dream");
    let human = ok(daemon.cli(&["timeline", "--bring"]));
    assert!(
        human.contains("Froze when asked")
            && human.contains("anxious 70")
            && !human.contains("doors"),
        "{human}"
    );
    let dreams = ok(daemon.cli(&["timeline", "--kind", "dream"]));
    assert!(
        dreams.contains("doors") && !dreams.contains("Froze"),
        "{dreams}"
    );
}

/// Times written by scripts and other tools (ISO 8601, local, with seconds or an offset) work
/// wherever `--at`, `--since` and `--until` do.
#[test]
fn iso_8601_times_work_for_at_since_and_until() {
    let daemon = initialised();
    ok(daemon.cli(&[
        "reflect",
        "--at",
        "2026-10-11T21:10:00",
        "written",
        "at",
        "ten",
        "past",
    ]));
    ok(daemon.cli(&[
        "reflect",
        "--at",
        "2026-10-11T21:30:00+00:00",
        "with",
        "an",
        "offset",
    ]));
    let listed = json(daemon.cli(&[
        "--json",
        "timeline",
        "--since",
        "2026-10-11T21:09:59",
        "--until",
        "2026-10-11T21:10:01",
    ]));
    let texts: Vec<_> = listed["reflections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["written at ten past"]);
    let exact = json(daemon.cli(&[
        "--json",
        "timeline",
        "--since",
        "2026-10-11T21:29:59Z",
        "--until",
        "2026-10-11T21:30:01+00:00",
    ]));
    assert_eq!(exact["reflections"][0]["text"], "with an offset");
    assert_eq!(exact["reflections"][0]["moment"], "2026-10-11T21:30:00Z");
}

#[test]
fn edit_keeps_history_and_delete_needs_confirmation() {
    let daemon = initialised();
    let id = json(daemon.cli(&["--json", "reflect", "first words"]))["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(daemon.cli(&["edit", &id, "better", "words"]));
    let shown = json(daemon.cli(&["--json", "show", &id]));
    assert_eq!(shown["text"], "better words");
    assert_eq!(shown["history"][0]["text"], "first words");
    let refused = daemon.cli(&["delete", &id]);
    assert_eq!(
        refused.status.code(),
        Some(6),
        "no --yes and no terminal to ask on"
    );
    assert!(stderr(&refused).contains("--yes"));
    ok(daemon.cli(&["delete", &id, "--yes"]));
    let gone = daemon.cli(&["show", &id]);
    assert_eq!(gone.status.code(), Some(5));
}

#[test]
fn helpful_marks_and_undo_clears_and_an_unknown_id_changes_nothing() {
    let daemon = initialised();
    let id = json(daemon.cli(&["--json", "reflect", "the lake breath helped"]))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let marked = ok(daemon.cli(&["helpful", &id]));
    assert!(marked.contains("Marked helpful"), "{marked}");
    assert!(ok(daemon.cli(&["timeline"])).contains("[helpful]"));
    assert!(ok(daemon.cli(&["show", &id])).contains("helpful"));
    let shown = json(daemon.cli(&["--json", "show", &id]));
    assert_eq!(shown["helpful"], true);
    assert_eq!(
        shown["edited_at"],
        serde_json::Value::Null,
        "a mark is not an edit"
    );

    let unknown = daemon.cli(&["helpful", "01JD3Y8ZK3Q9W7E2X5V4N6M1AB"]);
    assert_eq!(unknown.status.code(), Some(5), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("no reflection with id"),
        "{}",
        stderr(&unknown)
    );
    assert_eq!(json(daemon.cli(&["--json", "show", &id]))["helpful"], true);

    let cleared = ok(daemon.cli(&["helpful", "--undo", &id]));
    assert!(cleared.contains("No longer marked helpful"), "{cleared}");
    assert_eq!(json(daemon.cli(&["--json", "show", &id]))["helpful"], false);
    assert!(!ok(daemon.cli(&["timeline"])).contains("[helpful]"));
}

#[test]
fn capture_while_locked_says_it_was_saved_and_how_to_read_it() {
    let daemon = initialised();
    ok(daemon.cli(&["lock"]));
    let saved = ok(daemon.cli(&["reflect", "11 pm, can't sleep"]));
    assert!(
        saved.contains("sealed") && saved.contains("interlude unlock"),
        "{saved}"
    );
    let read = daemon.cli(&["timeline"]);
    assert_eq!(read.status.code(), Some(4));
    assert!(
        stderr(&read).contains("locked: run `interlude unlock`"),
        "{}",
        stderr(&read)
    );
    let unlocked = ok(daemon.cli_with_stdin(
        &["unlock", "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    ));
    assert!(
        unlocked.contains("1 reflection captured while locked joined your timeline"),
        "{unlocked}"
    );
    assert!(ok(daemon.cli(&["timeline"])).contains("11 pm, can't sleep"));
}

#[test]
fn a_wrong_passphrase_exits_7_and_leaves_the_vault_locked() {
    let daemon = initialised();
    ok(daemon.cli(&["lock"]));
    let wrong = daemon.cli_with_stdin(&["unlock", "--passphrase-stdin"], "not it at all\n");
    assert_eq!(wrong.status.code(), Some(7));
    assert!(stderr(&wrong).contains("wrong passphrase"));
    assert!(ok(daemon.cli(&["status"])).contains("locked"));
}

#[test]
fn bad_input_gets_a_clear_message_and_a_named_exit_code() {
    let daemon = initialised();
    let bad_emotion = daemon.cli(&["reflect", "--emotion", "anxious:abc", "text"]);
    assert_eq!(bad_emotion.status.code(), Some(2));
    assert!(
        stderr(&bad_emotion).contains("anxious:70"),
        "{}",
        stderr(&bad_emotion)
    );
    let too_intense = daemon.cli(&["reflect", "--emotion", "anxious:101", "text"]);
    assert_eq!(too_intense.status.code(), Some(2));
    let empty = daemon.cli_with_stdin(&["reflect"], "   \n");
    assert_eq!(empty.status.code(), Some(6));
    let bad_time = daemon.cli(&["reflect", "--at", "the day after tomorrow", "text"]);
    assert_eq!(bad_time.status.code(), Some(2));
    let inverted = daemon.cli(&["timeline", "--since", "1d", "--until", "3d"]);
    assert_eq!(inverted.status.code(), Some(6));
    assert!(stderr(&inverted).contains("inverted"));
    let tags: Vec<String> = (0..33)
        .flat_map(|i| ["--tag".to_string(), format!("t{i}")])
        .collect();
    let mut args: Vec<&str> = vec!["reflect"];
    args.extend(tags.iter().map(String::as_str));
    args.push("text");
    let too_many = daemon.cli(&args);
    assert_eq!(too_many.status.code(), Some(6));
    assert_eq!(
        json(daemon.cli(&["--json", "timeline"]))["reflections"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "nothing was stored"
    );
}

#[test]
fn sessions_and_vocabulary_from_the_command_line() {
    let daemon = initialised();
    ok(daemon.cli(&[
        "session",
        "add",
        "--at",
        "yesterday 17:00",
        "--insight",
        "the critic protects me",
    ]));
    let sessions = json(daemon.cli(&["--json", "session", "list"]));
    assert_eq!(
        sessions["sessions"][0]["insights"][0],
        "the critic protects me"
    );
    ok(daemon.cli(&[
        "vocab",
        "add",
        "anchor",
        "the lake breath",
        "--note",
        "from session 3",
    ]));
    ok(daemon.cli(&["vocab", "add", "part", "the critic"]));
    let anchors = json(daemon.cli(&["--json", "vocab", "list", "--kind", "anchor"]));
    let id = anchors["terms"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(anchors["terms"][0]["word"], "the lake breath");
    assert_eq!(anchors["terms"].as_array().unwrap().len(), 1);
    ok(daemon.cli(&["vocab", "remove", &id]));
    let all = json(daemon.cli(&["--json", "vocab", "list"]));
    assert_eq!(all["terms"].as_array().unwrap().len(), 1);
    let bad_kind = daemon.cli(&["vocab", "add", "feeling", "x"]);
    assert_eq!(bad_kind.status.code(), Some(2));
}

#[test]
fn with_no_daemon_the_cli_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nobody-home.sock");
    let output = cli_command(&socket, dir.path(), &["reflect", "hello"], "");
    assert_eq!(output.status.code(), Some(3));
    let message = stderr(&output);
    assert!(
        message.contains("not running") && message.contains("interluded"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "one line: {message}");
}

/// Completions and manual pages come from the CLI definition and need no daemon. The bash
/// script is loaded by a real bash; the manual page is rendered by a real groff.
#[test]
fn completions_and_manual_pages_are_generated_from_the_command_line_itself() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = dir.path().join("nobody-home.sock");
    let run = |args: &[&str]| cli_command(&nobody, dir.path(), args, "");
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(run(&["completions", shell]));
        for word in ["reflect", "timeline", "completions", "help-now"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
    let script_path = dir.path().join("interlude.bash");
    std::fs::write(&script_path, ok(run(&["completions", "bash"]))).unwrap();
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p interlude",
            script_path.display()
        ))
        .output()
        .unwrap();
    assert!(
        stdout(&loaded).contains("_interlude") && loaded.status.success(),
        "bash loads it: {}{}",
        stdout(&loaded),
        stderr(&loaded)
    );
    let unknown = run(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));

    let page = ok(run(&["man"]));
    assert!(page.contains(".TH interlude 1"), "{page}");
    assert!(
        page.contains("reflect") && page.contains("Examples"),
        "{page}"
    );
    let pages = dir.path().join("man1");
    ok(run(&["man", "--dir", pages.to_str().unwrap()]));
    for name in [
        "interlude.1",
        "interlude-reflect.1",
        "interlude-plugin-install.1",
    ] {
        assert!(pages.join(name).exists(), "{name} written");
    }
    match std::process::Command::new("groff")
        .args(["-man", "-Tutf8"])
        .arg(pages.join("interlude-reflect.1"))
        .output()
    {
        Ok(rendered) => {
            let text = String::from_utf8_lossy(&rendered.stdout);
            assert!(text.contains("--at"), "groff renders the options: {text}");
        }
        Err(_) => eprintln!("SKIPPED: rendering with groff (not installed)"),
    }
}

/// `daemon install` writes a systemd user unit that systemd's own checker accepts; without a
/// reachable user manager (as here) it says what to run. `status` and `uninstall` follow it.
#[test]
fn daemon_install_writes_a_hardened_user_unit_and_uninstall_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = dir.path().join("nobody-home.sock");
    let run = |args: &[&str]| cli_command(&nobody, dir.path(), args, "");
    let unit_text = ok(run(&["daemon", "install", "--print"]));
    assert!(
        unit_text.contains("ExecStart=") && unit_text.contains("interluded"),
        "{unit_text}"
    );
    assert!(
        unit_text.contains("ProtectSystem=strict")
            && unit_text.contains("RestrictAddressFamilies=AF_UNIX")
    );
    let printed = dir.path().join("printed/interluded.service");
    std::fs::create_dir_all(printed.parent().unwrap()).unwrap();
    std::fs::write(&printed, &unit_text).unwrap();
    match std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&printed)
        .output()
    {
        Ok(checked) => {
            let said = String::from_utf8_lossy(&checked.stderr);
            assert!(
                !said.contains("interluded.service:") && !said.contains("Unknown key"),
                "systemd-analyze finds fault with the unit: {said}"
            );
        }
        Err(_) => eprintln!("SKIPPED: systemd-analyze verify (not installed)"),
    }

    assert!(ok(run(&["daemon", "status"])).contains("Not installed"));
    let said = ok(run(&["daemon", "install"]));
    let unit = dir.path().join(".config/systemd/user/interluded.service");
    assert!(said.contains(&unit.display().to_string()), "{said}");
    assert_eq!(std::fs::read_to_string(&unit).unwrap(), unit_text);
    assert!(ok(run(&["daemon", "status"])).contains("Installed"));
    let said = ok(run(&["daemon", "uninstall"]));
    assert!(said.contains("Removed") && !unit.exists(), "{said}");
    let again = run(&["daemon", "uninstall"]);
    assert_eq!(again.status.code(), Some(5), "{}", stderr(&again));
}

/// A daemon from another release: it answers `Info` with another protocol number.
struct OtherRelease;

#[tonic::async_trait]
impl interlude_proto::v1::daemon_server::Daemon for OtherRelease {
    async fn info(
        &self,
        _: tonic::Request<interlude_proto::v1::InfoRequest>,
    ) -> Result<tonic::Response<interlude_proto::v1::InfoResponse>, tonic::Status> {
        let protocol_version = interlude_proto::PROTOCOL_VERSION + 1;
        Ok(tonic::Response::new(interlude_proto::v1::InfoResponse {
            daemon_version: "9.9.9".into(),
            protocol_version,
        }))
    }
    async fn status(
        &self,
        _: tonic::Request<interlude_proto::v1::StatusRequest>,
    ) -> Result<tonic::Response<interlude_proto::v1::StatusResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("other release"))
    }
    async fn init(
        &self,
        _: tonic::Request<interlude_proto::v1::InitRequest>,
    ) -> Result<tonic::Response<interlude_proto::v1::InitResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("other release"))
    }
    async fn unlock(
        &self,
        _: tonic::Request<interlude_proto::v1::UnlockRequest>,
    ) -> Result<tonic::Response<interlude_proto::v1::UnlockResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("other release"))
    }
    async fn lock(
        &self,
        _: tonic::Request<interlude_proto::v1::LockRequest>,
    ) -> Result<tonic::Response<interlude_proto::v1::LockResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("other release"))
    }
    async fn change_passphrase(
        &self,
        _: tonic::Request<interlude_proto::v1::ChangePassphraseRequest>,
    ) -> Result<tonic::Response<interlude_proto::v1::ChangePassphraseResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("other release"))
    }
    async fn open_web(
        &self,
        _: tonic::Request<interlude_proto::v1::OpenWebRequest>,
    ) -> Result<tonic::Response<interlude_proto::v1::OpenWebResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("other release"))
    }
    type BackupStream =
        tokio_stream::Empty<Result<interlude_proto::v1::BackupChunk, tonic::Status>>;
    async fn backup(
        &self,
        _: tonic::Request<interlude_proto::v1::BackupRequest>,
    ) -> Result<tonic::Response<Self::BackupStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("other release"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_speaking_another_protocol_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("other.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(interlude_proto::v1::daemon_server::DaemonServer::new(
                OtherRelease,
            ))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    let tmp = dir.path().to_path_buf();
    let output =
        tokio::task::spawn_blocking(move || cli_command(&socket, &tmp, &["reflect", "hello"], ""))
            .await
            .unwrap();
    server.abort();
    assert_eq!(output.status.code(), Some(8));
    let message = stderr(&output);
    assert!(
        message.contains("protocol")
            && message.contains("9.9.9")
            && message.contains("matching versions"),
        "{message}"
    );
}
