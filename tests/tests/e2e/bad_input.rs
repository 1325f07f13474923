//! Every bad input gets a specific status and a message a person can act on, and nothing
//! already stored is touched.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;

use interlude_e2e::{TestDaemon, note, test_config};
use interlude_proto::v1;
use prost_types::Timestamp;
use tonic::Code;

async fn unlocked_with_one_entry() -> (TestDaemon, String) {
    let daemon = TestDaemon::start_with(|c| c.max_text_kib = 1).await;
    daemon.init().await;
    let id = daemon.add("the one that must survive").await.id;
    (daemon, id)
}

async fn assert_untouched(daemon: &TestDaemon, id: &str) {
    let page = daemon
        .timeline()
        .list_reflections(v1::ListReflectionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        page.reflections.len(),
        1,
        "a refused request stored nothing"
    );
    assert_eq!(page.reflections[0].id, id);
    assert_eq!(page.reflections[0].text, "the one that must survive");
    assert!(page.reflections[0].history.is_empty());
}

async fn refused_add(daemon: &TestDaemon, request: v1::AddReflectionRequest) -> tonic::Status {
    daemon.timeline().add_reflection(request).await.unwrap_err()
}

#[tokio::test]
async fn empty_and_whitespace_text_is_refused() {
    let (daemon, id) = unlocked_with_one_entry().await;
    for text in ["", "   \n\t  "] {
        let err = refused_add(&daemon, note(text)).await;
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("empty"), "{}", err.message());
    }
    assert_untouched(&daemon, &id).await;
}

#[tokio::test]
async fn text_over_the_configured_limit_is_refused_with_the_limit() {
    let (daemon, id) = unlocked_with_one_entry().await;
    let err = refused_add(&daemon, note(&"a".repeat(1025))).await;
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("limit of 1 KiB"),
        "{}",
        err.message()
    );
    daemon.add(&"a".repeat(1024)).await;
    let err = daemon
        .timeline()
        .edit_reflection(v1::EditReflectionRequest {
            id: id.clone(),
            text: Some("b".repeat(2000)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn more_than_32_tags_is_refused() {
    let (daemon, id) = unlocked_with_one_entry().await;
    let tags = (0..33).map(|i| format!("t{i}")).collect();
    let err = refused_add(
        &daemon,
        v1::AddReflectionRequest {
            text: "tagged".into(),
            tags,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("33 tags") && err.message().contains("32"),
        "{}",
        err.message()
    );
    let err = daemon
        .timeline()
        .edit_reflection(v1::EditReflectionRequest {
            id: id.clone(),
            tags: Some(v1::StringList {
                values: (0..40).map(|i| format!("t{i}")).collect(),
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_untouched(&daemon, &id).await;
}

#[tokio::test]
async fn intensity_outside_0_to_100_is_refused() {
    let (daemon, id) = unlocked_with_one_entry().await;
    let request = v1::AddReflectionRequest {
        text: "too much".into(),
        emotions: vec![v1::Emotion {
            name: "anxious".into(),
            intensity: 101,
        }],
        ..Default::default()
    };
    let err = refused_add(&daemon, request).await;
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("101"), "{}", err.message());
    assert_untouched(&daemon, &id).await;
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_not_found() {
    let (daemon, id) = unlocked_with_one_entry().await;
    for missing in ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "not-an-id", ""] {
        let err = daemon
            .timeline()
            .get_reflection(v1::GetReflectionRequest { id: missing.into() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{missing}");
        let err = daemon
            .timeline()
            .edit_reflection(v1::EditReflectionRequest {
                id: missing.into(),
                text: Some("x".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let err = daemon
            .timeline()
            .delete_reflection(v1::DeleteReflectionRequest { id: missing.into() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let err = daemon
            .sessions()
            .get_session(v1::GetSessionRequest { id: missing.into() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let err = daemon
            .vocabulary()
            .remove_term(v1::RemoveTermRequest { id: missing.into() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
    assert_untouched(&daemon, &id).await;
}

#[tokio::test]
async fn an_inverted_time_range_is_refused() {
    let (daemon, _) = unlocked_with_one_entry().await;
    let request = v1::ListReflectionsRequest {
        since: Some(Timestamp {
            seconds: 2_000_000,
            nanos: 0,
        }),
        until: Some(Timestamp {
            seconds: 1_000_000,
            nanos: 0,
        }),
        ..Default::default()
    };
    let err = daemon
        .timeline()
        .list_reflections(request)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("inverted"), "{}", err.message());
}

#[tokio::test]
async fn a_moment_in_the_future_is_refused() {
    let (daemon, id) = unlocked_with_one_entry().await;
    let future = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 86_400;
    let request = v1::AddReflectionRequest {
        text: "tomorrow".into(),
        moment: Some(Timestamp {
            seconds: future,
            nanos: 0,
        }),
        ..Default::default()
    };
    let err = refused_add(&daemon, request).await;
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_untouched(&daemon, &id).await;
}

#[tokio::test]
async fn a_vocabulary_term_needs_a_kind_and_a_word() {
    let (daemon, _) = unlocked_with_one_entry().await;
    let err = daemon
        .vocabulary()
        .add_term(v1::AddTermRequest {
            kind: 0,
            word: "lake".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = daemon
        .vocabulary()
        .add_term(v1::AddTermRequest {
            kind: v1::TermKind::Anchor.into(),
            word: "  ".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_data_dir_open_to_other_users_stops_the_daemon_with_the_fix() {
    let root = tempfile::tempdir().unwrap();
    let config = test_config(root.path());
    std::fs::create_dir_all(&config.data_dir).unwrap();
    std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = interlude_daemon::Daemon::start(config.clone())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("can be read by other users") && err.contains("chmod 700"),
        "{err}"
    );
    assert!(!config.socket_path().exists(), "nothing listens");
    assert_eq!(
        std::fs::read_dir(&config.data_dir).unwrap().count(),
        0,
        "nothing was written"
    );
}

/// Whoever can rename entries in a directory above the data directory can swap it for their own:
/// every directory on the way is checked, not just the last one.
#[tokio::test]
async fn a_data_dir_under_a_directory_others_can_write_stops_the_daemon_naming_that_directory() {
    let root = tempfile::tempdir().unwrap();
    let shared = root.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut config = test_config(root.path());
    config.data_dir = shared.join("data");
    std::fs::create_dir(&config.data_dir).unwrap();
    std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let err = interlude_daemon::Daemon::start(config.clone())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains(&shared.display().to_string())
            && err.contains("can be written by other users")
            && err.contains("chmod go-w"),
        "{err}"
    );
    assert!(!config.socket_path().exists(), "nothing listens");
    assert_eq!(std::fs::read_dir(&config.data_dir).unwrap().count(), 0);
}

#[tokio::test]
async fn a_page_token_that_was_never_given_out_is_refused() {
    let (daemon, _) = unlocked_with_one_entry().await;
    let request = v1::ListReflectionsRequest {
        page_token: "not a token".into(),
        ..Default::default()
    };
    let err = daemon
        .timeline()
        .list_reflections(request)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("page token"), "{}", err.message());
}
