//! Privacy by default: a marker written through the API, in every field that holds client
//! material, never appears in plain bytes under the data directory, in the logs, or in the
//! temp directory (the daemon runs with `TMPDIR` pointing into the test's own directory).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use interlude_e2e::{PASSPHRASE, RealDaemon, files_containing};
use interlude_proto::v1;
use interlude_proto::v1::daemon_client::DaemonClient;
use interlude_proto::v1::sessions_client::SessionsClient;
use interlude_proto::v1::timeline_client::TimelineClient;
use interlude_proto::v1::vocabulary_client::VocabularyClient;

const MARKER: &str = "ZQX-PLAINTEXT-MARKER-7731";

fn marked(what: &str) -> String {
    format!("{what} {MARKER} {what}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_never_appears_in_plain_bytes_on_disk_in_logs_or_temp_files() {
    let mut daemon = RealDaemon::start();
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let mut admin = DaemonClient::new(channel.clone());
    let mut timeline = TimelineClient::new(channel.clone());
    admin
        .init(v1::InitRequest {
            passphrase: PASSPHRASE.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    VocabularyClient::new(channel.clone())
        .add_term(v1::AddTermRequest {
            kind: v1::TermKind::Part.into(),
            word: marked("part"),
            note: marked("note"),
        })
        .await
        .unwrap();
    SessionsClient::new(channel.clone())
        .add_session(v1::AddSessionRequest {
            held_at: None,
            insights: vec![marked("insight")],
            note: marked("note"),
        })
        .await
        .unwrap();
    let full = v1::AddReflectionRequest {
        text: marked("text"),
        emotions: vec![v1::Emotion {
            name: marked("emotion"),
            intensity: 50,
        }],
        tags: vec![marked("tag")],
        answers: vec![v1::Answer {
            step_id: "step".into(),
            value: marked("answer"),
        }],
        ..Default::default()
    };
    let id = timeline
        .add_reflection(full.clone())
        .await
        .unwrap()
        .into_inner()
        .id;
    timeline
        .edit_reflection(v1::EditReflectionRequest {
            id,
            text: Some(marked("edited")),
            ..Default::default()
        })
        .await
        .unwrap();
    // A refused request must not echo the text into the logs either.
    let too_many_tags = v1::AddReflectionRequest {
        tags: vec![marked("tag"); 40],
        ..full.clone()
    };
    timeline.add_reflection(too_many_tags).await.unwrap_err();
    admin.lock(v1::LockRequest {}).await.unwrap();
    let sealed = timeline.add_reflection(full).await.unwrap().into_inner();
    assert!(sealed.sealed);
    // Through the journal, into sled, and out at shutdown.
    tokio::time::sleep(Duration::from_millis(700)).await;
    daemon.signal("TERM");
    let daemon = tokio::task::spawn_blocking(move || {
        assert!(daemon.wait().success());
        daemon
    })
    .await
    .unwrap();

    assert!(
        !daemon.log().is_empty(),
        "the daemon logged something (at debug level)"
    );
    for place in [
        daemon.data_dir(),
        daemon.tmp_dir(),
        daemon.log_path().parent().unwrap().to_path_buf(),
    ] {
        let leaks = files_containing(&place, MARKER.as_bytes());
        assert!(
            leaks.is_empty(),
            "the marker is in plain bytes in {leaks:?}"
        );
    }
}
