//! Old on-disk data keeps loading. `tests/fixtures/schema-v1/` was written by the schema-1
//! daemon (by the ignored generator below) and is checked in; every later schema must open it,
//! migrate it, and read back exactly what it holds.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use interlude_e2e::{TestDaemon, note, test_config};
use interlude_proto::v1;
use prost_types::Timestamp;

const FIXTURE_PASSPHRASE: &str = "fixture passphrase v1";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/schema-v1")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_schema_1_data_dir_still_opens_and_reads_back() {
    let root = tempfile::tempdir().unwrap();
    let config = test_config(root.path());
    copy_dir(&fixture_dir().join("data"), &config.data_dir);
    // Git does not keep directory modes.
    std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let daemon = TestDaemon::start_in(root, config).await;
    let secret = Some(v1::unlock_request::Secret::Passphrase(
        FIXTURE_PASSPHRASE.into(),
    ));
    let unlocked = daemon
        .daemon()
        .unlock(v1::UnlockRequest { secret })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        unlocked.unsealed, 1,
        "the reflection sealed while locked joins the timeline"
    );

    let page = daemon
        .timeline()
        .list_reflections(v1::ListReflectionsRequest {
            order: v1::Order::OldestFirst.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let texts: Vec<_> = page.reflections.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "a note from schema one",
            "edited in schema one",
            "sealed in schema one"
        ]
    );
    let first = &page.reflections[0];
    assert_eq!(first.tags, ["fixture"]);
    assert_eq!(
        first.emotions,
        [v1::Emotion {
            name: "calm".into(),
            intensity: 30
        }]
    );
    assert_eq!(
        first.moment,
        Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 0
        })
    );
    assert!(first.bring_to_session);
    assert_eq!(page.reflections[1].history[0].text, "written in schema one");
    assert_eq!(
        page.reflections[2].term_ids.len(),
        1,
        "the vocabulary term is recognised"
    );

    let sessions = daemon
        .sessions()
        .list_sessions(v1::ListSessionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        sessions.sessions[0].insights,
        ["an insight from schema one"]
    );
    let terms = daemon
        .vocabulary()
        .list_terms(v1::ListTermsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(terms.terms[0].word, "schema one");
    // And it keeps working as a store.
    daemon.add("written by today's daemon").await;
}

/// Writes the fixture. Run once per released schema, never to overwrite an old one:
/// `INTERLUDE_WRITE_FIXTURE=1 cargo test -p interlude-e2e --test e2e fixture:: -- --ignored`
#[tokio::test]
#[ignore = "writes tests/fixtures; run by hand for a new schema"]
async fn write_the_schema_1_fixture() {
    if std::env::var_os("INTERLUDE_WRITE_FIXTURE").is_none() {
        return;
    }
    let daemon = TestDaemon::start().await;
    daemon
        .daemon()
        .init(v1::InitRequest {
            passphrase: FIXTURE_PASSPHRASE.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    daemon
        .vocabulary()
        .add_term(v1::AddTermRequest {
            kind: v1::TermKind::Part.into(),
            word: "schema one".into(),
            note: String::new(),
        })
        .await
        .unwrap();
    daemon
        .timeline()
        .add_reflection(v1::AddReflectionRequest {
            text: "a note from schema one".into(),
            tags: vec!["fixture".into()],
            emotions: vec![v1::Emotion {
                name: "calm".into(),
                intensity: 30,
            }],
            bring_to_session: true,
            moment: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let id = daemon.add("written in schema one").await.id;
    daemon
        .timeline()
        .edit_reflection(v1::EditReflectionRequest {
            id,
            text: Some("edited in schema one".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    daemon
        .sessions()
        .add_session(v1::AddSessionRequest {
            held_at: None,
            insights: vec!["an insight from schema one".into()],
            note: String::new(),
        })
        .await
        .unwrap();
    daemon.lock().await;
    daemon
        .timeline()
        .add_reflection(note("sealed in schema one"))
        .await
        .unwrap();
    let (root, config) = daemon.stop().await;
    let target = fixture_dir().join("data");
    assert!(
        !target.exists(),
        "{} exists: fixtures are never overwritten",
        target.display()
    );
    copy_dir(&config.data_dir, &target);
    std::fs::remove_file(target.join("interluded.lock")).unwrap();
    drop(root);
}
