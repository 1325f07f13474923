//! Check-ins through the real gRPC service and the real CLI: what comes when, what the client
//! controls, what survives a restart, and the event stream.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use interlude_e2e::{PASSPHRASE, RealDaemon, TestDaemon, cli_command};
use interlude_proto::v1::{self, event, when};
use tokio_stream::StreamExt;
use tonic::Code;

/// A daemon with a vault and no quiet hours, so nothing depends on the hour the test runs at.
async fn ready() -> TestDaemon {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    daemon.quiet_hours_off().await;
    daemon
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Logs a session held so that a check-in `hours` after it comes due in `in_ms`.
async fn session_due_in(daemon: &TestDaemon, hours: i64, in_ms: i64) {
    let held_at = now_ms() - hours * 3600 * 1000 + in_ms;
    daemon
        .sessions()
        .add_session(v1::AddSessionRequest {
            held_at: Some(timestamp(held_at)),
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn pending(daemon: &TestDaemon) -> v1::ListPendingResponse {
    daemon
        .checkins()
        .list_pending(v1::ListPendingRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// Waits up to `limit` for a check-in to be waiting.
async fn wait_for_pending(daemon: &TestDaemon, limit: Duration) -> Option<v1::PendingCheckIn> {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if let Some(p) = pending(daemon).await.pending.into_iter().next() {
            return Some(p);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

async fn schedules(daemon: &TestDaemon) -> Vec<v1::Schedule> {
    daemon
        .checkins()
        .list_schedules(v1::ListSchedulesRequest {})
        .await
        .unwrap()
        .into_inner()
        .schedules
}

#[tokio::test]
async fn the_check_ins_after_a_session_are_on_and_built_in_plugin_schedules_start_off() {
    let daemon = ready().await;
    let all = schedules(&daemon).await;
    let find = |id: &str| all.iter().find(|s| s.id == id).unwrap();
    let day_after = find("day-after-session");
    assert!(day_after.enabled);
    assert_eq!(
        day_after.when.as_ref().unwrap().kind,
        Some(when::Kind::AfterSessionHours(24))
    );
    assert!(find("days-after-session").enabled);
    let cbt_evening = find("cbt/evening");
    assert!(
        !cbt_evening.enabled,
        "built-in plugin schedules wait to be turned on"
    );
    assert_eq!(cbt_evening.origin(), v1::ScheduleOrigin::Plugin);
    assert_eq!(
        cbt_evening.when.as_ref().unwrap().kind,
        Some(when::Kind::Daily("19:30".into()))
    );
}

#[tokio::test]
async fn a_session_brings_a_check_in_a_day_later_and_the_answer_is_saved_linked_to_its_question() {
    let daemon = ready().await;
    let mut events = daemon
        .checkins()
        .watch(v1::WatchRequest {})
        .await
        .unwrap()
        .into_inner();
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(
        first.kind,
        Some(event::Kind::Vault(v1::VaultState::Unlocked.into())),
        "the stream starts with the lock state"
    );

    session_due_in(&daemon, 24, 1500).await;
    let due = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(event::Kind::CheckInDue(due)) = events.next().await.unwrap().unwrap().kind {
                return due;
            }
        }
    })
    .await
    .expect("a check-in came due about 24 hours after the session");
    assert_eq!(due.schedule_id, "day-after-session");
    let waiting = pending(&daemon).await.pending;
    assert_eq!(waiting, vec![due.clone()]);

    let answer = "Still thinking about what she said about my father.";
    let saved = daemon
        .checkins()
        .respond(v1::RespondRequest {
            checkin_id: due.id.clone(),
            text: answer.into(),
            emotions: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    let reflection = daemon.get(&saved.id).await;
    assert_eq!(reflection.kind(), v1::ReflectionKind::CheckIn);
    assert_eq!(reflection.text, answer);
    assert_eq!(reflection.prompt_id, "day-after-session");
    assert_eq!(reflection.prompt, due.prompt);
    assert!(
        pending(&daemon).await.pending.is_empty(),
        "answered, so nothing waits"
    );

    let added = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(event::Kind::ReflectionAdded(added)) =
                events.next().await.unwrap().unwrap().kind
            {
                return added;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(added.id, saved.id);
    assert_eq!(added.kind(), v1::ReflectionKind::CheckIn);

    let again = daemon
        .checkins()
        .respond(v1::RespondRequest {
            checkin_id: due.id,
            text: "twice".into(),
            emotions: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test]
async fn own_schedules_are_checked_added_and_removed_and_any_schedule_can_be_turned_off() {
    let daemon = ready().await;
    let mut client = daemon.checkins();
    let add = |kind| v1::AddScheduleRequest {
        when: Some(v1::When { kind: Some(kind) }),
        prompt: String::new(),
        id: String::new(),
    };
    let bad = client
        .add_schedule(add(when::Kind::Daily("25:00".into())))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("19:45"), "{}", bad.message());
    let no_days = client
        .add_schedule(add(when::Kind::Weekly(v1::Weekly {
            days: vec![],
            at: "08:00".into(),
        })))
        .await
        .unwrap_err();
    assert_eq!(no_days.code(), Code::InvalidArgument);

    let own = client
        .add_schedule(add(when::Kind::Weekly(v1::Weekly {
            days: vec!["Thu".into(), "mon".into()],
            at: "7:30".into(),
        })))
        .await
        .unwrap()
        .into_inner();
    assert!(own.enabled);
    assert_eq!(own.origin(), v1::ScheduleOrigin::Own);
    assert_eq!(
        own.when.unwrap().kind,
        Some(when::Kind::Weekly(v1::Weekly {
            days: vec!["mon".into(), "thu".into()],
            at: "07:30".into()
        }))
    );
    assert!(
        !own.prompt.is_empty(),
        "a neutral question when none was given"
    );

    let built_in = client
        .remove_schedule(v1::RemoveScheduleRequest {
            id: "day-after-session".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(built_in.code(), Code::InvalidArgument);
    assert!(
        built_in.message().contains("turn it off"),
        "{}",
        built_in.message()
    );
    let off = client
        .set_schedule_enabled(v1::SetScheduleEnabledRequest {
            id: "day-after-session".into(),
            enabled: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!off.enabled);

    client
        .remove_schedule(v1::RemoveScheduleRequest { id: own.id.clone() })
        .await
        .unwrap();
    assert!(!schedules(&daemon).await.iter().any(|s| s.id == own.id));
    let unknown = client
        .set_schedule_enabled(v1::SetScheduleEnabledRequest {
            id: "no-such-schedule".into(),
            enabled: true,
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn after_the_daemon_was_stopped_only_the_most_recent_overdue_check_in_is_delivered() {
    let daemon = ready().await;
    // Both fall due while the daemon is stopped: the 24-hour one first, the 72-hour one after.
    session_due_in(&daemon, 24, 1000).await;
    session_due_in(&daemon, 72, 2000).await;
    let (root, config) = daemon.stop().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let daemon = TestDaemon::start_in(root, config).await;

    let before = pending(&daemon).await;
    assert!(
        !before.scheduling,
        "nothing is scheduled before the first unlock"
    );
    assert!(before.pending.is_empty());
    let locked = daemon
        .checkins()
        .list_schedules(v1::ListSchedulesRequest {})
        .await
        .unwrap_err();
    assert_eq!(locked.code(), Code::FailedPrecondition);

    daemon.unlock().await;
    let delivered = wait_for_pending(&daemon, Duration::from_secs(10))
        .await
        .expect("one overdue check-in after the unlock");
    assert_eq!(delivered.schedule_id, "days-after-session");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        pending(&daemon).await.pending,
        vec![delivered],
        "never a pile-up: the earlier one lapsed"
    );
}

#[tokio::test]
async fn the_client_s_controls_survive_a_restart() {
    let daemon = ready().await;
    let mut client = daemon.checkins();
    client
        .set_controls(v1::SetControlsRequest {
            daily_cap: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    let own = client
        .add_schedule(v1::AddScheduleRequest {
            when: Some(v1::When {
                kind: Some(when::Kind::Daily("21:15".into())),
            }),
            prompt: "What did today ask of you?".into(),
            id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let daemon = daemon.restart().await;
    daemon.unlock().await;
    let controls = daemon
        .checkins()
        .get_controls(v1::GetControlsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(controls.daily_cap, 2);
    assert_eq!(
        (controls.quiet_start.as_str(), controls.quiet_end.as_str()),
        ("00:00", "00:00")
    );
    let kept = schedules(&daemon).await;
    let kept = kept.iter().find(|s| s.id == own.id).unwrap();
    assert_eq!(kept.prompt, "What did today ask of you?");
    assert!(pending(&daemon).await.scheduling);
}

#[tokio::test]
async fn a_snooze_puts_a_waiting_check_in_off_until_it_ends() {
    let daemon = ready().await;
    session_due_in(&daemon, 24, 500).await;
    let waiting = wait_for_pending(&daemon, Duration::from_secs(10))
        .await
        .unwrap();
    let controls = daemon
        .checkins()
        .snooze(v1::SnoozeRequest { minutes: 90 })
        .await
        .unwrap()
        .into_inner();
    let until = controls.snoozed_until.unwrap().seconds * 1000;
    assert!((until - now_ms() - 90 * 60_000).abs() < 60_000);
    let after = pending(&daemon).await;
    assert!(after.pending.is_empty(), "it waits out the snooze");
    let next = after.next_at.unwrap().seconds * 1000;
    assert_eq!(next, until, "and comes back when the snooze ends");
    let gone = daemon
        .checkins()
        .dismiss(v1::DismissRequest {
            checkin_id: waiting.id,
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);

    let resumed = daemon
        .checkins()
        .resume(v1::ResumeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.snoozed_until, None);
    let zero = daemon
        .checkins()
        .snooze(v1::SnoozeRequest { minutes: 0 })
        .await
        .unwrap_err();
    assert_eq!(zero.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_pause_or_a_cap_of_zero_lets_check_ins_lapse() {
    let daemon = ready().await;
    let today = jiff::Zoned::now().date().to_string();
    let past = daemon
        .checkins()
        .pause(v1::PauseRequest {
            through: "2020-01-01".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(past.code(), Code::InvalidArgument);
    daemon
        .checkins()
        .pause(v1::PauseRequest { through: today })
        .await
        .unwrap();
    session_due_in(&daemon, 24, 500).await;
    assert!(
        wait_for_pending(&daemon, Duration::from_secs(3))
            .await
            .is_none()
    );

    daemon
        .checkins()
        .resume(v1::ResumeRequest {})
        .await
        .unwrap();
    daemon
        .checkins()
        .set_controls(v1::SetControlsRequest {
            daily_cap: Some(0),
            ..Default::default()
        })
        .await
        .unwrap();
    session_due_in(&daemon, 72, 500).await;
    assert!(
        wait_for_pending(&daemon, Duration::from_secs(3))
            .await
            .is_none()
    );
}

// The CLI blocks its thread while the in-process daemon serves on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_answers_a_check_in_and_explains_bad_input() {
    let daemon = ready().await;
    let socket = daemon.socket();
    let tmp = daemon.root.path().join("cli-home");
    std::fs::create_dir_all(&tmp).unwrap();
    let cli = |args: &[&str]| tokio::task::block_in_place(|| cli_command(&socket, &tmp, args, ""));
    let text = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };

    let bad = cli(&["checkin", "schedule", "add", "--daily", "25:00"]);
    assert_eq!(bad.status.code(), Some(6), "{}", text(&bad));
    assert!(text(&bad).contains("19:45"), "{}", text(&bad));
    let bad_snooze = cli(&["checkin", "snooze", "2 hours"]);
    assert_eq!(bad_snooze.status.code(), Some(2), "{}", text(&bad_snooze));

    let nothing = cli(&["checkin"]);
    assert!(nothing.status.success(), "{}", text(&nothing));
    assert!(
        text(&nothing).contains("Nothing waiting."),
        "{}",
        text(&nothing)
    );

    session_due_in(&daemon, 24, 500).await;
    let due = wait_for_pending(&daemon, Duration::from_secs(10))
        .await
        .unwrap();
    let shown = cli(&["checkin"]);
    assert!(text(&shown).contains(&due.prompt), "{}", text(&shown));
    assert!(text(&shown).contains(&format!("interlude checkin {}", due.id)));
    let answered = cli(&["checkin", &due.id, "Lighter", "than", "I", "expected."]);
    assert!(answered.status.success(), "{}", text(&answered));
    assert!(text(&answered).starts_with("Saved."), "{}", text(&answered));
    let again = cli(&["checkin", &due.id, "again"]);
    assert_eq!(again.status.code(), Some(5), "{}", text(&again));

    let snoozed = cli(&["checkin", "snooze", "2h"]);
    assert!(
        text(&snoozed).contains("Snoozed until"),
        "{}",
        text(&snoozed)
    );
    let quiet = cli(&["checkin", "quiet", "22:30-07:00"]);
    assert!(
        text(&quiet).contains("Quiet hours: 22:30–07:00"),
        "{}",
        text(&quiet)
    );
}

/// Over 60 s with a schedule but nothing due, the real daemon is woken almost never: it sleeps
/// on one timer until the next check-in. Prints the figure for the README.
#[test]
fn an_idle_daemon_with_schedules_is_not_woken() {
    let daemon = RealDaemon::start();
    let init = daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"));
    assert!(init.status.success());
    // Half a day away, whatever the hour the test runs at.
    let at = jiff::Zoned::now().saturating_add(jiff::SignedDuration::from_hours(12));
    let at = format!("{:02}:{:02}", at.hour(), at.minute());
    let add = daemon.cli(&["checkin", "schedule", "add", "--daily", &at]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    // Threads tokio started for the writes above retire after 10 s idle; let them go first.
    std::thread::sleep(Duration::from_secs(12));
    let before = context_switches(daemon.pid());
    std::thread::sleep(Duration::from_secs(60));
    let after = context_switches(daemon.pid());
    let woken: u64 = after
        .iter()
        .map(|(tid, n)| n - before.get(tid).copied().unwrap_or(0))
        .sum();
    println!("idle daemon with check-in schedules: {woken} context switches in 60 s");
    assert!(woken <= 10, "{woken} context switches in 60 s");
}

/// Voluntary and involuntary context switches of each thread of `pid`, by thread id.
fn context_switches(pid: u32) -> std::collections::HashMap<String, u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            // A thread that ended in between counts nothing.
            let status = std::fs::read_to_string(task.path().join("status")).ok()?;
            let switches = status
                .lines()
                .filter(|l| l.contains("ctxt_switches"))
                .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
                .sum();
            Some((task.file_name().to_string_lossy().into_owned(), switches))
        })
        .collect()
}

/// Writes plugin `id` into the daemon's plugin directory as `interlude plugin install` leaves it:
/// one check-in `hours` after a session, asking its own question.
fn write_plugin_with_check_in(daemon: &TestDaemon, id: &str, hours: u32) {
    let dir = daemon.data_dir().join("plugins").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("plugin.toml"),
        format!(
            "schema_version = 1\n[plugin]\nid = \"{id}\"\nname = \"N\"\nversion = \"1.0.0\"\nmodality = \"other\"\nauthors = []\ndescription = \"D\"\nlicence = \"L\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("prompts.toml"),
        "schema_version = 1\n[[prompt]]\nid = \"plan\"\ntext = \"How did this week's plan go?\"\nstate = \"any\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("checkins.toml"),
        format!("schema_version = 1\n[[checkin]]\nid = \"after\"\nafter_session_hours = {hours}\nprompt = \"plan\"\n"),
    )
    .unwrap();
}

async fn reload_plugins(daemon: &TestDaemon) -> v1::ReloadPluginsResponse {
    daemon
        .plugins()
        .reload(v1::ReloadPluginsRequest {})
        .await
        .unwrap()
        .into_inner()
}

async fn schedule_ids(daemon: &TestDaemon) -> Vec<String> {
    schedules(daemon).await.into_iter().map(|s| s.id).collect()
}

#[tokio::test]
async fn plugin_check_ins_follow_the_plugins_reloaded_while_the_daemon_runs() {
    let daemon = ready().await;
    write_plugin_with_check_in(&daemon, "weekly-plan", 5);
    assert!(
        !schedule_ids(&daemon)
            .await
            .contains(&"weekly-plan/after".into())
    );

    // Reloaded: its schedule is there, on (an installed plugin's start on), and it delivers.
    let reloaded = reload_plugins(&daemon).await;
    assert!(reloaded.plugins.iter().any(|p| p.id == "weekly-plan"));
    let all = schedules(&daemon).await;
    let added = all.iter().find(|s| s.id == "weekly-plan/after").unwrap();
    assert!(added.enabled);
    session_due_in(&daemon, 5, 1500).await;
    let due = wait_for_pending(&daemon, Duration::from_secs(20))
        .await
        .expect("the new plugin's check-in came due 5 hours after the session");
    assert_eq!(due.schedule_id, "weekly-plan/after");
    assert_eq!(due.prompt, "How did this week's plan go?");
    daemon
        .checkins()
        .dismiss(v1::DismissRequest { checkin_id: due.id })
        .await
        .unwrap();

    // Removed, and a built-in turned off: their schedules leave.
    std::fs::remove_dir_all(daemon.data_dir().join("plugins/weekly-plan")).unwrap();
    std::fs::write(
        daemon.data_dir().join("plugin-settings.toml"),
        "disabled = [\"cbt\"]\n",
    )
    .unwrap();
    reload_plugins(&daemon).await;
    let ids = schedule_ids(&daemon).await;
    assert!(!ids.contains(&"weekly-plan/after".into()), "{ids:?}");
    assert!(!ids.contains(&"cbt/evening".into()), "{ids:?}");
    assert!(ids.contains(&"dbt/evening-diary-card".into()), "{ids:?}");
}

#[tokio::test]
async fn a_plugin_schedule_that_appears_counts_from_now() {
    let daemon = ready().await;
    // Its moment passes before the plugin is there; the scheduler has no reason to wake for it.
    session_due_in(&daemon, 6, 300).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    write_plugin_with_check_in(&daemon, "late", 6);
    reload_plugins(&daemon).await;
    assert!(schedule_ids(&daemon).await.contains(&"late/after".into()));
    // Time for the scheduler to look after the reload.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        pending(&daemon).await.pending,
        vec![],
        "a check-in from before the plugin came is not delivered"
    );
}

#[tokio::test]
async fn a_reload_that_cannot_read_the_plugins_keeps_the_ones_in_effect() {
    let daemon = ready().await;
    write_plugin_with_check_in(&daemon, "weekly-plan", 5);
    reload_plugins(&daemon).await;
    std::fs::write(
        daemon.data_dir().join("plugin-settings.toml"),
        "disabled = 7\n",
    )
    .unwrap();
    let refused = daemon
        .plugins()
        .reload(v1::ReloadPluginsRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused
            .message()
            .contains("plugin-settings.toml is not valid")
            && refused
                .message()
                .contains("the plugins in effect are unchanged"),
        "{}",
        refused.message()
    );
    assert!(
        schedule_ids(&daemon)
            .await
            .contains(&"weekly-plan/after".into())
    );
}
