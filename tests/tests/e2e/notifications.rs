//! Check-ins on a real desktop notification server: the real `interluded` delivers a due check-in
//! to `dunst` on a private D-Bus session bus and an Xvfb display; the client picks "Snooze 1h"
//! through dunst's own menu. The test installs dbus, Xvfb and dunst when it can and skips loudly
//! when it cannot.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use interlude_e2e::{PASSPHRASE, RealDaemon, no_quiet_hours, tools_present};
use interlude_proto::v1::{self, check_ins_client::CheckInsClient};
use tonic::transport::Channel;

const GENERIC_TEXT: &str = "A moment to check in?";

/// Processes that stop with the test.
struct Desktop {
    children: Vec<Child>,
    bus: String,
    display: String,
    dir: PathBuf,
}

impl Drop for Desktop {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Desktop {
    /// A private session bus and an X display; dunst too when `pick` says which action its menu
    /// picks.
    fn start(dir: &Path, pick: Option<&str>) -> Desktop {
        let bus_path = dir.join("bus");
        let bus = format!("unix:path={}", bus_path.display());
        let dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", &format!("--address={bus}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Xvfb picks a free display itself and writes its number to stdout: no race between
        // tests running at once.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "800x600x24",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut number = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(xvfb.stdout.take().unwrap()),
            &mut number,
        )
        .unwrap();
        let display = format!(":{}", number.trim());
        let mut desktop = Desktop {
            children: vec![dbus, xvfb],
            bus,
            display,
            dir: dir.to_path_buf(),
        };
        wait_for("the session bus", || bus_path.exists());
        let socket = format!("/tmp/.X11-unix/X{}", &desktop.display[1..]);
        wait_for("the X display", || Path::new(&socket).exists());
        if let Some(action) = pick {
            desktop.start_dunst(action);
        }
        desktop
    }

    fn start_dunst(&mut self, action: &str) {
        // dunst asks its "dmenu" which action to run; this one records what it was offered and
        // picks `action`, as a client would.
        let menu = self.dir.join("menu.sh");
        std::fs::write(
            &menu,
            format!(
                "#!/bin/sh\ntee {offered} | grep -m1 '{action}'\n",
                offered = self.dir.join("offered").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&menu, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let config = self.dir.join("dunstrc");
        std::fs::write(
            &config,
            format!(
                "[global]\n    dmenu = {}\n[urgency_normal]\n    timeout = 0\n",
                menu.display()
            ),
        )
        .unwrap();
        let dunst = Command::new("dunst")
            .args(["-config", config.to_str().unwrap()])
            .envs(self.env())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(dunst);
        wait_for("dunst on the bus", || {
            self.dunstctl(&["is-paused"]).is_some()
        });
    }

    /// Opens the context menu of the notification shown (as a middle click would) and waits for
    /// the menu script to pick; returns what the menu offered. `dunstctl context` only asks:
    /// dunst runs the menu on its own time.
    fn pick_in_menu(&self) -> String {
        self.dunstctl(&["context"]);
        let offered = self.dir.join("offered");
        wait_for("dunst's menu", || {
            std::fs::read_to_string(&offered).is_ok_and(|o| o.contains("Not now"))
        });
        std::fs::read_to_string(&offered).unwrap()
    }

    /// Waits for dunst to show `n` notifications.
    fn wait_displayed(&self, n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.dunstctl(&["count", "displayed"]) == Some(n.to_string()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus.clone()),
            ("DISPLAY".into(), self.display.clone()),
        ]
    }

    fn dunstctl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("dunstctl")
            .args(args)
            .envs(self.env())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn desktop_tools() -> bool {
    let ok = tools_present(&["dbus-daemon", "Xvfb", "dunst", "dunstctl"]);
    if !ok {
        eprintln!(
            "SKIPPED: dbus-daemon, Xvfb and dunst are not installed (`.ci/setup` installs them); \
             desktop notifications are untested here"
        );
    }
    ok
}

/// The real daemon on `desktop`'s bus, with a vault and no quiet hours; `config` is added to its
/// config file.
async fn daemon_on(desktop: &Desktop, config: &str) -> (RealDaemon, CheckInsClient<Channel>) {
    let mut daemon = RealDaemon::prepare();
    let path = daemon.root.path().join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap() + config + "\n";
    std::fs::write(&path, text).unwrap();
    daemon.env = desktop.env();
    daemon.spawn();
    daemon.wait_ready(Duration::from_secs(30));
    let init = daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"));
    assert!(init.status.success());
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let mut checkins = CheckInsClient::new(channel);
    checkins.set_controls(no_quiet_hours()).await.unwrap();
    (daemon, checkins)
}

/// Logs a session so that the check-in 24 hours after it comes due in `in_ms`.
async fn check_in_due_in(daemon: &RealDaemon, in_ms: i64) {
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let held_at = jiff::Timestamp::now().as_millisecond() - 24 * 3600 * 1000 + in_ms;
    v1::sessions_client::SessionsClient::new(channel)
        .add_session(v1::AddSessionRequest {
            held_at: Some(prost_types::Timestamp {
                seconds: held_at.div_euclid(1000),
                nanos: (held_at.rem_euclid(1000) * 1_000_000) as i32,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_check_in_reaches_dunst_with_generic_text_and_snoozing_there_reschedules_it() {
    if !desktop_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let desktop = Desktop::start(dir.path(), Some("Snooze 1h"));
    let (daemon, mut checkins) = daemon_on(&desktop, "").await;
    check_in_due_in(&daemon, 1000).await;

    let shown = tokio::task::block_in_place(|| desktop.wait_displayed(1));
    assert!(shown, "dunst shows the check-in:\n{}", daemon.log());
    let waiting = checkins
        .list_pending(v1::ListPendingRequest {})
        .await
        .unwrap()
        .into_inner()
        .pending;
    assert_eq!(waiting.len(), 1);

    // The client opens the notification's menu and picks "Snooze 1h".
    let offered = tokio::task::block_in_place(|| desktop.pick_in_menu());
    for action in ["Check in", "Snooze 1h", "Not now"] {
        assert!(
            offered.contains(action),
            "{action:?} offered in {offered:?}"
        );
    }
    let mut controls = v1::Controls::default();
    for _ in 0..100 {
        controls = checkins
            .get_controls(v1::GetControlsRequest {})
            .await
            .unwrap()
            .into_inner();
        if controls.snoozed_until.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let until = controls
        .snoozed_until
        .expect("snoozed through dunst")
        .seconds;
    let in_an_hour = jiff::Timestamp::now().as_second() + 3600;
    assert!((until - in_an_hour).abs() < 60, "snoozed for an hour");
    let after = checkins
        .list_pending(v1::ListPendingRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(after.pending.is_empty(), "it waits out the snooze");
    assert_eq!(after.next_at.unwrap().seconds, until, "and comes back then");

    // Exactly one notification was ever shown, with the generic text only. (Closed, it goes to
    // dunst's history, where it can be read back.)
    desktop.dunstctl(&["close-all"]);
    let history: serde_json::Value =
        serde_json::from_str(&desktop.dunstctl(&["history"]).unwrap()).unwrap();
    let notifications = history["data"][0].as_array().unwrap();
    assert_eq!(notifications.len(), 1, "{history}");
    assert_eq!(notifications[0]["body"]["data"], GENERIC_TEXT);
    assert_eq!(notifications[0]["appname"]["data"], "Interlude");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_notification_server_check_ins_still_wait_and_the_daemon_says_so_once() {
    if !desktop_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let desktop = Desktop::start(dir.path(), None);
    let (daemon, mut checkins) = daemon_on(&desktop, "").await;
    check_in_due_in(&daemon, 500).await;
    check_in_due_in(&daemon, 2500).await;
    tokio::time::sleep(Duration::from_secs(5)).await;

    let waiting = checkins
        .list_pending(v1::ListPendingRequest {})
        .await
        .unwrap()
        .into_inner()
        .pending;
    assert_eq!(
        waiting.len(),
        1,
        "the latest check-in waits for the CLI and frontends"
    );
    let log = daemon.log();
    assert_eq!(
        log.matches("no desktop notification server").count(),
        1,
        "logged once:\n{log}"
    );
    let status = daemon.cli(&["status"]);
    assert!(status.status.success(), "the daemon keeps running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_in_on_a_notification_runs_the_client_s_command_with_the_check_in_s_id() {
    if !desktop_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let desktop = Desktop::start(dir.path(), Some("Check in"));
    let opened = dir.path().join("opened");
    let command = format!(
        "checkin_command = [\"sh\", \"-c\", \"echo {{id}} > {}\"]",
        opened.display()
    );
    let (daemon, mut checkins) = daemon_on(&desktop, &command).await;
    check_in_due_in(&daemon, 1000).await;
    assert!(
        tokio::task::block_in_place(|| desktop.wait_displayed(1)),
        "dunst shows the check-in:\n{}",
        daemon.log()
    );
    let waiting = checkins
        .list_pending(v1::ListPendingRequest {})
        .await
        .unwrap()
        .into_inner()
        .pending;
    tokio::task::block_in_place(|| {
        desktop.pick_in_menu();
        wait_for("the check-in command", || {
            std::fs::read_to_string(&opened).is_ok_and(|t| !t.trim().is_empty())
        });
    });
    let id = std::fs::read_to_string(&opened).unwrap();
    assert_eq!(
        id.trim(),
        waiting[0].id,
        "the command got the check-in's id"
    );
}
