//! The real `interluded` binary: socket and directory permissions, one instance per data
//! directory, stale sockets, signals, callers from another user, and no network listener.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use interlude_e2e::{PASSPHRASE, RealDaemon, bin, note};
use interlude_proto::v1;
use interlude_proto::v1::daemon_client::DaemonClient;
use interlude_proto::v1::timeline_client::TimelineClient;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o777
}

#[test]
fn the_socket_is_0600_inside_a_0700_directory() {
    let daemon = RealDaemon::start();
    assert_eq!(mode(&daemon.socket()), 0o600);
    assert_eq!(mode(daemon.socket().parent().unwrap()), 0o700);
    assert_eq!(mode(&daemon.data_dir()), 0o700);
}

#[test]
fn a_second_daemon_for_the_same_data_is_refused_and_the_first_keeps_serving() {
    let mut first = RealDaemon::start();
    let config = first.root.path().join("config.toml");
    let output = Command::new(bin("interluded"))
        .env("INTERLUDE_CONFIG", &config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(
        std::os::unix::net::UnixStream::connect(first.socket()).is_ok(),
        "the first daemon still answers"
    );
    first.kill9();
}

#[test]
fn a_stale_socket_left_by_a_crash_is_reclaimed() {
    let mut daemon = RealDaemon::start();
    daemon.kill9();
    assert!(
        daemon.socket().exists(),
        "SIGKILL leaves the socket file behind"
    );
    daemon.spawn();
    daemon.wait_ready(Duration::from_secs(30));
    assert!(daemon.log().contains("removing a stale socket"));
}

#[test]
fn a_socket_directory_open_to_others_is_refused() {
    let mut daemon = RealDaemon::prepare();
    let run_dir = daemon.root.path().join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    daemon.spawn();
    let status = daemon.wait();
    assert!(!status.success());
    assert!(daemon.log().contains("chmod 700"), "{}", daemon.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_requests_removes_the_socket_and_exits_0() {
    let mut daemon = RealDaemon::start();
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    DaemonClient::new(channel.clone())
        .init(v1::InitRequest {
            passphrase: PASSPHRASE.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut timeline = TimelineClient::new(channel.clone());
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for n in 0..10_000 {
                    match timeline
                        .add_reflection(note(&format!("writer {w} entry {n}")))
                        .await
                    {
                        Ok(r) => acked.push(r.into_inner().id),
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    daemon.signal("TERM");
    let status = tokio::task::spawn_blocking(move || (daemon.wait(), daemon))
        .await
        .unwrap();
    let (status, mut daemon) = status;
    assert!(status.success(), "exit status {status}");
    assert!(!daemon.socket().exists(), "the socket is removed");
    let mut acked = Vec::new();
    for writer in writers {
        acked.extend(writer.await.unwrap());
    }
    assert!(!acked.is_empty());
    assert!(daemon.log().contains("stopped"));
    daemon.spawn();
    daemon.wait_ready(Duration::from_secs(30));
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let secret = Some(v1::unlock_request::Secret::Passphrase(PASSPHRASE.into()));
    DaemonClient::new(channel.clone())
        .unlock(v1::UnlockRequest { secret })
        .await
        .unwrap();
    let mut timeline = TimelineClient::new(channel);
    for id in acked {
        timeline
            .get_reflection(v1::GetReflectionRequest { id })
            .await
            .unwrap();
    }
}

#[test]
fn sigint_stops_the_daemon_cleanly_too() {
    let mut daemon = RealDaemon::start();
    daemon.signal("INT");
    assert!(daemon.wait().success());
    assert!(!daemon.socket().exists());
}

/// Runs as root only: the test needs to become another user.
#[test]
fn a_caller_from_another_user_is_refused_with_permission_denied() {
    if !Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    {
        eprintln!("SKIPPED: this test must run as root to call the daemon as another user");
        return;
    }
    let daemon = RealDaemon::start();
    // Open the way on purpose, so that only the daemon's own uid check stands in between.
    for dir in [
        daemon.root.path().to_path_buf(),
        daemon.socket().parent().unwrap().to_path_buf(),
    ] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(daemon.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
    // A copy the other user can run wherever the checkout lives.
    let cli = daemon.root.path().join("interlude");
    std::fs::copy(bin("interlude"), &cli).unwrap();
    std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = Command::new(&cli)
        .arg("status")
        .env_clear()
        .env("INTERLUDE_SOCKET", daemon.socket())
        .env("HOME", "/")
        .uid(65534)
        .gid(65534)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "stderr: {stderr}");
    assert!(stderr.contains("belongs to another user"), "{stderr}");
    assert!(daemon.log().contains("refused a caller from another user"));
}

#[test]
fn the_daemon_opens_no_network_socket() {
    let daemon = RealDaemon::start();
    let mut inodes = Vec::new();
    for fd in std::fs::read_dir(format!("/proc/{}/fd", daemon.pid()))
        .unwrap()
        .flatten()
    {
        let target = std::fs::read_link(fd.path())
            .unwrap_or_default()
            .display()
            .to_string();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
        {
            inodes.push(inode.to_string());
        }
    }
    assert!(
        !inodes.is_empty(),
        "the daemon has at least its Unix socket"
    );
    for table in ["tcp", "tcp6", "udp", "udp6", "raw", "raw6"] {
        let text = std::fs::read_to_string(format!("/proc/{}/net/{table}", daemon.pid()))
            .unwrap_or_default();
        for line in text.lines().skip(1) {
            let inode = line.split_whitespace().nth(9).unwrap_or_default();
            assert!(
                !inodes.iter().any(|i| i == inode),
                "the daemon has a {table} socket: {line}"
            );
        }
    }
}

#[test]
fn sigterm_the_moment_the_socket_appears_still_stops_cleanly() {
    let mut daemon = RealDaemon::prepare();
    for _ in 0..10 {
        daemon.spawn();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !daemon.socket().exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        daemon.signal("TERM");
        let status = daemon.wait();
        assert!(status.success(), "exit status {status}\n{}", daemon.log());
        assert!(!daemon.socket().exists(), "the socket is removed");
    }
}

/// With no daemon at the default socket, the CLI starts `interluded` itself: two commands at
/// once start one daemon between them (a lock), say so once, and both get their answer. A
/// socket given on purpose is never started for.
#[test]
fn the_cli_starts_the_daemon_once_when_none_is_running() {
    use std::os::unix::fs::DirBuilderExt;
    let home = tempfile::tempdir().unwrap();
    let run = home.path().join("run");
    std::fs::DirBuilder::new().mode(0o700).create(&run).unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(interlude_e2e::bin("interlude"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("TMPDIR", home.path())
            .env("XDG_RUNTIME_DIR", &run)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let given = cli(&[
        "--socket",
        run.join("elsewhere.sock").to_str().unwrap(),
        "status",
    ])
    .wait_with_output()
    .unwrap();
    assert_eq!(
        given.status.code(),
        Some(3),
        "a given socket is not started for"
    );
    let (a, b) = (cli(&["status"]), cli(&["status"]));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let said: Vec<String> = [&a, &b]
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert!(a.status.success() && b.status.success(), "{said:?}");
    let started: Vec<&String> = said
        .iter()
        .filter(|s| s.contains("started the daemon"))
        .collect();
    assert_eq!(started.len(), 1, "one start between them: {said:?}");
    let pid: u32 = started[0]
        .split("pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let again = cli(&["status"]).wait_with_output().unwrap();
    assert!(again.status.success());
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("started"),
        "already running"
    );
    interlude_e2e::send_signal(pid, "TERM");
    let gone = std::time::Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            gone.elapsed() < std::time::Duration::from_secs(30),
            "the started daemon stops on SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
