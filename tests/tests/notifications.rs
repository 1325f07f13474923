//! Check-ins on a real desktop notification server: the real `interluded` delivers a due check-in
//! to `dunst` on a private D-Bus session bus and an Xvfb display; the client picks "Snooze 1h"
//! through dunst's own menu. The test installs dbus, Xvfb and dunst when it can and skips loudly
//! when it cannot.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use interlude_e2e::{PASSPHRASE, RealDaemon, debian_tools};
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
    /// A private session bus and an X display; dunst too when `with_dunst`.
    fn start(dir: &Path, with_dunst: bool) -> Desktop {
        let bus_path = dir.join("bus");
        let bus = format!("unix:path={}", bus_path.display());
        let dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", &format!("--address={bus}")])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let display = free_display();
        let xvfb = Command::new("Xvfb")
            .args([display.as_str(), "-nolisten", "tcp", "-screen", "0", "800x600x24"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut desktop = Desktop {
            children: vec![dbus, xvfb],
            bus,
            display,
            dir: dir.to_path_buf(),
        };
        wait_for("the session bus", || bus_path.exists());
        let socket = format!("/tmp/.X11-unix/X{}", &desktop.display[1..]);
        wait_for("the X display", || Path::new(&socket).exists());
        if with_dunst {
            desktop.start_dunst();
        }
        desktop
    }

    fn start_dunst(&mut self) {
        // dunst asks its "dmenu" which action to run; this one records what it was offered and
        // picks "Snooze 1h", as a client would.
        let menu = self.dir.join("menu.sh");
        std::fs::write(
            &menu,
            format!(
                "#!/bin/sh\ntee {offered} | grep -m1 'Snooze 1h'\n",
                offered = self.dir.join("offered").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &menu,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
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
        wait_for("dunst on the bus", || self.dunstctl(&["is-paused"]).is_some());
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

fn free_display() -> String {
    (40..99)
        .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
        .map(|n| format!(":{n}"))
        .unwrap()
}

fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn desktop_tools() -> bool {
    let ok = debian_tools(
        &["dbus-daemon", "Xvfb", "dunst", "dunstctl"],
        &["dbus", "xvfb", "dunst"],
    );
    if !ok {
        eprintln!(
            "SKIPPED: dbus-daemon, Xvfb and dunst are not installed and could not be installed; \
             desktop notifications are untested here"
        );
    }
    ok
}

/// The real daemon on `desktop`'s bus, with a vault and no quiet hours.
async fn daemon_on(desktop: &Desktop) -> (RealDaemon, CheckInsClient<Channel>) {
    let mut daemon = RealDaemon::prepare();
    daemon.env = desktop.env();
    daemon.spawn();
    daemon.wait_ready(Duration::from_secs(30));
    let init = daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"));
    assert!(init.status.success());
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let mut checkins = CheckInsClient::new(channel);
    checkins
        .set_controls(v1::SetControlsRequest {
            quiet_start: Some("00:00".into()),
            quiet_end: Some("00:00".into()),
            daily_cap: None,
        })
        .await
        .unwrap();
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
    let desktop = Desktop::start(dir.path(), true);
    let (daemon, mut checkins) = daemon_on(&desktop).await;
    check_in_due_in(&daemon, 1000).await;

    let shown = tokio::task::block_in_place(|| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if desktop.dunstctl(&["count", "displayed"]).as_deref() == Some("1") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    });
    assert!(shown, "dunst shows the check-in:\n{}", daemon.log());
    let waiting = checkins
        .list_pending(v1::ListPendingRequest {})
        .await
        .unwrap()
        .into_inner()
        .pending;
    assert_eq!(waiting.len(), 1);

    // The client opens the notification's menu and picks "Snooze 1h".
    // `dunstctl context` only asks; dunst runs the menu on its own time.
    let offered = tokio::task::block_in_place(|| {
        desktop.dunstctl(&["context"]);
        let offered = dir.path().join("offered");
        wait_for("dunst's menu", || {
            std::fs::read_to_string(&offered).is_ok_and(|o| o.contains("Not now"))
        });
        std::fs::read_to_string(&offered).unwrap()
    });
    for action in ["Check in", "Snooze 1h", "Not now"] {
        assert!(offered.contains(action), "{action:?} offered in {offered:?}");
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
    let until = controls.snoozed_until.expect("snoozed through dunst").seconds;
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
    let desktop = Desktop::start(dir.path(), false);
    let (daemon, mut checkins) = daemon_on(&desktop).await;
    check_in_due_in(&daemon, 500).await;
    check_in_due_in(&daemon, 2500).await;
    tokio::time::sleep(Duration::from_secs(5)).await;

    let waiting = checkins
        .list_pending(v1::ListPendingRequest {})
        .await
        .unwrap()
        .into_inner()
        .pending;
    assert_eq!(waiting.len(), 1, "the latest check-in waits for the CLI and frontends");
    let log = daemon.log();
    assert_eq!(
        log.matches("no desktop notification server").count(),
        1,
        "logged once:\n{log}"
    );
    let status = daemon.cli(&["status"]);
    assert!(status.status.success(), "the daemon keeps running");
}
