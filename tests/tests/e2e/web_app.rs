//! The web app in headless Chromium (Debian's `chromium`, driven over the DevTools protocol on
//! a WebSocket written here, as no client for it is packaged), against the real daemon and CLI:
//! the link `interlude web` prints opens the app; a reflection typed into the page shows in the
//! CLI's timeline; a waiting check-in is answered; a hard moment runs one question at a time;
//! the safety plan is edited and help-now shows it while locked; the page locks and unlocks; a
//! session-prep draft is made, reviewed and exported. Every screen is photographed into
//! `target/web-app-screens/` (the test's artefacts), every control has a label, and the browser
//! reports no error.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use interlude_e2e::devtools::{Browser, DevTools, chromium};
use interlude_e2e::{RealDaemon, ok, tools_present};
use interlude_proto::v1::{
    self, check_ins_client::CheckInsClient, sessions_client::SessionsClient,
};
use serde_json::{Value, json};

const PASSPHRASE: &str = "correct horse battery staple";

/// A daemon with a vault and the web listener, the link `interlude web` printed, and Chromium on
/// it with the app's first screen shown.
struct App {
    daemon: RealDaemon,
    url: String,
    tools: DevTools,
    _browser: Browser,
    _profile: tempfile::TempDir,
}

impl App {
    fn open() -> Option<App> {
        if !tools_present(&["chromium"]) {
            eprintln!(
                "SKIPPED: chromium is not installed; the web app was not opened in a browser"
            );
            return None;
        }
        let daemon = RealDaemon::start_with("[api]\nweb = \"127.0.0.1:0\"");
        ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
        Some(App::open_on(daemon))
    }

    fn open_on(daemon: RealDaemon) -> App {
        let opened: Value =
            serde_json::from_str(&ok(daemon.cli(&["--json", "web", "--no-browser"]))).unwrap();
        let url = opened["url"].as_str().unwrap().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.contains("/#token=itk_"),
            "{url}"
        );
        let profile = tempfile::tempdir().unwrap();
        let (browser, page) = chromium(profile.path());
        let mut tools = DevTools::connect(&page);
        tools.command("Runtime.enable", json!({}));
        tools.command("Log.enable", json!({}));
        tools.command("Page.enable", json!({}));
        tools.command("Page.navigate", json!({ "url": url }));
        tools.until(
            "document.readyState === 'complete' && !!document.getElementById('text') && document.getElementById('capture').hidden === false && document.getElementById('vault').textContent !== ''",
            "the capture screen",
        );
        App {
            daemon,
            url,
            tools,
            _browser: browser,
            _profile: profile,
        }
    }

    /// Opens a screen from the menu (or the help-now button) and waits for it.
    fn screen(&mut self, id: &str) {
        self.tools
            .click(&format!("header button[data-screen={id}]"));
        self.tools.until(
            &format!("document.getElementById('{id}').hidden === false"),
            id,
        );
    }

    /// The checks every test ends with: nothing the page reported, no token in the log.
    fn finish(self) {
        self.tools.assert_no_errors();
        let token = self.url.split("#token=").nth(1).unwrap();
        assert!(
            !self.daemon.log().contains(token),
            "the token is in the log"
        );
    }
}

#[test]
fn a_reflection_typed_in_the_web_app_shows_in_its_timeline_and_the_clis() {
    let Some(mut app) = App::open() else { return };
    let tools = &mut app.tools;
    assert_eq!(
        tools.eval("location.href.includes('token')"),
        json!(false),
        "the token stays in the address bar"
    );
    tools.assert_every_control_is_labelled("write");
    tools.screenshot("write");
    // From the keyboard alone: from the title, one Tab reaches help-now, with a visible focus
    // ring; Enter opens it.
    tools.eval(
        "const title = document.querySelector('h1'); title.tabIndex = -1; title.focus(); true",
    );
    tools.press("Tab", 9);
    assert_eq!(
        tools.eval("document.activeElement.id"),
        json!("help-button")
    );
    assert_eq!(
        tools.eval("getComputedStyle(document.activeElement).outlineStyle"),
        json!("solid"),
        "the focus is visible"
    );
    tools.press("Enter", 13);
    tools.until(
        "document.getElementById('helpnow').hidden === false && document.getElementById('help-body').textContent.includes('Crisis lines')",
        "help-now, opened from the keyboard",
    );
    tools.click("header button[data-screen=capture]");
    tools.until(
        "document.getElementById('capture').hidden === false",
        "the capture screen again",
    );
    // Typed and sent from the keyboard: the words as text input, Enter on Save.
    tools.type_into("#text", "WEBAPPMARKER the lake breath helped");
    tools.type_into("#emotion", "calm");
    tools.eval("document.getElementById('intensity').value = '30'; true");
    tools.type_into("#tags", "evening, lake");
    tools.eval("document.getElementById('bring').checked = true; true");
    tools.eval("document.querySelector('#capture-form button[type=submit]').focus(); true");
    tools.press("Enter", 13);
    tools.until(
        "document.getElementById('saved').textContent === 'Saved.'",
        "that the reflection was saved",
    );
    app.screen("timeline");
    let tools = &mut app.tools;
    tools.until(
        "document.getElementById('entries').textContent.includes('WEBAPPMARKER the lake breath helped')",
        "the reflection in the timeline",
    );
    let shown = tools.text_of("#entries");
    assert!(
        shown.contains("calm 30") && shown.contains("#lake") && shown.contains("bring to session"),
        "{shown}"
    );
    tools.assert_every_control_is_labelled("timeline");
    tools.screenshot("timeline");
    // Search through Timeline.Search, as `interlude search` does (words only without models).
    tools.eval("document.getElementById('filter').value = 'lake'; true");
    tools.click("#find-form button[type=submit]");
    tools.until(
        "document.getElementById('find-note').textContent !== '' && document.getElementById('entries').textContent.includes('WEBAPPMARKER')",
        "a search result",
    );
    app.screen("helpnow");
    app.tools.until(
        "document.getElementById('help-body').textContent.includes('Crisis lines')",
        "help-now's crisis lines",
    );
    app.tools.screenshot("help-now");
    let timeline = ok(app.daemon.cli(&["--json", "timeline"]));
    assert!(
        timeline.contains("WEBAPPMARKER the lake breath helped"),
        "{timeline}"
    );
    assert!(timeline.contains("\"lake\""), "{timeline}");
    app.finish();
}

/// Logs a session held 24 hours ago (less a moment), so that the check-in after it comes due in
/// a moment, with no quiet hours in the way, and waits for it.
fn check_in_due_now(daemon: &RealDaemon) {
    let socket = daemon.socket();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let channel = interlude_proto::connect(&socket).await.unwrap();
        CheckInsClient::new(channel.clone())
            .set_controls(interlude_e2e::no_quiet_hours())
            .await
            .unwrap();
        let held_at = jiff::Timestamp::now().as_millisecond() - 24 * 3600 * 1000 + 1500;
        SessionsClient::new(channel.clone())
            .add_session(v1::AddSessionRequest {
                held_at: Some(prost_types::Timestamp {
                    seconds: held_at.div_euclid(1000),
                    nanos: 0,
                }),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut checkins = CheckInsClient::new(channel);
        for _ in 0..200 {
            let waiting = checkins
                .list_pending(v1::ListPendingRequest {})
                .await
                .unwrap()
                .into_inner();
            if !waiting.pending.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no check-in came due");
    });
}

#[test]
fn a_waiting_check_in_is_answered_in_the_page_and_the_cli_shows_the_answer() {
    let Some(mut app) = App::open() else { return };
    check_in_due_now(&app.daemon);
    app.screen("checkin");
    let tools = &mut app.tools;
    tools.until(
        "!!document.getElementById('checkin-prompt')",
        "the check-in's question",
    );
    tools.assert_every_control_is_labelled("check-in");
    tools.screenshot("check-in");
    tools.type_into(
        "#checkin-form textarea",
        "WEBCHECKIN steadier than yesterday",
    );
    tools.type_into("#checkin-form input:not([type])", "steady");
    tools.click("#checkin-form button[type=submit]");
    tools.until(
        "document.getElementById('checkin-saved').textContent.startsWith('Saved')",
        "that the answer was saved",
    );
    let timeline = ok(app.daemon.cli(&["--json", "timeline"]));
    assert!(
        timeline.contains("WEBCHECKIN steadier than yesterday"),
        "{timeline}"
    );
    assert!(
        timeline.contains("check-in") || timeline.contains("check_in"),
        "{timeline}"
    );
    // Nothing waits any more, and the page says so calmly.
    app.screen("checkin");
    app.tools.until(
        "document.getElementById('checkin-body').textContent.includes('Nothing is waiting')",
        "that nothing is waiting",
    );
    app.finish();
}

#[test]
fn a_hard_moment_shows_the_anchor_first_then_one_question_at_a_time_and_is_saved() {
    let Some(mut app) = App::open() else { return };
    ok(app
        .daemon
        .cli(&["vocab", "add", "anchor", "the lake breath"]));
    app.screen("now");
    let tools = &mut app.tools;
    tools.until(
        "document.getElementById('anchor') && document.getElementById('anchor').textContent.includes('the lake breath') && !!document.querySelector('#now-offer button')",
        "the anchor and the offer",
    );
    let offered = tools.eval("document.querySelectorAll('#now-offer .choices button').length");
    assert!((2..=3).contains(&offered.as_u64().unwrap()), "{offered}");
    tools.assert_every_control_is_labelled("a hard moment");
    tools.screenshot("hard-moment");
    tools.click_button("Quick thought record");
    tools.until(
        "!document.getElementById('now-offer') && document.querySelectorAll('#now-run form.step').length === 1",
        "the first question, alone",
    );
    assert!(tools.text_of("#now-run .where").contains("1 of 4"));
    assert!(
        tools.text_of("#anchor").contains("the lake breath"),
        "the anchor stays in view"
    );
    tools.assert_every_control_is_labelled("an exercise step");
    tools.screenshot("hard-moment-question");
    tools.type_into("#now-run textarea", "a text from Sam");
    tools.click("#now-run form.step button[type=submit]");
    tools.until(
        "document.querySelector('#now-run .where').textContent.includes('2 of 4')",
        "step 2",
    );
    tools.click_button("Skip");
    tools.until(
        "document.querySelector('#now-run .where').textContent.includes('3 of 4')",
        "step 3",
    );
    tools.type_into("#now-run textarea", "he's angry with me");
    tools.click("#now-run form.step button[type=submit]");
    tools.until(
        "document.querySelector('#now-run .where').textContent.includes('4 of 4')",
        "step 4",
    );
    tools.click_button("Skip");
    tools.until(
        "document.querySelector('#now-run form[data-step=end]') !== null",
        "the end of the run",
    );
    tools.click("#now-run form[data-step=end] button[type=submit]");
    tools.until(
        "document.querySelector('#now-run .finished') !== null",
        "that the run was saved",
    );
    let timeline = ok(app
        .daemon
        .cli(&["--json", "timeline", "--kind", "exercise"]));
    assert!(
        timeline.contains("a text from Sam") && timeline.contains("he's angry with me"),
        "{timeline}"
    );
    app.finish();
}

#[test]
fn any_exercise_runs_from_the_list_and_going_back_keeps_the_answer() {
    let Some(mut app) = App::open() else { return };
    app.screen("exercises");
    let tools = &mut app.tools;
    tools.until(
        "document.querySelectorAll('#exercises-body button[data-exercise]').length > 3",
        "the exercises",
    );
    tools.assert_every_control_is_labelled("exercises");
    tools.screenshot("exercises");
    tools.click_button("Quick thought record");
    tools.until(
        "document.querySelector('#exercises-body form.step') !== null",
        "the first step",
    );
    tools.type_into("#exercises-body textarea", "WEBEXERCISE the first answer");
    tools.click("#exercises-body form.step button[type=submit]");
    tools.until(
        "document.querySelector('#exercises-body .where').textContent.includes('2 of')",
        "step 2",
    );
    tools.click_button("Back");
    tools.until(
        "document.querySelector('#exercises-body textarea') && document.querySelector('#exercises-body textarea').value === 'WEBEXERCISE the first answer'",
        "the first answer, kept",
    );
    tools.click_button("Stop, save nothing");
    tools.until(
        "document.querySelector('#exercises-body .finished') !== null",
        "the stop",
    );
    let timeline = ok(app.daemon.cli(&["--json", "timeline"]));
    assert!(
        !timeline.contains("WEBEXERCISE"),
        "nothing was saved: {timeline}"
    );
    app.finish();
}

#[test]
fn the_safety_plan_edited_in_the_page_shows_in_help_now_while_locked_and_the_page_unlocks() {
    let Some(mut app) = App::open() else { return };
    ok(app
        .daemon
        .cli(&["vocab", "add", "anchor", "the lake breath"]));
    app.screen("plan");
    let tools = &mut app.tools;
    tools.until(
        "!!document.getElementById('plan-warningSigns')",
        "the plan's fields",
    );
    tools.type_into(
        "#plan-warningSigns",
        "WEBPLAN not sleeping\ncancelling plans",
    );
    tools.type_into("#plan-peopleToAsk", "Sam, 0123 456");
    tools.eval("document.getElementById('plan-locked-copy').checked = true; true");
    tools.assert_every_control_is_labelled("the safety plan");
    tools.click("#plan-form button[type=submit]");
    tools.until(
        "document.getElementById('plan-saved').textContent === 'Saved.'",
        "the saved plan",
    );
    tools.screenshot("safety-plan");
    let plan = ok(app.daemon.cli(&["--json", "safety-plan", "show"]));
    assert!(
        plan.contains("WEBPLAN not sleeping") && plan.contains("cancelling plans"),
        "{plan}"
    );

    app.tools.click("#lock");
    app.tools.until(
        "document.getElementById('unlock-form').hidden === false && document.getElementById('vault').textContent.startsWith('Locked')",
        "the locked state",
    );
    let status = ok(app.daemon.cli(&["--json", "status"]));
    assert!(status.contains("locked"), "{status}");
    // Help now from the locked page: the plan (its readable copy) and the lines.
    app.screen("helpnow");
    let tools = &mut app.tools;
    tools.until(
        "document.getElementById('help-body').textContent.includes('WEBPLAN not sleeping') && document.getElementById('help-body').textContent.includes('Crisis lines')",
        "the plan and the lines while locked",
    );
    tools.assert_every_control_is_labelled("help now, locked");
    tools.screenshot("help-now-locked");
    // A hard moment while locked: the calm neutral line, not the anchor (it is sealed).
    app.screen("now");
    app.tools.until(
        "!!document.getElementById('anchor') && document.getElementById('anchor').textContent.includes('A pause, before anything else') && !!document.querySelector('#now-offer button')",
        "the neutral line and the offer while locked",
    );
    assert!(!app.tools.text_of("#now-body").contains("the lake breath"));
    app.tools.screenshot("hard-moment-locked");
    // The timeline, locked, says so calmly instead of failing.
    app.screen("timeline");
    app.tools.until(
        "document.getElementById('problem').textContent.includes('locked')",
        "the locked timeline's sentence",
    );
    app.tools.screenshot("timeline-locked");
    // A wrong passphrase is refused; the right one unlocks.
    app.tools.type_into("#passphrase", "not it");
    app.tools.click("#unlock-form button[type=submit]");
    app.tools.until(
        "document.getElementById('problem').hidden === false && !document.getElementById('problem').textContent.includes('locked')",
        "the refusal",
    );
    app.tools.type_into("#passphrase", PASSPHRASE);
    app.tools.click("#unlock-form button[type=submit]");
    app.tools.until(
        "document.getElementById('vault').textContent === 'Unlocked.' && document.getElementById('lock').hidden === false",
        "the unlocked state",
    );
    let status = ok(app.daemon.cli(&["--json", "status"]));
    assert!(status.contains("unlocked"), "{status}");
    // Locked from the CLI: the page follows through the event stream, without a reload.
    ok(app.daemon.cli(&["lock"]));
    app.tools.until(
        "document.getElementById('vault').textContent.startsWith('Locked') && document.getElementById('unlock-form').hidden === false",
        "the lock made by the CLI",
    );
    app.finish();
}

#[test]
fn a_session_prep_draft_is_made_reviewed_and_exported_in_the_page() {
    let Some(mut app) = App::open() else { return };
    ok(app.daemon.cli(&[
        "reflect",
        "--bring",
        "WEBPREPKEEP I want to talk about the weekend",
    ]));
    ok(app
        .daemon
        .cli(&["reflect", "--bring", "WEBPREPOUT the argument about money"]));
    app.screen("prep");
    let tools = &mut app.tools;
    tools.until(
        "!!document.getElementById('prep-build')",
        "the build button",
    );
    tools.eval("document.getElementById('prep-no-digest').checked = true; true");
    tools.click("#prep-build");
    tools.until(
        "!!document.getElementById('prep-review') && document.getElementById('prep-preview').textContent.includes('WEBPREPOUT')",
        "the draft and its preview",
    );
    tools.assert_every_control_is_labelled("session prep");
    tools.screenshot("session-prep");
    // Leave one entry out, ask a question.
    let unticked = tools.eval(
        "(() => { const box = [...document.querySelectorAll('#prep-review ul.keep input')].find((b) => b.parentElement.textContent.includes('WEBPREPOUT')); if (!box) return false; box.click(); return true; })()",
    );
    assert_eq!(unticked, json!(true));
    tools.type_into("#prep-questions", "WEBPREPQUESTION how do I say no?");
    tools.click("#prep-review button[type=submit]");
    tools.until(
        "document.getElementById('prep-saved').textContent === 'Review saved.' && document.getElementById('prep-preview').textContent.includes('WEBPREPQUESTION') && !document.getElementById('prep-preview').textContent.includes('WEBPREPOUT')",
        "the reviewed preview",
    );
    let shown = ok(app.daemon.cli(&["prep", "show"]));
    assert!(
        shown.contains("WEBPREPQUESTION")
            && shown.contains("WEBPREPKEEP")
            && !shown.contains("WEBPREPOUT"),
        "the CLI shows the page's review: {shown}"
    );
    if tools_present(&["age-keygen"]) {
        let key = tempfile::tempdir().unwrap();
        let identity = key.path().join("key.txt");
        let made = Command::new("age-keygen")
            .arg("-o")
            .arg(&identity)
            .output()
            .unwrap();
        let public = String::from_utf8_lossy(&made.stderr)
            .split_whitespace()
            .find(|w| w.starts_with("age1"))
            .unwrap()
            .to_owned();
        let tools = &mut app.tools;
        tools.type_into("#prep-recipients", &public);
        tools.click("#prep-export");
        tools.until(
            "document.getElementById('prep-exported').textContent.startsWith('Exported') && !!document.querySelector('#prep-exported a[download]')",
            "the export and its download link",
        );
        tools.screenshot("session-prep-exported");
        let history = ok(app.daemon.cli(&["--json", "prep", "history"]));
        assert!(history.contains(&public), "{history}");
        // The download link gives the therapist's file: it opens with their key, reviewed.
        let downloads = tempfile::tempdir().unwrap();
        tools.command(
            "Page.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": downloads.path() }),
        );
        tools.click("#prep-exported a[download]");
        let mut saved = None;
        for _ in 0..200 {
            saved = std::fs::read_dir(downloads.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|e| e == "age"));
            if saved.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let saved = saved.expect("the packet was downloaded");
        if tools_present(&["age"]) {
            let opened = Command::new("age")
                .arg("-d")
                .arg("-i")
                .arg(&identity)
                .arg(&saved)
                .output()
                .unwrap();
            let packet = String::from_utf8_lossy(&opened.stdout);
            assert!(
                opened.status.success(),
                "{}",
                String::from_utf8_lossy(&opened.stderr)
            );
            assert!(
                packet.contains("WEBPREPKEEP")
                    && packet.contains("WEBPREPQUESTION")
                    && !packet.contains("WEBPREPOUT"),
                "{packet}"
            );
        }
    } else {
        eprintln!("SKIPPED: age-keygen is not installed; the page's export was not tried");
    }
    app.finish();
}
