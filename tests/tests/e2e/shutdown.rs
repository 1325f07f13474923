//! Stopping: a client that keeps a stream open never keeps the daemon from stopping, and the
//! drain after a stop signal is bounded.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use interlude_e2e::{RealDaemon, TestDaemon, send_signal};
use interlude_proto::v1;
use interlude_proto::v1::check_ins_client::CheckInsClient;

/// A stop that has not finished after this long is a hang, not a slow machine.
const HANG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_daemon_while_a_watch_stream_is_open() {
    let daemon = RealDaemon::start();
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let mut events = CheckInsClient::new(channel)
        .watch(v1::WatchRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        events.message().await.unwrap().is_some(),
        "the first event (the vault's state) arrives"
    );
    let pid = daemon.pid();
    daemon.signal("TERM");
    let stopped = tokio::time::timeout(
        HANG,
        tokio::task::spawn_blocking(move || {
            let mut daemon = daemon;
            (daemon.wait(), daemon)
        }),
    )
    .await;
    let Ok(stopped) = stopped else {
        send_signal(pid, "KILL");
        panic!("interluded did not stop within {HANG:?} of SIGTERM while a Watch stream was open");
    };
    let (status, daemon) = stopped.unwrap();
    assert!(status.success(), "exit status {status}: {}", daemon.log());
    assert!(!daemon.socket().exists(), "the socket is removed");
    assert!(daemon.log().contains("stopped"), "{}", daemon.log());
    let end = tokio::time::timeout(HANG, events.message()).await.unwrap();
    assert!(
        !matches!(end, Ok(Some(_))),
        "the stream ended with the daemon"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_process_daemon_stops_with_watchers_attached_and_can_start_again() {
    let daemon = TestDaemon::start().await;
    daemon.init().await;
    let mut watchers = Vec::new();
    for _ in 0..3 {
        let mut stream = daemon
            .checkins()
            .watch(v1::WatchRequest {})
            .await
            .unwrap()
            .into_inner();
        stream.message().await.unwrap().unwrap();
        watchers.push(stream);
    }
    let (root, config) = tokio::time::timeout(HANG, daemon.stop())
        .await
        .expect("the daemon did not stop while Watch streams were open");
    for mut stream in watchers {
        let end = tokio::time::timeout(HANG, stream.message()).await.unwrap();
        assert!(!matches!(end, Ok(Some(_))), "each stream ended");
    }
    let again = TestDaemon::start_in(root, config).await;
    again.unlock().await;
}
